/* seen.c -- what was emitted: a table of uid -> newest resourceVersion, and the state
 * file that carries it (and each watch's resourceVersion) across restarts.
 *
 * State file (little-endian): "CAIRNEVS" u32 version=1, u32 nrvs, then per watch
 * (u32 len, path, u32 len, rv), u64 nentries, entries (u64 uid, u64 minute<<44|rv),
 * then u32 CRC-32C of everything before it. Written to path.tmp, fsynced, renamed. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/error.h"
#include "cairn/hash.h"
#include "cairn/log.h"
#include "k8s/k8s_int.h"

#define STATE_MAGIC "CAIRNEVS"
#define STATE_VERSION 1u
#define STATE_MAX_BYTES (512u * 1024 * 1024)

int cairn__seen_init(struct cairn__seen *t, size_t cap_hint)
{
    size_t cap = 1024;
    while (cap < cap_hint * 2)
        cap <<= 1;
    t->slots = calloc(cap, sizeof *t->slots);
    if (!t->slots)
        return CAIRN_ENOMEM;
    t->cap = cap;
    t->n = 0;
    return 0;
}

void cairn__seen_deinit(struct cairn__seen *t)
{
    free(t->slots);
    t->slots = NULL;
    t->cap = t->n = 0;
}

struct cairn__seen_slot *cairn__seen_find(struct cairn__seen *t, uint64_t uid)
{
    size_t mask = t->cap - 1;
    for (size_t i = (size_t)uid & mask;; i = (i + 1) & mask) {
        if (t->slots[i].uid == uid)
            return &t->slots[i];
        if (t->slots[i].uid == 0)
            return NULL;
    }
}

static void insert_raw(struct cairn__seen_slot *slots, size_t cap, const struct cairn__seen_slot *s)
{
    size_t mask = cap - 1;
    size_t i = (size_t)s->uid & mask;
    while (slots[i].uid != 0 && slots[i].uid != s->uid)
        i = (i + 1) & mask;
    slots[i] = *s;
}

static uint64_t minute_of(int64_t at_s)
{
    return ((uint64_t)(at_s / 60)) & CAIRN_K8S_MIN_MASK;
}

/* keep: entries whose minute is within ttl_min of now_min (all when ttl_min < 0) */
static int rehash(struct cairn__seen *t, size_t cap, int64_t now_s, int64_t ttl_s)
{
    struct cairn__seen_slot *ns = calloc(cap, sizeof *ns);
    if (!ns)
        return CAIRN_ENOMEM;
    uint64_t now_min = minute_of(now_s), ttl_min = ttl_s < 0 ? 0 : (uint64_t)(ttl_s / 60);
    size_t n = 0;
    for (size_t i = 0; i < t->cap; i++) {
        const struct cairn__seen_slot *s = &t->slots[i];
        if (s->uid == 0)
            continue;
        if (ttl_s >= 0 &&
            ((now_min - (uint64_t)cairn__slot_minute(s)) & CAIRN_K8S_MIN_MASK) > ttl_min)
            continue;
        insert_raw(ns, cap, s);
        n++;
    }
    free(t->slots);
    t->slots = ns;
    t->cap = cap;
    t->n = n;
    return 0;
}

int cairn__seen_put(struct cairn__seen *t, uint64_t uid, uint64_t rv, int64_t at_s)
{
    uint64_t v = (minute_of(at_s) << CAIRN_K8S_RV_BITS) | (rv & CAIRN_K8S_RV_MASK);
    struct cairn__seen_slot *s = cairn__seen_find(t, uid);
    if (s) {
        s->v = v;
        return 0;
    }
    if ((t->n + 1) * 5 > t->cap * 4) { /* keep the load under 4/5 */
        int rc = rehash(t, t->cap * 2, 0, -1);
        if (rc)
            return rc;
    }
    struct cairn__seen_slot ns = {uid, v};
    insert_raw(t->slots, t->cap, &ns);
    t->n++;
    return 0;
}

int cairn__seen_prune(struct cairn__seen *t, int64_t now_s, int64_t ttl_s)
{
    uint64_t now_min = minute_of(now_s), ttl_min = (uint64_t)(ttl_s / 60);
    size_t live = 0;
    for (size_t i = 0; i < t->cap; i++) {
        const struct cairn__seen_slot *s = &t->slots[i];
        live += s->uid != 0 &&
                ((now_min - (uint64_t)cairn__slot_minute(s)) & CAIRN_K8S_MIN_MASK) <= ttl_min;
    }
    if (live == t->n)
        return 0;
    size_t cap = 1024;
    while (cap * 4 < live * 5 + 4)
        cap <<= 1;
    return rehash(t, cap, now_s, ttl_s);
}

