/* pagepool.h -- a pool of fixed-size pages for the head's open blocks.
 *
 * Ownership: the pool owns every page it ever handed out; a page taken with
 * cairn__page_get belongs to the caller until it is given back with cairn__page_put
 * (or cairn__page_put_many). Pages come from large anonymous mappings (slabs) that are
 * unmapped only by cairn__pagepool_deinit, which must come after every page is back.
 * Thread-safe: one mutex, a leaf lock (nothing else is taken while it is held). */
#ifndef CAIRN_STORE_PAGEPOOL_H
#define CAIRN_STORE_PAGEPOOL_H

#include <pthread.h>
#include <stddef.h>

/* A page: small enough that the last, partly filled page of each of thousands of open
 * blocks wastes little of the head budget (4 KiB x 2,000 streams = 8 MiB at most),
 * large enough that taking one (a lock) is rare next to the lines copied into it. */
#define CAIRN__PAGE_SIZE 4096u
/* Pages mapped at once when the pool is empty: 1 MiB, one mmap per 256 pages. */
#define CAIRN__SLAB_PAGES 256u

struct cairn__pagepool {
    pthread_mutex_t mu;
    /* free pages: [0, n_cold) were given back to the kernel (MADV_DONTNEED), the rest,
     * [n_cold, n_free), are resident; get takes the newest resident one first */
    void **free_v;
    size_t n_free, n_cold, cap_free;
    size_t low_hot;   /* fewest resident free pages since the last trim */
    void **slabs;
    size_t n_slabs, cap_slabs;
    size_t n_total;   /* pages in all slabs */
};

int cairn__pagepool_init(struct cairn__pagepool *p);
/* Unmap every slab; pages still out become invalid. */
void cairn__pagepool_deinit(struct cairn__pagepool *p);
/* A page of CAIRN__PAGE_SIZE bytes (contents undefined), or NULL when out of memory. */
void *cairn__page_get(struct cairn__pagepool *p);
/* Give back n pages (one lock for all of them). */
void cairn__page_put_many(struct cairn__pagepool *p, void *const *v, size_t n);
static inline void cairn__page_put(struct cairn__pagepool *p, void *pg)
{
    cairn__page_put_many(p, &pg, 1);
}
/* Return to the kernel the resident free pages that stayed unused since the last trim
 * (the low-water mark of the free list), keeping `keep` of them resident. The pages
 * stay in the pool and are reused (and faulted in again) after the resident ones.
 * Returns how many pages were released. Called once a second by the store. */
size_t cairn__pagepool_trim(struct cairn__pagepool *p, size_t keep);
/* Pages mapped, free, and free but released to the kernel. */
void cairn__pagepool_stats(struct cairn__pagepool *p, size_t *total, size_t *free_pages,
                           size_t *cold);

#endif
