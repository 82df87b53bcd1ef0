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

static const char flt_magic[8] = {'C', 'A', 'I', 'R', 'N', 'F', 'L', 'T'};

static void flt_path(const struct cairn__period *p, uint32_t file, char *out, size_t cap)
{
    snprintf(out, cap, "%s/seg-%06u.cflt", p->dir, file);
}

/* ---- write side ---- */

static int flt_append(struct cairn__period *p, uint32_t file, const struct cairn_buf *rec)
{
    char path[4096];
    flt_path(p, file, path, sizeof path);
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
            return CAIRN_EIO;
        if (cairn__file_hdr_write(fd, flt_magic, CAIRN__FLT_VERSION)) {
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

struct fent {
    uint64_t off;
    const unsigned char *pl; /* the record's payload, inside the sidecar's bytes */
};

struct sidecar {
    struct cairn__period *per;
    uint32_t file;
    struct cairn_buf bytes;
    struct fent *v;
    size_t n;
};

/* Shared by the iterators of one query (its worker threads): the sidecars are read
 * once, under mu; an entry, once loaded, is never changed or moved. */
struct cairn_store_needles {
    struct cairn_store *s;
    char **lits;
    size_t *lens;
    size_t nlits;
    pthread_mutex_t mu;
    struct sidecar **sc;
    size_t nsc, capsc;
};

static int flt_plausible(uint8_t type, const unsigned char *p, uint32_t n)
{
    return type == CAIRN__FLT_REC && n >= CAIRN__FLT_PRE &&
           n == CAIRN__FLT_PRE + 8ull * cairn_get_u32le(p + 20);
}

static int fent_cmp(const void *a, const void *b)
{
    const struct fent *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Read and index the sidecar of (per, file); a missing or unreadable one is empty.
 * nd->mu held. */
static struct sidecar *sidecar_load(struct cairn_store_needles *nd, struct cairn__period *per,
                                    uint32_t file)
{
    for (size_t i = 0; i < nd->nsc; i++)
        if (nd->sc[i]->per == per && nd->sc[i]->file == file)
            return nd->sc[i];
    if (nd->nsc == nd->capsc) {
        size_t nc = nd->capsc ? nd->capsc * 2 : 4;
        struct sidecar **v = realloc(nd->sc, nc * sizeof *v);
        if (!v)
            return NULL;
        nd->sc = v;
        nd->capsc = nc;
    }
    struct sidecar *sc = calloc(1, sizeof *sc);
    if (!sc)
        return NULL;
    nd->sc[nd->nsc++] = sc;
    sc->per = per;
    sc->file = file;
    char path[4096];
    flt_path(per, file, path, sizeof path);
    if (cairn__read_file(path, &sc->bytes) ||
        cairn__file_hdr_check((const unsigned char *)sc->bytes.data, sc->bytes.len, flt_magic,
                              CAIRN__FLT_VERSION))
        return sc; /* no filters: every block of the file is read */
    struct cairn__recscan rs;
    cairn__recscan_init(&rs, (const unsigned char *)sc->bytes.data, sc->bytes.len,
                        CAIRN__FILE_HDR, flt_plausible);
    uint8_t type;
    const unsigned char *pl;
    uint32_t plen;
    size_t roff, cap = 0;
    while (cairn__recscan_next(&rs, &type, &pl, &plen, &roff) == 1) {
        if (type != CAIRN__FLT_REC || !flt_plausible(type, pl, plen) ||
            pl[0] != CAIRN__BF_VERSION || pl[1] != CAIRN__BF_GRAM || pl[2] != CAIRN__BF_K ||
            pl[3] != CAIRN__BF_STRIDE)
            continue; /* another version's filter: read the block */
        if (sc->n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            struct fent *v = realloc(sc->v, nc * sizeof *v);
            if (!v)
                break; /* the filters indexed so far still serve */
            sc->v = v;
            cap = nc;
        }
        sc->v[sc->n++] = (struct fent){cairn_get_u64le(pl + 4), pl};
    }
    if (sc->n > 1)
        qsort(sc->v, sc->n, sizeof *sc->v, fent_cmp);
    return sc;
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

int cairn__needle_skip(struct cairn__iter *it, const struct src *x, const struct fdc *f)
{
    const struct cairn_store_needles *nd = it->needles;
    if (!nd || !nd->nlits || !x->per)
        return 0;
    struct sidecar *sc = it->needle_sc; /* blocks come file by file: the last one */
    if (!sc || sc->per != x->per || sc->file != x->ref.file) {
        struct cairn_store_needles *w = (struct cairn_store_needles *)nd;
        pthread_mutex_lock(&w->mu);
        sc = sidecar_load(w, x->per, x->ref.file);
        pthread_mutex_unlock(&w->mu);
        it->needle_sc = sc;
    }
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
        if (!have_crc) {
            if (block_crc(x, f, &crc))
                return 0;
            have_crc = 1;
        }
        if (cairn_get_u32le(pl + 16) != crc)
            continue; /* stale: another block once lay here */
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

void cairn_store_needles_destroy(struct cairn_store_needles *nd)
{
    if (!nd)
        return;
    for (size_t i = 0; i < nd->nlits; i++)
        free(nd->lits[i]);
    free(nd->lits);
    free(nd->lens);
    for (size_t i = 0; i < nd->nsc; i++) {
        cairn_buf_deinit(&nd->sc[i]->bytes);
        free(nd->sc[i]->v);
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
