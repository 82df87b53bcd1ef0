/* iter.c -- the entry iterator (merged in time order, forward or backward) and the
 * block iterator (decoded blocks one by one, for scans that need no global order).
 *
 * Both snapshot, per stream and under the stream's shard lock, the block references
 * overlapping [start, end) and a sorted copy of the open block's entries in range.
 * For the entry iterator each block is one source of a heap ordered by (ts, stream id,
 * arrival); a block not yet read sits in the heap keyed by its min (forward) or max
 * (backward) timestamp and is read and decompressed only when it reaches the top, so
 * blocks are loaded in time order and only while the merge needs them.
 *
 * Cost per entry: a stream whose blocks do not overlap in time (the usual case) has one
 * source in the heap at a time, its blocks chained behind it; the source at the root
 * keeps returning entries while they sort before the root's children (one comparison,
 * no heap operation); the per-entry state of a source is one cache line. Decoded
 * columns come from a pool of buffers recycled between blocks, segment file
 * descriptors are opened once per iterator, and column-only iteration reads just the
 * header and the two small columns of a block from disk. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/log.h"
#include "store/store_int.h"

/* One entry as the merge returns it: the records of a block's entries in range are
 * built when it is loaded, so returning an entry reads one record (prefetched). */
struct rec {
    int64_t ts;
    const char *line;
    uint32_t len;
};

/* Decoded columns and their records, recycled between blocks. */
struct dbuf {
    struct cairn__block_dec d;
    struct rec *r;
    size_t rcap;
};

/* The state of a source (the entry iterator keeps its position in the heap entry). */
struct cur {
    const int64_t *ts;
    const uint32_t *lens;
    const uint64_t *offs;
    const char *lines;
    /* the entry iterator's kept entries in range as records, r[0..hi) (lo = 0); the
     * block iterator's entries in range are [lo, hi) of the columns */
    const struct rec *r;
    uint32_t pos, lo, hi; /* pos: the first entry (forward) or one past the last
                             (backward); the entry iterator then moves the heap entry */
    uint32_t sid, order;
    int32_t next; /* the same stream's source to push when this one ends, or -1 */
    uint32_t loaded;
};

/* The rest: how to load it. */
struct src {
    uint32_t sid, order;
    int head;
    struct cairn__period *per; /* for a block not yet read */
    struct cairn__bref ref;
    struct dbuf *dec; /* while loaded */
};

struct fdc {
    struct cairn__period *per;
    uint32_t file;
    int fd;
};

/* A heap entry carries its sort key, so sifting touches only the heap array. For a
 * backward iteration the key, stream id and arrival order are bit-inverted, so one
 * ascending comparison serves both directions. A block not yet read sorts before an
 * entry with the same timestamp, so it is read before that entry is returned. */
struct hent {
    int64_t key;
    uint32_t loaded, sid, order, idx;
    const struct rec *cr;   /* the entry the key is of (a loaded source) */
    const struct rec *last; /* its source's last record in iteration order */
};

