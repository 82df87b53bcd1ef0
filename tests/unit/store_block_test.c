/* store_block_test.c -- block round trip for each codec, out-of-order input sorted at
 * encode, column-only decode, CRC/format checks, the timestamp unit of version 2, and
 * a version 1 block (as written before version 2) still read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cairn/hash.h"
#include "store/store_int.h"

#define N 2000

struct corpus {
    int64_t ts[N];
    uint32_t lens[N];
    struct cairn_buf lines;
};

/* Build lines so that entry k (by time) has a known text. */
static void build(struct corpus *c, int shuffle)
{
    cairn_buf_init(&c->lines);
    for (int i = 0; i < N; i++) {
        int k = shuffle ? (i * 7919) % N : i;
        c->ts[i] = 1700000000000000000LL + (int64_t)k * 1000003;
        size_t before = c->lines.len;
        if (k % 10 != 0) /* every tenth line is empty */
            cairn_buf_appendf(&c->lines, "level=info msg=\"request %d served\" path=/api/%d", k,
                              k % 97);
        c->lens[i] = (uint32_t)(c->lines.len - before);
    }
}

static void check_decoded(const struct cairn__block_dec *d, int with_lines)
{
    assert_int_equal(d->h.n, N);
    assert_int_equal(d->h.min_ts, 1700000000000000000LL);
    assert_int_equal(d->h.max_ts, 1700000000000000000LL + (int64_t)(N - 1) * 1000003);
    char want[128];
    for (int k = 0; k < N; k++) {
        assert_int_equal(d->ts[k], 1700000000000000000LL + (int64_t)k * 1000003);
        int wl = k % 10 == 0 ? 0
                             : snprintf(want, sizeof want,
                                        "level=info msg=\"request %d served\" path=/api/%d", k,
                                        k % 97);
        assert_int_equal(d->lens[k], wl);
        if (with_lines)
            assert_memory_equal(d->lines + d->offs[k], want, (size_t)wl);
    }
    if (!with_lines)
        assert_null(d->lines);
}

static void round_trip(enum cairn_codec codec, int shuffle)
{
    struct corpus c;
    build(&c, shuffle);
    struct cairn__codec_ctx ctx = {0};
    struct cairn_buf out = CAIRN_BUF_INIT;
    assert_int_equal(cairn__block_encode(&ctx, c.ts, c.lens, c.lines.data, NULL, NULL, N, !shuffle, codec, 3,
                                         &out),
                     0);
    struct cairn__block_dec d;
    assert_int_equal(cairn__block_decode(&ctx, (unsigned char *)out.data, out.len, 1, &d), 0);
    assert_int_equal(d.h.codec, codec);
    assert_int_equal(d.h.raw_len, c.lines.len);
    check_decoded(&d, 1);
    cairn__block_dec_deinit(&d);
    /* column-only: no line bytes decoded */
    assert_int_equal(cairn__block_decode(&ctx, (unsigned char *)out.data, out.len, 0, &d), 0);
    check_decoded(&d, 0);
    cairn__block_dec_deinit(&d);
    if (codec != CAIRN_CODEC_NONE)
        assert_true(out.len < c.lines.len / 2);
    /* every single-byte corruption is caught (header check or CRC) */
    for (size_t i = 0; i < out.len; i += 97) {
        out.data[i] ^= 0x20;
        assert_int_not_equal(cairn__block_decode(&ctx, (unsigned char *)out.data, out.len, 1, &d),
                             0);
        out.data[i] ^= 0x20;
    }
    /* truncated */
    assert_int_not_equal(cairn__block_decode(&ctx, (unsigned char *)out.data, out.len - 1, 1, &d),
                         0);
    cairn_buf_deinit(&out);
    cairn_buf_deinit(&c.lines);
    cairn__codec_ctx_deinit(&ctx);
}

