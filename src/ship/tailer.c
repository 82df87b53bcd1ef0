/* tailer.c -- follow files matched by globs: read new lines, survive rotation (rename
 * and copytruncate) and truncation, resume from the positions file, save positions
 * only after the sink has acknowledged everything read.
 *
 * One thread does it all: an inotify descriptor says which files changed (and which
 * watched directories gained or lost files), a periodic poll catches what inotify
 * cannot (other filesystems, new subdirectories under `**`), and a rescan re-runs
 * the globs. Every file shares one read buffer; only a partial last line is kept per
 * file, and it waits there for its newline. The position of a file is the start of
 * that partial line, so a restart re-reads it whole. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "cairn/limits.h"
#include "cairn/log.h"
#include "cairn/ship_positions.h"
#include "cairn/timeutil.h"
#include "ship/ship_int.h"

#define READ_BUF_SIZE (64 * 1024)
#define READS_PER_TURN 16 /* 1 MiB per file before giving the others a turn */
#define NS_PER_SEC 1000000000LL
#define DRAIN_MAX 64   /* rotated files read during their grace period at once */
#define TAIL_CHECK 64 /* bytes compared to detect a truncation hidden by new writes */

struct tfile {
    char *path;
    int fd;
    dev_t dev;
    ino_t ino;
    int64_t off; /* bytes consumed from fd */
    /* the last bytes read before off: if the file no longer holds them there, it was
     * truncated and rewritten past off before we looked (copytruncate under load) */
    char tail[TAIL_CHECK];
    size_t tail_len;
    struct cairn_buf partial;
    int wd;
    size_t target;
    struct cairn_labels labels;
    int seen, dirty;
};

struct dwatch {
    int wd;
    char *dir;
};

struct cairn_tailer {
    struct cairn_tailer_config cfg;
    struct tfile **files;
    size_t n_files, cap_files;
    struct dwatch *dirs;
    size_t n_dirs, cap_dirs;
    int ifd, evfd;
    char *rbuf;
    struct cairn_ship_entry entry;
    struct cairn_tailer_stats stats;
    atomic_int stop;
    double tokens;
    int64_t tokens_at;
    /* rotated-away files still read for a grace period: writers that have not
     * reopened their log yet keep appending to the old inode */
    struct tfile *draining[DRAIN_MAX];
    int64_t drain_until[DRAIN_MAX];
    size_t n_draining;
};

static void file_free(struct tfile *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    free(f->path);
    cairn_buf_deinit(&f->partial);
    cairn_labels_deinit(&f->labels);
    free(f);
}

struct cairn_tailer *cairn_tailer_create(const struct cairn_tailer_config *cfg,
                                         struct cairn_err *err)
{
    struct cairn_tailer *t = calloc(1, sizeof *t);
    if (!t) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    t->cfg = *cfg;
    if (t->cfg.sync_period_ns <= 0)
        t->cfg.sync_period_ns = 10 * NS_PER_SEC;
    if (t->cfg.rescan_period_ns <= 0)
        t->cfg.rescan_period_ns = 10 * NS_PER_SEC;
    if (t->cfg.poll_period_ns <= 0)
        t->cfg.poll_period_ns = NS_PER_SEC;
    if (t->cfg.max_line == 0)
        t->cfg.max_line = CAIRN_MAX_LINE_SIZE;
    t->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (t->ifd < 0)
        CAIRN_WARN("tail", "inotify unavailable, polling only", "errno=%d", errno);
    t->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    t->rbuf = malloc(READ_BUF_SIZE);
    cairn_ship_entry_init(&t->entry);
    if (t->evfd < 0 || !t->rbuf) {
        cairn_err_set(err, CAIRN_ENOMEM, "cannot set up the tailer");
        cairn_tailer_destroy(t);
        return NULL;
    }
    t->tokens = cfg->readline_burst > 0 ? cfg->readline_burst : cfg->readline_rate;
    t->tokens_at = cairn_mono_ns();
    return t;
}

