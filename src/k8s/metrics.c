/* metrics.c -- the router's counters in Prometheus text format, and the small HTTP
 * server (libmicrohttpd, its own thread) that serves them on /metrics with /ready. */
#include <microhttpd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/buf.h"
#include "cairn/k8s_router.h"
#include "cairn/log.h"
#include "cairn/timeutil.h"

int cairn_k8s_metrics_init(struct cairn_k8s_metrics *m)
{
    memset(m, 0, sizeof *m);
    return pthread_mutex_init(&m->mu, NULL) == 0 ? 0 : CAIRN_ENOMEM;
}

void cairn_k8s_metrics_deinit(struct cairn_k8s_metrics *m)
{
    pthread_mutex_destroy(&m->mu);
}

static void label_value(struct cairn_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            cairn_buf_append_byte(b, '\\');
        if (*v == '\n')
            cairn_buf_append_str(b, "\\n");
        else
            cairn_buf_append_byte(b, *v);
    }
}

char *cairn_k8s_metrics_render(struct cairn_k8s_metrics *m, int64_t now_ns)
{
    struct cairn_buf b = CAIRN_BUF_INIT;
    pthread_mutex_lock(&m->mu);
    cairn_buf_append_str(&b, "# HELP cairn_events_emitted_total Events emitted, by type and reason.\n"
                             "# TYPE cairn_events_emitted_total counter\n");
    for (size_t i = 0; i < m->nkeys; i++) {
        cairn_buf_append_str(&b, "cairn_events_emitted_total{type=\"");
        label_value(&b, m->keys[i].type);
        cairn_buf_append_str(&b, "\",reason=\"");
        label_value(&b, m->keys[i].reason);
        cairn_buf_appendf(&b, "\"} %llu\n", (unsigned long long)m->keys[i].n);
    }
    if (m->keys[CAIRN_K8S_METRICS_MAX_KEYS - 1].n)
        cairn_buf_appendf(&b, "cairn_events_emitted_total{type=\"other\",reason=\"other\"} %llu\n",
                          (unsigned long long)m->keys[CAIRN_K8S_METRICS_MAX_KEYS - 1].n);
    struct {
        const char *name, *help;
        uint64_t v;
    } c[] = {
        {"cairn_events_duplicates_total", "Event versions seen again and not emitted.", m->duplicates},
        {"cairn_events_filtered_total", "Events dropped by a type, reason or kind filter.", m->filtered},
        {"cairn_events_watch_restarts_total", "Watches started after the first.", m->watch_restarts},
        {"cairn_events_relists_total", "Lists after 410 Gone.", m->relists},
        {"cairn_events_sink_errors_total", "Events or flushes the sink failed.", m->sink_errors},
        {"cairn_events_api_errors_total", "Failed requests to the API server.", m->api_errors},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        cairn_buf_appendf(&b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", c[i].name, c[i].help,
                          c[i].name, c[i].name, (unsigned long long)c[i].v);
    double age = m->last_event_ns ? (double)(now_ns - m->last_event_ns) / 1e9 : -1.0;
    cairn_buf_appendf(&b, "# HELP cairn_events_last_event_age_seconds Seconds since the last "
                          "event was emitted (-1: none yet).\n"
                          "# TYPE cairn_events_last_event_age_seconds gauge\n"
                          "cairn_events_last_event_age_seconds %.3f\n"
                          "# HELP cairn_events_ready 1 once every watch is listed and running.\n"
                          "# TYPE cairn_events_ready gauge\ncairn_events_ready %d\n",
                      age, m->ready);
    pthread_mutex_unlock(&m->mu);
    if (m->sink_metrics)
        m->sink_metrics(m->sink_ctx, &b);
    if (!b.data) /* an append failed before anything was there */
        return NULL;
    size_t n;
    return cairn_buf_detach(&b, &n);
}

struct cairn_k8s_http {
    struct MHD_Daemon *d;
    struct cairn_k8s_metrics *m;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, char *body, int owned,
                             const char *ctype)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(body), body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (owned)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", ctype);
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)con_cls;
    struct cairn_k8s_http *h = cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return reply(c, 405, "method not allowed\n", 0, "text/plain");
    if (strcmp(url, "/metrics") == 0) {
        char *body = cairn_k8s_metrics_render(h->m, cairn_now_ns());
        if (!body)
            return reply(c, 500, "out of memory\n", 0, "text/plain");
        return reply(c, 200, body, 1, "text/plain; version=0.0.4");
    }
    if (strcmp(url, "/ready") == 0) {
        pthread_mutex_lock(&h->m->mu);
        int ready = h->m->ready;
        pthread_mutex_unlock(&h->m->mu);
        return ready ? reply(c, 200, "ready\n", 0, "text/plain")
                     : reply(c, 503, "not ready: listing\n", 0, "text/plain");
    }
    return reply(c, 404, "not found\n", 0, "text/plain");
}

struct cairn_k8s_http *cairn_k8s_http_start(const char *addr, struct cairn_k8s_metrics *m,
                                            int *port_out, struct cairn_err *err)
{
    const char *colon = strrchr(addr, ':');
    if (!colon)
        return cairn_err_set(err, CAIRN_EINVAL, "--listen %s: want HOST:PORT", addr), NULL;
    char host[256];
    snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
    long port = strtol(colon + 1, NULL, 10);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (port < 0 || port > 65535 ||
        inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sa.sin_addr) != 1) {
        cairn_err_set(err, CAIRN_EINVAL, "--listen %s: want IPv4:PORT", addr);
        return NULL;
    }
    struct cairn_k8s_http *h = calloc(1, sizeof *h);
    if (!h) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    h->m = m;
    h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                            handle, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_END);
    if (!h->d) {
        free(h);
        cairn_err_set(err, CAIRN_EIO, "--listen %s: cannot listen", addr);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    if (port_out)
        *port_out = di ? di->port : (int)port;
    return h;
}

void cairn_k8s_http_stop(struct cairn_k8s_http *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->d);
    free(h);
}
