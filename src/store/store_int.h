/* store_int.h -- the storage engine's internal layout: blocks, WAL, segment files,
 * period indexes, tenants and streams, and the functions the store's files share.
 *
 * Ownership: the store owns its tenants; a tenant owns its streams (never freed before
 * the store closes, so stream pointers stay valid) and its periods; a period is
 * reference counted (readers and open blocks hold references) and freed when the last
 * reference goes after retention removed it.
 *
 * Locks, always taken in this order (never the other way):
 *   wal.mu -> tenant shard mu -> period mu
 *   tenant periods_mu, tenant id_mu and the page pool's mu are leaves (nothing is
 *   taken while held).
 * The append path takes a shard lock, then (after releasing it) the WAL lock. */
#ifndef CAIRN_STORE_INT_H
#define CAIRN_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <roaring/roaring.h>

#include "cairn/buf.h"
#include "cairn/fs.h"
#include "cairn/store.h"
#include "cairn/store_read.h"
#include "store/pagepool.h"

/* ---- limits of the engine itself (not user-visible) ---- */
#define CAIRN__SHARDS 16                  /* stream shards per tenant: lock striping */
#define CAIRN__SEGFILE_MAX (1024u << 20)  /* start a new segment file past 1 GiB */
#define CAIRN__BLOCK_MAX_ENTRIES (1u << 20) /* hard cap: entry counts fit u32 easily */
#define CAIRN__TENANT_MAX 150             /* Loki's max tenant id length */
#define CAIRN__MAINT_TICK_NS 1000000000LL /* maintenance thread wakes every second */
/* Free head pages kept resident when the pool is trimmed (each maintenance pass):
 * 1 MiB, what a burst of new small streams takes at once without page faults. */
#define CAIRN__PAGES_KEEP 256
/* After a block cut failed (disk full), cuts asked for by size or by the head budget
 * wait this long before trying again: the WAL holds the entries meanwhile, and
 * encoding a block per entry only to fail its write would stall ingest. */
#define CAIRN__CUT_RETRY_NS 1000000000LL
/* Distinct WAL files appends in flight may point at (a file rotates at 128 MiB: two
 * are already rare); an append finding every slot taken waits for one. */
#define CAIRN__INFLIGHT_FILES 8

/* ---- record framing shared by the WAL and segment files ----
 * u32 payload length, u32 crc32c(type byte + payload), u8 type, payload. */
#define CAIRN__REC_HDR 9
#define CAIRN__FILE_HDR 16 /* 8-byte magic, u32 version, u32 flags */

/* Append one framed record with payload p[0..n) to out. */
int cairn__rec_append(struct cairn_buf *out, uint8_t type, const void *p, size_t n);
/* Reserve a record header in out; write the payload after it; then finish. */
size_t cairn__rec_begin(struct cairn_buf *out, uint8_t type);
void cairn__rec_finish(struct cairn_buf *out, size_t start);
/* Parse the record at p[off..len): 1 and the fields on success, 0 at a clean end,
 * CAIRN_ECORRUPT for a short or bad-CRC record. */
int cairn__rec_next(const unsigned char *p, size_t len, size_t off, uint8_t *type,
                    const unsigned char **payload, uint32_t *plen);
int cairn__file_hdr_write(int fd, const char magic[8], uint32_t version);
int cairn__file_hdr_check(const unsigned char *p, size_t len, const char magic[8],
                          uint32_t version);
/* write(2) all of p, retrying short writes; 0, CAIRN_ENOSPC (ENOSPC or EDQUOT) or
 * CAIRN_EIO (logged with path). The io_ form goes through the test hooks (io may be
 * NULL: the real syscalls). */
int cairn__write_all(int fd, const void *p, size_t n, const char *path);
int cairn__io_write_all(const struct cairn_store_io *io, int fd, const void *p, size_t n,
                        const char *path);
/* fdatasync(2) through the hooks: 0, CAIRN_ENOSPC or CAIRN_EIO (logged with path). */
int cairn__io_datasync(const struct cairn_store_io *io, int fd, const char *path);
/* Files and directories: util's helpers (cairn/fs.h), under the store's old names. */
#define cairn__read_file cairn_fs_read_file
#define cairn__mkdir_p cairn_fs_mkdir_p
#define cairn__fsync_dir cairn_fs_fsync_dir
#define cairn__rm_rf cairn_fs_rm_rf

/* ---- reading past damage (recscan.c, quarantine.c) ---- */

/* Could (type, payload) be a record of this file kind? A cheap structural check run
 * before the CRC on each candidate while resynchronising after a bad record. */