/* Wait for or refuse a line under limits_config readline_rate. 1: go on, 0: drop. */
static int rate_ok(struct cairn_tailer *t)
{
    double rate = t->cfg.readline_rate;
    if (rate <= 0)
        return 1;
    double burst = t->cfg.readline_burst > 0 ? t->cfg.readline_burst : rate;
    for (;;) {
        int64_t now = cairn_mono_ns();
        t->tokens += (double)(now - t->tokens_at) / 1e9 * rate;
        t->tokens_at = now;
        if (t->tokens > burst)
            t->tokens = burst;
        if (t->tokens >= 1) {
            t->tokens -= 1;
            return 1;
        }
        if (t->cfg.readline_rate_drop) {
            t->stats.dropped_rate++;
            return 0;
        }
        double wait = (1 - t->tokens) / rate;
        struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

static int emit_line(struct cairn_tailer *t, struct tfile *f, const char *p, size_t len)
{
    if (len && p[len - 1] == '\r')
        len--;
    t->stats.lines++;
    t->stats.bytes += len;
    if (!rate_ok(t))
        return 0;
    const struct cairn_tail_target *tg = &t->cfg.targets[f->target];
    int rc = cairn_ship_entry_reset(&t->entry, &f->labels, cairn_now_ns(), p, len);
    if (rc)
        return rc;
    return cairn_ship_pipeline_run(tg->pipeline, &t->entry, t->cfg.sink);
}

/* Append to the partial line, splitting off max_line pieces. */
static int add_partial(struct cairn_tailer *t, struct tfile *f, const char *p, size_t n)
{
    while (n) {
        size_t room = t->cfg.max_line - f->partial.len;
        size_t k = n < room ? n : room;
        if (cairn_buf_append(&f->partial, p, k))
            return CAIRN_ENOMEM;
        p += k;
        n -= k;
        if (f->partial.len >= t->cfg.max_line) {
            int rc = emit_line(t, f, f->partial.data, f->partial.len);
            cairn_buf_reset(&f->partial);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* A line could not be handed on (the sink refused it: shutting down): make the file's
 * position the start of that line, so positions never pass a line not sent. */
static int rewind_to(struct tfile *f, int64_t line_start, int rc)
{
    if (f->fd >= 0 && lseek(f->fd, line_start, SEEK_SET) == line_start) {
        f->off = line_start;
        f->tail_len = 0;
        cairn_buf_reset(&f->partial);
    }
    return rc;
}

static int process_chunk(struct cairn_tailer *t, struct tfile *f, const char *p, size_t n)
{
    const char *end = p + n, *base = p;
    int64_t chunk_off = f->off - (int64_t)n; /* file offset of p[0] */
    int rc;
    if (f->partial.len) {
        int64_t start = chunk_off - (int64_t)f->partial.len;
        const char *nl = memchr(p, '\n', n);
        if (!nl)
            return add_partial(t, f, p, n);
        if ((rc = add_partial(t, f, p, (size_t)(nl - p))))
            return rc;
        rc = emit_line(t, f, f->partial.data, f->partial.len);
        cairn_buf_reset(&f->partial);
        if (rc)
            return rewind_to(f, start, rc);
        p = nl + 1;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        int64_t start = chunk_off + (p - base);
        if ((size_t)(nl - p) > t->cfg.max_line) {
            if ((rc = add_partial(t, f, p, (size_t)(nl - p))))
                return rewind_to(f, start, rc);
            if (f->partial.len) {
                rc = emit_line(t, f, f->partial.data, f->partial.len);
                cairn_buf_reset(&f->partial);
                if (rc)
                    return rewind_to(f, start, rc);
            }
        } else if ((rc = emit_line(t, f, p, (size_t)(nl - p)))) {
            return rewind_to(f, start, rc);
        }
        p = nl + 1;
    }
    return p < end ? add_partial(t, f, p, (size_t)(end - p)) : 0;
}

static void remember_tail(struct tfile *f, const char *p, size_t n)
{
    if (n >= TAIL_CHECK) {
        memcpy(f->tail, p + n - TAIL_CHECK, TAIL_CHECK);
        f->tail_len = TAIL_CHECK;
        return;
    }
    size_t keep = f->tail_len + n > TAIL_CHECK ? TAIL_CHECK - n : f->tail_len;
    memmove(f->tail, f->tail + f->tail_len - keep, keep);
    memcpy(f->tail + keep, p, n);
    f->tail_len = keep + n;
}

/* Was the file truncated (and perhaps rewritten past our offset) since we read it? */
static int truncated_under_us(struct tfile *f, char *scratch)
{
    if (f->off == 0 || f->tail_len == 0)
        return 0;
    ssize_t n = pread(f->fd, scratch, f->tail_len, f->off - (int64_t)f->tail_len);
    return n != (ssize_t)f->tail_len || memcmp(scratch, f->tail, f->tail_len) != 0;
}

static void restart_at_zero(struct cairn_tailer *t, struct tfile *f, const char *why)
{
    CAIRN_INFO("tail", "file truncated, reading from the start", "file=%s offset=%lld why=%s",
               f->path, (long long)f->off, why);
    lseek(f->fd, 0, SEEK_SET);
    f->off = 0;
    f->tail_len = 0;
    cairn_buf_reset(&f->partial);
    t->stats.truncations++;
}

/* Read what is there. Returns 1 if more may be waiting (turn cap hit), 0 at EOF,
 * negative on a sink or memory error. */
static int read_file(struct cairn_tailer *t, struct tfile *f)
{
    if (f->fd < 0)
        return 0;
    if (truncated_under_us(f, t->rbuf))
        restart_at_zero(t, f, "content_changed");
    for (int i = 0; i < READS_PER_TURN; i++) {
        ssize_t n = read(f->fd, t->rbuf, READ_BUF_SIZE);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            CAIRN_WARN("tail", "read failed", "file=%s errno=%d", f->path, errno);
            return 0;
        }
        if (n == 0)
            return 0;
        f->off += n;
        remember_tail(f, t->rbuf, (size_t)n);
        int rc = process_chunk(t, f, t->rbuf, (size_t)n);
        if (rc)
            return rc;
    }
    return 1;
}

static void watch_dir(struct cairn_tailer *t, const char *path)
{
    if (t->ifd < 0)
        return;
    const char *slash = strrchr(path, '/');
    size_t dl = slash ? (size_t)(slash - path) : 0;
    char dir[4096];
    if (dl >= sizeof dir)
        return;
    if (dl == 0)
        strcpy(dir, slash ? "/" : ".");
    else {
        memcpy(dir, path, dl);
        dir[dl] = '\0';
    }
    for (size_t i = 0; i < t->n_dirs; i++)
        if (strcmp(t->dirs[i].dir, dir) == 0)
            return;
    int wd = inotify_add_watch(t->ifd, dir, IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE);
    if (wd < 0)
        return;
    if (t->n_dirs == t->cap_dirs) {
        size_t nc = t->cap_dirs ? t->cap_dirs * 2 : 8;
        void *nd = realloc(t->dirs, nc * sizeof *t->dirs);
        if (!nd)
            return;
        t->dirs = nd;
        t->cap_dirs = nc;
    }
    char *d = strdup(dir);
    if (!d)
        return;
    t->dirs[t->n_dirs++] = (struct dwatch){wd, d};
}

/* After a restart: the file at the path is not the one we were reading. Find the old
 * inode next to it (the rotated name) and read what it still holds past offset. */
static int drain_rotated(struct cairn_tailer *t, struct tfile *f, ino_t old_ino, int64_t off)
{
    char dir[4096];
    const char *slash = strrchr(f->path, '/');
    size_t dl = slash ? (size_t)(slash - f->path) : 0;
    if (!slash || dl >= sizeof dir)
        return 0;
    memcpy(dir, f->path, dl);
    dir[dl] = '\0';
    DIR *d = opendir(dl ? dir : "/");
    if (!d)
        return 0;
    struct dirent *de;
    char found[4096 + 256 + 2] = "";
    while ((de = readdir(d)))
        if (de->d_ino == old_ino) {
            snprintf(found, sizeof found, "%s/%s", dir, de->d_name);
            break;
        }
    closedir(d);
    if (!found[0])
        return 0;
    int fd = open(found, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) || st.st_ino != old_ino || st.st_size < off) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    CAIRN_INFO("tail", "reading the rest of a file rotated while stopped", "file=%s rotated=%s "
               "offset=%lld", f->path, found, (long long)off);
    lseek(fd, off, SEEK_SET);
    int saved = f->fd;
    f->fd = fd;
    f->off = off;
    f->tail_len = 0;
    int rc;
    while ((rc = read_file(t, f)) == 1)
        ;
    if (!rc && f->partial.len)
        rc = emit_line(t, f, f->partial.data, f->partial.len);
    cairn_buf_reset(&f->partial);
    close(fd);
    f->fd = saved;
    t->stats.rotations++;
    return rc < 0 ? rc : 0;
}

static int file_labels(struct cairn_tailer *t, struct tfile *f)
{
    const struct cairn_tail_target *tg = &t->cfg.targets[f->target];
    cairn_labels_reset(&f->labels);
    if (tg->kind == CAIRN_TAIL_PODS && cairn_ship_pod_labels(f->path, &f->labels) != 0)
        cairn_labels_reset(&f->labels);
    for (size_t i = 0; tg->labels && i < tg->labels->n; i++) {
        const struct cairn_label *l = &tg->labels->v[i];
        if (cairn_labels_get(&f->labels, l->name, l->name_len))
            continue;
        if (cairn_labels_add(&f->labels, l->name, l->name_len, l->value, l->value_len))
            return CAIRN_ENOMEM;
        if (cairn_labels_sort(&f->labels, NULL))
            return CAIRN_EINVAL;
    }
    if (!cairn_labels_get(&f->labels, "filename", 8)) {
        if (cairn_labels_add(&f->labels, "filename", 8, f->path, strlen(f->path)))
            return CAIRN_ENOMEM;
    }
    return cairn_labels_sort(&f->labels, NULL) ? CAIRN_EINVAL : 0;
}

/* Open f->path, choosing where to start from the positions. */
static int file_open(struct cairn_tailer *t, struct tfile *f, int use_positions)
{
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        CAIRN_DEBUG("tail", "cannot open", "file=%s errno=%d", f->path, errno);
        return CAIRN_EIO;
    }
    struct stat st;
    if (fstat(fd, &st)) {
        close(fd);
        return CAIRN_EIO;
    }
    int64_t start = 0, off;
    uint64_t ino;
    if (use_positions && t->cfg.positions &&
        cairn_positions_get(t->cfg.positions, f->path, &off, &ino) == 0) {
        if ((ino == 0 || ino == (uint64_t)st.st_ino) && off <= st.st_size) {
            start = off;
        } else if (ino && ino != (uint64_t)st.st_ino) {
            int rc = drain_rotated(t, f, (ino_t)ino, off);
            if (rc) {
                close(fd);
                return rc;
            }
        } else {
            CAIRN_INFO("tail", "file shorter than its position: truncated while stopped",
                       "file=%s position=%lld size=%lld", f->path, (long long)off,
                       (long long)st.st_size);
            t->stats.truncations++;
        }
    }
    if (start && lseek(fd, start, SEEK_SET) != start) {
        close(fd);
        return CAIRN_EIO;
    }
    f->fd = fd;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->off = start;
    f->tail_len = 0;
    if (start > 0) {
        /* remember what precedes the start, to notice a later truncation */
        size_t k = start < TAIL_CHECK ? (size_t)start : TAIL_CHECK;
        if (pread(fd, f->tail, k, start - (int64_t)k) == (ssize_t)k)
            f->tail_len = k;
    }
    cairn_buf_reset(&f->partial);
    f->wd = -1;
    if (t->ifd >= 0)
        f->wd = inotify_add_watch(t->ifd, f->path, IN_MODIFY | IN_MOVE_SELF | IN_DELETE_SELF |
                                                       IN_ATTRIB | IN_CLOSE_WRITE);
    watch_dir(t, f->path);
    t->stats.files_open++;
    CAIRN_INFO("tail", "tailing", "file=%s offset=%lld", f->path, (long long)start);
    return 0;
}

static void file_close(struct cairn_tailer *t, struct tfile *f)
{
    if (f->fd < 0)
        return;
    if (f->wd >= 0 && t->ifd >= 0) {
        /* the same inode may be watched by no other file: remove the watch */
        int shared = 0;
        for (size_t i = 0; i < t->n_files; i++)
            if (t->files[i] != f && t->files[i]->wd == f->wd && t->files[i]->fd >= 0)
                shared = 1;
        if (!shared)
            inotify_rm_watch(t->ifd, f->wd);
    }
    close(f->fd);
    f->fd = -1;
    f->wd = -1;
    t->stats.files_open--;
}

/* At EOF: truncated? rotated? Returns 1 if the file should be read again. */
static int check_rotation(struct cairn_tailer *t, struct tfile *f)
{
    struct stat st, pst;
    if (f->fd < 0)
        return 0;
    if (fstat(f->fd, &st) == 0 && st.st_size < f->off) {
        restart_at_zero(t, f, "shorter");
        return 1;
    }
    int gone = stat(f->path, &pst) != 0;
    if (!gone && pst.st_ino == f->ino && pst.st_dev == f->dev)
        return 0;
    /* rotated (renamed or deleted): drain the old inode, then switch */
    int rc;
    while ((rc = read_file(t, f)) == 1)
        ;
    t->stats.rotations++;
    struct tfile *old = t->n_draining < DRAIN_MAX ? calloc(1, sizeof *old) : NULL;
    if (old && (old->path = strdup(f->path)) != NULL) {
        /* hand the old inode to the draining list; f starts over on the new file */
        cairn_labels_init(&old->labels);
        if (cairn_labels_copy(&old->labels, &f->labels) == 0) {
            old->fd = f->fd;
            old->wd = -1;
            old->dev = f->dev;
            old->ino = f->ino;
            old->off = f->off;
            old->target = f->target;
            old->partial = f->partial;
            cairn_buf_init(&f->partial);
            t->drain_until[t->n_draining] = cairn_mono_ns() + 2 * t->cfg.poll_period_ns;
            t->draining[t->n_draining++] = old;
            f->fd = -1; /* the watch stays: its events now wake the draining copy */
            f->wd = -1;
            t->stats.files_open--;
            old = NULL;
        }
    }
    if (old) {
        free(old->path);
        cairn_labels_deinit(&old->labels);
        free(old);
    }
    if (f->fd >= 0) { /* no room to drain: finish it now */
        if (f->partial.len) {
            emit_line(t, f, f->partial.data, f->partial.len);
            cairn_buf_reset(&f->partial);
        }
        file_close(t, f);
    }
    if (gone)
        return 0;
    CAIRN_INFO("tail", "file rotated, following the new one", "file=%s", f->path);
    return file_open(t, f, 0) == 0;
}

static int service_file(struct cairn_tailer *t, struct tfile *f)
{
    for (;;) {
        int rc = read_file(t, f);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            f->dirty = 1; /* more to read: come back after the others */
            return 0;
        }
        f->dirty = 0;
        if (!check_rotation(t, f))
            return 0;
    }
}

struct scan_ctx {
    struct cairn_tailer *t;
    size_t target;
    int rc;
};

static struct tfile *find_file(struct cairn_tailer *t, const char *path)
{
    for (size_t i = 0; i < t->n_files; i++)
        if (strcmp(t->files[i]->path, path) == 0)
            return t->files[i];
    return NULL;
}

static int on_match(void *ud, const char *path, const struct stat *st)
{
    (void)st;
    struct scan_ctx *sc = ud;
    struct cairn_tailer *t = sc->t;
    const struct cairn_tail_target *tg = &t->cfg.targets[sc->target];
    if (tg->exclude && cairn__glob_match(tg->exclude, path))
        return 0;
    struct tfile *f = find_file(t, path);
    if (f) {
        f->seen = 1;
        if (f->fd < 0 && file_open(t, f, 0) == 0)
            f->dirty = 1;
        return 0;
    }
    if (t->n_files == t->cap_files) {
        size_t nc = t->cap_files ? t->cap_files * 2 : 16;
        void *nf = realloc(t->files, nc * sizeof *t->files);
        if (!nf)
            return CAIRN_ENOMEM;
        t->files = nf;
        t->cap_files = nc;
    }
    f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return CAIRN_ENOMEM;
    }
    f->fd = -1;
    f->wd = -1;
    f->target = sc->target;
    cairn_labels_init(&f->labels);
    if (file_labels(t, f)) {
        file_free(f);
        return CAIRN_ENOMEM;
    }
    if (file_open(t, f, 1) != 0) {
        file_free(f);
        return 0;
    }
    f->seen = 1;
    f->dirty = 1;
    t->files[t->n_files++] = f;
    return 0;
}

