/* ship_churn_test.c -- what the agent keeps per stream must go when the stream does:
 * with pods coming and going, the cri and multiline stages would otherwise keep a held
 * state (labels, a line buffer) for every pod container ever seen (issue 12: a pod
 * churn leaks nothing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "cairn/ship.h"
#include "ship/ship_build.h"
#include "ship/ship_int.h"
#include "testutil.h"

#define STREAMS 300

static int count_emit(void *ud, const struct cairn_ship_entry *e)
{
    (void)e;
    (*(size_t *)ud)++;
    return 0;
}

/* Run one line of stream i (a pod label) through pl. */
static void feed(struct cairn_ship_pipeline *pl, struct cairn_ship_sink *sink, int i,
                 const char *line)
{
    struct cairn_labels ls;
    cairn_labels_init(&ls);
    char pod[32];
    snprintf(pod, sizeof pod, "pod-%05d", i);
    assert_int_equal(cairn_labels_add(&ls, "pod", 3, pod, strlen(pod)), 0);
    struct cairn_ship_entry e;
    cairn_ship_entry_init(&e);
    assert_int_equal(cairn_ship_entry_reset(&e, &ls, 1000, line, strlen(line)), 0);
    assert_int_equal(cairn_ship_pipeline_run(pl, &e, sink), 0);
    cairn_ship_entry_deinit(&e);
    cairn_labels_deinit(&ls);
}

static void cri_partials_of_gone_streams(void **state)
{
    (void)state;
    struct cairn_err err;
    cairn_err_clear(&err);
    struct cairn_ship_pipeline *pl = cairn__pipeline_new(0);
    assert_non_null(pl);
    assert_int_equal(cairn__stage_cri(pl, 100, 0, 0, &err), 0);
    size_t n = 0;
    struct cairn_ship_sink sink = {count_emit, NULL, &n};
    for (int i = 0; i < STREAMS; i++) {
        feed(pl, &sink, i, "2026-12-07T10:00:00.000000000Z stdout P first half ");
        assert_int_equal(cairn__pipeline_held_streams(pl), 1);
        feed(pl, &sink, i, "2026-12-07T10:00:00.000000001Z stdout F second half");
    }
    assert_int_equal(n, STREAMS);
    assert_int_equal(cairn__pipeline_held_streams(pl), 0);
    cairn_ship_pipeline_destroy(pl);
}

static void container_partials_of_gone_streams(void **state)
{
    (void)state;
    struct cairn_err err;
    cairn_err_clear(&err);
    struct cairn_ship_pipeline *pl = cairn__pipeline_new(0);
    assert_non_null(pl);
    assert_int_equal(cairn__stage_container(pl, &err), 0);
    size_t n = 0;
    struct cairn_ship_sink sink = {count_emit, NULL, &n};
    for (int i = 0; i < STREAMS; i++) {
        feed(pl, &sink, i, "2026-12-07T10:00:00.000000000Z stdout P a");
        feed(pl, &sink, i, "2026-12-07T10:00:00.000000001Z stdout F b");
    }
    assert_int_equal(n, STREAMS);
    assert_int_equal(cairn__pipeline_held_streams(pl), 0);
    cairn_ship_pipeline_destroy(pl);
}

static void multiline_blocks_of_gone_streams(void **state)
{
    (void)state;
    struct cairn_err err;
    cairn_err_clear(&err);
    struct cairn_ship_pipeline *pl = cairn__pipeline_new(0);
    assert_non_null(pl);
    assert_int_equal(cairn__stage_multiline(pl, "^start", 1000000, 128, &err), 0);
    size_t n = 0;
    struct cairn_ship_sink sink = {count_emit, NULL, &n};
    for (int i = 0; i < STREAMS; i++) {
        feed(pl, &sink, i, "start of a block");
        feed(pl, &sink, i, "  more of it");
    }
    assert_int_equal(cairn__pipeline_held_streams(pl), STREAMS);
    /* the blocks are flushed by time, then the streams holding nothing are forgotten */
    assert_int_equal(cairn_ship_pipeline_tick(pl, INT64_MAX - 1, &sink), 0);
    assert_int_equal(n, STREAMS);
    assert_int_equal(cairn_ship_pipeline_tick(pl, INT64_MAX - 1, &sink), 0);
    assert_int_equal(cairn__pipeline_held_streams(pl), 0);
    assert_int_equal(n, STREAMS);
    cairn_ship_pipeline_destroy(pl);
}

static int count_file(void *ud, const char *path, const struct stat *st)
{
    (void)path;
    (void)st;
    (*(size_t *)ud)++;
    return 0;
}

/* One glob per pod container, all under the pods directory: with a listing cache the
 * pods directory is read once per rescan, not once per target. */
static void glob_cache_lists_each_directory_once(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("globcache");
    char p[512], pat[512];
    for (int i = 0; i < 20; i++) {
        snprintf(p, sizeof p, "%s/ns_pod-%02d_uid%02d", dir, i, i);
        assert_int_equal(mkdir(p, 0755), 0);
        snprintf(p, sizeof p, "%s/ns_pod-%02d_uid%02d/main", dir, i, i);
        assert_int_equal(mkdir(p, 0755), 0);
        snprintf(p, sizeof p, "%s/ns_pod-%02d_uid%02d/main/0.log", dir, i, i);
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        fclose(f);
    }
    struct cairn__glob_cache c = {0};
    size_t n = 0;
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 20; i++) {
            snprintf(pat, sizeof pat, "%s/*uid%02d/main/*.log", dir, i);
            assert_int_equal(cairn__glob_walk_cached(pat, &c, count_file, &n), 0);
        }
    assert_int_equal(n, 40);
    /* the pods directory once, each container directory once */
    assert_int_equal(c.lists, 1 + 20);
    cairn__glob_cache_clear(&c);
    assert_int_equal(c.n, 0);
    test_rmdir_r(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cri_partials_of_gone_streams),
        cmocka_unit_test(container_partials_of_gone_streams),
        cmocka_unit_test(multiline_blocks_of_gone_streams),
        cmocka_unit_test(glob_cache_lists_each_directory_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
