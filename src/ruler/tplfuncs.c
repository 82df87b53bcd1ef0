/* tplfuncs.c -- the template functions Prometheus gives alert annotations, with its
 * formatting (prometheus/template and prometheus/common/helpers/templates):
 * humanize, humanize1024, humanizePercentage, humanizeDuration, humanizeTimestamp,
 * toUpper, toLower, title, match, reReplaceAll. Added to the template engine for
 * annotations only (cairn_template_compile_with): LogQL's line_format has none of
 * them, as in Loki. Numbers print as Go's "%.4g" (C's %.4g, but NaN, +Inf, -Inf). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cairn/matcher.h"
#include "cairn/parse_template.h"
#include "ruler/ruler_int.h"

/* Go's fmt "%.4g" of v followed by suffix. */
static int g4(struct cairn_buf *out, double v, const char *suffix)
{
    if (isnan(v))
        return cairn_buf_appendf(out, "NaN%s", suffix);
    if (isinf(v))
        return cairn_buf_appendf(out, "%sInf%s", v > 0 ? "+" : "-", suffix);
    return cairn_buf_appendf(out, "%.4g%s", v, suffix);
}

/* Prometheus's convertToFloat: a number, or text strconv.ParseFloat accepts. */
static int num(const struct cairn_template_arg *a, double *v, struct cairn_err *err)
{
    if (!a->is_num)
        return cairn_err_set(err, CAIRN_EINVAL, "strconv.ParseFloat: parsing \"%.*s\": invalid syntax",
                             (int)(a->len > 64 ? 64 : a->len), a->s);
    *v = a->num;
    return 0;
}

/* Scale |v| by step through the prefixes while it is >= step (up) or < 1 (down). */
static const char *scale(double *v, double step, const char *const *pfx, int up)
{
    const char *p = "";
    for (int i = 0; pfx[i]; i++) {
        if (up ? fabs(*v) < step : fabs(*v) >= 1)
            break;
        p = pfx[i];
        *v = up ? *v / step : *v * step;
    }
    return p;
}

static const char *const big[] = {"k", "M", "G", "T", "P", "E", "Z", "Y", NULL};
static const char *const big1024[] = {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi", NULL};
static const char *const small[] = {"m", "u", "n", "p", "f", "a", "z", "y", NULL};

/* The numeric functions: v is the argument as Prometheus's convertToFloat gives it. */
static int humanize(struct cairn_buf *out, double v, struct cairn_err *err)
{
    (void)err;
    if (v == 0 || !isfinite(v))
        return g4(out, v, "");
    const char *p = fabs(v) >= 1 ? scale(&v, 1000, big, 1) : scale(&v, 1000, small, 0);
    return g4(out, v, p);
}

static int humanize1024(struct cairn_buf *out, double v, struct cairn_err *err)
{
    (void)err;
    if (fabs(v) <= 1 || !isfinite(v))
        return g4(out, v, "");
    const char *p = scale(&v, 1024, big1024, 1);
    return g4(out, v, p);
}

static int humanizePercentage(struct cairn_buf *out, double v, struct cairn_err *err)
{
    (void)err;
    return g4(out, v * 100, "%");
}

static int humanizeDuration(struct cairn_buf *out, double v, struct cairn_err *err)
{
    (void)err;
    if (!isfinite(v))
        return g4(out, v, "");
    if (v == 0)
        return g4(out, v, "s");
    if (fabs(v) < 1) {
        const char *p = scale(&v, 1000, small, 0);
        return cairn_buf_appendf(out, "%.4g%ss", v, p);
    }
    const char *sign = v < 0 ? "-" : "";
    v = fabs(v);
    /* Go's int64(v) is undefined past the range; keep in range */
    int64_t d = v >= 9.2e18 ? INT64_MAX : (int64_t)v;
    int64_t s = d % 60, m = d / 60 % 60, h = d / 3600 % 24, days = d / 86400;
    if (days)
        return cairn_buf_appendf(out, "%s%lldd %lldh %lldm %llds", sign, (long long)days,
                                 (long long)h, (long long)m, (long long)s);
    if (h)
        return cairn_buf_appendf(out, "%s%lldh %lldm %llds", sign, (long long)h, (long long)m,
                                 (long long)s);
    if (m)
        return cairn_buf_appendf(out, "%s%lldm %llds", sign, (long long)m, (long long)s);
    return cairn_buf_appendf(out, "%s%.4gs", sign, v);
}

/* time.Time's String() of the millisecond Prometheus keeps (model.TimeFromUnixNano). */
static int humanizeTimestamp(struct cairn_buf *out, double v, struct cairn_err *err)
{
    if (!isfinite(v))
        return g4(out, v, "");
    double ts = v * 1e9;
    if (ts >= 9223372036854775807.0 || ts < -9223372036854775808.0)
        return cairn_err_set(err, CAIRN_EINVAL,
                             "%g cannot be represented as a nanoseconds timestamp since it overflows int64", v);
    int64_t ms = (int64_t)ts / 1000000;
    static const char layout[] = "2006-01-02 15:04:05.999999999 -0700 MST";
    if (cairn_gotime_format(out, layout, sizeof layout - 1, ms * 1000000))
        return cairn_err_set(err, CAIRN_EINVAL, "time out of range");
    return 0;
}

/* The template function for a numeric one: its one argument converted first. */
#define NUMFN(name)                                                                              \
    static int f_##name(const struct cairn_template_arg *a, int n, struct cairn_template_ret *r, \
                        struct cairn_err *err)                                                   \
    {                                                                                            \
        (void)n;                                                                                 \
        double v = 0;                                                                            \
        return num(a, &v, err) ? CAIRN_EINVAL : name(r->text, v, err);                           \
    }
