/* volume.c -- Loki's /index/volume and /index/volume_range: raw line bytes of the
 * streams a selector matches, summed into series of chosen labels ("series": the
 * matchers' label names or targetLabels, as label=value pairs) or into one series per
 * label name ("labels": {name=""}), the largest `limit` first. Computed from block
 * headers (store volume pieces), never from line bytes, as Loki computes it from
 * chunk metadata: a stored block counts at its newest timestamp. */
#include <stdlib.h>
#include <string.h>

#include "cairn/logql.h"
#include "cairn/query.h"
#include "cairn/store_read.h"
#include "cairn/strmap.h"
#include "query_int.h"

/* Series ids are the strmap's (their labels as JSON object text are its keys). */
struct vgroup {
    uint32_t id;
    uint64_t total;    /* bytes over the whole range: the order and the instant value */
    uint64_t *steps;   /* owned, nsteps (range) */
};

struct vctx {
    const roaring_bitmap_t *sids;
    uint32_t *gstart;  /* per stream rank: its first index in gidx (n + 1 offsets) */
    uint32_t *gidx;    /* group ids of each stream, in order */
    struct cairn_strmap keys;
    struct vgroup *g;  /* by id */
    size_t gcap;
    int64_t start, step;
    size_t nsteps;
};

/* Find or add the group with this key; *id its index. 0 or CAIRN_ENOMEM. */
static int group_of(struct vctx *c, const char *key, size_t len, uint32_t *id)
{
    int created;
    if (cairn_strmap_put(&c->keys, key, len, id, &created))
        return CAIRN_ENOMEM;
    if (!created)
        return 0;
    if (*id >= c->gcap) {
        size_t cap = c->gcap ? 2 * c->gcap : 16;
        struct vgroup *ng = realloc(c->g, cap * sizeof *ng);
        if (!ng)
            return CAIRN_ENOMEM; /* the key stays, with no group: never reached again */
        c->g = ng;
        c->gcap = cap;
    }
    struct vgroup *g = &c->g[*id];
    *g = (struct vgroup){.id = *id};
    if (c->nsteps && !(g->steps = calloc(c->nsteps, sizeof *g->steps)))
        return CAIRN_ENOMEM;
    return 0;
}

/* Append group id to the stream's list. 0 or CAIRN_ENOMEM. */
static int add_gidx(uint32_t **gidx, size_t *n, size_t *cap, uint32_t id)
{
    if (*n == *cap) {
        uint32_t *g = realloc(*gidx, 2 * *cap * sizeof *g);
        if (!g)
            return CAIRN_ENOMEM;
        *gidx = g;
        *cap *= 2;
    }
    (*gidx)[(*n)++] = id;
    return 0;
}

static void piece(void *ud, uint32_t sid, int64_t ts, uint64_t entries, uint64_t bytes,
                  int new_chunk)
{
    (void)entries;
    (void)new_chunk;
    struct vctx *c = ud;
    uint64_t r = roaring_bitmap_rank(c->sids, sid);
    if (!r || !roaring_bitmap_contains(c->sids, sid))
        return;
    size_t k = 0;
    if (c->nsteps) {
        /* the evaluation point at or after ts: start + k * step */
        int64_t d = ts - c->start;
        k = d <= 0 ? 0 : (size_t)((d + c->step - 1) / c->step);
        if (k >= c->nsteps)
            k = c->nsteps - 1;
    }
    for (uint32_t i = c->gstart[r - 1]; i < c->gstart[r]; i++) {
        struct vgroup *g = &c->g[c->gidx[i]];
        g->total += bytes;
        if (c->nsteps)
            g->steps[k] += bytes;
    }
}

static int name_in(const char *name, size_t len, const struct cairn_lq_str *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (names[i].len == len && memcmp(names[i].p, name, len) == 0)
            return 1;
    return 0;
}

