/* store_iter_test.c -- the entry iterator's order against a reference sort of what was
 * pushed: (ts, stream id, arrival) forward and its exact reverse backward, with ties
 * inside and across streams, streams whose blocks overlap (out-of-order entries) or
 * follow each other, open blocks, sub-ranges, and after a reopen (everything on disk);
 * column-only iteration (entry and block) giving the same timestamps and lengths as
 * the full path; the filtered iterator equal to the iterator filtered after; a stop
 * ending the iteration where it says; a damaged block failing the iteration, mapped or
 * read with pread, filtered or not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <ftw.h>
#include <sys/stat.h>

#include "cairn/log.h"
#include "cairn/store.h"
#include "cairn/store_read.h"
#include "store/store_int.h"
#include "testutil.h"

#define T0 1767225600000000000LL /* 2026-01-01T00:00:00Z */
#define SEC 1000000000LL
#define NSTREAMS 12
#define ROUNDS 60
#define PER 20

struct ref {
    int64_t ts;
    uint32_t sid, arrival;
    char line[96];
};

static struct ref refs[NSTREAMS * ROUNDS * PER];
static size_t nrefs;
static uint32_t arrivals[NSTREAMS];
static unsigned xflags; /* CAIRN__ITER_NO_MMAP for the second pass: the pread path */

static void tweak(struct cairn_store_config *c)
{
    c->fsync = CAIRN_FSYNC_NEVER;
    c->block_target_raw = 16384; /* several blocks per stream, > 4 KiB compressed */
    c->codec = CAIRN_CODEC_ZSTD;
}

static struct cairn_store *open_store(const char *dir)
{
    struct cairn_store_config cfg;
    cairn_store_config_default(&cfg);
    cfg.data_dir = dir;
    tweak(&cfg);
    struct cairn_err err;
    struct cairn_store *s = cairn_store_open(&cfg, &err);
    if (!s)
        fail_msg("open: %s", err.msg);
    return s;
}

/* Stream k's sid (looked up after the first push). */
static uint32_t sids[NSTREAMS];

static void push_round(struct cairn_store *s, int round)
{
    for (int k = 0; k < NSTREAMS; k++) {
        struct cairn_labels ls;
        cairn_labels_init(&ls);
        char pv[16];
        snprintf(pv, sizeof pv, "%d", k);
        cairn_labels_add(&ls, "job", 3, "it", 2);
        cairn_labels_add(&ls, "pod", 3, pv, strlen(pv));
        assert_int_equal(cairn_labels_sort(&ls, NULL), 0);
        struct cairn_entry e[PER];
        char lines[PER][96];
        for (int i = 0; i < PER; i++) {
            /* coarse timestamps: many ties inside a stream and across streams; streams
             * with k % 3 == 0 go back in time within the window (their blocks overlap),
             * the others never do (their blocks follow each other) */
            int64_t ts = T0 + (int64_t)(round * PER + i) / 4 * SEC;
            if (k % 3 == 0 && i % 7 == 3)
                ts -= 3 * SEC;
            /* a varying length, and noise that does not compress, so blocks are bigger
             * than the column-only path's first read */
            uint64_t x = (uint64_t)(round * 1000 + i) * 0x9E3779B97F4A7C15ull ^ (uint64_t)k;
            x ^= x >> 29;
            x *= 0xBF58476D1CE4E5B9ull;
            int l = snprintf(lines[i], sizeof lines[i],
                             "pod %d round %d entry %d %016llx%016llx %.*s", k, round, i, (unsigned long long)x,
                             (unsigned long long)(x * 0x94D049BB133111EBull), (k * 7 + i) % 13,
                             "xxxxxxxxxxxxx");
            e[i] = (struct cairn_entry){ts, lines[i], (size_t)l};
        }
        struct cairn_push_stream ps = {.labels = &ls, .entries = e, .n = PER};
        assert_int_equal(cairn_store_append(s, "fake", &ps, 1), 0);
        assert_int_equal(ps.rejected, 0);
        if (round == 0) {
            roaring_bitmap_t *b = roaring_bitmap_create();
            assert_int_equal(cairn_store_postings(s, "fake", "pod", pv, 0, INT64_MAX / 2, b), 0);
            assert_int_equal(roaring_bitmap_get_cardinality(b), 1);
            sids[k] = roaring_bitmap_minimum(b);
            roaring_bitmap_free(b);
        }
        for (int i = 0; i < PER; i++) {
            struct ref *r = &refs[nrefs++];
            r->ts = e[i].ts;
            r->sid = sids[k];
            r->arrival = arrivals[k]++;
            memcpy(r->line, lines[i], e[i].len);
            r->line[e[i].len] = '\0';
        }
        cairn_labels_deinit(&ls);
    }
}

