/* comparator.c -- matches the timestamps the writer sent with those the tail brings
 * back, as loki-canary's comparator does: the oldest pending line is the expected
 * one (another is out of order), a line already acknowledged is a duplicate, a line
 * never sent (or given up on) is unexpected. Lines not seen within wait move to a
 * missing list that prune's caller queries the store for; those still not found
 * after max_wait count as missing.
 *
 * Memory is bounded: prune drops what is older than wait (pending, acknowledged) and
 * max_wait (missing), and each list is capped at max_pending: past it, the oldest
 * pending line is handed to the missing list, the oldest missing line is counted
 * missing, the oldest acknowledgement is forgotten. */
#include <stdlib.h>
#include <string.h>

#include "canary/canary_int.h"
#include "cairn/error.h"
#include "cairn/log.h"

/* ---- timestamp lists ---- */

static size_t ts_len(const struct cairn__ts_list *l)
{
    return l->n - l->head;
}

static int64_t ts_at(const struct cairn__ts_list *l, size_t i)
{
    return l->v[l->head + i];
}

static int ts_push(struct cairn__ts_list *l, int64_t ts)
{
    if (l->n == l->cap) {
        if (l->head > 0) { /* reclaim the consumed front first */
            memmove(l->v, l->v + l->head, ts_len(l) * sizeof *l->v);
            l->n -= l->head;
            l->head = 0;
        } else {
            size_t cap = l->cap ? l->cap * 2 : 64;
            int64_t *v = realloc(l->v, cap * sizeof *v);
            if (!v)
                return CAIRN_ENOMEM;
            l->v = v;
            l->cap = cap;
        }
    }
    l->v[l->n++] = ts;
    return 0;
}

/* Remove the i-th live entry. */
static void ts_remove(struct cairn__ts_list *l, size_t i)
{
    if (i == 0) {
        l->head++;
    } else {
        size_t at = l->head + i;
        memmove(l->v + at, l->v + at + 1, (l->n - at - 1) * sizeof *l->v);
        l->n--;
    }
    if (l->head == l->n)
        l->head = l->n = 0;
}

static long ts_find(const struct cairn__ts_list *l, int64_t ts)
{
    for (size_t i = 0; i < ts_len(l); i++)
        if (ts_at(l, i) == ts)
            return (long)i;
    return -1;
}

/* Keep the entries keep() says, in order; call gone() for the others. */
static void ts_filter(struct cairn__ts_list *l, int (*keep)(int64_t ts, int64_t arg),
                      int64_t arg, void (*gone)(int64_t ts, void *ctx), void *ctx)
{
    size_t k = l->head;
    for (size_t i = l->head; i < l->n; i++) {
        if (keep(l->v[i], arg))
            l->v[k++] = l->v[i];
        else if (gone)
            gone(l->v[i], ctx);
    }
    l->n = k;
    if (l->head == l->n)
        l->head = l->n = 0;
}

