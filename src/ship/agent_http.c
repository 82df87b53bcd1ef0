/* agent_http.c -- the agent's HTTP port: /ready (503 until every discoverer has
 * listed), /metrics, and Promtail's /targets and
 * /service-discovery pages (targets with their labels before and after relabelling;
 * dropped ones with the reason), with /api/v1/targets giving the same as JSON in
 * Prometheus's shape. libmicrohttpd, its own thread; the pages render the view the
 * tailer thread last swapped in. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/log.h"
#include "ship/agent_int.h"

void cairn__agent_view_set(struct cairn_ship_agent *a, json_t *view)
{
    pthread_mutex_lock(&a->view_mu);
    json_t *old = a->view;
    a->view = view;
    pthread_mutex_unlock(&a->view_mu);
    json_decref(old);
}

static json_t *view_get(struct cairn_ship_agent *a)
{
    pthread_mutex_lock(&a->view_mu);
    json_t *v = json_incref(a->view);
    pthread_mutex_unlock(&a->view_mu);
    return v;
}

/* {a="1", b="2"} as HTML, one label a line. */
static int labels_html(struct cairn_buf *b, json_t *labels)
{
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach(labels, k, v) {
        rc |= cairn_buf_append_html(b, k);
        rc |= cairn_buf_append_str(b, "=\"");
        rc |= cairn_buf_append_html(b, json_string_value(v));
        rc |= cairn_buf_append_str(b, "\"<br>");
    }
    return rc;
}

static int page(struct cairn_ship_agent *a, int sd_page, struct cairn_buf *b)
{
    json_t *view = view_get(a);
    int rc = cairn_buf_appendf(b, "<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
                               "<title>cairn ship: %s</title><style>body{font-family:sans-serif}"
                               "table{border-collapse:collapse}td,th{border:1px solid #ccc;"
                               "padding:4px;vertical-align:top;font-family:monospace}</style>"
                               "</head><body><h1>%s</h1><p><a href=\"/targets\">Targets</a> | "
                               "<a href=\"/service-discovery\">Service discovery</a> | "
                               "<a href=\"/api/v1/targets\">JSON</a></p>",
                               sd_page ? "service discovery" : "targets",
                               sd_page ? "Service discovery" : "Targets");
    const struct cairn_ship_scrape *sc = a->cfg->scrape_configs.v;
    for (size_t j = 0; j < a->cfg->scrape_configs.n; j++) {
        const char *job = sc[j].job_name;
        size_t nact = 0, ndrop = 0, i;
        json_t *t;
        json_array_foreach(json_object_get(view, "active"), i, t)
            nact += strcmp(json_string_value(json_object_get(t, "job")), job) == 0;
        json_array_foreach(json_object_get(view, "dropped"), i, t)
            ndrop += strcmp(json_string_value(json_object_get(t, "job")), job) == 0;
        rc |= cairn_buf_append_str(b, "<h2>");
        rc |= cairn_buf_append_html(b, job);
        rc |= cairn_buf_appendf(b, " (%zu active, %zu dropped)</h2><table><tr>", nact, ndrop);
        rc |= cairn_buf_append_str(b, sd_page ? "<th>Discovered labels</th><th>Target labels</th>"
                                              "</tr>"
                                              : "<th>Path</th><th>Labels</th></tr>");
        json_array_foreach(json_object_get(view, "active"), i, t) {
            if (strcmp(json_string_value(json_object_get(t, "job")), job) != 0)
                continue;
            rc |= cairn_buf_append_str(b, "<tr><td>");
            if (sd_page)
                rc |= labels_html(b, json_object_get(t, "discoveredLabels"));
            else
                rc |= cairn_buf_append_html(b, json_string_value(json_object_get(t, "path")));
            rc |= cairn_buf_append_str(b, "</td><td>");
            rc |= labels_html(b, json_object_get(t, "labels"));
            rc |= cairn_buf_append_str(b, "</td></tr>");
        }
        json_array_foreach(json_object_get(view, "dropped"), i, t) {
            if (!sd_page || strcmp(json_string_value(json_object_get(t, "job")), job) != 0)
                continue;
            rc |= cairn_buf_append_str(b, "<tr><td>");
            rc |= labels_html(b, json_object_get(t, "discoveredLabels"));
            rc |= cairn_buf_append_str(b, "</td><td>dropped: ");
            rc |= cairn_buf_append_html(b, json_string_value(json_object_get(t, "reason")));
            rc |= cairn_buf_append_str(b, "</td></tr>");
        }
        rc |= cairn_buf_append_str(b, "</table>");
    }
    rc |= cairn_buf_append_str(b, "</body></html>\n");
    json_decref(view);
    return rc ? CAIRN_ENOMEM : 0;
}

