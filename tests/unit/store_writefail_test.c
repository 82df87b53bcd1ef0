/* store_writefail_test.c -- the write path when the WAL's write or fdatasync fails
 * (issue 10, findings 3 and 4): a failed push leaves no trace (not readable, not
 * deduplicated, no stream without its STREAM record), its retry reaches the WAL, a
 * failed fdatasync is never acknowledged and the store refuses until a fresh file's
 * write and sync work. Failures are injected through the store's cairn_store_io hooks. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cairn/store.h"
#include "cairn/store_read.h"
#include "store/store_int.h"
#include "testutil.h"

#define T0 1767225600000000000LL /* 2026-01-01T00:00:00Z */
#define SEC 1000000000LL

/* How many of the next calls fail and with which errno (count -1: all of them). */
struct faults {
    int write_errno, write_count;
    int sync_errno, sync_count;
    int writes, syncs; /* calls seen */
};

static ssize_t f_write(void *ctx, int fd, const void *p, size_t n)
{
    struct faults *f = ctx;
    f->writes++;
    if (f->write_count) {
        if (f->write_count > 0)
            f->write_count--;
        errno = f->write_errno;
        return -1;
    }
    return write(fd, p, n);
}

static int f_sync(void *ctx, int fd)
{
    struct faults *f = ctx;
    f->syncs++;
    if (f->sync_count) {
        if (f->sync_count > 0)
            f->sync_count--;
        errno = f->sync_errno;
        return -1;
    }
    return fdatasync(fd);
}

static struct faults F;
static const struct cairn_store_io IO = {f_write, f_sync, &F};

static struct cairn_store *open_store(const char *dir, enum cairn_fsync_policy pol)
{
    struct cairn_store_config cfg;
    cairn_store_config_default(&cfg);
    cfg.data_dir = dir;
    cfg.fsync = pol;
    cfg.io = &IO;
    struct cairn_err err;
    struct cairn_store *s = cairn_store_open(&cfg, &err);
    if (!s)
        fail_msg("open: %s", err.msg);
    return s;
}

/* Push n entries "<tag> <i>" at T0 + first + i seconds to {app="<app>"}; the
 * append's return code. */
static int push(struct cairn_store *s, const char *app, const char *tag, int first, int n)
{
    struct cairn_labels ls;
    cairn_labels_init(&ls);
    cairn_labels_add(&ls, "app", 3, app, strlen(app));
    assert_int_equal(cairn_labels_sort(&ls, NULL), 0);
    struct cairn_entry e[64];
    char lines[64][32];
    assert_true(n <= 64);
    for (int i = 0; i < n; i++) {
        int l = snprintf(lines[i], sizeof lines[i], "%s %d", tag, i);
        e[i] = (struct cairn_entry){T0 + (first + i) * SEC, lines[i], (size_t)l};
    }
    struct cairn_push_stream ps = {.labels = &ls, .entries = e, .n = (size_t)n};
    int rc = cairn_store_append(s, "fake", &ps, 1);
    cairn_labels_deinit(&ls);
    return rc;
}

/* How many entries of tenant fake are readable, and how many carry `tag`. */
static size_t count(struct cairn_store *s, const char *tag, size_t *tagged)
{
    roaring_bitmap_t *all = roaring_bitmap_create();
    size_t n = 0, k = 0;
    if (cairn_store_streams(s, "fake", INT64_MIN / 2, INT64_MAX / 2, all) == 0) {
        struct cairn_entry_iter it;
        assert_int_equal(cairn_store_iter_init(&it, s, "fake", all, INT64_MIN / 2,
                                               INT64_MAX / 2, CAIRN_ITER_FORWARD, 0),
                         0);
        uint32_t sid;
        struct cairn_entry e;
        int r;
        size_t tl = strlen(tag);
        while ((r = cairn_store_iter_next(&it, &sid, &e)) == 1) {
            n++;
            if (e.len > tl && !memcmp(e.line, tag, tl) && e.line[tl] == ' ')
                k++;
        }
        assert_int_equal(r, 0);
        cairn_store_iter_deinit(&it);
    }
    roaring_bitmap_free(all);
    if (tagged)
        *tagged = k;
    return n;
}

/* Finding 3a: a push whose WAL write failed (disk full) answers ENOSPC and its retry
 * is not deduplicated against it: the retry reaches the WAL and survives a crash. */
static void failed_push_leaves_no_trace_and_retry_reaches_wal(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("wfail");
    memset(&F, 0, sizeof F);
    struct cairn_store *s = open_store(dir, CAIRN_FSYNC_NEVER);
    assert_int_equal(push(s, "api", "a", 0, 10), 0);
    F.write_errno = ENOSPC;
    F.write_count = 1;
    assert_int_equal(push(s, "api", "b", 10, 10), CAIRN_ENOSPC);
    size_t b;
    assert_int_equal(push(s, "api", "b", 10, 10), 0); /* the retry */
    assert_int_equal(count(s, "b", &b), 20);
    assert_int_equal(b, 10);
    cairn_store_abandon(s); /* as after kill -9 */
    s = open_store(dir, CAIRN_FSYNC_NEVER);
    assert_int_equal(count(s, "b", &b), 20); /* 3a: the retry was in the WAL, once */
    assert_int_equal(b, 10);
    cairn_store_close(s);
    test_rmdir_r(dir);
    free(dir);
}

