/* ring_test.c -- token ring ownership: stable, balanced within bounds, rf distinct
 * ACTIVE writers, bounded movement when a node joins; member JSON round trip; the
 * inmemory and static membership views. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cairn/ring.h"

static uint32_t toks[32][CAIRN_RING_TOKENS];

static struct cairn_ring_view *make(size_t n, const char *prefix)
{
    struct cairn_ring_member m[32];
    memset(m, 0, sizeof m);
    for (size_t i = 0; i < n; i++) {
        snprintf(m[i].id, sizeof m[i].id, "%s-%zu", prefix, i);
        snprintf(m[i].addr, sizeof m[i].addr, "10.0.0.%zu:3100", i);
        m[i].state = CAIRN_RING_ACTIVE;
        m[i].roles = CAIRN_RING_ROLE_WRITE;
        cairn_ring_tokens(m[i].id, toks[i], CAIRN_RING_TOKENS);
        m[i].tokens = toks[i];
        m[i].n_tokens = CAIRN_RING_TOKENS;
    }
    struct cairn_ring_view *v = cairn_ring_view_build(m, n);
    assert_non_null(v);
    return v;
}

static void owners_are_distinct_and_stable(void **state)
{
    (void)state;
    struct cairn_ring_view *a = make(5, "w"), *b = make(5, "w");
    for (uint64_t fp = 1; fp < 2000; fp++) {
        uint32_t oa[3], ob[3];
        uint32_t key = cairn_ring_key("tenant", fp * 0x9e3779b97f4a7c15ULL);
        assert_int_equal(cairn_ring_owners(a, key, 3, oa), 3);
        assert_int_equal(cairn_ring_owners(b, key, 3, ob), 3);
        assert_memory_equal(oa, ob, sizeof oa); /* same members -> same owners */
        assert_true(oa[0] != oa[1] && oa[1] != oa[2] && oa[0] != oa[2]);
    }
    /* the tenant is part of the key */
    int differ = 0;
    for (uint64_t fp = 1; fp < 100; fp++)
        differ += cairn_ring_key("a", fp) != cairn_ring_key("b", fp);
    assert_true(differ > 90);
    cairn_ring_view_free(a);
    cairn_ring_view_free(b);
}

static void rf_bounded_by_active_writers(void **state)
{
    (void)state;
    struct cairn_ring_view *v = make(3, "w");
    uint32_t o[5];
    assert_int_equal(cairn_ring_owners(v, 12345, 5, o), 3);
    v->members[1].state = CAIRN_RING_JOINING; /* only ACTIVE writers own */
    assert_int_equal(cairn_ring_owners(v, 12345, 3, o), 2);
    for (size_t i = 0; i < 2; i++)
        assert_int_not_equal(o[i], 1);
    v->members[0].roles = CAIRN_RING_ROLE_READ;
    assert_int_equal(cairn_ring_owners(v, 999, 3, o), 1);
    assert_int_equal(o[0], 2);
    cairn_ring_view_free(v);
    struct cairn_ring_view *empty = cairn_ring_view_build(NULL, 0);
    assert_non_null(empty);
    assert_int_equal(cairn_ring_owners(empty, 1, 3, o), 0);
    cairn_ring_view_free(empty);
}

static void balanced_within_bounds(void **state)
{
    (void)state;
    for (size_t n = 2; n <= 10; n += 4) {
        struct cairn_ring_view *v = make(n, "node");
        double share[16], sum = 0;
        cairn_ring_ownership(v, share);
        for (size_t i = 0; i < n; i++) {
            sum += share[i];
            /* 128 random tokens: each node within +-35% of the even share */
            assert_true(share[i] > 0.65 / (double)n);
            assert_true(share[i] < 1.35 / (double)n);
        }
        assert_true(sum > 0.999 && sum < 1.001);
        /* streams land close to those shares */
        size_t cnt[16] = {0}, total = 20000;
        for (uint64_t fp = 0; fp < total; fp++) {
            uint32_t o;
            cairn_ring_owners(v, cairn_ring_key("fake", fp), 1, &o);
            cnt[o]++;
        }
        for (size_t i = 0; i < n; i++)
            assert_true((double)cnt[i] / (double)total < 1.4 / (double)n);
        cairn_ring_view_free(v);
    }
}

