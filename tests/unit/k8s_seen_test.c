/* k8s_seen_test.c -- the exactly-once bookkeeping: seen table (growth, pruning,
 * resourceVersion order), state file round trip and damage detection, and the
 * old_event cache's byte budget. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "k8s/k8s_int.h"
#include "testutil.h"

static void seen_grows_and_prunes(void **state)
{
    (void)state;
    struct cairn__seen t;
    assert_int_equal(cairn__seen_init(&t, 0), 0);
    char uid[64];
    for (int i = 0; i < 50000; i++) {
        snprintf(uid, sizeof uid, "uid-%d", i);
        assert_int_equal(cairn__seen_put(&t, cairn__uid_key(uid, strlen(uid)), (uint64_t)i,
                                         i < 25000 ? 6000 : 12000), 0);
    }
    assert_int_equal(t.n, 50000);
    assert_true(t.n * 5 <= t.cap * 4);
    snprintf(uid, sizeof uid, "uid-%d", 123);
    struct cairn__seen_slot *s = cairn__seen_find(&t, cairn__uid_key(uid, strlen(uid)));
    assert_non_null(s);
    assert_int_equal(cairn__slot_rv(s), 123);
    assert_int_equal(cairn__slot_minute(s), 100);
    /* overwrite keeps one entry */
    assert_int_equal(cairn__seen_put(&t, s->uid, 999, 18000), 0);
    assert_int_equal(t.n, 50000);
    /* at 18000 s with a TTL of 6000 s, entries written at 6000 go; the rewritten one stays */
    assert_int_equal(cairn__seen_prune(&t, 18000, 6000), 0);
    assert_int_equal(t.n, 25001);
    s = cairn__seen_find(&t, cairn__uid_key(uid, strlen(uid)));
    assert_non_null(s);
    assert_int_equal(cairn__slot_rv(s), 999);
    snprintf(uid, sizeof uid, "uid-%d", 124);
    assert_null(cairn__seen_find(&t, cairn__uid_key(uid, strlen(uid))));
    snprintf(uid, sizeof uid, "uid-%d", 40000);
    assert_non_null(cairn__seen_find(&t, cairn__uid_key(uid, strlen(uid))));
    cairn__seen_deinit(&t);
}

static void rv_order(void **state)
{
    (void)state;
    uint64_t a = cairn__rv_key("99", 2), b = cairn__rv_key("100", 3);
    assert_true(cairn__rv_newer(b, a));
    assert_false(cairn__rv_newer(a, b));
    assert_false(cairn__rv_newer(a, a));
    /* opaque versions: only "different" can be told */
    uint64_t x = cairn__rv_key("abc", 3), y = cairn__rv_key("abd", 3);
    assert_true(x & CAIRN_K8S_RV_OPAQUE);
    assert_true(cairn__rv_newer(x, y));
    assert_false(cairn__rv_newer(x, x));
    assert_true(cairn__rv_newer(x, a));
    assert_int_not_equal(cairn__uid_key("", 0), 0);
    /* beyond 2^43 a number is kept as an opaque version */
    assert_true(cairn__rv_key("99999999999999", 14) & CAIRN_K8S_RV_OPAQUE);
    assert_int_equal(cairn__rv_key("8796093022207", 13), 8796093022207ULL);
}

static void state_round_trip_and_damage(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("k8s-state");
    char path[4096];
    snprintf(path, sizeof path, "%s/st", dir);
    struct cairn__seen t, t2;
    struct cairn__state st = {0}, st2 = {0};
    struct cairn_buf scratch = CAIRN_BUF_INIT;
    assert_int_equal(cairn__seen_init(&t, 0), 0);
    assert_int_equal(cairn__seen_init(&t2, 0), 0);
    assert_int_equal(cairn__state_load(path, &st2, &t2), CAIRN_ENOTFOUND);
    for (uint64_t i = 1; i <= 1000; i++)
        assert_int_equal(cairn__seen_put(&t, i * 7919, i, (int64_t)i * 60), 0);
    assert_int_equal(cairn__state_set_rv(&st, "/api/v1/events", "12345"), 0);
    assert_int_equal(cairn__state_set_rv(&st, "/api/v1/namespaces/a/events", "7"), 0);
    assert_int_equal(cairn__state_set_rv(&st, "/api/v1/events", "12346"), 0);
    assert_int_equal(cairn__state_save(path, &st, &t, &scratch), 0);
    assert_int_equal(cairn__state_load(path, &st2, &t2), 0);
    assert_int_equal(st2.nrvs, 2);
    assert_string_equal(cairn__state_get_rv(&st2, "/api/v1/events"), "12346");
    assert_string_equal(cairn__state_get_rv(&st2, "/api/v1/namespaces/a/events"), "7");
    assert_null(cairn__state_get_rv(&st2, "/other"));
    assert_int_equal(t2.n, 1000);
    struct cairn__seen_slot *s = cairn__seen_find(&t2, 500 * 7919);
    assert_non_null(s);
    assert_int_equal(cairn__slot_rv(s), 500);
    assert_int_equal(cairn__slot_minute(s), 500);
    /* one flipped byte: refused, not half-loaded */
    size_t len;
    char *bytes = test_read_file(path, &len);
    assert_non_null(bytes);
    bytes[len / 2] ^= 0x20;
    FILE *fp = fopen(path, "wb");
    fwrite(bytes, 1, len, fp);
    fclose(fp);
    struct cairn__seen t3;
    struct cairn__state st3 = {0};
    assert_int_equal(cairn__seen_init(&t3, 0), 0);
    assert_int_equal(cairn__state_load(path, &st3, &t3), CAIRN_ECORRUPT);
    /* truncated */
    fp = fopen(path, "wb");
    fwrite(bytes, 1, len - 9, fp);
    fclose(fp);
    assert_int_equal(cairn__state_load(path, &st3, &t3), CAIRN_ECORRUPT);
    free(bytes);
    cairn__state_deinit(&st3);
    cairn__seen_deinit(&t3);
    cairn__state_deinit(&st);
    cairn__state_deinit(&st2);
    cairn__seen_deinit(&t);
    cairn__seen_deinit(&t2);
    cairn_buf_deinit(&scratch);
    test_rmdir_r(dir);
    free(dir);
}

