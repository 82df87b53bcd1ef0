/* logquery.c -- run a log query: select streams, iterate their entries merged by
 * time (the store skips blocks outside the range), run the pipeline, group kept
 * entries into result streams by their final labels, stop at the limit. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/logql_pipeline.h"
#include "cairn/query.h"
#include "cairn/timeutil.h"

#define QUERY_DEFAULT_LIMIT 100 /* Loki's default `limit` */
#define QUERY_MAX_THREADS 64    /* shards of one query */

void cairn_query_result_init(struct cairn_query_result *r)
{
    memset(r, 0, sizeof(*r));
}

void cairn_query_result_deinit(struct cairn_query_result *r)
{
    for (size_t i = 0; i < r->n; i++) {
        cairn_labels_deinit(&r->streams[i].labels);
        cairn_buf_deinit(&r->streams[i].bytes);
        free(r->streams[i].e);
    }
    free(r->streams);
    memset(r, 0, sizeof(*r));
}

/* Per-query cache of stream labels by stream id. */
struct label_cache {
    struct cairn_labels **v;
    size_t cap;
};

static const struct cairn_labels *cached_labels(struct label_cache *c, struct cairn_store *s,
                                                const char *tenant, uint32_t sid, int *rc)
{
    if (sid >= c->cap) {
        size_t cap = c->cap ? c->cap : 64;
        while (cap <= sid)
            cap *= 2;
        struct cairn_labels **nv = realloc(c->v, cap * sizeof(*nv));
        if (!nv) {
            *rc = CAIRN_ENOMEM;
            return NULL;
        }
        memset(nv + c->cap, 0, (cap - c->cap) * sizeof(*nv));
        c->v = nv;
        c->cap = cap;
    }
    if (!c->v[sid]) {
        struct cairn_labels *ls = malloc(sizeof(*ls));
        if (!ls) {
            *rc = CAIRN_ENOMEM;
            return NULL;
        }
        cairn_labels_init(ls);
        if ((*rc = cairn_store_stream_labels(s, tenant, sid, ls))) {
            cairn_labels_deinit(ls);
            free(ls);
            return NULL;
        }
        c->v[sid] = ls;
    }
    return c->v[sid];
}

static void cache_free(struct label_cache *c)
{
    for (size_t i = 0; i < c->cap; i++)
        if (c->v[i]) {
            cairn_labels_deinit(c->v[i]);
            free(c->v[i]);
        }
    free(c->v);
}

/* Result streams by label hash: open addressing over indexes into r->streams. */
struct stream_index {
    uint32_t *slot; /* index + 1; 0 empty */
    size_t cap;
};

static int index_put(struct stream_index *ix, const struct cairn_query_result *r, size_t idx)
{
    if ((r->n + 1) * 2 > ix->cap) {
        size_t cap = ix->cap ? ix->cap * 2 : 64;
        uint32_t *ns = calloc(cap, sizeof(*ns));
        if (!ns)
            return CAIRN_ENOMEM;
        for (size_t i = 0; i < r->n; i++) {
            size_t h = (size_t)r->streams[i].hash & (cap - 1);
            while (ns[h])
                h = (h + 1) & (cap - 1);
            ns[h] = (uint32_t)i + 1;
        }
        free(ix->slot);
        ix->slot = ns;
        ix->cap = cap;
        if (idx < r->n)
            return 0; /* already placed by the rebuild */
    }
    size_t h = (size_t)r->streams[idx].hash & (ix->cap - 1);
    while (ix->slot[h])
        h = (h + 1) & (ix->cap - 1);
    ix->slot[h] = (uint32_t)idx + 1;
    return 0;
}

static struct cairn_query_stream *find_stream(struct cairn_query_result *r, struct stream_index *ix,
                                              uint64_t hash, struct cairn_logql_pipeline *p,
                                              const struct cairn_labels *fixed, int *rc)
{
    if (ix->cap) {
        for (size_t h = (size_t)hash & (ix->cap - 1); ix->slot[h]; h = (h + 1) & (ix->cap - 1))
            if (r->streams[ix->slot[h] - 1].hash == hash)
                return &r->streams[ix->slot[h] - 1];
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct cairn_query_stream *nv = realloc(r->streams, cap * sizeof(*nv));
        if (!nv) {
            *rc = CAIRN_ENOMEM;
            return NULL;
        }
        r->streams = nv;
        r->cap = cap;
    }
    struct cairn_query_stream *st = &r->streams[r->n];
    memset(st, 0, sizeof(*st));
    cairn_labels_init(&st->labels);
    *rc = fixed ? cairn_labels_copy(&st->labels, fixed) : cairn_logql_pipeline_labels(p, &st->labels);
    if (*rc) {
        cairn_labels_deinit(&st->labels);
        return NULL;
    }
    st->hash = hash;
    if ((*rc = index_put(ix, r, r->n))) {
        cairn_labels_deinit(&st->labels);
        return NULL;
    }
    r->n++;
    return st;
}

