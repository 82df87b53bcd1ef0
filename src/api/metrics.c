/* metrics.c -- request duration histograms per route and status code, lock-free:
 * a fixed table of atomic counters, rendered in Prometheus text format as
 * cairn_request_duration_seconds{route,status_code,le}. */
#include "api/api_int.h"

/* Upper bounds in seconds (Prometheus' default buckets, plus 25 s for big pushes
 * under fsync=always); the last slot is +Inf. */
static const double bucket_le[CAIRN_METRIC_BUCKETS - 1] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

void cairn__metrics_observe(struct cairn__metrics *m, size_t route, int status, int64_t ns)
{
    if (route >= CAIRN_ROUTES_MAX)
        return;
    struct cairn__histo *row = m->h[route];
    struct cairn__histo *h = NULL;
    for (size_t i = 0; i < CAIRN_METRIC_STATUSES && !h; i++) {
        int cur = atomic_load(&row[i].status);
        if (cur == status) {
            h = &row[i];
        } else if (cur == 0) {
            int zero = 0;
            if (atomic_compare_exchange_strong(&row[i].status, &zero, status) || zero == status)
                h = &row[i];
        }
    }
    if (!h)
        return; /* more distinct codes than slots on one route: not tracked */
    double s = (double)ns / 1e9;
    size_t b = 0;
    while (b < CAIRN_METRIC_BUCKETS - 1 && s > bucket_le[b])
        b++;
    atomic_fetch_add(&h->le[b], 1);
    atomic_fetch_add(&h->sum_ns, (uint64_t)(ns > 0 ? ns : 0));
    atomic_fetch_add(&h->count, 1);
}

int cairn__metrics_render(struct cairn__metrics *m, struct cairn_buf *out)
{
    int rc = cairn_buf_append_str(out,
                                  "# HELP cairn_request_duration_seconds Time to serve HTTP "
                                  "requests, by route and status code.\n"
                                  "# TYPE cairn_request_duration_seconds histogram\n");
    for (size_t r = 0; r <= cairn__n_routes && r < CAIRN_ROUTES_MAX; r++) {
        for (size_t i = 0; i < CAIRN_METRIC_STATUSES; i++) {
            struct cairn__histo *h = &m->h[r][i];
            int status = atomic_load(&h->status);
            if (!status)
                continue;
            const char *route = r < cairn__n_routes ? cairn__routes[r].name : "other";
            uint64_t cum = 0;
            for (size_t b = 0; b < CAIRN_METRIC_BUCKETS; b++) {
                cum += atomic_load(&h->le[b]);
                if (b < CAIRN_METRIC_BUCKETS - 1)
                    rc |= cairn_buf_appendf(out,
                                            "cairn_request_duration_seconds_bucket{route=\"%s\","
                                            "status_code=\"%d\",le=\"%g\"} %llu\n",
                                            route, status, bucket_le[b], (unsigned long long)cum);
                else
                    rc |= cairn_buf_appendf(out,
                                            "cairn_request_duration_seconds_bucket{route=\"%s\","
                                            "status_code=\"%d\",le=\"+Inf\"} %llu\n",
                                            route, status, (unsigned long long)cum);
            }
            rc |= cairn_buf_appendf(out,
                                    "cairn_request_duration_seconds_sum{route=\"%s\","
                                    "status_code=\"%d\"} %.9f\n"
                                    "cairn_request_duration_seconds_count{route=\"%s\","
                                    "status_code=\"%d\"} %llu\n",
                                    route, status, (double)atomic_load(&h->sum_ns) / 1e9, route,
                                    status, (unsigned long long)atomic_load(&h->count));
        }
    }
    return rc ? CAIRN_ENOMEM : 0;
}
