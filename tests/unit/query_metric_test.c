/* query_metric_test.c -- LogQL metric queries over a real store, table-driven:
 * tests/unit/data/query_metric_cases.txt holds each query, its time range (or instant
 * time) and the exact series and samples expected, written from Loki's documented
 * semantics. The data set below is small enough to compute every window by hand.
 *
 * Case file format (times in seconds after T0):
 *   query: <LogQL>
 *   range: <start> <end> <step>        or   instant: <t>
 *   expect: {labels} t:v t:v ...       (matrix; one line per series, sorted)
 *   expect: {labels} v                 (instant vector, in result order)
 *   expect: scalar v
 *   expect: (none)                     (empty result)
 *   error: <start of the error message>
 * A blank line ends a case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cairn/logql.h"
#include "cairn/query.h"
#include "cairn/store.h"
#include "query/metric_int.h"
#include "testutil.h"

#define T0 1767225600000000000LL /* 2026-01-01T00:00:00Z */
#define SEC 1000000000LL

struct ent {
    const char *labels;
    int sec;
    const char *line;
};

/* The data set: every case file expectation is computed from these lines. */
static const struct ent DATA[] = {
    {"{job=\"app\", env=\"prod\", pod=\"a\"}", 10, "level=info n=1 dur=100ms size=1KB"},
    {"{job=\"app\", env=\"prod\", pod=\"a\"}", 20, "level=error n=2 dur=200ms size=2KB"},
    {"{job=\"app\", env=\"prod\", pod=\"a\"}", 30, "level=info n=3 dur=300ms size=3KB"},
    {"{job=\"app\", env=\"prod\", pod=\"a\"}", 40, "level=info n=4 dur=1s size=4KB"},
    {"{job=\"app\", env=\"prod\", pod=\"a\"}", 70, "level=error n=5 dur=2s size=5KB"},
    {"{job=\"app\", env=\"prod\", pod=\"a\"}", 100, "level=info n=6 dur=500ms size=6KB"},
    {"{job=\"app\", env=\"prod\", pod=\"b\"}", 15, "level=info n=10 dur=1s size=10KB"},
    {"{job=\"app\", env=\"prod\", pod=\"b\"}", 45, "level=error n=20 dur=2s size=20KB"},
    {"{job=\"app\", env=\"prod\", pod=\"b\"}", 75, "level=info n=30 dur=3s size=30KB"},
    {"{job=\"app\", env=\"dev\", pod=\"c\"}", 30, "level=warn n=7 dur=7s size=7KB"},
    {"{job=\"app\", env=\"dev\", pod=\"c\"}", 60, "level=warn n=bad dur=x size=y"},
    {"{job=\"web\", env=\"dev\", pod=\"d\"}", 5, "{\"level\":\"info\",\"status\":200,\"reason\":\"ok\",\"latency\":0.5}"},
    {"{job=\"web\", env=\"dev\", pod=\"d\"}", 25, "{\"level\":\"error\",\"status\":500,\"reason\":\"boom\",\"latency\":1.5}"},
    {"{job=\"web\", env=\"dev\", pod=\"d\"}", 50, "{\"level\":\"info\",\"status\":404,\"reason\":\"missing\",\"latency\":2.5}"},
    {"{job=\"web\", env=\"dev\", pod=\"d\"}", 55, "{\"level\":\"error\",\"status\":500,\"reason\":\"boom\",\"latency\":3}"},
    {"{job=\"counter\", pod=\"e\"}", 10, "c=1"},
    {"{job=\"counter\", pod=\"e\"}", 20, "c=3"},
    {"{job=\"counter\", pod=\"e\"}", 30, "c=6"},
    {"{job=\"counter\", pod=\"e\"}", 40, "c=2"},
    {"{job=\"counter\", pod=\"e\"}", 50, "c=4"},
};

struct fixture {
    char *dir;
    struct cairn_store *s;
};

static struct cairn_store *open_store(const char *dir)
{
    struct cairn_store_config cfg;
    cairn_store_config_default(&cfg);
    cfg.data_dir = dir;
    cfg.fsync = CAIRN_FSYNC_NEVER;
    struct cairn_err err = {0};
    struct cairn_store *s = cairn_store_open(&cfg, &err);
    if (!s)
        fail_msg("open: %s", err.msg);
    return s;
}

