/* metric_binop.c -- binary operators between scalars and vectors (arithmetic,
 * comparisons with and without bool, and/or/unless) with Prometheus' vector matching
 * (on/ignoring, group_left/group_right), and label_replace. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/matcher.h"
#include "metric_int.h"

static int is_cmp(enum cairn_lq_bin_op op)
{
    return op >= CAIRN_LQ_EQ && op <= CAIRN_LQ_LTE;
}

static int is_set(enum cairn_lq_bin_op op)
{
    return op == CAIRN_LQ_OR || op == CAIRN_LQ_AND || op == CAIRN_LQ_UNLESS;
}

/* Loki 2.7's mergeBinOp: the value, and whether a comparison holds. Unlike
 * Prometheus, `/` and `%` by zero are NaN ("guard against divide by zero"), for
 * vectors and scalars alike. A comparison keeps the left operand's value. */
static double elem(enum cairn_lq_bin_op op, double l, double r, int *keep)
{
    *keep = 1;
    switch (op) {
    case CAIRN_LQ_ADD: return l + r;
    case CAIRN_LQ_SUB: return l - r;
    case CAIRN_LQ_MUL: return l * r;
    case CAIRN_LQ_DIV: return r == 0 ? NAN : l / r;
    case CAIRN_LQ_MOD: return r == 0 ? NAN : fmod(l, r);
    case CAIRN_LQ_POW: return pow(l, r);
    case CAIRN_LQ_EQ: *keep = l == r; return l;
    case CAIRN_LQ_NEQ: *keep = l != r; return l;
    case CAIRN_LQ_GT: *keep = l > r; return l;
    case CAIRN_LQ_GTE: *keep = l >= r; return l;
    case CAIRN_LQ_LT: *keep = l < r; return l;
    case CAIRN_LQ_LTE: *keep = l <= r; return l;
    default: return NAN;
    }
}

/* out: series keyed by labels (a map over their own label copies). */
struct outset {
    struct cairn__mval *v;
    struct cairn__mmap map;
};

static int out_series(struct cairn__mctx *c, struct outset *o, const char *lab, uint32_t len, size_t *idx)
{
    if (cairn__mmap_get(&o->map, lab, len, idx))
        return 0;
    int rc = cairn__mval_add(o->v, c->nsteps, lab, len, idx);
    if (rc == 0)
        rc = cairn__mmap_put(&o->map, o->v->s[*idx].lab.p, len, *idx);
    return rc;
}

static int scalar_scalar(struct cairn__mctx *c, const struct cairn_lq_expr *e, struct cairn__mval *l,
                         struct cairn__mval *r, struct cairn__mval *out)
{
    out->kind = CAIRN__MV_SCALAR;
    if (!(out->scalar = malloc(c->nsteps * sizeof(double))))
        return CAIRN_ENOMEM;
    for (size_t i = 0; i < c->nsteps; i++) {
        int keep;
        double v = elem(e->bop, l->scalar[i], r->scalar[i], &keep);
        out->scalar[i] = is_cmp(e->bop) ? (keep ? 1 : 0) : v;
    }
    return 0;
}

static int vector_scalar(struct cairn__mctx *c, const struct cairn_lq_expr *e, struct cairn__mval *vec,
                         const double *sc, int scalar_left, struct cairn__mval *out)
{
    for (size_t s = 0; s < vec->n; s++) {
        size_t idx;
        int rc = (s & 255) == 255 ? cairn__qgov_check(c->gov) : 0;
        if (rc == 0)
            rc = cairn__mval_add(out, c->nsteps, vec->s[s].lab.p, vec->s[s].lab.len, &idx);
        if (rc)
            return rc;
        struct cairn__mseries *o = &out->s[idx];
        for (size_t i = 0; i < c->nsteps; i++) {
            if (!vec->s[s].ok[i])
                continue;
            double l = vec->s[s].v[i], r = sc[i];
            if (scalar_left) {
                l = sc[i];
                r = vec->s[s].v[i];
            }
            int keep;
            double v = elem(e->bop, l, r, &keep);
            /* Without bool a comparison keeps the left operand's value, the scalar's
             * when it is on the left (Loki 2.7's literalStepEvaluator; Prometheus, and
             * Loki since grafana/loki#10741, keep the vector's). */
            if (is_cmp(e->bop) && e->return_bool) {
                v = keep ? 1 : 0;
                keep = 1;
            }
            if (keep) {
                o->ok[i] = 1;
                o->v[i] = v;
            }
        }
    }
    cairn__mval_compact(out, c->nsteps);
    return 0;
}

