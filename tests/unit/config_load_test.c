/* config_load_test.c -- YAML loading against a table: every type, nested sections,
 * lists, keyed lists, variant lists (the Promtail blog case), errors with key path and
 * line, dump with secrets masked and its round trip, and an allocation-failure sweep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cairn/config.h"
#include "config_fixture.h"
#include "testutil.h"

static int load(struct cairn_cfg *c, struct fx *f, const char *yaml, struct cairn_err *err)
{
    int rc = cairn_cfg_init(c, &fx_table, f, NULL, err);
    assert_int_equal(rc, 0);
    return cairn_cfg_load_string(c, "t.yaml", yaml, strlen(yaml), err);
}

static void defaults_are_filled(void **state)
{
    (void)state;
    struct fx f;
    struct cairn_cfg c;
    struct cairn_err err = {0};
    assert_int_equal(cairn_cfg_init(&c, &fx_table, &f, NULL, &err), 0);
    assert_string_equal(f.server.addr, "127.0.0.1");
    assert_int_equal(f.server.port, 80);
    assert_true(f.server.flag);
    assert_int_equal(f.count, 5);
    assert_int_equal(f.small, -3);
    assert_true(f.ratio == 0.5);
    assert_int_equal(f.timeout, 5400LL * 1000000000LL);
    assert_int_equal(f.limit, 64ULL << 20);
    assert_int_equal(f.limit32, 4096);
    assert_int_equal(f.level, 2);
    assert_string_equal(f.name, "cairn");
    assert_int_equal(f.verbose, 0);
    assert_int_equal(f.tags.n, 0);
    assert_int_equal(f.clients.n, 0);
    cairn_cfg_deinit(&c);
    /* zeroed after deinit; a second deinit is harmless */
    assert_null(f.name);
    cairn_cfg_deinit(&c);
    cairn_cfg_deinit(NULL);
}

