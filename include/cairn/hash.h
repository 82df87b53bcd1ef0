/* hash.h -- 64-bit hashing (xxHash XXH3) for fingerprints and hash tables, and CRC32C
 * for on-disk integrity. */
#ifndef CAIRN_HASH_H
#define CAIRN_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t cairn_hash64(const void *p, size_t len);
uint64_t cairn_hash64_seed(const void *p, size_t len, uint64_t seed);
/* CRC-32C (Castagnoli); pass 0 to start, the previous value to continue. */
uint32_t cairn_crc32c(uint32_t crc, const void *p, size_t len);

#endif
