/* bfilter.h -- per-block n-gram bloom filters: "can this block hold this substring?"
 *
 * A filter is a bloom filter over the 4-byte windows (4-grams) made only of [0-9A-Za-z]
 * and starting at the even positions of every line of one block, grams never crossing
 * a line boundary. A line holding a literal L at position j holds the alphanumeric
 * grams of L at the offsets i with j + i even, so if for both parities some such gram
 * of L is absent from the filter, no line of the block holds L: the answer "absent"
 * is exact, "maybe" may be a false positive. A literal with no alphanumeric gram at
 * one of the parities (shorter than 5 bytes, or mostly punctuation) always gives
 * "maybe". Case-sensitive.
 *
 * Ownership: a builder owns its bit array (grown, kept across blocks: building
 * allocates only when a block needs more bits than any before). A view borrows the
 * bytes it was parsed from. No global state. */
#ifndef CAIRN_STORE_BFILTER_H
#define CAIRN_STORE_BFILTER_H

#include <stddef.h>
#include <stdint.h>

#define CAIRN__BF_GRAM 4         /* n of the n-grams (see docs/STORAGE.md) */
#define CAIRN__BF_VERSION 1      /* of the filter bytes (hash, gram size, layout) */
/* Bits per raw line byte: 0.15 keeps the filter (with its record framing) under the
 * issue's 2 % of raw bytes for blocks above a few KiB. */
#define CAIRN__BF_BITS_PER_BYTE_NUM 15
#define CAIRN__BF_BITS_PER_BYTE_DEN 100
#define CAIRN__BF_MIN_BITS 512   /* small blocks: 64 bytes, still useful */
#define CAIRN__BF_K 1            /* bits per gram: at ~1 distinct gram per bit, 1 is best */
/* Grams are added at line positions 0, 2, 4, ...: a literal is tested at both phases
 * (the grams at its even offsets, or at its odd ones, must all be there), so it needs
 * a gram at each phase: 5 bytes at least. */
#define CAIRN__BF_STRIDE 2
#define CAIRN__BF_MIN_LIT (CAIRN__BF_GRAM + CAIRN__BF_STRIDE - 1)

struct cairn__bf_builder {
    uint64_t *bits;
    size_t cap_words;  /* allocated */
    size_t nwords;     /* of the block being built */
};

/* Start a filter for a block of raw_bytes line bytes. 0 or CAIRN_ENOMEM. */
int cairn__bf_begin(struct cairn__bf_builder *b, uint64_t raw_bytes);
/* Add one line's grams. No allocation. */
void cairn__bf_add_line(struct cairn__bf_builder *b, const char *line, size_t len);
void cairn__bf_deinit(struct cairn__bf_builder *b);

/* A filter to test: nwords 64-bit words (little-endian bytes, possibly unaligned). */
struct cairn__bf_view {
    const unsigned char *bits;
    uint32_t nwords;
};
/* 0 when no line of the block can hold lit[0..len), 1 when one may. */
int cairn__bf_may_contain(const struct cairn__bf_view *v, const char *lit, size_t len);

#endif
