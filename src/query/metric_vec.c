/* metric_vec.c -- vector aggregations: sum, avg, min, max, count, stddev, stdvar,
 * topk, bottomk, sort, sort_desc, with `by` / `without`, step by step with
 * Prometheus' (and Loki's) arithmetic. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metric_int.h"

/* Group key of a series: its labels reduced by the grouping (no grouping: one group). */
static int group_key(const struct cairn_lq_grouping *g, const struct cairn__mseries *s, struct cairn__mlb *lb,
                     struct cairn_buf *out)
{
    lb->n = 0;
    if (g->present) {
        int rc = cairn__mlb_load(lb, s->lab.p, s->lab.len);
        if (rc)
            return rc;
        cairn__mlb_filter(lb, g->labels, g->nlabels, !g->without);
    }
    return cairn__mlb_finish(lb, out);
}

struct gacc {
    double *v, *mean, *cnt;
};

/* A scalar operand of an aggregation acts as the one-series vector {}. */
static int scalar_to_vector(struct cairn__mctx *c, struct cairn__mval *v)
{
    if (v->kind != CAIRN__MV_SCALAR)
        return 0;
    double *sc = v->scalar;
    v->scalar = NULL;
    v->kind = CAIRN__MV_VECTOR;
    size_t idx;
    int rc = cairn__mval_add(v, c->nsteps, "", 0, &idx);
    if (rc == 0) {
        memcpy(v->s[idx].v, sc, c->nsteps * sizeof *sc);
        memset(v->s[idx].ok, 1, c->nsteps);
    }
    free(sc);
    return rc;
}

static void fold(enum cairn_lq_vec_op op, struct gacc *g, size_t i, double x)
{
    double n = ++g->cnt[i];
    switch (op) {
    case CAIRN_LQ_SUM:
        g->v[i] = n == 1 ? x : g->v[i] + x;
        break;
    case CAIRN_LQ_AVG:
        if (n == 1) {
            g->mean[i] = x;
        } else {
            double m = g->mean[i];
            if (isinf(m) && ((isinf(x) && (m > 0) == (x > 0)) || (!isinf(x) && !isnan(x))))
                break;
            g->mean[i] = m + x / n - m / n;
        }
        break;
    case CAIRN_LQ_MAX:
        if (n == 1 || g->v[i] < x || isnan(g->v[i]))
            g->v[i] = x;
        break;
    case CAIRN_LQ_MIN:
        if (n == 1 || g->v[i] > x || isnan(g->v[i]))
            g->v[i] = x;
        break;
    case CAIRN_LQ_STDDEV:
    case CAIRN_LQ_STDVAR: {
        if (n == 1) {
            g->mean[i] = 0;
            g->v[i] = 0;
        }
        double delta = x - g->mean[i];
        g->mean[i] += delta / n;
        g->v[i] += delta * (x - g->mean[i]);
        break;
    }
    default:
        break;
    }
}

static double result(enum cairn_lq_vec_op op, const struct gacc *g, size_t i)
{
    switch (op) {
    case CAIRN_LQ_AVG: return g->mean[i];
    case CAIRN_LQ_COUNT: return g->cnt[i];
    case CAIRN_LQ_STDVAR: return g->v[i] / g->cnt[i];
    case CAIRN_LQ_STDDEV: return sqrt(g->v[i] / g->cnt[i]);
    default: return g->v[i];
    }
}

struct kcand {
    size_t s;
    double v;
};

/* topk order: larger first, NaN last, then input (label) order. */
static int top_cmp(const void *a, const void *b)
{
    const struct kcand *x = a, *y = b;
    if (isnan(x->v) != isnan(y->v))
        return isnan(x->v) ? 1 : -1;
    if (!isnan(x->v) && x->v != y->v)
        return x->v > y->v ? -1 : 1;
    return x->s < y->s ? -1 : x->s > y->s;
}

static int bottom_cmp(const void *a, const void *b)
{
    const struct kcand *x = a, *y = b;
    if (isnan(x->v) != isnan(y->v))
        return isnan(x->v) ? 1 : -1;
    if (!isnan(x->v) && x->v != y->v)
        return x->v < y->v ? -1 : 1;
    return x->s < y->s ? -1 : x->s > y->s;
}