typedef int (*cairn__rec_plausible_fn)(uint8_t type, const unsigned char *p, uint32_t n);
int cairn__wal_rec_plausible(uint8_t type, const unsigned char *p, uint32_t n);
int cairn__seg_rec_plausible(uint8_t type, const unsigned char *p, uint32_t n);

/* A scan over p[off..len) that skips damaged records. After each next(): skip_len > 0
 * says bytes [skip_off, skip_off + skip_len) were skipped before the record returned.
 * At the end (next() returned 0): tail_off < len says [tail_off, len) holds no valid
 * record, tail_torn whether it is a short record (a torn write) or a complete one that
 * fails its CRC. */
struct cairn__recscan {
    const unsigned char *p;
    size_t len, off;
    cairn__rec_plausible_fn plausible;
    size_t skip_off, skip_len;
    size_t tail_off;
    int tail_torn;
    uint64_t n_skipped, bytes_skipped;
};
void cairn__recscan_init(struct cairn__recscan *sc, const unsigned char *p, size_t len,
                         size_t off, cairn__rec_plausible_fn plausible);
/* 1 and the record (rec_off: where its header starts), or 0 at the end. */
int cairn__recscan_next(struct cairn__recscan *sc, uint8_t *type, const unsigned char **payload,
                        uint32_t *plen, size_t *rec_off);

/* Counters of damage met while opening and reading (for /metrics). */
struct cairn__damage {
    atomic_uint_least64_t records_skipped, bytes_skipped, blocks_skipped, files_quarantined;
};

/* Move path into <data_dir>/quarantine/ (created if needed) under a unique name that
 * says where it came from; never deletes anything. 0 or CAIRN_EIO (logged). */
int cairn__quarantine_move(const char *data_dir, const char *path, struct cairn__damage *dmg);
/* Write a copy of p[0..n) (bytes about to be cut from path) into the quarantine. */
int cairn__quarantine_save(const char *data_dir, const char *path, const char *what,
                           const void *p, size_t n);
/* Rewrite path as hdr[0..CAIRN__FILE_HDR) followed by every valid record of p[0..len)
 * from off on (damaged records left out), through a temporary file renamed over it.
 * The caller has put the original in the quarantine first. 0 or CAIRN_EIO. */
int cairn__file_rewrite(const char *path, const unsigned char *hdr, const unsigned char *p,
                        size_t len, size_t off, cairn__rec_plausible_fn plausible);
/* The data directory's lock (DATA_DIR/cairn.lock, flock): a store holds it while open,
 * `cairn check --repair` takes it too. A descriptor, or CAIRN_EAGAIN when another
 * process holds it, or CAIRN_EIO. */
int cairn__dir_lock(const char *data_dir);

/* ---- block (block.c) ---- */
#define CAIRN__BLOCK_VERSION 2 /* written without structured metadata; 1 to 3 are read */
#define CAIRN__BLOCK_VERSION_SM 3 /* written for blocks with structured metadata */
#define CAIRN__BLOCK_HDR 52

struct cairn__block_hdr {
    uint8_t version, codec;
    uint16_t flags;
    uint32_t n;
    int64_t min_ts, max_ts;
    uint32_t raw_len; /* sum of line lengths */
    uint32_t ts_raw, ts_comp, len_raw, len_comp, lines_raw, lines_comp;
};

/* Compression state reused across cuts (one per concurrent cutter). */
struct cairn__codec_ctx {
    void *zc, *zd; /* ZSTD_CCtx, ZSTD_DCtx */
    struct cairn_buf col, tmp, out;
    uint32_t *perm;
    size_t perm_cap;
    /* an open block gathered into columns for encoding (head.c) */
    int64_t *g_ts;
    uint32_t *g_lens;
    size_t g_cap;
    struct cairn_buf g_lines;
    struct cairn_buf g_sm;   /* the open block's structured metadata blobs, in entry order */
    uint32_t *g_smlens;      /* per entry; NULL until a block has some */
    size_t g_smcap;
    int g_has_sm;
    struct cairn_buf smcol;  /* the structured metadata column being built or decoded */
    struct cairn__codec_ctx *next; /* free list */
};
void cairn__codec_ctx_deinit(struct cairn__codec_ctx *c);

/* Encode n entries (ts[i], lens[i], line bytes concatenated in `lines`) into a block
 * appended to out. If !sorted the entries are ordered by ts (stably) first. With sm
 * (entry i's structured metadata blob of sm_lens[i] bytes, concatenated in entry
 * order) the block is version 3 with a structured metadata column; sm NULL: version 2.
 * 0, CAIRN_ENOMEM or CAIRN_EIO (a codec failure). */