/* The fuzz seed was written by hand from docs/EVENTS.md: the documented format loads. */
static void state_format_as_documented(void **state)
{
    (void)state;
    const char *src = getenv("CAIRN_SRC");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fuzz/corpus/k8s_state_fuzz/one_watch",
             src ? src : ".");
    struct cairn__seen t;
    struct cairn__state st = {0};
    assert_int_equal(cairn__seen_init(&t, 0), 0);
    assert_int_equal(cairn__state_load(path, &st, &t), 0);
    assert_string_equal(cairn__state_get_rv(&st, "/api/v1/events"), "1234");
    assert_int_equal(t.n, 2);
    struct cairn__seen_slot *s = cairn__seen_find(&t, 7);
    assert_non_null(s);
    assert_int_equal(cairn__slot_rv(s), 1234);
    assert_int_equal(cairn__slot_minute(s), 100);
    cairn__state_deinit(&st);
    cairn__seen_deinit(&t);
}

static void old_cache_budget(void **state)
{
    (void)state;
    struct cairn__oldcache c;
    assert_int_equal(cairn__oldcache_init(&c, 64 * 1024), 0);
    char json[200];
    for (uint64_t i = 1; i <= 5000; i++) {
        memset(json, 'a' + (int)(i % 26), sizeof json);
        assert_int_equal(cairn__oldcache_put(&c, i, json, sizeof json - (i % 7)), 0);
        assert_true(c.used <= c.cap);
    }
    assert_true(c.n > 200 && c.n < 400); /* ~64 KiB / ~216 bytes */
    size_t len = 0;
    assert_null(cairn__oldcache_get(&c, 1, &len)); /* oldest fell off */
    /* every entry still indexed has its own text */
    size_t live = 0;
    for (uint64_t i = 1; i <= 5000; i++) {
        const char *got = cairn__oldcache_get(&c, i, &len);
        if (!got)
            continue;
        live++;
        assert_int_equal(len, sizeof json - (i % 7));
        assert_int_equal(got[0], 'a' + (int)(i % 26));
        assert_int_equal(got[len - 1], 'a' + (int)(i % 26));
        assert_int_equal(got[len], '\0');
    }
    assert_int_equal(live, c.n);
    assert_non_null(cairn__oldcache_get(&c, 5000, &len));
    /* replace and delete */
    assert_int_equal(cairn__oldcache_put(&c, 5000, "{\"a\":1}", 7), 0);
    const char *got = cairn__oldcache_get(&c, 5000, &len);
    assert_string_equal(got, "{\"a\":1}");
    size_t n = c.n;
    cairn__oldcache_del(&c, 5000);
    assert_null(cairn__oldcache_get(&c, 5000, &len));
    assert_int_equal(c.n, n - 1);
    /* larger than the ring: not kept, nothing else lost */
    char *big = calloc(1, 70000);
    assert_int_equal(cairn__oldcache_put(&c, 42, big, 70000), 0);
    assert_null(cairn__oldcache_get(&c, 42, &len));
    assert_int_equal(c.n, n - 1);
    free(big);
    /* sizes from 1 byte to 5 KB: the ring wraps at every possible offset */
    static char var[5000];
    for (uint64_t i = 1; i <= 20000; i++) {
        size_t vl = 1 + (size_t)(i * 7919 % sizeof var);
        memset(var, 'A' + (int)(i % 26), vl);
        assert_int_equal(cairn__oldcache_put(&c, 100000 + i, var, vl), 0);
        assert_true(c.used <= c.cap);
        got = cairn__oldcache_get(&c, 100000 + i, &len);
        assert_non_null(got);
        assert_int_equal(len, vl);
        assert_int_equal(got[vl - 1], 'A' + (int)(i % 26));
    }
    live = 0;
    for (uint64_t i = 1; i <= 20000; i++) {
        got = cairn__oldcache_get(&c, 100000 + i, &len);
        if (got) {
            live++;
            assert_int_equal(len, 1 + (size_t)(i * 7919 % sizeof var));
            assert_int_equal(got[0], 'A' + (int)(i % 26));
        }
    }
    assert_int_equal(live, c.n);
    /* one uid written again and again: the index keeps only its newest copy */
    for (int k = 0; k < 1000; k++)
        assert_int_equal(cairn__oldcache_put(&c, 7777, "x", 1), 0);
    assert_string_equal(cairn__oldcache_get(&c, 7777, &len), "x");
    cairn__oldcache_deinit(&c);
    /* a zero budget keeps nothing and does not fail */
    assert_int_equal(cairn__oldcache_init(&c, 0), 0);
    assert_int_equal(cairn__oldcache_put(&c, 1, "x", 1), 0);
    assert_null(cairn__oldcache_get(&c, 1, &len));
    cairn__oldcache_deinit(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(seen_grows_and_prunes),
        cmocka_unit_test(rv_order),
        cmocka_unit_test(state_round_trip_and_damage),
        cmocka_unit_test(state_format_as_documented),
        cmocka_unit_test(old_cache_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
