/* iter.c -- the entry iterator (merged in time order, forward or backward) and the
 * block iterator (decoded blocks one by one, for scans that need no global order).
 *
 * Both snapshot, per stream and under the stream's shard lock, the block references
 * overlapping [start, end) and a sorted copy of the open block's entries in range.
 * For the entry iterator each block is one source of a heap ordered by (ts, stream id,
 * arrival); a block not yet read sits in the heap keyed by its min (forward) or max
 * (backward) timestamp and is read and decompressed only when it reaches the top, so
 * blocks are loaded in time order and only while the merge needs them. */
#include <stdlib.h>
#include <string.h>

#include "cairn/log.h"
#include "store/store_int.h"

struct src {
    int64_t key;
    uint32_t sid, order;
    int loaded, head;
    struct cairn__period *per; /* for a block not yet read */
    struct cairn__bref ref;
    struct cairn__block_dec dec;
    uint32_t pos, lo, hi; /* entries [lo, hi) are in range; pos is the next (fwd) or
                             one past the next (backward) */
};

struct cairn__iter {
    struct cairn_store *s;
    int64_t start, end;
    int backward, no_lines;
    struct src *v;
    size_t n, cap;
    struct hent *heap;
    size_t hn;
    long cur; /* source returned last, to advance on the next call */
    size_t bnext; /* block iterator: the next source to return */
    struct cairn__period **pv;
    size_t np;
    struct cairn__codec_ctx ctx;
    struct cairn_buf rbuf;
};

/* A heap entry carries its sort key, so sifting touches only the heap array. For a
 * backward iteration the key, stream id and arrival order are bit-inverted, so one
 * ascending comparison serves both directions. A block not yet read sorts before an
 * entry with the same timestamp, so it is read before that entry is returned. */
struct hent {
    int64_t key;
    uint32_t loaded, sid, order, idx;
};

static inline int hless(const struct hent *a, const struct hent *b)
{
    if (a->key != b->key)
        return a->key < b->key;
    if (a->loaded != b->loaded)
        return a->loaded < b->loaded;
    if (a->sid != b->sid)
        return a->sid < b->sid;
    return a->order < b->order;
}

static struct hent hent_of(const struct cairn__iter *it, const struct src *x, uint32_t idx)
{
    if (it->backward)
        return (struct hent){~x->key, (uint32_t)x->loaded, ~x->sid, ~x->order, idx};
    return (struct hent){x->key, (uint32_t)x->loaded, x->sid, x->order, idx};
}

static void sift_down(struct cairn__iter *it, size_t k)
{
    struct hent *h = it->heap;
    size_t n = it->hn;
    struct hent e = h[k];
    for (;;) {
        size_t l = 2 * k + 1, m;
        if (l >= n)
            break;
        m = l + 1 < n && hless(&h[l + 1], &h[l]) ? l + 1 : l;
        if (!hless(&h[m], &e))
            break;
        h[k] = h[m];
        k = m;
    }
    h[k] = e;
}

static void heap_push(struct cairn__iter *it, struct hent e)
{
    struct hent *h = it->heap;
    size_t k = it->hn++;
    while (k > 0 && hless(&e, &h[(k - 1) / 2])) {
        h[k] = h[(k - 1) / 2];
        k = (k - 1) / 2;
    }
    h[k] = e;
}

static void heap_pop_root(struct cairn__iter *it)
{
    it->heap[0] = it->heap[--it->hn];
    if (it->hn)
        sift_down(it, 0);
}

static struct src *src_new(struct cairn__iter *it)
{
    if (it->n == it->cap) {
        size_t nc = it->cap ? it->cap * 2 : 64;
        struct src *nv = realloc(it->v, nc * sizeof *nv);
        if (!nv)
            return NULL;
        it->v = nv;
        it->cap = nc;
    }
    struct src *x = &it->v[it->n++];
    memset(x, 0, sizeof *x);
    return x;
}

