/* bfilter.c -- per-block 4-gram bloom filters (bfilter.h): building one over a
 * block's lines as it is cut, and testing a literal against one.
 *
 * Each gram is the 4 bytes read as a little-endian u32; it sets one bit (see pos_of).
 * Only grams starting at even positions of a line are added: half the work and half
 * the bits set, for about the same false-positive rate (docs/STORAGE.md). */
#include <stdlib.h>
#include <string.h>

#include "cairn/error.h"
#include "store/bfilter.h"

/* The bit of gram g in a filter of nbits bits: a multiply-shift hash of the gram (the
 * high half of g times an odd 64-bit constant), mapped to [0, nbits) by a second
 * multiply-shift (no division, any size). */
static inline uint32_t pos_of(uint32_t g, uint64_t nbits)
{
    uint64_t h = ((uint64_t)g * 0x9E3779B97F4A7C15ull) >> 32;
    return (uint32_t)((h * nbits) >> 32);
}

/* The 4 bytes at p as a little-endian u32 (the gram's value on every host). */
static inline uint32_t gram_at(const char *p)
{
    uint32_t g;
    memcpy(&g, p, sizeof g);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    g = __builtin_bswap32(g);
#endif
    return g;
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
    uint64_t nbits = (uint64_t)b->nwords * 64;
    uint64_t *w = b->bits;
    for (size_t i = 0; i + CAIRN__BF_GRAM <= len; i += CAIRN__BF_STRIDE) {
        uint32_t p = pos_of(gram_at(line + i), nbits);
        w[p >> 6] |= 1ull << (p & 63);
    }
}

void cairn__bf_deinit(struct cairn__bf_builder *b)
{
    free(b->bits);
    memset(b, 0, sizeof *b);
}

/* A line holding the literal at position j has the grams of the literal's offsets i
 * with j + i a multiple of the stride set: for some phase, every gram of the literal at
 * an offset of that phase is in the filter. */
int cairn__bf_may_contain(const struct cairn__bf_view *v, const char *lit, size_t len)
{
    if (len < CAIRN__BF_MIN_LIT || !v->nwords)
        return 1;
    uint64_t nbits = (uint64_t)v->nwords * 64;
    for (size_t ph = 0; ph < CAIRN__BF_STRIDE; ph++) {
        size_t i = ph;
        for (; i + CAIRN__BF_GRAM <= len; i += CAIRN__BF_STRIDE) {
            uint32_t p = pos_of(gram_at(lit + i), nbits);
            if (!(v->bits[p >> 3] >> (p & 7) & 1))
                break;
        }
        if (i + CAIRN__BF_GRAM > len)
            return 1; /* every gram of this phase is there */
    }
    return 0;
}
