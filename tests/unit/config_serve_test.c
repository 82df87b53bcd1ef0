/* config_serve_test.c -- `cairn serve`'s configuration: defaults equal limits.h, Loki
 * key and flag names, --listen, per-tenant retention, checks across keys, --help, and
 * the dump for GET /config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cairn/config_serve.h"
#include "cairn/limits.h"
#include "cairn/log.h"
#include "testutil.h"

#define SEC 1000000000LL
#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

static void table_is_sane(void **state)
{
    (void)state;
    struct cairn_err err = {0};
    int rc = cairn_cfg_table_validate(&cairn_serve_config_table, &err);
    if (rc)
        fail_msg("%s", err.msg);
}

static void defaults_match_limits_h(void **state)
{
    (void)state;
    struct cairn_serve_config sc;
    struct cairn_err err = {0};
    struct cairn_buf out = CAIRN_BUF_INIT;
    char *argv[] = {"serve", NULL};
    assert_int_equal(cairn_serve_config_load(&sc, 1, argv, &out, &err), 0);
    assert_string_equal(sc.server.http_listen_address, "127.0.0.1");
    assert_int_equal(sc.server.http_listen_port, 3100);
    assert_int_equal(sc.server.log_level, CAIRN_LOG_INFO);
    const struct cairn_store_config *st = &sc.store;
    assert_string_equal(st->data_dir, "./data");
    assert_int_equal(st->fsync, CAIRN_FSYNC_INTERVAL);
    assert_int_equal(st->fsync_interval_ns, SEC);
    assert_int_equal(st->codec, CAIRN_CODEC_ZSTD);
    assert_int_equal(st->zstd_level, CAIRN_ZSTD_LEVEL_DEFAULT);
    assert_int_equal(st->head_budget, CAIRN_HEAD_BUDGET_DEFAULT);
    assert_int_equal(st->block_target_raw, CAIRN_BLOCK_TARGET_RAW);
    assert_int_equal(st->chunk_target, CAIRN_CHUNK_TARGET_COMPRESSED);
    assert_int_equal(st->chunk_max_age_ns, CAIRN_CHUNK_MAX_AGE_NS);
    assert_int_equal(st->chunk_idle_ns, CAIRN_CHUNK_IDLE_NS);
    assert_int_equal(st->index_period_ns, CAIRN_INDEX_PERIOD_NS);
    assert_int_equal(st->ooo_window_ns, CAIRN_OOO_WINDOW_NS);
    assert_int_equal(st->retention_ns, 0);
    assert_int_equal(st->n_tenant_retention, 0);

    struct cairn_limits want;
    cairn_limits_default(&want);
    const struct cairn_limits *l = &sc.limits;
    assert_true(l->ingestion_rate_mb == want.ingestion_rate_mb);
    assert_true(l->ingestion_burst_size_mb == want.ingestion_burst_size_mb);
    assert_int_equal(l->max_global_streams_per_user, want.max_global_streams_per_user);
    assert_int_equal(l->max_line_size, CAIRN_MAX_LINE_SIZE);
    assert_int_equal(l->max_label_names_per_series, CAIRN_MAX_LABEL_NAMES_PER_SERIES);
    assert_int_equal(l->max_label_name_length, CAIRN_MAX_LABEL_NAME_LENGTH);
    assert_int_equal(l->max_label_value_length, CAIRN_MAX_LABEL_VALUE_LENGTH);
    assert_int_equal(l->reject_old_samples, 1);
    assert_int_equal(l->reject_old_samples_max_age_ns, CAIRN_REJECT_OLD_MAX_AGE_NS);
    assert_int_equal(l->creation_grace_period_ns, CAIRN_CREATION_GRACE_NS);
    assert_int_equal(memcmp(&want, l, sizeof want), 0);
    cairn_serve_config_deinit(&sc);
    cairn_buf_deinit(&out);
}

static const char loki_yaml[] =
    "server:\n"
    "  http_listen_address: 0.0.0.0\n"
    "  http_listen_port: 3200\n"
    "  log_level: debug\n"
    "storage:\n"
    "  data_dir: /var/lib/cairn\n"
    "  fsync: always\n"
    "  codec: lz4\n"
    "  head_budget: 128MiB\n"
    "  chunk_target: 1MB\n"
    "  chunk_idle: 5m\n"
    "limits_config:\n"
    "  ingestion_rate_mb: 10\n"
    "  ingestion_burst_size_mb: 20.5\n"
    "  max_line_size: 512KB\n"
    "  reject_old_samples: false\n"
    "  reject_old_samples_max_age: 1w\n"
    "  retention_period: 30d\n"
    "overrides:\n"
    "  team-a:\n"
    "    retention_period: 7d\n"
    "  \"team b\": {retention_period: 48h}\n";

static char *write_file(const char *dir, const char *name, const char *text)
{
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    assert_non_null(path);
    sprintf(path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    return path;
}

static void load_ok(struct cairn_serve_config *sc, int argc, char **argv, struct cairn_buf *out)
{
    struct cairn_err err = {0};
    if (cairn_serve_config_load(sc, argc, argv, out, &err))
        fail_msg("%s", err.msg);
}

static void loki_shaped_file_and_overrides(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("cfgserve");
    assert_non_null(dir);
    char *path = write_file(dir, "serve.yaml", loki_yaml);
    char cf[600];
    snprintf(cf, sizeof cf, "-config.file=%s", path);
    char *argv[] = {"serve", cf, "--data-dir", "./override", "-server.http-listen-port=3300",
                    "--fsync=interval", "-distributor.ingestion-rate-limit-mb=12.5",
                    "--retention", "60d", NULL};
    struct cairn_serve_config sc;
    struct cairn_err err = {0};
    struct cairn_buf out = CAIRN_BUF_INIT;
    int rc = cairn_serve_config_load(&sc, ARGC(argv), argv, &out, &err);
    if (rc)
        fail_msg("%s", err.msg);
    assert_string_equal(sc.server.http_listen_address, "0.0.0.0");
    assert_int_equal(sc.server.http_listen_port, 3300);
    assert_int_equal(sc.server.log_level, CAIRN_LOG_DEBUG);
    assert_string_equal(sc.store.data_dir, "./override");
    assert_int_equal(sc.store.fsync, CAIRN_FSYNC_INTERVAL);
    assert_int_equal(sc.store.codec, CAIRN_CODEC_LZ4);
    assert_int_equal(sc.store.head_budget, 128u << 20);
    assert_int_equal(sc.store.chunk_target, 1000000);
    assert_int_equal(sc.store.chunk_idle_ns, 300 * SEC);
    assert_true(sc.limits.ingestion_rate_mb == 12.5);
    assert_true(sc.limits.ingestion_burst_size_mb == 20.5);
    assert_int_equal(sc.limits.max_line_size, 512000);
    assert_int_equal(sc.limits.reject_old_samples, 0);
    assert_int_equal(sc.limits.reject_old_samples_max_age_ns, 7 * 24 * 3600 * SEC);
    assert_int_equal(sc.store.retention_ns, 60LL * 24 * 3600 * SEC);
    /* the store config points at the per-tenant overrides */
    assert_int_equal(sc.store.n_tenant_retention, 2);
    assert_string_equal(sc.store.tenant_retention[0].tenant, "team-a");
    assert_int_equal(sc.store.tenant_retention[0].retention_ns, 7 * 24 * 3600 * SEC);
    assert_string_equal(sc.store.tenant_retention[1].tenant, "team b");
    assert_int_equal(sc.store.tenant_retention[1].retention_ns, 48 * 3600 * SEC);

    /* GET /config: the dump reloads to the same config */
    struct cairn_buf dump = CAIRN_BUF_INIT;
    assert_int_equal(cairn_serve_config_dump(&sc, &dump), 0);
    assert_non_null(strstr(cairn_buf_cstr(&dump), "  data_dir: \"./override\"\n"));
    assert_non_null(strstr(cairn_buf_cstr(&dump), "  retention_period: 1440h\n"));
    assert_non_null(strstr(cairn_buf_cstr(&dump), "  \"team b\":\n    retention_period: 48h\n"));
    assert_null(strstr(cairn_buf_cstr(&dump), "listen:"));
    char *again = write_file(dir, "dump.yaml", cairn_buf_cstr(&dump));
    char *argv2[] = {"serve", "--config", again, NULL};
    struct cairn_serve_config sc2;
    rc = cairn_serve_config_load(&sc2, ARGC(argv2), argv2, &out, &err);
    if (rc)
        fail_msg("%s\n%s", err.msg, cairn_buf_cstr(&dump));
    struct cairn_buf dump2 = CAIRN_BUF_INIT;
    assert_int_equal(cairn_serve_config_dump(&sc2, &dump2), 0);
    assert_string_equal(cairn_buf_cstr(&dump), cairn_buf_cstr(&dump2));

    cairn_buf_deinit(&dump2);
    cairn_serve_config_deinit(&sc2);
    cairn_buf_deinit(&dump);
    cairn_serve_config_deinit(&sc);
    cairn_buf_deinit(&out);
    free(again);
    free(path);
    test_rmdir_r(dir);
    free(dir);
}

