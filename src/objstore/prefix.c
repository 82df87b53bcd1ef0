/* prefix.c -- a view of another object store under a key prefix: every key is
 * "<prefix><key>" in the base store, and lists strip the prefix again. Used so that
 * several write nodes share one bucket without their objects colliding
 * (nodes/<instance id>/..., docs/SCALING.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "objstore/objstore_int.h"

struct pfx {
    struct cairn_objstore *base; /* borrowed */
    char prefix[256];
    size_t plen;
};

/* key with the prefix in front into out (cap bytes); 0 or CAIRN_EINVAL (too long). */
static int full(const struct pfx *p, const char *key, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s%s", p->prefix, key);
    return n < 0 || (size_t)n >= cap ? CAIRN_EINVAL : 0;
}

#define KEY(p, key, k)                                                                     \
    char k[1024];                                                                          \
    if (full(p, key, k, sizeof k))                                                         \
        return CAIRN_EINVAL

static int p_put(void *be, const char *key, const void *d, size_t n)
{
    KEY(be, key, k);
    return cairn_objstore_put(((struct pfx *)be)->base, k, d, n);
}

static int p_put_if_absent(void *be, const char *key, const void *d, size_t n)
{
    KEY(be, key, k);
    return cairn_objstore_put_if_absent(((struct pfx *)be)->base, k, d, n);
}

static int p_get_range(void *be, const char *key, uint64_t off, uint64_t len, struct cairn_buf *out)
{
    KEY(be, key, k);
    return cairn_objstore_get_range(((struct pfx *)be)->base, k, off, len, out);
}

static int p_get(void *be, const char *key, struct cairn_buf *out)
{
    KEY(be, key, k);
    return cairn_objstore_get(((struct pfx *)be)->base, k, out);
}

static int p_head(void *be, const char *key, uint64_t *size)
{
    KEY(be, key, k);
    return cairn_objstore_head(((struct pfx *)be)->base, k, size);
}

static int p_del(void *be, const char *key)
{
    KEY(be, key, k);
    return cairn_objstore_del(((struct pfx *)be)->base, k);
}

static int p_list(void *be, const char *prefix, struct cairn_objstore_list *out)
{
    struct pfx *p = be;
    KEY(p, prefix ? prefix : "", k);
    struct cairn_objstore_list l = {0};
    int rc = cairn_objstore_list(p->base, k, &l);
    for (size_t i = 0; !rc && i < l.n; i++)
        if (!strncmp(l.v[i].key, p->prefix, p->plen))
            rc = cairn__objstore_list_add(out, l.v[i].key + p->plen, strlen(l.v[i].key + p->plen),
                                          l.v[i].size);
    cairn_objstore_list_deinit(&l);
    return rc;
}

/* streamed when the base streams (the handle's counters are the prefixed view's) */
static int p_put_file(void *be, const char *key, int fd, uint64_t size)
{
    struct pfx *p = be;
    KEY(p, key, k);
    if (p->base->ops->put_file)
        return p->base->ops->put_file(p->base->be, k, fd, size);
    struct cairn_buf b = CAIRN_BUF_INIT;
    int rc = cairn_buf_reserve(&b, size ? size : 1) ? CAIRN_ENOMEM : 0;
    while (!rc && b.len < size) {
        ssize_t r = pread(fd, b.data + b.len, size - b.len, (off_t)b.len);
        if (r <= 0)
            rc = r == 0 ? CAIRN_EAGAIN : CAIRN_EIO;
        else
            b.len += (size_t)r;
    }
    if (!rc)
        rc = p->base->ops->put(p->base->be, k, b.data ? b.data : "", b.len);
    cairn_buf_deinit(&b);
    return rc;
}

static void p_destroy(void *be)
{
    free(be);
}

static const struct cairn_objstore_ops prefix_ops = {
    .name = "prefix",
    .put = p_put,
    .put_if_absent = p_put_if_absent,
    .get_range = p_get_range,
    .get = p_get,
    .head = p_head,
    .del = p_del,
    .list = p_list,
    .destroy = p_destroy,
    .put_file = p_put_file,
};

struct cairn_objstore *cairn_objstore_prefixed_create(struct cairn_objstore *base,
                                                      const char *prefix, struct cairn_err *err)
{
    size_t n = strlen(prefix);
    if (!n || n >= sizeof ((struct pfx *)0)->prefix || prefix[n - 1] != '/' ||
        !cairn__objstore_key_ok(prefix)) {
        cairn_err_set(err, CAIRN_EINVAL, "object store prefix \"%s\": not a key prefix ending in /",
                      prefix);
        return NULL;
    }
    struct pfx *p = calloc(1, sizeof *p);
    if (!p) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    p->base = base;
    memcpy(p->prefix, prefix, n + 1);
    p->plen = n;
    char where[300];
    snprintf(where, sizeof where, "%s%s", cairn_objstore_where(base), prefix);
    struct cairn_objstore *os = cairn__objstore_wrap(&prefix_ops, p, where);
    if (!os)
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    return os;
}
