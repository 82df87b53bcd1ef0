/* iter_load.c -- what the iterators read: the snapshot of each stream's block
 * references and open block, segment files opened (and mapped) once per iterator,
 * blocks read and decoded into buffers recycled between blocks, and the records the
 * merge returns entries from (with the entry predicate applied as they are built). */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/log.h"
#include "cairn/timeutil.h"
#include "store/iter_int.h"
#include "store/needle.h"

struct src *cairn__iter_src_new(struct cairn__iter *it)
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

struct dbuf *cairn__iter_dec_get(struct cairn__iter *it)
{
    if (it->npool)
        return it->pool[--it->npool];
    return calloc(1, sizeof(struct dbuf));
}

void cairn__iter_dbuf_free(struct dbuf *b)
{
    if (!b)
        return;
    cairn__block_dec_deinit(&b->d);
    free(b->r);
    cairn_buf_deinit(&b->kept);
    free(b);
}

/* The pool has room for every source's buffer, so a put never fails. */
void cairn__iter_dec_put(struct cairn__iter *it, struct dbuf *d)
{
    if (d)
        it->pool[it->npool++] = d;
}

static struct fdc *fd_of(struct cairn__iter *it, struct cairn__period *per, uint32_t file,
                         int *err)
{
    for (size_t i = it->nfd; i-- > 0;)
        if (it->fds[i].per == per && it->fds[i].file == file)
            return &it->fds[i];
    if (it->nfd == it->capfd) {
        size_t nc = it->capfd ? it->capfd * 2 : 8;
        struct fdc *nv = realloc(it->fds, nc * sizeof *nv);
        if (!nv) {
            *err = CAIRN_ENOMEM;
            return NULL;
        }
        it->fds = nv;
        it->capfd = nc;
    }
    int fd = cairn__period_open_fd(per, file);
    if (fd < 0 && fd != CAIRN__FD_REMOTE) {
        *err = fd;
        return NULL;
    }
    struct fdc *f = &it->fds[it->nfd++];
    *f = (struct fdc){per, file, fd, NULL, 0};
    struct stat st;
    if (fd >= 0 && !it->no_mmap && fstat(fd, &st) == 0 && st.st_size > 0) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
        if (m != MAP_FAILED) { /* else pread */
            f->map = m;
            f->maplen = (size_t)st.st_size;
        }
    }
    return f;
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

static int perm_cmp_ent(const void *a, const void *b, void *ctx)
{
    const struct cairn__hblock *blk = ctx;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    int64_t tx = cairn__hblock_ent(blk, x)->ts, ty = cairn__hblock_ent(blk, y)->ts;
    if (tx != ty)
        return tx < ty ? -1 : 1;
    return x < y ? -1 : (x > y);
}