/* Loki's object storage keys: common.storage.s3 and storage_config.aws set the same
 * settings (env-expanded), the cache keys, and keys that mean nothing for cairn are
 * accepted (a warning names each), not refused. */
static void object_storage_keys(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("cfgobj");
    setenv("CAIRN_TEST_S3", "http://127.0.0.1:7480", 1);
    char *path = write_file(dir, "loki.yaml",
                            "schema_config:\n"
                            "  configs:\n"
                            "    - from: 2024-01-01\n"
                            "      store: tsdb\n"
                            "      object_store: s3\n"
                            "common:\n"
                            "  path_prefix: /loki\n"
                            "  storage:\n"
                            "    s3:\n"
                            "      endpoint: ${CAIRN_TEST_S3}\n"
                            "      bucketnames: logs\n"
                            "      region: eu-west-1\n"
                            "      access_key_id: AK\n"
                            "      secret_access_key: SK\n"
                            "      s3forcepathstyle: true\n"
                            "      insecure: true\n"
                            "      sse: {type: SSE-S3}\n"
                            "      http_config:\n"
                            "        insecure_skip_verify: true\n"
                            "        idle_conn_timeout: 90s\n"
                            "storage_config:\n"
                            "  tsdb_shipper: {active_index_directory: /loki/index}\n"
                            "  aws: {timeout: 2s, max_retries: 5}\n"
                            "  cache: {dir: /var/cache/cairn, max_size: 256MiB}\n");
    char cf[600];
    snprintf(cf, sizeof cf, "-config.file=%s", path);
    char *argv[] = {"serve", cf, "-config.expand-env=true", NULL};
    struct cairn_serve_config sc;
    struct cairn_err err = {0};
    struct cairn_buf out = CAIRN_BUF_INIT;
    load_ok(&sc, ARGC(argv), argv, &out);
    const struct cairn_serve_s3 *s3 = &sc.objstore.s3;
    assert_string_equal(s3->endpoint, "http://127.0.0.1:7480");
    assert_string_equal(s3->bucketnames, "logs");
    assert_string_equal(s3->region, "eu-west-1");
    assert_string_equal(s3->access_key_id, "AK");
    assert_string_equal(s3->secret_access_key, "SK");
    assert_true(s3->s3forcepathstyle && s3->insecure && s3->http_config.insecure_skip_verify);
    assert_int_equal(s3->timeout_ns, 2 * SEC);
    assert_int_equal(s3->max_retries, 5);
    assert_string_equal(sc.objstore.cache.dir, "/var/cache/cairn");
    assert_int_equal(sc.objstore.cache.max_size, 256u << 20);
    /* the dump shows the settings (the secret masked), never the ignored keys */
    struct cairn_buf dump = CAIRN_BUF_INIT;
    assert_int_equal(cairn_serve_config_dump(&sc, &dump), 0);
    assert_non_null(strstr(cairn_buf_cstr(&dump), "bucketnames: logs\n"));
    assert_null(strstr(cairn_buf_cstr(&dump), "SK"));
    assert_null(strstr(cairn_buf_cstr(&dump), "schema_config"));
    assert_null(strstr(cairn_buf_cstr(&dump), "tsdb_shipper"));
    cairn_buf_deinit(&dump);
    cairn_serve_config_deinit(&sc);
    /* a key neither cairn's nor a known Loki one is still refused */
    char *bad = write_file(dir, "bad.yaml", "storage_config:\n  aws:\n    endpont: x\n");
    snprintf(cf, sizeof cf, "-config.file=%s", bad);
    char *argv2[] = {"serve", cf, NULL};
    assert_int_not_equal(cairn_serve_config_load(&sc, ARGC(argv2), argv2, &out, &err), 0);
    assert_non_null(strstr(err.msg, "endpont"));
    cairn_serve_config_deinit(&sc);
    cairn_buf_deinit(&out);
    free(bad);
    free(path);
    test_rmdir_r(dir);
    free(dir);
}

