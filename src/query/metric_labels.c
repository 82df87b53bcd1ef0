/* metric_labels.c -- label sets as sorted blobs, their builder, a blob-keyed hash
 * map, and the series container every metric node produces. */
#include <stdlib.h>
#include <string.h>

#include "cairn/hash.h"
#include "metric_int.h"

/* ---- builder ---- */

void cairn__mlb_deinit(struct cairn__mlb *b)
{
    free(b->kv);
    b->kv = NULL;
    b->n = b->cap = 0;
}

static int mlb_push(struct cairn__mlb *b, const char *n, size_t nl, const char *v, size_t vl)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        struct cairn__mlb_kv *kv = realloc(b->kv, cap * sizeof *kv);
        if (!kv)
            return CAIRN_ENOMEM;
        b->kv = kv;
        b->cap = cap;
    }
    b->kv[b->n++] = (struct cairn__mlb_kv){n, v, (uint32_t)nl, (uint32_t)vl};
    return 0;
}

int cairn__mlb_load(struct cairn__mlb *b, const char *blob, uint32_t len)
{
    b->n = 0;
    const char *p = blob, *end = blob + len;
    while (p < end) {
        size_t nl = strlen(p);
        const char *v = p + nl + 1;
        size_t vl = strlen(v);
        int rc = mlb_push(b, p, nl, v, vl);
        if (rc)
            return rc;
        p = v + vl + 1;
    }
    return 0;
}

const struct cairn__mlb_kv *cairn__mlb_get(const struct cairn__mlb *b, const char *n, size_t nl)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->kv[i].nl == nl && memcmp(b->kv[i].n, n, nl) == 0)
            return &b->kv[i];
    return NULL;
}

void cairn__mlb_del(struct cairn__mlb *b, const char *n, size_t nl)
{
    for (size_t i = 0; i < b->n; i++) {
        if (b->kv[i].nl == nl && memcmp(b->kv[i].n, n, nl) == 0) {
            b->kv[i] = b->kv[--b->n];
            return;
        }
    }
}

int cairn__mlb_set(struct cairn__mlb *b, const char *n, size_t nl, const char *v, size_t vl)
{
    if (vl == 0) {
        cairn__mlb_del(b, n, nl);
        return 0;
    }
    for (size_t i = 0; i < b->n; i++) {
        if (b->kv[i].nl == nl && memcmp(b->kv[i].n, n, nl) == 0) {
            b->kv[i].v = v;
            b->kv[i].vl = (uint32_t)vl;
            return 0;
        }
    }
    return mlb_push(b, n, nl, v, vl);
}

void cairn__mlb_filter(struct cairn__mlb *b, const struct cairn_lq_str *names, size_t n, int keep)
{
    size_t w = 0;
    for (size_t i = 0; i < b->n; i++) {
        int listed = 0;
        for (size_t j = 0; j < n && !listed; j++)
            listed = names[j].len == b->kv[i].nl && memcmp(names[j].p, b->kv[i].n, names[j].len) == 0;
        if (listed == keep)
            b->kv[w++] = b->kv[i];
    }
    b->n = w;
}

static int kv_cmp(const void *a, const void *b)
{
    const struct cairn__mlb_kv *x = a, *y = b;
    size_t m = x->nl < y->nl ? x->nl : y->nl;
    int c = memcmp(x->n, y->n, m);
    if (c)
        return c;
    return x->nl < y->nl ? -1 : x->nl > y->nl;
}

int cairn__mlb_finish(struct cairn__mlb *b, struct cairn_buf *out)
{
    cairn_buf_reset(out);
    if (b->n > 1)
        qsort(b->kv, b->n, sizeof *b->kv, kv_cmp);
    size_t need = 0;
    for (size_t i = 0; i < b->n; i++)
        need += b->kv[i].nl + b->kv[i].vl + 2;
    if (cairn_buf_reserve(out, need))
        return CAIRN_ENOMEM;
    for (size_t i = 0; i < b->n; i++) {
        memcpy(out->data + out->len, b->kv[i].n, b->kv[i].nl);
        out->len += b->kv[i].nl;
        out->data[out->len++] = '\0';
        memcpy(out->data + out->len, b->kv[i].v, b->kv[i].vl);
        out->len += b->kv[i].vl;
        out->data[out->len++] = '\0';
    }
    out->data[out->len] = '\0';
    return 0;
}

