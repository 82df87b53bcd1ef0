/* read.c -- the read API of store_read.h: label names and values, postings, stream
 * labels, index stats, and the merged entry iterator.
 *
 * The iterator snapshots, per stream and under the stream's shard lock, the block
 * references overlapping [start, end) and a sorted copy of the open block's entries
 * in range. Each block is one source of a heap ordered by (ts, stream id, arrival);
 * a block not yet read sits in the heap keyed by its min (forward) or max (backward)
 * timestamp and is read and decompressed only when it reaches the top, so blocks are
 * loaded in time order and only while the merge needs them. */
#include <stdlib.h>
#include <string.h>

#include "cairn/log.h"
#include "store/store_int.h"

/* ---- string lists ---- */

void cairn_strlist_deinit(struct cairn_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

int cairn_strlist_add(struct cairn_strlist *l, const char *s, size_t len)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        char **nv = realloc(l->v, nc * sizeof *nv);
        if (!nv)
            return CAIRN_ENOMEM;
        l->v = nv;
        l->cap = nc;
    }
    char *c = malloc(len + 1);
    if (!c)
        return CAIRN_ENOMEM;
    memcpy(c, s, len);
    c[len] = '\0';
    l->v[l->n++] = c;
    return 0;
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort and drop duplicates among l->v[from..n). */
static void sort_unique(struct cairn_strlist *l, size_t from)
{
    size_t n = l->n - from;
    if (n < 2)
        return;
    qsort(l->v + from, n, sizeof *l->v, cmp_cstr);
    size_t w = from + 1;
    for (size_t i = from + 1; i < l->n; i++) {
        if (!strcmp(l->v[i], l->v[w - 1]))
            free(l->v[i]);
        else
            l->v[w++] = l->v[i];
    }
    l->n = w;
}

/* ---- period snapshots ---- */

/* Periods of t overlapping [start, end), each with a reference; caller unrefs. */
static struct cairn__period **periods_in(struct cairn__tenant *t, int64_t start, int64_t end,
                                         size_t *n)
{
    pthread_mutex_lock(&t->periods_mu);
    struct cairn__period **v = malloc((t->n_periods ? t->n_periods : 1) * sizeof *v);
    *n = 0;
    for (size_t i = 0; v && i < t->n_periods; i++) {
        struct cairn__period *p = t->periods[i];
        if (p->start < end && p->end > start) {
            cairn__period_ref(p);
            v[(*n)++] = p;
        }
    }
    pthread_mutex_unlock(&t->periods_mu);
    return v;
}

static void periods_release(struct cairn__period **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cairn__period_unref(v[i]);
    free(v);
}

static int label_list(struct cairn_store *s, const char *tenant, const char *name, int64_t start,
                      int64_t end, struct cairn_strlist *out)
{
    struct cairn__tenant *t = cairn__tenant_get(s, tenant, 0);
    if (!t)
        return 0;
    size_t np, from = out->n;
    struct cairn__period **pv = periods_in(t, start, end, &np);
    if (!pv)
        return CAIRN_ENOMEM;
    size_t nl = name ? strlen(name) : 0;
    int rc = 0;
    for (size_t i = 0; i < np && !rc; i++) {
        struct cairn__period *p = pv[i];
        pthread_mutex_lock(&p->mu);
        for (size_t k = 0; k < p->postings.cap && !rc; k++) {
            const struct cairn__strmap_ent *e = &p->postings.v[k];
            if (!e->key)
                continue;
            size_t kn = strlen(e->key);
            if (!name)
                rc = cairn_strlist_add(out, e->key, kn);
            else if (kn == nl && !memcmp(e->key, name, nl))
                rc = cairn_strlist_add(out, e->key + kn + 1, e->klen - kn - 1);
        }
        pthread_mutex_unlock(&p->mu);
        if (out->n - from > 4096)
            sort_unique(out, from);
    }
    periods_release(pv, np);
    sort_unique(out, from);
    return rc;
}

int cairn_store_label_names(struct cairn_store *s, const char *tenant, int64_t start, int64_t end,
                            struct cairn_strlist *out)
{
    return label_list(s, tenant, NULL, start, end, out);
}

int cairn_store_label_values(struct cairn_store *s, const char *tenant, const char *name,
                             int64_t start, int64_t end, struct cairn_strlist *out)
{
    return label_list(s, tenant, name, start, end, out);
}

