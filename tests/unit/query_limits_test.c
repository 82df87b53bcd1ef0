/* query_limits_test.c -- what keeps one query from taking the server down (issue 10,
 * finding 1): the memory budget enforced while a query runs, max_query_series counted
 * as series are created, the timeout over head data, and per-tenant admission.
 *
 * The data set is finding 1 in small: one stream whose logfmt lines each carry a
 * distinct `id`, so `sum by (id)(count_over_time({job="q"} | logfmt [1h]))` has one
 * series per line. Assertions are structural (the accounted peak, what is left
 * charged), never timings. */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cairn/query.h"
#include "cairn/query_gate.h"
#include "cairn/store.h"
#include "testutil.h"

#define T0 1767225600000000000LL /* 2026-01-01T00:00:00Z */
#define SEC 1000000000LL
#define NLINES 4000              /* one a second: 4000 distinct ids over 67 min */
#define STEPS 121                /* T0 .. T0 + 2h by 60 s */

struct fixture {
    char *dir;
    struct cairn_store *s;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->dir = test_mkdtemp("qlimits");
    struct cairn_store_config cfg;
    cairn_store_config_default(&cfg);
    cfg.data_dir = f->dir;
    cfg.fsync = CAIRN_FSYNC_NEVER;
    struct cairn_err err = {0};
    f->s = cairn_store_open(&cfg, &err);
    if (!f->s)
        fail_msg("open: %s", err.msg);
    static char lines[NLINES][48];
    static struct cairn_entry e[NLINES];
    for (int i = 0; i < NLINES; i++) {
        int l = snprintf(lines[i], sizeof lines[i], "level=info id=%05d msg=\"hello\"", i);
        e[i] = (struct cairn_entry){T0 + (int64_t)i * SEC, lines[i], (size_t)l};
    }
    struct cairn_labels ls;
    cairn_labels_init(&ls);
    assert_int_equal(cairn_labels_parse(&ls, "{job=\"q\"}", 9, &err), 0);
    struct cairn_push_stream ps = {.labels = &ls, .entries = e, .n = NLINES};
    assert_int_equal(cairn_store_append(f->s, "t", &ps, 1), 0);
    assert_int_equal(ps.rejected, 0);
    cairn_labels_deinit(&ls);
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

static struct cairn_query_params range_params(struct cairn_query_report *rep)
{
    return (struct cairn_query_params){.tenant = "t", .start = T0, .end = T0 + 7200 * SEC,
                                       .step = 60 * SEC, .threads = 2, .limit = 5000,
                                       .direction = CAIRN_ITER_BACKWARD, .report = rep};
}

static int run(struct fixture *f, const char *q, const struct cairn_query_params *p, struct cairn_err *err)
{
    struct cairn_buf out = CAIRN_BUF_INIT;
    cairn_err_clear(err);
    int rc = cairn_query_run(f->s, q, strlen(q), p, &out, err);
    if (rc)
        assert_int_equal(out.len, 0);
    cairn_buf_deinit(&out);
    return rc;
}

static const char *FINDING1 = "sum by (id)(count_over_time({job=\"q\"} | logfmt [1h]))";

/* The finding-1 query: max_query_series trips while the series are being created, so
 * the query never holds more than a few times the limit in series (on main, all 4000
 * were built and then counted). A series here is at least its STEPS+1 counters. */
static void test_finding1_series_limit_trips_early(void **state)
{
    struct fixture *f = *state;
    struct cairn_query_report rep = {0};
    struct cairn_query_params p = range_params(&rep);
    p.max_series = 20;
    struct cairn_err err;
    assert_int_equal(run(f, FINDING1, &p, &err), CAIRN_ELIMIT);
    assert_string_equal(err.msg, "maximum number of series (20) reached for a single query; "
                                 "consider reducing query cardinality by adding more specific "
                                 "stream selectors, reducing the time range, or aggregating "
                                 "results with functions like sum(), count() or topk()");
    size_t per_series = (STEPS + 1) * sizeof(int64_t);
    assert_true(rep.peak_bytes > 0);
    assert_true(rep.peak_bytes < 2 * 4 * 21 * per_series); /* 2 threads, 21 series, slack */
    assert_int_equal(rep.left_bytes, 0);
    /* without the limit the same query builds all 4000 series: the peak above is the
     * limit's doing, not a small query */
    p.max_series = 0;
    assert_int_equal(run(f, FINDING1, &p, &err), 0);
    assert_true(rep.peak_bytes > NLINES * per_series);
    assert_int_equal(rep.left_bytes, 0);
    /* an instant query too */
    p.max_series = 20;
    p.instant = 1;
    p.start = p.end = T0 + 3600 * SEC;
    assert_int_equal(run(f, FINDING1, &p, &err), CAIRN_ELIMIT);
    assert_non_null(strstr(err.msg, "maximum number of series (20)"));
}

/* A vector aggregation's groups count as they are created: the inner series without
 * a pushed-down grouping are many, the groups few, and the limit is on the groups. */
static void test_series_limit_on_vector_groups(void **state)
{
    struct fixture *f = *state;
    struct cairn_query_params p = range_params(NULL);
    p.max_series = 20;
    struct cairn_err err;
    assert_int_equal(run(f, "max by (id)(count_over_time({job=\"q\"} | logfmt [1h]))", &p, &err),
                     CAIRN_ELIMIT);
    assert_non_null(strstr(err.msg, "maximum number of series (20)"));
    /* few groups: fine, whatever the inner series */
    assert_int_equal(run(f, "max by (level)(count_over_time({job=\"q\"} | logfmt [1h]))", &p, &err), 0);
}

/* The memory budget stops a query whose inner series are not outputs (no series
 * limit applies to them) with a message naming the limit and what to do; nothing
 * stays charged, and the accounted peak never passes the budget. */
static void test_memory_budget(void **state)
{
    struct fixture *f = *state;
    struct cairn_query_report rep = {0};
    struct cairn_query_params p = range_params(&rep);
    p.max_memory = 256 * 1024;
    const char *qs[] = {
        "max by (id)(count_over_time({job=\"q\"} | logfmt [1h]))",     /* series maps, counters */
        "count_over_time({job=\"q\"} | logfmt [1h])",                  /* the result itself */
        "sum_over_time({job=\"q\"} | logfmt | unwrap id [1h])",         /* sample buffers */
        "{job=\"q\"}",                                                 /* kept log lines */
    };
    size_t budgets[] = {256 * 1024, 256 * 1024, 32 * 1024, 32 * 1024};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        struct cairn_err err;
        p.max_memory = budgets[i];
        assert_int_equal(run(f, qs[i], &p, &err), CAIRN_ELIMIT);
        assert_non_null(strstr(err.msg, "query memory limit exceeded"));
        assert_non_null(strstr(err.msg, "limits_config.max_query_memory"));
        assert_non_null(strstr(err.msg, "narrow the time range"));
        assert_true(rep.peak_bytes <= budgets[i]);
        assert_int_equal(rep.left_bytes, 0);
        /* with no budget it runs, and needed more than the budget */
        p.max_memory = 0;
        assert_int_equal(run(f, qs[i], &p, &err), 0);
        assert_true(rep.peak_bytes > budgets[i]);
        assert_int_equal(rep.left_bytes, 0);
    }
}

