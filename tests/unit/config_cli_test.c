/* config_cli_test.c -- command-line options over the config tables: GNU and Loki
 * forms, booleans, repeatable options, override order (defaults < file < options),
 * --config / -config.file, --help listing every option with its default, errors. */
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

struct run {
    struct fx f;
    struct cairn_cfg c;
    struct cairn_cfg_args a;
    struct cairn_buf out;
    struct cairn_err err;
    int rc;
};

static void run(struct run *r, int argc, char **argv)
{
    memset(r, 0, sizeof *r);
    assert_int_equal(cairn_cfg_init(&r->c, &fx_table, &r->f, NULL, &r->err), 0);
    r->rc = cairn_cfg_load_args(&r->c, argc, argv, "usage: fx [options]", &r->a, &r->out,
                                &r->err);
}

static void done(struct run *r)
{
    cairn_cfg_args_deinit(&r->a);
    cairn_buf_deinit(&r->out);
    cairn_cfg_deinit(&r->c);
}

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

static void option_forms(void **state)
{
    (void)state;
    char *argv[] = {"fx",
                    "--count", "4",           /* GNU, separate value */
                    "--ratio=0.75",           /* GNU, = */
                    "-timeout", "2m",         /* single dash, separate value (Go) */
                    "-client.timeout=3m",     /* Loki dotted flag */
                    "-server.http-listen-port=3100",
                    "--level", "low",
                    "--verbose",              /* boolean without value */
                    "--no-server-flag",       /* negated boolean */
                    "--tag", "a", "--tag=b",  /* repeatable: appends */
                    "--label", "job=x", "--label", "env=prod",
                    "--dry-run",              /* command-line only */
                    "pos1", "-", "--", "--count", NULL};
    struct run r;
    run(&r, ARGC(argv), argv);
    if (r.rc)
        fail_msg("%s", r.err.msg);
    assert_int_equal(r.f.count, 4);
    assert_true(r.f.ratio == 0.75);
    assert_int_equal(r.f.timeout, 180LL * 1000000000LL); /* later one wins */
    assert_int_equal(r.f.server.port, 3100);
    assert_int_equal(r.f.level, 1);
    assert_int_equal(r.f.verbose, 1);
    assert_false(r.f.server.flag);
    assert_int_equal(r.f.tags.n, 2);
    assert_string_equal(r.f.tags.v[1], "b");
    assert_int_equal(r.f.labels.n, 2);
    assert_string_equal(r.f.labels.v[1].key, "env");
    assert_string_equal(r.f.labels.v[1].value, "prod");
    assert_int_equal(r.f.dry_run, 1);
    assert_int_equal(r.a.n_pos, 3); /* "-" is positional (stdin); "--" ends options */
    assert_string_equal(r.a.pos[0], "pos1");
    assert_string_equal(r.a.pos[1], "-");
    assert_string_equal(r.a.pos[2], "--count");
    done(&r);

    char *argv2[] = {"fx", "--verbose=false", "-dry-run-loki=true", "--server-flag=no", NULL};
    run(&r, ARGC(argv2), argv2);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.f.verbose, 0);
    assert_int_equal(r.f.dry_run, 1);
    assert_false(r.f.server.flag);
    done(&r);
}

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