static int rescan(struct cairn_tailer *t)
{
    for (size_t i = 0; i < t->n_files; i++)
        t->files[i]->seen = 0;
    for (size_t i = 0; i < t->cfg.n_targets; i++) {
        struct scan_ctx sc = {t, i, 0};
        int rc = cairn__glob_walk(t->cfg.targets[i].path, on_match, &sc);
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < t->n_files;) {
        struct tfile *f = t->files[i];
        if (f->seen) {
            i++;
            continue;
        }
        /* gone from every glob: read what is left, forget it */
        if (f->fd >= 0) {
            int rc;
            while ((rc = read_file(t, f)) == 1)
                ;
            if (f->partial.len)
                emit_line(t, f, f->partial.data, f->partial.len);
            file_close(t, f);
        }
        CAIRN_INFO("tail", "stopped tailing", "file=%s", f->path);
        if (t->cfg.positions)
            cairn_positions_remove(t->cfg.positions, f->path);
        file_free(f);
        t->files[i] = t->files[--t->n_files];
    }
    return 0;
}

/* Read late lines from rotated files; close those whose grace period is over (force:
 * all of them). */
static int service_draining(struct cairn_tailer *t, int force)
{
    int64_t now = cairn_mono_ns();
    for (size_t i = 0; i < t->n_draining;) {
        struct tfile *d = t->draining[i];
        int rc;
        while ((rc = read_file(t, d)) == 1)
            ;
        if (rc < 0)
            return rc;
        if (!force && now < t->drain_until[i]) {
            i++;
            continue;
        }
        if (d->partial.len) /* the last line of a finished file has no newline */
            rc = emit_line(t, d, d->partial.data, d->partial.len);
        close(d->fd);
        d->fd = -1;
        file_free(d);
        t->draining[i] = t->draining[t->n_draining - 1];
        t->drain_until[i] = t->drain_until[t->n_draining - 1];
        t->n_draining--;
        if (rc)
            return rc;
    }
    return 0;
}

