/* store_smeta_test.c -- structured metadata in the store: the block column round trip
 * (dictionary-encoded, sorted with its entries, version 3) and version 2 blocks still
 * written and read without it; entries with metadata read back from the head, from
 * blocks after a flush (entry and block iterators, a line filter keeping few lines),
 * and after a crash through WAL replay (the ENTRIES_SM record) beside plain entries
 * (the older ENTRIES record) of the same stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cairn/smeta.h"
#include "cairn/store.h"
#include "cairn/store_read.h"
#include "store/store_int.h"
#include "testutil.h"

#define T0 1767225600000000000LL /* 2026-01-01T00:00:00Z */
#define SEC 1000000000LL
#define N 300

/* The i of "line <i>" (not NUL-terminated). */
static int line_no(const char *p, size_t len)
{
    char b[32];
    int i = -1;
    if (len >= sizeof b)
        return -1;
    memcpy(b, p, len);
    b[len] = '\0';
    return sscanf(b, "line %d", &i) == 1 ? i : -1;
}

/* Entry i's metadata: none for i % 3 == 0, else trace_id and, for odd i, user. */
static void meta_of(int i, struct cairn_buf *out)
{
    char v[32];
    cairn_buf_reset(out);
    if (i % 3 == 0)
        return;
    snprintf(v, sizeof v, "%016x", (unsigned)i * 2654435761u);
    cairn_smeta_append(out, "trace_id", 8, v, strlen(v));
    if (i % 2)
        cairn_smeta_append(out, "user", 4, i % 4 == 1 ? "alice" : "bob", i % 4 == 1 ? 5 : 3);
}

static void block_column_round_trip(void **state)
{
    (void)state;
    struct cairn__codec_ctx ctx = {0};
    int64_t ts[N];
    uint32_t lens[N], smlens[N];
    struct cairn_buf lines = {0}, sm = {0}, one = {0}, out = {0};
    for (int i = 0; i < N; i++) {
        ts[i] = T0 + (int64_t)((i * 37) % N) * SEC; /* out of order: sorted by encode */
        char l[32];
        lens[i] = (uint32_t)snprintf(l, sizeof l, "line %d", i);
        cairn_buf_append(&lines, l, lens[i]);
        meta_of(i, &one);
        smlens[i] = (uint32_t)one.len;
        cairn_buf_append(&sm, one.data ? one.data : "", one.len);
    }
    for (int codec = CAIRN_CODEC_NONE; codec <= CAIRN_CODEC_LZ4; codec++) {
        cairn_buf_reset(&out);
        assert_int_equal(cairn__block_encode(&ctx, ts, lens, lines.data, sm.data, smlens, N, 0,
                                             (enum cairn_codec)codec, 1, &out),
                         0);
        assert_int_equal((unsigned char)out.data[0], CAIRN__BLOCK_VERSION_SM);
        struct cairn__block_hdr h;
        assert_int_equal(cairn__block_hdr_parse((unsigned char *)out.data, out.len, &h), 0);
        assert_true(cairn__block_len_ok(&h, (unsigned char *)out.data, out.len));
        assert_false(cairn__block_len_ok(&h, (unsigned char *)out.data, out.len - 1));
        struct cairn__block_dec d;
        assert_int_equal(cairn__block_decode(&ctx, (unsigned char *)out.data, out.len, 1, &d), 0);
        assert_int_equal(d.h.n, N);
        assert_true(d.has_sm);
        for (uint32_t k = 0; k < N; k++) {
            int i = line_no(d.lines + d.offs[k], d.lens[k]);
            assert_int_equal(d.ts[k], T0 + (int64_t)((i * 37) % N) * SEC);
            meta_of(i, &one);
            assert_int_equal(d.sm_len[k], one.len);
            if (one.len)
                assert_memory_equal(d.smb.data + d.sm_off[k], one.data, one.len);
        }
        cairn__block_dec_deinit(&d);
        /* the dictionary holds each distinct string once: "alice" appears once */
        cairn_buf_reset(&out);
        assert_int_equal(cairn__block_encode(&ctx, ts, lens, lines.data, sm.data, smlens, N, 0,
                                             CAIRN_CODEC_NONE, 0, &out), 0);
        assert_non_null(memmem(out.data, out.len, "alice", 5));
        const char *a = memmem(out.data, out.len, "alice", 5);
        assert_null(memmem(a + 1, out.len - (size_t)(a + 1 - out.data), "alice", 5));
        /* a flipped byte in the column fails the block's CRC */
        out.data[out.len - 10] ^= 0x55;
        assert_int_equal(cairn__block_decode(&ctx, (unsigned char *)out.data, out.len, 1, &d),
                         CAIRN_ECORRUPT);
    }
    /* without metadata: version 2, as before, and decoded without it */
    cairn_buf_reset(&out);
    assert_int_equal(cairn__block_encode(&ctx, ts, lens, lines.data, NULL, NULL, N, 0,
                                         CAIRN_CODEC_ZSTD, 1, &out), 0);
    assert_int_equal((unsigned char)out.data[0], 2);
    struct cairn__block_dec d;
    assert_int_equal(cairn__block_decode(&ctx, (unsigned char *)out.data, out.len, 1, &d), 0);
    assert_false(d.has_sm);
    cairn__block_dec_deinit(&d);
    struct cairn_buf *all[] = {&lines, &sm, &one, &out};
    for (int i = 0; i < 4; i++)
        cairn_buf_deinit(all[i]);
    cairn__codec_ctx_deinit(&ctx);
}

