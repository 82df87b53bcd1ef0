/* logs.c -- log queries: selected streams merged by time in the requested direction,
 * each entry through the compiled pipeline, kept entries grouped into result streams
 * by their final labels, stopping at `limit`.
 *
 * The selected streams are split into shards, one per thread. Each worker parses its
 * own copy of the query (pipelines and regexes are single-threaded), runs the store's
 * merged iterator over its shard and keeps its first `limit` entries in iterator
 * order, or fewer: once the workers together kept `limit` entries, none goes past the
 * limit-th of them (struct cut). The shards' lists are then merged by the iterator's
 * own order (timestamp, then stream id; a stream lives in one shard, so its arrival
 * order is kept) and cut at `limit`: the answer is the single-threaded one, entry for
 * entry. With `interval`, whose skipping depends on what other shards kept, one
 * worker runs.
 *
 * Duplicates (dedupe.h): an entry of a stream with the timestamp and the line of one
 * already read (the same push stored twice, e.g. retried after an answer that never
 * came) is dropped before the pipeline, as Loki's queriers drop it; the iterator
 * returns a stream's entries in time order and a stream lives in one shard, so this is
 * a comparison with the run of entries sharing the timestamp. */
#include <stdatomic.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "cairn/logql_pipeline.h"
#include "dedupe.h"
#include "query_int.h"

/* One stream of the answer: its labels as a JSON object and its values so far. */
struct out_stream {
    uint64_t key;
    int64_t last_ts;             /* for `interval` */
    struct cairn_buf labels_json;
    struct cairn_buf values;     /* `["ts","line"],...` */
};

struct out_set {
    struct out_stream *v;
    size_t n, cap;
    uint32_t *slots;             /* open addressing: index+1 into v, 0 empty */
    size_t nslots;
};

static void out_set_deinit(struct out_set *o)
{
    for (size_t i = 0; i < o->n; i++) {
        cairn_buf_deinit(&o->v[i].labels_json);
        cairn_buf_deinit(&o->v[i].values);
    }
    free(o->v);
    free(o->slots);
}

static int out_set_grow(struct out_set *o)
{
    size_t ns = o->nslots ? o->nslots * 2 : 64;
    uint32_t *slots = calloc(ns, sizeof *slots);
    if (!slots)
        return CAIRN_ENOMEM;
    for (size_t i = 0; i < o->n; i++) {
        size_t h = (size_t)(o->v[i].key * 0x9e3779b97f4a7c15ULL) & (ns - 1);
        while (slots[h])
            h = (h + 1) & (ns - 1);
        slots[h] = (uint32_t)i + 1;
    }
    free(o->slots);
    o->slots = slots;
    o->nslots = ns;
    return 0;
}

/* Find the stream with this key; *created says whether it is new (labels to fill). */
static struct out_stream *out_set_get(struct out_set *o, uint64_t key, int *created)
{
    *created = 0;
    if ((o->n + 1) * 2 > o->nslots && out_set_grow(o))
        return NULL;
    size_t h = (size_t)(key * 0x9e3779b97f4a7c15ULL) & (o->nslots - 1);
    while (o->slots[h]) {
        struct out_stream *s = &o->v[o->slots[h] - 1];
        if (s->key == key)
            return s;
        h = (h + 1) & (o->nslots - 1);
    }
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 16;
        struct out_stream *v = realloc(o->v, cap * sizeof *v);
        if (!v)
            return NULL;
        o->v = v;
        o->cap = cap;
    }
    struct out_stream *s = &o->v[o->n];
    memset(s, 0, sizeof *s);
    s->key = key;
    o->slots[h] = (uint32_t)++o->n;
    *created = 1;
    return s;
}

/* Stream labels by id, loaded once per query: sids sorted, labels loaded lazily. */
struct sid_labels {
    uint32_t *sids;
    struct cairn_labels **labels;
    size_t n;
};

static const struct cairn_labels *sid_labels_get(struct sid_labels *sl, struct cairn_store *s,
                                                 const char *tenant, uint32_t sid)
{
    size_t lo = 0, hi = sl->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (sl->sids[mid] < sid)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == sl->n || sl->sids[lo] != sid)
        return NULL;
    if (!sl->labels[lo]) {
        struct cairn_labels *ls = malloc(sizeof *ls);
        if (!ls)
            return NULL;
        cairn_labels_init(ls);
        if (cairn_store_stream_labels(s, tenant, sid, ls)) {
            cairn_labels_deinit(ls);
            free(ls);
            return NULL;
        }
        sl->labels[lo] = ls;
    }
    return sl->labels[lo];
}