int cairn__block_encode(struct cairn__codec_ctx *c, const int64_t *ts, const uint32_t *lens,
                        const char *lines, const char *sm, const uint32_t *sm_lens, uint32_t n,
                        int sorted, enum cairn_codec codec, int level, struct cairn_buf *out);
/* Does a block with header h span exactly len bytes (its CRC included)? For version 3
 * the structured metadata column's size follows the lines (p: the block's bytes, at
 * least its first len; NULL: only the fixed part is checked, len may be larger). */
int cairn__block_len_ok(const struct cairn__block_hdr *h, const unsigned char *p, uint64_t len);
/* Parse and check a block header (not the CRC); 0 or CAIRN_ECORRUPT. */
int cairn__block_hdr_parse(const unsigned char *p, size_t len, struct cairn__block_hdr *h);
/* The same for the CAIRN__BLOCK_HDR bytes at p alone (no length check). */
int cairn__block_hdr_parse_only(const unsigned char *p, struct cairn__block_hdr *h);
/* A decoded block: columns owned by the struct, kept (with their capacity) across
 * cairn__block_decode_into calls, so a reader reusing one decodes without malloc. */
struct cairn__block_dec {
    struct cairn__block_hdr h;
    int64_t *ts;
    uint32_t *lens;
    uint64_t *offs; /* start of each line in lines (when lines are decoded) */
    char *lines;    /* lines_buf when lines were decoded, else NULL */
    char *lines_buf;
    size_t cap_n, cap_lines;
    /* structured metadata (decoded with the lines): entry i's blob is
     * smb.data + sm_off[i], sm_len[i] bytes; has_sm 0: no entry has any */
    int has_sm;
    struct cairn_buf smb;
    size_t *sm_off;
    uint32_t *sm_len;
    size_t cap_sm;
};
/* Room for n entries' structured metadata offsets (has_sm set, smb emptied). */
int cairn__block_dec_reserve_sm(struct cairn__block_dec *d, size_t n);
/* Check the CRC and decode into a zeroed out; lines only if want_lines. 0,
 * CAIRN_ECORRUPT, CAIRN_ENOMEM; out is deinit'ed on failure. */
int cairn__block_decode(struct cairn__codec_ctx *c, const unsigned char *p, size_t len,
                        int want_lines, struct cairn__block_dec *out);
enum {
    CAIRN__DEC_LINES = 1, /* decompress the line column too */
    /* p holds only the header and the timestamp and length columns (the first
     * CAIRN__BLOCK_HDR + ts_comp + len_comp bytes): no CRC check (it covers the whole
     * block), structure checked (exact sizes, ts ascending between min and max, sum of
     * lengths); the lines are never decoded */
    CAIRN__DEC_COLS = 2,
};
/* Decode into out reusing its buffers (out zeroed or from an earlier decode). On
 * failure out->h.n is 0 and its buffers stay for reuse. */
int cairn__block_decode_into(struct cairn__codec_ctx *c, const unsigned char *p, size_t len,
                             unsigned flags, struct cairn__block_dec *out);
void cairn__block_dec_deinit(struct cairn__block_dec *d);
/* Grow d's columns to n entries and, if lines, raw line bytes (in lines_buf). */
int cairn__block_dec_reserve(struct cairn__block_dec *d, size_t n, size_t raw, int lines);

/* An iterator flag for tests: read blocks with pread, never through a mapping. */
#define CAIRN__ITER_NO_MMAP (1u << 30)

/* ---- WAL (wal.c) ---- */
#define CAIRN__WAL_VERSION 1
/* ENTRIES_SM: ENTRIES whose entries each carry structured metadata (a uvarint length and
 * an smeta blob after the line); written only for entries that have some, so WAL files
 * without structured metadata are as before and older ones replay unchanged. */
enum { CAIRN__WAL_STREAM = 1, CAIRN__WAL_ENTRIES = 2, CAIRN__WAL_ENTRIES_SM = 3 };

struct cairn__wal;
/* Called under the WAL lock when a new file starts, to write the records every file
 * must begin with (the active streams); appends to out. */
typedef int (*cairn__wal_rotate_fn)(void *ctx, struct cairn_buf *out);

struct cairn__wal *cairn__wal_open(const char *data_dir, enum cairn_fsync_policy pol,
                                   int64_t interval_ns, size_t file_max,
                                   cairn__wal_rotate_fn on_rotate, void *ctx, uint64_t first_seq);
void cairn__wal_close(struct cairn__wal *w, int sync);
/* Write p[0..n) (whole records) with one write(2); under ALWAYS wait for the group
 * fsync covering it. 0, CAIRN_ENOSPC (disk full: the file is cut back to before the
 * write and the next append simply tries again) or CAIRN_EIO. After a failed sync (or
 * a failed write that could not be cut back) the file is never synced again: the next
 * append starts a fresh file, writes and syncs it, and fails unless that works. */