/* The timeout is checked on head data too (on main only stored block reads checked
 * it, so a query over the head ran to the end whatever the deadline), and what the
 * query held is released. */
static void test_timeout_over_head(void **state)
{
    struct fixture *f = *state;
    struct cairn_query_report rep = {0};
    struct cairn_query_params p = range_params(&rep);
    p.timeout = 1; /* ns: passed at the first check */
    const char *qs[] = {FINDING1, "{job=\"q\"} | logfmt | id != \"x\""};
    for (size_t i = 0; i < 2; i++) {
        struct cairn_err err;
        assert_int_equal(run(f, qs[i], &p, &err), CAIRN_ETIMEDOUT);
        assert_non_null(strstr(err.msg, "query_timeout"));
        assert_int_equal(rep.left_bytes, 0);
    }
}

/* Admission: one running per tenant, one waiting; the next is refused at once, an
 * other tenant is not held back, and a waiter is admitted when the running one ends. */
struct waiter {
    struct cairn_query_gate *g;
    struct cairn_query_ticket tk;
    int rc;
};

static void *wait_enter(void *arg)
{
    struct waiter *w = arg;
    w->rc = cairn_query_gate_enter(w->g, "a", &w->tk);
    return NULL;
}

static void test_gate(void **state)
{
    (void)state;
    /* no queue, no wait: the second of a tenant is refused */
    struct cairn_query_gate *g = cairn_query_gate_create(1, 0, 0);
    assert_non_null(g);
    struct cairn_query_ticket a1, a2, b1;
    assert_int_equal(cairn_query_gate_enter(g, "a", &a1), 0);
    assert_int_equal(cairn_query_gate_enter(g, "a", &a2), CAIRN_ELIMIT);
    assert_int_equal(cairn_query_gate_enter(g, "b", &b1), 0);
    cairn_query_gate_leave(g, &a1);
    assert_int_equal(cairn_query_gate_enter(g, "a", &a2), 0);
    cairn_query_gate_leave(g, &a2);
    cairn_query_gate_leave(g, &b1);
    cairn_query_gate_destroy(g);

    /* a queue of one with a long wait: the waiter gets in when the first leaves (the
     * join is the event; no timing), and a third is refused while one waits */
    g = cairn_query_gate_create(1, 1, 3600 * SEC);
    assert_int_equal(cairn_query_gate_enter(g, "a", &a1), 0);
    struct waiter w = {.g = g, .rc = 1};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, wait_enter, &w), 0);
    while (cairn_query_gate_waiting(g, "a") != 1) /* the event: the waiter is queued */
        sched_yield();
    /* the queue is full: refused at once */
    struct cairn_query_ticket a3;
    assert_int_equal(cairn_query_gate_enter(g, "a", &a3), CAIRN_ELIMIT);
    cairn_query_gate_leave(g, &a1);
    pthread_join(th, NULL);
    assert_int_equal(w.rc, 0);
    cairn_query_gate_leave(g, &w.tk);
    cairn_query_gate_destroy(g);

    /* a short wait runs out: refused */
    g = cairn_query_gate_create(1, 4, 1000000); /* 1 ms */
    assert_int_equal(cairn_query_gate_enter(g, "a", &a1), 0);
    assert_int_equal(cairn_query_gate_enter(g, "a", &a2), CAIRN_ELIMIT);
    cairn_query_gate_leave(g, &a1);
    cairn_query_gate_destroy(g);

    /* no limit: always in */
    g = cairn_query_gate_create(0, 0, 0);
    assert_int_equal(cairn_query_gate_enter(g, "a", &a1), 0);
    assert_int_equal(cairn_query_gate_enter(g, "a", &a2), 0);
    cairn_query_gate_leave(g, &a1);
    cairn_query_gate_leave(g, &a2);
    cairn_query_gate_destroy(g);
    cairn_query_gate_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_finding1_series_limit_trips_early),
        cmocka_unit_test(test_series_limit_on_vector_groups),
        cmocka_unit_test(test_memory_budget),
        cmocka_unit_test(test_timeout_over_head),
        cmocka_unit_test(test_gate),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
