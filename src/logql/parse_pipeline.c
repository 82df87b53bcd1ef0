/* parse_pipeline.c -- the selector `{a="b"}` and the log pipeline after it: line
 * filters, parsers, label filters, formats, drop/keep, decolorize and unwrap. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cairn/parse_pattern.h"
#include "cairn/parse_template.h"
#include "logql/logql_int.h"

#define ALLOC(ps, T) ((T *)cairn__lq_alloc(&(ps)->q->arena, sizeof(T)))

static int oom(struct lq_parser *ps)
{
    ps->failed = 1;
    cairn_err_set(ps->err, CAIRN_ENOMEM, "out of memory");
    return -1;
}

/* Grow an arena array by one element (copying; arrays here are tiny). */
/* Room for element n of an arena array that only ever grows through here: capacity
 * doubles at each power of two, so n appends cost O(n) arena bytes, not O(n^2) (a
 * query of 50,000 `or`ed line filters took 8 GB before). */
static void *grow(struct lq_parser *ps, void *arr, size_t n, size_t elt)
{
    if (n & (n - 1)) /* not a power of two (nor 0): the last doubling left room */
        return arr;
    void *nv = cairn__lq_alloc(&ps->q->arena, (n ? 2 * n : 1) * elt);
    if (nv && n)
        memcpy(nv, arr, n * elt);
    return nv;
}

static int expect(struct lq_parser *ps, enum lq_tok t, const char *expecting)
{
    if (cairn__lq_accept(ps, t))
        return 0;
    return cairn__lq_syntax(ps, expecting);
}

static struct cairn_lq_str tok_str(const struct lq_token *t)
{
    return (struct cairn_lq_str){t->s, t->slen};
}

static int match_op(enum lq_tok t, enum cairn_match_type *op)
{
    switch (t) {
    case LT_EQ: *op = CAIRN_MATCH_EQ; return 1;
    case LT_NEQ: *op = CAIRN_MATCH_NEQ; return 1;
    case LT_RE: *op = CAIRN_MATCH_RE; return 1;
    case LT_NRE: *op = CAIRN_MATCH_NRE; return 1;
    default: return 0;
    }
}

static int compile_matcher(struct lq_parser *ps, struct cairn_matcher *m,
                           enum cairn_match_type op, const struct lq_token *name,
                           const struct lq_token *val)
{
    struct cairn_err e;
    cairn_err_clear(&e);
    if (cairn_matcher_init(m, op, name->s, name->slen, val->s, val->slen, &e)) {
        if (e.code == CAIRN_ENOMEM)
            return oom(ps);
        return cairn__lq_error_at(ps, val, "%s", e.msg);
    }
    if (cairn__lq_add_matcher(ps, m)) {
        cairn_matcher_deinit(m);
        return oom(ps);
    }
    return 0;
}

int cairn__lq_parse_selector(struct lq_parser *ps, struct cairn_lq_expr *e)
{
    if (expect(ps, LT_LBRACE, "{"))
        return -1;
    for (;;) {
        struct lq_token *name = cairn__lq_peek(ps, 0);
        if (name->t != LT_IDENT)
            return cairn__lq_syntax(ps, "IDENTIFIER");
        cairn__lq_next(ps);
        enum cairn_match_type op;
        if (!match_op(cairn__lq_peek(ps, 0)->t, &op))
            return cairn__lq_syntax(ps, "= or != or =~ or !~");
        cairn__lq_next(ps);
        struct lq_token *val = cairn__lq_peek(ps, 0);
        if (val->t != LT_STRING)
            return cairn__lq_syntax(ps, "STRING");
        cairn__lq_next(ps);
        struct cairn_matcher *nm = grow(ps, e->matchers, e->nmatchers, sizeof(*nm));
        if (!nm)
            return oom(ps);
        e->matchers = nm;
        if (compile_matcher(ps, &e->matchers[e->nmatchers], op, name, val))
            return -1;
        e->nmatchers++;
        if (cairn__lq_accept(ps, LT_COMMA))
            continue;
        if (cairn__lq_accept(ps, LT_RBRACE))
            return 0;
        return cairn__lq_syntax(ps, "} or ,");
    }
}

