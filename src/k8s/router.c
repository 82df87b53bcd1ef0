/* router.c -- list+watch Events (through watch.c's loop) and emit each version of each
 * event exactly once.
 *
 * Exactly once: every object that arrives (list item or watch event) is checked against
 * the seen table (uid -> newest resourceVersion emitted). Only a newer version is
 * emitted: ADDED for a uid never seen, UPDATED (with old_event when still cached) for
 * a later version. The seen table and each watch's resourceVersion go to the state
 * file after the sink has flushed, when the stream goes quiet or at least every second,
 * and at exit; a restart resumes the watch from there. */
#include <curl/curl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/k8s_router.h"
#include "cairn/k8s_watch.h"
#include "cairn/log.h"
#include "cairn/timeutil.h"
#include "k8s/k8s_int.h"

#define DEFAULT_OLD_CACHE (2u * 1024 * 1024) /* ~2,000 recent events' previous versions */
#define SAVE_INTERVAL_NS (1000LL * 1000000)    /* save state at least every second */
#define QUIET_NS (50LL * 1000000)              /* no event for this long: flush and save */
#define PRUNE_INTERVAL_S 600                   /* drop old seen entries every 10 min */

/* One watched path: where it resumes, and whether its listed events are emitted. */
struct watcher {
    char path[1024];
    char rv[128];
    int history; /* emit listed events (else only record them) */
};

struct router {
    const struct cairn_k8s_router_opts *o;
    struct cairn_k8s_sink *sink;
    struct cairn_k8s_metrics *m;
    struct watcher *w;
    size_t nw;
    struct cairn__seen seen;
    struct cairn__state state;
    struct cairn__oldcache oc;
    struct cairn_buf scratch, evbuf;
    int dirty, unflushed, stopping, fatal;
    int64_t last_save;
    int64_t last_emit; /* monotonic ns of the last turn that emitted */
    int64_t last_prune_s;
    uint64_t emitted, batch;
    struct cairn_err *err;
};

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


static int on_object(void *ud, size_t i, const char *type, json_t *obj)
{
    struct router *r = ud;
    struct watcher *w = &r->w[i];
    if (strcmp(type, "DELETED") == 0) {
        const char *uid = jstr(json_object_get(obj, "metadata"), "uid");
        if (uid)
            cairn__oldcache_del(&r->oc, cairn__uid_key(uid, strlen(uid)));
    } else {
        process_object(r, w, obj, strcmp(type, "LISTED") != 0 || w->history);
    }
    if (r->fatal)
        return r->err && r->err->code ? r->err->code : CAIRN_EIO;
    return r->stopping ? 1 : 0;
}

static void on_list(void *ud, size_t i, int begin)
{
    struct router *r = ud;
    if (!begin) {
        r->w[i].history = 1;
        CAIRN_INFO("k8s", "events listed", "path=%s emitted=%llu", r->w[i].path,
                   (unsigned long long)r->emitted);
    }
}

static void on_resume(void *ud, size_t i, const char *rv)
{
    struct router *r = ud;
    snprintf(r->w[i].rv, sizeof r->w[i].rv, "%s", rv);
    r->dirty = 1;
}

/* Flush the sink and save the state when the stream goes quiet, and at least every
 * second while it does not: the sink's flush may wait for a store's acknowledgement,
 * so it is not done after every read. */
static int on_turn(void *ud, int64_t now, int listing, int64_t *wait_ns)
{
    struct router *r = ud;
    if (r->batch > 0)
        r->last_emit = now;
    int quiet = !listing && now - r->last_emit >= QUIET_NS;
    if ((r->dirty || r->unflushed) && (quiet || now - r->last_save >= SAVE_INTERVAL_NS))
        flush_and_save(r);
    r->batch = 0;
    if (r->dirty || r->unflushed)
        *wait_ns = QUIET_NS / 2;
    if (r->o->stop && *r->o->stop)
        return 1;
    return r->stopping ? 1 : 0;
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
        if (o->nnamespaces)
            snprintf(w->path, sizeof w->path, "%s/namespaces/%s/events", base, o->namespaces[i]);
        else
            snprintf(w->path, sizeof w->path, "%s/events", base);
        const char *rv = cairn__state_get_rv(&r->state, w->path);
        if (rv)
            snprintf(w->rv, sizeof w->rv, "%s", rv);
        /* --skip-history holds for a watch's first complete list: one that never
         * finished (no resourceVersion saved) has not had it yet */
        w->history = rv ? 1 : !o->skip_history;
    }
    return 0;
}

int cairn_k8s_router_run(const struct cairn_k8s_conn *conn, const struct cairn_k8s_router_opts *o,
                         struct cairn_k8s_sink *sink, struct cairn_k8s_metrics *m,
                         struct cairn_err *err)
{
    struct router r = {.o = o, .sink = sink, .m = m, .err = err};
    int rc = setup(&r, err);
    r.last_save = cairn_mono_ns();
    r.last_prune_s = cairn_now_ns() / 1000000000;
    const char **paths = calloc(r.nw ? r.nw : 1, sizeof *paths);
    const char **rvs = calloc(r.nw ? r.nw : 1, sizeof *rvs);
    if (rc == 0 && (!paths || !rvs))
        rc = cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    if (rc == 0) {
        for (size_t i = 0; i < r.nw; i++) {
            paths[i] = r.w[i].path;
            rvs[i] = r.w[i].rv;
        }
        struct cairn_k8s_watch_opts wo = {
            .paths = paths, .npaths = r.nw, .resume_rv = rvs,
            .field_selector = o->field_selector, .page_limit = o->page_limit,
            .watch_timeout_s = o->watch_timeout_s, .stop = o->stop, .what = "events"};
        struct cairn_k8s_watch_handler h = {on_object, on_list, on_resume, on_turn, &r};
        rc = cairn_k8s_watch_run(conn, &wo, &h, m, err);
    }
    if (r.fatal && rc == 0)
        rc = err && err->code ? err->code : CAIRN_EIO;
    if (rc == 0)
        flush_and_save(&r);
    free(paths);
    free(rvs);
    free(r.w);
    cairn__seen_deinit(&r.seen);
    cairn__state_deinit(&r.state);
    if (r.oc.idx)
        cairn__oldcache_deinit(&r.oc);
    cairn_buf_deinit(&r.scratch);
    cairn_buf_deinit(&r.evbuf);
    return rc;
}
