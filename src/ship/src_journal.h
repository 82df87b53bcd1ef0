/* src_journal.h -- the systemd journal source of `cairn ship` (Promtail's `journal:`
 * scrape config): src_journal.c runs one reader thread per such scrape config
 * (sd-journal, cursor in the positions file); src_journal_entry.c turns an entry's
 * fields into its labels (`__journal_<field>` through relabel_configs, cached) and
 * its line (MESSAGE, or every field as JSON).
 *
 * Ownership: the readers borrow the config, the sink, the positions and the metrics
 * registry from the agent, which keeps them alive until cairn__journals_destroy. */
#ifndef CAIRN_SHIP_SRC_JOURNAL_H
#define CAIRN_SHIP_SRC_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"
#include "cairn/labels.h"
#include "cairn/ship.h"
#include "cairn/ship_config.h"
#include "ship/ship_build.h"

struct cairn_positions;
struct cairn_ship_metrics;

/* ---- the readers (src_journal.c) ---- */

struct cairn__journals;

/* Open the journal of every scrape config with `journal:`, each on its own thread
 * that will read into sink (thread-safe; emit may block), and seek to where reading
 * starts. positions NULL: start from max_age and save nothing (--dry-run). *out is
 * NULL when no scrape config has a journal. Returns 0 or a negative error with err
 * naming the scrape config. */
int cairn__journals_start(struct cairn__journals **out, const struct cairn_ship_config *cfg,
                          const struct cairn_ship_sink *sink, struct cairn_positions *positions,
                          struct cairn_ship_metrics *metrics, struct cairn_err *err);
/* Let the readers read (once the agent runs and a stop can reach them). NULL: no-op. */
void cairn__journals_go(struct cairn__journals *js);
/* Ask the readers to stop. Async-signal-safe (an atomic store and a write(2)). NULL
 * is a no-op. */
void cairn__journals_stop(struct cairn__journals *js);
/* Stop, wait for the readers (each flushes the sink and saves its cursor) and free.
 * Call before the positions are closed and the clients destroyed. NULL is a no-op. */
void cairn__journals_destroy(struct cairn__journals *js);
/* The readers' lines for /metrics: promtail_journal_target_lines_total,
 * _parsing_errors_total and read errors. 0 or CAIRN_ENOMEM. */
int cairn__journals_metrics(struct cairn__journals *js, struct cairn_buf *out);
/* The journal pipelines' logentry_dropped_lines_total lines (as cairn__relays_drops). */
int cairn__journals_drops(struct cairn__journals *js, struct cairn_buf *out);

/* ---- from fields to labels and line (src_journal_entry.c) ---- */

/* "__journal_" and the field name lowercased, into out (cap bytes, NUL-terminated).
 * Returns its length, or 0 if it does not fit. */
size_t cairn__journal_label_name(const char *field, size_t len, char *out, size_t cap);
/* Promtail's keyword of a PRIORITY value ("3" -> "error"); NULL for anything else
 * (Promtail then uses the value itself). */
const char *cairn__journal_priority_keyword(const char *v, size_t len);
/* Walk the space-separated matches: fn gets each "FIELD=value" or "+" (fn NULL: only
 * check). Returns 0, fn's nonzero result, or CAIRN_EINVAL with bad and bad_len naming the
 * token that is neither. */
int cairn__journal_matches_parse(const char *s, int (*fn)(void *ud, const char *m, size_t len),
                                 void *ud, const char **bad, size_t *bad_len);

/* One field of the entry being read: offsets into the mapper's field store. */
struct cairn__jfield {
    size_t name_off, name_len, val_off, val_len;
};

/* The per-reader state that maps entries: the fields of the current entry (copied out
 * of sd-journal, whose pointers last only until its next call), which field names
 * relabel_configs can see, and the cache of label sets by those fields' values. One
 * thread uses it. */
struct cairn__jname; /* a remembered field name and whether relabelling sees it */
struct cairn__jslot; /* a cached relabel result */
struct cairn__jmap {
    const struct cairn_ship_relabel_rule *rules;
    size_t n_rules;
    const struct cairn_cfg_map *labels; /* journal.labels */
    int all_fields;                     /* keep every field (json) */
    struct cairn_buf store;             /* names and values of the current entry */
    struct cairn__jfield f[CAIRN_JOURNAL_MAX_FIELDS];
    size_t nf;
    long message;                       /* index into f of MESSAGE, -1: none */
    struct cairn_buf key;               /* the visible fields, length-prefixed */
    struct cairn__jname *names;         /* open addressing, CAIRN_JOURNAL_FIELD_NAMES */
    size_t n_names;
    struct cairn__jslot *slots;         /* CAIRN_JOURNAL_LABEL_CACHE */
    struct cairn_buf scratch;           /* JSON lines, label names */
    uint64_t misses;                    /* relabel runs (cache misses) */
};

/* rules and labels are borrowed. 0 or CAIRN_ENOMEM. */
int cairn__jmap_init(struct cairn__jmap *m, const struct cairn_ship_relabel_rule *rules,
                     size_t n_rules, const struct cairn_cfg_map *labels, int all_fields);
void cairn__jmap_deinit(struct cairn__jmap *m);
/* Start an entry / add one "NAME=value" datum of it (as sd_journal_enumerate_data
 * gives them; a datum without '=' is skipped, as sd-journal's readers do). 0 or
 * CAIRN_ENOMEM. */
void cairn__jmap_begin(struct cairn__jmap *m);
int cairn__jmap_add(struct cairn__jmap *m, const void *data, size_t len);
/* The entry's stream labels after relabel_configs (labels starting with "__"
 * removed): *out points at a cached set valid until the next call. Returns 1, 0 when
 * the entry has no labels left (Promtail drops it), or a negative error. */
int cairn__jmap_labels(struct cairn__jmap *m, const struct cairn_labels **out);
/* The entry as one JSON object of its fields, keys sorted (encoding/json's order),
 * a repeated field's last value: into m->scratch. 0 or CAIRN_ENOMEM. */
int cairn__jmap_json(struct cairn__jmap *m);

#endif
