/* src_relay.c -- the `loki_push_api:` source (Promtail's push target): an HTTP server
 * per scrape config that takes Loki pushes and raw lines from other clients and sends
 * their entries through relabelling, the scrape config's stages and the agent's sink.
 *
 * Each relay runs libmicrohttpd without its own threads, driven by one thread of ours
 * (MHD_run_wait), so every request of a relay is handled on that thread: its pipeline
 * and its decoding batch need no lock, and the thread also ticks the pipeline (a
 * multiline block is flushed after max_wait_time even when no push comes). A request
 * body is gathered per connection (uploads interleave) and decoded once complete, by
 * the store's decoders with the store's caps (cairn/ingest.h). The reply, 204, goes
 * out only after every entry was emitted into the sink: when a client's queue is
 * full, emit blocks, this relay stops reading, and pushers wait (back-pressure).
 *
 * As Promtail: a pushed stream's labels, then the config's labels (replacing a pushed
 * one of the same name), then relabel_configs, then the labels starting with "__" are
 * dropped; X-Scope-OrgID stays the entry's tenant (a `tenant` stage may change it).
 * Unlike Promtail, a stream that relabelling drops ends only that stream, not the
 * rest of the push. Raw lines get the config's labels and the time of receipt. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/ingest.h"
#include "cairn/limits.h"
#include "cairn/log.h"
#include "cairn/sd.h"
#include "cairn/timeutil.h"
#include "ship/ship_build.h"
#include "ship/src_relay.h"

/* How long the relay's thread waits for network events between pipeline ticks. */
#define RELAY_TICK_MS 100

enum { R_PUSH, R_RAW, R_READY, R_NOT_FOUND, R_BAD_METHOD };
enum { ST_204, ST_400, ST_413, ST_429, ST_5XX, ST_OTHER, N_ST };
static const char *const st_names[N_ST] = {"204", "400", "413", "429", "5xx", "other"};

struct relay {
    const struct cairn_ship_scrape *sc;
    const struct cairn_ship_sink *sink;
    struct cairn_ship_pipeline *pl;
    struct cairn_ship_relabel_rule *rules;
    size_t n_rules;
    struct cairn_labels extra; /* the config's labels, sorted */
    struct cairn_ingest_limits lim;
    size_t max_body;
    _Atomic size_t decoding; /* this relay's decompression budget (one request at a time) */
    struct MHD_Daemon *d;
    int port;
    pthread_t th;
    int running;
    atomic_int stop; /* refuse pushes (503); the server still answers */
    atomic_int quit; /* the thread ends (destroy) */
    /* the relay thread's scratch, reused request after request */
    struct cairn_ingest_batch b;
    struct cairn_ship_entry e;
    struct cairn_sd_labels sdl;
    struct cairn_labels ls;
    /* counters, read by /metrics */
    atomic_ullong requests[N_ST];
    atomic_ullong entries, bytes, dropped_streams;
};

struct cairn__relays {
    struct relay *v;
    size_t n;
};

/* One request's state, from its headers to its completion. */
struct rreq {
    int route;
    int too_big; /* the body passed max_body: discarded, 413 */
    int oom;
    struct cairn_buf body;
};

/* ---- turning pushed streams into entries ---- */

static int is_meta(const char *name, size_t len)
{
    return len >= 2 && name[0] == '_' && name[1] == '_';
}

/* r->ls = stream labels + config labels, relabelled, without "__" labels. 1 keep, 0
 * dropped by relabelling or left empty, negative error (CAIRN_EINVAL: too many). */