struct cairn__iter {
    struct cairn_store *s;
    int64_t start, end;
    int backward, no_lines;
    struct src *v;
    struct cur *c;
    size_t n, cap;
    struct hent *heap;
    size_t hn;
    long cur;        /* source returned last, to advance on the next call */
    struct hent bound; /* while cur is the root: the smaller of its children */
    int has_bound;
    size_t bnext;    /* block iterator: the next source to return */
    struct cairn__period **pv;
    size_t np;
    struct cairn__codec_ctx ctx;
    struct cairn_buf rbuf;
    struct dbuf **pool; /* free decoded-column buffers */
    int blockmode;      /* a block iterator: no records */
    cairn_line_filter_fn filter; /* applied as records are built */
    void *filter_ctx;
    uint64_t skipped, skipped_bytes;
    uint32_t cols_guess; /* first read of a column-only load */
    size_t npool;
    struct fdc *fds;
    size_t nfd, capfd;
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

/* ---- decoded-column buffers and descriptors, reused across blocks ---- */

static struct dbuf *dec_get(struct cairn__iter *it)
{
    if (it->npool)
        return it->pool[--it->npool];
    return calloc(1, sizeof(struct dbuf));
}

static void dbuf_free(struct dbuf *b)
{
    if (!b)
        return;
    cairn__block_dec_deinit(&b->d);
    free(b->r);
    free(b);
}

/* The pool has room for every source's buffer, so a put never fails. */
static void dec_put(struct cairn__iter *it, struct dbuf *d)
{
    if (d)
        it->pool[it->npool++] = d;
}

static int fd_of(struct cairn__iter *it, struct cairn__period *per, uint32_t file)
{
    for (size_t i = it->nfd; i-- > 0;)
        if (it->fds[i].per == per && it->fds[i].file == file)
            return it->fds[i].fd;
    if (it->nfd == it->capfd) {
        size_t nc = it->capfd ? it->capfd * 2 : 8;
        struct fdc *nv = realloc(it->fds, nc * sizeof *nv);
        if (!nv)
            return CAIRN_ENOMEM;
        it->fds = nv;
        it->capfd = nc;
    }
    int fd = cairn__period_open_fd(per, file);
    if (fd < 0)
        return fd;
    it->fds[it->nfd++] = (struct fdc){per, file, fd};
    return fd;
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
static int head_copy(struct cairn__iter *it, const struct cairn__hblock *b, uint32_t sid)
{
    if (!b->n || b->max_ts < it->start || b->min_ts >= it->end)
        return 0;
    uint32_t *perm = malloc((size_t)b->n * sizeof *perm);
    uint64_t *off = malloc((size_t)b->n * sizeof *off);
    struct dbuf *db = NULL;
    struct cairn__block_dec *d = NULL;
    int rc = CAIRN_ENOMEM;
    if (!perm || !off)
        goto out;
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
    rc = 0;
    if (!m)
        goto out;
    if (!b->sorted)
        qsort_r(perm, m, sizeof *perm, perm_cmp, b->ts);
    rc = CAIRN_ENOMEM;
    if (!(db = calloc(1, sizeof *db)) ||
        cairn__block_dec_reserve(d = &db->d, m, bytes, !it->no_lines))
        goto out;
    struct src *x = src_new(it);
    if (!x)
        goto out;
    x->sid = sid;
    x->order = UINT32_MAX;
    x->head = 1;
    x->dec = db;
    d->h.n = m;
    d->lines = it->no_lines ? NULL : d->lines_buf;
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
    db = NULL;
    rc = 0;
out:
    dbuf_free(db);
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
        }
        pthread_mutex_unlock(&p->mu);
    }
    if (!rc)
        rc = head_copy(it, &st->blk, sid);
    pthread_mutex_unlock(&sh->mu);
    return rc;
}

/* Point source i's cursor at its decoded columns, entries in range only. */
static int cur_set(struct cairn__iter *it, uint32_t i)
{
    struct dbuf *db = it->v[i].dec;
    const struct cairn__block_dec *d = &db->d;
    struct cur *c = &it->c[i];
    c->ts = d->ts;
    c->lens = d->lens;
    c->offs = d->offs;
    c->lines = d->lines;
    c->loaded = 1;
    range_of(d->ts, d->h.n, it->start, it->end, &c->lo, &c->hi);
    c->pos = it->backward ? c->hi : c->lo;
    c->r = NULL;
    if (it->blockmode)
        return 0;
    size_t m = c->hi - c->lo;
    if (m > db->rcap) {
        struct rec *nr = realloc(db->r, m * sizeof *nr);
        if (!nr)
            return CAIRN_ENOMEM;
        db->r = nr;
        db->rcap = m;
    }
    /* entry iterator: from here on lo, hi and pos count records */
    uint32_t n = 0;
    for (uint32_t k = c->lo; k < c->hi; k++) {
        const char *line = d->lines ? d->lines + d->offs[k] : NULL;
        if (it->filter && !it->filter(it->filter_ctx, c->sid, d->ts[k], line, d->lens[k])) {
            it->skipped++;
            it->skipped_bytes += d->lens[k];
            continue;
        }
        db->r[n++] = (struct rec){d->ts[k], line, d->lens[k]};
    }
    c->r = db->r;
    c->lo = 0;
    c->hi = n;
    c->pos = it->backward ? n : 0;
    return 0;
}