static struct cairn_store *open_store(const char *dir)
{
    struct cairn_store_config cfg;
    cairn_store_config_default(&cfg);
    cfg.data_dir = dir;
    cfg.fsync = CAIRN_FSYNC_NEVER;
    cfg.block_target_raw = 2048; /* several blocks */
    struct cairn_err err;
    struct cairn_store *s = cairn_store_open(&cfg, &err);
    if (!s)
        fail_msg("open: %s", err.msg);
    return s;
}

/* Push entries [from, to): those with i % 50 < 25 in pushes carrying metadata, the
 * others in pushes without any (the older WAL record). */
static void push(struct cairn_store *s, int from, int to)
{
    struct cairn_labels ls;
    cairn_labels_init(&ls);
    cairn_labels_add(&ls, "app", 3, "sm", 2);
    assert_int_equal(cairn_labels_sort(&ls, NULL), 0);
    struct cairn_buf one = {0};
    char line[32];
    for (int i = from; i < to; i++) {
        meta_of(i, &one);
        int len = snprintf(line, sizeof line, "line %d", i);
        struct cairn_entry e = {T0 + i * SEC, line, (size_t)len};
        struct cairn_sm_ref r = {one.data, one.len};
        struct cairn_push_stream ps = {.labels = &ls, .entries = &e, .n = 1,
                                       .sm = i % 50 < 25 ? &r : NULL};
        if (i % 50 >= 25 && one.len) /* no metadata in this push: expect none back */
            continue;
        assert_int_equal(cairn_store_append(s, "fake", &ps, 1), 0);
    }
    cairn_buf_deinit(&one);
    cairn_labels_deinit(&ls);
}

static int wanted(int i)
{
    return !(i % 50 >= 25 && i % 3 != 0);
}

/* Every entry reads back with its metadata, through the entry iterator (with and
 * without a filter) and the block iterator. */
static void check(struct cairn_store *s, int n)
{
    struct cairn_buf one = {0};
    for (int pass = 0; pass < 2; pass++) {
        struct cairn_entry_iter it;
        uint32_t sid;
        struct cairn_entry e;
        int got = 0;
        assert_int_equal(cairn_store_iter_init(&it, s, "fake", NULL, T0, T0 + n * SEC,
                                               pass ? CAIRN_ITER_BACKWARD : CAIRN_ITER_FORWARD, 0),
                         0);
        while (cairn_store_iter_next(&it, &sid, &e) == 1) {
            int i = line_no(e.line, e.len);
            size_t sl;
            const char *sm = cairn_store_iter_sm(&it, &sl);
            meta_of(i, &one);
            assert_int_equal(sl, one.len);
            if (sl)
                assert_memory_equal(sm, one.data, sl);
            got++;
        }
        cairn_store_iter_deinit(&it);
        int want = 0;
        for (int i = 0; i < n; i++)
            want += wanted(i);
        assert_int_equal(got, want);
    }
    struct cairn_block_iter bit;
    struct cairn_block_view v;
    int got = 0;
    assert_int_equal(cairn_store_blocks_init(&bit, s, "fake", NULL, T0, T0 + n * SEC, 0), 0);
    while (cairn_store_blocks_next(&bit, &v) == 1) {
        for (uint32_t k = 0; k < v.n; k++) {
            int i = line_no(v.lines + v.offs[k], v.lens[k]);
            meta_of(i, &one);
            size_t sl = v.sm ? v.sm_len[k] : 0;
            assert_int_equal(sl, one.len);
            if (sl)
                assert_memory_equal(v.sm + v.sm_off[k], one.data, sl);
            got++;
        }
    }
    cairn_store_blocks_deinit(&bit);
    assert_true(got > 0);
    cairn_buf_deinit(&one);
}

static int keep_few(void *ctx, uint32_t sid, int64_t ts, const char *line, size_t len)
{
    (void)ctx;
    (void)sid;
    (void)ts;
    return len > 6 && line[len - 1] == '7'; /* one line in ten */
}

static void filtered_keeps_metadata(struct cairn_store *s, int n)
{
    struct cairn_entry_iter it;
    uint32_t sid;
    struct cairn_entry e;
    struct cairn_buf one = {0};
    int got = 0;
    assert_int_equal(cairn_store_iter_init_filtered(&it, s, "fake", NULL, T0, T0 + n * SEC,
                                                    CAIRN_ITER_FORWARD, 0, keep_few, NULL),
                     0);
    while (cairn_store_iter_next(&it, &sid, &e) == 1) {
        int i = line_no(e.line, e.len);
        size_t sl;
        const char *sm = cairn_store_iter_sm(&it, &sl);
        meta_of(i, &one);
        assert_int_equal(sl, one.len);
        if (sl)
            assert_memory_equal(sm, one.data, sl);
        got++;
    }
    cairn_store_iter_deinit(&it);
    assert_true(got > 0);
    cairn_buf_deinit(&one);
}

static void store_round_trip(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("smeta");
    struct cairn_store *s = open_store(dir);
    push(s, 0, N);
    check(s, N); /* blocks cut at 2 KiB and the open head block */
    filtered_keeps_metadata(s, N);
    cairn_store_abandon(s); /* a crash: the head comes back from the WAL */
    s = open_store(dir);
    check(s, N);
    cairn_store_close(s); /* flushed to blocks */
    s = open_store(dir);
    check(s, N);
    filtered_keeps_metadata(s, N);
    cairn_store_close(s);
    test_rmdir_r(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(block_column_round_trip),
        cmocka_unit_test(store_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
