/* parse.c -- recursive-descent LogQL parser: metric expressions with Loki's operator
 * precedence (or < and/unless < comparisons < + - < * / % < ^), range and vector
 * aggregations, label_replace, vector(), literals; and the query's lifecycle. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/labels.h"
#include "logql/logql_int.h"

int cairn__lq_parse_selector(struct lq_parser *ps, struct cairn_lq_expr *e);

#define ALLOC(ps, T) ((T *)cairn__lq_alloc(&(ps)->q->arena, sizeof(T)))

struct lq_token *cairn__lq_peek(struct lq_parser *ps, size_t ahead)
{
    size_t i = ps->i + ahead;
    return &ps->toks[i < ps->n ? i : ps->n - 1];
}

struct lq_token *cairn__lq_next(struct lq_parser *ps)
{
    struct lq_token *t = cairn__lq_peek(ps, 0);
    if (ps->i < ps->n - 1)
        ps->i++;
    return t;
}

int cairn__lq_accept(struct lq_parser *ps, enum lq_tok t)
{
    if (cairn__lq_peek(ps, 0)->t != t)
        return 0;
    cairn__lq_next(ps);
    return 1;
}

int cairn__lq_ident_is(const struct lq_token *t, const char *s)
{
    return t->t == LT_IDENT && strcmp(t->s, s) == 0;
}

int cairn__lq_error_at(struct lq_parser *ps, const struct lq_token *t, const char *fmt, ...)
{
    if (ps->failed)
        return -1;
    ps->failed = 1;
    if (!t)
        t = cairn__lq_peek(ps, 0);
    char msg[CAIRN_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cairn_err_set(ps->err, CAIRN_EINVAL, "parse error at line %d, col %d: %s", t->line, t->col,
                  msg);
    return -1;
}

static int plain_error(struct lq_parser *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int plain_error(struct lq_parser *ps, const char *fmt, ...)
{
    if (ps->failed)
        return -1;
    ps->failed = 1;
    char msg[CAIRN_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cairn_err_set(ps->err, CAIRN_EINVAL, "parse error : %s", msg);
    return -1;
}

int cairn__lq_syntax(struct lq_parser *ps, const char *expecting)
{
    struct lq_token *t = cairn__lq_peek(ps, 0);
    if (expecting)
        return cairn__lq_error_at(ps, t, "syntax error: unexpected %s, expecting %s",
                                  cairn__lq_tok_name(t->t), expecting);
    return cairn__lq_error_at(ps, t, "syntax error: unexpected %s", cairn__lq_tok_name(t->t));
}

int cairn__lq_enter(struct lq_parser *ps)
{
    if (++ps->depth > LQ_MAX_DEPTH)
        return cairn__lq_error_at(ps, NULL, "query too deeply nested (more than %d levels)",
                                  LQ_MAX_DEPTH);
    return 0;
}

int cairn__lq_add_matcher(struct lq_parser *ps, struct cairn_matcher *m)
{
    struct cairn_logql_query *q = ps->q;
    if (q->nmatchers == q->capmatchers) {
        size_t cap = q->capmatchers ? q->capmatchers * 2 : 8;
        struct cairn_matcher **nv = realloc(q->matchers, cap * sizeof(*nv));
        if (!nv)
            return CAIRN_ENOMEM;
        q->matchers = nv;
        q->capmatchers = cap;
    }
    q->matchers[q->nmatchers++] = m;
    return 0;
}

static int oom(struct lq_parser *ps)
{
    ps->failed = 1;
    cairn_err_set(ps->err, CAIRN_ENOMEM, "out of memory");
    return -1;
}

/* unwrap: 0 never, 1 required, 2 optional. group: takes `by`/`without` (Loki 2.7's
 * RangeAggregationExpr.validate: avg, stddev, stdvar, quantile, max, min, first and last
 * over_time; every other range aggregation refuses a grouping, unwrap or not). */
