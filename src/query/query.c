/* query.c -- cairn_query_run: parse, dispatch to the log or metric evaluator, wrap
 * the answer in Loki's envelope with its stats object. */
#include <string.h>

#include "cairn/logql.h"
#include "cairn/timeutil.h"
#include "query_int.h"

int cairn__query_stats_json(const struct cairn__query_stats *st, struct cairn_buf *out)
{
    double secs = (double)(cairn_mono_ns() - st->started_mono_ns) / 1e9;
    if (secs <= 0)
        secs = 1e-9;
    return cairn_buf_appendf(out,
                             "\"stats\":{\"summary\":{\"bytesProcessedPerSecond\":%llu,"
                             "\"linesProcessedPerSecond\":%llu,\"totalBytesProcessed\":%llu,"
                             "\"totalLinesProcessed\":%llu,\"execTime\":%.6f,\"queueTime\":0,"
                             "\"subqueries\":0,\"blocksSkippedByFilter\":%llu,"
                             "\"totalEntriesReturned\":%llu}}",
                             (unsigned long long)((double)st->bytes / secs),
                             (unsigned long long)((double)st->lines / secs),
                             (unsigned long long)st->bytes, (unsigned long long)st->lines, secs,
                             (unsigned long long)st->blocks_filtered,
                             (unsigned long long)st->returned);
}

/* The answer is the caller's once returned: its bytes leave the budget. */
static void report(struct cairn__qgov *g, const struct cairn_query_params *p)
{
    if (p->report) {
        p->report->peak_bytes = atomic_load(&g->peak);
        p->report->left_bytes = atomic_load(&g->used);
    }
}

int cairn_query_run(struct cairn_store *s, const char *q, size_t qlen,
                    const struct cairn_query_params *p, struct cairn_buf *out, struct cairn_err *err)
{
    struct cairn_logql_query *lq = NULL;
    struct cairn__qgov gov = {.limit = p->max_memory, .max_series = p->max_series};
    struct cairn__query_stats st = {.started_mono_ns = cairn_mono_ns(), .gov = &gov};
    gov.deadline = cairn__query_deadline(&st, p);
    size_t mark = out->len;
    int rc = cairn_logql_parse(q, qlen, &lq, err);
    if (rc)
        return rc;
    if (p->visit) {
        rc = cairn_logql_is_log(lq) ? cairn__query_logs(s, lq, p, &st, out, err)
                                    : cairn_err_set(err, CAIRN_EINVAL, "a log query is needed "
                                                    "here (a stream selector and a pipeline), "
                                                    "not a metric query");
        if (rc)
            goto fail;
        cairn_logql_query_destroy(lq);
        report(&gov, p);
        return 0;
    }
    if (cairn_buf_append_str(out, "{\"status\":\"success\",\"data\":{")) {
        rc = CAIRN_ENOMEM;
        goto fail;
    }
    if (cairn_logql_is_log(lq))
        rc = cairn__query_logs(s, lq, p, &st, out, err);
    else
        rc = cairn__query_metric(s, lq, p, &st, out, err);
    if (rc)
        goto fail;
    if (cairn_buf_append_byte(out, ',') || cairn__query_stats_json(&st, out) ||
        cairn_buf_append_str(out, "}}")) {
        rc = CAIRN_ENOMEM;
        goto fail;
    }
    cairn_logql_query_destroy(lq);
    report(&gov, p);
    return 0;
fail:
    if (rc == CAIRN_ELIMIT && atomic_load(&gov.why) == CAIRN__QSTOP_MEMORY)
        cairn_err_set(err, rc, "query memory limit exceeded: the query needed more than %zu MiB "
                      "(limits_config.max_query_memory); narrow the time range or the stream "
                      "selector, add a line filter, or aggregate with sum by (...) over fewer labels",
                      p->max_memory >> 20);
    else if (rc == CAIRN_ELIMIT && atomic_load(&gov.why) == CAIRN__QSTOP_SERIES)
        cairn_err_set(err, rc, CAIRN__SERIES_LIMIT_MSG, p->max_series);
    else if (rc == CAIRN_ENOMEM)
        cairn_err_set(err, rc, "out of memory running the query");
    else if (rc == CAIRN_EREMOTE)
        cairn_err_set(err, rc, "object store unavailable: blocks of this time range are only in "
                      "the object store, which did not answer (see the server log for the store "
                      "and the object); query again once it is back");
    else if (rc == CAIRN_ETIMEDOUT)
        cairn_err_set(err, rc, "query timed out after %.0fs (limits_config.query_timeout): "
                      "narrow the stream selector or the time range",
                      (double)p->timeout / 1e9);
    cairn_buf_truncate(out, mark);
    cairn_logql_query_destroy(lq);
    report(&gov, p);
    return rc;
}