static void file_then_options(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("cfgcli");
    assert_non_null(dir);
    char *path = write_file(dir, "c.yaml", "count: 8\nname: from-file\ntags: [f]\nserver:\n"
                                           "  port: 1234\n");
    char cf[600];
    snprintf(cf, sizeof cf, "-config.file=%s", path);

    /* option before or after --config: options still win over the file */
    char *argv[] = {"fx", "--count", "9", cf, NULL};
    struct run r;
    run(&r, ARGC(argv), argv);
    if (r.rc)
        fail_msg("%s", r.err.msg);
    assert_int_equal(r.f.count, 9);               /* option over file */
    assert_string_equal(r.f.name, "from-file");   /* file over default */
    assert_int_equal(r.f.server.port, 1234);
    assert_string_equal(r.f.server.addr, "127.0.0.1"); /* default */
    assert_string_equal(r.a.config_file, path);
    done(&r);

    char *argv2[] = {"fx", "--config", path, "--tag", "o", NULL};
    run(&r, ARGC(argv2), argv2);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.f.count, 8);
    assert_int_equal(r.f.tags.n, 2); /* the file's list, then the option appended */
    assert_string_equal(r.f.tags.v[1], "o");
    done(&r);

    char *argv3[] = {"fx", "-config.file", path, "--config=/nonexistent/x.yaml", NULL};
    run(&r, ARGC(argv3), argv3);
    assert_int_equal(r.rc, CAIRN_EIO);
    assert_non_null(strstr(r.err.msg, "/nonexistent/x.yaml"));
    done(&r);

    /* a bad file names file and line even when reached through the options */
    char *bad = write_file(dir, "bad.yaml", "count: 3\nratio: 7\n");
    char *argv4[] = {"fx", "--config", bad, NULL};
    run(&r, ARGC(argv4), argv4);
    assert_int_equal(r.rc, CAIRN_EINVAL);
    char want[700];
    snprintf(want, sizeof want, "%s:2:8: ratio: 7 is out of range [0, 1]", bad);
    assert_string_equal(r.err.msg, want);
    done(&r);

    /* -config.expand-env */
    setenv("CAIRN_CLI_TEST_COUNT", "6", 1);
    char *env = write_file(dir, "env.yaml", "count: ${CAIRN_CLI_TEST_COUNT}\n");
    char *argv5[] = {"fx", "-config.expand-env=true", "--config", env, NULL};
    run(&r, ARGC(argv5), argv5);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.f.count, 6);
    done(&r);

    free(env);
    free(bad);
    free(path);
    test_rmdir_r(dir);
    free(dir);
}

