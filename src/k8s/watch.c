/* watch.c -- list+watch one resource over one or more request paths (see
 * k8s_watch.h): one watcher per path, each a small state machine, all driven by one
 * curl multi loop. Pages of a list and lines of a watch stream are parsed here and
 * handed to the caller's handler object by object. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/k8s_router.h"
#include "cairn/k8s_watch.h"
#include "cairn/log.h"
#include "cairn/timeutil.h"
#include "k8s/k8s_int.h"

#define DEFAULT_PAGE_LIMIT 500
#define DEFAULT_WATCH_TIMEOUT_S 300
#define BACKOFF_BASE_NS (200LL * 1000000)      /* first retry after ~0.2 s */
#define BACKOFF_MAX_NS (30LL * 1000000000)     /* never wait longer than 30 s */
#define MAX_LIST_BODY (512u * 1024 * 1024)     /* a list page larger than this is refused */
#define MAX_WATCH_LINE (16u * 1024 * 1024)     /* one watch event larger than this too */
#define MAX_ERROR_BODY 65536
#define LIST_TIMEOUT_S 300                     /* one list page may take this long */
#define WATCH_GRACE_S 60                       /* past timeoutSeconds before we hang up */
#define IDLE_WAIT_NS (200LL * 1000000)         /* longest sleep: *stop is looked at this often */

enum wstate { W_IDLE, W_LIST, W_WATCH };

struct loop;

