/* timefmt.c -- times the way Promtail's timestamp stage reads them: the named formats
 * (RFC3339, ANSIC, Kitchen, ...) mapped to Go layouts parsed by the shared layout
 * parser (parse_template.h), Unix/UnixMs/UnixUs/UnixNs, a missing year meaning this
 * year, and IANA locations read from the system's TZif files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn/parse_template.h"
#include "cairn/timeutil.h"
#include "ship/ship_int.h"

static const struct {
    const char *name, *layout;
} named[] = {
    {"ANSIC", "Mon Jan _2 15:04:05 2006"},
    {"UnixDate", "Mon Jan _2 15:04:05 MST 2006"},
    {"RubyDate", "Mon Jan 02 15:04:05 -0700 2006"},
    {"RFC822", "02 Jan 06 15:04 MST"},
    {"RFC822Z", "02 Jan 06 15:04 -0700"},
    {"RFC850", "Monday, 02-Jan-06 15:04:05 MST"},
    {"RFC1123", "Mon, 02 Jan 2006 15:04:05 MST"},
    {"RFC1123Z", "Mon, 02 Jan 2006 15:04:05 -0700"},
    {"RFC3339", "2006-01-02T15:04:05Z07:00"},
    {"RFC3339Nano", "2006-01-02T15:04:05.999999999Z07:00"},
    {"Kitchen", "3:04PM"},
    {"Stamp", "Jan _2 15:04:05"},
    {"StampMilli", "Jan _2 15:04:05.000"},
    {"StampMicro", "Jan _2 15:04:05.000000"},
    {"StampNano", "Jan _2 15:04:05.000000000"},
};

const char *cairn__time_layout(const char *format)
{
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (strcmp(named[i].name, format) == 0)
            return named[i].layout;
    return format;
}

/* Does a Go layout name a zone (then the value's zone wins over the location)? */
static int layout_has_zone(const char *l)
{
    return strstr(l, "Z07") || strstr(l, "-07") || strstr(l, "MST");
}

/* Does it name a year? Promtail fills in the current year when it does not. */
static int layout_has_year(const char *l)
{
    return strstr(l, "06") != NULL; /* "2006" or "06" */
}

/* Read up to 9 fraction digits into nanoseconds. */
static int parse_frac(const char **p, const char *end, long *nsec)
{
    long v = 0;
    int k = 0;
    while (*p < end && **p >= '0' && **p <= '9') {
        if (k < 9) {
            v = v * 10 + (**p - '0');
            k++;
        }
        (*p)++;
    }
    if (k == 0)
        return -1;
    while (k++ < 9)
        v *= 10;
    *nsec = v;
    return 0;
}

/* ---- locations (TZif) ---- */

struct cairn__tz {
    size_t n;
    int64_t *trans; /* UTC seconds of each transition */
    int32_t *off;   /* offset in effect from trans[i] */
    int32_t off0;   /* before the first transition */
};

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct cairn__tz *cairn__tz_load(const char *name)
{
    if (!name || !*name || strcmp(name, "UTC") == 0)
        return NULL;
    char path[512];
    snprintf(path, sizeof path, "%s%s", name[0] == '/' ? "" : "/usr/share/zoneinfo/",
             strcmp(name, "Local") == 0 ? "/etc/localtime" : name);
    if (strcmp(name, "Local") == 0)
        snprintf(path, sizeof path, "/etc/localtime");
    if (strstr(name, ".."))
        return NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *d = malloc(1 << 20);
    size_t n = d ? fread(d, 1, 1 << 20, f) : 0;
    fclose(f);
    struct cairn__tz *tz = NULL;
    if (n < 44 || memcmp(d, "TZif", 4) != 0)
        goto out;
    /* v1 header counts: isutcnt isstdcnt leapcnt timecnt typecnt charcnt */
    const unsigned char *h = d;
    int v2 = d[4] >= '2';
    size_t tsize = 4;
    if (v2) {
        uint32_t c[6];
        for (int i = 0; i < 6; i++)
            c[i] = be32(h + 20 + 4 * i);
        size_t skip = 44 + c[3] * 4 + c[3] + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0];
        if (skip + 44 > n)
            goto out;
        h = d + skip;
        tsize = 8;
    }
    uint32_t timecnt = be32(h + 32), typecnt = be32(h + 36);
    const unsigned char *tp = h + 44, *ip = tp + timecnt * tsize, *tt = ip + timecnt;
    if ((size_t)(tt + typecnt * 6 - d) > n || typecnt == 0)
        goto out;
    tz = calloc(1, sizeof *tz);
    if (!tz)
        goto out;
    tz->n = timecnt;
    tz->trans = calloc(timecnt ? timecnt : 1, sizeof *tz->trans);
    tz->off = calloc(timecnt ? timecnt : 1, sizeof *tz->off);
    if (!tz->trans || !tz->off) {
        free(tz->trans);
        free(tz->off);
        free(tz);
        tz = NULL;
        goto out;
    }
    tz->off0 = (int32_t)be32(tt);
    for (uint32_t i = 0; i < timecnt; i++) {
        tz->trans[i] = tsize == 8 ? (int64_t)((uint64_t)be32(tp + 8 * i) << 32 | be32(tp + 8 * i + 4))
                                  : (int64_t)(int32_t)be32(tp + 4 * i);
        unsigned idx = ip[i] < typecnt ? ip[i] : 0;
        tz->off[i] = (int32_t)be32(tt + 6 * idx);
    }