/* Load path with fd 2 sent to a file; returns what was logged (malloc'd). */
static char *load_logged(struct cairn_serve_config *sc, const char *dir, const char *path,
                         struct cairn_buf *out)
{
    char logp[600], cf[600];
    snprintf(logp, sizeof logp, "%s/stderr.log", dir);
    snprintf(cf, sizeof cf, "-config.file=%s", path);
    char *argv[] = {"serve", cf, NULL};
    FILE *fp = fopen(logp, "w");
    assert_non_null(fp);
    fflush(stderr);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(fp), 2) >= 0);
    struct cairn_err err = {0};
    int rc = cairn_serve_config_load(sc, ARGC(argv), argv, out, &err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fclose(fp);
    if (rc)
        fail_msg("%s", err.msg);
    size_t len;
    char *text = test_read_file(logp, &len);
    assert_non_null(text);
    return text;
}

/* One mechanism for Loki keys that mean nothing to cairn, at the root (schema_config,
 * memberlist) and in sections (the ring's, the object store's): each is named in the
 * same warning with its full path and reason, is never dumped, is listed by --help,
 * and a mistyped one is refused with a did-you-mean. */
static void ignored_keys_one_way(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("cfgign");
    assert_non_null(dir);
    char *path = write_file(dir, "loki.yaml",
                            "schema_config: {configs: [{from: 2024-01-01}]}\n"
                            "memberlist: {join_members: [loki]}\n"
                            "common:\n"
                            "  ring: {kvstore: {consul: {host: c}}}\n"
                            "  storage: {s3: {bucketnames: b, sse: {type: SSE-S3}}}\n"
                            "storage_config: {tsdb_shipper: {a: 1}}\n");
    struct cairn_serve_config sc;
    struct cairn_buf out = CAIRN_BUF_INIT;
    char *log = load_logged(&sc, dir, path, &out);
    static const char *const keys[] = {"schema_config", "memberlist",
                                       "common.ring.kvstore.consul", "common.storage.s3.sse",
                                       "storage_config.tsdb_shipper"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char want[200];
        snprintf(want, sizeof want, "msg=\"key ignored\" where=\"%s:", path);
        const char *line = strstr(log, want);
        assert_non_null(line);
        snprintf(want, sizeof want, " key=%s reason=\"", keys[i]);
        if (!strstr(log, want))
            fail_msg("no warning with '%s' in:\n%s", want, log);
    }
    free(log);
    struct cairn_buf dump = CAIRN_BUF_INIT;
    assert_int_equal(cairn_serve_config_dump(&sc, &dump), 0);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *last = strrchr(keys[i], '.');
        assert_null(strstr(cairn_buf_cstr(&dump), last ? last + 1 : keys[i]));
    }
    cairn_buf_deinit(&dump);
    cairn_serve_config_deinit(&sc);
    /* --help names them as ignored, with the reason */
    char *hargv[] = {"serve", "--help", NULL};
    struct cairn_err err = {0};
    assert_int_equal(cairn_serve_config_load(&sc, ARGC(hargv), hargv, &out, &err), CAIRN_CFG_EXIT);
    assert_non_null(strstr(cairn_buf_cstr(&out), "  memberlist  (ignored)\n      cairn keeps"));
    assert_non_null(strstr(cairn_buf_cstr(&out), "  storage_config.tsdb_shipper  (ignored)\n"));
    cairn_serve_config_deinit(&sc);
    /* mistyped, root or nested: refused, the ignored key suggested */
    static const char *const typos[][2] = {
        {"memberlst: {}\n", "unknown key 'memberlst' (did you mean 'memberlist'?)"},
        {"storage_config:\n  tsdb_shiper: {}\n",
         "unknown key 'storage_config.tsdb_shiper' (did you mean 'tsdb_shipper'?)"},
    };
    for (size_t i = 0; i < sizeof typos / sizeof typos[0]; i++) {
        char *bad = write_file(dir, "bad.yaml", typos[i][0]);
        char cf[600];
        snprintf(cf, sizeof cf, "-config.file=%s", bad);
        char *argv[] = {"serve", cf, NULL};
        assert_int_equal(cairn_serve_config_load(&sc, ARGC(argv), argv, &out, &err), CAIRN_EINVAL);
        if (!strstr(err.msg, typos[i][1]))
            fail_msg("got '%s'", err.msg);
        cairn_serve_config_deinit(&sc);
        free(bad);
    }
    cairn_buf_deinit(&out);
    free(path);
    test_rmdir_r(dir);
    free(dir);
}

