/* wal.c -- the write-ahead log: append-only files <data_dir>/wal/<seq>.wal of framed
 * records (length, CRC32C, type), fsync policies, and replay with torn-tail cut.
 *
 * One append is one write(2) of a whole push batch. Under CAIRN_FSYNC_ALWAYS appends
 * share fsyncs (group commit): a writer whose bytes are not yet synced either waits for
 * the fsync in flight or, if none is, runs one covering everything written so far.
 * Under CAIRN_FSYNC_INTERVAL a thread syncs every interval when there is new data.
 * Files rotate at file_max; each new file starts with the records the store asks for
 * (STREAM records of active streams), so a file replays without its predecessors.
 *
 * Failures (docs/STORAGE.md "Write failures"): a failed write is cut back with
 * ftruncate and answered with an error (CAIRN_ENOSPC when the disk is full); the next
 * append just tries again, so writes resume by themselves when space returns. A failed
 * fdatasync is never retried on the same file (PostgreSQL's fsyncgate: after EIO the
 * kernel may have dropped the dirty pages and report the next fsync clean). The file
 * is marked failed, every writer waiting on it gets an error, and the next append
 * first cuts the old file back to its last synced byte, starts a new file (header and
 * STREAM records), writes and fdatasyncs it: nothing is acknowledged until that
 * works.
 * Format: docs/FORMATS.md "WAL". */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cairn/log.h"
#include "store/store_int.h"

static const char WAL_MAGIC[8] = {'C', 'A', 'I', 'R', 'N', 'W', 'A', 'L'};


struct cairn__wal {
    char *dir;
    enum cairn_fsync_policy pol;
    int64_t interval_ns;
    size_t file_max;
    cairn__wal_rotate_fn on_rotate;
    void *ctx;

    const struct cairn_store_io *io; /* test hooks, NULL in production */

    pthread_mutex_t mu; /* fd, seq, size, written, failed */
    int fd;
    /* A sync failed (or a failed write could not be cut back): the file is not trusted
     * any more and is never synced again. The next append starts a fresh file and
     * syncs it before anything is acknowledged again (see recover()). */
    int failed;
    uint64_t seq;
    atomic_uint_least64_t seq_pub; /* seq, readable without mu */
    uint64_t size;
    uint64_t written; /* bytes written since open, all files */
    char path[4096];

    pthread_mutex_t sync_mu; /* synced, syncing */
    pthread_cond_t sync_cv;
    uint64_t synced;
    int syncing;
    uint64_t epoch; /* bumped at each sync failure: waiters of an older epoch fail */
    uint64_t fail_synced; /* synced when the last epoch ended */

    pthread_t thr;
    int thr_started, stop;

    atomic_uint_least64_t st_bytes, st_fsyncs, st_records;
};

static void wal_path(const char *dir, uint64_t seq, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%016" PRIx64 ".wal", dir, seq);
}

/* Open file `seq` fresh and write its header plus the rotation records; with
 * sync_it, fdatasync it (a fresh file after a failure must be known durable before
 * anything is acknowledged again). Under mu. On failure the half-written file is
 * removed and w is unchanged: 0, CAIRN_ENOSPC or CAIRN_EIO. */
static int wal_start_file(struct cairn__wal *w, uint64_t seq, int sync_it)
{
    char path[sizeof w->path];
    wal_path(w->dir, seq, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        CAIRN_ERROR("wal", "open failed", "file=\"%s\" errno=%d", path, e);
        return e == ENOSPC || e == EDQUOT ? CAIRN_ENOSPC : CAIRN_EIO;
    }
    unsigned char h[CAIRN__FILE_HDR] = {0}; /* as cairn__file_hdr_write, through the hooks */
    memcpy(h, WAL_MAGIC, 8);
    for (int i = 0; i < 4; i++)
        h[8 + i] = (unsigned char)((uint32_t)CAIRN__WAL_VERSION >> (8 * i));
    int rc = cairn__io_write_all(w->io, fd, h, sizeof h, path);
    struct cairn_buf b = CAIRN_BUF_INIT;
    if (!rc && w->on_rotate)
        rc = w->on_rotate(w->ctx, &b);
    if (!rc && b.len)
        rc = cairn__io_write_all(w->io, fd, b.data, b.len, path);
    if (!rc && sync_it)
        rc = cairn__io_datasync(w->io, fd, path);
    if (rc) {
        close(fd);
        unlink(path);
        cairn_buf_deinit(&b);
        return rc;
    }
    memcpy(w->path, path, sizeof path);
    w->fd = fd;
    w->seq = seq;
    atomic_store(&w->seq_pub, seq);
    w->size = CAIRN__FILE_HDR + b.len;
    w->written += CAIRN__FILE_HDR + b.len;
    cairn_buf_deinit(&b);
    cairn__fsync_dir(w->dir);
    return 0;
}