struct watcher {
    struct loop *l;
    size_t idx;
    const char *path;
    char rv[128];        /* resume point; "" until known */
    enum wstate st;
    int64_t start_at;    /* monotonic ns, when W_IDLE */
    int need_list;
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

struct loop {
    const struct cairn_k8s_conn *conn;
    const struct cairn_k8s_watch_opts *o;
    const struct cairn_k8s_watch_handler *h;
    struct cairn_k8s_metrics *m;
    struct cairn_k8s_creds *creds;
    CURLM *multi;
    struct watcher *w;
    size_t nw;
    struct cairn_buf scratch;
    int stopping; /* a handler said enough */
    int rc;       /* a handler's error */
    unsigned rnd;
    const char *what;
};

static unsigned next_rand(struct loop *l)
{
    l->rnd = l->rnd * 1103515245u + 12345u;
    return (l->rnd >> 16) & 0x7fff;
}

static void backoff(struct watcher *w)
{
    int64_t d = BACKOFF_BASE_NS;
    for (int i = 1; i < w->attempt && d < BACKOFF_MAX_NS; i++)
        d *= 2;
    if (d > BACKOFF_MAX_NS)
        d = BACKOFF_MAX_NS;
    /* full range [d/2, d): retries of many clients do not line up */
    d = d / 2 + (int64_t)((double)(d / 2) * next_rand(w->l) / 32768.0);
    w->start_at = cairn_mono_ns() + (w->attempt > 0 ? d : 0);
    w->st = W_IDLE;
}

static void bump(struct loop *l, int which)
{
    struct cairn_k8s_metrics *m = l->m;
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    if (which == 0)
        m->watch_restarts++;
    else if (which == 1)
        m->relists++;
    else
        m->api_errors++;
    pthread_mutex_unlock(&m->mu);
}

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Hand one object on; remember what the handler said. */
static void deliver(struct watcher *w, const char *type, json_t *obj)
{
    struct loop *l = w->l;
    if (l->stopping || l->rc)
        return;
    int rc = l->h->object(l->h->ud, w->idx, type, obj);
    if (rc > 0)
        l->stopping = 1;
    else if (rc < 0)
        l->rc = rc;
}

static void set_rv(struct watcher *w, const char *rv)
{
    if (rv && *rv && strlen(rv) < sizeof w->rv) {
        memcpy(w->rv, rv, strlen(rv) + 1);
        if (w->l->h->resume)
            w->l->h->resume(w->l->h->ud, w->idx, w->rv);
    }
}

static void watch_line(struct watcher *w, const char *p, size_t n)
{
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
    } else if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0 ||
               strcmp(type, "DELETED") == 0) {
        deliver(w, type, obj);
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

static void update_ready(struct loop *l)
{
    if (!l->m)
        return;
    int ready = 1;
    for (size_t i = 0; i < l->nw; i++)
        ready &= l->w[i].synced;
    pthread_mutex_lock(&l->m->mu);
    l->m->ready = ready;
    pthread_mutex_unlock(&l->m->mu);
}

static size_t on_data(char *p, size_t sz, size_t nm, void *ud)
{
    struct watcher *w = ud;
    size_t n = sz * nm;
    if (w->http == 0) {
        curl_easy_getinfo(w->req.easy, CURLINFO_RESPONSE_CODE, &w->http);
        if (w->st == W_WATCH && w->http == 200 && !w->synced) {
            w->synced = 1; /* resumed from a saved version: watching is being ready */
            update_ready(w->l);
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
        if (w->l->stopping || w->l->rc || w->gone)
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
    if (w->l->stopping || w->l->rc || w->gone)
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
    struct loop *l = w->l;
    struct cairn_buf *q = &l->scratch;
    cairn_buf_reset(q);
    int rc;
    if (w->need_list) {
        if (!w->cont && l->h->list)
            l->h->list(l->h->ud, w->idx, 1);
        rc = cairn_buf_appendf(q, "%s?limit=%d", w->path,
                               l->o->page_limit > 0 ? l->o->page_limit : DEFAULT_PAGE_LIMIT);
        if (rc == 0 && w->cont)
            rc = append_escaped(q, "continue", w->cont);
        w->st = W_LIST;
    } else {
        int t = l->o->watch_timeout_s > 0 ? l->o->watch_timeout_s : DEFAULT_WATCH_TIMEOUT_S;
        t += (int)(next_rand(l) % (unsigned)t); /* [t, 2t), as client-go jitters */
        w->timeout_s = t;
        rc = cairn_buf_appendf(q, "%s?watch=1&allowWatchBookmarks=true&timeoutSeconds=%d",
                               w->path, t);
        if (rc == 0)
            rc = append_escaped(q, "resourceVersion", w->rv);
        w->st = W_WATCH;
        if (w->watches++ > 0)
            bump(l, 0);
    }
    if (rc == 0 && l->o->field_selector && *l->o->field_selector)
        rc = append_escaped(q, "fieldSelector", l->o->field_selector);
    if (rc == 0 && l->o->label_selector && *l->o->label_selector)
        rc = append_escaped(q, "labelSelector", l->o->label_selector);
    struct cairn_err err;
    cairn_err_clear(&err);
    if (rc == 0)
        rc = cairn__k8s_req_init(&w->req, l->conn, l->creds, q->data, &err);
    if (rc) {
        CAIRN_ERROR("k8s", "cannot start request", "path=%s err=\"%s\"", w->path,
                    err.msg[0] ? err.msg : cairn_strerror(rc));
        bump(l, 2);
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
    if (curl_multi_add_handle(l->multi, w->req.easy) != CURLM_OK) {
        cairn__k8s_req_deinit(&w->req);
        w->attempt++;
        backoff(w);
    }
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
    struct loop *l = w->l;
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
            bump(l, 2);
            if (w->http == 401)
                cairn_k8s_creds_invalidate(l->creds);
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
        CAIRN_WARN("k8s", "list: not a list", "path=%s what=%s err=\"%s\"", w->path, l->what,
                   je.text);
        json_decref(doc);
        bump(l, 2);
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
            deliver(w, "LISTED", it);
        if (l->rc)
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
        CAIRN_INFO("k8s", "listed", "path=%s rv=%s", w->path, w->list_rv);
        set_rv(w, w->list_rv);
        w->need_list = 0;
        w->synced = 1;
        if (l->h->list)
            l->h->list(l->h->ud, w->idx, 0);
        update_ready(l);
        cairn_buf_deinit(&w->body); /* a page's worth of memory, not needed to watch */
    }
    backoff(w); /* attempt 0: start the next page or the watch now */
}

static void watch_done(struct watcher *w, CURLcode res)
{
    struct loop *l = w->l;
    char msg[256];
    if (l->stopping || l->rc)
        return;
    if (w->gone || w->http == 410) {
        bump(l, 1);
        w->need_list = 1;
        free(w->cont);
        w->cont = NULL;
        w->attempt = 0; /* list at once */
        backoff(w);
        return;
    }
    if (w->http == 200 && !w->synced) {
        w->synced = 1;
        update_ready(l);
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
        bump(l, 2);
    if (w->http == 401)
        cairn_k8s_creds_invalidate(l->creds);
    w->attempt = w->lines > 0 ? 1 : w->attempt + 1;
    backoff(w);
}

int cairn_k8s_watch_run(const struct cairn_k8s_conn *conn, const struct cairn_k8s_watch_opts *o,
                        const struct cairn_k8s_watch_handler *h, struct cairn_k8s_metrics *m,
                        struct cairn_err *err)
{
    struct loop l = {.conn = conn, .o = o, .h = h, .m = m, .what = o->what ? o->what : "objects"};
    l.rnd = (unsigned)cairn_now_ns() ^ (unsigned)getpid() ^ (unsigned)(uintptr_t)&l;
    int rc = 0;
    l.creds = cairn_k8s_creds_create(conn);
    l.multi = curl_multi_init();
    l.nw = o->npaths;
    l.w = calloc(l.nw ? l.nw : 1, sizeof *l.w);
    if (!l.creds || !l.multi || !l.w)
        rc = cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < l.nw; i++) {
        struct watcher *w = &l.w[i];
        w->l = &l;
        w->idx = i;
        w->path = o->paths[i];
        const char *rv = o->resume_rv ? o->resume_rv[i] : NULL;
        if (rv && *rv && strlen(rv) < sizeof w->rv) {
            memcpy(w->rv, rv, strlen(rv) + 1);
            w->need_list = 0;
        } else {
            w->need_list = 1;
        }
        w->st = W_IDLE;
    }
    while (rc == 0 && !l.stopping && !l.rc && !(o->stop && *o->stop)) {
        int64_t now = cairn_mono_ns();
        for (size_t i = 0; i < l.nw; i++)
            if (l.w[i].st == W_IDLE && now >= l.w[i].start_at)
                start(&l.w[i]);
        int running = 0;
        curl_multi_perform(l.multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(l.multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct watcher *w = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&w);
            CURLcode res = msg->data.result;
            curl_multi_remove_handle(l.multi, msg->easy_handle);
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
        now = cairn_mono_ns();
        int listing = 0;
        for (size_t i = 0; i < l.nw; i++)
            listing |= l.w[i].need_list && l.w[i].st != W_IDLE;
        int64_t wait_ns = IDLE_WAIT_NS;
        if (h->turn && !l.rc) {
            int t = h->turn(h->ud, now, listing, &wait_ns);
            if (t > 0)
                l.stopping = 1;
            else if (t < 0)
                l.rc = t;
        }
        if (l.stopping || l.rc)
            break;
        for (size_t i = 0; i < l.nw; i++)
            if (l.w[i].st == W_IDLE && l.w[i].start_at - now < wait_ns)
                wait_ns = l.w[i].start_at - now;
        if (wait_ns > 0)
            curl_multi_poll(l.multi, NULL, 0, (int)(wait_ns / 1000000) + 1, NULL);
    }
    if (rc == 0)
        rc = l.rc;
    for (size_t i = 0; l.w && i < l.nw; i++) {
        if (l.w[i].req.easy) {
            curl_multi_remove_handle(l.multi, l.w[i].req.easy);
            cairn__k8s_req_deinit(&l.w[i].req);
        }
        free(l.w[i].cont);
        cairn_buf_deinit(&l.w[i].body);
    }
    free(l.w);
    if (l.multi)
        curl_multi_cleanup(l.multi);
    cairn_k8s_creds_destroy(l.creds);
    cairn_buf_deinit(&l.scratch);
    return rc;
}
