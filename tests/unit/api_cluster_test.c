/* api_cluster_test.c -- the api in cluster mode, in-process: one node (inmemory ring,
 * write and read roles) reads its own store in place plus a further read source (the
 * object-storage hook): entries found in both collapse to one, entries only in the
 * source are answered, a failing source fails the query with 503 naming it; /ring and
 * /services describe the node. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "cairn/api.h"
#include "cairn/push.h"
#include "cairn/ring.h"
#include "cairn/store.h"
#include "cairn/timeutil.h"
#include "testutil.h"

static int64_t T0;

struct src {
    int fail;
    int calls;
};

/* The bucket stand-in: the line pushed at T0 again (a replica) and one older line. */
static int source(void *ctx, const char *tenant, const char *sel, int64_t start, int64_t end,
                  int series_only, size_t max_bytes, struct cairn_push_body *body)
{
    (void)sel;
    (void)series_only;
    (void)max_bytes;
    struct src *s = ctx;
    s->calls++;
    assert_string_equal(tenant, "fake");
    assert_true(start <= T0 - 1000 && end > T0);
    if (s->fail)
        return CAIRN_EIO;
    const char *ls = "{app=\"a\"}";
    assert_int_equal(cairn_push_body_add(body, ls, strlen(ls), T0, "pushed", 6), 0);
    assert_int_equal(cairn_push_body_add(body, ls, strlen(ls), T0 - 1000, "uploaded", 8), 0);
    return 0;
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    return cairn_buf_append(ud, p, size * n) ? 0 : size * n;
}

static long http(unsigned port, const char *path, const char *json, struct cairn_buf *out)
{
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
    cairn_buf_reset(out);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    if (json)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    long st = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    curl_slist_free_all(hd);
    curl_easy_cleanup(c);
    return st;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void reads_merge_store_and_source(void **state)
{
    (void)state;
    T0 = cairn_now_ns() - 60LL * 1000000000LL;
    char *dir = test_mkdtemp("apicl");
    struct cairn_err err = {0};
    struct cairn_api_config ac;
    cairn_api_config_default(&ac);
    ac.listen = "127.0.0.1:0";
    struct cairn_api *api = cairn_api_create(&ac, &err);
    assert_non_null(api);
    unsigned port = cairn_api_port(api);
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
    struct cairn_ring_config rc;
    cairn_ring_config_default(&rc);
    rc.instance_id = "n1";
    rc.instance_addr = addr;
    struct cairn_ring *ring = cairn_ring_create(&rc, &err);
    assert_non_null(ring);
    struct src s = {0};
    char scratch[512];
    snprintf(scratch, sizeof scratch, "%s/scratch", dir);
    struct cairn_api_cluster cl = {.ring = ring, .target = "all", .roles = rc.roles,
                                   .replication_factor = 1, .forward_timeout_ns = 2000000000LL,
                                   .scratch_dir = scratch, .read_source = source,
                                   .read_source_ctx = &s};
    assert_int_equal(cairn_api_set_cluster(api, &cl, &err), 0);
    struct cairn_store_config sc;
    cairn_store_config_default(&sc);
    sc.data_dir = dir;
    struct cairn_store *st = cairn_store_open(&sc, &err);
    assert_non_null(st);
    cairn_api_set_store(api, st);
    assert_int_equal(cairn_ring_set_state(ring, CAIRN_RING_ACTIVE), 0);

    struct cairn_buf out = CAIRN_BUF_INIT;
    char body[256];
    snprintf(body, sizeof body, "{\"streams\":[{\"stream\":{\"app\":\"a\"},\"values\":[[\"%lld\",\"pushed\"]]}]}",
             (long long)T0);
    assert_int_equal(http(port, "/loki/api/v1/push", body, &out), 204);
    char q[256];
    snprintf(q, sizeof q, "/loki/api/v1/query_range?query=%%7Bapp%%3D%%22a%%22%%7D&start=%lld&end=%lld",
             (long long)(T0 - 1000000000LL), (long long)(T0 + 1000000000LL));
    assert_int_equal(http(port, q, NULL, &out), 200);
    assert_int_equal(count(out.data, "\"pushed\""), 1); /* store and source: one entry */
    assert_int_equal(count(out.data, "\"uploaded\""), 1);
    assert_int_equal(s.calls, 1);

    s.fail = 1;
    assert_int_equal(http(port, q, NULL, &out), 503);
    assert_non_null(strstr(out.data, "object storage"));

    assert_int_equal(http(port, "/ring?format=json", NULL, &out), 200);
    assert_non_null(strstr(out.data, "\"id\":\"n1\""));
    assert_non_null(strstr(out.data, "\"state\":\"ACTIVE\""));
    assert_int_equal(http(port, "/services", NULL, &out), 200);
    assert_non_null(strstr(out.data, "ingester => Running"));
    assert_non_null(strstr(out.data, "querier => Running"));
    assert_int_equal(http(port, "/internal/read?query=%7Bapp%3D%22a%22%7D", NULL, &out), 200);

    cairn_buf_deinit(&out);
    cairn_api_stop(api);
    cairn_api_set_store(api, NULL);
    cairn_store_close(st);
    cairn_api_destroy(api);
    cairn_ring_destroy(ring);
    test_rmdir_r(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_merge_store_and_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
