/* router.c -- list+watch Events and emit each version of each event exactly once.
 *
 * One watcher per namespace (or one for all), each a small state machine driven by one
 * curl multi loop: LIST pages (limit/continue) -> WATCH from the list's resourceVersion
 * with bookmarks -> on a clean end watch again from the last resourceVersion seen; on an
 * error back off (exponential, jittered) and watch again; on 410 Gone list again.
 *
 * Exactly once: every object that arrives (list item or watch event) is checked against
 * the seen table (uid -> newest resourceVersion emitted). Only a newer version is
 * emitted: ADDED for a uid never seen, UPDATED (with old_event when still cached) for
 * a later version. The seen table and each watcher's resourceVersion go to the state
 * file after the sink has flushed, when the stream goes quiet or at least every second,
 * and at exit; a restart resumes the watch from there. */
#include <curl/curl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/k8s_router.h"
#include "cairn/log.h"
#include "cairn/timeutil.h"
#include "k8s/k8s_int.h"

#define DEFAULT_PAGE_LIMIT 500
#define DEFAULT_WATCH_TIMEOUT_S 300
#define DEFAULT_OLD_CACHE (2u * 1024 * 1024) /* ~2,000 recent events' previous versions */
#define BACKOFF_BASE_NS (200LL * 1000000)      /* first retry after ~0.2 s */
#define BACKOFF_MAX_NS (30LL * 1000000000)     /* never wait longer than 30 s */
#define SAVE_INTERVAL_NS (1000LL * 1000000)    /* save state at least every second */
#define QUIET_NS (50LL * 1000000)              /* no event for this long: flush and save */
#define PRUNE_INTERVAL_S 600                   /* drop old seen entries every 10 min */
#define MAX_LIST_BODY (512u * 1024 * 1024)     /* a list page larger than this is refused */
#define MAX_WATCH_LINE (16u * 1024 * 1024)     /* one watch event larger than this too */
#define MAX_ERROR_BODY 65536
#define LIST_TIMEOUT_S 300                     /* one list page may take this long */
#define WATCH_GRACE_S 60                       /* past timeoutSeconds before we hang up */

enum wstate { W_IDLE, W_LIST, W_WATCH };

struct router;

struct watcher {
    struct router *r;
    char path[1024];
    char rv[128];        /* resume point; "" until known */
    enum wstate st;
    int64_t start_at;    /* monotonic ns, when W_IDLE */
    int need_list;
    int history;         /* emit listed events (else only record them) */
    int synced;          /* listed or resumed once: counts for /ready */
    char *cont;
    char list_rv[128];
    struct cairn__k8s_req req;
    struct cairn_buf body;
    size_t scan;         /* watch: bytes of body already scanned for '\n' */
    long http;
    int gone;            /* watch saw 410 */
    int lines;           /* watch events this stream */
    int attempt;         /* consecutive failures */
    int watches;
    int timeout_s;       /* of the current watch */
};

struct router {
    const struct cairn_k8s_conn *conn;
    const struct cairn_k8s_router_opts *o;
    struct cairn_k8s_sink *sink;
    struct cairn_k8s_metrics *m;
    struct cairn_k8s_creds *creds;
    CURLM *multi;
    struct watcher *w;
    size_t nw;
    struct cairn__seen seen;
    struct cairn__state state;
    struct cairn__oldcache oc;
    struct cairn_buf scratch, evbuf;
    int dirty, unflushed, stopping, fatal;
    int64_t last_save;
    int64_t last_emit; /* monotonic ns of the last loop that emitted */
    int64_t last_prune_s;
    uint64_t emitted, batch;
    unsigned rnd;
    struct cairn_err *err;
};

static unsigned next_rand(struct router *r)
{
    r->rnd = r->rnd * 1103515245u + 12345u;
    return (r->rnd >> 16) & 0x7fff;
}

