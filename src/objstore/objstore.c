/* objstore.c -- the object storage handle: dispatch to a backend's callbacks, with
 * request counters and a latency histogram for /metrics. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cairn/fs.h"
#include "cairn/log.h"
#include "objstore/objstore_int.h"

struct cairn_objstore *cairn__objstore_wrap(const struct cairn_objstore_ops *ops, void *be,
                                            const char *where)
{
    struct cairn_objstore *os = calloc(1, sizeof *os);
    if (!os) {
        ops->destroy(be);
        return NULL;
    }
    os->ops = ops;
    os->be = be;
    snprintf(os->where, sizeof os->where, "%s %s", ops->name, where);
    return os;
}

void cairn_objstore_destroy(struct cairn_objstore *os)
{
    if (!os)
        return;
    os->ops->destroy(os->be);
    free(os);
}

const char *cairn_objstore_name(const struct cairn_objstore *os)
{
    return os->ops->name;
}

const char *cairn_objstore_where(const struct cairn_objstore *os)
{
    return os->where;
}

const struct cairn_objstore_stats *cairn_objstore_stats(const struct cairn_objstore *os)
{
    return &os->stats;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const int64_t bounds_us[6] = {10000, 50000, 100000, 500000, 1000000, 5000000};

static int done(struct cairn_objstore *os, int64_t t0, int rc, int miss_ok)
{
    int64_t us = now_us() - t0;
    atomic_fetch_add(&os->stats.requests, 1);
    atomic_fetch_add(&os->stats.latency_us_sum, (uint64_t)us);
    for (int i = 0; i < 6; i++)
        if (us <= bounds_us[i])
            atomic_fetch_add(&os->stats.latency_le[i], 1);
    if (rc && !(miss_ok && (rc == CAIRN_ENOTFOUND || rc == CAIRN_EEXIST)))
        atomic_fetch_add(&os->stats.errors, 1);
    return rc;
}

#define CHECK_KEY(k)                                                                       \
    do {                                                                                   \
        if (!cairn__objstore_key_ok(k))                                                    \
            return CAIRN_EINVAL;                                                           \
    } while (0)

int cairn_objstore_put(struct cairn_objstore *os, const char *key, const void *p, size_t n)
{
    CHECK_KEY(key);
    int64_t t0 = now_us();
    int rc = os->ops->put(os->be, key, p, n);
    if (!rc)
        atomic_fetch_add(&os->stats.bytes_out, n);
    return done(os, t0, rc, 0);
}

int cairn_objstore_put_file(struct cairn_objstore *os, const char *key, const char *path,
                            uint64_t *size)
{
    CHECK_KEY(key);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? CAIRN_ENOTFOUND : CAIRN_EIO;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return CAIRN_EIO;
    }
    *size = (uint64_t)st.st_size;
    int64_t t0 = now_us();
    int rc;
    if (os->ops->put_file) {
        rc = os->ops->put_file(os->be, key, fd, *size);
    } else {
        struct cairn_buf b = CAIRN_BUF_INIT;
        rc = cairn_fs_read_file(path, &b);
        if (!rc && b.len != *size)
            rc = CAIRN_EAGAIN; /* written meanwhile */
        if (!rc)
            rc = os->ops->put(os->be, key, b.data ? b.data : "", b.len);
        cairn_buf_deinit(&b);
    }
    close(fd);
    if (!rc)
        atomic_fetch_add(&os->stats.bytes_out, *size);
    return done(os, t0, rc, 0);
}

int cairn_objstore_put_if_absent(struct cairn_objstore *os, const char *key, const void *p,
                                 size_t n)
{
    CHECK_KEY(key);
    int64_t t0 = now_us();
    int rc = os->ops->put_if_absent(os->be, key, p, n);
    if (!rc)
        atomic_fetch_add(&os->stats.bytes_out, n);
    return done(os, t0, rc, 1);
}

int cairn_objstore_get_range(struct cairn_objstore *os, const char *key, uint64_t off,
                             uint64_t len, struct cairn_buf *out)
{
    CHECK_KEY(key);
    int64_t t0 = now_us();
    size_t before = out->len;
    int rc = len ? os->ops->get_range(os->be, key, off, len, out) : 0;
    if (!rc)
        atomic_fetch_add(&os->stats.bytes_in, out->len - before);
    return done(os, t0, rc, 0);
}

int cairn_objstore_get(struct cairn_objstore *os, const char *key, struct cairn_buf *out)
{
    CHECK_KEY(key);
    int64_t t0 = now_us();
    size_t before = out->len;
    int rc = os->ops->get(os->be, key, out);
    if (!rc)
        atomic_fetch_add(&os->stats.bytes_in, out->len - before);
    return done(os, t0, rc, 1);
}

int cairn_objstore_head(struct cairn_objstore *os, const char *key, uint64_t *size)
{
    CHECK_KEY(key);
    int64_t t0 = now_us();
    return done(os, t0, os->ops->head(os->be, key, size), 1);
}

int cairn_objstore_del(struct cairn_objstore *os, const char *key)
{
    CHECK_KEY(key);
    int64_t t0 = now_us();
    return done(os, t0, os->ops->del(os->be, key), 0);
}

int cairn_objstore_list(struct cairn_objstore *os, const char *prefix,
                        struct cairn_objstore_list *out)
{
    int64_t t0 = now_us();
    int rc = os->ops->list(os->be, prefix, out);
    if (!rc)
        cairn__objstore_list_sort(out);
    return done(os, t0, rc, 0);
}

/* ---- lists and keys ---- */

int cairn__objstore_list_add(struct cairn_objstore_list *l, const char *key, size_t klen,
                             uint64_t size)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        struct cairn_objstore_item *nv = realloc(l->v, nc * sizeof *nv);
        if (!nv)
            return CAIRN_ENOMEM;
        l->v = nv;
        l->cap = nc;
    }
    char *k = strndup(key, klen);
    if (!k)
        return CAIRN_ENOMEM;
    l->v[l->n++] = (struct cairn_objstore_item){k, size};
    return 0;
}

static int cmp_item(const void *a, const void *b)
{
    return strcmp(((const struct cairn_objstore_item *)a)->key,
                  ((const struct cairn_objstore_item *)b)->key);
}

void cairn__objstore_list_sort(struct cairn_objstore_list *l)
{
    if (l->n > 1)
        qsort(l->v, l->n, sizeof *l->v, cmp_item);
}

void cairn_objstore_list_deinit(struct cairn_objstore_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].key);
    free(l->v);
    memset(l, 0, sizeof *l);
}

int cairn__objstore_key_ok(const char *key)
{
    if (!key || !*key || *key == '/')
        return 0;
    for (const char *p = key; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return 0;
    for (const char *p = key; (p = strstr(p, "..")); p += 2)
        if ((p == key || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))
            return 0;
    return 1;
}