int cairn__wal_append(struct cairn__wal *w, const void *p, size_t n);
/* Route the WAL's writes and syncs through test hooks (NULL: the syscalls). */
void cairn__wal_set_io(struct cairn__wal *w, const struct cairn_store_io *io);
uint64_t cairn__wal_seq(struct cairn__wal *w);
/* Delete WAL files with seq < below. */
int cairn__wal_remove_below(struct cairn__wal *w, uint64_t below);
void cairn__wal_stats(struct cairn__wal *w, uint64_t *bytes, uint64_t *fsyncs, uint64_t *records);
/* Replay every file under <data_dir>/wal in order; cb gets each record's type and
 * payload with the file's seq. A damaged record is skipped and logged (file, offset);
 * a torn tail is cut. Returns the highest seq seen (0 if none) in *max_seq. */
typedef int (*cairn__wal_replay_fn)(void *ctx, uint64_t seq, uint8_t type,
                                    const unsigned char *p, uint32_t n);
int cairn__wal_replay(const char *data_dir, cairn__wal_replay_fn cb, void *ctx,
                      uint64_t *max_seq);
/* Every WAL file mapped read-only, in order, each checked up to its last valid record
 * (a torn tail is logged and cut; damaged records inside are skipped and counted in
 * dmg, which may be NULL; read them with a cairn__recscan and cairn__wal_rec_plausible;
 * a damaged or unreadable file is quarantined, p NULL); records are
 * [CAIRN__FILE_HDR, len). Only CAIRN_ENOMEM (or a directory that cannot be listed) fails. */
struct cairn__wal_map {
    uint64_t seq;
    unsigned char *p; /* NULL: the file was unusable and removed */
    size_t len, map_len;
};
int cairn__wal_map_all(const char *data_dir, struct cairn__wal_map **out, size_t *n,
                       struct cairn__damage *dmg);
void cairn__wal_unmap_all(struct cairn__wal_map *m, size_t n);
/* Unlink every WAL file in <data_dir>/wal (after a clean flush). */
int cairn__wal_remove_all(const char *data_dir);

/* ---- periods: segment files + index (segment.c, index.c) ---- */
#define CAIRN__SEG_VERSION 1
#define CAIRN__IDX_VERSION 1
enum { CAIRN__SEG_STREAM = 1, CAIRN__SEG_BLOCK = 2, CAIRN__SEG_CHUNK = 3 };

/* Where a block lives and what it holds: enough to skip it without reading it. */
struct cairn__bref {
    uint64_t off; /* of the block bytes inside the segment file */
    uint32_t file, len;
    int64_t min_ts, max_ts;
    uint32_t n, raw, chunk;
};

/* One stream's part of one period. */
struct cairn__pstream {
    uint32_t sid;
    uint32_t next_chunk; /* chunk numbers used so far */
    struct cairn__bref *refs;
    size_t n, cap;
    uint64_t hw;     /* highest seq_hi of its blocks here */
    int in_segfile; /* its STREAM record is in the current segment file */
};

/* A small open-addressing map from a byte string to a pointer. */
struct cairn__strmap_ent {
    char *key; /* owned, NUL-terminated */
    uint32_t klen;
    uint64_t hash;
    void *val;
};
struct cairn__strmap {
    struct cairn__strmap_ent *v;
    size_t n, cap;
};
void *cairn__strmap_get(const struct cairn__strmap *m, const void *key, size_t klen);
/* Insert (key must be absent); 0 or CAIRN_ENOMEM. */
int cairn__strmap_put(struct cairn__strmap *m, const void *key, size_t klen, void *val);
void cairn__strmap_deinit(struct cairn__strmap *m, void (*free_val)(void *));

struct cairn__segfile {
    int fd;
    uint64_t size;
    int dirty;  /* written since the last sync */
    int remote; /* uploaded and confirmed: only in the object store (never written) */
};

/* A block met by a scan before its stream was known (its STREAM record in that file
 * was damaged): kept aside until the WAL replay has named every stream it can. */
struct cairn__orphan {
    uint32_t sid;
    uint64_t seq_hi;
    struct cairn__bref ref;
};

