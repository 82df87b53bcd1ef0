/* canary_test.c -- the canary's comparator: lines back in order, out of order, twice,
 * never sent; lines missing on the tail moved to the missing list after wait, found
 * by a query or counted missing after max_wait; spot checks due after their wait and
 * dropped after spot_max; the lists' caps; the line parser; the metrics text; the
 * flags with loki-canary's names and defaults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cairn/log.h"
#include "canary/canary_int.h"

#define S 1000000000LL

struct fixture {
    struct cairn__canary_metrics m;
    struct cairn__canary_cmp c;
};

static struct fixture *setup_with(size_t max_pending)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    assert_int_equal(cairn__canary_metrics_init(&f->m, 10), 0);
    struct cairn__canary_cmp_config cfg = {
        .wait_ns = 60 * S, .max_wait_ns = 300 * S, .spot_interval_ns = 10 * S,
        .spot_max_ns = 100 * S, .spot_wait_ns = 5 * S, .max_pending = max_pending,
    };
    assert_int_equal(cairn__canary_cmp_init(&f->c, &cfg, &f->m), 0);
    return f;
}

static void teardown(struct fixture *f)
{
    cairn__canary_cmp_deinit(&f->c);
    cairn__canary_metrics_deinit(&f->m);
    free(f);
}

static uint64_t latency_count(struct fixture *f)
{
    uint64_t n = 0;
    for (size_t i = 0; i <= f->m.latency.n; i++)
        n += f->m.latency.count[i];
    return n;
}

static void in_order(void **state)
{
    (void)state;
    struct fixture *f = setup_with(1024);
    for (int64_t t = 1; t <= 5; t++)
        assert_int_equal(cairn__canary_cmp_sent(&f->c, t * S), 0);
    for (int64_t t = 1; t <= 5; t++)
        cairn__canary_cmp_received(&f->c, t * S, t * S + S); /* 1 s latency */
    assert_int_equal(f->m.entries, 5);
    assert_int_equal(f->m.out_of_order, 0);
    assert_int_equal(f->m.duplicate, 0);
    assert_int_equal(f->m.unexpected, 0);
    assert_int_equal(latency_count(f), 5);
    assert_int_equal(f->m.latency.count[1], 5); /* 0.5 < 1 <= 1 */
    size_t p, m, a, s;
    cairn__canary_cmp_sizes(&f->c, &p, &m, &a, &s);
    assert_int_equal(p, 0);
    assert_int_equal(a, 5);
    teardown(f);
}

static void out_of_order_then_the_skipped_ones(void **state)
{
    (void)state;
    struct fixture *f = setup_with(1024);
    for (int64_t t = 1; t <= 4; t++)
        cairn__canary_cmp_sent(&f->c, t * S);
    cairn__canary_cmp_received(&f->c, 3 * S, 5 * S); /* 1 and 2 still pending: out of order */
    cairn__canary_cmp_received(&f->c, 1 * S, 5 * S); /* the oldest: in order */
    cairn__canary_cmp_received(&f->c, 4 * S, 5 * S); /* 2 still pending: out of order */
    cairn__canary_cmp_received(&f->c, 2 * S, 5 * S);
    assert_int_equal(f->m.out_of_order, 2);
    assert_int_equal(f->m.duplicate, 0);
    assert_int_equal(latency_count(f), 4);
    teardown(f);
}

static void duplicate_and_unexpected(void **state)
{
    (void)state;
    struct fixture *f = setup_with(1024);
    cairn__canary_cmp_sent(&f->c, 1 * S);
    cairn__canary_cmp_received(&f->c, 1 * S, 2 * S);
    cairn__canary_cmp_received(&f->c, 1 * S, 2 * S); /* again: duplicate */
    cairn__canary_cmp_received(&f->c, 7 * S, 2 * S); /* never sent: unexpected */
    assert_int_equal(f->m.duplicate, 1);
    assert_int_equal(f->m.unexpected, 1);
    assert_int_equal(latency_count(f), 1);
    /* once the acknowledgement is older than wait, a copy is unexpected, not a duplicate */
    int64_t lo, hi;
    cairn__canary_cmp_prune(&f->c, 1 * S + 61 * S, &lo, &hi);
    cairn__canary_cmp_received(&f->c, 1 * S, 62 * S);
    assert_int_equal(f->m.duplicate, 1);
    assert_int_equal(f->m.unexpected, 2);
    teardown(f);
}

