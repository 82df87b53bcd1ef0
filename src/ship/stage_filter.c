/* stage_filter.c -- stages that decide whether an entry goes on: match (a LogQL
 * selector with line filters, parsed by the shared LogQL parser, running nested
 * stages or dropping) and drop (by value, regex, age, length). */
#include <stdlib.h>
#include <string.h>

#include "cairn/logql.h"
#include "cairn/matcher.h"
#include "cairn/parse_pattern.h"
#include "cairn/timeutil.h"
#include "ship/ship_int.h"

/* ---- line filters of a selector ---- */

struct lfilter {
    enum cairn_lq_filter_op op;
    size_t n;
    const struct cairn_lq_filter_alt *alts; /* owned by the query */
    struct cairn_regex **re;                /* |~ !~ */
    struct cairn_pattern **pat;             /* |> !> */
};

struct match_stage {
    struct cairn_logql_query *q;
    const struct cairn_lq_expr *root;
    struct lfilter *f;
    size_t nf;
    int drop;
    struct cairn_ship_pipeline *nested; /* action keep: stages on matches */
};

static int filter_pass(const struct lfilter *f, const char *line, size_t len)
{
    int any = 0;
    for (size_t i = 0; i < f->n && !any; i++) {
        switch (f->op) {
        case CAIRN_LQ_LINE_CONTAINS:
        case CAIRN_LQ_LINE_NOT_CONTAINS:
            any = f->alts[i].value.len == 0 ||
                  memmem(line, len, f->alts[i].value.p, f->alts[i].value.len) != NULL;
            break;
        case CAIRN_LQ_LINE_MATCH_RE:
        case CAIRN_LQ_LINE_NOT_RE:
            any = cairn_regex_match(f->re[i], line, len) == 1;
            break;
        case CAIRN_LQ_LINE_PATTERN:
        case CAIRN_LQ_LINE_NOT_PATTERN:
            any = cairn_pattern_test(f->pat[i], line, len) == 1;
            break;
        }
    }
    int negated = f->op == CAIRN_LQ_LINE_NOT_CONTAINS || f->op == CAIRN_LQ_LINE_NOT_RE ||
                  f->op == CAIRN_LQ_LINE_NOT_PATTERN;
    return negated ? !any : any;
}

static int selector_matches(const struct match_stage *m, const struct cairn_ship_entry *e)
{
    for (size_t i = 0; i < m->root->nmatchers; i++) {
        const struct cairn_matcher *mt = &m->root->matchers[i];
        const struct cairn_label *l = cairn_labels_get(&e->labels, mt->name, mt->name_len);
        if (!cairn_matcher_matches(mt, l ? l->value : "", l ? l->value_len : 0))
            return 0;
    }
    const char *line = e->line.data ? e->line.data : "";
    for (size_t i = 0; i < m->nf; i++)
        if (!filter_pass(&m->f[i], line, e->line.len))
            return 0;
    return 1;
}

static int match_process(struct cairn__stage *s, struct cairn_ship_entry *e)
{
    struct match_stage *m = s->st;
    if (!selector_matches(m, e))
        return CAIRN__KEEP;
    if (m->drop)
        return CAIRN__DROP;
    if (!m->nested)
        return CAIRN__KEEP;
    int rc = cairn__pipeline_apply(m->nested, e);
    /* a drop inside was counted (at the root) already: stop without counting again */
    return rc == CAIRN__DROP ? CAIRN__HELD : rc;
}

/* Entries a nested stage held (multiline) and lets go on a tick go on through the
 * rest of the outer pipeline, as if the match stage had let them through. */
struct match_fwd {
    struct cairn_ship_pipeline *pl;
    size_t from;
    const struct cairn_ship_sink *sink;
};

static int match_fwd_emit(void *ud, const struct cairn_ship_entry *e)
{
    const struct match_fwd *f = ud;
    /* e is the holding stage's own entry, handed on for the remaining stages */
    return cairn__pipeline_run_from(f->pl, f->from, (struct cairn_ship_entry *)e, f->sink);
}

