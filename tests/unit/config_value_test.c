/* config_value_test.c -- the value syntaxes: durations (Go and Prometheus units), byte
 * sizes (go-humanize units as Loki's flagext.ByteSize), booleans, and their formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cairn/config.h"

#define S 1000000000LL

static int64_t dur(const char *s)
{
    int64_t v = -12345;
    int rc = cairn_parse_duration(s, strlen(s), &v);
    if (rc != 0)
        fail_msg("'%s' did not parse: %d", s, rc);
    return v;
}

static void durations_parse(void **state)
{
    (void)state;
    assert_int_equal(dur("0"), 0);
    assert_int_equal(dur("0s"), 0);
    assert_int_equal(dur("1s"), S);
    assert_int_equal(dur("250ms"), 250000000);
    assert_int_equal(dur("1h5m"), 3900 * S);
    assert_int_equal(dur("168h"), 168 * 3600 * S);
    assert_int_equal(dur("7d"), 168 * 3600 * S);
    assert_int_equal(dur("1w"), 168 * 3600 * S);
    assert_int_equal(dur("1y"), 365LL * 24 * 3600 * S);
    assert_int_equal(dur("1.5h"), 5400 * S);
    assert_int_equal(dur(".5s"), S / 2);
    assert_int_equal(dur("1h30m15s10ms5us7ns"), 5415 * S + 10000000 + 5000 + 7);
    assert_int_equal(dur("10\xc2\xb5s"), 10000); /* µs, as Go accepts */
    assert_int_equal(dur("-2m"), -120 * S);
    assert_int_equal(dur("2562047h"), 2562047LL * 3600 * S);

    static const char *const bad[] = {"", "s", "1", "10", "1x", "1 s", "h1", "1.s.", "--1s",
                                      "1m1", "1.2.3s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v;
        if (cairn_parse_duration(bad[i], strlen(bad[i]), &v) == 0)
            fail_msg("'%s' parsed as %lld", bad[i], (long long)v);
    }
    int64_t v;
    assert_int_equal(cairn_parse_duration("2562048h", 8, &v), CAIRN_ERANGE);
    assert_int_equal(cairn_parse_duration("99999999999999999999s", 21, &v), CAIRN_ERANGE);
    /* exactly len bytes: a view into a longer string */
    assert_int_equal(cairn_parse_duration("5m trailing", 2, &v), 0);
    assert_int_equal(v, 300 * S);
}

static uint64_t size(const char *s)
{
    uint64_t v = 12345;
    int rc = cairn_parse_size(s, strlen(s), &v);
    if (rc != 0)
        fail_msg("'%s' did not parse: %d", s, rc);
    return v;
}

static void sizes_parse(void **state)
{
    (void)state;
    assert_int_equal(size("0"), 0);
    assert_int_equal(size("1048576"), 1048576);
    assert_int_equal(size("64MiB"), 64ULL << 20);
    assert_int_equal(size("64mib"), 64ULL << 20);
    assert_int_equal(size("1GB"), 1000000000ULL);
    assert_int_equal(size("512KB"), 512000);
    assert_int_equal(size("512kb"), 512000);
    assert_int_equal(size("256KiB"), 262144);
    assert_int_equal(size("1.5MiB"), 1572864);
    assert_int_equal(size("42 MB"), 42000000);
    assert_int_equal(size("2k"), 2000);
    assert_int_equal(size("2Ki"), 2048);
    assert_int_equal(size("10B"), 10);
    assert_int_equal(size("1TiB"), 1ULL << 40);
    static const char *const bad[] = {"", "MB", "1XB", "1 2", "-1", "1.2.3", ".", "1MBs"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v;
        if (cairn_parse_size(bad[i], strlen(bad[i]), &v) == 0)
            fail_msg("'%s' parsed as %llu", bad[i], (unsigned long long)v);
    }
    uint64_t v;
    assert_int_equal(cairn_parse_size("20EiB", 5, &v), CAIRN_ERANGE);
}

static void bools_parse(void **state)
{
    (void)state;
    static const char *const yes[] = {"true", "True", "TRUE", "yes", "on", "1"};
    static const char *const no[] = {"false", "False", "no", "off", "0"};
    int b;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        assert_int_equal(cairn_cfg_parse_bool(yes[i], strlen(yes[i]), &b), 0);
        assert_int_equal(b, 1);
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        assert_int_equal(cairn_cfg_parse_bool(no[i], strlen(no[i]), &b), 0);
        assert_int_equal(b, 0);
    }
    assert_int_equal(cairn_cfg_parse_bool("maybe", 5, &b), CAIRN_EINVAL);
    assert_int_equal(cairn_cfg_parse_bool("", 0, &b), CAIRN_EINVAL);
}

static void formats_round_trip(void **state)
{
    (void)state;
    static const struct { int64_t ns; const char *text; } durs[] = {
        {0, "0s"}, {S, "1s"}, {250000000, "250ms"}, {5400 * S, "1h30m"},
        {168 * 3600 * S, "168h"}, {S + 1, "1s1ns"}, {-90 * S, "-1m30s"}, {1500, "1us500ns"},
    };
    for (size_t i = 0; i < sizeof durs / sizeof durs[0]; i++) {
        struct cairn_buf b = CAIRN_BUF_INIT;
        assert_int_equal(cairn_format_duration(durs[i].ns, &b), 0);
        assert_string_equal(cairn_buf_cstr(&b), durs[i].text);
        assert_int_equal(dur(cairn_buf_cstr(&b)), durs[i].ns);
        cairn_buf_deinit(&b);
    }
    static const struct { uint64_t n; const char *text; } sizes[] = {
        {0, "0"}, {1000, "1KB"}, {1024, "1KiB"}, {64ULL << 20, "64MiB"}, {1536 * 1024, "1536KiB"},
        {1000000000, "1GB"}, {1234567, "1234567"},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct cairn_buf b = CAIRN_BUF_INIT;
        assert_int_equal(cairn_format_size(sizes[i].n, &b), 0);
        assert_string_equal(cairn_buf_cstr(&b), sizes[i].text);
        assert_int_equal(size(cairn_buf_cstr(&b)), sizes[i].n);
        cairn_buf_deinit(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(durations_parse),
        cmocka_unit_test(sizes_parse),
        cmocka_unit_test(bools_parse),
        cmocka_unit_test(formats_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