static int eval_topk(struct cairn__mctx *c, const struct cairn_lq_expr *e, struct cairn__mval *in,
                     const size_t *gid, size_t ngroups, struct cairn__mval *out)
{
    size_t k = (size_t)e->param->number;
    size_t charged = (in->n ? in->n : 1) * (c->nsteps + sizeof(struct kcand));
    if (cairn__qgov_charge(c->gov, charged))
        return CAIRN_ELIMIT;
    struct kcand *cand = malloc((in->n ? in->n : 1) * sizeof *cand);
    size_t *start = calloc(ngroups + 1, sizeof *start), *fill = calloc(ngroups + 1, sizeof *fill);
    uint8_t *keep = calloc(in->n ? in->n : 1, c->nsteps);
    int rc = 0;
    if (!cand || !start || !fill || !keep) {
        rc = CAIRN_ENOMEM;
        goto done;
    }
    for (size_t s = 0; s < in->n; s++)
        start[gid[s] + 1]++;
    for (size_t g = 0; g < ngroups; g++)
        start[g + 1] += start[g];
    for (size_t i = 0; i < c->nsteps; i++) {
        if ((i & 63) == 63 && (rc = cairn__qgov_check(c->gov)))
            goto done;
        memcpy(fill, start, (ngroups + 1) * sizeof *fill);
        for (size_t s = 0; s < in->n; s++)
            if (in->s[s].ok[i])
                cand[fill[gid[s]]++] = (struct kcand){s, in->s[s].v[i]};
        for (size_t g = 0; g < ngroups; g++) {
            size_t n = fill[g] - start[g];
            if (!n)
                continue;
            qsort(cand + start[g], n, sizeof *cand, e->vop == CAIRN_LQ_TOPK ? top_cmp : bottom_cmp);
            for (size_t j = 0; j < n && j < k; j++)
                keep[cand[start[g] + j].s * c->nsteps + i] = 1;
        }
    }
    for (size_t s = 0; s < in->n && rc == 0; s++) {
        if (!memchr(keep + s * c->nsteps, 1, c->nsteps))
            continue;
        size_t idx;
        if ((rc = cairn__mval_add(out, c->nsteps, in->s[s].lab.p, in->s[s].lab.len, &idx)))
            break;
        for (size_t i = 0; i < c->nsteps; i++) {
            out->s[idx].ok[i] = keep[s * c->nsteps + i];
            out->s[idx].v[i] = in->s[s].v[i];
        }
    }
done:
    free(cand);
    free(start);
    free(fill);
    free(keep);
    cairn__qgov_release(c->gov, charged);
    return rc;
}

/* Loki's canInjectVectorGrouping: sum over count/rate/bytes/sum range aggregations
 * without their own grouping gets its grouping applied at extraction. */
int cairn__mvec_pushes(const struct cairn_lq_expr *e)
{
    const struct cairn_lq_expr *r = e->inner;
    if (e->vop != CAIRN_LQ_SUM || r->kind != CAIRN_LQ_RANGE_AGG || r->grouping.present)
        return 0;
    switch (r->rop) {
    case CAIRN_LQ_BYTES_OVER_TIME: case CAIRN_LQ_BYTES_RATE: case CAIRN_LQ_SUM_OVER_TIME:
    case CAIRN_LQ_RATE: case CAIRN_LQ_COUNT_OVER_TIME:
        return 1;
    default:
        return 0;
    }
}

