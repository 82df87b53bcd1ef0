/* read.c -- the read API of store_read.h: label names and values, postings, stream
 * labels and index stats, each from a snapshot taken under short locks (the
 * iterators are in iter.c). */
#include <stdlib.h>
#include <string.h>

#include "cairn/log.h"
#include "store/store_int.h"

/* ---- string lists ---- */

void cairn_strlist_deinit(struct cairn_strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

int cairn_strlist_add(struct cairn_strlist *l, const char *s, size_t len)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        char **nv = realloc(l->v, nc * sizeof *nv);
        if (!nv)
            return CAIRN_ENOMEM;
        l->v = nv;
        l->cap = nc;
    }
    char *c = malloc(len + 1);
    if (!c)
        return CAIRN_ENOMEM;
    memcpy(c, s, len);
    c[len] = '\0';
    l->v[l->n++] = c;
    return 0;
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort and drop duplicates among l->v[from..n). */
static void sort_unique(struct cairn_strlist *l, size_t from)
{
    size_t n = l->n - from;
    if (n < 2)
        return;
    qsort(l->v + from, n, sizeof *l->v, cmp_cstr);
    size_t w = from + 1;
    for (size_t i = from + 1; i < l->n; i++) {
        if (!strcmp(l->v[i], l->v[w - 1]))
            free(l->v[i]);
        else
            l->v[w++] = l->v[i];
    }
    l->n = w;
}

/* ---- period snapshots ---- */

/* Periods of t overlapping [start, end), each with a reference; caller unrefs. */
struct cairn__period **cairn__periods_in(struct cairn__tenant *t, int64_t start, int64_t end,
                                         size_t *n)
{
    pthread_mutex_lock(&t->periods_mu);
    struct cairn__period **v = malloc((t->n_periods ? t->n_periods : 1) * sizeof *v);
    *n = 0;
    for (size_t i = 0; v && i < t->n_periods; i++) {
        struct cairn__period *p = t->periods[i];
        if (p->start < end && p->end > start) {
            cairn__period_ref(p);
            v[(*n)++] = p;
        }
    }
    pthread_mutex_unlock(&t->periods_mu);
    return v;
}

void cairn__periods_release(struct cairn__period **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cairn__period_unref(v[i]);
    free(v);
}

static int label_list(struct cairn_store *s, const char *tenant, const char *name, int64_t start,
                      int64_t end, struct cairn_strlist *out)
{
    struct cairn__tenant *t = cairn__tenant_get(s, tenant, 0);
    if (!t)
        return 0;
    size_t np, from = out->n;
    struct cairn__period **pv = cairn__periods_in(t, start, end, &np);
    if (!pv)
        return CAIRN_ENOMEM;
    size_t nl = name ? strlen(name) : 0;
    int rc = 0;
    for (size_t i = 0; i < np && !rc; i++) {
        struct cairn__period *p = pv[i];
        pthread_mutex_lock(&p->mu);
        for (size_t k = 0; k < p->postings.cap && !rc; k++) {
            const struct cairn__strmap_ent *e = &p->postings.v[k];
            if (!e->key)
                continue;
            size_t kn = strlen(e->key);
            if (!name)
                rc = cairn_strlist_add(out, e->key, kn);
            else if (kn == nl && !memcmp(e->key, name, nl))
                rc = cairn_strlist_add(out, e->key + kn + 1, e->klen - kn - 1);
        }
        pthread_mutex_unlock(&p->mu);
        if (out->n - from > 4096)
            sort_unique(out, from);
    }
    cairn__periods_release(pv, np);
    sort_unique(out, from);
    return rc;
}

int cairn_store_label_names(struct cairn_store *s, const char *tenant, int64_t start, int64_t end,
                            struct cairn_strlist *out)
{
    return label_list(s, tenant, NULL, start, end, out);
}

int cairn_store_label_values(struct cairn_store *s, const char *tenant, const char *name,
                             int64_t start, int64_t end, struct cairn_strlist *out)
{
    return label_list(s, tenant, name, start, end, out);
}

int cairn_store_postings(struct cairn_store *s, const char *tenant, const char *name,
                         const char *value, int64_t start, int64_t end, roaring_bitmap_t *out)
{
    struct cairn__tenant *t = cairn__tenant_get(s, tenant, 0);
    if (!t)
        return 0;
    struct cairn_buf key = CAIRN_BUF_INIT;
    if (cairn_buf_append_str(&key, name) || cairn_buf_append_byte(&key, '\0') ||
        cairn_buf_append_str(&key, value)) {
        cairn_buf_deinit(&key);
        return CAIRN_ENOMEM;
    }
    size_t np;
    struct cairn__period **pv = cairn__periods_in(t, start, end, &np);
    for (size_t i = 0; pv && i < np; i++) {
        pthread_mutex_lock(&pv[i]->mu);
        roaring_bitmap_t *b = cairn__strmap_get(&pv[i]->postings, key.data, key.len);
        if (b)
            roaring_bitmap_or_inplace(out, b);
        pthread_mutex_unlock(&pv[i]->mu);
    }
    cairn_buf_deinit(&key);
    if (!pv)
        return CAIRN_ENOMEM;
    cairn__periods_release(pv, np);
    return 0;
}