uint64_t cairn__uid_key(const char *uid, size_t len)
{
    uint64_t h = cairn_hash64(uid, len);
    return h ? h : 1;
}

uint64_t cairn__rv_key(const char *rv, size_t len)
{
    uint64_t v = 0;
    for (size_t i = 0; i < len && len <= 13; i++) {
        if (rv[i] < '0' || rv[i] > '9')
            break;
        v = v * 10 + (uint64_t)(rv[i] - '0');
        if (i + 1 == len && v < CAIRN_K8S_RV_OPAQUE)
            return v;
    }
    return (cairn_hash64(rv, len) & (CAIRN_K8S_RV_OPAQUE - 1)) | CAIRN_K8S_RV_OPAQUE;
}

int cairn__rv_newer(uint64_t rv, uint64_t stored)
{
    if ((rv | stored) & CAIRN_K8S_RV_OPAQUE)
        return rv != stored;
    return rv > stored;
}

/* --- state file ------------------------------------------------------------------ */

void cairn__state_deinit(struct cairn__state *st)
{
    for (size_t i = 0; i < st->nrvs; i++) {
        free(st->rvs[i].path);
        free(st->rvs[i].rv);
    }
    free(st->rvs);
    st->rvs = NULL;
    st->nrvs = 0;
}

const char *cairn__state_get_rv(const struct cairn__state *st, const char *path)
{
    for (size_t i = 0; i < st->nrvs; i++)
        if (strcmp(st->rvs[i].path, path) == 0)
            return st->rvs[i].rv;
    return NULL;
}

int cairn__state_set_rv(struct cairn__state *st, const char *path, const char *rv)
{
    char *nrv = strdup(rv);
    if (!nrv)
        return CAIRN_ENOMEM;
    for (size_t i = 0; i < st->nrvs; i++) {
        if (strcmp(st->rvs[i].path, path) == 0) {
            free(st->rvs[i].rv);
            st->rvs[i].rv = nrv;
            return 0;
        }
    }
    struct cairn__state_rv *n = realloc(st->rvs, (st->nrvs + 1) * sizeof *n);
    char *np = strdup(path);
    if (!n || !np) {
        if (n)
            st->rvs = n;
        free(np);
        free(nrv);
        return CAIRN_ENOMEM;
    }
    st->rvs = n;
    st->rvs[st->nrvs].path = np;
    st->rvs[st->nrvs].rv = nrv;
    st->nrvs++;
    return 0;
}

/* Buffered writes to fd with a running CRC; the buffer is flushed at 64 KiB, so saving
 * 100,000 entries does not need 1.6 MB of memory. */
struct wr {
    int fd;
    uint32_t crc;
    int failed;
    struct cairn_buf *b;
};