/* Signature of a series for matching: on(...) keeps, ignoring(...) drops, else all. */
static int signature(const struct cairn_lq_expr *e, const struct cairn__mseries *s, struct cairn__mlb *lb,
                     struct cairn_buf *out)
{
    int rc = cairn__mlb_load(lb, s->lab.p, s->lab.len);
    if (rc)
        return rc;
    if (e->on)
        cairn__mlb_filter(lb, e->match_labels, e->nmatch_labels, 1);
    else if (e->ignoring)
        cairn__mlb_filter(lb, e->match_labels, e->nmatch_labels, 0);
    return cairn__mlb_finish(lb, out);
}

struct sigs {
    struct cairn__mval keys; /* one entry per distinct signature (labels = the signature) */
    struct cairn__mmap map;
    size_t *l, *r;           /* signature id of each lhs / rhs series */
};

static void sigs_deinit(struct sigs *g)
{
    cairn__mval_deinit(&g->keys);
    cairn__mmap_deinit(&g->map);
    free(g->l);
    free(g->r);
}

static int sig_ids(const struct cairn_lq_expr *e, struct cairn__mval *v, size_t **ids, struct sigs *g,
                   struct cairn__mlb *lb, struct cairn_buf *tmp)
{
    if (!(*ids = malloc((v->n ? v->n : 1) * sizeof **ids)))
        return CAIRN_ENOMEM;
    for (size_t s = 0; s < v->n; s++) {
        int rc = signature(e, &v->s[s], lb, tmp);
        if (rc)
            return rc;
        const char *k = tmp->data ? tmp->data : "";
        if (cairn__mmap_get(&g->map, k, (uint32_t)tmp->len, &(*ids)[s]))
            continue;
        if ((rc = cairn__mval_add(&g->keys, 0, k, (uint32_t)tmp->len, &(*ids)[s])) ||
            (rc = cairn__mmap_put(&g->map, g->keys.s[(*ids)[s]].lab.p, (uint32_t)tmp->len, (*ids)[s])))
            return rc;
    }
    return 0;
}