int cairn_store_streams(struct cairn_store *s, const char *tenant, int64_t start, int64_t end,
                        roaring_bitmap_t *out)
{
    struct cairn__tenant *t = cairn__tenant_get(s, tenant, 0);
    if (!t)
        return 0;
    size_t np;
    struct cairn__period **pv = cairn__periods_in(t, start, end, &np);
    if (!pv)
        return CAIRN_ENOMEM;
    for (size_t i = 0; i < np; i++) {
        pthread_mutex_lock(&pv[i]->mu);
        roaring_bitmap_or_inplace(out, pv[i]->all);
        pthread_mutex_unlock(&pv[i]->mu);
    }
    cairn__periods_release(pv, np);
    return 0;
}

int cairn_store_stream_labels(struct cairn_store *s, const char *tenant, uint32_t sid,
                              struct cairn_labels *out)
{
    struct cairn__tenant *t = cairn__tenant_get(s, tenant, 0);
    struct cairn__stream *st = t ? cairn__stream_by_id(t, sid) : NULL;
    if (!st)
        return CAIRN_ENOTFOUND;
    cairn_labels_reset(out);
    for (size_t i = 0; i < st->nl; i++) /* stored sorted, so the copy is sorted */
        if (cairn_labels_add(out, st->lv[i].name, st->lv[i].name_len, st->lv[i].value,
                             st->lv[i].value_len))
            return CAIRN_ENOMEM;
    return 0;
}

int cairn_store_stream_labels_str(struct cairn_store *s, const char *tenant, uint32_t sid,
                                  struct cairn_buf *out)
{
    struct cairn__tenant *t = cairn__tenant_get(s, tenant, 0);
    struct cairn__stream *st = t ? cairn__stream_by_id(t, sid) : NULL;
    if (!st)
        return CAIRN_ENOTFOUND;
    return cairn_buf_append(out, st->ltext, st->ltext_len) ? CAIRN_ENOMEM : 0;
}

int cairn_store_tenants(struct cairn_store *s, struct cairn_strlist *out)
{
    size_t from = out->n;
    struct cairn__tenant *t;
    for (size_t i = 0; (t = cairn__tenant_at(s, i)); i++)
        if (cairn_strlist_add(out, t->name, strlen(t->name)))
            return CAIRN_ENOMEM;
    sort_unique(out, from);
    return 0;
}

/* ---- index stats and volumes ---- */

int cairn_store_volume(struct cairn_store *s, const char *tenant, const roaring_bitmap_t *sids,
                       int64_t start, int64_t end, cairn_store_volume_fn fn, void *ud)
{
    struct cairn__tenant *t = cairn__tenant_get(s, tenant, 0);
    if (!t)
        return 0;
    size_t np;
    struct cairn__period **pv = cairn__periods_in(t, start, end, &np);
    if (!pv)
        return CAIRN_ENOMEM;
    for (size_t i = 0; i < np; i++) {
        struct cairn__period *p = pv[i];
        pthread_mutex_lock(&p->mu);
        for (size_t k = 0; k < p->streams.cap; k++) {
            struct cairn__pstream *ps = p->streams.v[k].val;
            if (!p->streams.v[k].key || (sids && !roaring_bitmap_contains(sids, ps->sid)))
                continue;
            uint32_t last_chunk = UINT32_MAX;
            for (size_t j = 0; j < ps->n; j++) {
                const struct cairn__bref *r = &ps->refs[j];
                if (r->max_ts < start || r->min_ts >= end)
                    continue;
                fn(ud, ps->sid, r->max_ts, r->n, r->raw, r->chunk != last_chunk);
                last_chunk = r->chunk;
            }
        }
        pthread_mutex_unlock(&p->mu);
    }
    cairn__periods_release(pv, np);
    /* entries still in open blocks, one piece each (exact; the first of a stream's
     * starts a chunk unless one is open) */
    for (int k = 0; k < CAIRN__SHARDS; k++) {
        struct cairn__shard *sh = &t->shards[k];
        pthread_mutex_lock(&sh->mu);
        for (size_t j = 0; j < sh->cap; j++)
            for (struct cairn__stream *st = sh->tab[j]; st; st = st->next) {
                const struct cairn__hblock *b = &st->blk;
                if (!b->n || (sids && !roaring_bitmap_contains(sids, st->sid)) ||
                    b->max_ts < start || b->min_ts >= end)
                    continue;
                int first = 1;
                for (uint32_t i = 0; i < b->n; i++) {
                    const struct cairn__hent *e = cairn__hblock_ent(b, i);
                    if (e->ts >= start && e->ts < end) {
                        fn(ud, st->sid, e->ts, 1, e->len, first && !st->chunk_open);
                        first = 0;
                    }
                }
            }
        pthread_mutex_unlock(&sh->mu);
    }
    return 0;
}

struct stats_ctx {
    struct cairn_index_stats *out;
    roaring_bitmap_t *seen;
};

static void stats_add(void *ud, uint32_t sid, int64_t ts, uint64_t entries, uint64_t bytes,
                      int new_chunk)
{
    (void)ts;
    struct stats_ctx *c = ud;
    roaring_bitmap_add(c->seen, sid);
    c->out->entries += entries;
    c->out->bytes += bytes;
    c->out->chunks += new_chunk != 0;
}

int cairn_store_index_stats(struct cairn_store *s, const char *tenant, const roaring_bitmap_t *sids,
                            int64_t start, int64_t end, struct cairn_index_stats *out)
{
    memset(out, 0, sizeof *out);
    struct stats_ctx c = {out, roaring_bitmap_create()};
    if (!c.seen)
        return CAIRN_ENOMEM;
    int rc = cairn_store_volume(s, tenant, sids, start, end, stats_add, &c);
    out->streams = roaring_bitmap_get_cardinality(c.seen);
    roaring_bitmap_free(c.seen);
    return rc;
}