static void sid_labels_deinit(struct sid_labels *sl)
{
    for (size_t i = 0; i < sl->n; i++) {
        if (sl->labels && sl->labels[i]) {
            cairn_labels_deinit(sl->labels[i]);
            free(sl->labels[i]);
        }
    }
    free(sl->labels);
    free(sl->sids);
}

static int cmp_stream_labels(const void *a, const void *b)
{
    const struct out_stream *x = a, *y = b;
    return strcmp(cairn_buf_cstr(&x->labels_json), cairn_buf_cstr(&y->labels_json));
}

/* ["ts","line"], or with categorized labels (meta, a JSON object) ["ts","line",meta] */
static int append_value(struct out_stream *os, int64_t ts, const char *line, size_t len,
                        const char *meta, size_t meta_len)
{
    char num[24];
    int k = snprintf(num, sizeof num, "%lld", (long long)ts);
    struct cairn_buf *b = &os->values;
    if ((b->len && cairn_buf_append_byte(b, ',')) || cairn_buf_append(b, "[\"", 2) ||
        cairn_buf_append(b, num, (size_t)k) || cairn_buf_append(b, "\",", 2) ||
        cairn_buf_append_json_str(b, line, len) ||
        (meta_len && (cairn_buf_append_byte(b, ',') || cairn_buf_append(b, meta, meta_len))) ||
        cairn_buf_append_byte(b, ']'))
        return CAIRN_ENOMEM;
    return 0;
}

static int encode_result(struct out_set *o, int categorize, struct cairn_buf *out)
{
    if (o->n > 1) /* qsort(NULL, 0) is undefined (UBSan) */
        qsort(o->v, o->n, sizeof *o->v, cmp_stream_labels);
    if (cairn_buf_append_str(out, "\"resultType\":\"streams\",\"result\":["))
        return CAIRN_ENOMEM;
    for (size_t i = 0; i < o->n; i++) {
        struct out_stream *os = &o->v[i];
        if ((i && cairn_buf_append_byte(out, ',')) || cairn_buf_append_str(out, "{\"stream\":") ||
            cairn_buf_append(out, os->labels_json.data, os->labels_json.len) ||
            cairn_buf_append_str(out, ",\"values\":[") ||
            cairn_buf_append(out, cairn_buf_cstr(&os->values), os->values.len) ||
            cairn_buf_append_str(out, "]}"))
            return CAIRN_ENOMEM;
    }
    if (cairn_buf_append_byte(out, ']'))
        return CAIRN_ENOMEM;
    return categorize ? cairn_buf_append_str(out, ",\"encodingFlags\":[\"categorize-labels\"]") : 0;
}

/* The limit reached by all workers together. Each worker publishes the timestamps of
 * the entries it keeps, in its iterator's order, in kts[0..n) (n stored last, with
 * release); any worker may then find the limit-th timestamp of them all in that order:
 * the answer cannot need an entry strictly after it, so every worker's iterator stops
 * there (cairn_store_iter_set_stop). It only moves toward the start, so whichever
 * worker computes it, and however stale its view of the others, the stop is safe. */
struct cut {
    size_t limit;
    int backward;
    _Atomic int64_t stop;
};

/* One kept entry of a worker: its result stream (in the worker's set) and its line
 * in the worker's line buffer. */
struct kept {
    int64_t ts;
    uint32_t sid;
    uint32_t stream;
    size_t off;
    size_t len;
    size_t meta_len; /* categorize-labels: its labels' JSON, right after the line */
};

struct worker {
    struct cairn_store *s;
    const struct cairn_query_params *p;
    const char *text;
    size_t text_len;
    roaring_bitmap_t *sids;     /* this shard's streams (owned) */
    struct kept *v;
    size_t n, cap;
    struct out_set streams;     /* labels_json per result stream; values unused */
    struct cairn_buf lines;
    uint64_t lines_scanned, bytes_scanned;
    uint64_t blocks_filtered; /* skipped unread by their filter */
    const struct cairn_store_needles *needles; /* literals every line holds (shared) */
    int rc;
    struct cairn_err err;
    struct cut *cut;            /* NULL: no limit, or one worker */
    int64_t deadline;           /* cairn__query_deadline */
    struct cairn__qgov *gov;    /* the query's budget and stop flag (shared) */
    size_t charged;             /* bytes this worker charged to gov */
    struct worker *all;         /* every worker, for the cut */
    size_t nall;
    int64_t *kts;               /* [limit]: the kept timestamps, published */
    _Atomic size_t nkts;
};

