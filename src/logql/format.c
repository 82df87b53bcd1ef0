/* format.c -- print an AST back as canonical LogQL (binary operations parenthesised),
 * for tests, logs and error reports. */
#include <string.h>

#include "cairn/labels.h"
#include "logql/logql_int.h"

const char *cairn__lq_range_name(enum cairn_lq_range_op op);
const char *cairn__lq_vec_name(enum cairn_lq_vec_op op);

int cairn__lq_format_duration(struct cairn_buf *b, int64_t ns)
{
    if (ns == 0)
        return cairn_buf_append_str(b, "0s");
    if (ns < 0) {
        if (cairn_buf_append_byte(b, '-'))
            return CAIRN_ENOMEM;
        ns = -ns;
    }
    if (ns % 1000000 != 0) {
        if (ns % 1000 == 0)
            return cairn_buf_appendf(b, "%lldus", (long long)(ns / 1000));
        return cairn_buf_appendf(b, "%lldns", (long long)ns);
    }
    int64_t ms = ns / 1000000;
    static const struct { const char *u; int64_t ms; } parts[] = {
        {"y", 31536000000LL}, {"w", 604800000LL}, {"d", 86400000LL}, {"h", 3600000LL},
        {"m", 60000LL}, {"s", 1000LL}, {"ms", 1LL},
    };
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        if (ms >= parts[i].ms) {
            if (cairn_buf_appendf(b, "%lld%s", (long long)(ms / parts[i].ms), parts[i].u))
                return CAIRN_ENOMEM;
            ms %= parts[i].ms;
        }
    }
    return 0;
}

static int quote(struct cairn_buf *b, struct cairn_lq_str s)
{
    return cairn_go_quote(b, s.p, s.len);
}

static const char *cmp_str(enum cairn_lq_cmp c)
{
    static const char *s[] = {"==", "!=", ">", ">=", "<", "<="};
    return s[c];
}

static int fmt_lf(struct cairn_buf *b, const struct cairn_lq_label_filter *f)
{
    int rc = 0;
    switch (f->kind) {
    case CAIRN_LQ_LF_AND:
    case CAIRN_LQ_LF_OR:
        rc |= cairn_buf_append_byte(b, '(');
        rc |= fmt_lf(b, f->left);
        rc |= cairn_buf_append_str(b, f->kind == CAIRN_LQ_LF_AND ? " and " : " or ");
        rc |= fmt_lf(b, f->right);
        rc |= cairn_buf_append_byte(b, ')');
        return rc;
    case CAIRN_LQ_LF_STRING:
        rc |= cairn_buf_appendf(b, "%s%s", f->m.name, cairn_matcher_op_str(f->m.type));
        return rc | cairn_go_quote(b, f->m.value, f->m.value_len);
    case CAIRN_LQ_LF_NUMBER:
        return cairn_buf_appendf(b, "%s%s%g", f->name.p, cmp_str(f->cmp), f->value);
    case CAIRN_LQ_LF_DURATION:
        rc |= cairn_buf_appendf(b, "%s%s", f->name.p, cmp_str(f->cmp));
        return rc | cairn__lq_format_duration(b, (int64_t)(f->value * 1e9));
    case CAIRN_LQ_LF_BYTES:
        return cairn_buf_appendf(b, "%s%s%.0fB", f->name.p, cmp_str(f->cmp), f->value);
    case CAIRN_LQ_LF_IP:
        rc |= cairn_buf_appendf(b, "%s%sip(", f->name.p, f->cmp == CAIRN_LQ_CMP_EQ ? "=" : "!=");
        rc |= quote(b, f->ip);
        return rc | cairn_buf_append_byte(b, ')');
    }
    return rc;
}

static int fmt_params(struct cairn_buf *b, const struct cairn_lq_stage *st, int is_fmt)
{
    int rc = 0;
    for (size_t i = 0; i < st->nparams; i++) {
        const struct cairn_lq_param *p = &st->params[i];
        rc |= cairn_buf_appendf(b, "%s%s", i ? ", " : " ", p->name.p);
        if (is_fmt && !p->has_value) {
            rc |= cairn_buf_appendf(b, "=%s", p->value.p);
        } else if (p->has_value) {
            rc |= cairn_buf_append_str(b, st->kind == CAIRN_LQ_STAGE_DROP || st->kind == CAIRN_LQ_STAGE_KEEP
                                              ? cairn_matcher_op_str(p->op) : "=");
            rc |= quote(b, p->value);
        }
    }
    return rc;
}

