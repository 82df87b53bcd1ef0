/* lbuilder.c -- the label builder one pipeline keeps per thread: stream labels plus
 * the labels parsers and formats set, with deletes; reset per entry without freeing. */
#include <stdlib.h>
#include <string.h>

#include "cairn/hash.h"
#include "logql/pipeline_int.h"

void cairn__lb_init(struct lbuilder *lb)
{
    memset(lb, 0, sizeof(*lb));
}

void cairn__lb_deinit(struct lbuilder *lb)
{
    free(lb->e);
    free(lb->order);
    cairn_buf_deinit(&lb->scr);
    memset(lb, 0, sizeof(*lb));
}

static int grow(struct lbuilder *lb)
{
    if (lb->n < lb->cap)
        return 0;
    size_t cap = lb->cap ? lb->cap * 2 : 32;
    struct lb_ent *ne = realloc(lb->e, cap * sizeof(*ne));
    if (!ne)
        return CAIRN_ENOMEM;
    lb->e = ne;
    lb->cap = cap;
    return 0;
}

/* A cheap one-of-64 signature of a name: most names a parser sets are new, and a
 * clear bit answers "not here" without scanning the entries. */
static inline uint64_t name_bit(const char *p, size_t n)
{
    if (!n)
        return 1;
    unsigned h = (unsigned)n * 31u + (unsigned char)p[0] * 7u + (unsigned char)p[n - 1] +
                 (unsigned char)p[n / 2] * 3u;
    return (uint64_t)1 << (h & 63);
}

int cairn__lb_reset(struct lbuilder *lb, const struct cairn_labels *stream)
{
    lb->stream = stream;
    lb->n = 0;
    lb->mask = 0;
    cairn_buf_reset(&lb->scr);
    size_t sn = stream ? stream->n : 0;
    for (size_t i = 0; i < sn; i++) {
        if (grow(lb))
            return CAIRN_ENOMEM;
        const struct cairn_label *l = &stream->v[i];
        lb->e[lb->n++] = (struct lb_ent){.n = l->name, .v = l->value, .nlen = l->name_len,
                                         .vlen = l->value_len, .stream = 1};
        lb->mask |= name_bit(l->name, l->name_len);
    }
    lb->stream_mask = lb->mask;
    return 0;
}

const char *cairn__lb_name(const struct lbuilder *lb, const struct lb_ent *e)
{
    return e->n_scr ? lb->scr.data + e->noff : e->n;
}

const char *cairn__lb_value(const struct lbuilder *lb, const struct lb_ent *e)
{
    return e->v_scr ? lb->scr.data + e->voff : e->v;
}

long cairn__lb_find(const struct lbuilder *lb, const char *name, size_t len)
{
    if (!(lb->mask & name_bit(name, len)))
        return -1;
    for (size_t i = 0; i < lb->n; i++) {
        const struct lb_ent *e = &lb->e[i];
        if (!e->del && e->nlen == len && memcmp(cairn__lb_name(lb, e), name, len) == 0)
            return (long)i;
    }
    return -1;
}

const char *cairn__lb_get(const struct lbuilder *lb, const char *name, size_t len, size_t *vlen,
                          int *found)
{
    long i = cairn__lb_find(lb, name, len);
    if (found)
        *found = i >= 0;
    if (i < 0) {
        *vlen = 0;
        return "";
    }
    *vlen = lb->e[i].vlen;
    return cairn__lb_value(lb, &lb->e[i]);
}

/* Copy bytes into the scratch, safe when p points into the scratch itself. */
static int put(struct lbuilder *lb, const char *p, size_t n, uint32_t *off)
{
    struct cairn_buf *b = &lb->scr;
    int inside = b->data && p >= b->data && p < b->data + b->cap;
    size_t srcoff = inside ? (size_t)(p - b->data) : 0;
    if (b->len + n + 1 > UINT32_MAX || cairn_buf_reserve(b, n + 1))
        return CAIRN_ENOMEM;
    if (inside)
        p = b->data + srcoff;
    *off = (uint32_t)b->len;
    if (n)
        memmove(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len++] = '\0';
    b->data[b->len] = '\0';
    return 0;
}

