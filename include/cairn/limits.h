/* limits.h -- every fixed limit and default in one place, each with its reason.
 * Limits a user may change are defaults for config keys; the rest are hard caps. */
#ifndef CAIRN_LIMITS_H
#define CAIRN_LIMITS_H

/* Loki's validation defaults (limits_config), so pushes that Loki takes we take. */
#define CAIRN_MAX_LABEL_NAMES_PER_SERIES 15       /* max_label_names_per_series */
#define CAIRN_MAX_LABEL_NAME_LENGTH 1024          /* max_label_name_length */
#define CAIRN_MAX_LABEL_VALUE_LENGTH 2048         /* max_label_value_length */
#define CAIRN_MAX_LINE_SIZE (256 * 1024)          /* max_line_size: 256 KiB */
/* Loki 3's structured metadata limits (limits_config), so entries Loki takes we take:
 * bytes are the sum of names and values, as Loki counts them. */
#define CAIRN_ALLOW_STRUCTURED_METADATA 1         /* allow_structured_metadata */
#define CAIRN_MAX_STRUCTURED_METADATA_SIZE (64 * 1024) /* max_structured_metadata_size */
#define CAIRN_MAX_STRUCTURED_METADATA_ENTRIES 128 /* max_structured_metadata_entries_count */
/* OTLP AnyValue nesting (arrays and maps in maps) rendered as JSON: deep enough for
 * any real body, shallow enough that a hostile one cannot exhaust the stack. */
#define CAIRN_OTLP_MAX_DEPTH 64
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
/* Query protection (ours, in limits_config's style): one query's memory budget, a
 * few hundred MiB so a handful at once stay far below a small machine's memory (the
 * finding-1 query reached 24 GB without it); a tenant's queries running at once, so
 * one tenant cannot hold every server thread; how many more may wait, and how long,
 * before Loki's 429 "too many outstanding requests". */
#define CAIRN_MAX_QUERY_MEMORY (256u * 1024 * 1024) /* max_query_memory: 256 MiB */
#define CAIRN_MAX_TENANT_QUERIES 4                /* max_concurrent_queries_per_tenant */
#define CAIRN_MAX_TENANT_QUEUED 16                /* max_outstanding_requests_per_tenant */
#define CAIRN_QUERY_QUEUE_WAIT_NS (5LL * 1000000000LL) /* a queued query waits 5 s at most */

#define CAIRN_TENANT_ID_MAX 150 /* Loki's tenant ID length limit (X-Scope-OrgID) */

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
/* Block filter sidecars a store keeps loaded between queries (src/store/needle_cache.c),
 * all together: the filters are ~2 % of raw line bytes, so 64 MiB holds those of about
 * 3 GB of logs, days of a small server; older ones are read again when asked for. */
#define CAIRN_NEEDLE_CACHE_BYTES ((size_t)64 * 1024 * 1024)

/* HTTP connections (issue 10, finding 5): idle or slow clients cost a socket, never a
 * thread, and never hold one past these. Defaults of the server.http_* keys. */
#define CAIRN_MAX_BODY_OTHER (1u * 1024 * 1024)   /* bodies of non-push routes (query forms) */
#define CAIRN_HTTP_HEADER_TIMEOUT_NS (10LL * 1000000000LL) /* whole header, trickled or not */
#define CAIRN_HTTP_BODY_TIMEOUT_NS (30LL * 1000000000LL)   /* longest pause inside a body */
#define CAIRN_HTTP_IDLE_TIMEOUT_NS (120LL * 1000000000LL)  /* keep-alive idle (Loki's 2m) */
#define CAIRN_HTTP_MAX_CONNECTIONS 16384          /* all clients (clamped to the fd limit) */
#define CAIRN_HTTP_MAX_CONNECTIONS_PER_IP 1024    /* one client address */
#define CAIRN_HTTP_FD_RESERVE 1024                /* fds kept for the store (WAL, segments) */
#define CAIRN_HTTP_WORKERS_MIN 8                  /* handler threads: max(this, 2 x cores) */
#define CAIRN_HTTP_CONN_MEMORY (256u * 1024)      /* libmicrohttpd's per-connection pool
                                                   * (headers, read buffer; mapped, touched
                                                   * only as used): not the body */

