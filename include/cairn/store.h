/* store.h -- the log store: tenants -> streams -> entries, durable through a WAL,
 * kept as compressed columnar blocks in segment files, found through a label index.
 *
 * Ownership: cairn_store_open returns a store the caller closes with
 * cairn_store_close (which flushes heads). Label sets and lines passed to append
 * are copied before it returns. Iterators are caller-owned structs (stack ok) that
 * borrow the store until _deinit; what they return is valid until the next call.
 * Thread safety: append and every read may be called from any thread concurrently;
 * readers never block writers for longer than a pointer swap. The read API (labels,
 * postings, iterators, index stats) is in store_read.h; file formats in
 * docs/FORMATS.md. A background thread closes idle/old chunks, checkpoints the WAL,
 * closes finished periods and applies retention every second. */
#ifndef CAIRN_STORE_H
#define CAIRN_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cairn/error.h"
#include "cairn/objstore.h"
#include "cairn/labels.h"

enum cairn_fsync_policy {
    CAIRN_FSYNC_ALWAYS,   /* fsync before ack, grouped across concurrent appends; a
                           * failed fsync is never retried (docs/STORAGE.md) */
    CAIRN_FSYNC_INTERVAL, /* fsync every interval; ack after write(2) (default) */
    CAIRN_FSYNC_NEVER,    /* leave it to the kernel */
};

enum cairn_codec {
    CAIRN_CODEC_NONE = 0,
    CAIRN_CODEC_ZSTD = 1, /* default */
    CAIRN_CODEC_LZ4 = 2,
};

/* A test seam for I/O failure injection: when set in the config, the WAL's write(2) and
 * fdatasync(2) go through these (same contract as the syscalls: -1 with errno set on
 * failure), so a test can make them fail with ENOSPC or EIO and then succeed again.
 * NULL in production. The struct is borrowed: it must outlive the store. */
struct cairn_store_io {
    ssize_t (*write)(void *ctx, int fd, const void *p, size_t n);
    int (*fdatasync)(void *ctx, int fd);
    void *ctx;
};

struct cairn_tenant_retention {
    const char *tenant;
    int64_t retention_ns;
};

struct cairn_store_config {
    const char *data_dir;
    enum cairn_fsync_policy fsync;
    int64_t fsync_interval_ns;    /* for CAIRN_FSYNC_INTERVAL; default 1 s */
    enum cairn_codec codec;
    int zstd_level;               /* default 1 (as small as 3 on our blocks, cheaper) */
    size_t head_budget;           /* bytes of open blocks across all streams */
    size_t block_target_raw;      /* cut an open block at this many raw bytes */
    size_t chunk_target;          /* close a chunk at this many compressed bytes */
    int64_t chunk_max_age_ns;
    int64_t chunk_idle_ns;
    int64_t index_period_ns;
    int64_t ooo_window_ns;        /* out-of-order acceptance window per stream */
    int64_t retention_ns;         /* 0: keep forever */
    const struct cairn_tenant_retention *tenant_retention; /* copied by open */
    size_t n_tenant_retention;
    size_t wal_file_max;          /* start a new WAL file past this; 0: 128 MiB */
    size_t segment_file_max;      /* start a new segment file past this; 0: 1 GiB */
    const struct cairn_store_io *io; /* NULL: the real syscalls (tests only) */
    /* Object storage (docs/STORAGE.md): when set, closed periods' segment and index
     * files are uploaded and their local copies deleted once confirmed; reads of them
     * go through cache. Both borrowed: they must outlive the store. */
    struct cairn_objstore *objstore;
    struct cairn_cache *cache;
    int block_filters;            /* build and consult per-block n-gram filters (needle.c) */
};

/* Fill cfg with the defaults of limits.h (data_dir "./data"). */
void cairn_store_config_default(struct cairn_store_config *cfg);

/* Open (creating if needed) the store at cfg->data_dir and replay its WAL. NULL on
 * failure with err saying why (which file, which record). Damaged records, blocks and
 * files do not fail it: they are skipped or put in DATA_DIR/quarantine/ (logged, and
 * counted: store_check.h); another process holding the directory does (CAIRN_EAGAIN:
 * DATA_DIR/cairn.lock is locked while a store is open). */
struct cairn_store *cairn_store_open(const struct cairn_store_config *cfg, struct cairn_err *err);
/* Flush every head to segment files, sync, close. NULL is a no-op. */
void cairn_store_close(struct cairn_store *s);
/* For crash tests: release the store's memory and descriptors WITHOUT flushing heads,
 * syncing or checkpointing the WAL, as if the process had been killed after its last
 * acknowledged append. NULL is a no-op. */
