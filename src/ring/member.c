/* member.c -- this node's membership: register under a lease in etcd (or stand alone
 * with `inmemory`, or take a static peer list), keep the lease alive and the heartbeat
 * fresh from a background thread, read the member list back every poll period and
 * publish it as a new view. Leaving revokes the lease so peers drop the node at once
 * instead of after its TTL.
 *
 * Why polling rather than etcd's watch stream: a range of a few hundred small keys
 * every second is cheap for etcd, needs no long-lived streaming HTTP request through
 * the gateway, and heals by itself after any error (docs/SCALING.md). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn/log.h"
#include "cairn/ring.h"
#include "cairn/timeutil.h"
#include "ring/ring_int.h"

#define SEC 1000000000LL

enum ring_kind { KIND_INMEMORY, KIND_STATIC, KIND_ETCD };

struct cairn_ring {
    enum ring_kind kind;
    struct cairn_ring_config cfg; /* strings below are copies */
    char *prefix, *key;
    struct cairn_ring_member self; /* tokens: self_tokens */
    uint32_t self_tokens[CAIRN_RING_TOKENS];
    struct cairn__etcd *etcd;
    int64_t lease;
    pthread_mutex_t mu; /* view, self.state, stop */
    pthread_cond_t cv;
    struct cairn_ring_view *view;
    struct cairn_ring_view *stat_view; /* static: the fixed members besides self */
    int stop, thread_started;
    pthread_t thread;
    _Atomic uint64_t kv_errors, renewals;
    _Atomic int64_t last_sync_ns;
};

void cairn_ring_config_default(struct cairn_ring_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->store = "inmemory";
    cfg->prefix = "collectors/cairn/";
    cfg->dial_timeout_ns = 5 * SEC;
    cfg->roles = CAIRN_RING_ROLE_WRITE | CAIRN_RING_ROLE_READ | CAIRN_RING_ROLE_BACKEND;
    cfg->lease_ttl_ns = 10 * SEC;
    cfg->heartbeat_ns = 3 * SEC;
    cfg->poll_ns = 1 * SEC;
}

const char *cairn_ring_self_id(const struct cairn_ring *r)
{
    return r->self.id;
}

const char *cairn_ring_store_kind(const struct cairn_ring *r)
{
    return r->kind == KIND_ETCD ? "etcd" : r->kind == KIND_STATIC ? "static" : "inmemory";
}

/* Swap in v (takes ownership); the old view goes when its last holder puts it. */
static void publish(struct cairn_ring *r, struct cairn_ring_view *v)
{
    pthread_mutex_lock(&r->mu);
    struct cairn_ring_view *old = r->view;
    v->refs = 1;
    v->built_ns = cairn_now_ns();
    r->view = v;
    int drop = old && --old->refs == 0;
    pthread_mutex_unlock(&r->mu);
    if (drop)
        cairn_ring_view_free(old);
}

struct cairn_ring_view *cairn_ring_view_get(struct cairn_ring *r)
{
    pthread_mutex_lock(&r->mu);
    struct cairn_ring_view *v = r->view;
    v->refs++;
    pthread_mutex_unlock(&r->mu);
    return v;
}

void cairn_ring_view_put(struct cairn_ring *r, struct cairn_ring_view *v)
{
    if (!v)
        return;
    pthread_mutex_lock(&r->mu);
    int drop = --v->refs == 0;
    pthread_mutex_unlock(&r->mu);
    if (drop)
        cairn_ring_view_free(v);
}

/* A view of this node alone, or of the static list with this node's state. */
static int publish_local(struct cairn_ring *r)
{
    struct cairn_ring_member *m = NULL;
    size_t n = 0;
    pthread_mutex_lock(&r->mu);
    struct cairn_ring_member self = r->self;
    pthread_mutex_unlock(&r->mu);
    self.heartbeat_ns = cairn_now_ns();
    if (r->kind == KIND_STATIC) {
        n = r->stat_view->n;
        if (!(m = malloc((n + 1) * sizeof *m)))
            return CAIRN_ENOMEM;
        memcpy(m, r->stat_view->members, n * sizeof *m);
        long me = cairn_ring_find(r->stat_view, self.id);
        if (me >= 0)
            m[me] = self;
        else
            m[n++] = self;
    } else {
        m = &self;
        n = 1;
    }
    struct cairn_ring_view *v = cairn_ring_view_build(m, n);
    if (m != &self)
        free(m);
    if (!v)
        return CAIRN_ENOMEM;
    publish(r, v);
    return 0;
}

/* ---- etcd ---- */

static int put_self(struct cairn_ring *r)
{
    struct cairn_buf b = CAIRN_BUF_INIT;
    pthread_mutex_lock(&r->mu);
    r->self.heartbeat_ns = cairn_now_ns();
    int rc = cairn_ring_member_json(&r->self, &b);
    pthread_mutex_unlock(&r->mu);
    if (!rc)
        rc = cairn__etcd_put(r->etcd, r->key, cairn_buf_cstr(&b), b.len, r->lease);
    cairn_buf_deinit(&b);
    if (rc)
        atomic_fetch_add(&r->kv_errors, 1);
    return rc;
}

