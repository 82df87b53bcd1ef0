/* pipeline.c -- compile a log expression's stages and run them over entries: line
 * filters first on raw bytes, then parsers, label filters, formats, drop/keep. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/parse_json.h"
#include "cairn/parse_logfmt.h"
#include "cairn/parse_template.h"
#include "cairn/parse_units.h"
#include "cairn/smeta.h"
#include "cairn/timeutil.h"
#include "logql/pipeline_int.h"


static void stage_deinit(struct stage_rt *s)
{
    const struct cairn_lq_stage *st = s->st;
    cairn__line_filter_deinit(&s->lf);
    if (s->paths)
        for (size_t i = 0; i < st->nparams; i++)
            cairn_jsonpath_destroy(s->paths[i]);
    free(s->paths);
    cairn_regex_destroy(s->re);
    cairn_pattern_destroy(s->pat);
    cairn_template_destroy(s->tpl);
    if (s->tpls)
        for (size_t i = 0; i < st->nparams; i++)
            cairn_template_destroy(s->tpls[i]);
    free(s->tpls);
    if (s->kre)
        for (size_t i = 0; i < st->nparams; i++)
            cairn_regex_destroy(s->kre[i]);
    free(s->kre);
    if (s->seen)
        for (size_t i = 0; i < st->nparams; i++)
            cairn_strmap_deinit(&s->seen[i]);
    free(s->seen);
}

static int stage_init(struct stage_rt *s, const struct cairn_lq_stage *st, struct cairn_err *err)
{
    memset(s, 0, sizeof(*s));
    s->st = st;
    size_t np = st->nparams ? st->nparams : 1;
    switch (st->kind) {
    case CAIRN_LQ_STAGE_LINE_FILTER:
        return cairn__line_filter_init(&s->lf, st, err);
    case CAIRN_LQ_STAGE_JSON:
        if (!st->nparams)
            return 0;
        if (!(s->paths = calloc(np, sizeof(*s->paths))))
            return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        for (size_t i = 0; i < st->nparams; i++)
            if (!(s->paths[i] = cairn_jsonpath_compile(st->params[i].value.p, st->params[i].value.len, err)))
                return err ? err->code : CAIRN_EINVAL;
        return 0;
    case CAIRN_LQ_STAGE_DISTINCT:
        if (!(s->seen = calloc(np, sizeof(*s->seen))))
            return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        for (size_t i = 0; i < st->nparams; i++)
            cairn_strmap_init(&s->seen[i]);
        return 0;
    case CAIRN_LQ_STAGE_REGEXP:
        return (s->re = cairn_regex_compile(st->text.p, st->text.len, 0, err)) ? 0 : CAIRN_EINVAL;
    case CAIRN_LQ_STAGE_PATTERN:
        return (s->pat = cairn_pattern_compile(st->text.p, st->text.len, 0, err)) ? 0 : CAIRN_EINVAL;
    case CAIRN_LQ_STAGE_LINE_FORMAT:
        return (s->tpl = cairn_template_compile(st->text.p, st->text.len, err)) ? 0 : CAIRN_EINVAL;
    case CAIRN_LQ_STAGE_LABEL_FORMAT:
        if (!(s->tpls = calloc(np, sizeof(*s->tpls))))
            return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        for (size_t i = 0; i < st->nparams; i++)
            if (st->params[i].has_value &&
                !(s->tpls[i] = cairn_template_compile(st->params[i].value.p, st->params[i].value.len, err)))
                return CAIRN_EINVAL;
        return 0;
    case CAIRN_LQ_STAGE_DROP:
    case CAIRN_LQ_STAGE_KEEP:
        if (!(s->kre = calloc(np, sizeof(*s->kre))))
            return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        for (size_t i = 0; i < st->nparams; i++)
            if (st->params[i].has_value &&
                (st->params[i].op == CAIRN_MATCH_RE || st->params[i].op == CAIRN_MATCH_NRE) &&
                !(s->kre[i] = cairn_regex_compile(st->params[i].value.p, st->params[i].value.len,
                                                  CAIRN_RE_ANCHORED, err)))
                return CAIRN_EINVAL;
        return 0;
    default:
        return 0;
    }
}

static int init_list(const struct cairn_lq_stage *st, struct stage_rt **out, size_t *n,
                     struct cairn_err *err)
{
    size_t cnt = 0;
    for (const struct cairn_lq_stage *s = st; s; s = s->next)
        cnt++;
    *out = calloc(cnt ? cnt : 1, sizeof(**out));
    if (!*out)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    *n = 0;
    for (const struct cairn_lq_stage *s = st; s; s = s->next) {
        int rc = stage_init(&(*out)[*n], s, err);
        (*n)++;
        if (rc)
            return rc ? rc : CAIRN_EINVAL;
    }
    return 0;
}

struct cairn_logql_pipeline *cairn_logql_pipeline_create(const struct cairn_lq_expr *e,
                                                         struct cairn_err *err)
{
    struct cairn_logql_pipeline *p = calloc(1, sizeof(*p));
    if (!p) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    cairn__lb_init(&p->lb);
    p->now = cairn_now_ns();
    const struct cairn_lq_expr *log = e;
    if (e->kind == CAIRN_LQ_RANGE_AGG) {
        log = e->log;
        if (e->has_unwrap)
            p->unwrap = e;
    }
    if (init_list(log->stages, &p->v, &p->n, err) ||
        (p->unwrap && init_list(e->post_unwrap, &p->postv, &p->npost, err))) {
        cairn_logql_pipeline_destroy(p);
        return NULL;
    }
    if (cairn__pushdown_create(p->v, p->n, &p->pd)) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        cairn_logql_pipeline_destroy(p);
        return NULL;
    }
    /* `| json | name="v"`: the filter can be tried on a scan of the line before the
     * json stage builds every label (see json_prefilter). Only for names a json key
     * maps to unchanged: no '_' (nested keys and replaced bytes always make one). */
    for (size_t i = 0; i + 1 < p->n; i++) {
        const struct cairn_lq_stage *a = p->v[i].st, *b = p->v[i + 1].st;
        if (a->kind == CAIRN_LQ_STAGE_JSON && !a->nparams && b->kind == CAIRN_LQ_STAGE_LABEL_FILTER &&
            b->lf->kind == CAIRN_LQ_LF_STRING && b->lf->m.name_len &&
            !memchr(b->lf->m.name, '_', b->lf->m.name_len))
            p->v[i].pre = &b->lf->m;
    }
    /* Hoist line filters that come before any stage that rewrites the line. */
    p->labels_fixed = 1;
    int rewritten = 0;
    for (size_t i = 0; i < p->n; i++) {
        enum cairn_lq_stage_kind k = p->v[i].st->kind;
        if (k == CAIRN_LQ_STAGE_LINE_FILTER)
            p->v[i].hoisted = !rewritten;
        else
            p->labels_fixed = 0;
        /* distinct remembers what reaches it: later filters must not run first */
        if (k == CAIRN_LQ_STAGE_LINE_FORMAT || k == CAIRN_LQ_STAGE_DECOLORIZE ||
            k == CAIRN_LQ_STAGE_UNPACK || k == CAIRN_LQ_STAGE_DISTINCT)
            rewritten = 1;
    }
    return p;
}

