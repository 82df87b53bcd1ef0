/* server.c -- the HTTP server: libmicrohttpd's event loop, connection deadlines, body
 * accumulation within its limit, dispatch through the route table to the handler
 * threads, replies and request timing.
 *
 * Event-driven, so that an idle or slow client costs a socket, never a thread: the
 * daemon runs epoll in a few internal threads (MHD_USE_EPOLL_INTERNAL_THREAD with a
 * small thread pool), which read headers and bodies of every connection. Once a
 * request's body is complete, its connection is suspended and the handler runs on a
 * worker thread (workers.c; a handler may block on the WAL's group commit or run a
 * long query); the worker resumes the connection and the loop sends the reply.
 * Pushes and reads have a pool each, so slow queries never hold up ingestion. Cheap
 * routes (/ready, the tail handshake, static UI files, refusals) are answered on the
 * loop directly.
 *
 * Deadlines (reaper.c), absolute so that trickling bytes does not extend them: a new
 * connection must deliver its first request's header within header_timeout; a
 * keep-alive connection must start its next request within idle_timeout and deliver
 * the header within header_timeout of its request line; a body may pause at most
 * body_timeout between bytes. A connection past its deadline is shut down. The
 * number of connections is capped per client address and in all (the fd limit is
 * raised to its hard limit at start), so 10,000 idle sockets are just sockets.
 *
 * Bodies: a Content-Length over the route's limit (max_push_body for pushes,
 * CAIRN_MAX_BODY_OTHER for other routes) is answered 413 before any of the body is
 * read; a chunked body stops being read at the limit: 413 and the connection closes.
 *
 * Each connection keeps one push batch (body buffer, decoded entries, label sets,
 * label cache) across its keep-alive requests, so a steady pusher decodes without
 * allocating; only one request of a connection is in a handler at a time. A tail
 * request is answered with 101 and its connection handed to the tail (tail.c) as a
 * WebSocket. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api/api_int.h"
#include "cairn/limits.h"
#include "cairn/log.h"
#include "cairn/timeutil.h"

enum { JOB_NONE, JOB_RUNNING, JOB_DONE };

/* Per connection: lives from accept to close (MHD's socket context). The daemon's
 * thread owns it, except while its job runs: then the worker does (the connection is
 * suspended, so the daemon does not call back for it). */
struct conn {
    struct cairn__tracked track; /* its deadline (reaper.c) */
    struct cairn__job job;       /* its handler on a worker thread */
    struct cairn_api *api;
    struct MHD_Connection *c;
    struct cairn_ingest_batch batch;
    struct cairn_buf reply;
    struct cairn__req req;  /* the request a worker answers */
    size_t route;       /* index in cairn__routes, or cairn__n_routes (no route) */
    int method_ok;
    int state;          /* JOB_* */
    int upgraded;       /* handed to a tail: never touch its socket again */
    int challenge;      /* the reply is a 401: name the schemes (WWW-Authenticate) */
    unsigned served;    /* requests answered on it */
    unsigned retry_after; /* > 0: send Retry-After with the reply */
    size_t body_seen, body_limit;
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

static struct conn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct cairn_api *api = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        struct conn *x = calloc(1, sizeof *x);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (x && ci) {
            x->api = api;
            x->c = c;
            cairn_ingest_batch_init(&x->batch);
            cairn_buf_init(&x->reply);
            cairn__tracked_deadline(&x->track, cairn_mono_ns() + api->header_timeout_ns);
            cairn__reaper_add(&api->reaper, &x->track, ci->connect_fd);
        } else {
            free(x);
            x = NULL;
        }
        *socket_context = x; /* NULL: requests on it are dropped */
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        struct conn *x = *socket_context;
        cairn__reaper_remove(&api->reaper, &x->track); /* before MHD closes the socket */
        cairn_ingest_batch_deinit(&x->batch);
        cairn_buf_deinit(&x->reply);
        free(x);
        *socket_context = NULL;
    }
}

