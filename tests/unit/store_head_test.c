/* store_head_test.c -- open blocks kept in pool pages: lines shorter and longer than a
 * page (crossing one or several page boundaries) read back exactly from the head, after
 * the cut and after a reopen; duplicates and out-of-order entries across page
 * boundaries; the head budget counts whole pages and drops to zero after a flush; and
 * cut blocks' pages are reused, so filling and flushing again maps no new memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cairn/store.h"
#include "cairn/store_read.h"
#include "store/store_int.h"
#include "testutil.h"

#define T0 1767225600000000000LL /* 2026-01-01T00:00:00Z */
#define SEC 1000000000LL

static struct cairn_store *open_store(const char *dir)
{
    struct cairn_store_config cfg;
    cairn_store_config_default(&cfg);
    cfg.data_dir = dir;
    cfg.fsync = CAIRN_FSYNC_NEVER;
    struct cairn_err err;
    struct cairn_store *s = cairn_store_open(&cfg, &err);
    if (!s)
        fail_msg("open: %s", err.msg);
    return s;
}

/* Line i: a length cycling through sizes around page boundaries, bytes derived from i. */
static size_t line_len(int i)
{
    static const size_t sizes[] = {1, 17, 300, CAIRN__PAGE_SIZE - 1, CAIRN__PAGE_SIZE,
                                   CAIRN__PAGE_SIZE + 1, 2 * CAIRN__PAGE_SIZE + 333,
                                   3 * CAIRN__PAGE_SIZE + 5, 999};
    return sizes[i % (int)(sizeof sizes / sizeof sizes[0])];
}

static void make_line(int i, char *o, size_t n)
{
    for (size_t k = 0; k < n; k++)
        o[k] = (char)('a' + (i * 7 + (int)k) % 26);
    for (size_t k = 0; k < 4 && k < n; k++) /* unique per i (i < 2^24) */
        o[k] = (char)('A' + ((unsigned)i >> (6 * k) & 63));
}

static void append(struct cairn_store *s, const char *app, const int64_t *ts, char **lines,
                   const size_t *lens, int n)
{
    struct cairn_labels ls;
    cairn_labels_init(&ls);
    cairn_labels_add(&ls, "app", 3, app, strlen(app));
    assert_int_equal(cairn_labels_sort(&ls, NULL), 0);
    struct cairn_entry *e = calloc((size_t)n, sizeof *e);
    assert_non_null(e);
    for (int i = 0; i < n; i++)
        e[i] = (struct cairn_entry){ts[i], lines[i], lens[i]};
    struct cairn_push_stream ps = {.labels = &ls, .entries = e, .n = (size_t)n};
    assert_int_equal(cairn_store_append(s, "fake", &ps, 1), 0);
    assert_int_equal(ps.rejected, 0);
    free(e);
    cairn_labels_deinit(&ls);
}

/* Check that the tenant holds exactly entries 0..n-1 of make_line, at T0 + i s. */
static void check_all(struct cairn_store *s, int n)
{
    roaring_bitmap_t *all = roaring_bitmap_create();
    assert_int_equal(cairn_store_streams(s, "fake", INT64_MIN / 2, INT64_MAX / 2, all), 0);
    struct cairn_entry_iter it;
    assert_int_equal(cairn_store_iter_init(&it, s, "fake", all, INT64_MIN / 2, INT64_MAX / 2,
                                           CAIRN_ITER_FORWARD, 0),
                     0);
    char *want = malloc(4 * CAIRN__PAGE_SIZE);
    uint32_t sid;
    struct cairn_entry e;
    int r, i = 0;
    while ((r = cairn_store_iter_next(&it, &sid, &e)) == 1) {
        assert_true(i < n);
        assert_int_equal(e.ts, T0 + i * SEC);
        size_t len = line_len(i);
        make_line(i, want, len);
        assert_int_equal(e.len, len);
        assert_memory_equal(e.line, want, len);
        i++;
    }
    assert_int_equal(r, 0);
    assert_int_equal(i, n);
    free(want);
    cairn_store_iter_deinit(&it);
    roaring_bitmap_free(all);
}