static int wal_sync_upto(struct cairn__wal *w, uint64_t pos, uint64_t epoch);

static void *wal_thread(void *arg)
{
    struct cairn__wal *w = arg;
    pthread_mutex_lock(&w->sync_mu);
    while (!w->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + w->interval_ns;
        ts.tv_sec += ns / 1000000000LL;
        ts.tv_nsec = ns % 1000000000LL;
        pthread_cond_timedwait(&w->sync_cv, &w->sync_mu, &ts);
        if (w->stop)
            break;
        pthread_mutex_unlock(&w->sync_mu);
        pthread_mutex_lock(&w->mu);
        uint64_t pos = w->written;
        int failed = w->failed;
        pthread_mutex_unlock(&w->mu);
        pthread_mutex_lock(&w->sync_mu);
        uint64_t epoch = w->epoch;
        pthread_mutex_unlock(&w->sync_mu);
        if (!failed) /* a failed file is never synced again; the next append recovers */
            wal_sync_upto(w, pos, epoch);
        pthread_mutex_lock(&w->sync_mu);
    }
    pthread_mutex_unlock(&w->sync_mu);
    return NULL;
}

struct cairn__wal *cairn__wal_open(const char *data_dir, enum cairn_fsync_policy pol,
                                   int64_t interval_ns, size_t file_max,
                                   cairn__wal_rotate_fn on_rotate, void *ctx, uint64_t first_seq)
{
    struct cairn__wal *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    size_t n = strlen(data_dir) + 8;
    if (!(w->dir = malloc(n)))
        goto fail;
    snprintf(w->dir, n, "%s/wal", data_dir);
    if (cairn__mkdir_p(w->dir))
        goto fail;
    w->pol = pol;
    w->interval_ns = interval_ns > 0 ? interval_ns : 1000000000LL;
    w->file_max = file_max;
    w->on_rotate = on_rotate;
    w->ctx = ctx;
    w->fd = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_mutex_init(&w->sync_mu, NULL);
    pthread_cond_init(&w->sync_cv, NULL);
    if (wal_start_file(w, first_seq, 0))
        goto fail_locks;
    if (pol == CAIRN_FSYNC_INTERVAL) {
        if (pthread_create(&w->thr, NULL, wal_thread, w) != 0) {
            close(w->fd);
            goto fail_locks;
        }
        w->thr_started = 1;
    }
    return w;
fail_locks:
    pthread_mutex_destroy(&w->mu);
    pthread_mutex_destroy(&w->sync_mu);
    pthread_cond_destroy(&w->sync_cv);
fail:
    free(w->dir);
    free(w);
    return NULL;
}

void cairn__wal_close(struct cairn__wal *w, int sync)
{
    if (!w)
        return;
    if (w->thr_started) {
        pthread_mutex_lock(&w->sync_mu);
        w->stop = 1;
        pthread_cond_broadcast(&w->sync_cv);
        pthread_mutex_unlock(&w->sync_mu);
        pthread_join(w->thr, NULL);
    }
    if (w->fd >= 0) {
        if (sync && !w->failed && cairn__io_datasync(w->io, w->fd, w->path) == 0)
            w->st_fsyncs++;
        close(w->fd);
    }
    pthread_mutex_destroy(&w->mu);
    pthread_mutex_destroy(&w->sync_mu);
    pthread_cond_destroy(&w->sync_cv);
    free(w->dir);
    free(w);
}

/* Mark the current file failed (under mu): it is never synced again. Waiters of the
 * current epoch whose bytes were not synced get an error. */