/* The agent's journal source (src/ship/src_journal.c). Relabelling an entry's fields
 * is cached by the fields relabel_configs can see (unit, priority, ...): slots of a
 * direct-mapped cache, enough for the units of a busy host; field names whose
 * relevance is remembered (journals have a few dozen to a few hundred); fields read
 * from one entry at most (journald itself refuses more than 1024 per entry). */
#define CAIRN_JOURNAL_LABEL_CACHE 512
#define CAIRN_JOURNAL_FIELD_NAMES 4096
#define CAIRN_JOURNAL_MAX_FIELDS 1024

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

/* Object storage (issue 15). A one-OSD Ceph whose OSD is stuck accepts connections and
 * never answers: every request ends by these, and queries fail rather than hang. */
#define CAIRN_OBJSTORE_TIMEOUT_MS 10000           /* whole request (s3 timeout default) */
#define CAIRN_OBJSTORE_CONNECT_TIMEOUT_MS 3000    /* TCP (and TLS) connect */
#define CAIRN_OBJSTORE_MAX_RETRIES 2              /* after network errors and 5xx */
#define CAIRN_OBJSTORE_CACHE_SIZE (1024ull << 20) /* block cache, 1 GiB by default */
/* A read node lists the bucket again (new periods, new write nodes) at most this
 * often, on a query: a listing plus the new manifests per refresh, while the write
 * nodes still answer for what they uploaded meanwhile (docs/SCALING.md). */
#define CAIRN_BUCKET_REFRESH_NS (10ll * 1000000000)
/* A backend lists the bucket this often to apply retention to new periods: retention
 * works in whole periods (a day by default), a minute late is nothing. */
#define CAIRN_BUCKET_BACKEND_REFRESH_NS (60ll * 1000000000)
/* Uploads that failed wait this long before the next try, doubling up to the max:
 * a store that is down is not hammered, and one that is back is used within 30 s. */
#define CAIRN_UPLOAD_BACKOFF_MIN_NS (1LL * 1000000000LL)
#define CAIRN_UPLOAD_BACKOFF_MAX_NS (30LL * 1000000000LL)

/* Docker logging driver (src/docker). */
#define CAIRN_DOCKER_MAX_FRAME 1000000            /* LogEntry bytes: docker splits lines at
                                                   * 16 KiB, so a real message is far smaller
                                                   * and a longer prefix is corruption */
#define CAIRN_DOCKER_MAX_JOINED CAIRN_MAX_LINE_SIZE /* partial entries joined up to the
                                                   * store's default max_line_size; past it
                                                   * the joined part is sent as a line */
#define CAIRN_DOCKER_MAX_OPTS 64                  /* log-opts per container */

/* cairn canary: each list of timestamps it keeps (sent and not yet seen, missing and
 * being queried for, acknowledged, spot-checked) holds at most this many, 8 MiB each:
 * a day of lines at 10 per second. Past it the oldest is given up on (counted
 * missing) instead of memory growing while a store is down. */
#define CAIRN_CANARY_MAX_PENDING (1u << 20)
/* cairn canary -push: a batch waits a quarter of -interval, never less than this, so
 * the push client's sender does not wake every few microseconds at short intervals. */
#define CAIRN_CANARY_MIN_BATCH_WAIT_NS (5LL * 1000000LL)

/* The agent's syslog source (issue 13, src/ship/src_syslog*.c). */
#define CAIRN_SYSLOG_MAX_MESSAGE_LENGTH 8192      /* Promtail's max_message_length default */
#define CAIRN_SYSLOG_MESSAGE_LENGTH_CAP (1u << 20) /* largest accepted max_message_length:
                                                    * every connection buffers one message */
#define CAIRN_SYSLOG_MAX_CONNECTIONS 512          /* TCP connections per listener: at 8 KiB
                                                   * each, 4 MiB of buffers at most */
/* UDP: datagrams read but not yet parsed; past it a datagram is dropped and counted
 * (UDP has no back-pressure; a bounded queue keeps the agent's memory target). */
#define CAIRN_SYSLOG_UDP_QUEUE_BYTES (4u * 1024 * 1024)
#define CAIRN_SYSLOG_DNS_CACHE 256                /* reverse lookups remembered per listener */
/* relabel_configs results remembered per listener, by the labels rules read (host,
 * app, severity, ...): a few hundred senders and programs fit; more only cost misses */
#define CAIRN_SYSLOG_RELABEL_CACHE 1024
#define CAIRN_SYSLOG_DNS_TTL_NS (300LL * 1000000000LL) /* and for this long */

#endif