static void backoff(struct watcher *w)
{
    int64_t d = BACKOFF_BASE_NS;
    for (int i = 1; i < w->attempt && d < BACKOFF_MAX_NS; i++)
        d *= 2;
    if (d > BACKOFF_MAX_NS)
        d = BACKOFF_MAX_NS;
    /* full range [d/2, d): retries of many routers do not line up */
    d = d / 2 + (int64_t)((double)(d / 2) * next_rand(w->r) / 32768.0);
    w->start_at = cairn_mono_ns() + (w->attempt > 0 ? d : 0);
    w->st = W_IDLE;
}

static int in_list(const char *v, const char *const *list, size_t n)
{
    if (n == 0)
        return 1;
    for (size_t i = 0; i < n; i++)
        if (v && strcmp(v, list[i]) == 0)
            return 1;
    return 0;
}

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void count_event(struct router *r, const char *type, const char *reason)
{
    struct cairn_k8s_metrics *m = r->m;
    if (!type)
        type = "";
    if (!reason)
        reason = "";
    pthread_mutex_lock(&m->mu);
    m->events_total++;
    m->last_event_ns = cairn_now_ns();
    size_t i;
    for (i = 0; i < m->nkeys; i++)
        if (strcmp(m->keys[i].type, type) == 0 && strcmp(m->keys[i].reason, reason) == 0)
            break;
    if (i == m->nkeys) {
        if (m->nkeys < CAIRN_K8S_METRICS_MAX_KEYS - 1) {
            snprintf(m->keys[i].type, sizeof m->keys[i].type, "%s", type);
            snprintf(m->keys[i].reason, sizeof m->keys[i].reason, "%s", reason);
            m->nkeys++;
        } else {
            i = CAIRN_K8S_METRICS_MAX_KEYS - 1; /* the overflow bucket */
            snprintf(m->keys[i].type, sizeof m->keys[i].type, "other");
            snprintf(m->keys[i].reason, sizeof m->keys[i].reason, "other");
        }
    }
    m->keys[i].n++;
    pthread_mutex_unlock(&m->mu);
}

static void bump(struct router *r, uint64_t *counter)
{
    pthread_mutex_lock(&r->m->mu);
    (*counter)++;
    pthread_mutex_unlock(&r->m->mu);
}

static int dump_cb(const char *p, size_t n, void *ud)
{
    return cairn_buf_append(ud, p, n) == 0 ? 0 : -1;
}

/* One object from a list or a watch: emit it if this version is new. */
static void process_object(struct router *r, struct watcher *w, json_t *obj, int emit)
{
    json_t *meta = json_object_get(obj, "metadata");
    const char *uid = jstr(meta, "uid"), *rvs = jstr(meta, "resourceVersion");
    if (!uid || !rvs) {
        CAIRN_WARN("k8s", "event without uid or resourceVersion, skipped", "path=%s", w->path);
        return;
    }
    uint64_t uk = cairn__uid_key(uid, strlen(uid));
    uint64_t rk = cairn__rv_key(rvs, strlen(rvs));
    struct cairn__seen_slot *s = cairn__seen_find(&r->seen, uk);
    if (s && !cairn__rv_newer(rk, cairn__slot_rv(s))) {
        bump(r, &r->m->duplicates);
        return;
    }
    const char *verb = s ? "UPDATED" : "ADDED";
    int64_t now_s = cairn_now_ns() / 1000000000;
    if (cairn__seen_put(&r->seen, uk, rk, now_s) != 0) {
        cairn_err_set(r->err, CAIRN_ENOMEM, "out of memory in the seen table");
        r->fatal = 1;
        return;
    }
    r->dirty = 1;
    /* List items come without kind/apiVersion; give them the ones watch events carry,
     * so every line has the same shape. */
    if (!json_object_get(obj, "kind")) {
        json_object_set_new(obj, "kind", json_string("Event"));
        json_object_set_new(obj, "apiVersion",
                            json_string(r->o->events_v1 ? "events.k8s.io/v1" : "v1"));
    }
    const char *type = jstr(obj, "type"), *reason = jstr(obj, "reason");
    json_t *io = json_object_get(obj, r->o->events_v1 ? "regarding" : "involvedObject");
    const char *kind = jstr(io, "kind");
    int pass = in_list(type, r->o->types, r->o->ntypes) &&
               in_list(reason, r->o->reasons, r->o->nreasons) &&
               in_list(kind, r->o->kinds, r->o->nkinds);
    if (!pass) {
        bump(r, &r->m->filtered);
        return;
    }
    cairn_buf_reset(&r->evbuf);
    if (json_dump_callback(obj, dump_cb, &r->evbuf, JSON_COMPACT) != 0) {
        cairn_err_set(r->err, CAIRN_ENOMEM, "out of memory encoding an event");
        r->fatal = 1;
        return;
    }
    if (emit) {
        size_t olen = 0;
        const char *old = s ? cairn__oldcache_get(&r->oc, uk, &olen) : NULL;
        int rc = r->sink->emit(r->sink->ctx, verb, obj, r->evbuf.data, r->evbuf.len, old, olen);
        if (rc) {
            bump(r, &r->m->sink_errors);
            CAIRN_WARN("k8s", "sink failed to take an event", "uid=%s rv=%s err=%s", uid, rvs,
                       cairn_strerror(rc));
        } else {
            count_event(r, type, reason);
        }
        r->emitted++;
        r->batch++;
        r->unflushed = 1;
        if (r->o->max_events && r->emitted >= r->o->max_events)
            r->stopping = 1;
    }
    if (cairn__oldcache_put(&r->oc, uk, r->evbuf.data, r->evbuf.len) != 0)
        CAIRN_WARN("k8s", "old_event cache: out of memory", "%s", "");
}

