/* push.h -- the one client for Loki-compatible push endpoints (used by `cairn ship`
 * and `cairn events`): batches entries per tenant by size and wait, encodes them as
 * snappy-compressed protobuf (logproto.PushRequest), and POSTs them from a background
 * thread over a keep-alive connection, retrying 429, 5xx and network errors with
 * exponential backoff. Other 4xx replies are logged with the server's message and the
 * batch is dropped (counted in the metrics).
 *
 * Ownership: cairn_push_create copies everything in the config (strings, external
 * labels); the caller may free its config afterwards. cairn_push_entry copies the
 * labels and the line before it returns. cairn_push_destroy flushes what is queued
 * (with the configured retries) and frees the client; destroy(NULL) is a no-op.
 *
 * Memory is bounded: once queue_limit bytes are waiting (open batches plus batches
 * queued or in flight), cairn_push_entry blocks until the sender has made room --
 * back-pressure on the producer instead of dropping lines.
 *
 * Thread safety: cairn_push_entry, _flush, _stats and _metrics_write may be called
 * from any number of threads concurrently. */
#ifndef CAIRN_PUSH_H
#define CAIRN_PUSH_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"
#include "cairn/error.h"
#include "cairn/labels.h"

/* Promtail's client defaults. */
#define CAIRN_PUSH_BATCH_WAIT_NS (1000LL * 1000000LL)       /* batchwait: 1s */
#define CAIRN_PUSH_BATCH_SIZE (1024u * 1024u)               /* batchsize: 1 MiB */
#define CAIRN_PUSH_TIMEOUT_NS (10LL * 1000000000LL)         /* timeout: 10s */
#define CAIRN_PUSH_MIN_BACKOFF_NS (500LL * 1000000LL)       /* min_period: 500ms */
#define CAIRN_PUSH_MAX_BACKOFF_NS (300LL * 1000000000LL)    /* max_period: 5m */
#define CAIRN_PUSH_MAX_RETRIES 10                           /* max_retries: 10 */
/* Bytes (lines plus per-entry overhead) held before producers block: a few batches,
 * enough to keep the sender busy, small enough for the agent's memory target. */
#define CAIRN_PUSH_QUEUE_LIMIT (4u * 1024u * 1024u)
/* After shutdown starts, how long undelivered batches are still retried. */
#define CAIRN_PUSH_DRAIN_TIMEOUT_NS (10LL * 1000000000LL)

enum cairn_push_protocol {
    CAIRN_PUSH_LOKI = 0, /* snappy(logproto.PushRequest) to /loki/api/v1/push */
    CAIRN_PUSH_OTLP = 1, /* OTLP/HTTP protobuf ExportLogsServiceRequest to .../v1/logs */
};

struct cairn_push_config {
    const char *url;               /* required: http(s)://host:port/loki/api/v1/push */
    enum cairn_push_protocol protocol; /* default loki */
    const char *tenant_id;         /* X-Scope-OrgID for entries without a tenant; NULL: none */
    int64_t batch_wait_ns;         /* 0: default */
    size_t batch_size;             /* bytes of line data per batch; 0: default */
    int64_t timeout_ns;            /* per request; 0: default */
    int64_t min_backoff_ns;        /* 0: default */
    int64_t max_backoff_ns;        /* 0: default */
    int max_retries;               /* <0: default; 0: no retries */
    size_t queue_limit;            /* 0: default */
    int64_t drain_timeout_ns;      /* retries after stop/interrupt end then; 0: default */
    const char *basic_auth_username;
    const char *basic_auth_password;
    const char *basic_auth_password_file; /* read once at create */
    const char *bearer_token;
    const char *bearer_token_file;        /* read once at create */
    const struct cairn_labels *external_labels; /* added to every stream; stream wins */
    const char *tls_ca_file;
    const char *tls_cert_file;
    const char *tls_key_file;
    int tls_insecure_skip_verify;
    const char *user_agent;        /* NULL: "cairn/<version>" */
};

/* Fill cfg with Promtail's defaults (url NULL). */
void cairn_push_config_default(struct cairn_push_config *cfg);

/* Start a client and its sender thread. NULL on failure, err says why (bad url,
 * unreadable token file, bad TLS option). */
struct cairn_push *cairn_push_create(const struct cairn_push_config *cfg, struct cairn_err *err);

/* Stop accepting entries, send everything queued (retrying as configured), stop the
 * thread and free the client. NULL is a no-op. */