void cairn_logql_pipeline_destroy(struct cairn_logql_pipeline *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        stage_deinit(&p->v[i]);
    for (size_t i = 0; i < p->npost; i++)
        stage_deinit(&p->postv[i]);
    free(p->v);
    free(p->postv);
    cairn__pushdown_destroy(p->pd);
    cairn__lb_deinit(&p->lb);
    cairn_buf_deinit(&p->lbuf[0]);
    cairn_buf_deinit(&p->lbuf[1]);
    cairn_buf_deinit(&p->tmp);
    cairn_buf_deinit(&p->tmp2);
    cairn_buf_deinit(&p->key);
    cairn_buf_deinit(&p->jfield);
    cairn_buf_deinit(&p->jpairs);
    free(p);
}

void cairn_logql_pipeline_set_now(struct cairn_logql_pipeline *p, int64_t now_ns)
{
    p->now = now_ns;
}

/* ---- parsers ---- */

static int tpl_lookup(void *arg, const char *name, size_t len, const char **v, size_t *vlen)
{
    struct cairn_logql_pipeline *p = arg;
    int found;
    *v = cairn__lb_get(&p->lb, name, len, vlen, &found);
    return found;
}

static int render(struct cairn_logql_pipeline *p, struct cairn_template *t, struct cairn_buf *out)
{
    struct cairn_template_ctx ctx = {tpl_lookup, p, p->line, p->len, p->ts, p->now};
    cairn_err_clear(&p->err);
    return cairn_template_render(t, &ctx, out, &p->err);
}