/* ---- label filters ---- */

static struct cairn_lq_label_filter *lf_or(struct lq_parser *ps);

static int cmp_op(enum lq_tok t, enum cairn_lq_cmp *c)
{
    switch (t) {
    case LT_EQ: case LT_EQEQ: *c = CAIRN_LQ_CMP_EQ; return 1;
    case LT_NEQ: *c = CAIRN_LQ_CMP_NEQ; return 1;
    case LT_GT: *c = CAIRN_LQ_CMP_GT; return 1;
    case LT_GTE: *c = CAIRN_LQ_CMP_GTE; return 1;
    case LT_LT: *c = CAIRN_LQ_CMP_LT; return 1;
    case LT_LTE: *c = CAIRN_LQ_CMP_LTE; return 1;
    default: return 0;
    }
}

static struct cairn_lq_label_filter *lf_prim(struct lq_parser *ps)
{
    if (cairn__lq_accept(ps, LT_LPAREN)) {
        if (cairn__lq_enter(ps))
            return NULL;
        struct cairn_lq_label_filter *f = lf_or(ps);
        ps->depth--;
        if (!f || expect(ps, LT_RPAREN, ")"))
            return NULL;
        return f;
    }
    struct lq_token *name = cairn__lq_peek(ps, 0);
    if (name->t != LT_IDENT) {
        cairn__lq_syntax(ps, NULL);
        return NULL;
    }
    cairn__lq_next(ps);
    struct lq_token *opt = cairn__lq_peek(ps, 0);
    enum cairn_lq_cmp c = CAIRN_LQ_CMP_EQ;
    int is_re = opt->t == LT_RE || opt->t == LT_NRE;
    if (!is_re && !cmp_op(opt->t, &c)) {
        cairn__lq_syntax(ps, NULL);
        return NULL;
    }
    cairn__lq_next(ps);
    struct cairn_lq_label_filter *f = ALLOC(ps, struct cairn_lq_label_filter);
    if (!f) {
        oom(ps);
        return NULL;
    }
    f->name = tok_str(name);
    f->cmp = c;
    struct lq_token *v = cairn__lq_peek(ps, 0);
    int neg = 0;
    if (!is_re && v->t == LT_SUB && cairn__lq_peek(ps, 1)->t != LT_STRING) {
        neg = 1;
        cairn__lq_next(ps);
        v = cairn__lq_peek(ps, 0);
    }
    if (v->t == LT_STRING) {
        if (!is_re && c != CAIRN_LQ_CMP_EQ && c != CAIRN_LQ_CMP_NEQ) {
            cairn__lq_syntax(ps, NULL);
            return NULL;
        }
        cairn__lq_next(ps);
        enum cairn_match_type mt = opt->t == LT_RE ? CAIRN_MATCH_RE
                                   : opt->t == LT_NRE ? CAIRN_MATCH_NRE
                                   : c == CAIRN_LQ_CMP_EQ ? CAIRN_MATCH_EQ : CAIRN_MATCH_NEQ;
        f->kind = CAIRN_LQ_LF_STRING;
        if (compile_matcher(ps, &f->m, mt, name, v))
            return NULL;
        return f;
    }
    if (is_re) {
        cairn__lq_syntax(ps, "STRING");
        return NULL;
    }
    if (v->t == LT_IDENT && cairn__lq_ident_is(v, "ip") && cairn__lq_peek(ps, 1)->t == LT_LPAREN) {
        if (c != CAIRN_LQ_CMP_EQ && c != CAIRN_LQ_CMP_NEQ) {
            cairn__lq_syntax(ps, NULL);
            return NULL;
        }
        cairn__lq_next(ps);
        cairn__lq_next(ps);
        struct lq_token *s = cairn__lq_peek(ps, 0);
        if (s->t != LT_STRING) {
            cairn__lq_syntax(ps, "STRING");
            return NULL;
        }
        cairn__lq_next(ps);
        if (expect(ps, LT_RPAREN, ")"))
            return NULL;
        f->kind = CAIRN_LQ_LF_IP;
        f->ip = tok_str(s);
        return f;
    }
    switch (v->t) {
    case LT_NUMBER: f->kind = CAIRN_LQ_LF_NUMBER; f->value = v->num; break;
    case LT_DURATION: f->kind = CAIRN_LQ_LF_DURATION; f->value = (double)v->dur / 1e9; break;
    case LT_BYTES: f->kind = CAIRN_LQ_LF_BYTES; f->value = v->num; break;
    default:
        cairn__lq_syntax(ps, NULL);
        return NULL;
    }
    if (neg)
        f->value = -f->value;
    cairn__lq_next(ps);
    return f;
}