static int service_all(struct cairn_tailer *t, int all)
{
    int drc = service_draining(t, 0);
    if (drc)
        return drc;
    for (size_t i = 0; i < t->n_files; i++) {
        struct tfile *f = t->files[i];
        if (!all && !f->dirty)
            continue;
        int rc = service_file(t, f);
        if (rc)
            return rc;
    }
    return 0;
}

static int any_dirty(struct cairn_tailer *t)
{
    for (size_t i = 0; i < t->n_files; i++)
        if (t->files[i]->dirty)
            return 1;
    return 0;
}

int cairn_tailer_sync(struct cairn_tailer *t)
{
    int rc = t->cfg.sink->flush ? t->cfg.sink->flush(t->cfg.sink->ud) : 0;
    if (rc == CAIRN_EAGAIN) {
        /* shutting down with lines not delivered: keep the old positions, so the next
         * start reads them again (repeats, but loses nothing) */
        CAIRN_WARN("tail", "lines not delivered: positions not saved", "%s", "");
        return rc;
    }
    if (rc)
        CAIRN_WARN("tail", "some entries were dropped before this positions sync", "err=%s",
                   cairn_strerror(rc));
    if (!t->cfg.positions)
        return 0;
    for (size_t i = 0; i < t->n_files; i++) {
        struct tfile *f = t->files[i];
        if (f->fd < 0)
            continue;
        int r = cairn_positions_set(t->cfg.positions, f->path, f->off - (int64_t)f->partial.len,
                                    (uint64_t)f->ino);
        if (r)
            return r;
    }
    return cairn_positions_save(t->cfg.positions);
}