/* Copy the open block's entries in range into a sorted decoded block. Shard lock held. */
static int head_copy(struct cairn__iter *it, const struct cairn__hblock *b, uint32_t sid)
{
    if (!b->n || b->max_ts < it->start || b->min_ts >= it->end)
        return 0;
    uint32_t *perm = malloc((size_t)b->n * sizeof *perm);
    struct dbuf *db = NULL;
    struct cairn__block_dec *d = NULL;
    int rc = CAIRN_ENOMEM;
    if (!perm)
        goto out;
    uint32_t m = 0;
    uint64_t bytes = 0, smbytes = 0;
    for (uint32_t i = 0; i < b->n; i++) {
        const struct cairn__hent *e = cairn__hblock_ent(b, i);
        if (e->ts >= it->start && e->ts < it->end) {
            perm[m++] = i;
            bytes += e->len;
            smbytes += e->sm_len;
        }
    }
    rc = 0;
    if (!m)
        goto out;
    if (!b->sorted)
        qsort_r(perm, m, sizeof *perm, perm_cmp_ent, (void *)b);
    rc = CAIRN_ENOMEM;
    /* structured metadata are read even without lines: they are the entries' labels in
     * a metric query (Loki 3), and they sit after each line in the pages */
    int no_lines = it->no_lines && !b->has_sm;
    if (!(db = calloc(1, sizeof *db)) ||
        cairn__block_dec_reserve(d = &db->d, m, bytes, !no_lines) ||
        (b->has_sm &&
         (cairn__block_dec_reserve_sm(d, m) || cairn_buf_reserve(&d->smb, smbytes))))
        goto out;
    struct src *x = cairn__iter_src_new(it);
    if (!x)
        goto out;
    x->sid = sid;
    x->order = UINT32_MAX;
    x->head = 1;
    x->dec = db;
    d->h.n = m;
    d->lines = no_lines ? NULL : d->lines_buf;
    uint64_t w = 0;
    for (uint32_t i = 0; i < m; i++) {
        const struct cairn__hent *e = cairn__hblock_ent(b, perm[i]);
        d->ts[i] = e->ts;
        d->lens[i] = e->len;
        d->offs[i] = w;
        if (d->lines)
            cairn__hblock_read(b, e->off, e->len, d->lines + w);
        w += e->len;
        if (d->has_sm) {
            d->sm_off[i] = d->smb.len;
            d->sm_len[i] = e->sm_len;
            cairn__hblock_read(b, (size_t)e->off + e->len, e->sm_len, d->smb.data + d->smb.len);
            d->smb.len += e->sm_len;
        }
    }
    db = NULL;
    rc = 0;
out:
    cairn__iter_dbuf_free(db);
    free(perm);
    return rc;
}

/* Snapshot one stream: block refs and head copy, under its shard lock. */
int cairn__iter_snap_stream(struct cairn__iter *it, struct cairn__tenant *t, uint32_t sid)
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
            struct src *x = cairn__iter_src_new(it);
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
int cairn__iter_cur_set(struct cairn__iter *it, uint32_t i, struct cairn__block_dec *d)
{
    struct dbuf *db = it->v[i].dec;
    struct cur *c = &it->c[i];
    c->ts = d->ts;
    c->lens = d->lens;
    c->offs = d->offs;
    c->lines = d->lines;
    c->sm = d->has_sm && d->lines ? d->smb.data : NULL;
    c->sm_off = d->sm_off;
    c->sm_len = d->sm_len;
    c->loaded = 1;
    range_of(d->ts, d->h.n, it->start, it->end, &c->lo, &c->hi);
    c->pos = it->backward ? c->hi : c->lo;
    c->r = NULL;
    if (it->blockmode)
        return 0;
    size_t m = c->hi - c->lo;
    int scratch = d != &db->d;
    struct rec **rp = scratch ? &it->sr : &db->r; /* scratch: the kept ones move after */
    size_t *rcap = scratch ? &it->srcap : &db->rcap;
    if (m > *rcap) {
        size_t want = m > *rcap + *rcap / 2 ? m : *rcap + *rcap / 2;
        struct rec *nr = realloc(*rp, want * sizeof *nr);
        if (!nr)
            return CAIRN_ENOMEM;
        *rp = nr;
        *rcap = want;
    }
    struct rec *r = *rp;
    /* entry iterator: from here on lo, hi and pos count records */
    uint32_t n = 0;
    uint64_t kept = 0, all = 0;
    for (uint32_t k = c->lo; k < c->hi; k++) {
        const char *line = d->lines ? d->lines + d->offs[k] : NULL;
        all += d->lens[k];
        if (it->filter) { /* cairn_store_iter_sm answers for the entry being filtered */
            it->cur_sm = c->sm ? c->sm + d->sm_off[k] : NULL;
            it->cur_sm_len = c->sm ? d->sm_len[k] : 0;
        }
        if (it->filter && !it->filter(it->filter_ctx, c->sid, d->ts[k], line, d->lens[k])) {
            it->skipped++;
            it->skipped_bytes += d->lens[k];
            continue;
        }
        if (c->sm)
            r[n++] = (struct rec){d->ts[k], line, d->lens[k], d->sm_len[k], c->sm + d->sm_off[k]};
        else
            r[n++] = (struct rec){d->ts[k], line, d->lens[k], 0, NULL};
        kept += d->lens[k] + (c->sm ? d->sm_len[k] : 0);
    }
    if (scratch && n > db->rcap) {
        struct rec *nr = realloc(db->r, n * sizeof *nr);
        if (!nr)
            return CAIRN_ENOMEM;
        db->r = nr;
        db->rcap = n;
    }
    if (scratch && n)
        memcpy(db->r, r, n * sizeof *r);
    c->r = db->r;
    c->lo = 0;
    c->hi = n;
    c->pos = it->backward ? n : 0;
    if (!scratch)
        return 0;
    /* Decoded into the scratch: the records must not point into it past the next
     * load. Few lines kept: copy them (the scratch stays warm for the next block, so
     * memory is what the filter keeps); most kept: the source takes the columns over
     * and the scratch gets the source's old ones. The columns are not read again. */
    c->ts = NULL;
    c->lens = NULL;
    c->offs = NULL;
    c->lines = NULL;
    c->sm = NULL;
    if (kept * 2 > all) {
        struct cairn__block_dec t = db->d;
        db->d = *d;
        *d = t;
        return 0;
    }
    cairn_buf_reset(&db->kept);
    if (d->lines && kept) {
        if (cairn_buf_reserve(&db->kept, kept))
            return CAIRN_ENOMEM;
        char *w = db->kept.data;
        for (uint32_t k = 0; k < n; k++) {
            memcpy(w, db->r[k].line, db->r[k].len);
            db->r[k].line = w;
            w += db->r[k].len;
            if (db->r[k].sm_len) {
                memcpy(w, db->r[k].sm, db->r[k].sm_len);
                db->r[k].sm = w;
                w += db->r[k].sm_len;
            }
        }
        db->kept.len = kept;
    }
    return 0;
}

