/* metric_plan.c -- a range aggregation from the top: select the streams, choose
 * stream shards or time slices for the threads, then Loki's pipeline error check and
 * absent_over_time. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/logql_pipeline.h"
#include "metric_int.h"

/* ---- time slices on threads ----
 * With fewer streams than threads, the steps are cut into contiguous slices, each
 * evaluated on its own thread over the entries its windows cover (a range's worth
 * of overlap is read twice); a step's window sees exactly the entries it would in
 * one pass, so the numbers are the single-threaded ones. */
struct slice {
    struct cairn__mctx c;
    struct cairn__query_stats st;
    struct cairn_err err;
    struct cairn_logql_query *q;
    struct cairn_logql_pipeline *pl;
    const struct cairn_lq_expr *e;
    const struct cairn_lq_grouping *push;
    const uint32_t *ids;
    size_t n, first;
    struct cairn__mval out;
    int rc;
    pthread_t th;
};

static void *slice_work(void *arg)
{
    struct slice *sl = arg;
    sl->rc = cairn__mrange_eval(&sl->c, sl->e, sl->push, sl->ids, sl->n, sl->pl, 1, &sl->out);
    return NULL;
}

static int eval_slices(struct cairn__mctx *c, const struct cairn_lq_expr *e, const struct cairn_lq_grouping *push,
                       const uint32_t *ids, size_t n, struct cairn_logql_pipeline *pl, long nt,
                       struct cairn__mval *all)
{
    struct slice *sl = calloc((size_t)nt, sizeof *sl);
    if (!sl)
        return CAIRN_ENOMEM;
    int rc = 0;
    long started = 0;
    size_t per = c->nsteps / (size_t)nt, extra = c->nsteps % (size_t)nt, at = 0;
    for (long t = 0; t < nt; t++) {
        size_t len = per + ((size_t)t < extra);
        sl[t].c = *c;
        sl[t].c.st = &sl[t].st;
        sl[t].c.err = &sl[t].err;
        sl[t].c.start = c->start + (int64_t)at * c->step;
        sl[t].c.nsteps = len;
        sl[t].first = at;
        sl[t].out.gov = c->gov;
        sl[t].e = e;
        sl[t].push = push;
        sl[t].ids = ids;
        sl[t].n = n;
        at += len;
    }
    for (long t = 1; t < nt && rc == 0; t++) {
        if (pl) { /* a pipeline of its own, from its own parse of the expression */
            struct cairn_buf text = CAIRN_BUF_INIT;
            rc = cairn_logql_format(e, &text);
            if (rc == 0)
                rc = cairn_logql_parse(text.data, text.len, &sl[t].q, &sl[t].err);
            cairn_buf_deinit(&text);
            if (rc == 0 && !(sl[t].pl = cairn_logql_pipeline_create(cairn_logql_root(sl[t].q), &sl[t].err)))
                rc = sl[t].err.code ? sl[t].err.code : CAIRN_ENOMEM;
            if (rc) {
                *c->err = sl[t].err;
                break;
            }
        }
        if (pthread_create(&sl[t].th, NULL, slice_work, &sl[t]) != 0) {
            rc = CAIRN_ENOMEM;
            break;
        }
        started = t;
    }
    if (rc == 0) {
        sl[0].pl = pl;
        slice_work(&sl[0]);
        sl[0].pl = NULL;
    }
    for (long t = 1; t <= started; t++)
        pthread_join(sl[t].th, NULL);
    struct cairn__mmap map = {0};
    for (long t = 0; t < nt; t++) {
        c->st->lines += sl[t].st.lines;
        c->st->bytes += sl[t].st.bytes;
        c->st->streams += t == 0 ? sl[t].st.streams : 0;
        if (rc == 0 && sl[t].rc) {
            rc = sl[t].rc;
            *c->err = sl[t].err;
        }
        for (size_t i = 0; i < sl[t].out.n && rc == 0; i++) {
            const struct cairn__mseries *x = &sl[t].out.s[i];
            size_t idx;
            if ((i & 255) == 255 && (rc = cairn__qgov_check(c->gov)))
                break;
            if (!cairn__mmap_get(&map, x->lab.p, x->lab.len, &idx)) {
                if ((rc = cairn__mval_add(all, c->nsteps, x->lab.p, x->lab.len, &idx)) ||
                    (rc = cairn__mmap_put(&map, all->s[idx].lab.p, x->lab.len, idx)))
                    break;
            }
            memcpy(all->s[idx].v + sl[t].first, x->v, sl[t].c.nsteps * sizeof *x->v);
            memcpy(all->s[idx].ok + sl[t].first, x->ok, sl[t].c.nsteps);
        }
        cairn__mval_deinit(&sl[t].out);
        cairn_logql_pipeline_destroy(sl[t].pl);
        cairn_logql_query_destroy(sl[t].q);
    }
    cairn__mmap_deinit(&map);
    free(sl);
    if (rc == 0 && (rc = cairn__qgov_check(c->gov)) == 0)
        cairn__mval_sort(all);
    return rc;
}