static int tick_pipelines(struct cairn_tailer *t, int64_t now)
{
    for (size_t i = 0; i < t->cfg.n_targets; i++) {
        /* targets may share a pipeline: ticking twice is harmless */
        int rc = cairn_ship_pipeline_tick(t->cfg.targets[i].pipeline, now, t->cfg.sink);
        if (rc)
            return rc;
    }
    return 0;
}

int cairn_tailer_poll(struct cairn_tailer *t)
{
    int rc = rescan(t);
    if (rc)
        return rc;
    do {
        if ((rc = service_all(t, 1)))
            return rc;
    } while (any_dirty(t));
    return tick_pipelines(t, cairn_mono_ns());
}

static void drain_inotify(struct cairn_tailer *t, int *rescan_now)
{
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(t->ifd, buf, sizeof buf);
        if (n <= 0)
            return;
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            p += sizeof *ev + ev->len;
            if (ev->mask & IN_Q_OVERFLOW) {
                *rescan_now = 1;
                for (size_t i = 0; i < t->n_files; i++)
                    t->files[i]->dirty = 1;
                continue;
            }
            int is_file = 0;
            for (size_t i = 0; i < t->n_files; i++)
                if (t->files[i]->wd == ev->wd) {
                    t->files[i]->dirty = 1;
                    is_file = 1;
                }
            if (!is_file) {
                /* a watched directory changed: new files, or a rotation */
                *rescan_now = 1;
                for (size_t i = 0; i < t->n_files; i++)
                    t->files[i]->dirty = 1;
            }
        }
    }
}

