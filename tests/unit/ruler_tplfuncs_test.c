/* ruler_tplfuncs_test.c -- Prometheus's annotation template functions against the
 * outputs Prometheus documents and tests (template_reference, template_test.go), and
 * that LogQL's templates (compiled without the extra table) do not have them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cairn/parse_template.h"
#include "ruler/ruler_int.h"

static int lookup(void *arg, const char *name, size_t len, const char **v, size_t *vlen)
{
    (void)arg;
    if (len == 8 && memcmp(name, "instance", 8) == 0) {
        *v = "localhost:3000";
        *vlen = 14;
        return 1;
    }
    return 0;
}

/* Render src with the ruler's functions: 0 and the text, or the error message. */
static int render(const char *src, struct cairn_buf *out, struct cairn_err *err)
{
    struct cairn_template *t =
        cairn_template_compile_with(src, strlen(src), &cairn__ruler_tpl_funcs, err);
    if (!t)
        return -1;
    struct cairn_template_ctx ctx = {.lookup = lookup};
    int rc = cairn_template_render(t, &ctx, out, err);
    cairn_template_destroy(t);
    return rc;
}

static void eq(const char *src, const char *want)
{
    struct cairn_err err;
    cairn_err_clear(&err);
    struct cairn_buf out = CAIRN_BUF_INIT;
    int rc = render(src, &out, &err);
    if (rc)
        fail_msg("%s: %s", src, err.msg);
    if (strcmp(cairn_buf_cstr(&out), want))
        fail_msg("%s: got \"%s\", want \"%s\"", src, cairn_buf_cstr(&out), want);
    cairn_buf_deinit(&out);
}

static void fails(const char *src, const char *msg_part)
{
    struct cairn_err err;
    cairn_err_clear(&err);
    struct cairn_buf out = CAIRN_BUF_INIT;
    assert_int_not_equal(render(src, &out, &err), 0);
    if (!strstr(err.msg, msg_part))
        fail_msg("%s: error \"%s\" lacks \"%s\"", src, err.msg, msg_part);
    cairn_buf_deinit(&out);
}

static void humanize(void **state)
{
    (void)state;
    /* Prometheus's documented examples */
    eq("{{ humanize 1234567.0 }}", "1.235M");
    eq("{{ humanize1024 1048576.0 }}", "1Mi");
    eq("{{ humanizeDuration 899.99 }}", "14m 59s");
    eq("{{ humanizePercentage 0.1234567 }}", "12.35%");
    eq("{{ 1435065584.128 | humanizeTimestamp }}", "2015-06-23 13:19:44.128 +0000 UTC");
    /* template_test.go's cases */
    eq("{{ humanize 0.0 }}|{{ humanize 0.000001 }}|{{ humanize 0.0012 }}|{{ humanize 0.1 }}",
       "0|1u|1.2m|100m");
    eq("{{ humanize 1.0 }}|{{ humanize 1234.0 }}|{{ humanize 12345678912345.0 }}", "1|1.234k|12.35T");
    eq("{{ humanize 123456789123456789123456789.0 }}", "123.5Y");
    eq("{{ humanize -1234567.0 }}", "-1.235M");
    eq("{{ humanize \"1234567\" }}", "1.235M"); /* text parses, as convertToFloat does */
    eq("{{ humanize1024 0.0 }}|{{ humanize1024 1.0 }}|{{ humanize1024 1048576.0 }}|{{ humanize1024 1125899906842624.0 }}",
       "0|1|1Mi|1Pi");
    eq("{{ humanize1024 -2048.0 }}|{{ humanize1024 0.5 }}", "-2ki|0.5");
    eq("{{ humanizeDuration 0.0 }}|{{ humanizeDuration 0.1 }}|{{ humanizeDuration 0.000001 }}",
       "0s|100ms|1us");
    eq("{{ humanizeDuration 1.0 }}|{{ humanizeDuration 1.2345 }}|{{ humanizeDuration 60.0 }}",
       "1s|1.234s|1m 0s");
    eq("{{ humanizeDuration 3600.0 }}|{{ humanizeDuration 86400.0 }}|{{ humanizeDuration 93784.5 }}",
       "1h 0m 0s|1d 0h 0m 0s|1d 2h 3m 4s");
    eq("{{ humanizeDuration -3600.0 }}|{{ humanizeDuration -1.5 }}", "-1h 0m 0s|-1.5s");
    eq("{{ humanizePercentage 0.0 }}|{{ humanizePercentage 1.0 }}|{{ humanizePercentage 12.5 }}",
       "0%|100%|1250%");
    eq("{{ humanizeTimestamp 0.0 }}|{{ humanizeTimestamp 1435065584.0 }}",
       "1970-01-01 00:00:00 +0000 UTC|2015-06-23 13:19:44 +0000 UTC");
    eq("{{ humanize \"NaN\" }}|{{ humanize \"+Inf\" }}|{{ humanizeDuration \"-Inf\" }}|{{ humanizeTimestamp \"NaN\" }}",
       "NaN|+Inf|-Inf|NaN");
    fails("{{ humanize \"one\" }}", "error calling humanize");
    fails("{{ humanizeTimestamp 1e19 }}", "overflows int64");
}

static void strings(void **state)
{
    (void)state;
    eq("{{ \"aa bb CC\" | toUpper }}", "AA BB CC");
    eq("{{ \"aA bB CC\" | toLower }}", "aa bb cc");
    /* Prometheus's title is cases.Title(..., cases.NoLower): the rest is kept */
    eq("{{ \"aa bb CC\" | title }}", "Aa Bb CC");
    eq("{{ match \"a+\" \"aa\" }}|{{ match \"^b\" \"ab\" }}", "true|false");
    eq("{{ if match \"^local\" .instance }}yes{{ end }}", "yes");
    eq("{{ reReplaceAll \"localhost:(.*)\" \"my.domain:$1\" .instance }}", "my.domain:3000");
    eq("{{ .instance | reReplaceAll \":.*\" \"\" }}", "localhost");
    fails("{{ match \"(\" \"x\" }}", "error calling match");
    fails("{{ toUpper }}", "wrong number of args");
}

/* LogQL's line_format (cairn_template_compile) has none of the Prometheus names. */
static void not_in_logql(void **state)
{
    (void)state;
    static const char *names[] = {"humanize", "humanize1024", "humanizePercentage",
                                  "humanizeDuration", "humanizeTimestamp", "toUpper",
                                  "toLower", "match", "reReplaceAll"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char src[64], want[96];
        snprintf(src, sizeof src, "{{ %s 1 }}", names[i]);
        snprintf(want, sizeof want, "function \"%s\" not defined", names[i]);
        struct cairn_err err;
        cairn_err_clear(&err);
        struct cairn_template *t = cairn_template_compile(src, strlen(src), &err);
        assert_null(t);
        if (!strstr(err.msg, want))
            fail_msg("%s: %s", src, err.msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(humanize),
        cmocka_unit_test(strings),
        cmocka_unit_test(not_in_logql),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
