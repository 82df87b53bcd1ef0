/* prefetch.c -- read-ahead of remote blocks: the first time an iterator needs a block
 * that lives only in the object store, the blocks it will read next are fetched in
 * parallel (ranged GETs of single blocks, a few threads) into the block cache, so a
 * cold query pays about one round trip per batch instead of one per block.
 *
 * How far ahead: a metric or block iteration reads every block in range, so all of
 * them (up to half the cache, so the read-ahead does not evict itself); a log query
 * may stop at its limit, so the first CAIRN__PREFETCH_LOG_BLOCKS in its direction. The
 * read-ahead stops at the first failure (a store that is down costs one timeout, not
 * one per block), at the query's deadline and when the query is cancelled; whatever it
 * did not fetch is read on demand as before, with the same errors. Blocks past the
 * iterator's stop bound (a log query's limit already reached) are not fetched. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/log.h"
#include "cairn/timeutil.h"
#include "store/iter_int.h"

#define CAIRN__PREFETCH_THREADS 8     /* GETs in flight: enough to hide ~15 ms RGW latency */
#define CAIRN__PREFETCH_LOG_BLOCKS 64 /* a log query's read-ahead, in blocks */

struct pf_item {
    struct cairn__period *per;
    struct cairn__bref ref;
    int64_t key;
};

struct pf {
    struct pf_item *v;
    size_t n;
    atomic_size_t next;
    atomic_int failed;
    const _Atomic int64_t *stop; /* the iterator's stop bound (cairn_store_iter_set_stop) */
    int backward;
    int64_t deadline;
};

/* Is item i past the iterator's stop bound (then so is every later one: sorted)? */
static int past_stop(const struct pf *f, size_t i)
{
    if (!f->stop)
        return 0;
    int64_t s = atomic_load_explicit(f->stop, memory_order_relaxed);
    return f->backward ? f->v[i].ref.max_ts < s : f->v[i].ref.min_ts > s;
}

static int cmp_key(const void *a, const void *b)
{
    int64_t x = ((const struct pf_item *)a)->key, y = ((const struct pf_item *)b)->key;
    return x < y ? -1 : x > y;
}

static void *pf_worker(void *arg)
{
    struct pf *f = arg;
    char *buf = NULL;
    size_t cap = 0;
    for (;;) {
        size_t i = atomic_fetch_add(&f->next, 1);
        if (i >= f->n || atomic_load(&f->failed) || past_stop(f, i) ||
            (f->deadline && cairn_mono_ns() > f->deadline))
            break;
        const struct pf_item *it = &f->v[i];
        if (it->ref.len > cap) {
            char *nb = realloc(buf, it->ref.len);
            if (!nb)
                break;
            buf = nb;
            cap = it->ref.len;
        }
        if (cairn__remote_read(it->per, it->ref.file, it->ref.off, it->ref.len, buf))
            atomic_store(&f->failed, 1);
    }
    free(buf);
    return NULL;
}

static int is_remote(struct cairn__period *p, uint32_t file)
{
    pthread_mutex_lock(&p->mu);
    int r = file < p->n_files && p->files[file].remote;
    pthread_mutex_unlock(&p->mu);
    return r;
}

void cairn__remote_prefetch(struct cairn__iter *it)
{
    struct cairn_store *s = it->s;
    if (!s->remote || !s->cfg.cache || !it->n)
        return;
    struct pf f = {.stop = it->stop, .backward = it->backward, .deadline = it->deadline};
    if (!(f.v = malloc(it->n * sizeof *f.v)))
        return; /* only a read-ahead: the blocks are read on demand */
    for (size_t i = 0; i < it->n; i++) {
        const struct src *x = &it->v[i];
        if (x->head || x->dec || !x->per || !x->per->rem || !is_remote(x->per, x->ref.file))
            continue;
        int64_t key = it->backward ? -x->ref.max_ts : x->ref.min_ts;
        f.v[f.n++] = (struct pf_item){x->per, x->ref, key};
    }
    qsort(f.v, f.n, sizeof *f.v, cmp_key);
    int all = it->blockmode || it->no_lines;
    uint64_t budget = cairn_cache_max_size(s->cfg.cache) / 2, bytes = 0;
    size_t keep = 0;
    for (; keep < f.n && (all || keep < CAIRN__PREFETCH_LOG_BLOCKS); keep++) {
        bytes += f.v[keep].ref.len;
        if (bytes > budget)
            break;
    }
    f.n = keep;
    int64_t t0 = cairn_mono_ns();
    pthread_t thr[CAIRN__PREFETCH_THREADS];
    int nt = 0;
    for (; nt < CAIRN__PREFETCH_THREADS && (size_t)nt < f.n; nt++)
        if (pthread_create(&thr[nt], NULL, pf_worker, &f) != 0)
            break;
    if (nt == 0)
        pf_worker(&f); /* no thread could start: at least one at a time here */
    for (int i = 0; i < nt; i++)
        pthread_join(thr[i], NULL);
    CAIRN_DEBUG("remote", "read-ahead", "blocks=%zu sources=%zu threads=%d ms=%lld failed=%d",
                f.n, it->n, nt, (long long)((cairn_mono_ns() - t0) / 1000000),
                atomic_load(&f.failed));
    free(f.v);
}
