/* api_metrics_test.c -- request duration histograms: cumulative buckets, sum and
 * count per route and status code, in Prometheus text format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/api_int.h"

static void histogram_buckets_are_cumulative(void **state)
{
    (void)state;
    struct cairn__metrics *m = calloc(1, sizeof *m);
    assert_non_null(m);
    cairn__metrics_observe(m, 0, 204, 1000000);     /* 1 ms */
    cairn__metrics_observe(m, 0, 204, 30000000);    /* 30 ms */
    cairn__metrics_observe(m, 0, 204, 20000000000); /* 20 s: only +Inf */
    cairn__metrics_observe(m, 0, 400, 2000000);
    cairn__metrics_observe(m, cairn__n_routes, 404, 1000); /* no route: "other" */
    struct cairn_buf out = CAIRN_BUF_INIT;
    assert_int_equal(cairn__metrics_render(m, &out), 0);
    const char *s = cairn_buf_cstr(&out);
    assert_non_null(strstr(s, "# TYPE cairn_request_duration_seconds histogram\n"));
    assert_non_null(strstr(s, "cairn_request_duration_seconds_bucket{route=\"loki_api_v1_push\","
                              "status_code=\"204\",le=\"0.005\"} 1\n"));
    assert_non_null(strstr(s, "cairn_request_duration_seconds_bucket{route=\"loki_api_v1_push\","
                              "status_code=\"204\",le=\"0.05\"} 2\n"));
    assert_non_null(strstr(s, "cairn_request_duration_seconds_bucket{route=\"loki_api_v1_push\","
                              "status_code=\"204\",le=\"10\"} 2\n"));
    assert_non_null(strstr(s, "cairn_request_duration_seconds_bucket{route=\"loki_api_v1_push\","
                              "status_code=\"204\",le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(s, "cairn_request_duration_seconds_count{route=\"loki_api_v1_push\","
                              "status_code=\"204\"} 3\n"));
    assert_non_null(strstr(s, "cairn_request_duration_seconds_sum{route=\"loki_api_v1_push\","
                              "status_code=\"204\"} 20.031000000\n"));
    assert_non_null(strstr(s, "status_code=\"400\",le=\"+Inf\"} 1\n"));
    assert_non_null(strstr(s, "{route=\"other\",status_code=\"404\",le=\"+Inf\"} 1\n"));
    cairn_buf_deinit(&out);
    free(m);
}

static void too_many_status_codes_are_dropped_not_crashed(void **state)
{
    (void)state;
    struct cairn__metrics *m = calloc(1, sizeof *m);
    assert_non_null(m);
    for (int code = 200; code < 200 + CAIRN_METRIC_STATUSES + 5; code++)
        cairn__metrics_observe(m, 1, code, 1000);
    cairn__metrics_observe(m, CAIRN_ROUTES_MAX + 3, 200, 1000); /* out of range: ignored */
    struct cairn_buf out = CAIRN_BUF_INIT;
    assert_int_equal(cairn__metrics_render(m, &out), 0);
    size_t n = 0;
    for (const char *p = out.data; (p = strstr(p, "_count{")) != NULL; p++)
        n++;
    assert_int_equal(n, CAIRN_METRIC_STATUSES);
    cairn_buf_deinit(&out);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(histogram_buckets_are_cumulative),
        cmocka_unit_test(too_many_status_codes_are_dropped_not_crashed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