static struct cairn_lq_label_filter *lf_bin(struct lq_parser *ps, enum cairn_lq_lf_kind k,
                                            struct cairn_lq_label_filter *l,
                                            struct cairn_lq_label_filter *r)
{
    if (++ps->binary > LQ_MAX_BINARY) {
        cairn__lq_error_at(ps, NULL, "too many label filter operators (more than %d)", LQ_MAX_BINARY);
        return NULL;
    }
    struct cairn_lq_label_filter *f = ALLOC(ps, struct cairn_lq_label_filter);
    if (!f) {
        oom(ps);
        return NULL;
    }
    f->kind = k;
    f->left = l;
    f->right = r;
    return f;
}

static struct cairn_lq_label_filter *lf_and(struct lq_parser *ps)
{
    struct cairn_lq_label_filter *l = lf_prim(ps);
    while (l) {
        struct lq_token *t = cairn__lq_peek(ps, 0);
        int more = 0;
        if (t->t == LT_COMMA || cairn__lq_ident_is(t, "and")) {
            cairn__lq_next(ps);
            more = 1;
        } else if (t->t == LT_IDENT && !cairn__lq_ident_is(t, "or") &&
                   !cairn__lq_ident_is(t, "offset") && !cairn__lq_ident_is(t, "by") &&
                   !cairn__lq_ident_is(t, "without")) {
            more = 1; /* juxtaposition: `| a="x" b="y"` */
        }
        if (!more)
            break;
        struct cairn_lq_label_filter *r = lf_prim(ps);
        if (!r)
            return NULL;
        l = lf_bin(ps, CAIRN_LQ_LF_AND, l, r);
    }
    return l;
}

static struct cairn_lq_label_filter *lf_or(struct lq_parser *ps)
{
    struct cairn_lq_label_filter *l = lf_and(ps);
    while (l && cairn__lq_ident_is(cairn__lq_peek(ps, 0), "or")) {
        cairn__lq_next(ps);
        struct cairn_lq_label_filter *r = lf_and(ps);
        if (!r)
            return NULL;
        l = lf_bin(ps, CAIRN_LQ_LF_OR, l, r);
    }
    return l;
}

/* ---- stages ---- */

static int add_param(struct lq_parser *ps, struct cairn_lq_stage *st, struct cairn_lq_param p)
{
    struct cairn_lq_param *np = grow(ps, st->params, st->nparams, sizeof(*np));
    if (!np)
        return oom(ps);
    np[st->nparams++] = p;
    st->params = np;
    return 0;
}

/* Validate regexes and patterns now, as Loki does at parse time. */
static int check_filter_value(struct lq_parser *ps, enum cairn_lq_filter_op fop,
                              const struct cairn_lq_filter_alt *alt, const struct lq_token *t)
{
    struct cairn_err e;
    cairn_err_clear(&e);
    if (fop == CAIRN_LQ_LINE_MATCH_RE || fop == CAIRN_LQ_LINE_NOT_RE) {
        struct cairn_regex *re = cairn_regex_compile(alt->value.p, alt->value.len, 0, &e);
        if (!re)
            return e.code == CAIRN_ENOMEM ? oom(ps) : cairn__lq_error_at(ps, t, "%s", e.msg);
        cairn_regex_destroy(re);
    } else if (fop == CAIRN_LQ_LINE_PATTERN || fop == CAIRN_LQ_LINE_NOT_PATTERN) {
        struct cairn_pattern *p = cairn_pattern_compile(alt->value.p, alt->value.len, 1, &e);
        if (!p)
            return e.code == CAIRN_ENOMEM ? oom(ps) : cairn__lq_error_at(ps, t, "%s", e.msg);
        cairn_pattern_destroy(p);
    }
    return 0;
}

