/* metric_range.c -- range aggregations (count_over_time, rate, ..., unwrapped
 * *_over_time): the selected streams' entries -> series of per-step values.
 *
 * One pass over the streams' blocks (the store's block iterator: stream by stream, no
 * merge), no window ever rescanned for the log-range operations:
 * a step i sees the entries with ts in (t_i - offset - range, t_i - offset], so an
 * entry at ts contributes to the contiguous steps i_lo..i_hi, and count_over_time,
 * rate, bytes_over_time and bytes_rate add +1/-1 (and +len/-len) to a per-series
 * difference array at i_lo and i_hi + 1; one prefix sum at the end gives every
 * window, exactly (integers), whatever the range/step ratio. Without stages these
 * read only the timestamp and length columns (CAIRN_ITER_NO_LINES): no line is
 * decompressed. Unwrapped operations keep the series' samples (time ordered) and
 * slide two cursors over them, evaluating each window with Loki's arithmetic.
 *
 * Duplicates (the same entry stored twice) count once, as in Loki's sample iterator:
 * they can only sit in different blocks of a stream whose blocks overlap in time, so
 * the span of such blocks (cairn_block_view.overlaps, rare) is read through the merged
 * entry iterator in time order and checked against the run of equal timestamps
 * (dedupe.h); every other block keeps the per-block, column-only path.
 *
 * Series identity follows Loki: a series is the entry's labels after the pipeline;
 * with unwrap, the unwrapped label is dropped (Loki groups `without` it) unless a
 * `by` is given; `by`/`without` on an unwrapped aggregation reduce the labels before
 * aggregating; an entry carrying __error__ keeps all its labels, and a series with
 * __error__ fails the query with Loki's pipeline error. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/logql_pipeline.h"
#include "metric_range_int.h"

/* What an accumulator is charged: its struct, label copy, difference arrays and its
 * share of the two maps (at most half full, so two slots each). */
static size_t racc_cost(const struct rstate *r, uint32_t len)
{
    size_t arrays = r->additive ? (r->c->nsteps + 1) * sizeof(int64_t) * (r->bytes ? 2 : 1) : 0;
    return sizeof(struct racc) + len + 1 + arrays + 2 * sizeof(*((struct cairn__mmap *)0)->slot) +
           2 * sizeof(struct hslot);
}

int cairn__mr_charge(struct rstate *r, size_t n)
{
    int rc = cairn__qgov_charge(r->c->gov, n);
    if (rc == 0)
        r->charged += n;
    return rc;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
    return a >= 0 ? (a + b - 1) / b : -((-a) / b);
}

static int is_additive(const struct cairn_lq_expr *e)
{
    if (e->has_unwrap)
        return 0;
    return e->rop == CAIRN_LQ_COUNT_OVER_TIME || e->rop == CAIRN_LQ_RATE ||
           e->rop == CAIRN_LQ_BYTES_OVER_TIME || e->rop == CAIRN_LQ_BYTES_RATE ||
           e->rop == CAIRN_LQ_ABSENT_OVER_TIME;
}

void cairn__mr_deinit(struct rstate *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->a[i].lab);
        free(r->a[i].smp);
    }
    free(r->a);
    free(r->hs);
    free(r->by);
    cairn__mmap_deinit(&r->map);
    cairn_buf_deinit(&r->tmp);
    cairn__mlb_deinit(&r->lb);
    cairn_labels_deinit(&r->ls);
    cairn_labels_deinit(&r->smstream);
    cairn_logql_pipeline_destroy(r->smpl);
    r->smpl = NULL;
    cairn__qdup_deinit(&r->dup);
    free(r->spans);
    if (r->c)
        cairn__qgov_release(r->c->gov, r->charged);
    r->charged = 0;
}

