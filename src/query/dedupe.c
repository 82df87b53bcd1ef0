/* dedupe.c -- the run of equal (stream, timestamp) entries and the lookup of a line in
 * it, for dropping duplicate entries on the read path (see dedupe.h). */
#include <stdlib.h>
#include <string.h>

#include "cairn/error.h"
#include "cairn/hash.h"
#include "dedupe.h"

/* A run this long is hashed: below it a scan of the lengths is cheaper. */
#define QDUP_HASH_FROM 16

static int add(struct cairn__qdup *d, const char *line, size_t len)
{
    if (len > UINT32_MAX)
        return CAIRN_EINVAL;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        struct cairn__qdup_ent *v = realloc(d->v, cap * sizeof *v);
        if (!v)
            return CAIRN_ENOMEM;
        d->v = v;
        d->cap = cap;
    }
    size_t off = d->lines.len;
    if (cairn_buf_append(&d->lines, line, len))
        return CAIRN_ENOMEM;
    d->v[d->n++] = (struct cairn__qdup_ent){off, 0, (uint32_t)len};
    return 0;
}

static void slot_put(struct cairn__qdup *d, size_t i)
{
    size_t k = (size_t)d->v[i].h & (d->nslots - 1);
    while (d->slots[k])
        k = (k + 1) & (d->nslots - 1);
    d->slots[k] = (uint32_t)i + 1;
}

/* Room for twice the run in the table, rebuilt from the kept lines' hashes (computed
 * here for a run being hashed for the first time). The table's allocation (slotcap)
 * is kept from run to run. */
static int rehash(struct cairn__qdup *d)
{
    size_t ns = 64;
    while (ns < 2 * (d->n + 1))
        ns *= 2;
    if (ns > d->slotcap) {
        uint32_t *slots = realloc(d->slots, ns * sizeof *slots);
        if (!slots)
            return CAIRN_ENOMEM;
        d->slots = slots;
        d->slotcap = ns;
    }
    if (!d->nslots)
        for (size_t i = 0; i < d->n; i++)
            d->v[i].h = cairn_hash64(d->lines.data + d->v[i].off, d->v[i].len);
    memset(d->slots, 0, ns * sizeof *d->slots);
    d->nslots = ns;
    for (size_t i = 0; i < d->n; i++)
        slot_put(d, i);
    return 0;
}

int cairn__qdup_join(struct cairn__qdup *d, const char *line, size_t len)
{
    int rc;
    if (d->n == 0) { /* the run's first line was not copied: it is still readable */
        if (d->first_len == len && memcmp(d->first, line, len) == 0) {
            d->first = line; /* the same bytes, readable one call longer */
            return 1;
        }
        d->lines.len = 0;
        d->nslots = 0;
        if ((rc = add(d, d->first, d->first_len))) {
            d->live = 0;
            return rc;
        }
    }
    if (!d->nslots) {
        for (size_t i = 0; i < d->n; i++)
            if (d->v[i].len == len && memcmp(d->lines.data + d->v[i].off, line, len) == 0)
                return 1;
        rc = add(d, line, len);
        if (rc == 0 && d->n >= QDUP_HASH_FROM)
            rc = rehash(d);
        if (rc)
            d->live = 0; /* the run is incomplete: start over rather than miss one */
        return rc;
    }
    uint64_t h = cairn_hash64(line, len);
    for (size_t k = (size_t)h & (d->nslots - 1); d->slots[k]; k = (k + 1) & (d->nslots - 1)) {
        const struct cairn__qdup_ent *e = &d->v[d->slots[k] - 1];
        if (e->h == h && e->len == len && memcmp(d->lines.data + e->off, line, len) == 0)
            return 1;
    }
    rc = add(d, line, len);
    if (rc == 0) {
        d->v[d->n - 1].h = h;
        if (2 * d->n > d->nslots)
            rc = rehash(d);
        else
            slot_put(d, d->n - 1);
    }
    if (rc)
        d->live = 0;
    return rc;
}

void cairn__qdup_deinit(struct cairn__qdup *d)
{
    cairn_buf_deinit(&d->lines);
    free(d->v);
    free(d->slots);
    memset(d, 0, sizeof *d);
}