/* Read and decode the block of source i. With NO_LINES only the header and the two
 * small columns are read (a first pread sized from the blocks read before, a second if
 * the columns are longer), unless the block is about that small anyway: then it is
 * read whole and its CRC is checked too. */
#define COLS_GUESS_MIN 256u
#define COLS_GUESS_MAX 65536u
static int src_load(struct cairn__iter *it, uint32_t i)
{
    struct src *x = &it->v[i];
    const struct cairn__bref *r = &x->ref;
    int rc = CAIRN_ENOMEM;
    if (!(x->dec = dec_get(it)))
        return rc;
    int fd = fd_of(it, x->per, r->file);
    if (fd < 0) {
        rc = fd;
        goto fail;
    }
    uint32_t want = it->no_lines && r->len > it->cols_guess ? it->cols_guess : r->len;
    cairn_buf_reset(&it->rbuf);
    if (cairn_buf_reserve(&it->rbuf, want))
        goto fail;
    if ((rc = cairn__period_pread(x->per, fd, r->file, r->off, want, it->rbuf.data)))
        goto fail;
    if (want == r->len) {
        rc = cairn__block_decode_into(&it->ctx, (const unsigned char *)it->rbuf.data, want,
                                      it->no_lines ? 0 : CAIRN__DEC_LINES, &x->dec->d);
    } else {
        struct cairn__block_hdr h;
        rc = CAIRN_ECORRUPT;
        if (want < CAIRN__BLOCK_HDR ||
            cairn__block_hdr_parse_only((const unsigned char *)it->rbuf.data, &h) ||
            (uint64_t)CAIRN__BLOCK_HDR + h.ts_comp + h.len_comp + h.lines_comp + 4 != r->len)
            goto fail;
        uint32_t need = CAIRN__BLOCK_HDR + h.ts_comp + h.len_comp;
        uint32_t g = need + need / 4 + 64; /* blocks of a store are alike */
        it->cols_guess = g < COLS_GUESS_MIN ? COLS_GUESS_MIN : g > COLS_GUESS_MAX ? COLS_GUESS_MAX : g;
        if (need > want) {
            rc = CAIRN_ENOMEM;
            if (cairn_buf_reserve(&it->rbuf, need))
                goto fail;
            if ((rc = cairn__period_pread(x->per, fd, r->file, r->off + want, need - want,
                                          it->rbuf.data + want)))
                goto fail;
        }
        rc = cairn__block_decode_into(&it->ctx, (const unsigned char *)it->rbuf.data, need,
                                      CAIRN__DEC_COLS, &x->dec->d);
    }
    if (rc || (rc = cur_set(it, i)))
        goto fail;
    return 0;
fail:
    CAIRN_ERROR("read", "block unreadable", "dir=\"%s\" file=%u offset=%llu err=\"%s\"",
                x->per->dir, r->file, (unsigned long long)r->off, cairn_strerror(rc));
    dec_put(it, x->dec);
    x->dec = NULL;
    return rc;
}

/* Done with source i (at the heap's root): free its columns, put the next block of its
 * stream's chain in its place, or drop the root. */