static int stream_labels(struct relay *r, const struct cairn_labels *in)
{
    cairn_labels_reset(&r->ls);
    if (!r->n_rules) { /* the usual case: no copy through the discovery label set */
        for (size_t i = 0; i < in->n; i++) {
            const struct cairn_label *l = &in->v[i];
            if (is_meta(l->name, l->name_len) || cairn_labels_get(&r->extra, l->name, l->name_len))
                continue;
            if (cairn_labels_add(&r->ls, l->name, l->name_len, l->value, l->value_len))
                return CAIRN_EINVAL;
        }
        for (size_t i = 0; i < r->extra.n; i++) {
            const struct cairn_label *l = &r->extra.v[i];
            if (!is_meta(l->name, l->name_len) &&
                cairn_labels_add(&r->ls, l->name, l->name_len, l->value, l->value_len))
                return CAIRN_EINVAL;
        }
    } else {
        cairn_sd_labels_reset(&r->sdl);
        for (size_t i = 0; i < in->n; i++)
            if (cairn_sd_labels_set(&r->sdl, in->v[i].name, in->v[i].name_len, in->v[i].value,
                                    in->v[i].value_len))
                return CAIRN_ENOMEM;
        for (size_t i = 0; i < r->extra.n; i++)
            if (cairn_sd_labels_set(&r->sdl, r->extra.v[i].name, r->extra.v[i].name_len,
                                    r->extra.v[i].value, r->extra.v[i].value_len))
                return CAIRN_ENOMEM;
        int keep = cairn_ship_relabel_apply(r->rules, r->n_rules, &r->sdl);
        if (keep <= 0)
            return keep;
        for (size_t i = 0; i < r->sdl.n; i++) {
            const struct cairn_sd_label *l = &r->sdl.v[i];
            if (!is_meta(l->name, l->name_len) &&
                cairn_labels_add(&r->ls, l->name, l->name_len, l->value, l->value_len))
                return CAIRN_EINVAL;
        }
    }
    if (!r->ls.n)
        return 0;
    return cairn_labels_sort(&r->ls, NULL) ? CAIRN_EINVAL : 1;
}

/* One entry into the stages and the sink. 0, or the sink's error (CAIRN_EAGAIN: the
 * clients are shutting down). */
static int emit(struct relay *r, const struct cairn_labels *ls, int64_t ts, const char *line,
                size_t len, const char *tenant, size_t tenant_len, const char *sm, size_t sm_len)
{
    int rc = cairn_ship_entry_reset(&r->e, ls, ts, line, len);
    if (!rc && tenant_len)
        rc = cairn_buf_append(&r->e.tenant, tenant, tenant_len);
    if (!rc && sm_len) /* the pushed structured metadata goes on with the entry */
        rc = cairn_buf_append(&r->e.sm, sm, sm_len);
    if (!rc)
        rc = cairn_ship_pipeline_run(r->pl, &r->e, r->sink);
    if (!rc) {
        atomic_fetch_add_explicit(&r->entries, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&r->bytes, len, memory_order_relaxed);
    }
    return rc;
}

/* The decoded push in r->b: every good stream's entries into the stages. Returns 0,
 * or the first error of the sink (the reply then says the push was not taken whole). */
