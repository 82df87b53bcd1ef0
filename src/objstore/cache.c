/* cache.c -- the block cache: byte ranges of objects kept as files under a directory,
 * bounded in bytes, least recently used out first.
 *
 * An entry is one file named by the 64-bit hash of its key; the file starts with the
 * key itself (u32 length + bytes), so a hash collision reads as a miss, never as the
 * wrong bytes. The in-memory part is a hash table over a doubly linked recency list,
 * under one mutex; file reads and writes happen outside it (a file written under a
 * temporary name and renamed, so a reader never sees half of one). The directory is
 * emptied when the cache is created: entries are copies of immutable objects, so a
 * restart only costs the downloads again. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/fs.h"
#include "cairn/hash.h"
#include "cairn/log.h"
#include "objstore/objstore_int.h"

struct centry {
    uint64_t h;
    uint64_t size;
    struct centry *prev, *next; /* recency: head most recent */
    struct centry *chain;       /* hash bucket */
};

struct cairn_cache {
    char *dir;
    uint64_t max_size, used;
    pthread_mutex_t mu;
    struct centry **tab;
    size_t cap, n;
    struct centry *head, *tail;
    uint64_t tmp_seq;
    struct cairn_cache_stats stats;
};

static void entry_path(const struct cairn_cache *c, uint64_t h, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%016" PRIx64, c->dir, h);
}

static struct centry **slot(struct cairn_cache *c, uint64_t h)
{
    struct centry **e = &c->tab[h & (c->cap - 1)];
    while (*e && (*e)->h != h)
        e = &(*e)->chain;
    return e;
}