/* common.storage.s3 and storage_config.aws fill one struct: the dump shows it once,
 * under common.storage.s3, and loads back the same; storage_config.aws still loads. */
static void s3_dumped_once(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("cfgs3");
    assert_non_null(dir);
    char *path = write_file(dir, "loki.yaml",
                            "storage_config:\n  aws: {endpoint: http://s3:9000, bucketnames: b}\n");
    char cf[600];
    snprintf(cf, sizeof cf, "-config.file=%s", path);
    char *argv[] = {"serve", cf, NULL};
    struct cairn_serve_config sc;
    struct cairn_buf out = CAIRN_BUF_INIT;
    load_ok(&sc, ARGC(argv), argv, &out);
    assert_string_equal(sc.objstore.s3.bucketnames, "b");
    struct cairn_buf dump = CAIRN_BUF_INIT;
    assert_int_equal(cairn_serve_config_dump(&sc, &dump), 0);
    const char *d = cairn_buf_cstr(&dump);
    assert_null(strstr(d, "aws:"));
    const char *first = strstr(d, "http://s3:9000");
    assert_non_null(first);
    assert_null(strstr(first + 1, "http://s3:9000")); /* once */
    assert_non_null(strstr(d, "\n  storage:\n    s3:\n"));
    cairn_serve_config_deinit(&sc);
    char *again = write_file(dir, "dump.yaml", d);
    snprintf(cf, sizeof cf, "-config.file=%s", again);
    load_ok(&sc, ARGC(argv), argv, &out);
    struct cairn_buf dump2 = CAIRN_BUF_INIT;
    assert_int_equal(cairn_serve_config_dump(&sc, &dump2), 0);
    assert_string_equal(cairn_buf_cstr(&dump2), d);
    assert_string_equal(sc.objstore.s3.bucketnames, "b");
    cairn_serve_config_deinit(&sc);
    cairn_buf_deinit(&dump2);
    cairn_buf_deinit(&dump);
    cairn_buf_deinit(&out);
    free(again);
    free(path);
    test_rmdir_r(dir);
    free(dir);
}

