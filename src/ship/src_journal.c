/* src_journal.c -- the systemd journal readers of `cairn ship`: one thread per scrape
 * config with `journal:`, reading through sd-journal (a directory with `path`, else
 * the local system journal) into the scrape config's own pipeline and the agent's
 * sink, and keeping Promtail's `journal-<job_name>` cursor in the positions file.
 *
 * Exactly once across restarts: the cursor saved is that of an entry read, handed to
 * the sink and acknowledged (the sink's flush returned) with nothing before it still
 * held by a stage (a multiline block). A restart seeks to it and starts after it. So
 * an entry is never skipped; one is sent twice only when the agent dies without its
 * shutdown (kill -9: what was read since the last sync is read again). The cursor is
 * read from sd-journal only at sync points, not per entry.
 *
 * Where a reader starts: after the saved cursor; without one, or when the cursor's
 * entry is older than max_age (Promtail's rule), at now - max_age; when the cursor's
 * entry is gone (its file vacuumed, or rotated away and deleted), at the later of
 * now - max_age and the cursor's own time, logged. New and removed journal files are
 * sd-journal's business: sd_journal_process() reports them (SD_JOURNAL_INVALIDATE) and
 * reading goes on from the current entry. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include "cairn/log.h"
#include "cairn/ship_positions.h"
#include "cairn/timeutil.h"
#include "ship/src_journal.h"

#define CURSOR_MAX 256           /* sd-journal's cursors are about 130 bytes */
#define SRC_ID 1                 /* e->src of journal entries (their pipeline is ours alone) */
#define HELD_POLL_NS 250000000LL /* re-check held multiline blocks this often when idle */
#define ERROR_RETRY_NS 1000000000LL

struct jreader {
    struct cairn__journals *js;
    const struct cairn_ship_scrape *sc;
    size_t idx;
    char *pos_key; /* "journal-<job_name>" */
    sd_journal *j;
    pthread_t th;
    int started;
    int open_rc; /* the thread's sd-journal open: 1 pending, 0 done, <0 failed */
    char open_err[160];
    struct cairn_ship_pipeline *pl;
    struct cairn_ship_relabel_rule *rules;
    struct cairn__jmap map;
    struct cairn_ship_entry e;
    int64_t seq;               /* entries read; the read pointer is on entry seq */
    int64_t cur_seq;           /* the entry whose cursor cur holds (-1: none) */
    char cur[CURSOR_MAX];
    int64_t saved_seq;         /* the entry whose cursor was saved last */
    int64_t cap_seq;           /* entries from here on were lost to a failed emit: no cursor
                                * at or past it is saved (INT64_MAX: none) */
    int64_t next_sync;         /* monotonic ns */
    int no_more_saves;         /* the read pointer could not step back off an unsent entry */
    atomic_ullong lines, no_message, empty_labels, read_errors;
};

struct cairn__journals {
    atomic_int stop;
    int efd;   /* eventfd, written once by stop: wakes every reader's poll */
    int gofd;  /* eventfd, written once by go: the readers start reading */
    const struct cairn_ship_sink *sink;
    struct cairn_positions *positions;
    int64_t sync_period_ns;
    pthread_mutex_t mu; /* open handshake */
    pthread_cond_t cv;
    struct jreader *r;
    size_t n;
};

/* ---- opening and seeking (on the reader's thread: an sd_journal object stays with
 * the thread that made it) ---- */

static int add_match(void *ud, const char *m, size_t len)
{
    sd_journal *j = ud;
    int r = len == 1 && *m == '+' ? sd_journal_add_disjunction(j) : sd_journal_add_match(j, m, len);
    return r < 0 ? r : 0;
}