/* The racc for a finished label blob (r->tmp), created when new. */
int cairn__mr_racc_for(struct rstate *r, const char *lab, uint32_t len, size_t *idx)
{
    if (cairn__mmap_get(&r->map, lab, len, idx))
        return 0;
    int rc = cairn__mr_charge(r, racc_cost(r, len));
    if (rc)
        return rc;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        struct racc *a = realloc(r->a, cap * sizeof *a);
        if (!a)
            return CAIRN_ENOMEM;
        /* the map borrows label pointers, which do not move with the array */
        r->a = a;
        r->cap = cap;
    }
    struct racc *x = &r->a[r->n];
    memset(x, 0, sizeof *x);
    /* one block per accumulator (one free each when a query is stopped) */
    size_t at = ((size_t)len + 1 + 7) & ~(size_t)7, nd = r->additive ? r->c->nsteps + 1 : 0;
    x->lab = calloc(1, at + nd * sizeof(int64_t) * (r->bytes ? 2 : 1));
    if (!x->lab)
        return CAIRN_ENOMEM;
    memcpy(x->lab, lab, len);
    x->len = len;
    if (r->additive) {
        x->cnt = (int64_t *)(void *)(x->lab + at);
        if (r->bytes)
            x->byt = x->cnt + nd;
    }
    if (cairn__mmap_put(&r->map, x->lab, len, r->n)) {
        free(x->lab);
        return CAIRN_ENOMEM;
    }
    *idx = r->n++;
    return 0;
}

/* Series labels of an entry whose labels are in r->ls: grouping as Loki does. */
static int series_of_labels(struct rstate *r, size_t *idx)
{
    const struct cairn_lq_expr *e = r->e;
    const struct cairn_lq_grouping *g = r->g;
    struct cairn_buf blob = CAIRN_BUF_INIT;
    int rc = cairn__mlab_from_labels(&r->ls, &blob);
    if (rc == 0 && (e->has_unwrap || g->present) &&
        !cairn__mlab_get(blob.data, (uint32_t)blob.len, "__error__", 9, NULL)) {
        rc = cairn__mlb_load(&r->lb, blob.data, (uint32_t)blob.len);
        if (rc == 0) {
            if (g->present && !g->without) {
                cairn__mlb_filter(&r->lb, g->labels, g->nlabels, 1);
            } else {
                if (g->present)
                    cairn__mlb_filter(&r->lb, g->labels, g->nlabels, 0);
                if (e->has_unwrap)
                    cairn__mlb_filter(&r->lb, &e->unwrap_label, 1, 0);
            }
            rc = cairn__mlb_finish(&r->lb, &r->tmp);
        }
        if (rc == 0)
            rc = cairn__mr_racc_for(r, r->tmp.data ? r->tmp.data : "", (uint32_t)r->tmp.len, idx);
    } else if (rc == 0) {
        rc = cairn__mr_racc_for(r, blob.data ? blob.data : "", (uint32_t)blob.len, idx);
    }
    cairn_buf_deinit(&blob);
    return rc;
}

/* Series of an entry under `by (...)` when its labels are in r->ls: the key is built
 * from the grouped labels only (no blob of the whole set, no sort), which keeps
 * entries with unique label sets (json-extracted ids) as cheap as any other. */
static int series_by(struct rstate *r, struct cairn_logql_pipeline *pl, size_t *idx)
{
    size_t vl;
    if (cairn_logql_pipeline_label(pl, "__error__", 9, &vl)) {
        int rc = cairn_logql_pipeline_labels(pl, &r->ls);
        return rc ? rc : series_of_labels(r, idx);
    }
    cairn_buf_reset(&r->tmp);
    for (size_t i = 0; i < r->nby; i++) {
        const char *v = cairn_logql_pipeline_label(pl, r->by[i].p, r->by[i].len, &vl);
        if (!v || !vl)
            continue;
        if (cairn_buf_append(&r->tmp, r->by[i].p, r->by[i].len + 1) || cairn_buf_append(&r->tmp, v, vl) ||
            cairn_buf_append_byte(&r->tmp, '\0'))
            return CAIRN_ENOMEM;
    }
    return cairn__mr_racc_for(r, r->tmp.data ? r->tmp.data : "", (uint32_t)r->tmp.len, idx);
}

static int str_cmp(const void *a, const void *b)
{
    const struct cairn_lq_str *x = a, *y = b;
    return strcmp(x->p, y->p);
}

static int hs_get(struct rstate *r, uint64_t h, size_t *idx)
{
    if (!r->hcap)
        return 0;
    for (size_t i = h & (r->hcap - 1);; i = (i + 1) & (r->hcap - 1)) {
        if (!r->hs[i].used)
            return 0;
        if (r->hs[i].h == h) {
            *idx = r->hs[i].idx;
            return 1;
        }
    }
}

