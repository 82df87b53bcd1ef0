/* template_math.c -- sprig's arithmetic as Loki's templates run it: arguments go
 * through spf13/cast (ToInt64: strings by strconv.ParseInt base 0 after trimming a
 * ".000" tail; ToFloat64: strconv.ParseFloat; anything unconvertible is 0, never an
 * error), addf/subf/mulf/divf work in shopspring/decimal on each float's shortest
 * decimal form (divf rounds half away from zero at 16 places) and give the float64
 * nearest to the exact result, so `addf 0.1 0.2` is 0.3 and `divf 1 0` is the
 * error "decimal division by 0". A decimal that outgrows 128 bits falls back to
 * float64 arithmetic. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse/template_fn.h"

typedef unsigned __int128 u128;

/* ---- spf13/cast ---- */

static int64_t cast_int(const struct tval *v)
{
    switch (v->t) {
    case TV_INT: case TV_BOOL: return v->i;
    case TV_FLOAT:
        return isfinite(v->f) && v->f > -9.3e18 && v->f < 9.3e18 ? (int64_t)v->f : INT64_MIN;
    case TV_STR: {
        char buf[80];
        size_t n = v->len;
        if (!n || n >= sizeof(buf))
            return 0;
        memcpy(buf, v->s, n);
        buf[n] = '\0';
        /* trimZeroDecimal: "12.000" -> "12" */
        int zero = 0;
        for (size_t i = n; i > 0; i--) {
            char c = buf[i - 1];
            if (c == '.' && zero) {
                buf[i - 1] = '\0';
                n = i - 1;
                break;
            }
            if (c != '0')
                break;
            zero = 1;
        }
        /* strconv.ParseInt(s, 0, 64): sign, 0x/0o/0b/0 prefixes, '_' between digits */
        const char *p = buf;
        int neg = 0;
        if (*p == '+' || *p == '-')
            neg = *p++ == '-';
        int base = 10;
        if (p[0] == '0' && (p[1] | 0x20) == 'x')
            base = 16, p += 2;
        else if (p[0] == '0' && (p[1] | 0x20) == 'o')
            base = 8, p += 2;
        else if (p[0] == '0' && (p[1] | 0x20) == 'b')
            base = 2, p += 2;
        else if (p[0] == '0' && p[1])
            base = 8, p += 1;
        if (!*p)
            return 0;
        u128 acc = 0;
        int us_ok = base != 10; /* '_' only after a digit or a base prefix */
        for (; *p; p++) {
            if (*p == '_') {
                if (!us_ok || !p[1] || p[1] == '_')
                    return 0;
                us_ok = 0;
                continue;
            }
            int c = *p | 0x20;
            int d = *p >= '0' && *p <= '9' ? *p - '0' : c >= 'a' && c <= 'z' ? c - 'a' + 10 : 99;
            if (d >= base)
                return 0;
            acc = acc * (unsigned)base + (unsigned)d;
            if (acc > (u128)INT64_MAX + 1)
                return 0;
            us_ok = 1;
        }
        if (!neg && acc > (u128)INT64_MAX)
            return 0;
        return neg ? (int64_t)(0 - (uint64_t)acc) : (int64_t)acc;
    }
    default: return 0;
    }
}

static double cast_float(const struct tval *v)
{
    switch (v->t) {
    case TV_INT: case TV_BOOL: return (double)v->i;
    case TV_FLOAT: return v->f;
    case TV_STR: {
        char buf[512];
        if (!v->len || v->len >= sizeof(buf) || v->s[0] == ' ' || v->s[0] == '\t' || v->s[0] == '\n')
            return 0;
        memcpy(buf, v->s, v->len);
        buf[v->len] = '\0';
        char *end;
        errno = 0;
        double f = strtod(buf, &end);
        if (*end || errno == ERANGE)
            return 0;
        if ((buf[0] == '0' && (buf[1] | 0x20) == 'x') && !strpbrk(buf, "pP"))
            return 0; /* Go wants a p exponent in a hex float */
        return f;
    }
    default: return 0;
    }
}

/* ---- shopspring/decimal on 128 bits: (-1)^neg * c * 10^e ---- */

struct dec {
    int neg;
    u128 c;
    int e;
};