static void src_end(struct cairn__iter *it, uint32_t i)
{
    dec_put(it, it->v[i].dec);
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

void cairn_store_iter_deinit(struct cairn_entry_iter *itp)
{
    struct cairn__iter *it = itp->impl;
    if (!it)
        return;
    for (size_t i = 0; i < it->n; i++)
        dbuf_free(it->v[i].dec);
    for (size_t i = 0; i < it->npool; i++)
        dbuf_free(it->pool[i]);
    for (size_t i = 0; i < it->nfd; i++)
        close(it->fds[i].fd);
    free(it->fds);
    free(it->pool);
    free(it->v);
    free(it->c);
    free(it->heap);
    cairn__periods_release(it->pv, it->np);
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
                     cairn_line_filter_fn filter, void *filter_ctx)
{
    struct cairn__iter *it = calloc(1, sizeof *it);
    itp->impl = it;
    if (!it)
        return CAIRN_ENOMEM;
    it->blockmode = blockmode;
    it->cols_guess = 1024;
    it->filter = filter;
    it->filter_ctx = filter_ctx;
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
    size_t n1 = it->n ? it->n : 1;
    if (!(it->heap = malloc(n1 * sizeof *it->heap)) || !(it->pool = malloc(n1 * sizeof *it->pool)) ||
        !(it->c = calloc(n1, sizeof *it->c)))
        goto nomem;
    for (size_t i = 0; i < it->n; i++) {
        it->c[i].sid = it->v[i].sid;
        it->c[i].order = it->v[i].order;
        it->c[i].next = -1;
        if (it->v[i].head && cur_set(it, (uint32_t)i))
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
    return iter_init(itp, s, tenant, sids, start, end, dir, flags, 0, NULL, NULL);
}

int cairn_store_iter_init_filtered(struct cairn_entry_iter *itp, struct cairn_store *s,
                                   const char *tenant, const roaring_bitmap_t *sids, int64_t start,
                                   int64_t end, enum cairn_iter_dir dir, unsigned flags,
                                   cairn_line_filter_fn filter, void *ctx)
{
    if (filter && (flags & CAIRN_ITER_NO_LINES)) {
        itp->impl = NULL;
        return CAIRN_EINVAL;
    }
    return iter_init(itp, s, tenant, sids, start, end, dir, flags, 0, filter, ctx);
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
            if (!it->has_bound || hless(h, &it->bound))
                goto emit; /* still the smallest: no heap work */
            sift_down(it, 0);
        } else {
            src_end(it, i);
        }
    }
    while (it->hn) {
        i = it->heap[0].idx;
        if (!it->c[i].loaded) {
            int rc = src_load(it, i);
            if (rc)
                return rc;
            if (it->c[i].lo < it->c[i].hi) {
                it->heap[0] = hent_of(it, i);
                sift_down(it, 0);
            } else {
                src_end(it, i);
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
    int rc = iter_init(&e, s, tenant, sids, start, end, CAIRN_ITER_FORWARD, flags, 1, NULL, NULL);
    bit->impl = e.impl;
    return rc;
}

int cairn_store_blocks_next(struct cairn_block_iter *bit, struct cairn_block_view *v)
{
    struct cairn__iter *it = bit->impl;
    if (!it)
        return 0;
    if (it->cur >= 0) { /* done with the previous block */
        dec_put(it, it->v[it->cur].dec);
        it->v[it->cur].dec = NULL;
        it->cur = -1;
    }
    while (it->bnext < it->n) {
        size_t i = it->bnext++;
        struct cur *c = &it->c[i];
        if (!c->loaded) {
            int rc = src_load(it, (uint32_t)i);
            if (rc)
                return rc;
        }
        if (c->lo >= c->hi) {
            dec_put(it, it->v[i].dec);
            it->v[i].dec = NULL;
            continue;
        }
        v->sid = c->sid;
        v->n = c->hi - c->lo;
        v->ts = c->ts + c->lo;
        v->lens = c->lens + c->lo;
        v->offs = c->lines ? c->offs + c->lo : NULL;
        v->lines = c->lines;
        v->raw_bytes = 0;
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
