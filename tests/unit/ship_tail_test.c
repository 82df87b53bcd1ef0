/* ship_tail_test.c -- globs, the positions file, and the tailer: partial lines,
 * rotation by rename and by copytruncate, truncation, restart from positions (also
 * across a rotation or a copytruncate that happened while stopped), positions that
 * stay behind lines a stage holds, pod log labels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/ship.h"
#include "cairn/ship_positions.h"
#include "ship/ship_build.h"
#include "ship/ship_int.h"
#include "testutil.h"

static void glob_match_table(void **state)
{
    (void)state;
    static const struct {
        const char *pat, *path;
        int want;
    } cases[] = {
        {"/var/log/*.log", "/var/log/a.log", 1},
        {"/var/log/*.log", "/var/log/sub/a.log", 0},
        {"/var/log/**/*.log", "/var/log/a.log", 1},
        {"/var/log/**/*.log", "/var/log/x/y/z/a.log", 1},
        {"/var/log/**", "/var/log/x/y", 1},
        {"/var/log/**/*.log", "/var/log/x/a.txt", 0},
        {"/var/log/{a,b}.log", "/var/log/b.log", 1},
        {"/var/log/{a,b}.log", "/var/log/c.log", 0},
        {"/var/log/?.log", "/var/log/a.log", 1},
        {"/var/log/[ab].log", "/var/log/c.log", 0},
        {"/var/log/pods/*/*/*.log", "/var/log/pods/ns_p_u/c/0.log", 1},
        {"/var/log/*.gz", "/var/log/a.log", 0},
        {"var/*.log", "/var/a.log", 0},
        /* the shapes __path__ relabelling makes (matched without fnmatch) */
        {"/var/log/pods/*u-1/web/*.log", "/var/log/pods/shop_web-1_u-1/web/0.log", 1},
        {"/var/log/pods/*u-1/web/*.log", "/var/log/pods/shop_web-1_u-12/web/0.log", 0},
        {"/var/log/pods/*u-1/web/*.log", "/var/log/pods/u-1/web/0.log", 1},
        {"/var/log/pods/shop_*/web/0.log", "/var/log/pods/shop_web-1_u-1/web/0.log", 1},
        {"/var/log/pods/shop_*/web/0.log", "/var/log/pods/shoq_web-1_u-1/web/0.log", 0},
        {"/var/log/*", "/var/log/.hidden", 1},
        {"/var/log/*.lo?", "/var/log/a.log", 1},
        {"/var/log/*\\*", "/var/log/a*", 1},
        {"/var/log/*\\*", "/var/log/ab", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cairn__glob_match(cases[i].pat, cases[i].path) != cases[i].want)
            fail_msg("glob %s vs %s: want %d", cases[i].pat, cases[i].path, cases[i].want);
    }
}