static int ref_cmp(const void *a, const void *b)
{
    const struct ref *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    if (x->sid != y->sid)
        return x->sid < y->sid ? -1 : 1;
    return x->arrival < y->arrival ? -1 : (x->arrival > y->arrival);
}

/* The entry iterator over [start, end) equals the sorted reference, in both directions,
 * with lines; column-only gives the same (sid, ts, len) sequence. */
static void check_range(struct cairn_store *s, int64_t start, int64_t end)
{
    for (int dir = 0; dir < 2; dir++)
        for (int nl = 0; nl < 2; nl++) {
            struct cairn_entry_iter it;
            assert_int_equal(cairn_store_iter_init(&it, s, "fake", NULL, start, end,
                                                   dir ? CAIRN_ITER_BACKWARD : CAIRN_ITER_FORWARD,
                                                   (nl ? CAIRN_ITER_NO_LINES : 0) | xflags),
                             0);
            size_t lo = 0, hi = nrefs;
            while (lo < nrefs && refs[lo].ts < start)
                lo++;
            while (hi > lo && refs[hi - 1].ts >= end)
                hi--;
            size_t k = 0;
            uint32_t sid;
            struct cairn_entry e;
            int r;
            while ((r = cairn_store_iter_next(&it, &sid, &e)) == 1) {
                assert_true(k < hi - lo);
                const struct ref *want = &refs[dir ? hi - 1 - k : lo + k];
                assert_int_equal(e.ts, want->ts);
                assert_int_equal(sid, want->sid);
                assert_int_equal(e.len, strlen(want->line));
                if (nl)
                    assert_null(e.line);
                else
                    assert_memory_equal(e.line, want->line, e.len);
                k++;
            }
            assert_int_equal(r, 0);
            assert_int_equal(k, hi - lo);
            cairn_store_iter_deinit(&it);
        }
}

/* Keeps lines of pod 3 (a whole stream) and lines whose noise has "a7" or "f" in its
 * first characters (a scattered subset of every stream). */
static uint32_t pod5_sid;

static int keep_line(void *ctx, uint32_t sid, int64_t ts, const char *line, size_t len)
{
    int *calls = ctx;
    (*calls)++;
    if (sid == pod5_sid && ts % (2 * SEC) == 0) /* by stream and time too */
        return 1;
    if (len >= 6 && !memcmp(line, "pod 3 ", 6))
        return 1;
    const char *sp = memchr(line + 4, ' ', len - 4); /* after "pod N" */
    sp = sp ? memchr(sp + 1, ' ', len - (size_t)(sp + 1 - line)) : NULL; /* "round" */
    size_t at = sp ? (size_t)(sp - line) : 0;
    for (size_t k = at; k + 1 < len && k < at + 20; k++)
        if ((line[k] == 'a' && line[k + 1] == '7') || line[k] == 'f')
            return 1;
    return 0;
}

/* The filtered iterator returns what the unfiltered one returns, filtered after. */
static void check_filtered(struct cairn_store *s, int64_t start, int64_t end)
{
    for (int dir = 0; dir < 2; dir++) {
        enum cairn_iter_dir d = dir ? CAIRN_ITER_BACKWARD : CAIRN_ITER_FORWARD;
        struct cairn_entry_iter a, b;
        int calls = 0, calls2 = 0;
        assert_int_equal(cairn_store_iter_init(&a, s, "fake", NULL, start, end, d, xflags), 0);
        assert_int_equal(
            cairn_store_iter_init_filtered(&b, s, "fake", NULL, start, end, d, xflags, keep_line,
                                           &calls),
            0);
        uint32_t sa, sb;
        struct cairn_entry ea, eb;
        size_t kept = 0, dropped = 0, dropped_bytes = 0;
        int r;
        while ((r = cairn_store_iter_next(&a, &sa, &ea)) == 1) {
            if (!keep_line(&calls2, sa, ea.ts, ea.line, ea.len)) {
                dropped++;
                dropped_bytes += ea.len;
                continue;
            }
            assert_int_equal(cairn_store_iter_next(&b, &sb, &eb), 1);
            assert_int_equal(sa, sb);
            assert_int_equal(ea.ts, eb.ts);
            assert_int_equal(ea.len, eb.len);
            assert_memory_equal(ea.line, eb.line, ea.len);
            kept++;
        }
        assert_int_equal(r, 0);
        assert_int_equal(cairn_store_iter_next(&b, &sb, &eb), 0);
        assert_true(kept > 0 && dropped > 0);
        assert_int_equal(calls, calls2); /* each in-range line seen once */
        uint64_t sn, sbytes;
        cairn_store_iter_skipped(&b, &sn, &sbytes);
        assert_int_equal(sn, dropped);
        assert_int_equal(sbytes, dropped_bytes);
        cairn_store_iter_deinit(&a);
        cairn_store_iter_deinit(&b);
    }
    struct cairn_entry_iter c;
    int calls = 0;
    assert_int_equal(cairn_store_iter_init_filtered(&c, s, "fake", NULL, start, end,
                                                    CAIRN_ITER_FORWARD, CAIRN_ITER_NO_LINES,
                                                    keep_line, &calls),
                     CAIRN_EINVAL);
    cairn_store_iter_deinit(&c);
}

