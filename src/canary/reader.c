/* reader.c -- the canary's tail reader: follows its own stream over the store's
 * /loki/api/v1/tail WebSocket and hands every line's timestamp to the comparator.
 *
 * The connection asks for history from just after the newest entry already seen
 * (`start` is the entry's timestamp, which an agent may set apart from the line's;
 * `limit`): the first one from the canary's start, so an earlier canary's lines are
 * not taken for unexpected ones; a reconnection from where the last one stopped, so
 * the lines written while it was down come back as the gap's history instead of being
 * reported missing. When no line came for 10 intervals (at least five seconds: an
 * agent batches for a second or more), the connection is taken as stuck and made
 * again, as loki-canary does;
 * failed connections are retried after 0.5 s doubling up to 10 s. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "canary/canary_int.h"
#include "cairn/log.h"
#include "cairn/timeutil.h"
#include "cairn/ws.h"
#include "cairn/ws_client.h"

#define RECONNECT_MIN_NS (500LL * 1000000LL)
#define RECONNECT_MAX_NS (10LL * 1000000000LL)
#define STALL_MIN_NS (5LL * 1000000000LL)
#define SEAM_NS (2LL * 1000000000LL)
#define READ_SLICE_MS 200 /* how often a blocked read looks at the stop flag */
/* History on (re)connection: the limit loki-canary's queries use, so a Loki with a
 * max_entries_limit_per_query below its default 5000 still takes the tail. */
#define TAIL_HISTORY_LIMIT 1000

/* The seam of a connection: the history (its first message) and the first live
 * messages may both carry an entry pushed while the store read the history (Loki's
 * tail, and cairn's, publish to a tail as soon as it is open). Such a line is taken
 * once: the history's timestamps are kept for SEAM_NS and a live copy of one is
 * skipped, not counted as a duplicate. */
struct seam {
    int64_t *v;
    size_t n, cap;
    int first;     /* the next message is the connection's first */
    int64_t until; /* monotonic: the seam is over */
};

static void seam_add(struct seam *sm, int64_t ts)
{
    if (sm->n == sm->cap) {
        size_t nc = sm->cap ? sm->cap * 2 : 256;
        int64_t *nv = realloc(sm->v, nc * sizeof *nv);
        if (!nv)
            return; /* out of memory: this line is not protected, nothing worse */
        sm->v = nv;
        sm->cap = nc;
    }
    sm->v[sm->n++] = ts;
}

static int seam_has(struct seam *sm, int64_t ts)
{
    if (sm->n && cairn_mono_ns() > sm->until) {
        free(sm->v);
        sm->v = NULL;
        sm->n = sm->cap = 0;
    }
    for (size_t i = 0; i < sm->n; i++)
        if (sm->v[i] == ts)
            return 1;
    return 0;
}

/* One tail message: {"streams":[{"stream":{..},"values":[[ts,line],..]}], ..}.
 * Returns the number of canary lines in it. */
static size_t take_message(struct cairn_canary *c, const char *p, size_t n, struct seam *sm)
{
    json_error_t je;
    json_t *doc = json_loadb(p, n, 0, &je);
    json_t *streams = doc ? json_object_get(doc, "streams") : NULL;
    if (!json_is_array(streams)) {
        CAIRN_WARN("canary", "unexpected tail message", "msg=\"%.*s\"", n > 120 ? 120 : (int)n, p);
        json_decref(doc);
        return 0;
    }
    size_t i, j, got = 0;
    json_t *s, *v;
    int64_t now = cairn_now_ns(), newest = 0;
    json_array_foreach(streams, i, s) {
        json_array_foreach(json_object_get(s, "values"), j, v) {
            const char *ets = json_string_value(json_array_get(v, 0));
            const char *line = json_string_value(json_array_get(v, 1));
            int64_t ts, ets_ns;
            /* the entry's own timestamp (an agent's may differ from the line's) is
             * where the next connection's history starts */
            if (ets && cairn_parse_i64(ets, strlen(ets), &ets_ns) == 0 && ets_ns > newest)
                newest = ets_ns;
            if (!line || cairn__canary_parse_line(line, strlen(line), &ts)) {
                CAIRN_WARN("canary", "received invalid entry", "line=\"%.80s\"",
                           line ? line : "");
                continue;
            }
            got++;
            if (sm->first) {
                seam_add(sm, ts);
            } else if (seam_has(sm, ts)) {
                CAIRN_DEBUG("canary", "line in both the history and the live tail", "ts=%lld",
                            (long long)ts);
                continue;
            }
            cairn__canary_cmp_received(&c->cmp, ts, now);
        }
    }
    if (sm->first) {
        sm->first = 0;
        sm->until = cairn_mono_ns() + SEAM_NS;
    }
    json_t *dropped = json_object_get(doc, "dropped_entries");
    if (json_array_size(dropped))
        CAIRN_WARN("canary", "the store dropped tail entries (this reader was too slow)",
                   "n=%zu", json_array_size(dropped));
    json_decref(doc);
    if (newest) {
        pthread_mutex_lock(&c->mu);
        if (newest > c->last_received)
            c->last_received = newest;
        pthread_mutex_unlock(&c->mu);
    }
    return got;
}

