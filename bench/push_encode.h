/* push_encode.h -- bench_push's batch encoder: a run of corpus entries to one Loki
 * PushRequest body, protobuf+snappy (with protobuf-c) or JSON.
 *
 * JSON may be gzipped, as Loki accepts with Content-Encoding: gzip.
 *
 * Header-only (each bench/NAME.c is its own program). Ownership: an encoder owns its
 * scratch, reused for every batch so that steady state allocates only when a batch
 * needs more room than any before it; the body it produces (e->out) is valid until the
 * next encode, or detached by the caller. The source (enc_src) is borrowed. */
#ifndef CAIRN_BENCH_PUSH_ENCODE_H
#define CAIRN_BENCH_PUSH_ENCODE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>
#include <zlib.h>

#include "cairn/buf.h"
#include "corpus.h"
#include "push.pb-c.h"

/* What the encoder reads: the corpus and each stream's labels in both forms. */
struct enc_src {
    const struct corpus_map *m;
    char *const *labels;             /* per stream, `{a="b"}`, NUL-terminated */
    char *const *json_stream;        /* per stream, `{"a":"b"}` (JSON only) */
    const size_t *json_stream_len;
    int64_t shift_ns;                /* added to every timestamp */
    uint32_t nshards;                /* streams are split over shards by index % nshards */
    int json;                        /* encode JSON instead of protobuf+snappy */
    int gzip;                        /* JSON only: gzip it (Content-Encoding: gzip) */
};

/* One batch: the entries in [off, end) whose stream belongs to shard. */
struct enc_batch {
    size_t off, end;
    uint32_t nentries;
    uint32_t shard;
};

static inline int enc_mine(const struct enc_src *r, const struct enc_batch *b, uint32_t stream)
{
    return r->nshards <= 1 || stream % r->nshards == b->shard;
}

struct encoder {
    uint32_t *stamp, *slot;          /* per corpus stream: batch generation, slot */
    uint32_t gen;
    uint32_t *slot_stream, *slot_count, *slot_fill, *slot_start;
    size_t *order;                   /* entry offsets grouped by slot */
    Logproto__StreamAdapter *sa;
    Logproto__StreamAdapter **sap;
    Logproto__EntryAdapter *ea;
    Logproto__EntryAdapter **eap;
    Logproto__Timestamp *tsa;
    size_t slot_cap, entry_cap;
    struct cairn_buf pb;             /* packed protobuf or JSON */
    struct cairn_buf out;            /* snappy-compressed body */
};

static inline void encoder_deinit(struct encoder *e)
{
    free(e->stamp);
    free(e->slot);
    free(e->slot_stream);
    free(e->slot_count);
    free(e->slot_fill);
    free(e->slot_start);
    free(e->order);
    free(e->sa);
    free(e->sap);
    free(e->ea);
    free(e->eap);
    free(e->tsa);
    cairn_buf_deinit(&e->pb);
    cairn_buf_deinit(&e->out);
    memset(e, 0, sizeof *e);
}

static inline int encoder_init(struct encoder *e, uint32_t nstreams)
{
    memset(e, 0, sizeof *e);
    size_t n = nstreams ? nstreams : 1;
    e->stamp = calloc(n, sizeof *e->stamp);
    e->slot = calloc(n, sizeof *e->slot);
    e->slot_stream = calloc(n, sizeof *e->slot_stream);
    e->slot_count = calloc(n, sizeof *e->slot_count);
    e->slot_fill = calloc(n, sizeof *e->slot_fill);
    e->slot_start = calloc(n, sizeof *e->slot_start);
    e->sa = calloc(n, sizeof *e->sa);
    e->sap = calloc(n, sizeof *e->sap);
    e->slot_cap = n;
    if (!e->stamp || !e->slot || !e->slot_stream || !e->slot_count || !e->slot_fill ||
        !e->slot_start || !e->sa || !e->sap) {
        encoder_deinit(e);
        return -1;
    }
    return 0;
}

static inline int encoder_reserve_entries(struct encoder *e, size_t n)
{
    if (n <= e->entry_cap)
        return 0;
    size_t cap = n + n / 2;
    Logproto__EntryAdapter *ea = realloc(e->ea, cap * sizeof *ea);
    if (!ea)
        return -1;
    e->ea = ea;
    Logproto__EntryAdapter **eap = realloc(e->eap, cap * sizeof *eap);
    if (!eap)
        return -1;
    e->eap = eap;
    Logproto__Timestamp *tsa = realloc(e->tsa, cap * sizeof *tsa);
    if (!tsa)
        return -1;
    e->tsa = tsa;
    size_t *order = realloc(e->order, cap * sizeof *order);
    if (!order)
        return -1;
    e->order = order;
    e->entry_cap = cap;
    return 0;
}

/* Group a batch's entries (of its shard) by stream (streams in first-seen order, each stream's
 * entries in corpus order): a counting sort of entry offsets into e->order, slot k
 * owning order[slot_start[k] .. slot_start[k] + slot_count[k]). Returns the number of
 * slots, or -1 when out of memory. */