/* The limit-th timestamp, in iteration order, of what the workers kept so far, moved
 * into the cut's stop if it is tighter; nothing until they kept limit entries. */
static void cut_update(struct worker *w)
{
    struct cut *c = w->cut;
    size_t n[64], pos[64] = {0}, total = 0;
    for (size_t i = 0; i < w->nall; i++)
        total += n[i] = atomic_load_explicit(&w->all[i].nkts, memory_order_acquire);
    if (total < c->limit)
        return;
    int64_t t = 0;
    for (size_t k = 0; k < c->limit; k++) { /* merge walk to the limit-th */
        size_t best = w->nall;
        for (size_t i = 0; i < w->nall; i++) {
            if (pos[i] == n[i])
                continue;
            int64_t x = w->all[i].kts[pos[i]];
            if (best == w->nall ||
                (c->backward ? x > w->all[best].kts[pos[best]] : x < w->all[best].kts[pos[best]]))
                best = i;
        }
        t = w->all[best].kts[pos[best]++];
    }
    int64_t cur = atomic_load_explicit(&c->stop, memory_order_relaxed);
    while (c->backward ? t > cur : t < cur)
        if (atomic_compare_exchange_weak(&c->stop, &cur, t))
            break;
}

static int worker_keep(struct worker *w, int64_t ts, uint32_t sid, uint32_t stream,
                       const char *line, size_t len, const struct cairn_buf *meta)
{
    /* the kept line and its index entry; the arrays double, so this is within 2x */
    size_t meta_len = meta ? meta->len : 0;
    size_t cost = len + meta_len + 2 * sizeof(struct kept);
    int rc = cairn__qgov_charge(w->gov, cost);
    if (rc)
        return rc;
    w->charged += cost;
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 256;
        struct kept *v = realloc(w->v, cap * sizeof *v);
        if (!v)
            return CAIRN_ENOMEM;
        w->v = v;
        w->cap = cap;
    }
    size_t off = w->lines.len;
    if (cairn_buf_append(&w->lines, line, len) ||
        (meta_len && cairn_buf_append(&w->lines, meta->data, meta_len)))
        return CAIRN_ENOMEM;
    w->v[w->n++] = (struct kept){ts, sid, stream, off, len, meta_len};
    if (w->cut) {
        w->kts[w->n - 1] = ts; /* n <= limit: the loop stops there */
        atomic_store_explicit(&w->nkts, w->n, memory_order_release);
        /* every 64 entries is often enough: a late stop costs entries, not answers */
        if ((w->n & 63) == 0 || w->n == w->cut->limit)
            cut_update(w);
    }
    return 0;
}

/* What the store-side filter needs: the pipeline, and the stream labels by id (a
 * label filter decided on the raw line must know the stream's own labels). */
struct pre_ctx {
    struct cairn_logql_pipeline *pl;
    struct sid_labels *sl;
    struct cairn_store *s;
    const char *tenant;
    uint32_t sid;                   /* the stream of the block filtered last */
    const struct cairn_labels *ls;  /* and its labels (NULL: none looked up yet) */
    const struct cairn_entry_iter *it; /* for the filtered entry's structured metadata */
};

static int prefilter(void *ctx, uint32_t sid, int64_t ts, const char *line, size_t len)
{
    struct pre_ctx *c = ctx;
    (void)ts;
    if (!c->ls || sid != c->sid) { /* a block's lines come together: once per block */
        c->sid = sid;
        c->ls = sid_labels_get(c->sl, c->s, c->tenant, sid);
    }
    /* labels NULL (out of memory): only the line filters decide, the rest is kept; with
     * structured metadata, so do they (a label filter may read the metadata) */
    size_t sml;
    if (cairn_store_iter_sm(c->it, &sml) && sml)
        return cairn_logql_pipeline_prefilter(c->pl, line, len);
    return cairn_logql_pipeline_prefilter_stream(c->pl, c->ls, line, len);
}