static int forward_push(struct relay *r, const char *tenant, size_t tenant_len)
{
    struct cairn_ingest_batch *b = &r->b;
    int incoming = r->sc->loki_push_api.use_incoming_timestamp;
    for (size_t i = 0; i < b->n; i++) {
        const struct cairn_ingest_bstream *s = &b->s[i];
        if (s->bad || !s->n)
            continue; /* bad labels: the decoder recorded why (400 at the end) */
        int keep = stream_labels(r, &b->labels[i]);
        if (keep == CAIRN_ENOMEM)
            return keep;
        if (keep < 0) {
            cairn_ingest_fail(b, 400, "stream %s: more than %d labels with the relay's labels",
                              cairn_ingest_stream_text(b, i), CAIRN_LABELS_PARSE_MAX);
            continue;
        }
        if (keep == 0) { /* dropped by relabel_configs (or no label left): as Promtail */
            atomic_fetch_add_explicit(&r->dropped_streams, 1, memory_order_relaxed);
            continue;
        }
        const struct cairn_entry *x = b->e + s->first;
        const struct cairn_ingest_esm *m = b->esm + s->first;
        for (size_t j = 0; j < s->n; j++) {
            int rc = emit(r, &r->ls, incoming ? x[j].ts : cairn_now_ns(), x[j].line, x[j].len,
                          tenant, tenant_len, m[j].len ? b->smb.data + m[j].off : NULL, m[j].len);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* /promtail/api/v1/raw: a line per entry ("\r\n" or "\n"; empty lines skipped), the
 * config's labels, the time of receipt. */
static int forward_raw(struct relay *r, const struct cairn_buf *body, const char *tenant,
                       size_t tenant_len)
{
    const char *p = body->data ? body->data : "", *end = p + body->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t len = (size_t)(le - p);
        while (len && (p[len - 1] == '\r' || p[len - 1] == '\n'))
            len--;
        if (len) {
            int rc = emit(r, &r->extra, cairn_now_ns(), p, len, tenant, tenant_len, NULL, 0);
            if (rc)
                return rc;
        }
        p = le + (nl ? 1 : 0);
    }
    return 0;
}

/* ---- HTTP ---- */

static void count(struct relay *r, unsigned status)
{
    int k = status == 204 ? ST_204 : status == 400 ? ST_400 : status == 413 ? ST_413
            : status == 429 ? ST_429 : status >= 500 ? ST_5XX : ST_OTHER;
    atomic_fetch_add_explicit(&r->requests[k], 1, memory_order_relaxed);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *text,
                             size_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)text,
                                                                MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
    if (status == 503)
        MHD_add_response_header(resp, "Retry-After", "1");
    enum MHD_Result ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result reply_str(struct relay *r, struct MHD_Connection *c, unsigned status,
                                 const char *text)
{
    if (r && status != 200 && status != 404 && status != 405)
        count(r, status);
    return reply(c, status, text, strlen(text));
}

/* The sink failed mid-push: what the pusher should do about it. */
static enum MHD_Result reply_sink_error(struct relay *r, struct MHD_Connection *c, int rc)
{
    if (rc == CAIRN_EAGAIN)
        return reply_str(r, c, 503, "the agent is shutting down: part of this push may not have "
                                    "been forwarded, retry\n");
    CAIRN_ERROR("ship", "relay could not forward a push", "job=%s err=%s", r->sc->job_name,
                cairn_strerror(rc));
    return reply_str(r, c, 500, "could not forward the push, retry\n");
}

/* A complete request: decode, forward, answer. */
static enum MHD_Result handle(struct relay *r, struct MHD_Connection *c, struct rreq *q)
{
    if (q->route == R_READY)
        return atomic_load(&r->stop) ? reply_str(r, c, 503, "shutting down\n")
                                     : reply_str(NULL, c, 200, "ready\n");
    if (q->route == R_NOT_FOUND)
        return reply_str(NULL, c, 404, "404 page not found\n");
    if (q->route == R_BAD_METHOD)
        return reply_str(NULL, c, 405, "method not allowed\n");
    if (atomic_load(&r->stop))
        return reply_str(r, c, 503, "the agent is shutting down, retry\n");
    if (q->too_big) {
        char m[128];
        snprintf(m, sizeof m, "request body too large: more than %zu bytes\n", r->max_body);
        return reply_str(r, c, 413, m);
    }
    if (q->oom)
        return reply_str(r, c, 500, "out of memory\n");
    const char *tenant = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Scope-OrgID");
    size_t tl = tenant ? strlen(tenant) : 0;
    const char *why = tl ? cairn_ingest_tenant_problem(tenant, tl) : NULL;
    if (why) {
        char m[160];
        snprintf(m, sizeof m, "X-Scope-OrgID: %s\n", why);
        return reply_str(r, c, 400, m);
    }
    if (q->route == R_RAW) {
        int rc = forward_raw(r, &q->body, tenant, tl);
        return rc ? reply_sink_error(r, c, rc) : reply_str(r, c, 204, "");
    }

    struct cairn_ingest_batch *b = &r->b;
    cairn_ingest_batch_reset(b);
    struct cairn_buf tmp = b->body; /* the body moves into the batch, its old buffer out */
    b->body = q->body;
    q->body = tmp;
    b->charge = (struct cairn_ingest_charge){.used = &r->decoding, .max = CAIRN_PUSH_DECODE_BUDGET};
    struct cairn_err err;
    cairn_err_clear(&err);
    int status = 0;
    enum MHD_Result ret;
    if (cairn_ingest_decode_body(b, MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                                MHD_HTTP_HEADER_CONTENT_TYPE),
                                 MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                             MHD_HTTP_HEADER_CONTENT_ENCODING),
                                 &r->lim, &status, &err)) {
        CAIRN_DEBUG("ship", "relay refused a push", "job=%s status=%d err=\"%s\"",
                    r->sc->job_name, status, err.msg);
        cairn_buf_reset(&b->msg);
        cairn_buf_appendf(&b->msg, "%s\n", err.msg);
        count(r, (unsigned)status);
        ret = reply(c, (unsigned)status, cairn_buf_cstr(&b->msg), b->msg.len);
    } else {
        int rc = forward_push(r, tenant, tl);
        if (rc) {
            ret = reply_sink_error(r, c, rc);
        } else if (b->status) { /* some streams were refused: the others went on */
            if (b->n_errors > CAIRN_PUSH_MAX_ERROR_LINES)
                cairn_buf_appendf(&b->msg, "(and %zu more errors)\n",
                                  b->n_errors - CAIRN_PUSH_MAX_ERROR_LINES);
            count(r, (unsigned)b->status);
            ret = reply(c, (unsigned)b->status, cairn_buf_cstr(&b->msg), b->msg.len);
        } else {
            ret = reply_str(r, c, 204, "");
        }
    }
    cairn_ingest_charge_release(&b->charge);
    cairn_ingest_batch_reset(b);
    cairn_ingest_batch_trim(b, CAIRN_PUSH_KEEP_BYTES);
    return ret;
}