static const struct {
    const char *name;
    enum cairn_lq_range_op op;
    int unwrap, group;
} range_ops[] = {
    {"count_over_time", CAIRN_LQ_COUNT_OVER_TIME, 0, 0}, {"rate", CAIRN_LQ_RATE, 2, 0},
    {"rate_counter", CAIRN_LQ_RATE_COUNTER, 1, 0}, {"bytes_over_time", CAIRN_LQ_BYTES_OVER_TIME, 0, 0},
    {"bytes_rate", CAIRN_LQ_BYTES_RATE, 0, 0}, {"absent_over_time", CAIRN_LQ_ABSENT_OVER_TIME, 2, 0},
    {"sum_over_time", CAIRN_LQ_SUM_OVER_TIME, 1, 0}, {"avg_over_time", CAIRN_LQ_AVG_OVER_TIME, 1, 1},
    {"max_over_time", CAIRN_LQ_MAX_OVER_TIME, 1, 1}, {"min_over_time", CAIRN_LQ_MIN_OVER_TIME, 1, 1},
    {"first_over_time", CAIRN_LQ_FIRST_OVER_TIME, 1, 1}, {"last_over_time", CAIRN_LQ_LAST_OVER_TIME, 1, 1},
    {"stdvar_over_time", CAIRN_LQ_STDVAR_OVER_TIME, 1, 1},
    {"stddev_over_time", CAIRN_LQ_STDDEV_OVER_TIME, 1, 1},
    {"quantile_over_time", CAIRN_LQ_QUANTILE_OVER_TIME, 1, 1},
};

static const struct { const char *name; enum cairn_lq_vec_op op; } vec_ops[] = {
    {"sum", CAIRN_LQ_SUM}, {"avg", CAIRN_LQ_AVG}, {"min", CAIRN_LQ_MIN}, {"max", CAIRN_LQ_MAX},
    {"count", CAIRN_LQ_COUNT}, {"stddev", CAIRN_LQ_STDDEV}, {"stdvar", CAIRN_LQ_STDVAR},
    {"topk", CAIRN_LQ_TOPK}, {"bottomk", CAIRN_LQ_BOTTOMK}, {"sort", CAIRN_LQ_SORT},
    {"sort_desc", CAIRN_LQ_SORT_DESC},
    {"approx_topk", CAIRN_LQ_TOPK}, /* Loki 3; exact here (e->approx), instant queries only */
};

const char *cairn__lq_range_name(enum cairn_lq_range_op op)
{
    for (size_t i = 0; i < sizeof(range_ops) / sizeof(range_ops[0]); i++)
        if (range_ops[i].op == op)
            return range_ops[i].name;
    return "?";
}

const char *cairn__lq_vec_name(enum cairn_lq_vec_op op)
{
    for (size_t i = 0; i < sizeof(vec_ops) / sizeof(vec_ops[0]); i++)
        if (vec_ops[i].op == op)
            return vec_ops[i].name;
    return "?";
}

static struct cairn_lq_expr *parse_expr(struct lq_parser *ps, int min_prec);

static int parse_labels_list(struct lq_parser *ps, struct cairn_lq_str **out, size_t *n)
{
    if (!cairn__lq_accept(ps, LT_LPAREN))
        return cairn__lq_syntax(ps, "(");
    if (cairn__lq_accept(ps, LT_RPAREN))
        return 0;
    for (;;) {
        struct lq_token *t = cairn__lq_peek(ps, 0);
        if (t->t != LT_IDENT)
            return cairn__lq_syntax(ps, "IDENTIFIER");
        cairn__lq_next(ps);
        struct cairn_lq_str *nv = cairn__lq_alloc(&ps->q->arena, (*n + 1) * sizeof(*nv));
        if (!nv)
            return oom(ps);
        if (*n)
            memcpy(nv, *out, *n * sizeof(*nv));
        nv[(*n)++] = (struct cairn_lq_str){t->s, t->slen};
        *out = nv;
        if (cairn__lq_accept(ps, LT_COMMA))
            continue;
        if (cairn__lq_accept(ps, LT_RPAREN))
            return 0;
        return cairn__lq_syntax(ps, ") or ,");
    }
}