NUMFN(humanize)
NUMFN(humanize1024)
NUMFN(humanizePercentage)
NUMFN(humanizeDuration)
NUMFN(humanizeTimestamp)

static struct cairn_regex *regex(const struct cairn_template_arg *a, struct cairn_err *err)
{
    struct cairn_err e;
    struct cairn_regex *re = cairn_regex_compile(a->s, a->len, 0, &e);
    if (!re)
        cairn_err_set(err, CAIRN_EINVAL, "%s", e.msg);
    return re;
}

static int f_match(const struct cairn_template_arg *a, int n, struct cairn_template_ret *r,
                   struct cairn_err *err)
{
    (void)n;
    struct cairn_regex *re = regex(&a[0], err);
    if (!re)
        return CAIRN_EINVAL;
    size_t ov[2];
    r->is_bool = 1;
    r->b = cairn_regex_exec(re, a[1].s, a[1].len, 0, ov, 1) > 0;
    cairn_regex_destroy(re);
    return 0;
}

/* reReplaceAll pattern replacement text: Go's Regexp.ReplaceAllString. */
static int f_reReplaceAll(const struct cairn_template_arg *a, int n, struct cairn_template_ret *r,
                          struct cairn_err *err)
{
    (void)n;
    struct cairn_regex *re = regex(&a[0], err);
    if (!re)
        return CAIRN_EINVAL;
    int rc = cairn_template_regex_replace(r->text, re, a[2].s, a[2].len, a[1].s, a[1].len, 0);
    cairn_regex_destroy(re);
    return rc ? cairn_err_set(err, rc, "out of memory") : 0;
}

static const struct cairn_template_func prom_funcs[] = {
    {"humanize", 1, 1, f_humanize, NULL},
    {"humanize1024", 1, 1, f_humanize1024, NULL},
    {"humanizePercentage", 1, 1, f_humanizePercentage, NULL},
    {"humanizeDuration", 1, 1, f_humanizeDuration, NULL},
    {"humanizeTimestamp", 1, 1, f_humanizeTimestamp, NULL},
    {"match", 2, 2, f_match, NULL},
    {"reReplaceAll", 3, 3, f_reReplaceAll, NULL},
    /* Go's strings.ToUpper/ToLower; Prometheus's title keeps the rest of a word as is
     * (cases.NoLower), as the built-in title (strings.Title) does */
    {"toUpper", 1, 1, NULL, "ToUpper"},
    {"toLower", 1, 1, NULL, "ToLower"},
    {"title", 1, 1, NULL, "title"},
};

const struct cairn_template_funcs cairn__ruler_tpl_funcs = {prom_funcs,
                                                            sizeof prom_funcs / sizeof prom_funcs[0]};
