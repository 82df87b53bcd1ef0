/* ship_int.h -- the agent's internal pieces: globs, and the stage interface the
 * pipeline runs.
 *
 * Ownership: a pipeline owns its stages; a stage owns its state (compiled regexes,
 * templates, nested pipelines). */
#ifndef CAIRN_SHIP_INT_H
#define CAIRN_SHIP_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "cairn/ship.h"

/* ---- globs (glob.c) ---- */
typedef int (*cairn__glob_fn)(void *ud, const char *path, const struct stat *st);
/* 1 if path matches pattern (`*` `?` `[..]` `{a,b}` per segment, `**` any depth). */
int cairn__glob_match(const char *pattern, const char *path);
/* Call fn for every regular file matching pattern; stops at fn's first nonzero return
 * and returns it. */
int cairn__glob_walk(const char *pattern, cairn__glob_fn fn, void *ud);
/* Directory listings kept across the walks of one rescan: discovered targets are one
 * glob per pod container, all under the same pods directory, which is then read once
 * per rescan instead of once per target. Zero-initialise; clear after the rescan
 * (a listing is as old as the cache). Owns its names. */
struct cairn__glob_dir;
struct cairn__glob_cache {
    struct cairn__glob_dir *slots;
    size_t n, cap;
    uint64_t lists; /* directories actually read (the others came from the cache) */
};
/* cairn__glob_walk reading directories through c (NULL: no cache). Out of memory for
 * the cache: the directory is read directly. */
int cairn__glob_walk_cached(const char *pattern, struct cairn__glob_cache *c,
                            cairn__glob_fn fn, void *ud);
void cairn__glob_cache_clear(struct cairn__glob_cache *c);

/* ---- stages ---- */

enum {
    CAIRN__KEEP = 0, /* continue with the next stage */
    CAIRN__DROP = 1, /* drop the entry (counted by reason) */
    CAIRN__HELD = 2, /* a stage kept the entry (multiline); stop without emitting */
};

struct cairn__stage;
struct cairn__stage_ops {
    const char *name;
    /* Process e in place: CAIRN__KEEP/DROP/HELD or a negative error. */
    int (*process)(struct cairn__stage *s, struct cairn_ship_entry *e);
    /* Optional: emit held entries whose time is up (force: all of them). */
    int (*tick)(struct cairn__stage *s, int64_t now_mono, int force,
                struct cairn_ship_pipeline *pl, size_t index, const struct cairn_ship_sink *sink);
    void (*destroy)(struct cairn__stage *s);
    /* Optional: the lowest src_off of held entries from src, or INT64_MAX. */
    int64_t (*held_floor)(const struct cairn__stage *s, uint64_t src);
    /* Optional: how many streams the stage keeps state for (see
     * cairn__pipeline_held_streams). */
    size_t (*held_streams)(const struct cairn__stage *s);
};

struct cairn__stage {
    const struct cairn__stage_ops *ops;
    void *st;
    const char *drop_reason; /* counted when this stage drops */
};

#define CAIRN__DROP_REASONS 16
struct cairn_ship_pipeline {
    struct cairn__stage *v;
    size_t n;
    /* dropped entries by reason (drop_counter_reason), for /metrics */
    struct {
        char reason[64];
        uint64_t n;
    } drops[CAIRN__DROP_REASONS];
    struct cairn_ship_pipeline *parent; /* a match stage's nested pipeline: its owner */
    struct cairn_ship_metrics *metrics; /* the metrics stages' registry (root only) */
};

/* Run stages [from, n) of pl on e and emit it to sink unless dropped or held. */
int cairn__pipeline_run_from(struct cairn_ship_pipeline *pl, size_t from,
                             struct cairn_ship_entry *e, const struct cairn_ship_sink *sink);
/* Run stages without emitting (match's nested pipelines): KEEP/DROP/HELD or error. */
int cairn__pipeline_apply(struct cairn_ship_pipeline *pl, struct cairn_ship_entry *e);
/* The per-stream states pl's stages keep (cri partials, multiline blocks), nested
 * pipelines included: bounded by the streams holding lines now, never by the streams
 * ever seen. */
size_t cairn__pipeline_held_streams(const struct cairn_ship_pipeline *pl);
void cairn__pipeline_count_drop(struct cairn_ship_pipeline *pl, const char *reason);
struct cairn_ship_pipeline *cairn__pipeline_new(size_t n);
int cairn__pipeline_add(struct cairn_ship_pipeline *pl, const struct cairn__stage_ops *ops,
                        void *st, const char *drop_reason);

