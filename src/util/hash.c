/* hash.c -- xxHash XXH3 for fingerprints and tables; CRC-32C for on-disk records,
 * with the SSE4.2 instruction when the CPU has it and a table otherwise. */
#include <xxhash.h>

#include "cairn/hash.h"

uint64_t cairn_hash64(const void *p, size_t len)
{
    return XXH3_64bits(p, len);
}

uint64_t cairn_hash64_seed(const void *p, size_t len, uint64_t seed)
{
    return XXH3_64bits_withSeed(p, len, seed);
}

/* Table for the bytewise fallback, built at compile time from the polynomial. */
#define P 0x82f63b78u
#define R1(c) (((c) & 1) ? ((c) >> 1) ^ P : (c) >> 1)
#define R8(c) R1(R1(R1(R1(R1(R1(R1(R1(c))))))))
#define T4(i) R8(i), R8(i + 1), R8(i + 2), R8(i + 3)
#define T16(i) T4(i), T4(i + 4), T4(i + 8), T4(i + 12)
#define T64(i) T16(i), T16(i + 16), T16(i + 32), T16(i + 48)
static const uint32_t crc_table[256] = {T64(0u), T64(64u), T64(128u), T64(192u)};

static uint32_t crc32c_soft(uint32_t crc, const unsigned char *p, size_t len)
{
    while (len--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
#include <string.h>
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const unsigned char *p,
                                                            size_t len)
{
    uint64_t c = crc;
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

uint32_t cairn_crc32c(uint32_t crc, const void *p, size_t len)
{
    crc = ~crc;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2"))
        return ~crc32c_hw(crc, p, len);
#endif
    return ~crc32c_soft(crc, p, len);
}