static int hs_put(struct rstate *r, uint64_t h, size_t idx)
{
    if ((r->hn + 1) * 2 > r->hcap) {
        size_t cap = r->hcap ? r->hcap * 2 : 64;
        struct hslot *ns = calloc(cap, sizeof *ns);
        if (!ns)
            return CAIRN_ENOMEM;
        for (size_t i = 0; i < r->hcap; i++) {
            if (!r->hs[i].used)
                continue;
            size_t j = r->hs[i].h & (cap - 1);
            while (ns[j].used)
                j = (j + 1) & (cap - 1);
            ns[j] = r->hs[i];
        }
        free(r->hs);
        r->hs = ns;
        r->hcap = cap;
    }
    size_t j = h & (r->hcap - 1);
    while (r->hs[j].used)
        j = (j + 1) & (r->hcap - 1);
    r->hs[j] = (struct hslot){h, idx, 1};
    r->hn++;
    return 0;
}

static int add_sample(struct rstate *r, struct racc *x, int64_t ts, double v, uint32_t sid, uint32_t seq)
{
    if (x->ns == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 64;
        int rc = cairn__mr_charge(r, (cap - x->cap) * sizeof *x->smp);
        if (rc)
            return rc;
        struct cairn__msample *s = realloc(x->smp, cap * sizeof *s);
        if (!s)
            return CAIRN_ENOMEM;
        x->smp = s;
        x->cap = cap;
    }
    if (x->ns && x->smp[x->ns - 1].ts > ts)
        x->unsorted = 1;
    x->smp[x->ns++] = (struct cairn__msample){ts, v, sid, seq};
    return 0;
}

/* The steps lo..hi whose windows hold an entry at ts (none when lo > hi). */
static inline void step_span(const struct rstate *r, int64_t ts, int64_t *plo, int64_t *phi)
{
    const struct cairn__mctx *c = r->c;
    int64_t a = ts + r->off - c->start;
    int64_t lo = ceil_div(a, c->step);
    int64_t hi = ceil_div(a + r->range, c->step) - 1;
    if (lo < 0)
        lo = 0;
    if (hi >= (int64_t)c->nsteps)
        hi = (int64_t)c->nsteps - 1;
    *plo = lo;
    *phi = hi;
}

/* An entry at ts went to x: when x is a result series getting its first point, count
 * it against max_query_series (each shard counts its own series, a lower bound of the
 * whole result, so passing the limit here is passing it in the result). */
static inline int note_point(struct rstate *r, struct racc *x, int64_t ts)
{
    if (x->counted || !r->count_out)
        return 0;
    int64_t lo, hi;
    step_span(r, ts, &lo, &hi);
    if (lo > hi)
        return 0;
    x->counted = 1;
    if (++r->nout > r->c->gov->max_series)
        return cairn__qgov_fail(r->c->gov, CAIRN__QSTOP_SERIES, CAIRN_ELIMIT);
    return 0;
}

/* Additive accumulation of one entry at ts with line length len. */
static inline void add_entry(const struct rstate *r, struct racc *x, int64_t ts, size_t len)
{
    int64_t lo, hi;
    step_span(r, ts, &lo, &hi);
    if (lo > hi)
        return;
    x->cnt[lo]++;
    x->cnt[hi + 1]--;
    if (x->byt) {
        x->byt[lo] += (int64_t)len;
        x->byt[hi + 1] -= (int64_t)len;
    }
}

/* Route one kept pipeline entry to its series; *fixed caches the series of a stream
 * whose labels the pipeline never changes. */
static int pipeline_series(struct rstate *r, struct cairn_logql_pipeline *pl, int fixed_labels, size_t *fixed,
                           int *has_fixed, size_t *idx)
{
    if (cairn_logql_pipeline_has_sm(pl))
        fixed_labels = 0; /* its labels are not its stream's */
    int rc;
    if (fixed_labels && *has_fixed) {
        *idx = *fixed;
        return 0;
    }
    if (r->by_fast) {
        rc = series_by(r, pl, idx);
    } else {
        uint64_t h = cairn_logql_pipeline_labels_hash(pl);
        rc = 0;
        if (!hs_get(r, h, idx)) {
            if ((rc = cairn_logql_pipeline_labels(pl, &r->ls)) == 0 && (rc = series_of_labels(r, idx)) == 0)
                rc = hs_put(r, h, *idx);
        }
    }
    if (rc == 0 && fixed_labels) {
        *fixed = *idx;
        *has_fixed = 1;
    }
    return rc;
}

