/* canary_int.h -- what the canary's files share: the metrics (metrics.c), the
 * comparator of sent and received timestamps (comparator.c), the store's query API
 * (query.c), the writer (writer.c), the tail reader (reader.c), the periodic checks
 * (checks.c) and the canary itself (canary.c) that owns them all.
 *
 * Threads: writer, reader, prune, spot check and metric test each run on their own
 * thread; the comparator and the metrics have their own locks, so any thread may call
 * them. Nothing else is shared after create. */
#ifndef CAIRN_CANARY_INT_H
#define CAIRN_CANARY_INT_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cairn/buf.h"
#include "cairn/canary.h"
#include "cairn/push.h"

/* ---- metrics.c ---- */

#define CAIRN__CANARY_MAX_BUCKETS 64

struct cairn__canary_hist {
    size_t n;                                    /* finite buckets */
    double le[CAIRN__CANARY_MAX_BUCKETS];        /* upper bounds, ascending */
    uint64_t count[CAIRN__CANARY_MAX_BUCKETS + 1]; /* per bucket (not cumulative), +Inf last */
    double sum;
};

struct cairn__canary_metrics {
    _Atomic uint64_t entries, missing, ws_missing, out_of_order, duplicate, unexpected;
    _Atomic uint64_t spot_entries, spot_missing, ws_reconnects, ws_pings;
    pthread_mutex_t mu; /* guards the histograms and the gauges below */
    double metric_expected, metric_actual;
    struct cairn__canary_hist latency, metric_duration, spot_duration;
};

/* Histograms: latency with `buckets` exponential bounds from 0.5 s doubling (as
 * loki-canary's), the request durations with Prometheus' default bounds. 0 or
 * CAIRN_EIO (mutex). */
int cairn__canary_metrics_init(struct cairn__canary_metrics *m, int buckets);
void cairn__canary_metrics_deinit(struct cairn__canary_metrics *m);
void cairn__canary_observe(struct cairn__canary_metrics *m, struct cairn__canary_hist *h,
                           double v);
void cairn__canary_metric_test_set(struct cairn__canary_metrics *m, double expected,
                                   double actual);
/* Prometheus text of every metric, appended to out. 0 or CAIRN_ENOMEM. */
int cairn__canary_metrics_write(struct cairn__canary_metrics *m, struct cairn_buf *out);

/* ---- comparator.c ---- */

/* Timestamps in the order they were added, removable from the front cheaply. */
struct cairn__ts_list {
    int64_t *v;
    size_t head, n, cap; /* live entries are v[head .. n) */
};

struct cairn__canary_cmp_config {
    int64_t wait_ns, max_wait_ns;
    int64_t spot_interval_ns, spot_max_ns, spot_wait_ns;
    size_t max_pending; /* bound of each list (sent, missing, acknowledged, spot) */
};

struct cairn__canary_cmp {
    pthread_mutex_t mu;
    struct cairn__canary_cmp_config cfg;
    struct cairn__canary_metrics *m;
    struct cairn__ts_list pending; /* sent, not yet received */
    struct cairn__ts_list acked;   /* received within wait: a second copy is a duplicate */
    struct cairn__ts_list missing; /* not seen on the tail within wait: being queried for */
    struct cairn__ts_list spot;    /* kept for spot checks */
};

int cairn__canary_cmp_init(struct cairn__canary_cmp *c, const struct cairn__canary_cmp_config *cfg,
                           struct cairn__canary_metrics *m);
void cairn__canary_cmp_deinit(struct cairn__canary_cmp *c);
/* A line with timestamp ts was written (entries_total). 0 or CAIRN_ENOMEM. */
int cairn__canary_cmp_sent(struct cairn__canary_cmp *c, int64_t ts);
/* A line with timestamp ts came back on the tail at now: in order (the oldest
 * pending), out of order (a later one), a duplicate (acknowledged already), or
 * unexpected (never sent, or already given up on). Latency observed for the first two. */
