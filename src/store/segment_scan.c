/* segment_scan.c -- reading one segment file into its period's index when no index
 * file describes it: records read past damage (skipped, logged, counted; a torn tail
 * cut), a damaged header mended or the file put in the quarantine, blocks whose
 * STREAM record was damaged kept aside until their stream is known. Format:
 * docs/FORMATS.md "Segment file" and "Damaged files and the quarantine". */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/log.h"
#include "store/store_int.h"

/* Put segment file fi aside: move it into the quarantine and leave an empty segment
 * file (a header) under its name, so file numbers stay what the other files' records
 * say. 0 or CAIRN_EIO. */
int cairn__segfile_quarantine(struct cairn_store *s, struct cairn__period *p, uint32_t fi,
                          const char *path)
{
    struct cairn__segfile *f = &p->files[fi];
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    f->size = CAIRN__FILE_HDR;
    if (cairn__quarantine_move(s->data_dir, path, &s->damage))
        return CAIRN_EIO;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0 || cairn__file_hdr_write(fd, cairn__seg_magic, CAIRN__SEG_VERSION)) {
        CAIRN_ERROR("segment", "cannot recreate an empty segment file", "file=\"%s\" errno=%d",
                    path, errno);
        if (fd >= 0)
            close(fd);
        return CAIRN_EIO;
    }
    f->fd = fd;
    cairn__fsync_dir(p->dir);
    return 0;
}

/* Record a block of stream st found on disk in the period index (p->mu held). */
static int add_ref(struct cairn__period *p, struct cairn__stream *st, const struct cairn__bref *ref,
                   uint64_t seq_hi)
{
    struct cairn__pstream *ps;
    int rc = cairn__period_add_stream_locked(p, st->sid, st->lv, st->nl, &ps);
    if (rc)
        return rc;
    if (ps->n == ps->cap) {
        size_t nc = ps->cap ? ps->cap * 2 : 4;
        struct cairn__bref *nr = realloc(ps->refs, nc * sizeof *nr);
        if (!nr)
            return CAIRN_ENOMEM;
        ps->refs = nr;
        ps->cap = nc;
    }
    ps->refs[ps->n++] = *ref;
    if (seq_hi > ps->hw)
        ps->hw = seq_hi;
    if (ref->chunk + 1 > ps->next_chunk)
        ps->next_chunk = ref->chunk + 1;
    if (seq_hi > st->hw)
        st->hw = seq_hi;
    if (st->hw > st->seq)
        st->seq = st->hw;
    if (ref->max_ts > st->max_ts)
        st->max_ts = ref->max_ts;
    p->n_blocks++;
    p->bytes += ref->len;
    return 0;
}

/* One BLOCK or STREAM record of a scan into the period index. 0, CAIRN_ENOMEM, or
 * CAIRN_ECORRUPT for a record to skip (logged by the caller). */
static int scan_record(struct cairn_store *s, struct cairn__tenant *t, struct cairn__period *p,
                       uint32_t fi, size_t off, uint8_t type, const unsigned char *pl,
                       uint32_t pn)
{
    if (type == CAIRN__SEG_STREAM) {
        uint64_t ll;
        size_t k = pn >= 13 ? cairn_get_uvarint(pl + 12, pn - 12, &ll) : 0;
        if (!k || ll > pn - 12 - k)
            return CAIRN_ECORRUPT;
        struct cairn__stream *st = cairn__stream_restore(
            s, t, cairn_get_u32le(pl), cairn_get_u64le(pl + 4), (const char *)pl + 12 + k, ll);
        struct cairn__pstream *ps;
        if (!st) /* labels that do not parse (logged), or out of memory */
            return CAIRN_ECORRUPT;
        return cairn__period_add_stream_locked(p, st->sid, st->lv, st->nl, &ps);
    }
    if (type == CAIRN__SEG_CHUNK) {
        p->n_chunks++;
        return 0;
    }
    if (type != CAIRN__SEG_BLOCK)
        return 0; /* a newer record type */
    struct cairn__block_hdr bh;
    if (pn < 24 || cairn__block_hdr_parse(pl + 24, pn - 24, &bh))
        return CAIRN_ECORRUPT;
    uint32_t sid = cairn_get_u32le(pl);
    struct cairn__bref ref = {off + CAIRN__REC_HDR + 24, fi, pn - 24, bh.min_ts, bh.max_ts,
                              bh.n, bh.raw_len, cairn_get_u32le(pl + 4)};
    uint64_t seq_hi = cairn_get_u64le(pl + 16);
    struct cairn__stream *st = cairn__stream_by_id(t, sid);
    if (!st) {
        /* its STREAM record was damaged: the WAL or another file may still name it */
        if (p->n_orphans == p->cap_orphans) {
            size_t nc = p->cap_orphans ? p->cap_orphans * 2 : 8;
            struct cairn__orphan *nv = realloc(p->orphans, nc * sizeof *nv);
            if (!nv)
                return CAIRN_ENOMEM;
            p->orphans = nv;
            p->cap_orphans = nc;
        }
        p->orphans[p->n_orphans++] = (struct cairn__orphan){sid, seq_hi, ref};
        cairn__sid_reserve(t, sid);
        return 0;
    }
    return add_ref(p, st, &ref, seq_hi);
}