void cairn_store_abandon(struct cairn_store *s);

struct cairn_entry {
    int64_t ts;       /* unix nanoseconds */
    const char *line;
    size_t len;
};

/* An entry's structured metadata: a cairn/smeta.h blob; len 0: none. Stored with the
 * entry (WAL, head, block column), never part of the stream's labels. */
struct cairn_sm_ref {
    const char *p;
    size_t len;
};

/* One stream's part of a push: labels must be sorted and validated. */
struct cairn_push_stream {
    const struct cairn_labels *labels;
    const struct cairn_entry *entries;
    size_t n;
    /* in, optional: cairn_labels_fingerprint(labels) when the caller has it already
     * (fp_set nonzero), so the store does not hash the set again */
    uint64_t fp;
    int fp_set;
    /* in, optional: structured metadata, sm[i] for entries[i]; NULL: none */
    const struct cairn_sm_ref *sm;
    /* out: entries refused (out of order beyond the window) and why, for the reply */
    size_t rejected;
    struct cairn_err err;
};

/* Append streams for a tenant. Returns 0 once every accepted entry is in the WAL
 * (and fsynced, under CAIRN_FSYNC_ALWAYS); per-stream refusals are reported in
 * streams[i].rejected/err and do not fail the call. Entries older than the stream's
 * newest by more than ooo_window_ns are refused with Loki's message; an entry equal
 * (timestamp and line) to one still in the stream's head, or to the one before it in
 * the same push, is dropped silently, as Loki does, and counts neither as accepted nor
 * as rejected. Entries become visible (to readers and to that duplicate check) only
 * after their WAL record is written (and synced, under ALWAYS).
 * A negative return means nothing of the push was stored or acknowledged and nothing
 * of it stays in memory (a retry is stored like a new push): CAIRN_ENOSPC when the
 * disk or quota is full (answer 507; writes resume by themselves once space returns),
 * CAIRN_EIO for another write or sync failure (after a failed fdatasync the store
 * refuses every append until a fresh WAL file was written and synced; see
 * docs/STORAGE.md), CAIRN_ENOMEM, or CAIRN_EINVAL for a tenant name Loki would refuse
 * or that cannot be a directory. */
int cairn_store_append(struct cairn_store *s, const char *tenant, struct cairn_push_stream *streams,
                       size_t n);

/* Number of active (in-head) streams of a tenant, and whether a stream exists; for
 * the per-tenant stream limit. */
size_t cairn_store_active_streams(struct cairn_store *s, const char *tenant);
int cairn_store_stream_active(struct cairn_store *s, const char *tenant, uint64_t fingerprint);

/* Flush all open heads to segment files now (SIGTERM, tests). */
int cairn_store_flush(struct cairn_store *s);
/* Delete periods older than retention (run periodically by serve). */
int cairn_store_apply_retention(struct cairn_store *s, int64_t now_ns);

/* Object storage counters for /metrics (all 0, enabled 0, without an object store). */
struct cairn_store_remote_stats {
    int enabled;
    uint64_t uploads, upload_bytes, upload_failures; /* segment files */
    uint64_t queue;           /* periods waiting for (or retrying) their upload */
    uint64_t periods_deleted; /* by retention, from the bucket */
};
void cairn_store_remote_stats(struct cairn_store *s, struct cairn_store_remote_stats *out);
/* Flush every head, then close every period no open chunk holds (write its index
 * file) and wake the uploader: what POST /flush does, so a test or an operator can
 * push everything to the object store now. */
int cairn_store_flush_close(struct cairn_store *s);
/* The configured object store's and cache's counters, or NULL without them. */
const struct cairn_objstore_stats *cairn_store_objstore_stats(struct cairn_store *s);
const struct cairn_cache_stats *cairn_store_cache_stats(struct cairn_store *s);

/* Counters for /metrics. */
struct cairn_store_stats {
    uint64_t wal_bytes, wal_fsyncs, wal_records;
    uint64_t chunks_flushed, chunk_bytes_flushed, blocks_cut;
    uint64_t head_bytes, active_streams;
    uint64_t entries_appended, bytes_appended, entries_rejected;
    uint64_t blocks_filtered; /* blocks queries skipped because their filter said absent */
};
void cairn_store_stats(struct cairn_store *s, struct cairn_store_stats *out);

#endif
