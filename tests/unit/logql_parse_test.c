/* logql_parse_test.c -- the parser's API: positions on multi-line queries, query
 * kinds, durations and byte sizes, and pipeline properties the engine relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <malloc.h>
#include <stdlib.h>

#include "cairn/logql.h"
#include "cairn/parse_units.h"
#include "cairn/logql_pipeline.h"

static void positions_count_lines(void **state)
{
    (void)state;
    struct cairn_logql_query *q;
    struct cairn_err err;
    const char *s = "{app=\"foo\"}\n  |= \"x\"\n  | json bad=";
    assert_int_equal(cairn_logql_parse(s, strlen(s), &q, &err), CAIRN_EINVAL);
    assert_null(q);
    assert_string_equal(err.msg, "parse error at line 3, col 14: syntax error: unexpected $end, expecting STRING");
    s = "{app=\"foo\"}\n|= \"x\"";
    assert_int_equal(cairn_logql_parse(s, strlen(s), &q, &err), 0);
    assert_true(cairn_logql_is_log(q));
    const struct cairn_lq_expr *e = cairn_logql_root(q);
    assert_int_equal(e->nmatchers, 1);
    assert_string_equal(e->matchers[0].name, "app");
    assert_int_equal(e->stages->kind, CAIRN_LQ_STAGE_LINE_FILTER);
    cairn_logql_query_destroy(q);
    cairn_logql_query_destroy(NULL);
}

static void metric_kinds(void **state)
{
    (void)state;
    struct cairn_logql_query *q;
    struct cairn_err err;
    const char *s = "sum by (ns) (count_over_time({job=\"events\"}[5m] offset 1m))";
    assert_int_equal(cairn_logql_parse(s, strlen(s), &q, &err), 0);
    assert_false(cairn_logql_is_log(q));
    const struct cairn_lq_expr *e = cairn_logql_root(q);
    assert_int_equal(e->kind, CAIRN_LQ_VECTOR_AGG);
    assert_int_equal(e->vop, CAIRN_LQ_SUM);
    assert_int_equal(e->grouping.nlabels, 1);
    assert_int_equal(e->inner->kind, CAIRN_LQ_RANGE_AGG);
    assert_int_equal(e->inner->range_ns, 300000000000LL);
    assert_int_equal(e->inner->offset_ns, 60000000000LL);
    assert_int_equal(e->inner->log->nmatchers, 1);
    cairn_logql_query_destroy(q);
}

static void units(void **state)
{
    (void)state;
    int64_t ns;
    double b;
    assert_int_equal(cairn_parse_duration("1h5m", 4, &ns), 0);
    assert_int_equal(ns, 3900000000000LL);
    assert_int_equal(cairn_parse_duration("1.5s", 4, &ns), 0);
    assert_int_equal(ns, 1500000000LL);
    assert_int_equal(cairn_parse_duration("250ms", 5, &ns), 0);
    assert_int_equal(ns, 250000000LL);
    assert_int_equal(cairn_parse_duration("-2d", 3, &ns), 0);
    assert_int_equal(ns, -172800000000000LL);
    assert_int_equal(cairn_parse_duration("5minutes", 8, &ns), CAIRN_EINVAL);
    assert_int_equal(cairn_parse_duration("", 0, &ns), CAIRN_EINVAL);
    assert_int_equal(cairn_parse_bytes("20MB", 4, &b), 0);
    assert_true(b == 20e6);
    assert_int_equal(cairn_parse_bytes("1KiB", 4, &b), 0);
    assert_true(b == 1024);
    assert_int_equal(cairn_parse_bytes("5 kb", 4, &b), 0);
    assert_true(b == 5000);
    assert_int_equal(cairn_parse_bytes("42", 2, &b), 0);
    assert_true(b == 42);
    assert_int_equal(cairn_parse_bytes("3 parsecs", 9, &b), CAIRN_EINVAL);
}

static void pipeline_properties(void **state)
{
    (void)state;
    struct cairn_logql_query *q;
    struct cairn_err err;
    const char *s = "{app=\"a\"} |= \"x\" != \"y\"";
    assert_int_equal(cairn_logql_parse(s, strlen(s), &q, &err), 0);
    struct cairn_logql_pipeline *p = cairn_logql_pipeline_create(cairn_logql_root(q), &err);
    assert_non_null(p);
    assert_true(cairn_logql_pipeline_labels_fixed(p));
    cairn_logql_pipeline_destroy(p);
    cairn_logql_query_destroy(q);

    s = "{app=\"a\"} | logfmt";
    assert_int_equal(cairn_logql_parse(s, strlen(s), &q, &err), 0);
    p = cairn_logql_pipeline_create(cairn_logql_root(q), &err);
    assert_false(cairn_logql_pipeline_labels_fixed(p));
    struct cairn_labels st;
    cairn_labels_init(&st);
    assert_int_equal(cairn_labels_parse(&st, "{app=\"a\"}", 9, &err), 0);
    /* equal label sets hash equal whatever order the keys came in */
    assert_int_equal(cairn_logql_pipeline_process(p, 1, &st, "x=1 y=2", 7), 1);
    uint64_t h1 = cairn_logql_pipeline_labels_hash(p);
    assert_int_equal(cairn_logql_pipeline_process(p, 2, &st, "y=2 x=1", 7), 1);
    uint64_t h2 = cairn_logql_pipeline_labels_hash(p);
    assert_int_equal(cairn_logql_pipeline_process(p, 3, &st, "y=3 x=1", 7), 1);
    uint64_t h3 = cairn_logql_pipeline_labels_hash(p);
    assert_true(h1 == h2);
    assert_true(h1 != h3);
    cairn_labels_deinit(&st);
    cairn_logql_pipeline_destroy(p);
    cairn_logql_query_destroy(q);
}