struct cairn__tenant;
struct cairn__period {
    int64_t start, end;
    char *dir;
    uint64_t file_max; /* start a new segment file past this size */
    atomic_int refs;
    int removed; /* retention took it out of the tenant; delete dir at last unref */
    pthread_mutex_t mu; /* everything below */
    int closed;         /* an index file describes it; unlinked before any new write */
    struct cairn__segfile *files;
    uint32_t n_files;
    struct cairn__strmap postings; /* "name\0value" -> roaring_bitmap_t* */
    roaring_bitmap_t *all;
    struct cairn__strmap streams; /* u32 sid -> struct cairn__pstream* */
    uint64_t n_blocks, n_chunks, bytes;
    struct cairn__orphan *orphans; /* until cairn__period_adopt_orphans(final) */
    size_t n_orphans, cap_orphans;
    /* object storage (remote.c): under mu */
    struct cairn__remote *rem; /* the store's, NULL without an object store */
    char *okey;                /* object key prefix "<tenant>/<start>/" */
    uint32_t man_seq;          /* newest manifest written or read (0: none) */
    uint64_t index_gen;        /* index files written since load */
    uint64_t up_gen;           /* the index_gen last uploaded */
};

struct cairn_store;
/* Find or create the period holding ts for a tenant; returns it with a reference
 * taken (drop with cairn__period_unref). NULL on failure (logged). */
struct cairn__period *cairn__period_get(struct cairn_store *s, struct cairn__tenant *t, int64_t ts);
void cairn__period_ref(struct cairn__period *p);
void cairn__period_unref(struct cairn__period *p);
extern const char cairn__seg_magic[8]; /* "CAIRNSEG" */
/* Scan segment file fi of p (open in p->files[fi]) into p's index (segment_scan.c);
 * damage is skipped, mended or quarantined; only CAIRN_ENOMEM or CAIRN_EIO fail. */
int cairn__segfile_scan(struct cairn_store *s, struct cairn__tenant *t, struct cairn__period *p,
                        uint32_t fi, const char *path);
/* Move segment file fi into the quarantine and leave an empty one (a header) under its
 * name, so file numbers hold. 0 or CAIRN_EIO. */
int cairn__segfile_quarantine(struct cairn_store *s, struct cairn__period *p, uint32_t fi,
                              const char *path);
/* Load a period directory (index file if closed, else scan segment files). */
int cairn__period_load(struct cairn_store *s, struct cairn__tenant *t, const char *dir,
                       int64_t start);
/* Give the period's orphan blocks to their streams where these are known now; with
 * final, the rest are logged and counted as lost. Before the WAL entries are inserted,
 * so the blocks' seq_hi count for exactly-once replay. */
int cairn__period_adopt_orphans(struct cairn_store *s, struct cairn__tenant *t,
                                struct cairn__period *p, int final);
/* Register a stream in a period's index (postings), idempotent. Caller holds p->mu. */
int cairn__period_add_stream_locked(struct cairn__period *p, uint32_t sid,
                                    const struct cairn_label *lv, size_t nl,
                                    struct cairn__pstream **out);
/* Append a block record (and the stream record if the current file lacks it) for
 * stream st; records the ref. Caller holds the stream's shard lock. */
struct cairn__stream;
int cairn__period_write_block(struct cairn_store *s, struct cairn__period *p,
                              struct cairn__stream *st, const struct cairn_buf *block,
                              uint32_t chunk, uint64_t seq_lo, uint64_t seq_hi);
int cairn__period_write_chunk(struct cairn__period *p, uint32_t sid, uint32_t chunk);
/* The next unused chunk number of a stream in a period. */
uint32_t cairn__period_next_chunk(struct cairn__period *p, uint32_t sid);
/* Drop postings and refs (before rebuilding from segment files); p->mu held. */
void cairn__period_index_reset(struct cairn__period *p);
/* Close the segment files' descriptors (a closed period keeps none); p->mu held. */
void cairn__period_close_files(struct cairn__period *p);
/* fsync dirty segment files. */
int cairn__period_sync(struct cairn__period *p);
/* Write the immutable index file of a period whose heads are flushed (p->mu held). */
int cairn__index_write(struct cairn_store *s, struct cairn__tenant *t, struct cairn__period *p);
/* Remove it before the period is written to again (p->mu held). */
int cairn__index_unlink(struct cairn__period *p);
/* Load it; CAIRN_ENOTFOUND (none), CAIRN_ERANGE (stale: the segment files changed
 * since) or CAIRN_ECORRUPT (damaged) mean: scan the segment files instead. */
int cairn__index_load(struct cairn_store *s, struct cairn__tenant *t, struct cairn__period *p);
/* Check an index file's bytes without loading anything: CRC, header, structure
 * (every count and length inside the file, postings that deserialise). sizes[0..cap)
 * get the segment file sizes it was written against, *nf their number. 0,
 * CAIRN_ECORRUPT or CAIRN_EUNSUPPORTED. */
int cairn__index_verify(const unsigned char *p, size_t len, uint64_t *sizes, size_t cap,
                        size_t *nf);
