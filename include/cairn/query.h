/* query.h -- run a LogQL query over the store and encode the answer as Loki's HTTP
 * API JSON (the "data" object and the envelope around it).
 *
 * Ownership: the caller owns the store, the params and the output buffer; the engine
 * allocates only for the duration of a call. Safe to call from many threads at once
 * (each call parses and compiles its own copy of the query). */
#ifndef CAIRN_QUERY_H
#define CAIRN_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"
#include "cairn/error.h"
#include "cairn/logql.h"
#include "cairn/store.h"
#include "cairn/store_read.h"

/* Loki's limits for range queries. */
#define CAIRN_QUERY_MAX_POINTS 11000        /* points per series before refusing */
#define CAIRN_QUERY_DEFAULT_LIMIT 100
#define CAIRN_QUERY_MAX_LIMIT 5000          /* Loki's max_entries_limit_per_query */

struct cairn_query_params {
    const char *tenant;
    int64_t start, end;      /* unix ns; logs: [start, end), metrics: steps start..end */
    int64_t step;            /* ns, > 0 for range queries (the API layer applies Loki's default) */
    int64_t interval;        /* ns, 0 = none (log queries: return one entry per interval) */
    size_t limit;            /* log queries: most entries; metric: unused */
    enum cairn_iter_dir direction;
    int instant;             /* /query: evaluate at `end` only (vector/scalar result) */
    int threads;             /* 0 = one per core */
    size_t max_series;       /* metric queries: most series in the result (Loki's
                              * max_query_series); 0 = no limit */
    int64_t timeout;         /* ns (Loki's query_timeout): past it the query fails with
                              * CAIRN_ETIMEDOUT; 0 = none */
    size_t max_memory;       /* bytes (limits_config.max_query_memory): the query's
                              * memory budget, enforced while it runs (series, per-step
                              * arrays, samples, kept lines, the answer); past it the
                              * query fails with CAIRN_ELIMIT; 0 = none */
    struct cairn_query_report *report; /* optional: filled with what the query used */
    /* Log queries: Loki 3's `X-Loki-Response-Encoding-Flags: categorize-labels` answer:
     * each stream holds only its stream labels and each value carries a third element
     * {"structuredMetadata":{...},"parsed":{...}} (when not empty); data gets
     * "encodingFlags":["categorize-labels"]. 0: structured metadata and parsed labels
     * are merged into the stream labels (each distinct set its own stream). */
    int categorize;
    /* Optional, log queries only: each entry of the answer, in order, goes to visit
     * instead of being encoded (out is left as it was): its stream's labels as a JSON
     * object, its timestamp and line, and with categorize its other labels' JSON
     * object (empty when none; see categorize), views valid during the call. A
     * non-zero return ends the query with that code. For the exploration endpoints. */
    int (*visit)(void *ud, const char *labels_json, size_t labels_len, int64_t ts,
                 const char *line, size_t len, const char *meta, size_t meta_len);
    void *visit_ud;
};

/* What a query used, for tests and diagnostics (filled on success and failure). */
struct cairn_query_report {
    size_t peak_bytes;       /* the most memory charged to the budget at any time */
    size_t left_bytes;       /* charged and not released at the end: 0 unless a leak */
};

/* Run the query and append Loki's full JSON reply to out:
 *   {"status":"success","data":{"resultType":"streams"|"matrix"|"vector"|"scalar",
 *    "result":[...],"stats":{...}}}
 * On a user error (syntax, limits) returns CAIRN_EINVAL/CAIRN_ELIMIT with err holding
 * Loki's message (or ours, naming the limit, for max_query_memory), and out is left as
 * it was; the API layer answers 400. Past the timeout: CAIRN_ETIMEDOUT (504). */
int cairn_query_run(struct cairn_store *s, const char *q, size_t qlen,
                    const struct cairn_query_params *p, struct cairn_buf *out, struct cairn_err *err);

/* The stream ids of a tenant matching a LogQL stream selector (text like
 * `{app="x", env=~"prod|dev"}`), with data in [start, end); for /series, /labels?query=,
 * /index/stats. */
int cairn_query_select_text(struct cairn_store *s, const char *tenant, const char *sel, size_t len,
                            int64_t start, int64_t end, roaring_bitmap_t *out, struct cairn_err *err);

/* Loki's /index/volume (step 0: a vector at `end`) and /index/volume_range (a matrix
 * with a point every `step` from start to end): raw line bytes of the streams the
 * selector matches in [start, end), summed per series of the target labels (the
 * matchers' names when ntargets is 0), or with by_labels one series {name=""} per
 * label name (of targets, or every label), the `limit` largest. Appends Loki's whole
 * reply to out. CAIRN_EINVAL with err for a bad selector. */
struct cairn_query_volume {
    const char *tenant;
    const char *query;   /* a stream selector */
    int64_t start, end, step;
    size_t limit;
    const struct cairn_lq_str *targets; /* targetLabels */
    size_t ntargets;
    int by_labels;       /* aggregateBy=labels */
};
int cairn_query_volume(struct cairn_store *s, const struct cairn_query_volume *v,
                       struct cairn_buf *out, struct cairn_err *err);

/* Loki's /detected_labels: {"detectedLabels":[{"label","cardinality"}]} for the label
 * names of the streams the selector matches (sel NULL or empty: every stream) with
 * data in [start, end), sorted, without labels whose values are all numbers or UUIDs
 * (but cluster, namespace, instance and pod). Appended to out. */
int cairn_query_detected_labels(struct cairn_store *s, const char *tenant, const char *sel,
                                int64_t start, int64_t end, struct cairn_buf *out,
                                struct cairn_err *err);

/* Loki's /detected_fields and /detected_field/<name>/values: the newest line_limit lines
 * of a log query (base gives tenant, range and the query limits), each parsed as JSON
 * (nested keys joined by '_'), else logfmt, and their structured metadata (fields with
 * "parsers":null, as Loki 3); fields (at most limit) with their type
 * (int, float, boolean, duration, bytes, string; int and float widen to float, other
 * disagreements to string), distinct value count and parsers; or, with field set, that
 * field's distinct values (at most limit). Appended to out. */
struct cairn_query_fields {
    struct cairn_query_params base;
    const char *query;
    size_t line_limit;
    size_t limit;
    const char *field;
};
int cairn_query_detected_fields(struct cairn_store *s, const struct cairn_query_fields *q,
                                struct cairn_buf *out, struct cairn_err *err);

/* Loki's /patterns: the newest line_limit lines of a log query over base's range
 * clustered into templates (Drain-style, docs/API.md), each with its count per step
 * (samples [unix seconds, count] at start + k * step, empty steps left out), the most
 * frequent first: {"status":"success","data":[{"pattern","samples"}]}. */
struct cairn_query_patterns {
    struct cairn_query_params base;
    const char *query;
    size_t line_limit;
    int64_t step;
};
int cairn_query_patterns(struct cairn_store *s, const struct cairn_query_patterns *q,
                         struct cairn_buf *out, struct cairn_err *err);

/* A timestamp as Prometheus's API writes it: unix seconds with up to three decimals. */
int cairn_query_json_seconds(struct cairn_buf *out, int64_t ns);

#endif
