/* needle.h -- block filter sidecars (seg-NNNNNN.cflt beside each segment file) and
 * the one question the read path asks them: may this block hold every literal the
 * query requires? Layout in docs/FORMATS.md, design in docs/STORAGE.md.
 *
 * A missing, short, damaged or stale filter only ever means "read the block": each
 * record names its block by offset, length and the block's own CRC, checked against
 * the block's trailing bytes before the filter is believed.
 *
 * Ownership: a struct cairn_store_needles (store_read.h) owns its copies of the
 * literals and the sidecars it read; iterators borrow it. */
#ifndef CAIRN_STORE_NEEDLE_H
#define CAIRN_STORE_NEEDLE_H

#include "store/store_int.h"

#define CAIRN__FLT_VERSION 1 /* sidecar file header version */
#define CAIRN__FLT_REC 1     /* record type: one block's filter */
#define CAIRN__FLT_PRE 24    /* record payload bytes before the filter bits */

/* After a block of n lines (lines/lens as gathered for encoding) was appended for
 * stream sid to period p: build its filter and append it to the sidecar of the
 * segment file the block went to. Failures are logged at debug and ignored (the block
 * is then simply read). Caller holds the stream's shard lock. */
void cairn__needle_after_cut(struct cairn_store *s, struct cairn__period *p, uint32_t sid,
                             const struct cairn_buf *block, const char *lines,
                             const uint32_t *lens, uint32_t n);

struct cairn__iter;
struct src;
struct fdc;
/* 1 when the filter of source x's block (in segment file f) says no line of it holds
 * one of the iterator's required literals: the block need not be read. 0 otherwise
 * (no literals, no filter, a stale or damaged one, filters disabled). */
int cairn__needle_skip(struct cairn__iter *it, const struct src *x, const struct fdc *f);

#endif