/* A request line arrived: on a keep-alive connection, its header is due within
 * header_timeout from now (a new connection's deadline runs from accept). */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *c)
{
    struct cairn_api *api = cls;
    (void)uri;
    struct conn *x = conn_of(c);
    if (x && x->served && !x->upgraded)
        cairn__tracked_deadline(&x->track, cairn_mono_ns() + api->header_timeout_ns);
    return NULL; /* *req_cls stays NULL until on_request's first call */
}

/* A request is done (its reply sent, or it failed): the connection idles until its
 * next request, for at most idle_timeout. */
static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct cairn_api *api = cls;
    (void)req_cls;
    (void)toe;
    struct conn *x = conn_of(c);
    if (!x || x->upgraded)
        return;
    x->served++;
    x->state = JOB_NONE;
    cairn__tracked_deadline(&x->track, cairn_mono_ns() + api->idle_timeout_ns);
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
    else
        x->upgraded = 1; /* the socket becomes the tail's: no deadline applies */
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
    if (x->challenge) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Basic realm=\"cairn\", charset=\"UTF-8\"");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"cairn\"");
    }
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

/* A chunked body went past its limit while being read. libmicrohttpd takes no reply
 * until the body is complete, so the 413 is written to the socket directly (nothing
 * else is being sent on it: the request is still being read), then MHD_NO makes the
 * daemon close the connection without reading the rest. */
static enum MHD_Result refuse_body(struct cairn_api *api, struct conn *x)
{
    char body[160], head[256];
    int bl = snprintf(body, sizeof body,
                      "request body too large: more than %zu bytes, limit: %zu bytes\n",
                      x->body_limit, x->body_limit);
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 413 Content Too Large\r\nConnection: close\r\n"
                      "Content-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n\r\n",
                      bl);
    if (x->track.next && send(x->track.fd, head, (size_t)hl, MSG_NOSIGNAL | MSG_DONTWAIT) == hl)
        send(x->track.fd, body, (size_t)bl, MSG_NOSIGNAL | MSG_DONTWAIT);
    cairn__metrics_observe(&api->metrics, cairn__route_slot(x->route), 413,
                           cairn_mono_ns() - x->start_ns);
    cairn_ingest_batch_reset(&x->batch);
    cairn_ingest_batch_trim(&x->batch, CAIRN_PUSH_KEEP_BYTES);
    return MHD_NO;
}

/* The reply a handler left in x->req: 101 to a tail, or status and body. */
static enum MHD_Result finish(struct cairn_api *api, struct conn *x)
{
    struct cairn__req *r = &x->req;
    if (r->upgrade.tail)
        return send_upgrade(api, x->c, x, &r->upgrade);
    x->retry_after = r->retry_after_s;
    enum MHD_Result rc = send_reply(api, x->c, x, r->status, r->content_type);
    /* An unusually big push should not pin its buffers to the connection for good. */
    cairn_ingest_batch_trim(&x->batch, CAIRN_PUSH_KEEP_BYTES);
    return rc;
}

/* A worker runs the handler of a suspended connection, then hands it back. */
static void run_job(struct cairn__job *j)
{
    struct conn *x = (struct conn *)((char *)j - offsetof(struct conn, job));
    cairn__routes[x->route].fn(x->api, &x->req);
    x->state = JOB_DONE;
    MHD_resume_connection(x->c); /* the daemon calls on_request again: finish() */
}

/* First call of a request (its header is in): find the route, apply the body limit. */
/* A browser cannot set headers on a WebSocket (the web UI's live view): on the tail
 * route, without an X-Scope-OrgID header, the `tenant` query parameter stands for it,
 * set as the header before auth and the tenant checks read it, so both apply as they
 * do to the header. The value lives in MHD's request buffer, as long as the request. */
static void tail_tenant_from_query(struct MHD_Connection *c, const char *url)
{
    if (strcmp(url, "/loki/api/v1/tail") != 0 ||
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Scope-OrgID"))
        return;
    const char *t = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "tenant");
    if (t && *t)
        (void)MHD_set_connection_value(c, MHD_HEADER_KIND, "X-Scope-OrgID", t);
}

