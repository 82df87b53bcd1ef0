/* segment.c -- periods and their segment files: append-only files
 * <data_dir>/tenants/<tenant>/<period start ns>/seg-NNNNNN.cseg holding STREAM, BLOCK
 * and CHUNK records of many streams, never one file per chunk; loading a period (its
 * index file, or the scan of its segment files in segment_scan.c); period lifetime
 * (references, removal).
 *
 * A block goes to the current file as soon as it is cut, with one writev(2) under the
 * period lock; its reference (file, offset, length, min/max ts, counts) is recorded in
 * the period's index at the same time. Format: docs/FORMATS.md "Segment file". */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cairn/hash.h"
#include "cairn/log.h"
#include "store/store_int.h"

const char cairn__seg_magic[8] = {'C', 'A', 'I', 'R', 'N', 'S', 'E', 'G'};

int64_t cairn__period_start(const struct cairn_store *s, int64_t ts)
{
    int64_t p = s->cfg.index_period_ns;
    int64_t q = ts / p;
    if (ts % p < 0)
        q--;
    return q * p;
}

void cairn__period_ref(struct cairn__period *p)
{
    atomic_fetch_add(&p->refs, 1);
}

void cairn__period_unref(struct cairn__period *p)
{
    if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    if (p->removed) {
        cairn__rm_rf(p->dir);
        if (p->rem)
            cairn__remote_forget(p->rem, p->okey); /* its objects too */
        CAIRN_INFO("retention", "period deleted", "dir=\"%s\"", p->dir);
    }
    cairn__period_free(p);
}

static struct cairn__period *period_new(const struct cairn_store *s, struct cairn__tenant *t,
                                        int64_t start)
{
    int64_t len = s->cfg.index_period_ns;
    struct cairn__period *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    size_t n = strlen(t->dir) + 32;
    p->dir = malloc(n);
    p->all = roaring_bitmap_create();
    if (!p->dir || !p->all) {
        free(p->dir);
        if (p->all)
            roaring_bitmap_free(p->all);
        free(p);
        return NULL;
    }
    snprintf(p->dir, n, "%s/%" PRId64, t->dir, start);
    if (s->remote) {
        size_t kl = strlen(t->name) + 32;
        if (!(p->okey = malloc(kl))) {
            free(p->dir);
            roaring_bitmap_free(p->all);
            free(p);
            return NULL;
        }
        snprintf(p->okey, kl, "%s/%" PRId64 "/", t->name, start);
        p->rem = s->remote;
    }
    p->start = start;
    p->end = start + len;
    p->file_max = s->cfg.segment_file_max ? s->cfg.segment_file_max : CAIRN__SEGFILE_MAX;
    atomic_init(&p->refs, 1); /* the tenant's */
    pthread_mutex_init(&p->mu, NULL);
    return p;
}

/* Insert p into the tenant's sorted list; caller holds periods_mu. */
static int period_insert(struct cairn__tenant *t, struct cairn__period *p)
{
    if (t->n_periods == t->cap_periods) {
        size_t nc = t->cap_periods ? t->cap_periods * 2 : 8;
        struct cairn__period **nv = realloc(t->periods, nc * sizeof *nv);
        if (!nv)
            return CAIRN_ENOMEM;
        t->periods = nv;
        t->cap_periods = nc;
    }
    size_t i = t->n_periods;
    while (i > 0 && t->periods[i - 1]->start > p->start) {
        t->periods[i] = t->periods[i - 1];
        i--;
    }
    t->periods[i] = p;
    t->n_periods++;
    return 0;
}

struct cairn__period *cairn__period_get(struct cairn_store *s, struct cairn__tenant *t, int64_t ts)
{
    int64_t start = cairn__period_start(s, ts);
    pthread_mutex_lock(&t->periods_mu);
    for (size_t i = t->n_periods; i-- > 0;) {
        if (t->periods[i]->start == start) {
            struct cairn__period *p = t->periods[i];
            cairn__period_ref(p);
            pthread_mutex_unlock(&t->periods_mu);
            return p;
        }
    }
    struct cairn__period *p = period_new(s, t, start);
    if (p && (cairn__mkdir_p(p->dir) || period_insert(t, p))) {
        cairn__period_free(p);
        p = NULL;
    }
    if (p)
        cairn__period_ref(p);
    pthread_mutex_unlock(&t->periods_mu);
    return p;
}

