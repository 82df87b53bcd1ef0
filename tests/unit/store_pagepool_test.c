/* store_pagepool_test.c -- the head's page pool: pages are distinct and writable,
 * given-back pages are reused before new slabs are mapped, the pool grows slab by slab,
 * and trimming releases only pages left unused for a whole interval, which stay usable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "store/pagepool.h"

static void get_put_reuses(void **state)
{
    (void)state;
    struct cairn__pagepool p;
    assert_int_equal(cairn__pagepool_init(&p), 0);
    void *a = cairn__page_get(&p), *b = cairn__page_get(&p);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    memset(a, 0xaa, CAIRN__PAGE_SIZE);
    memset(b, 0xbb, CAIRN__PAGE_SIZE);
    assert_int_equal(((unsigned char *)a)[CAIRN__PAGE_SIZE - 1], 0xaa);
    size_t total, nfree, cold;
    cairn__pagepool_stats(&p, &total, &nfree, &cold);
    assert_int_equal(total, CAIRN__SLAB_PAGES);
    assert_int_equal(nfree, CAIRN__SLAB_PAGES - 2);
    /* the page given back last is the next one out */
    cairn__page_put(&p, b);
    assert_ptr_equal(cairn__page_get(&p), b);
    cairn__page_put(&p, a);
    cairn__page_put(&p, b);
    cairn__pagepool_stats(&p, &total, &nfree, &cold);
    assert_int_equal(nfree, total);
    cairn__pagepool_deinit(&p);
}

static int ptr_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (void *const *)a, y = (uintptr_t) * (void *const *)b;
    return x < y ? -1 : x > y;
}

static void grows_by_slabs_and_cycles_without_growing(void **state)
{
    (void)state;
    struct cairn__pagepool p;
    assert_int_equal(cairn__pagepool_init(&p), 0);
    size_t n = 3 * CAIRN__SLAB_PAGES + 7;
    void **v = calloc(n, sizeof *v);
    assert_non_null(v);
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < n; i++) {
            v[i] = cairn__page_get(&p);
            assert_non_null(v[i]);
            memset(v[i], (int)(i & 0xff), 64); /* writable */
        }
        /* all distinct */
        void **c = malloc(n * sizeof *c);
        assert_non_null(c);
        memcpy(c, v, n * sizeof *c);
        qsort(c, n, sizeof *c, ptr_cmp);
        for (size_t i = 1; i < n; i++)
            assert_true((char *)c[i] >= (char *)c[i - 1] + CAIRN__PAGE_SIZE);
        free(c);
        size_t total, nfree, cold;
        cairn__pagepool_stats(&p, &total, &nfree, &cold);
        /* four slabs, whatever the round: given-back pages are reused */
        assert_int_equal(total, 4 * CAIRN__SLAB_PAGES);
        cairn__page_put_many(&p, v, n);
    }
    free(v);
    cairn__pagepool_deinit(&p);
}

static void trim_releases_only_idle_pages(void **state)
{
    (void)state;
    struct cairn__pagepool p;
    assert_int_equal(cairn__pagepool_init(&p), 0);
    enum { N = 300 };
    void *v[N];
    for (int i = 0; i < N; i++) {
        v[i] = cairn__page_get(&p);
        memset(v[i], 0x5a, CAIRN__PAGE_SIZE);
    }
    /* no interval has passed since the pool started: nothing is known to be idle */
    assert_int_equal(cairn__pagepool_trim(&p, 0), 0);
    size_t total, nfree, cold;
    cairn__pagepool_stats(&p, &total, &nfree, &cold);
    size_t idle = nfree; /* these stayed free through the interval just started */
    /* pages taken and given back during the interval do not count as idle... */
    cairn__page_put_many(&p, v, N);
    void *x = cairn__page_get(&p);
    cairn__page_put(&p, x);
    /* ...only the low-water mark of the free list does, less what is kept */
    assert_int_equal(cairn__pagepool_trim(&p, 10), idle - 10);
    cairn__pagepool_stats(&p, &total, &nfree, &cold);
    assert_int_equal(cold, idle - 10);
    assert_int_equal(nfree, total);
    /* the next interval: every free resident page was idle through it */
    assert_int_equal(cairn__pagepool_trim(&p, 0), total - cold);
    cairn__pagepool_stats(&p, &total, &nfree, &cold);
    assert_int_equal(cold, total);
    /* released pages are handed out again and are usable */
    for (int i = 0; i < N; i++) {
        v[i] = cairn__page_get(&p);
        assert_non_null(v[i]);
        memset(v[i], 0x11, CAIRN__PAGE_SIZE);
        assert_int_equal(((unsigned char *)v[i])[100], 0x11);
    }
    cairn__pagepool_stats(&p, &total, &nfree, &cold);
    assert_int_equal(total, 2 * CAIRN__SLAB_PAGES); /* no new slab: released ones reused */
    assert_int_equal(cold, nfree);                   /* no resident free page left */
    cairn__page_put_many(&p, v, N);
    cairn__pagepool_deinit(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(get_put_reuses),
        cmocka_unit_test(grows_by_slabs_and_cycles_without_growing),
        cmocka_unit_test(trim_releases_only_idle_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