/* ---- blobs ---- */

int cairn__mlab_from_labels(const struct cairn_labels *ls, struct cairn_buf *out)
{
    cairn_buf_reset(out);
    for (size_t i = 0; i < ls->n; i++) {
        if (cairn_buf_append(out, ls->v[i].name, ls->v[i].name_len + 1) ||
            cairn_buf_append(out, ls->v[i].value, ls->v[i].value_len + 1))
            return CAIRN_ENOMEM;
    }
    return 0;
}

const char *cairn__mlab_get(const char *blob, uint32_t len, const char *n, size_t nl, size_t *vlen)
{
    const char *p = blob, *end = blob + len;
    while (p < end) {
        size_t l = strlen(p);
        const char *v = p + l + 1;
        size_t vl = strlen(v);
        if (l == nl && memcmp(p, n, nl) == 0) {
            if (vlen)
                *vlen = vl;
            return v;
        }
        p = v + vl + 1;
    }
    return NULL;
}

int cairn__mlab_cmp(const char *a, uint32_t al, const char *b, uint32_t bl)
{
    uint32_t m = al < bl ? al : bl;
    int c = m ? memcmp(a, b, m) : 0;
    if (c)
        return c;
    return al < bl ? -1 : al > bl;
}

int cairn__mlab_text(const char *blob, uint32_t len, struct cairn_buf *out)
{
    const char *p = blob, *end = blob + len;
    int rc = cairn_buf_append_byte(out, '{');
    int first = 1;
    while (rc == 0 && p < end) {
        size_t nl = strlen(p);
        const char *v = p + nl + 1;
        size_t vl = strlen(v);
        if (!first)
            rc = cairn_buf_append(out, ", ", 2);
        first = 0;
        if (rc == 0)
            rc = cairn_buf_append(out, p, nl);
        if (rc == 0)
            rc = cairn_buf_append_byte(out, '=');
        if (rc == 0)
            rc = cairn_go_quote(out, v, vl);
        p = v + vl + 1;
    }
    return rc ? rc : cairn_buf_append_byte(out, '}');
}

int cairn__mlab_json(const char *blob, uint32_t len, struct cairn_buf *out)
{
    const char *p = blob, *end = blob + len;
    int rc = cairn_buf_append_byte(out, '{');
    int first = 1;
    while (rc == 0 && p < end) {
        size_t nl = strlen(p);
        const char *v = p + nl + 1;
        size_t vl = strlen(v);
        if (!first)
            rc = cairn_buf_append_byte(out, ',');
        first = 0;
        if (rc == 0)
            rc = cairn_buf_append_json_str(out, p, nl);
        if (rc == 0)
            rc = cairn_buf_append_byte(out, ':');
        if (rc == 0)
            rc = cairn_buf_append_json_str(out, v, vl);
        p = v + vl + 1;
    }
    return rc ? rc : cairn_buf_append_byte(out, '}');
}

/* ---- map ---- */

void cairn__mmap_deinit(struct cairn__mmap *m)
{
    free(m->slot);
    m->slot = NULL;
    m->cap = m->n = 0;
}

int cairn__mmap_get(const struct cairn__mmap *m, const char *k, uint32_t kl, size_t *idx)
{
    if (!m->cap)
        return 0;
    uint64_t h = cairn_hash64(k, kl);
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->slot[i].used)
            return 0;
        if (m->slot[i].h == h && m->slot[i].kl == kl && memcmp(m->slot[i].k, k, kl) == 0) {
            *idx = m->slot[i].idx;
            return 1;
        }
    }
}