/* Register a stream known from disk (creating it if new); NULL on ENOMEM. */
struct cairn__stream *cairn__stream_restore(struct cairn_store *s, struct cairn__tenant *t,
                                            uint32_t sid, uint64_t fp, const char *ltext,
                                            size_t ltext_len);
void cairn__period_free(struct cairn__period *p);
/* pread len bytes at off of file `file` into out. */
int cairn__period_read(struct cairn__period *p, uint32_t file, uint64_t off, uint32_t len,
                       struct cairn_buf *out);
/* A descriptor of segment file `file` owned by the caller (close it), or a negative
 * CAIRN_E*; readers keep it across many blocks instead of one per read. */
int cairn__period_open_fd(struct cairn__period *p, uint32_t file);
/* What cairn__period_open_fd returns for a file that lives only in the object store:
 * cairn__period_pread then reads through the block cache (never close() it). */
#define CAIRN__FD_REMOTE (-1000)
/* pread exactly len bytes at off into dst (errors logged with the file); with fd
 * CAIRN__FD_REMOTE a ranged GET of exactly those bytes through the cache. */
int cairn__period_pread(struct cairn__period *p, int fd, uint32_t file, uint64_t off,
                        uint32_t len, char *dst);

/* ---- head: tenants and streams (head.c) ---- */

/* One entry of an open block: its timestamp and where its line lies in the block's
 * line bytes (which run on from page to page). */
struct cairn__hent {
    int64_t ts;
    uint32_t len, off; /* the line at off; its structured metadata right after it */
    uint32_t sm_len;
};
#define CAIRN__HENT_PER_PAGE (CAIRN__PAGE_SIZE / sizeof(struct cairn__hent))

/* An open block: entries and line bytes in pages of the store's page pool, so its
 * memory is counted exactly (whole pages) and nothing is copied as it grows. The page
 * tables themselves are the stream's, kept across cuts. */
struct cairn__hblock {
    struct cairn__hent **epages; /* entry i: epages[i / PER][i % PER] */
    char **lpages;               /* line byte k: lpages[k / PAGE][k % PAGE] */
    uint32_t n_epages, n_lpages, cap_epages, cap_lpages;
    uint32_t n;
    size_t lines_len;  /* line bytes and structured metadata bytes */
    int64_t min_ts, max_ts;
    int sorted;
    int has_sm;        /* some entry carries structured metadata */
    uint64_t seq_lo;          /* first seq in the block */
    uint64_t wal_min;         /* oldest WAL file holding its entries */
    struct cairn__period *per; /* its period (a reference), NULL when empty */
};

static inline const struct cairn__hent *cairn__hblock_ent(const struct cairn__hblock *b, uint32_t i)
{
    return &b->epages[i / CAIRN__HENT_PER_PAGE][i % CAIRN__HENT_PER_PAGE];
}
/* Copy len line bytes starting at byte off of b's lines into dst. */
void cairn__hblock_read(const struct cairn__hblock *b, size_t off, size_t len, char *dst);
/* Are the len line bytes at off equal to p[0..len)? */
int cairn__hblock_eq(const struct cairn__hblock *b, size_t off, const char *p, size_t len);

struct cairn__stream {
    uint32_t sid;
    uint64_t fp;
    struct cairn__stream *next; /* shard hash chain */
    char *ltext;                /* canonical `{a="b"}` */
    size_t ltext_len;
    struct cairn_label *lv;     /* views into lstore */
    size_t nl;
    char *lstore;
    /* below: under the shard lock */
    int active;       /* its STREAM record is in the WAL (set once the WAL has it) */
    uint64_t seq;     /* next sequence number to enter the head: every seq below is in
                       * the head, in segment files, or was abandoned (failed append) */
    uint64_t seq_res; /* next sequence number to reserve (append.c); above seq while
                       * appends are between their WAL write and their head insert */
    uint64_t hw;      /* entries with seq < hw are in segment files */
    int64_t max_ts;   /* newest accepted (INT64_MIN: none) */
    int64_t last_append; /* wall ns */
    struct cairn__hblock blk;
    atomic_size_t blk_bytes; /* allocated bytes of blk, read unlocked by eviction */
    /* the open chunk */
    struct cairn__period *chunk_per; /* period of the open chunk (a reference) */
    uint32_t chunk_no;
    int chunk_open;
    size_t chunk_bytes;
    int64_t chunk_started; /* wall ns */
};

struct cairn__shard {
    pthread_mutex_t mu;
    /* Appends reserve in arrival order (append.c): a ticket taken before the lock,
     * served in turn. A plain mutex lets running threads barge past one that slept
     * through a long hold (a block cut, a period created) until the pushes that
     * overtook it have moved the stream's newest timestamp past the out-of-order
     * window (issue 10, finding 9). */
    atomic_uint_least64_t next_ticket;
    uint64_t serving; /* under mu */
    pthread_cond_t turn;
    struct cairn__stream **tab;
    size_t cap, n;
};