static int match_tick(struct cairn__stage *s, int64_t now, int force,
                      struct cairn_ship_pipeline *pl, size_t index,
                      const struct cairn_ship_sink *sink)
{
    (void)force; /* the nested pipeline sees the same now */
    struct match_stage *m = s->st;
    struct match_fwd fwd = {pl, index + 1, sink};
    struct cairn_ship_sink fs = {match_fwd_emit, NULL, &fwd};
    return m->nested ? cairn_ship_pipeline_tick(m->nested, now, &fs) : 0;
}

static int64_t match_floor(const struct cairn__stage *s, uint64_t src)
{
    const struct match_stage *m = s->st;
    return cairn_ship_pipeline_held_floor(m->nested, src);
}

static void match_destroy(struct cairn__stage *s)
{
    struct match_stage *m = s->st;
    if (!m)
        return;
    for (size_t i = 0; i < m->nf; i++) {
        for (size_t j = 0; j < m->f[i].n; j++) {
            if (m->f[i].re)
                cairn_regex_destroy(m->f[i].re[j]);
            if (m->f[i].pat)
                cairn_pattern_destroy(m->f[i].pat[j]);
        }
        free(m->f[i].re);
        free(m->f[i].pat);
    }
    free(m->f);
    cairn_ship_pipeline_destroy(m->nested);
    cairn_logql_query_destroy(m->q);
    free(m);
}

static const struct cairn__stage_ops match_ops = {
    .name = "match",
    .process = match_process,
    .tick = match_tick,
    .destroy = match_destroy,
    .held_floor = match_floor,
};

int cairn__stage_match(struct cairn_ship_pipeline *pl, const char *selector, int drop,
                       const char *drop_reason, struct cairn_ship_pipeline *nested,
                       struct cairn_err *err)
{
    struct match_stage *m = calloc(1, sizeof *m);
    if (!m) {
        cairn_ship_pipeline_destroy(nested);
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    }
    struct cairn__stage tmp = {NULL, m, NULL};
    m->nested = nested;
    if (nested)
        nested->parent = pl;
    m->drop = drop;
    int rc = cairn_logql_parse(selector, strlen(selector), &m->q, err);
    if (rc) {
        match_destroy(&tmp);
        return rc;
    }
    m->root = cairn_logql_root(m->q);
    if (!cairn_logql_is_log(m->q)) {
        match_destroy(&tmp);
        return cairn_err_set(err, CAIRN_EINVAL, "match stage: selector '%s' is a metric query",
                             selector);
    }
    size_t nf = 0;
    for (const struct cairn_lq_stage *st = m->root->stages; st; st = st->next) {
        if (st->kind != CAIRN_LQ_STAGE_LINE_FILTER) {
            match_destroy(&tmp);
            return cairn_err_set(err, CAIRN_EINVAL, "match stage: selector '%s' may only have "
                                 "line filters after the stream selector", selector);
        }
        nf++;
    }
    m->f = calloc(nf ? nf : 1, sizeof *m->f);
    if (!m->f)
        goto nomem;
    for (const struct cairn_lq_stage *st = m->root->stages; st; st = st->next) {
        struct lfilter *f = &m->f[m->nf++];
        f->op = st->fop;
        f->n = st->nalts;
        f->alts = st->alts;
        for (size_t j = 0; j < st->nalts; j++)
            if (st->alts[j].is_ip) {
                match_destroy(&tmp);
                return cairn_err_set(err, CAIRN_EINVAL, "match stage: ip() line filters are not "
                                     "supported");
            }
        if (f->op == CAIRN_LQ_LINE_MATCH_RE || f->op == CAIRN_LQ_LINE_NOT_RE) {
            if (!(f->re = calloc(f->n ? f->n : 1, sizeof *f->re)))
                goto nomem;
            for (size_t j = 0; j < f->n; j++)
                if (!(f->re[j] = cairn_regex_compile(f->alts[j].value.p, f->alts[j].value.len, 0,
                                                     err))) {
                    match_destroy(&tmp);
                    return CAIRN_EINVAL;
                }
        } else if (f->op == CAIRN_LQ_LINE_PATTERN || f->op == CAIRN_LQ_LINE_NOT_PATTERN) {
            if (!(f->pat = calloc(f->n ? f->n : 1, sizeof *f->pat)))
                goto nomem;
            for (size_t j = 0; j < f->n; j++)
                if (!(f->pat[j] = cairn_pattern_compile(f->alts[j].value.p, f->alts[j].value.len,
                                                        1, err))) {
                    match_destroy(&tmp);
                    return CAIRN_EINVAL;
                }
        }
    }
    if (cairn__pipeline_add(pl, &match_ops, m, drop_reason && *drop_reason ? drop_reason
                                                                            : "match_stage"))
        goto nomem;
    return 0;
nomem:
    match_destroy(&tmp);
    return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
}

