/* store_read.h -- the store's read API, for the LogQL engine, the HTTP label/series
 * routes and tests: label names and values, postings, stream labels, entry iterators
 * and index stats of one tenant over a time range [start, end) in unix nanoseconds.
 *
 * Ownership: every result is written into caller-owned storage (a cairn_strlist, a
 * roaring bitmap, a cairn_labels, an iterator struct) and stays valid until the caller
 * resets or deinits it; nothing returned borrows store memory except an iterator's
 * current entry, which is valid until the next call on that iterator (the entry
 * iterator's, until the call after: see cairn_store_iter_next).
 * Consistency: each call works on a snapshot taken under short locks (a copy of the
 * block list and of the head's open block), so readers never hold up writers; entries
 * appended after the snapshot are not seen by that call.
 * Stream ids are per tenant, assigned once and never reused: the same label set keeps
 * its id across periods and restarts, so an id names one series. */
#ifndef CAIRN_STORE_READ_H
#define CAIRN_STORE_READ_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <roaring/roaring.h>

#include "cairn/labels.h"
#include "cairn/store.h"

/* roaring_bitmap_free(NULL) crashes in CRoaring 0.2.66 (Debian 12): free through this. */
static inline void cairn_bitmap_free(roaring_bitmap_t *b)
{
    if (b)
        roaring_bitmap_free(b);
}

/* A list of strings (label names or values), sorted and unique when filled by the
 * store. Owns its storage; a zeroed struct is an empty list. */
struct cairn_strlist {
    char **v;
    size_t n, cap;
};
void cairn_strlist_deinit(struct cairn_strlist *l);
/* Append a copy of s[0..len); 0 or CAIRN_ENOMEM. */
int cairn_strlist_add(struct cairn_strlist *l, const char *s, size_t len);

/* Label names with at least one stream holding data in a period overlapping
 * [start, end) (period granularity, as Loki's index does). Sorted, unique; appended
 * to out. An unknown tenant gives an empty list, not an error. */
int cairn_store_label_names(struct cairn_store *s, const char *tenant, int64_t start, int64_t end,
                            struct cairn_strlist *out);
/* Values of label `name` in the same sense. The engine evaluates =~ / !~ by matching
 * these values and OR-ing their postings. */
int cairn_store_label_values(struct cairn_store *s, const char *tenant, const char *name,
                             int64_t start, int64_t end, struct cairn_strlist *out);

/* OR into out the ids of streams with label name="value" having data in periods
 * overlapping [start, end). */
int cairn_store_postings(struct cairn_store *s, const char *tenant, const char *name,
                         const char *value, int64_t start, int64_t end, roaring_bitmap_t *out);
/* OR into out every stream id with data in periods overlapping [start, end) (the
 * universe for != and !~, and for a selector of only negative matchers). */
int cairn_store_streams(struct cairn_store *s, const char *tenant, int64_t start, int64_t end,
                        roaring_bitmap_t *out);

/* Copy the labels of stream `sid` into out (which must be initialised).
 * CAIRN_ENOTFOUND for an unknown tenant or id. */
int cairn_store_stream_labels(struct cairn_store *s, const char *tenant, uint32_t sid,
                              struct cairn_labels *out);
/* The same, as the canonical text `{a="b", c="d"}` appended to out. */
int cairn_store_stream_labels_str(struct cairn_store *s, const char *tenant, uint32_t sid,
                                  struct cairn_buf *out);

enum cairn_iter_dir {
    CAIRN_ITER_FORWARD = 0,  /* oldest first */
    CAIRN_ITER_BACKWARD = 1, /* newest first */
};

enum cairn_iter_flags {
    /* Column-only: return timestamps and line lengths, never decompress line bytes
     * (entry.line is NULL, entry.len is the length). For count_over_time, rate,
     * bytes_over_time, bytes_rate without filters or parsers. */
    CAIRN_ITER_NO_LINES = 1u << 0,
    /* Read blocks with pread rather than through a mapping of their segment file: for
     * an iterator over a few blocks, where mapping (and unmapping) the file costs more
     * than the reads (e.g. one per overlapping span of a stream in a metric query). */
    CAIRN_ITER_PREAD = 1u << 1,
};

/* Iterates the entries of a set of streams over [start, end), merged in time order
 * (ties broken by stream id, then by arrival), forward or backward. Blocks whose
 * min/max timestamps fall outside the range are skipped without being read or
 * decompressed; a block is decompressed only when the merge reaches it.
 * Caller-owned (stack is fine); init allocates its internal state. */
struct cairn__iter;
struct cairn_entry_iter {
    struct cairn__iter *impl;
};

/* sids NULL: every stream of the tenant. 0, CAIRN_ENOMEM; an unknown tenant or an
 * empty range gives an iterator at its end. Deinit it in every case. */
int cairn_store_iter_init(struct cairn_entry_iter *it, struct cairn_store *s, const char *tenant,
                          const roaring_bitmap_t *sids, int64_t start, int64_t end,
                          enum cairn_iter_dir dir, unsigned flags);