static void seg_path(const struct cairn__period *p, uint32_t i, char *out, size_t cap)
{
    snprintf(out, cap, "%s/seg-%06u.cseg", p->dir, i);
}

/* Open a new segment file (p->mu held). */
static int segfile_new(struct cairn__period *p)
{
    struct cairn__segfile *nf = realloc(p->files, (p->n_files + 1) * sizeof *nf);
    if (!nf)
        return CAIRN_ENOMEM;
    p->files = nf;
    char path[4200];
    seg_path(p, p->n_files, path, sizeof path);
    if (p->rem && cairn__mkdir_p(p->dir)) /* its files may all be remote, its dir gone */
        return CAIRN_EIO;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        CAIRN_ERROR("segment", "open failed", "file=\"%s\" errno=%d", path, errno);
        return CAIRN_EIO;
    }
    if (cairn__file_hdr_write(fd, cairn__seg_magic, CAIRN__SEG_VERSION)) {
        close(fd);
        unlink(path);
        return CAIRN_EIO;
    }
    cairn__fsync_dir(p->dir);
    p->files[p->n_files] = (struct cairn__segfile){fd, CAIRN__FILE_HDR, 1, 0};
    p->n_files++;
    /* streams must re-announce themselves in the new file */
    for (size_t i = 0; i < p->streams.cap; i++)
        if (p->streams.v[i].key)
            ((struct cairn__pstream *)p->streams.v[i].val)->in_segfile = 0;
    return 0;
}

void cairn__period_close_files(struct cairn__period *p)
{
    for (uint32_t i = 0; i < p->n_files; i++) {
        struct cairn__segfile *f = &p->files[i];
        if (f->fd < 0)
            continue;
        if (f->dirty && fdatasync(f->fd) < 0)
            CAIRN_ERROR("segment", "fdatasync failed", "dir=\"%s\" errno=%d", p->dir, errno);
        close(f->fd);
        f->fd = -1;
        f->dirty = 0;
    }
}

static int ensure_writable(struct cairn__period *p)
{
    if (p->closed && cairn__index_unlink(p))
        return CAIRN_EIO;
    /* an uploaded file is never written again: late entries go to a new one */
    if (p->n_files == 0 || p->files[p->n_files - 1].size >= p->file_max ||
        p->files[p->n_files - 1].remote)
        return segfile_new(p);
    struct cairn__segfile *f = &p->files[p->n_files - 1];
    if (f->fd < 0) { /* a closed period written again: reopen its last file */
        char path[4200];
        seg_path(p, p->n_files - 1, path, sizeof path);
        if ((f->fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC)) < 0) {
            CAIRN_ERROR("segment", "open failed", "file=\"%s\" errno=%d", path, errno);
            return CAIRN_EIO;
        }
    }
    return 0;
}

static int seg_write(struct cairn__period *p, const struct iovec *iov, int n, size_t total)
{
    struct cairn__segfile *f = &p->files[p->n_files - 1];
    size_t done = 0;
    while (done < total) {
        /* writev of a few small pieces: on a short write fall back to rewriting */
        ssize_t w = writev(f->fd, iov, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 || (size_t)w != total) {
            int e = w < 0 ? errno : ENOSPC; /* a short write: the disk filled */
            CAIRN_ERROR("segment", "write failed", "dir=\"%s\" errno=%d", p->dir, e);
            if (ftruncate(f->fd, (off_t)f->size) < 0)
                CAIRN_ERROR("segment", "ftruncate failed", "dir=\"%s\" errno=%d", p->dir, errno);
            return e == ENOSPC || e == EDQUOT ? CAIRN_ENOSPC : CAIRN_EIO;
        }
        done = (size_t)w;
    }
    f->size += total;
    f->dirty = 1;
    return 0;
}