/* Read and decode the block of source i. With NO_LINES only the header and the two
 * small columns are read (a first pread sized from the blocks read before, a second if
 * the columns are longer), unless the block is about that small anyway: then it is
 * read whole and its CRC is checked too. */
/* How to decode the block at p[0..len): with NO_LINES its columns only, unless it
 * carries structured metadata (version 3): a reader without lines (a metric query
 * without stages) still needs them, they are the entries' labels in Loki 3, and the
 * metadata column is only decoded with the lines. */
static int dec_flags(const struct cairn__iter *it, const unsigned char *p, size_t len)
{
    struct cairn__block_hdr h;
    if (!it->no_lines)
        return CAIRN__DEC_LINES;
    return len >= CAIRN__BLOCK_HDR && cairn__block_hdr_parse_only(p, &h) == 0 &&
                   h.version >= CAIRN__BLOCK_VERSION_SM
               ? CAIRN__DEC_LINES
               : 0;
}

#define COLS_GUESS_MIN 256u
#define COLS_GUESS_MAX 65536u
int cairn__iter_src_load(struct cairn__iter *it, uint32_t i)
{
    if (it->deadline && cairn_mono_ns() > it->deadline)
        return CAIRN_ETIMEDOUT;
    struct src *x = &it->v[i];
    const struct cairn__bref *r = &x->ref;
    int rc = CAIRN_ENOMEM;
    if (!(x->dec = cairn__iter_dec_get(it)))
        return rc;
    struct cairn__block_dec *dd = it->filter && !it->blockmode ? &it->scr : &x->dec->d;
    struct fdc *f = fd_of(it, x->per, r->file, &rc);
    if (!f)
        goto fail;
    if (cairn__needle_skip(it, x, f)) /* its filter: no line holds a needed literal */
        goto empty;
    int fd = f->fd;
    if (fd == CAIRN__FD_REMOTE && !it->prefetched) {
        it->prefetched = 1;
        cairn__remote_prefetch(it);
    }
    if (f->map && r->off <= f->maplen && r->len <= f->maplen - r->off) {
        const unsigned char *p = f->map + r->off;
        struct cairn__block_hdr h;
        if (!it->no_lines || r->len < CAIRN__BLOCK_HDR + 4) {
            rc = cairn__block_decode_into(&it->ctx, p, r->len, dec_flags(it, p, r->len), dd);
        } else if (cairn__block_hdr_parse_only(p, &h) || !cairn__block_len_ok(&h, p, r->len)) {
            rc = CAIRN_ECORRUPT;
        } else if (h.version >= CAIRN__BLOCK_VERSION_SM) {
            rc = cairn__block_decode_into(&it->ctx, p, r->len, CAIRN__DEC_LINES, dd);
        } else { /* the line column's pages are never touched */
            rc = cairn__block_decode_into(&it->ctx, p, CAIRN__BLOCK_HDR + h.ts_comp + h.len_comp,
                                          CAIRN__DEC_COLS, dd);
        }
        goto decoded;
    }
    /* a remote block is fetched whole: one ranged GET and one cache entry per block */
    uint32_t want = it->no_lines && r->len > it->cols_guess && fd != CAIRN__FD_REMOTE
                        ? it->cols_guess
                        : r->len;
    cairn_buf_reset(&it->rbuf);
    rc = CAIRN_ENOMEM;
    if (cairn_buf_reserve(&it->rbuf, want))
        goto fail;
    if ((rc = cairn__period_pread(x->per, fd, r->file, r->off, want, it->rbuf.data)))
        goto fail;
    it->rbuf.len = want;
    if (want == r->len) {
        rc = cairn__block_decode_into(&it->ctx, (const unsigned char *)it->rbuf.data, want,
                                      dec_flags(it, (const unsigned char *)it->rbuf.data, want), dd);
    } else {
        struct cairn__block_hdr h;
        rc = CAIRN_ECORRUPT;
        if (want < CAIRN__BLOCK_HDR ||
            cairn__block_hdr_parse_only((const unsigned char *)it->rbuf.data, &h) ||
            !cairn__block_len_ok(&h, NULL, r->len))
            goto fail;
        uint32_t need = CAIRN__BLOCK_HDR + h.ts_comp + h.len_comp;
        uint32_t g = need + need / 4 + 64; /* blocks of a store are alike */
        it->cols_guess = g < COLS_GUESS_MIN   ? COLS_GUESS_MIN
                         : g > COLS_GUESS_MAX ? COLS_GUESS_MAX
                                              : g;
        int flags = CAIRN__DEC_COLS;
        if (h.version >= CAIRN__BLOCK_VERSION_SM) { /* see dec_flags: the whole block */
            need = r->len;
            flags = CAIRN__DEC_LINES;
        }
        if (need > want) {
            rc = CAIRN_ENOMEM;
            if (cairn_buf_reserve(&it->rbuf, need - want)) /* keeps the bytes read */
                goto fail;
            if ((rc = cairn__period_pread(x->per, fd, r->file, r->off + want, need - want,
                                          it->rbuf.data + want)))
                goto fail;
        }
        rc = cairn__block_decode_into(&it->ctx, (const unsigned char *)it->rbuf.data, need, flags, dd);
    }
decoded:
    if (rc || (rc = cairn__iter_cur_set(it, i, dd)))
        goto fail;
    return 0;
fail:
    cairn__iter_dec_put(it, x->dec);
    x->dec = NULL;
    if (rc == CAIRN_ECORRUPT) {
        /* a damaged block costs its own entries, not the query: it reads as empty */
        CAIRN_ERROR("read", "damaged block skipped",
                    "dir=\"%s\" file=%u offset=%llu len=%u entries=%u min_ts=%lld max_ts=%lld",
                    x->per->dir, r->file, (unsigned long long)r->off, r->len, r->n,
                    (long long)r->min_ts, (long long)r->max_ts);
        atomic_fetch_add(&it->s->damage.blocks_skipped, 1);
        goto empty;
    }
    CAIRN_ERROR("read", "block unreadable", "dir=\"%s\" file=%u offset=%llu err=\"%s\"",
                x->per->dir, r->file, (unsigned long long)r->off, cairn_strerror(rc));
    return rc;
empty: /* the source reads as empty */
    if (x->dec) {
        cairn__iter_dec_put(it, x->dec);
        x->dec = NULL;
    }
    struct cur *c = &it->c[i];
    c->loaded = 1;
    c->lo = c->hi = c->pos = 0;
    c->r = NULL;
    return 0;
}