int cairn_tailer_run(struct cairn_tailer *t)
{
    int rc = rescan(t);
    if (rc)
        return rc;
    int64_t now = cairn_mono_ns();
    int64_t next_sync = now + t->cfg.sync_period_ns, next_rescan = now + t->cfg.rescan_period_ns,
            next_poll = now + t->cfg.poll_period_ns;
    const int64_t tick_period = 100000000LL; /* pipeline timers: 100 ms */
    int64_t next_tick = now + tick_period;
    if ((rc = service_all(t, 1)))
        return rc;
    while (!atomic_load(&t->stop)) {
        now = cairn_mono_ns();
        int64_t wake = next_sync;
        if (next_rescan < wake)
            wake = next_rescan;
        if (next_poll < wake)
            wake = next_poll;
        if (next_tick < wake)
            wake = next_tick;
        int timeout = any_dirty(t) ? 0 : (int)((wake - now) / 1000000LL);
        if (timeout < 0)
            timeout = 0;
        struct pollfd pfd[2] = {{t->evfd, POLLIN, 0}, {t->ifd, POLLIN, 0}};
        int np = poll(pfd, t->ifd >= 0 ? 2 : 1, timeout);
        if (np < 0 && errno != EINTR) {
            CAIRN_ERROR("tail", "poll failed", "errno=%d", errno);
            return CAIRN_EIO;
        }
        if (atomic_load(&t->stop))
            break;
        int rescan_now = 0;
        if (t->ifd >= 0 && np > 0 && (pfd[1].revents & POLLIN))
            drain_inotify(t, &rescan_now);
        now = cairn_mono_ns();
        if (rescan_now || now >= next_rescan) {
            if ((rc = rescan(t)))
                return rc;
            next_rescan = now + t->cfg.rescan_period_ns;
        }
        int all = now >= next_poll;
        if (all)
            next_poll = now + t->cfg.poll_period_ns;
        if ((rc = service_all(t, all)))
            return rc;
        if (now >= next_tick) {
            if ((rc = tick_pipelines(t, now)))
                return rc;
            next_tick = now + tick_period;
        }
        if (now >= next_sync) {
            if ((rc = cairn_tailer_sync(t)))
                CAIRN_WARN("tail", "positions sync failed", "err=%s", cairn_strerror(rc));
            next_sync = cairn_mono_ns() + t->cfg.sync_period_ns;
        }
    }
    /* final pass: what is written is read, what is held is emitted */
    if ((rc = service_all(t, 1)) || (rc = service_draining(t, 1)))
        return rc;
    for (size_t i = 0; i < t->cfg.n_targets; i++)
        cairn_ship_pipeline_tick(t->cfg.targets[i].pipeline, INT64_MAX, t->cfg.sink);
    return 0;
}

