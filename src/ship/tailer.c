/* tailer.c -- follow files matched by globs: the event loop, glob rescans, the
 * draining list of rotated files, and positions saved only after the sink has
 * acknowledged everything read (reading one file is tailer_file.c).
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

#include "ship/tailer_int.h"

void cairn__tail_free(struct tfile *f)
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
        if (t->retarget && !f->seen) {
            /* the targets were replaced: the first one matching now gives the labels */
            f->target = sc->target;
            if (cairn__tail_labels(t, f))
                return CAIRN_ENOMEM;
        }
        f->seen = 1;
        if (f->fd < 0 && cairn__tail_open(t, f, 0) == 0)
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
    if (cairn__tail_labels(t, f)) {
        cairn__tail_free(f);
        return CAIRN_ENOMEM;
    }
    if (cairn__tail_open(t, f, 1) != 0) {
        cairn__tail_free(f);
        return 0;
    }
    f->seen = 1;
    f->dirty = 1;
    t->files[t->n_files++] = f;
    return 0;
}

/* Is path directly inside dir? */
static int in_dir(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && path[n] == '/' && !strchr(path + n + 1, '/');
}

/* Drop the directory watches no tailed or draining file needs any more: with pods
 * coming and going, every pod's container directory would otherwise keep a watch (and
 * its name) for the life of the agent. */
static void prune_dirs(struct cairn_tailer *t)
{
    for (size_t d = 0; d < t->n_dirs;) {
        int used = 0;
        for (size_t i = 0; i < t->n_files && !used; i++)
            used = in_dir(t->files[i]->path, t->dirs[d].dir);
        for (size_t i = 0; i < t->n_draining && !used; i++)
            used = in_dir(t->draining[i]->path, t->dirs[d].dir);
        if (used) {
            d++;
            continue;
        }
        if (t->ifd >= 0)
            inotify_rm_watch(t->ifd, t->dirs[d].wd); /* EINVAL if the dir is gone: fine */
        free(t->dirs[d].dir);
        t->dirs[d] = t->dirs[--t->n_dirs];
    }
}

static int rescan(struct cairn_tailer *t)
{
    int removed = 0;
    if (t->prune_dirs) {
        prune_dirs(t);
        t->prune_dirs = 0;
    }
    for (size_t i = 0; i < t->n_files; i++)
        t->files[i]->seen = 0;
    /* one listing of each directory per rescan, not one per target: a pod's targets
     * all walk the pods directory */
    struct cairn__glob_cache cache = {0};
    for (size_t i = 0; i < t->cfg.n_targets; i++) {
        struct scan_ctx sc = {t, i, 0};
        int rc = cairn__glob_walk_cached(t->cfg.targets[i].path, &cache, on_match, &sc);
        if (rc) {
            cairn__glob_cache_clear(&cache);
            return rc;
        }
    }
    cairn__glob_cache_clear(&cache);
    for (size_t i = 0; i < t->n_files;) {
        struct tfile *f = t->files[i];
        if (f->seen) {
            i++;
            continue;
        }
        /* gone from every glob (renamed away, deleted): keep reading the open file
         * through the grace period -- a writer may still append to it -- and forget
         * the path */
        if (f->fd >= 0) {
            int rc;
            while ((rc = cairn__tail_read(t, f)) == 1)
                ;
            cairn__tail_retire(t, f);
        }
        CAIRN_INFO("tail", "stopped tailing", "file=%s", f->path);
        if (t->cfg.positions)
            cairn_positions_remove(t->cfg.positions, f->path);
        cairn__tail_free(f);
        t->files[i] = t->files[--t->n_files];
        removed = 1;
    }
    if (removed || t->n_dirs > t->n_files + t->n_draining)
        t->prune_dirs = 1;
    return 0;
}

int64_t cairn__tail_drain_grace(const struct cairn_tailer *t)
{
    int64_t two_polls = 2 * t->cfg.poll_period_ns;
    return two_polls > DRAIN_GRACE_NS ? two_polls : DRAIN_GRACE_NS;
}

/* Remove a finished draining file's inode watch unless another file has the same
 * (the same inode under two paths). */
static void drop_watch(struct cairn_tailer *t, struct tfile *d)
{
    if (d->wd < 0 || t->ifd < 0)
        return;
    for (size_t i = 0; i < t->n_files; i++)
        if (t->files[i]->wd == d->wd)
            return;
    for (size_t i = 0; i < t->n_draining; i++)
        if (t->draining[i] != d && t->draining[i]->wd == d->wd)
            return;
    inotify_rm_watch(t->ifd, d->wd); /* EINVAL if the inode is gone already: fine */
    d->wd = -1;
}

