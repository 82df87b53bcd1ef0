/* ship.h -- the agent's data path: the entry that flows through pipeline stages, the
 * sink that receives finished entries, and the tailer that feeds files into both.
 *
 * Ownership: an entry owns its buffers (labels, line, extracted values) and is reused
 * line after line: stages rewrite it in place, so steady-state processing allocates
 * nothing. Sinks borrow the entry for the duration of emit. A tailer borrows its
 * targets' pipelines, the positions and the sink; the caller keeps them alive until
 * cairn_tailer_destroy. */
#ifndef CAIRN_SHIP_H
#define CAIRN_SHIP_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"
#include "cairn/error.h"
#include "cairn/labels.h"

struct cairn_positions;
struct cairn_tailer;

/* One extracted value (Promtail's "extracted map"): offsets into entry->ex_store. */
struct cairn_ship_kv {
    size_t name_off, name_len;
    size_t val_off, val_len;
};

struct cairn_ship_entry {
    struct cairn_labels labels; /* sorted */
    struct cairn_labels spare;  /* scratch for label rewrites (swapped with labels) */
    int64_t ts;                 /* unix ns */
    struct cairn_buf line;
    struct cairn_buf ex_store;  /* extracted names and values, NUL-separated */
    struct cairn_ship_kv *ex;
    size_t n_ex, cap_ex;
    struct cairn_buf tenant;    /* empty: the client's tenant */
    struct cairn_buf sm;        /* structured metadata (a cairn/smeta.h blob; empty: none),
                                 * sent with the entry, never part of its stream */
    struct cairn_buf scratch;   /* for stages: templates, joins */
    uint64_t src;               /* the tailed file it was read from (0: none) */
    int64_t src_off;            /* where in that file its first line starts */
};

void cairn_ship_entry_init(struct cairn_ship_entry *e);
void cairn_ship_entry_deinit(struct cairn_ship_entry *e);
/* Start a new line: copy labels and line; the extracted map starts as the labels (as
 * Promtail's); clear tenant, structured metadata and source. */
int cairn_ship_entry_reset(struct cairn_ship_entry *e, const struct cairn_labels *labels,
                           int64_t ts, const char *line, size_t len);
/* Set (add or replace) a label / remove one; the set stays sorted. name and value
 * must not point into e->labels itself. */
int cairn_ship_label_set(struct cairn_ship_entry *e, const char *name, size_t name_len,
                         const char *value, size_t value_len);
void cairn_ship_label_del(struct cairn_ship_entry *e, const char *name, size_t name_len);
/* Extracted map: set (add or replace) and get (NULL if absent; *len set). */
int cairn_ship_ex_set(struct cairn_ship_entry *e, const char *name, size_t name_len,
                      const char *value, size_t value_len);
const char *cairn_ship_ex_get(const struct cairn_ship_entry *e, const char *name,
                              size_t name_len, size_t *len);
const char *cairn_ship_ex_name(const struct cairn_ship_entry *e, size_t i);
const char *cairn_ship_ex_value(const struct cairn_ship_entry *e, size_t i);

/* Where finished entries go: the push client, the --dry-run printer, a discarding
 * sink (bench). emit may block (back-pressure). flush returns once everything
 * emitted so far is acknowledged (positions are saved only after it returns 0). */
struct cairn_ship_sink {
    int (*emit)(void *ud, const struct cairn_ship_entry *e);
    int (*flush)(void *ud);
    void *ud;
};

/* A pipeline built from pipeline_stages (see ship_pipeline.h). */
struct cairn_ship_pipeline;
void cairn_ship_pipeline_destroy(struct cairn_ship_pipeline *pl);
/* Run an entry through the pipeline; finished entries go to sink (a stage such as
 * multiline may hold an entry and emit it later). Returns 0 or a negative error;
 * dropped entries are counted by the pipeline, not errors. */
int cairn_ship_pipeline_run(struct cairn_ship_pipeline *pl, struct cairn_ship_entry *e,
                            const struct cairn_ship_sink *sink);
/* Emit entries held past their deadline (multiline max_wait_time); now is monotonic. */
int cairn_ship_pipeline_tick(struct cairn_ship_pipeline *pl, int64_t now_mono,
                             const struct cairn_ship_sink *sink);