static enum MHD_Result begin(struct cairn_api *api, struct MHD_Connection *c, struct conn *x,
                             const char *url, const char *method)
{
    int64_t now = cairn_mono_ns();
    x->start_ns = now;
    x->route = cairn__n_routes;
    x->method_ok = 0;
    x->state = JOB_NONE;
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
    int kind = x->route < cairn__n_routes && x->method_ok ? cairn__routes[x->route].wants_body
                                                           : CAIRN__BODY_NONE;
    x->body_limit = kind == CAIRN__BODY_PUSH ? api->limits.max_push_body : CAIRN_MAX_BODY_OTHER;
    cairn_ingest_batch_reset(&x->batch);
    cairn__tracked_deadline(&x->track, now + api->body_timeout_ns);
    x->challenge = 0;
    x->retry_after = 0;
    tail_tenant_from_query(c, url);
    if (api->auth.enabled && x->route < cairn__n_routes && !cairn__routes[x->route].open) {
        char msg[256];
        int st = cairn__auth_check(&api->auth, c, msg, sizeof msg);
        if (st) { /* refused from the header alone: the body is never read */
            cairn_buf_reset(&x->reply);
            if (cairn_buf_appendf(&x->reply, "%s\n", msg))
                cairn_buf_reset(&x->reply);
            x->challenge = st == 401;
            cairn__tracked_deadline(&x->track, 0);
            return send_reply(api, c, x, st, "text/plain; charset=utf-8");
        }
    }
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    unsigned long long n = cl ? strtoull(cl, NULL, 10) : 0;
    if (n > x->body_limit) {
        cairn_buf_reset(&x->reply);
        if (cairn_buf_appendf(&x->reply, "request body too large: %llu bytes, limit: %zu bytes\n",
                              n, x->body_limit))
            cairn_buf_reset(&x->reply);
        /* Answer before reading the body; MHD closes the connection after. */
        cairn__tracked_deadline(&x->track, 0);
        return send_reply(api, c, x, 413, "text/plain; charset=utf-8");
    }
    /* Room for the announced body, but never more up front than a connection keeps
     * anyway: a client announcing 100 MiB and sending nothing costs nothing. */
    if (kind != CAIRN__BODY_NONE && n &&
        cairn_buf_reserve(&x->batch.body, n < CAIRN_PUSH_KEEP_BYTES ? (size_t)n
                                                                     : CAIRN_PUSH_KEEP_BYTES))
        return MHD_NO;
    return MHD_YES;
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
        if (!(x = conn_of(c)))
            return MHD_NO; /* out of memory at accept: drop the connection */
        *req_cls = x;
        return begin(api, c, x, url, method);
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        x->body_seen += n;
        if (x->body_seen > x->body_limit)
            return refuse_body(api, x);
        cairn__tracked_deadline(&x->track, cairn_mono_ns() + api->body_timeout_ns);
        if (x->route >= cairn__n_routes || !x->method_ok ||
            cairn__routes[x->route].wants_body == CAIRN__BODY_NONE)
            return MHD_YES; /* discard */
        if (cairn_buf_append(&x->batch.body, upload_data, n))
            return MHD_NO;
        return MHD_YES;
    }
    if (x->state == JOB_DONE) /* back from a worker */
        return finish(api, x);

    /* The whole request is in: answer it, here or on a worker. */
    cairn__tracked_deadline(&x->track, 0);
    x->req = (struct cairn__req){.conn = c, .url = url, .method = method, .batch = &x->batch,
                                 .status = 200, .content_type = "text/plain; charset=utf-8",
                                 .reply = &x->reply};
    struct cairn__req *r = &x->req;
    cairn_buf_reset(&x->reply);
    struct cairn_api_file file;
    if (x->route >= cairn__n_routes && strcmp(method, "GET") == 0 && api->files &&
        api->files(url, &file) == 0)
        return send_file(api, c, x, &file);
    if (x->route >= cairn__n_routes) {
        cairn__reply_text(r, 404, "404 page not found");
    } else if (!x->method_ok) {
        cairn__reply_text(r, 405, "method %s not allowed on %s", method, url);
    } else if (cairn__req_tenant_refused(r)) {
        /* one tenant check for every route: the reply is set */
    } else if (cairn__routes[x->route].runs_inline) {
        cairn__routes[x->route].fn(api, r);
    } else {
        x->state = JOB_RUNNING;
        x->job.run = run_job;
        MHD_suspend_connection(c);
        /* peers' calls on a pool of their own: a push waiting on its forwards, or a read
         * node's query on its fan-out, never waits behind work that waits on it */
        const struct cairn__route *rt = &cairn__routes[x->route];
        struct cairn__workers *pool = strncmp(rt->path, "/internal/", 10) == 0 ? &api->internal_workers
                                      : rt->wants_body == CAIRN__BODY_PUSH      ? &api->ingest_workers
                                                                               : &api->read_workers;
        if (cairn__workers_submit(pool, &x->job))
            run_job(&x->job); /* stopping: no workers left, answer here */
        return MHD_YES;
    }
    return finish(api, x);
}

