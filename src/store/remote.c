/* remote.c -- the store's side of object storage: upload closed periods, read their
 * blocks back through the cache, find them again on an empty disk, delete them with
 * retention.
 *
 * Layout in the bucket, per tenant and period ("<tenant>/<period start ns>/"):
 *   seg-NNNNNN.cseg     one object per segment file, byte for byte
 *   index-SSSSSSSS.cidx the period's index file as of manifest S
 *   manifest-SSSSSSSS   what the period is: its segment files with their sizes and
 *                       its index object. Written create-only (If-None-Match: *), a
 *                       new number for every change, so two writers never overwrite
 *                       one another's and a reader takes the highest.
 * Upload (one background thread): a period whose index file is written (closed) and
 * that still has local segment files is uploaded file by file (PUT, then HEAD: the
 * size must match), then its index, then a new manifest; only then, and only if the
 * period did not change meanwhile, are the local segment files deleted and marked
 * remote. The manifest is also kept in the period directory (remote.manifest), so a
 * restart knows which files are remote without asking the bucket. Failures back off
 * (1 s doubling to 30 s); local files stay until confirmed, so nothing is lost while
 * the object store is down and ingest (WAL, head, local segment files) goes on. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cairn/limits.h"
#include "cairn/log.h"
#include "store/store_int.h"

struct cairn__remote {
    struct cairn_store *s;
    struct cairn_objstore *os;
    struct cairn_cache *cache;
    pthread_t thr;
    int started, stop, kicked;
    pthread_mutex_t mu; /* below, and the condition */
    pthread_cond_t cv;
    char **forget;      /* object key prefixes of periods retention removed */
    size_t n_forget, cap_forget;
    struct {
        atomic_uint_least64_t uploads, upload_bytes, upload_failures, queue, periods_deleted;
    } st;
};

static const char manifest_magic[] = "cairn-manifest 1\n";

/* ---- manifests ---- */

struct manifest {
    uint32_t seq;
    uint32_t n;
    uint64_t *sizes;
    char index[64];
    uint64_t index_size;
};

/* Parse a manifest's text; 0, CAIRN_ECORRUPT or CAIRN_ENOMEM. */
static int manifest_parse(const char *p, size_t len, struct manifest *m)
{
    memset(m, 0, sizeof *m);
    if (len < sizeof manifest_magic - 1 || memcmp(p, manifest_magic, sizeof manifest_magic - 1))
        return CAIRN_ECORRUPT;
    const char *e = p + len;
    p += sizeof manifest_magic - 1;
    uint32_t cap = 0;
    while (p < e) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        if (!nl)
            break;
        char line[256];
        size_t ll = (size_t)(nl - p) < sizeof line - 1 ? (size_t)(nl - p) : sizeof line - 1;
        memcpy(line, p, ll);
        line[ll] = '\0';
        p = nl + 1;
        unsigned no;
        unsigned long long size;
        char name[64];
        if (sscanf(line, "seq %u", &no) == 1) {
            m->seq = no;
        } else if (sscanf(line, "index %63s %llu", name, &size) == 2) {
            snprintf(m->index, sizeof m->index, "%s", name);
            m->index_size = size;
        } else if (sscanf(line, "seg %u %llu", &no, &size) == 2) {
            if (no != m->n || no >= 1000000)
                goto bad; /* files in order, from 0 */
            if (m->n == cap) {
                cap = cap ? cap * 2 : 16;
                uint64_t *nv = realloc(m->sizes, cap * sizeof *nv);
                if (!nv) {
                    free(m->sizes);
                    return CAIRN_ENOMEM;
                }
                m->sizes = nv;
            }
            m->sizes[m->n++] = size;
        } else if (line[0]) {
            goto bad;
        }
    }
    if (!m->seq || !m->index[0])
        goto bad;
    return 0;
bad:
    free(m->sizes);
    m->sizes = NULL;
    return CAIRN_ECORRUPT;
}

int cairn__remote_manifest_read(struct cairn__period *p, uint32_t *n_files, uint64_t **sizes)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/remote.manifest", p->dir);
    struct cairn_buf b = CAIRN_BUF_INIT;
    int rc = cairn__read_file(path, &b);
    struct manifest m;
    if (!rc)
        rc = manifest_parse(b.data, b.len, &m);
    cairn_buf_deinit(&b);
    if (rc == CAIRN_ECORRUPT)
        CAIRN_ERROR("remote", "remote.manifest does not parse; its files are not used",
                    "file=\"%s\"", path);
    if (rc)
        return rc == CAIRN_EIO ? CAIRN_ENOTFOUND : rc;
    p->man_seq = m.seq;
    *n_files = m.n;
    *sizes = m.sizes;
    return 0;
}

