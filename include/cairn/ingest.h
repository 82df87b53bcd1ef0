/* ingest.h -- decoding Loki push bodies, shared by the store's push endpoint (api)
 * and the agent's push relay (ship's loki_push_api source): a reusable per-connection
 * batch, the body decoders (JSON, gzip, protobuf+snappy) that fill it with their caps,
 * and Loki's validation. No server state: the caller owns the batch and the limits.
 *
 * Threads: a batch is used by one thread at a time; the decoding budget
 * (cairn_ingest_charge) is the only thing shared, through an atomic counter.
 *
 * Ownership: a cairn_ingest_batch owns every buffer it holds and keeps them across
 * requests (reset, not freed), so a keep-alive pusher decodes without allocating once
 * the buffers have grown to its batch size. Decoded lines and labels point into the
 * batch's body, decompression or unescape buffer: valid until the next reset. */
#ifndef CAIRN_INGEST_H
#define CAIRN_INGEST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"
#include "cairn/error.h"
#include "cairn/labels.h"
#include "cairn/limits.h"
#include "cairn/store.h"

/* What decoding and validation check, Loki's limits_config names in the comments (the
 * api fills it from its cairn_api_limits; the relay from limits.h defaults). */
struct cairn_ingest_limits {
    unsigned max_label_names;      /* max_label_names_per_series */
    unsigned max_label_name_len;   /* max_label_name_length */
    unsigned max_label_value_len;  /* max_label_value_length */
    size_t max_line_size;          /* max_line_size; 0: unlimited */
    int allow_structured_metadata; /* allow_structured_metadata */
    size_t max_sm_size;            /* max_structured_metadata_size; 0: unlimited */
    size_t max_sm_entries;         /* max_structured_metadata_entries_count; 0: unlimited */
    int reject_old_samples;        /* reject_old_samples */
    int64_t reject_old_max_age_ns; /* reject_old_samples_max_age */
    int64_t creation_grace_ns;     /* creation_grace_period */
    size_t max_push_decoded;       /* decompressed body size limit, 413 past it */
};
/* Loki's defaults (limits.h), as cairn serve has them unconfigured. */
void cairn_ingest_limits_default(struct cairn_ingest_limits *l);

/* Loki's limits_config.otlp_config: how OTLP attributes map (docs/API.md "OTLP"). A
 * rule gives its action to the attributes it names or whose name its regex matches
 * whole; rules are tried in order, the first that matches wins; Loki's default index
 * labels come first for resource attributes unless ignore_defaults. Unmatched
 * attributes are structured metadata. index_label is for resource attributes only. */
enum cairn_otlp_action {
    CAIRN_OTLP_INDEX_LABEL = 0,
    CAIRN_OTLP_STRUCTURED_METADATA = 1,
    CAIRN_OTLP_DROP = 2,
};
struct cairn_otlp_rule {
    enum cairn_otlp_action action;
    const char *const *attributes;
    size_t n_attributes;
    const char *regex; /* NULL or "": none */
};
struct cairn_otlp_config {
    int ignore_defaults; /* resource_attributes.ignore_defaults */
    const struct cairn_otlp_rule *resource, *scope, *log; /* attributes_config, ... */
    size_t n_resource, n_scope, n_log;
};
/* The config compiled (otlp_rules.c), shared by every push thread (its regexes behind
 * a mutex). 0 and *out (NULL for a config with nothing to say: Loki's defaults), or
 * CAIRN_EINVAL with err naming the bad rule (a regex, index_label outside resource
 * attributes), CAIRN_ENOMEM. The config is copied. */
struct cairn_ingest_otlp_rules;
int cairn_ingest_otlp_rules_create(const struct cairn_otlp_config *cfg,
                                   struct cairn_ingest_otlp_rules **out, struct cairn_err *err);
void cairn_ingest_otlp_rules_destroy(struct cairn_ingest_otlp_rules *r);

/* A connection's cache of parsed label texts (lcache.c): text -> validated set
 * and fingerprint. Entries are heap copies owned by the cache; bounded in number,
 * bytes and text size, emptied whole when full or when the label limits it was
 * validated under change. */
