/* server.c -- the HTTP server: libmicrohttpd with a thread per connection, body
 * accumulation with the push size limit, dispatch through the route table, replies
 * and request timing.
 *
 * A thread per connection suits the push path: a handler may block on the WAL
 * (group commit) without stalling other connections, and each connection keeps one
 * push batch (body buffer, decoded entries, label sets, label cache) across its
 * keep-alive requests, so a steady pusher decodes without allocating. A tail request
 * is answered with 101 and its connection handed to the tail (tail.c) as a WebSocket. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "api/api_int.h"
#include "cairn/limits.h"
#include "cairn/log.h"
#include "cairn/timeutil.h"

/* Per connection: lives from accept to close (MHD's socket context). */
struct conn {
    struct cairn__ingest_batch batch;
    struct cairn_buf reply;
    size_t route;       /* index in cairn__routes, or cairn__n_routes (no route) */
    int method_ok;
    int too_large;      /* body went past max_push_body: answer 413 */
    unsigned retry_after; /* > 0: send Retry-After with the reply */
    size_t body_seen;
    int64_t start_ns;
};

const char *cairn__req_header(struct cairn__req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *cairn__req_query(struct cairn__req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

void cairn__reply_text(struct cairn__req *r, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cairn_buf_reset(r->reply);
    if (cairn_buf_vappendf(r->reply, fmt, ap) || cairn_buf_append_byte(r->reply, '\n'))
        cairn_buf_reset(r->reply);
    va_end(ap);
    r->status = status;
    r->content_type = "text/plain; charset=utf-8";
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)cls;
    (void)c;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        struct conn *x = calloc(1, sizeof *x);
        if (x) {
            cairn__ingest_batch_init(&x->batch);
            cairn_buf_init(&x->reply);
        }
        *socket_context = x; /* NULL: requests on it get 500 */
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        struct conn *x = *socket_context;
        cairn__ingest_batch_deinit(&x->batch);
        cairn_buf_deinit(&x->reply);
        free(x);
        *socket_context = NULL;
    }
}

/* A static file (the web UI): served from the binary, revalidated on every load so
 * an upgraded server's UI is never mixed with a cached old one. */
static enum MHD_Result send_file(struct cairn_api *api, struct MHD_Connection *c,
                                 struct conn *x, const struct cairn_api_file *f)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(f->len, (void *)f->data, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, f->content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    cairn__metrics_observe(&api->metrics, cairn__route_slot(x->route), 200,
                           cairn_mono_ns() - x->start_ns);
    return rc;
}

/* MHD hands over the socket of a connection switched to WebSocket. */
static void on_upgrade(void *cls, struct MHD_Connection *c, void *req_cls, const char *extra_in,
                       size_t extra_in_size, MHD_socket sock,
                       struct MHD_UpgradeResponseHandle *urh)
{
    (void)c;
    (void)req_cls;
    (void)extra_in; /* a tail client sends nothing before it reads the 101 */
    (void)extra_in_size;
    cairn__tail_upgraded(cls, sock, urh);
}

