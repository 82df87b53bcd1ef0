/* needle_cache.c -- block filter sidecars loaded once and shared by every query of
 * the store (struct cairn__fltc), so a query reads no sidecar an earlier one read.
 *
 * An entry is the whole sidecar file (dir/seg-NNNNNN.cflt), its records indexed by
 * block offset, each record checked once, at load, against the segment file it names:
 * the block's trailing CRC read there must equal the record's (a record that does not
 * match is dropped: stale, its block did not survive). The entry remembers who it was
 * loaded from: the sidecar's device, inode, size and mtime, and the segment file's
 * device and inode. A query takes an entry only when both still match (two fstat()s per
 * segment file per query). A sidecar grown since (same inode, larger: the one of the
 * segment being written, at every cut) gives a new entry with the old one's records
 * and only the bytes past its scan read and checked; otherwise (rewritten, deleted, the
 * segment replaced: quarantine, a new period at the same path) it is loaded again.
 * Within one process a segment file's existing bytes never change under the same inode
 * (appends only; a failed write is cut back to before it, and it had no record yet).
 * A segment kept only in object storage has no local identity: its records are kept
 * unchecked and the read path checks each block's CRC before believing one.
 *
 * Memory: at most CAIRN_NEEDLE_CACHE_BYTES held by the cache, least recently used
 * dropped first; an entry a running query holds lives until the query releases it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/hash.h"
#include "cairn/limits.h"
#include "cairn/log.h"
#include "store/bfilter.h"
#include "store/needle.h"

static const char flt_magic[8] = {'C', 'A', 'I', 'R', 'N', 'F', 'L', 'T'};

void cairn__flt_path(const struct cairn__period *p, uint32_t file, char *out, size_t cap)
{
    snprintf(out, cap, "%s/seg-%06u.cflt", p->dir, file);
}

const char *cairn__flt_magic(void)
{
    return flt_magic;
}

void cairn__fltc_init(struct cairn__fltc *c)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
}

static void sc_free(struct cairn__sidecar *sc)
{
    if (!sc)
        return;
    free(sc->path);
    cairn_buf_deinit(&sc->bytes);
    free(sc->v);
    free(sc);
}

static void lru_unlink(struct cairn__fltc *c, struct cairn__sidecar *sc)
{
    if (sc->prev)
        sc->prev->next = sc->next;
    else
        c->head = sc->next;
    if (sc->next)
        sc->next->prev = sc->prev;
    else
        c->tail = sc->prev;
    sc->prev = sc->next = NULL;
    sc->cached = 0;
    c->bytes -= sc->cost;
}

static void lru_front(struct cairn__fltc *c, struct cairn__sidecar *sc)
{
    sc->prev = NULL;
    sc->next = c->head;
    if (c->head)
        c->head->prev = sc;
    c->head = sc;
    if (!c->tail)
        c->tail = sc;
    sc->cached = 1;
    c->bytes += sc->cost;
}

/* Drop an entry from the cache: freed now if no query holds it, else at its release. */
static void lru_drop(struct cairn__fltc *c, struct cairn__sidecar *sc)
{
    lru_unlink(c, sc);
    if (!sc->refs)
        sc_free(sc);
}

void cairn__fltc_deinit(struct cairn__fltc *c)
{
    while (c->head)
        lru_drop(c, c->head); /* no query runs at close: none is held */
    pthread_mutex_destroy(&c->mu);
}

static int flt_plausible(uint8_t type, const unsigned char *p, uint32_t n)
{
    return type == CAIRN__FLT_REC && n >= CAIRN__FLT_PRE &&
           n == CAIRN__FLT_PRE + 8ull * cairn_get_u32le(p + 20);
}

