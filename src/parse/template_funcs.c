/* template_funcs.c -- the functions Loki's template engine documents: strings,
 * logic, math, regex, dates, and Go's builtins (and, or, not, eq, len, printf...). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/parse_units.h"
#include "parse/template_fn.h"

int cairn__tpl_ret_buf(struct texec *x, struct tval *out, const char *p, size_t len)
{
    char *s = cairn__tpl_scratch(x, len);
    if (!s)
        return -1;
    memcpy(s, p, len);
    *out = cairn__tpl_str(s, len);
    return 0;
}

FN(f_line) { UNUSED; const struct cairn_template_ctx *c = cairn__tpl_ctx(x);
    *out = cairn__tpl_str(c->line, c->line_len); return 0; }
FN(f_timestamp) { UNUSED; *out = (struct tval){.t = TV_TIME, .i = cairn__tpl_ctx(x)->ts_ns}; return 0; }
FN(f_now) { UNUSED; *out = (struct tval){.t = TV_TIME, .i = cairn__tpl_ctx(x)->now_ns}; return 0; }

/* Replace up to max (-1 all) occurrences of old in s. */
static int replace_n(struct texec *x, const char *s, size_t l, const char *old, size_t ol,
                     const char *nw, size_t nl, int64_t max, struct tval *out)
{
    size_t cnt = 0;
    if (ol == 0) {
        /* Go: an empty old matches at each rune boundary; use bytes */
        cnt = l + 1;
    } else {
        for (const char *p = s; (p = memmem(p, (size_t)(s + l - p), old, ol)); p += ol)
            cnt++;
    }
    if (max >= 0 && (size_t)max < cnt)
        cnt = (size_t)max;
    size_t cap = l + cnt * nl + 1;
    char *o = cairn__tpl_scratch(x, cap);
    if (!o)
        return -1;
    size_t k = 0, i = 0, done = 0;
    while (i <= l) {
        if (done < cnt) {
            if (ol == 0) {
                memcpy(o + k, nw, nl);
                k += nl;
                done++;
                if (i < l)
                    o[k++] = s[i];
                i++;
                continue;
            }
            const char *f = memmem(s + i, l - i, old, ol);
            if (f) {
                size_t pre = (size_t)(f - (s + i));
                memcpy(o + k, s + i, pre);
                k += pre;
                memcpy(o + k, nw, nl);
                k += nl;
                i += pre + ol;
                done++;
                continue;
            }
        }
        memcpy(o + k, s + i, l - i);
        k += l - i;
        break;
    }
    *out = cairn__tpl_str(o, k);
    return 0;
}

FN(f_Replace) { UNUSED; STR(0, s, l); STR(1, o, ol); STR(2, w, wl); INT(3, m);
    return replace_n(x, s, l, o, ol, w, wl, m, out); }
FN(f_replace) { UNUSED; STR(0, o, ol); STR(1, w, wl); STR(2, s, l);
    return replace_n(x, s, l, o, ol, w, wl, -1, out); }

static int in_set(const char *set, size_t n, char c)
{
    return memchr(set, c, n) != NULL;
}
static int trim_set(struct texec *x, const char *s, size_t l, const char *set, size_t sn, int left,
                    int right, struct tval *out)
{
    size_t b = 0, e = l;
    while (left && b < e && in_set(set, sn, s[b]))
        b++;
    while (right && e > b && in_set(set, sn, s[e - 1]))
        e--;
    (void)x;
    *out = cairn__tpl_str(s + b, e - b);
    return 0;
}
static const char ws[] = " \t\n\r\v\f";
FN(f_Trim) { UNUSED; STR(0, s, l); STR(1, c, cl); return trim_set(x, s, l, c, cl, 1, 1, out); }
FN(f_TrimLeft) { UNUSED; STR(0, s, l); STR(1, c, cl); return trim_set(x, s, l, c, cl, 1, 0, out); }
FN(f_TrimRight) { UNUSED; STR(0, s, l); STR(1, c, cl); return trim_set(x, s, l, c, cl, 0, 1, out); }
FN(f_TrimSpace) { UNUSED; STR(0, s, l); return trim_set(x, s, l, ws, 6, 1, 1, out); }
FN(f_trim) { UNUSED; STR(0, s, l); return trim_set(x, s, l, ws, 6, 1, 1, out); }
FN(f_trimAll) { UNUSED; STR(0, c, cl); STR(1, s, l); return trim_set(x, s, l, c, cl, 1, 1, out); }

