/* needle.c -- block filter sidecars: appended as blocks are cut, read lazily by an
 * iterator that has required literals, consulted before a block is read.
 *
 * Why a sidecar and not the block or the segment record: the block format and the
 * segment layout stay as they are (old data has no filters and is simply read), and
 * a sidecar may be lost or damaged without any answer changing. Records are appended
 * under the period's lock (one appender at a time, the header written first) and are
 * not fsynced: a record lost in a crash costs a block read, and one describing a block
 * that did not survive (the segment cut back) names a CRC no new block there has. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/hash.h"
#include "cairn/log.h"
#include "store/bfilter.h"
#include "store/iter_int.h"
#include "store/needle.h"


/* ---- write side ---- */

static int flt_append(struct cairn__period *p, uint32_t file, const struct cairn_buf *rec)
{
    char path[4096];
    cairn__flt_path(p, file, path, sizeof path);
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
            return CAIRN_EIO;
        if (cairn__file_hdr_write(fd, cairn__flt_magic(), CAIRN__FLT_VERSION)) {
            close(fd);
            unlink(path);
            return CAIRN_EIO;
        }
    }
    int rc = cairn__write_all(fd, rec->data, rec->len, path);
    close(fd);
    return rc;
}

void cairn__needle_after_cut(struct cairn_store *s, struct cairn__period *p, uint32_t sid,
                             const struct cairn_buf *block, const char *lines,
                             const uint32_t *lens, uint32_t n)
{
    if (!s->cfg.block_filters || block->len < CAIRN__BLOCK_HDR + 4)
        return;
    struct cairn__bf_builder b = {0};
    struct cairn_buf rec = CAIRN_BUF_INIT;
    uint64_t raw = 0;
    for (uint32_t i = 0; i < n; i++)
        raw += lens[i];
    int rc = cairn__bf_begin(&b, raw);
    if (rc)
        goto out;
    const char *q = lines;
    for (uint32_t i = 0; i < n; i++) {
        cairn__bf_add_line(&b, q, lens[i]);
        q += lens[i];
    }
    pthread_mutex_lock(&p->mu);
    /* the block just written is the stream's newest ref here */
    struct cairn__pstream *ps = cairn__strmap_get(&p->streams, &sid, sizeof sid);
    struct cairn__bref ref = {0};
    int have = ps && ps->n && ps->refs[ps->n - 1].len == block->len;
    if (have)
        ref = ps->refs[ps->n - 1];
    rc = CAIRN_ENOTFOUND;
    if (have) {
        unsigned char pre[CAIRN__FLT_PRE] = {CAIRN__BF_VERSION, CAIRN__BF_GRAM, CAIRN__BF_K,
                                            CAIRN__BF_STRIDE};
        uint32_t bcrc =
            cairn_get_u32le((const unsigned char *)block->data + block->len - 4);
        for (int k = 0; k < 8; k++)
            pre[4 + k] = (unsigned char)(ref.off >> (8 * k));
        for (int k = 0; k < 4; k++) {
            pre[12 + k] = (unsigned char)(ref.len >> (8 * k));
            pre[16 + k] = (unsigned char)(bcrc >> (8 * k));
            pre[20 + k] = (unsigned char)((uint32_t)b.nwords >> (8 * k));
        }
        size_t at = cairn__rec_begin(&rec, CAIRN__FLT_REC);
        rc = CAIRN_ENOMEM;
        if (at != (size_t)-1 && !cairn_buf_append(&rec, pre, sizeof pre) &&
            !cairn_buf_reserve(&rec, b.nwords * 8)) {
            size_t w = 0;
            for (; w < b.nwords && !cairn_buf_append_u64le(&rec, b.bits[w]); w++)
                ;
            if (w == b.nwords) {
                cairn__rec_finish(&rec, at);
                rc = flt_append(p, ref.file, &rec);
            }
        }
    }
    pthread_mutex_unlock(&p->mu);
out:
    if (rc)
        CAIRN_DEBUG("needle", "block filter not written (the block will be read)",
                    "dir=\"%s\" err=\"%s\"", p->dir, cairn_strerror(rc));
    cairn_buf_deinit(&rec);
    cairn__bf_deinit(&b);
}