static int stage_line_format(struct cairn_logql_pipeline *p, struct stage_rt *s)
{
    struct cairn_buf *b = &p->lbuf[p->cur ^ 1];
    cairn_buf_reset(b);
    int rc = render(p, s->tpl, b);
    if (rc == CAIRN_ENOMEM)
        return rc;
    if (rc)
        return cairn__lb_set_error(&p->lb, "TemplateFormatErr", p->err.msg);
    p->cur ^= 1;
    p->line = b->data ? b->data : "";
    p->len = b->len;
    return 0;
}

static int stage_label_format(struct cairn_logql_pipeline *p, struct stage_rt *s)
{
    const struct cairn_lq_stage *st = s->st;
    /* Templates see the labels as they were before this stage: render them all
     * first (offsets into tmp), then apply renames and sets in order. */
    size_t offs[64], lens[64];
    int failed[64] = {0};
    size_t np = st->nparams < 64 ? st->nparams : 64;
    cairn_buf_reset(&p->tmp2);
    for (size_t i = 0; i < np; i++) {
        if (!s->tpls[i])
            continue;
        offs[i] = p->tmp2.len;
        int rc = render(p, s->tpls[i], &p->tmp2);
        if (rc == CAIRN_ENOMEM)
            return rc;
        if (rc) {
            failed[i] = 1;
            cairn_buf_truncate(&p->tmp2, offs[i]);
            if (cairn__lb_set_error(&p->lb, "TemplateFormatErr", p->err.msg))
                return CAIRN_ENOMEM;
        }
        lens[i] = p->tmp2.len - offs[i];
    }
    for (size_t i = 0; i < np; i++) {
        const struct cairn_lq_param *pm = &st->params[i];
        if (s->tpls[i]) {
            if (!failed[i] && cairn__lb_set(&p->lb, pm->name.p, pm->name.len,
                                            p->tmp2.data ? p->tmp2.data + offs[i] : "",
                                            lens[i], LB_NAME_STABLE))
                return CAIRN_ENOMEM;
            continue;
        }
        long src = cairn__lb_find(&p->lb, pm->value.p, pm->value.len);
        if (src < 0)
            continue;
        const struct lb_ent *e = &p->lb.e[src];
        if (cairn__lb_set(&p->lb, pm->name.p, pm->name.len, cairn__lb_value(&p->lb, e), e->vlen,
                          LB_NAME_STABLE))
            return CAIRN_ENOMEM;
        if (!(pm->name.len == pm->value.len && memcmp(pm->name.p, pm->value.p, pm->name.len) == 0))
            cairn__lb_del(&p->lb, cairn__lb_find(&p->lb, pm->value.p, pm->value.len));
    }
    return 0;
}

static int param_match(struct stage_rt *s, size_t i, const char *v, size_t vl)
{
    const struct cairn_lq_param *pm = &s->st->params[i];
    switch (pm->op) {
    case CAIRN_MATCH_EQ: return vl == pm->value.len && memcmp(v, pm->value.p, vl) == 0;
    case CAIRN_MATCH_NEQ: return !(vl == pm->value.len && memcmp(v, pm->value.p, vl) == 0);
    case CAIRN_MATCH_RE: return cairn_regex_match(s->kre[i], v, vl);
    case CAIRN_MATCH_NRE: return !cairn_regex_match(s->kre[i], v, vl);
    }
    return 0;
}

static void stage_drop_keep(struct cairn_logql_pipeline *p, struct stage_rt *s, int keep)
{
    struct lbuilder *lb = &p->lb;
    const struct cairn_lq_stage *st = s->st;
    for (size_t j = 0; j < lb->n; j++) {
        struct lb_ent *e = &lb->e[j];
        if (e->del)
            continue;
        const char *nm = cairn__lb_name(lb, e);
        int listed = 0;
        for (size_t i = 0; i < st->nparams && !listed; i++) {
            const struct cairn_lq_param *pm = &st->params[i];
            if (pm->name.len == e->nlen && memcmp(pm->name.p, nm, e->nlen) == 0)
                listed = !pm->has_value || param_match(s, i, cairn__lb_value(lb, e), e->vlen);
        }
        if (keep) {
            int special = (e->nlen == 9 && memcmp(nm, "__error__", 9) == 0) ||
                          (e->nlen == 17 && memcmp(nm, "__error_details__", 17) == 0);
            if (!listed && !special)
                e->del = 1;
        } else if (listed) {
            e->del = 1;
        }
    }
}

