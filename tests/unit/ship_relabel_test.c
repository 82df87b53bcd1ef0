/* ship_relabel_test.c -- the relabelling cases of tests/unit/data/ship_relabel.txt:
 * each a relabel_configs YAML block loaded through the ship config tables, applied to
 * an input label set, and the set (or the drop) that must come out.
 *
 * File format: `case: <title>`, `rules:` then the YAML list at column 0 up to `end`,
 * then either `in: {labels}` and `out: {labels}` / `out: drop`, or `err: <text>` (the
 * config must be refused with a message containing text). Lines starting with # are
 * comments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cairn/buf.h"
#include "cairn/config.h"
#include "cairn/labels.h"
#include "cairn/sd.h"
#include "cairn/ship_config.h"
#include "ship/ship_build.h"

static int to_sd(const char *text, struct cairn_sd_labels *out)
{
    struct cairn_labels ls;
    cairn_labels_init(&ls);
    struct cairn_err err;
    int rc = cairn_labels_parse(&ls, text, strlen(text), &err);
    for (size_t i = 0; !rc && i < ls.n; i++)
        rc = cairn_sd_labels_set(out, ls.v[i].name, ls.v[i].name_len, ls.v[i].value,
                                 ls.v[i].value_len);
    cairn_labels_deinit(&ls);
    return rc;
}

static void format(const struct cairn_sd_labels *ls, struct cairn_buf *b)
{
    cairn_buf_reset(b);
    cairn_buf_append_byte(b, '{');
    for (size_t i = 0; i < ls->n; i++)
        cairn_buf_appendf(b, "%s%s=\"%s\"", i ? ", " : "", ls->v[i].name, ls->v[i].value);
    cairn_buf_append_str(b, "}");
}

struct tcase {
    char title[4096];
    struct cairn_buf yaml;
    char in[4096], out[4096], err[4096];
    int line;
};

static int run_case(struct tcase *c)
{
    struct cairn_ship_config cfg;
    struct cairn_cfg cc = {0};
    struct cairn_err err;
    cairn_err_clear(&err);
    assert_int_equal(cairn_cfg_init(&cc, &cairn_ship_config_table, &cfg, NULL, &err), 0);
    struct cairn_buf doc = CAIRN_BUF_INIT;
    cairn_buf_append_str(&doc, "scrape_configs:\n- job_name: t\n  relabel_configs:\n");
    /* indent the case's list under relabel_configs */
    const char *p = c->yaml.data ? c->yaml.data : "";
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
        cairn_buf_append_str(&doc, "  ");
        cairn_buf_append(&doc, p, n);
        p += n;
    }
    int failed = 0;
    int rc = cairn_cfg_load_string(&cc, "relabel.yaml", doc.data, doc.len, &err);
    if (!rc)
        rc = cairn_cfg_check(&cc, &err);
    struct cairn_ship_relabel_rule *rules = NULL;
    const struct cairn_ship_scrape *sc = NULL;
    if (!rc) {
        sc = cfg.scrape_configs.v;
        rules = cairn_ship_relabel_compile(&sc->relabel_configs, "relabel_configs", &err);
        if (!rules)
            rc = err.code ? err.code : -1;
    }
    if (c->err[0]) {
        if (rc == 0 || !strstr(err.msg, c->err)) {
            fprintf(stderr, "line %d: %s: want error containing '%s', got rc=%d '%s'\n",
                    c->line, c->title, c->err, rc, err.msg);
            failed = 1;
        }
    } else if (rc) {
        fprintf(stderr, "line %d: %s: unexpected error %s\n", c->line, c->title, err.msg);
        failed = 1;
    } else {
        struct cairn_sd_labels ls;
        cairn_sd_labels_init(&ls);
        assert_int_equal(to_sd(c->in, &ls), 0);
        int keep = cairn_ship_relabel_apply(rules, sc->relabel_configs.n, &ls);
        struct cairn_buf got = CAIRN_BUF_INIT;
        if (keep == 0)
            cairn_buf_append_str(&got, "drop");
        else
            format(&ls, &got);
        if (keep < 0 || strcmp(got.data, c->out) != 0) {
            fprintf(stderr, "line %d: %s:\n  want %s\n  got  %s (rc %d)\n", c->line, c->title,
                    c->out, got.data, keep);
            failed = 1;
        }
        cairn_buf_deinit(&got);
        cairn_sd_labels_deinit(&ls);
    }
    if (rules)
        cairn_ship_relabel_free(rules, sc->relabel_configs.n);
    cairn_buf_deinit(&doc);
    cairn_cfg_deinit(&cc);
    return failed;
}

static void test_table(void **state)
{
    (void)state;
    const char *src = getenv("CAIRN_SRC");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/unit/data/ship_relabel.txt", src ? src : ".");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[4096];
    struct tcase c;
    memset(&c, 0, sizeof c);
    int in_rules = 0, have = 0, n = 0, failed = 0, lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (in_rules) {
            if (strcmp(line, "end") == 0)
                in_rules = 0;
            else
                cairn_buf_appendf(&c.yaml, "%s\n", line);
            continue;
        }
        if (line[0] == '#' || line[0] == '\0')
            continue;
        if (strncmp(line, "case: ", 6) == 0) {
            if (have) {
                failed += run_case(&c);
                n++;
            }
            cairn_buf_deinit(&c.yaml);
            memset(&c, 0, sizeof c);
            snprintf(c.title, sizeof c.title, "%s", line + 6);
            c.line = lineno;
            have = 1;
        } else if (strcmp(line, "rules:") == 0) {
            in_rules = 1;
        } else if (strncmp(line, "in: ", 4) == 0) {
            snprintf(c.in, sizeof c.in, "%s", line + 4);
        } else if (strncmp(line, "out: ", 5) == 0) {
            snprintf(c.out, sizeof c.out, "%s", line + 5);
        } else if (strncmp(line, "err: ", 5) == 0) {
            snprintf(c.err, sizeof c.err, "%s", line + 5);
        } else {
            fail_msg("line %d: unknown directive '%s'", lineno, line);
        }
    }
    if (have) {
        failed += run_case(&c);
        n++;
    }
    cairn_buf_deinit(&c.yaml);
    fclose(f);
    fprintf(stderr, "%d relabel cases, %d failed\n", n, failed);
    assert_int_equal(failed, 0);
    assert_true(n >= 30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_table)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