static void every_type_loads(void **state)
{
    (void)state;
    struct fx f;
    struct cairn_cfg c;
    struct cairn_err err = {0};
    int rc = load(&c, &f, fx_yaml, &err);
    if (rc)
        fail_msg("%s", err.msg);
    assert_string_equal(f.server.addr, "0.0.0.0");
    assert_int_equal(f.server.port, 9080);
    assert_false(f.server.flag);
    assert_int_equal(f.count, 7);
    assert_int_equal(f.small, -100);
    assert_true(f.ratio == 0.25);
    assert_int_equal(f.timeout, 250000000);
    assert_int_equal(f.limit, 1000000000ULL);
    assert_int_equal(f.limit32, 512000);
    assert_int_equal(f.level, 3); /* enum names match case-insensitively */
    assert_string_equal(f.name, "hello world");
    assert_int_equal(f.verbose, 1);
    assert_int_equal(f.tags.n, 3);
    assert_string_equal(f.tags.v[1], "b c");
    assert_string_equal(f.tags.v[2], "3");
    assert_int_equal(f.labels.n, 3);
    assert_string_equal(f.labels.v[0].key, "env");
    assert_string_equal(f.labels.v[0].value, "prod");
    assert_string_equal(f.labels.v[1].value, "");
    assert_null(f.labels.v[2].value); /* null stays distinguishable from "" */

    assert_int_equal(f.clients.n, 2);
    struct fx_client *cl = f.clients.v;
    assert_string_equal(cl[0].url, "http://127.0.0.1:3100/loki/api/v1/push");
    assert_string_equal(cl[0].password, "hunter2");
    assert_int_equal(cl[0].batchwait, 2000000000LL);
    assert_int_equal(cl[0].batchsize, 1048576); /* element defaults */
    assert_true(cl[0].tls.insecure_skip_verify);
    assert_string_equal(cl[0].external_labels.v[0].key, "cluster");
    assert_null(cl[0].tenant_id);
    assert_string_equal(cl[1].tenant_id, "t2");
    assert_int_equal(cl[1].batchwait, 1000000000LL);

    assert_int_equal(f.scrape_configs.n, 1);
    struct fx_scrape *sc = f.scrape_configs.v;
    assert_string_equal(sc->job_name, "eventrouter");
    struct fx_static *st = sc->static_configs.v;
    assert_string_equal(st->targets.v[0], "localhost");
    assert_string_equal(st->labels.v[1].key, "__path__");
    assert_string_equal(st->labels.v[1].value, "/var/log/pods/**/*.log");
    struct fx_relabel *rl = sc->relabel_configs.v;
    assert_int_equal(rl->action, FX_KEEP_RL);
    assert_string_equal(rl->regex, "(.*)");
    assert_int_equal(rl->source_labels.n, 2);

    /* the blog case: match { selector, stages: [json, labels] } */
    assert_int_equal(sc->pipeline_stages.n, 4);
    struct cairn_cfg_tagged *tg = sc->pipeline_stages.v;
    assert_int_equal(tg[0].kind, FX_STAGE_DOCKER);
    assert_int_equal(tg[1].kind, FX_STAGE_MATCH);
    struct fx_match *m = tg[1].data;
    assert_string_equal(m->selector, "{name=\"eventrouter\"}");
    assert_int_equal(m->action, FX_KEEP);
    assert_int_equal(m->stages.n, 2);
    struct cairn_cfg_tagged *inner = m->stages.v;
    assert_int_equal(inner[0].kind, FX_STAGE_JSON);
    struct fx_json *js = inner[0].data;
    assert_string_equal(js->expressions.v[0].key, "namespace");
    assert_string_equal(js->expressions.v[0].value, "event.metadata.namespace");
    assert_int_equal(inner[1].kind, FX_STAGE_LABELS);
    struct fx_labels *lb = inner[1].data;
    assert_int_equal(lb->labels.n, 1);
    assert_string_equal(lb->labels.v[0].key, "namespace");
    assert_string_equal(lb->labels.v[0].value, "");
    assert_int_equal(tg[2].kind, FX_STAGE_LABELDROP);
    struct fx_labeldrop *ld = tg[2].data;
    assert_int_equal(ld->names.n, 2);
    assert_string_equal(ld->names.v[1], "stream");
    assert_int_equal(tg[3].kind, FX_STAGE_DOCKER); /* `- docker:` with a null value */

    assert_int_equal(f.metrics.n, 2);
    struct fx_metric *mt = f.metrics.v;
    assert_string_equal(mt[0].name, "lines_total");
    assert_string_equal(mt[0].type, "Counter");
    assert_string_equal(mt[0].description, "all lines");
    assert_string_equal(mt[1].name, "bytes_total");
    assert_string_equal(mt[1].type, "Gauge");
    cairn_cfg_deinit(&c);
}

static void second_load_merges(void **state)
{
    (void)state;
    struct fx f;
    struct cairn_cfg c;
    struct cairn_err err = {0};
    assert_int_equal(load(&c, &f, "count: 3\ntags: [x, y]\n", &err), 0);
    assert_int_equal(cairn_cfg_load_string(&c, "b.yaml", "tags: [z]\nname: n2\n", 19, &err), 0);
    assert_int_equal(f.count, 3);    /* kept */
    assert_int_equal(f.tags.n, 1);   /* a list is replaced whole */
    assert_string_equal(f.tags.v[0], "z");
    assert_string_equal(f.name, "n2");
    /* null and empty documents change nothing */
    assert_int_equal(cairn_cfg_load_string(&c, "e.yaml", "", 0, &err), 0);
    assert_int_equal(cairn_cfg_load_string(&c, "e.yaml", "# only\n---\n  \n", 14, &err), 0);
    assert_int_equal(cairn_cfg_load_string(&c, "e.yaml", "count:\nname: ~\n", 15, &err), 0);
    assert_int_equal(f.count, 3);
    assert_string_equal(f.name, "n2");
    cairn_cfg_deinit(&c);
}

