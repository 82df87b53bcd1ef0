/* iter.c -- the entry iterator (merged in time order, forward or backward) and the
 * block iterator (decoded blocks one by one, for scans that need no global order);
 * what they read and how is in iter_load.c.
 *
 * Both snapshot, per stream and under the stream's shard lock, the block references
 * overlapping [start, end) and a sorted copy of the open block's entries in range.
 * For the entry iterator each block is one source of a heap ordered by (ts, stream id,
 * arrival); a block not yet read sits in the heap keyed by its min (forward) or max
 * (backward) timestamp and is read and decompressed only when it reaches the top, so
 * blocks are loaded in time order and only while the merge needs them.
 *
 * Cost per entry: a stream whose blocks do not overlap in time (the usual case) has one
 * source in the heap at a time, its blocks chained behind it; a loaded source's heap
 * entry points at the record (ts, line, length) of its current entry and at its last
 * one, so returning and advancing touch the heap and the records only; the root keeps
 * returning entries while they sort before its children (one comparison, no heap
 * operation), and the likely next root's record is prefetched. An entry predicate
 * (cairn_store_iter_init_filtered) runs while records are built, right after a block
 * is decompressed, so the merge sees only the entries it keeps. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "store/iter_int.h"
#include "store/needle.h"

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

static inline struct hent hent_mk(int backward, int64_t key, uint32_t loaded, uint32_t sid,
                                  uint32_t order, uint32_t idx)
{
    if (backward)
        return (struct hent){~key, loaded, ~sid, ~order, idx, NULL, NULL};
    return (struct hent){key, loaded, sid, order, idx, NULL, NULL};
}

/* The heap entry of source i at its current position (loaded) or its block bound. */
static struct hent hent_of(const struct cairn__iter *it, uint32_t i)
{
    const struct cur *c = &it->c[i];
    if (c->loaded && c->r) {
        const struct rec *cr = &c->r[(it->backward ? c->pos - 1 : c->pos) - c->lo];
        struct hent h = hent_mk(it->backward, cr->ts, 1, c->sid, c->order, i);
        h.cr = cr;
        h.last = &c->r[it->backward ? 0 : c->hi - c->lo - 1];
        return h;
    }
    int64_t key;
    if (c->loaded)
        key = c->ts[it->backward ? c->pos - 1 : c->pos];
    else
        key = it->backward ? it->v[i].ref.max_ts : it->v[i].ref.min_ts;
    return hent_mk(it->backward, key, c->loaded, c->sid, c->order, i);
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

/* Done with source i (at the heap's root): free its columns (or, for the source of the
 * entry returned last, keep them until the next call: retired), put the next block of
 * its stream's chain in its place, or drop the root. */
static void src_end(struct cairn__iter *it, uint32_t i, int retire)
{
    if (retire) {
        cairn__iter_dec_put(it, it->retired);
        it->retired = it->v[i].dec;
    } else {
        cairn__iter_dec_put(it, it->v[i].dec);
    }
    it->v[i].dec = NULL;
    int32_t nx = it->c[i].next;
    if (nx >= 0) {
        it->heap[0] = hent_of(it, (uint32_t)nx);
    } else {
        it->heap[0] = it->heap[--it->hn];
        if (!it->hn)
            return;
    }
    sift_down(it, 0);
}

const char *cairn_store_iter_sm(const struct cairn_entry_iter *itp, size_t *len)
{
    const struct cairn__iter *it = itp->impl;
    *len = it && it->cur_sm ? it->cur_sm_len : 0;
    return *len ? it->cur_sm : NULL;
}

void cairn_store_iter_deinit(struct cairn_entry_iter *itp)
{
    struct cairn__iter *it = itp->impl;
    if (!it)
        return;
    for (size_t i = 0; i < it->n; i++)
        cairn__iter_dbuf_free(it->v[i].dec);
    cairn__iter_dbuf_free(it->retired);
    cairn_store_needles_destroy(it->needles_own);
    for (size_t i = 0; i < it->npool; i++)
        cairn__iter_dbuf_free(it->pool[i]);
    for (size_t i = 0; i < it->nfd; i++) {
        if (it->fds[i].map)
            munmap((void *)it->fds[i].map, it->fds[i].maplen);
        if (it->fds[i].fd >= 0)
            close(it->fds[i].fd);
    }
    free(it->fds);
    free(it->pool);
    free(it->v);
    free(it->c);
    free(it->heap);
    cairn__periods_release(it->pv, it->np);
    cairn__block_dec_deinit(&it->scr);
    free(it->sr);
    cairn__codec_ctx_deinit(&it->ctx);
    cairn_buf_deinit(&it->rbuf);
    free(it);
    itp->impl = NULL;
}

/* Time bounds of source i (entries in range when loaded, else its block's). */
static void src_bounds(const struct cairn__iter *it, uint32_t i, int64_t *lo, int64_t *hi)
{
    const struct cur *c = &it->c[i];
    if (c->loaded && c->r) {
        *lo = c->r[c->lo].ts;
        *hi = c->r[c->hi - 1].ts;
    } else if (c->loaded) {
        *lo = c->ts[c->lo];
        *hi = c->ts[c->hi - 1];
    } else {
        *lo = it->v[i].ref.min_ts;
        *hi = it->v[i].ref.max_ts;
    }
}

/* The block iterator's overlap marks (cairn_block_view.overlaps) for one stream's
 * sources ids[0..m) (reordered here): sorted by their first timestamp (insertion sort:
 * written order is nearly sorted), swept into groups whose time ranges touch (a shared
 * timestamp counts); each source of a group of two or more gets the group's span. */
static void mark_overlaps(struct cairn__iter *it, uint32_t *ids, size_t m)
{
    int64_t lo, hi, lo2, hi2;
    for (size_t k = 1; k < m; k++) {
        uint32_t x = ids[k];
        src_bounds(it, x, &lo, &hi);
        size_t j = k;
        for (; j > 0; j--) {
            src_bounds(it, ids[j - 1], &lo2, &hi2);
            if (lo2 <= lo)
                break;
            ids[j] = ids[j - 1];
        }
        ids[j] = x;
    }
    for (size_t a = 0, b; a < m; a = b) {
        int64_t glo, ghi;
        src_bounds(it, ids[a], &glo, &ghi);
        for (b = a + 1; b < m; b++) {
            src_bounds(it, ids[b], &lo, &hi);
            if (lo > ghi)
                break;
            if (hi > ghi)
                ghi = hi;
        }
        for (size_t k = a; b - a > 1 && k < b; k++) {
            it->c[ids[k]].overlaps = 1;
            it->c[ids[k]].ovl_lo = glo;
            it->c[ids[k]].ovl_hi = ghi;
        }
    }
}

/* Put the sources of one stream, v[a..b) in written order, into the heap (ids: scratch
 * room for b - a ids): when their
 * time ranges follow each other (each ends at or before the next begins) only the
 * first in iteration order goes in, the others chained behind it; else each one. */
static void stream_push(struct cairn__iter *it, size_t a, size_t b, uint32_t *ids)
{
    size_t m = 0;
    for (size_t i = a; i < b; i++)
        if (!it->c[i].loaded || it->c[i].lo < it->c[i].hi) /* (head_copy makes none empty) */
            ids[m++] = (uint32_t)i;
    if (it->blockmode) { /* no heap: its blocks are returned in written order */
        mark_overlaps(it, ids, m);
        return;
    }
    int chain = 1;
    for (size_t k = 1; k < m && chain; k++) {
        int64_t plo, phi, lo, hi;
        src_bounds(it, ids[k - 1], &plo, &phi);
        src_bounds(it, ids[k], &lo, &hi);
        chain = phi <= lo;
    }
    if (!chain) {
        for (size_t k = 0; k < m; k++)
            heap_push(it, hent_of(it, ids[k]));
        return;
    }
    for (size_t k = 0; k < m; k++) { /* chain in iteration order */
        size_t from = it->backward ? m - 1 - k : k;
        size_t to = it->backward ? (from ? from - 1 : SIZE_MAX) : from + 1;
        it->c[ids[from]].next = to < m ? (int32_t)ids[to] : -1;
    }
    if (m)
        heap_push(it, hent_of(it, ids[it->backward ? m - 1 : 0]));
}

static int iter_init(struct cairn_entry_iter *itp, struct cairn_store *s, const char *tenant,
                     const roaring_bitmap_t *sids, int64_t start, int64_t end,
                     enum cairn_iter_dir dir, unsigned flags, int blockmode,
                     cairn_line_filter_fn filter, void *filter_ctx,
                     const struct cairn_store_needles *needles)
{
    struct cairn__iter *it = calloc(1, sizeof *it);
    itp->impl = it;
    if (!it)
        return CAIRN_ENOMEM;
    it->blockmode = blockmode;
    it->cols_guess = 1024;
    /* Column-only reads (metric queries without stages) pread the few hundred bytes of
     * each block they need: mapping the segment costs a page fault (and fault-around)
     * per block touched, about a third of such a query's CPU. Line reads keep the map. */
    it->no_mmap = (flags & (CAIRN__ITER_NO_MMAP | CAIRN_ITER_NO_LINES | CAIRN_ITER_PREAD)) != 0;
    it->filter = filter;
    it->filter_ctx = filter_ctx;
    it->needles = needles;
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
        rc = cairn__iter_snap_stream(it, t, ids[i]);
    free(ids);
    if (rc)
        goto fail;
    cairn__needle_prune(it); /* blocks the filters rule out get no source set-up */
    size_t n1 = it->n ? it->n : 1;
    if (!(it->heap = malloc(n1 * sizeof *it->heap)) ||
        !(it->pool = malloc(n1 * sizeof *it->pool)) || !(it->c = calloc(n1, sizeof *it->c)))
        goto nomem;
    for (size_t i = 0; i < it->n; i++) {
        it->c[i].sid = it->v[i].sid;
        it->c[i].order = it->v[i].order;
        it->c[i].next = -1;
        if (it->v[i].head && cairn__iter_cur_set(it, (uint32_t)i, &it->v[i].dec->d))
            goto nomem;
    }
    /* the pool is not in use yet: its room serves as scratch for the chains */
    for (size_t a = 0, b; a < it->n; a = b) { /* each stream's sources are contiguous */
        for (b = a + 1; b < it->n && it->v[b].sid == it->v[a].sid; b++)
            ;
        stream_push(it, a, b, (uint32_t *)(void *)it->pool);
    }
    return 0;
nomem:
    rc = CAIRN_ENOMEM;
fail:
    cairn_store_iter_deinit(itp);
    return rc;
}

int cairn_store_iter_init(struct cairn_entry_iter *itp, struct cairn_store *s, const char *tenant,
                          const roaring_bitmap_t *sids, int64_t start, int64_t end,
                          enum cairn_iter_dir dir, unsigned flags)
{
    return iter_init(itp, s, tenant, sids, start, end, dir, flags, 0, NULL, NULL, NULL);
}

int cairn_store_iter_init_filtered(struct cairn_entry_iter *itp, struct cairn_store *s,
                                   const char *tenant, const roaring_bitmap_t *sids, int64_t start,
                                   int64_t end, enum cairn_iter_dir dir, unsigned flags,
                                   cairn_line_filter_fn filter, void *ctx)
{
    return cairn_store_iter_init_needles(itp, s, tenant, sids, start, end, dir, flags, filter,
                                         ctx, NULL);
}

int cairn_store_iter_init_needles(struct cairn_entry_iter *itp, struct cairn_store *s,
                                  const char *tenant, const roaring_bitmap_t *sids, int64_t start,
                                  int64_t end, enum cairn_iter_dir dir, unsigned flags,
                                  cairn_line_filter_fn filter, void *ctx,
                                  const struct cairn_store_needles *nd)
{
    if (filter && (flags & CAIRN_ITER_NO_LINES)) {
        itp->impl = NULL;
        return CAIRN_EINVAL;
    }
    return iter_init(itp, s, tenant, sids, start, end, dir, flags, 0, filter, ctx, nd);
}

void cairn_store_iter_set_stop(struct cairn_entry_iter *itp, const _Atomic int64_t *stop)
{
    if (itp->impl)
        itp->impl->stop = stop;
}

void cairn_store_iter_set_deadline(struct cairn_entry_iter *itp, int64_t mono_ns)
{
    if (itp->impl)
        itp->impl->deadline = mono_ns;
}

void cairn_store_blocks_set_deadline(struct cairn_block_iter *bit, int64_t mono_ns)
{
    if (bit->impl)
        bit->impl->deadline = mono_ns;
}

/* Is the heap entry past the stop (then so is everything left: it is the root)? */
static inline int past_stop(const struct cairn__iter *it, const struct hent *h)
{
    if (!it->stop)
        return 0;
    int64_t s = atomic_load_explicit(it->stop, memory_order_relaxed);
    return it->backward ? ~h->key < s : h->key > s;
}

void cairn_store_iter_skipped(const struct cairn_entry_iter *itp, uint64_t *entries,
                              uint64_t *bytes)
{
    const struct cairn__iter *it = itp->impl;
    *entries = it ? it->skipped : 0;
    *bytes = it ? it->skipped_bytes : 0;
}

int cairn_store_iter_next(struct cairn_entry_iter *itp, uint32_t *sid, struct cairn_entry *e)
{
    struct cairn__iter *it = itp->impl;
    if (!it)
        return 0;
    uint32_t i;
    /* the entry before the last one is no longer promised: its block may be reused */
    cairn__iter_dec_put(it, it->retired);
    it->retired = NULL;
    if (it->cur >= 0) { /* the source returned last is still at the root: advance it */
        i = (uint32_t)it->cur;
        it->cur = -1;
        struct hent *h = &it->heap[0]; /* all it takes is in the heap entry */
        if (h->cr != h->last) {
            if (it->backward) {
                h->cr--;
                h->key = ~h->cr->ts;
            } else {
                h->cr++;
                h->key = h->cr->ts;
            }
            if (!it->has_bound || hless(h, &it->bound)) {
                if (past_stop(it, h))
                    return 0;
                goto emit; /* still the smallest: no heap work */
            }
            sift_down(it, 0);
        } else {
            src_end(it, i, 1); /* the caller may still read the entry returned last */
        }
    }
    while (it->hn) {
        if (past_stop(it, &it->heap[0]))
            return 0; /* before reading another block */
        i = it->heap[0].idx;
        if (!it->c[i].loaded) {
            int rc = cairn__iter_src_load(it, i);
            if (rc)
                return rc;
            if (it->c[i].lo < it->c[i].hi) {
                it->heap[0] = hent_of(it, i);
                sift_down(it, 0);
            } else {
                src_end(it, i, 0);
            }
            continue;
        }
        /* a new root: the bound its next entries are checked against */
        it->has_bound = it->hn > 1;
        if (it->has_bound)
            it->bound = it->hn > 2 && hless(&it->heap[2], &it->heap[1]) ? it->heap[2] : it->heap[1];
        goto emit;
    }
    return 0;
emit:;
    /* everything returned comes from the root's heap entry and its record */
    const struct hent *h = &it->heap[0];
    *sid = it->backward ? ~h->sid : h->sid;
    e->ts = h->cr->ts;
    e->len = h->cr->len;
    e->line = h->cr->line;
    it->cur_sm = h->cr->sm;
    it->cur_sm_len = h->cr->sm_len;
    it->cur = i;
    /* the bound is likely the next root: fetch its state while the caller works */
    if (it->has_bound && it->bound.cr) {
        const struct rec *nr = it->bound.cr;
        __builtin_prefetch(nr);
        if (nr != it->bound.last)
            __builtin_prefetch(it->backward ? nr - 1 : nr + 1);
    }
    return 1;
}

/* ---- the block iterator ---- */

int cairn_store_blocks_init(struct cairn_block_iter *bit, struct cairn_store *s, const char *tenant,
                            const roaring_bitmap_t *sids, int64_t start, int64_t end,
                            unsigned flags)
{
    struct cairn_entry_iter e;
    int rc = iter_init(&e, s, tenant, sids, start, end, CAIRN_ITER_FORWARD, flags, 1, NULL, NULL, NULL);
    bit->impl = e.impl;
    return rc;
}

int cairn_store_blocks_next(struct cairn_block_iter *bit, struct cairn_block_view *v)
{
    struct cairn__iter *it = bit->impl;
    if (!it)
        return 0;
    if (it->cur >= 0) { /* done with the previous block */
        cairn__iter_dec_put(it, it->v[it->cur].dec);
        it->v[it->cur].dec = NULL;
        it->cur = -1;
    }
    while (it->bnext < it->n) {
        size_t i = it->bnext++;
        struct cur *c = &it->c[i];
        if (!c->loaded) {
            int rc = cairn__iter_src_load(it, (uint32_t)i);
            if (rc)
                return rc;
        }
        if (c->lo >= c->hi) {
            cairn__iter_dec_put(it, it->v[i].dec);
            it->v[i].dec = NULL;
            continue;
        }
        v->sid = c->sid;
        v->n = c->hi - c->lo;
        v->ts = c->ts + c->lo;
        v->lens = c->lens + c->lo;
        v->offs = c->lines ? c->offs + c->lo : NULL;
        v->lines = c->lines;
        v->sm = c->sm;
        v->sm_off = c->sm ? c->sm_off + c->lo : NULL;
        v->sm_len = c->sm ? c->sm_len + c->lo : NULL;
        v->raw_bytes = 0;
        v->overlaps = c->overlaps;
        v->ovl_lo = c->ovl_lo;
        v->ovl_hi = c->ovl_hi;
        for (uint32_t k = c->lo; k < c->hi; k++)
            v->raw_bytes += c->lens[k];
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