static int parse_grouping(struct lq_parser *ps, struct cairn_lq_grouping *g)
{
    struct lq_token *t = cairn__lq_peek(ps, 0);
    if (!cairn__lq_ident_is(t, "by") && !cairn__lq_ident_is(t, "without"))
        return 0;
    if (g->present)
        return cairn__lq_syntax(ps, NULL);
    cairn__lq_next(ps);
    g->present = 1;
    g->without = cairn__lq_ident_is(t, "without");
    return parse_labels_list(ps, &g->labels, &g->nlabels);
}

/* selector [range] pipeline [range] | '(' log ')' range, then [offset d] */
/* `[DURATION]` into agg->range_ns: 0, or -1 after reporting the syntax error. */
static int range_suffix(struct lq_parser *ps, struct cairn_lq_expr *agg)
{
    if (!cairn__lq_accept(ps, LT_LBRACK)) {
        cairn__lq_syntax(ps, "[");
        return -1;
    }
    struct lq_token *d = cairn__lq_peek(ps, 0);
    if (d->t != LT_DURATION) {
        cairn__lq_syntax(ps, "DURATION");
        return -1;
    }
    cairn__lq_next(ps);
    agg->range_ns = d->dur;
    if (!cairn__lq_accept(ps, LT_RBRACK)) {
        cairn__lq_syntax(ps, "]");
        return -1;
    }
    return 0;
}

static struct cairn_lq_expr *parse_log_range(struct lq_parser *ps, struct cairn_lq_expr *agg)
{
    struct cairn_lq_expr *log = ALLOC(ps, struct cairn_lq_expr);
    if (!log) {
        oom(ps);
        return NULL;
    }
    log->kind = CAIRN_LQ_LOG;
    int paren = cairn__lq_accept(ps, LT_LPAREN);
    if (cairn__lq_parse_selector(ps, log))
        return NULL;
    int have_range = 0;
    if (!paren && cairn__lq_peek(ps, 0)->t == LT_LBRACK) {
        if (range_suffix(ps, agg))
            return NULL;
        have_range = 1;
    }
    if (cairn__lq_parse_pipeline(ps, log, 1))
        return NULL;
    if (paren && !cairn__lq_accept(ps, LT_RPAREN)) {
        cairn__lq_syntax(ps, ")");
        return NULL;
    }
    if (!have_range && range_suffix(ps, agg))
        return NULL;
    if (cairn__lq_ident_is(cairn__lq_peek(ps, 0), "offset")) {
        cairn__lq_next(ps);
        struct lq_token *d = cairn__lq_peek(ps, 0);
        if (d->t != LT_DURATION) {
            cairn__lq_syntax(ps, "DURATION");
            return NULL;
        }
        cairn__lq_next(ps);
        agg->offset_ns = d->dur;
    }
    return log;
}

/* The leading `NUMBER ,` of quantile_over_time, topk and bottomk, into e->param;
 * the token (for range checks), or NULL after reporting the error. */
static struct lq_token *number_param(struct lq_parser *ps, struct cairn_lq_expr *e)
{
    struct lq_token *t = cairn__lq_peek(ps, 0);
    if (t->t != LT_NUMBER) {
        cairn__lq_syntax(ps, "NUMBER");
        return NULL;
    }
    cairn__lq_next(ps);
    if (!(e->param = ALLOC(ps, struct cairn_lq_expr))) {
        oom(ps);
        return NULL;
    }
    e->param->kind = CAIRN_LQ_NUMBER;
    e->param->number = t->num;
    if (!cairn__lq_accept(ps, LT_COMMA)) {
        cairn__lq_syntax(ps, ",");
        return NULL;
    }
    return t;
}