int cairn_store_postings(struct cairn_store *s, const char *tenant, const char *name,
                         const char *value, int64_t start, int64_t end, roaring_bitmap_t *out)
{
    struct cairn__tenant *t = cairn__tenant_get(s, tenant, 0);
    if (!t)
        return 0;
    struct cairn_buf key = CAIRN_BUF_INIT;
    if (cairn_buf_append_str(&key, name) || cairn_buf_append_byte(&key, '\0') ||
        cairn_buf_append_str(&key, value)) {
        cairn_buf_deinit(&key);
        return CAIRN_ENOMEM;
    }
    size_t np;
    struct cairn__period **pv = periods_in(t, start, end, &np);
    for (size_t i = 0; pv && i < np; i++) {
        pthread_mutex_lock(&pv[i]->mu);
        roaring_bitmap_t *b = cairn__strmap_get(&pv[i]->postings, key.data, key.len);
        if (b)
            roaring_bitmap_or_inplace(out, b);
        pthread_mutex_unlock(&pv[i]->mu);
    }
    cairn_buf_deinit(&key);
    if (!pv)
        return CAIRN_ENOMEM;
    periods_release(pv, np);
    return 0;
}

int cairn_store_streams(struct cairn_store *s, const char *tenant, int64_t start, int64_t end,
                        roaring_bitmap_t *out)
{
    struct cairn__tenant *t = cairn__tenant_get(s, tenant, 0);
    if (!t)
        return 0;
    size_t np;
    struct cairn__period **pv = periods_in(t, start, end, &np);
    if (!pv)
        return CAIRN_ENOMEM;
    for (size_t i = 0; i < np; i++) {
        pthread_mutex_lock(&pv[i]->mu);
        roaring_bitmap_or_inplace(out, pv[i]->all);
        pthread_mutex_unlock(&pv[i]->mu);
    }
    periods_release(pv, np);
    return 0;
}

int cairn_store_stream_labels(struct cairn_store *s, const char *tenant, uint32_t sid,
                              struct cairn_labels *out)
{
    struct cairn__tenant *t = cairn__tenant_get(s, tenant, 0);
    struct cairn__stream *st = t ? cairn__stream_by_id(t, sid) : NULL;
    if (!st)
        return CAIRN_ENOTFOUND;
    cairn_labels_reset(out);
    for (size_t i = 0; i < st->nl; i++) /* stored sorted, so the copy is sorted */
        if (cairn_labels_add(out, st->lv[i].name, st->lv[i].name_len, st->lv[i].value,
                             st->lv[i].value_len))
            return CAIRN_ENOMEM;
    return 0;
}

int cairn_store_stream_labels_str(struct cairn_store *s, const char *tenant, uint32_t sid,
                                  struct cairn_buf *out)
{
    struct cairn__tenant *t = cairn__tenant_get(s, tenant, 0);
    struct cairn__stream *st = t ? cairn__stream_by_id(t, sid) : NULL;
    if (!st)
        return CAIRN_ENOTFOUND;
    return cairn_buf_append(out, st->ltext, st->ltext_len) ? CAIRN_ENOMEM : 0;
}

int cairn_store_tenants(struct cairn_store *s, struct cairn_strlist *out)
{
    size_t from = out->n;
    struct cairn__tenant *t;
    for (size_t i = 0; (t = cairn__tenant_at(s, i)); i++)
        if (cairn_strlist_add(out, t->name, strlen(t->name)))
            return CAIRN_ENOMEM;
    sort_unique(out, from);
    return 0;
}

/* ---- the iterator ---- */

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
    uint32_t *heap;
    size_t hn;
    long cur; /* source returned last, to advance on the next call */
    struct cairn__period **pv;
    size_t np;
    struct cairn__codec_ctx ctx;
    struct cairn_buf rbuf;
};

/* Does source a come before source b in the iteration order? */
static int before(const struct cairn__iter *it, const struct src *a, const struct src *b)
{
    if (a->key != b->key)
        return it->backward ? a->key > b->key : a->key < b->key;
    if (a->loaded != b->loaded)
        return !a->loaded; /* read a block before returning an entry at its bound */
    if (a->sid != b->sid)
        return it->backward ? a->sid > b->sid : a->sid < b->sid;
    return it->backward ? a->order > b->order : a->order < b->order;
}

static void heap_push(struct cairn__iter *it, uint32_t i)
{
    size_t k = it->hn++;
    it->heap[k] = i;
    while (k > 0) {
        size_t parent = (k - 1) / 2;
        if (!before(it, &it->v[it->heap[k]], &it->v[it->heap[parent]]))
            break;
        uint32_t tmp = it->heap[k];
        it->heap[k] = it->heap[parent];
        it->heap[parent] = tmp;
        k = parent;
    }
}