out:
    free(d);
    return tz;
}

void cairn__tz_free(struct cairn__tz *tz)
{
    if (!tz)
        return;
    free(tz->trans);
    free(tz->off);
    free(tz);
}

/* Offset of the zone at UTC second u. */
static int32_t tz_offset_at(const struct cairn__tz *tz, int64_t u)
{
    int32_t off = tz->off0;
    size_t lo = 0, hi = tz->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (tz->trans[mid] <= u)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo > 0)
        off = tz->off[lo - 1];
    return off;
}

int cairn__time_parse(const char *format, const struct cairn__tz *tz, const char *v, size_t len,
                      int64_t *ns)
{
    if (strcmp(format, "Unix") == 0) {
        /* seconds, optionally with a fraction */
        const char *dot = memchr(v, '.', len);
        int64_t s;
        if (cairn_parse_i64(v, dot ? (size_t)(dot - v) : len, &s))
            return CAIRN_EINVAL;
        long frac = 0;
        if (dot) {
            const char *p = dot + 1;
            if (parse_frac(&p, v + len, &frac) || p != v + len)
                return CAIRN_EINVAL;
        }
        int64_t whole;
        if (__builtin_mul_overflow(s, 1000000000LL, &whole) ||
            __builtin_add_overflow(whole, (int64_t)(s < 0 ? -frac : frac), ns))
            return CAIRN_EINVAL; /* beyond year 2262 */
        return 0;
    }
    int64_t mult = 0;
    if (strcmp(format, "UnixMs") == 0)
        mult = 1000000;
    else if (strcmp(format, "UnixUs") == 0)
        mult = 1000;
    else if (strcmp(format, "UnixNs") == 0)
        mult = 1;
    if (mult) {
        int64_t x;
        if (cairn_parse_i64(v, len, &x) || __builtin_mul_overflow(x, mult, ns))
            return CAIRN_EINVAL;
        return 0;
    }
    /* Go reference layouts: the shared parser (parse_template.h) */
    const char *layout = cairn__time_layout(format);
    int64_t t;
    if (layout_has_year(layout)) {
        if (cairn_gotime_parse(layout, strlen(layout), v, len, &t))
            return CAIRN_EINVAL;
    } else {
        /* Promtail: a layout without a year means this year */
        char lbuf[256], vbuf[256];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        int ll = snprintf(lbuf, sizeof lbuf, "2006 %s", layout);
        int vl = snprintf(vbuf, sizeof vbuf, "%04d %.*s", tm.tm_year + 1900, (int)len, v);
        if (ll < 0 || vl < 0 || (size_t)ll >= sizeof lbuf || (size_t)vl >= sizeof vbuf ||
            cairn_gotime_parse(lbuf, (size_t)ll, vbuf, (size_t)vl, &t))
            return CAIRN_EINVAL;
    }
    if (!layout_has_zone(layout) && tz) {
        /* wall time in tz: take the offset valid at (local - offset) */
        int64_t local = t / 1000000000LL;
        int32_t off = tz_offset_at(tz, local - tz_offset_at(tz, local));
        t -= (int64_t)off * 1000000000LL;
    }
    *ns = t;
    return 0;
}

