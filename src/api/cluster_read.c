/* cluster_read.c -- the read path across nodes.
 *
 * Write node side: GET /internal/read returns the raw entries of the streams matching
 * a selector over [start, end) -- labels and (timestamp, line) pairs, nothing
 * evaluated -- as a snappy protobuf PushRequest built by the push client's encoder,
 * bounded by max_bytes (the asking query's memory budget) and an optional limit.
 *
 * Read node side: for one request, ask every write node (ACTIVE or LEAVING) for the
 * selectors of the query over the range the query reads (its range aggregations'
 * windows and offsets included), merge what comes back stream by stream, sort each
 * stream by time and drop exact duplicates (the replicas of an entry on rf nodes
 * collapse to one), and append it to a scratch store made for the request. The
 * normal query engine then runs on that store, so a read node gives the answers a
 * single node would give on the same entries, metric queries included.
 *
 * Sources: the write nodes, and optionally one more given to cairn_api_set_cluster
 * (cairn_api_read_source_fn: the object-storage reader, src/objstore, plugs in there).
 * It fills a push body with the entries of uploaded blocks for the same selectors and
 * range; they join the same merge, so an entry found in the bucket and on write nodes
 * collapses to one. Its failure fails the query (503): only it has the older data.
 *
 * Costs: a query moves its selectors' raw entries over the network once per replica,
 * so a read node suits recent data and bounded queries; past the memory budget the
 * query fails with 400 rather than growing. */
#include <curl/curl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_int.h"
#include "cairn/limits.h"
#include "cairn/logql.h"
#include "cairn/push.h"
#include "cairn/query.h"
#include "cairn/ring.h"
#include "cairn/ring_client.h"
#include "cairn/store_read.h"
#include "cairn/timeutil.h"

/* ---- write node: raw entries for a selector ------------------------------------ */

struct read_req {
    const char *tenant;
    const char *sel;      /* "" : every stream */
    int64_t start, end;
    size_t limit;         /* entries; 0: all */
    enum cairn_iter_dir dir;
    int series_only;      /* one entry per stream */
    size_t max_bytes;     /* line bytes; past it CAIRN_ELIMIT */
};

struct sid_text {
    uint32_t sid;
    size_t off, len;
};

static int cmp_sid(const void *a, const void *b)
{
    uint32_t x = ((const struct sid_text *)a)->sid, y = ((const struct sid_text *)b)->sid;
    return x < y ? -1 : x > y;
}

/* Append the entries req asks for to body (the caller resets it). 0; CAIRN_EINVAL (bad
 * selector, err says why); CAIRN_ELIMIT past max_bytes; CAIRN_ENOMEM. */