static int set_op(struct cairn__mctx *c, const struct cairn_lq_expr *e, struct cairn__mval *l,
                  struct cairn__mval *r, struct sigs *g, struct outset *o)
{
    size_t ng = g->keys.n;
    size_t *lmark = calloc(ng ? ng : 1, sizeof *lmark), *rmark = calloc(ng ? ng : 1, sizeof *rmark);
    size_t *lidx = malloc((l->n ? l->n : 1) * sizeof *lidx), *ridx = malloc((r->n ? r->n : 1) * sizeof *ridx);
    int rc = 0;
    if (!lmark || !rmark || !lidx || !ridx) {
        rc = CAIRN_ENOMEM;
        goto done;
    }
    for (size_t s = 0; s < l->n && rc == 0; s++)
        rc = out_series(c, o, l->s[s].lab.p, l->s[s].lab.len, &lidx[s]);
    if (e->bop == CAIRN_LQ_OR)
        for (size_t s = 0; s < r->n && rc == 0; s++)
            rc = out_series(c, o, r->s[s].lab.p, r->s[s].lab.len, &ridx[s]);
    if (rc)
        goto done;
    for (size_t i = 0; i < c->nsteps; i++) {
        size_t stamp = i + 1;
        if ((rc = cairn__qgov_check(c->gov)))
            goto done;
        for (size_t s = 0; s < r->n; s++)
            if (r->s[s].ok[i])
                rmark[g->r[s]] = stamp;
        for (size_t s = 0; s < l->n; s++) {
            if (!l->s[s].ok[i])
                continue;
            lmark[g->l[s]] = stamp;
            int has = rmark[g->l[s]] == stamp;
            if ((e->bop == CAIRN_LQ_AND && !has) || (e->bop == CAIRN_LQ_UNLESS && has))
                continue;
            struct cairn__mseries *os = &o->v->s[lidx[s]];
            if (!os->ok[i]) {
                os->ok[i] = 1;
                os->v[i] = l->s[s].v[i];
            }
        }
        if (e->bop != CAIRN_LQ_OR)
            continue;
        for (size_t s = 0; s < r->n; s++) {
            if (!r->s[s].ok[i] || lmark[g->r[s]] == stamp)
                continue;
            struct cairn__mseries *os = &o->v->s[ridx[s]];
            if (!os->ok[i]) {
                os->ok[i] = 1;
                os->v[i] = r->s[s].v[i];
            }
        }
    }
done:
    free(lmark);
    free(rmark);
    free(lidx);
    free(ridx);
    return rc;
}

/* Result labels of a matched pair (Prometheus' resultMetric). */
static int result_labels(const struct cairn_lq_expr *e, const struct cairn__mseries *many,
                         const struct cairn__mseries *one, int one_to_one, struct cairn__mlb *lb,
                         struct cairn_buf *out)
{
    int rc = cairn__mlb_load(lb, many->lab.p, many->lab.len);
    if (rc)
        return rc;
    if (one_to_one) {
        if (e->on)
            cairn__mlb_filter(lb, e->match_labels, e->nmatch_labels, 1);
        else if (e->ignoring)
            cairn__mlb_filter(lb, e->match_labels, e->nmatch_labels, 0);
    }
    for (size_t j = 0; j < e->ninclude_labels && rc == 0; j++) {
        const struct cairn_lq_str *n = &e->include_labels[j];
        size_t vl = 0;
        const char *v = cairn__mlab_get(one->lab.p, one->lab.len, n->p, n->len, &vl);
        rc = cairn__mlb_set(lb, n->p, n->len, v ? v : "", v ? vl : 0);
    }
    return rc ? rc : cairn__mlb_finish(lb, out);
}

static int dup_error(struct cairn__mctx *c, const struct cairn__mseries *a, const struct cairn__mseries *b,
                     const char *sig, uint32_t siglen, const char *side)
{
    struct cairn_buf ta = CAIRN_BUF_INIT, tb = CAIRN_BUF_INIT, ts = CAIRN_BUF_INIT;
    int rc = cairn__mlab_text(a->lab.p, a->lab.len, &ta) || cairn__mlab_text(b->lab.p, b->lab.len, &tb) ||
             cairn__mlab_text(sig, siglen, &ts);
    if (rc == 0)
        cairn_err_set(c->err, CAIRN_EINVAL,
                      "found duplicate series for the match group %s on the %s hand-side of the operation: "
                      "[%s, %s];many-to-many matching not allowed: matching labels must be unique on one side",
                      cairn_buf_cstr(&ts), side, cairn_buf_cstr(&ta), cairn_buf_cstr(&tb));
    cairn_buf_deinit(&ta);
    cairn_buf_deinit(&tb);
    cairn_buf_deinit(&ts);
    return rc ? CAIRN_ENOMEM : CAIRN_EINVAL;
}

