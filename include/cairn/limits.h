/* limits.h -- every fixed limit and default in one place, each with its reason.
 * Limits a user may change are defaults for config keys; the rest are hard caps. */
#ifndef CAIRN_LIMITS_H
#define CAIRN_LIMITS_H

/* Loki's validation defaults (limits_config), so pushes that Loki takes we take. */
#define CAIRN_MAX_LABEL_NAMES_PER_SERIES 15       /* max_label_names_per_series */
#define CAIRN_MAX_LABEL_NAME_LENGTH 1024          /* max_label_name_length */
#define CAIRN_MAX_LABEL_VALUE_LENGTH 2048         /* max_label_value_length */
#define CAIRN_MAX_LINE_SIZE (256 * 1024)          /* max_line_size: 256 KiB */
#define CAIRN_CREATION_GRACE_NS (10LL * 60 * 1000000000LL) /* creation_grace_period 10m */
#define CAIRN_REJECT_OLD_MAX_AGE_NS (7LL * 24 * 3600 * 1000000000LL) /* 168h */
/* Per-tenant ingestion limits are off by default (0: no limit): on one machine the
 * tenant is usually one agent, and Loki's 4 MB/s and 5000 streams are what its new
 * users most often meet as 429 storms. Loki's values are one config line away
 * (docs/CONFIG.md). The burst is Loki's, used once a rate is set. */
#define CAIRN_INGESTION_RATE_MB 0.0               /* ingestion_rate_mb (Loki: 4) */
#define CAIRN_INGESTION_BURST_MB 6.0              /* ingestion_burst_size_mb */
#define CAIRN_MAX_STREAMS_PER_TENANT 0            /* max_global_streams_per_user (Loki: 5000) */
#define CAIRN_LOKI_INGESTION_RATE_MB 4.0          /* Loki's defaults, for docs and tests */
#define CAIRN_LOKI_MAX_STREAMS_PER_TENANT 5000
#define CAIRN_MAX_QUERY_SERIES 500                /* max_query_series */
#define CAIRN_QUERY_TIMEOUT_NS (60LL * 1000000000LL) /* query_timeout: 1m */

/* Label parsing: a hard cap on labels in one set, above the validation limit so the
 * validator (not the parser) reports "too many labels" with the count. */
#define CAIRN_LABELS_PARSE_MAX 64

/* HTTP: a push body larger than this is refused with 413 before decoding: Loki's
 * distributor max_recv_msg_size, 100 MiB. The decoded size (gzip, snappy) is capped
 * at the same figure, and decoding stops there without allocating past it. (Recent
 * Loki caps decompression separately, max_decompressed_size, 50 times that by
 * default; agents send 1-4 MiB batches, and one machine should not inflate 5 GB.) */
#define CAIRN_MAX_PUSH_BODY (100u * 1024 * 1024)
#define CAIRN_MAX_PUSH_DECODED (100u * 1024 * 1024)
/* Bytes all push requests together may hold in decompression buffers at once: N
 * concurrent gzip bombs cost this, not N times the cap. Over it a push answers 503
 * with Retry-After. Room for two pushes at the cap, with the head budget's 64 MiB
 * and the rest of the process well under half a GiB. */
#define CAIRN_PUSH_DECODE_BUDGET (200u * 1024 * 1024)
#define CAIRN_PUSH_RETRY_AFTER_S 1 /* Retry-After of that 503 */
/* Push buffers a connection keeps cached between keep-alive requests, all together:
 * enough for the usual 1 MiB batches of Promtail, Alloy and our own agent; a bigger
 * request's buffers are freed after it. */
#define CAIRN_PUSH_KEEP_BYTES (4u * 1024 * 1024)

/* Storage engine, see DESIGN.md "Storage engine". */
#define CAIRN_BLOCK_TARGET_RAW (256 * 1024)       /* cut an open block at ~256 KiB raw */
#define CAIRN_CHUNK_TARGET_COMPRESSED (1536 * 1024) /* close a chunk at ~1.5 MiB */
#define CAIRN_CHUNK_MAX_AGE_NS (3600LL * 1000000000LL) /* or after 1 h */
#define CAIRN_CHUNK_IDLE_NS (30LL * 60 * 1000000000LL) /* or idle 30 min */
/* zstd level 1: measured by bench_store_ingest, blocks as small as level 3 with
 * less CPU. Compaction may recompress harder. */
#define CAIRN_ZSTD_LEVEL_DEFAULT 1
#define CAIRN_HEAD_BUDGET_DEFAULT (64u * 1024 * 1024) /* head memory budget */
#define CAIRN_INDEX_PERIOD_NS (24LL * 3600 * 1000000000LL) /* index period 24 h */
#define CAIRN_WAL_SEGMENT_SIZE (128u * 1024 * 1024) /* rotate WAL files at 128 MiB */
#define CAIRN_OOO_WINDOW_NS (3600LL * 1000000000LL) /* accept out-of-order within 1 h */

#endif