static int from_float(double f, struct dec *d)
{
    if (!isfinite(f))
        return -1;
    char buf[40];
    int p;
    for (p = 1; p < 17; p++) {
        snprintf(buf, sizeof(buf), "%.*e", p - 1, f);
        if (strtod(buf, NULL) == f)
            break;
    }
    snprintf(buf, sizeof(buf), "%.*e", p - 1, f);
    d->neg = buf[0] == '-';
    d->c = 0;
    const char *s = buf + d->neg;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9')
            d->c = d->c * 10 + (unsigned)(*s - '0');
    d->e = atoi(s + 1) - (p - 1);
    if (!d->c)
        d->neg = 0, d->e = 0;
    return 0;
}

static int scale(u128 *c, int k)
{
    for (; k > 0; k--) {
        if (*c > ~(u128)0 / 10)
            return -1;
        *c *= 10;
    }
    return 0;
}

static int dec_add(struct dec *a, struct dec b)
{
    if (a->e > b.e) {
        if (scale(&a->c, a->e - b.e))
            return -1;
        a->e = b.e;
    } else if (b.e > a->e) {
        if (scale(&b.c, b.e - a->e))
            return -1;
    }
    if (a->neg == b.neg) {
        if (a->c > ~(u128)0 - b.c)
            return -1;
        a->c += b.c;
    } else if (a->c >= b.c) {
        a->c -= b.c;
    } else {
        a->c = b.c - a->c;
        a->neg = b.neg;
    }
    if (!a->c)
        a->neg = 0;
    return 0;
}

static int dec_mul(struct dec *a, struct dec b)
{
    if (a->c && b.c > ~(u128)0 / a->c)
        return -1;
    a->c *= b.c;
    a->e += b.e;
    a->neg = a->c ? a->neg ^ b.neg : 0;
    return 0;
}

/* DivRound(b, 16): the quotient rounded half away from zero to 16 decimal places. */
static int dec_div(struct dec *a, struct dec b)
{
    int s = a->e - b.e + 16;
    u128 n = a->c, d = b.c;
    if (s >= 0 ? scale(&n, s) : scale(&d, -s))
        return -1;
    u128 q = n / d, r = n % d;
    if (r >= d - r)
        q++;
    a->c = q;
    a->e = -16;
    a->neg = q ? a->neg ^ b.neg : 0;
    return 0;
}

static double dec_float(const struct dec *d)
{
    char buf[64], *o = buf + sizeof(buf) - 1;
    *o = '\0';
    u128 c = d->c;
    do {
        *--o = (char)('0' + (int)(c % 10));
        c /= 10;
    } while (c);
    char s[96];
    snprintf(s, sizeof(s), "%s%se%d", d->neg ? "-" : "", o, d->e);
    return strtod(s, NULL); /* correctly rounded: Rat.Float64's nearest */
}

enum dop { D_ADD, D_SUB, D_MUL, D_DIV };

static int decimal_op(struct texec *x, enum dop op, const char *name, struct tval *a, int n,
                      double first, struct tval *out)
{
    double fl = first;
    struct dec acc;
    int exact = from_float(first, &acc) == 0;
    for (int i = 0; i < n; i++) {
        double v = cast_float(&a[i]);
        struct dec b;
        if (op == D_DIV && v == 0)
            return cairn__tpl_fail(x, "error calling %s: decimal division by 0", name);
        if (exact && from_float(v, &b) == 0) {
            if (op == D_SUB)
                b.neg = b.c ? !b.neg : 0;
            int rc = op == D_MUL ? dec_mul(&acc, b) : op == D_DIV ? dec_div(&acc, b) : dec_add(&acc, b);
            exact = rc == 0;
        } else {
            exact = 0;
        }
        fl = op == D_ADD ? fl + v : op == D_SUB ? fl - v : op == D_MUL ? fl * v : fl / v;
        if (exact)
            fl = dec_float(&acc);
    }
    *out = (struct tval){.t = TV_FLOAT, .f = exact ? dec_float(&acc) : fl};
    return 0;
}

TPL_FN(f_addf) { (void)call; return decimal_op(x, D_ADD, "addf", a, n, 0, out); }
TPL_FN(f_subf) { (void)call; return decimal_op(x, D_SUB, "subf", a + 1, n - 1, cast_float(&a[0]), out); }
TPL_FN(f_mulf) { (void)call; return decimal_op(x, D_MUL, "mulf", a + 1, n - 1, cast_float(&a[0]), out); }
TPL_FN(f_divf) { (void)call; return decimal_op(x, D_DIV, "divf", a + 1, n - 1, cast_float(&a[0]), out); }

/* ---- int64 arithmetic (Go's wrapping int64, panics as errors) ---- */

TPL_FN(f_add)
{
    (void)x, (void)call;
    uint64_t s = 0;
    for (int i = 0; i < n; i++)
        s += (uint64_t)cast_int(&a[i]);
    *out = (struct tval){.t = TV_INT, .i = (int64_t)s};
    return 0;
}

