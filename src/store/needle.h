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

/* One record of a loaded sidecar: the block at off, its payload (inside the
 * sidecar's bytes), ok when checked against the segment file at load. */
struct cairn__fent {
    uint64_t off;
    const unsigned char *pl;
    int ok;
};

/* A loaded sidecar (needle_cache.c); immutable once loaded, shared by queries. */
struct cairn__sidecar {
    char *path;
    dev_t dev, sdev; /* sidecar's, segment file's (0: no local copy, nothing checked) */
    ino_t ino, sino;
    off_t size;
    struct timespec mtim;
    struct cairn_buf bytes;
    struct cairn__fent *v; /* by offset */
    size_t n;
    size_t scanned; /* bytes scanned for records: a grown sidecar is read on from there */
    size_t cost;    /* bytes it holds */
    unsigned refs;  /* queries holding it (under the cache's mu) */
    int cached;     /* in the cache's list */
    struct cairn__sidecar *prev, *next;
};

void cairn__flt_path(const struct cairn__period *p, uint32_t file, char *out, size_t cap);
const char *cairn__flt_magic(void);
/* The sidecar of segment file (per, file), from the store's cache or read (and its
 * records checked) now; NULL when there is none or on ENOMEM (every block is read).
 * The caller holds a reference: give it back with cairn__fltc_put. */
struct cairn__sidecar *cairn__fltc_get(struct cairn_store *s, struct cairn__period *per,
                                       uint32_t file);
void cairn__fltc_put(struct cairn_store *s, struct cairn__sidecar *sc);

struct cairn__iter;
struct src;
struct fdc;
/* 1 when the filter of source x's block (in segment file f) says no line of it holds
 * one of the iterator's required literals: the block need not be read. 0 otherwise
 * (no literals, no filter, a stale or damaged one, filters disabled). */
int cairn__needle_skip(struct cairn__iter *it, const struct src *x, const struct fdc *f);
/* Drop from the iterator's snapshot every block source a filter checked at load
 * rejects, before any per-source set-up; others are left to cairn__needle_skip. */
void cairn__needle_prune(struct cairn__iter *it);

#endif
