/* bfilter.c -- per-block 4-gram bloom filters (bfilter.h): building one over a
 * block's lines as it is cut, and testing a literal against one.
 *
 * Each gram is the 4 bytes read as a little-endian u32, mixed by a 64-bit finaliser;
 * its K bit positions come from the two halves of the mix (double hashing), mapped to
 * [0, bits) by a multiply-shift (no division, any size). */
#include <stdlib.h>
#include <string.h>

#include "cairn/error.h"
#include "store/bfilter.h"

static inline uint64_t mix(uint32_t g)
{
    uint64_t h = (uint64_t)g * 0x9E3779B97F4A7C15ull;
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return h;
}

static inline uint32_t pos_of(uint32_t h, uint64_t nbits)
{
    return (uint32_t)(((uint64_t)h * nbits) >> 32);
}

static inline uint32_t gram_at(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

int cairn__bf_begin(struct cairn__bf_builder *b, uint64_t raw_bytes)
{
    uint64_t bits = raw_bytes * CAIRN__BF_BITS_PER_BYTE_NUM / CAIRN__BF_BITS_PER_BYTE_DEN;
    if (bits < CAIRN__BF_MIN_BITS)
        bits = CAIRN__BF_MIN_BITS;
    size_t words = (size_t)((bits + 63) / 64);
    if (words > UINT32_MAX / 64)
        words = UINT32_MAX / 64;
    if (words > b->cap_words) {
        uint64_t *nb = realloc(b->bits, words * sizeof *nb);
        if (!nb)
            return CAIRN_ENOMEM;
        b->bits = nb;
        b->cap_words = words;
    }
    b->nwords = words;
    memset(b->bits, 0, words * sizeof *b->bits);
    return 0;
}

void cairn__bf_add_line(struct cairn__bf_builder *b, const char *line, size_t len)
{
    if (len < CAIRN__BF_GRAM)
        return;
    uint64_t nbits = (uint64_t)b->nwords * 64;
    uint64_t *w = b->bits;
    uint32_t g = gram_at(line), prev = ~g;
    for (size_t i = 0;; i++) {
        if (g != prev) { /* runs of one byte (padding, "====") set their bits once */
            uint64_t h = mix(g);
            uint32_t h1 = (uint32_t)(h >> 32), h2 = (uint32_t)h | 1;
            for (int k = 0; k < CAIRN__BF_K; k++) {
                uint32_t p = pos_of(h1 + (uint32_t)k * h2, nbits);
                w[p >> 6] |= 1ull << (p & 63);
            }
            prev = g;
        }
        if (i + CAIRN__BF_GRAM >= len)
            break;
        g = g >> 8 | (uint32_t)(unsigned char)line[i + CAIRN__BF_GRAM] << 24;
    }
}

void cairn__bf_deinit(struct cairn__bf_builder *b)
{
    free(b->bits);
    memset(b, 0, sizeof *b);
}

int cairn__bf_may_contain(const struct cairn__bf_view *v, const char *lit, size_t len)
{
    if (len < CAIRN__BF_GRAM || !v->nwords)
        return 1;
    uint64_t nbits = (uint64_t)v->nwords * 64;
    for (size_t i = 0; i + CAIRN__BF_GRAM <= len; i++) {
        uint64_t h = mix(gram_at(lit + i));
        uint32_t h1 = (uint32_t)(h >> 32), h2 = (uint32_t)h | 1;
        for (int k = 0; k < CAIRN__BF_K; k++) {
            uint32_t p = pos_of(h1 + (uint32_t)k * h2, nbits);
            unsigned char byte = v->bits[p >> 3];
            if (!(byte >> (p & 7) & 1))
                return 0;
        }
    }
    return 1;
}