static int dump_cb(const char *p, size_t n, void *ud)
{
    return cairn_buf_append(ud, p, n) == 0 ? 0 : -1;
}

/* Prometheus's /api/v1/targets shape. */
static int targets_json(struct cairn_ship_agent *a, struct cairn_buf *b)
{
    json_t *view = view_get(a);
    json_t *act = json_array(), *drop = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(view, "active"), i, t)
        json_array_append_new(act, json_pack("{s:O,s:O,s:O,s:O,s:s}", "scrapePool",
                                             json_object_get(t, "job"), "discoveredLabels",
                                             json_object_get(t, "discoveredLabels"), "labels",
                                             json_object_get(t, "labels"), "path",
                                             json_object_get(t, "path"), "health", "up"));
    json_array_foreach(json_object_get(view, "dropped"), i, t)
        json_array_append_new(drop, json_pack("{s:O,s:O,s:O}", "scrapePool",
                                              json_object_get(t, "job"), "discoveredLabels",
                                              json_object_get(t, "discoveredLabels"), "reason",
                                              json_object_get(t, "reason")));
    json_t *doc = json_pack("{s:s,s:{s:o,s:o}}", "status", "success", "data", "activeTargets",
                            act, "droppedTargets", drop);
    int rc = doc ? json_dump_callback(doc, dump_cb, b, JSON_COMPACT) : -1;
    json_decref(doc);
    json_decref(view);
    return rc ? CAIRN_ENOMEM : cairn_buf_append_byte(b, '\n');
}

static enum MHD_Result on_http(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)con_cls;
    struct cairn_ship_agent *a = cls;
    struct cairn_buf b = CAIRN_BUF_INIT;
    unsigned status = 200;
    const char *ctype = "text/plain; charset=utf-8";
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        status = 405;
        cairn_buf_append_str(&b, "method not allowed\n");
    } else if (strcmp(url, "/ready") == 0) {
        /* ready once every discoverer has listed: before, targets are missing */
        int synced = 1;
        for (size_t i = 0; i < a->n_sds; i++)
            synced &= cairn_sd_k8s_synced(a->sds[i].sd);
        if (!synced)
            status = 503;
        cairn_buf_append_str(&b, synced ? "ready\n" : "not ready: discovering targets\n");
    } else if (strcmp(url, "/metrics") == 0) {
        ctype = "text/plain; version=0.0.4";
        if (cairn_ship_agent_metrics(a, &b))
            status = 500;
    } else if (strcmp(url, "/targets") == 0 || strcmp(url, "/service-discovery") == 0) {
        ctype = "text/html; charset=utf-8";
        if (page(a, url[1] == 's', &b))
            status = 500;
    } else if (strcmp(url, "/api/v1/targets") == 0) {
        ctype = "application/json";
        if (targets_json(a, &b))
            status = 500;
    } else {
        status = 404;
        cairn_buf_append_str(&b, "404 page not found\n");
    }
    size_t len;
    char *body = cairn_buf_detach(&b, &len);
    struct MHD_Response *r = MHD_create_response_from_buffer(body ? len : 0, body ? body : (void *)"",
                                                             body ? MHD_RESPMEM_MUST_FREE
                                                                  : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", ctype);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

int cairn__agent_start_http(struct cairn_ship_agent *a, struct cairn_err *err)
{
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)a->cfg->server.http_listen_port);
    const char *addr = a->cfg->server.http_listen_address;
    if (!addr || !*addr)
        addr = "0.0.0.0";
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
        return cairn_err_set(err, CAIRN_EINVAL, "server.http_listen_address: '%s' is not an IPv4 "
                             "address", addr);
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
                                            on_http, a, MHD_OPTION_SOCK_ADDR, &sa,
                                            MHD_OPTION_END);
    if (!d)
        return cairn_err_set(err, CAIRN_EIO, "cannot listen on %s:%d", addr,
                             a->cfg->server.http_listen_port);
    a->http = d;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    a->http_port = di ? di->port : a->cfg->server.http_listen_port;
    CAIRN_INFO("ship", "serving /ready and /metrics", "addr=%s port=%d", addr, a->http_port);
    return 0;
}

void cairn__agent_stop_http(struct cairn_ship_agent *a)
{
    if (a->http)
        MHD_stop_daemon(a->http);
    a->http = NULL;
}