static int read_local(struct cairn_store *st, const struct read_req *q,
                      struct cairn_push_body *body, struct cairn_err *err)
{
    roaring_bitmap_t *sids = roaring_bitmap_create();
    struct cairn_buf lt = CAIRN_BUF_INIT;
    struct sid_text *idx = NULL;
    size_t n = 0;
    int rc = sids ? 0 : CAIRN_ENOMEM;
    if (!rc)
        rc = q->sel && *q->sel ? cairn_query_select_text(st, q->tenant, q->sel, strlen(q->sel),
                                                         q->start, q->end, sids, err)
                               : cairn_store_streams(st, q->tenant, q->start, q->end, sids);
    uint64_t card = rc ? 0 : roaring_bitmap_get_cardinality(sids);
    if (card && !(idx = malloc(card * sizeof *idx)))
        rc = CAIRN_ENOMEM;
    roaring_uint32_iterator_t *it = rc || !card ? NULL : roaring_create_iterator(sids);
    for (; it && it->has_value && rc == 0; roaring_advance_uint32_iterator(it)) {
        size_t off = lt.len;
        if (cairn_store_stream_labels_str(st, q->tenant, it->current_value, &lt) == 0)
            idx[n++] = (struct sid_text){it->current_value, off, lt.len - off};
    }
    if (it)
        roaring_free_uint32_iterator(it);
    /* idx is in bitmap order: ascending sid already */
    size_t count = 0;
    if (q->series_only) {
        for (size_t i = 0; i < n && rc == 0; i++) {
            roaring_bitmap_t *one = roaring_bitmap_of(1, idx[i].sid);
            struct cairn_entry_iter ei;
            uint32_t sid;
            struct cairn_entry e;
            rc = one ? cairn_store_iter_init(&ei, st, q->tenant, one, q->start, q->end,
                                             CAIRN_ITER_FORWARD, 0)
                     : CAIRN_ENOMEM;
            if (rc == 0) {
                if (cairn_store_iter_next(&ei, &sid, &e) == 1)
                    rc = cairn_push_body_add(body, lt.data + idx[i].off, idx[i].len, e.ts, e.line,
                                             e.len);
                cairn_store_iter_deinit(&ei);
            }
            cairn_bitmap_free(one);
        }
    } else if (rc == 0 && n) {
        struct cairn_entry_iter ei;
        rc = cairn_store_iter_init(&ei, st, q->tenant, sids, q->start, q->end, q->dir, 0);
        uint32_t sid;
        struct cairn_entry e;
        int got;
        int64_t last = 0;
        struct cairn_entry prev = {0};
        uint32_t psid = UINT32_MAX;
        while (rc == 0 && (got = cairn_store_iter_next(&ei, &sid, &e)) == 1) {
            struct sid_text key = {.sid = sid}, *t = bsearch(&key, idx, n, sizeof *idx, cmp_sid);
            if (!t)
                continue;
            /* a stored duplicate (a push retried after its first copy left the head)
             * would take a place under the limit: skip it here (the previous entry's
             * line is still readable, cairn_store_iter_next promises it) */
            if (sid == psid && e.ts == prev.ts && e.len == prev.len &&
                (e.len == 0 || memcmp(e.line, prev.line, e.len) == 0))
                continue;
            psid = sid;
            prev = e;
            /* past the limit, only the rest of the last timestamp's run: the asking node
             * orders ties its own way, so it must see all of them */
            if (q->limit && count >= q->limit && e.ts != last)
                break;
            last = e.ts;
            count++;
            rc = cairn_push_body_add(body, lt.data + t->off, t->len, e.ts, e.line, e.len);
            if (rc == 0 && q->max_bytes && cairn_push_body_line_bytes(body) > q->max_bytes)
                rc = cairn_err_set(err, CAIRN_ELIMIT,
                                   "the query's streams hold more than %zu bytes in its time "
                                   "range on one write node (limits_config.max_query_memory): "
                                   "narrow the selector or the range",
                                   q->max_bytes);
        }
        if (rc == 0 && got < 0)
            rc = got;
        cairn_store_iter_deinit(&ei);
    }
    free(idx);
    cairn_buf_deinit(&lt);
    cairn_bitmap_free(sids);
    return rc;
}

static int param_i64(struct cairn__req *r, const char *name, int64_t def, int64_t *out)
{
    const char *v = cairn__req_query(r, name);
    *out = def;
    return v && *v ? cairn_parse_i64(v, strlen(v), out) : 0;
}

void cairn__handle_internal_read(struct cairn_api *api, struct cairn__req *r)
{
    if (cairn__cluster_refused(api, r))
        return;
    struct cairn_store *st = atomic_load(&api->store);
    if (!st) {
        cairn__reply_text(r, 503, "not ready: the store is still replaying its WAL");
        return;
    }
    struct read_req q = {.tenant = cairn__req_tenant(r), .sel = cairn__req_query(r, "query")};
    int64_t limit, series, maxb;
    const char *dir = cairn__req_query(r, "direction");
    if (param_i64(r, "start", 0, &q.start) || param_i64(r, "end", INT64_MAX, &q.end) ||
        param_i64(r, "limit", 0, &limit) || param_i64(r, "series", 0, &series) ||
        param_i64(r, "max_bytes", 0, &maxb) || limit < 0 || maxb < 0) {
        cairn__reply_text(r, 400, "internal read: start, end, limit, series and max_bytes are integers");
        return;
    }
    q.limit = (size_t)limit;
    q.series_only = series != 0;
    q.max_bytes = (size_t)maxb;
    q.dir = dir && strcmp(dir, "backward") == 0 ? CAIRN_ITER_BACKWARD : CAIRN_ITER_FORWARD;
    struct cairn_push_body *body = cairn_push_body_create();
    struct cairn_err err = {0};
    const char *data;
    size_t len;
    int rc = body ? read_local(st, &q, body, &err) : CAIRN_ENOMEM;
    if (rc == 0)
        rc = cairn_push_body_encode(body, &data, &len);
    if (rc) {
        cairn__reply_text(r, rc == CAIRN_EINVAL ? 400 : rc == CAIRN_ELIMIT ? 413 : 500, "%s",
                          err.msg[0] ? err.msg : cairn_strerror(rc));
    } else {
        cairn_buf_reset(r->reply);
        if (cairn_buf_append(r->reply, data, len)) {
            cairn__reply_text(r, 500, "out of memory");
        } else {
            r->status = 200;
            r->content_type = "application/x-protobuf";
        }
    }
    cairn_push_body_destroy(body);
}