static void missing_after_wait_found_or_given_up(void **state)
{
    (void)state;
    struct fixture *f = setup_with(1024);
    for (int64_t t = 1; t <= 6; t++)
        cairn__canary_cmp_sent(&f->c, t * S);
    cairn__canary_cmp_received(&f->c, 1 * S, 2 * S);
    cairn__canary_cmp_received(&f->c, 2 * S, 3 * S);
    int64_t lo = 0, hi = 0;
    /* before wait ran out: nothing is missing */
    assert_int_equal(cairn__canary_cmp_prune(&f->c, 30 * S, &lo, &hi), 0);
    assert_int_equal(f->m.ws_missing, 0);
    /* at 64 s lines 3 and 4 (older than 60 s) are missing on the tail; 5 and 6 wait */
    assert_int_equal(cairn__canary_cmp_prune(&f->c, 64 * S + 1, &lo, &hi), 2);
    assert_int_equal(lo, 3 * S);
    assert_int_equal(hi, 4 * S);
    assert_int_equal(f->m.ws_missing, 2);
    /* a query finds line 3 (and some others): 4 stays missing, not yet given up */
    int64_t found[] = {9 * S, 3 * S, 1 * S};
    assert_int_equal(cairn__canary_cmp_confirm(&f->c, found, 3, 65 * S), 0);
    assert_int_equal(f->m.missing, 0);
    /* later, 5 and 6 go missing too; nothing found; 4 is past max_wait (300 s) */
    assert_int_equal(cairn__canary_cmp_prune(&f->c, 304 * S + 1, &lo, &hi), 3);
    assert_int_equal(f->m.ws_missing, 4);
    assert_int_equal(cairn__canary_cmp_confirm(&f->c, NULL, 0, 304 * S + 1), 1);
    assert_int_equal(f->m.missing, 1);
    /* a line that comes back after it was given up on is unexpected */
    cairn__canary_cmp_received(&f->c, 4 * S, 305 * S);
    assert_int_equal(f->m.unexpected, 1);
    assert_int_equal(cairn__canary_cmp_confirm(&f->c, NULL, 0, 400 * S), 2);
    assert_int_equal(f->m.missing, 3);
    size_t p, m, a, s;
    cairn__canary_cmp_sizes(&f->c, &p, &m, &a, &s);
    assert_int_equal(p, 0);
    assert_int_equal(m, 0);
    teardown(f);
}

static void spot_checks_due_after_wait_dropped_after_max(void **state)
{
    (void)state;
    struct fixture *f = setup_with(1024);
    for (int64_t t = 0; t < 40; t++) /* one a second; kept one per 10 s: 0, 10, 20, 30 */
        cairn__canary_cmp_sent(&f->c, 1000 * S + t * S);
    int64_t *due;
    size_t n;
    assert_int_equal(cairn__canary_cmp_spot_due(&f->c, 1000 * S + 33 * S, &due, &n), 0);
    assert_int_equal(n, 3); /* 30 is younger than the 5 s initial wait */
    assert_int_equal(due[0], 1000 * S);
    assert_int_equal(due[2], 1020 * S);
    free(due);
    assert_int_equal(cairn__canary_cmp_spot_due(&f->c, 1000 * S + 115 * S, &due, &n), 0);
    assert_int_equal(n, 2); /* 0 and 10 are older than spot_max (100 s) */
    assert_int_equal(due[0], 1020 * S);
    free(due);
    teardown(f);
}

static void lists_are_capped(void **state)
{
    (void)state;
    struct fixture *f = setup_with(4);
    for (int64_t t = 1; t <= 10; t++)
        assert_int_equal(cairn__canary_cmp_sent(&f->c, t * S), 0);
    size_t p, m, a, s;
    cairn__canary_cmp_sizes(&f->c, &p, &m, &a, &s);
    assert_int_equal(p, 4);
    assert_true(m <= 4);
    assert_int_equal(f->m.ws_missing, 6);          /* handed over when pending was full */
    assert_int_equal(f->m.missing, 6 - m);         /* and given up when missing was full */
    assert_int_equal(f->m.entries, 10);
    teardown(f);
}

static void parse_line(void **state)
{
    (void)state;
    int64_t ts = 0;
    const char *ok = "1557935669096040040 pppppp";
    assert_int_equal(cairn__canary_parse_line(ok, strlen(ok), &ts), 0);
    assert_int_equal(ts, 1557935669096040040LL);
    assert_int_equal(cairn__canary_parse_line("1557935669096040040 ", 20, &ts), 0);
    assert_int_not_equal(cairn__canary_parse_line("12 pp pp", 8, &ts), 0);
    assert_int_not_equal(cairn__canary_parse_line("12pp", 4, &ts), 0);
    assert_int_not_equal(cairn__canary_parse_line("x1 pp", 5, &ts), 0);
}

