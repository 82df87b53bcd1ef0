/* parse_scan_test.c -- the shared scanners: logfmt pairs and errors, pattern
 * extraction, JSON flattening and JSON paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cairn/parse_json.h"
#include "cairn/parse_logfmt.h"
#include "cairn/parse_pattern.h"

static void logfmt_pairs(void **state)
{
    (void)state;
    const char *in = "a=1 b=\"two words\" c= flag d=\"esc \\\"q\\\"\"";
    struct cairn_logfmt it;
    struct cairn_logfmt_pair pr;
    struct cairn_buf v = CAIRN_BUF_INIT;
    cairn_logfmt_init(&it, in, strlen(in));
    const char *want[][2] = {{"a", "1"}, {"b", "two words"}, {"c", ""}, {"flag", ""}, {"d", "esc \"q\""}};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(cairn_logfmt_next(&it, &pr), 1);
        assert_int_equal(pr.key_len, strlen(want[i][0]));
        assert_memory_equal(pr.key, want[i][0], pr.key_len);
        cairn_buf_reset(&v);
        assert_int_equal(cairn_logfmt_value(&pr, &v), 0);
        assert_string_equal(cairn_buf_cstr(&v), want[i][1]);
        assert_int_equal(pr.bare, i == 3);
    }
    assert_int_equal(cairn_logfmt_next(&it, &pr), 0);
    cairn_buf_deinit(&v);
}

static void logfmt_errors_and_recovery(void **state)
{
    (void)state;
    const char *in = "a=1 =x b=\"open";
    struct cairn_logfmt it;
    struct cairn_logfmt_pair pr;
    cairn_logfmt_init(&it, in, strlen(in));
    assert_int_equal(cairn_logfmt_next(&it, &pr), 1);
    assert_int_equal(cairn_logfmt_next(&it, &pr), -1);
    assert_string_equal(it.why, "unexpected '='");
    assert_int_equal(it.err_pos, 5);
    cairn_logfmt_recover(&it);
    assert_int_equal(cairn_logfmt_next(&it, &pr), -1);
    assert_string_equal(it.why, "unterminated quoted value");
}

static void pattern_extract(void **state)
{
    (void)state;
    struct cairn_err err;
    const char *p = "<ip> - - [<_>] \"<method> <uri> <_>\" <status>";
    struct cairn_pattern *pat = cairn_pattern_compile(p, strlen(p), 0, &err);
    assert_non_null(pat);
    const char *line = "1.2.3.4 - - [10/Jun/2021:09:14:29 +0000] \"GET /x HTTP/1.1\" 200";
    struct cairn_pattern_capture c[CAIRN_PATTERN_MAX_CAPTURES];
    int n = cairn_pattern_extract(pat, line, strlen(line), c);
    assert_int_equal(n, 4);
    assert_memory_equal(c[0].v, "1.2.3.4", c[0].len);
    assert_memory_equal(c[1].name, "method", c[1].name_len);
    assert_memory_equal(c[2].v, "/x", c[2].len);
    assert_memory_equal(c[3].v, "200", c[3].len);
    assert_true(cairn_pattern_test(pat, line, strlen(line)));
    assert_false(cairn_pattern_test(pat, "nope", 4));
    cairn_pattern_destroy(pat);
    assert_null(cairn_pattern_compile("plain", 5, 0, &err));
    assert_string_equal(err.msg, "at least one capture is required");
    pat = cairn_pattern_compile("plain", 5, 1, &err); /* a filter needs no capture */
    assert_non_null(pat);
    assert_true(cairn_pattern_test(pat, "plain", 5));
    assert_false(cairn_pattern_test(pat, "plain!", 6));
    cairn_pattern_destroy(pat);
}

struct leaves {
    char buf[512];
};

static int collect(void *arg, const char *key, size_t klen, const struct cairn_json_tok *v)
{
    struct leaves *l = arg;
    size_t n = strlen(l->buf);
    snprintf(l->buf + n, sizeof(l->buf) - n, "%.*s=%.*s;", (int)klen, key, (int)v->len, v->p);
    return 0;
}

static void json_flatten(void **state)
{
    (void)state;
    struct leaves l = {{0}};
    struct cairn_buf key = CAIRN_BUF_INIT;
    struct cairn_err err;
    const char *in = "{\"a\":{\"b-c\":1,\"d\":[1,{\"x\":2}],\"e\":{\"f\":true}},\"9g\":\"s\"}";
    assert_int_equal(cairn_json_flatten(in, strlen(in), 1, &key, collect, &l, &err), 0);
    assert_string_equal(l.buf, "a_b_c=1;a_e_f=true;_9g=s;");
    memset(&l, 0, sizeof(l));
    assert_int_equal(cairn_json_flatten(in, strlen(in), 0, &key, collect, &l, &err), 0);
    assert_string_equal(l.buf, "a_b-c=1;a_e_f=true;9g=s;");
    assert_int_equal(cairn_json_flatten("[1]", 3, 1, &key, collect, &l, &err), CAIRN_EINVAL);
    assert_int_equal(cairn_json_flatten("{\"a\":", 5, 1, &key, collect, &l, &err), CAIRN_EINVAL);
    cairn_buf_deinit(&key);
}

static void json_paths(void **state)
{
    (void)state;
    struct cairn_err err;
    const char *doc = "{\"servers\":[\"a\",\"b\"],\"request\":{\"headers\":{\"User-Agent\":\"curl\"}},"
                      "\"dotted.key\":{\"x\":[1,[2,3]]}}";
    struct {
        const char *path, *want;
    } cases[] = {
        {"servers[1]", "b"},
        {"servers", "[\"a\",\"b\"]"},
        {"request.headers[\"User-Agent\"]", "curl"},
        {"[\"dotted.key\"].x[1][0]", "2"},
        {"[\"dotted.key\"].x", "[1,[2,3]]"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cairn_jsonpath *jp = cairn_jsonpath_compile(cases[i].path, strlen(cases[i].path), &err);
        assert_non_null(jp);
        struct cairn_json_tok v;
        const char *raw;
        size_t rl;
        assert_int_equal(cairn_jsonpath_get(jp, doc, strlen(doc), &v, &raw, &rl), 1);
        assert_int_equal(rl, strlen(cases[i].want));
        assert_memory_equal(raw, cases[i].want, rl);
        cairn_jsonpath_destroy(jp);
    }
    struct cairn_jsonpath *jp = cairn_jsonpath_compile("servers[5]", 10, &err);
    struct cairn_json_tok v;
    const char *raw;
    size_t rl;
    assert_int_equal(cairn_jsonpath_get(jp, doc, strlen(doc), &v, &raw, &rl), 0);
    cairn_jsonpath_destroy(jp);
    assert_null(cairn_jsonpath_compile("a..b", 4, &err));
    assert_null(cairn_jsonpath_compile("", 0, &err));
    assert_null(cairn_jsonpath_compile("a[x]", 4, &err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(logfmt_pairs),
        cmocka_unit_test(logfmt_errors_and_recovery),
        cmocka_unit_test(pattern_extract),
        cmocka_unit_test(json_flatten),
        cmocka_unit_test(json_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