/* ---- read node: a scratch store from every write node's entries ----------------- */

struct cairn__scratch {
    struct cairn_store *st;
    char dir[512];
};

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(p);
    return 0;
}

void cairn__cluster_scratch_clean(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

void cairn__cluster_scratch_done(struct cairn__scratch *s)
{
    if (!s)
        return;
    cairn_store_abandon(s->st); /* nothing to keep: no flush, no checkpoint */
    nftw(s->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(s);
}

int cairn__cluster_reads_remote(struct cairn_api *api)
{
    return api->cluster && (api->cluster->roles & CAIRN_RING_ROLE_READ);
}

/* One decoded reply. */
struct part {
    struct cairn_ingest_batch b;
};

struct ref {
    uint64_t fp;
    uint32_t part, stream;
};

static int cmp_ref(const void *a, const void *b)
{
    const struct ref *x = a, *y = b;
    if (x->fp != y->fp)
        return x->fp < y->fp ? -1 : 1;
    return x->part < y->part ? -1 : x->part > y->part;
}

static int cmp_entry(const void *a, const void *b)
{
    const struct cairn_entry *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return memcmp(x->line, y->line, x->len);
}

/* Merge the parts into st: per stream, every part's entries sorted, duplicates out. */
static int merge_into(struct cairn_store *st, const char *tenant, struct part *parts, size_t np)
{
    size_t nr = 0, ne = 0;
    for (size_t p = 0; p < np; p++) {
        nr += parts[p].b.n;
        ne += parts[p].b.ne;
    }
    struct ref *refs = malloc((nr ? nr : 1) * sizeof *refs);
    struct cairn_entry *es = malloc((ne ? ne : 1) * sizeof *es);
    struct cairn_push_stream *ps = malloc((nr ? nr : 1) * sizeof *ps);
    int rc = refs && es && ps ? 0 : CAIRN_ENOMEM;
    size_t k = 0;
    for (size_t p = 0; p < np && rc == 0; p++)
        for (size_t i = 0; i < parts[p].b.n; i++)
            if (parts[p].b.s[i].n && !parts[p].b.s[i].bad)
                refs[k++] = (struct ref){cairn_labels_fingerprint(&parts[p].b.labels[i]),
                                         (uint32_t)p, (uint32_t)i};
    if (rc == 0)
        qsort(refs, k, sizeof *refs, cmp_ref);
    size_t used = 0, nps = 0;
    for (size_t i = 0; i < k && rc == 0;) {
        size_t j = i, first = used;
        for (; j < k && refs[j].fp == refs[i].fp; j++) {
            const struct cairn_ingest_batch *b = &parts[refs[j].part].b;
            const struct cairn_ingest_bstream *s = &b->s[refs[j].stream];
            memcpy(es + used, b->e + s->first, s->n * sizeof *es);
            used += s->n;
        }
        qsort(es + first, used - first, sizeof *es, cmp_entry);
        size_t w = first;
        for (size_t x = first; x < used; x++)
            if (w == first || cmp_entry(&es[w - 1], &es[x]) != 0)
                es[w++] = es[x];
        used = w;
        ps[nps++] = (struct cairn_push_stream){
            .labels = &parts[refs[i].part].b.labels[refs[i].stream], .entries = es + first,
            .n = w - first, .fp = refs[i].fp, .fp_set = 1};
        i = j;
    }
    if (rc == 0 && nps)
        rc = cairn_store_append(st, tenant, ps, nps);
    free(ps);
    free(es);
    free(refs);
    return rc;
}

/* Decode one reply (snappy protobuf) into part. The sender capped its line bytes at
 * budget; the protobuf framing adds labels per stream and ~20 bytes per entry. */
static int decode_part(struct cairn_api *api, const struct cairn_buf *reply, size_t budget,
                       struct part *pt, struct cairn_err *err)
{
    struct cairn_ingest_batch *b = &pt->b;
    int rc = cairn_ingest_unsnappy(reply->data ? reply->data : "", reply->len, 2 * budget + (64u << 20),
                             &b->dec, NULL, err);
    if (rc == 0)
        rc = cairn_ingest_decode_pb(b, b->dec.data ? b->dec.data : "", b->dec.len,
                                    &api->limits.ingest, err);
    return rc;
}

int cairn_api_read_store(struct cairn_store *st, const char *tenant, const char *sel,
                         int64_t start, int64_t end, int series_only, size_t max_bytes,
                         struct cairn_push_body *body)
{
    struct read_req q = {.tenant = tenant, .sel = sel, .start = start, .end = end,
                         .dir = CAIRN_ITER_FORWARD, .series_only = series_only,
                         .max_bytes = max_bytes};
    struct cairn_err err = {0};
    return read_local(st, &q, body, &err);
}

/* cairn__cluster_scratch with a limit and direction for the write nodes (0: none):
 * for a log query without a pipeline, whose answer is among each node's first entries. */
static struct cairn_store *scratch(struct cairn_api *api, struct cairn__req *r, const char *tenant,
                                   const char *const *sels, size_t nsel, int64_t start,
                                   int64_t end, int series_only, size_t limit,
                                   enum cairn_iter_dir dir, struct cairn__scratch **out)
{
    struct cairn__cluster *c = api->cluster;
    static const char *const every[] = {""};
    if (!nsel) {
        sels = every;
        nsel = 1;
    }
    *out = NULL;
    struct cairn_ring_view *v = cairn_ring_view_get(c->ring);
    size_t budget = api->limits.max_query_memory ? api->limits.max_query_memory
                                                 : CAIRN_MAX_QUERY_MEMORY;
    /* the sources: every write node that holds data (JOINING ones replay their WAL) */
    uint32_t *src = malloc((v->n ? v->n : 1) * sizeof *src);
    size_t ns = 0;
    long self = cairn_ring_find(v, cairn_ring_self_id(c->ring));
    int self_src = 0;
    for (size_t i = 0; src && i < v->n; i++)
        if ((v->members[i].roles & CAIRN_RING_ROLE_WRITE) && v->members[i].state != CAIRN_RING_JOINING) {
            if ((long)i == self)
                self_src = 1; /* read from the local store directly, last */
            else
                src[ns++] = (uint32_t)i;
        }
    if (src && self_src)
        src[ns++] = (uint32_t)self;
    /* one call per (write node, selector); then, with a further source (the bucket
     * reader), one slot per selector filled by it, merged like the others */
    size_t ncalls = ns * nsel, nslots = ncalls + (c->read_source ? nsel : 0);
    struct cairn_ring_call *calls = calloc(nslots ? nslots : 1, sizeof *calls);
    char **paths = calloc(nslots ? nslots : 1, sizeof *paths);
    struct part *parts = calloc(nslots ? nslots : 1, sizeof *parts);
    struct cairn__scratch *scr = calloc(1, sizeof *scr);
    struct cairn_buf msg = CAIRN_BUF_INIT;
    struct cairn_err err = {0};
    int status = 500;
    int rc = src && calls && paths && parts && scr ? 0 : CAIRN_ENOMEM;
    for (size_t i = ncalls; i < nslots && rc == 0; i++)
        cairn_ingest_batch_init(&parts[i].b);
    for (size_t i = 0; i < ncalls && rc == 0; i++) {
        char *q = curl_easy_escape(NULL, sels[i % nsel], 0);
        struct cairn_buf p = CAIRN_BUF_INIT;
        rc = !q || cairn_buf_appendf(&p,
                                     "/internal/read?query=%s&start=%lld&end=%lld&series=%d"
                                     "&max_bytes=%zu&limit=%zu&direction=%s",
                                     q, (long long)start, (long long)end, series_only, budget,
                                     limit, dir == CAIRN_ITER_BACKWARD ? "backward" : "forward")
                 ? CAIRN_ENOMEM
                 : 0;
        curl_free(q);
        paths[i] = cairn_buf_detach(&p, NULL);
        calls[i] = (struct cairn_ring_call){.addr = v->members[src[i / nsel]].addr,
                                            .path = paths[i], .tenant = tenant,
                                            .max_reply = budget + (1u << 20)};
        cairn_ingest_batch_init(&parts[i].b);
    }
    /* this node's own data (-target=all in a ring) is read in place: a call to itself
     * would wait for a worker of the pool this query may be holding */
    size_t nremote = self_src ? ncalls - nsel : ncalls;
    if (rc == 0)
        rc = cairn_ring_client_run(c->read_client, calls, nremote);
    struct cairn_store *own = atomic_load(&api->store);
    struct cairn_push_body *body = nremote < ncalls ? cairn_push_body_create() : NULL;
    for (size_t i = nremote; i < ncalls && rc == 0; i++) {
        struct read_req q = {.tenant = tenant, .sel = sels[i % nsel], .start = start, .end = end,
                             .dir = dir, .series_only = series_only, .max_bytes = budget,
                             .limit = limit};
        const char *data;
        size_t len;
        if (body)
            cairn_push_body_reset(body);
        int lrc = !body ? CAIRN_ENOMEM : !own ? CAIRN_EAGAIN : read_local(own, &q, body, &err);
        if (lrc == 0)
            lrc = cairn_push_body_encode(body, &data, &len);
        if (lrc == 0 && cairn_buf_append(&calls[i].reply, data, len))
            lrc = CAIRN_ENOMEM;
        calls[i].status = lrc == 0 ? 200 : lrc == CAIRN_EINVAL ? 400 : lrc == CAIRN_ELIMIT ? 413 : 500;
        if (lrc)
            cairn_buf_appendf(&calls[i].reply, "%s", err.msg[0] ? err.msg : cairn_strerror(lrc));
    }
    /* the further source (object storage): its entries as if from one more node */
    if (rc == 0 && nslots > ncalls && !body && !(body = cairn_push_body_create()))
        rc = CAIRN_ENOMEM;
    for (size_t i = ncalls; i < nslots && rc == 0; i++) {
        const char *data;
        size_t len;
        cairn_push_body_reset(body);
        int lrc = c->read_source(c->read_source_ctx, tenant, sels[i - ncalls], start, end,
                                 series_only, budget, body);
        if (lrc == 0)
            lrc = cairn_push_body_encode(body, &data, &len);
        if (lrc == 0 && cairn_buf_append(&calls[i].reply, data, len))
            lrc = CAIRN_ENOMEM;
        calls[i].addr = "object storage";
        calls[i].status = lrc == 0 ? 200 : lrc == CAIRN_EINVAL ? 400 : lrc == CAIRN_ELIMIT ? 413 : 503;
        if (lrc)
            cairn_buf_appendf(&calls[i].reply, "%s", cairn_strerror(lrc));
    }
    cairn_push_body_destroy(body);
    /* an acknowledged entry is on a quorum of its owners: with at most rf/2 write nodes
     * unreachable, each entry is still on one that answered */
    size_t failed = 0, allowed = c->rf / 2, last_failed = SIZE_MAX;
    for (size_t i = 0; i < nslots && rc == 0; i++) {
        atomic_fetch_add(&c->remote_reads, 1);
        if (calls[i].status == 200)
            continue;
        atomic_fetch_add(&c->remote_read_failures, 1);
        if (calls[i].status == 413 || calls[i].status == 400) { /* the query's fault */
            status = 400;
            cairn_buf_appendf(&msg, "%s", cairn_buf_cstr(&calls[i].reply));
            rc = CAIRN_ELIMIT;
            break;
        }
        if (i >= ncalls) { /* the bucket holds data no write node has any more */
            cairn_buf_appendf(&msg, "%sobject storage: %s", msg.len ? ", " : "",
                              cairn_buf_cstr(&calls[i].reply));
            failed = SIZE_MAX / 2;
            break;
        }
        if (i / nsel != last_failed) { /* a node's calls are consecutive: count it once */
            last_failed = i / nsel;
            failed++;
        }
        cairn_buf_appendf(&msg, "%s%s (%s): %s", msg.len ? ", " : "", v->members[src[i / nsel]].id,
                          calls[i].addr, calls[i].status ? cairn_buf_cstr(&calls[i].reply) : calls[i].err);
        calls[i].reply.len = 0; /* nothing to decode */
    }
    if (rc == 0 && failed > allowed) {
        status = 503;
        rc = CAIRN_EAGAIN;
    }
    for (size_t i = 0; i < nslots && rc == 0; i++)
        if (calls[i].status == 200 && (rc = decode_part(api, &calls[i].reply, budget, &parts[i], &err)))
            cairn_buf_appendf(&msg, "reply of %s: %s", calls[i].addr, err.msg);
    if (rc == 0) {
        uint64_t seq = atomic_fetch_add(&c->scratch_seq, 1);
        snprintf(scr->dir, sizeof scr->dir, "%s/q-%llu", c->scratch_dir, (unsigned long long)seq);
        mkdir(c->scratch_dir, 0700);
        struct cairn_store_config sc;
        cairn_store_config_default(&sc);
        sc.data_dir = scr->dir;
        sc.fsync = CAIRN_FSYNC_NEVER;
        sc.ooo_window_ns = INT64_MAX / 4; /* each stream arrives sorted, once */
        /* read once and thrown away: keep it in open blocks, cut none and compress
         * nothing while the merged entries fit the query's budget */
        sc.head_budget = budget > sc.head_budget ? budget : sc.head_budget;
        sc.block_target_raw = 16u << 20;
        sc.codec = CAIRN_CODEC_LZ4;
        if (!(scr->st = cairn_store_open(&sc, &err))) {
            rc = CAIRN_EIO;
            cairn_buf_appendf(&msg, "scratch store %s: %s", scr->dir, err.msg);
        }
    }
    if (rc == 0)
        rc = merge_into(scr->st, tenant, parts, nslots);
    for (size_t i = 0; i < nslots; i++) {
        cairn_buf_deinit(&calls[i].reply);
        free(paths ? paths[i] : NULL);
        if (parts)
            cairn_ingest_batch_deinit(&parts[i].b);
    }
    free(parts);
    free(paths);
    free(calls);
    free(src);
    cairn_ring_view_put(c->ring, v);
    if (rc) {
        if (status == 503 && failed > ns)
            cairn__reply_text(r, 503, "cannot read the data: %s", cairn_buf_cstr(&msg));
        else if (status == 503)
            cairn__reply_text(r, 503, "cannot read from enough write nodes (%zu unreachable, at most "
                                      "%zu allowed with replication_factor %u): %s",
                              failed, allowed, c->rf, cairn_buf_cstr(&msg));
        else
            cairn__reply_text(r, status, "%s", msg.len ? cairn_buf_cstr(&msg) : cairn_strerror(rc));
        cairn_buf_deinit(&msg);
        if (scr && scr->st)
            cairn__cluster_scratch_done(scr);
        else
            free(scr);
        return NULL;
    }
    cairn_buf_deinit(&msg);
    *out = scr;
    return scr->st;
}

struct cairn_store *cairn__cluster_scratch(struct cairn_api *api, struct cairn__req *r,
                                           const char *tenant, const char *const *sels,
                                           size_t nsel, int64_t start, int64_t end,
                                           int series_only, struct cairn__scratch **out)
{
    return scratch(api, r, tenant, sels, nsel, start, end, series_only, 0, CAIRN_ITER_FORWARD,
                   out);
}

/* ---- a query's selectors and the time it reads ----------------------------------- */

static int add_selector(const struct cairn_lq_expr *e, struct cairn_buf *o)
{
    int rc = cairn_buf_append_byte(o, '{');
    for (size_t i = 0; i < e->nmatchers && rc == 0; i++) {
        const struct cairn_matcher *m = &e->matchers[i];
        rc = (i && cairn_buf_append_str(o, ", ")) || cairn_buf_append(o, m->name, m->name_len) ||
             cairn_buf_append_str(o, cairn_matcher_op_str(m->type)) ||
             cairn_go_quote(o, m->value, m->value_len);
    }
    return rc || cairn_buf_append_byte(o, '}') || cairn_buf_append_byte(o, '\0') ? CAIRN_ENOMEM : 0;
}

/* Walk the AST: selectors (NUL-separated into o) and the widest look-back. */
static int walk(const struct cairn_lq_expr *e, struct cairn_buf *o, size_t *n, int64_t *back,
                int64_t *fwd)
{
    if (!e)
        return 0;
    switch (e->kind) {
    case CAIRN_LQ_LOG:
        (*n)++;
        return add_selector(e, o);
    case CAIRN_LQ_RANGE_AGG:
        if (e->range_ns + e->offset_ns > *back)
            *back = e->range_ns + e->offset_ns;
        if (-e->offset_ns > *fwd)
            *fwd = -e->offset_ns;
        return walk(e->log, o, n, back, fwd);
    default:
        return walk(e->inner, o, n, back, fwd) || walk(e->lhs, o, n, back, fwd) ||
               walk(e->rhs, o, n, back, fwd) || walk(e->param, o, n, back, fwd);
    }
}

/* The scratch for LogQL text q over [start, end): a log query reads its range, a
 * metric query its range aggregations' windows and offsets before it too; a bare
 * selector (with limit > 0) takes the limit along. q NULL or "": every stream. */
static struct cairn_store *scratch_text(struct cairn_api *api, struct cairn__req *r,
                                        const char *tenant, const char *q, int64_t start,
                                        int64_t end, size_t limit, enum cairn_iter_dir dir,
                                        struct cairn__scratch **out)
{
    if (!q || !*q)
        return scratch(api, r, tenant, NULL, 0, start, end, 0, 0, dir, out);
    struct cairn_logql_query *lq = NULL;
    struct cairn_err err = {0};
    int rc = cairn_logql_parse(q, strlen(q), &lq, &err);
    if (rc) {
        cairn__reply_text(r, 400, "%s", err.msg);
        return NULL;
    }
    struct cairn_buf sb = CAIRN_BUF_INIT;
    size_t n = 0;
    int64_t back = 0, fwd = 0;
    rc = walk(cairn_logql_root(lq), &sb, &n, &back, &fwd);
    int is_log = cairn_logql_is_log(lq);
    /* a bare selector keeps every entry it reads: the first `limit` of each node (in
     * the query's direction) hold the answer */
    int bare = is_log && !cairn_logql_root(lq)->stages;
    cairn_logql_query_destroy(lq);
    const char **sels = calloc(n ? n : 1, sizeof *sels);
    if (rc || !sels) {
        free(sels);
        cairn_buf_deinit(&sb);
        cairn__reply_text(r, 500, "out of memory");
        return NULL;
    }
    for (size_t i = 0, off = 0; i < n; i++, off += strlen(sb.data + off) + 1)
        sels[i] = sb.data + off;
    struct cairn_store *st = scratch(api, r, tenant, sels, n, is_log ? start : start - back,
                                     end + fwd, 0, bare ? limit : 0, dir, out);
    free(sels);
    cairn_buf_deinit(&sb);
    return st;
}

struct cairn_store *cairn__cluster_scratch_query(struct cairn_api *api, struct cairn__req *r,
                                                 const char *q, const struct cairn_query_params *qp,
                                                 struct cairn__scratch **out)
{
    /* instants include `end`; `interval` skips entries, so no limit goes along then */
    return scratch_text(api, r, qp->tenant, q, qp->start, qp->end + 1,
                        qp->interval ? 0 : qp->limit, qp->direction, out);
}

struct cairn_store *cairn__cluster_store_for(struct cairn_api *api, struct cairn__req *r,
                                             struct cairn_store *own, const char *tenant,
                                             const char *q, int64_t start, int64_t end,
                                             struct cairn__scratch **out)
{
    *out = NULL;
    if (!cairn__cluster_reads_remote(api))
        return own;
    return scratch_text(api, r, tenant, q, start, end + 1, 0, CAIRN_ITER_FORWARD, out);
}