/* ---- drop ---- */

struct drop_stage {
    char **source;
    size_t n_source;
    char *sep;
    struct cairn_regex *re;
    char *value;
    int64_t older_than;
    uint64_t longer_than;
    struct cairn_buf joined;
};

static int drop_process(struct cairn__stage *s, struct cairn_ship_entry *e)
{
    struct drop_stage *d = s->st;
    if (d->older_than && e->ts >= cairn_now_ns() - d->older_than)
        return CAIRN__KEEP;
    if (d->longer_than && e->line.len <= d->longer_than)
        return CAIRN__KEEP;
    const char *subject = e->line.data ? e->line.data : "";
    size_t slen = e->line.len;
    if (d->n_source) {
        cairn_buf_reset(&d->joined);
        for (size_t i = 0; i < d->n_source; i++) {
            size_t vl;
            const char *v = cairn_ship_ex_get(e, d->source[i], strlen(d->source[i]), &vl);
            if (!v)
                return CAIRN__KEEP; /* a missing source never drops */
            if ((i && cairn_buf_append_str(&d->joined, d->sep)) ||
                cairn_buf_append(&d->joined, v, vl))
                return CAIRN_ENOMEM;
        }
        subject = d->joined.data ? d->joined.data : "";
        slen = d->joined.len;
    }
    if (d->value && (strlen(d->value) != slen || memcmp(d->value, subject, slen) != 0))
        return CAIRN__KEEP;
    if (d->re && cairn_regex_match(d->re, subject, slen) != 1)
        return CAIRN__KEEP;
    return CAIRN__DROP;
}

static void drop_destroy(struct cairn__stage *s)
{
    struct drop_stage *d = s->st;
    if (!d)
        return;
    for (size_t i = 0; i < d->n_source; i++)
        free(d->source[i]);
    free(d->source);
    free(d->sep);
    free(d->value);
    cairn_regex_destroy(d->re);
    cairn_buf_deinit(&d->joined);
    free(d);
}

static const struct cairn__stage_ops drop_ops = {
    .name = "drop",
    .process = drop_process,
    .destroy = drop_destroy,
};

int cairn__stage_drop(struct cairn_ship_pipeline *pl, const char *const *source, size_t n_source,
                      const char *separator, const char *expression, const char *value,
                      int64_t older_than_ns, uint64_t longer_than, const char *drop_reason,
                      struct cairn_err *err)
{
    if (value && expression)
        return cairn_err_set(err, CAIRN_EINVAL, "drop stage: value and expression are "
                             "mutually exclusive");
    if (value && !n_source)
        return cairn_err_set(err, CAIRN_EINVAL, "drop stage: value requires source");
    if (!n_source && !expression && !older_than_ns && !longer_than)
        return cairn_err_set(err, CAIRN_EINVAL, "drop stage: needs at least one of source, "
                             "expression, older_than or longer_than");
    struct drop_stage *d = calloc(1, sizeof *d);
    if (!d)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    struct cairn__stage tmp = {NULL, d, NULL};
    d->older_than = older_than_ns;
    d->longer_than = longer_than;
    if (n_source && !(d->source = calloc(n_source, sizeof *d->source)))
        goto nomem;
    for (; d->n_source < n_source; d->n_source++)
        if (!(d->source[d->n_source] = strdup(source[d->n_source])))
            goto nomem;
    if (!(d->sep = strdup(separator ? separator : ";")))
        goto nomem;
    if (value && !(d->value = strdup(value)))
        goto nomem;
    if (expression && !(d->re = cairn_regex_compile(expression, strlen(expression), 0, err))) {
        drop_destroy(&tmp);
        return CAIRN_EINVAL;
    }
    if (cairn__pipeline_add(pl, &drop_ops, d, drop_reason && *drop_reason ? drop_reason
                                                                          : "drop_stage"))
        goto nomem;
    return 0;
nomem:
    drop_destroy(&tmp);
    return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
}
