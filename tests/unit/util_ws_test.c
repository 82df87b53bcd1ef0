/* util_ws_test.c -- WebSocket pieces: SHA-1 and the accept key against the published
 * vectors, frames written and read back at every length boundary, masked and not,
 * fed a byte at a time; malformed and oversized frames refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <stdlib.h>

#include "cairn/error.h"
#include "cairn/ws.h"

static void hex(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void sha1_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } v[] = {
        {"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
        {"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        unsigned char d[20];
        char h[41];
        cairn_sha1(v[i].in, strlen(v[i].in), d);
        hex(d, 20, h);
        assert_string_equal(h, v[i].want);
    }
    /* a million 'a's: many blocks */
    char *a = malloc(1000000);
    assert_non_null(a);
    memset(a, 'a', 1000000);
    unsigned char d[20];
    char h[41];
    cairn_sha1(a, 1000000, d);
    hex(d, 20, h);
    assert_string_equal(h, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    free(a);
    /* lengths around the padding boundary (55, 56, 63, 64 bytes) differ from each other */
    char seen[4][41];
    size_t lens[4] = {55, 56, 63, 64};
    char buf[64];
    memset(buf, 'x', sizeof buf);
    for (int i = 0; i < 4; i++) {
        cairn_sha1(buf, lens[i], d);
        hex(d, 20, seen[i]);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(seen[i], seen[j]);
    }
}

static void accept_key_rfc_example(void **state)
{
    (void)state;
    char out[29];
    /* RFC 6455 section 1.3 */
    cairn_ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    /* and the RFC's client key is the base64 of its 16-byte nonce "the sample nonce" */
    char key[25];
    cairn_ws_client_key((const unsigned char *)"the sample nonce", key);
    assert_string_equal(key, "dGhlIHNhbXBsZSBub25jZQ==");
}

static void frames_round_trip(void **state)
{
    (void)state;
    static const size_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, 70000};
    static const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
    char *payload = malloc(70000);
    assert_non_null(payload);
    for (size_t i = 0; i < 70000; i++)
        payload[i] = (char)('a' + i % 26);
    for (size_t m = 0; m < 2; m++) {
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            struct cairn_buf out = CAIRN_BUF_INIT, got = CAIRN_BUF_INIT;
            assert_int_equal(cairn_ws_frame(&out, CAIRN_WS_TEXT, payload, lens[i],
                                            m ? key : NULL), 0);
            /* header size by length class, plus the mask key */
            size_t hl = lens[i] < 126 ? 2 : lens[i] <= 0xffff ? 4 : 10;
            assert_int_equal(out.len, hl + (m ? 4 : 0) + lens[i]);
            if (m && lens[i])
                assert_true(memcmp(out.data + hl + 4, payload, lens[i]) != 0);
            struct cairn_ws_reader r;
            cairn_ws_reader_init(&r, 1 << 20);
            int op = -1;
            /* a byte at a time for the small ones, all at once for the big */
            size_t step = lens[i] < 200 ? 1 : out.len;
            int got_frame = 0;
            for (size_t off = 0; off < out.len; off += step) {
                size_t k = out.len - off < step ? out.len - off : step;
                assert_int_equal(cairn_ws_reader_feed(&r, out.data + off, k), 0);
                int rc = cairn_ws_reader_next(&r, &op, &got);
                if (off + k < out.len)
                    assert_int_equal(rc, 0);
                else
                    got_frame = rc;
            }
            assert_int_equal(got_frame, 1);
            assert_int_equal(op, CAIRN_WS_TEXT);
            assert_int_equal(got.len, lens[i]);
            if (lens[i])
                assert_memory_equal(got.data, payload, lens[i]);
            assert_int_equal(r.in.len, 0);
            cairn_ws_reader_deinit(&r);
            cairn_buf_deinit(&out);
            cairn_buf_deinit(&got);
        }
    }
    free(payload);
}

static void reader_takes_frames_in_order_and_refuses_bad_ones(void **state)
{
    (void)state;
    struct cairn_buf out = CAIRN_BUF_INIT, got = CAIRN_BUF_INIT;
    static const unsigned char key[4] = {1, 2, 3, 4};
    assert_int_equal(cairn_ws_frame(&out, CAIRN_WS_PING, "hi", 2, key), 0);
    assert_int_equal(cairn_ws_frame(&out, CAIRN_WS_CLOSE, "\x03\xe8", 2, key), 0);
    struct cairn_ws_reader r;
    cairn_ws_reader_init(&r, 16);
    assert_int_equal(cairn_ws_reader_feed(&r, out.data, out.len), 0);
    int op;
    assert_int_equal(cairn_ws_reader_next(&r, &op, &got), 1);
    assert_int_equal(op, CAIRN_WS_PING);
    assert_int_equal(got.len, 2);
    assert_memory_equal(got.data, "hi", 2);
    assert_int_equal(cairn_ws_reader_next(&r, &op, &got), 1);
    assert_int_equal(op, CAIRN_WS_CLOSE);
    assert_memory_equal(got.data, "\x03\xe8", 2);
    assert_int_equal(cairn_ws_reader_next(&r, &op, &got), 0);
    /* a frame longer than the reader's limit */
    cairn_buf_reset(&out);
    assert_int_equal(cairn_ws_frame(&out, CAIRN_WS_TEXT, "0123456789abcdefg", 17, key), 0);
    assert_int_equal(cairn_ws_reader_feed(&r, out.data, out.len), 0);
    assert_int_equal(cairn_ws_reader_next(&r, &op, &got), CAIRN_EINVAL);
    cairn_ws_reader_deinit(&r);
    /* reserved bits set */
    cairn_ws_reader_init(&r, 16);
    assert_int_equal(cairn_ws_reader_feed(&r, "\xc1\x00", 2), 0);
    assert_int_equal(cairn_ws_reader_next(&r, &op, &got), CAIRN_EINVAL);
    cairn_ws_reader_deinit(&r);
    cairn_buf_deinit(&out);
    cairn_buf_deinit(&got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha1_vectors),
        cmocka_unit_test(accept_key_rfc_example),
        cmocka_unit_test(frames_round_trip),
        cmocka_unit_test(reader_takes_frames_in_order_and_refuses_bad_ones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