void cairn_tailer_stop(struct cairn_tailer *t)
{
    atomic_store(&t->stop, 1);
    uint64_t one = 1;
    ssize_t w = write(t->evfd, &one, sizeof one);
    (void)w;
}

void cairn_tailer_stats(struct cairn_tailer *t, struct cairn_tailer_stats *out)
{
    *out = t->stats;
}

void cairn_tailer_destroy(struct cairn_tailer *t)
{
    if (!t)
        return;
    if (t->rbuf) {
        service_draining(t, 1); /* rotated files' last partial lines */
        cairn_tailer_sync(t);
    }
    for (size_t i = 0; i < t->n_draining; i++)
        file_free(t->draining[i]); /* closes the fd */
    t->n_draining = 0;
    for (size_t i = 0; i < t->n_files; i++)
        file_close(t, t->files[i]); /* looks at the others' watches: free after */
    for (size_t i = 0; i < t->n_files; i++)
        file_free(t->files[i]);
    free(t->files);
    for (size_t i = 0; i < t->n_dirs; i++)
        free(t->dirs[i].dir);
    free(t->dirs);
    if (t->ifd >= 0)
        close(t->ifd);
    if (t->evfd >= 0)
        close(t->evfd);
    free(t->rbuf);
    cairn_ship_entry_deinit(&t->entry);
    free(t);
}