void cairn_push_destroy(struct cairn_push *p);

/* Begin shutting down: entries are refused from now on (cairn_push_entry returns
 * CAIRN_EAGAIN, also to a producer blocked on a full queue, within 100 ms), and
 * retries end drain_timeout later. Async-signal-safe (one atomic store). */
void cairn_push_interrupt(struct cairn_push *p);

/* Queue one entry for the stream `labels` (must be sorted) of `tenant` (NULL: the
 * configured tenant_id). Blocks while the queue is full. Returns 0, CAIRN_EAGAIN if
 * the client is shutting down, CAIRN_ENOMEM. No allocation in steady state. */
int cairn_push_entry(struct cairn_push *p, const char *tenant, const struct cairn_labels *labels,
                     int64_t ts_ns, const char *line, size_t len);
/* The same with the entry's structured metadata sm[0..sm_len) (a cairn/smeta.h blob,
 * copied; NULL/0: none): sent as EntryAdapter.structuredMetadata (protobuf) or as the
 * LogRecord's attributes (OTLP). */
int cairn_push_entry_sm(struct cairn_push *p, const char *tenant, const struct cairn_labels *labels,
                        int64_t ts_ns, const char *line, size_t len, const char *sm, size_t sm_len);

/* The same, with the stream given in its canonical text form `{a="b", c="d"}`
 * (sorted, as cairn_labels_format prints it). External labels are not merged here:
 * use cairn_push_entry for that. */
int cairn_push_entry_str(struct cairn_push *p, const char *tenant, const char *labels,
                         size_t labels_len, int64_t ts_ns, const char *line, size_t len);

/* Send every open batch now and wait until all entries queued before the call are
 * sent or dropped. Returns 0; CAIRN_EAGAIN if some were not delivered because the
 * client was shutting down (the caller should not record them as sent); CAIRN_EIO if
 * some were dropped for good (refused by the server, out of retries) since the last
 * flush. */
int cairn_push_flush(struct cairn_push *p);

/* Counters (monotonic since create). */
struct cairn_push_stats {
    uint64_t sent_entries, sent_bytes;       /* line bytes acknowledged by the server */
    uint64_t dropped_entries, dropped_bytes; /* refused (4xx) or out of retries */
    uint64_t encoded_bytes;                  /* compressed request bodies sent */
    uint64_t requests, retries;              /* HTTP requests made; of those, retries */
    uint64_t batches_sent, batches_dropped;
    uint64_t queued_bytes;                   /* gauge: bytes waiting right now */
};
void cairn_push_stats(struct cairn_push *p, struct cairn_push_stats *out);

/* Append the client's metrics in Prometheus text format, named like Promtail's
 * (<prefix>_sent_entries_total, _sent_bytes_total, _dropped_entries_total{reason},
 * _dropped_bytes_total{reason}, _encoded_bytes_total, _batch_retries_total,
 * _request_duration_seconds histogram by status_code), each with host="<host:port>".
 * prefix e.g. "promtail" or "cairn_events". Returns 0 or CAIRN_ENOMEM. */
int cairn_push_metrics_write(struct cairn_push *p, const char *prefix, struct cairn_buf *out);

/* One request body in this client's encoding, for senders other than the batching
 * client (a write node forwarding streams to their owners, a write node answering a
 * read node with raw entries): entries grouped by stream, snappy(protobuf
 * PushRequest), exactly what cairn_push sends. The body owns copies of what is added;
 * reset keeps its allocations. Not thread-safe: one body per thread. */
struct cairn_push_body;
struct cairn_push_body *cairn_push_body_create(void);
void cairn_push_body_destroy(struct cairn_push_body *b); /* NULL: no-op */
void cairn_push_body_reset(struct cairn_push_body *b);
/* Add one entry of the stream whose canonical label text is labels. 0 or CAIRN_ENOMEM
 * (the body unchanged). */
int cairn_push_body_add(struct cairn_push_body *b, const char *labels, size_t labels_len,
                        int64_t ts_ns, const char *line, size_t len);
/* Entries and line bytes added since the last reset. */
size_t cairn_push_body_entries(const struct cairn_push_body *b);
size_t cairn_push_body_line_bytes(const struct cairn_push_body *b);
/* Encode; *data (owned by b, valid until the next add, reset or destroy) and *len.
 * 0, CAIRN_ENOMEM or CAIRN_EIO. */
int cairn_push_body_encode(struct cairn_push_body *b, const char **data, size_t *len);

#endif