static void metrics_text_has_loki_canary_names(void **state)
{
    (void)state;
    struct fixture *f = setup_with(16);
    cairn__canary_cmp_sent(&f->c, 1 * S);
    cairn__canary_cmp_received(&f->c, 1 * S, 4 * S); /* 3 s: in the le="4" bucket */
    struct cairn_buf b = CAIRN_BUF_INIT;
    assert_int_equal(cairn__canary_metrics_write(&f->m, &b), 0);
    const char *want[] = {
        "loki_canary_entries_total 1\n", "loki_canary_missing_entries_total 0\n",
        "loki_canary_websocket_missing_entries_total 0\n",
        "loki_canary_out_of_order_entries_total 0\n", "loki_canary_duplicate_entries_total 0\n",
        "loki_canary_unexpected_entries_total 0\n", "loki_canary_spot_check_entries_total 0\n",
        "loki_canary_spot_check_missing_entries_total 0\n", "loki_canary_metric_test_expected 0\n",
        "loki_canary_metric_test_actual 0\n",
        "loki_canary_response_latency_seconds_bucket{le=\"2\"} 0\n",
        "loki_canary_response_latency_seconds_bucket{le=\"4\"} 1\n",
        "loki_canary_response_latency_seconds_bucket{le=\"256\"} 1\n",
        "loki_canary_response_latency_seconds_bucket{le=\"+Inf\"} 1\n",
        "loki_canary_response_latency_seconds_count 1\n",
        "# TYPE loki_canary_spot_check_request_duration_seconds histogram\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(b.data, want[i]))
            fail_msg("missing from /metrics: %s\n%s", want[i], b.data);
    cairn_buf_deinit(&b);
    teardown(f);
}

static void flags_as_loki_canary_takes_them(void **state)
{
    (void)state;
    struct cairn_err err;
    cairn_err_clear(&err);
    if (cairn_cfg_table_validate(&cairn_canary_config_table, &err))
        fail_msg("table: %s", err.msg);
    struct cairn_canary_config cfg;
    struct cairn_cfg c = {0};
    assert_int_equal(cairn_cfg_init(&c, &cairn_canary_config_table, &cfg, NULL, &err), 0);
    /* loki-canary's defaults */
    assert_string_equal(cfg.labelname, "name");
    assert_string_equal(cfg.labelvalue, "loki-canary");
    assert_string_equal(cfg.streamname, "stream");
    assert_string_equal(cfg.streamvalue, "stdout");
    assert_int_equal(cfg.port, 3500);
    assert_int_equal(cfg.size, 100);
    assert_int_equal(cfg.interval_ns, 1 * S);
    assert_int_equal(cfg.wait_ns, 60 * S);
    assert_int_equal(cfg.max_wait_ns, 300 * S);
    assert_int_equal(cfg.spot_interval_ns, 900 * S);
    assert_int_equal(cfg.metric_range_ns, 24 * 3600 * S);
    char *argv[] = {"canary", "-addr", "loki:3100", "-push", "-interval=50ms", "--wait", "2s",
                    "-tenant-id", "t1", "-spot-check-initial-wait=3s", "-tls=false"};
    struct cairn_cfg_args a;
    assert_int_equal(cairn_cfg_args_parse(&c, sizeof argv / sizeof argv[0], argv, &a, &err), 0);
    assert_int_equal(cairn_cfg_args_apply(&c, &a, &err), 0);
    cairn_cfg_args_deinit(&a);
    assert_string_equal(cfg.addr, "loki:3100");
    assert_int_equal(cfg.push, 1);
    assert_int_equal(cfg.tls, 0);
    assert_int_equal(cfg.interval_ns, 50000000LL);
    assert_int_equal(cfg.wait_ns, 2 * S);
    assert_int_equal(cfg.spot_wait_ns, 3 * S);
    assert_string_equal(cfg.tenant_id, "t1");
    char *bad[] = {"canary", "-pruneintervall", "1s"};
    assert_int_not_equal(cairn_cfg_args_parse(&c, 3, bad, &a, &err), 0);
    assert_non_null(strstr(err.msg, "pruneinterval"));
    cairn_cfg_args_deinit(&a);
    cairn_cfg_deinit(&c);
}

int main(void)
{
    cairn_log_set_level(CAIRN_LOG_ERROR); /* the comparator warns about every test case */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(in_order),
        cmocka_unit_test(out_of_order_then_the_skipped_ones),
        cmocka_unit_test(duplicate_and_unexpected),
        cmocka_unit_test(missing_after_wait_found_or_given_up),
        cmocka_unit_test(spot_checks_due_after_wait_dropped_after_max),
        cmocka_unit_test(lists_are_capped),
        cmocka_unit_test(parse_line),
        cmocka_unit_test(metrics_text_has_loki_canary_names),
        cmocka_unit_test(flags_as_loki_canary_takes_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