/* Write p[0..n) to path through a temporary file and rename. */
static int write_local(const char *path, const void *p, size_t n)
{
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        CAIRN_ERROR("remote", "create failed", "file=\"%s\" errno=%d", tmp, errno);
        return CAIRN_EIO;
    }
    int rc = cairn__write_all(fd, p, n, tmp);
    if (!rc && fdatasync(fd) < 0)
        rc = CAIRN_EIO;
    close(fd);
    if (!rc && rename(tmp, path) < 0)
        rc = CAIRN_EIO;
    if (rc)
        unlink(tmp);
    return rc;
}

/* ---- start: find the periods the bucket holds ---- */

/* Fetch manifest `key` of a period and its index into the period directory (what
 * load_tenants reads), unless the directory already has that manifest or a newer one. */
static int fetch_period(struct cairn__remote *r, const char *tenant, const char *start,
                        const char *key, uint32_t seq)
{
    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s/%s/%s", r->s->tenants_dir, tenant, start);
    snprintf(path, sizeof path, "%s/remote.manifest", dir);
    struct cairn_buf b = CAIRN_BUF_INIT;
    struct manifest m = {0};
    int rc = 0;
    if (cairn__read_file(path, &b) == 0 && manifest_parse(b.data, b.len, &m) == 0 && m.seq >= seq)
        goto out; /* known already */
    free(m.sizes);
    m.sizes = NULL;
    cairn_buf_reset(&b);
    if ((rc = cairn_objstore_get(r->os, key, &b)) || (rc = manifest_parse(b.data, b.len, &m)))
        goto out;
    if ((rc = cairn__mkdir_p(dir)))
        goto out;
    /* the index first: a manifest without its index would make the period rescan */
    struct cairn_buf ib = CAIRN_BUF_INIT;
    char ikey[600];
    snprintf(ikey, sizeof ikey, "%s/%s/%s", tenant, start, m.index);
    rc = cairn_objstore_get(r->os, ikey, &ib);
    if (!rc) {
        snprintf(path, sizeof path, "%s/index.cidx", dir);
        rc = write_local(path, ib.data, ib.len);
    }
    cairn_buf_deinit(&ib);
    if (!rc) {
        snprintf(path, sizeof path, "%s/remote.manifest", dir);
        rc = write_local(path, b.data, b.len);
    }
    if (!rc)
        CAIRN_INFO("remote", "period found in the object store", "tenant=%s period=%s files=%u "
                   "manifest=%u", tenant, start, m.n, m.seq);
out:
    free(m.sizes);
    cairn_buf_deinit(&b);
    return rc;
}

static int discover(struct cairn__remote *r)
{
    struct cairn_objstore_list l = {0};
    int rc = cairn_objstore_list(r->os, "", &l);
    for (size_t i = 0; !rc && i < l.n; i++) {
        /* <tenant>/<start>/manifest-<seq>; the list is sorted, so the last manifest of a
         * period (fixed-width numbers) is its newest */
        char tenant[CAIRN__TENANT_MAX + 1], start[32];
        unsigned seq;
        const char *k = l.v[i].key, *a = strchr(k, '/'), *b = a ? strchr(a + 1, '/') : NULL;
        if (!a || !b || (size_t)(a - k) > CAIRN__TENANT_MAX || (size_t)(b - a - 1) >= sizeof start ||
            sscanf(b + 1, "manifest-%8u", &seq) != 1)
            continue;
        if (i + 1 < l.n && !strncmp(l.v[i + 1].key, k, (size_t)(b - k) + 10))
            continue; /* a newer manifest of the same period follows */
        memcpy(tenant, k, (size_t)(a - k));
        tenant[a - k] = '\0';
        memcpy(start, a + 1, (size_t)(b - a - 1));
        start[b - a - 1] = '\0';
        if (!cairn__tenant_name_valid(tenant))
            continue;
        rc = fetch_period(r, tenant, start, k, seq);
    }
    cairn_objstore_list_deinit(&l);
    return rc;
}