static int route_of(const char *method, const char *url)
{
    int post = strcmp(method, "POST") == 0;
    int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (strcmp(url, "/loki/api/v1/push") == 0)
        return post ? R_PUSH : R_BAD_METHOD;
    if (strcmp(url, "/promtail/api/v1/raw") == 0)
        return post ? R_RAW : R_BAD_METHOD;
    if (strcmp(url, "/ready") == 0)
        return get ? R_READY : R_BAD_METHOD;
    return R_NOT_FOUND;
}

static enum MHD_Result on_http(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    (void)version;
    struct relay *r = cls;
    struct rreq *q = *con_cls;
    if (!q) { /* the headers are in */
        if (!(q = calloc(1, sizeof *q)))
            return MHD_NO;
        *con_cls = q;
        q->route = route_of(method, url);
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > r->max_body && (q->route == R_PUSH ||
                                                           q->route == R_RAW)) {
            q->too_big = 1; /* answered now: the body is not read, the connection closes */
            return handle(r, c, q);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        if (!q->too_big && !q->oom && (q->route == R_PUSH || q->route == R_RAW)) {
            if (q->body.len + *upload_size > r->max_body) {
                q->too_big = 1;
                cairn_buf_deinit(&q->body);
            } else if (cairn_buf_append(&q->body, upload, *upload_size)) {
                q->oom = 1;
                cairn_buf_deinit(&q->body);
            }
        }
        *upload_size = 0;
        return MHD_YES;
    }
    return handle(r, c, q);
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)c;
    (void)why;
    struct rreq *q = *con_cls;
    if (q) {
        cairn_buf_deinit(&q->body);
        free(q);
    }
    *con_cls = NULL;
}

static void *relay_thread(void *arg)
{
    struct relay *r = arg;
    while (!atomic_load(&r->quit)) {
        MHD_run_wait(r->d, RELAY_TICK_MS);
        int rc = cairn_ship_pipeline_tick(r->pl, cairn_mono_ns(), r->sink);
        if (rc && rc != CAIRN_EAGAIN)
            CAIRN_WARN("ship", "relay stage tick failed", "job=%s err=%s", r->sc->job_name,
                       cairn_strerror(rc));
    }
    return NULL;
}

/* ---- lifecycle ---- */

static int relay_listen(struct relay *r, const char *path, struct cairn_err *err)
{
    const struct cairn_ship_relay *c = &r->sc->loki_push_api;
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)c->server.http_listen_port);
    const char *addr = c->server.http_listen_address;
    if (!addr || !*addr)
        addr = "0.0.0.0";
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
        return cairn_err_set(err, CAIRN_EINVAL, "%s.server.http_listen_address: '%s' is not an "
                             "IPv4 address", path, addr);
    unsigned idle_s = (unsigned)(c->server.idle_timeout_ns / 1000000000LL);
    r->d = MHD_start_daemon(MHD_USE_AUTO | MHD_USE_TURBO, 0, NULL, NULL, on_http, r,
                            MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED, on_done, r,
                            MHD_OPTION_CONNECTION_TIMEOUT, idle_s, MHD_OPTION_END);
    if (!r->d)
        return cairn_err_set(err, CAIRN_EIO, "%s: cannot listen on %s:%d", path, addr,
                             c->server.http_listen_port);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(r->d, MHD_DAEMON_INFO_BIND_PORT);
    r->port = di ? di->port : c->server.http_listen_port;
    CAIRN_INFO("ship", "relay listening for pushes", "job=%s addr=%s port=%d", r->sc->job_name,
               addr, r->port);
    return 0;
}

