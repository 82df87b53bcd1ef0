/* tailer_file.c -- reading one tailed file: lines out of a shared read buffer, the
 * partial last line, the readline rate limit, truncation (shorter, or rewritten past
 * the offset), rotation (drain the old inode, keep reading it for a grace period,
 * follow the new file), opening at the saved position and resuming across a rotation
 * that happened while the agent was stopped. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cairn/log.h"
#include "cairn/ship_positions.h"
#include "cairn/timeutil.h"
#include "ship/ship_int.h"
#include "ship/tailer_int.h"

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

int cairn__tail_emit(struct cairn_tailer *t, struct tfile *f, const char *p, size_t len,
                     int64_t off)
{
    if (len && p[len - 1] == '\r')
        len--;
    t->stats.lines++;
    t->stats.bytes += len;
    if (!rate_ok(t))
        return 0;
    int rc = cairn_ship_entry_reset(&t->entry, &f->labels, cairn_now_ns(), p, len);
    if (rc)
        return rc;
    t->entry.src = f->src;
    t->entry.src_off = off;
    return cairn_ship_pipeline_run(f->pl, &t->entry, t->cfg.sink);
}

int cairn__tail_emit_partial(struct cairn_tailer *t, struct tfile *f)
{
    int rc = cairn__tail_emit(t, f, f->partial.data, f->partial.len, f->partial_off);
    cairn_buf_reset(&f->partial);
    return rc;
}

/* Append to the partial line (p read at file offset off), splitting off max_line
 * pieces. */
static int add_partial(struct cairn_tailer *t, struct tfile *f, const char *p, size_t n,
                       int64_t off)
{
    while (n) {
        size_t room = t->cfg.max_line - f->partial.len;
        size_t k = n < room ? n : room;
        if (f->partial.len == 0)
            f->partial_off = off;
        if (cairn_buf_append(&f->partial, p, k))
            return CAIRN_ENOMEM;
        p += k;
        n -= k;
        off += (int64_t)k;
        if (f->partial.len >= t->cfg.max_line) {
            int rc = cairn__tail_emit_partial(t, f);
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
        const char *nl = memchr(p, '\n', n);
        if (!nl)
            return add_partial(t, f, p, n, chunk_off);
        if ((rc = add_partial(t, f, p, (size_t)(nl - p), chunk_off)))
            return rc;
        int64_t start = f->partial_off;
        /* (a line of exactly max_line bytes was sent whole by add_partial) */
        if (f->partial.len && (rc = cairn__tail_emit_partial(t, f)))
            return rewind_to(f, start, rc);
        p = nl + 1;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break;
        int64_t start = chunk_off + (p - base);
        if ((size_t)(nl - p) > t->cfg.max_line) {
            if ((rc = add_partial(t, f, p, (size_t)(nl - p), start)))
                return rewind_to(f, start, rc);
            if (f->partial.len && (rc = cairn__tail_emit_partial(t, f)))
                return rewind_to(f, start, rc);
        } else if ((rc = cairn__tail_emit(t, f, p, (size_t)(nl - p), start))) {
            return rewind_to(f, start, rc);
        }
        p = nl + 1;
    }
    return p < end ? add_partial(t, f, p, (size_t)(end - p), chunk_off + (p - base)) : 0;
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
    f->src = ++t->next_src;
    cairn_buf_reset(&f->partial);
    t->stats.truncations++;
}

/* Read what is there. Returns 1 if more may be waiting (turn cap hit), 0 at EOF,
 * negative on a sink or memory error. */
int cairn__tail_read(struct cairn_tailer *t, struct tfile *f)
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
    f->src = ++t->next_src;
    int rc;
    while ((rc = cairn__tail_read(t, f)) == 1)
        ;
    if (!rc && f->partial.len)
        rc = cairn__tail_emit_partial(t, f);
    cairn_buf_reset(&f->partial);
    close(fd);
    f->fd = saved;
    t->stats.rotations++;
    return rc < 0 ? rc : 0;
}

int cairn__tail_labels(struct cairn_tailer *t, struct tfile *f)
{
    const struct cairn_tail_target *tg = &t->cfg.targets[f->target];
    f->pl = tg->pipeline;
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
int cairn__tail_open(struct cairn_tailer *t, struct tfile *f, int use_positions)
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
    int64_t start = 0;
    struct cairn_position pos;
    if (use_positions && t->cfg.positions &&
        cairn_positions_get(t->cfg.positions, f->path, &pos) == 0) {
        uint64_t ino = pos.ino;
        int64_t off = pos.offset;
        if ((ino == 0 || ino == (uint64_t)st.st_ino) && off <= st.st_size) {
            if (pos.check && cairn_positions_check(fd, off) != pos.check) {
                /* copytruncate while stopped, and rewritten past the position */
                CAIRN_INFO("tail", "file rewritten while stopped: the bytes before its "
                           "position changed, reading from the start", "file=%s position=%lld "
                           "size=%lld", f->path, (long long)off, (long long)st.st_size);
                t->stats.truncations++;
            } else {
                start = off;
            }
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
    f->src = ++t->next_src;
    f->saved_off = -1;
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

void cairn__tail_close(struct cairn_tailer *t, struct tfile *f)
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

/* Hand f's open file to the draining list (read on until idle for the grace period)
 * and leave f closed; with no room there, read what is left and close it now. */
void cairn__tail_retire(struct cairn_tailer *t, struct tfile *f)
{
    struct tfile *old = t->n_draining < DRAIN_MAX ? calloc(1, sizeof *old) : NULL;
    if (old && (old->path = strdup(f->path)) != NULL) {
        /* hand the old inode to the draining list; f starts over on the new file */
        cairn_labels_init(&old->labels);
        if (cairn_labels_copy(&old->labels, &f->labels) == 0) {
            old->fd = f->fd;
            old->wd = f->wd; /* the old inode's watch: removed when draining ends */
            old->dev = f->dev;
            old->ino = f->ino;
            old->off = f->off;
            old->target = f->target;
            old->pl = f->pl;
            old->src = f->src;
            old->partial = f->partial;
            old->partial_off = f->partial_off;
            cairn_buf_init(&f->partial);
            t->drain_until[t->n_draining] = cairn_mono_ns() + cairn__tail_drain_grace(t);
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
        if (f->partial.len)
            cairn__tail_emit_partial(t, f);
        cairn__tail_close(t, f);
    }
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
    while ((rc = cairn__tail_read(t, f)) == 1)
        ;
    t->stats.rotations++;
    cairn__tail_retire(t, f);
    if (gone)
        return 0;
    CAIRN_INFO("tail", "file rotated, following the new one", "file=%s", f->path);
    return cairn__tail_open(t, f, 0) == 0;
}

int cairn__tail_service(struct cairn_tailer *t, struct tfile *f)
{
    for (;;) {
        int rc = cairn__tail_read(t, f);
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