static void hdr_fill(unsigned char *h, uint32_t plen, uint32_t crc, uint8_t type)
{
    for (int i = 0; i < 4; i++) {
        h[i] = (unsigned char)(plen >> (8 * i));
        h[4 + i] = (unsigned char)(crc >> (8 * i));
    }
    h[8] = type;
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

int cairn__period_write_block(struct cairn_store *s, struct cairn__period *p,
                              struct cairn__stream *st, const struct cairn_buf *block,
                              uint32_t chunk, uint64_t seq_lo, uint64_t seq_hi)
{
    (void)s;
    struct cairn__block_hdr bh;
    if (cairn__block_hdr_parse((const unsigned char *)block->data, block->len, &bh))
        return CAIRN_ECORRUPT;
    pthread_mutex_lock(&p->mu);
    struct cairn__pstream *ps;
    int rc = ensure_writable(p);
    if (!rc)
        rc = cairn__period_add_stream_locked(p, st->sid, st->lv, st->nl, &ps);
    if (rc) {
        pthread_mutex_unlock(&p->mu);
        return rc;
    }
    if (ps->n == ps->cap) {
        size_t nc = ps->cap ? ps->cap * 2 : 4;
        struct cairn__bref *nr = realloc(ps->refs, nc * sizeof *nr);
        if (!nr) {
            pthread_mutex_unlock(&p->mu);
            return CAIRN_ENOMEM;
        }
        ps->refs = nr;
        ps->cap = nc;
    }
    struct cairn_buf srec = CAIRN_BUF_INIT;
    if (!ps->in_segfile) {
        unsigned char pre[12];
        put32(pre, st->sid);
        put64(pre + 4, st->fp);
        size_t at = cairn__rec_begin(&srec, CAIRN__SEG_STREAM);
        if (at == (size_t)-1 || cairn_buf_append(&srec, pre, sizeof pre) ||
            cairn_buf_append_uvarint(&srec, st->ltext_len) ||
            cairn_buf_append(&srec, st->ltext, st->ltext_len)) {
            cairn_buf_deinit(&srec);
            pthread_mutex_unlock(&p->mu);
            return CAIRN_ENOMEM;
        }
        cairn__rec_finish(&srec, at);
    }
    unsigned char hdr[CAIRN__REC_HDR + 24];
    unsigned char *pre = hdr + CAIRN__REC_HDR;
    put32(pre, st->sid);
    put32(pre + 4, chunk);
    put64(pre + 8, seq_lo);
    put64(pre + 16, seq_hi);
    uint8_t type = CAIRN__SEG_BLOCK;
    uint32_t crc = cairn_crc32c(0, &type, 1);
    crc = cairn_crc32c(crc, pre, 24);
    crc = cairn_crc32c(crc, block->data, block->len);
    hdr_fill(hdr, (uint32_t)(24 + block->len), crc, type);
    struct iovec iov[3];
    int n = 0;
    if (srec.len)
        iov[n++] = (struct iovec){srec.data, srec.len};
    iov[n++] = (struct iovec){hdr, sizeof hdr};
    iov[n++] = (struct iovec){block->data, block->len};
    size_t total = srec.len + sizeof hdr + block->len;
    struct cairn__segfile *f = &p->files[p->n_files - 1];
    uint64_t off = f->size + srec.len + sizeof hdr;
    rc = seg_write(p, iov, n, total);
    if (!rc) {
        ps->in_segfile = 1;
        ps->refs[ps->n++] = (struct cairn__bref){off,        p->n_files - 1, (uint32_t)block->len,
                                                 bh.min_ts,  bh.max_ts,      bh.n,
                                                 bh.raw_len, chunk};
        if (seq_hi > ps->hw)
            ps->hw = seq_hi;
        if (chunk + 1 > ps->next_chunk)
            ps->next_chunk = chunk + 1;
        p->n_blocks++;
        p->bytes += block->len;
    }
    pthread_mutex_unlock(&p->mu);
    cairn_buf_deinit(&srec);
    return rc;
}

int cairn__period_write_chunk(struct cairn__period *p, uint32_t sid, uint32_t chunk)
{
    pthread_mutex_lock(&p->mu);
    struct cairn__pstream *ps = cairn__strmap_get(&p->streams, &sid, sizeof sid);
    int rc = ps ? ensure_writable(p) : CAIRN_ENOTFOUND;
    if (rc) {
        pthread_mutex_unlock(&p->mu);
        return rc;
    }
    int64_t mn = INT64_MAX, mx = INT64_MIN;
    uint32_t nb = 0, bytes = 0;
    for (size_t i = 0; i < ps->n; i++)
        if (ps->refs[i].chunk == chunk) {
            if (ps->refs[i].min_ts < mn)
                mn = ps->refs[i].min_ts;
            if (ps->refs[i].max_ts > mx)
                mx = ps->refs[i].max_ts;
            nb++;
            bytes += ps->refs[i].len;
        }
    struct cairn_buf rec = CAIRN_BUF_INIT;
    size_t at = cairn__rec_begin(&rec, CAIRN__SEG_CHUNK);
    rc = at == (size_t)-1 || cairn_buf_append_u32le(&rec, sid) ||
                 cairn_buf_append_u32le(&rec, chunk) || cairn_buf_append_u64le(&rec, (uint64_t)mn) ||
                 cairn_buf_append_u64le(&rec, (uint64_t)mx) || cairn_buf_append_u32le(&rec, nb) ||
                 cairn_buf_append_u32le(&rec, bytes)
             ? CAIRN_ENOMEM
             : 0;
    /* where its blocks are: (file, offset of the block bytes) each */
    for (size_t i = 0; !rc && i < ps->n; i++)
        if (ps->refs[i].chunk == chunk &&
            (cairn_buf_append_uvarint(&rec, ps->refs[i].file) ||
             cairn_buf_append_u64le(&rec, ps->refs[i].off)))
            rc = CAIRN_ENOMEM;
    if (!rc) {
        cairn__rec_finish(&rec, at);
        struct iovec iov = {rec.data, rec.len};
        rc = seg_write(p, &iov, 1, rec.len);
    }
    cairn_buf_deinit(&rec);
    if (!rc)
        p->n_chunks++;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int cairn__period_sync(struct cairn__period *p)
{
    int fds[64];
    int n = 0, rc = 0;
    pthread_mutex_lock(&p->mu);
    for (uint32_t i = 0; i < p->n_files && n < 64; i++)
        if (p->files[i].dirty) {
            p->files[i].dirty = 0;
            fds[n++] = dup(p->files[i].fd);
        }
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < n; i++) {
        if (fds[i] < 0 || fdatasync(fds[i]) < 0) {
            CAIRN_ERROR("segment", "fdatasync failed", "dir=\"%s\" errno=%d", p->dir, errno);
            rc = CAIRN_EIO;
        }
        if (fds[i] >= 0)
            close(fds[i]);
    }
    return rc;
}

int cairn__period_open_fd(struct cairn__period *p, uint32_t file)
{
    /* a descriptor of our own: the period's may be closed meanwhile (closed periods
     * keep none open, so thousands of periods do not exhaust descriptors) */
    pthread_mutex_lock(&p->mu);
    int known = file < p->n_files;
    int remote = known && p->files[file].remote;
    int fd = known && !remote && p->files[file].fd >= 0 ? dup(p->files[file].fd) : -1;
    pthread_mutex_unlock(&p->mu);
    if (!known)
        return CAIRN_ENOTFOUND;
    if (remote)
        return CAIRN__FD_REMOTE;
    if (fd < 0) {
        char path[4200];
        seg_path(p, file, path, sizeof path);
        if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
            CAIRN_ERROR("segment", "open failed", "file=\"%s\" errno=%d", path, errno);
            return CAIRN_EIO;
        }
    }
    return fd;
}