/* Run the query over the worker's shard; results stay in the worker. */
static void *worker_run(void *arg)
{
    struct worker *w = arg;
    const struct cairn_query_params *p = w->p;
    struct cairn_logql_query *q = NULL;
    struct cairn_logql_pipeline *pl = NULL;
    struct cairn_entry_iter it = {0};
    struct sid_labels sl = {0};
    struct cairn__qdup dup = {0};
    struct cairn_labels tmp;
    struct cairn_buf meta = CAIRN_BUF_INIT;
    int rc, iter_open = 0;
    cairn_labels_init(&tmp);
    rc = cairn_logql_parse(w->text, w->text_len, &q, &w->err);
    if (rc)
        goto out;
    pl = cairn_logql_pipeline_create(cairn_logql_root(q), &w->err);
    if (!pl) {
        rc = w->err.code ? w->err.code : CAIRN_ENOMEM;
        goto out;
    }
    sl.n = roaring_bitmap_get_cardinality(w->sids);
    sl.sids = malloc((sl.n ? sl.n : 1) * sizeof *sl.sids);
    sl.labels = calloc(sl.n ? sl.n : 1, sizeof *sl.labels);
    if (!sl.sids || !sl.labels) {
        rc = CAIRN_ENOMEM;
        goto out;
    }
    roaring_bitmap_to_uint32_array(w->sids, sl.sids);
    int fixed = cairn_logql_pipeline_labels_fixed(pl);
    /* Leading line filters, and label filters decided on the raw line, run inside the
     * store on each block as it is decoded, so the time merge only sees the lines they
     * keep. */
    int pre = cairn_logql_pipeline_has_prefilter(pl);
    cairn_logql_pipeline_set_prefiltered(pl, pre);
    struct pre_ctx pc = {pl, &sl, w->s, p->tenant, 0, NULL, &it};
    rc = cairn_store_iter_init_needles(&it, w->s, p->tenant, w->sids, p->start, p->end,
                                       p->direction, 0, pre ? prefilter : NULL, &pc, w->needles);
    if (rc)
        goto out;
    iter_open = 1;
    if (w->cut)
        cairn_store_iter_set_stop(&it, &w->cut->stop);
    cairn_store_iter_set_deadline(&it, w->deadline);
    uint32_t sid;
    struct cairn_entry ent;
    while (p->limit == 0 || w->n < p->limit) {
        rc = cairn_store_iter_next(&it, &sid, &ent);
        if (rc <= 0)
            break;
        rc = 0;
        if ((w->lines_scanned & 1023) == 1023 && (rc = cairn__qgov_check(w->gov)))
            break;
        w->lines_scanned++;
        w->bytes_scanned += ent.len;
        if ((rc = cairn__qdup_seen(&dup, sid, ent.ts, ent.line, ent.len))) {
            if (rc < 0)
                break;
            rc = 0;
            continue; /* a duplicate */
        }
        const struct cairn_labels *ls = sid_labels_get(&sl, w->s, p->tenant, sid);
        if (!ls) {
            rc = CAIRN_ENOMEM;
            break;
        }
        size_t sml;
        const char *sm = cairn_store_iter_sm(&it, &sml);
        cairn_logql_pipeline_set_sm(pl, sm, sml);
        int keep = cairn_logql_pipeline_process(pl, ent.ts, ls, ent.line, ent.len);
        if (keep <= 0) {
            rc = keep;
            if (keep < 0)
                break;
            continue;
        }
        /* the stream's own labels: fixed ones without metadata, and every stream with
         * categorize-labels (the rest goes with each value) */
        int own = p->categorize || (fixed && !sml);
        uint64_t key = own ? sid : cairn_logql_pipeline_labels_hash(pl);
        int created;
        struct out_stream *o = out_set_get(&w->streams, key, &created);
        if (!o) {
            rc = CAIRN_ENOMEM;
            break;
        }
        if (created) {
            if (own)
                rc = cairn_labels_format_json(ls, &o->labels_json);
            else
                rc = cairn_logql_pipeline_labels(pl, &tmp)
                         ? CAIRN_ENOMEM
                         : cairn_labels_format_json(&tmp, &o->labels_json);
            size_t cost = sizeof *o + o->labels_json.len;
            if (rc == 0 && (rc = cairn__qgov_charge(w->gov, cost)) == 0)
                w->charged += cost;
            if (rc)
                break;
        }
        size_t len;
        const char *line = cairn_logql_pipeline_line(pl, &len);
        cairn_buf_reset(&meta);
        if (p->categorize && (rc = cairn_logql_pipeline_categorized(pl, &meta)))
            break;
        rc = worker_keep(w, ent.ts, sid, (uint32_t)(o - w->streams.v), line, len, &meta);
        if (rc)
            break;
    }
    if (w->cut)
        cut_update(w); /* what this worker kept may stop the others */
    uint64_t skipped, skipped_bytes;
    cairn_store_iter_skipped(&it, &skipped, &skipped_bytes);
    w->lines_scanned += skipped;
    w->bytes_scanned += skipped_bytes;
    w->blocks_filtered += cairn_store_iter_filtered_blocks(&it);
    if (rc < 0 && rc != CAIRN_ENOMEM && !w->err.code)
        cairn_err_set(&w->err, rc, "reading the store: %s", cairn_strerror(rc));
out:
    if (iter_open)
        cairn_store_iter_deinit(&it);
    cairn_logql_pipeline_destroy(pl);
    cairn_logql_query_destroy(q);
    sid_labels_deinit(&sl);
    cairn__qdup_deinit(&dup);
    cairn_labels_deinit(&tmp);
    cairn_buf_deinit(&meta);
    w->rc = rc;
    return NULL;
}

