/* store_block_fuzz.c -- libFuzzer target: decoding any bytes as a block or as a run of
 * framed records never reads out of bounds; and entries made from the input survive an
 * encode/decode round trip with every codec, sorted by timestamp. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

static void round_trip(struct cairn__codec_ctx *c, const uint8_t *data, size_t size)
{
    /* entries: each input byte b starts an entry of length b % 8 with ts = b / 8 - 10 */
    size_t n = size < 256 ? size : 256;
    int64_t ts[256];
    uint32_t lens[256];
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        ts[i] = (int64_t)(data[i] / 8) - 10;
        lens[i] = data[i] % 8;
        if (used + lens[i] > size)
            lens[i] = 0;
        used += lens[i];
    }
    struct cairn_buf out = CAIRN_BUF_INIT;
    for (int codec = 0; codec <= 2; codec++) {
        cairn_buf_reset(&out);
        if (cairn__block_encode(c, ts, lens, (const char *)data, NULL, NULL, (uint32_t)n, 0, codec, 1, &out))
            abort();
        struct cairn__block_dec d;
        if (cairn__block_decode(c, (const unsigned char *)out.data, out.len, 1, &d))
            abort();
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++) {
            if (i && d.ts[i] < d.ts[i - 1])
                abort();
            total += d.lens[i];
        }
        if (d.h.n != n || total != used)
            abort();
        cairn__block_dec_deinit(&d);
    }
    cairn_buf_deinit(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cairn__codec_ctx c = {0};
    struct cairn__block_dec d;
    if (cairn__block_decode(&c, data, size, 1, &d) == 0)
        cairn__block_dec_deinit(&d);
    /* the column-only decode of a block's first bytes (no CRC to stop bad input), into
     * buffers reused from one call to the next */
    struct cairn__block_dec r = {0};
    for (size_t cut = size < 8 ? size : size - 8; cut <= size; cut += 4)
        (void)cairn__block_decode_into(&c, data, cut, CAIRN__DEC_COLS, &r);
    cairn__block_dec_deinit(&r);
    uint8_t type;
    const unsigned char *p;
    uint32_t pn;
    size_t off = 0;
    while (cairn__rec_next(data, size, off, &type, &p, &pn) == 1)
        off += CAIRN__REC_HDR + pn;
    round_trip(&c, data, size);
    cairn__codec_ctx_deinit(&c);
    return 0;
}
