/* stage_filter.c -- stages that decide whether an entry goes on: match (a LogQL
 * selector with line filters, parsed and filtered by the LogQL module, running nested
 * stages or dropping) and drop (by value, regex, age, length). */
#include <stdlib.h>
#include <string.h>

#include "cairn/logql.h"
#include "cairn/logql_pipeline.h"
#include "cairn/matcher.h"
#include "cairn/timeutil.h"
#include "ship/ship_int.h"

/* ---- match ---- */

/* The selector's line filters run through the LogQL module's own pipeline (one
 * implementation of |= != |~ !~ |> !> and ip()): a selector may hold nothing but
 * line filters, so all of them are hoisted and cairn_logql_pipeline_prefilter runs
 * them on the raw line without touching the pipeline's label builder, allocating
 * nothing per line. */
struct match_stage {
    struct cairn_logql_query *q;
    const struct cairn_lq_expr *root;
    struct cairn_logql_pipeline *lp; /* NULL: the selector has no line filters */
    int drop;
    struct cairn_ship_pipeline *nested; /* action keep: stages on matches */
};

static int selector_matches(const struct match_stage *m, const struct cairn_ship_entry *e)
{
    for (size_t i = 0; i < m->root->nmatchers; i++) {
        const struct cairn_matcher *mt = &m->root->matchers[i];
        const struct cairn_label *l = cairn_labels_get(&e->labels, mt->name, mt->name_len);
        if (!cairn_matcher_matches(mt, l ? l->value : "", l ? l->value_len : 0))
            return 0;
    }
    return !m->lp || cairn_logql_pipeline_prefilter(m->lp, e->line.data ? e->line.data : "",
                                                    e->line.len) == 1;
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

static size_t match_streams(const struct cairn__stage *s)
{
    return cairn__pipeline_held_streams(((const struct match_stage *)s->st)->nested);
}

static void match_destroy(struct cairn__stage *s)
{
    struct match_stage *m = s->st;
    if (!m)
        return;
    cairn_logql_pipeline_destroy(m->lp);
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
    .held_streams = match_streams,
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
    for (const struct cairn_lq_stage *st = m->root->stages; st; st = st->next)
        if (st->kind != CAIRN_LQ_STAGE_LINE_FILTER) {
            match_destroy(&tmp);
            return cairn_err_set(err, CAIRN_EINVAL, "match stage: selector '%s' may only have "
                                 "line filters after the stream selector", selector);
        }
    if (m->root->stages) {
        struct cairn_err lerr;
        cairn_err_clear(&lerr);
        if (!(m->lp = cairn_logql_pipeline_create(m->root, &lerr))) {
            match_destroy(&tmp);
            if (lerr.code == CAIRN_ENOMEM)
                return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
            return cairn_err_set(err, lerr.code ? lerr.code : CAIRN_EINVAL,
                                 "match stage: selector '%s': %s", selector, lerr.msg);
        }
    }
    if (cairn__pipeline_add(pl, &match_ops, m, drop_reason && *drop_reason ? drop_reason
                                                                            : "match_stage")) {
        match_destroy(&tmp);
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    }
    return 0;
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
