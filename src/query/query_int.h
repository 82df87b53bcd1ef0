/* query_int.h -- what the query module's files share: stream selection, the log and
 * metric evaluators, and the JSON stats trailer. Internal to src/query. */
#ifndef CAIRN_QUERY_INT_H
#define CAIRN_QUERY_INT_H

#include <stdatomic.h>

#include <roaring/roaring.h>

#include "cairn/logql.h"
#include "cairn/query.h"

/* Streams of `tenant` matching the selector of a LOG expression, with data in
 * [start, end), OR-ed into out. */
int cairn__query_select(struct cairn_store *s, const char *tenant, const struct cairn_lq_expr *log,
                        int64_t start, int64_t end, roaring_bitmap_t *out, struct cairn_err *err);

/* ---- the governor: one per query, shared by its threads ----
 * It enforces, while the query runs, the limits that keep one query from taking the
 * process down: the memory budget (the big consumers charge what they allocate: series
 * maps and label sets, per-step arrays, sample buffers, kept log lines, the answer
 * being encoded), the series limit (counted as output series are created) and the
 * deadline. The first thread to hit one records why and sets `stop`; every other
 * thread sees it at its next check (per block, and every few thousand entries or
 * series) and unwinds, freeing what it holds. */
enum cairn__qstop {
    CAIRN__QSTOP_NONE = 0,
    CAIRN__QSTOP_MEMORY,  /* the memory budget (max_query_memory) */
    CAIRN__QSTOP_SERIES,  /* max_query_series */
    CAIRN__QSTOP_TIMEOUT, /* query_timeout */
};
struct cairn__qgov {
    size_t limit;          /* bytes; 0: no budget */
    size_t max_series;     /* output series; 0: no limit */
    int64_t deadline;      /* monotonic ns; 0: none */
    _Atomic size_t used, peak;
    _Atomic int stop;      /* 0, or the error code every thread returns */
    _Atomic int why;       /* enum cairn__qstop of the first failure */
};
/* Record the first failure (later ones keep the first reason); returns rc. */
int cairn__qgov_fail(struct cairn__qgov *g, enum cairn__qstop why, int rc);
/* Charge n bytes: 0, or CAIRN_ELIMIT when the budget would be exceeded (nothing is
 * charged then, and the query is stopped). g may be NULL (no accounting). */
int cairn__qgov_charge(struct cairn__qgov *g, size_t n);
void cairn__qgov_release(struct cairn__qgov *g, size_t n);
/* 0, or the stop code once any thread failed or the deadline passed. */
int cairn__qgov_check(struct cairn__qgov *g);

/* Loki's max_query_series message (printf, one %zu: the limit). */
#define CAIRN__SERIES_LIMIT_MSG                                                                    \
    "maximum number of series (%zu) reached for a single query; consider reducing query "         \
    "cardinality by adding more specific stream selectors, reducing the time range, or "          \
    "aggregating results with functions like sum(), count() or topk()"

/* Counters every evaluator fills for the "stats" object of the reply. */
struct cairn__query_stats {
    uint64_t lines, bytes;     /* entries and raw bytes read from the store */
    uint64_t streams;
    uint64_t returned;         /* entries (log) or samples (metric) in the answer */
    uint64_t blocks_filtered;  /* blocks skipped unread by their n-gram filter */
    int64_t started_mono_ns;
    struct cairn__qgov *gov;   /* the query's governor (NULL in a thread's own copy) */
};
/* The monotonic deadline of a query that started at st->started_mono_ns (0: none). */
static inline int64_t cairn__query_deadline(const struct cairn__query_stats *st,
                                            const struct cairn_query_params *p)
{
    return p->timeout > 0 ? st->started_mono_ns + p->timeout : 0;
}

/* Append `"stats":{...}` in Loki's shape (summary with bytes/lines processed). */
int cairn__query_stats_json(const struct cairn__query_stats *st, struct cairn_buf *out);

/* A log query: append `"resultType":"streams","result":[...]`. */
int cairn__query_logs(struct cairn_store *s, const struct cairn_logql_query *q,
                      const struct cairn_query_params *p, struct cairn__query_stats *st,
                      struct cairn_buf *out, struct cairn_err *err);

/* A metric query: append `"resultType":"matrix"|"vector"|"scalar","result":[...]`. */
int cairn__query_metric(struct cairn_store *s, const struct cairn_logql_query *q,
                        const struct cairn_query_params *p, struct cairn__query_stats *st,
                        struct cairn_buf *out, struct cairn_err *err);

#endif