struct collect {
    struct cairn_ring *r;
    struct cairn_ring_member *v;
    size_t n, cap;
    int oom;
};

static void on_kv(void *ctx, const char *key, size_t klen, const char *value, size_t vlen)
{
    struct collect *c = ctx;
    size_t pl = strlen(c->r->prefix);
    if (klen <= pl || klen - pl >= CAIRN_RING_ID_MAX)
        return;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 16;
        void *nv = realloc(c->v, nc * sizeof *c->v);
        if (!nv) {
            c->oom = 1;
            return;
        }
        c->v = nv;
        c->cap = nc;
    }
    struct cairn_ring_member *m = &c->v[c->n];
    memset(m, 0, sizeof *m);
    if (cairn_ring_member_parse(value, vlen, m) != 0) {
        CAIRN_WARN("ring", "member value not understood", "key=%.*s", (int)klen, key);
        return;
    }
    memcpy(m->id, key + pl, klen - pl);
    m->id[klen - pl] = '\0';
    c->n++;
}

static int sync_members(struct cairn_ring *r)
{
    struct collect c = {.r = r};
    int rc = cairn__etcd_range_prefix(r->etcd, r->prefix, on_kv, &c);
    if (!rc && c.oom)
        rc = CAIRN_ENOMEM;
    if (!rc) {
        struct cairn_ring_view *v = cairn_ring_view_build(c.v, c.n);
        if (v) {
            publish(r, v);
            atomic_store(&r->last_sync_ns, cairn_now_ns());
        } else {
            rc = CAIRN_ENOMEM;
        }
    } else {
        atomic_fetch_add(&r->kv_errors, 1);
    }
    for (size_t i = 0; i < c.n; i++)
        free(c.v[i].tokens);
    free(c.v);
    return rc;
}

/* Lease expired (etcd was away longer than the TTL): take a new one, register again. */
static void renew_lease(struct cairn_ring *r)
{
    struct cairn_err err;
    int64_t id;
    if (cairn__etcd_grant(r->etcd, r->cfg.lease_ttl_ns / SEC, &id, &err) != 0) {
        atomic_fetch_add(&r->kv_errors, 1);
        return;
    }
    r->lease = id;
    atomic_fetch_add(&r->renewals, 1);
    CAIRN_WARN("ring", "lease expired; registered again", "id=%s", r->self.id);
    put_self(r);
}