static void block_none(void **state)
{
    (void)state;
    round_trip(CAIRN_CODEC_NONE, 0);
}
static void block_zstd(void **state)
{
    (void)state;
    round_trip(CAIRN_CODEC_ZSTD, 0);
}
static void block_lz4(void **state)
{
    (void)state;
    round_trip(CAIRN_CODEC_LZ4, 0);
}
static void block_unsorted_is_sorted_at_encode(void **state)
{
    (void)state;
    round_trip(CAIRN_CODEC_ZSTD, 1);
    round_trip(CAIRN_CODEC_LZ4, 1);
}

/* decode_into reuses one set of buffers across blocks of different sizes; the
 * column-only decode of the first bytes of a block (header, ts and length columns)
 * gives the same columns, and a damaged column or header is refused. */
static void block_decode_into_reuse_and_columns(void **state)
{
    (void)state;
    struct corpus c;
    build(&c, 0);
    struct cairn__codec_ctx ctx = {0};
    struct cairn_buf big = CAIRN_BUF_INIT, small = CAIRN_BUF_INIT;
    assert_int_equal(cairn__block_encode(&ctx, c.ts, c.lens, c.lines.data, NULL, NULL, N, 1, CAIRN_CODEC_ZSTD,
                                         1, &big),
                     0);
    assert_int_equal(cairn__block_encode(&ctx, c.ts, c.lens, c.lines.data, NULL, NULL, 10, 1, CAIRN_CODEC_LZ4,
                                         1, &small),
                     0);
    struct cairn__block_dec d = {0};
    for (int round = 0; round < 3; round++) {
        assert_int_equal(cairn__block_decode_into(&ctx, (unsigned char *)big.data, big.len,
                                                  CAIRN__DEC_LINES, &d),
                         0);
        check_decoded(&d, 1);
        assert_int_equal(cairn__block_decode_into(&ctx, (unsigned char *)small.data, small.len,
                                                  CAIRN__DEC_LINES, &d),
                         0);
        assert_int_equal(d.h.n, 10);
        assert_memory_equal(d.lines, c.lines.data, d.offs[9] + d.lens[9]);
        struct cairn__block_hdr h;
        assert_int_equal(cairn__block_hdr_parse((unsigned char *)big.data, big.len, &h), 0);
        size_t cols = CAIRN__BLOCK_HDR + h.ts_comp + h.len_comp;
        assert_int_equal(cairn__block_decode_into(&ctx, (unsigned char *)big.data, cols,
                                                  CAIRN__DEC_COLS | CAIRN__DEC_LINES, &d),
                         0);
        check_decoded(&d, 0);
    }
    struct cairn__block_hdr h;
    assert_int_equal(cairn__block_hdr_parse((unsigned char *)big.data, big.len, &h), 0);
    size_t cols = CAIRN__BLOCK_HDR + h.ts_comp + h.len_comp;
    /* a wrong length, or damage in the header or the columns */
    assert_int_not_equal(
        cairn__block_decode_into(&ctx, (unsigned char *)big.data, cols - 1, CAIRN__DEC_COLS, &d), 0);
    assert_int_equal(d.h.n, 0);
    size_t at[] = {4, 9, 17, 25, CAIRN__BLOCK_HDR + 1, CAIRN__BLOCK_HDR + h.ts_comp / 2,
                   cols - 3};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        big.data[at[i]] ^= 0x11;
        assert_int_not_equal(cairn__block_decode_into(&ctx, (unsigned char *)big.data, cols,
                                                      CAIRN__DEC_COLS, &d),
                             0);
        big.data[at[i]] ^= 0x11;
    }
    assert_int_equal(
        cairn__block_decode_into(&ctx, (unsigned char *)big.data, cols, CAIRN__DEC_COLS, &d), 0);
    cairn__block_dec_deinit(&d);
    cairn_buf_deinit(&big);
    cairn_buf_deinit(&small);
    cairn_buf_deinit(&c.lines);
    cairn__codec_ctx_deinit(&ctx);
}