static int add_entry(struct cairn_query_stream *st, int64_t ts, const char *line, size_t len)
{
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 16;
        struct cairn_query_entry *ne = realloc(st->e, cap * sizeof(*ne));
        if (!ne)
            return CAIRN_ENOMEM;
        st->e = ne;
        st->cap = cap;
    }
    size_t off = st->bytes.len;
    if (cairn_buf_append(&st->bytes, line, len))
        return CAIRN_ENOMEM;
    st->e[st->n++] = (struct cairn_query_entry){ts, off, len};
    return 0;
}

/* One shard of a query: its own parsed query (compiled regexes are per thread), its
 * own pipeline and store iterator over its stream ids, its own result streams, and
 * the order its kept entries came in (to merge shards exactly as one thread would). */
struct kept {
    int64_t ts;
    uint32_t sid;
    uint32_t stream, entry;
};

struct shard {
    struct cairn_store *s;
    const struct cairn_query_params *prm;
    size_t limit;
    const struct cairn_logql_query *q;
    struct cairn_logql_query *own; /* parsed by this shard, if not shard 0 */
    roaring_bitmap_t *sids;
    struct cairn_query_result res;
    struct kept *order;
    size_t n, cap;
    int record; /* keep `order` (more than one shard) */
    int rc;
    struct cairn_err err;
};

static void run_shard(struct shard *w)
{
    struct cairn_err *err = &w->err;
    const struct cairn_query_params *prm = w->prm;
    const struct cairn_lq_expr *e = cairn_logql_root(w->q);
    struct cairn_logql_pipeline *p = cairn_logql_pipeline_create(e, err);
    if (!p) {
        w->rc = err->code ? err->code : CAIRN_EINVAL;
        return;
    }
    if (prm->now_ns)
        cairn_logql_pipeline_set_now(p, prm->now_ns);
    struct label_cache cache = {0};
    struct stream_index ix = {0};
    struct cairn_entry_iter it = {0};
    int rc = cairn_store_iter_init(&it, w->s, prm->tenant, w->sids, prm->start, prm->end, prm->dir, 0);
    int fixed = cairn_logql_pipeline_labels_fixed(p);
    struct cairn_query_result *out = &w->res;
    size_t returned = 0;
    while (!rc && returned < w->limit) {
        uint32_t sid;
        struct cairn_entry ent;
        int r = cairn_store_iter_next(&it, &sid, &ent);
        if (r <= 0) {
            rc = r;
            break;
        }
        out->stats.lines_scanned++;
        out->stats.bytes_scanned += ent.len;
        const struct cairn_labels *ls = cached_labels(&cache, w->s, prm->tenant, sid, &rc);
        if (!ls)
            break;
        int kept = cairn_logql_pipeline_process(p, ent.ts, ls, ent.line, ent.len);
        if (kept < 0) {
            rc = kept;
            break;
        }
        if (!kept)
            continue;
        uint64_t h = fixed ? cairn_labels_fingerprint(ls) : cairn_logql_pipeline_labels_hash(p);
        struct cairn_query_stream *st = find_stream(out, &ix, h, p, fixed ? ls : NULL, &rc);
        if (!st)
            break;
        size_t len;
        const char *line = cairn_logql_pipeline_line(p, &len);
        if ((rc = add_entry(st, ent.ts, line, len)))
            break;
        if (w->record) {
            if (w->n == w->cap) {
                size_t cap = w->cap ? w->cap * 2 : 256;
                struct kept *nk = realloc(w->order, cap * sizeof(*nk));
                if (!nk) {
                    rc = CAIRN_ENOMEM;
                    break;
                }
                w->order = nk;
                w->cap = cap;
            }
            w->order[w->n++] = (struct kept){ent.ts, sid, (uint32_t)(st - out->streams),
                                             (uint32_t)(st->n - 1)};
        }
        returned++;
    }
    cairn_store_iter_deinit(&it);
    out->stats.lines_returned = returned;
    cache_free(&cache);
    free(ix.slot);
    cairn_logql_pipeline_destroy(p);
    w->rc = rc;
}

static void *shard_main(void *arg)
{
    run_shard(arg);
    return NULL;
}

/* Does a come before b in the iteration order (the store's: time, then stream id)? */
static int kept_before(const struct kept *a, const struct kept *b, int backward)
{
    if (a->ts != b->ts)
        return backward ? a->ts > b->ts : a->ts < b->ts;
    return backward ? a->sid > b->sid : a->sid < b->sid;
}