/* Next entry: returns 1 and fills *sid and *e, 0 at the end, or a negative CAIRN_E*
 * (CAIRN_ECORRUPT for a block failing its CRC, logged with the file and offset).
 * e->line stays valid until the call after the next one: the previous entry's line
 * can still be read while this one is looked at, so a caller comparing neighbours
 * (dropping duplicates) needs no copy. */
int cairn_store_iter_next(struct cairn_entry_iter *it, uint32_t *sid, struct cairn_entry *e);
void cairn_store_iter_deinit(struct cairn_entry_iter *it);
/* The structured metadata (a cairn/smeta.h blob) of the entry cairn_store_iter_next
 * returned last: its bytes, *len set (0 and NULL: none, or CAIRN_ITER_NO_LINES). Valid
 * as long as that entry's line. Called from inside the iterator's line filter, the
 * metadata of the entry being filtered (whose label filters may read it). */
const char *cairn_store_iter_sm(const struct cairn_entry_iter *it, size_t *len);

/* An entry predicate: nonzero keeps the entry. It must depend on its arguments alone
 * (the stream id, e.g. for its labels; the timestamp; the line), carry no state from
 * one call to the next and keep no pointer past the call: it runs when a block is
 * decoded, block by block, not in the order entries are returned. */
typedef int (*cairn_line_filter_fn)(void *ctx, uint32_t sid, int64_t ts, const char *line,
                                    size_t len);
/* The entry iterator, returning only the entries whose line the filter keeps: the same
 * entries in the same order as cairn_store_iter_init followed by the filter, but the
 * filter runs over each block's lines right after they are decompressed (cache-hot,
 * sequential) and the time merge handles only kept entries. For a query whose first
 * stages are line filters (`|= "x"`, `!= "y"`, `|~ ...`). A filter with
 * CAIRN_ITER_NO_LINES is CAIRN_EINVAL; filter NULL is cairn_store_iter_init. */
int cairn_store_iter_init_filtered(struct cairn_entry_iter *it, struct cairn_store *s,
                                   const char *tenant, const roaring_bitmap_t *sids, int64_t start,
                                   int64_t end, enum cairn_iter_dir dir, unsigned flags,
                                   cairn_line_filter_fn filter, void *ctx);
/* Stop early: cairn_store_iter_next returns 0 (the end) as soon as every entry left
 * comes strictly after *stop in the iteration order (older than *stop going backward,
 * newer going forward), so blocks holding only such entries are never read. *stop is
 * read on every call, so another thread may move it while this one iterates (toward
 * the start only: a limit reached by the entries of all threads together). NULL, the
 * default: no stop. The pointee must outlive the iteration. */
void cairn_store_iter_set_stop(struct cairn_entry_iter *it, const _Atomic int64_t *stop);
/* A deadline (cairn_mono_ns time; 0: none): once it has passed, reading the next
 * block fails with CAIRN_ETIMEDOUT, so a query that runs too long ends. */
void cairn_store_iter_set_deadline(struct cairn_entry_iter *it, int64_t mono_ns);
/* Entries (in range) and their line bytes the filter dropped so far, for query stats:
 * the filter has seen every in-range entry of each block read so far, so after an
 * early stop (a limit) this counts more than the entries a merge-then-filter would
 * have looked at. */
void cairn_store_iter_skipped(const struct cairn_entry_iter *it, uint64_t *entries,
                              uint64_t *bytes);
/* Required literals ("needles"): every entry the caller wants holds each of
 * lits[i][0..lens[i]) as a substring (case-sensitive), e.g. the `|= "x"` filters a
 * query's lines must all pass. Blocks whose n-gram filter says one of them is absent
 * are skipped without being read (docs/STORAGE.md); the entries returned are the
 * same, minus entries that lack a literal (the caller filters anyway). Copied; call
 * after init, before the first next. Literals under 5 bytes are ignored. A no-op when
 * the store's block_filters is off. 0 or CAIRN_ENOMEM (the iterator stays usable). */
int cairn_store_iter_set_needles(struct cairn_entry_iter *it, const char *const *lits,
                                 const size_t *lens, size_t n);
/* The same literals for several iterators at once (the threads of one query): the
 * filters are read once for all of them. create: *out NULL when there is nothing to
 * consult (block_filters off, or no literal of 5 bytes or more); 0 or CAIRN_ENOMEM.
 * The object may be used by iterators on several threads at once; it must outlive
 * them. use: the iterator borrows nd (NULL: none). */
struct cairn_store_needles;
int cairn_store_needles_create(struct cairn_store *s, const char *const *lits, const size_t *lens,
                               size_t n, struct cairn_store_needles **out);
void cairn_store_needles_destroy(struct cairn_store_needles *nd);
void cairn_store_iter_use_needles(struct cairn_entry_iter *it,
                                  const struct cairn_store_needles *nd);