static void option_errors(void **state)
{
    (void)state;
    static const struct {
        const char *args[4];
        const char *want;
    } cases[] = {
        {{"--bogus"}, "unknown option '--bogus' (see --help)"},
        {{"--cuont=3"}, "unknown option '--cuont' (did you mean --count?)"},
        {{"-client.timeuot=1s"}, "unknown option '-client.timeuot' (did you mean -client.timeout?)"},
        {{"--confg", "x"}, "unknown option '--confg' (did you mean --config?)"},
        {{"-bogus.flag=1"}, "unknown option '-bogus.flag' (see --help)"},
        {{"--count"}, "option --count needs a value (int)"},
        {{"--count", "x"}, "option --count: 'x' is not an integer"},
        {{"--count=99"}, "option --count: 99 is out of range [1, 10]"},
        {{"--level=top"}, "option --level: 'top' is not one of low, mid, high"},
        {{"--timeout", "soon"}, "option --timeout: 'soon' is not a duration (like 250ms, 1h30m, 7d, 1w)"},
        {{"--verbose=perhaps"}, "option --verbose: 'perhaps' is not a boolean (true or false)"},
        {{"--no-verbose=1"}, "option --no-verbose takes no value"},
        {{"--no-count"}, "unknown option '--no-count'"},
        {{"--label", "novalue"}, "option --label: 'novalue' is not KEY=VALUE"},
        {{"--config"}, "option --config needs a file name"},
        {{"--clients=x"}, "unknown option '--clients'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *argv[6] = {"fx"};
        int argc = 1;
        for (int k = 0; k < 4 && cases[i].args[k]; k++)
            argv[argc++] = (char *)cases[i].args[k];
        struct run r;
        run(&r, argc, argv);
        if (r.rc != CAIRN_EINVAL ||
            strncmp(r.err.msg, cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("case %zu: rc %d '%s', want '%s'", i, r.rc, r.err.msg, cases[i].want);
        done(&r);
    }
}

static void help_lists_every_option_with_default(void **state)
{
    (void)state;
    char *argv[] = {"fx", "--count=3", "--help", NULL};
    struct run r;
    run(&r, ARGC(argv), argv);
    assert_int_equal(r.rc, CAIRN_CFG_EXIT);
    const char *h = cairn_buf_cstr(&r.out);
    assert_true(strncmp(h, "usage: fx [options]\n", 20) == 0);
    static const char *const want[] = {
        "--config FILE, -config.file=FILE",
        "-config.expand-env",
        "--print-config",
        "--help, -h",
        ("--addr string\n      address (string, default \"127.0.0.1\")\n"
         "      config file: server.addr\n"),
        "-server.http-listen-port=int\n      port (int, default 80)\n",
        "--[no-]server-flag\n      a bool in a section (bool, default true)\n",
        ("--count int\n      how many (int, default 5)\n      config file: count\n"),
        "--ratio float\n      a fraction (float, default 0.5)\n",
        ("--timeout duration, -client.timeout=duration\n"
         "      how long (duration, default 1h30m)\n"),
        "--limit size\n      how big (size, default 64MiB)\n",
        ("--level low|mid|high, -log.level=low|mid|high\n"
         "      a level (low|mid|high, default mid)\n"),
        "--name string\n      a name (string, default cairn)\n",
        "--token string\n      a secret (string, default \"<secret>\")\n",
        "--[no-]verbose\n      talk more (bool, default false)\n",
        ("--tag list of strings\n"
         "      tags (repeatable) (list of strings, default empty)\n"),
        "--label map of strings\n",
        ("--[no-]dry-run, -dry-run-loki\n"
         "      print instead of pushing (bool, default false)\n"),
        /* the YAML keys, list elements and variants included */
        "config file keys (YAML):\n",
        "  server.port  (int, default 80)\n",
        ("  clients[].url  (string, default none, required)\n      push URL\n"),
        "  clients[].batchwait  (duration, default 1s)\n",
        "  clients[].tls_config.insecure_skip_verify  (bool, default false)\n",
        "  scrape_configs[].pipeline_stages[].json.expressions  (map of strings)\n",
        "  scrape_configs[].pipeline_stages[].labeldrop  (list of strings)\n",
        "  scrape_configs[].pipeline_stages[].match.stages  (list of one-key sections)\n",
        "  scrape_configs[].pipeline_stages[].match.stages[]...  (the same kinds as above",
        "  metrics.<name>.type  (string, default Counter)\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(h, want[i]))
            fail_msg("help lacks '%s':\n%s", want[i], h);
    assert_null(strstr(h, "s3cr3t-default"));
    /* every entry with a flag appears, with "default" */
    for (size_t i = 0; i < fx_table.n; i++) {
        const struct cairn_cfg_entry *e = &fx_table.entries[i];
        if (!e->flag)
            continue;
        char opt[64];
        snprintf(opt, sizeof opt, "%s%s", e->type == CAIRN_CFG_BOOL ? "--[no-]" : "--", e->flag);
        const char *at = strstr(h, opt);
        assert_non_null(at);
        const char *nl = strchr(strchr(at, '\n') + 1, '\n');
        assert_non_null(memmem(at, (size_t)(nl - at), "default ", 8));
    }
    done(&r);
}

static void print_config_dumps_effective(void **state)
{
    (void)state;
    char *argv[] = {"fx", "--count=2", "--token", "abc", "--print-config", NULL};
    struct run r;
    run(&r, ARGC(argv), argv);
    assert_int_equal(r.rc, CAIRN_CFG_EXIT);
    const char *y = cairn_buf_cstr(&r.out);
    assert_non_null(strstr(y, "count: 2\n"));
    assert_non_null(strstr(y, "token: \"<secret>\"\n"));
    assert_null(strstr(y, "abc"));
    assert_string_equal(r.f.token, "abc");
    done(&r);
}

static void required_checked_after_options(void **state)
{
    (void)state;
    static const struct cairn_cfg_entry e[] = {
        {.key = "url", .type = CAIRN_CFG_STRING, .flags = CAIRN_CFG_REQUIRED, .offset = 0,
         .size = sizeof(char *), .flag = "url"},
    };
    static const struct cairn_cfg_table t = CAIRN_CFG_TABLE("req", e, char *);
    char *url;
    struct cairn_cfg c;
    struct cairn_cfg_args a;
    struct cairn_buf out = CAIRN_BUF_INIT;
    struct cairn_err err = {0};
    char *argv[] = {"x", NULL};
    assert_int_equal(cairn_cfg_init(&c, &t, &url, NULL, &err), 0);
    assert_int_equal(cairn_cfg_load_args(&c, 1, argv, "u", &a, &out, &err), CAIRN_EINVAL);
    assert_string_equal(err.msg, "missing required key 'url'");
    cairn_cfg_args_deinit(&a);
    char *argv2[] = {"x", "--url=http://h", NULL};
    assert_int_equal(cairn_cfg_load_args(&c, 2, argv2, "u", &a, &out, &err), 0);
    assert_string_equal(url, "http://h");
    cairn_cfg_args_deinit(&a);
    cairn_cfg_deinit(&c);
    cairn_buf_deinit(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(option_forms),
        cmocka_unit_test(file_then_options),
        cmocka_unit_test(option_errors),
        cmocka_unit_test(help_lists_every_option_with_default),
        cmocka_unit_test(print_config_dumps_effective),
        cmocka_unit_test(required_checked_after_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
