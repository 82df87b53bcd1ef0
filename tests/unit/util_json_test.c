/* util_json_test.c -- the zero-copy JSON scanner: tokens, structure errors, unescape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cairn/json.h"

/* Render the token stream compactly: { } [ ] k:name s:str n:num t f z */
static int render(const char *in, char *out, size_t cap)
{
    struct cairn_json js;
    struct cairn_json_tok t;
    size_t o = 0;
    cairn_json_init(&js, in, strlen(in));
    for (;;) {
        enum cairn_json_type ty = cairn_json_next(&js, &t);
        if (ty == CAIRN_JSON_EOF)
            break;
        if (ty == CAIRN_JSON_ERROR)
            return -1;
        switch (ty) {
        case CAIRN_JSON_KEY: o += (size_t)snprintf(out + o, cap - o, "k:%.*s ", (int)t.len, t.p); break;
        case CAIRN_JSON_STRING: o += (size_t)snprintf(out + o, cap - o, "s:%.*s ", (int)t.len, t.p); break;
        case CAIRN_JSON_NUMBER: o += (size_t)snprintf(out + o, cap - o, "n:%.*s ", (int)t.len, t.p); break;
        default: o += (size_t)snprintf(out + o, cap - o, "%.*s ", (int)t.len, t.p);
        }
    }
    if (o)
        out[o - 1] = '\0';
    return 0;
}

static void tokens_of_nested_document(void **state)
{
    (void)state;
    char out[512];
    assert_int_equal(render("{\"a\": [1, -2.5e3, \"x\\\"y\"], \"b\": {\"c\": true, \"d\": null}, \"e\": false}",
                            out, sizeof out), 0);
    assert_string_equal(out, "{ k:a [ n:1 n:-2.5e3 s:x\\\"y ] k:b { k:c true k:d null } k:e false }");
    assert_int_equal(render("  \"just a string\"  ", out, sizeof out), 0);
    assert_string_equal(out, "s:just a string");
    assert_int_equal(render("[]", out, sizeof out), 0);
    assert_string_equal(out, "[ ]");
}

static void malformed_documents_are_errors(void **state)
{
    (void)state;
    char out[512];
    const char *bad[] = {"", "{", "{\"a\"}", "{\"a\":}", "[1,]", "[1 2]", "{\"a\":1,}", "{a:1}",
                         "\"unterminated", "\"ctl\x01\"", "01", "1.", "-", "tru", "[1]]", "{]",
                         "{} {}", "\"\\\""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (render(bad[i], out, sizeof out) != -1)
            fail_msg("accepted malformed JSON: %s", bad[i]);
    }
    struct cairn_json js;
    struct cairn_json_tok t;
    struct cairn_err err;
    cairn_json_init(&js, "[1,]", 4);
    while (cairn_json_next(&js, &t) > 0)
        ;
    cairn_json_error(&js, &err);
    assert_non_null(strstr(err.msg, "invalid JSON at offset 3"));
}

static void depth_limit_is_enforced(void **state)
{
    (void)state;
    char deep[CAIRN_JSON_MAX_DEPTH * 2 + 4];
    size_t n = 0;
    for (int i = 0; i < CAIRN_JSON_MAX_DEPTH + 1; i++)
        deep[n++] = '[';
    deep[n] = '\0';
    char out[8192];
    assert_int_equal(render(deep, out, sizeof out), -1);
}

static void skip_jumps_over_a_value(void **state)
{
    (void)state;
    const char *in = "{\"skip\": {\"x\": [1, {\"y\": \"}\"}]}, \"keep\": \"v\"}";
    struct cairn_json js;
    struct cairn_json_tok t;
    cairn_json_init(&js, in, strlen(in));
    assert_int_equal(cairn_json_next(&js, &t), CAIRN_JSON_OBJECT_START);
    assert_int_equal(cairn_json_next(&js, &t), CAIRN_JSON_KEY);
    assert_true(cairn_json_str_eq(&t, "skip", 4));
    assert_int_equal(cairn_json_next(&js, &t), CAIRN_JSON_OBJECT_START);
    assert_int_equal(cairn_json_skip(&js, &t), 0);
    assert_int_equal(cairn_json_next(&js, &t), CAIRN_JSON_KEY);
    assert_true(cairn_json_str_eq(&t, "keep", 4));
    assert_int_equal(cairn_json_next(&js, &t), CAIRN_JSON_STRING);
    assert_int_equal(cairn_json_next(&js, &t), CAIRN_JSON_OBJECT_END);
    assert_int_equal(cairn_json_next(&js, &t), CAIRN_JSON_EOF);
}

static void unescape_resolves_every_escape(void **state)
{
    (void)state;
    struct cairn_buf b = CAIRN_BUF_INIT;
    const char *in = "a\\\"b\\\\c\\/d\\n\\t\\u00e9\\ud83d\\ude00\\udc00";
    assert_int_equal(cairn_json_unescape(in, strlen(in), &b), 0);
    assert_string_equal(b.data, "a\"b\\c/d\n\t\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbd");
    cairn_buf_reset(&b);
    assert_int_equal(cairn_json_unescape("\\q", 2, &b), CAIRN_EINVAL);
    assert_int_equal(cairn_json_unescape("\\u12", 4, &b), CAIRN_EINVAL);
    cairn_buf_deinit(&b);
    struct cairn_json_tok t = {CAIRN_JSON_KEY, "na\\u006de", 9, 1, 0};
    assert_true(cairn_json_str_eq(&t, "name", 4));
    assert_false(cairn_json_str_eq(&t, "nam", 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tokens_of_nested_document),
        cmocka_unit_test(malformed_documents_are_errors),
        cmocka_unit_test(depth_limit_is_enforced),
        cmocka_unit_test(skip_jumps_over_a_value),
        cmocka_unit_test(unescape_resolves_every_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