static int vector_vector(struct cairn__mctx *c, const struct cairn_lq_expr *e, struct cairn__mval *l,
                         struct cairn__mval *r, struct sigs *g, struct outset *o)
{
    int swapped = e->group_right;
    int one_to_one = !e->group_left && !e->group_right;
    struct cairn__mval *many = swapped ? r : l, *one = swapped ? l : r;
    size_t *mg = swapped ? g->r : g->l, *og = swapped ? g->l : g->r;
    size_t ng = g->keys.n;
    size_t *omark = calloc(ng ? ng : 1, sizeof *omark), *oat = calloc(ng ? ng : 1, sizeof *oat);
    size_t *mmark = calloc(ng ? ng : 1, sizeof *mmark);
    size_t *cache_one = malloc((many->n ? many->n : 1) * sizeof *cache_one);
    size_t *cache_out = malloc((many->n ? many->n : 1) * sizeof *cache_out);
    struct cairn__mlb lb = {0};
    struct cairn_buf tmp = CAIRN_BUF_INIT;
    int rc = 0;
    if (!omark || !oat || !mmark || !cache_one || !cache_out) {
        rc = CAIRN_ENOMEM;
        goto done;
    }
    for (size_t s = 0; s < many->n; s++)
        cache_one[s] = SIZE_MAX;
    for (size_t i = 0; i < c->nsteps && rc == 0; i++) {
        size_t stamp = i + 1;
        if ((rc = cairn__qgov_check(c->gov)))
            goto done;
        for (size_t s = 0; s < one->n; s++) {
            if (!one->s[s].ok[i])
                continue;
            size_t sg = og[s];
            if (omark[sg] == stamp) {
                rc = dup_error(c, &one->s[oat[sg]], &one->s[s], g->keys.s[sg].lab.p, g->keys.s[sg].lab.len,
                               swapped ? "left" : "right");
                goto done;
            }
            omark[sg] = stamp;
            oat[sg] = s;
        }
        for (size_t s = 0; s < many->n; s++) {
            if (!many->s[s].ok[i])
                continue;
            size_t sg = mg[s];
            if (omark[sg] != stamp)
                continue;
            if (one_to_one) {
                if (mmark[sg] == stamp) {
                    rc = cairn_err_set(c->err, CAIRN_EINVAL,
                                       "multiple matches for labels: many-to-one matching must be explicit "
                                       "(group_left/group_right)");
                    goto done;
                }
                mmark[sg] = stamp;
            }
            size_t os = oat[sg];
            double fl = many->s[s].v[i], fr = one->s[os].v[i];
            if (swapped) {
                double t = fl;
                fl = fr;
                fr = t;
            }
            int keep;
            double v = elem(e->bop, fl, fr, &keep);
            if (e->return_bool) {
                v = keep ? 1 : 0;
                keep = 1;
            }
            if (!keep)
                continue;
            if (cache_one[s] != os) {
                if ((rc = result_labels(e, &many->s[s], &one->s[os], one_to_one, &lb, &tmp)) ||
                    (rc = out_series(c, o, tmp.data ? tmp.data : "", (uint32_t)tmp.len, &cache_out[s])))
                    goto done;
                cache_one[s] = os;
            }
            struct cairn__mseries *res = &o->v->s[cache_out[s]];
            if (res->ok[i]) {
                rc = cairn_err_set(c->err, CAIRN_EINVAL,
                                   one_to_one ? "multiple matches for labels: many-to-one matching must be "
                                                "explicit (group_left/group_right)"
                                              : "multiple matches for labels: grouping labels must ensure "
                                                "unique matches");
                goto done;
            }
            res->ok[i] = 1;
            res->v[i] = v;
        }
    }
done:
    free(omark);
    free(oat);
    free(mmark);
    free(cache_one);
    free(cache_out);
    cairn__mlb_deinit(&lb);
    cairn_buf_deinit(&tmp);
    return rc;
}