static void write_file(const char *path, const char *mode, const char *text)
{
    FILE *f = fopen(path, mode);
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

struct found {
    char paths[16][512];
    size_t n;
};

static int collect(void *ud, const char *path, const struct stat *st)
{
    (void)st;
    struct found *f = ud;
    if (f->n < 16)
        snprintf(f->paths[f->n++], 512, "%s", path);
    return 0;
}

static int has(const struct found *f, const char *suffix)
{
    for (size_t i = 0; i < f->n; i++) {
        size_t a = strlen(f->paths[i]), b = strlen(suffix);
        if (a >= b && strcmp(f->paths[i] + a - b, suffix) == 0)
            return 1;
    }
    return 0;
}

static void glob_walk_double_star(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("glob");
    char p[512], pat[512];
    snprintf(p, sizeof p, "%s/a", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/a/b", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/top.log", dir);
    write_file(p, "w", "");
    snprintf(p, sizeof p, "%s/a/mid.log", dir);
    write_file(p, "w", "");
    snprintf(p, sizeof p, "%s/a/b/deep.log", dir);
    write_file(p, "w", "");
    snprintf(p, sizeof p, "%s/a/b/deep.txt", dir);
    write_file(p, "w", "");
    struct found f = {0};
    snprintf(pat, sizeof pat, "%s/**/*.log", dir);
    assert_int_equal(cairn__glob_walk(pat, collect, &f), 0);
    assert_int_equal(f.n, 3);
    assert_true(has(&f, "/top.log") && has(&f, "/a/mid.log") && has(&f, "/a/b/deep.log"));
    memset(&f, 0, sizeof f);
    snprintf(pat, sizeof pat, "%s/*/*.log", dir);
    assert_int_equal(cairn__glob_walk(pat, collect, &f), 0);
    assert_int_equal(f.n, 1);
    assert_true(has(&f, "/a/mid.log"));
    test_rmdir_r(dir);
    free(dir);
}

static void positions_round_trip_and_promtail_format(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("pos");
    char path[512];
    snprintf(path, sizeof path, "%s/positions.yaml", dir);
    /* a file as Promtail writes it */
    write_file(path, "w", "positions:\n  /var/log/a.log: \"1234\"\n  /var/log/b c.log: \"7\"\n");
    struct cairn_err err;
    struct cairn_positions *p = cairn_positions_open(path, &err);
    assert_non_null(p);
    struct cairn_position pos;
    assert_int_equal(cairn_positions_get(p, "/var/log/a.log", &pos), 0);
    assert_int_equal(pos.offset, 1234);
    assert_int_equal(pos.ino, 0);
    assert_int_equal(pos.check, 0);
    assert_int_equal(cairn_positions_get(p, "/var/log/b c.log", &pos), 0);
    assert_int_equal(pos.offset, 7);
    pos = (struct cairn_position){99, 42, (1ULL << 62) + 5};
    assert_int_equal(cairn_positions_set(p, "/x/\"q\".log", &pos), 0);
    cairn_positions_remove(p, "/var/log/a.log");
    assert_int_equal(cairn_positions_save(p), 0);
    cairn_positions_close(p);
    p = cairn_positions_open(path, &err);
    assert_non_null(p);
    assert_int_equal(cairn_positions_count(p), 2);
    assert_int_equal(cairn_positions_get(p, "/x/\"q\".log", &pos), 0);
    assert_int_equal(pos.offset, 99);
    assert_int_equal(pos.ino, 42);
    assert_int_equal(pos.check, (1ULL << 62) + 5);
    assert_int_equal(cairn_positions_get(p, "/var/log/a.log", &pos), CAIRN_ENOTFOUND);
    cairn_positions_close(p);
    /* a malformed file is an error naming it, and is left alone */
    write_file(path, "w", "positions:\n  /a: notanumber\n");
    assert_null(cairn_positions_open(path, &err));
    assert_non_null(strstr(err.msg, "positions.yaml"));
    size_t len;
    char *text = test_read_file(path, &len);
    assert_non_null(strstr(text, "notanumber"));
    free(text);
    test_rmdir_r(dir);
    free(dir);
}

/* A sink that records lines (and the filename label of the last one). */
struct capture {
    char lines[256][256];
    size_t n;
    int flushes;
};

static int cap_emit(void *ud, const struct cairn_ship_entry *e)
{
    struct capture *c = ud;
    if (c->n < 256)
        snprintf(c->lines[c->n++], 256, "%.*s", (int)e->line.len, e->line.data);
    return 0;
}

static int cap_flush(void *ud)
{
    ((struct capture *)ud)->flushes++;
    return 0;
}

static void expect_lines(struct capture *c, const char *const *want, size_t n)
{
    if (c->n != n) {
        for (size_t i = 0; i < c->n; i++)
            print_message("got[%zu] = %s\n", i, c->lines[i]);
        fail_msg("got %zu lines, want %zu", c->n, n);
    }
    for (size_t i = 0; i < n; i++)
        assert_string_equal(c->lines[i], want[i]);
    c->n = 0;
}

static void tails_rotations_and_restarts(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("tail");
    char log[512], rot[512], pos[512], glob[512];
    snprintf(log, sizeof log, "%s/app.log", dir);
    snprintf(rot, sizeof rot, "%s/app.log.1", dir);
    snprintf(pos, sizeof pos, "%s/positions.yaml", dir);
    snprintf(glob, sizeof glob, "%s/*.log", dir);
    struct capture cap = {0};
    struct cairn_ship_sink sink = {cap_emit, cap_flush, &cap};
    struct cairn_labels lbl;
    struct cairn_err err;
    cairn_labels_init(&lbl);
    assert_int_equal(cairn_labels_parse(&lbl, "{job=\"app\"}", 11, &err), 0);
    struct cairn_tail_target tg = {CAIRN_TAIL_FILES, glob, NULL, &lbl, NULL};

    struct cairn_positions *p = cairn_positions_open(pos, &err);
    assert_non_null(p);
    struct cairn_tailer_config cfg = {0};
    cfg.targets = &tg;
    cfg.n_targets = 1;
    cfg.positions = p;
    cfg.sink = &sink;
    struct cairn_tailer *t = cairn_tailer_create(&cfg, &err);
    assert_non_null(t);

    write_file(log, "w", "a\nb\r\npart");
    assert_int_equal(cairn_tailer_poll(t), 0);
    expect_lines(&cap, (const char *const[]){"a", "b"}, 2);
    /* the partial line waits for its newline */
    write_file(log, "a", "ial\n");
    assert_int_equal(cairn_tailer_poll(t), 0);
    expect_lines(&cap, (const char *const[]){"partial"}, 1);

    /* rotation by rename; the old file still gets a line after the rename */
    assert_int_equal(rename(log, rot), 0);
    write_file(rot, "a", "late\n");
    write_file(log, "w", "c\n");
    assert_int_equal(cairn_tailer_poll(t), 0);
    expect_lines(&cap, (const char *const[]){"late", "c"}, 2);
    /* a writer that has not reopened yet still appends to the rotated file after the
     * tailer switched: read during the grace period */
    write_file(rot, "a", "later\n");
    assert_int_equal(cairn_tailer_poll(t), 0);
    expect_lines(&cap, (const char *const[]){"later"}, 1);
    unlink(rot);

    /* copytruncate: copy elsewhere, truncate in place, keep writing */
    write_file(log, "a", "d\n");
    assert_int_equal(cairn_tailer_poll(t), 0);
    expect_lines(&cap, (const char *const[]){"d"}, 1);
    assert_int_equal(truncate(log, 0), 0);
    write_file(log, "a", "e\n");
    assert_int_equal(cairn_tailer_poll(t), 0);
    expect_lines(&cap, (const char *const[]){"e"}, 1);
    /* truncated and rewritten past the old offset before the tailer looked: the bytes
     * before the offset changed, so it starts over instead of skipping lines */
    assert_int_equal(truncate(log, 0), 0);
    write_file(log, "a", "first after truncate\nsecond\n");
    assert_int_equal(cairn_tailer_poll(t), 0);
    expect_lines(&cap, (const char *const[]){"first after truncate", "second"}, 2);

    /* stop (saves positions after flushing the sink) */
    write_file(log, "a", "f\nunfinished");
    assert_int_equal(cairn_tailer_poll(t), 0);
    expect_lines(&cap, (const char *const[]){"f"}, 1);
    int flushes = cap.flushes;
    cairn_tailer_destroy(t);
    assert_true(cap.flushes > flushes);
    cairn_positions_close(p);

    /* while stopped: the partial line is finished, more lines, then a rotation */
    write_file(log, "a", " line\ng\n");
    assert_int_equal(rename(log, rot), 0);
    write_file(log, "w", "h\n");

    p = cairn_positions_open(pos, &err);
    assert_non_null(p);
    cfg.positions = p;
    t = cairn_tailer_create(&cfg, &err);
    assert_non_null(t);
    assert_int_equal(cairn_tailer_poll(t), 0);
    expect_lines(&cap, (const char *const[]){"unfinished line", "g", "h"}, 3);
    cairn_tailer_destroy(t);
    cairn_positions_close(p);

    /* and a plain restart repeats nothing */
    p = cairn_positions_open(pos, &err);
    cfg.positions = p;
    t = cairn_tailer_create(&cfg, &err);
    assert_int_equal(cairn_tailer_poll(t), 0);
    assert_int_equal(cap.n, 0);
    write_file(log, "a", "i\n");
    assert_int_equal(cairn_tailer_poll(t), 0);
    expect_lines(&cap, (const char *const[]){"i"}, 1);
    cairn_tailer_destroy(t);
    cairn_positions_close(p);

    cairn_labels_deinit(&lbl);
    test_rmdir_r(dir);
    free(dir);
}

/* The offset the positions file at pos records for path. */
static int64_t saved_offset(const char *pos, const char *path)
{
    struct cairn_err err;
    struct cairn_positions *p = cairn_positions_open(pos, &err);
    assert_non_null(p);
    struct cairn_position at = {-1, 0, 0};
    cairn_positions_get(p, path, &at);
    cairn_positions_close(p);
    return at.offset;
}

/* A directory with app.log and a positions file, a capturing sink, job="app" labels,
 * and the tailer of the moment (one at a time: start, then stop). */
struct tdir {
    char *dir;
    char log[512], pos[512], glob[512];
    struct capture cap;
    struct cairn_ship_sink sink;
    struct cairn_labels lbl;
    struct cairn_positions *p;
    struct cairn_tail_target tg;
    struct cairn_tailer *t;
};

static void tdir_open(struct tdir *d, const char *name)
{
    memset(d, 0, sizeof *d);
    d->dir = test_mkdtemp(name);
    snprintf(d->log, sizeof d->log, "%s/app.log", d->dir);
    snprintf(d->pos, sizeof d->pos, "%s/positions.yaml", d->dir);
    snprintf(d->glob, sizeof d->glob, "%s/*.log", d->dir);
    d->sink = (struct cairn_ship_sink){cap_emit, cap_flush, &d->cap};
    struct cairn_err err;
    cairn_labels_init(&d->lbl);
    assert_int_equal(cairn_labels_parse(&d->lbl, "{job=\"app\"}", 11, &err), 0);
}

static void tdir_close(struct tdir *d)
{
    cairn_labels_deinit(&d->lbl);
    test_rmdir_r(d->dir);
    free(d->dir);
}

/* Start a tailer over the directory with pipeline pl (NULL: none), from the
 * positions file as it is on disk, and read what is there. */
static void tdir_start(struct tdir *d, struct cairn_ship_pipeline *pl)
{
    struct cairn_err err;
    d->p = cairn_positions_open(d->pos, &err);
    assert_non_null(d->p);
    d->tg = (struct cairn_tail_target){CAIRN_TAIL_FILES, d->glob, NULL, &d->lbl, pl};
    struct cairn_tailer_config cfg = {0};
    cfg.targets = &d->tg;
    cfg.n_targets = 1;
    cfg.positions = d->p;
    cfg.sink = &d->sink;
    d->t = cairn_tailer_create(&cfg, &err);
    assert_non_null(d->t);
    assert_int_equal(cairn_tailer_poll(d->t), 0);
}

/* Stop it as a killed agent would leave things: positions as last synced (destroy
 * syncs, but runs no final tick, so held lines stay held). */
static void tdir_stop(struct tdir *d)
{
    cairn_tailer_destroy(d->t);
    cairn_positions_close(d->p);
    d->t = NULL;
}

/* A pipeline with a multiline stage, inside a match stage if nested. */
static struct cairn_ship_pipeline *multiline_pipeline(int nested)
{
    struct cairn_err err;
    struct cairn_ship_pipeline *pl = cairn__pipeline_new(0), *inner = pl;
    assert_non_null(pl);
    if (nested) {
        inner = cairn__pipeline_new(0);
        assert_int_equal(cairn__stage_match(pl, "{job=\"app\"}", 0, NULL, inner, &err), 0);
    }
    assert_int_equal(cairn__stage_multiline(inner, "^start", 60LL * 1000000000, 128, &err), 0);
    return pl;
}

static struct cairn_ship_pipeline *container_pipeline(void)
{
    struct cairn_err err;
    struct cairn_ship_pipeline *pl = cairn__pipeline_new(0);
    assert_non_null(pl);
    assert_int_equal(cairn__stage_container(pl, &err), 0);
    return pl;
}

/* Lines a multiline block (or a CRI partial) holds are not behind the saved position:
 * a crash while they are held reads them again on restart instead of losing them. */
static void positions_do_not_pass_held_lines(void **state)
{
    (void)state;
    struct tdir d;
    tdir_open(&d, "held");
    /* multiline at the top, then inside a match (the nested stage's holds count) */
    for (int nested = 0; nested < 2; nested++) {
        struct cairn_ship_pipeline *pl = multiline_pipeline(nested);
        unlink(d.pos);
        write_file(d.log, "w", "start 1\n  cont a\n");
        tdir_start(&d, pl);
        assert_int_equal(d.cap.n, 0); /* held */
        assert_int_equal(cairn_tailer_sync(d.t), 0);
        assert_int_equal(saved_offset(d.pos, d.log), 0);
        write_file(d.log, "a", "start 2\n");
        assert_int_equal(cairn_tailer_poll(d.t), 0);
        expect_lines(&d.cap, (const char *const[]){"start 1\n  cont a"}, 1);
        assert_int_equal(cairn_tailer_sync(d.t), 0);
        assert_int_equal(saved_offset(d.pos, d.log), 17); /* where "start 2" begins */
        tdir_stop(&d); /* the agent dies holding "start 2" */
        cairn_ship_pipeline_destroy(pl);
        assert_int_equal(saved_offset(d.pos, d.log), 17);

        pl = multiline_pipeline(nested);
        write_file(d.log, "a", "  cont b\n");
        tdir_start(&d, pl);
        assert_int_equal(d.cap.n, 0);
        /* the time limit lets the block go, through the rest of the pipeline */
        assert_int_equal(cairn_ship_pipeline_tick(pl, INT64_MAX, &d.sink), 0);
        expect_lines(&d.cap, (const char *const[]){"start 2\n  cont b"}, 1);
        assert_int_equal(cairn_tailer_sync(d.t), 0);
        assert_int_equal(saved_offset(d.pos, d.log), 34); /* nothing held: the end */
        tdir_stop(&d);
        cairn_ship_pipeline_destroy(pl);
    }

    /* an unfinished CRI line (P without its F) pins the position the same way */
    struct cairn_ship_pipeline *pl = container_pipeline();
    unlink(d.pos);
    write_file(d.log, "w", "2024-01-01T00:00:00Z stdout F one\n"
                           "2024-01-01T00:00:01Z stdout P tw\n");
    tdir_start(&d, pl);
    expect_lines(&d.cap, (const char *const[]){"one"}, 1);
    assert_int_equal(cairn_tailer_sync(d.t), 0);
    assert_int_equal(saved_offset(d.pos, d.log), 34); /* where the P line begins */
    tdir_stop(&d);
    cairn_ship_pipeline_destroy(pl);
    pl = container_pipeline();
    write_file(d.log, "a", "2024-01-01T00:00:01Z stdout F o\n");
    tdir_start(&d, pl);
    expect_lines(&d.cap, (const char *const[]){"two"}, 1);
    tdir_stop(&d);
    cairn_ship_pipeline_destroy(pl);
    tdir_close(&d);
}

/* copytruncate while the agent was stopped, and the new content already longer than
 * the saved position: the check of the bytes before the position tells. */
static void restart_notices_rewrite_while_stopped(void **state)
{
    (void)state;
    struct tdir d;
    tdir_open(&d, "rewr");
    write_file(d.log, "w", "old 1\nold 2\n");
    tdir_start(&d, NULL);
    expect_lines(&d.cap, (const char *const[]){"old 1", "old 2"}, 2);
    tdir_stop(&d);

    /* stopped: copied away, truncated in place, and written past the old offset */
    assert_int_equal(truncate(d.log, 0), 0);
    write_file(d.log, "a", "new 1\nnew 2\nnew 3\n");
    tdir_start(&d, NULL);
    expect_lines(&d.cap, (const char *const[]){"new 1", "new 2", "new 3"}, 3);
    tdir_stop(&d);

    /* a file that only grew resumes where it was */
    write_file(d.log, "a", "new 4\n");
    tdir_start(&d, NULL);
    expect_lines(&d.cap, (const char *const[]){"new 4"}, 1);
    tdir_stop(&d);

    /* a Promtail positions file (no checks) is trusted as it is */
    FILE *pf = fopen(d.pos, "w");
    assert_non_null(pf);
    fprintf(pf, "positions:\n  \"%s\": \"18\"\n", d.log);
    fclose(pf);
    tdir_start(&d, NULL);
    expect_lines(&d.cap, (const char *const[]){"new 4"}, 1);
    tdir_stop(&d);
    tdir_close(&d);
}

/* A sink that records "labels line". */
static int cap_emit_labels(void *ud, const struct cairn_ship_entry *e)
{
    struct capture *c = ud;
    struct cairn_buf b = CAIRN_BUF_INIT;
    cairn_labels_format(&e->labels, &b);
    if (c->n < 256)
        snprintf(c->lines[c->n++], 256, "%s", cairn_buf_cstr(&b));
    if (c->n < 256)
        snprintf(c->lines[c->n++], 256, "%.*s", (int)e->line.len, e->line.data);
    cairn_buf_deinit(&b);
    return 0;
}

static void tails_pod_logs_cri_and_docker(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("pods");
    char p[512], glob[512];
    snprintf(p, sizeof p, "%s/kube-system_dns-1_u1", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/kube-system_dns-1_u1/coredns", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/kube-system_dns-1_u1/coredns/0.log", dir);
    write_file(p, "w", "2024-01-01T00:00:00.000000001Z stdout P hello \n"
                       "2024-01-01T00:00:00.000000002Z stdout F world\n");
    snprintf(p, sizeof p, "%s/web_api-2_u2", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/web_api-2_u2/app", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/web_api-2_u2/app/1.log", dir);
    write_file(p, "w", "{\"log\":\"started\\n\",\"stream\":\"stderr\",\"time\":"
                       "\"2024-01-01T00:00:00Z\"}\n");
    snprintf(glob, sizeof glob, "%s/*/*/*.log", dir);
    struct cairn_err err;
    struct cairn_ship_pipeline *pl = cairn__pipeline_new(0);
    assert_int_equal(cairn__stage_container(pl, &err), 0);
    struct capture cap = {0};
    struct cairn_ship_sink sink = {cap_emit_labels, NULL, &cap};
    struct cairn_tail_target tg = {CAIRN_TAIL_PODS, glob, NULL, NULL, pl};
    struct cairn_tailer_config cfg = {0};
    cfg.targets = &tg;
    cfg.n_targets = 1;
    cfg.sink = &sink;
    struct cairn_tailer *t = cairn_tailer_create(&cfg, &err);
    assert_non_null(t);
    assert_int_equal(cairn_tailer_poll(t), 0);
    assert_int_equal(cap.n, 4);
    int found_cri = 0, found_docker = 0;
    for (size_t i = 0; i < cap.n; i += 2) {
        if (strcmp(cap.lines[i + 1], "hello world") == 0) {
            found_cri = strstr(cap.lines[i], "container=\"coredns\"") &&
                        strstr(cap.lines[i], "namespace=\"kube-system\"") &&
                        strstr(cap.lines[i], "pod=\"dns-1\"") && strstr(cap.lines[i], "stdout");
        } else if (strcmp(cap.lines[i + 1], "started\n") == 0) { /* docker keeps the newline */
            found_docker = strstr(cap.lines[i], "container=\"app\"") &&
                           strstr(cap.lines[i], "stream=\"stderr\"") != NULL;
        }
    }
    assert_true(found_cri);
    assert_true(found_docker);
    cairn_tailer_destroy(t);
    cairn_ship_pipeline_destroy(pl);
    test_rmdir_r(dir);
    free(dir);
}

static void pod_log_paths_give_labels(void **state)
{
    (void)state;
    struct cairn_labels ls;
    cairn_labels_init(&ls);
    assert_int_equal(cairn_ship_pod_labels(
                         "/var/log/pods/grafana-com_api-7d9f_0b1c-22/server/0.log", &ls), 0);
    assert_string_equal(cairn_labels_get(&ls, "namespace", 9)->value, "grafana-com");
    assert_string_equal(cairn_labels_get(&ls, "pod", 3)->value, "api-7d9f");
    assert_string_equal(cairn_labels_get(&ls, "container", 9)->value, "server");
    assert_int_equal(cairn_ship_pod_labels("/var/log/app.log", &ls), CAIRN_EINVAL);
    cairn_labels_deinit(&ls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(glob_match_table),
        cmocka_unit_test(glob_walk_double_star),
        cmocka_unit_test(positions_round_trip_and_promtail_format),
        cmocka_unit_test(tails_rotations_and_restarts),
        cmocka_unit_test(positions_do_not_pass_held_lines),
        cmocka_unit_test(restart_notices_rewrite_while_stopped),
        cmocka_unit_test(pod_log_paths_give_labels),
        cmocka_unit_test(tails_pod_logs_cri_and_docker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
