/* units.c -- durations (Go's time.ParseDuration units plus Prometheus' d, w, y) and
 * byte sizes (go-humanize units, as Loki's flagext.ByteSize): parsed exactly, in
 * integers, and formatted back. The one parser for config files, flags, LogQL and
 * the agent's stages. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/error.h"
#include "cairn/units.h"

#define NS_US 1000LL
#define NS_MS 1000000LL
#define NS_S 1000000000LL
#define NS_M (60 * NS_S)
#define NS_H (60 * NS_M)
#define NS_D (24 * NS_H)
#define NS_W (7 * NS_D)
#define NS_Y (365 * NS_D)

static int64_t duration_unit(const char *u, size_t n)
{
    static const struct { const char *name; int64_t ns; } units[] = {
        {"ns", 1}, {"us", NS_US}, {"\xc2\xb5s", NS_US}, {"\xce\xbcs", NS_US}, {"ms", NS_MS},
        {"s", NS_S}, {"m", NS_M}, {"h", NS_H}, {"d", NS_D}, {"w", NS_W}, {"y", NS_Y},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strlen(units[i].name) == n && memcmp(units[i].name, u, n) == 0)
            return units[i].ns;
    return 0;
}


int cairn_parse_duration(const char *s, size_t len, int64_t *ns)
{
    size_t i = 0;
    int neg = 0;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    if (i == len)
        return CAIRN_EINVAL;
    if (len - i == 1 && s[i] == '0') {
        *ns = 0;
        return 0;
    }
    __int128 total = 0;
    while (i < len) {
        size_t d0 = i;
        uint64_t ip = 0;
        int big = 0;
        while (i < len && isdigit((unsigned char)s[i])) {
            if (ip > (UINT64_MAX - 9) / 10)
                big = 1;
            else
                ip = ip * 10 + (uint64_t)(s[i] - '0');
            i++;
        }
        size_t nint = i - d0;
        uint64_t frac = 0, scale = 1;
        size_t nfrac = 0;
        if (i < len && s[i] == '.') {
            i++;
            while (i < len && isdigit((unsigned char)s[i])) {
                if (scale < 1000000000000000000ULL) { /* 18 digits are plenty */
                    frac = frac * 10 + (uint64_t)(s[i] - '0');
                    scale *= 10;
                }
                i++;
                nfrac++;
            }
        }
        if (nint == 0 && nfrac == 0)
            return CAIRN_EINVAL;
        size_t u0 = i;
        while (i < len && !isdigit((unsigned char)s[i]) && s[i] != '.')
            i++;
        int64_t unit = duration_unit(s + u0, i - u0);
        if (unit == 0)
            return CAIRN_EINVAL; /* a missing or unknown unit */
        if (big)
            return CAIRN_ERANGE;
        total += (__int128)ip * unit + (__int128)frac * unit / scale;
        if (total > INT64_MAX)
            return CAIRN_ERANGE;
    }
    *ns = neg ? -(int64_t)total : (int64_t)total;
    return 0;
}


int cairn_parse_size(const char *s, size_t len, uint64_t *bytes)
{
    static const struct { const char *name; uint64_t mul; } units[] = {
        {"", 1}, {"b", 1},
        {"k", 1000ULL}, {"kb", 1000ULL}, {"ki", 1ULL << 10}, {"kib", 1ULL << 10},
        {"m", 1000000ULL}, {"mb", 1000000ULL}, {"mi", 1ULL << 20}, {"mib", 1ULL << 20},
        {"g", 1000000000ULL}, {"gb", 1000000000ULL}, {"gi", 1ULL << 30}, {"gib", 1ULL << 30},
        {"t", 1000000000000ULL}, {"tb", 1000000000000ULL}, {"ti", 1ULL << 40},
        {"tib", 1ULL << 40},
        {"p", 1000000000000000ULL}, {"pb", 1000000000000000ULL}, {"pi", 1ULL << 50},
        {"pib", 1ULL << 50},
        {"e", 1000000000000000000ULL}, {"eb", 1000000000000000000ULL}, {"ei", 1ULL << 60},
        {"eib", 1ULL << 60},
    };
    size_t i = 0;
    while (i < len && s[i] == ' ')
        i++;
    size_t d0 = i;
    int dot = 0;
    while (i < len && (isdigit((unsigned char)s[i]) || (s[i] == '.' && !dot))) {
        dot |= s[i] == '.';
        i++;
    }
    size_t dend = i;
    if (dend == d0 || (dend - d0 == 1 && dot))
        return CAIRN_EINVAL;
    while (i < len && s[i] == ' ')
        i++;
    size_t ulen = len - i;
    char u[4];
    if (ulen > 3)
        return CAIRN_EINVAL;
    for (size_t k = 0; k < ulen; k++)
        u[k] = (char)tolower((unsigned char)s[i + k]);
    uint64_t mul = 0;
    for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
        if (strlen(units[k].name) == ulen && memcmp(units[k].name, u, ulen) == 0)
            mul = units[k].mul;
    if (mul == 0)
        return CAIRN_EINVAL;
    char num[64];
    if (dend - d0 >= sizeof num)
        return CAIRN_ERANGE;
    memcpy(num, s + d0, dend - d0);
    num[dend - d0] = '\0';
    if (!dot) {
        errno = 0;
        unsigned long long v = strtoull(num, NULL, 10);
        if (errno == ERANGE || (mul > 1 && v > UINT64_MAX / mul))
            return CAIRN_ERANGE;
        *bytes = (uint64_t)v * mul;
        return 0;
    }
    double v = strtod(num, NULL) * (double)mul;
    if (!(v < 18446744073709551615.0))
        return CAIRN_ERANGE;
    *bytes = (uint64_t)v;
    return 0;
}


int cairn_format_duration(int64_t ns, struct cairn_buf *out)
{
    if (ns == 0)
        return cairn_buf_append_str(out, "0s");
    static const struct { const char *name; int64_t ns; } parts[] = {
        {"h", NS_H}, {"m", NS_M}, {"s", NS_S}, {"ms", NS_MS}, {"us", NS_US}, {"ns", 1},
    };
    size_t start = out->len;
    uint64_t v = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    if (ns < 0 && cairn_buf_append_byte(out, '-') != 0)
        return CAIRN_ENOMEM;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        uint64_t q = v / (uint64_t)parts[i].ns;
        if (q == 0)
            continue;
        v -= q * (uint64_t)parts[i].ns;
        if (cairn_buf_appendf(out, "%" PRIu64 "%s", q, parts[i].name) != 0) {
            cairn_buf_truncate(out, start);
            return CAIRN_ENOMEM;
        }
    }
    return 0;
}


int cairn_format_size(uint64_t bytes, struct cairn_buf *out)
{
    static const struct { const char *name; uint64_t mul; } units[] = {
        {"TiB", 1ULL << 40}, {"GiB", 1ULL << 30}, {"MiB", 1ULL << 20}, {"KiB", 1ULL << 10},
        {"TB", 1000000000000ULL}, {"GB", 1000000000ULL}, {"MB", 1000000ULL}, {"KB", 1000ULL},
    };
    if (bytes != 0)
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if (bytes % units[i].mul == 0)
                return cairn_buf_appendf(out, "%" PRIu64 "%s", bytes / units[i].mul,
                                         units[i].name);
    return cairn_buf_appendf(out, "%" PRIu64, bytes);
}