static struct cairn_lq_expr *parse_range_agg(struct lq_parser *ps, size_t which)
{
    struct lq_token *name = cairn__lq_next(ps);
    struct cairn_lq_expr *e = ALLOC(ps, struct cairn_lq_expr);
    if (!e) {
        oom(ps);
        return NULL;
    }
    e->kind = CAIRN_LQ_RANGE_AGG;
    e->rop = range_ops[which].op;
    if (!cairn__lq_accept(ps, LT_LPAREN)) {
        cairn__lq_syntax(ps, "(");
        return NULL;
    }
    if (e->rop == CAIRN_LQ_QUANTILE_OVER_TIME) {
        struct lq_token *t = number_param(ps, e);
        if (!t)
            return NULL;
    }
    if (!(e->log = parse_log_range(ps, e)))
        return NULL;
    if (!cairn__lq_accept(ps, LT_RPAREN)) {
        cairn__lq_syntax(ps, ")");
        return NULL;
    }
    if (parse_grouping(ps, &e->grouping))
        return NULL;
    e->has_unwrap = e->log->has_unwrap;
    e->unwrap_label = e->log->unwrap_label;
    e->unwrap_conv = e->log->unwrap_conv;
    e->post_unwrap = e->log->post_unwrap;
    /* Loki checks the grouping before the unwrap */
    if (e->grouping.present && !range_ops[which].group) {
        plain_error(ps, "grouping not allowed for %s aggregation", name->s);
        return NULL;
    }
    int need = range_ops[which].unwrap;
    if (need == 1 && !e->has_unwrap) {
        plain_error(ps, "invalid aggregation %s without unwrap", name->s);
        return NULL;
    }
    if (need == 0 && e->has_unwrap) {
        plain_error(ps, "invalid aggregation %s with unwrap", name->s);
        return NULL;
    }
    return e;
}

static int is_metric(const struct cairn_lq_expr *e)
{
    return e->kind != CAIRN_LQ_LOG;
}

static struct cairn_lq_expr *parse_vector_agg(struct lq_parser *ps, size_t which)
{
    struct lq_token *name = cairn__lq_next(ps);
    struct cairn_lq_expr *e = ALLOC(ps, struct cairn_lq_expr);
    if (!e) {
        oom(ps);
        return NULL;
    }
    e->kind = CAIRN_LQ_VECTOR_AGG;
    e->vop = vec_ops[which].op;
    e->approx = strcmp(vec_ops[which].name, "approx_topk") == 0;
    if (parse_grouping(ps, &e->grouping))
        return NULL;
    if (!cairn__lq_accept(ps, LT_LPAREN)) {
        cairn__lq_syntax(ps, "(");
        return NULL;
    }
    if (e->vop == CAIRN_LQ_TOPK || e->vop == CAIRN_LQ_BOTTOMK) {
        struct lq_token *t = number_param(ps, e);
        if (!t)
            return NULL;
        if (!(t->num >= 1 && t->num < 9.2e18) || t->num != (double)(long long)t->num) {
            plain_error(ps, "invalid parameter %s(%g,", name->s, t->num);
            return NULL;
        }
    }
    struct lq_token *at = cairn__lq_peek(ps, 0);
    if (!(e->inner = parse_expr(ps, 0)))
        return NULL;
    if (!is_metric(e->inner)) {
        cairn__lq_error_at(ps, at, "syntax error: unexpected %s, expecting metric expression",
                           cairn__lq_tok_name(at->t));
        return NULL;
    }
    if (!cairn__lq_accept(ps, LT_RPAREN)) {
        cairn__lq_syntax(ps, ")");
        return NULL;
    }
    if (parse_grouping(ps, &e->grouping))
        return NULL;
    if ((e->vop == CAIRN_LQ_SORT || e->vop == CAIRN_LQ_SORT_DESC || e->approx) &&
        e->grouping.present) {
        plain_error(ps, "grouping not allowed for %s aggregation", name->s);
        return NULL;
    }
    return e;
}

static int take_string(struct lq_parser *ps, struct cairn_lq_str *out, int comma_before)
{
    if (comma_before && !cairn__lq_accept(ps, LT_COMMA))
        return cairn__lq_syntax(ps, ",");
    struct lq_token *t = cairn__lq_peek(ps, 0);
    if (t->t != LT_STRING)
        return cairn__lq_syntax(ps, "STRING");
    cairn__lq_next(ps);
    *out = (struct cairn_lq_str){t->s, t->slen};
    return 0;
}

