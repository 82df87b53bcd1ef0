/* strmap.c -- strings to dense ids: open addressing over xxHash, keys in one buffer. */
#include <stdlib.h>
#include <string.h>

#include "cairn/error.h"
#include "cairn/hash.h"
#include "cairn/strmap.h"

void cairn_strmap_init(struct cairn_strmap *m)
{
    memset(m, 0, sizeof *m);
    cairn_buf_init(&m->keys);
}

void cairn_strmap_deinit(struct cairn_strmap *m)
{
    free(m->slot);
    free(m->off);
    free(m->len);
    cairn_buf_deinit(&m->keys);
    memset(m, 0, sizeof *m);
}

static size_t probe(const struct cairn_strmap *m, const char *k, size_t len, int *found)
{
    size_t mask = m->nslot - 1, h = cairn_hash64(k, len) & mask;
    for (; m->slot[h]; h = (h + 1) & mask) {
        uint32_t id = m->slot[h] - 1;
        if (m->len[id] == len && memcmp(m->keys.data + m->off[id], k, len) == 0) {
            *found = 1;
            return h;
        }
    }
    *found = 0;
    return h;
}

int cairn_strmap_find(const struct cairn_strmap *m, const char *k, size_t len, uint32_t *id)
{
    int found;
    if (!m->nslot)
        return 0;
    size_t h = probe(m, k, len, &found);
    if (found)
        *id = m->slot[h] - 1;
    return found;
}

/* Keep the table under half full. */
static int grow_slots(struct cairn_strmap *m)
{
    size_t ns = m->nslot ? 2 * m->nslot : 64;
    uint32_t *sl = calloc(ns, sizeof *sl);
    if (!sl)
        return CAIRN_ENOMEM;
    for (size_t i = 0; i < m->n; i++) {
        size_t h = cairn_hash64(m->keys.data + m->off[i], m->len[i]) & (ns - 1);
        while (sl[h])
            h = (h + 1) & (ns - 1);
        sl[h] = (uint32_t)i + 1;
    }
    free(m->slot);
    m->slot = sl;
    m->nslot = ns;
    return 0;
}

int cairn_strmap_put(struct cairn_strmap *m, const char *k, size_t len, uint32_t *id,
                     int *created)
{
    if (created)
        *created = 0;
    if (len > UINT32_MAX || m->n >= UINT32_MAX - 1)
        return CAIRN_ENOMEM;
    if (2 * (m->n + 1) > m->nslot && grow_slots(m))
        return CAIRN_ENOMEM;
    int found;
    size_t h = probe(m, k, len, &found);
    if (found) {
        *id = m->slot[h] - 1;
        return 0;
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 32;
        size_t *off = realloc(m->off, cap * sizeof *off);
        if (!off)
            return CAIRN_ENOMEM;
        m->off = off;
        uint32_t *ln = realloc(m->len, cap * sizeof *ln);
        if (!ln)
            return CAIRN_ENOMEM;
        m->len = ln;
        m->cap = cap;
    }
    size_t at = m->keys.len;
    if (cairn_buf_append(&m->keys, k, len) || cairn_buf_append_byte(&m->keys, '\0')) {
        cairn_buf_truncate(&m->keys, at);
        return CAIRN_ENOMEM;
    }
    m->off[m->n] = at;
    m->len[m->n] = (uint32_t)len;
    m->slot[h] = (uint32_t)m->n + 1;
    *id = (uint32_t)m->n++;
    if (created)
        *created = 1;
    return 0;
}

size_t cairn_strmap_bytes(const struct cairn_strmap *m)
{
    return m->nslot * sizeof *m->slot + m->cap * (sizeof *m->off + sizeof *m->len) +
           m->keys.cap;
}