struct cairn__tenant {
    char *name;
    char *dir;
    struct cairn__shard shards[CAIRN__SHARDS];
    pthread_mutex_t id_mu; /* by_id and next_sid */
    struct cairn__stream **by_id;
    size_t by_id_cap;
    uint32_t next_sid;
    pthread_mutex_t periods_mu;
    struct cairn__period **periods; /* sorted by start */
    size_t n_periods, cap_periods;
    atomic_size_t active;
};

/* Block filter sidecars loaded by queries, shared across queries (needle_cache.c):
 * most recently used first, at most CAIRN_NEEDLE_CACHE_BYTES held. */
struct cairn__sidecar;
struct cairn__fltc {
    pthread_mutex_t mu;
    struct cairn__sidecar *head, *tail;
    size_t bytes;
};
void cairn__fltc_init(struct cairn__fltc *c);
void cairn__fltc_deinit(struct cairn__fltc *c);

struct cairn_store {
    struct cairn_store_config cfg;
    char *data_dir;
    char *tenants_dir;
    pthread_mutex_t tenants_mu;
    struct cairn__tenant **tenants;
    size_t n_tenants, cap_tenants;
    struct cairn__wal *wal;
    atomic_size_t head_bytes;
    struct cairn__pagepool pages; /* open blocks' pages */
    pthread_mutex_t evict_mu; /* one evictor at a time (others skip) */
    pthread_mutex_t pass_mu;  /* one maintenance pass or flush at a time */
    pthread_mutex_t ctx_mu;
    struct cairn__codec_ctx *ctx_free;
    pthread_mutex_t buf_mu;
    struct cairn__append_scratch *scr_free[8]; /* append.c: a few, reused */
    size_t n_scr_free;
    /* The WAL files of appends between their WAL write and their head insert: the
     * checkpoint removes no file at or above the oldest (append.c). */
    pthread_mutex_t infl_mu;
    struct {
        uint64_t seq;
        size_t n;
    } infl[CAIRN__INFLIGHT_FILES];
    /* An append inserts a stream's entries in sequence order: one waiting for an
     * earlier append to the same stream sleeps here until order_gen moves. */
    pthread_mutex_t order_mu;
    pthread_cond_t order_cv;
    atomic_uint_least64_t order_gen;
    atomic_uint order_waiters;
    atomic_int_least64_t cut_fail_ns; /* wall ns of the last failed block cut, 0: none */
    atomic_int seg_sync_failed; /* a segment fsync failed: never checkpoint the WAL again */
    /* maintenance thread */
    pthread_t maint;
    int maint_started;
    pthread_mutex_t maint_mu;
    pthread_cond_t maint_cv;
    int stop;
    /* counters */
    atomic_uint_least64_t chunks_flushed, chunk_bytes, blocks_cut;
    atomic_uint_least64_t blocks_filtered; /* blocks a query skipped by their filter (needle.c) */
    struct cairn__fltc fltc;               /* loaded filter sidecars (needle_cache.c) */
    atomic_uint_least64_t entries, bytes, rejected;
    struct cairn__damage damage; /* files and blocks found damaged (read side) */
    int lock_fd;                 /* DATA_DIR/cairn.lock, held while open */
    struct cairn__remote *remote; /* object storage state (remote.c), NULL without */
};

struct cairn__append_scratch;
void cairn__append_scratch_free(struct cairn__append_scratch *a);

struct cairn__tenant *cairn__tenant_get(struct cairn_store *s, const char *name, int create);
/* The i-th tenant (tenants are never removed before close), or NULL past the end. */
struct cairn__tenant *cairn__tenant_at(struct cairn_store *s, size_t i);
void cairn__tenant_free(struct cairn__tenant *t);
/* Find or create a stream; caller holds its shard lock. sid 0 = assign a new id. */
struct cairn__stream *cairn__stream_get_locked(struct cairn_store *s, struct cairn__tenant *t,
                                               struct cairn__shard *sh, uint64_t fp,
                                               const struct cairn_labels *ls, const char *ltext,
                                               size_t ltext_len, uint32_t sid, int *created);
struct cairn__stream *cairn__stream_by_id(struct cairn__tenant *t, uint32_t sid);
/* Unlink and free a stream nobody else has seen (created by the caller under the shard
 * lock it still holds, nothing reserved or inserted). */
void cairn__stream_drop_locked(struct cairn__tenant *t, struct cairn__shard *sh,
                               struct cairn__stream *st);