static int fmt_stages(struct cairn_buf *b, const struct cairn_lq_stage *st)
{
    static const char *fops[] = {"|=", "!=", "|~", "!~", "|>", "!>"};
    int rc = 0;
    for (; st; st = st->next) {
        switch (st->kind) {
        case CAIRN_LQ_STAGE_LINE_FILTER:
            rc |= cairn_buf_appendf(b, " %s ", fops[st->fop]);
            for (size_t i = 0; i < st->nalts; i++) {
                if (i)
                    rc |= cairn_buf_append_str(b, " or ");
                if (st->alts[i].is_ip)
                    rc |= cairn_buf_append_str(b, "ip(");
                rc |= quote(b, st->alts[i].value);
                if (st->alts[i].is_ip)
                    rc |= cairn_buf_append_byte(b, ')');
            }
            break;
        case CAIRN_LQ_STAGE_JSON:
            rc |= cairn_buf_append_str(b, " | json");
            rc |= fmt_params(b, st, 0);
            break;
        case CAIRN_LQ_STAGE_LOGFMT:
            rc |= cairn_buf_append_str(b, " | logfmt");
            if (st->strict)
                rc |= cairn_buf_append_str(b, " --strict");
            if (st->keep_empty)
                rc |= cairn_buf_append_str(b, " --keep-empty");
            rc |= fmt_params(b, st, 0);
            break;
        case CAIRN_LQ_STAGE_REGEXP:
        case CAIRN_LQ_STAGE_PATTERN:
        case CAIRN_LQ_STAGE_LINE_FORMAT:
            rc |= cairn_buf_append_str(b, st->kind == CAIRN_LQ_STAGE_REGEXP ? " | regexp "
                                          : st->kind == CAIRN_LQ_STAGE_PATTERN ? " | pattern "
                                                                               : " | line_format ");
            rc |= quote(b, st->text);
            break;
        case CAIRN_LQ_STAGE_UNPACK: rc |= cairn_buf_append_str(b, " | unpack"); break;
        case CAIRN_LQ_STAGE_DECOLORIZE: rc |= cairn_buf_append_str(b, " | decolorize"); break;
        case CAIRN_LQ_STAGE_DISTINCT:
            rc |= cairn_buf_append_str(b, " | distinct");
            rc |= fmt_params(b, st, 0);
            break;
        case CAIRN_LQ_STAGE_LABEL_FILTER:
            rc |= cairn_buf_append_str(b, " | ");
            rc |= fmt_lf(b, st->lf);
            break;
        case CAIRN_LQ_STAGE_LABEL_FORMAT:
            rc |= cairn_buf_append_str(b, " | label_format");
            rc |= fmt_params(b, st, 1);
            break;
        case CAIRN_LQ_STAGE_DROP:
        case CAIRN_LQ_STAGE_KEEP:
            rc |= cairn_buf_append_str(b, st->kind == CAIRN_LQ_STAGE_DROP ? " | drop" : " | keep");
            rc |= fmt_params(b, st, 0);
            break;
        }
    }
    return rc;
}

static int fmt_log(struct cairn_buf *b, const struct cairn_lq_expr *e)
{
    int rc = cairn_buf_append_byte(b, '{');
    for (size_t i = 0; i < e->nmatchers; i++) {
        const struct cairn_matcher *m = &e->matchers[i];
        rc |= cairn_buf_appendf(b, "%s%s%s", i ? ", " : "", m->name, cairn_matcher_op_str(m->type));
        rc |= cairn_go_quote(b, m->value, m->value_len);
    }
    rc |= cairn_buf_append_byte(b, '}');
    return rc | fmt_stages(b, e->stages);
}

static int fmt_labels(struct cairn_buf *b, const struct cairn_lq_str *l, size_t n)
{
    int rc = cairn_buf_append_byte(b, '(');
    for (size_t i = 0; i < n; i++)
        rc |= cairn_buf_appendf(b, "%s%s", i ? ", " : "", l[i].p);
    return rc | cairn_buf_append_byte(b, ')');
}