/* Does the outer grouping need each entry's own labels although the expression has no
 * stage? With `without`, or a `by` naming a label no stream has (a structured metadata
 * name: `sum by (trace_id) (count_over_time({app="a"}[1m]))`), yes. */
static int grouping_needs_entries(struct cairn__mctx *c, const struct cairn_lq_grouping *g,
                                  int64_t qs, int64_t qe)
{
    if (!g || !g->present || (!g->without && !g->nlabels))
        return 0;
    if (g->without)
        return 1;
    struct cairn_strlist names = {0};
    int need = 0;
    if (cairn_store_label_names(c->store, c->tenant, qs, qe, &names))
        need = 1; /* out of memory: the exact way */
    for (size_t i = 0; i < g->nlabels && !need; i++) {
        int found = 0;
        for (size_t k = 0; k < names.n && !found; k++)
            found = strlen(names.v[k]) == g->labels[i].len &&
                    memcmp(names.v[k], g->labels[i].p, g->labels[i].len) == 0;
        need = !found;
    }
    cairn_strlist_deinit(&names);
    return need;
}

int cairn__meval_range(struct cairn__mctx *c, const struct cairn_lq_expr *e,
                       const struct cairn_lq_grouping *push, struct cairn__mval *out)
{
    struct cairn_logql_pipeline *pl = NULL;
    roaring_bitmap_t *sids = roaring_bitmap_create();
    uint32_t *ids = NULL;
    struct cairn__mval all = CAIRN__MVAL_INIT(c);
    struct cairn__mlb lb = {0};
    struct cairn_buf tmp = CAIRN_BUF_INIT;
    int rc = sids ? 0 : CAIRN_ENOMEM;
    int64_t last = c->start + (int64_t)(c->nsteps - 1) * c->step;
    int64_t qs = c->start - e->offset_ns - e->range_ns + 1, qe = last - e->offset_ns + 1;
    if (rc == 0 && (e->log->stages || e->has_unwrap || grouping_needs_entries(c, push, qs, qe))) {
        if (!(pl = cairn_logql_pipeline_create(e, c->err))) {
            rc = c->err && c->err->code ? c->err->code : CAIRN_ENOMEM;
            goto done;
        }
    }
    if (rc || (rc = cairn__query_select(c->store, c->tenant, e->log, qs, qe, sids, c->err)))
        goto done;
    uint64_t card = roaring_bitmap_get_cardinality(sids);
    if (!(ids = malloc((card ? card : 1) * sizeof *ids))) {
        rc = CAIRN_ENOMEM;
        goto done;
    }
    roaring_bitmap_to_uint32_array(sids, ids);
    long nt = c->p->threads > 0 ? c->p->threads : sysconf(_SC_NPROCESSORS_ONLN);
    if (nt < 1)
        nt = 1;
    if (nt > 64)
        nt = 64;
    /* few streams, many steps: slice time; otherwise shard streams */
    if ((size_t)card < (size_t)nt && c->nsteps >= 2 * (size_t)nt && card > 0)
        rc = eval_slices(c, e, push, ids, (size_t)card, pl, nt, &all);
    else
        rc = cairn__mrange_eval(c, e, push, ids, (size_t)card, pl, nt, &all);
    if (rc || (rc = cairn__mpipeline_error(c, &all)))
        goto done;
    if (e->rop == CAIRN_LQ_ABSENT_OVER_TIME) {
        size_t idx;
        if ((rc = cairn__mabsent_labels(e->log, &lb, &tmp)) ||
            (rc = cairn__mval_add(out, c->nsteps, tmp.data ? tmp.data : "", (uint32_t)tmp.len, &idx)))
            goto done;
        for (size_t i = 0; i < c->nsteps; i++) {
            int any = 0;
            for (size_t j = 0; j < all.n && !any; j++)
                any = all.s[j].ok[i];
            out->s[idx].ok[i] = !any;
            out->s[idx].v[i] = 1;
        }
        cairn__mval_compact(out, c->nsteps);
    } else {
        *out = all;
        memset(&all, 0, sizeof all);
    }
done:
    free(ids);
    cairn__mval_deinit(&all);
    cairn__mlb_deinit(&lb);
    cairn_buf_deinit(&tmp);
    cairn_bitmap_free(sids);
    cairn_logql_pipeline_destroy(pl);
    return rc;
}