/* Entries [lo, hi) of a sorted ts column inside [start, end). */
static void range_of(const int64_t *ts, uint32_t n, int64_t start, int64_t end, uint32_t *lo,
                     uint32_t *hi)
{
    uint32_t a = 0, b = n;
    while (a < b) {
        uint32_t m = a + (b - a) / 2;
        if (ts[m] < start)
            a = m + 1;
        else
            b = m;
    }
    *lo = a;
    b = n;
    while (a < b) {
        uint32_t m = a + (b - a) / 2;
        if (ts[m] < end)
            a = m + 1;
        else
            b = m;
    }
    *hi = a;
}

static int perm_cmp(const void *a, const void *b, void *ctx)
{
    const int64_t *ts = ctx;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    if (ts[x] != ts[y])
        return ts[x] < ts[y] ? -1 : 1;
    return x < y ? -1 : (x > y);
}

/* Copy the open block's entries in range into a sorted decoded block. Shard lock held. */
static int head_copy(struct cairn__iter *it, const struct cairn__hblock *b, uint32_t sid,
                     uint32_t order)
{
    if (!b->n || b->max_ts < it->start || b->min_ts >= it->end)
        return 0;
    uint32_t *perm = malloc((size_t)b->n * sizeof *perm);
    uint64_t *off = malloc((size_t)b->n * sizeof *off);
    if (!perm || !off) {
        free(perm);
        free(off);
        return CAIRN_ENOMEM;
    }
    uint32_t m = 0;
    uint64_t o = 0, bytes = 0;
    for (uint32_t i = 0; i < b->n; i++) {
        off[i] = o;
        o += b->lens[i];
        if (b->ts[i] >= it->start && b->ts[i] < it->end) {
            perm[m++] = i;
            bytes += b->lens[i];
        }
    }
    if (!b->sorted)
        qsort_r(perm, m, sizeof *perm, perm_cmp, b->ts);
    struct src *x = src_new(it);
    int rc = CAIRN_ENOMEM;
    if (!x)
        goto out;
    x->sid = sid;
    x->order = order;
    x->loaded = 1;
    x->head = 1;
    struct cairn__block_dec *d = &x->dec;
    d->h.n = m;
    d->ts = malloc((m ? m : 1) * sizeof *d->ts);
    d->lens = malloc((m ? m : 1) * sizeof *d->lens);
    d->offs = malloc((m ? m : 1) * sizeof *d->offs);
    d->lines = it->no_lines ? NULL : malloc(bytes ? bytes : 1);
    if (!d->ts || !d->lens || !d->offs || (!it->no_lines && !d->lines)) {
        cairn__block_dec_deinit(d);
        it->n--;
        goto out;
    }
    uint64_t w = 0;
    for (uint32_t i = 0; i < m; i++) {
        uint32_t k = perm[i];
        d->ts[i] = b->ts[k];
        d->lens[i] = b->lens[k];
        d->offs[i] = w;
        if (d->lines)
            memcpy(d->lines + w, b->lines + off[k], b->lens[k]);
        w += b->lens[k];
    }
    x->lo = 0;
    x->hi = m;
    rc = 0;
out:
    free(perm);
    free(off);
    return rc;
}

