/* push.h -- the push pipeline inside the api module: a reusable per-connection batch,
 * the body decoders (JSON, gzip, protobuf+snappy) that fill it, and validation.
 *
 * Ownership: a cairn__ingest_batch owns every buffer it holds and keeps them across
 * requests (reset, not freed), so a keep-alive pusher decodes without allocating once
 * the buffers have grown to its batch size. Decoded lines and labels point into the
 * batch's body, decompression or unescape buffer: valid until the next reset. */
#ifndef CAIRN_API_PUSH_H
#define CAIRN_API_PUSH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/api.h"
#include "cairn/buf.h"
#include "cairn/error.h"
#include "cairn/labels.h"
#include "cairn/limits.h"
#include "cairn/store.h"

/* A connection's cache of parsed label texts (push_lcache.c): text -> validated set
 * and fingerprint. Entries are heap copies owned by the cache; bounded in number,
 * bytes and text size, emptied whole when full or when the label limits it was
 * validated under change. */
#define CAIRN__LCACHE_MAX 4096
#define CAIRN__LCACHE_MAX_BYTES (1u << 20)
#define CAIRN__LCACHE_MAX_TEXT 1024
struct cairn__lcache {
    struct cairn__lcache_ent **slot; /* 2 * CAIRN__LCACHE_MAX, NULL until first use */
    size_t used, bytes;
    size_t lim[3]; /* max label names, name length, value length of the cached sets */
};
void cairn__lcache_init(struct cairn__lcache *c);
void cairn__lcache_deinit(struct cairn__lcache *c);
/* Empty the cache if its sets were validated under other limits than lim's. */
void cairn__lcache_limits(struct cairn__lcache *c, const struct cairn_api_limits *lim);
uint64_t cairn__lcache_hash(const char *text, size_t len);
/* 1 and ls, *fp filled if text (with hash h) is cached, else 0. */
int cairn__lcache_get(const struct cairn__lcache *c, const char *text, size_t len, uint64_t h,
                      struct cairn_labels *ls, uint64_t *fp);
/* Remember a set that passed validation (silently nothing when out of memory). */
void cairn__lcache_put(struct cairn__lcache *c, const char *text, size_t len, uint64_t h,
                       const struct cairn_labels *ls, uint64_t fp);

/* What one request holds of the bytes all requests together may keep in
 * decompression buffers (a counter the api owns, so N concurrent bombs cost that
 * budget, not N times the cap). Lock-free; released whole when the request ends. */
struct cairn__decode_charge {
    _Atomic size_t *used; /* the shared counter; NULL: nothing is charged */
    size_t max;           /* the budget (0: none) */
    size_t held;          /* this request's part of *used */
};
/* Take n more bytes for c: 0, or CAIRN_EAGAIN (nothing taken) past the budget. */
int cairn__decode_charge_take(struct cairn__decode_charge *c, size_t n);
/* Make room for n more bytes (and the NUL) in out, growing it to exactly that and
 * charging the growth to ch (NULL: none). 0, CAIRN_EAGAIN or CAIRN_ENOMEM. */
int cairn__decode_reserve(struct cairn_buf *out, size_t n, struct cairn__decode_charge *ch);
/* Give back everything c holds. */
void cairn__decode_charge_release(struct cairn__decode_charge *c);

/* An entry's structured metadata: [off, off + len) of the batch's smb; len 0: none. */
struct cairn__esm {
    size_t off, len;
};

