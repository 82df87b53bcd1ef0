/* tail.c -- GET /loki/api/v1/tail: a WebSocket that streams a log query's entries as
 * they are pushed (Grafana's live tail, logcli --tail), as Loki does:
 *
 *   query      a log query (selector and pipeline); metric queries are refused
 *   limit      entries of history sent first (default 100, at most 5000)
 *   start      where that history starts (default an hour ago); it ends now
 *   delay_for  seconds (0..5) an entry waits before it is sent, so that slower
 *              writers' entries can be sent in timestamp order with it
 *
 * Messages are text frames {"streams":[{"stream":{..},"values":[["ns","line"]..]}..]},
 * with "dropped_entries":[{"labels":{..},"timestamp":"ns"}..] when a client could not
 * keep up (more than TAIL_QUEUE_MAX bytes waiting) and entries were left out.
 *
 * Pushes feed the tails directly (cairn__tail_publish, after the store took the
 * entries): each live tail checks its selector against the pushed stream, runs its
 * pipeline over the stream's entries and queues what it keeps. Each tail has a thread
 * that sends the queue, answers pings and notices the client leaving. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api/params.h"
#include "api/tail.h"
#include "cairn/log.h"
#include "cairn/logql.h"
#include "cairn/logql_pipeline.h"
#include "cairn/matcher.h"
#include "cairn/parse_json.h"
#include "cairn/query.h"
#include "cairn/timeutil.h"
#include "cairn/ws.h"

#define TAIL_QUEUE_MAX (4u << 20) /* bytes queued for one client before dropping */
#define TAIL_DROPPED_MAX 100      /* dropped entries described per message */
#define TAIL_TICK_MS 200          /* how often a tail looks at its socket when idle */
#define HOUR_NS (3600LL * 1000000000LL)

struct cairn__tail {
    struct cairn_api *api;
    char tenant[CAIRN_TENANT_ID_MAX + 1];
    struct cairn_logql_query *q;
    const struct cairn_lq_expr *log;
    struct cairn_logql_pipeline *pl;
    struct cairn_labels out_labels; /* the pipeline's labels of a kept entry */
    struct cairn_buf tmp;
    int64_t start, delay_ns;
    size_t limit;

    pthread_mutex_t mu; /* guards everything below, and the pipeline (publishers) */
    pthread_cond_t cv;
    /* queued entries: [u32 labels_len][labels JSON][i64 ts][u32 line_len][line] */
    struct cairn_buf queue;
    int64_t queued_at; /* monotonic time the oldest queued entry arrived */
    struct cairn_buf dropped; /* ,{"labels":..,"timestamp":".."} for each, the first few */
    size_t n_dropped;
    int live; /* publishers queue entries for it */
    int stop;
    int started; /* its thread runs (guarded by the hub's lock) */
    int refs;    /* pushes feeding it right now (hub's lock): it is freed at 0 */

    int sock;
    struct MHD_UpgradeResponseHandle *urh;
};

/* ---- the hub ---- */

int cairn__tailhub_init(struct cairn__tailhub *h)
{
    memset(h, 0, sizeof *h);
    if (pthread_mutex_init(&h->mu, NULL))
        return CAIRN_ENOMEM;
    if (pthread_cond_init(&h->gone, NULL)) {
        pthread_mutex_destroy(&h->mu);
        return CAIRN_ENOMEM;
    }
    return 0;
}