static void mmap_place(struct cairn__mmap *m, const char *k, uint32_t kl, size_t idx, uint64_t h)
{
    size_t i = h & (m->cap - 1);
    while (m->slot[i].used)
        i = (i + 1) & (m->cap - 1);
    m->slot[i].k = k;
    m->slot[i].kl = kl;
    m->slot[i].used = 1;
    m->slot[i].idx = idx;
    m->slot[i].h = h;
}

int cairn__mmap_put(struct cairn__mmap *m, const char *k, uint32_t kl, size_t idx)
{
    if ((m->n + 1) * 2 > m->cap) {
        struct cairn__mmap nm = {0};
        nm.cap = m->cap ? m->cap * 2 : 64;
        nm.slot = calloc(nm.cap, sizeof *nm.slot);
        if (!nm.slot)
            return CAIRN_ENOMEM;
        for (size_t i = 0; i < m->cap; i++)
            if (m->slot[i].used)
                mmap_place(&nm, m->slot[i].k, m->slot[i].kl, m->slot[i].idx, m->slot[i].h);
        nm.n = m->n;
        free(m->slot);
        *m = nm;
    }
    mmap_place(m, k, kl, idx, cairn_hash64(k, kl));
    m->n++;
    return 0;
}

/* ---- values ---- */

void cairn__mval_deinit(struct cairn__mval *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->s[i].v); /* one block with ok and the label (cairn__mval_add) */
    free(v->s);
    free(v->scalar);
    struct cairn__qgov *gov = v->gov;
    cairn__qgov_release(gov, v->charged);
    memset(v, 0, sizeof *v);
    v->gov = gov;
}

int cairn__mval_add(struct cairn__mval *v, size_t nsteps, const char *lab, uint32_t len, size_t *idx)
{
    size_t cost = CAIRN__MSERIES_COST(len, nsteps);
    int rc = cairn__qgov_charge(v->gov, cost);
    if (rc)
        return rc;
    v->charged += cost;
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        struct cairn__mseries *s = realloc(v->s, cap * sizeof *s);
        if (!s) {
            cairn__qgov_release(v->gov, cost);
            v->charged -= cost;
            return CAIRN_ENOMEM;
        }
        v->s = s;
        v->cap = cap;
    }
    struct cairn__mseries *s = &v->s[v->n];
    /* one block: the values, the presence flags, the label (one free per series: a
     * query stopped with many series in hand answers sooner) */
    size_t ns = nsteps ? nsteps : 1;
    s->v = calloc(1, ns * (sizeof *s->v + 1) + len + 1);
    if (!s->v) {
        cairn__qgov_release(v->gov, cost);
        v->charged -= cost;
        return CAIRN_ENOMEM;
    }
    s->ok = (uint8_t *)(s->v + ns);
    s->lab.p = (char *)(s->ok + ns);
    if (len)
        memcpy(s->lab.p, lab, len);
    s->lab.p[len] = '\0';
    s->lab.len = len;
    if (idx)
        *idx = v->n;
    v->n++;
    return 0;
}

void cairn__mval_compact(struct cairn__mval *v, size_t nsteps)
{
    size_t w = 0;
    for (size_t i = 0; i < v->n; i++) {
        int any = memchr(v->s[i].ok, 1, nsteps) != NULL;
        if (any) {
            v->s[w++] = v->s[i];
        } else {
            size_t cost = CAIRN__MSERIES_COST(v->s[i].lab.len, nsteps);
            if (v->gov && v->charged >= cost) {
                cairn__qgov_release(v->gov, cost);
                v->charged -= cost;
            }
            free(v->s[i].v);
        }
    }
    v->n = w;
}

static int series_cmp(const void *a, const void *b)
{
    const struct cairn__mseries *x = a, *y = b;
    return cairn__mlab_cmp(x->lab.p, x->lab.len, y->lab.p, y->lab.len);
}

void cairn__mval_sort(struct cairn__mval *v)
{
    if (v->n > 1)
        qsort(v->s, v->n, sizeof *v->s, series_cmp);
}