static int trim_fix(const char *s, size_t l, const char *f, size_t fl, int prefix, struct tval *out)
{
    if (fl <= l && memcmp(prefix ? s : s + l - fl, f, fl) == 0)
        *out = cairn__tpl_str(prefix ? s + fl : s, l - fl);
    else
        *out = cairn__tpl_str(s, l);
    return 0;
}
FN(f_TrimPrefix) { UNUSED; STR(0, s, l); STR(1, f, fl); return trim_fix(s, l, f, fl, 1, out); }
FN(f_TrimSuffix) { UNUSED; STR(0, s, l); STR(1, f, fl); return trim_fix(s, l, f, fl, 0, out); }
FN(f_trimPrefix) { UNUSED; STR(0, f, fl); STR(1, s, l); return trim_fix(s, l, f, fl, 1, out); }
FN(f_trimSuffix) { UNUSED; STR(0, f, fl); STR(1, s, l); return trim_fix(s, l, f, fl, 0, out); }

FN(f_trunc)
{
    UNUSED;
    INT(0, c);
    STR(1, s, l);
    if (c < -(int64_t)l || c > (int64_t)l)
        c = (int64_t)l;
    if (c < 0 && (int64_t)l + c > 0)
        *out = cairn__tpl_str(s + l + c, (size_t)-c);
    else if (c >= 0 && (int64_t)l > c)
        *out = cairn__tpl_str(s, (size_t)c);
    else
        *out = cairn__tpl_str(s, l);
    return 0;
}

FN(f_substr)
{
    UNUSED;
    INT(0, st);
    INT(1, en);
    STR(2, s, l);
    int64_t L = (int64_t)l;
    if (st < 0) {
        if (en > L) en = L;
        if (en < 0) en = 0;
        *out = cairn__tpl_str(s, (size_t)en);
    } else if (en < 0 || en > L) {
        if (st > L) st = L;
        *out = cairn__tpl_str(s + st, (size_t)(L - st));
    } else {
        if (st > en)
            return cairn__tpl_fail(x, "error calling substr: slice bounds out of range");
        *out = cairn__tpl_str(s + st, (size_t)(en - st));
    }
    return 0;
}

static int align(struct texec *x, struct tval *a, struct tval *out, int left)
{
    INT(0, c);
    STR(1, s, l);
    if (c < 0)
        c = 0;
    if (c > (1 << 20))
        return cairn__tpl_fail(x, "alignment width too large");
    if ((int64_t)l >= c) {
        *out = cairn__tpl_str(left ? s : s + l - (size_t)c, (size_t)c);
        return 0;
    }
    char *o = cairn__tpl_scratch(x, (size_t)c);
    if (!o)
        return -1;
    size_t pad = (size_t)c - l;
    if (left) {
        memcpy(o, s, l);
        memset(o + l, ' ', pad);
    } else {
        memset(o, ' ', pad);
        memcpy(o + pad, s, l);
    }
    *out = cairn__tpl_str(o, (size_t)c);
    return 0;
}
FN(f_alignLeft) { UNUSED; return align(x, a, out, 1); }
FN(f_alignRight) { UNUSED; return align(x, a, out, 0); }

FN(f_repeat)
{
    UNUSED;
    INT(0, c);
    STR(1, s, l);
    if (c < 0)
        return cairn__tpl_fail(x, "error calling repeat: negative Repeat count");
    if ((uint64_t)c * l > (1u << 20))
        return cairn__tpl_fail(x, "error calling repeat: result too large");
    char *o = cairn__tpl_scratch(x, (size_t)c * l);
    if (!o)
        return -1;
    for (int64_t i = 0; i < c; i++)
        memcpy(o + (size_t)i * l, s, l);
    *out = cairn__tpl_str(o, (size_t)c * l);
    return 0;
}

