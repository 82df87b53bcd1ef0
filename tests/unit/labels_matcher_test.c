/* labels_matcher_test.c -- label matchers: anchoring, negation, regex errors, and the
 * regex wrapper's captures and group names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cairn/matcher.h"

static int m(enum cairn_match_type t, const char *val, const char *subject)
{
    struct cairn_matcher mt;
    struct cairn_err err;
    assert_int_equal(cairn_matcher_init(&mt, t, "app", 3, val, strlen(val), &err), 0);
    int r = cairn_matcher_matches(&mt, subject, strlen(subject));
    cairn_matcher_deinit(&mt);
    return r;
}

static void equality(void **state)
{
    (void)state;
    assert_true(m(CAIRN_MATCH_EQ, "api", "api"));
    assert_false(m(CAIRN_MATCH_EQ, "api", "api2"));
    assert_false(m(CAIRN_MATCH_EQ, "api", ""));
    assert_true(m(CAIRN_MATCH_EQ, "", ""));
    assert_true(m(CAIRN_MATCH_NEQ, "api", "web"));
    assert_false(m(CAIRN_MATCH_NEQ, "api", "api"));
    assert_true(m(CAIRN_MATCH_NEQ, "api", ""));
}

static void regex_fully_anchored(void **state)
{
    (void)state;
    assert_true(m(CAIRN_MATCH_RE, "api|web", "web"));
    assert_false(m(CAIRN_MATCH_RE, "api|web", "webserver"));
    assert_false(m(CAIRN_MATCH_RE, "api", "my-api"));
    assert_true(m(CAIRN_MATCH_RE, ".*api.*", "my-api-1"));
    assert_true(m(CAIRN_MATCH_RE, ".*", ""));
    assert_false(m(CAIRN_MATCH_RE, ".+", ""));
    assert_true(m(CAIRN_MATCH_NRE, "api|web", "db"));
    assert_false(m(CAIRN_MATCH_NRE, "api|web", "api"));
    assert_true(m(CAIRN_MATCH_RE, "kafka-[23]", "kafka-3"));
    assert_false(m(CAIRN_MATCH_RE, "kafka-[23]", "kafka-4"));
    /* RE2 meaning: `.` does not cross a newline, $ is the very end */
    assert_false(m(CAIRN_MATCH_RE, "a.b", "a\nb"));
    assert_false(m(CAIRN_MATCH_RE, "a$", "a\n"));
    /* UTF-8 classes and case folding */
    assert_true(m(CAIRN_MATCH_RE, "caf.", "caf\xc3\xa9"));
    assert_true(m(CAIRN_MATCH_RE, "(?i)API", "api"));
    /* invalid UTF-8 in the subject is not an error */
    assert_false(m(CAIRN_MATCH_RE, "abc", "\xff\xfe"));
}

static void regex_errors_name_the_pattern(void **state)
{
    (void)state;
    struct cairn_matcher mt;
    struct cairn_err err;
    assert_int_equal(cairn_matcher_init(&mt, CAIRN_MATCH_RE, "a", 1, "(x", 2, &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "missing closing parenthesis"));
    assert_non_null(strstr(err.msg, "`(x`"));
    assert_string_equal(cairn_matcher_op_str(CAIRN_MATCH_NRE), "!~");
}

static void regex_captures_and_names(void **state)
{
    (void)state;
    struct cairn_err err;
    struct cairn_regex *re = cairn_regex_compile("(?P<method>\\w+) (\\d+)", strlen("(?P<method>\\w+) (\\d+)"), 0, &err);
    assert_non_null(re);
    assert_int_equal(cairn_regex_groups(re), 2);
    assert_string_equal(cairn_regex_group_name(re, 1), "method");
    assert_null(cairn_regex_group_name(re, 2));
    size_t ov[6];
    const char *s = "xx GET 200";
    assert_int_equal(cairn_regex_exec(re, s, strlen(s), 0, ov, 3), 3);
    assert_int_equal(ov[0], 3);
    assert_int_equal(ov[2], 3);
    assert_int_equal(ov[3], 6);
    assert_int_equal(ov[4], 7);
    assert_int_equal(cairn_regex_exec(re, s, strlen(s), 8, ov, 3), 0);
    assert_false(cairn_regex_matches_empty(re));
    cairn_regex_destroy(re);
    cairn_regex_destroy(NULL);
}

/* RE2 reads [\d-:] as digits, '-' and ':' (Promtail's pipelines doc uses
 * [T\d-:.Z]); PCRE2 alone calls it an invalid range. */
static void regex_hyphen_after_class_escape_is_literal(void **state)
{
    (void)state;
    struct cairn_err err;
    const char *p = "^[T\\d-:.Z]*$";
    struct cairn_regex *re = cairn_regex_compile(p, strlen(p), 0, &err);
    assert_non_null(re);
    const char *ok = "2019-12-04T10:00:00.1Z", *bad = "2019-12-04 10:00";
    assert_int_equal(cairn_regex_match(re, ok, strlen(ok)), 1);
    assert_int_equal(cairn_regex_match(re, bad, strlen(bad)), 0);
    cairn_regex_destroy(re);
    p = "^[[:alpha:]-\\w]+$"; /* after a POSIX class too */
    re = cairn_regex_compile(p, strlen(p), 0, &err);
    assert_non_null(re);
    assert_int_equal(cairn_regex_match(re, "a-b_1", 5), 1);
    cairn_regex_destroy(re);
    /* a range that ends in a class escape stays an error, as in RE2 */
    p = "[a-\\d]";
    assert_null(cairn_regex_compile(p, strlen(p), 0, &err));
    assert_non_null(strstr(err.msg, "invalid range"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(equality),
        cmocka_unit_test(regex_fully_anchored),
        cmocka_unit_test(regex_errors_name_the_pattern),
        cmocka_unit_test(regex_captures_and_names),
        cmocka_unit_test(regex_hyphen_after_class_escape_is_literal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
