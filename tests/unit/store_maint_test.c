/* store_maint_test.c -- what the maintenance pass does, driven with a chosen clock:
 * idle chunks close and streams go inactive, old WAL files are checkpointed away (and
 * a crash after that still replays exactly once), finished periods get their index
 * file; and concurrent appenders with a concurrent reader. */
#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cairn/log.h"
#include "cairn/store.h"
#include "cairn/store_read.h"
#include "cairn/timeutil.h"
#include "store/store_int.h"
#include "testutil.h"

#define SEC 1000000000LL
#define MIN (60 * SEC)

static struct cairn_store *open_store(const char *dir, size_t wal_max)
{
    struct cairn_store_config cfg;
    cairn_store_config_default(&cfg);
    cfg.data_dir = dir;
    cfg.fsync = CAIRN_FSYNC_NEVER;
    cfg.wal_file_max = wal_max;
    struct cairn_err err;
    struct cairn_store *s = cairn_store_open(&cfg, &err);
    if (!s)
        fail_msg("open: %s", err.msg);
    return s;
}

static void push(struct cairn_store *s, const char *stream, int64_t base, int from, int n)
{
    struct cairn_labels ls;
    cairn_labels_init(&ls);
    cairn_labels_add(&ls, "s", 1, stream, strlen(stream));
    struct cairn_entry *e = calloc((size_t)n, sizeof *e);
    char *buf = malloc((size_t)n * 80);
    for (int i = 0; i < n; i++) {
        int l = snprintf(buf + i * 80, 80, "%s entry %06d padding padding padding", stream,
                         from + i);
        e[i] = (struct cairn_entry){base + (from + i) * 1000LL, buf + i * 80, (size_t)l};
    }
    struct cairn_push_stream ps = {.labels = &ls, .entries = e, .n = (size_t)n};
    assert_int_equal(cairn_store_append(s, "fake", &ps, 1), 0);
    assert_int_equal(ps.rejected, 0);
    free(buf);
    free(e);
    cairn_labels_deinit(&ls);
}

static size_t count(struct cairn_store *s, int64_t from, int64_t to)
{
    roaring_bitmap_t *all = roaring_bitmap_create();
    cairn_store_streams(s, "fake", from, to, all);
    struct cairn_entry_iter it;
    assert_int_equal(
        cairn_store_iter_init(&it, s, "fake", all, from, to, CAIRN_ITER_FORWARD, 0), 0);
    uint32_t sid;
    struct cairn_entry e;
    size_t n = 0;
    int r;
    while ((r = cairn_store_iter_next(&it, &sid, &e)) == 1)
        n++;
    assert_int_equal(r, 0);
    cairn_store_iter_deinit(&it);
    roaring_bitmap_free(all);
    return n;
}

static int files_in(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    if (d)
        closedir(d);
    return n;
}

static void idle_streams_close_their_chunks(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("maint");
    struct cairn_store *s = open_store(dir, 0);
    int64_t now = cairn_now_ns();
    push(s, "a", now, 0, 100);
    push(s, "b", now, 0, 100);
    assert_int_equal(cairn_store_active_streams(s, "fake"), 2);
    struct cairn_store_stats st;
    cairn_store_stats(s, &st);
    assert_true(st.head_bytes > 0);
    /* 10 minutes later nothing is idle yet */
    cairn__store_maint(s, now + 10 * MIN);
    assert_int_equal(cairn_store_active_streams(s, "fake"), 2);
    /* 31 minutes later both are idle: cut, chunk closed, inactive */
    cairn__store_maint(s, now + 31 * MIN);
    assert_int_equal(cairn_store_active_streams(s, "fake"), 0);
    cairn_store_stats(s, &st);
    assert_int_equal(st.head_bytes, 0);
    assert_int_equal(st.chunks_flushed, 2);
    assert_int_equal(count(s, now, now + MIN), 200);
    /* a stream coming back is active again */
    push(s, "a", now, 100, 10);
    assert_int_equal(cairn_store_active_streams(s, "fake"), 1);
    assert_int_equal(count(s, now, now + MIN), 210);
    cairn_store_close(s);
    test_rmdir_r(dir);
    free(dir);
}