static void *ring_main(void *arg)
{
    struct cairn_ring *r = arg;
    int64_t next_beat = cairn_mono_ns() + r->cfg.heartbeat_ns;
    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t at = (int64_t)ts.tv_sec * SEC + ts.tv_nsec + r->cfg.poll_ns;
        ts.tv_sec = (time_t)(at / SEC);
        ts.tv_nsec = (long)(at % SEC);
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
        if (r->stop)
            break;
        pthread_mutex_unlock(&r->mu);
        if (r->kind == KIND_ETCD) {
            if (cairn_mono_ns() >= next_beat) {
                next_beat = cairn_mono_ns() + r->cfg.heartbeat_ns;
                int rc = cairn__etcd_keepalive(r->etcd, r->lease);
                if (rc == CAIRN_ENOTFOUND)
                    renew_lease(r);
                else if (rc)
                    atomic_fetch_add(&r->kv_errors, 1);
                else
                    put_self(r); /* the heartbeat others read the age of */
            }
            sync_members(r);
        } else {
            publish_local(r); /* heartbeat only */
        }
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static char *dup_or(const char *s, const char *def)
{
    return strdup(s ? s : def);
}

struct cairn_ring *cairn_ring_create(const struct cairn_ring_config *cfg, struct cairn_err *err)
{
    struct cairn_ring *r = calloc(1, sizeof *r);
    if (!r) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    r->cfg = *cfg;
    const char *kind = cfg->store ? cfg->store : "inmemory";
    r->kind = strcmp(kind, "etcd") == 0 ? KIND_ETCD : strcmp(kind, "static") == 0 ? KIND_STATIC
                                                                                   : KIND_INMEMORY;
    if (!cfg->instance_id || !*cfg->instance_id || strlen(cfg->instance_id) >= CAIRN_RING_ID_MAX ||
        !cfg->instance_addr || strlen(cfg->instance_addr) >= CAIRN_RING_ADDR_MAX) {
        cairn_err_set(err, CAIRN_EINVAL, "common.instance_id / common.instance_addr: missing or too long");
        goto fail;
    }
    strcpy(r->self.id, cfg->instance_id);
    strcpy(r->self.addr, cfg->instance_addr);
    r->self.roles = cfg->roles;
    r->self.state = CAIRN_RING_JOINING;
    if (cfg->roles & CAIRN_RING_ROLE_WRITE) {
        cairn_ring_tokens(r->self.id, r->self_tokens, CAIRN_RING_TOKENS);
        r->self.tokens = r->self_tokens;
        r->self.n_tokens = CAIRN_RING_TOKENS;
    }
    if (!(r->prefix = dup_or(cfg->prefix, "collectors/cairn/")))
        goto nomem;
    size_t kl = strlen(r->prefix) + strlen(r->self.id) + 1;
    if (!(r->key = malloc(kl)))
        goto nomem;
    strcpy(r->key, r->prefix);
    strcat(r->key, r->self.id);
    if (r->kind == KIND_STATIC) {
        /* each static member is its own id (host:port), a writer, always ACTIVE */
        struct cairn_ring_member *m = calloc(cfg->n_static ? cfg->n_static : 1, sizeof *m);
        uint32_t(*toks)[CAIRN_RING_TOKENS] = calloc(cfg->n_static ? cfg->n_static : 1, sizeof *toks);
        if (!m || !toks) {
            free(m);
            free(toks);
            goto nomem;
        }
        for (size_t i = 0; i < cfg->n_static; i++) {
            snprintf(m[i].id, sizeof m[i].id, "%s", cfg->static_addrs[i]);
            snprintf(m[i].addr, sizeof m[i].addr, "%s", cfg->static_addrs[i]);
            m[i].state = CAIRN_RING_ACTIVE;
            m[i].roles = CAIRN_RING_ROLE_WRITE | CAIRN_RING_ROLE_READ;
            cairn_ring_tokens(m[i].id, toks[i], CAIRN_RING_TOKENS);
            m[i].tokens = toks[i];
            m[i].n_tokens = CAIRN_RING_TOKENS;
        }
        r->stat_view = cairn_ring_view_build(m, cfg->n_static);
        free(m);
        free(toks);
        if (!r->stat_view)
            goto nomem;
        /* this node is the listed member with its address: take that member's id (and
         * so its tokens) rather than appear twice */
        for (size_t i = 0; i < r->stat_view->n; i++)
            if (strcmp(r->stat_view->members[i].addr, r->self.addr) == 0 &&
                strcmp(r->stat_view->members[i].id, r->self.id) != 0) {
                strcpy(r->self.id, r->stat_view->members[i].id);
                if (r->self.n_tokens)
                    cairn_ring_tokens(r->self.id, r->self_tokens, CAIRN_RING_TOKENS);
            }
    }
    if (r->kind == KIND_ETCD) {
        if (!(r->etcd = cairn__etcd_create(cfg->endpoints, cfg->n_endpoints, cfg->dial_timeout_ns,
                                           cfg->username, cfg->password, err)))
            goto fail;
        if (cairn__etcd_grant(r->etcd, cfg->lease_ttl_ns / SEC, &r->lease, err))
            goto fail;
        if (put_self(r) || sync_members(r)) {
            cairn_err_set(err, CAIRN_EIO, "etcd at %s: cannot register %s",
                          cairn__etcd_endpoint(r->etcd), r->key);
            goto fail;
        }
    } else if (publish_local(r)) {
        goto nomem;
    }
    if (pthread_create(&r->thread, NULL, ring_main, r)) {
        cairn_err_set(err, CAIRN_EIO, "cannot start the ring thread");
        goto fail;
    }
    r->thread_started = 1;
    CAIRN_INFO("ring", "joined", "id=%s addr=%s kvstore=%s key=%s", r->self.id, r->self.addr,
               cairn_ring_store_kind(r), r->key);
    return r;
nomem:
    cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
fail:
    cairn_ring_destroy(r);
    return NULL;
}

int cairn_ring_set_state(struct cairn_ring *r, enum cairn_ring_state state)
{
    pthread_mutex_lock(&r->mu);
    r->self.state = state;
    pthread_mutex_unlock(&r->mu);
    CAIRN_INFO("ring", "state", "id=%s state=%s", r->self.id, cairn_ring_state_name(state));
    if (r->kind != KIND_ETCD)
        return publish_local(r);
    int rc = put_self(r);
    if (!rc)
        sync_members(r);
    return rc;
}

void cairn_ring_destroy(struct cairn_ring *r)
{
    if (!r)
        return;
    if (r->thread_started) {
        pthread_mutex_lock(&r->mu);
        r->stop = 1;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->thread, NULL);
        if (r->etcd && r->lease) {
            r->self.state = CAIRN_RING_LEAVING;
            put_self(r);
            if (cairn__etcd_revoke(r->etcd, r->lease) == 0)
                CAIRN_INFO("ring", "left", "id=%s", r->self.id);
        }
    }
    cairn__etcd_destroy(r->etcd);
    if (r->view)
        cairn_ring_view_free(r->view); /* holders are gone: the api stopped first */
    cairn_ring_view_free(r->stat_view);
    free(r->prefix);
    free(r->key);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

void cairn_ring_stats(struct cairn_ring *r, struct cairn_ring_stats *out)
{
    out->kv_errors = atomic_load(&r->kv_errors);
    out->lease_renewals = atomic_load(&r->renewals);
    out->last_sync_ns = atomic_load(&r->last_sync_ns);
}