/* A stop: the entries the iterator returns are those of the plain iterator that are
 * not strictly past it (ties with it included), filtered or not, and a stop tightened
 * midway ends the iteration at the new one. */
static void check_stop_of(struct cairn_store *s, const roaring_bitmap_t *only)
{
    int64_t stops[] = {refs[0].ts, refs[nrefs / 3].ts, refs[nrefs / 2].ts + 1,
                       refs[nrefs - 1].ts, INT64_MIN, INT64_MAX};
    for (int dir = 0; dir < 2; dir++) {
        enum cairn_iter_dir d = dir ? CAIRN_ITER_BACKWARD : CAIRN_ITER_FORWARD;
        for (size_t si = 0; si < sizeof stops / sizeof stops[0]; si++) {
            for (int filtered = 0; filtered < 2; filtered++) {
                _Atomic int64_t stop = stops[si];
                int calls = 0;
                struct cairn_entry_iter a, b;
                assert_int_equal(cairn_store_iter_init(&a, s, "fake", only, INT64_MIN / 2,
                                                       INT64_MAX / 2, d, xflags), 0);
                assert_int_equal(cairn_store_iter_init_filtered(
                                     &b, s, "fake", only, INT64_MIN / 2, INT64_MAX / 2, d, xflags,
                                     filtered ? keep_line : NULL, &calls), 0);
                cairn_store_iter_set_stop(&b, &stop);
                uint32_t sa, sb;
                struct cairn_entry ea, eb;
                size_t got = 0;
                while (cairn_store_iter_next(&a, &sa, &ea) == 1) {
                    if (dir ? ea.ts < stops[si] : ea.ts > stops[si])
                        break;
                    if (filtered && !keep_line(&calls, sa, ea.ts, ea.line, ea.len))
                        continue;
                    assert_int_equal(cairn_store_iter_next(&b, &sb, &eb), 1);
                    assert_int_equal(sa, sb);
                    assert_int_equal(ea.ts, eb.ts);
                    assert_memory_equal(ea.line, eb.line, ea.len);
                    got++;
                }
                assert_int_equal(cairn_store_iter_next(&b, &sb, &eb), 0);
                assert_int_equal(cairn_store_iter_next(&b, &sb, &eb), 0);
                if (stops[si] == (dir ? INT64_MIN : INT64_MAX))
                    assert_true(got > 0);
                cairn_store_iter_deinit(&a);
                cairn_store_iter_deinit(&b);
            }
        }
        /* tightened while iterating: stops right after the entries at the new stop */
        _Atomic int64_t stop = dir ? INT64_MIN : INT64_MAX;
        struct cairn_entry_iter b;
        assert_int_equal(cairn_store_iter_init(&b, s, "fake", only, INT64_MIN / 2, INT64_MAX / 2,
                                               d, xflags), 0);
        cairn_store_iter_set_stop(&b, &stop);
        size_t total = only ? 0 : nrefs;
        for (size_t i = 0; only && i < nrefs; i++)
            total += roaring_bitmap_contains(only, refs[i].sid);
        uint32_t sb;
        struct cairn_entry eb;
        size_t k = 0;
        int64_t at = 0;
        while (cairn_store_iter_next(&b, &sb, &eb) == 1) {
            if (++k == total / 4) {
                at = eb.ts;
                stop = at;
            }
            if (k > total / 4)
                assert_true(eb.ts == at);
        }
        assert_true(k >= total / 4 && k < total);
        cairn_store_iter_deinit(&b);
    }
}

