/* labels_test.c -- label parsing, canonical form, fingerprint, validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cairn/labels.h"

static const struct cairn_labels_limits lim = {15, 1024, 2048};

static void parse_sorts_and_formats(void **state)
{
    (void)state;
    struct cairn_labels ls;
    struct cairn_err err;
    struct cairn_buf b = CAIRN_BUF_INIT;
    cairn_labels_init(&ls);
    const char *in = "{ namespace = \"payments\",app=\"api\" , job=`events`}";
    assert_int_equal(cairn_labels_parse(&ls, in, strlen(in), &err), 0);
    assert_int_equal(ls.n, 3);
    assert_string_equal(ls.v[0].name, "app");
    assert_string_equal(ls.v[2].value, "payments");
    assert_int_equal(cairn_labels_format(&ls, &b), 0);
    assert_string_equal(b.data, "{app=\"api\", job=\"events\", namespace=\"payments\"}");
    const struct cairn_label *l = cairn_labels_get(&ls, "job", 3);
    assert_non_null(l);
    assert_string_equal(l->value, "events");
    assert_null(cairn_labels_get(&ls, "nope", 4));
    cairn_buf_deinit(&b);
    cairn_labels_deinit(&ls);
}

static void parse_unescapes_go_quoting(void **state)
{
    (void)state;
    struct cairn_labels ls;
    struct cairn_err err;
    struct cairn_buf b = CAIRN_BUF_INIT;
    cairn_labels_init(&ls);
    const char *in = "{msg=\"a \\\"q\\\" \\\\ \\n \\u00e9 \\x41\"}";
    assert_int_equal(cairn_labels_parse(&ls, in, strlen(in), &err), 0);
    assert_string_equal(ls.v[0].value, "a \"q\" \\ \n \xc3\xa9 A");
    /* format quotes it back so that parsing the output gives the same set */
    assert_int_equal(cairn_labels_format(&ls, &b), 0);
    struct cairn_labels again;
    cairn_labels_init(&again);
    assert_int_equal(cairn_labels_parse(&again, b.data, b.len, &err), 0);
    assert_int_equal(cairn_labels_fingerprint(&ls), cairn_labels_fingerprint(&again));
    cairn_labels_deinit(&again);
    /* and as a JSON object, escaped as JSON */
    cairn_buf_reset(&b);
    assert_int_equal(cairn_labels_format_json(&ls, &b), 0);
    assert_string_equal(cairn_buf_cstr(&b), "{\"msg\":\"a \\\"q\\\" \\\\ \\n \xc3\xa9 A\"}");
    cairn_buf_deinit(&b);
    cairn_labels_deinit(&ls);
}

static void parse_errors_name_the_problem(void **state)
{
    (void)state;
    struct cairn_labels ls;
    struct cairn_err err;
    cairn_labels_init(&ls);
    const char *bad[] = {"", "a=\"b\"", "{a=\"b\"", "{a=b}", "{1a=\"b\"}", "{a=\"b\" c=\"d\"}",
                         "{a=\"b\"} x", "{a=\"\\q\"}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(cairn_labels_parse(&ls, bad[i], strlen(bad[i]), &err), CAIRN_EINVAL);
        assert_non_null(strstr(err.msg, "parse error at col"));
    }
    const char *dup = "{a=\"1\", b=\"2\", a=\"3\"}";
    assert_int_equal(cairn_labels_parse(&ls, dup, strlen(dup), &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "duplicate label name: 'a'"));
    cairn_labels_deinit(&ls);
}

static void fingerprint_depends_on_every_pair(void **state)
{
    (void)state;
    struct cairn_labels a, b;
    struct cairn_err err;
    cairn_labels_init(&a);
    cairn_labels_init(&b);
    assert_int_equal(cairn_labels_parse(&a, "{x=\"1\",y=\"2\"}", 13, &err), 0);
    assert_int_equal(cairn_labels_parse(&b, "{y=\"2\",x=\"1\"}", 13, &err), 0);
    assert_int_equal(cairn_labels_fingerprint(&a), cairn_labels_fingerprint(&b));
    assert_int_equal(cairn_labels_parse(&b, "{x=\"12\",y=\"\"}", 13, &err), 0);
    assert_int_not_equal(cairn_labels_fingerprint(&a), cairn_labels_fingerprint(&b));
    assert_int_equal(cairn_labels_parse(&b, "{x=\"1\",y=\"3\"}", 13, &err), 0);
    assert_int_not_equal(cairn_labels_fingerprint(&a), cairn_labels_fingerprint(&b));
    cairn_labels_deinit(&a);
    cairn_labels_deinit(&b);
}

static void validate_applies_loki_limits(void **state)
{
    (void)state;
    struct cairn_labels ls;
    struct cairn_err err;
    cairn_labels_init(&ls);
    assert_int_equal(cairn_labels_parse(&ls, "{}", 2, &err), 0);
    assert_int_equal(cairn_labels_validate(&ls, &lim, &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "at least one label pair"));
    cairn_labels_reset(&ls);
    char name[4] = "l00";
    for (int i = 0; i < 16; i++) {
        name[1] = (char)('a' + i);
        assert_int_equal(cairn_labels_add(&ls, name, 3, "v", 1), 0);
    }
    assert_int_equal(cairn_labels_sort(&ls, &err), 0);
    assert_int_equal(cairn_labels_validate(&ls, &lim, &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "has 16 label names; limit 15"));
    cairn_labels_reset(&ls);
    char big[3000];
    memset(big, 'v', sizeof big);
    assert_int_equal(cairn_labels_add(&ls, "app", 3, big, sizeof big), 0);
    assert_int_equal(cairn_labels_validate(&ls, &lim, &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "label value length too long"));
    cairn_labels_deinit(&ls);
}

static void add_rebases_views_when_storage_moves(void **state)
{
    (void)state;
    struct cairn_labels ls;
    struct cairn_err err;
    cairn_labels_init(&ls);
    char v[200];
    memset(v, 'x', sizeof v);
    for (int i = 0; i < 40; i++) {
        char n[8];
        int k = snprintf(n, sizeof n, "n%02d", 39 - i);
        assert_int_equal(cairn_labels_add(&ls, n, (size_t)k, v, (size_t)(i + 1)), 0);
    }
    assert_int_equal(cairn_labels_sort(&ls, &err), 0);
    assert_string_equal(ls.v[0].name, "n00");
    assert_int_equal(ls.v[0].value_len, 40);
    assert_int_equal(strlen(ls.v[0].value), 40);
    cairn_labels_deinit(&ls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_sorts_and_formats),
        cmocka_unit_test(parse_unescapes_go_quoting),
        cmocka_unit_test(parse_errors_name_the_problem),
        cmocka_unit_test(fingerprint_depends_on_every_pair),
        cmocka_unit_test(validate_applies_loki_limits),
        cmocka_unit_test(add_rebases_views_when_storage_moves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
