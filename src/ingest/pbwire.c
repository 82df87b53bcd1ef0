/* pbwire.c -- decode Loki's protobuf push body (logproto.PushRequest) straight
 * from the decompressed wire bytes: no per-entry allocation, no copy of a line.
 *
 * The wire shape (proto/push.proto): PushRequest { repeated StreamAdapter streams = 1 }
 * StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3 }
 * EntryAdapter { Timestamp timestamp = 1; bytes line = 2;
 *                repeated LabelPairAdapter structuredMetadata = 3 }
 * LabelPairAdapter { string name = 1; string value = 2 }
 * Timestamp { int64 seconds = 1; int32 nanos = 2 }.
 *
 * As protobuf-c and Loki's gogo-generated code: unknown fields are skipped by wire
 * type; a known field with the wrong wire type, a varint over 10 bytes, a field
 * number 0 or a length past the end of its message is malformed, and so is a group
 * (deprecated since proto2; protobuf-c refuses them, gogo skips them); a scalar or
 * string given twice keeps the last value, and so does a Timestamp (as Loki, which
 * unmarshals each into a fresh time; protobuf-c agrees for these proto3 scalars). Lines
 * and label texts are views into the input buffer, which must outlive the batch's
 * contents. Every failure names what was malformed and its byte offset. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cairn/ingest.h"
#include "cairn/smeta.h"
#include "ingest/pbwire.h"

/* Timestamp into *sec / *nanos (a field absent is 0). */
static int timestamp(struct rd *r, int64_t *sec, int32_t *nanos)
{
    *sec = 0;
    *nanos = 0;
    while (r->p < r->end) {
        const uint8_t *at = r->p;
        uint32_t f;
        unsigned wt;
        uint64_t v;
        if (tag(r, &f, &wt))
            return CAIRN_EINVAL;
        if (f == 1 || f == 2) {
            if (wt != PB_VARINT)
                return wrong_type(r, at, f == 1 ? "timestamp seconds" : "timestamp nanos", wt);
            if (varint(r, &v, f == 1 ? "timestamp seconds" : "timestamp nanos"))
                return CAIRN_EINVAL;
            if (f == 1)
                *sec = (int64_t)v;
            else
                *nanos = (int32_t)(uint32_t)v; /* int32: the low 32 bits, as protobuf */
        } else if (skip(r, wt, at)) {
            return CAIRN_EINVAL;
        }
    }
    return 0;
}

/* One structuredMetadata pair (name = 1, value = 2, both strings; the last of each
 * wins), appended to the batch's smeta blobs. */
static int label_pair(struct cairn_ingest_batch *b, struct rd *r)
{
    const uint8_t *name = (const uint8_t *)"", *value = (const uint8_t *)"";
    size_t nl = 0, vl = 0;
    while (r->p < r->end) {
        const uint8_t *at = r->p, *s;
        uint32_t f;
        unsigned wt;
        size_t n;
        if (tag(r, &f, &wt))
            return CAIRN_EINVAL;
        if (f == 1 || f == 2) {
            if (len_field(r, at, wt, "structured metadata name/value", &s, &n))
                return CAIRN_EINVAL;
            if (f == 1) {
                name = s;
                nl = n;
            } else {
                value = s;
                vl = n;
            }
        } else if (skip(r, wt, at)) {
            return CAIRN_EINVAL;
        }
    }
    if (cairn_smeta_append(&b->smb, (const char *)name, nl, (const char *)value, vl))
        return cairn_err_set(r->err, CAIRN_ENOMEM, "out of memory");
    return 0;
}

/* Seconds and nanos as Unix nanoseconds; out of int64 range saturates (validation
 * then calls it too old or too new). */
static inline int64_t ts_ns(int64_t sec, int32_t nanos)
{
    int64_t ts;
    if (__builtin_mul_overflow(sec, (int64_t)1000000000, &ts) ||
        __builtin_add_overflow(ts, nanos, &ts))
        ts = sec < 0 ? INT64_MIN : INT64_MAX;
    return ts;
}

/* A varint inside [p, end): the byte after it, or NULL (too long or cut short). */
static inline const uint8_t *uv_in(const uint8_t *p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 10 && p + i < end; i++) {
        uint8_t c = p[i];
        v |= (uint64_t)(c & 0x7f) << (7 * i);
        if (c < 0x80) {
            *out = v;
            return p + i + 1;
        }
    }
    return NULL;
}

/* The shape Loki's clients send: a Timestamp of under 128 bytes holding seconds then
 * nanos (each at most once, either absent), then the line, ending the entry. Returns
 * 1 when the entry has exactly that shape (it is added), 0 when it does not (nothing
 * was done: the general reader takes it from the start, and reports what is
 * malformed), or CAIRN_ENOMEM. Reads nothing outside [r->p, r->end). */