/* All streams, and one alone (its entries come from the heap's root without a bound). */
static void check_stop(struct cairn_store *s)
{
    check_stop_of(s, NULL);
    roaring_bitmap_t *one = roaring_bitmap_create();
    assert_non_null(one);
    roaring_bitmap_add(one, sids[3]);
    check_stop_of(s, one);
    roaring_bitmap_free(one);
}

/* The block iterator: column-only views carry the same ts and lengths as full ones. */
static void check_blocks(struct cairn_store *s)
{
    struct cairn_block_iter a, b;
    assert_int_equal(
        cairn_store_blocks_init(&a, s, "fake", NULL, INT64_MIN / 2, INT64_MAX / 2, xflags), 0);
    assert_int_equal(
        cairn_store_blocks_init(&b, s, "fake", NULL, INT64_MIN / 2, INT64_MAX / 2,
                                CAIRN_ITER_NO_LINES | xflags),
        0);
    struct cairn_block_view va, vb;
    size_t total = 0;
    int ra, rb;
    while ((ra = cairn_store_blocks_next(&a, &va)) == 1) {
        rb = cairn_store_blocks_next(&b, &vb);
        assert_int_equal(rb, 1);
        assert_int_equal(va.sid, vb.sid);
        assert_int_equal(va.n, vb.n);
        assert_memory_equal(va.ts, vb.ts, va.n * sizeof *va.ts);
        assert_memory_equal(va.lens, vb.lens, va.n * sizeof *va.lens);
        assert_int_equal(va.raw_bytes, vb.raw_bytes);
        assert_null(vb.lines);
        assert_non_null(va.lines);
        total += va.n;
    }
    assert_int_equal(ra, 0);
    assert_int_equal(cairn_store_blocks_next(&b, &vb), 0);
    assert_int_equal(total, nrefs);
    cairn_store_blocks_deinit(&a);
    cairn_store_blocks_deinit(&b);
}

/* Flip a byte in the middle of the first segment file found under dir: inside some
 * block's compressed line column (the bulk of every block). */
static char seg_path[4096];
static int find_seg(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_F && strstr(path, ".cseg") && !seg_path[0])
        snprintf(seg_path, sizeof seg_path, "%s", path);
    return 0;
}