static void wal_fail_locked(struct cairn__wal *w)
{
    w->failed = 1;
    pthread_mutex_lock(&w->sync_mu);
    w->fail_synced = w->synced;
    w->epoch++;
    pthread_cond_broadcast(&w->sync_cv);
    pthread_mutex_unlock(&w->sync_mu);
}

/* Make sure every byte up to pos (in `written` units), written in epoch `epoch`, is on
 * disk: 0, or CAIRN_EIO / CAIRN_ENOSPC when a sync failed before covering it. A failed
 * fdatasync is never retried on the same file (after EIO the kernel may have dropped
 * the dirty pages and a second fdatasync would report success): the file is marked
 * failed and the next append starts a fresh one. */
static int wal_sync_upto(struct cairn__wal *w, uint64_t pos, uint64_t epoch)
{
    int rc = 0;
    pthread_mutex_lock(&w->sync_mu);
    for (;;) {
        if (w->epoch != epoch) {
            /* durable before the failure, or lost with the failed file */
            if (!(epoch + 1 == w->epoch && pos <= w->fail_synced))
                rc = rc ? rc : CAIRN_EIO;
            break;
        }
        if (w->synced >= pos)
            break;
        if (w->syncing) {
            pthread_cond_wait(&w->sync_cv, &w->sync_mu);
            continue;
        }
        w->syncing = 1;
        pthread_mutex_unlock(&w->sync_mu);
        pthread_mutex_lock(&w->mu);
        if (w->failed) {
            pthread_mutex_unlock(&w->mu);
            pthread_mutex_lock(&w->sync_mu);
            w->syncing = 0;
            pthread_cond_broadcast(&w->sync_cv);
            rc = CAIRN_EIO;
            break;
        }
        uint64_t target = w->written;
        int fd = dup(w->fd);
        pthread_mutex_unlock(&w->mu);
        int src = fd >= 0 ? cairn__io_datasync(w->io, fd, w->path) : CAIRN_EIO;
        if (fd >= 0)
            close(fd);
        w->st_fsyncs++;
        if (src) {
            pthread_mutex_lock(&w->mu);
            if (!w->failed)
                wal_fail_locked(w);
            pthread_mutex_unlock(&w->mu);
            rc = src;
        }
        pthread_mutex_lock(&w->sync_mu);
        w->syncing = 0;
        if (!src && target > w->synced)
            w->synced = target;
        pthread_cond_broadcast(&w->sync_cv);
    }
    pthread_mutex_unlock(&w->sync_mu);
    return rc;
}

/* After a failure: cut the old file back to what is known durable (best effort: what
 * follows was never acknowledged under CAIRN_FSYNC_ALWAYS, so a retried push is not
 * stored twice), close it without syncing again, and start a fresh file which must be
 * written and synced before the WAL accepts anything. Under mu. */
static int wal_recover(struct cairn__wal *w)
{
    if (w->fd >= 0) {
        pthread_mutex_lock(&w->sync_mu);
        uint64_t unsynced = w->written - w->synced;
        pthread_mutex_unlock(&w->sync_mu);
        if (w->pol == CAIRN_FSYNC_ALWAYS && unsynced <= w->size - CAIRN__FILE_HDR &&
            ftruncate(w->fd, (off_t)(w->size - unsynced)) < 0)
            CAIRN_WARN("wal", "could not cut the failed file back", "file=\"%s\" errno=%d",
                       w->path, errno);
    }
    int old = w->fd;
    int rc = wal_start_file(w, w->seq + 1, 1);
    if (rc)
        return rc;
    if (old >= 0)
        close(old);
    w->failed = 0;
    pthread_mutex_lock(&w->sync_mu);
    w->synced = w->written; /* the new file is synced; the old file's tail is abandoned */
    pthread_mutex_unlock(&w->sync_mu);
    CAIRN_INFO("wal", "recovered from a failed write or sync: new file written and synced",
               "file=\"%s\"", w->path);
    return 0;
}