static void tail_free(struct cairn__tail *t)
{
    if (!t)
        return;
    cairn_logql_pipeline_destroy(t->pl);
    cairn_logql_query_destroy(t->q);
    cairn_labels_deinit(&t->out_labels);
    cairn_buf_deinit(&t->tmp);
    cairn_buf_deinit(&t->queue);
    cairn_buf_deinit(&t->dropped);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* Take t out of the hub and wait until no push is feeding it: then it may be freed. */
static void hub_remove(struct cairn__tailhub *h, struct cairn__tail *t)
{
    pthread_mutex_lock(&h->mu);
    for (size_t i = 0; i < h->n; i++) {
        if (h->v[i] != t)
            continue;
        h->v[i] = h->v[--h->n]; /* no push takes a new hold on it from here */
        pthread_mutex_lock(&t->mu);
        if (t->live)
            atomic_fetch_sub(&h->live, 1);
        t->live = 0;
        pthread_mutex_unlock(&t->mu);
        break;
    }
    pthread_cond_broadcast(&h->gone);
    while (t->refs)
        pthread_cond_wait(&h->gone, &h->mu);
    pthread_mutex_unlock(&h->mu);
}

static size_t n_started(const struct cairn__tailhub *h)
{
    size_t n = 0;
    for (size_t i = 0; i < h->n; i++)
        n += h->v[i]->started != 0;
    return n;
}

void cairn__tailhub_stop(struct cairn__tailhub *h)
{
    pthread_mutex_lock(&h->mu);
    h->stopping = 1;
    for (size_t i = 0; i < h->n; i++) {
        struct cairn__tail *t = h->v[i];
        pthread_mutex_lock(&t->mu);
        t->stop = 1;
        pthread_cond_signal(&t->cv);
        pthread_mutex_unlock(&t->mu);
    }
    while (n_started(h))
        pthread_cond_wait(&h->gone, &h->mu);
    pthread_mutex_unlock(&h->mu);
}

void cairn__tailhub_deinit(struct cairn__tailhub *h)
{
    cairn__tailhub_stop(h);
    /* what is left was answered but never upgraded (the client went away first); the
     * daemon is stopped, so no upgrade can come for them any more */
    for (size_t i = 0; i < h->n; i++)
        tail_free(h->v[i]);
    h->n = 0;
    pthread_cond_destroy(&h->gone);
    pthread_mutex_destroy(&h->mu);
}

/* ---- the request ---- */

static struct cairn__tail *tail_new(struct cairn_api *api, const char *tenant)
{
    struct cairn__tail *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    if (pthread_mutex_init(&t->mu, NULL)) {
        free(t);
        return NULL;
    }
    if (pthread_cond_init(&t->cv, NULL)) {
        pthread_mutex_destroy(&t->mu);
        free(t);
        return NULL;
    }
    t->api = api;
    snprintf(t->tenant, sizeof t->tenant, "%s", tenant);
    cairn_labels_init(&t->out_labels);
    t->sock = -1;
    return t;
}

/* Parse the parameters into t; 0, or -1 after replying 400. */
static int tail_params(struct cairn__tail *t, struct cairn__params *pr, struct cairn__req *r)
{
    const char *q = cairn__param(pr, "query"), *v;
    if (!q || !*q) {
        cairn__reply_text(r, 400, "parse error : syntax error: unexpected $end: query parameter is required");
        return -1;
    }
    struct cairn_err err = {0};
    if (cairn_logql_parse(q, strlen(q), &t->q, &err)) {
        cairn__reply_text(r, 400, "%s", err.msg);
        return -1;
    }
    if (!cairn_logql_is_log(t->q)) {
        cairn__reply_text(r, 400, "tailing a metric query is not supported: use a log query");
        return -1;
    }
    t->log = cairn_logql_root(t->q);
    if (!(t->pl = cairn_logql_pipeline_create(t->log, &err))) {
        cairn__reply_text(r, 400, "%s", err.msg[0] ? err.msg : "cannot compile the query");
        return -1;
    }
    if (cairn__param_limit(pr, r, &t->limit))
        return -1;
    t->start = cairn_now_ns() - HOUR_NS;
    if ((v = cairn__param(pr, "start")) && cairn__parse_time(v, &t->start)) {
        cairn__reply_text(r, 400, "invalid parameter \"start\": cannot parse \"%s\" to a valid timestamp", v);
        return -1;
    }
    if ((v = cairn__param(pr, "delay_for"))) {
        char *e;
        long long d = strtoll(v, &e, 10);
        if (*e || e == v || d < 0) {
            cairn__reply_text(r, 400, "invalid parameter \"delay_for\": cannot parse \"%s\" to a valid integer", v);
            return -1;
        }
        if (d > 5) {
            cairn__reply_text(r, 400, "delay_for can't be greater than 5");
            return -1;
        }
        t->delay_ns = d * 1000000000LL;
    }
    return 0;
}

void cairn__handle_tail(struct cairn_api *api, struct cairn__req *r)
{
    if (!atomic_load(&api->store)) {
        cairn__reply_text(r, 503, "Ingester not ready: replaying the WAL");
        return;
    }
    const char *up = cairn__req_header(r, "Upgrade");
    const char *key = cairn__req_header(r, "Sec-WebSocket-Key");
    const char *ver = cairn__req_header(r, "Sec-WebSocket-Version");
    if (!up || strcasecmp(up, "websocket") != 0 || !key || !*key) {
        cairn__reply_text(r, 400, "/loki/api/v1/tail is a WebSocket: the request needs "
                                  "'Upgrade: websocket' and a Sec-WebSocket-Key");
        return;
    }
    if (ver && strcmp(ver, "13") != 0) {
        cairn__reply_text(r, 426, "unsupported Sec-WebSocket-Version '%s' (13)", ver);
        return;
    }
    struct cairn__params pr;
    if (cairn__params_init(&pr, r)) {
        cairn__reply_text(r, 500, "out of memory reading parameters");
        return;
    }
    struct cairn__tail *t = tail_new(api, cairn__req_tenant(r));
    if (!t) {
        cairn__reply_text(r, 500, "out of memory");
        goto out;
    }
    if (tail_params(t, &pr, r))
        goto out;
    struct cairn__tailhub *h = &api->tails;
    pthread_mutex_lock(&h->mu);
    int full = h->n >= CAIRN_TAIL_MAX || h->stopping;
    if (!full)
        h->v[h->n++] = t;
    pthread_mutex_unlock(&h->mu);
    if (full) {
        cairn__reply_text(r, 400, "max concurrent tail requests limit exceeded");
        goto out;
    }
    r->upgrade.tail = t;
    cairn_ws_accept_key(key, strlen(key), r->upgrade.accept);
    r->status = 101;
    t = NULL;
out:
    tail_free(t);
    cairn__params_deinit(&pr);
}

void cairn__tail_abandon(struct cairn__tail *t)
{
    hub_remove(&t->api->tails, t);
    tail_free(t);
}

/* ---- messages ---- */

static int append_ts(struct cairn_buf *b, int64_t ts)
{
    return cairn_buf_appendf(b, "\"%lld\"", (long long)ts);
}

/* Queue one kept entry (labels as a JSON object); over the limit, count it dropped. */
static int queue_entry(struct cairn__tail *t, const char *labels, size_t llen, int64_t ts,
                       const char *line, size_t len)
{
    size_t need = 4 + llen + 8 + 4 + len;
    if (t->queue.len + need > TAIL_QUEUE_MAX) {
        if (t->n_dropped++ < TAIL_DROPPED_MAX &&
            (cairn_buf_append_str(&t->dropped, ",{\"labels\":") ||
             cairn_buf_append(&t->dropped, labels, llen) ||
             cairn_buf_append_str(&t->dropped, ",\"timestamp\":") || append_ts(&t->dropped, ts) ||
             cairn_buf_append_byte(&t->dropped, '}')))
            return CAIRN_ENOMEM;
        return 0;
    }
    uint32_t l32 = (uint32_t)llen, n32 = (uint32_t)len;
    if (t->queue.len == 0)
        t->queued_at = cairn_mono_ns();
    if (cairn_buf_append(&t->queue, &l32, 4) || cairn_buf_append(&t->queue, labels, llen) ||
        cairn_buf_append(&t->queue, &ts, 8) || cairn_buf_append(&t->queue, &n32, 4) ||
        cairn_buf_append(&t->queue, line, len))
        return CAIRN_ENOMEM;
    return 0;
}

/* One queued record, decoded. */
struct rec {
    const char *labels, *line;
    uint32_t llen, len;
    int64_t ts;
};

static size_t rec_at(const char *p, struct rec *r)
{
    memcpy(&r->llen, p, 4);
    r->labels = p + 4;
    memcpy(&r->ts, p + 4 + r->llen, 8);
    memcpy(&r->len, p + 12 + r->llen, 4);
    r->line = p + 16 + r->llen;
    return 16 + (size_t)r->llen + r->len;
}

static int cmp_rec_ts(const void *a, const void *b)
{
    int64_t x = ((const struct rec *)a)->ts, y = ((const struct rec *)b)->ts;
    return (x > y) - (x < y);
}

/* A message of the queued records (recs), in order, consecutive entries of one stream
 * in one stream object; then the dropped entries, if any. */
static int build_message(struct cairn_buf *out, const struct rec *recs, size_t n,
                         const struct cairn_buf *dropped)
{
    int rc = cairn_buf_append_str(out, "{\"streams\":[");
    for (size_t i = 0; i < n && !rc; i++) {
        const struct rec *r = &recs[i];
        int same = i && recs[i - 1].llen == r->llen &&
                   memcmp(recs[i - 1].labels, r->labels, r->llen) == 0;
        if (!same) {
            if (i)
                rc |= cairn_buf_append_str(out, "]},");
            rc |= cairn_buf_append_str(out, "{\"stream\":");
            rc |= cairn_buf_append(out, r->labels, r->llen);
            rc |= cairn_buf_append_str(out, ",\"values\":[");
        } else {
            rc |= cairn_buf_append_byte(out, ',');
        }
        rc |= cairn_buf_append_byte(out, '[');
        rc |= append_ts(out, r->ts);
        rc |= cairn_buf_append_byte(out, ',');
        rc |= cairn_buf_append_json_str(out, r->line, r->len);
        rc |= cairn_buf_append_byte(out, ']');
    }
    if (n)
        rc |= cairn_buf_append_str(out, "]}");
    rc |= cairn_buf_append_byte(out, ']');
    if (dropped->len) {
        rc |= cairn_buf_append_str(out, ",\"dropped_entries\":[");
        rc |= cairn_buf_append(out, dropped->data + 1, dropped->len - 1); /* leading ',' */
        rc |= cairn_buf_append_byte(out, ']');
    }
    rc |= cairn_buf_append_byte(out, '}');
    return rc ? CAIRN_ENOMEM : 0;
}

/* ---- the session ---- */

static int send_all(int sock, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(sock, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return CAIRN_EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int send_frame(struct cairn__tail *t, struct cairn_buf *frame, int opcode,
                      const char *p, size_t n)
{
    cairn_buf_reset(frame);
    if (cairn_ws_frame(frame, opcode, p, n, NULL))
        return CAIRN_ENOMEM;
    return send_all(t->sock, frame->data, frame->len);
}

/* The history: the last `limit` entries since start, oldest first, as one message
 * (Loki answers the same query backward and sends it reversed). */
static int send_history(struct cairn__tail *t, struct cairn_buf *msg, struct cairn_buf *frame,
                        struct cairn__tail_seam *seam)
{
    struct cairn_store *st = atomic_load(&t->api->store);
    if (!st)
        return 0;
    struct cairn_query_params qp = {.tenant = t->tenant,
                                    .start = t->start,
                                    .end = cairn_now_ns() + 1,
                                    .limit = t->limit,
                                    .direction = CAIRN_ITER_BACKWARD,
                                    .timeout = t->api->limits.query_timeout_ns};
    struct cairn_buf res = CAIRN_BUF_INIT;
    struct cairn_err err = {0};
    size_t qlen;
    const char *q = cairn_logql_text(t->q, &qlen);
    int rc = cairn_query_run(st, q, qlen, &qp, &res, &err);
    if (rc) {
        CAIRN_WARN("tail", "history query failed", "query=\"%s\" err=\"%s\"", q, err.msg);
        cairn_buf_deinit(&res);
        return 0; /* the live part still works */
    }
    /* data.result: [{"stream":{..},"values":[[ts,line],..]},..], newest first */
    struct cairn_jsonpath *jp_res = cairn_jsonpath_compile("data.result", 11, &err);
    struct cairn_jsonpath *jp_stream = cairn_jsonpath_compile("stream", 6, &err);
    struct cairn_jsonpath *jp_values = cairn_jsonpath_compile("values", 6, &err);
    struct cairn_json_tok tok;
    const char *raw, *sraw, *vraw;
    size_t rawlen, srawlen, vrawlen;
    struct span {
        const char *p;
        size_t len;
    } *vals = NULL;
    size_t cap = 0;
    cairn_buf_reset(msg);
    rc = !jp_res || !jp_stream || !jp_values ? CAIRN_ENOMEM
         : cairn_buf_append_str(msg, "{\"streams\":[");
    if (!rc && cairn_jsonpath_get(jp_res, res.data, res.len, &tok, &raw, &rawlen) == 1) {
        struct cairn_json js;
        struct cairn_json_tok e;
        cairn_json_init(&js, raw, rawlen);
        int first = 1;
        if (cairn_json_next(&js, &e) != CAIRN_JSON_ARRAY_START)
            rc = CAIRN_EINVAL;
        while (!rc && cairn_json_next(&js, &e) == CAIRN_JSON_OBJECT_START) {
            const char *obj = e.p;
            if (cairn_json_skip(&js, &e)) {
                rc = CAIRN_EINVAL;
                break;
            }
            size_t olen = (size_t)(raw + js.pos - obj);
            if (cairn_jsonpath_get(jp_stream, obj, olen, &tok, &sraw, &srawlen) != 1 ||
                cairn_jsonpath_get(jp_values, obj, olen, &tok, &vraw, &vrawlen) != 1)
                continue;
            /* the values' raw texts, then written last to first */
            size_t nv = 0;
            struct cairn_json vs;
            struct cairn_json_tok v;
            cairn_json_init(&vs, vraw, vrawlen);
            cairn_json_next(&vs, &v);
            while (cairn_json_next(&vs, &v) == CAIRN_JSON_ARRAY_START) {
                const char *start = v.p;
                if (cairn_json_skip(&vs, &v))
                    break;
                if (nv == cap) {
                    size_t nc = cap ? cap * 2 : 64;
                    struct span *nvals = realloc(vals, nc * sizeof *nvals);
                    if (!nvals) {
                        rc = CAIRN_ENOMEM;
                        break;
                    }
                    vals = nvals;
                    cap = nc;
                }
                vals[nv++] = (struct span){start, (size_t)(vraw + vs.pos - start)};
            }
            rc |= first ? 0 : cairn_buf_append_byte(msg, ',');
            first = 0;
            rc |= cairn_buf_append_str(msg, "{\"stream\":");
            rc |= cairn_buf_append(msg, sraw, srawlen);
            rc |= cairn_buf_append_str(msg, ",\"values\":[");
            for (size_t i = nv; i-- > 0;) {
                cairn__tail_seam_add(seam, sraw, srawlen, vals[i].p, vals[i].len);
                rc |= cairn_buf_append(msg, vals[i].p, vals[i].len);
                if (i)
                    rc |= cairn_buf_append_byte(msg, ',');
            }
            rc |= cairn_buf_append_str(msg, "]}");
        }
    }
    rc |= rc ? 0 : cairn_buf_append_str(msg, "]}");
    free(vals);
    cairn_jsonpath_destroy(jp_res);
    cairn_jsonpath_destroy(jp_stream);
    cairn_jsonpath_destroy(jp_values);
    cairn_buf_deinit(&res);
    if (rc)
        return rc;
    return send_frame(t, frame, CAIRN_WS_TEXT, msg->data, msg->len);
}

/* Read what the client sent: 0 to go on, 1 when it closed (or broke the protocol). */
static int read_client(struct cairn__tail *t, struct cairn_ws_reader *rd, struct cairn_buf *pl,
                       struct cairn_buf *frame)
{
    char buf[4096];
    for (;;) {
        ssize_t n = recv(t->sock, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0)
            return 1; /* gone without a close frame */
        if (cairn_ws_reader_feed(rd, buf, (size_t)n))
            return 1;
    }
    int op, rc;
    while ((rc = cairn_ws_reader_next(rd, &op, pl)) == 1) {
        if (op == CAIRN_WS_CLOSE) {
            send_frame(t, frame, CAIRN_WS_CLOSE, pl->data, pl->len < 2 ? pl->len : 2);
            return 1;
        }
        if (op == CAIRN_WS_PING && send_frame(t, frame, CAIRN_WS_PONG, pl->data, pl->len))
            return 1;
    }
    if (rc < 0) {
        send_frame(t, frame, CAIRN_WS_CLOSE, "\x03\xf1", 2); /* 1009: too big / bad */
        return 1;
    }
    return 0;
}

/* Wait until there is something to send (delay_for honoured) or TAIL_TICK_MS passed;
 * called and returns with t->mu held. */
static void wait_queue(struct cairn__tail *t)
{
    int64_t deadline = cairn_now_ns() + TAIL_TICK_MS * 1000000LL;
    for (;;) {
        if (t->stop)
            return;
        int64_t now_mono = cairn_mono_ns();
        int ready = (t->queue.len || t->dropped.len) &&
                    now_mono - t->queued_at >= t->delay_ns;
        if (ready || cairn_now_ns() >= deadline)
            return;
        int64_t until = deadline;
        if (t->queue.len && t->queued_at + t->delay_ns - now_mono < until - cairn_now_ns())
            until = cairn_now_ns() + (t->queued_at + t->delay_ns - now_mono);
        struct timespec ts = {(time_t)(until / 1000000000LL), (long)(until % 1000000000LL)};
        pthread_cond_timedwait(&t->cv, &t->mu, &ts);
    }
}

static void *tail_thread(void *arg)
{
    struct cairn__tail *t = arg;
    struct cairn_buf msg = CAIRN_BUF_INIT, frame = CAIRN_BUF_INIT, pl = CAIRN_BUF_INIT;
    struct cairn_buf batch = CAIRN_BUF_INIT, dropped = CAIRN_BUF_INIT;
    struct rec *recs = NULL;
    size_t rcap = 0;
    struct cairn_ws_reader rd;
    cairn_ws_reader_init(&rd, 64 * 1024);
    struct cairn__tail_seam seam = {0};
    int rc = send_history(t, &msg, &frame, &seam);
    cairn__tail_seam_close(&seam);
    while (!rc) {
        if (read_client(t, &rd, &pl, &frame))
            break;
        pthread_mutex_lock(&t->mu);
        wait_queue(t);
        int stop = t->stop;
        /* take the queue: publishers go on filling a fresh one */
        struct cairn_buf q = t->queue;
        t->queue = batch;
        batch = q;
        struct cairn_buf d = t->dropped;
        t->dropped = dropped;
        dropped = d;
        t->n_dropped = 0;
        pthread_mutex_unlock(&t->mu);
        if (stop) {
            send_frame(t, &frame, CAIRN_WS_CLOSE, "\x03\xe9", 2); /* 1001: going away */
            break;
        }
        if (!batch.len && !dropped.len)
            continue;
        size_t n = 0;
        for (size_t off = 0; off < batch.len; n++) {
            if (n == rcap) {
                size_t nc = rcap ? rcap * 2 : 256;
                struct rec *nr = realloc(recs, nc * sizeof *nr);
                if (!nr) {
                    rc = CAIRN_ENOMEM;
                    break;
                }
                recs = nr;
                rcap = nc;
            }
            off += rec_at(batch.data + off, &recs[n]);
        }
        if (rc)
            break;
        if (seam.n) { /* live copies of what the history already sent */
            size_t k = 0;
            for (size_t i = 0; i < n; i++)
                if (!cairn__tail_seam_has(&seam, recs[i].labels, recs[i].llen, recs[i].ts,
                                          recs[i].line, recs[i].len, &msg))
                    recs[k++] = recs[i];
            n = k;
            if (!n && !dropped.len) {
                cairn_buf_reset(&batch); /* it becomes the next queue: leave it empty */
                continue;
            }
        }
        if (t->delay_ns) /* the point of waiting: send in timestamp order */
            qsort(recs, n, sizeof *recs, cmp_rec_ts);
        cairn_buf_reset(&msg);
        rc = build_message(&msg, recs, n, &dropped);
        if (!rc)
            rc = send_frame(t, &frame, CAIRN_WS_TEXT, msg.data, msg.len);
        cairn_buf_reset(&batch);
        cairn_buf_reset(&dropped);
    }
    free(recs);
    cairn_ws_reader_deinit(&rd);
    cairn__tail_seam_free(&seam);
    cairn_buf_deinit(&msg);
    cairn_buf_deinit(&frame);
    cairn_buf_deinit(&pl);
    cairn_buf_deinit(&batch);
    cairn_buf_deinit(&dropped);
    struct cairn__tailhub *h = &t->api->tails;
    MHD_upgrade_action(t->urh, MHD_UPGRADE_ACTION_CLOSE);
    hub_remove(h, t);
    tail_free(t);
    return NULL;
}

void cairn__tail_upgraded(struct cairn__tail *t, int sock, void *urh)
{
    struct cairn__tailhub *h = &t->api->tails;
    t->sock = sock;
    t->urh = urh;
    /* blocking sends, but never stuck for good behind a client that stopped reading */
    int fl = fcntl(sock, F_GETFL);
    if (fl >= 0)
        fcntl(sock, F_SETFL, fl & ~O_NONBLOCK);
    struct timeval tv = {10, 0};
    setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    pthread_mutex_lock(&h->mu);
    int ok = !h->stopping;
    pthread_t th;
    pthread_attr_t attr;
    if (ok && pthread_attr_init(&attr) == 0) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_mutex_lock(&t->mu);
        t->live = 1; /* entries pushed from now on are queued, while history is read */
        pthread_mutex_unlock(&t->mu);
        atomic_fetch_add(&h->live, 1);
        t->started = 1;
        if (pthread_create(&th, &attr, tail_thread, t) != 0) {
            t->started = 0;
            ok = 0;
        }
        pthread_attr_destroy(&attr);
    } else {
        ok = 0;
    }
    pthread_mutex_unlock(&h->mu);
    if (!ok) {
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
        hub_remove(h, t);
        tail_free(t);
    }
}

/* ---- pushes feed the tails ---- */

static int selector_matches(const struct cairn_lq_expr *log, const struct cairn_labels *ls)
{
    for (size_t i = 0; i < log->nmatchers; i++) {
        const struct cairn_matcher *m = &log->matchers[i];
        const struct cairn_label *l = cairn_labels_get(ls, m->name, m->name_len);
        if (!cairn_matcher_matches(m, l ? l->value : "", l ? l->value_len : 0))
            return 0;
    }
    return 1;
}

static void feed(struct cairn__tail *t, const struct cairn_push_stream *ps, size_t n)
{
    int queued = 0;
    for (size_t i = 0; i < n; i++) {
        const struct cairn_push_stream *s = &ps[i];
        if (!selector_matches(t->log, s->labels))
            continue;
        for (size_t j = 0; j < s->n; j++) {
            const struct cairn_entry *e = &s->entries[j];
            /* structured metadata merged into the labels, as the query answers do */
            cairn_logql_pipeline_set_sm(t->pl, s->sm ? s->sm[j].p : NULL, s->sm ? s->sm[j].len : 0);
            if (cairn_logql_pipeline_process(t->pl, e->ts, s->labels, e->line, e->len) != 1)
                continue;
            size_t len;
            const char *line = cairn_logql_pipeline_line(t->pl, &len);
            cairn_buf_reset(&t->tmp);
            if (cairn_logql_pipeline_labels(t->pl, &t->out_labels) ||
                cairn_labels_format_json(&t->out_labels, &t->tmp) ||
                queue_entry(t, t->tmp.data, t->tmp.len, e->ts, line, len)) {
                CAIRN_WARN("tail", "out of memory queueing an entry", "tenant=%s", t->tenant);
                return;
            }
            queued = 1;
        }
    }
    if (queued)
        pthread_cond_signal(&t->cv);
}

void cairn__tail_publish(struct cairn_api *api, const char *tenant,
                         const struct cairn_push_stream *ps, size_t n)
{
    struct cairn__tailhub *h = &api->tails;
    if (!atomic_load(&h->live))
        return;
    /* hold the tenant's tails (not the hub) while their pipelines run: pushes of other
     * tenants, and of this one to other tails, go on meanwhile */
    struct cairn__tail *mine[CAIRN_TAIL_MAX];
    size_t k = 0;
    pthread_mutex_lock(&h->mu);
    for (size_t i = 0; i < h->n; i++)
        if (h->v[i]->started && strcmp(h->v[i]->tenant, tenant) == 0) {
            h->v[i]->refs++;
            mine[k++] = h->v[i];
        }
    pthread_mutex_unlock(&h->mu);
    for (size_t i = 0; i < k; i++) {
        struct cairn__tail *t = mine[i];
        pthread_mutex_lock(&t->mu);
        if (t->live)
            feed(t, ps, n);
        pthread_mutex_unlock(&t->mu);
    }
    if (!k)
        return;
    pthread_mutex_lock(&h->mu);
    for (size_t i = 0; i < k; i++)
        mine[i]->refs--;
    pthread_cond_broadcast(&h->gone);
    pthread_mutex_unlock(&h->mu);
}