static int open_journal(struct jreader *jr)
{
    const struct cairn_ship_journal *c = &jr->sc->journal;
    int r = c->path && *c->path ? sd_journal_open_directory(&jr->j, c->path, 0)
                                : sd_journal_open(&jr->j, SD_JOURNAL_LOCAL_ONLY);
    if (r < 0) {
        jr->j = NULL;
        snprintf(jr->open_err, sizeof jr->open_err, "cannot open the journal%s%s: %s",
                 c->path ? " in " : "", c->path ? c->path : "", strerror(-r));
        return CAIRN_EIO;
    }
    r = cairn__journal_matches_parse(c->matches ? c->matches : "", add_match, jr->j, NULL, NULL);
    if (r) {
        snprintf(jr->open_err, sizeof jr->open_err, "matches: %s",
                 r < 0 && r > -4096 ? strerror(-r) : "invalid");
        return CAIRN_EINVAL;
    }
    sd_journal_set_data_threshold(jr->j, 0); /* whole fields, even compressed ones */
    if (sd_journal_get_fd(jr->j) < 0) /* sets up inotify before the first read */
        CAIRN_WARN("journal", "no change notification; polling", "job=%s", jr->sc->job_name);
    return 0;
}

/* The realtime field t= of a cursor (hex microseconds), or 0. */
static uint64_t cursor_time(const char *c)
{
    const char *t = strstr(c, ";t=");
    return t ? strtoull(t + 3, NULL, 16) : 0;
}

static void seek_start(struct jreader *jr)
{
    const struct cairn_ship_journal *c = &jr->sc->journal;
    int64_t now_us = cairn_now_ns() / 1000, age_us = c->max_age_ns / 1000;
    /* max_age 0: no limit, from the journal's first entry (Promtail's reader also
     * starts at the head then) */
    uint64_t since = age_us > 0 && now_us > age_us ? (uint64_t)(now_us - age_us) : 0;
    struct cairn_buf cur = CAIRN_BUF_INIT;
    if (jr->js->positions && cairn_positions_get_string(jr->js->positions, jr->pos_key, &cur) == 0) {
        int r = sd_journal_seek_cursor(jr->j, cur.data);
        if (r >= 0)
            r = sd_journal_next(jr->j);
        uint64_t ts = 0;
        if (r > 0 && sd_journal_test_cursor(jr->j, cur.data) > 0) {
            sd_journal_get_realtime_usec(jr->j, &ts);
            if (ts >= since) { /* on the last entry sent: reading goes on after it */
                CAIRN_INFO("journal", "resuming after the saved cursor", "job=%s",
                           jr->sc->job_name);
                cairn_buf_deinit(&cur);
                return;
            }
            CAIRN_INFO("journal", "saved cursor older than max_age: starting at max_age",
                       "job=%s", jr->sc->job_name);
        } else {
            uint64_t t = cursor_time(cur.data);
            if (t + 1 > since)
                since = t + 1;
            CAIRN_WARN("journal",
                       "saved cursor not found (its journal file was vacuumed or rotated "
                       "away): starting at the later of max_age and the cursor's time",
                       "job=%s cursor=\"%s\"", jr->sc->job_name, cur.data);
        }
    }
    cairn_buf_deinit(&cur);
    sd_journal_seek_realtime_usec(jr->j, since);
}

/* ---- sync: flush, then save the cursor of the last entry sent with all before it ---- */

/* Keep the cursor of the entry the read pointer is on (once per entry). */
static void remember_cursor(struct jreader *jr)
{
    if (jr->seq == 0 || jr->cur_seq == jr->seq)
        return;
    char *c = NULL;
    if (sd_journal_get_cursor(jr->j, &c) < 0 || strlen(c) >= CURSOR_MAX) {
        free(c);
        return; /* its file is gone: this sync saves nothing */
    }
    memcpy(jr->cur, c, strlen(c) + 1);
    free(c);
    jr->cur_seq = jr->seq;
}

/* The cursor of the entry steps before the read pointer, into out; the pointer comes
 * back. 1 or 0 (not that many entries back, or no cursor). */
