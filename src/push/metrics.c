/* metrics.c -- the push client's counters and request-duration histograms, printed
 * in Prometheus text format with Promtail's metric names. */
#include "push/push_int.h"

/* Prometheus' default histogram buckets, in seconds. */
static const double bucket_le[CAIRN__PUSH_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                      0.5,   1,    2.5,   5,    10};

void cairn__pushc_metrics_observe(struct cairn__push_metrics *m, long status, double secs)
{
    struct cairn__push_hist *h = NULL;
    for (size_t i = 0; i < CAIRN__PUSH_STATUS_SLOTS; i++) {
        if (m->hist[i].status == status) {
            h = &m->hist[i];
            break;
        }
        if (m->hist[i].status == -1) {
            h = &m->hist[i];
            h->status = status;
            break;
        }
    }
    if (!h) /* more distinct codes than slots: fold into the last */
        h = &m->hist[CAIRN__PUSH_STATUS_SLOTS - 1];
    for (size_t b = 0; b < CAIRN__PUSH_BUCKETS; b++)
        if (secs <= bucket_le[b])
            h->buckets[b]++;
    h->count++;
    h->sum += secs;
}

int cairn__pushc_metrics_format(const struct cairn__push_metrics *m, const char *prefix,
                               const char *host, struct cairn_buf *out)
{
    const struct cairn_push_stats *s = &m->s;
    int rc = 0;
    rc |= cairn_buf_appendf(out,
                            "# HELP %1$s_sent_entries_total Number of log entries sent to the ingester.\n"
                            "# TYPE %1$s_sent_entries_total counter\n"
                            "%1$s_sent_entries_total{host=\"%2$s\"} %3$llu\n"
                            "# HELP %1$s_sent_bytes_total Number of bytes sent.\n"
                            "# TYPE %1$s_sent_bytes_total counter\n"
                            "%1$s_sent_bytes_total{host=\"%2$s\"} %4$llu\n"
                            "# HELP %1$s_encoded_bytes_total Number of bytes encoded and ready to send.\n"
                            "# TYPE %1$s_encoded_bytes_total counter\n"
                            "%1$s_encoded_bytes_total{host=\"%2$s\"} %5$llu\n"
                            "# HELP %1$s_batch_retries_total Number of times batches have had to be retried.\n"
                            "# TYPE %1$s_batch_retries_total counter\n"
                            "%1$s_batch_retries_total{host=\"%2$s\"} %6$llu\n",
                            prefix, host, (unsigned long long)s->sent_entries,
                            (unsigned long long)s->sent_bytes, (unsigned long long)s->encoded_bytes,
                            (unsigned long long)s->retries);
    rc |= cairn_buf_appendf(out,
                            "# HELP %1$s_dropped_entries_total Number of log entries dropped because they failed to be sent.\n"
                            "# TYPE %1$s_dropped_entries_total counter\n"
                            "%1$s_dropped_entries_total{host=\"%2$s\",reason=\"rejected\"} %3$llu\n"
                            "%1$s_dropped_entries_total{host=\"%2$s\",reason=\"max_retries\"} %4$llu\n"
                            "# HELP %1$s_dropped_bytes_total Number of bytes dropped because they failed to be sent.\n"
                            "# TYPE %1$s_dropped_bytes_total counter\n"
                            "%1$s_dropped_bytes_total{host=\"%2$s\",reason=\"rejected\"} %5$llu\n"
                            "%1$s_dropped_bytes_total{host=\"%2$s\",reason=\"max_retries\"} %6$llu\n"
                            "# HELP %1$s_push_queued_bytes Bytes waiting to be sent.\n"
                            "# TYPE %1$s_push_queued_bytes gauge\n"
                            "%1$s_push_queued_bytes{host=\"%2$s\"} %7$llu\n",
                            prefix, host, (unsigned long long)m->dropped_entries_4xx,
                            (unsigned long long)m->dropped_entries_retries,
                            (unsigned long long)m->dropped_bytes_4xx,
                            (unsigned long long)m->dropped_bytes_retries,
                            (unsigned long long)s->queued_bytes);
    rc |= cairn_buf_appendf(out,
                            "# HELP %1$s_request_duration_seconds Duration of send requests.\n"
                            "# TYPE %1$s_request_duration_seconds histogram\n",
                            prefix);
    for (size_t i = 0; i < CAIRN__PUSH_STATUS_SLOTS && m->hist[i].status != -1; i++) {
        const struct cairn__push_hist *h = &m->hist[i];
        for (size_t b = 0; b < CAIRN__PUSH_BUCKETS; b++)
            rc |= cairn_buf_appendf(out,
                                    "%s_request_duration_seconds_bucket{host=\"%s\",status_code=\"%ld\",le=\"%g\"} %llu\n",
                                    prefix, host, h->status, bucket_le[b],
                                    (unsigned long long)h->buckets[b]);
        rc |= cairn_buf_appendf(out,
                                "%1$s_request_duration_seconds_bucket{host=\"%2$s\",status_code=\"%3$ld\",le=\"+Inf\"} %4$llu\n"
                                "%1$s_request_duration_seconds_sum{host=\"%2$s\",status_code=\"%3$ld\"} %5$g\n"
                                "%1$s_request_duration_seconds_count{host=\"%2$s\",status_code=\"%3$ld\"} %4$llu\n",
                                prefix, host, h->status, (unsigned long long)h->count, h->sum);
    }
    return rc ? CAIRN_ENOMEM : 0;
}