void cairn__canary_cmp_received(struct cairn__canary_cmp *c, int64_t ts, int64_t now);
/* Pending lines older than wait move to the missing list (websocket_missing); old
 * acknowledgements are forgotten. Returns how many lines are now missing and, when
 * any, the oldest and newest of them. */
size_t cairn__canary_cmp_prune(struct cairn__canary_cmp *c, int64_t now, int64_t *oldest,
                               int64_t *newest);
/* A query found these timestamps (any order): missing lines among them are found;
 * those still missing and older than max_wait count as missing_entries_total and are
 * dropped. Returns how many were counted missing now. */
size_t cairn__canary_cmp_confirm(struct cairn__canary_cmp *c, const int64_t *found, size_t n,
                                 int64_t now);
/* Spot-check lines due at now (older than the initial wait), after dropping those
 * past spot_max: copied to *out (malloc'd, caller frees). 0 or CAIRN_ENOMEM. */
int cairn__canary_cmp_spot_due(struct cairn__canary_cmp *c, int64_t now, int64_t **out,
                               size_t *n);
/* Sizes of the lists (tests, logs). */
void cairn__canary_cmp_sizes(struct cairn__canary_cmp *c, size_t *pending, size_t *missing,
                             size_t *acked, size_t *spot);

/* ---- the canary ---- */

struct cairn_canary {
    struct cairn_canary_config cfg; /* strings point into the owned copies below */
    char *base;      /* http(s)://host:port[/prefix], no trailing slash */
    char *selector;  /* {stream="stdout",name="loki-canary"} plus -query-append */
    char *labels;    /* the stream's labels in canonical order, for pushes */
    char *pad;       /* size bytes of 'p' */
    FILE *out;
    int64_t start_ns;

    struct cairn__canary_metrics m;
    struct cairn__canary_cmp cmp;
    struct cairn_push *push;
    struct cairn__canary_httpd *http; /* /metrics */
    int port;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* stop */
    int stopping;
    pthread_t threads[5];
    size_t n_threads;
    int64_t last_received; /* newest entry timestamp seen on the tail (under mu) */
};

/* Sleep until ns (monotonic) or stop; 1 when stopping. */
int cairn__canary_sleep_until(struct cairn_canary *c, int64_t mono_ns);

/* ---- query.c: the store's HTTP API, one handle per thread ---- */

struct cairn__canary_http {
    CURL *curl;
    struct curl_slist *hdr;
    struct cairn_buf body;
};
int cairn__canary_http_init(struct cairn_canary *c, struct cairn__canary_http *h);
void cairn__canary_http_deinit(struct cairn__canary_http *h);
/* Timestamps of the canary's lines in [from, to] (query_range, forward, in pages).
 * *ts is malloc'd (caller frees). 0, CAIRN_EIO (logged), CAIRN_ENOMEM. */
int cairn__canary_query_range(struct cairn_canary *c, struct cairn__canary_http *h, int64_t from,
                              int64_t to, int64_t **ts, size_t *n);
/* count_over_time of the canary's stream over range_s seconds at time at. */
int cairn__canary_count_over_time(struct cairn_canary *c, struct cairn__canary_http *h,
                                  int64_t range_s, int64_t at, double *out);
/* The timestamp a canary line starts with ("<ns> <padding>"); 0 or CAIRN_EINVAL. */
int cairn__canary_parse_line(const char *p, size_t len, int64_t *ts);
/* Request headers for auth and tenant ("Name: v\r\n" each) appended to out. */
int cairn__canary_auth_headers(const struct cairn_canary *c, struct cairn_buf *out);

/* ---- the threads ---- */
void *cairn__canary_writer_main(void *arg);
void *cairn__canary_reader_main(void *arg);
void *cairn__canary_prune_main(void *arg);
void *cairn__canary_spot_main(void *arg);
void *cairn__canary_metric_main(void *arg);

/* ---- metrics HTTP server (metrics.c) ---- */
struct cairn__canary_httpd *cairn__canary_http_start(struct cairn_canary *c, struct cairn_err *err);
void cairn__canary_http_stop(struct cairn__canary_httpd *s);

#endif
