/* store.c -- the store's lifecycle: open (load periods, replay the WAL), flush, close,
 * the maintenance thread (chunk age/idle, WAL checkpoint, period close, retention) and
 * counters. The write path (append) is append.c.
 *
 * Exactly-once replay: every accepted entry gets a per-stream sequence number, carried
 * in its WAL record; every block written to a segment file records the sequence range
 * it holds. On open the highest flushed sequence per stream is known from the segment
 * files, and replay (replay.c) skips WAL entries below it. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cairn/hash.h"
#include "cairn/limits.h"
#include "cairn/log.h"
#include "cairn/timeutil.h"
#include "store/store_int.h"

void cairn_store_config_default(struct cairn_store_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->data_dir = "./data";
    cfg->fsync = CAIRN_FSYNC_INTERVAL;
    cfg->fsync_interval_ns = 1000000000LL;
    cfg->codec = CAIRN_CODEC_ZSTD;
    cfg->zstd_level = CAIRN_ZSTD_LEVEL_DEFAULT; /* see limits.h: 0.141 vs 0.140 of raw at 3 */
    cfg->head_budget = CAIRN_HEAD_BUDGET_DEFAULT;
    cfg->block_target_raw = CAIRN_BLOCK_TARGET_RAW;
    cfg->chunk_target = CAIRN_CHUNK_TARGET_COMPRESSED;
    cfg->chunk_max_age_ns = CAIRN_CHUNK_MAX_AGE_NS;
    cfg->chunk_idle_ns = CAIRN_CHUNK_IDLE_NS;
    cfg->index_period_ns = CAIRN_INDEX_PERIOD_NS;
    cfg->ooo_window_ns = CAIRN_OOO_WINDOW_NS;
    cfg->retention_ns = 0;
    cfg->block_filters = 1;
}

/* ---- open / load ---- */

static int load_tenants(struct cairn_store *s)
{
    DIR *d = opendir(s->tenants_dir);
    if (!d)
        return CAIRN_EIO;
    struct dirent *de;
    int rc = 0;
    while (!rc && (de = readdir(d))) {
        if (de->d_name[0] == '.' || !cairn__tenant_name_valid(de->d_name))
            continue;
        struct cairn__tenant *t = cairn__tenant_get(s, de->d_name, 1);
        if (!t) {
            rc = CAIRN_ENOMEM;
            break;
        }
        DIR *pd = opendir(t->dir);
        if (!pd)
            continue;
        struct dirent *pe;
        while (!rc && (pe = readdir(pd))) {
            char *end;
            errno = 0;
            long long start = strtoll(pe->d_name, &end, 10);
            if (pe->d_name[0] == '.' || *end || errno)
                continue;
            char dir[4200];
            snprintf(dir, sizeof dir, "%s/%s", t->dir, pe->d_name);
            rc = cairn__period_load(s, t, dir, (int64_t)start);
        }
        closedir(pd);
    }
    closedir(d);
    return rc;
}

static void *maint_thread(void *arg);

static int wal_rotate_cb(void *ctx, struct cairn_buf *out)
{
    return cairn__head_stream_records(ctx, out);
}