/* ---- label filters ---- */

static int go_parse_float(const char *s, size_t n, double *v)
{
    return cairn__go_parse_float(s, n, v, NULL);
}

/* Set `kind` with the Go error text for value v (what: 'f' float, 'b' bytes, 'd'
 * duration). 0 or CAIRN_ENOMEM. */
static int set_go_error(struct cairn_logql_pipeline *p, const char *kind, int what, const char *v,
                        size_t vl)
{
    struct cairn_buf *m = &p->tmp;
    cairn_buf_reset(m);
    double x;
    if (what == 'f')
        cairn__go_parse_float(v, vl, &x, m);
    else if (what == 'b')
        cairn__go_bytes_error(v, vl, m);
    else
        cairn__go_duration_error(v, vl, m);
    return cairn__lb_set_error(&p->lb, kind, m->data ? m->data : "");
}

static int cmp(enum cairn_lq_cmp c, double a, double b)
{
    switch (c) {
    case CAIRN_LQ_CMP_EQ: return a == b;
    case CAIRN_LQ_CMP_NEQ: return a != b;
    case CAIRN_LQ_CMP_GT: return a > b;
    case CAIRN_LQ_CMP_GTE: return a >= b;
    case CAIRN_LQ_CMP_LT: return a < b;
    case CAIRN_LQ_CMP_LTE: return a <= b;
    }
    return 0;
}

/* 1 keep, 0 drop, negative error. */
static int label_filter(struct cairn_logql_pipeline *p, const struct cairn_lq_label_filter *f)
{
    size_t vl;
    int found;
    const char *v;
    switch (f->kind) {
    case CAIRN_LQ_LF_AND: {
        int l = label_filter(p, f->left);
        if (l < 0)
            return l;
        int r = label_filter(p, f->right);
        if (r < 0)
            return r;
        return l && r;
    }
    case CAIRN_LQ_LF_OR: {
        int l = label_filter(p, f->left);
        if (l != 0)
            return l;
        return label_filter(p, f->right);
    }
    case CAIRN_LQ_LF_STRING:
        v = cairn__lb_get(&p->lb, f->m.name, f->m.name_len, &vl, &found);
        return cairn_matcher_matches(&f->m, v, vl);
    case CAIRN_LQ_LF_IP:
        v = cairn__lb_get(&p->lb, f->name.p, f->name.len, &vl, &found);
        {
            struct ip_range r;
            if (cairn__ip_range_parse(f->ip.p, f->ip.len, &r))
                return 0;
            int in = found && cairn__ip_in_range(&r, v, vl);
            return f->cmp == CAIRN_LQ_CMP_EQ ? in : !in;
        }
    default:
        break;
    }
    if (cairn__lb_has_error(&p->lb))
        return 1; /* only string matchers can filter out an entry with an error */
    v = cairn__lb_get(&p->lb, f->name.p, f->name.len, &vl, &found);
    if (!found)
        return 0;
    double x;
    if (f->kind == CAIRN_LQ_LF_NUMBER) {
        if (go_parse_float(v, vl, &x))
            return set_go_error(p, "LabelFilterErr", 'f', v, vl) ? CAIRN_ENOMEM : 1;
    } else if (f->kind == CAIRN_LQ_LF_DURATION) {
        int64_t ns;
        if (cairn_parse_duration(v, vl, &ns))
            return set_go_error(p, "LabelFilterErr", 'd', v, vl) ? CAIRN_ENOMEM : 1;
        x = (double)ns / 1e9;
    } else {
        if (cairn_parse_bytes(v, vl, &x))
            return set_go_error(p, "LabelFilterErr", 'b', v, vl) ? CAIRN_ENOMEM : 1;
    }
    return cmp(f->cmp, x, f->value);
}

/* Values remembered per label of a distinct stage; past it a new value still keeps
 * its line but is not remembered (so repeats of it pass too): bounds the memory. */
#define DISTINCT_MAX_VALUES (1u << 18)

/* Loki's distinct: keep the line when a label is absent, or when one of the labels
 * has a value not seen before (all of them are then remembered). 1 keep, 0 drop. */