static void wal_checkpoint_then_crash(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("maint");
    struct cairn_store *s = open_store(dir, 64 * 1024);
    int64_t now = cairn_now_ns();
    for (int round = 0; round < 40; round++) {
        push(s, "a", now, round * 100, 100);
        push(s, "b", now, round * 100, 100);
    }
    char wal[4200];
    snprintf(wal, sizeof wal, "%s/wal", dir);
    /* several rotations happened (the background pass may already have removed some
     * of the old files, so count rotations, not files) */
    assert_true(cairn__wal_seq(s->wal) > 4);
    /* blocks pinning old WAL files are cut, then those files go */
    cairn__store_maint(s, now);
    int after = files_in(wal);
    assert_true(after <= 1);
    push(s, "c", now, 0, 50); /* in the head and the live WAL file only */
    cairn_store_abandon(s);
    s = open_store(dir, 64 * 1024);
    assert_int_equal(count(s, now, now + MIN), 8050);
    cairn_store_close(s);
    test_rmdir_r(dir);
    free(dir);
}

static void finished_period_gets_index_file(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("maint");
    struct cairn_store *s = open_store(dir, 0);
    int64_t day = 24 * 3600 * SEC;
    int64_t t0 = (cairn_now_ns() / day - 3) * day; /* a period three days ago */
    push(s, "a", t0, 0, 100);
    char idx[4200];
    snprintf(idx, sizeof idx, "%s/tenants/fake/%lld/index.cidx", dir, (long long)t0);
    struct stat sb;
    /* while the stream is live the period stays open */
    cairn__store_maint(s, cairn_now_ns());
    assert_int_not_equal(stat(idx, &sb), 0);
    /* idle: the open block is cut and its chunk closed; nothing refers to the period
     * any more and it is closed in the same pass */
    cairn__store_maint(s, cairn_now_ns() + 31 * MIN);
    assert_int_equal(stat(idx, &sb), 0);
    cairn_store_close(s);
    s = open_store(dir, 0);
    assert_int_equal(count(s, t0, t0 + day), 100);
    cairn_store_close(s);
    test_rmdir_r(dir);
    free(dir);
}

struct job {
    struct cairn_store *s;
    int id;
    int64_t base;
    volatile int *stop;
};

static void *appender(void *arg)
{
    struct job *j = arg;
    char name[16];
    snprintf(name, sizeof name, "w%d", j->id);
    for (int r = 0; r < 50; r++) {
        push(j->s, name, j->base, r * 40, 40);
        push(j->s, "shared", j->base + j->id, (r * 4 + j->id) * 40 * 1000, 40);
    }
    return NULL;
}

static void *reader(void *arg)
{
    struct job *j = arg;
    while (!*j->stop) {
        size_t n = count(j->s, j->base - SEC, j->base + 1000 * SEC);
        assert_true(n <= 4 * 50 * 80);
        cairn_store_flush(j->s);
    }
    return NULL;
}

static void concurrent_appenders_and_reader(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("maint");
    struct cairn_store_config cfg;
    cairn_store_config_default(&cfg);
    cfg.data_dir = dir;
    cfg.fsync = CAIRN_FSYNC_ALWAYS;
    cfg.head_budget = 128 * 1024; /* evictions race with appends and reads */
    struct cairn_err err;
    struct cairn_store *s = cairn_store_open(&cfg, &err);
    assert_non_null(s);
    int64_t base = cairn_now_ns();
    volatile int stop = 0;
    pthread_t th[5];
    struct job j[5];
    for (int i = 0; i < 5; i++) {
        j[i] = (struct job){s, i, base, &stop};
        pthread_create(&th[i], NULL, i < 4 ? appender : reader, &j[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    stop = 1;
    pthread_join(th[4], NULL);
    assert_int_equal(count(s, base - SEC, base + 1000 * SEC), 4 * 50 * 80);
    cairn_store_abandon(s);
    s = open_store(dir, 0);
    assert_int_equal(count(s, base - SEC, base + 1000 * SEC), 4 * 50 * 80);
    cairn_store_close(s);
    test_rmdir_r(dir);
    free(dir);
}

int main(void)
{
    cairn_log_set_level(CAIRN_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(idle_streams_close_their_chunks),
        cmocka_unit_test(wal_checkpoint_then_crash),
        cmocka_unit_test(finished_period_gets_index_file),
        cmocka_unit_test(concurrent_appenders_and_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