static void set_rv(struct watcher *w, const char *rv)
{
    if (rv && *rv && strlen(rv) < sizeof w->rv) {
        memcpy(w->rv, rv, strlen(rv) + 1);
        w->r->dirty = 1;
    }
}

static void watch_line(struct watcher *w, const char *p, size_t n)
{
    struct router *r = w->r;
    json_error_t je;
    json_t *doc = json_loadb(p, n, 0, &je);
    if (!doc) {
        CAIRN_WARN("k8s", "watch: bad JSON line, skipped", "path=%s err=\"%s\"", w->path, je.text);
        return;
    }
    const char *type = jstr(doc, "type");
    json_t *obj = json_object_get(doc, "object");
    w->lines++;
    if (!type || !json_is_object(obj)) {
        CAIRN_WARN("k8s", "watch: event without type or object", "path=%s", w->path);
    } else if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0) {
        process_object(r, w, obj, 1);
        set_rv(w, jstr(json_object_get(obj, "metadata"), "resourceVersion"));
    } else if (strcmp(type, "DELETED") == 0) {
        const char *uid = jstr(json_object_get(obj, "metadata"), "uid");
        if (uid)
            cairn__oldcache_del(&r->oc, cairn__uid_key(uid, strlen(uid)));
        set_rv(w, jstr(json_object_get(obj, "metadata"), "resourceVersion"));
    } else if (strcmp(type, "BOOKMARK") == 0) {
        set_rv(w, jstr(json_object_get(obj, "metadata"), "resourceVersion"));
    } else if (strcmp(type, "ERROR") == 0) {
        json_int_t code = json_integer_value(json_object_get(obj, "code"));
        if (code == 410) {
            w->gone = 1;
            CAIRN_INFO("k8s", "watch: resourceVersion too old, listing again", "path=%s rv=%s",
                       w->path, w->rv);
        } else {
            CAIRN_WARN("k8s", "watch: error event", "path=%s code=%lld msg=\"%s\"", w->path,
                       (long long)code, jstr(obj, "message") ? jstr(obj, "message") : "");
        }
    }
    json_decref(doc);
}

static void update_ready(struct router *r);