static int fent_cmp(const void *a, const void *b)
{
    const struct cairn__fent *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Bytes [from, size) of fd into out (its first `from` bytes already there): fewer when
 * the file is shorter now; appended bytes past size belong to the next load. */
static int read_fd(int fd, size_t from, size_t size, struct cairn_buf *out)
{
    if (cairn_buf_reserve(out, size ? size : 1))
        return CAIRN_ENOMEM;
    size_t got = from;
    while (got < size) {
        ssize_t r = pread(fd, out->data + got, size - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break; /* shorter than it was: what was read is scanned */
        got += (size_t)r;
    }
    out->len = got;
    return 0;
}

/* The records of sc->bytes from byte `from` on (CAIRN__FILE_HDR: all), added to the
 * index (sc->v[0..n) from an earlier scan kept), which is then sorted by offset; each
 * checked against the segment (seg >= 0). sc->scanned: where a later scan resumes. */
static void sc_index(struct cairn__sidecar *sc, int seg, size_t from)
{
    if (cairn__file_hdr_check((const unsigned char *)sc->bytes.data, sc->bytes.len, flt_magic,
                              CAIRN__FLT_VERSION))
        return; /* no filters: every block of the file is read */
    if (from < CAIRN__FILE_HDR)
        from = CAIRN__FILE_HDR;
    struct cairn__recscan rs;
    cairn__recscan_init(&rs, (const unsigned char *)sc->bytes.data, sc->bytes.len, from,
                        flt_plausible);
    uint8_t type;
    const unsigned char *pl;
    uint32_t plen;
    size_t roff, cap = sc->n;
    while (cairn__recscan_next(&rs, &type, &pl, &plen, &roff) == 1) {
        if (type != CAIRN__FLT_REC || !flt_plausible(type, pl, plen) ||
            pl[0] != CAIRN__BF_VERSION || pl[1] != CAIRN__BF_GRAM || pl[2] != CAIRN__BF_K ||
            pl[3] != CAIRN__BF_STRIDE)
            continue; /* another version's filter: read the block */
        uint64_t off = cairn_get_u64le(pl + 4);
        uint32_t len = cairn_get_u32le(pl + 12);
        int ok = 0;
        if (seg >= 0) {
            unsigned char b[4];
            if (len < 4 || pread(seg, b, 4, (off_t)(off + len - 4)) != 4 ||
                cairn_get_u32le(b) != cairn_get_u32le(pl + 16))
                continue; /* stale: the block it names is not there */
            ok = 1;
        }
        if (sc->n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            struct cairn__fent *v = realloc(sc->v, nc * sizeof *v);
            if (!v)
                break; /* the filters indexed so far still serve */
            sc->v = v;
            cap = nc;
        }
        sc->v[sc->n++] = (struct cairn__fent){off, pl, ok};
    }
    sc->scanned = rs.tail_off < sc->bytes.len ? rs.tail_off : sc->bytes.len;
    if (sc->n > 1)
        qsort(sc->v, sc->n, sizeof *sc->v, fent_cmp);
}

/* The identity of the segment file (per, file) as this process reads it; 0 and 0 when
 * it has no local copy. */
static void seg_ident(struct cairn__period *per, uint32_t file, int *fd, dev_t *dev, ino_t *ino)
{
    struct stat st;
    *dev = 0;
    *ino = 0;
    *fd = cairn__period_open_fd(per, file);
    if (*fd < 0)
        return;
    if (fstat(*fd, &st) == 0) {
        *dev = st.st_dev;
        *ino = st.st_ino;
    } else {
        close(*fd);
        *fd = -1;
    }
}

/* sc as old grown to size bytes: old's bytes up to where its scan stopped, the rest
 * read from fd, old's index kept (its records were checked against the same segment
 * file); *from: where the new records start. 0 or CAIRN_ENOMEM. */
static int sc_grow_from(struct cairn__sidecar *sc, const struct cairn__sidecar *old, int fd,
                        size_t size, size_t *from)
{
    size_t keep = old->scanned < size ? old->scanned : size;
    if (cairn_buf_reserve(&sc->bytes, size ? size : 1) ||
        (old->n && !(sc->v = malloc(old->n * sizeof *sc->v))))
        return CAIRN_ENOMEM;
    memcpy(sc->bytes.data, old->bytes.data, keep);
    if (read_fd(fd, keep, size, &sc->bytes))
        return CAIRN_ENOMEM;
    const unsigned char *ob = (const unsigned char *)old->bytes.data;
    const unsigned char *nb = (const unsigned char *)sc->bytes.data;
    for (size_t i = 0; i < old->n; i++)
        sc->v[i] = (struct cairn__fent){old->v[i].off, nb + (old->v[i].pl - ob), old->v[i].ok};
    sc->n = old->n;
    *from = keep;
    return 0;
}

static int same_flt(const struct cairn__sidecar *sc, const struct stat *st)
{
    return sc->dev == st->st_dev && sc->ino == st->st_ino && sc->size == st->st_size &&
           sc->mtim.tv_sec == st->st_mtim.tv_sec && sc->mtim.tv_nsec == st->st_mtim.tv_nsec;
}

struct cairn__sidecar *cairn__fltc_get(struct cairn_store *s, struct cairn__period *per,
                                       uint32_t file)
{
    struct cairn__fltc *c = &s->fltc;
    char path[4200];
    cairn__flt_path(per, file, path, sizeof path);
    int ffd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (ffd < 0 || fstat(ffd, &st) != 0) {
        if (ffd >= 0)
            close(ffd);
        return NULL; /* no sidecar: every block of the file is read */
    }
    int seg;
    dev_t sdev;
    ino_t sino;
    seg_ident(per, file, &seg, &sdev, &sino);
    struct cairn__sidecar *sc = NULL, *old = NULL;
    pthread_mutex_lock(&c->mu);
    for (struct cairn__sidecar *e = c->head; e; e = e->next) {
        if (strcmp(e->path, path))
            continue;
        if (same_flt(e, &st) && e->sdev == sdev && e->sino == sino && sino) {
            sc = e;
            sc->refs++;
            lru_unlink(c, sc);
            lru_front(c, sc);
        } else {
            if (e->dev == st.st_dev && e->ino == st.st_ino && e->size < st.st_size &&
                e->sdev == sdev && e->sino == sino && sino) {
                old = e; /* grown: its records are kept, only the new ones read */
                old->refs++;
            } else {
                lru_drop(c, e); /* changed since: loaded again below */
            }
        }
        break;
    }
    pthread_mutex_unlock(&c->mu);
    if (sc)
        goto out;
    size_t from = CAIRN__FILE_HDR;
    if (!(sc = calloc(1, sizeof *sc)) || !(sc->path = strdup(path)) ||
        (old && sc_grow_from(sc, old, ffd, (size_t)st.st_size, &from)) ||
        (!old && read_fd(ffd, 0, (size_t)st.st_size, &sc->bytes))) {
        sc_free(sc);
        sc = NULL;
        goto out;
    }
    sc->dev = st.st_dev;
    sc->ino = st.st_ino;
    sc->size = st.st_size;
    sc->mtim = st.st_mtim;
    sc->sdev = sdev;
    sc->sino = sino;
    sc_index(sc, sino ? seg : -1, from);
    sc->cost = sizeof *sc + sc->bytes.cap + sc->n * sizeof *sc->v;
    sc->refs = 1;
    if (!sino || sc->cost > CAIRN_NEEDLE_CACHE_BYTES)
        goto out; /* the query's own: freed when it lets go */
    pthread_mutex_lock(&c->mu);
    for (struct cairn__sidecar *e = c->head; e; e = e->next)
        if (!strcmp(e->path, path)) { /* another query loaded it meanwhile */
            lru_drop(c, e);
            break;
        }
    lru_front(c, sc);
    while (c->bytes > CAIRN_NEEDLE_CACHE_BYTES && c->tail != sc)
        lru_drop(c, c->tail);
    pthread_mutex_unlock(&c->mu);
out:
    cairn__fltc_put(s, old);
    close(ffd);
    if (seg >= 0)
        close(seg);
    return sc;
}

void cairn__fltc_put(struct cairn_store *s, struct cairn__sidecar *sc)
{
    if (!sc)
        return;
    pthread_mutex_lock(&s->fltc.mu);
    int last = --sc->refs == 0 && !sc->cached;
    pthread_mutex_unlock(&s->fltc.mu);
    if (last)
        sc_free(sc);
}