static void lines_across_pages_read_back(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("head");
    struct cairn_store *s = open_store(dir);
    enum { N = 63 }; /* 7 rounds of line_len: 241 KB, under the 256 KiB block target */
    int64_t ts[N];
    char *lines[N];
    size_t lens[N];
    /* out of order inside the block: odd entries first, then even ones */
    int k = 0;
    for (int pass = 1; pass >= 0; pass--)
        for (int i = pass; i < N; i += 2, k++) {
            ts[k] = T0 + i * SEC;
            lens[k] = line_len(i);
            lines[k] = malloc(lens[k]);
            make_line(i, lines[k], lens[k]);
        }
    append(s, "a", ts, lines, lens, N);
    struct cairn_store_stats st;
    cairn_store_stats(s, &st);
    assert_int_equal(st.blocks_cut, 0);
    assert_int_equal(st.head_bytes % CAIRN__PAGE_SIZE, 0);
    size_t raw = 0;
    for (int i = 0; i < N; i++)
        raw += lens[i];
    /* line pages hold the bytes with less than a page to spare, plus an entry page */
    assert_true(st.head_bytes >= raw + CAIRN__PAGE_SIZE);
    assert_true(st.head_bytes < raw + 2 * CAIRN__PAGE_SIZE + CAIRN__PAGE_SIZE);
    check_all(s, N); /* from the open block */
    /* the same entries again are duplicates, wherever their lines cross pages */
    append(s, "a", ts, lines, lens, N);
    cairn_store_stats(s, &st);
    assert_int_equal(st.entries_appended, N);
    /* same time and length but another last byte: not a duplicate */
    lines[3][lens[3] - 1] ^= 1;
    append(s, "a", &ts[3], &lines[3], &lens[3], 1);
    cairn_store_stats(s, &st);
    assert_int_equal(st.entries_appended, N + 1);
    cairn_store_close(s);
    s = open_store(dir);
    cairn_store_stats(s, &st);
    assert_int_equal(st.head_bytes, 0);
    for (int i = 0; i < N; i++)
        free(lines[i]);
    cairn_store_close(s);
    test_rmdir_r(dir);
    free(dir);
}

static void read_back_after_cut_and_reopen(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("head");
    struct cairn_store *s = open_store(dir);
    enum { N = 400 };
    int64_t ts[N];
    char *lines[N];
    size_t lens[N];
    for (int i = 0; i < N; i++) {
        ts[i] = T0 + i * SEC;
        lens[i] = line_len(i);
        lines[i] = malloc(lens[i]);
        make_line(i, lines[i], lens[i]);
    }
    append(s, "a", ts, lines, lens, N); /* ~1 MB: cut at the 256 KiB block target */
    struct cairn_store_stats st;
    cairn_store_stats(s, &st);
    assert_true(st.blocks_cut >= 3);
    check_all(s, N); /* cut blocks and the open one */
    assert_int_equal(cairn_store_flush(s), 0);
    cairn_store_stats(s, &st);
    assert_int_equal(st.head_bytes, 0);
    check_all(s, N);
    cairn_store_close(s);
    s = open_store(dir);
    check_all(s, N);
    cairn_store_close(s);
    for (int i = 0; i < N; i++)
        free(lines[i]);
    test_rmdir_r(dir);
    free(dir);
}

static void flushed_pages_are_reused(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("head");
    struct cairn_store *s = open_store(dir);
    char line[200];
    memset(line, 'x', sizeof line);
    size_t first_total = 0;
    for (int round = 0; round < 4; round++) {
        /* 200 streams of 30 lines: 200 entry pages and 400 line pages */
        for (int a = 0; a < 200; a++) {
            char app[16];
            snprintf(app, sizeof app, "s%d", a);
            int64_t ts[30];
            char *lp[30];
            size_t lens[30];
            for (int i = 0; i < 30; i++) {
                ts[i] = T0 + (round * 30 + i) * SEC;
                lp[i] = line;
                lens[i] = sizeof line;
            }
            append(s, app, ts, lp, lens, 30);
        }
        struct cairn_store_stats st;
        cairn_store_stats(s, &st);
        assert_int_equal(st.head_bytes, 200 * 3 * CAIRN__PAGE_SIZE);
        assert_int_equal(cairn_store_flush(s), 0);
        cairn_store_stats(s, &st);
        assert_int_equal(st.head_bytes, 0);
        size_t total, nfree, cold;
        cairn__pagepool_stats(&s->pages, &total, &nfree, &cold);
        assert_int_equal(nfree, total); /* every page back in the pool */
        if (round == 0)
            first_total = total;
        assert_int_equal(total, first_total); /* and reused: no new slab */
    }
    cairn_store_close(s);
    test_rmdir_r(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lines_across_pages_read_back),
        cmocka_unit_test(read_back_after_cut_and_reopen),
        cmocka_unit_test(flushed_pages_are_reused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
