/* metric_shard.c -- range aggregations on several threads: stream shards scanned in
 * parallel, each into its own accumulators, then merged exactly. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/logql_pipeline.h"
#include "metric_range_int.h"

/* ---- stream shards on threads ----
 * Worker t scans streams ids[t], ids[t + n], ... into its own accumulators (with its
 * own parse of the expression for its pipeline: compiled regexes are per thread);
 * the shards are then merged into worker 0's: difference arrays add exactly, and
 * samples are ordered by (ts, stream, position) whatever the shard, so any number of
 * threads gives the single-threaded numbers bit for bit. */
struct worker {
    struct rstate r;
    struct cairn__mctx c;
    struct cairn__query_stats st;
    struct cairn_err err;
    struct cairn_logql_query *q;
    struct cairn_logql_pipeline *pl;
    roaring_bitmap_t *mine; /* this shard's streams */
    int64_t qs, qe;
    int rc;
    pthread_t th;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    w->rc = cairn__mr_scan_blocks(&w->r, w->mine, w->qs, w->qe, w->pl);
    return NULL;
}

static int worker_init(struct worker *w, const struct rstate *r0, const struct cairn_lq_expr *e, int need_pl)
{
    w->c = *r0->c;
    w->c.st = &w->st;
    w->c.err = &w->err;
    w->r = (struct rstate){.c = &w->c, .e = r0->e, .g = r0->g, .additive = r0->additive, .bytes = r0->bytes,
                           .range = r0->range, .off = r0->off, .by = r0->by, .nby = r0->nby,
                           .by_fast = r0->by_fast, .count_out = r0->count_out};
    cairn_labels_init(&w->r.ls);
    if (!need_pl)
        return 0;
    struct cairn_buf text = CAIRN_BUF_INIT;
    int rc = cairn_logql_format(e, &text);
    if (rc == 0)
        rc = cairn_logql_parse(text.data, text.len, &w->q, &w->err);
    cairn_buf_deinit(&text);
    if (rc)
        return rc;
    const struct cairn_lq_expr *copy = cairn_logql_root(w->q);
    if (copy->kind != CAIRN_LQ_RANGE_AGG)
        return CAIRN_EINVAL;
    if (!(w->pl = cairn_logql_pipeline_create(copy, &w->err)))
        return w->err.code ? w->err.code : CAIRN_ENOMEM;
    return 0;
}

static void worker_deinit(struct worker *w)
{
    w->r.by = NULL; /* borrowed from worker 0 */
    cairn__mr_deinit(&w->r);
    cairn_logql_pipeline_destroy(w->pl);
    cairn_logql_query_destroy(w->q);
    cairn_bitmap_free(w->mine);
}

/* Fold shard w's accumulators into r. */
static int merge(struct rstate *r, struct rstate *w)
{
    for (size_t i = 0; i < w->n; i++) {
        struct racc *x = &w->a[i];
        size_t idx;
        int rc = (i & 255) == 255 ? cairn__qgov_check(r->c->gov) : 0;
        if (rc == 0)
            rc = cairn__mr_racc_for(r, x->lab, x->len, &idx);
        if (rc)
            return rc;
        struct racc *y = &r->a[idx];
        if (r->additive) {
            for (size_t k = 0; k <= r->c->nsteps; k++) {
                y->cnt[k] += x->cnt[k];
                if (y->byt)
                    y->byt[k] += x->byt[k];
            }
            continue;
        }
        if (!x->ns)
            continue;
        if (y->ns + x->ns > y->cap) {
            if ((rc = cairn__mr_charge(r, (y->ns + x->ns - y->cap) * sizeof *y->smp)))
                return rc;
            struct cairn__msample *s = realloc(y->smp, (y->ns + x->ns) * sizeof *s);
            if (!s)
                return CAIRN_ENOMEM;
            y->smp = s;
            y->cap = y->ns + x->ns;
        }
        memcpy(y->smp + y->ns, x->smp, x->ns * sizeof *x->smp);
        if (y->ns)
            y->unsorted = 1;
        y->unsorted |= x->unsorted;
        y->ns += x->ns;
    }
    return 0;
}

/* Shard k of nt: streams ids[k], ids[k + nt], ... */
static roaring_bitmap_t *shard(const uint32_t *ids, size_t n, size_t k, size_t nt)
{
    roaring_bitmap_t *b = roaring_bitmap_create();
    for (size_t i = k; b && i < n; i += nt)
        roaring_bitmap_add(b, ids[i]);
    return b;
}

int cairn__mr_scan_all(struct rstate *r, const struct cairn_lq_expr *e, const uint32_t *ids, size_t n,
                    int64_t qs, int64_t qe, struct cairn_logql_pipeline *pl, long nt)
{
    struct cairn__mctx *c = r->c;
    if ((size_t)nt > n)
        nt = (long)(n ? n : 1);
    struct worker *w = calloc((size_t)nt, sizeof *w);
    roaring_bitmap_t *mine = shard(ids, n, 0, (size_t)nt);
    if (!w || !mine) {
        free(w);
        cairn_bitmap_free(mine);
        return CAIRN_ENOMEM;
    }
    int rc = 0;
    long started = 0;
    for (long t = 1; t < nt && rc == 0; t++) {
        w[t].qs = qs;
        w[t].qe = qe;
        rc = worker_init(&w[t], r, e, pl != NULL);
        if (rc == 0 && !(w[t].mine = shard(ids, n, (size_t)t, (size_t)nt)))
            rc = CAIRN_ENOMEM;
        if (rc == 0 && pthread_create(&w[t].th, NULL, work, &w[t]) != 0)
            rc = CAIRN_ENOMEM;
        if (rc == 0)
            started = t;
        else if (w[t].err.code)
            *c->err = w[t].err;
    }
    if (rc == 0) /* this thread is shard 0 */
        rc = cairn__mr_scan_blocks(r, mine, qs, qe, pl);
    cairn_bitmap_free(mine);
    for (long t = 1; t <= started; t++)
        pthread_join(w[t].th, NULL);
    for (long t = 1; t < nt; t++) {
        c->st->lines += w[t].st.lines;
        c->st->bytes += w[t].st.bytes;
        c->st->streams += w[t].st.streams;
        if (rc == 0 && w[t].rc) {
            rc = w[t].rc;
            if (w[t].err.code)
                *c->err = w[t].err;
        }
        if (rc == 0)
            rc = merge(r, &w[t].r);
        worker_deinit(&w[t]);
    }
    free(w);
    return rc;
}