static int fmt_grouping(struct cairn_buf *b, const struct cairn_lq_grouping *g)
{
    if (!g->present)
        return 0;
    int rc = cairn_buf_append_str(b, g->without ? " without " : " by ");
    return rc | fmt_labels(b, g->labels, g->nlabels);
}

int cairn_logql_format(const struct cairn_lq_expr *e, struct cairn_buf *b)
{
    static const char *bops[] = {"or", "and", "unless", "==", "!=", ">", ">=", "<", "<=",
                                 "+", "-", "*", "/", "%", "^"};
    static const char *convs[] = {"", "bytes", "duration", "duration_seconds"};
    int rc = 0;
    switch (e->kind) {
    case CAIRN_LQ_LOG:
        return fmt_log(b, e);
    case CAIRN_LQ_NUMBER:
        return cairn_buf_appendf(b, "%g", e->number);
    case CAIRN_LQ_VECTOR:
        return cairn_buf_appendf(b, "vector(%g)", e->number);
    case CAIRN_LQ_RANGE_AGG:
        rc |= cairn_buf_appendf(b, "%s(", cairn__lq_range_name(e->rop));
        if (e->param)
            rc |= cairn_buf_appendf(b, "%g,", e->param->number);
        rc |= fmt_log(b, e->log);
        if (e->has_unwrap) {
            if (e->unwrap_conv)
                rc |= cairn_buf_appendf(b, " | unwrap %s(%s)", convs[e->unwrap_conv], e->unwrap_label.p);
            else
                rc |= cairn_buf_appendf(b, " | unwrap %s", e->unwrap_label.p);
            rc |= fmt_stages(b, e->post_unwrap);
        }
        rc |= cairn_buf_append_str(b, "[");
        rc |= cairn__lq_format_duration(b, e->range_ns);
        rc |= cairn_buf_append_str(b, "]");
        if (e->offset_ns) {
            rc |= cairn_buf_append_str(b, " offset ");
            rc |= cairn__lq_format_duration(b, e->offset_ns);
        }
        rc |= cairn_buf_append_byte(b, ')');
        return rc | fmt_grouping(b, &e->grouping);
    case CAIRN_LQ_VECTOR_AGG:
        rc |= cairn_buf_append_str(b, e->approx ? "approx_topk" : cairn__lq_vec_name(e->vop));
        rc |= fmt_grouping(b, &e->grouping);
        rc |= cairn_buf_append_str(b, e->grouping.present ? " (" : "(");
        if (e->param)
            rc |= cairn_buf_appendf(b, "%g,", e->param->number);
        rc |= cairn_logql_format(e->inner, b);
        return rc | cairn_buf_append_byte(b, ')');
    case CAIRN_LQ_BINOP:
        rc |= cairn_buf_append_byte(b, '(');
        rc |= cairn_logql_format(e->lhs, b);
        rc |= cairn_buf_appendf(b, " %s", bops[e->bop]);
        if (e->return_bool)
            rc |= cairn_buf_append_str(b, " bool");
        if (e->on || e->ignoring) {
            rc |= cairn_buf_append_str(b, e->on ? " on " : " ignoring ");
            rc |= fmt_labels(b, e->match_labels, e->nmatch_labels);
        }
        if (e->group_left || e->group_right) {
            rc |= cairn_buf_append_str(b, e->group_left ? " group_left " : " group_right ");
            rc |= fmt_labels(b, e->include_labels, e->ninclude_labels);
        }
        rc |= cairn_buf_append_byte(b, ' ');
        rc |= cairn_logql_format(e->rhs, b);
        return rc | cairn_buf_append_byte(b, ')');
    case CAIRN_LQ_LABEL_REPLACE:
        rc |= cairn_buf_append_str(b, "label_replace(");
        rc |= cairn_logql_format(e->inner, b);
        rc |= cairn_buf_append_str(b, ",");
        rc |= quote(b, e->dst);
        rc |= cairn_buf_append_str(b, ",");
        rc |= quote(b, e->replacement);
        rc |= cairn_buf_append_str(b, ",");
        rc |= quote(b, e->src);
        rc |= cairn_buf_append_str(b, ",");
        rc |= quote(b, e->regex);
        return rc | cairn_buf_append_byte(b, ')');
    }
    return rc;
}