#define CAIRN_INGEST_LCACHE_MAX 4096
#define CAIRN_INGEST_LCACHE_MAX_BYTES (1u << 20)
#define CAIRN_INGEST_LCACHE_MAX_TEXT 1024
struct cairn_ingest_lcache {
    struct cairn_ingest_lcache_ent **slot; /* 2 * CAIRN_INGEST_LCACHE_MAX, NULL until first use */
    size_t used, bytes;
    size_t lim[3]; /* max label names, name length, value length of the cached sets */
};
void cairn_ingest_lcache_init(struct cairn_ingest_lcache *c);
void cairn_ingest_lcache_deinit(struct cairn_ingest_lcache *c);
/* Empty the cache if its sets were validated under other limits than lim's. */
void cairn_ingest_lcache_limits(struct cairn_ingest_lcache *c, const struct cairn_ingest_limits *lim);
uint64_t cairn_ingest_lcache_hash(const char *text, size_t len);
/* 1 and ls, *fp filled if text (with hash h) is cached, else 0. */
int cairn_ingest_lcache_get(const struct cairn_ingest_lcache *c, const char *text, size_t len, uint64_t h,
                      struct cairn_labels *ls, uint64_t *fp);
/* Remember a set that passed validation (silently nothing when out of memory). */
void cairn_ingest_lcache_put(struct cairn_ingest_lcache *c, const char *text, size_t len, uint64_t h,
                       const struct cairn_labels *ls, uint64_t fp);

/* What one request holds of the bytes all requests together may keep in
 * decompression buffers (a counter the api owns, so N concurrent bombs cost that
 * budget, not N times the cap). Lock-free; released whole when the request ends. */
struct cairn_ingest_charge {
    _Atomic size_t *used; /* the shared counter; NULL: nothing is charged */
    size_t max;           /* the budget (0: none) */
    size_t held;          /* this request's part of *used */
};
/* Take n more bytes for c: 0, or CAIRN_EAGAIN (nothing taken) past the budget. */
int cairn_ingest_charge_take(struct cairn_ingest_charge *c, size_t n);
/* Make room for n more bytes (and the NUL) in out, growing it to exactly that and
 * charging the growth to ch (NULL: none). 0, CAIRN_EAGAIN or CAIRN_ENOMEM. */
int cairn_ingest_reserve(struct cairn_buf *out, size_t n, struct cairn_ingest_charge *ch);
/* Give back everything c holds. */
void cairn_ingest_charge_release(struct cairn_ingest_charge *c);

/* An entry's structured metadata: [off, off + len) of the batch's smb; len 0: none. */
struct cairn_ingest_esm {
    size_t off, len;
};

/* Per-stream state of one decoded push. */
struct cairn_ingest_bstream {
    size_t first, n;  /* entries slice in batch->e */
    size_t bytes;     /* line bytes of the (valid) entries */
    int bad;          /* labels invalid: skip the stream (message already recorded) */
    int status;       /* 0, or the HTTP status this stream failed with */
    uint64_t fp;      /* fingerprint, set by validation unless fp_set */
    int fp_set;       /* fp already known (from the label cache) */
    const char *ltext; /* protobuf: the labels text as sent (a view), else NULL */
    size_t ltext_len;
};

/* Caps on how much of a failure the reply spells out. */
#define CAIRN_PUSH_MAX_ERROR_LINES 16