static void load(struct cairn_store *s)
{
    size_t n = sizeof DATA / sizeof DATA[0];
    for (size_t i = 0; i < n; i++) {
        struct cairn_labels ls;
        cairn_labels_init(&ls);
        struct cairn_err err = {0};
        assert_int_equal(cairn_labels_parse(&ls, DATA[i].labels, strlen(DATA[i].labels), &err), 0);
        struct cairn_entry e = {T0 + DATA[i].sec * SEC, DATA[i].line, strlen(DATA[i].line)};
        struct cairn_push_stream ps = {.labels = &ls, .entries = &e, .n = 1};
        assert_int_equal(cairn_store_append(s, "t1", &ps, 1), 0);
        assert_int_equal(ps.rejected, 0);
        cairn_labels_deinit(&ls);
    }
}

/* Tenant t2: 7 streams x 600 entries, one a second with shared timestamps across
 * streams, logfmt lines with float values, for the threads-equal-one-thread test. */
static void load_t2(struct cairn_store *s)
{
    uint64_t x = 88172645463325252ULL;
    for (int k = 0; k < 7; k++) {
        char lab[64], lines[600][64];
        struct cairn_entry e[600];
        snprintf(lab, sizeof lab, "{app=\"gen\", shard=\"%d\", zone=\"%c\"}", k, 'a' + k % 3);
        for (int i = 0; i < 600; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            int l = snprintf(lines[i], sizeof lines[i], "v=%.3f k=%d msg=%s", (double)(x % 100000) / 997.0,
                             (int)(x % 4), x % 5 ? "ok" : "slow");
            e[i] = (struct cairn_entry){T0 + (int64_t)i * SEC + (int64_t)(x % 3) * (SEC / 3), lines[i], (size_t)l};
        }
        struct cairn_labels ls;
        cairn_labels_init(&ls);
        struct cairn_err err = {0};
        assert_int_equal(cairn_labels_parse(&ls, lab, strlen(lab), &err), 0);
        struct cairn_push_stream ps = {.labels = &ls, .entries = e, .n = 600};
        assert_int_equal(cairn_store_append(s, "t2", &ps, 1), 0);
        cairn_labels_deinit(&ls);
    }
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->dir = test_mkdtemp("metric");
    f->s = open_store(f->dir);
    load(f->s);
    load_t2(f->s);
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

/* Render a value in the case file's compact form, one line per series. */
static void render(struct cairn__mctx *c, struct cairn__mval *v, struct cairn_buf *out)
{
    if (v->kind == CAIRN__MV_SCALAR) {
        if (c->instant) {
            cairn_buf_append_str(out, "scalar ");
            cairn__mjson_float(out, v->scalar[0]);
            cairn_buf_append_byte(out, '\n');
            return;
        }
        cairn_buf_append_str(out, "{}");
        for (size_t i = 0; i < c->nsteps; i++) {
            cairn_buf_appendf(out, " %lld:", (long long)((c->start - T0 + (int64_t)i * c->step) / SEC));
            cairn__mjson_float(out, v->scalar[i]);
        }
        cairn_buf_append_byte(out, '\n');
        return;
    }
    /* instant: the encoder's order; reuse it by encoding to JSON-free rows */
    cairn__mval_sort(v);
    size_t *order = malloc((v->n + 1) * sizeof *order), n = 0;
    for (size_t s = 0; s < v->n; s++)
        if (memchr(v->s[s].ok, 1, c->nsteps))
            order[n++] = s;
    if (c->instant && v->sort_dir) {
        for (size_t a = 1; a < n; a++) { /* stable insertion sort by value */
            size_t x = order[a], b = a;
            while (b > 0) {
                double pv = v->s[order[b - 1]].v[0], xv = v->s[x].v[0];
                int before = v->sort_dir > 0 ? xv < pv : xv > pv;
                if (!before)
                    break;
                order[b] = order[b - 1];
                b--;
            }
            order[b] = x;
        }
    }
    for (size_t j = 0; j < n; j++) {
        const struct cairn__mseries *s = &v->s[order[j]];
        cairn__mlab_text(s->lab.p, s->lab.len, out);
        for (size_t i = 0; i < c->nsteps; i++) {
            if (!s->ok[i])
                continue;
            if (c->instant) {
                cairn_buf_append_byte(out, ' ');
            } else {
                cairn_buf_appendf(out, " %lld:", (long long)((c->start - T0 + (int64_t)i * c->step) / SEC));
            }
            cairn__mjson_float(out, s->v[i]);
        }
        cairn_buf_append_byte(out, '\n');
    }
    if (n == 0)
        cairn_buf_append_str(out, "(none)\n");
    free(order);
}

struct tcase {
    int line;
    char query[1024];
    int instant;
    long long start, end, step, at;
    struct cairn_buf expect;
    char error[512];
};

/* Evaluate a case with `threads` shards; the rendering (or error) into got. */
static int eval_case(struct cairn_store *s, struct tcase *tc, int threads, struct cairn_buf *got,
                     struct cairn_err *err)
{
    struct cairn_logql_query *q = NULL;
    struct cairn__query_stats st = {0};
    struct cairn_query_params p = {.tenant = "t1", .threads = threads};
    if (tc->instant) {
        p.instant = 1;
        p.start = p.end = T0 + tc->at * SEC;
    } else {
        p.start = T0 + tc->start * SEC;
        p.end = T0 + tc->end * SEC;
        p.step = tc->step * SEC;
    }
    struct cairn__mctx c = {.store = s, .tenant = "t1", .p = &p, .st = &st, .err = err};
    struct cairn__mval v = {0};
    int rc = cairn_logql_parse(tc->query, strlen(tc->query), &q, err);
    if (rc == 0)
        rc = cairn__metric_steps(&p, &c, err);
    if (rc == 0)
        rc = cairn__meval(&c, cairn_logql_root(q), &v);
    if (rc == 0)
        render(&c, &v, got);
    cairn__mval_deinit(&v);
    cairn_logql_query_destroy(q);
    return rc;
}

static int run_case(struct cairn_store *s, struct tcase *tc)
{
    struct cairn_err err = {0}, err3 = {0};
    struct cairn_buf got = CAIRN_BUF_INIT, got3 = CAIRN_BUF_INIT;
    int rc = eval_case(s, tc, 1, &got, &err);
    /* three stream shards on threads must give the same answer bit for bit */
    int rc3 = eval_case(s, tc, 3, &got3, &err3);
    int ok;
    if (tc->error[0]) {
        ok = rc != 0 && strncmp(err.msg, tc->error, strlen(tc->error)) == 0;
        if (!ok)
            print_error("line %d: %s\n  want error: %s\n  got rc=%d: %s\n", tc->line, tc->query, tc->error, rc,
                        err.msg);
    } else if (rc) {
        ok = 0;
        print_error("line %d: %s\n  unexpected error %d: %s\n", tc->line, tc->query, rc, err.msg);
    } else {
        ok = strcmp(cairn_buf_cstr(&got), cairn_buf_cstr(&tc->expect)) == 0;
        if (!ok)
            print_error("line %d: %s\n  want:\n%s  got:\n%s", tc->line, tc->query, cairn_buf_cstr(&tc->expect),
                        cairn_buf_cstr(&got));
    }
    if (ok && (rc != rc3 || strcmp(err.msg, err3.msg) != 0 || strcmp(cairn_buf_cstr(&got), cairn_buf_cstr(&got3)) != 0)) {
        ok = 0;
        print_error("line %d: %s\n  3 threads differ from 1:\n%s%s\n", tc->line, tc->query, cairn_buf_cstr(&got3),
                    err3.msg);
    }
    cairn_buf_deinit(&got);
    cairn_buf_deinit(&got3);
    return ok;
}

static void test_cases(void **state)
{
    struct fixture *f = *state;
    const char *src = getenv("CAIRN_SRC");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/unit/data/query_metric_cases.txt", src ? src : ".");
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char line[2048];
    int lineno = 0, ncases = 0, failed = 0;
    struct tcase tc;
    memset(&tc, 0, sizeof tc);
    int have = 0;
    for (;;) {
        char *l = fgets(line, sizeof line, fp);
        if (l) {
            lineno++;
            size_t n = strlen(l);
            while (n && (l[n - 1] == '\n' || l[n - 1] == '\r'))
                l[--n] = '\0';
            if (l[0] == '#')
                continue;
        }
        if (!l || l[0] == '\0') {
            if (have) {
                ncases++;
                if (!run_case(f->s, &tc))
                    failed++;
                cairn_buf_deinit(&tc.expect);
                memset(&tc, 0, sizeof tc);
                have = 0;
            }
            if (!l)
                break;
            continue;
        }
        if (!have) {
            tc.line = lineno;
            have = 1;
        }
        if (strncmp(l, "query: ", 7) == 0) {
            snprintf(tc.query, sizeof tc.query, "%s", l + 7);
        } else if (strncmp(l, "range: ", 7) == 0) {
            assert_int_equal(sscanf(l + 7, "%lld %lld %lld", &tc.start, &tc.end, &tc.step), 3);
        } else if (strncmp(l, "instant: ", 9) == 0) {
            tc.instant = 1;
            assert_int_equal(sscanf(l + 9, "%lld", &tc.at), 1);
        } else if (strncmp(l, "expect: ", 8) == 0) {
            cairn_buf_append_str(&tc.expect, l + 8);
            cairn_buf_append_byte(&tc.expect, '\n');
        } else if (strncmp(l, "error: ", 7) == 0) {
            snprintf(tc.error, sizeof tc.error, "%s", l + 7);
        } else {
            fail_msg("%s:%d: bad line: %s", path, lineno, l);
        }
    }
    fclose(fp);
    print_message("%d metric cases, %d failed\n", ncases, failed);
    assert_true(ncases >= 150);
    assert_int_equal(failed, 0);
}

/* The whole reply through cairn_query_run: Loki's JSON shapes and number format. */
static void expect_json(struct cairn_store *s, const char *q, const struct cairn_query_params *p, const char *want)
{
    struct cairn_buf out = CAIRN_BUF_INIT;
    struct cairn_err err = {0};
    int rc = cairn_query_run(s, q, strlen(q), p, &out, &err);
    if (rc)
        fail_msg("%s: %s", q, err.msg);
    const char *d = strstr(cairn_buf_cstr(&out), "\"data\":{");
    assert_non_null(d);
    d += 8;
    if (strncmp(d, want, strlen(want)) != 0)
        fail_msg("%s\n want %s\n got  %s", q, want, d);
    cairn_buf_deinit(&out);
}

static void test_json(void **state)
{
    struct fixture *f = *state;
    struct cairn_query_params p = {.tenant = "t1", .start = T0, .end = T0 + 60 * SEC, .step = 30 * SEC};
    expect_json(f->s, "count_over_time({pod=\"a\"}[1m])", &p,
                "\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"env\":\"prod\",\"job\":\"app\",\"pod\":\"a\"},"
                "\"values\":[[1767225630,\"3\"],[1767225660,\"4\"]]}]");
    expect_json(f->s, "rate({pod=\"a\"}[1m])", &p,
                "\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"env\":\"prod\",\"job\":\"app\",\"pod\":\"a\"},"
                "\"values\":[[1767225630,\"0.05\"],[1767225660,\"0.06666666666666667\"]]}]");
    p.start = T0 + 1500 * 1000000LL; /* 1.5 s: millisecond timestamps */
    p.end = T0 + 31500 * 1000000LL;
    expect_json(f->s, "count_over_time({pod=\"a\"}[1m])", &p,
                "\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"env\":\"prod\",\"job\":\"app\",\"pod\":\"a\"},"
                "\"values\":[[1767225631.5,\"3\"]]}]");
    struct cairn_query_params ip = {.tenant = "t1", .start = T0 + 60 * SEC, .end = T0 + 60 * SEC, .instant = 1};
    expect_json(f->s, "sum(count_over_time({job=\"app\"}[1m]))", &ip,
                "\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[1767225660,\"8\"]}]");
    expect_json(f->s, "1 + 2 * 3", &ip, "\"resultType\":\"scalar\",\"result\":[1767225660,\"7\"]");
    expect_json(f->s, "1e22 + 0", &ip, "\"resultType\":\"scalar\",\"result\":[1767225660,\"10000000000000000000000\"]");
    expect_json(f->s, "0.000001 / 4", &ip, "\"resultType\":\"scalar\",\"result\":[1767225660,\"0.00000025\"]");
    expect_json(f->s, "0.1 + 0.2", &ip, "\"resultType\":\"scalar\",\"result\":[1767225660,\"0.30000000000000004\"]");
    expect_json(f->s, "1 / 3", &ip, "\"resultType\":\"scalar\",\"result\":[1767225660,\"0.3333333333333333\"]");
    expect_json(f->s, "123456.5 * 2", &ip, "\"resultType\":\"scalar\",\"result\":[1767225660,\"246913\"]");
    expect_json(f->s, "2 ^ 60", &ip, "\"resultType\":\"scalar\",\"result\":[1767225660,\"1152921504606847000\"]");
    expect_json(f->s, "0 - 2.5", &ip, "\"resultType\":\"scalar\",\"result\":[1767225660,\"-2.5\"]");
    expect_json(f->s, "1e308 * 10", &ip, "\"resultType\":\"scalar\",\"result\":[1767225660,\"+Inf\"]");
    expect_json(f->s, "1 / 0", &ip, "\"resultType\":\"scalar\",\"result\":[1767225660,\"NaN\"]");
    expect_json(f->s, "0 / 0", &ip, "\"resultType\":\"scalar\",\"result\":[1767225660,\"NaN\"]");
    expect_json(f->s, "count_over_time({job=\"nothing\"}[1m])", &ip, "\"resultType\":\"vector\",\"result\":[]");
    p.start = T0;
    p.end = T0 + 60 * SEC;
    expect_json(f->s, "vector(2)", &p,
                "\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"values\":[[1767225600,\"2\"],"
                "[1767225630,\"2\"],[1767225660,\"2\"]]}]");
    expect_json(f->s, "2", &p,
                "\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"values\":[[1767225600,\"2\"],"
                "[1767225630,\"2\"],[1767225660,\"2\"]]}]");
}

/* Loki's max_query_series: more series in the result than the limit is a user error
 * (400), counted after aggregation, and nothing is written to the reply. */
static void test_max_series(void **state)
{
    struct fixture *f = *state;
    struct cairn_query_params p = {.tenant = "t1", .start = T0, .end = T0 + 120 * SEC,
                                   .step = 30 * SEC, .max_series = 2};
    const char *q = "count_over_time({job=\"app\"}[1m])"; /* pods a, b, c */
    struct cairn_buf out = CAIRN_BUF_INIT;
    struct cairn_err err = {0};
    assert_int_equal(cairn_query_run(f->s, q, strlen(q), &p, &out, &err), CAIRN_ELIMIT);
    assert_string_equal(err.msg, "maximum number of series (2) reached for a single query; "
                                 "consider reducing query cardinality by adding more specific "
                                 "stream selectors, reducing the time range, or aggregating "
                                 "results with functions like sum(), count() or topk()");
    assert_int_equal(out.len, 0);
    p.instant = 1; /* at 60 s all three pods have entries in the last minute */
    p.start = p.end = T0 + 60 * SEC;
    assert_int_equal(cairn_query_run(f->s, q, strlen(q), &p, &out, &err), CAIRN_ELIMIT);
    /* aggregated down to the limit, or with the limit off, it runs */
    p.instant = 0;
    p.start = T0;
    p.end = T0 + 120 * SEC;
    const char *agg = "sum by (env) (count_over_time({job=\"app\"}[1m]))";
    assert_int_equal(cairn_query_run(f->s, agg, strlen(agg), &p, &out, &err), 0);
    cairn_buf_reset(&out);
    p.max_series = 0;
    assert_int_equal(cairn_query_run(f->s, q, strlen(q), &p, &out, &err), 0);
    cairn_buf_deinit(&out);
}

/* Loki's query_timeout: a query still reading blocks past its deadline fails with
 * CAIRN_ETIMEDOUT and says which limit ended it; nothing is written to the reply. */
static void test_timeout(void **state)
{
    struct fixture *f = *state;
    struct cairn_query_params p = {.tenant = "t1", .start = T0, .end = T0 + 120 * SEC,
                                   .step = 30 * SEC, .limit = 100,
                                   .direction = CAIRN_ITER_BACKWARD, .timeout = 1};
    const char *qs[] = {"count_over_time({job=\"app\"}[1m])", "{job=\"app\"} |= \"n=\""};
    /* the deadline is checked as stored blocks are read (the head is bounded by its
     * budget and copied up front): cut everything into blocks first */
    assert_int_equal(cairn_store_flush(f->s), 0);
    for (size_t i = 0; i < 2; i++) {
        struct cairn_buf out = CAIRN_BUF_INIT;
        struct cairn_err err = {0};
        assert_int_equal(cairn_query_run(f->s, qs[i], strlen(qs[i]), &p, &out, &err),
                         CAIRN_ETIMEDOUT);
        assert_non_null(strstr(err.msg, "query timed out"));
        assert_non_null(strstr(err.msg, "query_timeout"));
        assert_int_equal(out.len, 0);
        /* with time enough it runs */
        p.timeout = 60LL * SEC;
        assert_int_equal(cairn_query_run(f->s, qs[i], strlen(qs[i]), &p, &out, &err), 0);
        p.timeout = 1;
        cairn_buf_deinit(&out);
    }
}

/* The stats of a metric reply count the entries read and their raw bytes. */
static void test_stats(void **state)
{
    struct fixture *f = *state;
    struct cairn_query_params ip = {.tenant = "t1", .start = T0 + 60 * SEC, .end = T0 + 60 * SEC, .instant = 1};
    const char *q = "count_over_time({pod=\"a\"}[1m])";
    struct cairn_buf out = CAIRN_BUF_INIT;
    struct cairn_err err = {0};
    assert_int_equal(cairn_query_run(f->s, q, strlen(q), &ip, &out, &err), 0);
    assert_non_null(strstr(out.data, "\"totalBytesProcessed\":130,\"totalLinesProcessed\":4,"));
    assert_non_null(strstr(out.data, "\"totalEntriesReturned\":1}"));
    cairn_buf_deinit(&out);
}

/* The resolution limit: Loki refuses (end - start) / step > 11000. */
static void test_max_points(void **state)
{
    struct fixture *f = *state;
    struct cairn_buf out = CAIRN_BUF_INIT;
    struct cairn_err err = {0};
    const char *q = "count_over_time({job=\"app\"}[1m])";
    struct cairn_query_params p = {.tenant = "t1", .start = T0, .end = T0 + 11001 * SEC, .step = SEC};
    assert_int_equal(cairn_query_run(f->s, q, strlen(q), &p, &out, &err), CAIRN_ELIMIT);
    assert_string_equal(err.msg, "exceeded maximum resolution of 11,000 points per timeseries. "
                                 "Try decreasing the query resolution (?step=XX)");
    assert_int_equal(out.len, 0);
    p.end = T0 + 11000 * SEC; /* exactly 11000 intervals: allowed */
    assert_int_equal(cairn_query_run(f->s, q, strlen(q), &p, &out, &err), 0);
    assert_non_null(strstr(cairn_buf_cstr(&out), "\"resultType\":\"matrix\""));
    cairn_buf_deinit(&out);
}

/* Column-only evaluation reads no line: stats count bytes from the length column and
 * the answer equals the one computed through a pipeline that keeps every line. */
static void test_no_lines_equals_pipeline(void **state)
{
    struct fixture *f = *state;
    struct cairn_query_params p = {.tenant = "t1", .start = T0, .end = T0 + 120 * SEC, .step = 10 * SEC};
    const char *qa = "bytes_over_time({job=\"app\"}[45s])";
    const char *qb = "bytes_over_time({job=\"app\"} |= \"\" [45s])";
    struct cairn_buf a = CAIRN_BUF_INIT, b = CAIRN_BUF_INIT;
    struct cairn_err err = {0};
    assert_int_equal(cairn_query_run(f->s, qa, strlen(qa), &p, &a, &err), 0);
    assert_int_equal(cairn_query_run(f->s, qb, strlen(qb), &p, &b, &err), 0);
    const char *ra = strstr(cairn_buf_cstr(&a), "\"result\""), *rb = strstr(cairn_buf_cstr(&b), "\"result\"");
    const char *ea = strstr(ra, "\"stats\""), *eb = strstr(rb, "\"stats\"");
    assert_int_equal(ea - ra, eb - rb);
    assert_memory_equal(ra, rb, (size_t)(ea - ra));
    cairn_buf_deinit(&a);
    cairn_buf_deinit(&b);
}

/* Stream shards and time slices on any number of threads give the one-thread reply
 * byte for byte (float sums included: samples keep one order whatever the split). */
static void test_threads_identical(void **state)
{
    struct fixture *f = *state;
    static const char *qs[] = {
        "sum by (zone) (count_over_time({app=\"gen\"}[37s]))",
        "bytes_rate({app=\"gen\", shard=\"3\"}[1m])",
        "sum by (zone) (sum_over_time({app=\"gen\"} | logfmt | unwrap v [45s]))",
        "avg_over_time({app=\"gen\"} | logfmt | unwrap v [2m]) by (k)",
        "stddev_over_time({app=\"gen\", shard=~\"1|2\"} | logfmt | unwrap v [90s]) by (app)",
        "quantile_over_time(0.9, {app=\"gen\"} | logfmt | unwrap v [1m]) by (msg)",
        "first_over_time({app=\"gen\"} | logfmt | unwrap v [20s]) by (app)",
        "last_over_time({app=\"gen\"} | logfmt | unwrap v [20s] offset 10s) by (app)",
        "sum by (shard) (rate_counter({app=\"gen\", shard=\"0\"} | logfmt | unwrap v [1m]))",
        "topk(2, sum by (k) (rate({app=\"gen\"} | logfmt [1m])))",
        "sum(rate({app=\"gen\"} |= \"slow\" [30s])) / sum(rate({app=\"gen\"}[30s]))",
        "absent_over_time({app=\"gen\", shard=\"5\"} |= \"slow\" [3s])",
    };
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        struct cairn_buf one = CAIRN_BUF_INIT;
        for (int threads = 1; threads <= 8; threads++) {
            struct cairn_query_params p = {.tenant = "t2", .start = T0 + 30 * SEC, .end = T0 + 640 * SEC,
                                           .step = 7 * SEC, .threads = threads};
            struct cairn_buf out = CAIRN_BUF_INIT;
            struct cairn_err err = {0};
            if (cairn_query_run(f->s, qs[i], strlen(qs[i]), &p, &out, &err))
                fail_msg("%s: %s", qs[i], err.msg);
            char *stats = strstr(out.data, ",\"stats\"");
            assert_non_null(stats);
            *stats = '\0';
            assert_non_null(strstr(out.data, "\"values\":[["));
            if (threads == 1) {
                cairn_buf_append_str(&one, out.data);
            } else if (strcmp(one.data, out.data) != 0) {
                fail_msg("%s: %d threads differ from 1", qs[i], threads);
            }
            cairn_buf_deinit(&out);
        }
        cairn_buf_deinit(&one);
    }
}

