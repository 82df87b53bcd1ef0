/* template_fmt.c -- Go formatting for templates: printf verbs (%s %v %d %f %q %x
 * with flags, width and precision) and Go time layouts for date/toDate. */
#include <ctype.h>
#include <stdio.h>
#include <strings.h>
#include <string.h>
#include <time.h>

#include "cairn/labels.h"
#include "parse/template_int.h"

static int pad_append(struct cairn_buf *b, const char *s, size_t l, int width, int minus, int zero)
{
    int rc = 0;
    size_t w = width > 0 ? (size_t)width : 0;
    if (!minus)
        for (size_t i = l; i < w; i++)
            rc |= cairn_buf_append_byte(b, zero ? '0' : ' ');
    rc |= cairn_buf_append(b, s, l);
    if (minus)
        for (size_t i = l; i < w; i++)
            rc |= cairn_buf_append_byte(b, ' ');
    return rc;
}

static const char *type_name(const struct tval *v)
{
    switch (v->t) {
    case TV_STR: return "string";
    case TV_INT: return "int";
    case TV_FLOAT: return "float64";
    case TV_BOOL: return "bool";
    case TV_TIME: return "time.Time";
    case TV_JSON: return "map[string]interface {}";
    default: return "<nil>";
    }
}

int cairn__tpl_printf(struct texec *x, struct tval *a, int n, struct tval *out)
{
    const char *f;
    size_t fl;
    if (cairn__tpl_to_str(x, &a[0], &f, &fl))
        return -1;
    struct cairn_buf b = CAIRN_BUF_INIT;
    int argi = 1, rc = 0;
    for (size_t i = 0; i < fl && !rc; i++) {
        if (f[i] != '%') {
            rc |= cairn_buf_append_byte(&b, f[i]);
            continue;
        }
        if (++i >= fl) {
            rc |= cairn_buf_append_str(&b, "%!(NOVERB)");
            break;
        }
        int minus = 0, plus = 0, zero = 0, space = 0, sharp = 0, width = -1, prec = -1;
        for (; i < fl; i++) {
            if (f[i] == '-') minus = 1;
            else if (f[i] == '+') plus = 1;
            else if (f[i] == '0') zero = 1;
            else if (f[i] == ' ') space = 1;
            else if (f[i] == '#') sharp = 1;
            else break;
        }
        for (; i < fl && isdigit((unsigned char)f[i]); i++)
            if (width < 100000)
                width = (width < 0 ? 0 : width) * 10 + (f[i] - '0');
        if (i < fl && f[i] == '.') {
            prec = 0;
            i++;
            for (; i < fl && isdigit((unsigned char)f[i]); i++)
                if (prec < 100000)
                    prec = prec * 10 + (f[i] - '0');
        }
        if (i >= fl) {
            rc |= cairn_buf_append_str(&b, "%!(NOVERB)");
            break;
        }
        char verb = f[i];
        if (verb == '%') {
            rc |= cairn_buf_append_byte(&b, '%');
            continue;
        }
        if (argi >= n) {
            rc |= cairn_buf_appendf(&b, "%%!%c(MISSING)", verb);
            continue;
        }
        struct tval *v = &a[argi++];
        char spec[32], tmp[128];
        int sl = 0;
        spec[sl++] = '%';
        if (minus) spec[sl++] = '-';
        if (plus) spec[sl++] = '+';
        if (zero && !minus) spec[sl++] = '0';
        if (space) spec[sl++] = ' ';
        if (sharp) spec[sl++] = '#';
        if (width >= 0) sl += snprintf(spec + sl, sizeof(spec) - (size_t)sl, "%d", width > 512 ? 512 : width);
        if (prec >= 0) sl += snprintf(spec + sl, sizeof(spec) - (size_t)sl, ".%d", prec > 64 ? 64 : prec);
        spec[sl] = '\0';
        switch (verb) {
        case 's':
        case 'v': {
            const char *s;
            size_t l;
            if (v->t == TV_FLOAT && verb == 'v' && prec < 0) {
                struct cairn_buf fb = CAIRN_BUF_INIT;
                rc |= cairn_go_format_float(&fb, v->f);
                rc |= pad_append(&b, fb.data ? fb.data : "", fb.len, width, minus, zero);
                cairn_buf_deinit(&fb);
                break;
            }
            if (cairn__tpl_to_str(x, v, &s, &l)) {
                cairn_buf_deinit(&b);
                return -1;
            }
            if (prec >= 0 && (size_t)prec < l)
                l = (size_t)prec;
            rc |= pad_append(&b, s, l, width, minus, zero);
            break;
        }
        case 'q': {
            const char *s;
            size_t l;
            if (cairn__tpl_to_str(x, v, &s, &l)) {
                cairn_buf_deinit(&b);
                return -1;
            }
            struct cairn_buf qb = CAIRN_BUF_INIT;
            rc |= cairn_go_quote(&qb, s, l);
            rc |= pad_append(&b, qb.data ? qb.data : "", qb.len, width, minus, 0);
            cairn_buf_deinit(&qb);
            break;
        }
        case 'd': case 'x': case 'X': case 'o': case 'c': case 'b': {
            if (v->t == TV_STR && (verb == 'x' || verb == 'X')) {
                for (size_t k = 0; k < v->len; k++)
                    rc |= cairn_buf_appendf(&b, verb == 'x' ? "%02x" : "%02X", (unsigned char)v->s[k]);
                break;
            }
            if (v->t != TV_INT && v->t != TV_BOOL) {
                const char *s;
                size_t l;
                if (cairn__tpl_to_str(x, v, &s, &l)) {
                    cairn_buf_deinit(&b);
                    return -1;
                }
                rc |= cairn_buf_appendf(&b, "%%!%c(%s=%.*s)", verb, type_name(v), (int)l, s);
                break;
            }
            if (verb == 'b') {
                char bits[72];
                int k = 0;
                uint64_t u = (uint64_t)(v->i < 0 ? -v->i : v->i);
                do { bits[k++] = (char)('0' + (u & 1)); u >>= 1; } while (u && k < 64);
                char rev[72];
                int r = 0;
                if (v->i < 0) rev[r++] = '-';
                while (k) rev[r++] = bits[--k];
                rc |= pad_append(&b, rev, (size_t)r, width, minus, zero);
                break;
            }
            char cs[40];
            snprintf(cs, sizeof(cs), "%sll%c", spec, verb == 'c' ? 'c' : verb);
            if (verb == 'c')
                snprintf(tmp, sizeof(tmp), "%c", (int)v->i);
            else
                snprintf(tmp, sizeof(tmp), cs, (long long)v->i);
            rc |= cairn_buf_append_str(&b, tmp);
            break;
        }
        case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': {
            double d;
            if (v->t == TV_STR || cairn__tpl_to_float(v, &d)) {
                const char *s;
                size_t l;
                if (cairn__tpl_to_str(x, v, &s, &l)) {
                    cairn_buf_deinit(&b);
                    return -1;
                }
                rc |= cairn_buf_appendf(&b, "%%!%c(%s=%.*s)", verb, type_name(v), (int)l, s);
                break;
            }
            if (v->t == TV_INT) {
                rc |= cairn_buf_appendf(&b, "%%!%c(int=%lld)", verb, (long long)v->i);
                break;
            }
            char cs[40];
            if ((verb == 'f' || verb == 'F' || verb == 'e' || verb == 'E') && prec < 0)
                snprintf(cs, sizeof(cs), "%s.6%c", spec, verb);
            else
                snprintf(cs, sizeof(cs), "%s%c", spec, verb);
            snprintf(tmp, sizeof(tmp), cs, d);
            rc |= cairn_buf_append_str(&b, tmp);
            break;
        }
        case 't':
            rc |= cairn_buf_append_str(&b, cairn__tpl_truth(v) ? "true" : "false");
            break;
        default:
            rc |= cairn_buf_appendf(&b, "%%!%c(%s)", verb, type_name(v));
        }
    }
    if (argi < n && !rc) {
        rc |= cairn_buf_append_str(&b, "%!(EXTRA ");
        for (int k = argi; k < n; k++) {
            const char *s;
            size_t l;
            if (cairn__tpl_to_str(x, &a[k], &s, &l)) {
                cairn_buf_deinit(&b);
                return -1;
            }
            rc |= cairn_buf_appendf(&b, "%s%s=%.*s", k > argi ? ", " : "", type_name(&a[k]), (int)l, s);
        }
        rc |= cairn_buf_append_byte(&b, ')');
    }
    if (rc) {
        cairn_buf_deinit(&b);
        return cairn__tpl_fail(x, "out of memory");
    }
    char *o = cairn__tpl_scratch(x, b.len);
    if (o && b.len)
        memcpy(o, b.data, b.len);
    *out = cairn__tpl_str(o, b.len);
    cairn_buf_deinit(&b);
    return o ? 0 : -1;
}