static void block_empty_and_equal_timestamps(void **state)
{
    (void)state;
    struct cairn__codec_ctx ctx = {0};
    struct cairn_buf out = CAIRN_BUF_INIT;
    int64_t ts[3] = {5, 5, 5};
    uint32_t lens[3] = {1, 1, 1};
    /* equal timestamps keep arrival order even when the block is marked unsorted */
    assert_int_equal(cairn__block_encode(&ctx, ts, lens, "abc", NULL, NULL, 3, 0, CAIRN_CODEC_LZ4, 0, &out), 0);
    struct cairn__block_dec d;
    assert_int_equal(cairn__block_decode(&ctx, (unsigned char *)out.data, out.len, 1, &d), 0);
    assert_memory_equal(d.lines, "abc", 3);
    cairn__block_dec_deinit(&d);
    cairn_buf_reset(&out);
    assert_int_equal(cairn__block_encode(&ctx, NULL, NULL, "", NULL, NULL, 0, 1, CAIRN_CODEC_ZSTD, 3, &out), 0);
    assert_int_equal(cairn__block_decode(&ctx, (unsigned char *)out.data, out.len, 1, &d), 0);
    assert_int_equal(d.h.n, 0);
    cairn__block_dec_deinit(&d);
    cairn_buf_deinit(&out);
    cairn__codec_ctx_deinit(&ctx);
}

/* Millisecond timestamps: the gaps are stored in units of 1 ms, one byte each here;
 * the timestamp and length columns are one frame. */
static void block_v2_timestamp_unit(void **state)
{
    (void)state;
    struct cairn__codec_ctx ctx = {0};
    struct cairn_buf out = CAIRN_BUF_INIT;
    enum { M = 300 };
    int64_t ts[M];
    uint32_t lens[M];
    char lines[M];
    for (int i = 0; i < M; i++) {
        ts[i] = 1767225600123000000LL + (int64_t)((i * 37) % 100) * 1000000; /* ms, unsorted */
        lens[i] = 1;
        lines[i] = (char)('a' + i % 26);
    }
    assert_int_equal(cairn__block_encode(&ctx, ts, lens, lines, NULL, NULL, M, 0, CAIRN_CODEC_NONE, 0, &out), 0);
    struct cairn__block_hdr h;
    assert_int_equal(cairn__block_hdr_parse((unsigned char *)out.data, out.len, &h), 0);
    assert_int_equal(h.version, 2);
    /* unit 1e6 (3 bytes), the first (9 bytes), then M - 1 gaps of 0 or 1 ms */
    assert_int_equal(h.ts_raw, 3 + 9 + (M - 1));
    /* both small columns in one frame (codec none: stored as they are) */
    assert_int_equal(h.len_raw, M);
    assert_int_equal(h.ts_comp, h.ts_raw + h.len_raw);
    assert_int_equal(h.len_comp, 0);
    struct cairn__block_dec d;
    assert_int_equal(cairn__block_decode(&ctx, (unsigned char *)out.data, out.len, 1, &d), 0);
    for (int i = 1; i < M; i++)
        assert_true(d.ts[i] >= d.ts[i - 1]);
    assert_int_equal(d.ts[0], 1767225600123000000LL);
    assert_int_equal(d.ts[M - 1], 1767225600123000000LL + 99 * 1000000LL);
    cairn__block_dec_deinit(&d);
    /* nanosecond gaps (unit 1), one entry, negative timestamps: exact as well */
    int64_t odd[4] = {-5000000001LL, 3, 7, INT64_MAX};
    uint32_t ol[4] = {0, 0, 0, 0};
    for (uint32_t n = 1; n <= 4; n++) {
        cairn_buf_reset(&out);
        assert_int_equal(cairn__block_encode(&ctx, odd, ol, "", NULL, NULL, n, 1, CAIRN_CODEC_ZSTD, 1, &out), 0);
        assert_int_equal(cairn__block_decode(&ctx, (unsigned char *)out.data, out.len, 1, &d), 0);
        assert_int_equal(d.h.n, n);
        assert_memory_equal(d.ts, odd, n * sizeof *odd);
        cairn__block_dec_deinit(&d);
    }
    /* a unit of 0 is corrupt */
    cairn_buf_reset(&out);
    assert_int_equal(cairn__block_encode(&ctx, ts, lens, lines, NULL, NULL, 2, 1, CAIRN_CODEC_NONE, 0, &out), 0);
    unsigned char *b = (unsigned char *)out.data;
    b[CAIRN__BLOCK_HDR] = 0;
    uint32_t crc = cairn_crc32c(0, b, out.len - 4);
    for (int i = 0; i < 4; i++)
        b[out.len - 4 + i] = (unsigned char)(crc >> (8 * i));
    assert_int_equal(cairn__block_decode(&ctx, b, out.len, 1, &d), CAIRN_ECORRUPT);
    cairn_buf_deinit(&out);
    cairn__codec_ctx_deinit(&ctx);
}