/* Run one entry through the pipeline into its series (pos: its position in the
 * stream, the tie-break of unwrapped samples). */
static int pipeline_entry(struct rstate *r, struct cairn_logql_pipeline *pl, const struct cairn_labels *stream,
                          uint32_t sid, uint32_t pos, int64_t ts, const char *line, uint32_t llen,
                          const char *sm, size_t sm_len, int fixed_labels, size_t *fixed,
                          int *has_fixed)
{
    cairn_logql_pipeline_set_sm(pl, sm, sm_len);
    int rc = cairn_logql_pipeline_process(pl, ts, stream, line, llen);
    if (rc <= 0)
        return rc;
    double v = 1;
    size_t len = llen;
    if (r->e->has_unwrap) {
        rc = cairn_logql_pipeline_unwrap(pl, &v);
        if (rc <= 0)
            return rc;
        if (rc == 2)
            v = 0;
    } else if (r->bytes) {
        cairn_logql_pipeline_line(pl, &len);
    }
    size_t idx;
    if ((rc = pipeline_series(r, pl, fixed_labels, fixed, has_fixed, &idx)))
        return rc;
    struct racc *x = &r->a[idx];
    if ((rc = note_point(r, x, ts)))
        return rc;
    if (r->additive)
        add_entry(r, x, ts, len);
    else if ((rc = add_sample(r, x, ts, v, sid, pos)))
        return rc;
    return 0;
}