/* Regression (crash soak): a push stored twice was counted twice. The same batch is
 * stored three times in two streams (flushed to segment files between the copies, so
 * the store's append-time rule, which looks at the open block only, cannot drop them;
 * the last copy stays in the head); each entry counts once, as in Loki's sample
 * iterator, with and without a pipeline, unwrapped, on stream shards and time slices.
 * Two lines at one timestamp, and one line at two timestamps, are not duplicates. */
static void test_duplicates_count_once(void **state)
{
    (void)state;
    static const struct { int sec; const char *line; } B[] = {
        {1, "msg=a v=1"}, {2, "msg=b v=2"}, {2, "msg=c v=3"}, {3, "msg=a v=1"}, {4, "msg=d v=4"},
    };
    char *dir = test_mkdtemp("metric-dup");
    struct cairn_store *s = open_store(dir);
    struct cairn_entry e[5];
    for (int copy = 0; copy < 3; copy++) {
        for (int st = 0; st < 2; st++) {
            struct cairn_labels ls;
            cairn_labels_init(&ls);
            cairn_labels_add(&ls, "app", 3, "dup", 3);
            cairn_labels_add(&ls, "pod", 3, st ? "p2" : "p1", 2);
            cairn_labels_sort(&ls, NULL);
            for (int k = 0; k < 5; k++)
                e[k] = (struct cairn_entry){T0 + B[k].sec * SEC, B[k].line, strlen(B[k].line)};
            struct cairn_push_stream ps = {.labels = &ls, .entries = e, .n = 5};
            assert_int_equal(cairn_store_append(s, "dup", &ps, 1), 0);
            assert_int_equal(ps.rejected, 0);
            cairn_labels_deinit(&ls);
        }
        if (copy < 2)
            assert_int_equal(cairn_store_flush(s), 0);
    }
    for (int threads = 1; threads <= 4; threads += 3) {
        struct cairn_query_params ip = {.tenant = "dup", .start = T0 + 10 * SEC, .end = T0 + 10 * SEC,
                                        .instant = 1, .threads = threads};
        static const struct { const char *q, *v; } C[] = {
            {"sum(count_over_time({app=\"dup\"}[10s]))", "10"},
            {"sum(rate({app=\"dup\"}[10s]))", "1"},
            {"sum(bytes_over_time({app=\"dup\"}[10s]))", "90"},
            {"sum(count_over_time({app=\"dup\"} |= \"msg\" [10s]))", "10"},
            {"sum(count_over_time({app=\"dup\"} | logfmt | msg=\"a\" [10s]))", "4"},
            {"sum(sum_over_time({app=\"dup\"} | logfmt | unwrap v [10s]))", "22"},
            {"sum(bytes_rate({app=\"dup\"} |= \"msg\" [10s]))", "9"},
        };
        for (size_t i = 0; i < sizeof C / sizeof C[0]; i++) {
            char want[256];
            snprintf(want, sizeof want, "\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[1767225610,\"%s\"]}]",
                     C[i].v);
            expect_json(s, C[i].q, &ip, want);
        }
        /* a range query over few streams: time slices on threads */
        struct cairn_query_params rp = {.tenant = "dup", .start = T0 + SEC, .end = T0 + 5 * SEC, .step = SEC,
                                        .threads = threads};
        expect_json(s, "count_over_time({app=\"dup\", pod=\"p1\"}[2s])", &rp,
                    "\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"app\":\"dup\",\"pod\":\"p1\"},"
                    "\"values\":[[1767225601,\"1\"],[1767225602,\"3\"],[1767225603,\"3\"],[1767225604,\"2\"],"
                    "[1767225605,\"1\"]]}]");
    }
    /* three blocks one after another, then the middle one's push again: only the
     * blocks overlapping each other are read merged, the others per block */
    static char text[15][16];
    struct cairn_labels ls;
    cairn_labels_init(&ls);
    cairn_labels_add(&ls, "app", 3, "dup2", 4);
    for (int b = 0; b < 4; b++) {
        int first = b < 3 ? b * 5 : 5;
        struct cairn_entry e2[5];
        for (int k = 0; k < 5; k++) {
            int n = snprintf(text[first + k], sizeof text[0], "line %d", first + k);
            e2[k] = (struct cairn_entry){T0 + (first + k + 1) * SEC, text[first + k], (size_t)n};
        }
        struct cairn_push_stream ps = {.labels = &ls, .entries = e2, .n = 5};
        assert_int_equal(cairn_store_append(s, "dup", &ps, 1), 0);
        assert_int_equal(ps.rejected, 0);
        if (b < 3)
            assert_int_equal(cairn_store_flush(s), 0);
    }
    cairn_labels_deinit(&ls);
    for (int threads = 1; threads <= 4; threads += 3) {
        struct cairn_query_params rp = {.tenant = "dup", .start = T0 + 5 * SEC, .end = T0 + 20 * SEC,
                                        .step = 5 * SEC, .threads = threads};
        expect_json(s, "count_over_time({app=\"dup2\"}[5s])", &rp,
                    "\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"app\":\"dup2\"},"
                    "\"values\":[[1767225605,\"5\"],[1767225610,\"5\"],[1767225615,\"5\"]]}]");
        struct cairn_query_params ip = {.tenant = "dup", .start = T0 + 20 * SEC, .end = T0 + 20 * SEC,
                                        .instant = 1, .threads = threads};
        expect_json(s, "sum(count_over_time({app=\"dup2\"} |= \"line\" [20s]))", &ip,
                    "\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[1767225620,\"15\"]}]");
    }
    cairn_store_close(s);
    test_rmdir_r(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_max_series),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_max_points),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_no_lines_equals_pipeline),
        cmocka_unit_test(test_threads_identical),
        cmocka_unit_test(test_duplicates_count_once),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