TPL_FN(f_sub)
{
    (void)x, (void)call, (void)n;
    *out = (struct tval){.t = TV_INT, .i = (int64_t)((uint64_t)cast_int(&a[0]) - (uint64_t)cast_int(&a[1]))};
    return 0;
}

TPL_FN(f_mul)
{
    (void)x, (void)call;
    uint64_t s = 1;
    for (int i = 0; i < n; i++)
        s *= (uint64_t)cast_int(&a[i]);
    *out = (struct tval){.t = TV_INT, .i = (int64_t)s};
    return 0;
}

TPL_FN(f_div)
{
    (void)call, (void)n;
    int64_t p = cast_int(&a[0]), q = cast_int(&a[1]);
    if (!q)
        return cairn__tpl_fail(x, "error calling div: runtime error: integer divide by zero");
    *out = (struct tval){.t = TV_INT, .i = (p == INT64_MIN && q == -1) ? p : p / q};
    return 0;
}

TPL_FN(f_mod)
{
    (void)call, (void)n;
    int64_t p = cast_int(&a[0]), q = cast_int(&a[1]);
    if (!q)
        return cairn__tpl_fail(x, "error calling mod: runtime error: integer divide by zero");
    *out = (struct tval){.t = TV_INT, .i = q == -1 ? 0 : p % q};
    return 0;
}

TPL_FN(f_max)
{
    (void)x, (void)call;
    int64_t m = cast_int(&a[0]);
    for (int i = 1; i < n; i++) {
        int64_t v = cast_int(&a[i]);
        if (v > m)
            m = v;
    }
    *out = (struct tval){.t = TV_INT, .i = m};
    return 0;
}

TPL_FN(f_min)
{
    (void)x, (void)call;
    int64_t m = cast_int(&a[0]);
    for (int i = 1; i < n; i++) {
        int64_t v = cast_int(&a[i]);
        if (v < m)
            m = v;
    }
    *out = (struct tval){.t = TV_INT, .i = m};
    return 0;
}

/* Go's math.Max/Min: NaN wins, and +0 > -0 */
static double go_max(double p, double q)
{
    if (isnan(p) || isnan(q))
        return NAN;
    if (p == 0 && q == 0)
        return signbit(p) ? q : p;
    return p > q ? p : q;
}

static double go_min(double p, double q)
{
    if (isnan(p) || isnan(q))
        return NAN;
    if (p == 0 && q == 0)
        return signbit(p) ? p : q;
    return p < q ? p : q;
}

TPL_FN(f_maxf)
{
    (void)x, (void)call;
    double m = cast_float(&a[0]);
    for (int i = 1; i < n; i++)
        m = go_max(m, cast_float(&a[i]));
    *out = (struct tval){.t = TV_FLOAT, .f = m};
    return 0;
}

TPL_FN(f_minf)
{
    (void)x, (void)call;
    double m = cast_float(&a[0]);
    for (int i = 1; i < n; i++)
        m = go_min(m, cast_float(&a[i]));
    *out = (struct tval){.t = TV_FLOAT, .f = m};
    return 0;
}

TPL_FN(f_ceil) { (void)x, (void)call, (void)n; *out = (struct tval){.t = TV_FLOAT, .f = ceil(cast_float(&a[0]))}; return 0; }
TPL_FN(f_floor) { (void)x, (void)call, (void)n; *out = (struct tval){.t = TV_FLOAT, .f = floor(cast_float(&a[0]))}; return 0; }

/* round(a, p int, roundOn ...float64): p and roundOn are Go-typed parameters, so the
 * template refuses what is not a number there. */
TPL_FN(f_round)
{
    (void)call;
    double v = cast_float(&a[0]);
    INT(1, p);
    double on = 0.5;
    if (n > 2 && cairn__tpl_to_float(&a[2], &on))
        return cairn__tpl_fail(x, "expected number");
    double pw = pow(10, (double)p), d = pw * v, ip;
    double frac = modf(d, &ip);
    *out = (struct tval){.t = TV_FLOAT, .f = (frac >= on ? ceil(d) : floor(d)) / pw};
    return 0;
}

TPL_FN(f_int) { (void)x, (void)call, (void)n; *out = (struct tval){.t = TV_INT, .i = cast_int(&a[0])}; return 0; }
TPL_FN(f_float64) { (void)x, (void)call, (void)n; *out = (struct tval){.t = TV_FLOAT, .f = cast_float(&a[0])}; return 0; }