static void join_moves_a_bounded_share(void **state)
{
    (void)state;
    struct cairn_ring_view *a = make(4, "n"), *b = make(5, "n");
    size_t moved = 0, total = 20000;
    for (uint64_t fp = 0; fp < total; fp++) {
        uint32_t oa, ob;
        uint32_t key = cairn_ring_key("fake", fp);
        cairn_ring_owners(a, key, 1, &oa);
        cairn_ring_owners(b, key, 1, &ob);
        /* a stream only ever moves to the newcomer, never between old nodes */
        if (strcmp(a->members[oa].id, b->members[ob].id) != 0) {
            assert_string_equal(b->members[ob].id, "n-4");
            moved++;
        }
    }
    /* the newcomer takes about 1/5; a modulo hash would move 4/5 */
    assert_true(moved < total * 30 / 100);
    assert_true(moved > total * 10 / 100);
    cairn_ring_view_free(a);
    cairn_ring_view_free(b);
}

static void member_json_round_trip(void **state)
{
    (void)state;
    struct cairn_ring_member m = {.state = CAIRN_RING_LEAVING,
                                  .roles = CAIRN_RING_ROLE_WRITE | CAIRN_RING_ROLE_BACKEND,
                                  .heartbeat_ns = 1700000000123456789LL};
    strcpy(m.addr, "10.1.2.3:3100");
    uint32_t t[3] = {1, 4000000000u, 77};
    m.tokens = t;
    m.n_tokens = 3;
    struct cairn_buf b = CAIRN_BUF_INIT;
    assert_int_equal(cairn_ring_member_json(&m, &b), 0);
    struct cairn_ring_member p;
    memset(&p, 0, sizeof p);
    assert_int_equal(cairn_ring_member_parse(b.data, b.len, &p), 0);
    assert_string_equal(p.addr, "10.1.2.3:3100");
    assert_int_equal(p.state, CAIRN_RING_LEAVING);
    assert_int_equal(p.roles, m.roles);
    assert_int_equal(p.heartbeat_ns, m.heartbeat_ns);
    assert_int_equal(p.n_tokens, 3);
    assert_int_equal(p.tokens[1], 4000000000u);
    free(p.tokens);
    assert_int_equal(cairn_ring_member_parse("{\"state\":1}", 11, &p), CAIRN_EINVAL);
    cairn_buf_deinit(&b);
}

static void static_and_inmemory_views(void **state)
{
    (void)state;
    struct cairn_ring_config cfg;
    struct cairn_err err;
    cairn_ring_config_default(&cfg);
    cfg.instance_id = "a:1";
    cfg.instance_addr = "a:1";
    struct cairn_ring *r = cairn_ring_create(&cfg, &err);
    assert_non_null(r);
    struct cairn_ring_view *v = cairn_ring_view_get(r);
    assert_int_equal(v->n, 1);
    assert_int_equal(v->members[0].state, CAIRN_RING_JOINING);
    cairn_ring_view_put(r, v);
    assert_int_equal(cairn_ring_set_state(r, CAIRN_RING_ACTIVE), 0);
    v = cairn_ring_view_get(r);
    assert_int_equal(v->members[0].state, CAIRN_RING_ACTIVE);
    cairn_ring_view_put(r, v);
    cairn_ring_destroy(r);

    const char *peers[] = {"a:1", "b:1", "c:1"};
    cfg.store = "static";
    cfg.static_addrs = peers;
    cfg.n_static = 3;
    r = cairn_ring_create(&cfg, &err);
    assert_non_null(r);
    cairn_ring_set_state(r, CAIRN_RING_ACTIVE);
    v = cairn_ring_view_get(r);
    assert_int_equal(v->n, 3);
    uint32_t o[3];
    assert_int_equal(cairn_ring_owners(v, 42, 3, o), 3);
    cairn_ring_view_put(r, v);
    struct cairn_buf b = CAIRN_BUF_INIT;
    assert_int_equal(cairn_ring_render_json(r, &b), 0);
    assert_non_null(strstr(b.data, "\"id\":\"b:1\""));
    cairn_buf_reset(&b);
    assert_int_equal(cairn_ring_metrics(r, &b), 0);
    assert_non_null(strstr(b.data, "cairn_ring_members{state=\"ACTIVE\"} 3"));
    cairn_buf_deinit(&b);
    cairn_ring_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(owners_are_distinct_and_stable),
        cmocka_unit_test(rf_bounded_by_active_writers),
        cmocka_unit_test(balanced_within_bounds),
        cmocka_unit_test(join_moves_a_bounded_share),
        cmocka_unit_test(member_json_round_trip),
        cmocka_unit_test(static_and_inmemory_views),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