/* ---- read side ---- */

/* A sidecar this query uses (a reference into the store's cache). */
struct nsc {
    struct cairn__period *per;
    uint32_t file;
    struct cairn__sidecar *sc; /* NULL: none, every block of the file is read */
};

/* Shared by the iterators of one query (its worker threads): each sidecar is taken
 * from the store's cache (needle_cache.c) once, under mu; a taken entry is never
 * changed, moved or freed before the query ends. */
struct cairn_store_needles {
    struct cairn_store *s;
    char **lits;
    size_t *lens;
    size_t nlits;
    pthread_mutex_t mu;
    struct nsc **sc;
    size_t nsc, capsc;
};

/* The query's sidecar of (per, file), taken from the cache the first time. */
static struct nsc *nsc_get(struct cairn_store_needles *nd, struct cairn__period *per,
                           uint32_t file)
{
    struct nsc *r = NULL;
    pthread_mutex_lock(&nd->mu);
    for (size_t i = 0; i < nd->nsc; i++)
        if (nd->sc[i]->per == per && nd->sc[i]->file == file) {
            r = nd->sc[i];
            goto out;
        }
    if (nd->nsc == nd->capsc) {
        size_t nc = nd->capsc ? nd->capsc * 2 : 8;
        struct nsc **v = realloc(nd->sc, nc * sizeof *v);
        if (!v)
            goto out;
        nd->sc = v;
        nd->capsc = nc;
    }
    if (!(r = calloc(1, sizeof *r)))
        goto out;
    r->per = per;
    r->file = file;
    r->sc = cairn__fltc_get(nd->s, per, file);
    nd->sc[nd->nsc++] = r;
out:
    pthread_mutex_unlock(&nd->mu);
    return r;
}

/* The block's trailing CRC (its last 4 bytes). */
static int block_crc(const struct src *x, const struct fdc *f, uint32_t *crc)
{
    const struct cairn__bref *r = &x->ref;
    if (r->len < 4)
        return -1;
    /* pread even when the file is mapped: touching one page per block through the
     * mapping (a fault each, and the unmapping) cost 3x the syscall */
    unsigned char b[4];
    (void)f->map;
    if (pread(f->fd, b, 4, (off_t)(r->off + r->len - 4)) != 4)
        return -1;
    *crc = cairn_get_u32le(b);
    return 0;
}

/* 1: x's block may be skipped. f NULL: only records checked at load are believed. */
static int needle_rejects(struct cairn__iter *it, const struct src *x, const struct fdc *f)
{
    const struct cairn_store_needles *nd = it->needles;
    if (!nd || !nd->nlits || !x->per || x->head)
        return 0;
    struct nsc *q = it->needle_sc; /* blocks come file by file: the last one */
    if (!q || q->per != x->per || q->file != x->ref.file) {
        q = nsc_get((struct cairn_store_needles *)nd, x->per, x->ref.file);
        it->needle_sc = q;
    }
    const struct cairn__sidecar *sc = q ? q->sc : NULL;
    if (!sc || !sc->n)
        return 0;
    size_t a = 0, b = sc->n;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (sc->v[m].off < x->ref.off)
            a = m + 1;
        else
            b = m;
    }
    uint32_t crc;
    int have_crc = 0;
    for (; a < sc->n && sc->v[a].off == x->ref.off; a++) {
        const unsigned char *pl = sc->v[a].pl;
        if (cairn_get_u32le(pl + 12) != x->ref.len)
            continue;
        if (!sc->v[a].ok) {
            if (!f)
                return 0; /* not checked yet: decided when the block is about to load */
            if (!have_crc) {
                if (block_crc(x, f, &crc))
                    return 0;
                have_crc = 1;
            }
            if (cairn_get_u32le(pl + 16) != crc)
                continue; /* stale: another block once lay here */
        }
        struct cairn__bf_view v = {pl + CAIRN__FLT_PRE, cairn_get_u32le(pl + 20)};
        for (size_t i = 0; i < nd->nlits; i++) {
            if (!cairn__bf_may_contain(&v, nd->lits[i], nd->lens[i])) {
                it->filtered_blocks++;
                atomic_fetch_add(&it->s->blocks_filtered, 1);
                return 1;
            }
        }
        return 0;
    }
    return 0;
}