static int stream_has(const struct lbuilder *lb, const char *name, size_t len)
{
    if (!lb->stream || !(lb->stream_mask & name_bit(name, len)))
        return 0;
    return cairn_labels_get(lb->stream, name, len) != NULL;
}

int cairn__lb_set(struct lbuilder *lb, const char *name, size_t nlen, const char *v, size_t vlen,
                  int flags)
{
    uint32_t voff = 0, noff = 0;
    int renamed = (flags & LB_PARSED) && stream_has(lb, name, nlen);
    int v_scr = !(flags & LB_VALUE_STABLE);
    /* Copy the value first: it may alias a name we are about to write. */
    if (v_scr && put(lb, v, vlen, &voff))
        return CAIRN_ENOMEM;
    const char *nm = name;
    size_t nl = nlen;
    int n_scr = 0;
    if (renamed) {
        struct cairn_buf *b = &lb->scr;
        int inside = b->data && name >= b->data && name < b->data + b->cap;
        size_t srcoff = inside ? (size_t)(name - b->data) : 0;
        if (cairn_buf_reserve(b, nlen + 11 + 1))
            return CAIRN_ENOMEM;
        if (inside)
            name = b->data + srcoff;
        noff = (uint32_t)b->len;
        memmove(b->data + b->len, name, nlen);
        memcpy(b->data + b->len + nlen, "_extracted", 10);
        b->len += nlen + 10;
        b->data[b->len++] = '\0';
        b->data[b->len] = '\0';
        nl = nlen + 10;
        n_scr = 1;
    } else if (!(flags & LB_NAME_STABLE)) {
        if (put(lb, name, nlen, &noff))
            return CAIRN_ENOMEM;
        n_scr = 1;
    }
    const char *lookup = n_scr ? lb->scr.data + noff : nm;
    long i = cairn__lb_find(lb, lookup, nl);
    if (i >= 0) {
        lb->e[i].v = v;
        lb->e[i].voff = voff;
        lb->e[i].vlen = (uint32_t)vlen;
        lb->e[i].v_scr = (uint8_t)v_scr;
        lb->e[i].stream = 0; /* changed: a parsed label now (Loki's categories) */
        lb->e[i].sm = (uint8_t)((flags & LB_SMETA) != 0);
        return 0;
    }
    if (grow(lb))
        return CAIRN_ENOMEM;
    struct lb_ent *e = &lb->e[lb->n++];
    memset(e, 0, sizeof(*e));
    lb->mask |= name_bit(lookup, nl);
    e->n = n_scr ? NULL : nm;
    e->noff = noff;
    e->n_scr = (uint8_t)n_scr;
    e->nlen = (uint32_t)nl;
    e->v = v;
    e->voff = voff;
    e->vlen = (uint32_t)vlen;
    e->v_scr = (uint8_t)v_scr;
    e->sm = (uint8_t)((flags & LB_SMETA) != 0);
    return 0;
}

void cairn__lb_del(struct lbuilder *lb, long idx)
{
    if (idx >= 0 && (size_t)idx < lb->n)
        lb->e[idx].del = 1;
}

int cairn__lb_set_error(struct lbuilder *lb, const char *err, const char *details)
{
    if (cairn__lb_set(lb, "__error__", 9, err, strlen(err), LB_NAME_STABLE))
        return CAIRN_ENOMEM;
    if (details && cairn__lb_set(lb, "__error_details__", 17, details, strlen(details),
                                 LB_NAME_STABLE))
        return CAIRN_ENOMEM;
    return 0;
}

int cairn__lb_has_error(const struct lbuilder *lb)
{
    return cairn__lb_find(lb, "__error__", 9) >= 0;
}