/* 101 Switching Protocols for a tail request. */
static enum MHD_Result send_upgrade(struct cairn_api *api, struct MHD_Connection *c,
                                    struct conn *x, struct cairn__upgrade *up)
{
    struct MHD_Response *resp = MHD_create_response_for_upgrade(on_upgrade, up->tail);
    enum MHD_Result rc = MHD_NO;
    if (resp && MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket") == MHD_YES &&
        MHD_add_response_header(resp, "Sec-WebSocket-Accept", up->accept) == MHD_YES)
        rc = MHD_queue_response(c, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
    if (resp)
        MHD_destroy_response(resp);
    if (rc != MHD_YES)
        cairn__tail_abandon(up->tail);
    cairn__metrics_observe(&api->metrics, cairn__route_slot(x->route), 101,
                           cairn_mono_ns() - x->start_ns);
    return rc;
}

static enum MHD_Result send_reply(struct cairn_api *api, struct MHD_Connection *c,
                                  struct conn *x, int status, const char *ctype)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        x->reply.len, x->reply.data ? x->reply.data : (char *)"", MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    if (ctype && x->reply.len)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (x->retry_after) {
        char ra[16];
        snprintf(ra, sizeof ra, "%u", x->retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    cairn__metrics_observe(&api->metrics, cairn__route_slot(x->route), status,
                           cairn_mono_ns() - x->start_ns);
    return rc;
}

size_t cairn__route_slot(size_t route)
{
    if (route >= cairn__n_routes)
        return route;
    for (size_t i = 0; i < route; i++) {
        if (strcmp(cairn__routes[i].name, cairn__routes[route].name) == 0)
            return i;
    }
    return route;
}

int cairn__route_matches(const char *path, const char *url)
{
    size_t n = strlen(path);
    if (n && path[n - 1] == '*') /* a prefix route, as for label values */
        return strncmp(path, url, n - 1) == 0 && url[n - 1] != '\0';
    return strcmp(path, url) == 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    (void)version;
    struct cairn_api *api = cls;
    struct conn *x = *req_cls;
    if (!x) { /* first call for this request: headers only */
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        x = ci ? ci->socket_context : NULL;
        if (!x)
            return MHD_NO; /* out of memory at accept: drop the connection */
        *req_cls = x;
        x->start_ns = cairn_mono_ns();
        x->route = cairn__n_routes;
        x->method_ok = 0;
        x->too_large = 0;
        x->retry_after = 0;
        x->body_seen = 0;
        for (size_t i = 0; i < cairn__n_routes; i++) {
            if (!cairn__route_matches(cairn__routes[i].path, url))
                continue;
            x->route = i;
            if (strcmp(cairn__routes[i].method, method) == 0) {
                x->method_ok = 1;
                break;
            }
        }
        cairn__ingest_batch_reset(&x->batch);
        if (x->route < cairn__n_routes && x->method_ok && cairn__routes[x->route].wants_body) {
            const char *cl =
                MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
            unsigned long long n = cl ? strtoull(cl, NULL, 10) : 0;
            if (n > api->limits.max_push_body) {
                x->too_large = 1;
                cairn_buf_reset(&x->reply);
                if (cairn_buf_appendf(&x->reply,
                                      "request body too large: %llu bytes, limit: %zu bytes\n",
                                      n, api->limits.max_push_body))
                    cairn_buf_reset(&x->reply);
                /* Answer before reading the body; MHD closes the connection after. */
                return send_reply(api, c, x, 413, "text/plain; charset=utf-8");
            }
            if (n && cairn_buf_reserve(&x->batch.body, (size_t)n))
                return MHD_NO;
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        x->body_seen += n;
        if (x->too_large || x->route >= cairn__n_routes || !x->method_ok ||
            !cairn__routes[x->route].wants_body)
            return MHD_YES; /* discard */
        if (x->body_seen > api->limits.max_push_body) {
            x->too_large = 1;
            cairn_buf_reset(&x->batch.body);
            return MHD_YES;
        }
        if (cairn_buf_append(&x->batch.body, upload_data, n))
            return MHD_NO;
        return MHD_YES;
    }

    /* The whole request is in: answer it. */
    struct cairn__req r = {.conn = c, .url = url, .method = method, .batch = &x->batch, .status = 200,
                           .content_type = "text/plain; charset=utf-8", .reply = &x->reply};
    cairn_buf_reset(&x->reply);
    struct cairn_api_file file;
    if (x->route >= cairn__n_routes && strcmp(method, "GET") == 0 && api->files &&
        api->files(url, &file) == 0)
        return send_file(api, c, x, &file);
    if (x->route >= cairn__n_routes) {
        cairn__reply_text(&r, 404, "404 page not found");
    } else if (!x->method_ok) {
        cairn__reply_text(&r, 405, "method %s not allowed on %s", method, url);
    } else if (x->too_large) {
        cairn__reply_text(&r, 413, "request body too large: more than %zu bytes, limit: %zu bytes",
                          api->limits.max_push_body, api->limits.max_push_body);
    } else if (!cairn__req_tenant_refused(&r)) { /* one tenant check for every route */
        cairn__routes[x->route].fn(api, &r);
    }
    x->retry_after = r.retry_after_s;
    if (r.upgrade.tail)
        return send_upgrade(api, c, x, &r.upgrade);
    enum MHD_Result rc = send_reply(api, c, x, r.status, r.content_type);
    /* An unusually big push should not pin its buffers to the connection for good. */
    cairn__ingest_batch_trim(&x->batch, CAIRN_PUSH_KEEP_BYTES);
    return rc;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    CAIRN_WARN("http", "libmicrohttpd", "detail=\"%s\"", msg);
}

struct cairn_api *cairn_api_create(const struct cairn_api_config *cfg, struct cairn_err *err)
{
    char host[256];
    unsigned port;
    if (cairn_api_parse_listen(cfg->listen, host, sizeof host, &port)) {
        cairn_err_set(err, CAIRN_EINVAL, "listen address '%s' is not host:port", cfg->listen);
        return NULL;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char ports[8];
    snprintf(ports, sizeof ports, "%u", port);
    int gai = getaddrinfo(host[0] ? host : NULL, ports, &hints, &ai);
    if (gai) {
        cairn_err_set(err, CAIRN_EINVAL, "listen address '%s': %s", cfg->listen,
                      gai_strerror(gai));
        return NULL;
    }
    struct cairn_api *api = calloc(1, sizeof *api);
    if (!api) {
        freeaddrinfo(ai);
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    api->limits = cfg->limits;
    api->config_dump = cfg->config_dump;
    api->config_dump_ctx = cfg->config_dump_ctx;
    api->files = cfg->files;
    api->listen = strdup(cfg->listen);
    if (!api->listen ||
        cairn__tenants_init(&api->tenants, cfg->limits.ingestion_rate_mb * 1024 * 1024,
                            cfg->limits.ingestion_burst_mb * 1024 * 1024)) {
        free(api->listen);
        free(api);
        freeaddrinfo(ai);
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    if (cairn__tailhub_init(&api->tails)) {
        cairn__tenants_deinit(&api->tenants);
        free(api->listen);
        free(api);
        freeaddrinfo(ai);
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    api->mhd = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, api,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, api,
        MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, api,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)(cfg->threads_max ? cfg->threads_max : 256),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)300,
        MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!api->mhd) {
        cairn_err_set(err, CAIRN_EIO, "cannot listen on %s (address in use or not local?)",
                      cfg->listen);
        cairn__tailhub_deinit(&api->tails);
        cairn__tenants_deinit(&api->tenants);
        free(api->listen);
        free(api);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(api->mhd, MHD_DAEMON_INFO_BIND_PORT);
    api->port = di ? di->port : port;
    CAIRN_INFO("http", "listening", "addr=%s port=%u", host, api->port);
    return api;
}

void cairn_api_set_store(struct cairn_api *api, struct cairn_store *store)
{
    atomic_store(&api->store, store);
}

unsigned cairn_api_port(const struct cairn_api *api)
{
    return api->port;
}

void cairn_api_stop(struct cairn_api *api)
{
    if (api && api->mhd) {
        cairn__tailhub_stop(&api->tails); /* tails hold upgraded connections of the daemon */
        MHD_stop_daemon(api->mhd);
        api->mhd = NULL;
    }
}

void cairn_api_destroy(struct cairn_api *api)
{
    if (!api)
        return;
    cairn_api_stop(api);
    cairn__tailhub_deinit(&api->tails);
    cairn__tenants_deinit(&api->tenants);
    free(api->listen);
    free(api);
}