struct cairn_store *cairn_store_open(const struct cairn_store_config *cfg, struct cairn_err *err)
{
    struct cairn_store *s = calloc(1, sizeof *s);
    if (!s) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    s->lock_fd = -1;
    if (cairn__pagepool_init(&s->pages)) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        free(s);
        return NULL;
    }
    if (!cfg->data_dir || !*cfg->data_dir || s->cfg.index_period_ns <= 0 || s->cfg.block_target_raw == 0 || s->cfg.head_budget == 0) {
        cairn_err_set(err, CAIRN_EINVAL, "store config: data_dir must be set; period, block "
                                         "target and head budget must be positive");
        cairn__pagepool_deinit(&s->pages);
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->tenants_mu, NULL);
    cairn__fltc_init(&s->fltc);
    pthread_mutex_init(&s->evict_mu, NULL);
    pthread_mutex_init(&s->pass_mu, NULL);
    pthread_mutex_init(&s->ctx_mu, NULL);
    pthread_mutex_init(&s->buf_mu, NULL);
    pthread_mutex_init(&s->order_mu, NULL);
    pthread_cond_init(&s->order_cv, NULL);
    pthread_mutex_init(&s->infl_mu, NULL);
    pthread_mutex_init(&s->maint_mu, NULL);
    pthread_cond_init(&s->maint_cv, NULL);
    size_t dl = strlen(cfg->data_dir);
    s->data_dir = strdup(cfg->data_dir);
    s->tenants_dir = malloc(dl + 16);
    if (!s->data_dir || !s->tenants_dir) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        goto fail;
    }
    s->cfg.data_dir = s->data_dir;
    s->cfg.tenant_retention = NULL; /* copied below */
    s->cfg.n_tenant_retention = 0;
    if (cfg->n_tenant_retention) {
        struct cairn_tenant_retention *tr = calloc(cfg->n_tenant_retention, sizeof *tr);
        if (!tr) {
            cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
            goto fail;
        }
        s->cfg.tenant_retention = tr;
        for (size_t i = 0; i < cfg->n_tenant_retention; i++) {
            tr[i].retention_ns = cfg->tenant_retention[i].retention_ns;
            if (!(tr[i].tenant = strdup(cfg->tenant_retention[i].tenant))) {
                cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
                goto fail;
            }
            s->cfg.n_tenant_retention++;
        }
    }
    snprintf(s->tenants_dir, dl + 16, "%s/tenants", s->data_dir);
    if (cairn__mkdir_p(s->tenants_dir)) {
        cairn_err_set(err, CAIRN_EIO, "cannot create data directory %s: %s", s->tenants_dir,
                      strerror(errno));
        goto fail;
    }
    /* one process per data directory (cairn check --repair takes the lock too) */
    if ((s->lock_fd = cairn__dir_lock(s->data_dir)) < 0) {
        cairn_err_set(err, s->lock_fd, "data directory %s is in use by another process "
                      "(%s/cairn.lock is locked)", s->data_dir, s->data_dir);
        goto fail;
    }
    int rc = cairn__remote_open(s, err);
    if (rc)
        goto fail;
    rc = load_tenants(s);
    if (rc) {
        cairn_err_set(err, rc, "loading %s failed: %s (see the log for the file)", s->tenants_dir,
                      cairn_strerror(rc));
        goto fail;
    }
    uint64_t max_seq = 0;
    rc = cairn__replay_wal(s, &max_seq);
    if (rc) {
        cairn_err_set(err, rc, "WAL replay in %s/wal failed: %s (see the log for file and offset)",
                      s->data_dir, cairn_strerror(rc));
        goto fail;
    }
    s->wal = cairn__wal_open(s->data_dir, cfg->fsync, cfg->fsync_interval_ns,
                             cfg->wal_file_max ? cfg->wal_file_max : CAIRN_WAL_SEGMENT_SIZE,
                             wal_rotate_cb, s, max_seq + 1);
    if (!s->wal) {
        cairn_err_set(err, CAIRN_EIO, "cannot open the WAL in %s/wal", s->data_dir);
        goto fail;
    }
    cairn__wal_set_io(s->wal, cfg->io);
    if (pthread_create(&s->maint, NULL, maint_thread, s) != 0) {
        cairn_err_set(err, CAIRN_EIO, "cannot start the store's maintenance thread");
        goto fail;
    }
    s->maint_started = 1;
    if (cairn__remote_start(s)) {
        cairn_err_set(err, CAIRN_EIO, "cannot start the store's upload thread");
        goto fail;
    }
    return s;
fail:
    cairn_store_abandon(s);
    return NULL;
}

/* ---- maintenance ---- */

typedef void (*stream_fn)(struct cairn_store *s, struct cairn__tenant *t, struct cairn__stream *st,
                          void *arg);

/* Call fn for every stream, each under its shard lock. */
static void each_stream(struct cairn_store *s, stream_fn fn, void *arg)
{
    struct cairn__tenant *t;
    for (size_t i = 0; (t = cairn__tenant_at(s, i)); i++)
        for (int k = 0; k < CAIRN__SHARDS; k++) {
            struct cairn__shard *sh = &t->shards[k];
            pthread_mutex_lock(&sh->mu);
            for (size_t j = 0; j < sh->cap; j++)
                for (struct cairn__stream *st = sh->tab[j]; st; st = st->next)
                    fn(s, t, st, arg);
            pthread_mutex_unlock(&sh->mu);
        }
}

