/* oldcache.c -- the previous version of each event (for UPDATED's old_event), by uid,
 * in one ring buffer of a fixed size: versions are appended at the head and the oldest
 * fall off the tail. Updates come to recent events (a BackOff repeating), so keeping
 * the most recently written is what keeps them. One allocation for the whole budget:
 * no malloc per event, and no heap fragmentation from a million small blocks.
 *
 * Ring entry: u64 uid, u32 length, u32 flags (OC_WRAP: the rest of the ring up to its
 * end is unused, go on at 0), the JSON text, a NUL, padding to 8 bytes. A uid -> offset
 * index (linear probing, backward-shift deletion) finds them; an entry replaced or
 * deleted stays in the ring as dead bytes until the tail passes it. */
#include <stdlib.h>
#include <string.h>

#include "cairn/error.h"
#include "k8s/k8s_int.h"

#define OC_HDR 16
#define OC_WRAP 1u

struct oc_hdr {
    uint64_t uid;
    uint32_t len;
    uint32_t flags;
};

static size_t entry_size(size_t len)
{
    return OC_HDR + ((len + 1 + 7) & ~(size_t)7);
}

int cairn__oldcache_init(struct cairn__oldcache *c, size_t budget)
{
    memset(c, 0, sizeof *c);
    if (budget > UINT32_MAX)
        budget = UINT32_MAX;
    c->cap = budget & ~(size_t)7;
    c->icap = 1024;
    c->idx = calloc(c->icap, sizeof *c->idx);
    c->ring = c->cap ? malloc(c->cap) : NULL;
    if (!c->idx || (c->cap && !c->ring)) {
        free(c->idx);
        free(c->ring);
        memset(c, 0, sizeof *c);
        return CAIRN_ENOMEM;
    }
    return 0;
}

void cairn__oldcache_deinit(struct cairn__oldcache *c)
{
    free(c->ring);
    free(c->idx);
    memset(c, 0, sizeof *c);
}

static size_t idx_find(const struct cairn__oldcache *c, uint64_t uid)
{
    size_t mask = c->icap - 1, i = (size_t)uid & mask;
    while (c->idx[i].uid != 0 && c->idx[i].uid != uid)
        i = (i + 1) & mask;
    return i;
}

static void idx_remove_at(struct cairn__oldcache *c, size_t i)
{
    size_t mask = c->icap - 1;
    c->idx[i].uid = 0;
    c->n--;
    /* backward shift: move later entries of the cluster into the hole if they may */
    for (size_t j = (i + 1) & mask; c->idx[j].uid != 0; j = (j + 1) & mask) {
        size_t home = (size_t)c->idx[j].uid & mask;
        int movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
            c->idx[i] = c->idx[j];
            c->idx[j].uid = 0;
            i = j;
        }
    }
}

static int idx_grow(struct cairn__oldcache *c)
{
    size_t ncap = c->icap * 2;
    struct cairn__oc_slot *n = calloc(ncap, sizeof *n);
    if (!n)
        return CAIRN_ENOMEM;
    for (size_t i = 0; i < c->icap; i++) {
        if (c->idx[i].uid == 0)
            continue;
        size_t j = (size_t)c->idx[i].uid & (ncap - 1);
        while (n[j].uid != 0)
            j = (j + 1) & (ncap - 1);
        n[j] = c->idx[i];
    }
    free(c->idx);
    c->idx = n;
    c->icap = ncap;
    return 0;
}

const char *cairn__oldcache_get(struct cairn__oldcache *c, uint64_t uid, size_t *len)
{
    size_t i = idx_find(c, uid);
    if (c->idx[i].uid == 0)
        return NULL;
    struct oc_hdr h;
    memcpy(&h, c->ring + c->idx[i].off, sizeof h);
    *len = h.len;
    return (const char *)c->ring + c->idx[i].off + OC_HDR;
}

void cairn__oldcache_del(struct cairn__oldcache *c, uint64_t uid)
{
    size_t i = idx_find(c, uid);
    if (c->idx[i].uid != 0)
        idx_remove_at(c, i);
}

/* Drop the oldest entry (or the unused end of the ring). */
static void evict_tail(struct cairn__oldcache *c)
{
    struct oc_hdr h;
    if (c->cap - c->tail < OC_HDR) {
        c->used -= c->cap - c->tail;
        c->tail = 0;
        return;
    }
    memcpy(&h, c->ring + c->tail, sizeof h);
    if (h.flags & OC_WRAP) {
        c->used -= c->cap - c->tail;
        c->tail = 0;
        return;
    }
    size_t i = idx_find(c, h.uid);
    if (c->idx[i].uid != 0 && c->idx[i].off == c->tail)
        idx_remove_at(c, i); /* still the live version: it goes */
    size_t sz = entry_size(h.len);
    c->tail += sz;
    c->used -= sz;
    if (c->tail == c->cap)
        c->tail = 0;
}

int cairn__oldcache_put(struct cairn__oldcache *c, uint64_t uid, const char *json, size_t len)
{
    cairn__oldcache_del(c, uid);
    size_t sz = entry_size(len);
    if (sz > c->cap || len > UINT32_MAX)
        return 0; /* bigger than the whole cache: not kept */
    if ((c->n + 1) * 10 > c->icap * 7 && idx_grow(c) != 0)
        return CAIRN_ENOMEM;
    for (;;) {
        if (c->used == 0)
            c->head = c->tail = 0;
        if (c->used == 0 || c->head > c->tail) {
            if (c->cap - c->head >= sz)
                break;
            /* no room before the end: the rest is waste, go on at 0 */
            if (c->cap - c->head >= OC_HDR) {
                struct oc_hdr w = {0, 0, OC_WRAP};
                memcpy(c->ring + c->head, &w, sizeof w);
            }
            c->used += c->cap - c->head;
            c->head = 0;
        } else if (c->tail - c->head >= sz) {
            break;
        } else {
            evict_tail(c);
        }
    }
    struct oc_hdr h = {uid, (uint32_t)len, 0};
    memcpy(c->ring + c->head, &h, sizeof h);
    memcpy(c->ring + c->head + OC_HDR, json, len);
    c->ring[c->head + OC_HDR + len] = '\0';
    size_t i = idx_find(c, uid);
    c->idx[i].uid = uid;
    c->idx[i].off = (uint32_t)c->head;
    c->n++;
    c->head += sz;
    c->used += sz;
    if (c->head == c->cap)
        c->head = 0;
    return 0;
}