static int cursor_back(struct jreader *jr, int64_t steps, char out[CURSOR_MAX])
{
    int r = sd_journal_previous_skip(jr->j, (uint64_t)steps);
    int ok = 0;
    char *c = NULL;
    if (r == steps && sd_journal_get_cursor(jr->j, &c) >= 0 && strlen(c) < CURSOR_MAX) {
        memcpy(out, c, strlen(c) + 1);
        ok = 1;
    }
    free(c);
    if (r > 0)
        sd_journal_next_skip(jr->j, (uint64_t)r);
    return ok;
}

/* Emit held entries past their time (now INT64_MAX: all). Entries a failed emit took
 * out of the stages are lost to this run: the cursor must stay before them. */
static void tick(struct jreader *jr, int64_t now)
{
    int64_t before = cairn_ship_pipeline_held_floor(jr->pl, SRC_ID);
    if (cairn_ship_pipeline_tick(jr->pl, now, jr->js->sink) && before < jr->cap_seq)
        jr->cap_seq = before;
}

/* Flush, then save the cursor of the newest entry that the client acknowledged with
 * every entry before it: the one the read pointer is on, or, when a stage holds
 * entries (a multiline block) or an emit failed, the one just before those. */
static void sync_cursor(struct jreader *jr, int final)
{
    const struct cairn_ship_sink *sink = jr->js->sink;
    tick(jr, final ? INT64_MAX : cairn_mono_ns());
    int64_t held = cairn_ship_pipeline_held_floor(jr->pl, SRC_ID);
    if (jr->cap_seq < held)
        held = jr->cap_seq;
    int64_t upto = held <= jr->seq ? held - 1 : jr->seq;
    char back[CURSOR_MAX];
    const char *save = NULL;
    if (!jr->no_more_saves && upto > jr->saved_seq) {
        if (upto == jr->seq) {
            remember_cursor(jr);
            save = jr->cur_seq == jr->seq ? jr->cur : NULL;
        } else if (cursor_back(jr, jr->seq - upto, back)) {
            save = back;
        }
    }
    jr->next_sync = cairn_mono_ns() + jr->js->sync_period_ns;
    int rc = sink->flush ? sink->flush(sink->ud) : 0;
    if (rc == CAIRN_EAGAIN) {
        CAIRN_WARN("journal", "entries not delivered: cursor not saved", "job=%s",
                   jr->sc->job_name);
        return;
    }
    if (rc)
        CAIRN_WARN("journal", "some entries were dropped before this cursor sync", "job=%s err=%s",
                   jr->sc->job_name, cairn_strerror(rc));
    if (save && jr->js->positions &&
        cairn_positions_set_string(jr->js->positions, jr->pos_key, save) == 0 &&
        cairn_positions_save(jr->js->positions) == 0)
        jr->saved_seq = upto;
}

/* ---- reading ---- */

/* The entry the read pointer is on, through the pipeline. 0 (sent or dropped as
 * Promtail drops it) or the sink's error. */
static int read_entry(struct jreader *jr)
{
    struct cairn__jmap *m = &jr->map;
    cairn__jmap_begin(m);
    const void *d;
    size_t l;
    int r;
    sd_journal_restart_data(jr->j);
    while ((r = sd_journal_enumerate_data(jr->j, &d, &l)) > 0)
        if (cairn__jmap_add(m, d, l))
            return CAIRN_ENOMEM;
    if (r < 0) /* a damaged field: the entry goes with what could be read */
        atomic_fetch_add(&jr->read_errors, 1);
    uint64_t usec = 0;
    sd_journal_get_realtime_usec(jr->j, &usec);
    const char *line;
    size_t len;
    if (jr->sc->journal.json) {
        if (cairn__jmap_json(m))
            return CAIRN_ENOMEM;
        line = m->scratch.data;
        len = m->scratch.len;
    } else if (m->message >= 0) {
        line = m->store.data + m->f[m->message].val_off;
        len = m->f[m->message].val_len;
    } else {
        atomic_fetch_add(&jr->no_message, 1);
        return 0;
    }
    const struct cairn_labels *ls;
    int keep = cairn__jmap_labels(m, &ls);
    if (keep < 0)
        return keep;
    if (keep == 0) {
        atomic_fetch_add(&jr->empty_labels, 1);
        return 0;
    }
    int rc = cairn_ship_entry_reset(&jr->e, ls, (int64_t)usec * 1000, line, len);
    if (rc)
        return rc;
    jr->e.src = SRC_ID;
    jr->e.src_off = jr->seq;
    int64_t before = cairn_ship_pipeline_held_floor(jr->pl, SRC_ID);
    rc = cairn_ship_pipeline_run(jr->pl, &jr->e, jr->js->sink);
    if (rc == 0)
        atomic_fetch_add(&jr->lines, 1);
    else if ((before < jr->seq ? before : jr->seq) < jr->cap_seq) /* held ones may be gone too */
        jr->cap_seq = before < jr->seq ? before : jr->seq;
    return rc;
}

