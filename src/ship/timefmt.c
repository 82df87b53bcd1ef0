/* timefmt.c -- parse times the way Promtail's timestamp stage does: Go reference
 * layouts ("2006-01-02T15:04:05.999999999Z07:00") and the named formats (RFC3339,
 * ANSIC, Kitchen, ...), Unix/UnixMs/UnixUs/UnixNs, and IANA locations read from the
 * system's TZif files. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static const char *const months[12] = {"January", "February", "March",     "April",
                                       "May",     "June",     "July",      "August",
                                       "September", "October", "November", "December"};
static const char *const days[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                    "Thursday", "Friday", "Saturday"};

const char *cairn__time_layout(const char *format)
{
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (strcmp(named[i].name, format) == 0)
            return named[i].layout;
    return format;
}

static int prefix_ci(const char *s, size_t n, const char *word, size_t wl)
{
    return n >= wl && strncasecmp(s, word, wl) == 0;
}

/* Read 1..max digits (exactly max when fixed). */
static int digits(const char **p, const char *end, int min, int max, int *out)
{
    int v = 0, k = 0;
    while (*p < end && k < max && isdigit((unsigned char)**p)) {
        v = v * 10 + (**p - '0');
        (*p)++;
        k++;
    }
    if (k < min)
        return -1;
    *out = v;
    return 0;
}

struct parsed {
    int year, month, day, hour, min, sec, pm, has_pm;
    long nsec;
    int has_zone, zone_off, has_year;
};