int cairn__wal_append(struct cairn__wal *w, const void *p, size_t n)
{
    pthread_mutex_lock(&w->mu);
    int rc = 0;
    if (w->failed)
        rc = wal_recover(w);
    else if (w->size + n > w->file_max && w->size > CAIRN__FILE_HDR) {
        /* rotate: the old file is synced before the new one is used */
        if (w->pol != CAIRN_FSYNC_NEVER) {
            rc = cairn__io_datasync(w->io, w->fd, w->path);
            w->st_fsyncs++;
            if (rc) {
                wal_fail_locked(w);
            } else {
                pthread_mutex_lock(&w->sync_mu);
                if (w->written > w->synced)
                    w->synced = w->written;
                pthread_mutex_unlock(&w->sync_mu);
            }
        }
        if (!rc) {
            int old = w->fd;
            rc = wal_start_file(w, w->seq + 1, 0);
            if (!rc)
                close(old);
        }
    }
    if (rc) {
        pthread_mutex_unlock(&w->mu);
        return rc;
    }
    rc = cairn__io_write_all(w->io, w->fd, p, n, w->path);
    if (rc) {
        /* cut back so that no torn record is left in the middle of the log; if that
         * fails too, the file is not trusted any more */
        if (ftruncate(w->fd, (off_t)w->size) < 0) {
            CAIRN_ERROR("wal", "ftruncate failed", "file=\"%s\" errno=%d", w->path, errno);
            wal_fail_locked(w);
        }
        pthread_mutex_unlock(&w->mu);
        return rc;
    }
    w->size += n;
    w->written += n;
    uint64_t pos = w->written;
    pthread_mutex_lock(&w->sync_mu);
    uint64_t epoch = w->epoch;
    pthread_mutex_unlock(&w->sync_mu);
    pthread_mutex_unlock(&w->mu);
    w->st_bytes += n;
    w->st_records++;
    if (w->pol == CAIRN_FSYNC_ALWAYS)
        return wal_sync_upto(w, pos, epoch);
    return 0;
}

void cairn__wal_set_io(struct cairn__wal *w, const struct cairn_store_io *io)
{
    w->io = io;
}

uint64_t cairn__wal_seq(struct cairn__wal *w)
{
    return atomic_load(&w->seq_pub);
}

void cairn__wal_stats(struct cairn__wal *w, uint64_t *bytes, uint64_t *fsyncs, uint64_t *records)
{
    *bytes = w->st_bytes;
    *fsyncs = w->st_fsyncs;
    *records = w->st_records;
}

/* The seqs of the WAL files in dir, sorted; caller frees. */
static int list_wal(const char *dir, uint64_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : CAIRN_EIO;
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l != 20 || strcmp(de->d_name + 16, ".wal") != 0)
            continue;
        char *end;
        uint64_t seq = strtoull(de->d_name, &end, 16);
        if (end != de->d_name + 16)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *nv = realloc(*out, cap * sizeof *nv);
            if (!nv) {
                closedir(d);
                free(*out);
                *out = NULL;
                return CAIRN_ENOMEM;
            }
            *out = nv;
        }
        (*out)[(*n)++] = seq;
    }
    closedir(d);
    for (size_t i = 1; i < *n; i++) /* insertion sort: a handful of files */
        for (size_t j = i; j > 0 && (*out)[j - 1] > (*out)[j]; j--) {
            uint64_t t = (*out)[j];
            (*out)[j] = (*out)[j - 1];
            (*out)[j - 1] = t;
        }
    return 0;
}

int cairn__wal_remove_below(struct cairn__wal *w, uint64_t below)
{
    uint64_t *seqs;
    size_t n;
    int rc = list_wal(w->dir, &seqs, &n);
    if (rc)
        return rc;
    char path[4096];
    int removed = 0;
    for (size_t i = 0; i < n; i++) {
        if (seqs[i] >= below)
            continue;
        wal_path(w->dir, seqs[i], path, sizeof path);
        if (unlink(path) == 0) {
            removed++;
            CAIRN_DEBUG("wal", "checkpoint removed file", "file=\"%s\"", path);
        }
    }
    free(seqs);
    if (removed)
        cairn__fsync_dir(w->dir);
    return 0;
}

int cairn__wal_remove_all(const char *data_dir)
{
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/wal", data_dir);
    uint64_t *seqs;
    size_t n;
    int rc = list_wal(dir, &seqs, &n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        wal_path(dir, seqs[i], path, sizeof path);
        unlink(path);
    }
    free(seqs);
    cairn__fsync_dir(dir);
    return 0;
}