/* Wait for the journal to change, the stop, or the next deadline. */
static void wait_change(struct jreader *jr)
{
    int64_t now = cairn_mono_ns(), until = jr->next_sync;
    if (cairn_ship_pipeline_held_floor(jr->pl, SRC_ID) != INT64_MAX && now + HELD_POLL_NS < until)
        until = now + HELD_POLL_NS;
    uint64_t t_us;
    if (sd_journal_get_timeout(jr->j, &t_us) >= 0 && t_us != UINT64_MAX &&
        (int64_t)(t_us * 1000) < until)
        until = (int64_t)(t_us * 1000);
    int ms = until > now ? (int)((until - now + 999999) / 1000000) : 0;
    struct pollfd p[2] = {{.fd = jr->js->efd, .events = POLLIN}, {.fd = -1}};
    int fd = sd_journal_get_fd(jr->j);
    if (fd >= 0) {
        p[1].fd = fd;
        p[1].events = (short)sd_journal_get_events(jr->j);
    } else if (ms > HELD_POLL_NS / 1000000) {
        ms = HELD_POLL_NS / 1000000;
    }
    poll(p, 2, ms);
    int r = sd_journal_process(jr->j);
    if (r == SD_JOURNAL_INVALIDATE)
        CAIRN_DEBUG("journal", "journal files added or removed", "job=%s", jr->sc->job_name);
}

static void run(struct jreader *jr)
{
    struct cairn__journals *js = jr->js;
    jr->next_sync = cairn_mono_ns() + js->sync_period_ns;
    unsigned n = 0;
    int64_t error_logged = 0;
    while (!atomic_load(&js->stop)) {
        int r = sd_journal_next(jr->j);
        if (r > 0) {
            jr->seq++;
            int rc = read_entry(jr);
            if (rc) {
                /* not handed over (stopping, or out of memory): step back so the
                 * cursor saved is the one before it */
                jr->seq--;
                if (sd_journal_previous(jr->j) <= 0)
                    jr->no_more_saves = 1;
                if (rc != CAIRN_EAGAIN)
                    CAIRN_ERROR("journal", "reader stopped", "job=%s err=%s", jr->sc->job_name,
                                cairn_strerror(rc));
                return;
            }
            if ((++n & 255) == 0 && cairn_mono_ns() >= jr->next_sync)
                sync_cursor(jr, 0);
            continue;
        }
        if (r < 0) { /* a damaged file: sd-journal skips it once it changes */
            atomic_fetch_add(&jr->read_errors, 1);
            int64_t now = cairn_mono_ns();
            if (now - error_logged > 60 * ERROR_RETRY_NS) {
                CAIRN_WARN("journal", "cannot read the next entry", "job=%s err=\"%s\"",
                           jr->sc->job_name, strerror(-r));
                error_logged = now;
            }
        }
        /* at the end: held blocks past their time, a sync when due, then sleep */
        if (cairn_mono_ns() >= jr->next_sync)
            sync_cursor(jr, 0);
        else
            tick(jr, cairn_mono_ns());
        if (!jr->no_more_saves)
            remember_cursor(jr);
        wait_change(jr);
    }
}

