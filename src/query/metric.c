/* metric.c -- cairn__query_metric: the steps of a metric query (Loki's resolution
 * limit), dispatch over the expression tree, and the matrix / vector / scalar JSON. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metric_int.h"

static int eval_const(struct cairn__mctx *c, double x, int as_vector, struct cairn__mval *out)
{
    if (!as_vector) {
        out->kind = CAIRN__MV_SCALAR;
        if (!(out->scalar = malloc(c->nsteps * sizeof(double))))
            return CAIRN_ENOMEM;
        for (size_t i = 0; i < c->nsteps; i++)
            out->scalar[i] = x;
        return 0;
    }
    size_t idx;
    int rc = cairn__mval_add(out, c->nsteps, "", 0, &idx);
    if (rc)
        return rc;
    for (size_t i = 0; i < c->nsteps; i++) {
        out->s[idx].v[i] = x;
        out->s[idx].ok[i] = 1;
    }
    return 0;
}

int cairn__meval(struct cairn__mctx *c, const struct cairn_lq_expr *e, struct cairn__mval *out)
{
    if (!out->gov)
        out->gov = c->gov;
    int rc = cairn__qgov_check(c->gov);
    if (rc)
        return rc;
    switch (e->kind) {
    case CAIRN_LQ_RANGE_AGG:
        return cairn__meval_range(c, e, NULL, out);
    case CAIRN_LQ_VECTOR_AGG:
        return cairn__meval_vector_agg(c, e, out);
    case CAIRN_LQ_BINOP:
        return cairn__meval_binop(c, e, out);
    case CAIRN_LQ_LABEL_REPLACE:
        return cairn__meval_label_replace(c, e, out);
    case CAIRN_LQ_NUMBER:
        return eval_const(c, e->number, 0, out);
    case CAIRN_LQ_VECTOR:
        return eval_const(c, e->number, 1, out);
    case CAIRN_LQ_LOG:
        break;
    }
    return cairn_err_set(c->err, CAIRN_EINVAL, "parse error : a log query is not a metric expression");
}

/* ---- JSON ---- */

/* Append a decimal integer (no printf: a matrix has many). */
static int append_i64(struct cairn_buf *out, long long v)
{
    char tmp[24];
    int n = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[sizeof tmp - 1 - n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[sizeof tmp - 1 - n++] = '-';
    return cairn_buf_append(out, tmp + sizeof tmp - n, (size_t)n);
}

/* Shortest decimal digits of f that read back as f: digits into d (no dot), and the
 * decimal exponent e such that f = 0.d * 10^e. */
static int shortest(double f, char *d, int *e)
{
    char buf[40];
    /* a normal double that reads back from k < 15 digits rounds to those digits
     * padded with zeros at 15, so trying 15, 16, 17 and trimming zeros is shortest */
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, f);
        if (strtod(buf, NULL) == f || prec == 17)
            break;
    }
    /* buf is [-]D.DDDe[+-]XX */
    const char *p = buf;
    if (*p == '-')
        p++;
    int n = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.')
            d[n++] = *p;
    int x = atoi(p + 1);
    while (n > 1 && d[n - 1] == '0')
        n--;
    d[n] = '\0';
    *e = x + 1;
    return n;
}

int cairn__mjson_float(struct cairn_buf *out, double f)
{
    if (isnan(f))
        return cairn_buf_append_str(out, "NaN");
    if (isinf(f))
        return cairn_buf_append_str(out, f > 0 ? "+Inf" : "-Inf");
    if (f == 0)
        return cairn_buf_append_str(out, signbit(f) ? "-0" : "0");
    if (fabs(f) < 1e15 && f == (double)(int64_t)f) /* counts: the common case */
        return append_i64(out, (long long)f);
    char d[32];
    int e;
    int n = shortest(f, d, &e);
    int rc = 0;
    if (f < 0)
        rc = cairn_buf_append_byte(out, '-');
    if (e <= 0) {
        rc = rc ? rc : cairn_buf_append(out, "0.", 2);
        for (int i = 0; i < -e && rc == 0; i++)
            rc = cairn_buf_append_byte(out, '0');
        return rc ? rc : cairn_buf_append(out, d, (size_t)n);
    }
    if (e >= n) {
        rc = rc ? rc : cairn_buf_append(out, d, (size_t)n);
        for (int i = n; i < e && rc == 0; i++)
            rc = cairn_buf_append_byte(out, '0');
        return rc;
    }
    rc = rc ? rc : cairn_buf_append(out, d, (size_t)e);
    rc = rc ? rc : cairn_buf_append_byte(out, '.');
    return rc ? rc : cairn_buf_append(out, d + e, (size_t)(n - e));
}

/* Loki's model.Time: unix seconds with the milliseconds, trailing zeros trimmed. */
int cairn_query_json_seconds(struct cairn_buf *out, int64_t ns)
{
    int64_t ms = ns / 1000000;
    if (ns < 0 && ns % 1000000)
        ms--;
    int64_t sec = ms / 1000, frac = ms % 1000;
    if (frac < 0) {
        frac += 1000;
        sec--;
    }
    int rc = append_i64(out, (long long)sec);
    if (rc || !frac)
        return rc;
    char f[4] = {'.', (char)('0' + frac / 100), (char)('0' + frac / 10 % 10), (char)('0' + frac % 10)};
    int l = 4;
    while (f[l - 1] == '0')
        l--;
    return cairn_buf_append(out, f, (size_t)l);
}