struct cairn_ingest_batch {
    struct cairn_labels *labels; /* pool: labels[i] for stream i */
    size_t labels_cap;           /* how many of the pool are initialised */
    struct cairn_ingest_bstream *s;
    size_t n, cap;
    struct cairn_entry *e;
    size_t ne, ecap;
    struct cairn_push_stream *ps; /* what goes to cairn_store_append */
    size_t ps_cap;
    struct cairn_buf body;   /* request body as received */
    struct cairn_buf dec;    /* decompressed body */
    struct cairn_ingest_charge charge; /* decompression bytes this request holds */
    struct cairn_buf unesc;  /* JSON strings that needed unescaping */
    struct cairn_buf fix;    /* JSON lines with invalid UTF-8, repaired (U+FFFD) */
    struct cairn_buf lfix;   /* a label name and value (JSON) or text (message), repaired */
    int bad_utf8;            /* some decoded JSON line is not valid UTF-8 */
    struct cairn_ingest_lcache lcache; /* label texts this connection has sent before */
    struct cairn_buf smb;    /* structured metadata of the entries (smeta blobs) */
    struct cairn_ingest_esm *esm; /* esm[i]: entry i's blob in smb (parallel to e, ecap) */
    struct cairn_sm_ref *smref; /* the same as pointers, for the store (cairn_ingest_sm_refs) */
    size_t smref_cap;
    int has_sm;              /* some valid entry carries structured metadata */
    struct cairn_buf otlp;   /* OTLP decoding scratch (names, rendered values) */
    struct cairn_buf otlp_lines; /* OTLP bodies rendered as JSON */
    void *otlp_doc;          /* OTLP JSON: the parsed document lines point into */
    struct cairn_buf msg;    /* error reply text, one message per line */
    struct cairn_buf tmp;    /* scratch for formatting labels */
    size_t n_errors;         /* messages seen (only the first few are in msg) */
    int status;              /* worst status so far: 0, 400 or 429 */
};

void cairn_ingest_batch_init(struct cairn_ingest_batch *b);
void cairn_ingest_batch_deinit(struct cairn_ingest_batch *b);
/* Empty the batch for the next request (keeps allocations). */
void cairn_ingest_batch_reset(struct cairn_ingest_batch *b);
/* After a request: free b's biggest buffers until what it keeps cached for the
 * next request is at most keep bytes in all (CAIRN_PUSH_KEEP_BYTES, limits.h). */
void cairn_ingest_batch_trim(struct cairn_ingest_batch *b, size_t keep);
/* Start a new stream; returns its index or a negative CAIRN_ENOMEM. Its labels are
 * reset and empty; entries appended next belong to it. */
int cairn_ingest_batch_stream(struct cairn_ingest_batch *b);
/* Append one entry to the newest stream. */
int cairn_ingest_batch_entry(struct cairn_ingest_batch *b, int64_t ts, const char *line, size_t len);
/* Structured metadata of the next entry: mark where it starts (the current end of
 * b->smb), append its pairs with cairn_smeta_append(&b->smb, ...), then add the entry
 * with cairn_ingest_batch_entry_sm(b, ..., mark): entry i's are b->esm[i]. */
static inline size_t cairn_ingest_sm_mark(const struct cairn_ingest_batch *b)
{
    return b->smb.len;
}
int cairn_ingest_batch_entry_sm(struct cairn_ingest_batch *b, int64_t ts, const char *line,
                                size_t len, size_t mark);
/* After validation: point b->smref[i] at entry i's metadata for the store and set
 * b->has_sm. 0 or CAIRN_ENOMEM. */
