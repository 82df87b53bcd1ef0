/* strmap.h -- a map from byte strings to dense ids 0, 1, 2, ... in insertion order,
 * for grouping and distinct counts (volumes, detected labels and fields, patterns):
 * callers keep per-id data in their own arrays indexed by the id.
 *
 * Ownership: the map copies every key (into one growing buffer, each NUL-terminated)
 * and frees them in cairn_strmap_deinit. Key pointers stay valid until the next put.
 * Not thread-safe. */
#ifndef CAIRN_STRMAP_H
#define CAIRN_STRMAP_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"

struct cairn_strmap {
    uint32_t *slot;   /* open addressing: id + 1, 0 empty; nslot a power of two */
    size_t nslot;
    size_t *off;      /* key id at keys.data + off[id] */
    uint32_t *len;
    size_t n, cap;
    struct cairn_buf keys;
};

void cairn_strmap_init(struct cairn_strmap *m);
void cairn_strmap_deinit(struct cairn_strmap *m);
/* The id of key k (added when new, *created then 1). 0 or CAIRN_ENOMEM (the map is
 * unchanged). created may be NULL. */
int cairn_strmap_put(struct cairn_strmap *m, const char *k, size_t len, uint32_t *id,
                     int *created);
/* 1 and *id when k is in the map, else 0. */
int cairn_strmap_find(const struct cairn_strmap *m, const char *k, size_t len, uint32_t *id);
/* Key of id (NUL-terminated), its length in *len (may be NULL). */
static inline const char *cairn_strmap_key(const struct cairn_strmap *m, uint32_t id, size_t *len)
{
    if (len)
        *len = m->len[id];
    return m->keys.data + m->off[id];
}
/* Bytes the map holds (for memory budgets). */
size_t cairn_strmap_bytes(const struct cairn_strmap *m);

#endif