int cairn__meval_binop(struct cairn__mctx *c, const struct cairn_lq_expr *e, struct cairn__mval *out)
{
    struct cairn__mval l = CAIRN__MVAL_INIT(c), r = CAIRN__MVAL_INIT(c);
    int rc = cairn__meval(c, e->lhs, &l);
    if (rc == 0)
        rc = cairn__meval(c, e->rhs, &r);
    if (rc)
        goto done;
    if (l.kind == CAIRN__MV_SCALAR && r.kind == CAIRN__MV_SCALAR) {
        rc = scalar_scalar(c, e, &l, &r, out);
    } else if (l.kind == CAIRN__MV_SCALAR || r.kind == CAIRN__MV_SCALAR) {
        if (is_set(e->bop)) {
            rc = cairn_err_set(c->err, CAIRN_EINVAL, "parse error : set operators are not allowed between a scalar and a vector");
        } else if (l.kind == CAIRN__MV_SCALAR) {
            rc = vector_scalar(c, e, &r, l.scalar, 1, out);
        } else {
            rc = vector_scalar(c, e, &l, r.scalar, 0, out);
        }
    } else {
        struct sigs g = {0};
        struct cairn__mlb lb = {0};
        struct cairn_buf tmp = CAIRN_BUF_INIT;
        struct outset o = {.v = out};
        rc = sig_ids(e, &l, &g.l, &g, &lb, &tmp);
        if (rc == 0)
            rc = sig_ids(e, &r, &g.r, &g, &lb, &tmp);
        if (rc == 0)
            rc = is_set(e->bop) ? set_op(c, e, &l, &r, &g, &o) : vector_vector(c, e, &l, &r, &g, &o);
        if (rc == 0) {
            cairn__mval_compact(out, c->nsteps);
            cairn__mval_sort(out);
        }
        sigs_deinit(&g);
        cairn__mlb_deinit(&lb);
        cairn_buf_deinit(&tmp);
        cairn__mmap_deinit(&o.map);
    }
    if (rc == 0 && out->kind == CAIRN__MV_VECTOR)
        out->sort_dir = l.kind == CAIRN__MV_VECTOR ? l.sort_dir : r.sort_dir;
done:
    cairn__mval_deinit(&l);
    cairn__mval_deinit(&r);
    return rc;
}

/* ---- label_replace ---- */

/* Go's regexp.Expand of template into out, with the match's groups in ovec. */
static int expand(struct cairn_buf *out, const char *tpl, size_t tl, const char *src, const size_t *ovec,
                  int pairs, const struct cairn_regex *re)
{
    int rc = 0;
    for (size_t i = 0; i < tl && rc == 0; i++) {
        if (tpl[i] != '$' || i + 1 >= tl) {
            rc = cairn_buf_append_byte(out, tpl[i]);
            continue;
        }
        size_t j = i + 1;
        const char *name;
        size_t nl;
        if (tpl[j] == '$') {
            rc = cairn_buf_append_byte(out, '$');
            i = j;
            continue;
        }
        int braced = tpl[j] == '{';
        if (braced)
            j++;
        name = tpl + j;
        while (j < tl && (tpl[j] == '_' || (tpl[j] >= '0' && tpl[j] <= '9') || (tpl[j] >= 'a' && tpl[j] <= 'z') ||
                          (tpl[j] >= 'A' && tpl[j] <= 'Z')))
            j++;
        nl = (size_t)(tpl + j - name);
        if (nl == 0 || (braced && (j >= tl || tpl[j] != '}'))) {
            rc = cairn_buf_append_byte(out, '$'); /* malformed: the $ is text */
            continue;
        }
        i = braced ? j : j - 1;
        int num = -1, digits = 1;
        for (size_t k = 0; k < nl; k++)
            digits &= name[k] >= '0' && name[k] <= '9';
        if (digits) {
            num = 0;
            for (size_t k = 0; k < nl && num < 100000; k++)
                num = num * 10 + (name[k] - '0');
        } else {
            for (int gi = 1; gi <= cairn_regex_groups(re); gi++) {
                const char *gn = cairn_regex_group_name(re, gi);
                if (gn && strlen(gn) == nl && memcmp(gn, name, nl) == 0) {
                    num = gi;
                    break;
                }
            }
        }
        if (num >= 0 && num < pairs && ovec[2 * num] != SIZE_MAX && ovec[2 * num + 1] >= ovec[2 * num])
            rc = cairn_buf_append(out, src + ovec[2 * num], ovec[2 * num + 1] - ovec[2 * num]);
    }
    return rc;
}