static int ent_cmp(const struct lbuilder *lb, size_t a, size_t b)
{
    const struct lb_ent *x = &lb->e[a], *y = &lb->e[b];
    size_t n = x->nlen < y->nlen ? x->nlen : y->nlen;
    int c = memcmp(cairn__lb_name(lb, x), cairn__lb_name(lb, y), n);
    return c ? c : (x->nlen > y->nlen) - (x->nlen < y->nlen);
}

static size_t sorted(struct lbuilder *lb)
{
    if (lb->ordercap < lb->n) {
        size_t *no = realloc(lb->order, lb->cap * sizeof(*no));
        if (!no)
            return (size_t)-1;
        lb->order = no;
        lb->ordercap = lb->cap;
    }
    size_t k = 0;
    for (size_t i = 0; i < lb->n; i++) {
        if (lb->e[i].del)
            continue;
        size_t j = k++;
        while (j > 0 && ent_cmp(lb, lb->order[j - 1], i) > 0) {
            lb->order[j] = lb->order[j - 1];
            j--;
        }
        lb->order[j] = i;
    }
    return k;
}

int cairn__lb_labels(struct lbuilder *lb, struct cairn_labels *out)
{
    cairn_labels_reset(out);
    size_t k = sorted(lb);
    if (k == (size_t)-1)
        return CAIRN_ENOMEM;
    for (size_t i = 0; i < k; i++) {
        const struct lb_ent *e = &lb->e[lb->order[i]];
        int rc = cairn_labels_add(out, cairn__lb_name(lb, e), e->nlen, cairn__lb_value(lb, e),
                                  e->vlen);
        if (rc)
            return rc;
    }
    return 0;
}

int cairn__lb_categorized(struct lbuilder *lb, struct cairn_buf *out)
{
    size_t k = sorted(lb);
    if (k == (size_t)-1)
        return CAIRN_ENOMEM;
    int any[2] = {0, 0};
    for (size_t i = 0; i < k; i++) {
        const struct lb_ent *e = &lb->e[lb->order[i]];
        if (!e->stream)
            any[e->sm ? 0 : 1] = 1;
    }
    if (!any[0] && !any[1])
        return 0;
    static const char *const key[2] = {"\"structuredMetadata\":{", "\"parsed\":{"};
    if (cairn_buf_append_byte(out, '{'))
        return CAIRN_ENOMEM;
    for (int c = 0; c < 2; c++) {
        if (!any[c])
            continue;
        if ((c && any[0] && cairn_buf_append_byte(out, ',')) || cairn_buf_append_str(out, key[c]))
            return CAIRN_ENOMEM;
        int first = 1;
        for (size_t i = 0; i < k; i++) {
            const struct lb_ent *e = &lb->e[lb->order[i]];
            if (e->stream || (e->sm ? 0 : 1) != c)
                continue;
            if ((!first && cairn_buf_append_byte(out, ',')) ||
                cairn_buf_append_json_str(out, cairn__lb_name(lb, e), e->nlen) ||
                cairn_buf_append_byte(out, ':') ||
                cairn_buf_append_json_str(out, cairn__lb_value(lb, e), e->vlen))
                return CAIRN_ENOMEM;
            first = 0;
        }
        if (cairn_buf_append_byte(out, '}'))
            return CAIRN_ENOMEM;
    }
    return cairn_buf_append_byte(out, '}');
}

uint64_t cairn__lb_hash(struct lbuilder *lb)
{
    /* Order-independent: a sum of one hash per label, so no sort per entry. Names
     * are unique among live entries, so equal sets give equal sums. */
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (size_t i = 0; i < lb->n; i++) {
        const struct lb_ent *e = &lb->e[i];
        if (e->del)
            continue;
        uint64_t hn = cairn_hash64(cairn__lb_name(lb, e), e->nlen);
        h += cairn_hash64_seed(cairn__lb_value(lb, e), e->vlen, hn) ^ (hn >> 1);
    }
    return h;
}
