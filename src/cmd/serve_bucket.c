/* serve_bucket.c -- a read node's view of the bucket (docs/SCALING.md).
 *
 * Each write node uploads its closed periods under its own prefix of the shared
 * bucket, nodes/<instance id>/ (two nodes' segment numbers would collide otherwise).
 * The reader keeps one read-only store per prefix found, in DATA_DIR/bucket/<id>/,
 * opened over a prefixed view of the bucket: at open the store finds the periods from
 * their manifests (remote.c), and reads their blocks with ranged GETs through a cache
 * of its own (DATA_DIR/bucket/<id>/cache, cache.max_size each: cache keys name a
 * period's objects without the prefix). The stores hold no WAL data and run no
 * retention: the backend role deletes from the bucket.
 *
 * Refresh: newly uploaded periods and new write nodes appear when the reader lists the
 * bucket again, at most every CAIRN_BUCKET_REFRESH_NS, done by the first query past
 * that time (queries wait for it: a listing and the new manifests and index files).
 * Each known store is closed and reopened, which fetches only the manifests newer than
 * those it has; periods whose manifests are gone (retention) are removed from its
 * directory first. Until a refresh, a period uploaded meanwhile is still answered by its
 * write nodes (they read their own uploaded periods), so a stale view is never wrong.
 *
 * A backend node (-target=backend) keeps the same view with the stores' retention on:
 * each store's maintenance applies limits_config.retention_period (and the per-tenant
 * overrides) to the periods it found, deleting their objects from the bucket, and a
 * thread lists the bucket again every CAIRN_BUCKET_BACKEND_REFRESH_NS. Write nodes
 * apply the same retention to their own uploads; the backend also covers the prefixes
 * of write nodes that are gone for good. Deleting a key twice is no error.
 *
 * As a read source (cairn_api_read_source_fn) it adds, for a selector and range, the
 * entries of every store; the read path merges them with the write nodes' replies and
 * drops the duplicates (the rf copies in the bucket, and the write nodes' copies). */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cairn/api.h"
#include "cairn/fs.h"
#include "cairn/limits.h"
#include "cairn/log.h"
#include "cairn/push.h"
#include "cairn/ring.h"
#include "cairn/store.h"
#include "cairn/timeutil.h"
#include "cmd/serve_int.h"

struct bnode {
    char id[CAIRN_RING_ID_MAX + 1];
    struct cairn_objstore *os; /* the prefixed view */
    struct cairn_cache *cache;
    struct cairn_store *st;    /* NULL while it cannot be opened */
};

struct cairn__bucket {
    struct cairn_objstore *base; /* borrowed */
    struct cairn_store_config cfg;
    char dir[4096];
    uint64_t cache_max;
    pthread_rwlock_t lk;  /* nodes: read by queries, written by a refresh */
    pthread_mutex_t rmu;  /* one refresh at a time */
    int64_t last;         /* monotonic ns of the last refresh */
    struct bnode *nodes;
    size_t n, cap;
    /* backend: the stores apply retention, refreshed by a thread of their own */
    int backend, started, stop;
    pthread_t thr;
    pthread_cond_t cv; /* with rmu: stop */
};

static int open_node(struct cairn__bucket *b, struct bnode *n, struct cairn_err *err)
{
    char path[4400];
    struct cairn_store_config cfg = b->cfg;
    snprintf(path, sizeof path, "%s/%s/data", b->dir, n->id);
    cfg.data_dir = path;
    cfg.objstore = n->os;
    cfg.cache = n->cache;
    n->st = cairn_store_open(&cfg, err);
    return n->st ? 0 : err->code ? err->code : CAIRN_EIO;
}

static int add_node(struct cairn__bucket *b, const char *id, size_t len, struct cairn_err *err)
{
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 8;
        struct bnode *nv = realloc(b->nodes, nc * sizeof *nv);
        if (!nv)
            return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        b->nodes = nv;
        b->cap = nc;
    }
    struct bnode *n = &b->nodes[b->n];
    memset(n, 0, sizeof *n);
    memcpy(n->id, id, len);
    char pfx[CAIRN_RING_ID_MAX + 16], path[4400];
    snprintf(pfx, sizeof pfx, "nodes/%s/", n->id);
    snprintf(path, sizeof path, "%s/%s/cache", b->dir, n->id);
    if (!(n->os = cairn_objstore_prefixed_create(b->base, pfx, err)))
        return err->code;
    if (!(n->cache = cairn_cache_create(path, b->cache_max, err))) {
        cairn_objstore_destroy(n->os);
        return err->code ? err->code : CAIRN_EIO;
    }
    b->n++;
    return open_node(b, n, err);
}