/* ---- stage constructors (stage_*.c): each appends one stage to pl. Strings are
 * copied. Returns 0, CAIRN_ENOMEM, or CAIRN_EINVAL with err naming the problem. ---- */
struct cairn__kv {
    const char *k;
    const char *v; /* NULL: the YAML value was empty */
};

int cairn__stage_labels(struct cairn_ship_pipeline *pl, const struct cairn__kv *kv, size_t n,
                        struct cairn_err *err);
/* structured_metadata (Promtail's): metadata name -> extracted key (empty: the same
 * name), appended to the entry's structured metadata; missing or empty values skipped. */
int cairn__stage_structured_metadata(struct cairn_ship_pipeline *pl, const struct cairn__kv *kv,
                                     size_t n, struct cairn_err *err);
int cairn__stage_static_labels(struct cairn_ship_pipeline *pl, const struct cairn__kv *kv,
                               size_t n, struct cairn_err *err);
int cairn__stage_labelallow(struct cairn_ship_pipeline *pl, const char *const *names, size_t n,
                            struct cairn_err *err);
int cairn__stage_labeldrop(struct cairn_ship_pipeline *pl, const char *const *names, size_t n,
                           struct cairn_err *err);
int cairn__stage_output(struct cairn_ship_pipeline *pl, const char *source, struct cairn_err *err);
int cairn__stage_tenant(struct cairn_ship_pipeline *pl, const char *source, const char *label,
                        const char *value, struct cairn_err *err);
int cairn__stage_pack(struct cairn_ship_pipeline *pl, const char *const *names, size_t n,
                      int ingest_timestamp, struct cairn_err *err);
int cairn__stage_decolorize(struct cairn_ship_pipeline *pl, struct cairn_err *err);
/* Keep each entry with probability rate (0..1); the others are dropped and counted
 * under drop_reason (NULL: "sampling_stage"). */
int cairn__stage_sampling(struct cairn_ship_pipeline *pl, double rate, const char *drop_reason,
                          struct cairn_err *err);
int cairn__stage_limit(struct cairn_ship_pipeline *pl, double rate, double burst, int drop,
                       const char *by_label_name, size_t max_distinct_labels,
                       struct cairn_err *err);
int cairn__stage_json(struct cairn_ship_pipeline *pl, const struct cairn__kv *expr, size_t n,
                      const char *source, int drop_malformed, struct cairn_err *err);
int cairn__stage_logfmt(struct cairn_ship_pipeline *pl, const struct cairn__kv *map, size_t n,
                        const char *source, struct cairn_err *err);
int cairn__stage_regex(struct cairn_ship_pipeline *pl, const char *expression,
                       const char *source, struct cairn_err *err);
int cairn__stage_template(struct cairn_ship_pipeline *pl, const char *source, const char *tpl,
                          struct cairn_err *err);
int cairn__stage_replace(struct cairn_ship_pipeline *pl, const char *expression,
                         const char *source, const char *replace, struct cairn_err *err);
int cairn__stage_match(struct cairn_ship_pipeline *pl, const char *selector, int drop,
                       const char *drop_reason, struct cairn_ship_pipeline *nested,
                       struct cairn_err *err);
int cairn__stage_drop(struct cairn_ship_pipeline *pl, const char *const *source, size_t n_source,
                      const char *separator, const char *expression, const char *value,
                      int64_t older_than_ns, uint64_t longer_than, const char *drop_reason,
                      struct cairn_err *err);

/* ---- time formats (timefmt.c) ---- */
struct cairn__tz;
/* Load an IANA location ("America/New_York", "Local"); NULL for UTC or unknown. */
struct cairn__tz *cairn__tz_load(const char *name);
void cairn__tz_free(struct cairn__tz *tz);
/* The Go layout for a named format ("RFC3339"), or format itself. */
const char *cairn__time_layout(const char *format);
/* Parse v with format (a named format, Unix/UnixMs/UnixUs/UnixNs, or a Go layout);
 * times without a zone are in tz (NULL: UTC). 0 or CAIRN_EINVAL. */
int cairn__time_parse(const char *format, const struct cairn__tz *tz, const char *v, size_t len,
                      int64_t *ns);
int cairn__stage_timestamp(struct cairn_ship_pipeline *pl, const char *source, const char *format,
                           const char *const *fallback, size_t n_fallback, const char *location,
                           const char *action_on_failure, struct cairn_err *err);

#endif
