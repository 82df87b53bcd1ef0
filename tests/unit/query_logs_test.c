/* query_logs_test.c -- log queries through cairn_query_run: the answer on N threads
 * is the single-threaded answer byte for byte (ties included), limits and direction
 * hold, parsed labels split result streams, and user errors come back as such; needle
 * queries (`|= "<id>"`) answer the same with the block filters and without them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cairn/query.h"
#include "testutil.h"

#define NSTREAMS 40
#define PER 60
#define T0 1700000000000000000LL

struct fixture {
    char *dir;
    struct cairn_store *s;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->dir = test_mkdtemp("query-logs");
    struct cairn_store_config cfg;
    cairn_store_config_default(&cfg);
    cfg.data_dir = f->dir;
    cfg.fsync = CAIRN_FSYNC_NEVER;
    cfg.block_target_raw = 4096; /* many small blocks: the merge crosses block edges */
    struct cairn_err err;
    f->s = cairn_store_open(&cfg, &err);
    assert_non_null(f->s);
    static char text[NSTREAMS][PER][96];
    struct cairn_entry e[PER];
    for (int i = 0; i < NSTREAMS; i++) {
        struct cairn_labels ls;
        cairn_labels_init(&ls);
        char pod[16];
        snprintf(pod, sizeof pod, "pod-%02d", i);
        cairn_labels_add(&ls, "app", 3, "shop", 4);
        cairn_labels_add(&ls, "pod", 3, pod, strlen(pod));
        cairn_labels_sort(&ls, NULL);
        for (int k = 0; k < PER; k++) {
            /* Every third stream shares timestamps with the others: ties across streams. */
            int64_t ts = T0 + (int64_t)k * 1000 + (i % 3 ? i : 0);
            int n = snprintf(text[i][k], sizeof text[i][k],
                             "{\"level\":\"%s\",\"k\":%d,\"pod\":\"%s\"}",
                             (k + i) % 4 == 0 ? "error" : "info", k, pod);
            e[k] = (struct cairn_entry){ts, text[i][k], (size_t)n};
        }
        struct cairn_push_stream ps = {.labels = &ls, .entries = e, .n = PER};
        assert_int_equal(cairn_store_append(f->s, "fake", &ps, 1), 0);
        assert_int_equal(ps.rejected, 0);
        cairn_labels_deinit(&ls);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    cairn_store_close(f->s);
    test_rmdir_r(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* The same push stored three times in two streams of tenant "dup" (as an agent retries
 * a push whose answer it never got): twice flushed to segment files between the
 * copies, so the store's append-time rule (the open block only) cannot drop them, the
 * third copy in the head. Each batch has two lines with one timestamp and one line at
 * two timestamps, which are not duplicates. */
#define DUP_SEC 1000000000LL
static void load_dups(struct cairn_store *s)
{
    static const struct { int sec; const char *line; } B[] = {
        {1, "msg=a v=1"}, {2, "msg=b v=2"}, {2, "msg=c v=3"}, {3, "msg=a v=1"}, {4, "msg=d v=4"},
    };
    struct cairn_entry e[5];
    for (int copy = 0; copy < 3; copy++) {
        for (int st = 0; st < 2; st++) {
            struct cairn_labels ls;
            cairn_labels_init(&ls);
            cairn_labels_add(&ls, "app", 3, "dup", 3);
            cairn_labels_add(&ls, "pod", 3, st ? "p2" : "p1", 2);
            cairn_labels_sort(&ls, NULL);
            for (int k = 0; k < 5; k++)
                e[k] = (struct cairn_entry){T0 + B[k].sec * DUP_SEC, B[k].line, strlen(B[k].line)};
            struct cairn_push_stream ps = {.labels = &ls, .entries = e, .n = 5};
            assert_int_equal(cairn_store_append(s, "dup", &ps, 1), 0);
            assert_int_equal(ps.rejected, 0); /* stored again: only the read path can help */
            cairn_labels_deinit(&ls);
        }
        if (copy < 2)
            assert_int_equal(cairn_store_flush(s), 0);
    }
}

/* Run and return the JSON without the stats object (timings differ run to run). */
static char *run_tenant(struct cairn_store *s, const char *tenant, const char *q, size_t limit,
                        enum cairn_iter_dir dir, int threads, int64_t interval)
{
    struct cairn_query_params p = {.tenant = tenant, .start = T0, .end = T0 + 3600000000000LL,
                                   .step = 1000000000LL, .limit = limit, .direction = dir,
                                   .threads = threads, .interval = interval};
    struct cairn_buf out = CAIRN_BUF_INIT;
    struct cairn_err err = {0};
    int rc = cairn_query_run(s, q, strlen(q), &p, &out, &err);
    if (rc)
        fail_msg("%s: %s", q, err.msg);
    char *stats = strstr(out.data, ",\"stats\":");
    assert_non_null(stats);
    *stats = '\0';
    return cairn_buf_detach(&out, NULL);
}

static char *run(struct cairn_store *s, const char *q, size_t limit, enum cairn_iter_dir dir,
                 int threads, int64_t interval)
{
    return run_tenant(s, "fake", q, limit, dir, threads, interval);
}

static size_t count_values(const char *json)
{
    size_t n = 0;
    for (const char *p = json; (p = strstr(p, "[\"17")); p++)
        n++;
    return n;
}

static void threads_give_the_single_threaded_answer(void **state)
{
    struct fixture *f = *state;
    const char *queries[] = {"{app=\"shop\"}", "{app=\"shop\"} |= \"error\"",
                             "{app=\"shop\"} | json | level=\"error\"",
                             "{app=\"shop\"} | json | keep level | line_format \"{{.level}}\"",
                             "{pod=~\"pod-0.\"}"};
    const size_t limits[] = {1, 7, 100, 1000, 5000};
    for (size_t qi = 0; qi < sizeof queries / sizeof queries[0]; qi++) {
        for (size_t li = 0; li < sizeof limits / sizeof limits[0]; li++) {
            for (int d = 0; d < 2; d++) {
                char *one = run(f->s, queries[qi], limits[li], (enum cairn_iter_dir)d, 1, 0);
                static const int threads[] = {2, 3, 5};
                for (size_t ti = 0; ti < sizeof threads / sizeof threads[0]; ti++) {
                    int t = threads[ti];
                    char *many = run(f->s, queries[qi], limits[li], (enum cairn_iter_dir)d, t, 0);
                    if (strcmp(one, many) != 0)
                        fail_msg("%s limit %zu dir %d: %d threads differ from one", queries[qi],
                                 limits[li], d, t);
                    free(many);
                }
                free(one);
            }
        }
    }
}

static void limit_and_direction(void **state)
{
    struct fixture *f = *state;
    char *j = run(f->s, "{app=\"shop\"}", 5, CAIRN_ITER_FORWARD, 3, 0);
    assert_int_equal(count_values(j), 5);
    /* the five oldest: k=0 of the streams with offset 0 (i % 3 == 0, ids in order) */
    assert_non_null(strstr(j, "\"resultType\":\"streams\""));
    assert_non_null(strstr(j, "[\"1700000000000000000\",\"{\\\"level\\\":\\\"error\\\",\\\"k\\\":0,\\\"pod\\\":\\\"pod-00\\\"}\"]"));
    free(j);
    j = run(f->s, "{app=\"shop\"}", 0, CAIRN_ITER_BACKWARD, 2, 0);
    assert_int_equal(count_values(j), NSTREAMS * PER);
    free(j);
    /* interval: one entry per 5 us per stream at most */
    j = run(f->s, "{pod=\"pod-01\"}", 1000, CAIRN_ITER_FORWARD, 2, 5000);
    assert_int_equal(count_values(j), PER / 5);
    free(j);
}

static void parsed_labels_split_streams(void **state)
{
    struct fixture *f = *state;
    char *j = run(f->s, "{pod=\"pod-01\"} | json | keep level", 1000, CAIRN_ITER_FORWARD, 2, 0);
    assert_non_null(strstr(j, "{\"stream\":{\"level\":\"error\"}"));
    assert_non_null(strstr(j, "{\"stream\":{\"level\":\"info\"}"));
    assert_int_equal(count_values(j), PER);
    free(j);
}

static void errors_are_user_errors(void **state)
{
    struct fixture *f = *state;
    struct cairn_query_params p = {.tenant = "fake", .start = T0, .end = T0 + 1000, .limit = 10};
    struct cairn_buf out = CAIRN_BUF_INIT;
    struct cairn_err err = {0};
    assert_int_equal(cairn_query_run(f->s, "{app=\"shop\"", 11, &p, &out, &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "parse error at line 1"));
    assert_int_equal(out.len, 0);
    cairn_buf_deinit(&out);
}

/* Regression (crash soak): a push stored twice answered each entry twice. An entry
 * with the timestamp and the line of one already returned in its stream is returned
 * once, whichever the direction, the threads, the limit, across stored blocks and
 * the head; same timestamp with another line, the same line at another timestamp, and
 * the same entry in another stream are all kept. */
/* A store of many small blocks whose lines carry random 16-hex ids, closed, then read
 * with block_filters on and off: every needle query gives the same answer, and with
 * filters the stats say blocks were skipped. */
static struct cairn_store *needle_store(const char *dir, int filters)
{
    struct cairn_store_config cfg;
    cairn_store_config_default(&cfg);
    cfg.data_dir = dir;
    cfg.fsync = CAIRN_FSYNC_NEVER;
    cfg.block_target_raw = 4096;
    cfg.block_filters = filters;
    struct cairn_err err;
    struct cairn_store *s = cairn_store_open(&cfg, &err);
    assert_non_null(s);
    return s;
}

static char *run_stats(struct cairn_store *s, const char *q, size_t limit, enum cairn_iter_dir dir,
                       int threads, unsigned long long *skipped)
{
    struct cairn_query_params p = {.tenant = "fake", .start = T0, .end = T0 + 3600000000000LL,
                                   .step = 60000000000LL, .limit = limit, .direction = dir,
                                   .threads = threads};
    struct cairn_buf out = CAIRN_BUF_INIT;
    struct cairn_err err = {0};
    if (cairn_query_run(s, q, strlen(q), &p, &out, &err))
        fail_msg("%s: %s", q, err.msg);
    const char *k = strstr(out.data, "\"blocksSkippedByFilter\":");
    assert_non_null(k);
    *skipped = strtoull(k + strlen("\"blocksSkippedByFilter\":"), NULL, 10);
    *strstr(out.data, ",\"stats\":") = '\0';
    return cairn_buf_detach(&out, NULL);
}

static void needle_queries_same_with_and_without_filters(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("query-needle");
    struct cairn_store *s = needle_store(dir, 1);
    static char text[8][400][96];
    static struct cairn_entry e[400];
    char id[17] = "";
    uint64_t x = 99;
    for (int i = 0; i < 8; i++) {
        struct cairn_labels ls;
        cairn_labels_init(&ls);
        char pod[16];
        snprintf(pod, sizeof pod, "pod-%d", i);
        cairn_labels_add(&ls, "app", 3, "needle", 6);
        cairn_labels_add(&ls, "pod", 3, pod, strlen(pod));
        cairn_labels_sort(&ls, NULL);
        for (int k = 0; k < 400; k++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            char t[17];
            snprintf(t, sizeof t, "%016llx", (unsigned long long)(x ^ x >> 31));
            if (i == 3 && k == 217)
                memcpy(id, t, sizeof id);
            int n = snprintf(text[i][k], sizeof text[i][k], "level=%s msg=\"served\" trace_id=%s k=%d",
                             k % 5 ? "info" : "error", t, k);
            e[k] = (struct cairn_entry){T0 + (int64_t)k * 1000000 + i, text[i][k], (size_t)n};
        }
        struct cairn_push_stream ps = {.labels = &ls, .entries = e, .n = 400};
        assert_int_equal(cairn_store_append(s, "fake", &ps, 1), 0);
        cairn_labels_deinit(&ls);
    }
    cairn_store_close(s);
    enum { NQ = 11 };
    char q[NQ][160];
    snprintf(q[0], sizeof q[0], "{app=\"needle\"} |= \"%s\"", id);
    snprintf(q[1], sizeof q[1], "{app=\"needle\"} |= \"%s\" |= \"level\"", id);
    snprintf(q[2], sizeof q[2], "{app=\"needle\"} |~ \"%s\"", id);
    snprintf(q[3], sizeof q[3], "{app=\"needle\"} |= \"%.6s\"", id + 5); /* a part of it */
    snprintf(q[4], sizeof q[4], "{app=\"needle\"} |= \"0123456789abcdef\"");
    snprintf(q[5], sizeof q[5], "{app=\"needle\"} |= \"level=error\" |= \"k=21\"");
    snprintf(q[6], sizeof q[6], "{app=\"needle\"} |= \"%s\" | logfmt | level=\"info\"", id);
    snprintf(q[7], sizeof q[7], "{app=\"needle\"} != \"%s\"", id);
    snprintf(q[8], sizeof q[8], "sum(count_over_time({app=\"needle\"} |= \"%s\" [5m]))", id);
    snprintf(q[9], sizeof q[9], "count_over_time({app=\"needle\"} |= \"%.8s\" [1m])", id + 2);
    snprintf(q[10], sizeof q[10], "sum by (pod) (bytes_over_time({app=\"needle\"} |= \"%s\" | logfmt [5m]))", id);
    static char *ans[2][NQ][2][2];
    unsigned long long skipped[2] = {0, 0};
    for (int on = 1; on >= 0; on--) {
        s = needle_store(dir, on);
        for (int i = 0; i < NQ; i++)
            for (int d = 0; d < 2; d++)
                for (int t = 0; t < 2; t++) {
                    unsigned long long sk;
                    ans[on][i][d][t] = run_stats(s, q[i], 100, d ? CAIRN_ITER_BACKWARD : CAIRN_ITER_FORWARD,
                                                 t ? 3 : 1, &sk);
                    skipped[on] += sk;
                }
        cairn_store_close(s);
    }
    assert_non_null(strstr(ans[1][8][0][0], "\"1\"]")); /* the metric counts the one line */
    for (int i = 0; i < NQ; i++)
        for (int d = 0; d < 2; d++)
            for (int t = 0; t < 2; t++) {
                assert_string_equal(ans[1][i][d][t], ans[0][i][d][t]);
                free(ans[1][i][d][t]);
                free(ans[0][i][d][t]);
            }
    assert_true(skipped[1] > 0);   /* the filters were used */
    assert_true(skipped[0] == 0);  /* and not when switched off */
    /* the id is found (a block holding it is never skipped) */
    s = needle_store(dir, 1);
    unsigned long long sk;
    char *one = run_stats(s, q[0], 100, CAIRN_ITER_BACKWARD, 1, &sk);
    assert_non_null(strstr(one, id));
    free(one);
    /* metric queries skip blocks too (counted in the store's counter) */
    struct cairn_store_stats st0, st1;
    cairn_store_stats(s, &st0);
    one = run_stats(s, q[8], 100, CAIRN_ITER_BACKWARD, 1, &sk);
    free(one);
    cairn_store_stats(s, &st1);
    assert_true(st1.blocks_filtered > st0.blocks_filtered);
    cairn_store_close(s);
    test_rmdir_r(dir);
    free(dir);
}

static void duplicates_are_returned_once(void **state)
{
    struct fixture *f = *state;
    load_dups(f->s);
    static const char *fwd = "{\"stream\":{\"app\":\"dup\",\"pod\":\"%s\"},\"values\":["
                             "[\"1700000001000000000\",\"msg=a v=1\"],[\"1700000002000000000\",\"msg=b v=2\"],"
                             "[\"1700000002000000000\",\"msg=c v=3\"],[\"1700000003000000000\",\"msg=a v=1\"],"
                             "[\"1700000004000000000\",\"msg=d v=4\"]]}";
    static const char *bwd = "{\"stream\":{\"app\":\"dup\",\"pod\":\"%s\"},\"values\":["
                             "[\"1700000004000000000\",\"msg=d v=4\"],[\"1700000003000000000\",\"msg=a v=1\"],"
                             "[\"1700000002000000000\",\"msg=c v=3\"],[\"1700000002000000000\",\"msg=b v=2\"],"
                             "[\"1700000001000000000\",\"msg=a v=1\"]]}";
    for (int back = 0; back < 2; back++) {
        char want[4096], one[1024], two[1024];
        snprintf(one, sizeof one, back ? bwd : fwd, "p1");
        snprintf(two, sizeof two, back ? bwd : fwd, "p2");
        snprintf(want, sizeof want, "{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"result\":[%s,%s]", one, two);
        for (int threads = 1; threads <= 4; threads += 3) {
            char *got = run_tenant(f->s, "dup", "{app=\"dup\"}", 100, back ? CAIRN_ITER_BACKWARD : CAIRN_ITER_FORWARD,
                                   threads, 0);
            if (strncmp(got, want, strlen(want)) != 0)
                fail_msg("back=%d threads=%d\n want %s\n got  %s", back, threads, want, got);
            free(got);
        }
        /* a limit counts entries once */
        char *got = run_tenant(f->s, "dup", "{app=\"dup\", pod=\"p1\"}", 3,
                               back ? CAIRN_ITER_BACKWARD : CAIRN_ITER_FORWARD, 1, 0);
        assert_int_equal(count_values(got), 3);
        assert_non_null(strstr(got, "[\"1700000002000000000\",\"msg=c v=3\"]")); /* both ways */
        free(got);
        /* a line filter (run inside the store) and a parser keep the rule */
        got = run_tenant(f->s, "dup", "{app=\"dup\"} |= \"msg=a\" | logfmt", 100,
                         back ? CAIRN_ITER_BACKWARD : CAIRN_ITER_FORWARD, 2, 0);
        assert_int_equal(count_values(got), 4);
        free(got);
    }
}

/* Duplicates among many small blocks: runs of equal timestamps (mixing distinct lines
 * and repeats) cut across block edges, copies in segment files and in the head, pushed
 * in differently sized batches; every distinct (timestamp, line) is answered once. */
static void duplicates_across_many_blocks(void **state)
{
    struct fixture *f = *state;
    enum { N = 3000, RUN = 7 };
    static char text[N][48];
    static struct cairn_entry e[N];
    size_t uniq = 0;
    unsigned seed = 12345;
    for (int k = 0; k < N; k++) {
        seed = seed * 1103515245u + 12345u;
        int v = (int)((seed >> 16) % 5); /* five lines of one length, repeats in a run */
        int n = snprintf(text[k], sizeof text[k], "x%d-padding-padding-padding-%06d", v, k / RUN);
        e[k] = (struct cairn_entry){T0 + (int64_t)(k / RUN) * 1000, text[k], (size_t)n};
        int seen = 0;
        for (int j = k - k % RUN; j < k && !seen; j++)
            seen = strcmp(text[j], text[k]) == 0;
        uniq += !seen;
    }
    struct cairn_labels ls;
    cairn_labels_init(&ls);
    cairn_labels_add(&ls, "app", 3, "many", 4);
    static const size_t batch[3] = {500, 333, 97};
    for (int copy = 0; copy < 3; copy++) {
        for (size_t at = 0; at < N; at += batch[copy]) {
            size_t n = N - at < batch[copy] ? N - at : batch[copy];
            struct cairn_push_stream ps = {.labels = &ls, .entries = e + at, .n = n};
            assert_int_equal(cairn_store_append(f->s, "many", &ps, 1), 0);
        }
        if (copy < 2)
            assert_int_equal(cairn_store_flush(f->s), 0);
    }
    cairn_labels_deinit(&ls);
    for (int back = 0; back < 2; back++) {
        char *got = run_tenant(f->s, "many", "{app=\"many\"}", 0, back ? CAIRN_ITER_BACKWARD : CAIRN_ITER_FORWARD,
                               1, 0);
        assert_int_equal(count_values(got), uniq);
        free(got);
    }
    struct cairn_query_params ip = {.tenant = "many", .start = T0 + 1800 * DUP_SEC, .end = T0 + 1800 * DUP_SEC,
                                    .instant = 1};
    const char *q = "sum(count_over_time({app=\"many\"}[1h]))";
    struct cairn_buf out = CAIRN_BUF_INIT;
    struct cairn_err err = {0};
    assert_int_equal(cairn_query_run(f->s, q, strlen(q), &ip, &out, &err), 0);
    char want[64];
    snprintf(want, sizeof want, "\"value\":[1700001800,\"%zu\"]", uniq);
    if (!strstr(cairn_buf_cstr(&out), want))
        fail_msg("want %s in %s", want, cairn_buf_cstr(&out));
    cairn_buf_deinit(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(threads_give_the_single_threaded_answer),
        cmocka_unit_test(limit_and_direction),
        cmocka_unit_test(parsed_labels_split_streams),
        cmocka_unit_test(errors_are_user_errors),
        cmocka_unit_test(duplicates_are_returned_once),
        cmocka_unit_test(duplicates_across_many_blocks),
        cmocka_unit_test(needle_queries_same_with_and_without_filters),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