static size_t on_data(char *p, size_t sz, size_t nm, void *ud)
{
    struct watcher *w = ud;
    size_t n = sz * nm;
    if (w->http == 0) {
        curl_easy_getinfo(w->req.easy, CURLINFO_RESPONSE_CODE, &w->http);
        if (w->st == W_WATCH && w->http == 200 && !w->synced) {
            w->synced = 1; /* resumed from the state file: watching is being ready */
            update_ready(w->r);
        }
    }
    if (w->st == W_LIST || w->http != 200) {
        size_t cap = w->http == 200 ? MAX_LIST_BODY : MAX_ERROR_BODY;
        if (w->body.len + n > cap || cairn_buf_append(&w->body, p, n) != 0)
            return 0;
        return n;
    }
    if (cairn_buf_append(&w->body, p, n) != 0)
        return 0;
    size_t start = 0;
    for (;;) {
        char *nl = memchr(w->body.data + w->scan, '\n', w->body.len - w->scan);
        if (!nl) {
            w->scan = w->body.len;
            break;
        }
        size_t end = (size_t)(nl - w->body.data);
        if (end > start)
            watch_line(w, w->body.data + start, end - start);
        start = end + 1;
        w->scan = start;
        if (w->r->stopping || w->r->fatal || w->gone)
            break;
    }
    if (start > 0) {
        memmove(w->body.data, w->body.data + start, w->body.len - start);
        cairn_buf_truncate(&w->body, w->body.len - start);
        w->scan -= start;
    }
    if (w->body.len > MAX_WATCH_LINE) {
        CAIRN_WARN("k8s", "watch: event line too long, reconnecting", "path=%s", w->path);
        return 0;
    }
    if (w->r->stopping || w->r->fatal || w->gone)
        return 0; /* end this stream now */
    return n;
}

static int append_escaped(struct cairn_buf *b, const char *key, const char *v)
{
    char *e = curl_easy_escape(NULL, v, 0);
    if (!e)
        return CAIRN_ENOMEM;
    int rc = cairn_buf_appendf(b, "&%s=%s", key, e);
    curl_free(e);
    return rc;
}

