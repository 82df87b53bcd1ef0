/* query_log_test.c -- log queries over a real store: selection through the index
 * (=, !=, =~, !~, missing labels), time range, limit and direction, pipeline stages
 * and grouping of kept entries by their final labels. */
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

#define SEC 1000000000LL
#define T0 (1700000000LL * SEC)

struct fixture {
    char *dir;
    struct cairn_store *s;
};

static void push(struct cairn_store *s, const char *labels, int64_t base, int n, const char *fmt)
{
    struct cairn_labels ls;
    struct cairn_err err;
    cairn_labels_init(&ls);
    assert_int_equal(cairn_labels_parse(&ls, labels, strlen(labels), &err), 0);
    struct cairn_entry e[64];
    char lines[64][96];
    assert_true(n <= 64);
    for (int i = 0; i < n; i++) {
        int l = snprintf(lines[i], sizeof(lines[i]), fmt, i, i % 3 == 0 ? "error" : "info");
        e[i] = (struct cairn_entry){base + i * SEC, lines[i], (size_t)l};
    }
    struct cairn_push_stream ps = {.labels = &ls, .entries = e, .n = (size_t)n};
    assert_int_equal(cairn_store_append(s, "fake", &ps, 1), 0);
    assert_int_equal(ps.rejected, 0);
    cairn_labels_deinit(&ls);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->dir = test_mkdtemp("query");
    struct cairn_store_config cfg;
    cairn_store_config_default(&cfg);
    cfg.data_dir = f->dir;
    cfg.fsync = CAIRN_FSYNC_NEVER;
    struct cairn_err err;
    f->s = cairn_store_open(&cfg, &err);
    assert_non_null(f->s);
    push(f->s, "{app=\"api\", pod=\"1\"}", T0, 10, "{\"n\":%d,\"level\":\"%s\"}");
    push(f->s, "{app=\"api\", pod=\"2\"}", T0 + SEC / 2, 10, "{\"n\":%d,\"level\":\"%s\"}");
    push(f->s, "{app=\"web\", pod=\"1\", tier=\"edge\"}", T0, 5, "n=%d level=%s");
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

/* Stream order in a result is not part of the contract; entries within are. */
static int same_result(const struct cairn_query_result *a, const struct cairn_query_result *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++) {
        const struct cairn_query_stream *x = &a->streams[i], *y = NULL;
        for (size_t j = 0; j < b->n && !y; j++)
            if (b->streams[j].hash == x->hash)
                y = &b->streams[j];
        if (!y || x->n != y->n || x->labels.n != y->labels.n)
            return 0;
        for (size_t k = 0; k < x->n; k++)
            if (x->e[k].ts != y->e[k].ts || x->e[k].len != y->e[k].len ||
                memcmp(x->bytes.data + x->e[k].off, y->bytes.data + y->e[k].off, x->e[k].len))
                return 0;
    }
    return 1;
}

/* Run on one thread, then on three shards: the results must be identical. */
static int run(struct fixture *f, const char *query, size_t limit, enum cairn_iter_dir dir,
               int64_t start, int64_t end, struct cairn_query_result *r)
{
    struct cairn_logql_query *q;
    struct cairn_err err;
    if (cairn_logql_parse(query, strlen(query), &q, &err))
        fail_msg("%s: %s", query, err.msg);
    struct cairn_query_params p = {"fake", start, end, limit, dir, T0, 1};
    cairn_query_result_init(r);
    int rc = cairn_query_logs(f->s, q, &p, r, &err);
    struct cairn_query_result r3;
    cairn_query_result_init(&r3);
    p.threads = 3;
    int rc3 = cairn_query_logs(f->s, q, &p, &r3, &err);
    assert_int_equal(rc, rc3);
    if (!rc) {
        assert_true(same_result(r, &r3));
        assert_int_equal(r->stats.lines_returned, r3.stats.lines_returned);
    }
    cairn_query_result_deinit(&r3);
    cairn_logql_query_destroy(q);
    return rc;
}

static size_t total(const struct cairn_query_result *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += r->streams[i].n;
    return n;
}

static const struct cairn_query_stream *stream_with(const struct cairn_query_result *r,
                                                    const char *labels)
{
    for (size_t i = 0; i < r->n; i++) {
        struct cairn_buf b = CAIRN_BUF_INIT;
        cairn_labels_format(&r->streams[i].labels, &b);
        int eq = strcmp(cairn_buf_cstr(&b), labels) == 0;
        cairn_buf_deinit(&b);
        if (eq)
            return &r->streams[i];
    }
    return NULL;
}