static int json_point(struct cairn_buf *out, int64_t ns, double v)
{
    int rc = cairn_buf_append_byte(out, '[');
    rc = rc ? rc : cairn_query_json_seconds(out, ns);
    rc = rc ? rc : cairn_buf_append(out, ",\"", 2);
    rc = rc ? rc : cairn__mjson_float(out, v);
    return rc ? rc : cairn_buf_append(out, "\"]", 2);
}

struct vrow {
    size_t s;
    double v;
    const struct cairn__mseries *ser;
};

static int vrow_cmp_asc(const void *a, const void *b)
{
    const struct vrow *x = a, *y = b;
    if (x->v != y->v && !isnan(x->v) && !isnan(y->v))
        return x->v < y->v ? -1 : 1;
    if (isnan(x->v) != isnan(y->v))
        return isnan(x->v) ? 1 : -1;
    return x->s < y->s ? -1 : x->s > y->s;
}

static int vrow_cmp_desc(const void *a, const void *b)
{
    const struct vrow *x = a, *y = b;
    if (x->v != y->v && !isnan(x->v) && !isnan(y->v))
        return x->v > y->v ? -1 : 1;
    if (isnan(x->v) != isnan(y->v))
        return isnan(x->v) ? 1 : -1;
    return x->s < y->s ? -1 : x->s > y->s;
}

/* The answer being encoded is charged as it grows (a matrix of many series and steps
 * is as big as the values behind it), and the deadline is checked per series. */
struct ocharge {
    size_t base, charged;
};

static int out_charge(struct cairn__mctx *c, struct ocharge *oc, const struct cairn_buf *out)
{
    size_t d = out->len - oc->base - oc->charged;
    int rc = cairn__qgov_charge(c->gov, d);
    if (rc == 0) {
        oc->charged += d;
        rc = cairn__qgov_check(c->gov);
    }
    return rc;
}

static int mjson_vec(struct cairn__mctx *c, struct cairn__mval *v, struct cairn_buf *out, struct ocharge *oc);

int cairn__mjson(struct cairn__mctx *c, struct cairn__mval *v, struct cairn_buf *out)
{
    struct ocharge oc = {out->len, 0};
    int rc = mjson_vec(c, v, out, &oc);
    /* returned, the answer is the caller's: it leaves the budget */
    cairn__qgov_release(c->gov, oc.charged);
    return rc;
}

static int mjson_vec(struct cairn__mctx *c, struct cairn__mval *v, struct cairn_buf *out, struct ocharge *oc)
{
    int rc = 0;
    if (v->kind == CAIRN__MV_SCALAR) {
        if (c->instant) {
            rc = cairn_buf_append_str(out, "\"resultType\":\"scalar\",\"result\":");
            rc = rc ? rc : json_point(out, c->start, v->scalar[0]);
            c->st->returned += 1;
            return rc;
        }
        rc = cairn_buf_append_str(out, "\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"values\":[");
        for (size_t i = 0; i < c->nsteps && rc == 0; i++) {
            if (i)
                rc = cairn_buf_append_byte(out, ',');
            rc = rc ? rc : json_point(out, c->start + (int64_t)i * c->step, v->scalar[i]);
        }
        c->st->returned += c->nsteps;
        return rc ? rc : cairn_buf_append_str(out, "]}]");
    }
    if ((rc = cairn__qgov_check(c->gov)))
        return rc;
    cairn__mval_sort(v);
    if (c->instant) {
        struct vrow *rows = malloc((v->n ? v->n : 1) * sizeof *rows);
        if (!rows)
            return CAIRN_ENOMEM;
        size_t n = 0;
        for (size_t s = 0; s < v->n; s++)
            if (v->s[s].ok[0])
                rows[n++] = (struct vrow){s, v->s[s].v[0], &v->s[s]};
        if (v->sort_dir)
            qsort(rows, n, sizeof *rows, v->sort_dir > 0 ? vrow_cmp_asc : vrow_cmp_desc);
        rc = cairn_buf_append_str(out, "\"resultType\":\"vector\",\"result\":[");
        for (size_t j = 0; j < n && rc == 0; j++) {
            if (j)
                rc = cairn_buf_append_byte(out, ',');
            rc = rc ? rc : cairn_buf_append_str(out, "{\"metric\":");
            rc = rc ? rc : cairn__mlab_json(rows[j].ser->lab.p, rows[j].ser->lab.len, out);
            rc = rc ? rc : cairn_buf_append_str(out, ",\"value\":");
            rc = rc ? rc : json_point(out, c->start, rows[j].v);
            rc = rc ? rc : cairn_buf_append_byte(out, '}');
            if (rc == 0 && (j & 255) == 255)
                rc = out_charge(c, oc, out);
        }
        c->st->returned += n;
        free(rows);
        return rc ? rc : cairn_buf_append_byte(out, ']');
    }
    rc = cairn_buf_append_str(out, "\"resultType\":\"matrix\",\"result\":[");
    int first = 1;
    for (size_t s = 0; s < v->n && rc == 0; s++) {
        const struct cairn__mseries *ser = &v->s[s];
        if (!memchr(ser->ok, 1, c->nsteps))
            continue;
        if (!first)
            rc = cairn_buf_append_byte(out, ',');
        first = 0;
        rc = rc ? rc : cairn_buf_append_str(out, "{\"metric\":");
        rc = rc ? rc : cairn__mlab_json(ser->lab.p, ser->lab.len, out);
        rc = rc ? rc : cairn_buf_append_str(out, ",\"values\":[");
        int pf = 1;
        for (size_t i = 0; i < c->nsteps && rc == 0; i++) {
            if (!ser->ok[i])
                continue;
            if (!pf)
                rc = cairn_buf_append_byte(out, ',');
            pf = 0;
            rc = rc ? rc : json_point(out, c->start + (int64_t)i * c->step, ser->v[i]);
            c->st->returned++;
        }
        rc = rc ? rc : cairn_buf_append_str(out, "]}");
        rc = rc ? rc : out_charge(c, oc, out);
    }
    return rc ? rc : cairn_buf_append_byte(out, ']');
}