static struct cairn_lq_expr *parse_primary(struct lq_parser *ps)
{
    struct lq_token *t = cairn__lq_peek(ps, 0);
    struct cairn_lq_expr *e;
    if (t->t == LT_LPAREN) {
        cairn__lq_next(ps);
        if (!(e = parse_expr(ps, 0)))
            return NULL;
        if (!cairn__lq_accept(ps, LT_RPAREN)) {
            cairn__lq_syntax(ps, ")");
            return NULL;
        }
        return e;
    }
    if (t->t == LT_NUMBER || ((t->t == LT_SUB || t->t == LT_ADD) &&
                              cairn__lq_peek(ps, 1)->t == LT_NUMBER)) {
        double sign = 1;
        if (t->t != LT_NUMBER) {
            sign = t->t == LT_SUB ? -1 : 1;
            cairn__lq_next(ps);
        }
        t = cairn__lq_next(ps);
        if (!(e = ALLOC(ps, struct cairn_lq_expr))) {
            oom(ps);
            return NULL;
        }
        e->kind = CAIRN_LQ_NUMBER;
        e->number = sign * t->num;
        return e;
    }
    if (t->t == LT_LBRACE) {
        if (!(e = ALLOC(ps, struct cairn_lq_expr))) {
            oom(ps);
            return NULL;
        }
        e->kind = CAIRN_LQ_LOG;
        if (cairn__lq_parse_selector(ps, e) || cairn__lq_parse_pipeline(ps, e, 0))
            return NULL;
        return e;
    }
    if (t->t == LT_IDENT && cairn__lq_peek(ps, 1)->t != LT_EQ) {
        for (size_t i = 0; i < sizeof(range_ops) / sizeof(range_ops[0]); i++)
            if (strcmp(t->s, range_ops[i].name) == 0)
                return parse_range_agg(ps, i);
        for (size_t i = 0; i < sizeof(vec_ops) / sizeof(vec_ops[0]); i++)
            if (strcmp(t->s, vec_ops[i].name) == 0)
                return parse_vector_agg(ps, i);
        if (strcmp(t->s, "vector") == 0) {
            cairn__lq_next(ps);
            if (!cairn__lq_accept(ps, LT_LPAREN)) {
                cairn__lq_syntax(ps, "(");
                return NULL;
            }
            struct lq_token *n = cairn__lq_peek(ps, 0);
            if (n->t != LT_NUMBER) {
                cairn__lq_syntax(ps, "NUMBER");
                return NULL;
            }
            cairn__lq_next(ps);
            if (!cairn__lq_accept(ps, LT_RPAREN)) {
                cairn__lq_syntax(ps, ")");
                return NULL;
            }
            if (!(e = ALLOC(ps, struct cairn_lq_expr))) {
                oom(ps);
                return NULL;
            }
            e->kind = CAIRN_LQ_VECTOR;
            e->number = n->num;
            return e;
        }
        if (strcmp(t->s, "label_replace") == 0) {
            cairn__lq_next(ps);
            if (!cairn__lq_accept(ps, LT_LPAREN)) {
                cairn__lq_syntax(ps, "(");
                return NULL;
            }
            if (!(e = ALLOC(ps, struct cairn_lq_expr))) {
                oom(ps);
                return NULL;
            }
            e->kind = CAIRN_LQ_LABEL_REPLACE;
            if (!(e->inner = parse_expr(ps, 0)))
                return NULL;
            if (take_string(ps, &e->dst, 1) || take_string(ps, &e->replacement, 1) ||
                take_string(ps, &e->src, 1) || take_string(ps, &e->regex, 1))
                return NULL;
            if (!cairn__lq_accept(ps, LT_RPAREN)) {
                cairn__lq_syntax(ps, ")");
                return NULL;
            }
            struct cairn_err ce;
            struct cairn_regex *re = cairn_regex_compile(e->regex.p, e->regex.len,
                                                         CAIRN_RE_ANCHORED, &ce);
            if (!re) {
                plain_error(ps, "invalid regex in label_replace: %s", ce.msg);
                return NULL;
            }
            cairn_regex_destroy(re);
            if (!cairn_label_name_valid(e->dst.p, e->dst.len)) {
                plain_error(ps, "invalid destination label name in label_replace: %s", e->dst.p);
                return NULL;
            }
            return e;
        }
    }
    cairn__lq_syntax(ps, NULL);
    return NULL;
}