int cairn__period_pread(struct cairn__period *p, int fd, uint32_t file, uint64_t off,
                        uint32_t len, char *dst)
{
    if (fd == CAIRN__FD_REMOTE)
        return cairn__remote_read(p, file, off, len, dst);
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, dst + got, len - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) { /* the file ends before the block the index points at */
            CAIRN_ERROR("segment", "block beyond the end of its file",
                        "dir=\"%s\" file=%u offset=%" PRIu64 " len=%u", p->dir, file, off, len);
            return CAIRN_ECORRUPT;
        }
        if (r < 0) {
            CAIRN_ERROR("segment", "read failed", "dir=\"%s\" file=%u offset=%" PRIu64 " errno=%d",
                        p->dir, file, off, errno);
            return CAIRN_EIO;
        }
        got += (size_t)r;
    }
    return 0;
}

int cairn__period_read(struct cairn__period *p, uint32_t file, uint64_t off, uint32_t len,
                       struct cairn_buf *out)
{
    int fd = cairn__period_open_fd(p, file);
    if (fd < 0)
        return fd;
    cairn_buf_reset(out);
    if (cairn_buf_reserve(out, len)) {
        if (fd >= 0)
            close(fd);
        return CAIRN_ENOMEM;
    }
    int rc = cairn__period_pread(p, fd, file, off, len, out->data);
    if (fd >= 0)
        close(fd);
    out->len = rc ? 0 : len;
    return rc;
}

