/* query_int.h -- what the query module's files share: stream selection, the log and
 * metric evaluators, and the JSON stats trailer. Internal to src/query. */
#ifndef CAIRN_QUERY_INT_H
#define CAIRN_QUERY_INT_H

#include <roaring/roaring.h>

#include "cairn/logql.h"
#include "cairn/query.h"

/* Streams of `tenant` matching the selector of a LOG expression, with data in
 * [start, end), OR-ed into out. */
int cairn__query_select(struct cairn_store *s, const char *tenant, const struct cairn_lq_expr *log,
                        int64_t start, int64_t end, roaring_bitmap_t *out, struct cairn_err *err);

/* Counters every evaluator fills for the "stats" object of the reply. */
struct cairn__query_stats {
    uint64_t lines, bytes;     /* entries and raw bytes read from the store */
    uint64_t streams;
    uint64_t returned;         /* entries (log) or samples (metric) in the answer */
    int64_t started_mono_ns;
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
