/* util_test.c -- buffer, varints, hashing, time formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cairn/buf.h"
#include "cairn/hash.h"
#include "cairn/text.h"
#include "cairn/timeutil.h"

static void buf_append_grows_and_terminates(void **state)
{
    (void)state;
    struct cairn_buf b = CAIRN_BUF_INIT;
    assert_string_equal(cairn_buf_cstr(&b), "");
    for (int i = 0; i < 1000; i++)
        assert_int_equal(cairn_buf_appendf(&b, "%d,", i), 0);
    assert_int_equal(b.data[b.len], '\0');
    assert_true(b.len > 2000);
    assert_memory_equal(b.data, "0,1,2,", 6);
    cairn_buf_truncate(&b, 2);
    assert_string_equal(b.data, "0,");
    cairn_buf_reset(&b);
    assert_int_equal(b.len, 0);
    cairn_buf_deinit(&b);
}

static void buf_json_string_escapes(void **state)
{
    (void)state;
    struct cairn_buf b = CAIRN_BUF_INIT;
    assert_int_equal(cairn_buf_append_json_str(&b, "a\"b\\c\n\x01", 7), 0);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\u0001\"");
    cairn_buf_reset(&b);
    assert_int_equal(cairn_buf_append_html(&b, "<a href=\"x\">&</a>"), 0);
    assert_int_equal(cairn_buf_append_html(&b, NULL), 0);
    assert_string_equal(b.data, "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
    cairn_buf_deinit(&b);
}

/* Finding 7: every JSON answer goes through this escaper; invalid UTF-8 comes out as
 * \ufffd (one per bad byte, as Go's encoder), valid UTF-8 as it is, on both sides of
 * the eight-byte fast path. */
static void buf_json_string_replaces_invalid_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"a\xff" "b", "\"a\\ufffdb\""},
        {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""},
        {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""},          /* a surrogate */
        {"\xc0\xaf", "\"\\ufffd\\ufffd\""},                     /* overlong '/' */
        {"x\xe2\x82", "\"x\\ufffd\\ufffd\""},                   /* truncated at the end */
        {"\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""}, /* past U+10FFFF */
        {"0123456789abcdef\xfe" "0123456789\"", "\"0123456789abcdef\\ufffd0123456789\\\"\""},
        {"abcdefg\xc3\xa9hijklmnopq", "\"abcdefg\xc3\xa9hijklmnopq\""},
    };
    struct cairn_buf b = CAIRN_BUF_INIT;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cairn_buf_reset(&b);
        assert_int_equal(cairn_buf_append_json_str(&b, cases[i].in, strlen(cases[i].in)), 0);
        assert_string_equal(b.data, cases[i].out);
    }
    /* 6 bytes out per bad byte fits the reservation */
    char bad[100];
    memset(bad, 0xff, sizeof bad);
    cairn_buf_reset(&b);
    assert_int_equal(cairn_buf_append_json_str(&b, bad, sizeof bad), 0);
    assert_int_equal(b.len, sizeof bad * 6 + 2);
    cairn_buf_deinit(&b);
    assert_int_equal(cairn_utf8_valid_prefix("abc\xc3\xa9\xff", 6), 5);
    assert_int_equal(cairn_utf8_fixed_len("a\xff\xfe", 3), 7);
    char o[16];
    assert_int_equal(cairn_utf8_fix(o, "a\xffz", 3), 5);
    assert_memory_equal(o, "a\xef\xbf\xbdz", 5);
}

static void varint_round_trip(void **state)
{
    (void)state;
    const int64_t vals[] = {0, 1, -1, 63, -64, 300, INT64_MAX, INT64_MIN, 1700000000000000000LL};
    struct cairn_buf b = CAIRN_BUF_INIT;
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        assert_int_equal(cairn_buf_append_varint(&b, vals[i]), 0);
    size_t off = 0;
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        int64_t v;
        size_t n = cairn_get_varint((unsigned char *)b.data + off, b.len - off, &v);
        assert_true(n > 0);
        assert_int_equal(v, vals[i]);
        off += n;
    }
    assert_int_equal(off, b.len);
    /* truncated input is refused, not misread */
    uint64_t u;
    assert_int_equal(cairn_get_uvarint((const unsigned char *)"\x80\x80", 2, &u), 0);
    cairn_buf_deinit(&b);
}

static void crc32c_known_vectors(void **state)
{
    (void)state;
    /* RFC 3720 test vector: 32 bytes of zeros -> 0x8a9136aa; "123456789" -> 0xe3069283 */
    unsigned char zeros[32] = {0};
    assert_int_equal(cairn_crc32c(0, zeros, 32), 0x8a9136aa);
    assert_int_equal(cairn_crc32c(0, "123456789", 9), 0xe3069283);
    /* incremental equals one-shot */
    uint32_t c = cairn_crc32c(0, "1234", 4);
    assert_int_equal(cairn_crc32c(c, "56789", 5), 0xe3069283);
}

static void rfc3339_formats_like_go(void **state)
{
    (void)state;
    char out[64];
    cairn_format_rfc3339(1700000000123000000LL, out, sizeof out);
    assert_string_equal(out, "2023-11-14T22:13:20.123Z");
    cairn_format_rfc3339(0, out, sizeof out);
    assert_string_equal(out, "1970-01-01T00:00:00Z");
    int64_t v;
    assert_int_equal(cairn_parse_i64("1700000000123000000", 19, &v), 0);
    assert_int_equal(v, 1700000000123000000LL);
    assert_int_not_equal(cairn_parse_i64("17x", 3, &v), 0);
    assert_int_not_equal(cairn_parse_i64("99999999999999999999", 20, &v), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buf_append_grows_and_terminates),
        cmocka_unit_test(buf_json_string_escapes),
        cmocka_unit_test(buf_json_string_replaces_invalid_utf8),
        cmocka_unit_test(varint_round_trip),
        cmocka_unit_test(crc32c_known_vectors),
        cmocka_unit_test(rfc3339_formats_like_go),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
