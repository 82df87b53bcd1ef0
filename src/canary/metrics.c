/* metrics.c -- the canary's metrics with loki-canary's names and help, in Prometheus'
 * text format, and the small HTTP server (libmicrohttpd) that serves them on
 * /metrics. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "canary/canary_int.h"
#include "cairn/error.h"
#include "cairn/log.h"

/* Prometheus' default buckets (client_golang DefBuckets), in seconds. */
static const double DEF_BUCKETS[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

static void hist_init(struct cairn__canary_hist *h, const double *le, size_t n)
{
    memset(h, 0, sizeof *h);
    h->n = n;
    memcpy(h->le, le, n * sizeof *le);
}

int cairn__canary_metrics_init(struct cairn__canary_metrics *m, int buckets)
{
    memset(m, 0, sizeof *m);
    if (pthread_mutex_init(&m->mu, NULL))
        return CAIRN_EIO;
    double le[CAIRN__CANARY_MAX_BUCKETS];
    size_t n = buckets < 1 ? 1 : (size_t)buckets;
    if (n > CAIRN__CANARY_MAX_BUCKETS)
        n = CAIRN__CANARY_MAX_BUCKETS;
    for (size_t i = 0; i < n; i++)
        le[i] = 0.5 * (double)(1ull << i); /* ExponentialBuckets(0.5, 2, n) */
    hist_init(&m->latency, le, n);
    size_t nd = sizeof DEF_BUCKETS / sizeof DEF_BUCKETS[0];
    hist_init(&m->metric_duration, DEF_BUCKETS, nd);
    hist_init(&m->spot_duration, DEF_BUCKETS, nd);
    return 0;
}

void cairn__canary_metrics_deinit(struct cairn__canary_metrics *m)
{
    pthread_mutex_destroy(&m->mu);
}

void cairn__canary_observe(struct cairn__canary_metrics *m, struct cairn__canary_hist *h,
                           double v)
{
    size_t i = 0;
    while (i < h->n && v > h->le[i])
        i++;
    pthread_mutex_lock(&m->mu);
    h->count[i]++;
    h->sum += v;
    pthread_mutex_unlock(&m->mu);
}

void cairn__canary_metric_test_set(struct cairn__canary_metrics *m, double expected,
                                   double actual)
{
    pthread_mutex_lock(&m->mu);
    m->metric_expected = expected;
    m->metric_actual = actual;
    pthread_mutex_unlock(&m->mu);
}

static int counter(struct cairn_buf *out, const char *name, const char *help, uint64_t v)
{
    return cairn_buf_appendf(out, "# HELP loki_canary_%s %s\n# TYPE loki_canary_%s counter\n"
                                  "loki_canary_%s %llu\n",
                             name, help, name, name, (unsigned long long)v);
}

static int gauge(struct cairn_buf *out, const char *name, const char *help, double v)
{
    return cairn_buf_appendf(out, "# HELP loki_canary_%s %s\n# TYPE loki_canary_%s gauge\n"
                                  "loki_canary_%s %.17g\n",
                             name, help, name, name, v);
}

static int histogram(struct cairn_buf *out, const char *name, const char *help,
                     const struct cairn__canary_hist *h)
{
    int rc = cairn_buf_appendf(out, "# HELP loki_canary_%s %s\n# TYPE loki_canary_%s histogram\n",
                               name, help, name);
    uint64_t cum = 0;
    for (size_t i = 0; i < h->n; i++) {
        cum += h->count[i];
        rc |= cairn_buf_appendf(out, "loki_canary_%s_bucket{le=\"%g\"} %llu\n", name, h->le[i],
                                (unsigned long long)cum);
    }
    cum += h->count[h->n];
    rc |= cairn_buf_appendf(out, "loki_canary_%s_bucket{le=\"+Inf\"} %llu\n"
                                 "loki_canary_%s_sum %.17g\nloki_canary_%s_count %llu\n",
                            name, (unsigned long long)cum, name, h->sum, name,
                            (unsigned long long)cum);
    return rc;
}

int cairn__canary_metrics_write(struct cairn__canary_metrics *m, struct cairn_buf *out)
{
    int rc = 0;
    rc |= counter(out, "entries_total", "counts log entries written to the file", m->entries);
    rc |= counter(out, "out_of_order_entries_total",
                  "counts log entries received with a timestamp more recent than the others in "
                  "the queue", m->out_of_order);
    rc |= counter(out, "websocket_missing_entries_total",
                  "counts log entries not received within the wait duration via the websocket "
                  "connection", m->ws_missing);
    rc |= counter(out, "missing_entries_total",
                  "counts log entries not received within the maxWait duration via both "
                  "websocket and direct query", m->missing);
    rc |= counter(out, "spot_check_missing_entries_total",
                  "counts log entries not received when directly queried as part of spot "
                  "checking", m->spot_missing);
    rc |= counter(out, "spot_check_entries_total", "total count of entries spot checked",
                  m->spot_entries);
    rc |= counter(out, "unexpected_entries_total",
                  "counts a log entry received which was not expected (e.g. received after "
                  "reported missing)", m->unexpected);
    rc |= counter(out, "duplicate_entries_total", "counts a log entry received more than one time",
                  m->duplicate);
    rc |= counter(out, "ws_reconnects_total",
                  "counts every time the websocket connection has to reconnect", m->ws_reconnects);
    rc |= counter(out, "ws_pings_total", "counts every time the websocket receives a ping message",
                  m->ws_pings);
    pthread_mutex_lock(&m->mu);
    rc |= gauge(out, "metric_test_expected",
                "How many counts were expected by the metric test query", m->metric_expected);
    rc |= gauge(out, "metric_test_actual",
                "How many counts were actually received by the metric test query",
                m->metric_actual);
    rc |= histogram(out, "response_latency_seconds",
                    "is how long it takes for log lines to be returned from Loki in seconds.",
                    &m->latency);
    rc |= histogram(out, "metric_test_request_duration_seconds",
                    "how long the metric test query execution took in seconds.",
                    &m->metric_duration);
    rc |= histogram(out, "spot_check_request_duration_seconds",
                    "how long the spot check test query execution took in seconds.",
                    &m->spot_duration);
    pthread_mutex_unlock(&m->mu);
    return rc ? CAIRN_ENOMEM : 0;
}

/* ---- /metrics over HTTP ---- */

struct cairn__canary_httpd {
    struct MHD_Daemon *d;
    struct cairn_canary *c;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, char *body,
                             size_t len, int owned, const char *type)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (owned)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_len, void **state)
{
    (void)version;
    (void)upload;
    (void)upload_len;
    (void)state;
    struct cairn__canary_httpd *s = cls;
    static char not_found[] = "not found\n", bad_method[] = "method not allowed\n";
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(conn, 405, bad_method, sizeof bad_method - 1, 0, "text/plain");
    if (strcmp(url, "/metrics") != 0)
        return reply(conn, 404, not_found, sizeof not_found - 1, 0, "text/plain");
    struct cairn_buf b = CAIRN_BUF_INIT;
    int rc = cairn__canary_metrics_write(&s->c->m, &b);
    if (!rc && s->c->push)
        rc = cairn_push_metrics_write(s->c->push, "loki_canary_push", &b);
    if (rc || !b.data) {
        cairn_buf_deinit(&b);
        static char oom[] = "out of memory\n";
        return reply(conn, 500, oom, sizeof oom - 1, 0, "text/plain");
    }
    size_t len;
    char *body = cairn_buf_detach(&b, &len);
    return reply(conn, 200, body, len, 1, "text/plain; version=0.0.4");
}

struct cairn__canary_httpd *cairn__canary_http_start(struct cairn_canary *c, struct cairn_err *err)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->cfg.port)};
    const char *host = c->cfg.listen_host && *c->cfg.listen_host ? c->cfg.listen_host : "0.0.0.0";
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        cairn_err_set(err, CAIRN_EINVAL, "-listen-address %s: want an IPv4 address", host);
        return NULL;
    }
    struct cairn__canary_httpd *s = calloc(1, sizeof *s);
    if (!s) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    s->c = c;
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                            handle, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_END);
    if (!s->d) {
        free(s);
        cairn_err_set(err, CAIRN_EIO, "-port %d: cannot listen on %s", c->cfg.port, host);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    c->port = di ? di->port : c->cfg.port;
    return s;
}

void cairn__canary_http_stop(struct cairn__canary_httpd *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->d);
    free(s);
}