static void *reader_main(void *arg)
{
    struct jreader *jr = arg;
    struct cairn__journals *js = jr->js;
    int rc = open_journal(jr);
    if (rc == 0)
        seek_start(jr);
    pthread_mutex_lock(&js->mu);
    jr->open_rc = rc;
    pthread_cond_broadcast(&js->cv);
    pthread_mutex_unlock(&js->mu);
    if (rc)
        return NULL;
    /* wait for the agent to run (its signal handlers are in place by then) */
    struct pollfd p[2] = {{.fd = js->efd, .events = POLLIN}, {.fd = js->gofd, .events = POLLIN}};
    while (!atomic_load(&js->stop) && !(p[1].revents & POLLIN))
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
    if (!atomic_load(&js->stop))
        CAIRN_INFO("journal", "reading the journal", "job=%s path=%s", jr->sc->job_name,
                   jr->sc->journal.path ? jr->sc->journal.path : "(system)");
    run(jr);
    sync_cursor(jr, 1);
    return NULL;
}

/* ---- lifecycle ---- */

static int reader_init(struct cairn__journals *js, struct jreader *jr,
                       const struct cairn_ship_scrape *sc, size_t idx,
                       struct cairn_ship_metrics *metrics, struct cairn_err *err)
{
    jr->js = js;
    jr->sc = sc;
    jr->idx = idx;
    jr->cur_seq = -1;
    jr->cap_seq = INT64_MAX;
    cairn_ship_entry_init(&jr->e);
    size_t kl = strlen(sc->job_name) + 9;
    if (!(jr->pos_key = malloc(kl)))
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    snprintf(jr->pos_key, kl, "journal-%s", sc->job_name);
    char path[96];
    snprintf(path, sizeof path, "scrape_configs[%zu].pipeline_stages", idx);
    if (!(jr->pl = cairn_ship_pipeline_build(&sc->pipeline_stages, path, err)))
        return err->code ? err->code : CAIRN_EINVAL;
    cairn_ship_pipeline_set_metrics(jr->pl, metrics);
    snprintf(path, sizeof path, "scrape_configs[%zu].relabel_configs", idx);
    if (!(jr->rules = cairn_ship_relabel_compile(&sc->relabel_configs, path, err)))
        return err->code ? err->code : CAIRN_EINVAL;
    if (cairn__jmap_init(&jr->map, jr->rules, sc->relabel_configs.n, &sc->journal.labels,
                         sc->journal.json))
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    return 0;
}

int cairn__journals_start(struct cairn__journals **out, const struct cairn_ship_config *cfg,
                          const struct cairn_ship_sink *sink, struct cairn_positions *positions,
                          struct cairn_ship_metrics *metrics, struct cairn_err *err)
{
    *out = NULL;
    const struct cairn_ship_scrape *sc = cfg->scrape_configs.v;
    size_t n = 0;
    for (size_t i = 0; i < cfg->scrape_configs.n; i++)
        n += sc[i].journal.present != 0;
    if (n == 0)
        return 0;
    struct cairn__journals *js = calloc(1, sizeof *js);
    if (!js || !(js->r = calloc(n, sizeof *js->r))) {
        free(js);
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    }
    js->efd = js->gofd = -1;
    js->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    js->gofd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    pthread_mutex_init(&js->mu, NULL);
    pthread_cond_init(&js->cv, NULL);
    js->sink = sink;
    js->positions = positions;
    js->sync_period_ns = cfg->positions.sync_period_ns > 0 ? cfg->positions.sync_period_ns
                                                           : 10000000000LL;
    int rc = js->efd < 0 || js->gofd < 0
                 ? cairn_err_set(err, CAIRN_EIO, "eventfd: %s", strerror(errno))
                 : 0;
    for (size_t i = 0; i < cfg->scrape_configs.n && !rc; i++) {
        if (!sc[i].journal.present)
            continue;
        struct jreader *jr = &js->r[js->n++];
        rc = reader_init(js, jr, &sc[i], i, metrics, err);
        if (rc)
            break;
        jr->open_rc = 1;
        if (pthread_create(&jr->th, NULL, reader_main, jr) != 0) {
            rc = cairn_err_set(err, CAIRN_EIO, "scrape_configs[%zu].journal: cannot start a "
                               "thread", i);
            break;
        }
        jr->started = 1;
        pthread_mutex_lock(&js->mu);
        while (jr->open_rc == 1)
            pthread_cond_wait(&js->cv, &js->mu);
        rc = jr->open_rc;
        pthread_mutex_unlock(&js->mu);
        if (rc)
            cairn_err_set(err, rc, "scrape_configs[%zu].journal: %s", i, jr->open_err);
    }
    if (rc) {
        cairn__journals_destroy(js);
        return rc;
    }
    *out = js;
    return 0;
}

