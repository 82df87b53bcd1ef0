/* pagepool.c -- the head's page pool: fixed-size pages carved from 1 MiB anonymous
 * mappings, handed out and taken back through one free stack, so cutting and refilling
 * open blocks costs no mmap, munmap, page fault or malloc once the pool has grown to
 * the head's working size.
 *
 * Memory goes back to the kernel without unmapping: free pages that no one needed for
 * a whole trim interval (the free stack's low-water mark) are released with
 * MADV_DONTNEED and kept at the bottom of the stack, to be reused last. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cairn/error.h"
#include "cairn/log.h"
#include "store/pagepool.h"

#define SLAB_BYTES ((size_t)CAIRN__SLAB_PAGES * CAIRN__PAGE_SIZE)

int cairn__pagepool_init(struct cairn__pagepool *p)
{
    memset(p, 0, sizeof *p);
    if (pthread_mutex_init(&p->mu, NULL))
        return CAIRN_ENOMEM;
    return 0;
}

void cairn__pagepool_deinit(struct cairn__pagepool *p)
{
    for (size_t i = 0; i < p->n_slabs; i++)
        munmap(p->slabs[i], SLAB_BYTES);
    free(p->slabs);
    free(p->free_v);
    pthread_mutex_destroy(&p->mu);
    memset(p, 0, sizeof *p);
}

/* Map one more slab and push its pages (the first on top). Under mu. */
static int grow(struct cairn__pagepool *p)
{
    if (p->n_total + CAIRN__SLAB_PAGES > p->cap_free) {
        size_t nc = p->cap_free ? p->cap_free * 2 : 4 * CAIRN__SLAB_PAGES;
        void **nv = realloc(p->free_v, nc * sizeof *nv);
        if (!nv)
            return CAIRN_ENOMEM;
        p->free_v = nv;
        p->cap_free = nc;
    }
    if (p->n_slabs == p->cap_slabs) {
        size_t nc = p->cap_slabs ? p->cap_slabs * 2 : 16;
        void **nv = realloc(p->slabs, nc * sizeof *nv);
        if (!nv)
            return CAIRN_ENOMEM;
        p->slabs = nv;
        p->cap_slabs = nc;
    }
    char *s = mmap(NULL, SLAB_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (s == MAP_FAILED) {
        CAIRN_ERROR("pages", "mmap failed", "bytes=%zu errno=%d", SLAB_BYTES, errno);
        return CAIRN_ENOMEM;
    }
    p->slabs[p->n_slabs++] = s;
    p->n_total += CAIRN__SLAB_PAGES;
    for (size_t i = CAIRN__SLAB_PAGES; i-- > 0;)
        p->free_v[p->n_free++] = s + i * CAIRN__PAGE_SIZE;
    return 0;
}

void *cairn__page_get(struct cairn__pagepool *p)
{
    pthread_mutex_lock(&p->mu);
    if (!p->n_free && grow(p)) {
        pthread_mutex_unlock(&p->mu);
        return NULL;
    }
    void *pg = p->free_v[--p->n_free];
    if (p->n_cold > p->n_free)
        p->n_cold = p->n_free; /* the resident ones ran out: a released one, reused */
    size_t hot = p->n_free - p->n_cold;
    if (hot < p->low_hot)
        p->low_hot = hot;
    pthread_mutex_unlock(&p->mu);
    return pg;
}

void cairn__page_put_many(struct cairn__pagepool *p, void *const *v, size_t n)
{
    if (!n)
        return;
    pthread_mutex_lock(&p->mu);
    /* cap_free >= n_total: every page fits, whatever is given back */
    memcpy(p->free_v + p->n_free, v, n * sizeof *v);
    p->n_free += n;
    pthread_mutex_unlock(&p->mu);
}

static int ptr_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
    return x < y ? -1 : x > y;
}

size_t cairn__pagepool_trim(struct cairn__pagepool *p, size_t keep)
{
    pthread_mutex_lock(&p->mu);
    size_t hot = p->n_free - p->n_cold;
    size_t idle = p->low_hot < hot ? p->low_hot : hot;
    size_t n = idle > keep ? idle - keep : 0;
    if (n) {
        /* the oldest resident free pages sit just above the released ones; sorted by
         * address, neighbours go back in one madvise */
        void **v = p->free_v + p->n_cold;
        qsort(v, n, sizeof *v, ptr_cmp);
        for (size_t i = 0; i < n;) {
            size_t j = i + 1;
            while (j < n && (char *)v[j] == (char *)v[j - 1] + CAIRN__PAGE_SIZE)
                j++;
            if (madvise(v[i], (j - i) * CAIRN__PAGE_SIZE, MADV_DONTNEED))
                CAIRN_WARN("pages", "madvise failed", "errno=%d", errno);
            i = j;
        }
        p->n_cold += n;
    }
    p->low_hot = p->n_free - p->n_cold;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void cairn__pagepool_stats(struct cairn__pagepool *p, size_t *total, size_t *free_pages,
                           size_t *cold)
{
    pthread_mutex_lock(&p->mu);
    *total = p->n_total;
    *free_pages = p->n_free;
    *cold = p->n_cold;
    pthread_mutex_unlock(&p->mu);
}