static void start(struct watcher *w)
{
    struct router *r = w->r;
    struct cairn_buf *q = &r->scratch;
    cairn_buf_reset(q);
    int rc;
    if (w->need_list) {
        rc = cairn_buf_appendf(q, "%s?limit=%d", w->path,
                               r->o->page_limit > 0 ? r->o->page_limit : DEFAULT_PAGE_LIMIT);
        if (rc == 0 && w->cont)
            rc = append_escaped(q, "continue", w->cont);
        w->st = W_LIST;
    } else {
        int t = r->o->watch_timeout_s > 0 ? r->o->watch_timeout_s : DEFAULT_WATCH_TIMEOUT_S;
        t += (int)(next_rand(r) % (unsigned)t); /* [t, 2t), as client-go jitters */
        w->timeout_s = t;
        rc = cairn_buf_appendf(q, "%s?watch=1&allowWatchBookmarks=true&timeoutSeconds=%d",
                               w->path, t);
        if (rc == 0)
            rc = append_escaped(q, "resourceVersion", w->rv);
        w->st = W_WATCH;
        if (w->watches++ > 0)
            bump(r, &r->m->watch_restarts);
    }
    if (rc == 0 && r->o->field_selector && *r->o->field_selector)
        rc = append_escaped(q, "fieldSelector", r->o->field_selector);
    struct cairn_err err;
    cairn_err_clear(&err);
    if (rc == 0)
        rc = cairn__k8s_req_init(&w->req, r->conn, r->creds, q->data, &err);
    if (rc) {
        CAIRN_ERROR("k8s", "cannot start request", "path=%s err=\"%s\"", w->path,
                    err.msg[0] ? err.msg : cairn_strerror(rc));
        bump(r, &r->m->api_errors);
        w->attempt++;
        backoff(w);
        return;
    }
    cairn_buf_reset(&w->body);
    w->scan = 0;
    w->http = 0;
    w->gone = 0;
    w->lines = 0;
    curl_easy_setopt(w->req.easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(w->req.easy, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(w->req.easy, CURLOPT_PRIVATE, w);
    if (w->st == W_LIST) {
        curl_easy_setopt(w->req.easy, CURLOPT_ACCEPT_ENCODING, "");
        curl_easy_setopt(w->req.easy, CURLOPT_TIMEOUT, (long)LIST_TIMEOUT_S);
    } else {
        /* the server ends the watch after timeoutSeconds; if the network drops it
         * silently instead, this ends it on our side */
        curl_easy_setopt(w->req.easy, CURLOPT_TIMEOUT, (long)(w->timeout_s + WATCH_GRACE_S));
    }
    CAIRN_DEBUG("k8s", "request", "url=%s", q->data);
    if (curl_multi_add_handle(r->multi, w->req.easy) != CURLM_OK) {
        cairn__k8s_req_deinit(&w->req);
        w->attempt++;
        backoff(w);
    }
}

static void update_ready(struct router *r)
{
    int ready = 1;
    for (size_t i = 0; i < r->nw; i++)
        ready &= r->w[i].synced;
    pthread_mutex_lock(&r->m->mu);
    r->m->ready = ready;
    pthread_mutex_unlock(&r->m->mu);
}

static void status_message(struct watcher *w, char *out, size_t cap)
{
    json_t *doc = json_loadb(w->body.data ? w->body.data : "", w->body.len, 0, NULL);
    const char *msg = jstr(doc, "message");
    snprintf(out, cap, "%s", msg ? msg : "");
    json_decref(doc);
}

static void list_done(struct watcher *w, CURLcode res)
{
    struct router *r = w->r;
    char msg[256];
    if (res != CURLE_OK || w->http != 200) {
        status_message(w, msg, sizeof msg);
        if (w->http == 410) {
            CAIRN_INFO("k8s", "list: continue token expired, listing from the start",
                       "path=%s", w->path);
            free(w->cont);
            w->cont = NULL;
        } else {
            CAIRN_WARN("k8s", "list failed", "path=%s http=%ld curl=\"%s\" msg=\"%s\"", w->path,
                       w->http, curl_easy_strerror(res), msg);
            bump(r, &r->m->api_errors);
            if (w->http == 401)
                cairn_k8s_creds_invalidate(r->creds);
        }
        w->attempt++;
        backoff(w);
        return;
    }
    json_error_t je;
    json_t *doc = json_loadb(w->body.data ? w->body.data : "", w->body.len, 0, &je);
    json_t *items = json_object_get(doc, "items");
    json_t *meta = json_object_get(doc, "metadata");
    if (!json_is_array(items) || !jstr(meta, "resourceVersion")) {
        CAIRN_WARN("k8s", "list: not an EventList", "path=%s err=\"%s\"", w->path, je.text);
        json_decref(doc);
        bump(r, &r->m->api_errors);
        w->attempt++;
        backoff(w);
        return;
    }
    if (!w->cont)
        snprintf(w->list_rv, sizeof w->list_rv, "%s", jstr(meta, "resourceVersion"));
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        if (json_is_object(it))
            process_object(r, w, it, w->history);
        if (r->fatal)
            break;
    }
    const char *cont = jstr(meta, "continue");
    int more = cont && *cont;
    free(w->cont);
    w->cont = more ? strdup(cont) : NULL;
    json_decref(doc);
    w->attempt = 0;
    if (more && !w->cont) {
        w->attempt = 1; /* out of memory: start over after a pause */
    } else if (!w->cont) {
        CAIRN_INFO("k8s", "listed", "path=%s rv=%s emitted=%llu", w->path, w->list_rv,
                   (unsigned long long)r->emitted);
        set_rv(w, w->list_rv);
        w->need_list = 0;
        w->history = 1;
        w->synced = 1;
        update_ready(r);
        cairn_buf_deinit(&w->body); /* a page's worth of memory, not needed to watch */
    }
    backoff(w); /* attempt 0: start the next page or the watch now */
}

static void watch_done(struct watcher *w, CURLcode res)
{
    struct router *r = w->r;
    char msg[256];
    if (r->stopping)
        return;
    if (w->gone || w->http == 410) {
        bump(r, &r->m->relists);
        w->need_list = 1;
        free(w->cont);
        w->cont = NULL;
        w->attempt = 0; /* list at once */
        backoff(w);
        return;
    }
    if (w->http == 200 && !w->synced) {
        w->synced = 1;
        update_ready(r);
    }
    if (res == CURLE_OK && w->http == 200) {
        /* the server's timeout: watch again at once if the stream was alive */
        w->attempt = w->lines > 0 ? 0 : w->attempt + 1;
        backoff(w);
        return;
    }
    if (w->http != 200 && w->http != 0)
        status_message(w, msg, sizeof msg);
    else
        msg[0] = '\0';
    CAIRN_WARN("k8s", "watch ended", "path=%s http=%ld curl=\"%s\" msg=\"%s\" events=%d",
               w->path, w->http, curl_easy_strerror(res), msg, w->lines);
    if (w->http != 200)
        bump(r, &r->m->api_errors);
    if (w->http == 401)
        cairn_k8s_creds_invalidate(r->creds);
    w->attempt = w->lines > 0 ? 1 : w->attempt + 1;
    backoff(w);
}

static void flush_and_save(struct router *r)
{
    int64_t t0 = cairn_mono_ns();
    int rc = r->sink->flush ? r->sink->flush(r->sink->ctx) : 0;
    r->last_save = cairn_mono_ns();
    CAIRN_DEBUG("k8s", "sink flushed", "ms=%.1f", (double)(r->last_save - t0) / 1e6);
    r->unflushed = 0;
    if (rc) {
        bump(r, &r->m->sink_errors);
        CAIRN_WARN("k8s", "sink flush failed; state not saved", "err=%s", cairn_strerror(rc));
        return; /* not delivered: do not record it as done */
    }
    if (!r->o->state_file || !r->dirty)
        return;
    for (size_t i = 0; i < r->nw; i++)
        if (r->w[i].rv[0] && cairn__state_set_rv(&r->state, r->w[i].path, r->w[i].rv) != 0)
            return;
    int64_t now_s = cairn_now_ns() / 1000000000;
    if (now_s - r->last_prune_s >= PRUNE_INTERVAL_S) {
        cairn__seen_prune(&r->seen, now_s, CAIRN_K8S_SEEN_TTL_S);
        r->last_prune_s = now_s;
    }
    if (cairn__state_save(r->o->state_file, &r->state, &r->seen, &r->scratch) == 0)
        r->dirty = 0;
    malloc_trim(0);
    r->last_save = cairn_mono_ns();
}

static int setup(struct router *r, struct cairn_err *err)
{
    const struct cairn_k8s_router_opts *o = r->o;
    const char *base = o->events_v1 ? "/apis/events.k8s.io/v1" : "/api/v1";
    r->nw = o->nnamespaces ? o->nnamespaces : 1;
    r->w = calloc(r->nw, sizeof *r->w);
    if (!r->w || cairn__seen_init(&r->seen, 4096) ||
        cairn__oldcache_init(&r->oc, o->old_cache_bytes ? o->old_cache_bytes : DEFAULT_OLD_CACHE))
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    if (o->state_file) {
        int rc = cairn__state_load(o->state_file, &r->state, &r->seen);
        if (rc == CAIRN_ECORRUPT)
            return cairn_err_set(err, rc, "state file %s is damaged; remove it to start over "
                                 "(the listed history is emitted again then)", o->state_file);
        if (rc != 0 && rc != CAIRN_ENOTFOUND)
            return cairn_err_set(err, rc, "cannot read state file %s", o->state_file);
        if (rc == 0)
            CAIRN_INFO("k8s", "state loaded", "path=%s seen=%zu", o->state_file, r->seen.n);
    }
    for (size_t i = 0; i < r->nw; i++) {
        struct watcher *w = &r->w[i];
        w->r = r;
        if (o->nnamespaces)
            snprintf(w->path, sizeof w->path, "%s/namespaces/%s/events", base, o->namespaces[i]);
        else
            snprintf(w->path, sizeof w->path, "%s/events", base);
        const char *rv = cairn__state_get_rv(&r->state, w->path);
        if (rv) {
            set_rv(w, rv);
            w->need_list = 0;
        } else {
            w->need_list = 1;
        }
        /* --skip-history holds for a watch's first complete list: one that never
         * finished (no resourceVersion saved) has not had it yet */
        w->history = rv ? 1 : !o->skip_history;
        w->st = W_IDLE;
        w->start_at = 0;
    }
    return 0;
}

int cairn_k8s_router_run(const struct cairn_k8s_conn *conn, const struct cairn_k8s_router_opts *o,
                         struct cairn_k8s_sink *sink, struct cairn_k8s_metrics *m,
                         struct cairn_err *err)
{
    struct router r = {.conn = conn, .o = o, .sink = sink, .m = m, .err = err};
    r.rnd = (unsigned)cairn_now_ns() ^ (unsigned)getpid();
    int rc = 0;
    r.creds = cairn_k8s_creds_create(conn);
    r.multi = curl_multi_init();
    if (!r.creds || !r.multi)
        rc = cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    if (rc == 0)
        rc = setup(&r, err);
    r.last_save = cairn_mono_ns();
    r.last_prune_s = cairn_now_ns() / 1000000000;
    while (rc == 0 && !r.stopping && !r.fatal && !(o->stop && *o->stop)) {
        int64_t now = cairn_mono_ns();
        for (size_t i = 0; i < r.nw; i++)
            if (r.w[i].st == W_IDLE && now >= r.w[i].start_at)
                start(&r.w[i]);
        int running = 0;
        curl_multi_perform(r.multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(r.multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct watcher *w = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&w);
            CURLcode res = msg->data.result;
            curl_multi_remove_handle(r.multi, msg->easy_handle);
            if (w->http == 0)
                curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &w->http);
            enum wstate st = w->st;
            cairn__k8s_req_deinit(&w->req);
            w->st = W_IDLE;
            if (st == W_LIST)
                list_done(w, res);
            else
                watch_done(w, res);
        }
        /* Flush the sink and save the state when the stream goes quiet, and at least
         * every second while it does not: the sink's flush may wait for a store's
         * acknowledgement, so it is not done after every read. */
        now = cairn_mono_ns();
        if (r.batch > 0)
            r.last_emit = now;
        int listing = 0;
        for (size_t i = 0; i < r.nw; i++)
            listing |= r.w[i].need_list && r.w[i].st != W_IDLE;
        int quiet = !listing && now - r.last_emit >= QUIET_NS;
        if ((r.dirty || r.unflushed) && (quiet || now - r.last_save >= SAVE_INTERVAL_NS))
            flush_and_save(&r);
        r.batch = 0;
        if (r.stopping || r.fatal)
            break;
        int64_t wait_ns = r.dirty || r.unflushed ? QUIET_NS / 2 : 200LL * 1000000;
        for (size_t i = 0; i < r.nw; i++)
            if (r.w[i].st == W_IDLE && r.w[i].start_at - now < wait_ns)
                wait_ns = r.w[i].start_at - now;
        if (wait_ns > 0)
            curl_multi_poll(r.multi, NULL, 0, (int)(wait_ns / 1000000) + 1, NULL);
    }
    if (r.fatal && rc == 0)
        rc = err && err->code ? err->code : CAIRN_EIO;
    for (size_t i = 0; r.w && i < r.nw; i++) {
        if (r.w[i].req.easy) {
            curl_multi_remove_handle(r.multi, r.w[i].req.easy);
            cairn__k8s_req_deinit(&r.w[i].req);
        }
    }
    if (rc == 0)
        flush_and_save(&r);
    for (size_t i = 0; r.w && i < r.nw; i++) {
        free(r.w[i].cont);
        cairn_buf_deinit(&r.w[i].body);
    }
    free(r.w);
    curl_multi_cleanup(r.multi);
    cairn_k8s_creds_destroy(r.creds);
    cairn__seen_deinit(&r.seen);
    cairn__state_deinit(&r.state);
    if (r.oc.idx)
        cairn__oldcache_deinit(&r.oc);
    cairn_buf_deinit(&r.scratch);
    cairn_buf_deinit(&r.evbuf);
    return rc;
}