/* Read late lines from rotated files; close those idle past their grace period
 * (force: all of them). */
static int service_draining(struct cairn_tailer *t, int force)
{
    int64_t now = cairn_mono_ns();
    for (size_t i = 0; i < t->n_draining;) {
        struct tfile *d = t->draining[i];
        int64_t off = d->off;
        int rc;
        while ((rc = cairn__tail_read(t, d)) == 1)
            ;
        if (rc < 0)
            return rc;
        if (d->off != off) /* still written to: keep reading it */
            t->drain_until[i] = now + cairn__tail_drain_grace(t);
        if (!force && now < t->drain_until[i]) {
            i++;
            continue;
        }
        if (d->partial.len) /* the last line of a finished file has no newline */
            rc = cairn__tail_emit_partial(t, d);
        close(d->fd);
        d->fd = -1;
        drop_watch(t, d);
        cairn__tail_free(d);
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
        int rc = cairn__tail_service(t, f);
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
        /* not past a partial line, nor past lines a stage still holds */
        int64_t off = f->partial.len ? f->partial_off : f->off;
        int64_t held = cairn_ship_pipeline_held_floor(f->pl, f->src);
        if (held < off)
            off = held;
        if (off != f->saved_off) {
            f->saved_off = off;
            f->saved_check = cairn_positions_check(f->fd, off);
        }
        struct cairn_position pos = {off, (uint64_t)f->ino, f->saved_check};
        int r = cairn_positions_set(t->cfg.positions, f->path, &pos);
        if (r)
            return r;
    }
    return cairn_positions_save(t->cfg.positions);
}

static int maybe_refresh(struct cairn_tailer *t, int force);

static int tick_pipelines(struct cairn_tailer *t, int64_t now)
{
    if (t->cfg.pipelines) {
        for (size_t i = 0; i < t->cfg.n_pipelines; i++) {
            int rc = cairn_ship_pipeline_tick(t->cfg.pipelines[i], now, t->cfg.sink);
            if (rc)
                return rc;
        }
        return 0;
    }
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
    int rc = maybe_refresh(t, 0);
    if (!rc)
        rc = rescan(t);
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
            if (ev->mask & IN_IGNORED)
                continue; /* a watch went away (removed, or its inode deleted) */
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
    int rc = maybe_refresh(t, 1);
    if (!rc)
        rc = rescan(t);
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
        if (atomic_load(&t->refresh) && t->last_refresh + REFRESH_MIN_NS < wake)
            wake = t->last_refresh + REFRESH_MIN_NS;
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
        if (np > 0 && (pfd[0].revents & POLLIN)) {
            uint64_t v;
            ssize_t r = read(t->evfd, &v, sizeof v);
            (void)r;
        }
        if ((rc = maybe_refresh(t, 0))) {
            CAIRN_WARN("tail", "target refresh failed", "err=%s", cairn_strerror(rc));
            rc = 0;
        }
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
    tick_pipelines(t, INT64_MAX);
    return 0;
}

void cairn_tailer_refresh(struct cairn_tailer *t)
{
    atomic_store(&t->refresh, 1);
    uint64_t one = 1;
    ssize_t w = write(t->evfd, &one, sizeof one);
    (void)w;
}

int cairn_tailer_set_targets(struct cairn_tailer *t, const struct cairn_tail_target *targets,
                             size_t n)
{
    t->cfg.targets = targets;
    t->cfg.n_targets = n;
    t->retarget = 1;
    int rc = rescan(t);
    t->retarget = 0;
    return rc;
}

/* Run cfg.refresh if it is due (or force). */
static int maybe_refresh(struct cairn_tailer *t, int force)
{
    if (!t->cfg.refresh)
        return 0;
    int64_t now = cairn_mono_ns();
    /* changes arriving in a burst (a rollout, a churn) make one refresh, not one each:
     * a refresh relabels every target and rescans every glob */
    if (!force && (!atomic_load(&t->refresh) || now < t->last_refresh + REFRESH_MIN_NS))
        return 0;
    atomic_store(&t->refresh, 0);
    t->last_refresh = now;
    return t->cfg.refresh(t->cfg.refresh_ud, t);
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
        cairn__tail_free(t->draining[i]); /* closes the fd */
    t->n_draining = 0;
    for (size_t i = 0; i < t->n_files; i++)
        cairn__tail_close(t, t->files[i]); /* looks at the others' watches: free after */
    for (size_t i = 0; i < t->n_files; i++)
        cairn__tail_free(t->files[i]);
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
