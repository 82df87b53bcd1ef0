/* logquery.c -- run a log query: select streams, iterate their entries merged by
 * time (the store skips blocks outside the range), run the pipeline, group kept
 * entries into result streams by their final labels, stop at the limit. */
#include <stdlib.h>
#include <string.h>

#include "cairn/logql_pipeline.h"
#include "cairn/query.h"
#include "cairn/timeutil.h"

#define QUERY_DEFAULT_LIMIT 100 /* Loki's default `limit` */

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

int cairn_query_logs(struct cairn_store *s, const struct cairn_logql_query *q,
                     const struct cairn_query_params *prm, struct cairn_query_result *out,
                     struct cairn_err *err)
{
    const struct cairn_lq_expr *e = cairn_logql_root(q);
    if (!e || e->kind != CAIRN_LQ_LOG)
        return cairn_err_set(err, CAIRN_EINVAL, "not a log query");
    int64_t t0 = cairn_mono_ns();
    size_t limit = prm->limit ? prm->limit : QUERY_DEFAULT_LIMIT;
    struct cairn_logql_pipeline *p = cairn_logql_pipeline_create(e, err);
    if (!p)
        return err && err->code ? err->code : CAIRN_EINVAL;
    if (prm->now_ns)
        cairn_logql_pipeline_set_now(p, prm->now_ns);
    roaring_bitmap_t *sids = roaring_bitmap_create();
    struct label_cache cache = {0};
    struct stream_index ix = {0};
    struct cairn_entry_iter it = {0};
    int rc = sids ? 0 : CAIRN_ENOMEM;
    int iter_open = 0;
    if (!rc)
        rc = cairn_query_select(s, prm->tenant, e->matchers, e->nmatchers, prm->start, prm->end, sids);
    if (!rc && !roaring_bitmap_is_empty(sids)) {
        rc = cairn_store_iter_init(&it, s, prm->tenant, sids, prm->start, prm->end, prm->dir, 0);
        iter_open = 1;
    }
    int fixed = cairn_logql_pipeline_labels_fixed(p);
    size_t returned = 0;
    while (!rc && iter_open && returned < limit) {
        uint32_t sid;
        struct cairn_entry ent;
        int r = cairn_store_iter_next(&it, &sid, &ent);
        if (r <= 0) {
            rc = r;
            break;
        }
        out->stats.lines_scanned++;
        out->stats.bytes_scanned += ent.len;
        const struct cairn_labels *ls = cached_labels(&cache, s, prm->tenant, sid, &rc);
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
        returned++;
    }
    if (iter_open)
        cairn_store_iter_deinit(&it);
    out->stats.lines_returned = returned;
    out->stats.exec_ns = cairn_mono_ns() - t0;
    cache_free(&cache);
    free(ix.slot);
    if (sids)
        roaring_bitmap_free(sids);
    cairn_logql_pipeline_destroy(p);
    if (rc && err && !err->code)
        cairn_err_set(err, rc, "query failed: %s", cairn_strerror(rc));
    return rc;
}