/* libmicrohttpd's messages (a refused connection, a client that broke the protocol)
 * are caused by clients: at most MHD_LOG_PER_S a second are logged, so a flood of
 * connections cannot flood the log; the next logged one says how many were not. */
#define MHD_LOG_PER_S 10
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct cairn_api *api = cls;
    int64_t sec = cairn_mono_ns() / 1000000000LL;
    if (atomic_exchange(&api->log_second, sec) != sec)
        atomic_store(&api->log_count, 0);
    if (atomic_fetch_add(&api->log_count, 1) >= MHD_LOG_PER_S) {
        atomic_fetch_add(&api->log_suppressed, 1);
        return;
    }
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    CAIRN_WARN("http", "libmicrohttpd", "detail=\"%s\" suppressed_before=%llu", msg,
               (unsigned long long)atomic_exchange(&api->log_suppressed, 0));
}

/* Raise the open-file limit to its hard limit (idle clients are sockets) and return
 * how many connections fit beside what the store keeps open. */
static unsigned fit_connections(unsigned wanted)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return wanted;
    if (rl.rlim_cur < rl.rlim_max) {
        rlim_t was = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = was;
    }
    rlim_t room = rl.rlim_cur > 2 * CAIRN_HTTP_FD_RESERVE ? rl.rlim_cur - CAIRN_HTTP_FD_RESERVE
                                                          : rl.rlim_cur / 2;
    if (rl.rlim_cur != RLIM_INFINITY && wanted > room) {
        CAIRN_WARN("http", "connection limit lowered to fit the open-file limit",
                   "http_max_connections=%u nofile=%llu now=%llu", wanted,
                   (unsigned long long)rl.rlim_cur, (unsigned long long)room);
        return (unsigned)room;
    }
    return wanted;
}