static int do_indent(struct texec *x, struct tval *a, struct tval *out, int nl)
{
    INT(0, c);
    STR(1, s, l);
    if (c < 0 || c > 1024)
        c = 0;
    size_t lines = 1;
    for (size_t i = 0; i < l; i++)
        lines += s[i] == '\n';
    size_t cap = (size_t)nl + l + lines * (size_t)c;
    char *o = cairn__tpl_scratch(x, cap);
    if (!o)
        return -1;
    size_t k = 0;
    if (nl)
        o[k++] = '\n';
    memset(o + k, ' ', (size_t)c);
    k += (size_t)c;
    for (size_t i = 0; i < l; i++) {
        o[k++] = s[i];
        if (s[i] == '\n') {
            memset(o + k, ' ', (size_t)c);
            k += (size_t)c;
        }
    }
    *out = cairn__tpl_str(o, k);
    return 0;
}
FN(f_indent) { UNUSED; return do_indent(x, a, out, 0); }
FN(f_nindent) { UNUSED; return do_indent(x, a, out, 1); }

FN(f_default)
{
    UNUSED;
    if (n >= 2 && cairn__tpl_truth(&a[1]))
        *out = a[1];
    else
        *out = a[0];
    return 0;
}

FN(f_contains) { UNUSED; STR(0, sub, sl); STR(1, s, l);
    *out = (struct tval){.t = TV_BOOL, .i = sl == 0 || memmem(s, l, sub, sl) != NULL}; return 0; }
FN(f_hasPrefix) { UNUSED; STR(0, p, pl); STR(1, s, l);
    *out = (struct tval){.t = TV_BOOL, .i = pl <= l && memcmp(s, p, pl) == 0}; return 0; }
FN(f_hasSuffix) { UNUSED; STR(0, p, pl); STR(1, s, l);
    *out = (struct tval){.t = TV_BOOL, .i = pl <= l && memcmp(s + l - pl, p, pl) == 0}; return 0; }

/* Go's eq/ne/lt...: numbers compare as numbers, otherwise as strings. */
static int cmp_vals(struct texec *x, struct tval *p, struct tval *q, int *res)
{
    int pn = p->t == TV_INT || p->t == TV_FLOAT, qn = q->t == TV_INT || q->t == TV_FLOAT;
    if (pn && qn) {
        double f, g;
        cairn__tpl_to_float(p, &f);
        cairn__tpl_to_float(q, &g);
        *res = (f > g) - (f < g);
        return 0;
    }
    if (p->t == TV_BOOL && q->t == TV_BOOL) {
        *res = (int)(p->i - q->i);
        return 0;
    }
    if (pn != qn || (p->t == TV_BOOL) != (q->t == TV_BOOL))
        return cairn__tpl_fail(x, "error calling eq: incompatible types for comparison");
    const char *s, *t;
    size_t sl, tl;
    if (cairn__tpl_to_str(x, p, &s, &sl) || cairn__tpl_to_str(x, q, &t, &tl))
        return -1;
    int c = memcmp(s, t, sl < tl ? sl : tl);
    *res = c ? c : (sl > tl) - (sl < tl);
    return 0;
}
FN(f_eq)
{
    UNUSED;
    for (int i = 1; i < n; i++) {
        int r;
        if (cmp_vals(x, &a[0], &a[i], &r))
            return -1;
        if (r == 0) {
            *out = (struct tval){.t = TV_BOOL, .i = 1};
            return 0;
        }
    }
    *out = (struct tval){.t = TV_BOOL, .i = 0};
    return 0;
}
#define CMPFN(name, expr) FN(name) { UNUSED; int r; if (cmp_vals(x, &a[0], &a[1], &r)) return -1; \
    *out = (struct tval){.t = TV_BOOL, .i = (expr)}; return 0; }
CMPFN(f_ne, r != 0)
CMPFN(f_lt, r < 0)
CMPFN(f_le, r <= 0)
CMPFN(f_gt, r > 0)
CMPFN(f_ge, r >= 0)