static void corrupt_one_block(const char *dir)
{
    seg_path[0] = '\0';
    assert_int_equal(nftw(dir, find_seg, 8, FTW_PHYS), 0);
    assert_true(seg_path[0] != '\0');
    FILE *f = fopen(seg_path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long mid = ftell(f) / 2;
    assert_int_equal(fseek(f, mid, SEEK_SET), 0);
    int c = fgetc(f);
    assert_true(c != EOF);
    assert_int_equal(fseek(f, mid, SEEK_SET), 0);
    assert_int_equal(fputc(c ^ 0x5a, f), c ^ 0x5a);
    assert_int_equal(fclose(f), 0);
}

static void iter_order_matches_reference(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("storeiter");
    struct cairn_store *s = open_store(dir);
    nrefs = 0;
    memset(arrivals, 0, sizeof arrivals);
    for (int round = 0; round < ROUNDS; round++)
        push_round(s, round);
    qsort(refs, nrefs, sizeof *refs, ref_cmp);
    pod5_sid = sids[5];
    struct cairn_store_stats st;
    cairn_store_stats(s, &st);
    assert_true(st.blocks_cut > 2 * NSTREAMS); /* several blocks per stream, some open */
    int64_t last = refs[nrefs - 1].ts;
    /* with open blocks */
    check_range(s, INT64_MIN / 2, INT64_MAX / 2);
    check_range(s, T0 + 17 * SEC, T0 + 101 * SEC);
    check_range(s, last, last + 1);
    check_range(s, T0 + 5 * SEC, T0 + 5 * SEC); /* empty */
    check_blocks(s);
    check_filtered(s, INT64_MIN / 2, INT64_MAX / 2);
    check_filtered(s, T0 + 17 * SEC, T0 + 101 * SEC);
    check_stop(s);
    /* everything on disk, after a reopen */
    cairn_store_close(s);
    s = open_store(dir);
    for (int pass = 0; pass < 2; pass++) { /* mapped segment files, then pread */
        xflags = pass ? CAIRN__ITER_NO_MMAP : 0;
        check_range(s, INT64_MIN / 2, INT64_MAX / 2);
        check_range(s, T0 + 33 * SEC, last);
        check_blocks(s);
        check_filtered(s, INT64_MIN / 2, INT64_MAX / 2);
        check_stop(s);
    }
    xflags = 0;
    cairn_store_close(s);
    corrupt_one_block(dir);
    s = open_store(dir);
    for (int pass = 0; pass < 4; pass++) { /* mapped and pread, filtered and not */
        xflags = pass & 1 ? CAIRN__ITER_NO_MMAP : 0;
        int calls = 0, r;
        struct cairn_entry_iter it;
        assert_int_equal(cairn_store_iter_init_filtered(&it, s, "fake", NULL, INT64_MIN / 2,
                                                        INT64_MAX / 2, CAIRN_ITER_BACKWARD, xflags,
                                                        pass & 2 ? keep_line : NULL, &calls),
                         0);
        uint32_t sid;
        struct cairn_entry e;
        size_t n = 0;
        while ((r = cairn_store_iter_next(&it, &sid, &e)) == 1)
            n++;
        /* the damaged block is skipped (its CRC): the rest is returned, no error */
        assert_int_equal(r, 0);
        assert_true(n > 0 && n < nrefs);
        cairn_store_iter_deinit(&it);
    }
    xflags = 0;
    cairn_store_close(s);
    test_rmdir_r(dir);
    free(dir);
}

static void big_columns(struct cairn_store_config *c)
{
    c->fsync = CAIRN_FSYNC_NEVER;
    c->block_target_raw = 256 * 1024;
    c->codec = CAIRN_CODEC_LZ4;
}

/* Blocks whose timestamp column is longer than a column-only load's first read (noisy
 * deltas do not compress), after blocks with small columns: the load reads the rest;
 * column-only iteration still equals the full one. */
static void column_only_long_columns(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("storeiter2");
    struct cairn_store_config cfg;
    cairn_store_config_default(&cfg);
    cfg.data_dir = dir;
    big_columns(&cfg);
    struct cairn_err err;
    struct cairn_store *s = cairn_store_open(&cfg, &err);
    assert_non_null(s);
    enum { M = 6000 };
    static struct cairn_entry e[M];
    int64_t ts = T0;
    uint64_t x = 88172645463325252ull;
    for (int round = 0; round < 2; round++) {
        struct cairn_labels ls;
        cairn_labels_init(&ls);
        cairn_labels_add(&ls, "job", 3, round ? "noisy" : "calm", round ? 5 : 4);
        assert_int_equal(cairn_labels_sort(&ls, NULL), 0);
        int n = round ? M : 50;
        for (int i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ts += round ? 1 + (int64_t)(x % 1000000007) : SEC;
            e[i] = (struct cairn_entry){ts, "ab", 1 + (size_t)(x % 2)};
        }
        struct cairn_push_stream ps = {.labels = &ls, .entries = e, .n = (size_t)n};
        assert_int_equal(cairn_store_append(s, "fake", &ps, 1), 0);
        assert_int_equal(ps.rejected, 0);
        cairn_labels_deinit(&ls);
    }
    cairn_store_close(s); /* everything into blocks on disk */
    s = cairn_store_open(&cfg, &err);
    assert_non_null(s);
    for (int pass = 0; pass < 2; pass++) { /* mapped, then pread (two reads) */
        unsigned xf = pass ? CAIRN__ITER_NO_MMAP : 0;
        struct cairn_entry_iter a, b;
        assert_int_equal(cairn_store_iter_init(&a, s, "fake", NULL, 0, INT64_MAX / 2,
                                               CAIRN_ITER_FORWARD, xf),
                         0);
        assert_int_equal(cairn_store_iter_init(&b, s, "fake", NULL, 0, INT64_MAX / 2,
                                               CAIRN_ITER_FORWARD, CAIRN_ITER_NO_LINES | xf),
                         0);
        uint32_t sa, sb;
        struct cairn_entry ea, eb;
        size_t n = 0;
        int r;
        while ((r = cairn_store_iter_next(&a, &sa, &ea)) == 1) {
            assert_int_equal(cairn_store_iter_next(&b, &sb, &eb), 1);
            assert_int_equal(sa, sb);
            assert_int_equal(ea.ts, eb.ts);
            assert_int_equal(ea.len, eb.len);
            n++;
        }
        assert_int_equal(r, 0);
        assert_int_equal(cairn_store_iter_next(&b, &sb, &eb), 0);
        assert_int_equal(n, M + 50);
        cairn_store_iter_deinit(&a);
        cairn_store_iter_deinit(&b);
    }
    cairn_store_close(s);
    test_rmdir_r(dir);
    free(dir);
}

int main(void)
{
    cairn_log_set_level(CAIRN_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(iter_order_matches_reference),
        cmocka_unit_test(column_only_long_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
