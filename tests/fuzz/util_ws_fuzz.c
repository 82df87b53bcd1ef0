/* util_ws_fuzz.c -- libFuzzer target: the WebSocket frame reader (what a tail client
 * sends the server) on any bytes, fed in pieces of every size, never reads out of
 * bounds, never returns a frame longer than its limit, and reading the same bytes fed
 * whole or in pieces gives the same frames. Frames written and read back match. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/ws.h"

/* Every frame of data fed in pieces of `step` bytes, concatenated as
 * [opcode][u32 len][payload]..., and the reader's final status. */
static int frames(const uint8_t *data, size_t size, size_t step, struct cairn_buf *out)
{
    struct cairn_ws_reader r;
    struct cairn_buf pl = CAIRN_BUF_INIT;
    cairn_ws_reader_init(&r, 4096);
    int rc = 0;
    for (size_t off = 0; off < size && rc >= 0; off += step) {
        size_t k = size - off < step ? size - off : step;
        if (cairn_ws_reader_feed(&r, data + off, k))
            abort();
        int op;
        while ((rc = cairn_ws_reader_next(&r, &op, &pl)) == 1) {
            if (pl.len > 4096)
                abort();
            uint32_t l = (uint32_t)pl.len;
            unsigned char o = (unsigned char)op;
            cairn_buf_append(out, &o, 1);
            cairn_buf_append(out, &l, 4);
            cairn_buf_append(out, pl.data, pl.len);
        }
    }
    cairn_ws_reader_deinit(&r);
    cairn_buf_deinit(&pl);
    return rc < 0 ? rc : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cairn_buf a = CAIRN_BUF_INIT, b = CAIRN_BUF_INIT;
    int ra = frames(data, size, size ? size : 1, &a);
    int rb = frames(data, size, 1 + (size % 7), &b);
    if (ra != rb || a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0))
        abort();
    /* the input as one payload, written masked and read back */
    struct cairn_buf f = CAIRN_BUF_INIT, pl = CAIRN_BUF_INIT;
    static const unsigned char key[4] = {1, 2, 3, 4};
    size_t n = size > 4096 ? 4096 : size;
    if (cairn_ws_frame(&f, CAIRN_WS_BINARY, data, n, size & 1 ? key : NULL) == 0) {
        struct cairn_ws_reader r;
        cairn_ws_reader_init(&r, 4096);
        int op;
        if (cairn_ws_reader_feed(&r, f.data, f.len) || cairn_ws_reader_next(&r, &op, &pl) != 1 ||
            op != CAIRN_WS_BINARY || pl.len != n || (n && memcmp(pl.data, data, n) != 0))
            abort();
        cairn_ws_reader_deinit(&r);
    }
    cairn_buf_deinit(&f);
    cairn_buf_deinit(&pl);
    cairn_buf_deinit(&a);
    cairn_buf_deinit(&b);
    return 0;
}