FN(f_and) { UNUSED; for (int i = 0; i < n; i++) { *out = a[i]; if (!cairn__tpl_truth(&a[i])) return 0; } return 0; }
FN(f_or) { UNUSED; for (int i = 0; i < n; i++) { *out = a[i]; if (cairn__tpl_truth(&a[i])) return 0; } return 0; }
FN(f_not) { UNUSED; *out = (struct tval){.t = TV_BOOL, .i = !cairn__tpl_truth(&a[0])}; return 0; }
FN(f_len) { UNUSED; if (a[0].t == TV_JSON) { *out = (struct tval){.t = TV_INT, .i = cairn__tpl_json_len(&a[0])}; return 0; }
    STR(0, s, l); (void)s; *out = (struct tval){.t = TV_INT, .i = (int64_t)l}; return 0; }

FN(f_print)
{
    UNUSED;
    struct cairn_buf b = CAIRN_BUF_INIT;
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        const char *s;
        size_t l;
        /* Go's Sprint adds spaces between operands when neither is a string */
        if (i && a[i].t != TV_STR && a[i - 1].t != TV_STR)
            rc |= cairn_buf_append_byte(&b, ' ');
        if (cairn__tpl_to_str(x, &a[i], &s, &l)) {
            cairn_buf_deinit(&b);
            return -1;
        }
        rc |= cairn_buf_append(&b, s, l);
    }
    rc = rc ? cairn__tpl_fail(x, "out of memory") : cairn__tpl_ret_buf(x, out, b.data ? b.data : "", b.len);
    cairn_buf_deinit(&b);
    return rc;
}

int cairn__tpl_printf(struct texec *x, struct tval *a, int n, struct tval *out);
FN(f_printf) { UNUSED; return cairn__tpl_printf(x, a, n, out); }

/* ---- regex ---- */
static struct cairn_regex *get_re(struct texec *x, struct tcmd *call, struct tval *a,
                                  int *owned)
{
    *owned = 0;
    if (call->nargs > 1 && call->args[1].re)
        return call->args[1].re;
    const char *s;
    size_t l;
    if (cairn__tpl_to_str(x, &a[0], &s, &l))
        return NULL;
    struct cairn_err e;
    struct cairn_regex *re = cairn_regex_compile(s, l, 0, &e);
    if (!re) {
        cairn__tpl_fail(x, "%s", e.msg);
        return NULL;
    }
    *owned = 1;
    return re;
}

FN(f_count)
{
    UNUSED;
    int owned;
    struct cairn_regex *re = get_re(x, call, a, &owned);
    if (!re)
        return -1;
    STR(1, s, l);
    size_t pos = 0, ov[2];
    int64_t c = 0;
    while (pos <= l && cairn_regex_exec(re, s, l, pos, ov, 1)) {
        c++;
        pos = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
    }
    if (owned)
        cairn_regex_destroy(re);
    *out = (struct tval){.t = TV_INT, .i = c};
    return 0;
}