static void selector_backward_default(void **state)
{
    struct fixture *f = *state;
    struct cairn_query_result r;
    assert_int_equal(run(f, "{app=\"api\"}", 0, CAIRN_ITER_BACKWARD, T0, T0 + 60 * SEC, &r), 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(total(&r), 20);
    const struct cairn_query_stream *st = stream_with(&r, "{app=\"api\", pod=\"2\"}");
    assert_non_null(st);
    assert_int_equal(st->n, 10);
    assert_true(st->e[0].ts > st->e[9].ts); /* newest first */
    assert_int_equal(st->e[0].ts, T0 + SEC / 2 + 9 * SEC);
    assert_memory_equal(st->bytes.data + st->e[0].off, "{\"n\":9,", 7);
    assert_int_equal(r.stats.lines_returned, 20);
    cairn_query_result_deinit(&r);
}

static void limit_and_direction(void **state)
{
    struct fixture *f = *state;
    struct cairn_query_result r;
    assert_int_equal(run(f, "{app=\"api\"}", 3, CAIRN_ITER_FORWARD, T0, T0 + 60 * SEC, &r), 0);
    assert_int_equal(total(&r), 3);
    /* the three oldest over both streams: pod 1 at T0, pod 2 at T0+.5s, pod 1 at T0+1s */
    const struct cairn_query_stream *p1 = stream_with(&r, "{app=\"api\", pod=\"1\"}");
    const struct cairn_query_stream *p2 = stream_with(&r, "{app=\"api\", pod=\"2\"}");
    assert_non_null(p1);
    assert_non_null(p2);
    assert_int_equal(p1->n, 2);
    assert_int_equal(p2->n, 1);
    assert_int_equal(p1->e[0].ts, T0);
    assert_int_equal(p1->e[1].ts, T0 + SEC);
    cairn_query_result_deinit(&r);

    assert_int_equal(run(f, "{app=\"api\"}", 1, CAIRN_ITER_BACKWARD, T0, T0 + 60 * SEC, &r), 0);
    assert_int_equal(total(&r), 1);
    assert_int_equal(r.streams[0].e[0].ts, T0 + SEC / 2 + 9 * SEC);
    cairn_query_result_deinit(&r);
}

static void time_range_is_half_open(void **state)
{
    struct fixture *f = *state;
    struct cairn_query_result r;
    assert_int_equal(run(f, "{app=\"web\"}", 100, CAIRN_ITER_FORWARD, T0 + SEC, T0 + 3 * SEC, &r), 0);
    assert_int_equal(total(&r), 2);
    assert_int_equal(r.streams[0].e[0].ts, T0 + SEC);
    assert_int_equal(r.streams[0].e[1].ts, T0 + 2 * SEC);
    cairn_query_result_deinit(&r);
}

static void matchers_through_the_index(void **state)
{
    struct fixture *f = *state;
    struct cairn_query_result r;
    int64_t s = T0, e = T0 + 60 * SEC;
    assert_int_equal(run(f, "{app=~\"api|web\", pod!=\"2\"}", 100, CAIRN_ITER_FORWARD, s, e, &r), 0);
    assert_int_equal(r.n, 2);
    assert_non_null(stream_with(&r, "{app=\"api\", pod=\"1\"}"));
    assert_non_null(stream_with(&r, "{app=\"web\", pod=\"1\", tier=\"edge\"}"));
    cairn_query_result_deinit(&r);

    assert_int_equal(run(f, "{pod=~\".+\", app!~\"a.*\"}", 100, CAIRN_ITER_FORWARD, s, e, &r), 0);
    assert_int_equal(r.n, 1);
    assert_non_null(stream_with(&r, "{app=\"web\", pod=\"1\", tier=\"edge\"}"));
    cairn_query_result_deinit(&r);

    /* a missing label has the empty value: tier="" selects the streams without it */
    assert_int_equal(run(f, "{app=~\".+\", tier=\"\"}", 100, CAIRN_ITER_FORWARD, s, e, &r), 0);
    assert_int_equal(r.n, 2);
    assert_null(stream_with(&r, "{app=\"web\", pod=\"1\", tier=\"edge\"}"));
    cairn_query_result_deinit(&r);

    assert_int_equal(run(f, "{app=\"nope\"}", 100, CAIRN_ITER_FORWARD, s, e, &r), 0);
    assert_int_equal(r.n, 0);
    cairn_query_result_deinit(&r);
}

static void pipeline_groups_by_final_labels(void **state)
{
    struct fixture *f = *state;
    struct cairn_query_result r;
    int64_t s = T0, e = T0 + 60 * SEC;
    assert_int_equal(run(f, "{app=\"api\"} | json | level=\"error\" | drop n", 100, CAIRN_ITER_FORWARD, s, e, &r), 0);
    /* entries 0, 3, 6, 9 of each pod */
    assert_int_equal(total(&r), 8);
    const struct cairn_query_stream *st = stream_with(&r, "{app=\"api\", level=\"error\", pod=\"1\"}");
    assert_non_null(st);
    assert_int_equal(st->n, 4);
    cairn_query_result_deinit(&r);

    assert_int_equal(run(f, "{app=\"web\"} | logfmt | keep level | line_format \"{{.level}}\"", 100,
                         CAIRN_ITER_FORWARD, s, e, &r), 0);
    assert_int_equal(r.n, 2); /* level=error and level=info */
    st = stream_with(&r, "{level=\"info\"}");
    assert_non_null(st);
    assert_int_equal(st->n, 3);
    assert_int_equal(st->e[0].len, 4);
    assert_memory_equal(st->bytes.data + st->e[0].off, "info", 4);
    cairn_query_result_deinit(&r);

    assert_int_equal(run(f, "{app=\"api\"} |= \"\\\"n\\\":7,\"", 100, CAIRN_ITER_FORWARD, s, e, &r), 0);
    assert_int_equal(total(&r), 2);
    assert_int_equal(r.stats.lines_scanned, 20);
    cairn_query_result_deinit(&r);
}

static void metric_query_refused(void **state)
{
    struct fixture *f = *state;
    struct cairn_query_result r;
    assert_int_equal(run(f, "count_over_time({app=\"api\"}[1m])", 100, CAIRN_ITER_FORWARD, T0, T0 + SEC, &r),
                     CAIRN_EINVAL);
    cairn_query_result_deinit(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(selector_backward_default),
        cmocka_unit_test(limit_and_direction),
        cmocka_unit_test(time_range_is_half_open),
        cmocka_unit_test(matchers_through_the_index),
        cmocka_unit_test(pipeline_groups_by_final_labels),
        cmocka_unit_test(metric_query_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