struct tick {
    int64_t now;
    uint64_t wal_cur, pin;
    int flush_all;
};

static void tick_stream(struct cairn_store *s, struct cairn__tenant *t, struct cairn__stream *st,
                        void *arg)
{
    struct tick *k = arg;
    struct cairn__hblock *b = &st->blk;
    if (k->flush_all) {
        cairn__head_cut(s, st, 1);
    } else if (st->active && k->now - st->last_append >= s->cfg.chunk_idle_ns &&
               st->seq_res <= st->seq) { /* no append in flight, whose records need it */
        cairn__head_cut(s, st, 1);
        if (!b->n) {
            st->active = 0;
            atomic_fetch_sub(&t->active, 1);
        }
    } else if (st->chunk_open && k->now - st->chunk_started >= s->cfg.chunk_max_age_ns) {
        cairn__head_cut(s, st, 1);
    } else if (b->n && b->wal_min < k->wal_cur) {
        /* it pins an old WAL file: write it out so the file can go */
        cairn__head_cut(s, st, 0);
    }
    if (b->n && b->wal_min < k->pin)
        k->pin = b->wal_min;
}

/* fsync every period's dirty segment files; CAIRN_EIO if any failed. */
static int sync_periods(struct cairn_store *s)
{
    int rc = 0;
    struct cairn__tenant *t;
    for (size_t i = 0; (t = cairn__tenant_at(s, i)); i++) {
        pthread_mutex_lock(&t->periods_mu);
        size_t n = t->n_periods;
        struct cairn__period **v = malloc((n ? n : 1) * sizeof *v);
        for (size_t j = 0; v && j < n; j++) {
            v[j] = t->periods[j];
            cairn__period_ref(v[j]);
        }
        pthread_mutex_unlock(&t->periods_mu);
        if (!v)
            rc = CAIRN_ENOMEM;
        for (size_t j = 0; v && j < n; j++) {
            if (cairn__period_sync(v[j]))
                rc = CAIRN_EIO;
            cairn__period_unref(v[j]);
        }
        free(v);
    }
    return rc;
}

/* Close periods that are over and have nothing left in heads: sync their segment
 * files and write their immutable index file. The candidates are picked under the
 * tenant's periods lock and processed outside it. */
static void close_periods(struct cairn_store *s, int64_t now)
{
    struct cairn__tenant *t;
    for (size_t i = 0; (t = cairn__tenant_at(s, i)); i++) {
        struct cairn__period *v[16];
        size_t n = 0;
        pthread_mutex_lock(&t->periods_mu);
        for (size_t j = 0; j < t->n_periods && n < 16; j++) {
            struct cairn__period *p = t->periods[j];
            /* refs == 1: only the tenant's; no open block or chunk, no reader */
            if (p->closed || !p->n_files || atomic_load(&p->refs) != 1 ||
                p->end + s->cfg.ooo_window_ns + s->cfg.chunk_max_age_ns >= now)
                continue;
            cairn__period_ref(p);
            v[n++] = p;
        }
        pthread_mutex_unlock(&t->periods_mu);
        for (size_t j = 0; j < n; j++) {
            struct cairn__period *p = v[j];
            cairn__period_sync(p);
            pthread_mutex_lock(&p->mu);
            /* an append may have reopened it meanwhile: it holds a reference then */
            if (!p->closed && atomic_load(&p->refs) == 2)
                cairn__index_write(s, t, p);
            pthread_mutex_unlock(&p->mu);
            cairn__period_unref(p);
        }
        if (n)
            cairn__remote_kick(s);
    }
}

/* One pass: chunk and block aging, WAL checkpoint, period close, retention. */
static void maint_tick_at(struct cairn_store *s, int flush_all, int64_t now)
{
    /* files that appends in flight wrote to, their entries not in the head yet, stay;
     * whatever else an older file holds is in the head (pinned below) or cut */
    uint64_t cur, infl;
    cairn__append_inflight(s, &cur, &infl);
    struct tick k = {now, cur, UINT64_MAX, flush_all};
    each_stream(s, tick_stream, &k);
    if (infl < k.pin)
        k.pin = infl;
    uint64_t below = k.pin < k.wal_cur ? k.pin : k.wal_cur;
    if (flush_all && k.pin == UINT64_MAX)
        below = k.wal_cur; /* everything is flushed; only the live file stays */
    /* a segment file that could not be synced may not hold what the WAL holds: the
     * WAL stays whole (and the failed sync is never trusted: see STORAGE.md) */
    if (sync_periods(s) == 0 && !atomic_load(&s->seg_sync_failed))
        cairn__wal_remove_below(s->wal, below);
    else if (!atomic_exchange(&s->seg_sync_failed, 1))
        CAIRN_ERROR("store", "a segment file sync failed: WAL checkpoints stop until restart",
                    "");
    cairn__pagepool_trim(&s->pages, CAIRN__PAGES_KEEP);
    if (!flush_all) {
        close_periods(s, k.now);
        cairn_store_apply_retention(s, k.now);
    }
}