static int bin_prec(const struct lq_token *t, enum cairn_lq_bin_op *op)
{
    switch (t->t) {
    case LT_EQEQ: *op = CAIRN_LQ_EQ; return 3;
    case LT_NEQ: *op = CAIRN_LQ_NEQ; return 3;
    case LT_GT: *op = CAIRN_LQ_GT; return 3;
    case LT_GTE: *op = CAIRN_LQ_GTE; return 3;
    case LT_LT: *op = CAIRN_LQ_LT; return 3;
    case LT_LTE: *op = CAIRN_LQ_LTE; return 3;
    case LT_ADD: *op = CAIRN_LQ_ADD; return 4;
    case LT_SUB: *op = CAIRN_LQ_SUB; return 4;
    case LT_MUL: *op = CAIRN_LQ_MUL; return 5;
    case LT_DIV: *op = CAIRN_LQ_DIV; return 5;
    case LT_MOD: *op = CAIRN_LQ_MOD; return 5;
    case LT_POW: *op = CAIRN_LQ_POW; return 6;
    case LT_IDENT:
        if (strcmp(t->s, "or") == 0) { *op = CAIRN_LQ_OR; return 1; }
        if (strcmp(t->s, "and") == 0) { *op = CAIRN_LQ_AND; return 2; }
        if (strcmp(t->s, "unless") == 0) { *op = CAIRN_LQ_UNLESS; return 2; }
        return 0;
    default:
        return 0;
    }
}

static struct cairn_lq_expr *parse_expr_inner(struct lq_parser *ps, int min_prec);

static struct cairn_lq_expr *parse_expr(struct lq_parser *ps, int min_prec)
{
    if (cairn__lq_enter(ps))
        return NULL;
    struct cairn_lq_expr *e = parse_expr_inner(ps, min_prec);
    ps->depth--;
    return e;
}

static struct cairn_lq_expr *parse_expr_inner(struct lq_parser *ps, int min_prec)
{
    struct cairn_lq_expr *lhs = parse_primary(ps);
    while (lhs) {
        struct lq_token *t = cairn__lq_peek(ps, 0);
        enum cairn_lq_bin_op op;
        int prec = bin_prec(t, &op);
        if (!prec || prec < min_prec)
            break;
        cairn__lq_next(ps);
        if (++ps->binary > LQ_MAX_BINARY) {
            cairn__lq_error_at(ps, t, "too many binary operators (more than %d)", LQ_MAX_BINARY);
            return NULL;
        }
        struct cairn_lq_expr *e = ALLOC(ps, struct cairn_lq_expr);
        if (!e) {
            oom(ps);
            return NULL;
        }
        e->kind = CAIRN_LQ_BINOP;
        e->bop = op;
        if (cairn__lq_ident_is(cairn__lq_peek(ps, 0), "bool")) {
            if (prec != 3) {
                plain_error(ps, "bool modifier can only be used on comparison operators");
                return NULL;
            }
            cairn__lq_next(ps);
            e->return_bool = 1;
        }
        struct lq_token *m = cairn__lq_peek(ps, 0);
        if (cairn__lq_ident_is(m, "on") || cairn__lq_ident_is(m, "ignoring")) {
            cairn__lq_next(ps);
            e->on = cairn__lq_ident_is(m, "on");
            e->ignoring = !e->on;
            if (parse_labels_list(ps, &e->match_labels, &e->nmatch_labels))
                return NULL;
            struct lq_token *g = cairn__lq_peek(ps, 0);
            if (cairn__lq_ident_is(g, "group_left") || cairn__lq_ident_is(g, "group_right")) {
                cairn__lq_next(ps);
                e->group_left = cairn__lq_ident_is(g, "group_left");
                e->group_right = !e->group_left;
                if (cairn__lq_peek(ps, 0)->t == LT_LPAREN &&
                    parse_labels_list(ps, &e->include_labels, &e->ninclude_labels))
                    return NULL;
            }
        }
        /* ^ is right-associative; everything else left. */
        struct lq_token *rt = cairn__lq_peek(ps, 0);
        e->rhs = parse_expr(ps, op == CAIRN_LQ_POW ? prec : prec + 1);
        if (!e->rhs)
            return NULL;
        e->lhs = lhs;
        if (!is_metric(lhs) || !is_metric(e->rhs)) {
            cairn__lq_error_at(ps, is_metric(lhs) ? rt : t,
                               "syntax error: unexpected %s, expecting metric expression",
                               cairn__lq_tok_name(is_metric(lhs) ? rt->t : t->t));
            return NULL;
        }
        if ((op == CAIRN_LQ_OR || op == CAIRN_LQ_AND || op == CAIRN_LQ_UNLESS) &&
            (lhs->kind == CAIRN_LQ_NUMBER || e->rhs->kind == CAIRN_LQ_NUMBER)) {
            plain_error(ps, "unexpected literal for right leg of logical/set binary operation (%s): %g",
                        t->s, e->rhs->kind == CAIRN_LQ_NUMBER ? e->rhs->number : lhs->number);
            return NULL;
        }
        lhs = e;
    }
    return lhs;
}