int cairn__meval_vector_agg(struct cairn__mctx *c, const struct cairn_lq_expr *e, struct cairn__mval *out)
{
    struct cairn__mval in = CAIRN__MVAL_INIT(c);
    int rc;
    if (cairn__mvec_pushes(e)) {
        struct cairn_lq_grouping g = e->grouping;
        g.present = 1; /* sum without a clause: by () */
        rc = cairn__meval_range(c, e->inner, &g, &in);
    } else {
        rc = cairn__meval(c, e->inner, &in);
    }
    if (rc == 0)
        rc = scalar_to_vector(c, &in);
    if (rc) {
        cairn__mval_deinit(&in);
        return rc;
    }
    if (e->vop == CAIRN_LQ_SORT || e->vop == CAIRN_LQ_SORT_DESC) {
        *out = in;
        out->sort_dir = e->vop == CAIRN_LQ_SORT ? 1 : -1;
        return 0;
    }
    struct cairn__mlb lb = {0};
    struct cairn_buf key = CAIRN_BUF_INIT;
    struct cairn__mmap map = {0};
    size_t *gid = malloc((in.n ? in.n : 1) * sizeof *gid);
    struct cairn__mval groups = CAIRN__MVAL_INIT(c); /* one series per group: its labels are the key */
    struct gacc *acc = NULL;
    size_t nacc = 0, charged = 0, nout = 0;
    /* the groups are the result: count them against max_query_series as they appear
     * (a group is in the result when one of its series has a point) */
    int count_out = c->gov && c->gov->max_series && e == c->out_expr && e->vop != CAIRN_LQ_TOPK &&
                    e->vop != CAIRN_LQ_BOTTOMK;
    if (!gid) {
        rc = CAIRN_ENOMEM;
        goto done;
    }
    for (size_t s = 0; s < in.n && rc == 0; s++) {
        if ((s & 255) == 255 && (rc = cairn__qgov_check(c->gov)))
            break;
        if ((rc = group_key(&e->grouping, &in.s[s], &lb, &key)))
            break;
        const char *k = key.data ? key.data : "";
        if (cairn__mmap_get(&map, k, (uint32_t)key.len, &gid[s]))
            continue;
        if (count_out && memchr(in.s[s].ok, 1, c->nsteps) && ++nout > c->gov->max_series) {
            rc = cairn__qgov_fail(c->gov, CAIRN__QSTOP_SERIES, CAIRN_ELIMIT);
            break;
        }
        if ((rc = cairn__mval_add(&groups, c->nsteps, k, (uint32_t)key.len, &gid[s])))
            break;
        /* the map borrows the group's own copy of the key */
        rc = cairn__mmap_put(&map, groups.s[gid[s]].lab.p, groups.s[gid[s]].lab.len, gid[s]);
    }
    if (rc)
        goto done;
    if (e->vop == CAIRN_LQ_TOPK || e->vop == CAIRN_LQ_BOTTOMK) {
        rc = eval_topk(c, e, &in, gid, groups.n, out);
        goto done;
    }
    /* per group: two more per-step arrays, and its map slots */
    charged = groups.n * (sizeof *acc + 2 * c->nsteps * sizeof(double) + 2 * sizeof *map.slot);
    if ((rc = cairn__qgov_charge(c->gov, charged))) {
        charged = 0;
        goto done;
    }
    if (!(acc = calloc(groups.n ? groups.n : 1, sizeof *acc))) {
        rc = CAIRN_ENOMEM;
        goto done;
    }
    nacc = groups.n;
    for (size_t g = 0; g < groups.n; g++) {
        acc[g].v = groups.s[g].v;
        acc[g].mean = calloc(c->nsteps, sizeof(double));
        acc[g].cnt = calloc(c->nsteps, sizeof(double));
        if (!acc[g].mean || !acc[g].cnt) {
            rc = CAIRN_ENOMEM;
            goto done;
        }
    }
    for (size_t s = 0; s < in.n; s++) {
        if ((s & 255) == 255 && (rc = cairn__qgov_check(c->gov)))
            goto done;
        for (size_t i = 0; i < c->nsteps; i++)
            if (in.s[s].ok[i])
                fold(e->vop, &acc[gid[s]], i, in.s[s].v[i]);
    }
    for (size_t g = 0; g < groups.n; g++) {
        for (size_t i = 0; i < c->nsteps; i++) {
            if (acc[g].cnt[i] > 0) {
                groups.s[g].ok[i] = 1;
                groups.s[g].v[i] = result(e->vop, &acc[g], i);
            }
        }
    }
    cairn__mval_compact(&groups, c->nsteps);
    *out = groups;
    memset(&groups, 0, sizeof groups);
done:
    for (size_t g = 0; g < nacc; g++) {
        free(acc[g].mean);
        free(acc[g].cnt);
    }
    free(acc);
    free(gid);
    cairn__qgov_release(c->gov, charged);
    cairn__mval_deinit(&groups);
    cairn__mval_deinit(&in);
    cairn__mmap_deinit(&map);
    cairn__mlb_deinit(&lb);
    cairn_buf_deinit(&key);
    return rc;
}