/* A header whose magic is ours and whose version is one we do not know yet: a file
 * of a newer cairn, not damage. */
static int newer_version(const unsigned char *p, size_t len)
{
    if (len < CAIRN__FILE_HDR || memcmp(p, WAL_MAGIC, 8) != 0)
        return 0;
    uint32_t v = cairn_get_u32le(p + 8);
    return v > CAIRN__WAL_VERSION && v < 256;
}

/* A file shorter than a header that holds a prefix of one: created by a process that
 * stopped before writing its header (nothing lost). */
static int torn_creation(const unsigned char *p, size_t len)
{
    unsigned char h[CAIRN__FILE_HDR] = {0};
    memcpy(h, WAL_MAGIC, 8);
    h[8] = CAIRN__WAL_VERSION;
    return memcmp(p, h, len) == 0;
}

/* Map one WAL file and find where its valid records end. Damaged records in the
 * middle are skipped (logged with file, offset and bytes); a torn tail is cut (a
 * damaged last record is copied into the quarantine first); a file with a damaged
 * header but valid records is copied into the quarantine and its header rewritten;
 * a file that cannot be read, or holds nothing valid, is moved into the quarantine
 * (m->p NULL then). Only CAIRN_ENOMEM fails. */
static int map_file(const char *data_dir, const char *path, uint64_t seq,
                    struct cairn__wal_map *m, struct cairn__damage *dmg)
{
    memset(m, 0, sizeof *m);
    m->seq = seq;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        CAIRN_ERROR("wal", "WAL file unreadable", "file=\"%s\" errno=%d", path, errno);
        if (fd >= 0)
            close(fd);
        cairn__quarantine_move(data_dir, path, dmg);
        return 0;
    }
    size_t len = (size_t)st.st_size;
    unsigned char hb[CAIRN__FILE_HDR];
    if (len < CAIRN__FILE_HDR) {
        ssize_t got = pread(fd, hb, len, 0);
        close(fd);
        if (got == (ssize_t)len && torn_creation(hb, len)) {
            CAIRN_WARN("wal", "file shorter than its header, removed", "file=\"%s\" size=%zu",
                       path, len);
            unlink(path);
        } else {
            CAIRN_ERROR("wal", "bad file header", "file=\"%s\" size=%zu", path, len);
            cairn__quarantine_move(data_dir, path, dmg);
        }
        return 0;
    }
    unsigned char *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
        CAIRN_ERROR("wal", "mmap failed", "file=\"%s\" errno=%d", path, errno);
        close(fd);
        cairn__quarantine_move(data_dir, path, dmg);
        return 0;
    }
    int rc = cairn__file_hdr_check(p, len, WAL_MAGIC, CAIRN__WAL_VERSION);
    if (rc) {
        struct cairn__recscan probe;
        cairn__recscan_init(&probe, p, len, CAIRN__FILE_HDR, cairn__wal_rec_plausible);
        uint8_t ty;
        const unsigned char *pl;
        uint32_t pn;
        size_t ro;
        int salvage = !newer_version(p, len) &&
                      cairn__recscan_next(&probe, &ty, &pl, &pn, &ro) == 1;
        CAIRN_ERROR("wal", newer_version(p, len) ? "WAL file of a newer format" : "bad file header",
                    "file=\"%s\" err=\"%s\" records_follow=%d", path, cairn_strerror(rc), salvage);
        unsigned char h[CAIRN__FILE_HDR] = {0};
        memcpy(h, WAL_MAGIC, 8);
        h[8] = CAIRN__WAL_VERSION;
        /* the records are intact: keep the original, mend the header in place */
        if (salvage && cairn__quarantine_save(data_dir, path, "header", p, len) == 0 &&
            pwrite(fd, h, sizeof h, 0) == (ssize_t)sizeof h && fdatasync(fd) == 0) {
            atomic_fetch_add(&dmg->files_quarantined, 1);
            munmap(p, len);
            p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
            if (p == MAP_FAILED) {
                close(fd);
                return 0;
            }
        } else {
            munmap(p, len);
            close(fd);
            cairn__quarantine_move(data_dir, path, dmg);
            return 0;
        }
    }
    struct cairn__recscan sc;
    cairn__recscan_init(&sc, p, len, CAIRN__FILE_HDR, cairn__wal_rec_plausible);
    uint8_t type;
    const unsigned char *pl;
    uint32_t pn;
    size_t ro;
    for (;;) {
        int r = cairn__recscan_next(&sc, &type, &pl, &pn, &ro);
        if (sc.skip_len) {
            CAIRN_ERROR("wal", "damaged records skipped",
                        "file=\"%s\" offset=%zu bytes=%zu next_record=%zu", path, sc.skip_off,
                        sc.skip_len, sc.skip_off + sc.skip_len);
            atomic_fetch_add(&dmg->records_skipped, 1);
            atomic_fetch_add(&dmg->bytes_skipped, sc.skip_len);
        }
        if (r != 1)
            break;
    }
    if (sc.tail_off < len) {
        if (sc.tail_torn) {
            CAIRN_WARN("wal", "torn tail record, cutting the file there",
                       "file=\"%s\" offset=%zu dropped_bytes=%zu", path, sc.tail_off,
                       len - sc.tail_off);
        } else {
            CAIRN_ERROR("wal", "damaged last record, cutting the file there",
                        "file=\"%s\" offset=%zu dropped_bytes=%zu", path, sc.tail_off,
                        len - sc.tail_off);
            cairn__quarantine_save(data_dir, path, "tail", p + sc.tail_off, len - sc.tail_off);
            atomic_fetch_add(&dmg->records_skipped, 1);
            atomic_fetch_add(&dmg->bytes_skipped, len - sc.tail_off);
        }
        if (ftruncate(fd, (off_t)sc.tail_off) < 0)
            CAIRN_ERROR("wal", "ftruncate failed", "file=\"%s\" errno=%d", path, errno);
    }
    close(fd);
    m->p = p;
    m->map_len = len;
    m->len = sc.tail_off;
    return 0;
}