static int parse_line_filter(struct lq_parser *ps, struct cairn_lq_stage *st, enum lq_tok op)
{
    static const struct { enum lq_tok t; enum cairn_lq_filter_op op; } map[] = {
        {LT_PIPE_EXACT, CAIRN_LQ_LINE_CONTAINS}, {LT_NEQ, CAIRN_LQ_LINE_NOT_CONTAINS},
        {LT_PIPE_MATCH, CAIRN_LQ_LINE_MATCH_RE}, {LT_NRE, CAIRN_LQ_LINE_NOT_RE},
        {LT_PIPE_PATTERN, CAIRN_LQ_LINE_PATTERN}, {LT_NPATTERN, CAIRN_LQ_LINE_NOT_PATTERN},
    };
    st->kind = CAIRN_LQ_STAGE_LINE_FILTER;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (map[i].t == op)
            st->fop = map[i].op;
    for (;;) {
        struct lq_token *t = cairn__lq_peek(ps, 0);
        struct cairn_lq_filter_alt alt = {0};
        if (t->t == LT_STRING) {
            cairn__lq_next(ps);
            alt.value = tok_str(t);
        } else if (cairn__lq_ident_is(t, "ip") && cairn__lq_peek(ps, 1)->t == LT_LPAREN &&
                   (st->fop == CAIRN_LQ_LINE_CONTAINS || st->fop == CAIRN_LQ_LINE_NOT_CONTAINS)) {
            cairn__lq_next(ps);
            cairn__lq_next(ps);
            struct lq_token *s = cairn__lq_peek(ps, 0);
            if (s->t != LT_STRING)
                return cairn__lq_syntax(ps, "STRING");
            cairn__lq_next(ps);
            if (expect(ps, LT_RPAREN, ")"))
                return -1;
            alt.value = tok_str(s);
            alt.is_ip = 1;
        } else {
            return cairn__lq_syntax(ps, "STRING");
        }
        if (!alt.is_ip && check_filter_value(ps, st->fop, &alt, t))
            return -1;
        struct cairn_lq_filter_alt *na = grow(ps, st->alts, st->nalts, sizeof(*na));
        if (!na)
            return oom(ps);
        na[st->nalts++] = alt;
        st->alts = na;
        struct lq_token *o = cairn__lq_peek(ps, 0), *n1 = cairn__lq_peek(ps, 1);
        if (cairn__lq_ident_is(o, "or") &&
            (n1->t == LT_STRING || cairn__lq_ident_is(n1, "ip"))) {
            cairn__lq_next(ps);
            continue;
        }
        break;
    }
    return 0;
}

static int check_template(struct lq_parser *ps, const struct lq_token *t)
{
    struct cairn_err e;
    cairn_err_clear(&e);
    struct cairn_template *tpl = cairn_template_compile(t->s, t->slen, &e);
    if (!tpl)
        return e.code == CAIRN_ENOMEM ? oom(ps) : cairn__lq_error_at(ps, t, "%s", e.msg);
    cairn_template_destroy(tpl);
    return 0;
}

static int parse_string_stage(struct lq_parser *ps, struct cairn_lq_stage *st)
{
    struct lq_token *t = cairn__lq_peek(ps, 0);
    if (t->t != LT_STRING)
        return cairn__lq_syntax(ps, "STRING");
    cairn__lq_next(ps);
    st->text = tok_str(t);
    struct cairn_err e;
    cairn_err_clear(&e);
    if (st->kind == CAIRN_LQ_STAGE_REGEXP) {
        struct cairn_regex *re = cairn_regex_compile(t->s, t->slen, 0, &e);
        if (!re)
            return e.code == CAIRN_ENOMEM ? oom(ps) : cairn__lq_error_at(ps, t, "%s", e.msg);
        int named = 0;
        for (int g = 1; g <= cairn_regex_groups(re); g++)
            named += cairn_regex_group_name(re, g) != NULL;
        cairn_regex_destroy(re);
        if (!named)
            return cairn__lq_error_at(ps, t, "at least one named capture must be supplied");
    } else if (st->kind == CAIRN_LQ_STAGE_PATTERN) {
        struct cairn_pattern *p = cairn_pattern_compile(t->s, t->slen, 0, &e);
        if (!p)
            return e.code == CAIRN_ENOMEM ? oom(ps) : cairn__lq_error_at(ps, t, "%s", e.msg);
        cairn_pattern_destroy(p);
    } else if (st->kind == CAIRN_LQ_STAGE_LINE_FORMAT) {
        return check_template(ps, t);
    }
    return 0;
}

