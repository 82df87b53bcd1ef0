/* entry.c -- the pipeline entry: labels kept sorted under rewrites, the extracted map,
 * all in buffers reused from line to line. */
#include <stdlib.h>
#include <string.h>

#include "cairn/ship.h"

void cairn_ship_entry_init(struct cairn_ship_entry *e)
{
    memset(e, 0, sizeof *e);
    cairn_labels_init(&e->labels);
    cairn_labels_init(&e->spare);
}

void cairn_ship_entry_deinit(struct cairn_ship_entry *e)
{
    cairn_labels_deinit(&e->labels);
    cairn_labels_deinit(&e->spare);
    cairn_buf_deinit(&e->line);
    cairn_buf_deinit(&e->ex_store);
    cairn_buf_deinit(&e->tenant);
    cairn_buf_deinit(&e->sm);
    cairn_buf_deinit(&e->scratch);
    free(e->ex);
    memset(e, 0, sizeof *e);
}

int cairn_ship_entry_reset(struct cairn_ship_entry *e, const struct cairn_labels *labels,
                           int64_t ts, const char *line, size_t len)
{
    e->ts = ts;
    e->src = 0;
    e->src_off = 0;
    e->n_ex = 0;
    cairn_buf_reset(&e->ex_store);
    cairn_buf_reset(&e->tenant);
    cairn_buf_reset(&e->sm);
    cairn_buf_reset(&e->line);
    if (cairn_buf_append(&e->line, line, len))
        return CAIRN_ENOMEM;
    if (labels != &e->labels) {
        cairn_labels_reset(&e->labels);
        for (size_t i = 0; i < labels->n; i++)
            if (cairn_labels_add(&e->labels, labels->v[i].name, labels->v[i].name_len,
                                 labels->v[i].value, labels->v[i].value_len))
                return CAIRN_ENOMEM;
    }
    /* Promtail starts the extracted map with the entry's labels (pipelines.md, "Data
     * Accessible to Stages"), so templates and sources can name them */
    for (size_t i = 0; i < e->labels.n; i++)
        if (cairn_ship_ex_set(e, e->labels.v[i].name, e->labels.v[i].name_len,
                              e->labels.v[i].value, e->labels.v[i].value_len))
            return CAIRN_ENOMEM;
    return 0;
}

static int name_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = memcmp(a, b, n);
    return c ? c : (al > bl) - (al < bl);
}