int cairn_ingest_sm_refs(struct cairn_ingest_batch *b);
/* Record a failure message with its HTTP status (400 or 429); keeps the first few. */
void cairn_ingest_fail(struct cairn_ingest_batch *b, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The canonical text of stream i's labels (into b->tmp), for messages. */
const char *cairn_ingest_stream_text(struct cairn_ingest_batch *b, size_t i);

/* Decoders. Each fills b with streams and entries. A body that cannot be decoded at
 * all returns CAIRN_EINVAL with err saying where (the caller answers 400); bad label
 * sets only mark their stream bad (with a recorded message) and decoding goes on.
 * Lines point into p (or into the batch), so p must live as long as the batch's
 * contents. */
int cairn_ingest_decode_json(struct cairn_ingest_batch *b, const char *p, size_t len,
                            const struct cairn_ingest_limits *lim, struct cairn_err *err);
int cairn_ingest_decode_pb(struct cairn_ingest_batch *b, const char *p, size_t len,
                          const struct cairn_ingest_limits *lim, struct cairn_err *err);
/* Why id (an X-Scope-OrgID) is not a valid tenant ID, as a static message, or NULL
 * when it is (Loki's rules: 1..150 bytes of [A-Za-z0-9!-_.*'()], not "." or "..";
 * so no NUL, '/', or the '|' of Loki's multi-tenant queries). */
const char *cairn_ingest_tenant_problem(const char *id, size_t len);

/* Decode b->body (appended by the caller) as an HTTP push: Content-Encoding gzip or
 * none, then JSON or protobuf+snappy by Content-Type (NULL: none), sniffed as Loki
 * does when unsaid. 0; or a negative error with err saying what and *status the HTTP
 * answer: 400 malformed, 413 past lim->max_push_decoded, 415 unknown encoding, 503
 * decoding budget full (retry), 500 out of memory. Bad label sets only mark their
 * stream (as the decoders below). */
int cairn_ingest_decode_body(struct cairn_ingest_batch *b, const char *ctype, const char *cenc,
                             const struct cairn_ingest_limits *lim, int *status,
                             struct cairn_err *err);

/* OTLP logs (ExportLogsServiceRequest), protobuf (otlp_pb.c) or JSON (otlp_json.c),
 * mapped into streams and entries as Loki 3's otlp_config maps them (otlp_map.c,
 * docs/API.md "OTLP"; rules NULL: Loki's default). Same contract as the decoders
 * above; _body takes the HTTP body as cairn_ingest_decode_body does (gzip or none,
 * protobuf unless Content-Type says JSON; 415 for another type). */
int cairn_ingest_decode_otlp_pb(struct cairn_ingest_batch *b, const char *p, size_t len,
                                const struct cairn_ingest_limits *lim,
                                struct cairn_ingest_otlp_rules *rules, struct cairn_err *err);
int cairn_ingest_decode_otlp_json(struct cairn_ingest_batch *b, const char *p, size_t len,
                                  const struct cairn_ingest_limits *lim,
                                  struct cairn_ingest_otlp_rules *rules, struct cairn_err *err);
int cairn_ingest_decode_otlp_body(struct cairn_ingest_batch *b, const char *ctype,
                                  const char *cenc, const struct cairn_ingest_limits *lim,
                                  struct cairn_ingest_otlp_rules *rules, int *status,
                                  struct cairn_err *err);
/* Decompress into out (reset first; its allocation is reused, and grown only as
 * output arrives, never past max + 2 bytes). Growth beyond out's capacity on entry is
 * charged to ch (NULL: no budget). CAIRN_ELIMIT (err set, Loki's 413 wording) past
 * max bytes; CAIRN_EAGAIN when the budget has no room (answer 503, retry later);
 * CAIRN_EINVAL for a corrupt stream (a snappy length the data does not yield is
 * found before allocating); CAIRN_ENOMEM. */
int cairn_ingest_gunzip(const char *p, size_t len, size_t max, struct cairn_buf *out,
                  struct cairn_ingest_charge *ch, struct cairn_err *err);
int cairn_ingest_unsnappy(const char *p, size_t len, size_t max, struct cairn_buf *out,
                    struct cairn_ingest_charge *ch, struct cairn_err *err);

/* Replace invalid UTF-8 in the batch's lines by U+FFFD (into b->fix, charged to
 * b->charge), as Loki's JSON decoding does; only when b->bad_utf8 is set. 0;
 * CAIRN_ELIMIT when the repaired lines would pass max bytes (each bad byte grows to
 * three); CAIRN_EAGAIN (budget full) or CAIRN_ENOMEM. */
int cairn_ingest_fix_utf8(struct cairn_ingest_batch *b, size_t max);

/* Parse Loki's label text `{a="b"}` into stream i's set and check it; a bad set marks
 * the stream bad with Loki's message. Invalid UTF-8 in the text is refused, as Loki's
 * parser (Prometheus' lexer) refuses it. */
void cairn_ingest_stream_labels(struct cairn_ingest_batch *b, size_t i, const char *text,
                                 size_t len, const struct cairn_ingest_limits *lim);
/* Check stream i's (already parsed) labels against the limits. */
void cairn_ingest_labels_check(struct cairn_ingest_batch *b, size_t i,
                              const struct cairn_ingest_limits *lim);

/* Per-entry validation (line size, too old, too new), in place: drops bad entries,
 * records their messages, sets each stream's bytes and fingerprint. Returns the
 * number of valid entries; *bytes gets their line bytes. */
size_t cairn_ingest_validate(struct cairn_ingest_batch *b, const struct cairn_ingest_limits *lim,
                            int64_t now_ns, size_t *bytes);

#endif