/* A zstd block written by version 1 (commit d774ed7): ts {...600.123456789,
 * ...601.0, ...600.999999999, ...700.000000001} with lines "hello", "", "out of orde",
 * "ren", encoded unsorted; plain zigzag deltas in the timestamp column. */
static const unsigned char v1_block[] = {
    0x01, 0x01, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x15, 0xcd, 0x55, 0xf5,
    0x51, 0x72, 0x86, 0x18, 0x01, 0xe8, 0x70, 0x36, 0x69, 0x72, 0x86, 0x18,
    0x13, 0x00, 0x00, 0x00, 0x15, 0x00, 0x00, 0x00, 0x1e, 0x00, 0x00, 0x00,
    0x04, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x00, 0x00, 0x13, 0x00, 0x00, 0x00,
    0x1c, 0x00, 0x00, 0x00, 0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x15, 0xa9, 0x00,
    0x00, 0xaa, 0xb4, 0xae, 0xd5, 0xbe, 0x94, 0xb9, 0x86, 0x31, 0xd4, 0xf3,
    0xf7, 0xc3, 0x06, 0x02, 0x82, 0xf8, 0xe0, 0xcd, 0xe1, 0x05, 0x28, 0xb5,
    0x2f, 0xfd, 0x20, 0x04, 0x21, 0x00, 0x00, 0x05, 0x0b, 0x00, 0x03, 0x28,
    0xb5, 0x2f, 0xfd, 0x20, 0x13, 0x99, 0x00, 0x00, 0x68, 0x65, 0x6c, 0x6c,
    0x6f, 0x6f, 0x75, 0x74, 0x20, 0x6f, 0x66, 0x20, 0x6f, 0x72, 0x64, 0x65,
    0x72, 0x65, 0x6e, 0x91, 0xb5, 0xe1, 0x20,
};

static void block_v1_still_read(void **state)
{
    (void)state;
    struct cairn__codec_ctx ctx = {0};
    struct cairn__block_dec d;
    assert_int_equal(cairn__block_decode(&ctx, v1_block, sizeof v1_block, 1, &d), 0);
    assert_int_equal(d.h.version, 1);
    assert_int_equal(d.h.n, 4);
    const int64_t want[4] = {1767225600123456789LL, 1767225600999999999LL,
                             1767225601000000000LL, 1767225700000000001LL};
    assert_memory_equal(d.ts, want, sizeof want);
    const uint32_t wl[4] = {5, 11, 0, 3};
    assert_memory_equal(d.lens, wl, sizeof wl);
    assert_memory_equal(d.lines, "helloout of orderen", 19); /* in time order */
    cairn__block_dec_deinit(&d);
    /* the column-only read of the same block */
    struct cairn__block_dec c = {0};
    size_t cols = CAIRN__BLOCK_HDR + 0x1e + 0x0d; /* header, ts and length columns */
    assert_int_equal(cairn__block_decode_into(&ctx, v1_block, cols, CAIRN__DEC_COLS, &c), 0);
    assert_memory_equal(c.ts, want, sizeof want);
    cairn__block_dec_deinit(&c);
    cairn__codec_ctx_deinit(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(block_none),
        cmocka_unit_test(block_decode_into_reuse_and_columns),
        cmocka_unit_test(block_zstd),
        cmocka_unit_test(block_lz4),
        cmocka_unit_test(block_unsorted_is_sorted_at_encode),
        cmocka_unit_test(block_empty_and_equal_timestamps),
        cmocka_unit_test(block_v2_timestamp_unit),
        cmocka_unit_test(block_v1_still_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
