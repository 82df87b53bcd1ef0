/* lcache.c -- a connection's cache of label texts it has already parsed: text ->
 * sorted, validated label set and its fingerprint.
 *
 * Promtail and the other agents send the same streams' label texts `{a="b", ...}`
 * over and over on a keep-alive connection; a hit copies the parsed set instead of
 * parsing, sorting, checking and hashing again. Only sets that passed validation
 * under the limits the cache is stamped with are kept, so a hit is valid. Open
 * addressing over a power-of-two table twice the entry cap; when the entry or byte
 * cap would be passed it is emptied whole (no per-entry eviction bookkeeping), so a
 * connection holds at most CAIRN_INGEST_LCACHE_MAX_BYTES of entries plus the table. */
#include <stdlib.h>
#include <string.h>

#include "cairn/ingest.h"
#include "cairn/hash.h"

/* One cached set: lens[2n] (name, value lengths), then the text, then the set's store
 * as struct cairn_labels keeps it (each name and value NUL-terminated, back to back),
 * slen bytes, so a hit is one copy and the views. */
struct cairn_ingest_lcache_ent {
    uint64_t h, fp;
    uint32_t tlen, n, slen;
    uint32_t lens[];
};

#define LCACHE_SLOTS (2 * CAIRN_INGEST_LCACHE_MAX)

void cairn_ingest_lcache_init(struct cairn_ingest_lcache *c)
{
    memset(c, 0, sizeof *c);
}

static void clear(struct cairn_ingest_lcache *c)
{
    if (!c->slot)
        return;
    for (size_t i = 0; i < LCACHE_SLOTS; i++) {
        free(c->slot[i]);
        c->slot[i] = NULL;
    }
    c->used = 0;
    c->bytes = 0;
}

void cairn_ingest_lcache_deinit(struct cairn_ingest_lcache *c)
{
    clear(c);
    free(c->slot);
    c->slot = NULL;
}

void cairn_ingest_lcache_limits(struct cairn_ingest_lcache *c, const struct cairn_ingest_limits *lim)
{
    size_t now[3] = {lim->max_label_names, lim->max_label_name_len, lim->max_label_value_len};
    if (memcmp(now, c->lim, sizeof now) != 0) {
        clear(c);
        memcpy(c->lim, now, sizeof now);
    }
}

static const char *ent_text(const struct cairn_ingest_lcache_ent *e)
{
    return (const char *)(e->lens + 2 * (size_t)e->n);
}

uint64_t cairn_ingest_lcache_hash(const char *text, size_t len)
{
    return cairn_hash64(text, len);
}

int cairn_ingest_lcache_get(const struct cairn_ingest_lcache *c, const char *text, size_t len, uint64_t h,
                      struct cairn_labels *ls, uint64_t *fp)
{
    if (!c->slot || len > CAIRN_INGEST_LCACHE_MAX_TEXT)
        return 0;
    for (size_t i = h & (LCACHE_SLOTS - 1);; i = (i + 1) & (LCACHE_SLOTS - 1)) {
        const struct cairn_ingest_lcache_ent *e = c->slot[i];
        if (!e)
            return 0;
        if (e->h != h || e->tlen != len || memcmp(ent_text(e), text, len) != 0)
            continue;
        cairn_labels_reset(ls);
        if (e->n > CAIRN_LABELS_PARSE_MAX || cairn_buf_reserve(&ls->store, e->slen))
            return 0; /* out of memory: the caller parses instead */
        char *o = ls->store.data;
        memcpy(o, ent_text(e) + e->tlen, e->slen);
        ls->store.len = e->slen;
        o[e->slen] = '\0';
        for (uint32_t j = 0; j < e->n; j++) {
            uint32_t nl = e->lens[2 * j], vl = e->lens[2 * j + 1];
            ls->v[j] = (struct cairn_label){o, o + nl + 1, nl, vl};
            o += nl + vl + 2;
        }
        ls->n = e->n;
        *fp = e->fp;
        return 1;
    }
}

void cairn_ingest_lcache_put(struct cairn_ingest_lcache *c, const char *text, size_t len, uint64_t h,
                       const struct cairn_labels *ls, uint64_t fp)
{
    if (len > CAIRN_INGEST_LCACHE_MAX_TEXT)
        return;
    if (!c->slot) {
        c->slot = calloc(LCACHE_SLOTS, sizeof *c->slot);
        if (!c->slot)
            return; /* no cache: every set is parsed */
    }
    size_t bytes = 0;
    for (size_t j = 0; j < ls->n; j++)
        bytes += ls->v[j].name_len + (size_t)ls->v[j].value_len + 2;
    size_t size = sizeof(struct cairn_ingest_lcache_ent) + 2 * ls->n * sizeof(uint32_t) + len + bytes;
    if (size > CAIRN_INGEST_LCACHE_MAX_BYTES / 4)
        return;
    if (c->used >= CAIRN_INGEST_LCACHE_MAX || c->bytes + size > CAIRN_INGEST_LCACHE_MAX_BYTES)
        clear(c);
    struct cairn_ingest_lcache_ent *e = malloc(size);
    if (!e)
        return;
    c->bytes += size;
    e->h = h;
    e->fp = fp;
    e->tlen = (uint32_t)len;
    e->n = (uint32_t)ls->n;
    e->slen = (uint32_t)bytes;
    char *p = (char *)(e->lens + 2 * ls->n);
    memcpy(p, text, len);
    p += len;
    for (size_t j = 0; j < ls->n; j++) {
        const struct cairn_label *l = &ls->v[j];
        e->lens[2 * j] = l->name_len;
        e->lens[2 * j + 1] = l->value_len;
        memcpy(p, l->name, l->name_len);
        p[l->name_len] = '\0';
        memcpy(p + l->name_len + 1, l->value, l->value_len);
        p[l->name_len + 1 + l->value_len] = '\0';
        p += l->name_len + l->value_len + 2;
    }
    size_t i = h & (LCACHE_SLOTS - 1);
    while (c->slot[i])
        i = (i + 1) & (LCACHE_SLOTS - 1);
    c->slot[i] = e;
    c->used++;
}