/* cairn_store_iter_init_filtered with nd in use from the start: blocks a filter checked
 * when its sidecar was loaded rules out are dropped from the snapshot unread, before any
 * per-block set-up (nd NULL: cairn_store_iter_init_filtered). */
int cairn_store_iter_init_needles(struct cairn_entry_iter *it, struct cairn_store *s,
                                  const char *tenant, const roaring_bitmap_t *sids, int64_t start,
                                  int64_t end, enum cairn_iter_dir dir, unsigned flags,
                                  cairn_line_filter_fn filter, void *ctx,
                                  const struct cairn_store_needles *nd);
/* Blocks skipped so far because of their filter (for query stats). */
uint64_t cairn_store_iter_filtered_blocks(const struct cairn_entry_iter *it);

/* Block-level access, for scans that need no global time order and want no per-entry
 * merge cost (a line filter over everything, metric accumulation per stream, work split
 * across threads by giving each thread its own subset of stream ids): the blocks of the
 * given streams overlapping [start, end), decoded, one at a time, only the entries in
 * range. Blocks come stream by stream (ascending id) and, within a stream, in the order
 * they were written, the open block last; entries inside a block are sorted by
 * timestamp, but two blocks of one stream may overlap in time (out-of-order entries).
 * Caller-owned like the entry iterator; a view is valid until the next call. */
struct cairn_block_view {
    uint32_t sid;
    uint32_t n;            /* entries in range */
    const int64_t *ts;     /* n timestamps, ascending */
    const uint32_t *lens;  /* n line lengths */
    const uint64_t *offs;  /* start of each line in lines; NULL with CAIRN_ITER_NO_LINES */
    const char *lines;     /* NULL with CAIRN_ITER_NO_LINES */
    /* structured metadata: entry i's blob (cairn/smeta.h) is sm + sm_off[i], sm_len[i]
     * bytes; all NULL when no entry of the block has any (or with NO_LINES) */
    const char *sm;
    const size_t *sm_off;
    const uint32_t *sm_len;
    uint64_t raw_bytes;    /* sum of lens */
    /* Nonzero when this block's time range touches another block's of its stream
     * (out-of-order entries, or the same entries stored twice): entries of different
     * blocks may then share a timestamp. The blocks touching each other, directly or
     * through others, cover [ovl_lo, ovl_hi] (block bounds, not cut to the scan's
     * range), a span no other block of the stream reaches into; a scan that must see
     * the stream in time order there (to drop duplicates) reads that span with the
     * entry iterator instead of those blocks. */
    uint32_t overlaps;
    int64_t ovl_lo, ovl_hi;
};
struct cairn_block_iter {
    struct cairn__iter *impl;
};
int cairn_store_blocks_init(struct cairn_block_iter *it, struct cairn_store *s, const char *tenant,
                            const roaring_bitmap_t *sids, int64_t start, int64_t end,
                            unsigned flags);
/* 1 and *v filled, 0 at the end, or a negative CAIRN_E* (a block failing its CRC). */
int cairn_store_blocks_next(struct cairn_block_iter *it, struct cairn_block_view *v);
void cairn_store_blocks_deinit(struct cairn_block_iter *it);
/* As cairn_store_iter_set_deadline. */
void cairn_store_blocks_set_deadline(struct cairn_block_iter *it, int64_t mono_ns);
/* As cairn_store_iter_set_needles: blocks that cannot hold one of the literals are
 * not returned. */
int cairn_store_blocks_set_needles(struct cairn_block_iter *it, const char *const *lits,
                                   const size_t *lens, size_t n);

/* Loki's /index/stats: for the streams in sids (NULL: all) with data overlapping
 * [start, end): how many streams, chunks, entries and raw line bytes. Computed from
 * block headers (min/max, counts, raw sizes) without decompressing. */
struct cairn_index_stats {
    uint64_t streams, chunks, entries, bytes;
};
int cairn_store_index_stats(struct cairn_store *s, const char *tenant, const roaring_bitmap_t *sids,
                            int64_t start, int64_t end, struct cairn_index_stats *out);

/* The pieces index stats and Loki's /index/volume add up, for the streams in sids
 * (NULL: all) overlapping [start, end): each stored block (its newest timestamp, entry
 * count and raw line bytes; new_chunk when it starts a chunk), and each entry in range
 * of the streams' open head blocks. Block granularity for stored data, as Loki's
 * chunk-based volumes. fn runs with store locks held: it must
 * not call into the store. 0 or CAIRN_ENOMEM. */
typedef void (*cairn_store_volume_fn)(void *ud, uint32_t sid, int64_t ts, uint64_t entries,
                                      uint64_t bytes, int new_chunk);
int cairn_store_volume(struct cairn_store *s, const char *tenant, const roaring_bitmap_t *sids,
                       int64_t start, int64_t end, cairn_store_volume_fn fn, void *ud);

/* Tenants that have data (sorted); for the UI and tests. */
int cairn_store_tenants(struct cairn_store *s, struct cairn_strlist *out);

#endif
