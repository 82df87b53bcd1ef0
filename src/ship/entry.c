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
    cairn_buf_deinit(&e->scratch);
    free(e->ex);
    memset(e, 0, sizeof *e);
}

int cairn_ship_entry_reset(struct cairn_ship_entry *e, const struct cairn_labels *labels,
                           int64_t ts, const char *line, size_t len)
{
    e->ts = ts;
    e->n_ex = 0;
    cairn_buf_reset(&e->ex_store);
    cairn_buf_reset(&e->tenant);
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
    return 0;
}

static int name_cmp(const char *a, size_t al, const char *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = memcmp(a, b, n);
    return c ? c : (al > bl) - (al < bl);
}

/* Rebuild labels into spare with (name, value) inserted/replaced (value NULL:
 * removed), then swap. */
static int rewrite(struct cairn_ship_entry *e, const char *name, size_t nl, const char *value,
                   size_t vl)
{
    struct cairn_labels *in = &e->labels, *out = &e->spare;
    cairn_labels_reset(out);
    int done = 0;
    for (size_t i = 0; i < in->n; i++) {
        const struct cairn_label *l = &in->v[i];
        int c = done ? -1 : name_cmp(l->name, l->name_len, name, nl);
        if (c > 0 || c == 0) {
            if (value && cairn_labels_add(out, name, nl, value, vl))
                return CAIRN_ENOMEM;
            done = 1;
            if (c == 0)
                continue;
        }
        if (cairn_labels_add(out, l->name, l->name_len, l->value, l->value_len))
            return CAIRN_ENOMEM;
    }
    if (!done && value && cairn_labels_add(out, name, nl, value, vl))
        return CAIRN_ENOMEM;
    struct cairn_labels t = *in;
    *in = *out;
    *out = t;
    return 0;
}

int cairn_ship_label_set(struct cairn_ship_entry *e, const char *name, size_t name_len,
                         const char *value, size_t value_len)
{
    const struct cairn_label *l = cairn_labels_get(&e->labels, name, name_len);
    if (l && l->value_len == value_len && memcmp(l->value, value, value_len) == 0)
        return 0;
    return rewrite(e, name, name_len, value, value_len);
}

void cairn_ship_label_del(struct cairn_ship_entry *e, const char *name, size_t name_len)
{
    if (cairn_labels_get(&e->labels, name, name_len))
        rewrite(e, name, name_len, NULL, 0); /* removing never grows: cannot fail */
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