static void lru_unlink(struct cairn_cache *c, struct centry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void lru_front(struct cairn_cache *c, struct centry *e)
{
    e->next = c->head;
    e->prev = NULL;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

/* Remove e from the table and the list and delete its file (mu held). */
static void drop(struct cairn_cache *c, struct centry *e)
{
    struct centry **s = slot(c, e->h);
    if (*s == e)
        *s = e->chain;
    lru_unlink(c, e);
    char path[4200];
    entry_path(c, e->h, path, sizeof path);
    unlink(path);
    c->used -= e->size;
    c->n--;
    atomic_store(&c->stats.bytes, c->used);
    atomic_store(&c->stats.entries, c->n);
    free(e);
}

static int grow(struct cairn_cache *c)
{
    size_t nc = c->cap ? c->cap * 2 : 1024;
    struct centry **nt = calloc(nc, sizeof *nt);
    if (!nt)
        return CAIRN_ENOMEM;
    for (size_t i = 0; i < c->cap; i++)
        for (struct centry *e = c->tab[i], *nx; e; e = nx) {
            nx = e->chain;
            e->chain = nt[e->h & (nc - 1)];
            nt[e->h & (nc - 1)] = e;
        }
    free(c->tab);
    c->tab = nt;
    c->cap = nc;
    return 0;
}

struct cairn_cache *cairn_cache_create(const char *dir, uint64_t max_size, struct cairn_err *err)
{
    if (!dir || !*dir) {
        cairn_err_set(err, CAIRN_EINVAL, "cache: no directory given");
        return NULL;
    }
    cairn_fs_rm_rf(dir);
    if (cairn_fs_mkdir_p(dir)) {
        cairn_err_set(err, CAIRN_EIO, "cache: cannot create directory %s", dir);
        return NULL;
    }
    struct cairn_cache *c = calloc(1, sizeof *c);
    if (!c || !(c->dir = strdup(dir)) || grow(c)) {
        if (c)
            free(c->dir);
        free(c);
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    c->max_size = max_size;
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void cairn_cache_destroy(struct cairn_cache *c)
{
    if (!c)
        return;
    for (struct centry *e = c->head, *nx; e; e = nx) {
        nx = e->next;
        free(e);
    }
    free(c->tab);
    pthread_mutex_destroy(&c->mu);
    free(c->dir);
    free(c);
}

const struct cairn_cache_stats *cairn_cache_stats(const struct cairn_cache *c)
{
    return &c->stats;
}

int cairn_cache_get(struct cairn_cache *c, const char *key, struct cairn_buf *out)
{
    size_t kl = strlen(key);
    uint64_t h = cairn_hash64(key, kl);
    pthread_mutex_lock(&c->mu);
    struct centry *e = *slot(c, h);
    if (e) {
        lru_unlink(c, e);
        lru_front(c, e);
    }
    pthread_mutex_unlock(&c->mu);
    if (!e) {
        atomic_fetch_add(&c->stats.misses, 1);
        return CAIRN_ENOTFOUND;
    }
    char path[4200];
    entry_path(c, h, path, sizeof path);
    struct cairn_buf b = CAIRN_BUF_INIT;
    int rc = cairn_fs_read_file(path, &b);
    /* a file evicted meanwhile, or another key's (hash collision): a miss */
    if (!rc && (b.len < 4 || cairn_get_u32le((unsigned char *)b.data) != kl ||
                b.len < 4 + kl || memcmp(b.data + 4, key, kl)))
        rc = CAIRN_ENOTFOUND;
    if (!rc && cairn_buf_append(out, b.data + 4 + kl, b.len - 4 - kl))
        rc = CAIRN_ENOMEM;
    cairn_buf_deinit(&b);
    atomic_fetch_add(rc ? &c->stats.misses : &c->stats.hits, 1);
    return rc == CAIRN_ENOMEM ? rc : rc ? CAIRN_ENOTFOUND : 0;
}

int cairn_cache_put(struct cairn_cache *c, const char *key, const void *p, size_t n)
{
    size_t kl = strlen(key);
    uint64_t size = 4 + kl + n;
    if (size > c->max_size)
        return 0;
    uint64_t h = cairn_hash64(key, kl);
    char path[4200], tmp[4300];
    entry_path(c, h, path, sizeof path);
    pthread_mutex_lock(&c->mu);
    uint64_t seq = c->tmp_seq++;
    pthread_mutex_unlock(&c->mu);
    snprintf(tmp, sizeof tmp, "%s.tmp%" PRIu64, path, seq);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        CAIRN_WARN("cache", "create failed", "file=\"%s\" errno=%d", tmp, errno);
        return CAIRN_EIO;
    }
    unsigned char hdr[4] = {(unsigned char)kl, (unsigned char)(kl >> 8),
                            (unsigned char)(kl >> 16), (unsigned char)(kl >> 24)};
    int ok = write(fd, hdr, 4) == 4 && write(fd, key, kl) == (ssize_t)kl &&
             (n == 0 || write(fd, p, n) == (ssize_t)n);
    close(fd);
    if (!ok) {
        CAIRN_WARN("cache", "write failed", "file=\"%s\" errno=%d", tmp, errno);
        unlink(tmp);
        return CAIRN_EIO;
    }
    pthread_mutex_lock(&c->mu);
    int rc = 0;
    struct centry *e = *slot(c, h);
    if (e) { /* replaced (the same bytes, or a colliding key's) */
        c->used -= e->size;
        e->size = size;
        c->used += size;
        lru_unlink(c, e);
        lru_front(c, e);
    } else if ((c->n + 1 > c->cap / 2 && grow(c)) || !(e = calloc(1, sizeof *e))) {
        rc = CAIRN_ENOMEM;
    } else {
        e->h = h;
        e->size = size;
        e->chain = c->tab[h & (c->cap - 1)];
        c->tab[h & (c->cap - 1)] = e;
        lru_front(c, e);
        c->used += size;
        c->n++;
    }
    if (!rc && rename(tmp, path) < 0) {
        CAIRN_WARN("cache", "rename failed", "file=\"%s\" errno=%d", path, errno);
        drop(c, e);
        rc = CAIRN_EIO;
    }
    while (!rc && c->used > c->max_size && c->tail && c->tail != e) {
        drop(c, c->tail);
        atomic_fetch_add(&c->stats.evictions, 1);
    }
    atomic_store(&c->stats.bytes, c->used);
    atomic_store(&c->stats.entries, c->n);
    pthread_mutex_unlock(&c->mu);
    if (rc)
        unlink(tmp);
    return rc;
}

uint64_t cairn_cache_max_size(const struct cairn_cache *c)
{
    return c->max_size;
}