/* Finding 3b: a stream whose first push failed gets its STREAM record with the next
 * push, so the next push's acknowledged lines survive a crash. */
static void first_push_failed_stream_record_written_later(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("wfail");
    memset(&F, 0, sizeof F);
    struct cairn_store *s = open_store(dir, CAIRN_FSYNC_NEVER);
    F.write_errno = ENOSPC;
    F.write_count = 1;
    assert_int_equal(push(s, "new", "x", 0, 5), CAIRN_ENOSPC);
    assert_int_equal(push(s, "new", "y", 5, 5), 0);
    assert_int_equal(cairn_store_active_streams(s, "fake"), 1);
    cairn_store_abandon(s);
    s = open_store(dir, CAIRN_FSYNC_NEVER);
    size_t y;
    assert_int_equal(count(s, "y", &y), 5);
    assert_int_equal(y, 5);
    cairn_store_close(s);
    test_rmdir_r(dir);
    free(dir);
}

/* Finding 3c: lines of a failed push are not readable, and a stream the push created
 * is not left behind as active. */
static void failed_push_lines_not_readable(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("wfail");
    memset(&F, 0, sizeof F);
    struct cairn_store *s = open_store(dir, CAIRN_FSYNC_NEVER);
    F.write_errno = EIO;
    F.write_count = 1;
    assert_int_equal(push(s, "api", "z", 0, 7), CAIRN_EIO);
    assert_int_equal(count(s, "z", NULL), 0);
    assert_int_equal(cairn_store_active_streams(s, "fake"), 0);
    cairn_store_close(s);
    test_rmdir_r(dir);
    free(dir);
}

/* Finding 4: under fsync always, a push whose fdatasync failed is not acknowledged;
 * the store refuses while a fresh file cannot be written and synced, and acknowledges
 * again once it can. After a crash only the acknowledged pushes are there. */
static void fsync_failure_never_acknowledged(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("wfail");
    memset(&F, 0, sizeof F);
    struct cairn_store *s = open_store(dir, CAIRN_FSYNC_ALWAYS);
    assert_int_equal(push(s, "api", "a", 0, 4), 0);
    F.sync_errno = EIO;
    F.sync_count = 1;
    assert_int_not_equal(push(s, "api", "b", 4, 4), 0); /* not acknowledged */
    assert_int_equal(count(s, "b", NULL), 4);             /* and not readable */
    /* syncs keep failing: nothing is acknowledged (no retry of fsync on the old file) */
    F.sync_count = -1;
    int syncs = F.syncs;
    assert_int_not_equal(push(s, "api", "c", 8, 4), 0);
    assert_int_not_equal(push(s, "api", "c", 8, 4), 0);
    assert_true(F.syncs > syncs);
    /* the disk heals: a fresh file is written and synced, then the push */
    F.sync_count = 0;
    assert_int_equal(push(s, "api", "d", 12, 4), 0);
    size_t d;
    assert_int_equal(count(s, "d", &d), 8);
    assert_int_equal(d, 4);
    cairn_store_abandon(s);
    s = open_store(dir, CAIRN_FSYNC_ALWAYS);
    size_t a, b, c;
    assert_int_equal(count(s, "a", &a), 8);
    count(s, "b", &b);
    count(s, "c", &c);
    count(s, "d", &d);
    assert_int_equal(a, 4);
    assert_int_equal(b, 0);
    assert_int_equal(c, 0);
    assert_int_equal(d, 4);
    cairn_store_close(s);
    test_rmdir_r(dir);
    free(dir);
}

/* Disk full comes and goes: every push while full answers ENOSPC, the first after
 * answers 0, and every acknowledged line is there exactly once after a crash. */
static void disk_full_then_space_returns(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("wfail");
    memset(&F, 0, sizeof F);
    struct cairn_store *s = open_store(dir, CAIRN_FSYNC_ALWAYS);
    size_t acked = 0;
    for (int i = 0; i < 30; i++) {
        F.write_errno = ENOSPC;
        F.write_count = (i % 3 == 1) ? -1 : 0;
        char tag[8];
        snprintf(tag, sizeof tag, "t%d", i);
        int rc = push(s, i % 2 ? "api" : "web", tag, i * 10, 10);
        if (i % 3 == 1) {
            assert_int_equal(rc, CAIRN_ENOSPC);
        } else {
            assert_int_equal(rc, 0);
            acked += 10;
        }
    }
    F.write_count = 0;
    assert_int_equal(count(s, "t0", NULL), acked);
    cairn_store_abandon(s);
    s = open_store(dir, CAIRN_FSYNC_ALWAYS);
    assert_int_equal(count(s, "t0", NULL), acked);
    cairn_store_close(s);
    test_rmdir_r(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(failed_push_leaves_no_trace_and_retry_reaches_wal),
        cmocka_unit_test(first_push_failed_stream_record_written_later),
        cmocka_unit_test(failed_push_lines_not_readable),
        cmocka_unit_test(fsync_failure_never_acknowledged),
        cmocka_unit_test(disk_full_then_space_returns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