static void worker_deinit(struct worker *w)
{
    cairn__qgov_release(w->gov, w->charged);
    w->charged = 0;
    free(w->kts);
    free(w->v);
    out_set_deinit(&w->streams);
    cairn_buf_deinit(&w->lines);
    cairn_bitmap_free(w->sids);
}

/* Does entry a come before b in the iterator's order for this direction? */
static int kept_before(const struct kept *a, const struct kept *b, int backward)
{
    if (a->ts != b->ts)
        return backward ? a->ts > b->ts : a->ts < b->ts;
    return backward ? a->sid > b->sid : a->sid < b->sid;
}

/* Merge the workers' lists in iterator order into the answer's streams, up to limit. */
static int assemble(struct worker *w, size_t nw, const struct cairn_query_params *p,
                    struct out_set *os, size_t *kept_total)
{
    size_t pos[64] = {0};
    size_t kept = 0;
    int backward = p->direction == CAIRN_ITER_BACKWARD;
    while (p->limit == 0 || kept < p->limit) {
        size_t best = nw;
        for (size_t i = 0; i < nw; i++) {
            if (pos[i] < w[i].n &&
                (best == nw || kept_before(&w[i].v[pos[i]], &w[best].v[pos[best]], backward)))
                best = i;
        }
        if (best == nw)
            break;
        const struct kept *k = &w[best].v[pos[best]++];
        const struct out_stream *ws = &w[best].streams.v[k->stream];
        int created;
        struct out_stream *o = out_set_get(os, ws->key, &created);
        if (!o)
            return CAIRN_ENOMEM;
        if (created) {
            o->last_ts = INT64_MIN;
            if (cairn_buf_append(&o->labels_json, ws->labels_json.data, ws->labels_json.len))
                return CAIRN_ENOMEM;
        }
        if (p->interval > 0 && o->last_ts != INT64_MIN) {
            int64_t d = k->ts - o->last_ts;
            if ((d < 0 ? -d : d) < p->interval)
                continue;
        }
        if (p->visit) {
            int rc = p->visit(p->visit_ud, o->labels_json.data, o->labels_json.len, k->ts,
                              w[best].lines.data + k->off, k->len,
                              w[best].lines.data + k->off + k->len, k->meta_len);
            if (rc)
                return rc;
        } else if (append_value(o, k->ts, w[best].lines.data + k->off, k->len,
                                w[best].lines.data + k->off + k->len, k->meta_len)) {
            return CAIRN_ENOMEM;
        }
        o->last_ts = k->ts;
        kept++;
    }
    *kept_total = kept;
    return 0;
}