/* Go's Regexp.Expand: $1, ${1}, $name, ${name}, $$. */
static int expand(struct cairn_buf *b, const char *tpl, size_t tl, const char *s,
                  const size_t *ov, int ng, const struct cairn_regex *re)
{
    int rc = 0;
    for (size_t i = 0; i < tl; i++) {
        if (tpl[i] != '$' || i + 1 >= tl) {
            rc |= cairn_buf_append_byte(b, tpl[i]);
            continue;
        }
        if (tpl[i + 1] == '$') {
            rc |= cairn_buf_append_byte(b, '$');
            i++;
            continue;
        }
        size_t ns, ne, j;
        if (tpl[i + 1] == '{') {
            ns = i + 2;
            ne = ns;
            while (ne < tl && (isalnum((unsigned char)tpl[ne]) || tpl[ne] == '_'))
                ne++;
            if (ne >= tl || tpl[ne] != '}' || ne == ns) {
                rc |= cairn_buf_append_byte(b, '$');
                continue;
            }
            j = ne;
        } else {
            ns = i + 1;
            ne = ns;
            while (ne < tl && (isalnum((unsigned char)tpl[ne]) || tpl[ne] == '_'))
                ne++;
            if (ne == ns) {
                rc |= cairn_buf_append_byte(b, '$');
                continue;
            }
            j = ne - 1;
        }
        int g = -1, alldig = 1;
        for (size_t k = ns; k < ne; k++)
            alldig &= isdigit((unsigned char)tpl[k]) != 0;
        if (alldig) {
            g = 0;
            for (size_t k = ns; k < ne && g < 1000; k++)
                g = g * 10 + (tpl[k] - '0');
        } else {
            for (int k = 1; k <= cairn_regex_groups(re); k++) {
                const char *nm = cairn_regex_group_name(re, k);
                if (nm && strlen(nm) == ne - ns && memcmp(nm, tpl + ns, ne - ns) == 0)
                    g = k;
            }
        }
        if (g >= 0 && g < ng && ov[2 * g] != (size_t)-1)
            rc |= cairn_buf_append(b, s + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
        i = j;
    }
    return rc;
}

#define TPL_MAX_GROUPS 32
int cairn_template_regex_replace(struct cairn_buf *b, struct cairn_regex *re, const char *s,
                                 size_t l, const char *r, size_t rl, int literal)
{
    size_t pos = 0, last = 0, ov[2 * TPL_MAX_GROUPS];
    int ng, err = 0;
    ssize_t prev_end = -1;
    while (pos <= l && (ng = cairn_regex_exec(re, s, l, pos, ov, TPL_MAX_GROUPS)) > 0) {
        if (ov[0] == ov[1] && (ssize_t)ov[0] == prev_end) {
            pos = ov[0] + 1;
            continue;
        }
        err |= cairn_buf_append(b, s + last, ov[0] - last);
        err |= literal ? cairn_buf_append(b, r, rl) : expand(b, r, rl, s, ov, ng, re);
        last = ov[1];
        prev_end = (ssize_t)ov[1];
        pos = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
    }
    err |= cairn_buf_append(b, s + last, l - last);
    return err ? CAIRN_ENOMEM : 0;
}

static int regex_replace(struct texec *x, struct tcmd *call, struct tval *a, struct tval *out,
                         int literal)
{
    int owned;
    struct cairn_regex *re = get_re(x, call, a, &owned);
    if (!re)
        return -1;
    const char *s, *r;
    size_t l, rl;
    int rc = -1;
    struct cairn_buf b = CAIRN_BUF_INIT;
    if (cairn__tpl_to_str(x, &a[1], &s, &l) || cairn__tpl_to_str(x, &a[2], &r, &rl))
        goto done;
    if (cairn_template_regex_replace(&b, re, s, l, r, rl, literal))
        cairn__tpl_fail(x, "out of memory");
    else
        rc = cairn__tpl_ret_buf(x, out, b.data ? b.data : "", b.len);
done:
    cairn_buf_deinit(&b);
    if (owned)
        cairn_regex_destroy(re);
    return rc;
}
FN(f_regexReplaceAll) { UNUSED; return regex_replace(x, call, a, out, 0); }
FN(f_regexReplaceAllLiteral) { UNUSED; return regex_replace(x, call, a, out, 1); }

/* ---- dates ---- */
static int to_time(struct texec *x, const struct tval *v, int64_t *ns)
{
    if (v->t == TV_TIME) {
        *ns = v->i;
        return 0;
    }
    int64_t sec;
    if (v->t == TV_INT || !cairn__tpl_to_int(v, &sec)) {
        if (__builtin_mul_overflow(v->t == TV_INT ? v->i : sec, 1000000000LL, ns))
            return cairn__tpl_fail(x, "time out of range");
        return 0;
    }
    return cairn__tpl_fail(x, "expected a time");
}
FN(f_date)
{
    UNUSED;
    STR(0, f, fl);
    int64_t ns = 0;
    if (to_time(x, &a[1], &ns))
        return -1;
    struct cairn_buf b = CAIRN_BUF_INIT;
    int rc = cairn_gotime_format(&b, f, fl, ns);
    rc = rc ? cairn__tpl_fail(x, "bad date layout") : cairn__tpl_ret_buf(x, out, b.data ? b.data : "", b.len);
    cairn_buf_deinit(&b);
    return rc;
}
static int parse_date(struct texec *x, struct tval *a, struct tval *sa, struct tval *out)
{
    STR(0, f, fl);
    const char *s;
    size_t l;
    if (cairn__tpl_to_str(x, sa, &s, &l))
        return -1;
    int64_t ns;
    if (cairn_gotime_parse(f, fl, s, l, &ns))
        ns = INT64_MIN; /* Go's zero time, as sprig returns: see unixEpoch */
    *out = (struct tval){.t = TV_TIME, .i = ns};
    return 0;
}
FN(f_toDate) { UNUSED; return parse_date(x, &a[0], &a[1], out); }
FN(f_toDateInZone)
{
    UNUSED;
    STR(1, z, zl);
    if (!(zl == 3 && memcmp(z, "UTC", 3) == 0) && !(zl == 5 && memcmp(z, "Local", 5) == 0))
        return cairn__tpl_fail(x, "error calling toDateInZone: unknown time zone %.*s", (int)zl, z);
    return parse_date(x, &a[0], &a[2], out);
}
FN(f_unixEpoch) { UNUSED; int64_t ns = 0; if (to_time(x, &a[0], &ns)) return -1;
    int64_t s = ns == INT64_MIN ? -62135596800LL : ns / 1000000000LL;
    if (ns != INT64_MIN && ns < 0 && ns % 1000000000LL) s--;
    *out = (struct tval){.t = TV_INT, .i = s}; return 0; }
FN(f_unixEpochMillis) { UNUSED; int64_t ns = 0; if (to_time(x, &a[0], &ns)) return -1;
    *out = (struct tval){.t = TV_INT, .i = ns / 1000000LL}; return 0; }
FN(f_unixEpochNanos) { UNUSED; int64_t ns = 0; if (to_time(x, &a[0], &ns)) return -1;
    *out = (struct tval){.t = TV_INT, .i = ns}; return 0; }
FN(f_unixToTime)
{
    UNUSED;
    STR(0, s, l);
    int64_t v = 0;
    for (size_t i = 0; i < l; i++) {
        if (!isdigit((unsigned char)s[i]))
            return cairn__tpl_fail(x, "error calling unixToTime: unable to parse %.*s", (int)l, s);
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, s[i] - '0', &v))
            return cairn__tpl_fail(x, "error calling unixToTime: unable to parse %.*s", (int)l, s);
    }
    int64_t ns, mul;
    switch (l) {
    case 5: mul = 86400LL * 1000000000LL; break; /* days */
    case 10: mul = 1000000000LL; break;          /* seconds */
    case 13: mul = 1000000LL; break;             /* milliseconds */
    case 16: mul = 1000LL; break;                /* microseconds */
    case 19: mul = 1; break;                     /* nanoseconds */
    default:
        return cairn__tpl_fail(x, "error calling unixToTime: unable to parse %.*s", (int)l, s);
    }
    if (__builtin_mul_overflow(v, mul, &ns))
        return cairn__tpl_fail(x, "error calling unixToTime: time out of range");
    *out = (struct tval){.t = TV_TIME, .i = ns};
    return 0;
}