/* json a="x.y", b, ... / logfmt --strict a="k", b */
static int parse_params(struct lq_parser *ps, struct cairn_lq_stage *st)
{
    if (cairn__lq_peek(ps, 0)->t != LT_IDENT || cairn__lq_ident_is(cairn__lq_peek(ps, 0), "or") ||
        cairn__lq_ident_is(cairn__lq_peek(ps, 0), "offset"))
        return 0;
    for (;;) {
        struct lq_token *n = cairn__lq_peek(ps, 0);
        if (n->t != LT_IDENT)
            return cairn__lq_syntax(ps, "IDENTIFIER");
        cairn__lq_next(ps);
        struct cairn_lq_param p = {.name = tok_str(n), .value = tok_str(n)};
        if (cairn__lq_accept(ps, LT_EQ)) {
            struct lq_token *v = cairn__lq_peek(ps, 0);
            if (v->t != LT_STRING)
                return cairn__lq_syntax(ps, "STRING");
            cairn__lq_next(ps);
            p.value = tok_str(v);
            p.has_value = 1;
        }
        if (add_param(ps, st, p))
            return -1;
        if (!cairn__lq_accept(ps, LT_COMMA))
            return 0;
    }
}

static int parse_label_format(struct lq_parser *ps, struct cairn_lq_stage *st)
{
    for (;;) {
        struct lq_token *n = cairn__lq_peek(ps, 0);
        if (n->t != LT_IDENT)
            return cairn__lq_syntax(ps, "IDENTIFIER");
        cairn__lq_next(ps);
        if (expect(ps, LT_EQ, "="))
            return -1;
        struct lq_token *v = cairn__lq_peek(ps, 0);
        struct cairn_lq_param p = {.name = tok_str(n), .value = tok_str(v)};
        if (v->t == LT_STRING) {
            p.has_value = 1; /* a template */
            if (check_template(ps, v))
                return -1;
        } else if (v->t != LT_IDENT) {
            return cairn__lq_syntax(ps, "STRING or IDENTIFIER");
        }
        cairn__lq_next(ps);
        for (size_t i = 0; i < st->nparams; i++)
            if (st->params[i].name.len == p.name.len &&
                memcmp(st->params[i].name.p, p.name.p, p.name.len) == 0)
                return cairn__lq_error_at(ps, n, "multiple label name '%s' not allowed in a single format operation",
                                          p.name.p);
        if (st->nparams >= 64)
            return cairn__lq_error_at(ps, n, "too many labels in one label_format (at most 64)");
        if (add_param(ps, st, p))
            return -1;
        if (!cairn__lq_accept(ps, LT_COMMA))
            return 0;
    }
}