int cairn__query_logs(struct cairn_store *s, const struct cairn_logql_query *q,
                      const struct cairn_query_params *p, struct cairn__query_stats *st,
                      struct cairn_buf *out, struct cairn_err *err)
{
    enum { MAX_WORKERS = 64 };
    struct worker w[MAX_WORKERS];
    pthread_t th[MAX_WORKERS];
    struct out_set os = {0};
    size_t nw = 0, started = 0;
    int rc;
    struct cairn_store_needles *needles = NULL; /* shared by the workers */
    roaring_bitmap_t *sids = roaring_bitmap_create();
    if (!sids)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory running the query");
    rc = cairn__query_select(s, p->tenant, cairn_logql_root(q), p->start, p->end, sids, err);
    if (rc)
        goto out;
    uint64_t n = roaring_bitmap_get_cardinality(sids);
    st->streams = n;
    long cores = p->threads > 0 ? p->threads : sysconf(_SC_NPROCESSORS_ONLN);
    size_t want = cores < 1 ? 1 : (size_t)cores;
    if (want > MAX_WORKERS)
        want = MAX_WORKERS;
    if (want > n)
        want = n ? (size_t)n : 1;
    /* interval and distinct hold state across streams: one worker sees them all */
    if (p->interval > 0)
        want = 1;
    for (const struct cairn_lq_stage *st = cairn_logql_root(q)->stages; st; st = st->next)
        if (st->kind == CAIRN_LQ_STAGE_DISTINCT)
            want = 1;
    /* the literals every kept line holds: blocks whose filter lacks one are not read
     * (the workers share the filters read) */
    {
        struct cairn_err perr = {0};
        struct cairn_logql_pipeline *pl = cairn_logql_pipeline_create(cairn_logql_root(q), &perr);
        const char *nl[8];
        size_t nlen[8], nn = pl ? cairn_logql_pipeline_needles(pl, nl, nlen, 8) : 0;
        if (nn)
            rc = cairn_store_needles_create(s, nl, nlen, nn < 8 ? nn : 8, &needles);
        cairn_logql_pipeline_destroy(pl); /* the workers compile their own */
        if (rc)
            goto out;
    }
    size_t tlen;
    const char *text = cairn_logql_text(q, &tlen);
    int backward = p->direction == CAIRN_ITER_BACKWARD;
    struct cut cut = {p->limit, backward, backward ? INT64_MIN : INT64_MAX};
    int cutting = want > 1 && p->limit > 0;
    for (nw = 0; nw < want; nw++) {
        memset(&w[nw], 0, sizeof w[nw]);
        w[nw] = (struct worker){.s = s, .p = p, .text = text, .text_len = tlen, .all = w,
                                .deadline = cairn__query_deadline(st, p), .gov = st->gov,
                                .nall = want, .cut = cutting ? &cut : NULL,
                                .needles = needles};
        if (!(w[nw].sids = roaring_bitmap_create())) {
            rc = CAIRN_ENOMEM;
            nw++;
            goto out;
        }
        if (cutting && !(w[nw].kts = malloc(p->limit * sizeof *w[nw].kts)))
            cutting = 0; /* a huge limit: the workers run to it each (as correct) */
    }
    for (size_t i = 0; i < nw && !cutting; i++)
        w[i].cut = NULL;
    /* Deal the streams round-robin so shards get similar numbers of streams. */
    roaring_uint32_iterator_t *it = roaring_create_iterator(sids);
    if (!it) {
        rc = CAIRN_ENOMEM;
        goto out;
    }
    for (size_t i = 0; it->has_value; roaring_advance_uint32_iterator(it), i++)
        roaring_bitmap_add(w[i % nw].sids, it->current_value);
    roaring_free_uint32_iterator(it);
    for (started = 1; started < nw; started++) {
        if (pthread_create(&th[started], NULL, worker_run, &w[started]))
            break; /* run the rest on this thread below */
    }
    worker_run(&w[0]);
    for (size_t i = started; i < nw; i++)
        worker_run(&w[i]);
    for (size_t i = 1; i < started; i++)
        pthread_join(th[i], NULL);
    for (size_t i = 0; i < nw; i++) {
        st->lines += w[i].lines_scanned;
        st->bytes += w[i].bytes_scanned;
        st->blocks_filtered += w[i].blocks_filtered;
        if (w[i].rc && !rc) {
            rc = w[i].rc;
            *err = w[i].err;
        }
    }
    if (rc)
        goto out;
    size_t kept;
    rc = assemble(w, nw, p, &os, &kept);
    if (rc == 0) {
        st->returned = kept;
        if (!p->visit)
            rc = encode_result(&os, p->categorize, out);
    }
out:
    for (size_t i = 0; i < nw; i++)
        worker_deinit(&w[i]);
    out_set_deinit(&os);
    cairn_bitmap_free(sids);
    cairn_store_needles_destroy(needles);
    return rc;
}