static uint32_t heap_pop(struct cairn__iter *it)
{
    uint32_t top = it->heap[0];
    it->heap[0] = it->heap[--it->hn];
    size_t k = 0;
    for (;;) {
        size_t l = 2 * k + 1, r = l + 1, m = k;
        if (l < it->hn && before(it, &it->v[it->heap[l]], &it->v[it->heap[m]]))
            m = l;
        if (r < it->hn && before(it, &it->v[it->heap[r]], &it->v[it->heap[m]]))
            m = r;
        if (m == k)
            break;
        uint32_t tmp = it->heap[k];
        it->heap[k] = it->heap[m];
        it->heap[m] = tmp;
        k = m;
    }
    return top;
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
    periods_release(it->pv, it->np);
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
    if (!(it->pv = periods_in(t, start, end, &it->np)))
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
        heap_push(it, (uint32_t)i);
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
    if (it->cur >= 0) {
        struct src *x = &it->v[it->cur];
        it->cur = -1;
        int more;
        if (it->backward)
            more = --x->pos > x->lo;
        else
            more = ++x->pos < x->hi;
        if (more) {
            src_set_key(it, x);
            heap_push(it, (uint32_t)(x - it->v));
        } else {
            cairn__block_dec_deinit(&x->dec);
        }
    }
    while (it->hn) {
        uint32_t i = heap_pop(it);
        struct src *x = &it->v[i];
        if (!x->loaded) {
            int rc = src_load(it, x);
            if (rc)
                return rc;
            if (src_start(it, x))
                heap_push(it, i);
            else
                cairn__block_dec_deinit(&x->dec);
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

/* ---- index stats ---- */

int cairn_store_index_stats(struct cairn_store *s, const char *tenant, const roaring_bitmap_t *sids,
                            int64_t start, int64_t end, struct cairn_index_stats *out)
{
    memset(out, 0, sizeof *out);
    struct cairn__tenant *t = cairn__tenant_get(s, tenant, 0);
    if (!t)
        return 0;
    size_t np;
    struct cairn__period **pv = periods_in(t, start, end, &np);
    roaring_bitmap_t *seen = roaring_bitmap_create();
    if (!pv || !seen) {
        if (pv)
            periods_release(pv, np);
        if (seen)
            roaring_bitmap_free(seen);
        return CAIRN_ENOMEM;
    }
    for (size_t i = 0; i < np; i++) {
        struct cairn__period *p = pv[i];
        pthread_mutex_lock(&p->mu);
        for (size_t k = 0; k < p->streams.cap; k++) {
            struct cairn__pstream *ps = p->streams.v[k].val;
            if (!p->streams.v[k].key || (sids && !roaring_bitmap_contains(sids, ps->sid)))
                continue;
            uint32_t last_chunk = UINT32_MAX;
            for (size_t j = 0; j < ps->n; j++) {
                const struct cairn__bref *r = &ps->refs[j];
                if (r->max_ts < start || r->min_ts >= end)
                    continue;
                roaring_bitmap_add(seen, ps->sid);
                out->entries += r->n;
                out->bytes += r->raw;
                if (r->chunk != last_chunk)
                    out->chunks++;
                last_chunk = r->chunk;
            }
        }
        pthread_mutex_unlock(&p->mu);
    }
    periods_release(pv, np);
    /* entries still in open blocks count as one chunk per stream */
    for (int k = 0; k < CAIRN__SHARDS; k++) {
        struct cairn__shard *sh = &t->shards[k];
        pthread_mutex_lock(&sh->mu);
        for (size_t j = 0; j < sh->cap; j++)
            for (struct cairn__stream *st = sh->tab[j]; st; st = st->next) {
                const struct cairn__hblock *b = &st->blk;
                if (!b->n || (sids && !roaring_bitmap_contains(sids, st->sid)) ||
                    b->max_ts < start || b->min_ts >= end)
                    continue;
                uint64_t n = 0, bytes = 0;
                for (uint32_t i = 0; i < b->n; i++)
                    if (b->ts[i] >= start && b->ts[i] < end) {
                        n++;
                        bytes += b->lens[i];
                    }
                if (!n)
                    continue;
                roaring_bitmap_add(seen, st->sid);
                out->entries += n;
                out->bytes += bytes;
                if (!st->chunk_open)
                    out->chunks++;
            }
        pthread_mutex_unlock(&sh->mu);
    }
    out->streams = roaring_bitmap_get_cardinality(seen);
    roaring_bitmap_free(seen);
    return 0;
}