static int parse_drop_keep(struct lq_parser *ps, struct cairn_lq_stage *st)
{
    for (;;) {
        struct lq_token *n = cairn__lq_peek(ps, 0);
        if (n->t != LT_IDENT)
            return cairn__lq_syntax(ps, "IDENTIFIER");
        cairn__lq_next(ps);
        struct cairn_lq_param p = {.name = tok_str(n)};
        enum cairn_match_type op;
        if (match_op(cairn__lq_peek(ps, 0)->t, &op)) {
            cairn__lq_next(ps);
            struct lq_token *v = cairn__lq_peek(ps, 0);
            if (v->t != LT_STRING)
                return cairn__lq_syntax(ps, "STRING");
            cairn__lq_next(ps);
            p.value = tok_str(v);
            p.has_value = 1;
            p.op = op;
            if (op == CAIRN_MATCH_RE || op == CAIRN_MATCH_NRE) {
                struct cairn_err e;
                struct cairn_regex *re = cairn_regex_compile(v->s, v->slen, CAIRN_RE_ANCHORED, &e);
                if (!re)
                    return cairn__lq_error_at(ps, v, "%s", e.msg);
                cairn_regex_destroy(re);
            }
        }
        if (add_param(ps, st, p))
            return -1;
        if (!cairn__lq_accept(ps, LT_COMMA))
            return 0;
    }
}

/* `distinct a, b`: one or more label names. */
static int parse_label_names(struct lq_parser *ps, struct cairn_lq_stage *st)
{
    for (;;) {
        struct lq_token *n = cairn__lq_peek(ps, 0);
        if (n->t != LT_IDENT)
            return cairn__lq_syntax(ps, "IDENTIFIER");
        cairn__lq_next(ps);
        if (add_param(ps, st, (struct cairn_lq_param){.name = tok_str(n)}))
            return -1;
        if (!cairn__lq_accept(ps, LT_COMMA))
            return 0;
    }
}

static int parse_unwrap(struct lq_parser *ps, struct cairn_lq_expr *e)
{
    struct lq_token *t = cairn__lq_peek(ps, 0);
    e->has_unwrap = 1;
    e->unwrap_conv = CAIRN_LQ_CONV_NONE;
    if (t->t == LT_IDENT && cairn__lq_peek(ps, 1)->t == LT_LPAREN) {
        if (cairn__lq_ident_is(t, "bytes"))
            e->unwrap_conv = CAIRN_LQ_CONV_BYTES;
        else if (cairn__lq_ident_is(t, "duration"))
            e->unwrap_conv = CAIRN_LQ_CONV_DURATION;
        else if (cairn__lq_ident_is(t, "duration_seconds"))
            e->unwrap_conv = CAIRN_LQ_CONV_DURATION_SECONDS;
        else
            return cairn__lq_syntax(ps, NULL);
        cairn__lq_next(ps);
        cairn__lq_next(ps);
        t = cairn__lq_peek(ps, 0);
        if (t->t != LT_IDENT)
            return cairn__lq_syntax(ps, "IDENTIFIER");
        cairn__lq_next(ps);
        e->unwrap_label = tok_str(t);
        return expect(ps, LT_RPAREN, ")");
    }
    if (t->t != LT_IDENT)
        return cairn__lq_syntax(ps, "IDENTIFIER");
    cairn__lq_next(ps);
    e->unwrap_label = tok_str(t);
    return 0;
}