static inline int group_batch(const struct enc_src *r, struct encoder *e, const struct enc_batch *b)
{
    if (encoder_reserve_entries(e, b->nentries) != 0)
        return -1;
    uint32_t nslots = 0;
    struct corpus_entry en;
    if (++e->gen == 0) { /* wrapped: forget every stamp */
        memset(e->stamp, 0, r->m->h.nstreams * sizeof *e->stamp);
        e->gen = 1;
    }
    for (size_t off = b->off; off < b->end && corpus_next(r->m, &off, &en) == 1;) {
        if (!enc_mine(r, b, en.stream))
            continue;
        if (e->stamp[en.stream] != e->gen) {
            e->stamp[en.stream] = e->gen;
            e->slot[en.stream] = nslots;
            e->slot_stream[nslots] = en.stream;
            e->slot_count[nslots] = 0;
            nslots++;
        }
        e->slot_count[e->slot[en.stream]]++;
    }
    uint32_t start = 0;
    for (uint32_t k = 0; k < nslots; k++) {
        e->slot_start[k] = e->slot_fill[k] = start;
        start += e->slot_count[k];
    }
    for (size_t off = b->off; off < b->end;) {
        size_t here = off;
        if (corpus_next(r->m, &off, &en) != 1)
            break;
        if (!enc_mine(r, b, en.stream))
            continue;
        e->order[e->slot_fill[e->slot[en.stream]]++] = here;
    }
    return (int)nslots;
}

static inline int encode_protobuf(const struct enc_src *r, struct encoder *e, const struct enc_batch *b)
{
    int nslots = group_batch(r, e, b);
    if (nslots < 0)
        return -1;
    struct corpus_entry en;
    for (int k = 0; k < nslots; k++) {
        Logproto__StreamAdapter *sa = &e->sa[k];
        logproto__stream_adapter__init(sa);
        sa->labels = r->labels[e->slot_stream[k]];
        sa->entries = &e->eap[e->slot_start[k]];
        sa->n_entries = e->slot_count[k];
        e->sap[k] = sa;
        for (uint32_t j = e->slot_start[k]; j < e->slot_start[k] + e->slot_count[k]; j++) {
            corpus_entry_at(r->m, e->order[j], &en);
            int64_t ts = en.ts + r->shift_ns;
            Logproto__Timestamp *t = &e->tsa[j];
            logproto__timestamp__init(t);
            t->seconds = ts / 1000000000;
            t->nanos = (int32_t)(ts % 1000000000);
            Logproto__EntryAdapter *ea = &e->ea[j];
            logproto__entry_adapter__init(ea);
            ea->timestamp = t;
            ea->line.data = (uint8_t *)(uintptr_t)en.line; /* only read by pack */
            ea->line.len = en.len;
            e->eap[j] = ea;
        }
    }
    Logproto__PushRequest req = LOGPROTO__PUSH_REQUEST__INIT;
    req.n_streams = (size_t)nslots;
    req.streams = e->sap;
    size_t n = logproto__push_request__get_packed_size(&req);
    cairn_buf_reset(&e->pb);
    if (cairn_buf_reserve(&e->pb, n) != 0)
        return -1;
    e->pb.len = logproto__push_request__pack(&req, (uint8_t *)e->pb.data);
    size_t clen = snappy_max_compressed_length(e->pb.len);
    cairn_buf_reset(&e->out);
    if (cairn_buf_reserve(&e->out, clen) != 0)
        return -1;
    if (snappy_compress(e->pb.data, e->pb.len, e->out.data, &clen) != SNAPPY_OK)
        return -1;
    e->out.len = clen;
    return 0;
}

/* Replace e->out with its gzip form (zlib level 1, as a fast client would send it). */
static inline int gzip_body(struct encoder *e)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    size_t bound = deflateBound(&z, (uLong)e->out.len);
    cairn_buf_reset(&e->pb);
    if (cairn_buf_reserve(&e->pb, bound) != 0) {
        deflateEnd(&z);
        return -1;
    }
    z.next_in = (Bytef *)e->out.data;
    z.avail_in = (uInt)e->out.len;
    z.next_out = (Bytef *)e->pb.data;
    z.avail_out = (uInt)bound;
    int zr = deflate(&z, Z_FINISH);
    size_t n = bound - z.avail_out;
    deflateEnd(&z);
    if (zr != Z_STREAM_END)
        return -1;
    e->pb.len = n;
    struct cairn_buf t = e->out; /* swap: the body is always e->out */
    e->out = e->pb;
    e->pb = t;
    return 0;
}

static inline int encode_json(const struct enc_src *r, struct encoder *e, const struct enc_batch *b)
{
    int nslots = group_batch(r, e, b);
    if (nslots < 0)
        return -1;
    struct cairn_buf *o = &e->out;
    cairn_buf_reset(o);
    int rc = cairn_buf_append_str(o, "{\"streams\":[");
    struct corpus_entry en;
    for (int k = 0; k < nslots && rc == 0; k++) {
        uint32_t s = e->slot_stream[k];
        rc |= cairn_buf_append_str(o, k ? ",{\"stream\":" : "{\"stream\":");
        rc |= cairn_buf_append(o, r->json_stream[s], r->json_stream_len[s]);
        rc |= cairn_buf_append_str(o, ",\"values\":[");
        for (uint32_t j = e->slot_start[k]; j < e->slot_start[k] + e->slot_count[k]; j++) {
            corpus_entry_at(r->m, e->order[j], &en);
            rc |= cairn_buf_appendf(o, j > e->slot_start[k] ? ",[\"%lld\"," : "[\"%lld\",",
                                    (long long)(en.ts + r->shift_ns));
            rc |= cairn_buf_append_json_str(o, en.line, en.len);
            rc |= cairn_buf_append_byte(o, ']');
        }
        rc |= cairn_buf_append_str(o, "]}");
    }
    rc |= cairn_buf_append_str(o, "]}");
    if (rc)
        return -1;
    return r->gzip ? gzip_body(e) : 0;
}

static inline int encode_batch(const struct enc_src *r, struct encoder *e, const struct enc_batch *b)
{
    return r->json ? encode_json(r, e, b) : encode_protobuf(r, e, b);
}

#endif