static int selector_ok(const struct cairn_lq_expr *e)
{
    for (size_t i = 0; i < e->nmatchers; i++) {
        const struct cairn_matcher *m = &e->matchers[i];
        if ((m->type == CAIRN_MATCH_EQ || m->type == CAIRN_MATCH_RE) &&
            !cairn_matcher_matches(m, "", 0))
            return 1;
    }
    return 0;
}

static int validate(struct lq_parser *ps, const struct cairn_lq_expr *e)
{
    if (!e)
        return 0;
    if (e->kind == CAIRN_LQ_LOG && !selector_ok(e))
        return plain_error(ps, "queries require at least one regexp or equality matcher that "
                               "does not have an empty-compatible value. For instance, "
                               "app=~\".*\" does not meet this requirement, but app=~\".+\" will");
    if (e->kind == CAIRN_LQ_RANGE_AGG && e->log)
        for (const struct cairn_lq_stage *st = e->log->stages; st; st = st->next)
            if (st->kind == CAIRN_LQ_STAGE_DISTINCT)
                return plain_error(ps, "distinct is only supported in log queries, not in "
                                       "metric queries");
    if (validate(ps, e->log) || validate(ps, e->inner) || validate(ps, e->lhs) ||
        validate(ps, e->rhs))
        return -1;
    return 0;
}

int cairn_logql_parse(const char *text, size_t len, struct cairn_logql_query **out,
                      struct cairn_err *err)
{
    *out = NULL;
    struct cairn_logql_query *q = calloc(1, sizeof(*q));
    if (!q)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    struct lq_parser ps = {.q = q, .err = err};
    if (!(q->text = cairn__lq_strdup(&q->arena, text, len))) {
        cairn_logql_query_destroy(q);
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    }
    q->text_len = len;
    int rc = cairn__lq_lex(&q->arena, text, len, &ps.toks, &ps.n, err);
    if (rc) {
        cairn_logql_query_destroy(q);
        return rc == CAIRN_ENOMEM ? cairn_err_set(err, rc, "out of memory") : rc;
    }
    if (ps.n == 1) {
        cairn_err_set(err, CAIRN_EINVAL, "parse error : syntax error: unexpected $end");
        cairn_logql_query_destroy(q);
        return CAIRN_EINVAL;
    }
    q->root = parse_expr(&ps, 0);
    if (q->root && cairn__lq_peek(&ps, 0)->t != LT_EOF)
        cairn__lq_syntax(&ps, NULL);
    if (!ps.failed)
        validate(&ps, q->root);
    if (ps.failed) {
        rc = err && err->code ? err->code : CAIRN_EINVAL;
        cairn_logql_query_destroy(q);
        return rc;
    }
    *out = q;
    return 0;
}

void cairn_logql_query_destroy(struct cairn_logql_query *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->nmatchers; i++)
        cairn_matcher_deinit(q->matchers[i]);
    free(q->matchers);
    cairn__lq_arena_free(&q->arena);
    free(q);
}

const struct cairn_lq_expr *cairn_logql_root(const struct cairn_logql_query *q)
{
    return q->root;
}

const char *cairn_logql_text(const struct cairn_logql_query *q, size_t *len)
{
    *len = q->text_len;
    return q->text;
}

int cairn_logql_is_log(const struct cairn_logql_query *q)
{
    return q->root && q->root->kind == CAIRN_LQ_LOG;
}