static int stage_distinct(struct cairn_logql_pipeline *p, struct stage_rt *s)
{
    int keep = 0;
    for (size_t i = 0; i < s->st->nparams; i++) {
        const struct cairn_lq_param *n = &s->st->params[i];
        size_t vl;
        int found;
        const char *v = cairn__lb_get(&p->lb, n->name.p, n->name.len, &vl, &found);
        if (!found)
            return 1;
        uint32_t id;
        if (cairn_strmap_find(&s->seen[i], v, vl, &id))
            continue;
        keep = 1;
        if (s->seen[i].n < DISTINCT_MAX_VALUES && cairn_strmap_put(&s->seen[i], v, vl, &id, NULL))
            return CAIRN_ENOMEM;
    }
    return keep;
}

/* Run stages [0, n); 1 keep, 0 drop, negative error. */
static int run(struct cairn_logql_pipeline *p, struct stage_rt *v, size_t n, int skip_hoisted)
{
    for (size_t i = 0; i < n; i++) {
        struct stage_rt *s = &v[i];
        int rc = 0;
        switch (s->st->kind) {
        case CAIRN_LQ_STAGE_LINE_FILTER:
            if (skip_hoisted && s->hoisted)
                continue;
            if (!cairn__line_filter_match(&s->lf, p->line, p->len))
                return 0;
            break;
        case CAIRN_LQ_STAGE_JSON:
            if (s->pre && !cairn__lq_json_prefilter(p, s->pre))
                return 0;
            rc = cairn__lq_json(p, s);
            break;
        case CAIRN_LQ_STAGE_LOGFMT: rc = cairn__lq_logfmt(p, s); break;
        case CAIRN_LQ_STAGE_REGEXP: rc = cairn__lq_regexp(p, s); break;
        case CAIRN_LQ_STAGE_PATTERN: rc = cairn__lq_pattern(p, s); break;
        case CAIRN_LQ_STAGE_UNPACK: rc = cairn__lq_unpack(p); break;
        case CAIRN_LQ_STAGE_LABEL_FILTER:
            rc = label_filter(p, s->st->lf);
            if (rc == 0)
                return 0;
            if (rc > 0)
                rc = 0;
            break;
        case CAIRN_LQ_STAGE_LINE_FORMAT: rc = stage_line_format(p, s); break;
        case CAIRN_LQ_STAGE_LABEL_FORMAT: rc = stage_label_format(p, s); break;
        case CAIRN_LQ_STAGE_DROP: stage_drop_keep(p, s, 0); break;
        case CAIRN_LQ_STAGE_KEEP: stage_drop_keep(p, s, 1); break;
        case CAIRN_LQ_STAGE_DISTINCT:
            rc = stage_distinct(p, s);
            if (rc == 0)
                return 0;
            if (rc > 0)
                rc = 0;
            break;
        case CAIRN_LQ_STAGE_DECOLORIZE: {
            struct cairn_buf *b = &p->lbuf[p->cur ^ 1];
            if (cairn__decolorize(p->line, p->len, b))
                return CAIRN_ENOMEM;
            p->cur ^= 1;
            p->line = b->data ? b->data : "";
            p->len = b->len;
            break;
        }
        }
        if (rc < 0)
            return rc;
    }
    return 1;
}

int cairn_logql_pipeline_process(struct cairn_logql_pipeline *p, int64_t ts_ns,
                                 const struct cairn_labels *stream, const char *line, size_t len)
{
    p->line = line ? line : "";
    p->input = p->line;
    p->len = len;
    p->ts = ts_ns;
    if (!p->prefiltered && !cairn_logql_pipeline_prefilter(p, line, len))
        return 0;
    /* structured metadata may hold the labels a pushed-down filter wants: no pushdown */
    if (p->pd && !p->sm_len && !cairn__pushdown_keep(p->pd, stream, line, len))
        return 0;
    if (cairn__lb_reset(&p->lb, stream))
        return CAIRN_ENOMEM;
    if (p->sm_len) { /* after the stream's labels, before any parser (Loki 3) */
        struct cairn_smeta_iter it;
        const char *n, *v;
        size_t nl, vl;
        cairn_smeta_iter_init(&it, p->sm, p->sm_len);
        while (cairn_smeta_next(&it, &n, &nl, &v, &vl) == 1)
            if (cairn__lb_set(&p->lb, n, nl, v, vl, LB_PARSED | LB_SMETA))
                return CAIRN_ENOMEM;
    }
    return run(p, p->v, p->n, 1);
}

void cairn_logql_pipeline_set_sm(struct cairn_logql_pipeline *p, const char *sm, size_t len)
{
    p->sm = sm;
    p->sm_len = sm ? len : 0;
}

