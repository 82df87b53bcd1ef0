/* logs.c -- log queries: selected streams merged by time in the requested direction,
 * each entry through the compiled pipeline, kept entries grouped into result streams
 * by their final labels, stopping at `limit`.
 *
 * The store's iterator does the merge and skips blocks outside [start, end); the
 * pipeline runs literal filters on the raw bytes before any parser. Per entry this
 * file does a hash lookup and two appends into the result buffers: no allocation
 * once a result stream exists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/logql_pipeline.h"
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

static int labels_json(const struct cairn_labels *ls, struct cairn_buf *out)
{
    if (cairn_buf_append_byte(out, '{'))
        return CAIRN_ENOMEM;
    for (size_t i = 0; i < ls->n; i++) {
        if ((i && cairn_buf_append_byte(out, ',')) ||
            cairn_buf_append_json_str(out, ls->v[i].name, ls->v[i].name_len) ||
            cairn_buf_append_byte(out, ':') ||
            cairn_buf_append_json_str(out, ls->v[i].value, ls->v[i].value_len))
            return CAIRN_ENOMEM;
    }
    return cairn_buf_append_byte(out, '}');
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

static int append_value(struct out_stream *os, int64_t ts, const char *line, size_t len)
{
    char num[24];
    int k = snprintf(num, sizeof num, "%lld", (long long)ts);
    struct cairn_buf *b = &os->values;
    if ((b->len && cairn_buf_append_byte(b, ',')) || cairn_buf_append(b, "[\"", 2) ||
        cairn_buf_append(b, num, (size_t)k) || cairn_buf_append(b, "\",", 2) ||
        cairn_buf_append_json_str(b, line, len) || cairn_buf_append_byte(b, ']'))
        return CAIRN_ENOMEM;
    return 0;
}

static int encode_result(struct out_set *o, struct cairn_buf *out)
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
    return cairn_buf_append_byte(out, ']');
}

int cairn__query_logs(struct cairn_store *s, const struct cairn_logql_query *q,
                      const struct cairn_query_params *p, struct cairn__query_stats *st,
                      struct cairn_buf *out, struct cairn_err *err)
{
    const struct cairn_lq_expr *e = cairn_logql_root(q);
    struct cairn_logql_pipeline *pl = NULL;
    struct cairn_entry_iter it = {0};
    struct out_set os = {0};
    struct sid_labels sl = {0};
    struct cairn_labels tmp;
    int rc = 0, iter_open = 0;
    cairn_labels_init(&tmp);
    roaring_bitmap_t *sids = roaring_bitmap_create();
    if (!sids) {
        rc = CAIRN_ENOMEM;
        goto out;
    }
    rc = cairn__query_select(s, p->tenant, e, p->start, p->end, sids, err);
    if (rc)
        goto out;
    sl.n = roaring_bitmap_get_cardinality(sids);
    st->streams = sl.n;
    if (sl.n) {
        sl.sids = malloc(sl.n * sizeof *sl.sids);
        sl.labels = calloc(sl.n, sizeof *sl.labels);
        if (!sl.sids || !sl.labels) {
            rc = CAIRN_ENOMEM;
            goto out;
        }
        roaring_bitmap_to_uint32_array(sids, sl.sids);
    }
    pl = cairn_logql_pipeline_create(e, err);
    if (!pl) {
        rc = err && err->code ? err->code : CAIRN_ENOMEM;
        goto out;
    }
    int fixed = cairn_logql_pipeline_labels_fixed(pl);
    rc = cairn_store_iter_init(&it, s, p->tenant, sids, p->start, p->end, p->direction, 0);
    if (rc)
        goto out;
    iter_open = 1;
    size_t kept = 0;
    uint32_t sid;
    struct cairn_entry ent;
    while (p->limit == 0 || kept < p->limit) {
        rc = cairn_store_iter_next(&it, &sid, &ent);
        if (rc <= 0)
            break;
        rc = 0;
        st->lines++;
        st->bytes += ent.len;
        const struct cairn_labels *ls = sid_labels_get(&sl, s, p->tenant, sid);
        if (!ls) {
            rc = CAIRN_ENOMEM;
            break;
        }
        int keep = cairn_logql_pipeline_process(pl, ent.ts, ls, ent.line, ent.len);
        if (keep < 0) {
            rc = keep;
            break;
        }
        if (!keep)
            continue;
        uint64_t key = fixed ? sid : cairn_logql_pipeline_labels_hash(pl);
        int created;
        struct out_stream *o = out_set_get(&os, key, &created);
        if (!o) {
            rc = CAIRN_ENOMEM;
            break;
        }
        if (created) {
            o->last_ts = INT64_MIN;
            if (fixed)
                rc = labels_json(ls, &o->labels_json);
            else
                rc = cairn_logql_pipeline_labels(pl, &tmp) ? CAIRN_ENOMEM
                                                          : labels_json(&tmp, &o->labels_json);
            if (rc)
                break;
        }
        if (p->interval > 0 && o->last_ts != INT64_MIN) {
            int64_t d = ent.ts - o->last_ts;
            if ((d < 0 ? -d : d) < p->interval)
                continue;
        }
        size_t len;
        const char *line = cairn_logql_pipeline_line(pl, &len);
        if (append_value(o, ent.ts, line, len)) {
            rc = CAIRN_ENOMEM;
            break;
        }
        o->last_ts = ent.ts;
        kept++;
    }
    if (rc < 0 && rc != CAIRN_ENOMEM)
        cairn_err_set(err, rc, "reading the store: %s", cairn_strerror(rc));
    if (rc == 0) {
        st->returned = kept;
        rc = encode_result(&os, out);
    }
out:
    if (iter_open)
        cairn_store_iter_deinit(&it);
    cairn_logql_pipeline_destroy(pl);
    out_set_deinit(&os);
    sid_labels_deinit(&sl);
    cairn_labels_deinit(&tmp);
    cairn_bitmap_free(sids);
    return rc;
}