int cairn__lq_parse_pipeline(struct lq_parser *ps, struct cairn_lq_expr *e, int allow_unwrap)
{
    struct cairn_lq_stage **tail = &e->stages;
    while (*tail)
        tail = &(*tail)->next;
    for (;;) {
        struct lq_token *t = cairn__lq_peek(ps, 0);
        enum lq_tok op = t->t;
        struct cairn_lq_stage *st;
        if (op == LT_PIPE_EXACT || op == LT_NEQ || op == LT_PIPE_MATCH || op == LT_NRE ||
            op == LT_PIPE_PATTERN || op == LT_NPATTERN) {
            if (e->has_unwrap)
                return cairn__lq_syntax(ps, NULL);
            cairn__lq_next(ps);
            if (!(st = ALLOC(ps, struct cairn_lq_stage)))
                return oom(ps);
            if (parse_line_filter(ps, st, op))
                return -1;
        } else if (op == LT_PIPE) {
            cairn__lq_next(ps);
            if (!(st = ALLOC(ps, struct cairn_lq_stage)))
                return oom(ps);
            struct lq_token *k = cairn__lq_peek(ps, 0);
            int is_kw = k->t == LT_IDENT && cairn__lq_peek(ps, 1)->t != LT_EQ &&
                        cairn__lq_peek(ps, 1)->t != LT_EQEQ && cairn__lq_peek(ps, 1)->t != LT_NEQ &&
                        cairn__lq_peek(ps, 1)->t != LT_RE && cairn__lq_peek(ps, 1)->t != LT_NRE &&
                        cairn__lq_peek(ps, 1)->t != LT_GT && cairn__lq_peek(ps, 1)->t != LT_GTE &&
                        cairn__lq_peek(ps, 1)->t != LT_LT && cairn__lq_peek(ps, 1)->t != LT_LTE;
            if (e->has_unwrap && is_kw)
                return cairn__lq_syntax(ps, NULL);
            if (is_kw && cairn__lq_ident_is(k, "json")) {
                cairn__lq_next(ps);
                st->kind = CAIRN_LQ_STAGE_JSON;
                if (parse_params(ps, st))
                    return -1;
            } else if (is_kw && cairn__lq_ident_is(k, "logfmt")) {
                cairn__lq_next(ps);
                st->kind = CAIRN_LQ_STAGE_LOGFMT;
                while (cairn__lq_peek(ps, 0)->t == LT_FLAG) {
                    struct lq_token *f = cairn__lq_next(ps);
                    if (strcmp(f->s, "--strict") == 0)
                        st->strict = 1;
                    else if (strcmp(f->s, "--keep-empty") == 0)
                        st->keep_empty = 1;
                    else
                        return cairn__lq_error_at(ps, f, "syntax error: unexpected PARSER_FLAG %s", f->s);
                }
                if (parse_params(ps, st))
                    return -1;
            } else if (is_kw && (cairn__lq_ident_is(k, "regexp") || cairn__lq_ident_is(k, "pattern") ||
                                 cairn__lq_ident_is(k, "line_format"))) {
                cairn__lq_next(ps);
                st->kind = cairn__lq_ident_is(k, "regexp") ? CAIRN_LQ_STAGE_REGEXP
                           : cairn__lq_ident_is(k, "pattern") ? CAIRN_LQ_STAGE_PATTERN
                                                               : CAIRN_LQ_STAGE_LINE_FORMAT;
                if (parse_string_stage(ps, st))
                    return -1;
            } else if (is_kw && cairn__lq_ident_is(k, "unpack")) {
                cairn__lq_next(ps);
                st->kind = CAIRN_LQ_STAGE_UNPACK;
            } else if (is_kw && cairn__lq_ident_is(k, "decolorize")) {
                cairn__lq_next(ps);
                st->kind = CAIRN_LQ_STAGE_DECOLORIZE;
            } else if (is_kw && cairn__lq_ident_is(k, "label_format")) {
                cairn__lq_next(ps);
                st->kind = CAIRN_LQ_STAGE_LABEL_FORMAT;
                if (parse_label_format(ps, st))
                    return -1;
            } else if (is_kw && cairn__lq_ident_is(k, "distinct")) {
                cairn__lq_next(ps);
                st->kind = CAIRN_LQ_STAGE_DISTINCT;
                if (parse_label_names(ps, st))
                    return -1;
            } else if (is_kw && (cairn__lq_ident_is(k, "drop") || cairn__lq_ident_is(k, "keep"))) {
                cairn__lq_next(ps);
                st->kind = cairn__lq_ident_is(k, "drop") ? CAIRN_LQ_STAGE_DROP : CAIRN_LQ_STAGE_KEEP;
                if (parse_drop_keep(ps, st))
                    return -1;
            } else if (is_kw && cairn__lq_ident_is(k, "unwrap")) {
                if (!allow_unwrap)
                    return cairn__lq_syntax(ps, NULL);
                cairn__lq_next(ps);
                if (parse_unwrap(ps, e))
                    return -1;
                tail = &e->post_unwrap;
                continue;
            } else if (k->t == LT_IDENT || k->t == LT_LPAREN) {
                st->kind = CAIRN_LQ_STAGE_LABEL_FILTER;
                if (!(st->lf = lf_or(ps)))
                    return -1;
            } else {
                return cairn__lq_syntax(ps, NULL);
            }
        } else {
            return 0;
        }
        *tail = st;
        tail = &st->next;
    }
}