/* Index of the first label whose name is >= name (binary search; labels sorted). */
static size_t lower_bound(const struct cairn_labels *ls, const char *name, size_t nl)
{
    size_t lo = 0, hi = ls->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (name_cmp(ls->v[mid].name, ls->v[mid].name_len, name, nl) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Labels are rewritten in place: a new name/value is appended to the set's store and
 * its view moved into sorted position; a replaced value's old bytes stay in the store
 * as garbage until the next line resets it. No copy of the whole set per change. */
int cairn_ship_label_set(struct cairn_ship_entry *e, const char *name, size_t name_len,
                         const char *value, size_t value_len)
{
    struct cairn_labels *ls = &e->labels;
    size_t i = lower_bound(ls, name, name_len);
    int exists = i < ls->n && name_cmp(ls->v[i].name, ls->v[i].name_len, name, name_len) == 0;
    if (exists && ls->v[i].value_len == value_len && memcmp(ls->v[i].value, value, value_len) == 0)
        return 0;
    if (!exists && ls->n >= CAIRN_LABELS_PARSE_MAX)
        return CAIRN_ELIMIT;
    if (exists && ls->n >= CAIRN_LABELS_PARSE_MAX) {
        /* no spare view to append through: rebuild into the spare set */
        struct cairn_labels *out = &e->spare;
        cairn_labels_reset(out);
        for (size_t k = 0; k < ls->n; k++)
            if (cairn_labels_add(out, ls->v[k].name, ls->v[k].name_len,
                                 k == i ? value : ls->v[k].value,
                                 k == i ? value_len : ls->v[k].value_len))
                return CAIRN_ENOMEM;
        return cairn_labels_copy(ls, out);
    }
    /* (value must not point into this label set's store: adding may move it) */
    if (cairn_labels_add(ls, name, name_len, value, value_len))
        return CAIRN_ENOMEM;
    struct cairn_label added = ls->v[ls->n - 1];
    if (exists) {
        ls->v[i].value = added.value;
        ls->v[i].value_len = added.value_len;
        ls->n--;
        return 0;
    }
    memmove(&ls->v[i + 1], &ls->v[i], (ls->n - 1 - i) * sizeof ls->v[0]);
    ls->v[i] = added;
    return 0;
}

void cairn_ship_label_del(struct cairn_ship_entry *e, const char *name, size_t name_len)
{
    struct cairn_labels *ls = &e->labels;
    size_t i = lower_bound(ls, name, name_len);
    if (i >= ls->n || name_cmp(ls->v[i].name, ls->v[i].name_len, name, name_len) != 0)
        return;
    memmove(&ls->v[i], &ls->v[i + 1], (ls->n - i - 1) * sizeof ls->v[0]);
    ls->n--;
}

int cairn_ship_ex_set(struct cairn_ship_entry *e, const char *name, size_t name_len,
                      const char *value, size_t value_len)
{
    struct cairn_ship_kv *kv = NULL;
    for (size_t i = 0; i < e->n_ex; i++) {
        struct cairn_ship_kv *k = &e->ex[i];
        if (k->name_len == name_len && memcmp(e->ex_store.data + k->name_off, name, name_len) == 0) {
            kv = k;
            break;
        }
    }
    /* value may point into ex_store itself: reserve first, then compute its offset */
    size_t src_off = 0;
    int inside = e->ex_store.data && value >= e->ex_store.data &&
                 value < e->ex_store.data + e->ex_store.len;
    if (inside)
        src_off = (size_t)(value - e->ex_store.data);
    if (cairn_buf_reserve(&e->ex_store, name_len + value_len + 2))
        return CAIRN_ENOMEM;
    if (inside)
        value = e->ex_store.data + src_off;
    if (!kv) {
        if (e->n_ex == e->cap_ex) {
            size_t nc = e->cap_ex ? e->cap_ex * 2 : 16;
            void *nv = realloc(e->ex, nc * sizeof *e->ex);
            if (!nv)
                return CAIRN_ENOMEM;
            e->ex = nv;
            e->cap_ex = nc;
        }
        kv = &e->ex[e->n_ex++];
        kv->name_off = e->ex_store.len;
        kv->name_len = name_len;
        cairn_buf_append(&e->ex_store, name, name_len);
        cairn_buf_append_byte(&e->ex_store, '\0');
    }
    kv->val_off = e->ex_store.len;
    kv->val_len = value_len;
    cairn_buf_append(&e->ex_store, value, value_len);
    cairn_buf_append_byte(&e->ex_store, '\0');
    return 0;
}

const char *cairn_ship_ex_get(const struct cairn_ship_entry *e, const char *name,
                              size_t name_len, size_t *len)
{
    for (size_t i = 0; i < e->n_ex; i++) {
        const struct cairn_ship_kv *k = &e->ex[i];
        if (k->name_len == name_len && memcmp(e->ex_store.data + k->name_off, name, name_len) == 0) {
            *len = k->val_len;
            return e->ex_store.data + k->val_off;
        }
    }
    return NULL;
}

const char *cairn_ship_ex_name(const struct cairn_ship_entry *e, size_t i)
{
    return e->ex_store.data + e->ex[i].name_off;
}

const char *cairn_ship_ex_value(const struct cairn_ship_entry *e, size_t i)
{
    return e->ex_store.data + e->ex[i].val_off;
}
