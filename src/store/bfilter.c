/* bfilter.c -- per-block 4-gram bloom filters (bfilter.h): building one over a
 * block's lines as it is cut, and testing a literal against one.
 *
 * Each gram is the 4 bytes read as a little-endian u32; it sets one bit (see pos_of).
 * Only grams of 4 alphanumeric bytes starting at even positions of a line are added:
 * the grams holding punctuation or spaces (timestamps' "9:2", ": 5", `="`) are the
 * ones that cost bits without helping to find ids; leaving them out took the false
 * positives of an absent 16-hex id from 6.9 % to 0.5 % at the same size on the bench
 * corpus (docs/STORAGE.md). */
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

/* Is byte c one of [0-9A-Za-z]? Arithmetic, no branch and no table. */
static inline unsigned is_alnum(unsigned char c)
{
    return ((unsigned)(c - '0') < 10u) | ((unsigned)((c | 0x20) - 'a') < 26u);
}

static inline int alnum4(uint32_t g)
{
    return is_alnum((unsigned char)g) & is_alnum((unsigned char)(g >> 8)) &
           is_alnum((unsigned char)(g >> 16)) & is_alnum((unsigned char)(g >> 24));
}

/* Bit i of the result: is p[i] alphanumeric? (64 bytes at p.) */
#ifdef __SSE2__
#include <emmintrin.h>
static inline uint64_t alnum_mask64(const unsigned char *p)
{
    /* unsigned range tests in signed arithmetic: x - lo - 128 < width - 128 */
    const __m128i dlo = _mm_set1_epi8((char)(0x80 - '0')), dlim = _mm_set1_epi8((char)(0x80 + 10));
    const __m128i alo = _mm_set1_epi8((char)(0x80 - 'a')), alim = _mm_set1_epi8((char)(0x80 + 26));
    const __m128i low = _mm_set1_epi8(0x20);
    uint64_t m = 0;
    for (int k = 0; k < 4; k++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
        __m128i d = _mm_cmplt_epi8(_mm_add_epi8(x, dlo), dlim);
        __m128i a = _mm_cmplt_epi8(_mm_add_epi8(_mm_or_si128(x, low), alo), alim);
        m |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_or_si128(d, a)) << (16 * k);
    }
    return m;
}
#else
static inline uint64_t alnum_mask64(const unsigned char *p)
{
    uint64_t m = 0;
    for (int k = 0; k < 64; k++)
        m |= (uint64_t)is_alnum(p[k]) << k;
    return m;
}
#endif

/* Add the grams starting at p[0..60) (p has 64 readable bytes): those whose 4 bytes
 * are alphanumeric, at even positions (the line position of p is even). */
static inline void add_window(uint64_t *w, uint64_t nbits, const unsigned char *p)
{
    uint64_t m = alnum_mask64(p);
    uint64_t v = m & m >> 1 & m >> 2 & m >> 3 & 0x0555555555555555ull; /* starts 0..58 */
    while (v) {
        unsigned q = (unsigned)__builtin_ctzll(v);
        uint32_t pos = pos_of(gram_at((const char *)p + q), nbits);
        w[pos >> 6] |= 1ull << (pos & 63);
        v &= v - 1;
    }
}

/* 64-byte windows stepping by 60 (grams start in the first 60 bytes of each, their 4
 * bytes inside it); the last window is copied into a zeroed buffer (zero bytes are not
 * alphanumeric, so no gram reaches past the line). */
void cairn__bf_add_line(struct cairn__bf_builder *b, const char *line, size_t len)
{
    _Static_assert(CAIRN__BF_GRAM == 4 && CAIRN__BF_STRIDE == 2, "add_window's masks");
    uint64_t nbits = (uint64_t)b->nwords * 64;
    const unsigned char *u = (const unsigned char *)line;
    size_t base = 0;
    for (; base + 64 <= len; base += 60)
        add_window(b->bits, nbits, u + base);
    if (base + CAIRN__BF_GRAM <= len) {
        unsigned char tail[64] = {0};
        memcpy(tail, u + base, len - base);
        add_window(b->bits, nbits, tail);
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
            if (!alnum4(gram_at(lit + i)))
                continue;
            uint32_t p = pos_of(gram_at(lit + i), nbits);
            if (!(v->bits[p >> 3] >> (p & 7) & 1))
                break;
        }
        if (i + CAIRN__BF_GRAM > len)
            return 1; /* every gram of this phase is there */
    }
    return 0;
}