static const struct tfunc funcs[] = {
    {"__line__", 0, 0, f_line}, {"__timestamp__", 0, 0, f_timestamp}, {"now", 0, 0, f_now},
    {"ToLower", 1, 1, cairn__tpl_f_lower}, {"ToUpper", 1, 1, cairn__tpl_f_upper}, {"lower", 1, 1, cairn__tpl_f_lower},
    {"upper", 1, 1, cairn__tpl_f_upper}, {"title", 1, 1, cairn__tpl_f_title}, {"Replace", 4, 4, f_Replace},
    {"replace", 3, 3, f_replace}, {"Trim", 2, 2, f_Trim}, {"TrimLeft", 2, 2, f_TrimLeft},
    {"TrimRight", 2, 2, f_TrimRight}, {"TrimSpace", 1, 1, f_TrimSpace},
    {"TrimPrefix", 2, 2, f_TrimPrefix}, {"TrimSuffix", 2, 2, f_TrimSuffix},
    {"trim", 1, 1, f_trim}, {"trimAll", 2, 2, f_trimAll}, {"trimPrefix", 2, 2, f_trimPrefix},
    {"trimSuffix", 2, 2, f_trimSuffix}, {"trunc", 2, 2, f_trunc}, {"substr", 3, 3, f_substr},
    {"alignLeft", 2, 2, f_alignLeft}, {"alignRight", 2, 2, f_alignRight},
    {"repeat", 2, 2, f_repeat}, {"indent", 2, 2, f_indent}, {"nindent", 2, 2, f_nindent},
    {"default", 1, 2, f_default}, {"contains", 2, 2, f_contains},
    {"hasPrefix", 2, 2, f_hasPrefix}, {"hasSuffix", 2, 2, f_hasSuffix},
    {"eq", 2, -1, f_eq}, {"ne", 2, 2, f_ne}, {"lt", 2, 2, f_lt}, {"le", 2, 2, f_le},
    {"gt", 2, 2, f_gt}, {"ge", 2, 2, f_ge}, {"and", 1, -1, f_and}, {"or", 1, -1, f_or},
    {"not", 1, 1, f_not}, {"len", 1, 1, f_len}, {"print", 0, -1, f_print},
    {"printf", 1, -1, f_printf},
    {"add", 0, -1, cairn__tpl_f_add}, {"addf", 0, -1, cairn__tpl_f_addf}, {"sub", 2, 2, cairn__tpl_f_sub},
    {"subf", 1, -1, cairn__tpl_f_subf}, {"mul", 1, -1, cairn__tpl_f_mul}, {"mulf", 1, -1, cairn__tpl_f_mulf},
    {"div", 2, 2, cairn__tpl_f_div}, {"divf", 1, -1, cairn__tpl_f_divf}, {"mod", 2, 2, cairn__tpl_f_mod},
    {"max", 1, -1, cairn__tpl_f_max}, {"min", 1, -1, cairn__tpl_f_min}, {"maxf", 1, -1, cairn__tpl_f_maxf},
    {"minf", 1, -1, cairn__tpl_f_minf}, {"ceil", 1, 1, cairn__tpl_f_ceil}, {"floor", 1, 1, cairn__tpl_f_floor},
    {"round", 2, 3, cairn__tpl_f_round}, {"int", 1, 1, cairn__tpl_f_int}, {"float64", 1, 1, cairn__tpl_f_float64},
    {"duration", 1, 1, cairn__tpl_f_duration}, {"duration_seconds", 1, 1, cairn__tpl_f_duration},
    {"bytes", 1, 1, cairn__tpl_f_bytes}, {"b64enc", 1, 1, cairn__tpl_f_b64enc}, {"b64dec", 1, 1, cairn__tpl_f_b64dec},
    {"urlencode", 1, 1, cairn__tpl_f_urlencode}, {"urldecode", 1, 1, cairn__tpl_f_urldecode},
    {"count", 2, 2, f_count}, {"regexReplaceAll", 3, 3, f_regexReplaceAll},
    {"regexReplaceAllLiteral", 3, 3, f_regexReplaceAllLiteral},
    {"date", 2, 2, f_date}, {"toDate", 2, 2, f_toDate}, {"toDateInZone", 3, 3, f_toDateInZone},
    {"unixEpoch", 1, 1, f_unixEpoch}, {"unixEpochMillis", 1, 1, f_unixEpochMillis},
    {"unixEpochNanos", 1, 1, f_unixEpochNanos}, {"unixToTime", 1, 1, f_unixToTime},
    {"fromJson", 1, 1, cairn__tpl_f_fromJson}, {"index", 1, -1, cairn__tpl_f_index},
    {"println", 0, -1, cairn__tpl_f_println}, {"html", 0, -1, cairn__tpl_f_html},
    {"js", 0, -1, cairn__tpl_f_js}, {"urlquery", 0, -1, cairn__tpl_f_urlquery},
    {"slice", 1, -1, cairn__tpl_f_slice},
    {"Hash", 2, 2, cairn__tpl_f_Hash}, {"Sha2Hash", 2, 2, cairn__tpl_f_Sha2Hash},
};

const struct tfunc *cairn__tpl_func(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
        if (strlen(funcs[i].name) == len && memcmp(funcs[i].name, name, len) == 0)
            return &funcs[i];
    return NULL;
}