int cairn__meval_label_replace(struct cairn__mctx *c, const struct cairn_lq_expr *e, struct cairn__mval *out)
{
    if (!cairn_label_name_valid(e->dst.p, e->dst.len))
        return cairn_err_set(c->err, CAIRN_EINVAL, "invalid destination label name in label_replace(): %s",
                             e->dst.p);
    struct cairn_err rerr = {0};
    struct cairn_regex *re = cairn_regex_compile(e->regex.p, e->regex.len, CAIRN_RE_ANCHORED, &rerr);
    if (!re)
        return cairn_err_set(c->err, CAIRN_EINVAL, "invalid regular expression in label_replace(): %s",
                             e->regex.p);
    struct cairn__mval in = CAIRN__MVAL_INIT(c);
    struct cairn__mlb lb = {0};
    struct cairn_buf val = CAIRN_BUF_INIT, tmp = CAIRN_BUF_INIT;
    struct outset o = {.v = out};
    int pairs = cairn_regex_groups(re) + 1;
    size_t *ovec = malloc(2 * (size_t)pairs * sizeof *ovec);
    int rc = ovec ? cairn__meval(c, e->inner, &in) : CAIRN_ENOMEM;
    for (size_t s = 0; s < in.n && rc == 0; s++) {
        size_t sl = 0;
        if ((s & 255) == 255 && (rc = cairn__qgov_check(c->gov)))
            break;
        const char *sv = cairn__mlab_get(in.s[s].lab.p, in.s[s].lab.len, e->src.p, e->src.len, &sl);
        if (!sv)
            sv = "";
        for (int k = 0; k < 2 * pairs; k++)
            ovec[k] = SIZE_MAX;
        int m = cairn_regex_exec(re, sv, sl, 0, ovec, pairs);
        const char *lab = in.s[s].lab.p;
        uint32_t len = in.s[s].lab.len;
        if (m > 0) {
            cairn_buf_reset(&val);
            if ((rc = expand(&val, e->replacement.p, e->replacement.len, sv, ovec, m, re)) ||
                (rc = cairn__mlb_load(&lb, lab, len)) ||
                (rc = cairn__mlb_set(&lb, e->dst.p, e->dst.len, val.data ? val.data : "", val.len)) ||
                (rc = cairn__mlb_finish(&lb, &tmp)))
                break;
            lab = tmp.data ? tmp.data : "";
            len = (uint32_t)tmp.len;
        }
        size_t idx;
        if ((rc = out_series(c, &o, lab, len, &idx)))
            break;
        for (size_t i = 0; i < c->nsteps; i++) {
            if (!in.s[s].ok[i])
                continue;
            if (out->s[idx].ok[i]) {
                rc = cairn_err_set(c->err, CAIRN_EINVAL, "vector cannot contain metrics with the same labelset");
                break;
            }
            out->s[idx].ok[i] = 1;
            out->s[idx].v[i] = in.s[s].v[i];
        }
    }
    if (rc == 0) {
        cairn__mval_sort(out);
        out->sort_dir = in.sort_dir;
    }
    free(ovec);
    cairn_regex_destroy(re);
    cairn__mval_deinit(&in);
    cairn__mlb_deinit(&lb);
    cairn_buf_deinit(&val);
    cairn_buf_deinit(&tmp);
    cairn__mmap_deinit(&o.map);
    return rc;
}
