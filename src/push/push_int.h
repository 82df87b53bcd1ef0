/* push_int.h -- the push client's internal layout: batches, the HTTP sender, metrics.
 *
 * Ownership: a batch owns its line bytes, stream label strings and encoding scratch;
 * batches are recycled through the client's free list, so steady-state sending
 * allocates nothing. The sender owns one curl handle (keep-alive). */
#ifndef CAIRN_PUSH_INT_H
#define CAIRN_PUSH_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"
#include "cairn/push.h"

/* Per-entry bookkeeping counted against queue_limit besides the line itself. */
#define CAIRN__PUSH_ENTRY_OVERHEAD 32
#define CAIRN__PUSH_TENANT_MAX 256

struct cairn__push_entry {
    uint32_t stream; /* index into batch->streams */
    uint32_t len;
    size_t off;      /* into batch->lines */
    int64_t ts;
    size_t sm_off;   /* structured metadata: an smeta blob in batch->sm */
    uint32_t sm_len; /* 0: none */
};

struct cairn__push_stream {
    uint64_t hash;
    size_t label_off; /* into batch->labels, NUL-terminated */
    size_t label_len;
    uint32_t n;       /* entries of this stream (filled at encode) */
};

struct cairn__push_batch {
    struct cairn__push_batch *next;
    char tenant[CAIRN__PUSH_TENANT_MAX]; /* "" : no X-Scope-OrgID */
    int64_t created_ns;                  /* monotonic, for batchwait */
    size_t line_bytes;                   /* counted against batchsize */
    size_t cost;                         /* counted against queue_limit */
    struct cairn_buf lines;
    struct cairn_buf sm;     /* the entries' structured metadata (smeta blobs) */
    struct cairn_buf labels;
    struct cairn__push_entry *entries;
    size_t n_entries, cap_entries;
    struct cairn__push_stream *streams;
    size_t n_streams, cap_streams;
    uint32_t *slots; /* open addressing: stream index + 1, 0 empty */
    size_t n_slots;
    /* encode scratch, reused */
    struct cairn_buf pb, body;
    struct cairn_buf smstr; /* metadata names and values, NUL-terminated, for protobuf-c */
    void *enc;       /* encode arrays (see batch.c) */
    size_t enc_cap;
};

void cairn__pushc_batch_reset(struct cairn__push_batch *b, const char *tenant, int64_t now);
void cairn__pushc_batch_free(struct cairn__push_batch *b);
/* Add one entry; labels is the canonical text form, sm[0..sm_len) its structured
 * metadata (an smeta blob, copied; NULL/0: none). 0 or CAIRN_ENOMEM (batch unchanged). */
int cairn__pushc_batch_add(struct cairn__push_batch *b, const char *labels, size_t labels_len,
                          int64_t ts, const char *line, size_t len, const char *sm, size_t sm_len);
/* Encode as snappy(protobuf PushRequest) into b->body. 0 or CAIRN_ENOMEM/EIO. */
int cairn__pushc_batch_encode(struct cairn__push_batch *b);
/* Encode as an OTLP ExportLogsServiceRequest (protobuf, uncompressed) into b->body
 * (otlp.c): one ResourceLogs per stream, its labels as string resource attributes
 * (a label of Loki's default index list, like service_name, under its OTLP name
 * service.name), each entry a LogRecord with time_unix_nano, a string body and its
 * structured metadata as string attributes.
 * 0 or CAIRN_ENOMEM/CAIRN_EINVAL (a stream's label text does not parse). */
int cairn__pushc_batch_encode_otlp(struct cairn__push_batch *b);

/* HTTP side: one request. Returns the HTTP status, or 0 for a network error (msg says
 * which); msg receives up to cap bytes of the server's reply or curl's error. */
struct cairn__push_http;
struct cairn__push_http *cairn__pushc_http_create(const struct cairn_push_config *cfg,
                                                 const char *bearer, const char *password,
                                                 struct cairn_err *err);
void cairn__pushc_http_destroy(struct cairn__push_http *h);
long cairn__pushc_http_post(struct cairn__push_http *h, const char *tenant, const char *body,
                           size_t len, char *msg, size_t cap);

/* Request-duration histogram per status code. */
#define CAIRN__PUSH_STATUS_SLOTS 8
#define CAIRN__PUSH_BUCKETS 11
struct cairn__push_hist {
    long status; /* -1: unused slot */
    uint64_t buckets[CAIRN__PUSH_BUCKETS];
    uint64_t count;
    double sum;
};

struct cairn__push_metrics {
    struct cairn_push_stats s;
    uint64_t dropped_entries_4xx, dropped_bytes_4xx;
    uint64_t dropped_entries_retries, dropped_bytes_retries;
    struct cairn__push_hist hist[CAIRN__PUSH_STATUS_SLOTS];
};
void cairn__pushc_metrics_observe(struct cairn__push_metrics *m, long status, double secs);
int cairn__pushc_metrics_format(const struct cairn__push_metrics *m, const char *prefix,
                               const char *host, struct cairn_buf *out);

#endif