static inline int entry_fast(struct cairn_ingest_batch *b, struct rd *r)
{
    const uint8_t *p = r->p, *end = r->end;
    if (end - p < 4 || p[0] != 0x0a || p[1] >= 0x80 || p[1] > end - p - 4)
        return 0;
    const uint8_t *te = p + 2 + p[1]; /* the Timestamp's end; the line tag fits after */
    uint64_t sec = 0, nanos = 0, len;
    p += 2;
    if (p < te && *p == 0x08 && !(p = uv_in(p + 1, te, &sec)))
        return 0;
    if (p < te && *p == 0x10 && !(p = uv_in(p + 1, te, &nanos)))
        return 0;
    if (p != te || *p != 0x12 || !(p = uv_in(p + 1, end, &len)) || len != (uint64_t)(end - p))
        return 0;
    if (cairn_ingest_batch_entry(b, ts_ns((int64_t)sec, (int32_t)(uint32_t)nanos),
                                  (const char *)p, (size_t)len))
        return cairn_err_set(r->err, CAIRN_ENOMEM, "out of memory");
    r->p = end;
    return 1;
}

static int entry(struct cairn_ingest_batch *b, struct rd *r)
{
    int fast = entry_fast(b, r);
    if (fast)
        return fast < 0 ? fast : 0;
    int64_t sec = 0;
    int32_t nanos = 0;
    int has_ts = 0;
    size_t mark = cairn_ingest_sm_mark(b);
    const uint8_t *line = (const uint8_t *)"";
    size_t line_len = 0;
    while (r->p < r->end) {
        const uint8_t *at = r->p, *s;
        uint32_t f;
        unsigned wt;
        size_t n;
        if (tag(r, &f, &wt))
            return CAIRN_EINVAL;
        switch (f) {
        case 1:
            if (len_field(r, at, wt, "entry timestamp", &s, &n))
                return CAIRN_EINVAL;
            has_ts = 1;
            struct rd t = sub(r, s, n);
            if (timestamp(&t, &sec, &nanos))
                return CAIRN_EINVAL;
            break;
        case 2:
            if (len_field(r, at, wt, "entry line", &line, &line_len))
                return CAIRN_EINVAL;
            break;
        case 3:
            if (len_field(r, at, wt, "entry structuredMetadata", &s, &n))
                return CAIRN_EINVAL;
            struct rd m = sub(r, s, n);
            if (label_pair(b, &m))
                return r->err->code;
            break;
        default:
            if (skip(r, wt, at))
                return CAIRN_EINVAL;
        }
    }
    if (cairn_ingest_batch_entry_sm(b, has_ts ? ts_ns(sec, nanos) : 0, (const char *)line,
                                     line_len, mark))
        return cairn_err_set(r->err, CAIRN_ENOMEM, "out of memory");
    return 0;
}

static int stream(struct cairn_ingest_batch *b, struct rd *r, const struct cairn_ingest_limits *lim)
{
    int si = cairn_ingest_batch_stream(b);
    if (si < 0)
        return cairn_err_set(r->err, CAIRN_ENOMEM, "out of memory");
    const uint8_t *text = (const uint8_t *)"";
    size_t tl = 0;
    while (r->p < r->end) {
        const uint8_t *at = r->p, *s;
        uint32_t f;
        unsigned wt;
        size_t n;
        uint64_t v;
        if (tag(r, &f, &wt))
            return CAIRN_EINVAL;
        switch (f) {
        case 1:
            if (len_field(r, at, wt, "stream labels", &text, &tl))
                return CAIRN_EINVAL;
            break;
        case 2:
            if (len_field(r, at, wt, "stream entry", &s, &n))
                return CAIRN_EINVAL;
            struct rd e = sub(r, s, n);
            int rc = entry(b, &e);
            if (rc)
                return rc;
            break;
        case 3:
            if (wt != PB_VARINT)
                return wrong_type(r, at, "stream hash", wt);
            if (varint(r, &v, "stream hash"))
                return CAIRN_EINVAL;
            break;
        default:
            if (skip(r, wt, at))
                return CAIRN_EINVAL;
        }
    }
    b->s[si].ltext = (const char *)text;
    b->s[si].ltext_len = tl;
    cairn_ingest_stream_labels(b, (size_t)si, (const char *)text, tl, lim);
    return 0;
}

int cairn_ingest_decode_pb(struct cairn_ingest_batch *b, const char *p, size_t len,
                            const struct cairn_ingest_limits *lim, struct cairn_err *err)
{
    const uint8_t *u = (const uint8_t *)(p ? p : "");
    struct rd r = {u, u + len, u, err, len, "push request protobuf"};
    while (r.p < r.end) {
        const uint8_t *at = r.p, *s;
        uint32_t f;
        unsigned wt;
        size_t n;
        if (tag(&r, &f, &wt))
            return CAIRN_EINVAL;
        if (f == 1) {
            if (wt != PB_LEN)
                return wrong_type(&r, at, "streams", wt);
            if (lenfield(&r, &s, &n, "stream"))
                return CAIRN_EINVAL;
            struct rd sr = sub(&r, s, n);
            int rc = stream(b, &sr, lim);
            if (rc)
                return rc;
        } else if (skip(&r, wt, at)) {
            return CAIRN_EINVAL;
        }
    }
    return 0;
}