struct bad_case {
    const char *yaml;
    const char *want; /* substring of the message */
};

static void errors_name_key_and_line(void **state)
{
    (void)state;
    static const struct bad_case cases[] = {
        {"count: 3\nconut: 4\n", "t.yaml:2:1: unknown key 'conut' (did you mean 'count'?)"},
        {"server:\n  port: 1\n  prot: 2\n", "t.yaml:3:3: unknown key 'server.prot'"},
        {"server:\n  adr: x\n", "unknown key 'server.adr' (did you mean 'addr'?)"},
        {"count: 11\n", "t.yaml:1:8: count: 11 is out of range [1, 10]"},
        {"count: 0\n", "count: 0 is out of range [1, 10]"},
        {"count: abc\n", "t.yaml:1:8: count: 'abc' is not an integer"},
        {"count: [1]\n", "t.yaml:1:9: count: expected a single value (int), got a list"},
        {"small: 200\n", "small: 200 is out of range [-128, 127]"},
        {"ratio: 2\n", "ratio: 2 is out of range [0, 1]"},
        {"ratio: x\n", "ratio: 'x' is not a number"},
        {"timeout: 5 minutes\n", "timeout: '5 minutes' is not a duration"},
        {"timeout: -1s\n", "timeout: -1s is out of range"},
        {"limit: 12XB\n", "limit: '12XB' is not a size"},
        {"limit32: 5GiB\n", "limit32: 5GiB is out of range [0, 4294967295]"},
        {"level: extreme\n", "level: 'extreme' is not one of low, mid, high"},
        {"verbose: maybe\n", "verbose: 'maybe' is not a boolean"},
        {"server: 5\n", "t.yaml:1:9: server: expected a section (a mapping of keys), got a single value"},
        {"tags: a\n", "tags: expected a list of strings, got a single value"},
        {"tags: [a, [b]]\n", "tags[1]: expected a string, got a list"},
        {"labels: [a]\n", "labels: expected a mapping of names to values"},
        {"clients:\n  - url: x\n    tls_config:\n      ca_fil: y\n",
         "t.yaml:4:7: unknown key 'clients[0].tls_config.ca_fil' (did you mean 'ca_file'?)"},
        {"clients:\n  - url: x\n  - tenant_id: y\n",
         "t.yaml:3:5: missing required key 'clients[1].url'"},
        {"scrape_configs:\n- job_name: j\n  pipeline_stages:\n  - jsn: {}\n",
         "t.yaml:4:5: scrape_configs[0].pipeline_stages[0].jsn: unknown kind 'jsn'"},
        {"scrape_configs:\n- job_name: j\n  pipeline_stages:\n  - json: {}\n    labels: {}\n",
         "scrape_configs[0].pipeline_stages[0]: expected a mapping with exactly one key"},
        {"scrape_configs:\n- job_name: j\n  pipeline_stages:\n  - match:\n      stages:\n"
         "      - json:\n          expresions: {}\n",
         "t.yaml:7:11: unknown key 'scrape_configs[0].pipeline_stages[0].match.stages[0].json."
         "expresions' (did you mean 'expressions'?)"},
        {"metrics:\n  m1:\n    typ: x\n", "unknown key 'metrics.m1.typ'"},
        {"metrics: [a]\n", "metrics: expected a mapping of names to sections"},
        {"dry_run: true\n", "unknown key 'dry_run'"}, /* command-line only */
        {"count: 1\ncount: 2\n", "t.yaml:2:1: YAML syntax error: duplicate key"},
        {"a: [\n", "t.yaml:"},
        {"- 1\n- 2\n", "(top level): expected a section"},
        {"count: 1\nname: caf\xc3\xa9 \xff\n", "t.yaml:2:12: not valid UTF-8 text"},
        {"name: \xc0\xaf\n", "t.yaml:1:7: not valid UTF-8 text"}, /* overlong */
        /* regression: libfyaml 0.7.12 looped forever on this directive (found by fuzzing) */
        {"%s\x95\x8d\x89\x9a\xdf\xff\x8d\x89" "9er: ", "t.yaml:1:3: not valid UTF-8"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fx f;
        struct cairn_cfg c;
        struct cairn_err err = {0};
        int rc = load(&c, &f, cases[i].yaml, &err);
        if (rc != CAIRN_EINVAL || !strstr(err.msg, cases[i].want))
            fail_msg("case %zu: rc %d, message '%s', want '%s'", i, rc, err.msg, cases[i].want);
        cairn_cfg_deinit(&c);
    }
}

static void file_errors_name_the_file(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("cfgload");
    assert_non_null(dir);
    char path[512];
    snprintf(path, sizeof path, "%s/bad.yaml", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("# comment\nserver:\n  port: 99999\n", fp);
    fclose(fp);
    struct fx f;
    struct cairn_cfg c;
    struct cairn_err err = {0};
    assert_int_equal(cairn_cfg_init(&c, &fx_table, &f, NULL, &err), 0);
    assert_int_equal(cairn_cfg_load_file(&c, path, &err), CAIRN_EINVAL);
    char want[600];
    snprintf(want, sizeof want, "%s:3:9: server.port: 99999 is out of range [0, 65535]", path);
    assert_string_equal(err.msg, want);
    snprintf(path, sizeof path, "%s/missing.yaml", dir);
    assert_int_equal(cairn_cfg_load_file(&c, path, &err), CAIRN_EIO);
    assert_non_null(strstr(err.msg, "missing.yaml"));
    cairn_cfg_deinit(&c);
    test_rmdir_r(dir);
    free(dir);
}

static void expand_env_substitutes(void **state)
{
    (void)state;
    setenv("CAIRN_TEST_NAME", "from-env", 1);
    unsetenv("CAIRN_TEST_UNSET");
    struct fx f;
    struct cairn_cfg c;
    struct cairn_err err = {0};
    assert_int_equal(cairn_cfg_init(&c, &fx_table, &f, NULL, &err), 0);
    c.expand_env = 1;
    const char *y = "name: ${CAIRN_TEST_NAME}\ntags: [\"${CAIRN_TEST_UNSET:-dflt}\", "
                    "\"x${CAIRN_TEST_UNSET}y\", \"$5\"]\n";
    assert_int_equal(cairn_cfg_load_string(&c, "t.yaml", y, strlen(y), &err), 0);
    assert_string_equal(f.name, "from-env");
    assert_string_equal(f.tags.v[0], "dflt");
    assert_string_equal(f.tags.v[1], "xy");
    assert_string_equal(f.tags.v[2], "$5");
    cairn_cfg_deinit(&c);
}

static void dump_masks_secrets_and_round_trips(void **state)
{
    (void)state;
    struct fx f, g;
    struct cairn_cfg c, d;
    struct cairn_err err = {0};
    assert_int_equal(load(&c, &f, fx_yaml, &err), 0);
    struct cairn_buf out = CAIRN_BUF_INIT;
    assert_int_equal(cairn_cfg_dump(&c, &out), 0);
    const char *y = cairn_buf_cstr(&out);
    assert_null(strstr(y, "hunter2"));
    assert_null(strstr(y, "xyzzy"));
    assert_non_null(strstr(y, "      Authorization: \"<secret>\"\n"));
    assert_null(strstr(y, "s3cr3t-default"));
    assert_non_null(strstr(y, "password: \"<secret>\""));
    assert_non_null(strstr(y, "token: \"<secret>\""));
    assert_null(strstr(y, "dry_run")); /* command-line only */
    assert_non_null(strstr(y, "timeout: 250ms\n"));
    assert_non_null(strstr(y, "limit: 1GB\n"));
    assert_non_null(strstr(y, "selector: \"{name=\\\"eventrouter\\\"}\"\n"));

    /* the dump loads back to the same values (secrets aside) */
    assert_int_equal(cairn_cfg_init(&d, &fx_table, &g, NULL, &err), 0);
    int rc = cairn_cfg_load_string(&d, "dump.yaml", y, out.len, &err);
    if (rc)
        fail_msg("%s\n%s", err.msg, y);
    struct cairn_buf again = CAIRN_BUF_INIT;
    assert_int_equal(cairn_cfg_dump(&d, &again), 0);
    assert_string_equal(cairn_buf_cstr(&again), y);
    assert_int_equal(g.small, -100);
    assert_null(g.labels.v[2].value);
    assert_int_equal(((struct fx_scrape *)g.scrape_configs.v)->pipeline_stages.n, 4);
    cairn_buf_deinit(&again);
    cairn_buf_deinit(&out);
    cairn_cfg_deinit(&d);
    cairn_cfg_deinit(&c);
}

static void one_value_or_a_list(void **state)
{
    (void)state;
    struct fx f;
    struct cairn_cfg c;
    struct cairn_err err = {0};
    assert_int_equal(load(&c, &f, "sources: msg\n", &err), 0);
    assert_int_equal(f.sources.n, 1);
    assert_string_equal(f.sources.v[0], "msg");
    assert_int_equal(cairn_cfg_load_string(&c, "t.yaml", "sources: [a, b]\n", 16, &err), 0);
    assert_int_equal(f.sources.n, 2);
    assert_int_equal(cairn_cfg_load_string(&c, "t.yaml", "sources: {a: b}\n", 16, &err),
                     CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "sources: expected a list of strings, got a mapping"));
    cairn_cfg_deinit(&c);
}

static void anchors_and_merge_keys(void **state)
{
    (void)state;
    struct fx f;
    struct cairn_cfg c;
    struct cairn_err err = {0};
    const char *y = "base: &b\n  url: http://a\n  batchwait: 5s\n";
    /* an anchor on an unknown key is still an unknown key */
    assert_int_equal(load(&c, &f, y, &err), CAIRN_EINVAL);
    cairn_cfg_deinit(&c);
    y = "clients:\n"
        "  - &b\n    url: http://a\n    batchwait: 5s\n"
        "  - <<: *b\n    tenant_id: t2\n"
        "  - *b\n"
        "count: 010\n";
    int rc = load(&c, &f, y, &err);
    if (rc)
        fail_msg("%s", err.msg);
    assert_int_equal(f.clients.n, 3);
    struct fx_client *cl = f.clients.v;
    assert_string_equal(cl[1].url, "http://a");
    assert_int_equal(cl[1].batchwait, 5000000000LL);
    assert_string_equal(cl[1].tenant_id, "t2");
    assert_string_equal(cl[2].url, "http://a");
    assert_int_equal(f.count, 10); /* decimal, not octal */
    cairn_cfg_deinit(&c);
}

static void set_by_path(void **state)
{
    (void)state;
    struct fx f;
    struct cairn_cfg c;
    struct cairn_err err = {0};
    assert_int_equal(cairn_cfg_init(&c, &fx_table, &f, NULL, &err), 0);
    assert_int_equal(cairn_cfg_set(&c, "server.port", "8080", &err), 0);
    assert_int_equal(f.server.port, 8080);
    assert_int_equal(cairn_cfg_set(&c, "labels", "a=b", &err), 0);
    assert_int_equal(cairn_cfg_set(&c, "labels", "c==d", &err), 0);
    assert_string_equal(f.labels.v[1].value, "=d");
    assert_int_equal(cairn_cfg_set(&c, "labels", "nokey", &err), CAIRN_EINVAL);
    assert_int_equal(cairn_cfg_set(&c, "server.nope", "1", &err), CAIRN_EINVAL);
    assert_string_equal(err.msg, "unknown key 'server.nope'");
    assert_int_equal(cairn_cfg_set(&c, "count.x", "1", &err), CAIRN_EINVAL);
    assert_int_equal(cairn_cfg_set(&c, "clients", "1", &err), CAIRN_EINVAL);
    assert_int_equal(cairn_cfg_set(&c, "server.port", "70000", &err), CAIRN_EINVAL);
    assert_string_equal(err.msg, "server.port: 70000 is out of range [0, 65535]");
    cairn_cfg_deinit(&c);
}

static void append_to_a_list(void **state)
{
    (void)state;
    struct fx f;
    struct cairn_cfg c;
    struct cairn_err err = {0};
    assert_int_equal(load(&c, &f, fx_yaml, &err), 0);
    struct fx_client *cl = cairn_cfg_list_append(&c, &fx_client_table, &f.clients, &err);
    assert_non_null(cl);
    assert_int_equal(f.clients.n, 3);
    assert_int_equal(cl->batchwait, 1000000000LL); /* element defaults */
    assert_int_equal(cairn_cfg_set_in(&c, &fx_client_table, cl, "url", "http://added", &err), 0);
    assert_int_equal(cairn_cfg_set_in(&c, &fx_client_table, cl, "tls_config.ca_file", "ca.pem",
                                      &err), 0);
    assert_int_equal(cairn_cfg_set_in(&c, &fx_client_table, cl, "urll", "x", &err),
                     CAIRN_EINVAL);
    assert_int_equal(cairn_cfg_check(&c, &err), 0);
    struct cairn_buf out = CAIRN_BUF_INIT;
    assert_int_equal(cairn_cfg_dump(&c, &out), 0);
    assert_non_null(strstr(cairn_buf_cstr(&out), "  - url: \"http://added\"\n"));
    assert_non_null(strstr(cairn_buf_cstr(&out), "      ca_file: ca.pem\n"));
    cairn_buf_deinit(&out);
    /* a required key left empty in an appended element is caught by the final check */
    assert_non_null(cairn_cfg_list_append(&c, &fx_client_table, &f.clients, &err));
    assert_int_equal(cairn_cfg_check(&c, &err), CAIRN_EINVAL);
    assert_string_equal(err.msg, "missing required key 'clients[3].url'");
    cairn_cfg_deinit(&c);
}

static void fixture_table_is_sane(void **state)
{
    (void)state;
    struct cairn_err err = {0};
    int rc = cairn_cfg_table_validate(&fx_table, &err);
    if (rc)
        fail_msg("%s", err.msg);
    /* a broken table is caught */
    static const struct cairn_cfg_entry bad_entries[] = {
        {.key = "x", .type = CAIRN_CFG_DURATION, .offset = 0, .size = 4},
    };
    static const struct cairn_cfg_table bad = CAIRN_CFG_TABLE("bad", bad_entries, int32_t);
    assert_int_equal(cairn_cfg_table_validate(&bad, &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "key x"));
    /* one name for both option forms is fine; the same name on two entries is not */
    static const struct cairn_cfg_entry same_entries[] = {
        {.key = "a", .type = CAIRN_CFG_BOOL, .offset = 0, .size = 4, .flag = "a", .lflag = "a"},
    };
    static const struct cairn_cfg_table same = CAIRN_CFG_TABLE("same", same_entries, int32_t);
    assert_int_equal(cairn_cfg_table_validate(&same, &err), 0);
    static const struct cairn_cfg_entry dup_entries[] = {
        {.key = "a", .type = CAIRN_CFG_BOOL, .offset = 0, .size = 4, .flag = "x"},
        {.key = "b", .type = CAIRN_CFG_BOOL, .offset = 4, .size = 4, .lflag = "x"},
    };
    static const struct cairn_cfg_table dup = CAIRN_CFG_TABLE("dup", dup_entries, int64_t);
    assert_int_equal(cairn_cfg_table_validate(&dup, &err), CAIRN_EINVAL);
    assert_string_equal(err.msg, "option x defined twice");
    static const struct cairn_cfg_entry bad_def_entries[] = {
        {.key = "x", .type = CAIRN_CFG_DURATION, .offset = 0, .size = 8, .def = "soon"},
    };
    static const struct cairn_cfg_table bad_def =
        CAIRN_CFG_TABLE("bad", bad_def_entries, int64_t);
    assert_int_equal(cairn_cfg_table_validate(&bad_def, &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "default of bad.x"));
    /* a key both read and ignored is a table bug */
    static const struct cairn_cfg_ignored both_ignored[] = {{"x", "why"}, {NULL, NULL}};
    static const struct cairn_cfg_entry both_entries[] = {
        {.key = "x", .type = CAIRN_CFG_BOOL, .offset = 0, .size = 4},
    };
    static const struct cairn_cfg_table both =
        CAIRN_CFG_TABLE_IGNORING("both", both_entries, int32_t, both_ignored);
    assert_int_equal(cairn_cfg_table_validate(&both, &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "both read and ignored"));
}

/* ---- allocation failure sweep ---- */

struct failing {
    long countdown; /* fail when it reaches 0; negative: never */
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

static void alloc_failure_sweep(void **state)
{
    (void)state;
    struct failing fa = {.countdown = -1};
    struct cairn_cfg_alloc alloc = {failing_realloc, &fa};
    struct fx f;
    struct cairn_cfg c;
    struct cairn_err err = {0};
    /* count the allocations of a full run */
    assert_int_equal(cairn_cfg_init(&c, &fx_table, &f, &alloc, &err), 0);
    assert_int_equal(cairn_cfg_load_string(&c, "t.yaml", fx_yaml, strlen(fx_yaml), &err), 0);
    char *argv[] = {"x", "--tag", "t1", "--label", "k=v", "--name", "n", NULL};
    struct cairn_cfg_args a;
    assert_int_equal(cairn_cfg_args_parse(&c, 7, argv, &a, &err), 0);
    assert_int_equal(cairn_cfg_args_apply(&c, &a, &err), 0);
    cairn_cfg_args_deinit(&a);
    cairn_cfg_deinit(&c);
    long total = fa.calls;
    assert_true(total > 50);

    for (long k = 0; k < total; k++) {
        fa.countdown = k;
        fa.calls = 0;
        memset(&err, 0, sizeof err);
        int rc = cairn_cfg_init(&c, &fx_table, &f, &alloc, &err);
        if (rc == 0)
            rc = cairn_cfg_load_string(&c, "t.yaml", fx_yaml, strlen(fx_yaml), &err);
        if (rc == 0) {
            rc = cairn_cfg_args_parse(&c, 7, argv, &a, &err);
            if (rc == 0)
                rc = cairn_cfg_args_apply(&c, &a, &err);
            cairn_cfg_args_deinit(&a);
        }
        if (rc != CAIRN_ENOMEM)
            fail_msg("failing allocation %ld of %ld: rc %d (%s)", k, total, rc, err.msg);
        assert_int_equal(err.code, CAIRN_ENOMEM);
        cairn_cfg_deinit(&c); /* frees whatever was built; ASan checks for leaks */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_filled),
        cmocka_unit_test(every_type_loads),
        cmocka_unit_test(second_load_merges),
        cmocka_unit_test(errors_name_key_and_line),
        cmocka_unit_test(file_errors_name_the_file),
        cmocka_unit_test(expand_env_substitutes),
        cmocka_unit_test(dump_masks_secrets_and_round_trips),
        cmocka_unit_test(one_value_or_a_list),
        cmocka_unit_test(anchors_and_merge_keys),
        cmocka_unit_test(set_by_path),
        cmocka_unit_test(append_to_a_list),
        cmocka_unit_test(fixture_table_is_sane),
        cmocka_unit_test(alloc_failure_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
