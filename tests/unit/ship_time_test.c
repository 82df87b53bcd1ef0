/* ship_time_test.c -- the timestamp stage's formats: named Go formats, reference
 * layouts, Unix variants, locations. Cases from Promtail's timestamp stage docs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <time.h>

#include "ship/ship_int.h"

static void formats_table(void **state)
{
    (void)state;
    static const struct {
        const char *format, *value;
        int64_t want; /* unix ns */
    } cases[] = {
        {"RFC3339", "2019-01-01T01:00:00Z", 1546304400000000000LL},
        {"RFC3339", "2019-01-01T02:00:00+01:00", 1546304400000000000LL},
        {"RFC3339Nano", "2019-01-01T01:00:00.000000001Z", 1546304400000000001LL},
        {"RFC3339Nano", "2019-01-01T01:00:00.5Z", 1546304400500000000LL},
        {"2006-01-02T15:04:05.999999999Z07:00", "2019-01-01T01:00:00.123-02:00",
         1546311600123000000LL},
        {"Unix", "1562708916", 1562708916000000000LL},
        {"Unix", "1562708916.414123", 1562708916414123000LL},
        {"UnixMs", "1562708916414", 1562708916414000000LL},
        {"UnixUs", "1562708916414123", 1562708916414123000LL},
        {"UnixNs", "1562708916000000123", 1562708916000000123LL},
        {"2006-01-02 15:04:05.000", "2019-01-02 03:04:05.678", 1546398245678000000LL},
        {"02/Jan/2006:15:04:05 -0700", "10/Oct/2000:13:55:36 -0700", 971211336000000000LL},
        {"ANSIC", "Wed Jan  2 15:04:05 2019", 1546441445000000000LL},
        {"RFC1123", "Wed, 02 Jan 2019 15:04:05 GMT", 1546441445000000000LL},
        {"RFC1123Z", "Wed, 02 Jan 2019 15:04:05 +0100", 1546437845000000000LL},
        {"RFC822", "02 Jan 19 15:04 UTC", 1546441440000000000LL},
        {"2006-01-02 03:04:05 PM", "2019-01-02 03:04:05 PM", 1546441445000000000LL},
        {"2006-01-02T15:04:05", "2019-01-02T15:04:05.25", 1546441445250000000LL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ns = 0;
        int rc = cairn__time_parse(cases[i].format, NULL, cases[i].value, strlen(cases[i].value),
                                   &ns);
        if (rc || ns != cases[i].want)
            fail_msg("%s %s: rc=%d got %lld want %lld", cases[i].format, cases[i].value, rc,
                     (long long)ns, (long long)cases[i].want);
    }
    static const char *bad[][2] = {
        {"RFC3339", "2019-01-01 01:00:00"}, {"UnixMs", "12a"}, {"2006-01-02", "2019-13-01"},
        {"RFC3339", "2019-01-01T01:00:00Zjunk"},
        /* regression (fuzzer): out of int64 nanoseconds is an error, not an overflow */
        {"UnixMs", "15662708916414"}, {"Unix", "99999999999"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ns;
        assert_int_equal(cairn__time_parse(bad[i][0], NULL, bad[i][1], strlen(bad[i][1]), &ns),
                         CAIRN_EINVAL);
    }
}

static void no_year_means_this_year(void **state)
{
    (void)state;
    int64_t ns;
    assert_int_equal(cairn__time_parse("Stamp", NULL, "Jan  2 15:04:05", 15, &ns), 0);
    time_t secs = (time_t)(ns / 1000000000LL), now = time(NULL);
    struct tm got, cur;
    gmtime_r(&secs, &got);
    gmtime_r(&now, &cur);
    assert_int_equal(got.tm_year, cur.tm_year);
    assert_int_equal(got.tm_mon, 0);
    assert_int_equal(got.tm_mday, 2);
    assert_int_equal(got.tm_hour, 15);
}

static void locations(void **state)
{
    (void)state;
    struct cairn__tz *ny = cairn__tz_load("America/New_York");
    if (!ny) {
        skip(); /* no tzdata on this machine */
        return;
    }
    int64_t ns;
    /* summer: EDT, UTC-4 */
    assert_int_equal(cairn__time_parse("2006-01-02 15:04:05", ny, "2020-07-01 12:00:00", 19, &ns), 0);
    assert_int_equal(ns, 1593619200000000000LL);
    /* winter: EST, UTC-5 */
    assert_int_equal(cairn__time_parse("2006-01-02 15:04:05", ny, "2020-01-01 12:00:00", 19, &ns), 0);
    assert_int_equal(ns, 1577898000000000000LL);
    /* an explicit zone in the value wins over the location */
    assert_int_equal(cairn__time_parse("RFC3339", ny, "2020-01-01T12:00:00Z", 20, &ns), 0);
    assert_int_equal(ns, 1577880000000000000LL);
    cairn__tz_free(ny);
    assert_null(cairn__tz_load("Nowhere/Atlantis"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(formats_table),
        cmocka_unit_test(no_year_means_this_year),
        cmocka_unit_test(locations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