static void maint_tick(struct cairn_store *s, int flush_all)
{
    maint_tick_at(s, flush_all, cairn_now_ns());
}

void cairn__store_maint(struct cairn_store *s, int64_t now)
{
    pthread_mutex_lock(&s->pass_mu);
    maint_tick_at(s, 0, now);
    pthread_mutex_unlock(&s->pass_mu);
}

static void *maint_thread(void *arg)
{
    struct cairn_store *s = arg;
    pthread_mutex_lock(&s->maint_mu);
    while (!s->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += CAIRN__MAINT_TICK_NS / 1000000000LL;
        pthread_cond_timedwait(&s->maint_cv, &s->maint_mu, &ts);
        if (s->stop)
            break;
        pthread_mutex_unlock(&s->maint_mu);
        cairn__store_maint(s, cairn_now_ns());
        pthread_mutex_lock(&s->maint_mu);
    }
    pthread_mutex_unlock(&s->maint_mu);
    return NULL;
}

int cairn_store_flush(struct cairn_store *s)
{
    pthread_mutex_lock(&s->pass_mu);
    maint_tick(s, 1);
    pthread_mutex_unlock(&s->pass_mu);
    return 0;
}

int cairn_store_flush_close(struct cairn_store *s)
{
    cairn_store_flush(s);
    /* as close_periods, whatever the time: every period no chunk or reader holds */
    struct cairn__tenant *t;
    for (size_t i = 0; (t = cairn__tenant_at(s, i)); i++) {
        size_t n = 0;
        struct cairn__period **v = cairn__periods_in(t, INT64_MIN, INT64_MAX, &n);
        if (!v)
            return CAIRN_ENOMEM;
        for (size_t j = 0; j < n; j++) {
            struct cairn__period *p = v[j];
            cairn__period_sync(p);
            pthread_mutex_lock(&p->mu);
            if (!p->closed && p->n_files && atomic_load(&p->refs) == 2)
                cairn__index_write(s, t, p);
            pthread_mutex_unlock(&p->mu);
        }
        cairn__periods_release(v, n);
    }
    cairn__remote_kick(s);
    return 0;
}

int cairn_store_apply_retention(struct cairn_store *s, int64_t now_ns)
{
    struct cairn__tenant *t;
    for (size_t i = 0; (t = cairn__tenant_at(s, i)); i++) {
        int64_t r = s->cfg.retention_ns;
        for (size_t k = 0; k < s->cfg.n_tenant_retention; k++)
            if (!strcmp(s->cfg.tenant_retention[k].tenant, t->name))
                r = s->cfg.tenant_retention[k].retention_ns;
        if (r <= 0)
            continue;
        pthread_mutex_lock(&t->periods_mu);
        size_t w = 0;
        struct cairn__period *gone[64];
        size_t ngone = 0;
        for (size_t j = 0; j < t->n_periods; j++) {
            struct cairn__period *p = t->periods[j];
            if (p->end <= now_ns - r && ngone < 64) {
                p->removed = 1;
                gone[ngone++] = p;
            } else {
                t->periods[w++] = p;
            }
        }
        t->n_periods = w;
        pthread_mutex_unlock(&t->periods_mu);
        for (size_t j = 0; j < ngone; j++) {
            CAIRN_INFO("retention", "deleting period", "tenant=\"%s\" dir=\"%s\"", t->name,
                       gone[j]->dir);
            cairn__period_unref(gone[j]);
        }
    }
    return 0;
}