static int parse_frac(const char **p, const char *end, long *nsec)
{
    long v = 0;
    int k = 0;
    while (*p < end && isdigit((unsigned char)**p)) {
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

static int parse_zone(const char **p, const char *end, int allow_z, int colon, int secs_too,
                      int hours_only, int *off)
{
    if (allow_z && *p < end && **p == 'Z') {
        (*p)++;
        *off = 0;
        return 0;
    }
    if (*p >= end || (**p != '+' && **p != '-'))
        return -1;
    int sign = **p == '-' ? -1 : 1;
    (*p)++;
    int h, m = 0, s = 0;
    if (digits(p, end, 2, 2, &h))
        return -1;
    if (!hours_only) {
        if (colon) {
            if (*p >= end || **p != ':')
                return -1;
            (*p)++;
        }
        if (digits(p, end, 2, 2, &m))
            return -1;
        if (secs_too) {
            if (colon) {
                if (*p >= end || **p != ':')
                    return -1;
                (*p)++;
            }
            if (digits(p, end, 2, 2, &s))
                return -1;
        }
    }
    *off = sign * (h * 3600 + m * 60 + s);
    return 0;
}

/* Parse value against a Go layout. 0 or -1. */
static int parse_layout(const char *layout, const char *v, size_t vlen, struct parsed *t)
{
    const char *p = v, *end = v + vlen, *l = layout;
    memset(t, 0, sizeof *t);
    t->day = 1;
    t->month = 1;
    while (*l) {
        size_t rem = (size_t)(end - p);
#define LAY(s) (strncmp(l, s, sizeof(s) - 1) == 0 ? (l += sizeof(s) - 1, 1) : 0)
        if (LAY("January")) {
            int i;
            for (i = 0; i < 12; i++)
                if (prefix_ci(p, rem, months[i], strlen(months[i])))
                    break;
            if (i == 12)
                return -1;
            p += strlen(months[i]);
            t->month = i + 1;
        } else if (LAY("Jan")) {
            int i;
            for (i = 0; i < 12; i++)
                if (prefix_ci(p, rem, months[i], 3))
                    break;
            if (i == 12)
                return -1;
            p += 3;
            t->month = i + 1;
        } else if (LAY("Monday")) {
            int i;
            for (i = 0; i < 7; i++)
                if (prefix_ci(p, rem, days[i], strlen(days[i])))
                    break;
            if (i == 7)
                return -1;
            p += strlen(days[i]);
        } else if (LAY("Mon")) {
            int i;
            for (i = 0; i < 7; i++)
                if (prefix_ci(p, rem, days[i], 3))
                    break;
            if (i == 7)
                return -1;
            p += 3;
        } else if (LAY("MST")) {
            /* zone abbreviation: UTC/GMT known, others taken as UTC as Go does */
            const char *q = p;
            while (q < end && isupper((unsigned char)*q))
                q++;
            if (q - p < 3)
                return -1;
            if (q < end && (*q == '+' || *q == '-') && strncmp(p, "GMT", 3) == 0) {
                int off;
                const char *z = q;
                if (parse_zone(&z, end, 0, 0, 0, 1, &off) == 0) {
                    q = z;
                    t->has_zone = 1;
                    t->zone_off = off;
                }
            }
            p = q;
            if (!t->has_zone) {
                t->has_zone = 1;
                t->zone_off = 0;
            }
        } else if (LAY("2006")) {
            if (digits(&p, end, 4, 4, &t->year))
                return -1;
            t->has_year = 1;
        } else if (LAY("01")) {
            if (digits(&p, end, 2, 2, &t->month))
                return -1;
        } else if (LAY("02")) {
            if (digits(&p, end, 2, 2, &t->day))
                return -1;
        } else if (LAY("_2")) {
            if (p < end && *p == ' ')
                p++;
            if (digits(&p, end, 1, 2, &t->day))
                return -1;
        } else if (LAY("03")) {
            if (digits(&p, end, 2, 2, &t->hour))
                return -1;
        } else if (LAY("04")) {
            if (digits(&p, end, 2, 2, &t->min))
                return -1;
        } else if (LAY("05")) {
            if (digits(&p, end, 2, 2, &t->sec))
                return -1;
            /* Go: a fraction may follow the seconds even if the layout has none */
            if (p + 1 < end && (*p == '.' || *p == ',') && isdigit((unsigned char)p[1]) &&
                *l != '.' && *l != ',') {
                p++;
                if (parse_frac(&p, end, &t->nsec))
                    return -1;
            }
        } else if (LAY("06")) {
            int y;
            if (digits(&p, end, 2, 2, &y))
                return -1;
            t->year = y >= 69 ? 1900 + y : 2000 + y;
            t->has_year = 1;
        } else if (LAY("15")) {
            if (digits(&p, end, 1, 2, &t->hour))
                return -1;
        } else if (LAY("1")) {
            if (digits(&p, end, 1, 2, &t->month))
                return -1;
        } else if (LAY("2")) {
            if (digits(&p, end, 1, 2, &t->day))
                return -1;
        } else if (LAY("3")) {
            if (digits(&p, end, 1, 2, &t->hour))
                return -1;
        } else if (LAY("4")) {
            if (digits(&p, end, 1, 2, &t->min))
                return -1;
        } else if (LAY("5")) {
            if (digits(&p, end, 1, 2, &t->sec))
                return -1;
            if (p + 1 < end && (*p == '.' || *p == ',') && isdigit((unsigned char)p[1]) &&
                *l != '.' && *l != ',') {
                p++;
                if (parse_frac(&p, end, &t->nsec))
                    return -1;
            }
        } else if (LAY("PM")) {
            if (rem < 2)
                return -1;
            if (strncmp(p, "PM", 2) == 0)
                t->pm = 1;
            else if (strncmp(p, "AM", 2) != 0)
                return -1;
            t->has_pm = 1;
            p += 2;
        } else if (LAY("pm")) {
            if (rem < 2)
                return -1;
            if (strncmp(p, "pm", 2) == 0)
                t->pm = 1;
            else if (strncmp(p, "am", 2) != 0)
                return -1;
            t->has_pm = 1;
            p += 2;
        } else if (LAY("Z07:00:00") || LAY("-07:00:00")) {
            if (parse_zone(&p, end, l[-9] == 'Z', 1, 1, 0, &t->zone_off))
                return -1;
            t->has_zone = 1;
        } else if (LAY("Z070000") || LAY("-070000")) {
            if (parse_zone(&p, end, l[-7] == 'Z', 0, 1, 0, &t->zone_off))
                return -1;
            t->has_zone = 1;
        } else if (LAY("Z07:00") || LAY("-07:00")) {
            if (parse_zone(&p, end, l[-6] == 'Z', 1, 0, 0, &t->zone_off))
                return -1;
            t->has_zone = 1;
        } else if (LAY("Z0700") || LAY("-0700")) {
            if (parse_zone(&p, end, l[-5] == 'Z', 0, 0, 0, &t->zone_off))
                return -1;
            t->has_zone = 1;
        } else if (LAY("Z07") || LAY("-07")) {
            if (parse_zone(&p, end, l[-3] == 'Z', 0, 0, 1, &t->zone_off))
                return -1;
            t->has_zone = 1;
        } else if ((*l == '.' || *l == ',') && (l[1] == '0' || l[1] == '9')) {
            char c = l[1];
            size_t k = 1;
            while (l[k] == c)
                k++;
            int optional = c == '9';
            l += k;
            if (p < end && (*p == '.' || *p == ',')) {
                p++;
                if (parse_frac(&p, end, &t->nsec))
                    return -1;
            } else if (!optional) {
                return -1;
            }
        } else {
            if (p >= end || *p != *l)
                return -1;
            p++;
            l++;
        }
#undef LAY
    }
    if (p != end)
        return -1;
    if (t->has_pm) {
        if (t->hour > 12)
            return -1;
        if (t->pm && t->hour < 12)
            t->hour += 12;
        else if (!t->pm && t->hour == 12)
            t->hour = 0;
    }
    if (t->month < 1 || t->month > 12 || t->day < 1 || t->day > 31 || t->hour > 23 ||
        t->min > 59 || t->sec > 60)
        return -1;
    return 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
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
        *ns = s * 1000000000LL + (s < 0 ? -frac : frac);
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
        if (cairn_parse_i64(v, len, &x))
            return CAIRN_EINVAL;
        *ns = x * mult;
        return 0;
    }
    struct parsed t;
    if (parse_layout(cairn__time_layout(format), v, len, &t))
        return CAIRN_EINVAL;
    if (!t.has_year) {
        /* Promtail: a layout without a year means this year */
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        t.year = tm.tm_year + 1900;
    }
    int64_t local = days_from_civil(t.year, t.month, t.day) * 86400 + t.hour * 3600 +
                    t.min * 60 + t.sec;
    int64_t utc;
    if (t.has_zone) {
        utc = local - t.zone_off;
    } else if (tz) {
        /* local wall time in tz: take the offset valid at (local - offset) */
        int32_t off = tz_offset_at(tz, local - tz_offset_at(tz, local));
        utc = local - off;
    } else {
        utc = local;
    }
    *ns = utc * 1000000000LL + t.nsec;
    return 0;
}