/* Run one block's entries through the pipeline into the series. */
static int pipeline_block(struct rstate *r, struct cairn_logql_pipeline *pl, const struct cairn_labels *stream,
                          const struct cairn_block_view *bv, uint32_t *seq, int fixed_labels, size_t *fixed,
                          int *has_fixed)
{
    for (uint32_t i = 0; i < bv->n; i++) {
        int rc;
        if ((i & 1023) == 1023 && (rc = cairn__qgov_check(r->c->gov)))
            return rc;
        rc = pipeline_entry(r, pl, stream, bv->sid, (*seq)++, bv->ts[i], bv->lines + bv->offs[i], bv->lens[i],
                            bv->sm ? bv->sm + bv->sm_off[i] : NULL, bv->sm ? bv->sm_len[i] : 0,
                            fixed_labels, fixed, has_fixed);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* An expression without stages, stream sid (labels in r->ls while its series is the
 * stream's) meeting entries with structured metadata: the pipeline of no stage they go
 * through, with the stream's labels in r->smstream. NULL when the grouping keeps only
 * `by` labels (the metadata cannot change the series) or on error (*rc). */
static struct cairn_logql_pipeline *sm_pipeline(struct rstate *r, uint32_t sid, int *rc)
{
    *rc = 0;
    if (r->g && r->g->present && !r->g->without)
        return NULL; /* grouping_needs_entries made a pipeline when a `by` name is one */
    if (!r->smpl && !(r->smpl = cairn_logql_pipeline_create(r->e, r->c->err))) {
        *rc = r->c->err && r->c->err->code ? r->c->err->code : CAIRN_ENOMEM;
        return NULL;
    }
    if (!r->smstream_ok || r->smsid != sid) {
        /* r->ls is the stream's until a pipeline entry's labels are loaded there */
        if ((*rc = cairn_store_stream_labels(r->c->store, r->c->tenant, sid, &r->smstream)))
            return NULL;
        r->smsid = sid;
        r->smstream_ok = 1;
    }
    return r->smpl;
}

/* The span [qs, qe) of a stream whose blocks overlap there (cairn_block_view.overlaps):
 * its entries read through the merged entry iterator, in time order with their lines,
 * so that an entry with the timestamp and line of one already counted is dropped, as
 * Loki's sample iterator drops it (the same push stored twice counts once). Without a
 * pipeline the stream is series *fixed; *seq numbers the stream's entries. */
static int scan_stream_merged(struct rstate *r, uint32_t sid, int64_t qs, int64_t qe,
                              struct cairn_logql_pipeline *pl, const struct cairn_labels *stream,
                              int fixed_labels, size_t *fixed, int *has_fixed, uint32_t *pseq)
{
    struct cairn__mctx *c = r->c;
    roaring_bitmap_t *one = roaring_bitmap_create();
    if (!one)
        return CAIRN_ENOMEM;
    roaring_bitmap_add(one, sid);
    struct cairn_entry_iter it;
    /* a span is a few blocks: pread them, mapping the segment files costs more */
    int rc = cairn_store_iter_init(&it, c->store, c->tenant, one, qs, qe, CAIRN_ITER_FORWARD, CAIRN_ITER_PREAD);
    cairn_bitmap_free(one);
    if (rc) {
        cairn_store_iter_deinit(&it);
        return rc;
    }
    cairn_store_iter_set_deadline(&it, c->deadline);
    cairn__qdup_reset(&r->dup);
    uint32_t got, seq = *pseq;
    struct cairn_entry e;
    uint64_t n = 0;
    while ((rc = cairn_store_iter_next(&it, &got, &e)) == 1) {
        if ((++n & 1023) == 0 && (rc = cairn__qgov_check(c->gov)))
            break;
        c->st->lines++;
        c->st->bytes += e.len;
        if ((rc = cairn__qdup_seen(&r->dup, got, e.ts, e.line, e.len))) {
            if (rc < 0)
                break;
            continue; /* a duplicate */
        }
        if (pl) {
            size_t sml;
            const char *sm = cairn_store_iter_sm(&it, &sml);
            if ((rc = pipeline_entry(r, pl, stream, got, seq++, e.ts, e.line, (uint32_t)e.len, sm, sml,
                                     fixed_labels, fixed, has_fixed)) < 0)
                break;
            continue;
        }
        size_t sml;
        const char *sm = cairn_store_iter_sm(&it, &sml);
        struct cairn_logql_pipeline *smpl = sm ? sm_pipeline(r, got, &rc) : NULL;
        if (rc)
            break;
        if (smpl) {
            if ((rc = pipeline_entry(r, smpl, &r->smstream, got, seq++, e.ts, e.line, (uint32_t)e.len, sm,
                                     sml, 0, fixed, has_fixed)) < 0)
                break;
            continue;
        }
        struct racc *x = &r->a[*fixed];
        if ((rc = note_point(r, x, e.ts)))
            break;
        if (r->additive)
            add_entry(r, x, e.ts, e.len);
        else if ((rc = add_sample(r, x, e.ts, 1, got, seq++)))
            break;
    }
    cairn_store_iter_deinit(&it);
    *pseq = seq;
    return rc < 0 ? rc : 0;
}

/* Scan the streams in sids over [qs, qe) with one block iterator (one decompression
 * context, no merge: blocks come stream by stream). Without a pipeline only the
 * timestamp and length columns are read (CAIRN_ITER_NO_LINES) and each stream is one
 * series, so an entry costs a few integer operations. */
int cairn__mr_scan_blocks(struct rstate *r, const roaring_bitmap_t *sids, int64_t qs, int64_t qe,
                       struct cairn_logql_pipeline *pl)
{
    struct cairn__mctx *c = r->c;
    struct cairn_block_iter it;
    int rc = cairn_store_blocks_init(&it, c->store, c->tenant, sids, qs, qe, pl ? 0 : CAIRN_ITER_NO_LINES);
    if (rc)
        return rc;
    cairn_store_blocks_set_deadline(&it, c->deadline);
    if (pl) { /* blocks lacking a literal every kept line holds give no sample */
        const char *nl[8];
        size_t nlen[8], nn = cairn_logql_pipeline_needles(pl, nl, nlen, 8);
        if (nn && (rc = cairn_store_blocks_set_needles(&it, nl, nlen, nn < 8 ? nn : 8))) {
            cairn_store_blocks_deinit(&it);
            return rc;
        }
    }
    struct cairn_labels stream;
    cairn_labels_init(&stream);
    int fixed_labels = pl && !r->e->has_unwrap && cairn_logql_pipeline_labels_fixed(pl);
    uint32_t cur = UINT32_MAX, seq = 0;
    int skip = 0, has_fixed = 0;
    size_t fixed = 0;
    struct cairn_block_view bv;
    while ((rc = cairn_store_blocks_next(&it, &bv)) == 1) {
        /* a block is the unit of work: stop here when the query is over (deadline,
         * budget or limit, in any thread), head blocks as well as stored ones */
        if ((rc = cairn__qgov_check(c->gov)))
            break;
        if (bv.sid != cur) {
            cur = bv.sid;
            seq = 0;
            r->nspans = 0;
            has_fixed = 0;
            skip = 0;
            rc = cairn_store_stream_labels(c->store, c->tenant, cur, pl ? &stream : &r->ls);
            if (rc == CAIRN_ENOTFOUND) {
                skip = 1;
                continue;
            }
            if (rc)
                break;
            c->st->streams++;
            if (!pl) { /* no pipeline: the stream is the series */
                if ((rc = series_of_labels(r, &fixed)))
                    break;
                has_fixed = 1;
            }
        }
        if (skip)
            continue;
        if (bv.overlaps) { /* the span of the blocks overlapping this one, once, merged */
            int done = 0;
            for (size_t k = 0; k < r->nspans && !done; k++)
                done = r->spans[k] == bv.ovl_lo;
            if (done)
                continue;
            if (r->nspans == r->capspans) {
                size_t cap = r->capspans ? r->capspans * 2 : 8;
                int64_t *v = realloc(r->spans, cap * sizeof *v);
                if (!v) {
                    rc = CAIRN_ENOMEM;
                    break;
                }
                r->spans = v;
                r->capspans = cap;
            }
            r->spans[r->nspans++] = bv.ovl_lo;
            int64_t lo = bv.ovl_lo > qs ? bv.ovl_lo : qs;
            int64_t hi = bv.ovl_hi < qe - 1 ? bv.ovl_hi + 1 : qe;
            if ((rc = scan_stream_merged(r, cur, lo, hi, pl, &stream, fixed_labels, &fixed, &has_fixed, &seq)))
                break;
            continue;
        }
        c->st->lines += bv.n;
        c->st->bytes += bv.raw_bytes;
        if (pl) {
            if ((rc = pipeline_block(r, pl, &stream, &bv, &seq, fixed_labels, &fixed, &has_fixed)))
                break;
            continue;
        }
        struct cairn_logql_pipeline *smpl = bv.sm ? sm_pipeline(r, cur, &rc) : NULL;
        if (rc)
            break;
        if (smpl) { /* entries with structured metadata: their own series */
            if ((rc = pipeline_block(r, smpl, &r->smstream, &bv, &seq, 0, &fixed, &has_fixed)))
                break;
            continue;
        }
        struct racc *x = &r->a[fixed];
        for (uint32_t i = 0; i < bv.n && !x->counted && r->count_out && rc == 0; i++)
            rc = note_point(r, x, bv.ts[i]);
        if (rc)
            break;
        if (r->additive) {
            for (uint32_t i = 0; i < bv.n; i++)
                add_entry(r, x, bv.ts[i], bv.lens[i]);
        } else {
            for (uint32_t i = 0; i < bv.n && rc == 0; i++)
                rc = add_sample(r, x, bv.ts[i], 1, cur, seq++);
            if (rc)
                break;
        }
    }
    cairn_store_blocks_deinit(&it);
    cairn_labels_deinit(&stream);
    return rc < 0 ? rc : 0;
}

static int smp_cmp(const void *a, const void *b)
{
    const struct cairn__msample *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    if (x->sid != y->sid)
        return x->sid < y->sid ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Fill series s of out from accumulator x. */
static int finish_series(struct rstate *r, struct racc *x, struct cairn__mseries *s, double *scratch)
{
    const struct cairn__mctx *c = r->c;
    const struct cairn_lq_expr *e = r->e;
    double secs = (double)r->range / 1e9;
    if (r->additive) {
        int64_t cnt = 0, byt = 0;
        for (size_t i = 0; i < c->nsteps; i++) {
            cnt += x->cnt[i];
            if (x->byt)
                byt += x->byt[i];
            if (cnt <= 0)
                continue;
            s->ok[i] = 1;
            switch (e->rop) {
            case CAIRN_LQ_RATE: s->v[i] = (double)cnt / secs; break;
            case CAIRN_LQ_BYTES_OVER_TIME: s->v[i] = (double)byt; break;
            case CAIRN_LQ_BYTES_RATE: s->v[i] = (double)byt / secs; break;
            case CAIRN_LQ_ABSENT_OVER_TIME: s->v[i] = 1; break;
            default: s->v[i] = (double)cnt; break;
            }
        }
        return 0;
    }
    if (x->unsorted) /* merged from several streams or shards: (ts, stream, position) order */
        qsort(x->smp, x->ns, sizeof *x->smp, smp_cmp);
    double param = e->param ? e->param->number : 0;
    size_t lo = 0, hi = 0;
    for (size_t i = 0; i < c->nsteps; i++) {
        int64_t wend = c->start + (int64_t)i * c->step - r->off;
        int64_t wstart = wend - r->range;
        while (hi < x->ns && x->smp[hi].ts <= wend)
            hi++;
        while (lo < hi && x->smp[lo].ts <= wstart)
            lo++;
        if (hi > lo) {
            s->ok[i] = 1;
            s->v[i] = cairn__mfn_window(e->rop, e->has_unwrap, param, r->range, x->smp + lo, hi - lo,
                                        scratch);
        }
    }
    return 0;
}

int cairn__mrange_eval(struct cairn__mctx *c, const struct cairn_lq_expr *e, const struct cairn_lq_grouping *push,
                       const uint32_t *ids, size_t n, struct cairn_logql_pipeline *pl, long nt,
                       struct cairn__mval *all)
{
    struct rstate r = {.c = c, .e = e, .range = e->range_ns, .off = e->offset_ns};
    r.g = e->grouping.present || !push ? &e->grouping : push;
    cairn_labels_init(&r.ls);
    r.additive = is_additive(e);
    r.bytes = !e->has_unwrap && (e->rop == CAIRN_LQ_BYTES_OVER_TIME || e->rop == CAIRN_LQ_BYTES_RATE);
    double *scratch = NULL;
    int rc = 0;
    if (r.g->present && !r.g->without) {
        if (!(r.by = malloc((r.g->nlabels + 1) * sizeof *r.by))) {
            rc = CAIRN_ENOMEM;
            goto done;
        }
        for (size_t i = 0; i < r.g->nlabels; i++)
            r.by[i] = r.g->labels[i];
        qsort(r.by, r.g->nlabels, sizeof *r.by, str_cmp);
        for (size_t i = 0; i < r.g->nlabels; i++)
            if (r.nby == 0 || strcmp(r.by[r.nby - 1].p, r.by[i].p) != 0)
                r.by[r.nby++] = r.by[i];
        r.by_fast = 1;
    }
    r.count_out = c->gov && c->gov->max_series && (e == c->out_expr || e == c->out_range) &&
                  e->rop != CAIRN_LQ_ABSENT_OVER_TIME;
    /* entries of step i: ts in (t_i - off - range, t_i - off] */
    int64_t last = c->start + (int64_t)(c->nsteps - 1) * c->step;
    int64_t qs = c->start - r.off - r.range + 1, qe = last - r.off + 1;
    if (rc || (rc = cairn__mr_scan_all(&r, e, ids, n, qs, qe, pl, nt)))
        goto done;
    size_t maxn = 1;
    for (size_t i = 0; i < r.n; i++)
        if (r.a[i].ns > maxn)
            maxn = r.a[i].ns;
    if (!r.additive && ((rc = cairn__mr_charge(&r, maxn * sizeof *scratch)) ||
                        !(scratch = malloc(maxn * sizeof *scratch)))) {
        rc = rc ? rc : CAIRN_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < r.n && rc == 0; i++) {
        size_t idx;
        if ((i & 255) == 255 && (rc = cairn__qgov_check(c->gov)))
            break;
        rc = cairn__mval_add(all, c->nsteps, r.a[i].lab, r.a[i].len, &idx);
        if (rc == 0)
            rc = finish_series(&r, &r.a[i], &all->s[idx], scratch);
    }
    if (rc == 0 && (rc = cairn__qgov_check(c->gov)) == 0) {
        cairn__mval_compact(all, c->nsteps);
        cairn__mval_sort(all);
    }
done:
    free(scratch);
    cairn__mr_deinit(&r);
    return rc;
}