/* ---- loading (the scan of one file: segment_scan.c) ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int cairn__period_load(struct cairn_store *s, struct cairn__tenant *t, const char *dir,
                       int64_t start)
{
    (void)dir;
    struct cairn__period *p = period_new(s, t, start);
    if (!p)
        return CAIRN_ENOMEM;
    DIR *d = opendir(p->dir);
    if (!d) {
        CAIRN_ERROR("segment", "period directory unreadable", "dir=\"%s\" errno=%d", p->dir,
                    errno);
        int rc = cairn__quarantine_move(s->data_dir, p->dir, &s->damage) ? CAIRN_EIO : 0;
        cairn__period_free(p);
        return rc;
    }
    char **names = NULL;
    size_t nn = 0, cap = 0;
    int rc = 0, rescan = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "seg-", 4) != 0 || !strstr(de->d_name, ".cseg"))
            continue;
        if (nn == cap) {
            cap = cap ? cap * 2 : 8;
            char **nv = realloc(names, cap * sizeof *nv);
            if (!nv) {
                rc = CAIRN_ENOMEM;
                break;
            }
            names = nv;
        }
        if (!(names[nn] = strdup(de->d_name))) {
            rc = CAIRN_ENOMEM;
            break;
        }
        nn++;
    }
    closedir(d);
    if (nn)
        qsort(names, nn, sizeof *names, cmp_str);
    /* files by number: seg-i on disk, else (uploaded) in the object store as the
     * period's remote.manifest says */
    uint32_t n_man = 0, n_tot = 0;
    uint64_t *man_sizes = NULL;
    char **by_no = NULL;
    if (!rc && p->rem) {
        pthread_mutex_lock(&p->mu);
        int mr = cairn__remote_manifest_read(p, &n_man, &man_sizes);
        pthread_mutex_unlock(&p->mu);
        if (mr == CAIRN_ENOMEM)
            rc = mr;
    }
    n_tot = n_man;
    for (size_t i = 0; !rc && i < nn; i++) {
        unsigned long no = strtoul(names[i] + 4, NULL, 10);
        if (no < 1000000 && no + 1 > n_tot)
            n_tot = (uint32_t)no + 1;
    }
    if (!rc && n_tot && (!(p->files = calloc(n_tot, sizeof *p->files)) ||
                         !(by_no = calloc(n_tot, sizeof *by_no))))
        rc = CAIRN_ENOMEM;
    for (size_t i = 0; !rc && i < nn; i++) {
        unsigned long no = strtoul(names[i] + 4, NULL, 10);
        if (no < n_tot)
            by_no[no] = names[i];
    }
    char path[4200];
    for (uint32_t i = 0; !rc && i < n_tot; i++) {
        if (!by_no[i] && i < n_man) {
            p->files[p->n_files++] = (struct cairn__segfile){-1, man_sizes[i], 0, 1};
            continue;
        }
        seg_path(p, i, path, sizeof path);
        int fd = by_no[i] ? open(path, O_RDWR | O_APPEND | O_CLOEXEC)
                          : open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (!by_no[i] && fd >= 0) { /* a hole in the numbers: an empty file keeps them */
            CAIRN_ERROR("segment", "segment file missing", "file=\"%s\"", path);
            cairn__file_hdr_write(fd, cairn__seg_magic, CAIRN__SEG_VERSION);
            rescan = 1;
        }
        struct stat stt;
        if (fd < 0 || fstat(fd, &stt) < 0) {
            CAIRN_ERROR("segment", "segment file unreadable", "file=\"%s\" errno=%d", path, errno);
            p->files[p->n_files++] = (struct cairn__segfile){fd, CAIRN__FILE_HDR, 0, 0};
            if ((rc = cairn__segfile_quarantine(s, p, i, path)))
                break;
            rescan = 1; /* the index file describes the old file: rebuild */
            continue;
        }
        p->files[p->n_files++] = (struct cairn__segfile){fd, (uint64_t)stt.st_size, 0, 0};
        unsigned char h[CAIRN__FILE_HDR];
        if (stt.st_size >= CAIRN__FILE_HDR &&
            (pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h ||
             cairn__file_hdr_check(h, sizeof h, cairn__seg_magic, CAIRN__SEG_VERSION)))
            rescan = 1; /* scan it: the scan mends the header or puts it aside */
    }
    free(man_sizes);
    free(by_no);
    pthread_mutex_lock(&p->mu);
    if (!rc) {
        int r = rescan ? CAIRN_ERANGE : cairn__index_load(s, t, p);
        if (!r)
            cairn__period_close_files(p); /* reopened when read or written */
        if (r == CAIRN_ENOMEM)
            rc = r;
        else if (r) {
            /* no usable index file: rebuild from the segment files */
            cairn__period_index_reset(p);
            p->closed = 0;
            snprintf(path, sizeof path, "%s/index.cidx", p->dir);
            if (r == CAIRN_ECORRUPT)
                cairn__quarantine_move(s->data_dir, path, &s->damage);
            else if (r == CAIRN_ERANGE)
                unlink(path); /* stale: the segment files changed after it was written */
            for (uint32_t i = 0; !rc && i < p->n_files; i++) {
                if (p->files[i].remote) {
                    /* a known gap: a remote file is not scanned (its index comes
                     * from the object store); its blocks stay out of this index */
                    CAIRN_ERROR("segment", "period index unusable and a segment file is only "
                                "in the object store: its blocks are not indexed",
                                "dir=\"%s\" file=%u", p->dir, i);
                    continue;
                }
                seg_path(p, i, path, sizeof path);
                rc = cairn__segfile_scan(s, t, p, i, path);
            }
        }
    }
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
    free(names);
    if (!rc) {
        pthread_mutex_lock(&t->periods_mu);
        rc = period_insert(t, p);
        pthread_mutex_unlock(&t->periods_mu);
    }
    if (rc) {
        CAIRN_ERROR("segment", "period load failed", "dir=\"%s\" err=\"%s\"", p->dir,
                    cairn_strerror(rc));
        /* one bad period does not stop the store: it is put aside whole (a new one is
         * made if entries for it arrive), unless memory ran out */
        if (rc != CAIRN_ENOMEM && cairn__quarantine_move(s->data_dir, p->dir, &s->damage) == 0)
            rc = 0;
        cairn__period_free(p);
        return rc;
    }
    CAIRN_INFO("segment", "period loaded", "dir=\"%s\" files=%u streams=%zu blocks=%" PRIu64
               " closed=%d", p->dir, p->n_files, p->streams.n, p->n_blocks, p->closed);
    return 0;
}
