/* oldcache.c -- the previous version of each event (for UPDATED's old_event), by uid,
 * within a byte budget: the least recently written entries go first. Updates come to
 * recent events (a BackOff repeating), so recency is what keeps them. */
#include <stdlib.h>
#include <string.h>

#include "cairn/error.h"
#include "k8s/k8s_int.h"

struct cairn__oc_entry {
    uint64_t uid;
    struct cairn__oc_entry *prev, *next; /* recency list */
    struct cairn__oc_entry *hnext;       /* bucket chain */
    size_t len;
    char json[]; /* NUL-terminated */
};

#define OC_ENTRY_OVERHEAD (sizeof(struct cairn__oc_entry) + 16)

int cairn__oldcache_init(struct cairn__oldcache *c, size_t budget)
{
    memset(c, 0, sizeof *c);
    c->nbuckets = 1024;
    c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
    c->budget = budget;
    return c->buckets ? 0 : CAIRN_ENOMEM;
}

void cairn__oldcache_deinit(struct cairn__oldcache *c)
{
    struct cairn__oc_entry *e = c->head;
    while (e) {
        struct cairn__oc_entry *n = e->next;
        free(e);
        e = n;
    }
    free(c->buckets);
    memset(c, 0, sizeof *c);
}

static struct cairn__oc_entry **slot_of(struct cairn__oldcache *c, uint64_t uid)
{
    struct cairn__oc_entry **pp = &c->buckets[uid & (c->nbuckets - 1)];
    while (*pp && (*pp)->uid != uid)
        pp = &(*pp)->hnext;
    return pp;
}

static void unlink_entry(struct cairn__oldcache *c, struct cairn__oc_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    c->n--;
    c->bytes -= e->len + OC_ENTRY_OVERHEAD;
}

static void remove_entry(struct cairn__oldcache *c, struct cairn__oc_entry **pp)
{
    struct cairn__oc_entry *e = *pp;
    *pp = e->hnext;
    unlink_entry(c, e);
    free(e);
}

const char *cairn__oldcache_get(struct cairn__oldcache *c, uint64_t uid, size_t *len)
{
    struct cairn__oc_entry *e = *slot_of(c, uid);
    if (!e)
        return NULL;
    *len = e->len;
    return e->json;
}

void cairn__oldcache_del(struct cairn__oldcache *c, uint64_t uid)
{
    struct cairn__oc_entry **pp = slot_of(c, uid);
    if (*pp)
        remove_entry(c, pp);
}

static void grow(struct cairn__oldcache *c)
{
    size_t nb = c->nbuckets * 2;
    struct cairn__oc_entry **b = calloc(nb, sizeof *b);
    if (!b)
        return; /* longer chains, still correct */
    for (struct cairn__oc_entry *e = c->head; e; e = e->next) {
        e->hnext = b[e->uid & (nb - 1)];
        b[e->uid & (nb - 1)] = e;
    }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = nb;
}

int cairn__oldcache_put(struct cairn__oldcache *c, uint64_t uid, const char *json, size_t len)
{
    cairn__oldcache_del(c, uid);
    if (len + OC_ENTRY_OVERHEAD > c->budget)
        return 0; /* bigger than the whole cache: not kept */
    while (c->tail && c->bytes + len + OC_ENTRY_OVERHEAD > c->budget)
        remove_entry(c, slot_of(c, c->tail->uid));
    struct cairn__oc_entry *e = malloc(sizeof *e + len + 1);
    if (!e)
        return CAIRN_ENOMEM;
    e->uid = uid;
    e->len = len;
    memcpy(e->json, json, len);
    e->json[len] = '\0';
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
    struct cairn__oc_entry **pp = &c->buckets[uid & (c->nbuckets - 1)];
    e->hnext = *pp;
    *pp = e;
    c->n++;
    c->bytes += len + OC_ENTRY_OVERHEAD;
    if (c->n > c->nbuckets)
        grow(c);
    return 0;
}