int cairn__remote_open(struct cairn_store *s, struct cairn_err *err)
{
    if (!s->cfg.objstore)
        return 0;
    struct cairn__remote *r = calloc(1, sizeof *r);
    if (!r)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    r->s = s;
    r->os = s->cfg.objstore;
    r->cache = s->cfg.cache;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    s->remote = r;
    int rc = discover(r);
    if (rc == CAIRN_ENOMEM)
        return cairn_err_set(err, rc, "out of memory");
    if (rc) /* what is on local disk still opens; the periods only in the bucket do not */
        CAIRN_ERROR("remote", "cannot list the object store at start: periods only there are "
                    "not visible until a restart", "store=\"%s\" err=\"%s\"",
                    cairn_objstore_where(r->os), cairn_strerror(rc));
    return 0;
}

/* ---- reads ---- */

int cairn__remote_read(struct cairn__period *p, uint32_t file, uint64_t off, uint32_t len,
                       char *dst)
{
    struct cairn__remote *r = p->rem;
    if (!r)
        return CAIRN_EIO;
    char key[600], ckey[700];
    snprintf(key, sizeof key, "%sseg-%06u.cseg", p->okey, file);
    snprintf(ckey, sizeof ckey, "%s@%" PRIu64 "+%u", key, off, len);
    struct cairn_buf b = CAIRN_BUF_INIT;
    int rc = r->cache ? cairn_cache_get(r->cache, ckey, &b) : CAIRN_ENOTFOUND;
    if (!rc && b.len != len)
        rc = CAIRN_ENOTFOUND;
    if (rc) {
        cairn_buf_reset(&b);
        rc = cairn_objstore_get_range(r->os, key, off, len, &b);
        if (rc) {
            CAIRN_ERROR("remote", "object store read failed", "store=\"%s\" key=\"%s\" offset=%"
                        PRIu64 " len=%u err=\"%s\"", cairn_objstore_where(r->os), key, off, len,
                        cairn_strerror(rc));
            cairn_buf_deinit(&b);
            /* not ETIMEDOUT: that is the query's own deadline */
            return rc == CAIRN_ENOMEM ? rc : CAIRN_EREMOTE;
        }
        if (r->cache)
            cairn_cache_put(r->cache, ckey, b.data, b.len);
    }
    memcpy(dst, b.data, len);
    cairn_buf_deinit(&b);
    return 0;
}

/* ---- upload ---- */

/* Upload one period if it is closed and has local segment files. 1: uploaded and
 * local files released, 0: nothing to do, negative: failed (retry later). */