static void ts_free(struct cairn__ts_list *l)
{
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* ---- the comparator ---- */

int cairn__canary_cmp_init(struct cairn__canary_cmp *c, const struct cairn__canary_cmp_config *cfg,
                           struct cairn__canary_metrics *m)
{
    memset(c, 0, sizeof *c);
    if (pthread_mutex_init(&c->mu, NULL))
        return CAIRN_EIO;
    c->cfg = *cfg;
    if (!c->cfg.max_pending)
        c->cfg.max_pending = 1;
    c->m = m;
    return 0;
}

void cairn__canary_cmp_deinit(struct cairn__canary_cmp *c)
{
    ts_free(&c->pending);
    ts_free(&c->acked);
    ts_free(&c->missing);
    ts_free(&c->spot);
    pthread_mutex_destroy(&c->mu);
}

/* The oldest missing line leaves the list as missing (the list is full). */
static void missing_overflow(struct cairn__canary_cmp *c)
{
    if (ts_len(&c->missing) < c->cfg.max_pending)
        return;
    c->m->missing++;
    CAIRN_WARN("canary", "missing list full: oldest line counted missing", "ts=%lld",
               (long long)ts_at(&c->missing, 0));
    ts_remove(&c->missing, 0);
}

int cairn__canary_cmp_sent(struct cairn__canary_cmp *c, int64_t ts)
{
    int rc = 0;
    pthread_mutex_lock(&c->mu);
    if (ts_len(&c->pending) >= c->cfg.max_pending) {
        missing_overflow(c);
        c->m->ws_missing++;
        rc = ts_push(&c->missing, ts_at(&c->pending, 0));
        ts_remove(&c->pending, 0);
    }
    if (!rc)
        rc = ts_push(&c->pending, ts);
    if (!rc) {
        c->m->entries++;
        size_t ns = ts_len(&c->spot);
        if ((ns == 0 || ts - ts_at(&c->spot, ns - 1) >= c->cfg.spot_interval_ns) &&
            ns < c->cfg.max_pending)
            rc = ts_push(&c->spot, ts);
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void cairn__canary_cmp_received(struct cairn__canary_cmp *c, int64_t ts, int64_t now)
{
    pthread_mutex_lock(&c->mu);
    long i = ts_find(&c->pending, ts);
    if (i >= 0) {
        if (i > 0) {
            c->m->out_of_order++;
            CAIRN_WARN("canary", "out of order entry", "ts=%lld before=%ld oldest=%lld",
                       (long long)ts, i, (long long)ts_at(&c->pending, 0));
        }
        ts_remove(&c->pending, (size_t)i);
        if (ts_len(&c->acked) >= c->cfg.max_pending)
            ts_remove(&c->acked, 0);
        if (ts_push(&c->acked, ts))
            CAIRN_WARN("canary", "out of memory: a duplicate of this line will not be seen",
                       "ts=%lld", (long long)ts);
        pthread_mutex_unlock(&c->mu);
        cairn__canary_observe(c->m, &c->m->latency, (double)(now - ts) / 1e9);
        return;
    }
    if (ts_find(&c->acked, ts) >= 0) {
        c->m->duplicate++;
        CAIRN_WARN("canary", "duplicate entry", "ts=%lld", (long long)ts);
    } else {
        c->m->unexpected++;
        CAIRN_WARN("canary", "unexpected entry", "ts=%lld", (long long)ts);
    }
    pthread_mutex_unlock(&c->mu);
}

static int newer_than(int64_t ts, int64_t limit)
{
    return ts > limit;
}

static void went_missing(int64_t ts, void *ctx)
{
    struct cairn__canary_cmp *c = ctx;
    c->m->ws_missing++;
    CAIRN_WARN("canary", "websocket failed to receive entry within wait", "ts=%lld wait=%.3fs",
               (long long)ts, (double)c->cfg.wait_ns / 1e9);
    missing_overflow(c);
    if (ts_push(&c->missing, ts)) {
        c->m->missing++; /* cannot track it: count it missing now */
        CAIRN_WARN("canary", "out of memory: entry counted missing", "ts=%lld", (long long)ts);
    }
}

size_t cairn__canary_cmp_prune(struct cairn__canary_cmp *c, int64_t now, int64_t *oldest,
                               int64_t *newest)
{
    pthread_mutex_lock(&c->mu);
    int64_t limit = now - c->cfg.wait_ns;
    ts_filter(&c->pending, newer_than, limit, went_missing, c);
    ts_filter(&c->acked, newer_than, limit, NULL, NULL);
    size_t n = ts_len(&c->missing);
    if (n) {
        int64_t lo = ts_at(&c->missing, 0), hi = lo;
        for (size_t i = 1; i < n; i++) {
            int64_t t = ts_at(&c->missing, i);
            lo = t < lo ? t : lo;
            hi = t > hi ? t : hi;
        }
        *oldest = lo;
        *newest = hi;
    }
    pthread_mutex_unlock(&c->mu);
    return n;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void given_up(int64_t ts, void *ctx)
{
    struct cairn__canary_cmp *c = ctx;
    c->m->missing++;
    CAIRN_WARN("canary", "failed to receive entry within max wait", "ts=%lld max_wait=%.3fs",
               (long long)ts, (double)c->cfg.max_wait_ns / 1e9);
}

size_t cairn__canary_cmp_confirm(struct cairn__canary_cmp *c, const int64_t *found, size_t n,
                                 int64_t now)
{
    int64_t *sorted = n ? malloc(n * sizeof *sorted) : NULL;
    if (sorted) {
        memcpy(sorted, found, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, cmp_i64);
    }
    pthread_mutex_lock(&c->mu);
    struct cairn__ts_list *l = &c->missing;
    size_t k = l->head;
    for (size_t i = l->head; i < l->n; i++) {
        int64_t t = l->v[i];
        int hit = sorted ? bsearch(&t, sorted, n, sizeof *sorted, cmp_i64) != NULL : 0;
        if (!sorted) /* out of memory: a linear scan does the same */
            for (size_t j = 0; j < n && !hit; j++)
                hit = found[j] == t;
        if (hit)
            CAIRN_INFO("canary", "missing websocket entry found by query", "ts=%lld after=%.3fs",
                       (long long)t, (double)(now - t) / 1e9);
        else
            l->v[k++] = t;
    }
    l->n = k;
    if (l->head == l->n)
        l->head = l->n = 0;
    uint64_t before = c->m->missing;
    ts_filter(l, newer_than, now - c->cfg.max_wait_ns, given_up, c);
    size_t counted = (size_t)(c->m->missing - before);
    pthread_mutex_unlock(&c->mu);
    free(sorted);
    return counted;
}

int cairn__canary_cmp_spot_due(struct cairn__canary_cmp *c, int64_t now, int64_t **out,
                               size_t *n)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&c->mu);
    ts_filter(&c->spot, newer_than, now - c->cfg.spot_max_ns, NULL, NULL);
    size_t due = 0;
    while (due < ts_len(&c->spot) && now - ts_at(&c->spot, due) >= c->cfg.spot_wait_ns)
        due++;
    int rc = 0;
    if (due) {
        if ((*out = malloc(due * sizeof **out))) {
            memcpy(*out, c->spot.v + c->spot.head, due * sizeof **out);
            *n = due;
        } else {
            rc = CAIRN_ENOMEM;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void cairn__canary_cmp_sizes(struct cairn__canary_cmp *c, size_t *pending, size_t *missing,
                             size_t *acked, size_t *spot)
{
    pthread_mutex_lock(&c->mu);
    *pending = ts_len(&c->pending);
    *missing = ts_len(&c->missing);
    *acked = ts_len(&c->acked);
    *spot = ts_len(&c->spot);
    pthread_mutex_unlock(&c->mu);
}