void cairn__journals_go(struct cairn__journals *js)
{
    uint64_t one = 1;
    if (js && write(js->gofd, &one, sizeof one) < 0)
        CAIRN_ERROR("journal", "cannot start the readers", "errno=%d", errno);
}

void cairn__journals_stop(struct cairn__journals *js)
{
    if (!js)
        return;
    int saved = errno;
    atomic_store(&js->stop, 1);
    uint64_t one = 1;
    if (js->efd >= 0 && write(js->efd, &one, sizeof one) < 0) {
        /* the counter is full: it is readable already */
    }
    errno = saved;
}

void cairn__journals_destroy(struct cairn__journals *js)
{
    if (!js)
        return;
    cairn__journals_stop(js);
    for (size_t i = 0; i < js->n; i++) {
        struct jreader *jr = &js->r[i];
        if (jr->started)
            pthread_join(jr->th, NULL);
        if (jr->j)
            sd_journal_close(jr->j);
        cairn_ship_pipeline_destroy(jr->pl);
        cairn_ship_relabel_free(jr->rules, jr->sc->relabel_configs.n);
        cairn__jmap_deinit(&jr->map);
        cairn_ship_entry_deinit(&jr->e);
        free(jr->pos_key);
    }
    if (js->efd >= 0)
        close(js->efd);
    if (js->gofd >= 0)
        close(js->gofd);
    pthread_mutex_destroy(&js->mu);
    pthread_cond_destroy(&js->cv);
    free(js->r);
    free(js);
}

int cairn__journals_drops(struct cairn__journals *js, struct cairn_buf *out)
{
    int rc = 0;
    /* under the agent's logentry_dropped_lines_total TYPE line, written just before */
    for (size_t i = 0; js && i < js->n; i++)
        rc |= cairn_ship_pipeline_drops_write(js->r[i].pl, js->r[i].sc->job_name, out);
    return rc;
}

int cairn__journals_metrics(struct cairn__journals *js, struct cairn_buf *out)
{
    if (!js)
        return 0;
    int rc = 0;
    unsigned long long lines = 0, nomsg = 0, nolabels = 0, errs = 0;
    for (size_t i = 0; i < js->n; i++) {
        struct jreader *jr = &js->r[i];
        lines += atomic_load(&jr->lines);
        nomsg += atomic_load(&jr->no_message);
        nolabels += atomic_load(&jr->empty_labels);
        errs += atomic_load(&jr->read_errors);
    }
    rc |= cairn_buf_appendf(out,
                            "# TYPE promtail_journal_target_lines_total counter\n"
                            "promtail_journal_target_lines_total %llu\n"
                            "# TYPE promtail_journal_target_parsing_errors_total counter\n"
                            "promtail_journal_target_parsing_errors_total{error=\"no_message\"} %llu\n"
                            "promtail_journal_target_parsing_errors_total{error=\"empty_labels\"} %llu\n"
                            "# TYPE cairn_ship_journal_read_errors_total counter\n"
                            "cairn_ship_journal_read_errors_total %llu\n",
                            lines, nomsg, nolabels, errs);
    return rc ? CAIRN_ENOMEM : 0;
}
