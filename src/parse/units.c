/* units.c -- durations ("1h5m", "250ms", "2d") and byte sizes ("20MB", "1KiB") as
 * LogQL reads them (Go's time.ParseDuration plus Prometheus's d, w, y; go-humanize's
 * ParseBytes). */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/error.h"
#include "cairn/parse_units.h"

static int64_t unit_ns(const char *u, size_t n)
{
    static const struct { const char *s; int64_t ns; } units[] = {
        {"ns", 1}, {"us", 1000}, {"\xc2\xb5s", 1000}, {"\xce\xbcs", 1000},
        {"ms", 1000000}, {"s", 1000000000LL}, {"m", 60000000000LL},
        {"h", 3600000000000LL}, {"d", 86400000000000LL}, {"w", 604800000000000LL},
        {"y", 31536000000000000LL},
    };
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strlen(units[i].s) == n && memcmp(units[i].s, u, n) == 0)
            return units[i].ns;
    return 0;
}

int cairn_parse_duration(const char *p, size_t len, int64_t *ns)
{
    size_t i = 0;
    int neg = 0;
    if (i < len && (p[i] == '-' || p[i] == '+'))
        neg = p[i++] == '-';
    if (i == len)
        return CAIRN_EINVAL;
    if (len - i == 1 && p[i] == '0') {
        *ns = 0;
        return 0;
    }
    double total = 0;
    while (i < len) {
        size_t s = i;
        double v = 0;
        while (i < len && isdigit((unsigned char)p[i]))
            v = v * 10 + (p[i++] - '0');
        if (i < len && p[i] == '.') {
            double f = 0.1;
            i++;
            while (i < len && isdigit((unsigned char)p[i])) {
                v += (p[i++] - '0') * f;
                f /= 10;
            }
        }
        if (i == s || (i == s + 1 && p[s] == '.'))
            return CAIRN_EINVAL;
        size_t us = i;
        while (i < len && !isdigit((unsigned char)p[i]) && p[i] != '.')
            i++;
        int64_t u = unit_ns(p + us, i - us);
        if (!u)
            return CAIRN_EINVAL;
        total += v * (double)u;
    }
    if (total > 9.2e18)
        return CAIRN_EINVAL;
    *ns = (int64_t)llround(neg ? -total : total);
    return 0;
}

int cairn_parse_bytes(const char *p, size_t len, double *bytes)
{
    size_t i = 0;
    while (i < len && p[i] == ' ')
        i++;
    size_t s = i;
    while (i < len && (isdigit((unsigned char)p[i]) || p[i] == '.'))
        i++;
    if (i == s)
        return CAIRN_EINVAL;
    char num[64];
    if (i - s >= sizeof(num))
        return CAIRN_EINVAL;
    memcpy(num, p + s, i - s);
    num[i - s] = '\0';
    char *end;
    double v = strtod(num, &end);
    if (*end)
        return CAIRN_EINVAL;
    while (i < len && p[i] == ' ')
        i++;
    char u[8];
    size_t un = len - i;
    if (un >= sizeof(u))
        return CAIRN_EINVAL;
    for (size_t k = 0; k < un; k++)
        u[k] = (char)tolower((unsigned char)p[i + k]);
    u[un] = '\0';
    static const struct { const char *s; double m; } units[] = {
        {"", 1}, {"b", 1},
        {"k", 1e3}, {"kb", 1e3}, {"ki", 1024.0}, {"kib", 1024.0},
        {"m", 1e6}, {"mb", 1e6}, {"mi", 1048576.0}, {"mib", 1048576.0},
        {"g", 1e9}, {"gb", 1e9}, {"gi", 1073741824.0}, {"gib", 1073741824.0},
        {"t", 1e12}, {"tb", 1e12}, {"ti", 1099511627776.0}, {"tib", 1099511627776.0},
        {"p", 1e15}, {"pb", 1e15}, {"pi", 1125899906842624.0}, {"pib", 1125899906842624.0},
        {"e", 1e18}, {"eb", 1e18}, {"ei", 1152921504606846976.0},
        {"eib", 1152921504606846976.0},
    };
    for (size_t k = 0; k < sizeof(units) / sizeof(units[0]); k++)
        if (strcmp(units[k].s, u) == 0) {
            *bytes = v * units[k].m;
            return 0;
        }
    return CAIRN_EINVAL;
}