void cairn_store_stats(struct cairn_store *s, struct cairn_store_stats *out)
{
    memset(out, 0, sizeof *out);
    if (s->wal)
        cairn__wal_stats(s->wal, &out->wal_bytes, &out->wal_fsyncs, &out->wal_records);
    out->chunks_flushed = s->chunks_flushed;
    out->chunk_bytes_flushed = s->chunk_bytes;
    out->blocks_cut = s->blocks_cut;
    out->blocks_filtered = atomic_load(&s->blocks_filtered);
    out->head_bytes = atomic_load(&s->head_bytes);
    struct cairn__tenant *t;
    for (size_t i = 0; (t = cairn__tenant_at(s, i)); i++)
        out->active_streams += atomic_load(&t->active);
    out->entries_appended = s->entries;
    out->bytes_appended = s->bytes;
    out->entries_rejected = s->rejected;
}

/* ---- close ---- */

static void stop_maint(struct cairn_store *s)
{
    if (!s->maint_started)
        return;
    pthread_mutex_lock(&s->maint_mu);
    s->stop = 1;
    pthread_cond_broadcast(&s->maint_cv);
    pthread_mutex_unlock(&s->maint_mu);
    pthread_join(s->maint, NULL);
    s->maint_started = 0;
}

static void free_all(struct cairn_store *s, int sync)
{
    cairn__wal_close(s->wal, sync);
    s->wal = NULL;
    for (size_t i = 0; i < s->n_tenants; i++)
        cairn__tenant_free(s->tenants[i]);
    free(s->tenants);
    cairn__pagepool_deinit(&s->pages); /* after the tenants: their blocks' pages */
    while (s->ctx_free) {
        struct cairn__codec_ctx *c = s->ctx_free;
        s->ctx_free = c->next;
        cairn__codec_ctx_deinit(c);
        free(c);
    }
    for (size_t i = 0; i < s->n_scr_free; i++)
        cairn__append_scratch_free(s->scr_free[i]);
    if (s->cfg.tenant_retention) {
        for (size_t i = 0; i < s->cfg.n_tenant_retention; i++)
            free((char *)s->cfg.tenant_retention[i].tenant);
        free((void *)s->cfg.tenant_retention);
    }
    pthread_mutex_destroy(&s->tenants_mu);
    cairn__fltc_deinit(&s->fltc);
    pthread_mutex_destroy(&s->evict_mu);
    pthread_mutex_destroy(&s->pass_mu);
    pthread_mutex_destroy(&s->ctx_mu);
    pthread_mutex_destroy(&s->buf_mu);
    pthread_mutex_destroy(&s->order_mu);
    pthread_cond_destroy(&s->order_cv);
    pthread_mutex_destroy(&s->infl_mu);
    pthread_mutex_destroy(&s->maint_mu);
    pthread_cond_destroy(&s->maint_cv);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    free(s->data_dir);
    free(s->tenants_dir);
    free(s);
}

/* At a clean close every period, open ones too, gets its index file, so the next
 * start loads indexes instead of reading every segment file. The first block written
 * into such a period after the restart removes its index file again. */
static void write_indexes(struct cairn_store *s)
{
    struct cairn__tenant *t;
    for (size_t i = 0; (t = cairn__tenant_at(s, i)); i++)
        for (size_t j = 0; j < t->n_periods; j++) {
            struct cairn__period *p = t->periods[j];
            pthread_mutex_lock(&p->mu);
            if (!p->closed && p->n_files)
                cairn__index_write(s, t, p);
            pthread_mutex_unlock(&p->mu);
        }
}

void cairn_store_close(struct cairn_store *s)
{
    if (!s)
        return;
    cairn__remote_close(s); /* uploads stop; what is not confirmed stays local */
    stop_maint(s);
    maint_tick(s, 1);
    /* every head is in segment files and synced: the WAL is no longer needed */
    int clean = atomic_load(&s->head_bytes) == 0 && !atomic_load(&s->seg_sync_failed);
    cairn__wal_close(s->wal, 1);
    s->wal = NULL;
    if (clean) {
        write_indexes(s);
        cairn__wal_remove_all(s->data_dir);
    }
    else
        CAIRN_WARN("store", "some blocks could not be written; the WAL is kept for replay", "");
    free_all(s, 0);
}

void cairn_store_abandon(struct cairn_store *s)
{
    if (!s)
        return;
    cairn__remote_close(s);
    stop_maint(s);
    free_all(s, 0);
}
