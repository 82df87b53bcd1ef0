/* parse_template_test.c -- the Go template subset outside LogQL: rendering with a
 * lookup callback, errors, Go float and time formatting, and reuse across renders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cairn/parse_template.h"

static int lookup(void *arg, const char *name, size_t len, const char **v, size_t *vlen)
{
    (void)arg;
    if (len == 4 && memcmp(name, "user", 4) == 0) {
        *v = "Ada";
        *vlen = 3;
        return 1;
    }
    return 0;
}

static void render_eq(const char *src, const char *want)
{
    struct cairn_err err;
    struct cairn_template *t = cairn_template_compile(src, strlen(src), &err);
    assert_non_null(t);
    struct cairn_template_ctx ctx = {lookup, NULL, "the line", 8, 1700000000000000000LL, 0};
    struct cairn_buf out = CAIRN_BUF_INIT;
    /* twice: the second render reuses the scratch */
    for (int i = 0; i < 2; i++) {
        cairn_buf_reset(&out);
        assert_int_equal(cairn_template_render(t, &ctx, &out, &err), 0);
        assert_string_equal(cairn_buf_cstr(&out), want);
    }
    cairn_buf_deinit(&out);
    cairn_template_destroy(t);
}

static void renders(void **state)
{
    (void)state;
    render_eq("hello {{.user}}", "hello Ada");
    render_eq("{{ .missing }}|", "|");
    render_eq("{{ __line__ | upper | trunc 3 }}", "THE");
    render_eq("{{ if .user }}yes{{ else }}no{{ end }}", "yes");
    render_eq("{{ if .nope }}yes{{ else if eq .user \"Ada\" }}ada{{ else }}no{{ end }}", "ada");
    render_eq("{{ printf \"%5s|%-5s|%.1f\" \"a\" \"b\" 2.25 }}", "    a|b    |2.2");
    /* %v of a float64 is strconv's 'g' with the shortest digits, which switches to an
     * exponent when it is < -4 or >= 6 ("use precision 6 for this decision",
     * strconv/ftoa.go), at least two exponent digits */
    render_eq("{{ 1.0 }} {{ 0.1 }} {{ 1e21 }} {{ 1e20 }} {{ 0.00001 }}", "1 0.1 1e+21 1e+20 1e-05");
    render_eq("{{ 123456.0 }} {{ 1234567.0 }} {{ 0.0001 }} {{ -2.5e-7 }}", "123456 1.234567e+06 0.0001 -2.5e-07");
    render_eq("{{ true }} {{ nil }}", "true <no value>");
    render_eq("{{ $x := \"v\" }}{{ $x = \"w\" }}{{ $x }}", "w");
    render_eq("no actions", "no actions");
    /* Promtail's digests of the arguments joined; known answers of "abc" and "" */
    render_eq("{{ Sha2Hash \"ab\" \"c\" }}",
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    render_eq("{{ Hash \"a\" \"bc\" }}",
              "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532");
    render_eq("{{ Hash \"\" \"\" }}",
              "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
    render_eq("{{ Sha2Hash \"\" \"\" }}",
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void literal_flag_and_errors(void **state)
{
    (void)state;
    struct cairn_err err;
    struct cairn_template *t = cairn_template_compile("plain", 5, &err);
    assert_true(cairn_template_is_literal(t));
    cairn_template_destroy(t);
    assert_null(cairn_template_compile("{{ .a | }}", 10, &err));
    assert_null(cairn_template_compile("{{ (upper .a }}", 15, &err));
    assert_null(cairn_template_compile("x\n{{ bogus }}", 13, &err));
    assert_string_equal(err.msg, "template: line:2: function \"bogus\" not defined");
    cairn_template_destroy(NULL);
}

static void go_time(void **state)
{
    (void)state;
    struct cairn_buf b = CAIRN_BUF_INIT;
    const char *l = "2006-01-02T15:04:05.000Z07:00 Mon Jan _2 3PM";
    assert_int_equal(cairn_gotime_format(&b, l, strlen(l), 1700000000123456789LL), 0);
    assert_string_equal(cairn_buf_cstr(&b), "2023-11-14T22:13:20.123Z Tue Nov 14 10PM");
    int64_t ns;
    const char *rl = "2006-01-02T15:04:05Z07:00";
    assert_int_equal(cairn_gotime_parse(rl, strlen(rl), "2023-11-14T23:13:20+01:00", 25, &ns), 0);
    assert_int_equal(ns, 1700000000000000000LL);
    assert_int_equal(cairn_gotime_parse(rl, strlen(rl), "2023-11-14 23:13:20", 19, &ns), CAIRN_EINVAL);
    const char *l2 = "02/Jan/2006:15:04:05 -0700";
    assert_int_equal(cairn_gotime_parse(l2, strlen(l2), "10/Jun/2021:09:14:29 +0000", 26, &ns), 0);
    assert_int_equal(ns, 1623316469000000000LL);
    cairn_buf_reset(&b);
    assert_int_equal(cairn_go_format_float(&b, 6.031), 0);
    assert_string_equal(cairn_buf_cstr(&b), "6.031");
    cairn_buf_deinit(&b);
}

/* Internal digests (src/parse/digest.c): the multi-block known answers. */
void cairn__sha256(const void *p1, size_t n1, const void *p2, size_t n2, unsigned char out[32]);
void cairn__sha3_256(const void *p1, size_t n1, const void *p2, size_t n2, unsigned char out[32]);

static void digests_long_inputs(void **state)
{
    (void)state;
    static unsigned char buf[1000000];
    unsigned char d[32];
    char hex[65];
    memset(buf, 'a', sizeof(buf));
    cairn__sha256(buf, 400000, buf, 600000, d); /* one million 'a' */
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    memset(buf, 0xa3, 200);
    cairn__sha3_256(buf, 137, buf, 63, d); /* FIPS 202 example: 1600 bits of 0xa3 */
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    assert_string_equal(hex, "79f38adec5c20307a98ef76e8324afbfd46cfd81b22e3973c65fa1bd9de31787");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(renders),
        cmocka_unit_test(literal_flag_and_errors),
        cmocka_unit_test(go_time),
        cmocka_unit_test(digests_long_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