static int upload_period(struct cairn__remote *r, struct cairn__period *p)
{
    pthread_mutex_lock(&p->mu);
    uint32_t n = p->n_files, seq = p->man_seq;
    int todo = 0;
    for (uint32_t i = 0; i < n; i++)
        todo |= !p->files[i].remote;
    uint64_t *sizes = todo && p->closed ? calloc(n, sizeof *sizes) : NULL;
    char *local = sizes ? calloc(n, 1) : NULL;
    uint64_t gen = p->index_gen;
    for (uint32_t i = 0; local && i < n; i++) {
        sizes[i] = p->files[i].size;
        local[i] = !p->files[i].remote;
    }
    int closed = p->closed;
    pthread_mutex_unlock(&p->mu);
    if (!todo || !closed) {
        free(sizes);
        free(local);
        return 0;
    }
    if (!local) {
        free(sizes);
        return CAIRN_ENOMEM;
    }
    struct cairn_buf b = CAIRN_BUF_INIT, man = CAIRN_BUF_INIT;
    char path[4200], key[600];
    int rc = 0;
    for (uint32_t i = 0; !rc && i < n; i++) {
        if (!local[i])
            continue;
        snprintf(path, sizeof path, "%s/seg-%06u.cseg", p->dir, i);
        snprintf(key, sizeof key, "%sseg-%06u.cseg", p->okey, i);
        uint64_t sent = 0, got = 0;
        /* streamed from the file: a segment file may be up to 1 GiB */
        if ((rc = cairn_objstore_put_file(r->os, key, path, &sent)))
            break;
        if (sent != sizes[i]) { /* written meanwhile: the next round sees it closed again */
            rc = CAIRN_EAGAIN;
            break;
        }
        if ((rc = cairn_objstore_head(r->os, key, &got)))
            break;
        if (got != sent) {
            CAIRN_ERROR("remote", "uploaded object has the wrong size", "key=\"%s\" sent=%"
                        PRIu64 " stored=%" PRIu64, key, sent, got);
            rc = CAIRN_EIO;
            break;
        }
        atomic_fetch_add(&r->st.upload_bytes, sent);
        atomic_fetch_add(&r->st.uploads, 1);
    }
    /* the index, then a manifest naming it, create-only under the next free number */
    snprintf(path, sizeof path, "%s/index.cidx", p->dir);
    cairn_buf_reset(&b);
    if (!rc && (rc = cairn__read_file(path, &b)) == CAIRN_ENOTFOUND)
        rc = CAIRN_EAGAIN; /* a late write removed it: the period is open again */
    for (int tries = 0; !rc && tries < 64; tries++) {
        seq++;
        char iname[64];
        snprintf(iname, sizeof iname, "index-%08u.cidx", seq);
        snprintf(key, sizeof key, "%s%s", p->okey, iname);
        if ((rc = cairn_objstore_put(r->os, key, b.data, b.len)))
            break;
        cairn_buf_reset(&man);
        if (cairn_buf_appendf(&man, "%sseq %u\nindex %s %zu\n", manifest_magic, seq, iname, b.len))
            rc = CAIRN_ENOMEM;
        for (uint32_t i = 0; !rc && i < n; i++)
            if (cairn_buf_appendf(&man, "seg %u %" PRIu64 "\n", i, sizes[i]))
                rc = CAIRN_ENOMEM;
        snprintf(key, sizeof key, "%smanifest-%08u", p->okey, seq);
        if (!rc && (rc = cairn_objstore_put_if_absent(r->os, key, man.data, man.len)) == CAIRN_EEXIST)
            rc = 0; /* another writer took this number: the next one */
        else
            break;
    }
    if (!rc) {
        /* confirmed: release the local files if the period is as uploaded */
        pthread_mutex_lock(&p->mu);
        int same = p->closed && p->n_files == n && p->index_gen == gen;
        for (uint32_t i = 0; same && i < n; i++)
            same = p->files[i].size == sizes[i];
        if (same) {
            snprintf(path, sizeof path, "%s/remote.manifest", p->dir);
            rc = write_local(path, man.data, man.len);
        }
        if (same && !rc) {
            p->man_seq = seq;
            p->up_gen = gen;
            for (uint32_t i = 0; i < n; i++) {
                if (!local[i])
                    continue;
                if (p->files[i].fd >= 0)
                    close(p->files[i].fd);
                p->files[i].fd = -1;
                p->files[i].remote = 1;
                snprintf(path, sizeof path, "%s/seg-%06u.cseg", p->dir, i);
                if (unlink(path) < 0)
                    CAIRN_WARN("remote", "unlink failed", "file=\"%s\" errno=%d", path, errno);
            }
            cairn__fsync_dir(p->dir);
        }
        pthread_mutex_unlock(&p->mu);
        if (same && !rc)
            CAIRN_INFO("remote", "period uploaded", "dir=\"%s\" files=%u manifest=%u", p->dir, n,
                       seq);
        rc = rc ? rc : same ? 1 : CAIRN_EAGAIN;
    }
    cairn_buf_deinit(&b);
    cairn_buf_deinit(&man);
    free(sizes);
    free(local);
    return rc;
}

static int forget_pending(struct cairn__remote *r)
{
    int failed = 0;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        char *okey = r->n_forget ? r->forget[r->n_forget - 1] : NULL;
        pthread_mutex_unlock(&r->mu);
        if (!okey)
            return failed;
        struct cairn_objstore_list l = {0};
        int rc = cairn_objstore_list(r->os, okey, &l);
        for (size_t i = 0; !rc && i < l.n; i++)
            rc = cairn_objstore_del(r->os, l.v[i].key);
        cairn_objstore_list_deinit(&l);
        if (rc) {
            CAIRN_WARN("retention", "deleting a period's objects failed; will retry",
                       "prefix=\"%s\" err=\"%s\"", okey, cairn_strerror(rc));
            return 1;
        }
        CAIRN_INFO("retention", "period objects deleted", "prefix=\"%s\"", okey);
        atomic_fetch_add(&r->st.periods_deleted, 1);
        pthread_mutex_lock(&r->mu);
        r->n_forget--;
        pthread_mutex_unlock(&r->mu);
        free(okey);
    }
}