static void unwrap_values(void **state)
{
    (void)state;
    struct cairn_logql_query *q;
    struct cairn_err err;
    const char *s = "sum_over_time({app=\"a\"} | logfmt | unwrap bytes(size) [1m])";
    assert_int_equal(cairn_logql_parse(s, strlen(s), &q, &err), 0);
    struct cairn_logql_pipeline *p = cairn_logql_pipeline_create(cairn_logql_root(q), &err);
    struct cairn_labels st;
    cairn_labels_init(&st);
    assert_int_equal(cairn_labels_parse(&st, "{app=\"a\"}", 9, &err), 0);
    double v = 0;
    assert_int_equal(cairn_logql_pipeline_process(p, 1, &st, "size=2KiB", 9), 1);
    assert_int_equal(cairn_logql_pipeline_unwrap(p, &v), 1);
    assert_true(v == 2048);
    assert_int_equal(cairn_logql_pipeline_process(p, 1, &st, "size=lots", 9), 1);
    assert_int_equal(cairn_logql_pipeline_unwrap(p, &v), 2);
    cairn_labels_deinit(&st);
    cairn_logql_pipeline_destroy(p);
    cairn_logql_query_destroy(q);
}

/* The literal filter (memchr / SIMD two-byte candidates) agrees with memmem on
 * random lines over a small alphabet, where partial matches are everywhere. */
static void literal_filter_matches_memmem(void **state)
{
    (void)state;
    uint64_t r = 0x9e3779b97f4a7c15ULL;
    struct cairn_labels st;
    struct cairn_err err;
    cairn_labels_init(&st);
    assert_int_equal(cairn_labels_parse(&st, "{a=\"b\"}", 7, &err), 0);
    for (int round = 0; round < 200; round++) {
        char needle[24], q[96], line[200];
        r ^= r << 13; r ^= r >> 7; r ^= r << 17;
        size_t nl = 1 + r % 20;
        for (size_t i = 0; i < nl; i++) {
            r ^= r << 13; r ^= r >> 7; r ^= r << 17;
            needle[i] = "abcZ"[r % 4];
        }
        snprintf(q, sizeof(q), "{a=\"b\"} |= \"%.*s\"", (int)nl, needle);
        struct cairn_logql_query *lq;
        assert_int_equal(cairn_logql_parse(q, strlen(q), &lq, &err), 0);
        struct cairn_logql_pipeline *p = cairn_logql_pipeline_create(cairn_logql_root(lq), &err);
        assert_non_null(p);
        for (int k = 0; k < 50; k++) {
            r ^= r << 13; r ^= r >> 7; r ^= r << 17;
            size_t ll = r % sizeof(line);
            for (size_t i = 0; i < ll; i++) {
                r ^= r << 13; r ^= r >> 7; r ^= r << 17;
                line[i] = "abcZ"[r % 4];
            }
            int want = memmem(line, ll, needle, nl) != NULL;
            assert_int_equal(cairn_logql_pipeline_process(p, 1, &st, line, ll), want);
        }
        cairn_logql_pipeline_destroy(p);
        cairn_logql_query_destroy(lq);
    }
    cairn_labels_deinit(&st);
}

/* `| json | level="error"` (filter tried on a scan first) agrees with the same query
 * where another stage sits between (no shortcut) on random JSON-ish lines: duplicate,
 * nested, spaced and escaped keys, truncated documents. */