/* ---- Go time layouts ---- */

static const char *months[] = {"January", "February", "March", "April", "May", "June", "July",
                               "August", "September", "October", "November", "December"};
static const char *days[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                             "Saturday"};

enum { L_NONE, L_YEAR4, L_YEAR2, L_MONTH_LONG, L_MONTH_SHORT, L_MONTH2, L_MONTH1,
       L_DAY_LONG, L_DAY_SHORT, L_DAY2, L_DAY_SP, L_DAY1, L_HOUR24, L_HOUR12_2, L_HOUR12,
       L_MIN2, L_MIN1, L_SEC2, L_SEC1, L_PM, L_pm, L_TZ, L_ISO_COLON, L_ISO, L_NUM_COLON, L_NUM,
       L_FRAC0, L_FRAC9 };

struct ltok {
    const char *s;
    int kind;
};

/* Longest first where prefixes collide. */
static const struct ltok ltoks[] = {
    {"January", L_MONTH_LONG}, {"Jan", L_MONTH_SHORT}, {"Monday", L_DAY_LONG}, {"Mon", L_DAY_SHORT},
    {"MST", L_TZ}, {"2006", L_YEAR4}, {"Z07:00", L_ISO_COLON}, {"Z0700", L_ISO},
    {"-07:00", L_NUM_COLON}, {"-0700", L_NUM}, {"01", L_MONTH2}, {"02", L_DAY2}, {"_2", L_DAY_SP},
    {"15", L_HOUR24}, {"03", L_HOUR12_2}, {"04", L_MIN2}, {"05", L_SEC2}, {"06", L_YEAR2},
    {"PM", L_PM}, {"pm", L_pm}, {"1", L_MONTH1}, {"2", L_DAY1}, {"3", L_HOUR12}, {"4", L_MIN1},
    {"5", L_SEC1},
};