static int relay_init(struct relay *r, const struct cairn_ship_scrape *sc, size_t i,
                      const struct cairn_ship_sink *sink, struct cairn_ship_metrics *metrics,
                      struct cairn_err *err)
{
    char path[96];
    r->sc = sc;
    r->sink = sink;
    cairn_ingest_batch_init(&r->b);
    cairn_ship_entry_init(&r->e);
    cairn_sd_labels_init(&r->sdl);
    cairn_labels_init(&r->ls);
    cairn_labels_init(&r->extra);
    cairn_ingest_limits_default(&r->lim);
    r->max_body = (size_t)sc->loki_push_api.max_message_size;
    /* the relay's own pipeline: the tailer's instance of these stages is another thread's */
    snprintf(path, sizeof path, "scrape_configs[%zu].pipeline_stages", i);
    if (!(r->pl = cairn_ship_pipeline_build(&sc->pipeline_stages, path, err)))
        return err->code ? err->code : CAIRN_EINVAL;
    cairn_ship_pipeline_set_metrics(r->pl, metrics);
    snprintf(path, sizeof path, "scrape_configs[%zu].relabel_configs", i);
    if (!(r->rules = cairn_ship_relabel_compile(&sc->relabel_configs, path, err)))
        return err->code ? err->code : CAIRN_EINVAL;
    r->n_rules = sc->relabel_configs.n;
    const struct cairn_cfg_map *m = &sc->loki_push_api.labels;
    for (size_t k = 0; k < m->n; k++) {
        const char *v = m->v[k].value ? m->v[k].value : "";
        if (cairn_labels_add(&r->extra, m->v[k].key, strlen(m->v[k].key), v, strlen(v)))
            return cairn_err_set(err, CAIRN_EINVAL, "scrape_configs[%zu].loki_push_api.labels: "
                                 "more than %d labels", i, CAIRN_LABELS_PARSE_MAX);
    }
    struct cairn_err e2;
    if (cairn_labels_sort(&r->extra, &e2))
        return cairn_err_set(err, CAIRN_EINVAL, "scrape_configs[%zu].loki_push_api.labels: %s", i,
                             e2.msg);
    if (sc->loki_push_api.server.grpc_listen_port)
        CAIRN_WARN("ship", "loki_push_api.server.grpc_listen_port ignored: the relay takes pushes "
                   "over HTTP only", "job=%s grpc_listen_port=%d", sc->job_name,
                   sc->loki_push_api.server.grpc_listen_port);
    snprintf(path, sizeof path, "scrape_configs[%zu].loki_push_api", i);
    int rc = relay_listen(r, path, err);
    if (rc)
        return rc;
    if (pthread_create(&r->th, NULL, relay_thread, r))
        return cairn_err_set(err, CAIRN_ENOMEM, "%s: cannot start its thread", path);
    r->running = 1;
    return 0;
}

void cairn__relays_stop(struct cairn__relays *rs)
{
    for (size_t i = 0; rs && i < rs->n; i++)
        atomic_store(&rs->v[i].stop, 1);
}

void cairn__relays_destroy(struct cairn__relays *rs)
{
    if (!rs)
        return;
    cairn__relays_stop(rs);
    for (size_t i = 0; i < rs->n; i++) {
        struct relay *r = &rs->v[i];
        atomic_store(&r->quit, 1);
        if (r->running)
            pthread_join(r->th, NULL);
        if (r->d)
            MHD_stop_daemon(r->d);
        /* the thread is gone: what stages hold (multiline blocks) goes out from here */
        if (r->pl && cairn_ship_pipeline_tick(r->pl, INT64_MAX, r->sink) == CAIRN_EAGAIN)
            CAIRN_WARN("ship", "relay: entries held by stages were not sent: the clients had "
                       "stopped", "job=%s", r->sc->job_name);
        cairn_ship_pipeline_destroy(r->pl);
        if (r->rules)
            cairn_ship_relabel_free(r->rules, r->n_rules);
        cairn_ingest_batch_deinit(&r->b);
        cairn_ship_entry_deinit(&r->e);
        cairn_sd_labels_deinit(&r->sdl);
        cairn_labels_deinit(&r->ls);
        cairn_labels_deinit(&r->extra);
    }
    free(rs->v);
    free(rs);
}

