/* iter_int.h -- the iterators' internal state, shared by iter.c (the time merge, the
 * block iterator) and iter_load.c (snapshots and block loading). Everything here is
 * owned by one struct cairn__iter and freed by cairn_store_iter_deinit. */
#ifndef CAIRN_STORE_ITER_INT_H
#define CAIRN_STORE_ITER_INT_H

#include "cairn/store_read.h"
#include "store/store_int.h"

/* One entry as the merge returns it: the records of a block's entries in range are
 * built when it is loaded, so returning an entry reads one record (prefetched). */
struct rec {
    int64_t ts;
    const char *line;
    uint32_t len;
    uint32_t sm_len; /* structured metadata: sm[0..sm_len) */
    const char *sm;
};

/* Decoded columns and their records, recycled between blocks. With an entry filter the
 * block is decoded into the iterator's scratch instead, and the source keeps only its
 * records and, in kept, copies of the lines they point to (or takes the scratch's
 * columns over when most lines pass). */
struct dbuf {
    struct cairn__block_dec d;
    struct rec *r;
    size_t rcap;
    struct cairn_buf kept;
};

/* The state of a source (the entry iterator keeps its position in the heap entry). */
struct cur {
    const int64_t *ts;
    const uint32_t *lens;
    const uint64_t *offs;
    const char *lines;
    const char *sm;          /* structured metadata blobs (NULL: the block has none) */
    const size_t *sm_off;
    const uint32_t *sm_len;
    /* the entry iterator's kept entries in range as records, r[0..hi) (lo = 0); the
     * block iterator's entries in range are [lo, hi) of the columns */
    const struct rec *r;
    uint32_t pos, lo, hi; /* pos: the first entry (forward) or one past the last
                             (backward); the entry iterator then moves the heap entry */
    uint32_t sid, order;
    int32_t next; /* the same stream's source to push when this one ends, or -1 */
    uint32_t loaded;
    uint32_t overlaps;      /* block iterator: this source overlaps another of its stream */
    int64_t ovl_lo, ovl_hi; /* and the span of the sources overlapping it, transitively */
};

/* The rest: how to load it. */
struct src {
    uint32_t sid, order;
    int head;
    struct cairn__period *per; /* for a block not yet read */
    struct cairn__bref ref;
    struct dbuf *dec; /* while loaded */
};

/* A segment file the iterator reads: its descriptor and, when mapping works, the file
 * mapped read-only (blocks are decoded straight from the page cache, no copy, no
 * syscall per block). Segment files only grow while a period holds a reference (a
 * failed write is cut back to the size before it), so every block in the snapshot
 * stays inside the mapping. */
struct fdc {
    struct cairn__period *per;
    uint32_t file;
    int fd;
    const unsigned char *map;
    size_t maplen;
};

/* A heap entry carries its sort key, so sifting touches only the heap array. For a
 * backward iteration the key, stream id and arrival order are bit-inverted, so one
 * ascending comparison serves both directions. A block not yet read sorts before an
 * entry with the same timestamp, so it is read before that entry is returned. */
struct hent {
    int64_t key;
    uint32_t loaded, sid, order, idx;
    const struct rec *cr;   /* the entry the key is of (a loaded source) */
    const struct rec *last; /* its source's last record in iteration order */
};

struct cairn__iter {
    struct cairn_store *s;
    int64_t start, end;
    int backward, no_lines;
    struct src *v;
    struct cur *c;
    size_t n, cap;
    struct hent *heap;
    size_t hn;
    long cur;        /* source returned last, to advance on the next call */
    struct hent bound; /* while cur is the root: the smaller of its children */
    int has_bound;
    size_t bnext;    /* block iterator: the next source to return */
    struct cairn__period **pv;
    size_t np;
    struct cairn__codec_ctx ctx;
    struct cairn_buf rbuf;
    struct dbuf **pool; /* free decoded-column buffers */
    struct dbuf *retired; /* the ended source of the entry returned last: still readable
                             until the next call (cairn_store_iter_next's promise) */
    struct cairn__block_dec scr; /* a filtered entry iterator decodes here */
    struct rec *sr;              /* and builds the records here first */
    size_t srcap;
    int blockmode;      /* a block iterator: no records */
    const _Atomic int64_t *stop; /* cairn_store_iter_set_stop, or NULL */
    int64_t deadline;            /* monotonic ns; past it, loading a block fails; 0: none */
    cairn_line_filter_fn filter; /* applied as records are built */
    void *filter_ctx;
    uint64_t skipped, skipped_bytes;
    const char *cur_sm;  /* the structured metadata of the entry returned last */
    size_t cur_sm_len;
    uint32_t cols_guess; /* first read of a column-only load */
    int no_mmap;         /* CAIRN__ITER_NO_MMAP: pread only */
    int prefetched;      /* the remote read-ahead ran (prefetch.c) */
    size_t npool;
    struct fdc *fds;
    size_t nfd, capfd;
    const struct cairn_store_needles *needles; /* required literals, or NULL (borrowed) */
    struct cairn_store_needles *needles_own;   /* made by cairn_store_iter_set_needles */
    struct nsc *needle_sc;                     /* the sidecar consulted last (needle.c) */
    uint64_t filtered_blocks;     /* blocks skipped by their filter */
};

/* A new zeroed source appended to it->v; NULL on ENOMEM. */
struct src *cairn__iter_src_new(struct cairn__iter *it);
/* A decoded-column buffer from the pool (or a new one); NULL on ENOMEM. */
struct dbuf *cairn__iter_dec_get(struct cairn__iter *it);
/* Back to the pool (room for every source's buffer: never fails); NULL is a no-op. */
void cairn__iter_dec_put(struct cairn__iter *it, struct dbuf *d);
void cairn__iter_dbuf_free(struct dbuf *b);
/* Snapshot one stream (block refs, sorted copy of its open block in range). */
int cairn__iter_snap_stream(struct cairn__iter *it, struct cairn__tenant *t, uint32_t sid);
/* Point source i's cursor at its decoded block d (its own, or the iterator's scratch
 * for a filtered entry iterator) and build its records. */
int cairn__iter_cur_set(struct cairn__iter *it, uint32_t i, struct cairn__block_dec *d);
/* Fetch the remote blocks it will read next into the block cache, in parallel (once
 * per iterator, at its first remote block; prefetch.c). */
void cairn__remote_prefetch(struct cairn__iter *it);
/* Read and decode the block of source i (errors logged with the file and offset). */
int cairn__iter_src_load(struct cairn__iter *it, uint32_t i);

#endif