/* Is id[0..len) usable as a directory name ([A-Za-z0-9._-], not "." or "..")? */
int cairn__bucket_id_ok(const char *id, size_t len)
{
    if (!len || len > CAIRN_RING_ID_MAX || (id[0] == '.' && (len == 1 || (len == 2 && id[1] == '.'))))
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
              (id[i] >= '0' && id[i] <= '9') || id[i] == '.' || id[i] == '_' || id[i] == '-'))
            return 0;
    return 1;
}

/* Does the sorted listing l hold a key starting with prefix? */
static int listed(const struct cairn_objstore_list *l, const char *prefix)
{
    size_t lo = 0, hi = l->n, n = strlen(prefix);
    while (lo < hi) { /* the first key >= prefix */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(l->v[mid].key, prefix) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < l->n && strncmp(l->v[lo].key, prefix, n) == 0;
}

/* Remove from node n's (closed) store directory the periods whose manifests are gone
 * from the bucket (retention deleted them): the store would otherwise still list them
 * and fail every query over their range. */
static void drop_deleted(struct cairn__bucket *b, const struct bnode *n,
                         const struct cairn_objstore_list *l)
{
    char tdir[4400];
    snprintf(tdir, sizeof tdir, "%s/%s/data/tenants", b->dir, n->id);
    DIR *td = opendir(tdir);
    for (struct dirent *t; td && (t = readdir(td));) {
        if (t->d_name[0] == '.')
            continue;
        char pdir[4700];
        snprintf(pdir, sizeof pdir, "%s/%s", tdir, t->d_name);
        DIR *pd = opendir(pdir);
        for (struct dirent *e; pd && (e = readdir(pd));) {
            char path[5000], key[1024];
            struct stat st;
            snprintf(path, sizeof path, "%s/%s/remote.manifest", pdir, e->d_name);
            if (e->d_name[0] == '.' || stat(path, &st) != 0)
                continue;
            snprintf(key, sizeof key, "nodes/%s/%s/%s/manifest-", n->id, t->d_name, e->d_name);
            if (listed(l, key))
                continue;
            snprintf(path, sizeof path, "%s/%s", pdir, e->d_name);
            CAIRN_INFO("bucket", "period gone from the bucket", "node=%s tenant=%s period=%s",
                       n->id, t->d_name, e->d_name);
            cairn_fs_rm_rf(path);
        }
        if (pd)
            closedir(pd);
    }
    if (td)
        closedir(td);
}

/* List the bucket's node prefixes, open the new ones and reopen the others (their new
 * periods). Called with rmu held. 0, or the listing's error (the old view stays). */
static int refresh(struct cairn__bucket *b)
{
    struct cairn_objstore_list l = {0};
    struct cairn_err err = {0};
    int rc = cairn_objstore_list(b->base, "nodes/", &l);
    pthread_rwlock_wrlock(&b->lk);
    for (size_t i = 0; i < b->n && !rc; i++) { /* reopen: finds newer manifests */
        cairn_store_close(b->nodes[i].st);
        b->nodes[i].st = NULL;
        drop_deleted(b, &b->nodes[i], &l);
        if (open_node(b, &b->nodes[i], &err))
            CAIRN_ERROR("bucket", "cannot reopen a write node's bucket store", "node=%s err=\"%s\"",
                        b->nodes[i].id, err.msg);
    }
    for (size_t i = 0; i < l.n && !rc; i++) {
        const char *id = l.v[i].key + 6, *e = strchr(id, '/');
        size_t len = e ? (size_t)(e - id) : 0;
        if (!cairn__bucket_id_ok(id, len))
            continue; /* not a write node's prefix: the id names a local directory */
        size_t k = 0;
        while (k < b->n && !(strlen(b->nodes[k].id) == len && !memcmp(b->nodes[k].id, id, len)))
            k++;
        if (k < b->n)
            continue;
        if (add_node(b, id, len, &err) == CAIRN_ENOMEM)
            rc = CAIRN_ENOMEM;
        else if (err.code)
            CAIRN_ERROR("bucket", "cannot open a write node's bucket store", "node=%.*s err=\"%s\"",
                        (int)len, id, err.msg);
        else
            CAIRN_INFO("bucket", "write node found in the bucket", "node=%.*s", (int)len, id);
        err = (struct cairn_err){0};
    }
    b->last = cairn_mono_ns();
    pthread_rwlock_unlock(&b->lk);
    cairn_objstore_list_deinit(&l);
    if (rc)
        CAIRN_ERROR("bucket", "cannot list the bucket: the read node's view stays as it was",
                    "store=\"%s\" err=\"%s\"", cairn_objstore_where(b->base), cairn_strerror(rc));
    return rc;
}

/* The backend's loop: list the bucket every CAIRN_BUCKET_BACKEND_REFRESH_NS, so the
 * stores (whose own maintenance threads apply retention) see every period. */
static void *backend_thread(void *arg)
{
    struct cairn__bucket *b = arg;
    pthread_mutex_lock(&b->rmu);
    while (!b->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + CAIRN_BUCKET_BACKEND_REFRESH_NS;
        ts.tv_sec += ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&b->cv, &b->rmu, &ts);
        if (!b->stop && cairn_mono_ns() - b->last >= CAIRN_BUCKET_BACKEND_REFRESH_NS)
            refresh(b);
    }
    pthread_mutex_unlock(&b->rmu);
    return NULL;
}

