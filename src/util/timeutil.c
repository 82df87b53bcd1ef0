/* timeutil.c -- clocks, integer parsing and RFC3339 formatting for Loki's API. */
#include <stdio.h>
#include <time.h>

#include "cairn/error.h"
#include "cairn/timeutil.h"

int64_t cairn_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t cairn_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int cairn_parse_i64(const char *p, size_t len, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    if (len && (p[0] == '-' || p[0] == '+')) {
        neg = p[0] == '-';
        i = 1;
    }
    if (i == len || len - i > 19)
        return CAIRN_EINVAL;
    uint64_t v = 0;
    for (; i < len; i++) {
        unsigned d = (unsigned)(p[i] - '0');
        if (d > 9)
            return CAIRN_EINVAL;
        v = v * 10 + d;
    }
    if (v > (uint64_t)INT64_MAX + (uint64_t)neg)
        return CAIRN_EINVAL;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

size_t cairn_format_rfc3339(int64_t ns, char *out, size_t cap)
{
    int64_t sec = ns / 1000000000LL;
    int64_t frac = ns % 1000000000LL;
    if (frac < 0) {
        frac += 1000000000LL;
        sec--;
    }
    time_t t = (time_t)sec;
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    if (frac && n + 11 < cap) {
        char f[11];
        snprintf(f, sizeof f, ".%09lld", (long long)frac);
        int k = 10;
        while (f[k - 1] == '0')
            k--;
        for (int i = 0; i < k; i++)
            out[n++] = f[i];
    }
    if (n + 1 < cap)
        out[n++] = 'Z';
    out[n < cap ? n : cap - 1] = '\0';
    return n;
}