static void listen_option(void **state)
{
    (void)state;
    static const struct {
        const char *arg;
        const char *addr;
        int port;
    } ok[] = {
        {"--listen=127.0.0.1:3100", "127.0.0.1", 3100},
        {"--listen=:0", "0.0.0.0", 0},
        {"--listen=[::1]:9000", "::1", 9000},
        {"--listen=localhost:80", "localhost", 80},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char *argv[] = {"serve", (char *)ok[i].arg, "-server.http-listen-port=1", NULL};
        struct cairn_serve_config sc;
        struct cairn_err err = {0};
        struct cairn_buf out = CAIRN_BUF_INIT;
        int rc = cairn_serve_config_load(&sc, ARGC(argv), argv, &out, &err);
        if (rc)
            fail_msg("%s: %s", ok[i].arg, err.msg);
        assert_string_equal(sc.server.http_listen_address, ok[i].addr);
        assert_int_equal(sc.server.http_listen_port, ok[i].port); /* --listen wins */
        cairn_serve_config_deinit(&sc);
        cairn_buf_deinit(&out);
    }
    static const struct {
        const char *arg;
        const char *want;
    } bad[] = {
        {"--listen=3100", "option --listen: '3100' is not HOST:PORT"},
        {"--listen=host:", "option --listen: 'host:' is not HOST:PORT"},
        {"--listen=host:99999", "option --listen: server.http_listen_port: 99999 is out of range"},
        {"--listen=host:http", "option --listen: server.http_listen_port: 'http' is not an integer"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[] = {"serve", (char *)bad[i].arg, NULL};
        struct cairn_serve_config sc;
        struct cairn_err err = {0};
        struct cairn_buf out = CAIRN_BUF_INIT;
        assert_int_equal(cairn_serve_config_load(&sc, ARGC(argv), argv, &out, &err), CAIRN_EINVAL);
        if (strncmp(err.msg, bad[i].want, strlen(bad[i].want)) != 0)
            fail_msg("%s: '%s', want '%s'", bad[i].arg, err.msg, bad[i].want);
        cairn_serve_config_deinit(&sc);
        cairn_buf_deinit(&out);
    }
}

static void cross_key_checks(void **state)
{
    (void)state;
    static const struct {
        const char *args[3];
        const char *want;
    } bad[] = {
        {{"--retention=12h"}, "limits_config.retention_period: shorter than storage.index_period"},
        {{"--index-period=90m"}, "storage.index_period: must be a whole number of hours"},
        {{"--index-period=30m"}, "option --index-period: 30m is out of range [1h, 720h]"},
        {{"--zstd-level=0"}, "option --zstd-level: 0 is out of range [1, 22]"},
        {{"--codec=gzip"}, "option --codec: 'gzip' is not one of zstd, lz4"},
        {{"--fsync=sometimes"}, "option --fsync: 'sometimes' is not one of always, interval, never"},
        {{"--log-level=verbose"}, "option --log-level: 'verbose' is not one of debug, info, warn, error"},
        {{"-validation.max-label-names-per-series=100"},
         "option -validation.max-label-names-per-series: 100 is out of range [1, 64]"},
        {{"--head-budget=1KB"}, "option --head-budget: 1KB is out of range [1MiB, 1TiB]"},
        {{"extra"}, "unexpected argument 'extra'"},
        {{"--listen"}, "option --listen needs a value (HOST:PORT)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv[5] = {"serve"};
        int argc = 1;
        for (int k = 0; k < 3 && bad[i].args[k]; k++)
            argv[argc++] = (char *)bad[i].args[k];
        struct cairn_serve_config sc;
        struct cairn_err err = {0};
        struct cairn_buf out = CAIRN_BUF_INIT;
        int rc = cairn_serve_config_load(&sc, argc, argv, &out, &err);
        if (rc != CAIRN_EINVAL || strncmp(err.msg, bad[i].want, strlen(bad[i].want)) != 0)
            fail_msg("case %zu: rc %d '%s', want '%s'", i, rc, err.msg, bad[i].want);
        cairn_serve_config_deinit(&sc);
        cairn_buf_deinit(&out);
    }
    /* a per-tenant retention shorter than a period names the tenant */
    struct cairn_serve_config sc;
    struct cairn_err err = {0};
    assert_int_equal(cairn_serve_config_init(&sc, &err), 0);
    const char *y = "overrides:\n  t1:\n    retention_period: 1h\n";
    assert_int_equal(cairn_cfg_load_string(&sc.cfg, "s.yaml", y, strlen(y), &err), 0);
    assert_int_equal(cairn_cfg_check(&sc.cfg, &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "overrides.t1.retention_period"));
    cairn_serve_config_deinit(&sc);
}

static void help_lists_serve_options(void **state)
{
    (void)state;
    char *argv[] = {"serve", "--help", NULL};
    struct cairn_serve_config sc;
    struct cairn_err err = {0};
    struct cairn_buf out = CAIRN_BUF_INIT;
    assert_int_equal(cairn_serve_config_load(&sc, 2, argv, &out, &err), CAIRN_CFG_EXIT);
    const char *h = cairn_buf_cstr(&out);
    static const char *const want[] = {
        "usage: cairn serve [options]\n",
        "--config FILE, -config.file=FILE",
        "--listen HOST:PORT\n", "default 127.0.0.1:3100)",
        "--data-dir DIR\n", "default \"./data\")",
        "--log-level debug|info|warn|error, -log.level=debug|info|warn|error\n",
        "--fsync always|interval|never\n", "default interval)",
        "--fsync-interval duration\n",
        "--codec zstd|lz4\n", "default zstd)",
        "--zstd-level int\n",
        "--head-budget size\n", "default 64MiB)",
        "--retention duration, -store.retention=duration\n",
        "-server.http-listen-port=int\n", "default 3100)",
        "-server.http-listen-address=string\n",
        "-distributor.ingestion-rate-limit-mb=float\n",
        "-distributor.ingestion-burst-size-mb=float\n",
        "-ingester.max-global-streams-per-user=int\n",
        "-distributor.max-line-size=size\n", "default 256KiB)",
        "-validation.max-label-names-per-series=int\n",
        "-validation.max-length-label-name=int\n",
        "-validation.max-length-label-value=int\n",
        "-validation.reject-old-samples\n",
        "-validation.reject-old-samples.max-age=duration\n", "default 168h)",
        "-validation.create-grace-period=duration\n", "default 10m)",
        "config file: limits_config.retention_period\n",
        "  overrides.<name>.retention_period  (duration, default 0s)\n",
        "  storage.ooo_window  (duration, default 1h)\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(h, want[i]))
            fail_msg("help lacks '%s'", want[i]);
    cairn_serve_config_deinit(&sc);
    cairn_buf_deinit(&out);
}

struct failing {
    long countdown;
    long calls;
};

static void *failing_realloc(void *user, void *p, size_t n)
{
    struct failing *fa = user;
    fa->calls++;
    if (fa->countdown >= 0 && fa->countdown-- == 0)
        return NULL;
    return realloc(p, n);
}

/* Every allocation of loading the serve config fails in turn: CAIRN_ENOMEM, no leak. */
static void alloc_failure_sweep(void **state)
{
    (void)state;
    struct failing fa = {.countdown = -1};
    struct cairn_cfg_alloc alloc = {failing_realloc, &fa};
    char *argv[] = {"serve", "--data-dir", "/d", "--listen", "127.0.0.2:4000", NULL};
    long total = -1;
    for (long k = -1; k < total || total < 0; k++) {
        struct cairn_serve_config sc;
        struct cairn_err err = {0};
        struct cairn_cfg_args a;
        struct cairn_buf out = CAIRN_BUF_INIT;
        fa.countdown = k;
        fa.calls = 0;
        int rc = cairn_cfg_init(&sc.cfg, &cairn_serve_config_table, &sc, &alloc, &err);
        if (rc == 0)
            rc = cairn_cfg_load_string(&sc.cfg, "s.yaml", loki_yaml, strlen(loki_yaml), &err);
        if (rc == 0) {
            rc = cairn_cfg_load_args(&sc.cfg, ARGC(argv), argv, "u", &a, &out, &err);
            cairn_cfg_args_deinit(&a);
        }
        if (k < 0) {
            assert_int_equal(rc, 0); /* the counting run */
            assert_string_equal(sc.server.http_listen_address, "127.0.0.2");
            total = fa.calls;
            assert_true(total > 10);
        } else if (rc != CAIRN_ENOMEM) {
            fail_msg("failing allocation %ld of %ld: rc %d (%s)", k, total, rc, err.msg);
        }
        cairn_serve_config_deinit(&sc);
        cairn_buf_deinit(&out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_is_sane),
        cmocka_unit_test(defaults_match_limits_h),
        cmocka_unit_test(loki_shaped_file_and_overrides),
        cmocka_unit_test(object_storage_keys),
        cmocka_unit_test(ignored_keys_one_way),
        cmocka_unit_test(s3_dumped_once),
        cmocka_unit_test(listen_option),
        cmocka_unit_test(cross_key_checks),
        cmocka_unit_test(help_lists_serve_options),
        cmocka_unit_test(alloc_failure_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