static unsigned secs_up(int64_t ns)
{
    int64_t s = (ns + 999999999LL) / 1000000000LL;
    return s < 1 ? 1 : s > 86400 * 7 ? 86400 * 7 : (unsigned)s;
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
    int have_tenants = 0, have_tails = 0, have_reaper = 0;
    struct cairn_api *api = calloc(1, sizeof *api);
    if (!api)
        goto nomem;
    api->limits = cfg->limits;
    api->config_dump = cfg->config_dump;
    api->config_dump_ctx = cfg->config_dump_ctx;
    api->files = cfg->files;
    api->header_timeout_ns = cfg->header_timeout_ns > 0 ? cfg->header_timeout_ns
                                                        : CAIRN_HTTP_HEADER_TIMEOUT_NS;
    api->body_timeout_ns = cfg->body_timeout_ns > 0 ? cfg->body_timeout_ns
                                                    : CAIRN_HTTP_BODY_TIMEOUT_NS;
    api->idle_timeout_ns = cfg->idle_timeout_ns > 0 ? cfg->idle_timeout_ns
                                                    : CAIRN_HTTP_IDLE_TIMEOUT_NS;
    api->max_connections = fit_connections(cfg->max_connections ? cfg->max_connections
                                                                : CAIRN_HTTP_MAX_CONNECTIONS);
    api->max_connections_per_ip = cfg->max_connections_per_ip
                                      ? cfg->max_connections_per_ip
                                      : CAIRN_HTTP_MAX_CONNECTIONS_PER_IP;
    api->n_workers = cfg->workers ? cfg->workers : cairn__workers_default();
    if (!(api->listen = strdup(cfg->listen)))
        goto nomem;
    if (cairn__tenants_init(&api->tenants, cfg->limits.ingestion_rate_mb * 1024 * 1024,
                            cfg->limits.ingestion_burst_mb * 1024 * 1024))
        goto nomem;
    have_tenants = 1;
    if (cairn__tailhub_init(&api->tails))
        goto nomem;
    have_tails = 1;
    if (cairn__auth_init(&api->auth, cfg, err))
        goto fail;
    if (cairn_ingest_otlp_rules_create(&cfg->otlp, &api->otlp, err))
        goto fail;
    if (cairn__reaper_start(&api->reaper))
        goto nomem;
    have_reaper = 1;
    if (cairn__workers_start(&api->ingest_workers, api->n_workers))
        goto nomem;
    if (cairn__workers_start(&api->read_workers, api->n_workers))
        goto nomem;
    if (cairn__workers_start(&api->internal_workers, api->n_workers))
        goto nomem;

    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned loops = cores > 4 ? 4 : cores > 1 ? (unsigned)cores : 1;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    api->mhd = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, api,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, api,
        MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, api,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, api,
        MHD_OPTION_URI_LOG_CALLBACK, on_request_line, api,
        MHD_OPTION_THREAD_POOL_SIZE, loops,
        MHD_OPTION_CONNECTION_LIMIT, api->max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, api->max_connections_per_ip,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CAIRN_HTTP_CONN_MEMORY,
        MHD_OPTION_CONNECTION_TIMEOUT, secs_up(api->idle_timeout_ns),
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096u,
        MHD_OPTION_END);
    freeaddrinfo(ai);
    ai = NULL;
    if (!api->mhd) {
        cairn_err_set(err, CAIRN_EIO, "cannot listen on %s (address in use or not local?)",
                      cfg->listen);
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(api->mhd, MHD_DAEMON_INFO_BIND_PORT);
    api->port = di ? di->port : port;
    CAIRN_INFO("http", "listening", "addr=%s port=%u loops=%u workers=%u+%u max_connections=%u "
               "per_ip=%u", host, api->port, loops, api->n_workers, api->n_workers,
               api->max_connections,
               api->max_connections_per_ip);
    return api;
nomem:
    cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
fail:
    if (ai)
        freeaddrinfo(ai);
    if (api) {
        cairn__workers_stop(&api->ingest_workers);
        cairn__workers_stop(&api->read_workers);
        cairn__workers_stop(&api->internal_workers);
        if (have_reaper)
            cairn__reaper_stop(&api->reaper);
        cairn__auth_deinit(&api->auth);
        cairn_ingest_otlp_rules_destroy(api->otlp);
        if (have_tails)
            cairn__tailhub_deinit(&api->tails);
        if (have_tenants)
            cairn__tenants_deinit(&api->tenants);
        free(api->listen);
        free(api);
    }
    return NULL;
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
        /* no new connections; tails hold upgraded connections of the daemon; requests
         * in handlers finish (each resumes its connection) before the daemon stops */
        MHD_socket lfd = MHD_quiesce_daemon(api->mhd);
        cairn__tailhub_stop(&api->tails);
        cairn__workers_stop(&api->ingest_workers);
        cairn__workers_stop(&api->read_workers);
        cairn__workers_stop(&api->internal_workers);
        MHD_stop_daemon(api->mhd);
        api->mhd = NULL;
        if (lfd != MHD_INVALID_SOCKET)
            close(lfd); /* a quiesced daemon leaves its listening socket to us */
        cairn__reaper_stop(&api->reaper);
    }
}

void cairn_api_destroy(struct cairn_api *api)
{
    if (!api)
        return;
    cairn_api_stop(api);
    cairn__tailhub_deinit(&api->tails);
    cairn__tenants_deinit(&api->tenants);
    cairn_query_gate_destroy(atomic_load(&api->qgate));
    cairn__auth_deinit(&api->auth);
    cairn__cluster_destroy(api->cluster);
    cairn_ingest_otlp_rules_destroy(api->otlp);
    free(api->listen);
    free(api);
}