/* Snapshot one stream: block refs and head copy, under its shard lock. */
static int snap_stream(struct cairn__iter *it, struct cairn__tenant *t, uint32_t sid)
{
    struct cairn__stream *st = cairn__stream_by_id(t, sid);
    if (!st)
        return 0;
    struct cairn__shard *sh = cairn__shard_of(t, st->fp);
    int rc = 0;
    uint32_t order = 0;
    pthread_mutex_lock(&sh->mu);
    for (size_t i = 0; i < it->np && !rc; i++) {
        struct cairn__period *p = it->pv[i];
        pthread_mutex_lock(&p->mu);
        struct cairn__pstream *ps = cairn__strmap_get(&p->streams, &sid, sizeof sid);
        for (size_t k = 0; ps && k < ps->n; k++) {
            const struct cairn__bref *r = &ps->refs[k];
            order++;
            if (r->max_ts < it->start || r->min_ts >= it->end)
                continue; /* skipped without reading it */
            struct src *x = src_new(it);
            if (!x) {
                rc = CAIRN_ENOMEM;
                break;
            }
            x->sid = sid;
            x->order = order;
            x->per = p;
            x->ref = *r;
            x->key = it->backward ? r->max_ts : r->min_ts;
        }
        pthread_mutex_unlock(&p->mu);
    }
    if (!rc)
        rc = head_copy(it, &st->blk, sid, UINT32_MAX);
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

static void src_set_key(struct cairn__iter *it, struct src *x)
{
    x->key = x->dec.ts[it->backward ? x->pos - 1 : x->pos];
}

/* Start a loaded source at its first entry in range; 0 if it has none. */
static int src_start(struct cairn__iter *it, struct src *x)
{
    if (x->lo >= x->hi)
        return 0;
    x->pos = it->backward ? x->hi : x->lo;
    src_set_key(it, x);
    return 1;
}

static int src_load(struct cairn__iter *it, struct src *x)
{
    int rc = cairn__period_read(x->per, x->ref.file, x->ref.off, x->ref.len, &it->rbuf);
    if (!rc)
        rc = cairn__block_decode(&it->ctx, (const unsigned char *)it->rbuf.data, it->rbuf.len,
                                 !it->no_lines, &x->dec);
    if (rc) {
        CAIRN_ERROR("read", "block unreadable", "dir=\"%s\" file=%u offset=%llu err=\"%s\"",
                    x->per->dir, x->ref.file, (unsigned long long)x->ref.off, cairn_strerror(rc));
        return rc;
    }
    x->loaded = 1;
    range_of(x->dec.ts, x->dec.h.n, it->start, it->end, &x->lo, &x->hi);
    return 0;
}

void cairn_store_iter_deinit(struct cairn_entry_iter *itp)
{
    struct cairn__iter *it = itp->impl;
    if (!it)
        return;
    for (size_t i = 0; i < it->n; i++)
        cairn__block_dec_deinit(&it->v[i].dec);
    free(it->v);
    free(it->heap);
    cairn__periods_release(it->pv, it->np);
    cairn__codec_ctx_deinit(&it->ctx);
    cairn_buf_deinit(&it->rbuf);
    free(it);
    itp->impl = NULL;
}

int cairn_store_iter_init(struct cairn_entry_iter *itp, struct cairn_store *s, const char *tenant,
                          const roaring_bitmap_t *sids, int64_t start, int64_t end,
                          enum cairn_iter_dir dir, unsigned flags)
{
    struct cairn__iter *it = calloc(1, sizeof *it);
    itp->impl = it;
    if (!it)
        return CAIRN_ENOMEM;
    it->s = s;
    it->start = start;
    it->end = end;
    it->backward = dir == CAIRN_ITER_BACKWARD;
    it->no_lines = (flags & CAIRN_ITER_NO_LINES) != 0;
    it->cur = -1;
    struct cairn__tenant *t = cairn__tenant_get(s, tenant, 0);
    if (!t || start >= end)
        return 0;
    if (!(it->pv = cairn__periods_in(t, start, end, &it->np)))
        goto nomem;
    roaring_bitmap_t *every = NULL;
    if (!sids) {
        if (!(every = roaring_bitmap_create()) || cairn_store_streams(s, tenant, start, end, every)) {
            if (every)
                roaring_bitmap_free(every);
            goto nomem;
        }
        sids = every;
    }
    uint64_t card = roaring_bitmap_get_cardinality(sids);
    uint32_t *ids = malloc((card ? card : 1) * sizeof *ids);
    if (ids)
        roaring_bitmap_to_uint32_array(sids, ids);
    if (every)
        roaring_bitmap_free(every);
    if (!ids)
        goto nomem;
    int rc = 0;
    for (uint64_t i = 0; i < card && !rc; i++)
        rc = snap_stream(it, t, ids[i]);
    free(ids);
    if (rc)
        goto fail;
    if (!(it->heap = malloc((it->n ? it->n : 1) * sizeof *it->heap)))
        goto nomem;
    for (size_t i = 0; i < it->n; i++) {
        struct src *x = &it->v[i];
        if (x->loaded && !src_start(it, x))
            continue;
        heap_push(it, hent_of(it, x, (uint32_t)i));
    }
    return 0;
nomem:
    rc = CAIRN_ENOMEM;
fail:
    cairn_store_iter_deinit(itp);
    return rc;
}

int cairn_store_iter_next(struct cairn_entry_iter *itp, uint32_t *sid, struct cairn_entry *e)
{
    struct cairn__iter *it = itp->impl;
    if (!it)
        return 0;
    if (it->cur >= 0) { /* the source returned last is still at the root: advance it */
        struct src *x = &it->v[it->cur];
        int more = it->backward ? --x->pos > x->lo : ++x->pos < x->hi;
        if (more) {
            src_set_key(it, x);
            it->heap[0] = hent_of(it, x, (uint32_t)it->cur);
            sift_down(it, 0);
        } else {
            cairn__block_dec_deinit(&x->dec);
            heap_pop_root(it);
        }
        it->cur = -1;
    }
    while (it->hn) {
        uint32_t i = it->heap[0].idx;
        struct src *x = &it->v[i];
        if (!x->loaded) {
            int rc = src_load(it, x);
            if (rc)
                return rc;
            if (src_start(it, x)) {
                it->heap[0] = hent_of(it, x, i);
                sift_down(it, 0);
            } else {
                cairn__block_dec_deinit(&x->dec);
                heap_pop_root(it);
            }
            continue;
        }
        uint32_t k = it->backward ? x->pos - 1 : x->pos;
        *sid = x->sid;
        e->ts = x->dec.ts[k];
        e->len = x->dec.lens[k];
        e->line = x->dec.lines ? x->dec.lines + x->dec.offs[k] : NULL;
        it->cur = i;
        return 1;
    }
    return 0;
}

/* ---- the block iterator ---- */

int cairn_store_blocks_init(struct cairn_block_iter *bit, struct cairn_store *s, const char *tenant,
                            const roaring_bitmap_t *sids, int64_t start, int64_t end,
                            unsigned flags)
{
    struct cairn_entry_iter e;
    int rc = cairn_store_iter_init(&e, s, tenant, sids, start, end, CAIRN_ITER_FORWARD, flags);
    bit->impl = e.impl;
    return rc;
}

int cairn_store_blocks_next(struct cairn_block_iter *bit, struct cairn_block_view *v)
{
    struct cairn__iter *it = bit->impl;
    if (!it)
        return 0;
    if (it->cur >= 0) { /* done with the previous block */
        cairn__block_dec_deinit(&it->v[it->cur].dec);
        it->cur = -1;
    }
    while (it->bnext < it->n) {
        size_t i = it->bnext++;
        struct src *x = &it->v[i];
        if (!x->loaded) {
            int rc = src_load(it, x);
            if (rc)
                return rc;
        }
        if (x->lo >= x->hi) {
            cairn__block_dec_deinit(&x->dec);
            continue;
        }
        const struct cairn__block_dec *d = &x->dec;
        v->sid = x->sid;
        v->n = x->hi - x->lo;
        v->ts = d->ts + x->lo;
        v->lens = d->lens + x->lo;
        v->offs = d->lines ? d->offs + x->lo : NULL;
        v->lines = d->lines;
        v->raw_bytes = 0;
        for (uint32_t k = x->lo; k < x->hi; k++)
            v->raw_bytes += d->lens[k];
        it->cur = (long)i;
        return 1;
    }
    return 0;
}

void cairn_store_blocks_deinit(struct cairn_block_iter *bit)
{
    struct cairn_entry_iter e = {bit->impl};
    cairn_store_iter_deinit(&e);
    bit->impl = NULL;
}