/* Next layout element at l[i]: kind, its length, and for fractions the digit count. */
static int next_elem(const char *l, size_t n, size_t i, size_t *elen, int *digits)
{
    if ((l[i] == '.' || l[i] == ',') && i + 1 < n && (l[i + 1] == '0' || l[i + 1] == '9')) {
        char d = l[i + 1];
        size_t j = i + 1;
        while (j < n && l[j] == d)
            j++;
        if (j >= n || !isdigit((unsigned char)l[j])) {
            *elen = j - i;
            *digits = (int)(j - i - 1);
            return d == '0' ? L_FRAC0 : L_FRAC9;
        }
    }
    for (size_t k = 0; k < sizeof(ltoks) / sizeof(ltoks[0]); k++) {
        size_t tl = strlen(ltoks[k].s);
        if (i + tl <= n && memcmp(l + i, ltoks[k].s, tl) == 0) {
            *elen = tl;
            return ltoks[k].kind;
        }
    }
    *elen = 1;
    return L_NONE;
}

int cairn_gotime_format(struct cairn_buf *b, const char *l, size_t n, int64_t ns)
{
    int64_t sec = ns / 1000000000LL, frac = ns % 1000000000LL;
    if (frac < 0) {
        frac += 1000000000LL;
        sec--;
    }
    time_t tt = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&tt, &tm))
        return CAIRN_EINVAL;
    int rc = 0;
    for (size_t i = 0; i < n;) {
        size_t el;
        int dg = 0;
        int k = next_elem(l, n, i, &el, &dg);
        int h12 = tm.tm_hour % 12 ? tm.tm_hour % 12 : 12;
        switch (k) {
        case L_NONE: rc |= cairn_buf_append_byte(b, l[i]); break;
        case L_YEAR4: rc |= cairn_buf_appendf(b, "%04d", tm.tm_year + 1900); break;
        case L_YEAR2: rc |= cairn_buf_appendf(b, "%02d", (tm.tm_year + 1900) % 100); break;
        case L_MONTH_LONG: rc |= cairn_buf_append_str(b, months[tm.tm_mon]); break;
        case L_MONTH_SHORT: rc |= cairn_buf_append(b, months[tm.tm_mon], 3); break;
        case L_MONTH2: rc |= cairn_buf_appendf(b, "%02d", tm.tm_mon + 1); break;
        case L_MONTH1: rc |= cairn_buf_appendf(b, "%d", tm.tm_mon + 1); break;
        case L_DAY_LONG: rc |= cairn_buf_append_str(b, days[tm.tm_wday]); break;
        case L_DAY_SHORT: rc |= cairn_buf_append(b, days[tm.tm_wday], 3); break;
        case L_DAY2: rc |= cairn_buf_appendf(b, "%02d", tm.tm_mday); break;
        case L_DAY_SP: rc |= cairn_buf_appendf(b, "%2d", tm.tm_mday); break;
        case L_DAY1: rc |= cairn_buf_appendf(b, "%d", tm.tm_mday); break;
        case L_HOUR24: rc |= cairn_buf_appendf(b, "%02d", tm.tm_hour); break;
        case L_HOUR12_2: rc |= cairn_buf_appendf(b, "%02d", h12); break;
        case L_HOUR12: rc |= cairn_buf_appendf(b, "%d", h12); break;
        case L_MIN2: rc |= cairn_buf_appendf(b, "%02d", tm.tm_min); break;
        case L_MIN1: rc |= cairn_buf_appendf(b, "%d", tm.tm_min); break;
        case L_SEC2: rc |= cairn_buf_appendf(b, "%02d", tm.tm_sec); break;
        case L_SEC1: rc |= cairn_buf_appendf(b, "%d", tm.tm_sec); break;
        case L_PM: rc |= cairn_buf_append_str(b, tm.tm_hour >= 12 ? "PM" : "AM"); break;
        case L_pm: rc |= cairn_buf_append_str(b, tm.tm_hour >= 12 ? "pm" : "am"); break;
        case L_TZ: rc |= cairn_buf_append_str(b, "UTC"); break;
        case L_ISO_COLON: case L_ISO: rc |= cairn_buf_append_byte(b, 'Z'); break;
        case L_NUM_COLON: rc |= cairn_buf_append_str(b, "+00:00"); break;
        case L_NUM: rc |= cairn_buf_append_str(b, "+0000"); break;
        case L_FRAC0:
        case L_FRAC9: {
            char digs[16];
            snprintf(digs, sizeof(digs), "%09lld", (long long)frac);
            int nd = dg > 9 ? 9 : dg;
            if (k == L_FRAC9) {
                while (nd > 0 && digs[nd - 1] == '0')
                    nd--;
                if (nd == 0)
                    break;
            }
            rc |= cairn_buf_append_byte(b, l[i]);
            rc |= cairn_buf_append(b, digs, (size_t)nd);
            break;
        }
        }
        i += el;
    }
    return rc ? CAIRN_ENOMEM : 0;
}