/* Per-stream state of one decoded push. */
struct cairn__bstream {
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

struct cairn__ingest_batch {
    struct cairn_labels *labels; /* pool: labels[i] for stream i */
    size_t labels_cap;           /* how many of the pool are initialised */
    struct cairn__bstream *s;
    size_t n, cap;
    struct cairn_entry *e;
    size_t ne, ecap;
    struct cairn_push_stream *ps; /* what goes to cairn_store_append */
    size_t ps_cap;
    struct cairn_buf body;   /* request body as received */
    struct cairn_buf dec;    /* decompressed body */
    struct cairn__decode_charge charge; /* decompression bytes this request holds */
    struct cairn_buf unesc;  /* JSON strings that needed unescaping */
    struct cairn_buf fix;    /* JSON lines with invalid UTF-8, repaired (U+FFFD) */
    struct cairn_buf lfix;   /* a label name and value (JSON) or text (message), repaired */
    int bad_utf8;            /* some decoded JSON line is not valid UTF-8 */
    struct cairn__lcache lcache; /* label texts this connection has sent before */
    struct cairn_buf smb;    /* structured metadata of the entries (smeta blobs) */
    struct cairn__esm *esm;  /* esm[i]: entry i's blob in smb (parallel to e, ecap) */
    struct cairn_sm_ref *smref; /* the same as pointers, for the store (cairn__ingest_sm_refs) */
    size_t smref_cap;
    int has_sm;              /* some valid entry carries structured metadata */
    struct cairn_buf otlp;   /* OTLP decoding scratch (names, rendered values) */
    struct cairn_buf otlp_lines; /* OTLP bodies rendered as JSON (reserved once) */
    void *otlp_doc;          /* OTLP JSON: the parsed document lines point into */
    struct cairn_buf msg;    /* error reply text, one message per line */
    struct cairn_buf tmp;    /* scratch for formatting labels */
    size_t n_errors;         /* messages seen (only the first few are in msg) */
    int status;              /* worst status so far: 0, 400 or 429 */
};

void cairn__ingest_batch_init(struct cairn__ingest_batch *b);
void cairn__ingest_batch_deinit(struct cairn__ingest_batch *b);
/* Empty the batch for the next request (keeps allocations). */
void cairn__ingest_batch_reset(struct cairn__ingest_batch *b);
/* After a request: free b's biggest buffers until what it keeps cached for the
 * next request is at most keep bytes in all (CAIRN_PUSH_KEEP_BYTES, limits.h). */
void cairn__ingest_batch_trim(struct cairn__ingest_batch *b, size_t keep);
/* Start a new stream; returns its index or a negative CAIRN_ENOMEM. Its labels are
 * reset and empty; entries appended next belong to it. */
int cairn__ingest_batch_stream(struct cairn__ingest_batch *b);
/* Append one entry to the newest stream. */
int cairn__ingest_batch_entry(struct cairn__ingest_batch *b, int64_t ts, const char *line, size_t len);
/* Structured metadata of the next entry: mark where it starts (the current end of
 * b->smb), append its pairs with cairn_smeta_append(&b->smb, ...), then add the entry
 * with cairn__ingest_batch_entry_sm(b, ..., mark): entry i's are b->esm[i]. */
static inline size_t cairn__ingest_sm_mark(const struct cairn__ingest_batch *b)
{
    return b->smb.len;
}
int cairn__ingest_batch_entry_sm(struct cairn__ingest_batch *b, int64_t ts, const char *line,
                                 size_t len, size_t mark);
/* After validation: point b->smref[i] at entry i's metadata for the store and set
 * b->has_sm. 0 or CAIRN_ENOMEM. */
int cairn__ingest_sm_refs(struct cairn__ingest_batch *b);
/* Record a failure message with its HTTP status (400 or 429); keeps the first few. */
void cairn__ingest_fail(struct cairn__ingest_batch *b, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The canonical text of stream i's labels (into b->tmp), for messages. */
const char *cairn__ingest_stream_text(struct cairn__ingest_batch *b, size_t i);

/* Decoders. Each fills b with streams and entries. A body that cannot be decoded at
 * all returns CAIRN_EINVAL with err saying where (the caller answers 400); bad label
 * sets only mark their stream bad (with a recorded message) and decoding goes on.
 * Lines point into p (or into the batch), so p must live as long as the batch's
 * contents. */
int cairn__ingest_decode_json(struct cairn__ingest_batch *b, const char *p, size_t len,
                            const struct cairn_api_limits *lim, struct cairn_err *err);
int cairn__ingest_decode_pb(struct cairn__ingest_batch *b, const char *p, size_t len,
                          const struct cairn_api_limits *lim, struct cairn_err *err);
/* OTLP logs (ExportLogsServiceRequest), protobuf (otlp_pb.c) or JSON (otlp_json.c),
 * mapped into streams and entries as Loki 3's default otlp_config maps them
 * (otlp_map.c, docs/API.md "OTLP"). Same contract as the decoders above. */
struct cairn__otlp_rules; /* otlp.h; NULL: Loki's default otlp_config */
int cairn__ingest_decode_otlp_pb(struct cairn__ingest_batch *b, const char *p, size_t len,
                                 const struct cairn_api_limits *lim,
                                 struct cairn__otlp_rules *rules, struct cairn_err *err);
int cairn__ingest_decode_otlp_json(struct cairn__ingest_batch *b, const char *p, size_t len,
                                   const struct cairn_api_limits *lim,
                                   struct cairn__otlp_rules *rules, struct cairn_err *err);
/* Decompress into out (reset first; its allocation is reused, and grown only as
 * output arrives, never past max + 2 bytes). Growth beyond out's capacity on entry is
 * charged to ch (NULL: no budget). CAIRN_ELIMIT (err set, Loki's 413 wording) past
 * max bytes; CAIRN_EAGAIN when the budget has no room (answer 503, retry later);
 * CAIRN_EINVAL for a corrupt stream (a snappy length the data does not yield is
 * found before allocating); CAIRN_ENOMEM. */
int cairn__gunzip(const char *p, size_t len, size_t max, struct cairn_buf *out,
                  struct cairn__decode_charge *ch, struct cairn_err *err);
int cairn__unsnappy(const char *p, size_t len, size_t max, struct cairn_buf *out,
                    struct cairn__decode_charge *ch, struct cairn_err *err);

/* Replace invalid UTF-8 in the batch's lines by U+FFFD (into b->fix, charged to
 * b->charge), as Loki's JSON decoding does; only when b->bad_utf8 is set. 0;
 * CAIRN_ELIMIT when the repaired lines would pass max bytes (each bad byte grows to
 * three); CAIRN_EAGAIN (budget full) or CAIRN_ENOMEM. */
int cairn__ingest_fix_utf8(struct cairn__ingest_batch *b, size_t max);

/* Parse Loki's label text `{a="b"}` into stream i's set and check it; a bad set marks
 * the stream bad with Loki's message. Invalid UTF-8 in the text is refused, as Loki's
 * parser (Prometheus' lexer) refuses it. */
void cairn__ingest_stream_labels(struct cairn__ingest_batch *b, size_t i, const char *text,
                                 size_t len, const struct cairn_api_limits *lim);
/* Check stream i's (already parsed) labels against the limits. */
void cairn__ingest_labels_check(struct cairn__ingest_batch *b, size_t i,
                              const struct cairn_api_limits *lim);

/* Per-entry validation (line size, too old, too new), in place: drops bad entries,
 * records their messages, sets each stream's bytes and fingerprint. Returns the
 * number of valid entries; *bytes gets their line bytes. */
size_t cairn__ingest_validate(struct cairn__ingest_batch *b, const struct cairn_api_limits *lim,
                            int64_t now_ns, size_t *bytes);

#endif