/* The lowest src_off of the entries from src that stages still hold (multiline blocks,
 * unfinished CRI partials), or INT64_MAX. A saved position must not pass it: after a
 * crash the held lines are read again instead of lost. */
int64_t cairn_ship_pipeline_held_floor(const struct cairn_ship_pipeline *pl, uint64_t src);

/* ---- the file tailer ---- */

enum cairn_tail_kind {
    CAIRN_TAIL_FILES = 0, /* static_configs __path__ */
    CAIRN_TAIL_PODS,      /* /var/log/pods/<ns>_<pod>_<uid>/<container>/<n>.log */
};

struct cairn_tail_target {
    enum cairn_tail_kind kind;
    const char *path;         /* glob, `**` allowed */
    const char *exclude;      /* glob or NULL */
    const struct cairn_labels *labels; /* target labels (no __ labels), sorted */
    struct cairn_ship_pipeline *pipeline; /* NULL: none */
};

struct cairn_tailer_config {
    const struct cairn_tail_target *targets;
    size_t n_targets;
    struct cairn_positions *positions; /* NULL: start every file at 0, save nothing */
    const struct cairn_ship_sink *sink;
    int64_t sync_period_ns;   /* positions sync; default 10s */
    int64_t rescan_period_ns; /* glob rescan; default 10s */
    int64_t poll_period_ns;   /* re-check every file even without inotify events; 1s */
    size_t max_line;          /* longer lines are split; default CAIRN_MAX_LINE_SIZE */
    double readline_rate;     /* lines/s over all files; 0: unlimited */
    double readline_burst;
    int readline_rate_drop;   /* 1: drop lines over the rate (Promtail's default), 0: wait */
    /* Discovered targets: refresh is called on the tailer's thread at the start of run
     * and after cairn_tailer_refresh, and calls cairn_tailer_set_targets. NULL: the
     * targets above are all there is. */
    int (*refresh)(void *ud, struct cairn_tailer *t);
    void *refresh_ud;
    /* Every pipeline the targets may use, ticked even while no target uses it (held
     * lines of files whose target went away); NULL: the targets' pipelines. */
    struct cairn_ship_pipeline *const *pipelines;
    size_t n_pipelines;
};

struct cairn_tailer;
struct cairn_tailer *cairn_tailer_create(const struct cairn_tailer_config *cfg,
                                         struct cairn_err *err);
/* Save positions (after flushing the sink) and free. NULL is a no-op. */
void cairn_tailer_destroy(struct cairn_tailer *t);
/* Run until cairn_tailer_stop. Returns 0 or a negative error. */
int cairn_tailer_run(struct cairn_tailer *t);
/* Ask run to return; safe from another thread or a signal handler. */
void cairn_tailer_stop(struct cairn_tailer *t);
/* One pass without waiting: rescan globs, read every file to its end, check rotation.
 * For tests and --dry-run of finite files. Returns 0 or a negative error. */
int cairn_tailer_poll(struct cairn_tailer *t);
/* Flush the sink and save positions now. */
int cairn_tailer_sync(struct cairn_tailer *t);
/* Ask the tailer's thread to call cfg.refresh soon; safe from any thread. */
void cairn_tailer_refresh(struct cairn_tailer *t);
/* Replace the targets (borrowed until the next call or destroy) and rescan: files no
 * target matches any more are read to their end, kept for the rotation grace period,
 * then closed, and their positions dropped; new ones are opened. Tailer thread only
 * (from cfg.refresh). 0 or a negative error. */
int cairn_tailer_set_targets(struct cairn_tailer *t, const struct cairn_tail_target *targets,
                             size_t n);

struct cairn_tailer_stats {
    uint64_t lines, bytes, files_open, rotations, truncations, dropped_rate;
};
void cairn_tailer_stats(struct cairn_tailer *t, struct cairn_tailer_stats *out);

/* Labels of a pod log path: namespace, pod, container (and uid). 0 or CAIRN_EINVAL if
 * the path does not have the /var/log/pods layout. */
int cairn_ship_pod_labels(const char *path, struct cairn_labels *out);

#endif