static int num(const char *s, size_t n, size_t *i, int mind, int maxd, int *v)
{
    int d = 0;
    *v = 0;
    while (*i < n && d < maxd && isdigit((unsigned char)s[*i])) {
        *v = *v * 10 + (s[(*i)++] - '0');
        d++;
    }
    return d >= mind ? 0 : -1;
}

static int name_idx(const char *s, size_t n, size_t *i, const char **names, int cnt, int shrt)
{
    for (int k = 0; k < cnt; k++) {
        size_t l = shrt ? 3 : strlen(names[k]);
        if (*i + l <= n && strncasecmp(s + *i, names[k], l) == 0) {
            *i += l;
            return k;
        }
    }
    return -1;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int cairn_gotime_parse(const char *l, size_t n, const char *s, size_t sn, int64_t *ns)
{
    int year = 1, mon = 1, day = 1, hour = 0, min = 0, sec = 0, pm = -1, v;
    int64_t frac = 0, off = 0;
    size_t j = 0;
    for (size_t i = 0; i < n;) {
        size_t el;
        int dg = 0;
        int k = next_elem(l, n, i, &el, &dg);
        int r = 0;
        switch (k) {
        case L_NONE:
            if (j >= sn || s[j] != l[i])
                return CAIRN_EINVAL;
            j++;
            break;
        case L_YEAR4: r = num(s, sn, &j, 4, 4, &year); break;
        case L_YEAR2: r = num(s, sn, &j, 2, 2, &v); year = v + (v >= 69 ? 1900 : 2000); break;
        case L_MONTH_LONG: case L_MONTH_SHORT:
            mon = name_idx(s, sn, &j, months, 12, k == L_MONTH_SHORT) + 1;
            r = mon ? 0 : -1;
            break;
        case L_DAY_LONG: case L_DAY_SHORT:
            r = name_idx(s, sn, &j, days, 7, k == L_DAY_SHORT) < 0 ? -1 : 0;
            break;
        case L_MONTH2: r = num(s, sn, &j, 2, 2, &mon); break;
        case L_MONTH1: r = num(s, sn, &j, 1, 2, &mon); break;
        case L_DAY2: r = num(s, sn, &j, 2, 2, &day); break;
        case L_DAY_SP: if (j < sn && s[j] == ' ') j++; r = num(s, sn, &j, 1, 2, &day); break;
        case L_DAY1: r = num(s, sn, &j, 1, 2, &day); break;
        case L_HOUR24: r = num(s, sn, &j, 2, 2, &hour); break;
        case L_HOUR12_2: r = num(s, sn, &j, 2, 2, &hour); break;
        case L_HOUR12: r = num(s, sn, &j, 1, 2, &hour); break;
        case L_MIN2: r = num(s, sn, &j, 2, 2, &min); break;
        case L_MIN1: r = num(s, sn, &j, 1, 2, &min); break;
        case L_SEC2: r = num(s, sn, &j, 2, 2, &sec); break;
        case L_SEC1: r = num(s, sn, &j, 1, 2, &sec); break;
        case L_PM: case L_pm:
            if (j + 2 > sn)
                return CAIRN_EINVAL;
            pm = (s[j] == 'P' || s[j] == 'p');
            j += 2;
            break;
        case L_TZ:
            while (j < sn && isupper((unsigned char)s[j]))
                j++;
            break;
        case L_ISO_COLON: case L_ISO: case L_NUM_COLON: case L_NUM:
            if ((k == L_ISO_COLON || k == L_ISO) && j < sn && s[j] == 'Z') {
                j++;
                break;
            }
            if (j < sn && (s[j] == '+' || s[j] == '-')) {
                int sign = s[j++] == '-' ? -1 : 1, hh = 0, mm = 0;
                r = num(s, sn, &j, 2, 2, &hh);
                if (!r && (k == L_ISO_COLON || k == L_NUM_COLON) && j < sn && s[j] == ':')
                    j++;
                if (!r)
                    r = num(s, sn, &j, 2, 2, &mm);
                off = sign * ((int64_t)hh * 3600 + mm * 60);
            } else {
                r = -1;
            }
            break;
        case L_FRAC0: case L_FRAC9:
            if (j < sn && (s[j] == '.' || s[j] == ',')) {
                j++;
                int d = 0;
                frac = 0;
                while (j < sn && isdigit((unsigned char)s[j])) {
                    if (d < 9) {
                        frac = frac * 10 + (s[j] - '0');
                        d++;
                    }
                    j++;
                }
                while (d++ < 9)
                    frac *= 10;
            } else if (k == L_FRAC0) {
                r = -1;
            }
            break;
        }
        if (r)
            return CAIRN_EINVAL;
        /* Go accepts fractional seconds after a seconds field even if the layout
         * has none. */
        if ((k == L_SEC2 || k == L_SEC1) && j < sn && s[j] == '.' && !(i + el < n && l[i + el] == '.')) {
            j++;
            int d = 0;
            while (j < sn && isdigit((unsigned char)s[j])) {
                if (d < 9) { frac = frac * 10 + (s[j] - '0'); d++; }
                j++;
            }
            while (d++ < 9)
                frac *= 10;
        }
        i += el;
    }
    if (j != sn || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
        return CAIRN_EINVAL;
    if (pm == 1 && hour < 12)
        hour += 12;
    if (pm == 0 && hour == 12)
        hour = 0;
    int64_t days = days_from_civil(year, (unsigned)mon, (unsigned)day);
    int64_t secs = days * 86400 + hour * 3600 + min * 60 + sec - off, r;
    /* int64 nanoseconds span 1678..2262; outside that the time is not representable */
    if (__builtin_mul_overflow(secs, 1000000000LL, &r) || __builtin_add_overflow(r, frac, &r))
        return CAIRN_EINVAL;
    *ns = r;
    return 0;
}