void cairn__remote_forget(struct cairn__remote *r, const char *okey)
{
    char *k = strdup(okey);
    pthread_mutex_lock(&r->mu);
    if (k && r->n_forget == r->cap_forget) {
        size_t nc = r->cap_forget ? r->cap_forget * 2 : 8;
        char **nv = realloc(r->forget, nc * sizeof *nv);
        if (nv) {
            r->forget = nv;
            r->cap_forget = nc;
        }
    }
    if (k && r->n_forget < r->cap_forget) {
        r->forget[r->n_forget++] = k;
        k = NULL;
        r->kicked = 1;
        pthread_cond_signal(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    if (k || !okey) {
        CAIRN_ERROR("retention", "out of memory: a period's objects stay in the bucket",
                    "prefix=\"%s\"", okey);
        free(k);
    }
}

/* One round over every period: upload what is due. Returns nonzero if anything failed. */
static int upload_round(struct cairn__remote *r)
{
    struct cairn_store *s = r->s;
    struct cairn__tenant *t;
    int failed = 0;
    uint64_t pending = 0;
    for (size_t i = 0; (t = cairn__tenant_at(s, i)); i++) {
        size_t n = 0;
        struct cairn__period **v = cairn__periods_in(t, INT64_MIN, INT64_MAX, &n);
        for (size_t j = 0; v && j < n && !r->stop; j++) {
            int rc = upload_period(r, v[j]);
            if (rc < 0 && rc != CAIRN_EAGAIN) {
                failed = 1;
                pending++;
                atomic_fetch_add(&r->st.upload_failures, 1);
                CAIRN_WARN("remote", "upload failed; local files kept, will retry",
                           "dir=\"%s\" store=\"%s\" err=\"%s\"", v[j]->dir,
                           cairn_objstore_where(r->os), cairn_strerror(rc));
            } else if (rc == CAIRN_EAGAIN) {
                pending++;
            }
        }
        if (v)
            cairn__periods_release(v, n);
    }
    atomic_store(&r->st.queue, pending);
    return failed | forget_pending(r);
}

static void *upload_thread(void *arg)
{
    struct cairn__remote *r = arg;
    int64_t backoff = 0;
    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        r->kicked = 0;
        pthread_mutex_unlock(&r->mu);
        int failed = upload_round(r);
        backoff = !failed ? 0
                  : !backoff ? CAIRN_UPLOAD_BACKOFF_MIN_NS
                  : backoff * 2 > CAIRN_UPLOAD_BACKOFF_MAX_NS ? CAIRN_UPLOAD_BACKOFF_MAX_NS
                                                               : backoff * 2;
        int64_t wait = backoff ? backoff : CAIRN__MAINT_TICK_NS;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + wait;
        ts.tv_sec += ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        pthread_mutex_lock(&r->mu);
        while (!r->stop && (backoff || !r->kicked) &&
               pthread_cond_timedwait(&r->cv, &r->mu, &ts) == 0)
            ;
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

int cairn__remote_start(struct cairn_store *s)
{
    struct cairn__remote *r = s->remote;
    if (!r)
        return 0;
    if (pthread_create(&r->thr, NULL, upload_thread, r) != 0)
        return CAIRN_EIO;
    r->started = 1;
    return 0;
}

void cairn__remote_kick(struct cairn_store *s)
{
    struct cairn__remote *r = s->remote;
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->kicked = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

void cairn__remote_close(struct cairn_store *s)
{
    struct cairn__remote *r = s->remote;
    if (!r)
        return;
    if (r->started) {
        pthread_mutex_lock(&r->mu);
        r->stop = 1;
        pthread_cond_signal(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->thr, NULL);
    }
    for (size_t i = 0; i < r->n_forget; i++) {
        CAIRN_WARN("retention", "period objects not deleted before shutdown", "prefix=\"%s\"",
                   r->forget[i]);
        free(r->forget[i]);
    }
    free(r->forget);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
    s->remote = NULL;
}

void cairn_store_remote_stats(struct cairn_store *s, struct cairn_store_remote_stats *out)
{
    memset(out, 0, sizeof *out);
    struct cairn__remote *r = s->remote;
    if (!r)
        return;
    out->enabled = 1;
    out->uploads = atomic_load(&r->st.uploads);
    out->upload_bytes = atomic_load(&r->st.upload_bytes);
    out->upload_failures = atomic_load(&r->st.upload_failures);
    out->queue = atomic_load(&r->st.queue);
    out->periods_deleted = atomic_load(&r->st.periods_deleted);
}

const struct cairn_objstore_stats *cairn_store_objstore_stats(struct cairn_store *s)
{
    return s->cfg.objstore ? cairn_objstore_stats(s->cfg.objstore) : NULL;
}

const struct cairn_cache_stats *cairn_store_cache_stats(struct cairn_store *s)
{
    return s->cfg.cache ? cairn_cache_stats(s->cfg.cache) : NULL;
}