/* ---- entry ---- */

/* The nodes whose series are the result, for max_query_series counted as series are
 * created (see cairn__mctx). */
static void out_nodes(struct cairn__mctx *c, const struct cairn_lq_expr *e)
{
    if (!c->p->max_series)
        return;
    while (e->kind == CAIRN_LQ_VECTOR_AGG && (e->vop == CAIRN_LQ_SORT || e->vop == CAIRN_LQ_SORT_DESC))
        e = e->inner;
    c->out_expr = e;
    if (e->kind == CAIRN_LQ_VECTOR_AGG && cairn__mvec_pushes(e))
        c->out_range = e->inner;
}

int cairn__metric_steps(const struct cairn_query_params *p, struct cairn__mctx *c, struct cairn_err *err)
{
    if (p->instant) {
        c->instant = 1;
        c->start = p->end;
        c->step = 1;
        c->nsteps = 1;
        return 0;
    }
    if (p->step <= 0)
        return cairn_err_set(err, CAIRN_EINVAL,
                             "zero or negative query resolution step widths are not accepted. "
                             "Try a positive integer");
    if (p->end < p->start)
        return cairn_err_set(err, CAIRN_EINVAL, "end timestamp must not be before start time");
    /* Loki (as Prometheus): (end - start) / step > 11000 is refused */
    if ((p->end - p->start) / p->step > CAIRN_QUERY_MAX_POINTS)
        return cairn_err_set(err, CAIRN_ELIMIT,
                             "exceeded maximum resolution of 11,000 points per timeseries. "
                             "Try decreasing the query resolution (?step=XX)");
    c->start = p->start;
    c->step = p->step;
    c->nsteps = (size_t)((p->end - p->start) / p->step) + 1;
    return 0;
}

/* Does the expression use approx_topk anywhere? */
static int uses_approx(const struct cairn_lq_expr *e)
{
    return e && ((e->kind == CAIRN_LQ_VECTOR_AGG && e->approx) || uses_approx(e->inner) ||
                 uses_approx(e->lhs) || uses_approx(e->rhs));
}

int cairn__query_metric(struct cairn_store *s, const struct cairn_logql_query *q,
                        const struct cairn_query_params *p, struct cairn__query_stats *st,
                        struct cairn_buf *out, struct cairn_err *err)
{
    if (!p->instant && uses_approx(cairn_logql_root(q)))
        return cairn_err_set(err, CAIRN_EINVAL, "approx_topk is only supported for instant "
                                                "queries");
    struct cairn__mctx c = {.store = s, .tenant = p->tenant, .p = p, .st = st, .err = err,
                            .deadline = cairn__query_deadline(st, p), .gov = st->gov};
    int rc = cairn__metric_steps(p, &c, err);
    if (rc)
        return rc;
    out_nodes(&c, cairn_logql_root(q));
    struct cairn__mval v = CAIRN__MVAL_INIT(&c);
    rc = cairn__meval(&c, cairn_logql_root(q), &v);
    if (rc == 0 && p->max_series && v.kind != CAIRN__MV_SCALAR) {
        size_t n = 0;
        for (size_t s = 0; s < v.n; s++)
            n += memchr(v.s[s].ok, 1, c.nsteps) != NULL;
        if (n > p->max_series)
            rc = cairn__qgov_fail(c.gov, CAIRN__QSTOP_SERIES, CAIRN_ELIMIT);
    }
    if (rc == 0)
        rc = cairn__mjson(&c, &v, out);
    cairn__mval_deinit(&v);
    if (rc == CAIRN_ENOMEM)
        cairn_err_set(err, rc, "out of memory evaluating the metric query");
    return rc;
}