/* The tail URL, history from `start`. */
static int tail_url(struct cairn_canary *c, int64_t start, struct cairn_buf *url)
{
    CURL *k = curl_easy_init();
    char *q = k ? curl_easy_escape(k, c->selector, 0) : NULL;
    int rc = q ? cairn_buf_appendf(url, "%s/loki/api/v1/tail?query=%s&start=%lld&limit=%d",
                                   c->base, q, (long long)start, TAIL_HISTORY_LIMIT)
               : CAIRN_ENOMEM;
    curl_free(q);
    curl_easy_cleanup(k);
    return rc;
}

/* Read one connection until it fails, stalls or the canary stops. */
static void follow(struct cairn_canary *c, struct cairn_wsc *w, int64_t *backoff)
{
    struct cairn_buf payload = CAIRN_BUF_INIT;
    int64_t stall = 10 * c->cfg.interval_ns;
    if (stall < STALL_MIN_NS)
        stall = STALL_MIN_NS;
    int64_t last_line = cairn_mono_ns();
    struct seam sm = {.first = 1};
    for (;;) {
        pthread_mutex_lock(&c->mu);
        int stop = c->stopping;
        pthread_mutex_unlock(&c->mu);
        if (stop)
            break;
        int op;
        int r = cairn_wsc_read(w, READ_SLICE_MS, &op, &payload);
        if (r < 0) {
            CAIRN_WARN("canary", "error reading websocket, reconnecting", "err=%s",
                       cairn_strerror(r));
            break;
        }
        if (r == 1 && op == CAIRN_WS_PING)
            c->m.ws_pings++;
        if (r == 1 && op == CAIRN_WS_CLOSE) {
            CAIRN_WARN("canary", "the store closed the tail, reconnecting", "reason=\"%.*s\"",
                       payload.len > 2 ? (int)(payload.len - 2) : 0,
                       payload.len > 2 ? payload.data + 2 : "");
            break;
        }
        if (r == 1 && op == CAIRN_WS_TEXT && take_message(c, payload.data, payload.len, &sm)) {
            last_line = cairn_mono_ns();
            *backoff = RECONNECT_MIN_NS;
        }
        if (cairn_mono_ns() - last_line > stall) {
            CAIRN_WARN("canary", "no canary line on the websocket, reconnecting",
                       "for=%.3fs", (double)stall / 1e9);
            break;
        }
    }
    free(sm.v);
    cairn_buf_deinit(&payload);
}

void *cairn__canary_reader_main(void *arg)
{
    struct cairn_canary *c = arg;
    struct cairn_buf hdr = CAIRN_BUF_INIT, url = CAIRN_BUF_INIT;
    if (cairn__canary_auth_headers(c, &hdr) ||
        cairn_buf_appendf(&hdr, "User-Agent: cairn-canary/%s\r\n", CAIRN_VERSION)) {
        CAIRN_ERROR("canary", "out of memory: the tail reader does not run", "");
        goto out;
    }
    int64_t backoff = RECONNECT_MIN_NS;
    int connected_before = 0;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        int64_t start = c->last_received ? c->last_received + 1 : c->start_ns;
        pthread_mutex_unlock(&c->mu);
        cairn_buf_reset(&url);
        if (tail_url(c, start, &url)) {
            CAIRN_ERROR("canary", "out of memory: the tail reader does not run", "");
            break;
        }
        struct cairn_wsc_opts o = {
            .url = url.data, .headers = hdr.data, .ca_file = c->cfg.ca_file,
            .cert_file = c->cfg.cert_file, .key_file = c->cfg.key_file,
            .insecure = c->cfg.insecure,
            .timeout_ms = (long)(c->cfg.query_timeout_ns / 1000000),
        };
        struct cairn_err err;
        cairn_err_clear(&err);
        struct cairn_wsc *w = cairn_wsc_connect(&o, &err);
        if (w) {
            if (connected_before)
                c->m.ws_reconnects++;
            connected_before = 1;
            CAIRN_INFO("canary", "tailing", "selector=%s start=%lld", c->selector,
                       (long long)start);
            follow(c, w, &backoff);
            cairn_wsc_close(w);
        } else {
            CAIRN_WARN("canary", "failed to connect the tail", "err=\"%s\" retry_in=%.1fs",
                       err.msg, (double)backoff / 1e9);
        }
        if (cairn__canary_sleep_until(c, cairn_mono_ns() + backoff))
            break;
        backoff = backoff * 2 > RECONNECT_MAX_NS ? RECONNECT_MAX_NS : backoff * 2;
    }
out:
    cairn_buf_deinit(&hdr);
    cairn_buf_deinit(&url);
    return NULL;
}