int cairn__needle_skip(struct cairn__iter *it, const struct src *x, const struct fdc *f)
{
    return needle_rejects(it, x, f);
}

void cairn__needle_prune(struct cairn__iter *it)
{
    if (!it->needles || !it->needles->nlits)
        return;
    size_t w = 0;
    for (size_t i = 0; i < it->n; i++) {
        if (needle_rejects(it, &it->v[i], NULL))
            continue;
        if (w != i)
            it->v[w] = it->v[i];
        w++;
    }
    it->n = w;
}

void cairn_store_needles_destroy(struct cairn_store_needles *nd)
{
    if (!nd)
        return;
    for (size_t i = 0; i < nd->nlits; i++)
        free(nd->lits[i]);
    free(nd->lits);
    free(nd->lens);
    for (size_t i = 0; i < nd->nsc; i++) {
        cairn__fltc_put(nd->s, nd->sc[i]->sc);
        free(nd->sc[i]);
    }
    free(nd->sc);
    pthread_mutex_destroy(&nd->mu);
    free(nd);
}

int cairn_store_needles_create(struct cairn_store *s, const char *const *lits, const size_t *lens,
                               size_t n, struct cairn_store_needles **out)
{
    *out = NULL;
    size_t use = 0;
    for (size_t i = 0; i < n; i++)
        use += lens[i] >= CAIRN__BF_MIN_LIT;
    if (!s->cfg.block_filters || !use)
        return 0;
    struct cairn_store_needles *nd = calloc(1, sizeof *nd);
    if (!nd)
        return CAIRN_ENOMEM;
    nd->s = s;
    pthread_mutex_init(&nd->mu, NULL);
    if (!(nd->lits = calloc(use, sizeof *nd->lits)) || !(nd->lens = calloc(use, sizeof *nd->lens)))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if (lens[i] < CAIRN__BF_MIN_LIT)
            continue; /* a filter cannot say anything about it */
        char *c = malloc(lens[i] + 1);
        if (!c)
            goto fail;
        memcpy(c, lits[i], lens[i]);
        c[lens[i]] = '\0';
        nd->lits[nd->nlits] = c;
        nd->lens[nd->nlits++] = lens[i];
    }
    *out = nd;
    return 0;
fail:
    cairn_store_needles_destroy(nd);
    return CAIRN_ENOMEM;
}

void cairn_store_iter_use_needles(struct cairn_entry_iter *itp,
                                  const struct cairn_store_needles *nd)
{
    struct cairn__iter *it = itp->impl;
    if (it) {
        it->needles = nd;
        it->needle_sc = NULL;
    }
}

int cairn_store_iter_set_needles(struct cairn_entry_iter *itp, const char *const *lits,
                                 const size_t *lens, size_t n)
{
    struct cairn__iter *it = itp->impl;
    if (!it)
        return 0;
    cairn_store_needles_destroy(it->needles_own);
    it->needles_own = NULL;
    int rc = cairn_store_needles_create(it->s, lits, lens, n, &it->needles_own);
    cairn_store_iter_use_needles(itp, it->needles_own);
    return rc;
}

int cairn_store_blocks_set_needles(struct cairn_block_iter *bit, const char *const *lits,
                                   const size_t *lens, size_t n)
{
    struct cairn_entry_iter e = {bit->impl};
    return cairn_store_iter_set_needles(&e, lits, lens, n);
}

uint64_t cairn_store_iter_filtered_blocks(const struct cairn_entry_iter *itp)
{
    const struct cairn__iter *it = itp->impl;
    return it ? it->filtered_blocks : 0;
}