static void wr_flush(struct wr *w)
{
    size_t off = 0;
    while (!w->failed && off < w->b->len) {
        ssize_t n = write(w->fd, w->b->data + off, w->b->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            w->failed = 1;
        else
            off += (size_t)n;
    }
    cairn_buf_reset(w->b);
}

static void wr_put(struct wr *w, const void *p, size_t n)
{
    w->crc = cairn_crc32c(w->crc, p, n);
    if (cairn_buf_append(w->b, p, n) != 0)
        w->failed = 1;
    if (w->b->len >= 64 * 1024)
        wr_flush(w);
}

static void wr_u32(struct wr *w, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    wr_put(w, x, 4);
}

static void wr_u64(struct wr *w, uint64_t v)
{
    wr_u32(w, (uint32_t)v);
    wr_u32(w, (uint32_t)(v >> 32));
}

static void wr_str(struct wr *w, const char *s)
{
    size_t n = strlen(s);
    wr_u32(w, (uint32_t)n);
    wr_put(w, s, n);
}

int cairn__state_save(const char *path, const struct cairn__state *st,
                      const struct cairn__seen *t, struct cairn_buf *b)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        CAIRN_ERROR("k8s", "cannot write state file", "path=%s err=\"%s\"", tmp, strerror(errno));
        return CAIRN_EIO;
    }
    cairn_buf_reset(b);
    struct wr w = {.fd = fd, .crc = 0, .failed = 0, .b = b};
    wr_put(&w, STATE_MAGIC, 8);
    wr_u32(&w, STATE_VERSION);
    wr_u32(&w, (uint32_t)st->nrvs);
    for (size_t i = 0; i < st->nrvs; i++) {
        wr_str(&w, st->rvs[i].path);
        wr_str(&w, st->rvs[i].rv);
    }
    wr_u64(&w, t->n);
    for (size_t i = 0; i < t->cap; i++) {
        const struct cairn__seen_slot *s = &t->slots[i];
        if (s->uid == 0)
            continue;
        wr_u64(&w, s->uid);
        wr_u64(&w, s->v);
    }
    wr_u32(&w, w.crc);
    wr_flush(&w);
    if (w.failed) {
        CAIRN_ERROR("k8s", "cannot write state file", "path=%s err=\"%s\"", tmp,
                    strerror(errno));
        close(fd);
        unlink(tmp);
        return CAIRN_EIO;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        CAIRN_ERROR("k8s", "cannot sync state file", "path=%s err=\"%s\"", tmp, strerror(errno));
        unlink(tmp);
        return CAIRN_EIO;
    }
    if (rename(tmp, path) != 0) {
        CAIRN_ERROR("k8s", "cannot rename state file", "path=%s err=\"%s\"", path,
                    strerror(errno));
        unlink(tmp);
        return CAIRN_EIO;
    }
    char dirbuf[4096];
    snprintf(dirbuf, sizeof dirbuf, "%s", path);
    int dfd = open(dirname(dirbuf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

struct rd {
    const unsigned char *p;
    size_t len, off;
};

static int rd_u32(struct rd *r, uint32_t *v)
{
    if (r->len - r->off < 4)
        return -1;
    *v = cairn_get_u32le(r->p + r->off);
    r->off += 4;
    return 0;
}

static int rd_u64(struct rd *r, uint64_t *v)
{
    if (r->len - r->off < 8)
        return -1;
    *v = cairn_get_u64le(r->p + r->off);
    r->off += 8;
    return 0;
}

static char *rd_str(struct rd *r)
{
    uint32_t n;
    if (rd_u32(r, &n) || r->len - r->off < n || n > 65536)
        return NULL;
    char *s = strndup((const char *)r->p + r->off, n);
    r->off += n;
    return s;
}

int cairn__state_parse(const unsigned char *p, size_t len, struct cairn__state *st,
                       struct cairn__seen *t)
{
    struct rd r = {p, len, 0};
    uint32_t ver, nrvs;
    uint64_t n;
    if (len < 8 + 4 + 4 + 8 + 4 || memcmp(p, STATE_MAGIC, 8) != 0 ||
        cairn_crc32c(0, p, len - 4) != cairn_get_u32le(p + len - 4))
        return CAIRN_ECORRUPT;
    r.len = len - 4;
    r.off = 8;
    if (rd_u32(&r, &ver) || ver != STATE_VERSION || rd_u32(&r, &nrvs))
        return CAIRN_ECORRUPT;
    for (uint32_t i = 0; i < nrvs; i++) {
        char *ps = rd_str(&r), *rv = rd_str(&r);
        int rc = !ps || !rv ? CAIRN_ECORRUPT : cairn__state_set_rv(st, ps, rv);
        free(ps);
        free(rv);
        if (rc)
            return rc;
    }
    if (rd_u64(&r, &n) || (r.len - r.off) / 16 < n || r.len - r.off != n * 16)
        return CAIRN_ECORRUPT;
    for (uint64_t i = 0; i < n; i++) {
        struct cairn__seen_slot s = {0, 0};
        rd_u64(&r, &s.uid);
        rd_u64(&r, &s.v);
        if (s.uid == 0)
            return CAIRN_ECORRUPT;
        if (cairn__seen_put(t, s.uid, 0, 0) != 0)
            return CAIRN_ENOMEM;
        cairn__seen_find(t, s.uid)->v = s.v;
    }
    return 0;
}

int cairn__state_load(const char *path, struct cairn__state *st, struct cairn__seen *t)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return CAIRN_ENOTFOUND;
        CAIRN_ERROR("k8s", "cannot open state file", "path=%s err=\"%s\"", path, strerror(errno));
        return CAIRN_EIO;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || sb.st_size > (off_t)STATE_MAX_BYTES) {
        fclose(f);
        return CAIRN_ECORRUPT;
    }
    size_t len = (size_t)sb.st_size;
    unsigned char *p = malloc(len ? len : 1);
    if (!p) {
        fclose(f);
        return CAIRN_ENOMEM;
    }
    size_t got = fread(p, 1, len, f);
    fclose(f);
    int rc = got == len ? cairn__state_parse(p, len, st, t) : CAIRN_EIO;
    free(p);
    return rc;
}