void cairn__wal_unmap_all(struct cairn__wal_map *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (m[i].p)
            munmap(m[i].p, m[i].map_len);
    free(m);
}

int cairn__wal_map_all(const char *data_dir, struct cairn__wal_map **out, size_t *nout,
                       struct cairn__damage *dmg)
{
    struct cairn__damage local;
    if (!dmg) {
        memset(&local, 0, sizeof local);
        dmg = &local;
    }
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/wal", data_dir);
    uint64_t *seqs;
    size_t n;
    *out = NULL;
    *nout = 0;
    int rc = list_wal(dir, &seqs, &n);
    if (rc)
        return rc;
    struct cairn__wal_map *m = calloc(n ? n : 1, sizeof *m);
    if (!m) {
        free(seqs);
        return CAIRN_ENOMEM;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        wal_path(dir, seqs[i], path, sizeof path);
        rc = map_file(data_dir, path, seqs[i], &m[i], dmg);
    }
    free(seqs);
    if (rc) {
        cairn__wal_unmap_all(m, n);
        return rc;
    }
    *out = m;
    *nout = n;
    return 0;
}

int cairn__wal_replay(const char *data_dir, cairn__wal_replay_fn cb, void *ctx,
                      uint64_t *max_seq)
{
    struct cairn__wal_map *m;
    size_t n;
    *max_seq = 0;
    int rc = cairn__wal_map_all(data_dir, &m, &n, NULL);
    for (size_t i = 0; !rc && i < n; i++) {
        *max_seq = m[i].seq;
        size_t nrec = 0, ro;
        uint8_t type;
        const unsigned char *pl;
        uint32_t pn;
        struct cairn__recscan sc;
        cairn__recscan_init(&sc, m[i].p, m[i].p ? m[i].len : 0, CAIRN__FILE_HDR,
                            cairn__wal_rec_plausible);
        while (!rc && m[i].p && cairn__recscan_next(&sc, &type, &pl, &pn, &ro) == 1) {
            rc = cb(ctx, m[i].seq, type, pl, pn);
            nrec++;
        }
        CAIRN_INFO("wal", "replayed file", "seq=%" PRIu64 " records=%zu bytes=%zu", m[i].seq, nrec,
                   m[i].len);
    }
    if (m)
        cairn__wal_unmap_all(m, n);
    return rc;
}