struct cairn__bucket *cairn__bucket_open(const struct cairn_serve_config *sc,
                                         struct cairn_objstore *base, int backend,
                                         struct cairn_err *err)
{
    struct cairn__bucket *b = calloc(1, sizeof *b);
    if (!b) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    b->base = base;
    b->cfg = sc->store;
    b->backend = backend;
    if (!backend) { /* the backend role deletes from the bucket, not read nodes */
        b->cfg.retention_ns = 0;
        b->cfg.tenant_retention = NULL;
        b->cfg.n_tenant_retention = 0;
    }
    b->cache_max = sc->objstore.cache.max_size;
    snprintf(b->dir, sizeof b->dir, "%s/bucket", sc->store.data_dir);
    pthread_rwlock_init(&b->lk, NULL);
    pthread_mutex_init(&b->rmu, NULL);
    pthread_cond_init(&b->cv, NULL);
    if (cairn_fs_mkdir_p(b->dir)) {
        cairn_err_set(err, CAIRN_EIO, "cannot create %s", b->dir);
        cairn__bucket_close(b);
        return NULL;
    }
    pthread_mutex_lock(&b->rmu);
    int rc = refresh(b);
    pthread_mutex_unlock(&b->rmu);
    if (rc == CAIRN_ENOMEM) {
        cairn_err_set(err, rc, "out of memory");
        cairn__bucket_close(b);
        return NULL;
    }
    if (backend) {
        if (pthread_create(&b->thr, NULL, backend_thread, b)) {
            cairn_err_set(err, CAIRN_ENOMEM, "cannot start the bucket thread");
            cairn__bucket_close(b);
            return NULL;
        }
        b->started = 1;
    }
    return b;
}

void cairn__bucket_close(struct cairn__bucket *b)
{
    if (!b)
        return;
    if (b->started) {
        pthread_mutex_lock(&b->rmu);
        b->stop = 1;
        pthread_cond_signal(&b->cv);
        pthread_mutex_unlock(&b->rmu);
        pthread_join(b->thr, NULL);
    }
    for (size_t i = 0; i < b->n; i++) {
        cairn_store_close(b->nodes[i].st);
        cairn_cache_destroy(b->nodes[i].cache);
        cairn_objstore_destroy(b->nodes[i].os);
    }
    free(b->nodes);
    pthread_rwlock_destroy(&b->lk);
    pthread_mutex_destroy(&b->rmu);
    pthread_cond_destroy(&b->cv);
    free(b);
}

int cairn__bucket_read(void *ctx, const char *tenant, const char *sel, int64_t start,
                       int64_t end, int series_only, size_t max_bytes, struct cairn_push_body *body)
{
    struct cairn__bucket *b = ctx;
    if (cairn_mono_ns() - b->last >= CAIRN_BUCKET_REFRESH_NS && pthread_mutex_trylock(&b->rmu) == 0) {
        if (cairn_mono_ns() - b->last >= CAIRN_BUCKET_REFRESH_NS)
            refresh(b);
        pthread_mutex_unlock(&b->rmu);
    }
    pthread_rwlock_rdlock(&b->lk);
    int rc = 0;
    for (size_t i = 0; i < b->n && rc == 0; i++) {
        if (!b->nodes[i].st) { /* its periods are unreadable: the answer would lack them */
            rc = CAIRN_EREMOTE;
            break;
        }
        rc = cairn_api_read_store(b->nodes[i].st, tenant, sel, start, end, series_only, max_bytes,
                                  body);
    }
    pthread_rwlock_unlock(&b->lk);
    return rc;
}