static int cmp_total(const void *a, const void *b)
{
    const struct vgroup *x = a, *y = b;
    if (x->total != y->total)
        return x->total > y->total ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* The series keys of one stream into c (group ids appended to gidx at *ng). */
static int stream_groups(struct vctx *c, const struct cairn_labels *ls,
                         const struct cairn_query_volume *v, struct cairn_buf *tmp,
                         uint32_t **gidx, size_t *n, size_t *cap)
{
    int rc = 0;
    if (v->by_labels) {
        for (size_t i = 0; i < ls->n && !rc; i++) {
            if (v->ntargets && !name_in(ls->v[i].name, ls->v[i].name_len, v->targets, v->ntargets))
                continue;
            cairn_buf_reset(tmp);
            rc = cairn_buf_append_byte(tmp, '{') ||
                 cairn_buf_append_json_str(tmp, ls->v[i].name, ls->v[i].name_len) ||
                 cairn_buf_append_str(tmp, ":\"\"}");
            uint32_t id;
            if (rc)
                return CAIRN_ENOMEM;
            if ((rc = group_of(c, tmp->data, tmp->len, &id)) ||
                (rc = add_gidx(gidx, n, cap, id)))
                return rc;
        }
        return 0;
    }
    cairn_buf_reset(tmp);
    rc = cairn_buf_append_byte(tmp, '{');
    int first = 1;
    for (size_t i = 0; i < ls->n && !rc; i++) {
        if (!name_in(ls->v[i].name, ls->v[i].name_len, v->targets, v->ntargets))
            continue;
        rc = (!first && cairn_buf_append_byte(tmp, ',')) ||
             cairn_buf_append_json_str(tmp, ls->v[i].name, ls->v[i].name_len) ||
             cairn_buf_append_byte(tmp, ':') ||
             cairn_buf_append_json_str(tmp, ls->v[i].value, ls->v[i].value_len);
        first = 0;
    }
    if (rc || cairn_buf_append_byte(tmp, '}'))
        return CAIRN_ENOMEM;
    uint32_t id;
    if ((rc = group_of(c, tmp->data, tmp->len, &id)))
        return rc;
    return add_gidx(gidx, n, cap, id);
}

int cairn_query_volume(struct cairn_store *s, const struct cairn_query_volume *v,
                       struct cairn_buf *out, struct cairn_err *err)
{
    struct cairn_logql_query *q = NULL;
    int rc = cairn_logql_parse(v->query, strlen(v->query), &q, err);
    if (rc)
        return rc;
    const struct cairn_lq_expr *e = cairn_logql_root(q);
    if (e->kind != CAIRN_LQ_LOG || e->stages) {
        cairn_logql_query_destroy(q);
        return cairn_err_set(err, CAIRN_EINVAL, "parse error : only a stream selector is allowed "
                                                "here, got: %s", v->query);
    }
    struct cairn_query_volume vv = *v;
    struct cairn_lq_str *mnames = NULL;
    if (!vv.ntargets && !vv.by_labels) {
        /* by default: the label names of the matchers */
        mnames = calloc(e->nmatchers ? e->nmatchers : 1, sizeof *mnames);
        if (!mnames) {
            cairn_logql_query_destroy(q);
            return CAIRN_ENOMEM;
        }
        for (size_t i = 0; i < e->nmatchers; i++)
            if (!name_in(e->matchers[i].name, e->matchers[i].name_len, mnames, vv.ntargets))
                mnames[vv.ntargets++] = (struct cairn_lq_str){e->matchers[i].name,
                                                             e->matchers[i].name_len};
        vv.targets = mnames;
    }
    struct vctx c = {.start = v->start, .step = v->step};
    cairn_strmap_init(&c.keys);
    if (v->step > 0)
        c.nsteps = (size_t)((v->end - v->start) / v->step) + 1;
    roaring_bitmap_t *sids = roaring_bitmap_create();
    struct cairn_labels ls;
    cairn_labels_init(&ls);
    struct cairn_buf tmp = CAIRN_BUF_INIT;
    size_t ngi = 0, gcap = 64;
    uint32_t *gidx = malloc(gcap * sizeof *gidx);
    rc = sids && gidx ? 0 : CAIRN_ENOMEM;
    if (!rc)
        rc = cairn__query_select(s, v->tenant, e, v->start, v->end, sids, err);
    uint64_t n = sids ? roaring_bitmap_get_cardinality(sids) : 0;
    if (!rc && !(c.gstart = calloc(n + 1, sizeof *c.gstart)))
        rc = CAIRN_ENOMEM;
    roaring_uint32_iterator_t *it = rc ? NULL : roaring_create_iterator(sids);
    for (size_t i = 0; !rc && it && it->has_value; roaring_advance_uint32_iterator(it), i++) {
        c.gstart[i] = (uint32_t)ngi;
        if (cairn_store_stream_labels(s, v->tenant, it->current_value, &ls) == 0)
            rc = stream_groups(&c, &ls, &vv, &tmp, &gidx, &ngi, &gcap);
        cairn_labels_reset(&ls);
    }
    if (it)
        roaring_free_uint32_iterator(it);
    if (!rc) {
        c.gstart[n] = (uint32_t)ngi;
        c.gidx = gidx;
        c.sids = sids;
        rc = cairn_store_volume(s, v->tenant, sids, v->start, v->end, piece, &c);
    }
    if (!rc) {
        /* the largest first; series without bytes in the range are left out */
        size_t ng = c.keys.n;
        if (ng > 1)
            qsort(c.g, ng, sizeof *c.g, cmp_total);
        size_t keep = 0;
        while (keep < ng && c.g[keep].total && keep < v->limit)
            keep++;
        rc = cairn_buf_append_str(out, c.nsteps ? "{\"status\":\"success\",\"data\":{\"resultType\":"
                                                  "\"matrix\",\"result\":["
                                                : "{\"status\":\"success\",\"data\":{\"resultType\":"
                                                  "\"vector\",\"result\":[");
        for (size_t i = 0; i < keep && !rc; i++) {
            size_t kl;
            const char *key = cairn_strmap_key(&c.keys, c.g[i].id, &kl);
            rc = (i && cairn_buf_append_byte(out, ',')) ||
                 cairn_buf_append_str(out, "{\"metric\":") || cairn_buf_append(out, key, kl);
            if (!c.nsteps) {
                rc = rc || cairn_buf_append_str(out, ",\"value\":[") ||
                     cairn_query_json_seconds(out, v->end) ||
                     cairn_buf_appendf(out, ",\"%llu\"]}", (unsigned long long)c.g[i].total);
                continue;
            }
            rc = rc || cairn_buf_append_str(out, ",\"values\":[");
            int first = 1;
            for (size_t k = 0; k < c.nsteps && !rc; k++) {
                if (!c.g[i].steps[k])
                    continue;
                rc = (!first && cairn_buf_append_byte(out, ',')) ||
                     cairn_buf_append_byte(out, '[') ||
                     cairn_query_json_seconds(out, v->start + (int64_t)k * v->step) ||
                     cairn_buf_appendf(out, ",\"%llu\"]", (unsigned long long)c.g[i].steps[k]);
                first = 0;
            }
            rc = rc || cairn_buf_append_str(out, "]}");
        }
        if (rc || cairn_buf_append_str(out, "]}}"))
            rc = CAIRN_ENOMEM;
    }
    for (size_t i = 0; i < c.keys.n && i < c.gcap; i++)
        free(c.g[i].steps);
    free(c.g);
    cairn_strmap_deinit(&c.keys);
    free(c.gstart);
    free(gidx);
    free(mnames);
    cairn_buf_deinit(&tmp);
    cairn_labels_deinit(&ls);
    cairn_bitmap_free(sids);
    cairn_logql_query_destroy(q);
    return rc;
}