int cairn__period_adopt_orphans(struct cairn_store *s, struct cairn__tenant *t,
                                struct cairn__period *p, int final)
{
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    size_t w = 0;
    for (size_t i = 0; i < p->n_orphans; i++) {
        const struct cairn__orphan *o = &p->orphans[i];
        struct cairn__stream *st = rc ? NULL : cairn__stream_by_id(t, o->sid);
        if (st) {
            rc = add_ref(p, st, &o->ref, o->seq_hi);
            if (!rc) {
                CAIRN_WARN("segment", "block adopted by its stream (its STREAM record was damaged)",
                           "dir=\"%s\" file=%u offset=%" PRIu64 " sid=%u", p->dir, o->ref.file,
                           o->ref.off, o->sid);
                continue;
            }
        }
        if (final && !rc) {
            /* without labels the block cannot be found by any query */
            CAIRN_ERROR("segment", "block of an unknown stream skipped",
                        "dir=\"%s\" file=%u offset=%" PRIu64 " sid=%u entries=%u", p->dir,
                        o->ref.file, o->ref.off, o->sid, o->ref.n);
            atomic_fetch_add(&s->damage.blocks_skipped, 1);
            continue;
        }
        p->orphans[w++] = *o;
    }
    p->n_orphans = w;
    if (!w) {
        free(p->orphans);
        p->orphans = NULL;
        p->cap_orphans = 0;
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

static int seg_newer_version(const unsigned char *m, size_t len)
{
    if (len < CAIRN__FILE_HDR || memcmp(m, cairn__seg_magic, 8) != 0)
        return 0;
    uint32_t v = cairn_get_u32le(m + 8);
    return v > CAIRN__SEG_VERSION && v < 256;
}

/* A segment file whose header fails its check: mend it in place when valid records
 * follow (the original copied into the quarantine first), else put it aside. 1 when
 * mended (scan it), 0 when put aside, CAIRN_EIO. */
static int seg_bad_header(struct cairn_store *s, struct cairn__period *p, uint32_t fi,
                          const char *path, const unsigned char *m, size_t len)
{
    struct cairn__recscan probe;
    cairn__recscan_init(&probe, m, len, CAIRN__FILE_HDR, cairn__seg_rec_plausible);
    uint8_t ty;
    const unsigned char *pl;
    uint32_t pn;
    size_t ro;
    int newer = seg_newer_version(m, len);
    int salvage = !newer && cairn__recscan_next(&probe, &ty, &pl, &pn, &ro) == 1;
    CAIRN_ERROR("segment", newer ? "segment file of a newer format" : "bad file header",
                "file=\"%s\" records_follow=%d", path, salvage);
    if (salvage && cairn__quarantine_save(s->data_dir, path, "header", m, len) == 0) {
        unsigned char h[CAIRN__FILE_HDR] = {0};
        memcpy(h, cairn__seg_magic, 8);
        h[8] = CAIRN__SEG_VERSION;
        int fd = open(path, O_WRONLY | O_CLOEXEC); /* not O_APPEND: pwrite at 0 */
        int ok = fd >= 0 && pwrite(fd, h, sizeof h, 0) == (ssize_t)sizeof h && fdatasync(fd) == 0;
        if (fd >= 0)
            close(fd);
        if (ok) {
            atomic_fetch_add(&s->damage.files_quarantined, 1);
            return 1;
        }
    }
    return cairn__segfile_quarantine(s, p, fi, path);
}

/* Scan one segment file's records into the period index. Damaged records are skipped
 * (logged, counted), a torn tail is cut, a damaged header is mended or the file put
 * aside (seg_bad_header). Only CAIRN_ENOMEM and CAIRN_EIO (the file could not be put
 * aside) fail. */
int cairn__segfile_scan(struct cairn_store *s, struct cairn__tenant *t, struct cairn__period *p,
                     uint32_t fi, const char *path)
{
    struct cairn__segfile *f = &p->files[fi];
    struct stat stt;
    if (fstat(f->fd, &stt) < 0) {
        CAIRN_ERROR("segment", "fstat failed", "file=\"%s\" errno=%d", path, errno);
        return cairn__segfile_quarantine(s, p, fi, path);
    }
    size_t len = (size_t)stt.st_size;
    if (len < CAIRN__FILE_HDR) {
        CAIRN_WARN("segment", "file shorter than its header, reset", "file=\"%s\"", path);
        if (ftruncate(f->fd, 0) < 0 || cairn__file_hdr_write(f->fd, cairn__seg_magic, CAIRN__SEG_VERSION))
            return cairn__segfile_quarantine(s, p, fi, path);
        f->size = CAIRN__FILE_HDR;
        return 0;
    }
    unsigned char *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, f->fd, 0);
    if (m == MAP_FAILED) {
        CAIRN_ERROR("segment", "mmap failed", "file=\"%s\" errno=%d", path, errno);
        return cairn__segfile_quarantine(s, p, fi, path);
    }
    int rc = 0;
    if (cairn__file_hdr_check(m, len, cairn__seg_magic, CAIRN__SEG_VERSION)) {
        int r = seg_bad_header(s, p, fi, path, m, len);
        if (r != 1) {
            munmap(m, len);
            return r;
        }
    }
    struct cairn__recscan sc;
    cairn__recscan_init(&sc, m, len, CAIRN__FILE_HDR, cairn__seg_rec_plausible);
    uint8_t type;
    const unsigned char *pl;
    uint32_t pn;
    size_t off;
    for (;;) {
        int r = cairn__recscan_next(&sc, &type, &pl, &pn, &off);
        if (sc.skip_len) {
            CAIRN_ERROR("segment", "damaged records skipped",
                        "file=\"%s\" offset=%zu bytes=%zu next_record=%zu", path, sc.skip_off,
                        sc.skip_len, sc.skip_off + sc.skip_len);
            atomic_fetch_add(&s->damage.records_skipped, 1);
            atomic_fetch_add(&s->damage.bytes_skipped, sc.skip_len);
        }
        if (r != 1)
            break;
        int e = scan_record(s, t, p, fi, off, type, pl, pn);
        if (e == CAIRN_ECORRUPT) {
            CAIRN_ERROR("segment", "record does not parse, skipped",
                        "file=\"%s\" offset=%zu type=%u bytes=%u", path, off, type, pn);
            atomic_fetch_add(&s->damage.records_skipped, 1);
            atomic_fetch_add(&s->damage.bytes_skipped, CAIRN__REC_HDR + (uint64_t)pn);
        } else if (e) {
            rc = e;
            break;
        }
    }
    if (!rc && sc.tail_off < len) {
        if (sc.tail_torn) {
            CAIRN_WARN("segment", "torn tail record, cutting the file there",
                       "file=\"%s\" offset=%zu dropped_bytes=%zu", path, sc.tail_off,
                       len - sc.tail_off);
        } else {
            CAIRN_ERROR("segment", "damaged last record, cutting the file there",
                        "file=\"%s\" offset=%zu dropped_bytes=%zu", path, sc.tail_off,
                        len - sc.tail_off);
            cairn__quarantine_save(s->data_dir, path, "tail", m + sc.tail_off, len - sc.tail_off);
            atomic_fetch_add(&s->damage.records_skipped, 1);
            atomic_fetch_add(&s->damage.bytes_skipped, len - sc.tail_off);
        }
        if (ftruncate(f->fd, (off_t)sc.tail_off) < 0)
            CAIRN_ERROR("segment", "ftruncate failed", "file=\"%s\" errno=%d", path, errno);
    }
    munmap(m, len);
    f->size = sc.tail_off;
    return rc;
}