/* A stream id met on disk whose stream is unknown (its STREAM record was damaged):
 * never give it to a new stream, or that stream would inherit the old one's blocks. */
static inline void cairn__sid_reserve(struct cairn__tenant *t, uint32_t sid)
{
    pthread_mutex_lock(&t->id_mu);
    if (sid >= t->next_sid && sid < UINT32_MAX)
        t->next_sid = sid + 1;
    pthread_mutex_unlock(&t->id_mu);
}
static inline struct cairn__shard *cairn__shard_of(struct cairn__tenant *t, uint64_t fp)
{
    return &t->shards[(fp >> 59) % CAIRN__SHARDS];
}
/* Insert one accepted entry into the stream's open block (cutting first if the block
 * is full or the entry's period differs). Caller holds the shard lock. */
int cairn__head_insert(struct cairn_store *s, struct cairn__tenant *t, struct cairn__stream *st,
                       int64_t ts, const char *line, size_t len, const char *sm, size_t sm_len,
                       uint64_t seq, uint64_t wal_seq);
/* Cut the open block into a compressed block in the segment file. close_chunk also
 * closes the chunk. Caller holds the shard lock. */
int cairn__head_cut(struct cairn_store *s, struct cairn__stream *st, int close_chunk);
void cairn__hblock_free(struct cairn_store *s, struct cairn__stream *st);
/* Cut the largest open blocks until head memory is under the budget's low mark. */
void cairn__head_evict(struct cairn_store *s);
/* Write STREAM records of active streams (WAL rotation). */
int cairn__head_stream_records(struct cairn_store *s, struct cairn_buf *out);
int cairn__wal_stream_record(struct cairn_buf *out, const char *tenant, uint32_t sid,
                             uint64_t fp, const char *ltext, size_t ltext_len);
struct cairn__codec_ctx *cairn__ctx_get(struct cairn_store *s);
void cairn__ctx_put(struct cairn_store *s, struct cairn__codec_ctx *c);

int64_t cairn__period_start(const struct cairn_store *s, int64_t ts);
/* Periods of t overlapping [start, end), each with a reference (read.c); NULL on
 * ENOMEM. Release with cairn__periods_release. */
struct cairn__period **cairn__periods_in(struct cairn__tenant *t, int64_t start, int64_t end,
                                         size_t *n);
void cairn__periods_release(struct cairn__period **v, size_t n);
/* Replay the WAL into the heads (replay.c); *max_seq is the last WAL file's number. */
int cairn__replay_wal(struct cairn_store *s, uint64_t *max_seq);
static inline void cairn__note_accepted(struct cairn__stream *st, int64_t ts)
{
    if (ts > st->max_ts)
        st->max_ts = ts;
}
/* The current WAL file, and the oldest one an append in flight still needs (its
 * entries are not in the head yet); UINT64_MAX if none. */
void cairn__append_inflight(struct cairn_store *s, uint64_t *cur, uint64_t *oldest);
/* One maintenance pass as of `now` (the thread runs it every second; tests call it
 * with a chosen clock): idle/old chunks, WAL checkpoint, period close, retention. */
void cairn__store_maint(struct cairn_store *s, int64_t now);
int cairn__tenant_name_valid(const char *t);

/* ---- object storage (remote.c) ---- */
struct cairn__remote;
/* Set up s->remote when cfg.objstore is set: fetch every period's newest manifest and
 * index into the data directory (so load_tenants finds them). 0 or CAIRN_E* (err). */
int cairn__remote_open(struct cairn_store *s, struct cairn_err *err);
/* Start the upload thread (after the load). */
int cairn__remote_start(struct cairn_store *s);
/* Stop it and free s->remote (NULL is fine). */
void cairn__remote_close(struct cairn_store *s);
/* Wake the uploader (a period was closed). */
void cairn__remote_kick(struct cairn_store *s);
/* Read len bytes at off of remote segment file `file` of p into dst. */
int cairn__remote_read(struct cairn__period *p, uint32_t file, uint64_t off, uint32_t len,
                       char *dst);
/* Queue the deletion of a removed period's objects (retention). */
void cairn__remote_forget(struct cairn__remote *r, const char *okey);
/* Apply the period directory's remote.manifest (files only in the object store) to
 * the file numbers found locally: local[i] nonzero where seg-i exists on disk. Fills
 * sizes[] and remote[] for files 0..*n (n grows to the manifest's count). p->mu held.
 * 0, CAIRN_ENOTFOUND (no manifest) or CAIRN_ECORRUPT. */
int cairn__remote_manifest_read(struct cairn__period *p, uint32_t *n_files, uint64_t **sizes);

#endif