static int merge(struct shard *w, size_t k, size_t limit, int backward, struct cairn_query_result *out)
{
    size_t *pos = calloc(k, sizeof(*pos));
    struct stream_index ix = {0};
    int rc = pos ? 0 : CAIRN_ENOMEM;
    for (size_t taken = 0; !rc && taken < limit; taken++) {
        size_t best = k;
        for (size_t i = 0; i < k; i++)
            if (pos[i] < w[i].n &&
                (best == k || kept_before(&w[i].order[pos[i]], &w[best].order[pos[best]], backward)))
                best = i;
        if (best == k)
            break;
        const struct kept *kp = &w[best].order[pos[best]++];
        const struct cairn_query_stream *src = &w[best].res.streams[kp->stream];
        const struct cairn_query_entry *en = &src->e[kp->entry];
        struct cairn_query_stream *dst = find_stream(out, &ix, src->hash, NULL, &src->labels, &rc);
        if (!dst)
            break;
        rc = add_entry(dst, en->ts, src->bytes.data + en->off, en->len);
        out->stats.lines_returned++;
    }
    free(ix.slot);
    free(pos);
    return rc;
}

int cairn_query_logs(struct cairn_store *s, const struct cairn_logql_query *q,
                     const struct cairn_query_params *prm, struct cairn_query_result *out,
                     struct cairn_err *err)
{
    const struct cairn_lq_expr *e = cairn_logql_root(q);
    if (!e || e->kind != CAIRN_LQ_LOG)
        return cairn_err_set(err, CAIRN_EINVAL, "not a log query");
    int64_t t0 = cairn_mono_ns();
    size_t limit = prm->limit ? prm->limit : QUERY_DEFAULT_LIMIT;
    roaring_bitmap_t *sids = roaring_bitmap_create();
    if (!sids)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    int rc = cairn_query_select(s, prm->tenant, e->matchers, e->nmatchers, prm->start, prm->end, sids);
    uint64_t card = rc ? 0 : roaring_bitmap_get_cardinality(sids);
    size_t k = prm->threads > 1 ? (size_t)prm->threads : 1;
    if (k > QUERY_MAX_THREADS)
        k = QUERY_MAX_THREADS;
    if (k > card)
        k = card ? (size_t)card : 1;
    struct shard w[QUERY_MAX_THREADS];
    memset(w, 0, sizeof(w));
    for (size_t i = 0; i < k && !rc; i++) {
        w[i] = (struct shard){.s = s, .prm = prm, .limit = limit, .q = i ? NULL : q, .record = k > 1};
        cairn_query_result_init(&w[i].res);
        if (!(w[i].sids = roaring_bitmap_create()))
            rc = CAIRN_ENOMEM;
        if (!rc && i) {
            size_t tl;
            const char *text = cairn_logql_text(q, &tl);
            rc = cairn_logql_parse(text, tl, &w[i].own, &w[i].err);
            w[i].q = w[i].own;
        }
    }
    if (!rc && card) {
        /* Shard streams round-robin by id. */
        roaring_uint32_iterator_t *ri = roaring_create_iterator(sids);
        if (!ri)
            rc = CAIRN_ENOMEM;
        for (size_t n = 0; ri && ri->has_value; roaring_advance_uint32_iterator(ri), n++)
            roaring_bitmap_add(w[n % k].sids, ri->current_value);
        if (ri)
            roaring_free_uint32_iterator(ri);
    }
    if (!rc && card) {
        pthread_t th[QUERY_MAX_THREADS];
        size_t started = 0;
        for (size_t i = 1; i < k; i++) {
            if (pthread_create(&th[i], NULL, shard_main, &w[i]) != 0)
                break;
            started = i;
        }
        for (size_t i = started + 1; i < k; i++)
            run_shard(&w[i]); /* could not start a thread: run it here */
        run_shard(&w[0]);
        for (size_t i = 1; i <= started; i++)
            pthread_join(th[i], NULL);
        for (size_t i = 0; i < k && !rc; i++)
            if (w[i].rc) {
                rc = w[i].rc;
                if (err)
                    *err = w[i].err;
            }
        if (!rc && k == 1) {
            *out = w[0].res;
            cairn_query_result_init(&w[0].res);
        } else if (!rc) {
            rc = merge(w, k, limit, prm->dir == CAIRN_ITER_BACKWARD, out);
        }
        for (size_t i = 0; i < k; i++) {
            out->stats.lines_scanned += w[i].res.stats.lines_scanned;
            out->stats.bytes_scanned += w[i].res.stats.bytes_scanned;
        }
    }
    for (size_t i = 0; i < k; i++) {
        cairn_query_result_deinit(&w[i].res);
        if (w[i].sids)
            roaring_bitmap_free(w[i].sids);
        cairn_logql_query_destroy(w[i].own);
        free(w[i].order);
    }
    roaring_bitmap_free(sids);
    out->stats.exec_ns = cairn_mono_ns() - t0;
    if (rc && err && !err->code)
        cairn_err_set(err, rc, "query failed: %s", cairn_strerror(rc));
    return rc;
}