static void json_prefilter_agrees(void **state)
{
    (void)state;
    static const char *parts[] = {
        "\"level\":\"error\"", "\"level\":\"info\"", "\" level\":\"error\"",
        "\"level\":{\"x\":\"error\"}", "\"a\":{\"level\":\"error\"}", "\"level\":null",
        "\"\\u006cevel\":\"error\"", "\"level\":[1,2]", "\"n\":1", "\"level\":\"err\\u006fr\"",
        "\"level\":\"error", "\"level\":", "\"lev\":\"error\"",
    };
    const char *qa = "{a=\"b\"} | json | level=\"error\"";
    const char *qb = "{a=\"b\"} | json | __error__=~\".*\" | level=\"error\"";
    struct cairn_logql_query *la, *lb;
    struct cairn_err err;
    assert_int_equal(cairn_logql_parse(qa, strlen(qa), &la, &err), 0);
    assert_int_equal(cairn_logql_parse(qb, strlen(qb), &lb, &err), 0);
    struct cairn_logql_pipeline *pa = cairn_logql_pipeline_create(cairn_logql_root(la), &err);
    struct cairn_logql_pipeline *pb = cairn_logql_pipeline_create(cairn_logql_root(lb), &err);
    struct cairn_labels st, ra, rb;
    cairn_labels_init(&st);
    cairn_labels_init(&ra);
    cairn_labels_init(&rb);
    assert_int_equal(cairn_labels_parse(&st, "{a=\"b\"}", 7, &err), 0);
    uint64_t r = 0x2545F4914F6CDD1DULL;
    for (int k = 0; k < 3000; k++) {
        char line[512];
        size_t n = 0;
        line[n++] = '{';
        r ^= r << 13; r ^= r >> 7; r ^= r << 17;
        int cnt = (int)(r % 5);
        for (int i = 0; i < cnt; i++) {
            r ^= r << 13; r ^= r >> 7; r ^= r << 17;
            const char *pt = parts[r % (sizeof(parts) / sizeof(parts[0]))];
            if (i)
                line[n++] = ',';
            memcpy(line + n, pt, strlen(pt));
            n += strlen(pt);
        }
        if (r % 3)
            line[n++] = '}';
        int ka = cairn_logql_pipeline_process(pa, 1, &st, line, n);
        int kb = cairn_logql_pipeline_process(pb, 1, &st, line, n);
        if (ka != kb)
            fail_msg("line %.*s: %d vs %d", (int)n, line, ka, kb);
        if (ka == 1) {
            assert_int_equal(cairn_logql_pipeline_labels(pa, &ra), 0);
            assert_int_equal(cairn_logql_pipeline_labels(pb, &rb), 0);
            assert_int_equal(cairn_labels_fingerprint(&ra), cairn_labels_fingerprint(&rb));
        }
    }
    cairn_labels_deinit(&st);
    cairn_labels_deinit(&ra);
    cairn_labels_deinit(&rb);
    cairn_logql_pipeline_destroy(pa);
    cairn_logql_pipeline_destroy(pb);
    cairn_logql_query_destroy(la);
    cairn_logql_query_destroy(lb);
}

/* Regression: each `or`ed line filter copied the whole array of alternatives into the
 * query's arena, so 50,000 of them took 8 GB (a hostile query). Now the arena grows by
 * doubling: 5,000 alternatives cost well under a megabyte, not the 400 MB of before. */
static void many_or_filters_parse_in_linear_memory(void **state)
{
    (void)state;
    enum { N = 5000 };
    size_t cap = 32 + (size_t)N * 8;
    char *s = malloc(cap);
    assert_non_null(s);
    size_t n = (size_t)snprintf(s, cap, "{app=\"foo\"} |= \"a\"");
    for (int i = 0; i < N; i++)
        n += (size_t)snprintf(s + n, cap - n, " or \"b\"");
    struct mallinfo2 before = mallinfo2();
    struct cairn_logql_query *q;
    struct cairn_err err;
    assert_int_equal(cairn_logql_parse(s, n, &q, &err), 0);
    struct mallinfo2 after = mallinfo2();
    const struct cairn_lq_expr *e = cairn_logql_root(q);
    assert_int_equal(e->stages->kind, CAIRN_LQ_STAGE_LINE_FILTER);
    assert_int_equal(e->stages->nalts, N + 1);
    assert_true(after.uordblks + after.hblkhd < before.uordblks + before.hblkhd + (16u << 20));
    cairn_logql_query_destroy(q);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(positions_count_lines),
        cmocka_unit_test(metric_kinds),
        cmocka_unit_test(units),
        cmocka_unit_test(pipeline_properties),
        cmocka_unit_test(unwrap_values),
        cmocka_unit_test(literal_filter_matches_memmem),
        cmocka_unit_test(json_prefilter_agrees),
        cmocka_unit_test(many_or_filters_parse_in_linear_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
