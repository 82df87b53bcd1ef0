/* config_cluster_test.c -- serve's cluster keys as Loki spells them: -target in its
 * three forms, the common block (ring kvstore etcd/static, replication_factor,
 * instance_addr), ${VAR} expansion, and Loki keys cairn ignores (memberlist...)
 * accepted with a warning while a mistyped key is still refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cairn/config_serve.h"
#include "testutil.h"

static int load_yaml(struct cairn_serve_config *sc, const char *yaml, int expand,
                     struct cairn_err *err)
{
    int rc = cairn_serve_config_init(sc, err);
    if (rc)
        return rc;
    sc->cfg.expand_env = expand;
    rc = cairn_cfg_load_string(&sc->cfg, "loki.yaml", yaml, strlen(yaml), err);
    return rc ? rc : cairn_cfg_check(&sc->cfg, err);
}

static void target_forms(void **state)
{
    (void)state;
    char *forms[][3] = {{"serve", "-target=read", NULL},
                        {"serve", "--target", "read"},
                        {"serve", "-target", "read"}};
    for (size_t i = 0; i < 3; i++) {
        struct cairn_serve_config sc;
        struct cairn_err err = {0};
        struct cairn_buf out = CAIRN_BUF_INIT;
        int argc = forms[i][2] ? 3 : 2;
        assert_int_equal(cairn_serve_config_load(&sc, argc, forms[i], &out, &err), 0);
        assert_int_equal(sc.target, CAIRN_TARGET_READ);
        cairn_serve_config_deinit(&sc);
        cairn_buf_deinit(&out);
    }
    struct cairn_serve_config sc;
    struct cairn_err err = {0};
    struct cairn_buf out = CAIRN_BUF_INIT;
    char *bad[] = {"serve", "-target=querier", NULL};
    assert_int_not_equal(cairn_serve_config_load(&sc, 2, bad, &out, &err), 0);
    assert_non_null(strstr(err.msg, "querier"));
    cairn_serve_config_deinit(&sc);
    cairn_buf_deinit(&out);
}

static void loki_common_block(void **state)
{
    (void)state;
    setenv("CAIRN_T_POD", "write-2", 1);
    unsetenv("CAIRN_T_UNSET");
    const char *yaml = "target: write\n"
                       "memberlist:\n  join_members: [loki-memberlist]\n"
                       "common:\n"
                       "  replication_factor: ${CAIRN_T_UNSET:-3}\n"
                       "  instance_addr: 10.0.0.5:3100\n"
                       "  compactor_address: http://backend:3100\n"
                       "  ring:\n"
                       "    instance_id: ${CAIRN_T_POD}\n"
                       "    zone_awareness_enabled: false\n"
                       "    kvstore:\n"
                       "      store: etcd\n"
                       "      prefix: loki/\n"
                       "      etcd:\n"
                       "        endpoints: [etcd-0:2379, etcd-1:2379]\n"
                       "        dial_timeout: 2s\n"
                       "        password: pw\n";
    struct cairn_serve_config sc;
    struct cairn_err err = {0};
    assert_int_equal(load_yaml(&sc, yaml, 1, &err), 0);
    assert_int_equal(sc.target, CAIRN_TARGET_WRITE);
    assert_int_equal(sc.common.replication_factor, 3);
    assert_string_equal(sc.common.instance_addr, "10.0.0.5:3100");
    assert_string_equal(sc.common.ring.instance_id, "write-2");
    assert_int_equal(sc.common.ring.kvstore.store, CAIRN_KV_ETCD);
    assert_string_equal(sc.common.ring.kvstore.prefix, "loki/");
    assert_int_equal(sc.common.ring.kvstore.etcd.endpoints.n, 2);
    assert_string_equal(sc.common.ring.kvstore.etcd.endpoints.v[1], "etcd-1:2379");
    assert_int_equal(sc.common.ring.kvstore.etcd.dial_timeout_ns, 2000000000LL);
    struct cairn_buf dump = CAIRN_BUF_INIT;
    assert_int_equal(cairn_serve_config_dump(&sc, &dump), 0);
    assert_null(strstr(dump.data, "pw")); /* the etcd password is a secret */
    cairn_buf_deinit(&dump);
    cairn_serve_config_deinit(&sc);
}

static void defaults_and_mistakes(void **state)
{
    (void)state;
    struct cairn_serve_config sc;
    struct cairn_err err = {0};
    assert_int_equal(load_yaml(&sc, "common:\n  ring: {}\n", 0, &err), 0);
    assert_int_equal(sc.target, CAIRN_TARGET_ALL);
    assert_int_equal(sc.common.replication_factor, 1);
    assert_int_equal(sc.common.ring.kvstore.store, CAIRN_KV_INMEMORY);
    cairn_serve_config_deinit(&sc);
    /* an ignored key is named as such; a mistyped one is still an error */
    assert_int_not_equal(load_yaml(&sc, "common:\n  replication_facter: 3\n", 0, &err), 0);
    assert_non_null(strstr(err.msg, "replication_facter"));
    cairn_serve_config_deinit(&sc);
    assert_int_not_equal(load_yaml(&sc, "common:\n  replication_factor: 9\n", 0, &err), 0);
    cairn_serve_config_deinit(&sc);
    assert_int_equal(load_yaml(&sc, "common:\n  ring:\n    kvstore:\n      store: static\n"
                                    "      static: [a:1, b:1]\n", 0, &err), 0);
    assert_int_equal(sc.common.ring.kvstore.static_addrs.n, 2);
    cairn_serve_config_deinit(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(target_forms),
        cmocka_unit_test(loki_common_block),
        cmocka_unit_test(defaults_and_mistakes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