struct cairn__relays *cairn__relays_start(const struct cairn_ship_config *cfg,
                                          const struct cairn_ship_sink *sink,
                                          struct cairn_ship_metrics *metrics,
                                          struct cairn_err *err)
{
    cairn_err_clear(err);
    const struct cairn_ship_scrape *sc = cfg->scrape_configs.v;
    size_t n = 0;
    for (size_t i = 0; i < cfg->scrape_configs.n; i++)
        n += sc[i].loki_push_api.server.http_listen_port >= 0;
    if (!n)
        return NULL;
    struct cairn__relays *rs = calloc(1, sizeof *rs);
    if (!rs || !(rs->v = calloc(n, sizeof *rs->v))) {
        free(rs);
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < cfg->scrape_configs.n; i++) {
        if (sc[i].loki_push_api.server.http_listen_port < 0)
            continue;
        int rc = relay_init(&rs->v[rs->n++], &sc[i], i, sink, metrics, err);
        if (rc) {
            if (!err->code)
                cairn_err_set(err, rc, "scrape_configs[%zu].loki_push_api: %s", i,
                              cairn_strerror(rc));
            cairn__relays_destroy(rs);
            return NULL;
        }
    }
    return rs;
}

int cairn__relays_port(const struct cairn__relays *rs, size_t i)
{
    return rs && i < rs->n ? rs->v[i].port : 0;
}

int cairn__relays_drops(struct cairn__relays *rs, struct cairn_buf *out)
{
    int rc = 0;
    /* under the agent's logentry_dropped_lines_total TYPE line, written just before */
    for (size_t i = 0; rs && i < rs->n; i++)
        rc |= cairn_ship_pipeline_drops_write(rs->v[i].pl, rs->v[i].sc->job_name, out);
    return rc;
}

int cairn__relays_metrics(struct cairn__relays *rs, struct cairn_buf *out)
{
    int rc = 0;
    if (!rs)
        return 0;
    rc |= cairn_buf_append_str(out, "# TYPE cairn_ship_relay_requests_total counter\n");
    for (size_t i = 0; i < rs->n; i++)
        for (int k = 0; k < N_ST; k++)
            rc |= cairn_buf_appendf(out, "cairn_ship_relay_requests_total{job=\"%s\",status=\"%s\"} "
                                    "%llu\n", rs->v[i].sc->job_name, st_names[k],
                                    (unsigned long long)atomic_load(&rs->v[i].requests[k]));
    rc |= cairn_buf_append_str(out, "# TYPE cairn_ship_relay_entries_total counter\n");
    for (size_t i = 0; i < rs->n; i++)
        rc |= cairn_buf_appendf(out, "cairn_ship_relay_entries_total{job=\"%s\"} %llu\n",
                                rs->v[i].sc->job_name,
                                (unsigned long long)atomic_load(&rs->v[i].entries));
    rc |= cairn_buf_append_str(out, "# TYPE cairn_ship_relay_bytes_total counter\n");
    for (size_t i = 0; i < rs->n; i++)
        rc |= cairn_buf_appendf(out, "cairn_ship_relay_bytes_total{job=\"%s\"} %llu\n",
                                rs->v[i].sc->job_name,
                                (unsigned long long)atomic_load(&rs->v[i].bytes));
    rc |= cairn_buf_append_str(out, "# TYPE cairn_ship_relay_dropped_streams_total counter\n");
    for (size_t i = 0; i < rs->n; i++)
        rc |= cairn_buf_appendf(out, "cairn_ship_relay_dropped_streams_total{job=\"%s\"} %llu\n",
                                rs->v[i].sc->job_name,
                                (unsigned long long)atomic_load(&rs->v[i].dropped_streams));
    return rc ? CAIRN_ENOMEM : 0;
}