int cairn_logql_pipeline_has_sm(const struct cairn_logql_pipeline *p)
{
    return p->sm_len != 0;
}

int cairn_logql_pipeline_categorized(struct cairn_logql_pipeline *p, struct cairn_buf *out)
{
    return cairn__lb_categorized(&p->lb, out);
}

int cairn_logql_pipeline_prefilter(struct cairn_logql_pipeline *p, const char *line, size_t len)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->v[i].hoisted && !cairn__line_filter_match(&p->v[i].lf, line ? line : "", len))
            return 0;
    }
    return 1;
}

int cairn_logql_pipeline_prefilter_stream(struct cairn_logql_pipeline *p,
                                          const struct cairn_labels *stream, const char *line,
                                          size_t len)
{
    return cairn_logql_pipeline_prefilter(p, line, len) &&
           (!p->pd || cairn__pushdown_keep(p->pd, stream, line, len));
}

int cairn_logql_pipeline_has_prefilter(const struct cairn_logql_pipeline *p)
{
    if (p->pd)
        return 1;
    for (size_t i = 0; i < p->n; i++) {
        if (p->v[i].hoisted)
            return 1;
    }
    return 0;
}

size_t cairn_logql_pipeline_needles(const struct cairn_logql_pipeline *p, const char **lits,
                                    size_t *lens, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++) {
        const struct line_filter *f = &p->v[i].lf;
        /* one case-sensitive literal (`|= "x"`, or `|~ "x"` without metacharacters,
         * which linefilter.c turns into the same): every kept line holds it */
        if (!p->v[i].hoisted || f->negate || f->n != 1 || f->alts[0].kind != LFA_LIT)
            continue;
        if (n < cap) {
            lits[n] = f->alts[0].lit;
            lens[n] = f->alts[0].len;
        }
        n++;
    }
    return n;
}

void cairn_logql_pipeline_set_prefiltered(struct cairn_logql_pipeline *p, int on)
{
    p->prefiltered = on;
}

const char *cairn_logql_pipeline_line(const struct cairn_logql_pipeline *p, size_t *len)
{
    *len = p->len;
    return p->line;
}

int cairn_logql_pipeline_labels(struct cairn_logql_pipeline *p, struct cairn_labels *out)
{
    return cairn__lb_labels(&p->lb, out);
}

const char *cairn_logql_pipeline_label(struct cairn_logql_pipeline *p, const char *name, size_t len,
                                       size_t *vlen)
{
    int found;
    const char *v = cairn__lb_get(&p->lb, name, len, vlen, &found);
    return found ? v : NULL;
}

uint64_t cairn_logql_pipeline_labels_hash(struct cairn_logql_pipeline *p)
{
    return cairn__lb_hash(&p->lb);
}

int cairn_logql_pipeline_labels_fixed(const struct cairn_logql_pipeline *p)
{
    return p->labels_fixed;
}

int cairn_logql_pipeline_unwrap(struct cairn_logql_pipeline *p, double *out)
{
    const struct cairn_lq_expr *u = p->unwrap;
    if (!u)
        return 0;
    size_t vl;
    int found;
    const char *v = cairn__lb_get(&p->lb, u->unwrap_label.p, u->unwrap_label.len, &vl, &found);
    if (vl == 0)
        return 0; /* no label, or an empty one: no sample and no error (Loki 2.7, loki#6766) */
    double x = NAN;
    int bad = 0, what = 'f';
    switch (u->unwrap_conv) {
    case CAIRN_LQ_CONV_NONE:
        bad = go_parse_float(v, vl, &x);
        break;
    case CAIRN_LQ_CONV_BYTES:
        bad = cairn_parse_bytes(v, vl, &x) != 0;
        what = 'b';
        break;
    case CAIRN_LQ_CONV_DURATION:
    case CAIRN_LQ_CONV_DURATION_SECONDS: {
        int64_t ns;
        bad = cairn_parse_duration(v, vl, &ns) != 0;
        x = (double)ns / 1e9;
        what = 'd';
        break;
    }
    }
    if (bad) {
        if (set_go_error(p, "SampleExtractionErr", what, v, vl))
            return CAIRN_ENOMEM;
    }
    int rc = run(p, p->postv, p->npost, 0);
    if (rc <= 0)
        return rc;
    if (bad)
        return 2;
    *out = x;
    return 1;
}
