/* pbwire.h -- the protobuf wire-format reader shared by the push decoders (Loki's
 * logproto in push_pbwire.c, OTLP logs in otlp_pb.c): varints, tags, length-delimited
 * fields and skipping unknown fields, bounds-checked, every failure naming what was
 * malformed and its byte offset. Internal to src/ingest; everything is static inline. */
#ifndef CAIRN_API_PBWIRE_H
#define CAIRN_API_PBWIRE_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cairn/error.h"

/* A message being read: [p, end) of the input, whose start is base (for offsets). */
struct rd {
    const uint8_t *p, *end, *base;
    struct cairn_err *err;
    size_t total;
    const char *what; /* the message kind, for errors: "push request protobuf" */
};

#define PB_VARINT 0
#define PB_I64 1
#define PB_LEN 2
#define PB_I32 5

static inline int bad(struct rd *r, const uint8_t *at, const char *what)
{
    return cairn_err_set(r->err, CAIRN_EINVAL,
                         "error parsing %s: %s at byte %zu "
                         "(of %zu after decompression)",
                         r->what ? r->what : "protobuf", what, (size_t)(at - r->base), r->total);
}

/* what names the field, for the message: "<what>: truncated varint at byte N". The
 * careful path: near the end of the input, and for errors. */
__attribute__((noinline, unused)) static int varint_slow(struct rd *r, uint64_t *out, const char *what)
{
    const uint8_t *p = r->p;
    uint64_t v = 0;
    char m[96];
    *out = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (p + i >= r->end) {
            snprintf(m, sizeof m, "%s: truncated varint", what);
            return bad(r, p, m);
        }
        uint8_t c = p[i];
        v |= (uint64_t)(c & 0x7f) << (7 * i); /* bits past 64 are dropped, as protobuf-c */
        if (c < 0x80) {
            *out = v;
            r->p = p + i + 1;
            return 0;
        }
    }
    snprintf(m, sizeof m, "%s: varint longer than 10 bytes", what);
    return bad(r, p, m);
}

/* Inline for the usual case: ten bytes of input left, so no bound check per byte. */
static inline int varint(struct rd *r, uint64_t *out, const char *what)
{
    const uint8_t *p = r->p;
    /* the whole input, not just this (sub-)message, bounds the unchecked reads; a
     * varint that runs past its message is then sent to the careful path */
    if (r->base + r->total - p >= 10) {
        uint64_t v = 0;
        for (unsigned i = 0; i < 10; i++) {
            uint8_t c = p[i];
            v |= (uint64_t)(c & 0x7f) << (7 * i);
            if (c < 0x80) {
                if (p + i >= r->end)
                    break;
                *out = v;
                r->p = p + i + 1;
                return 0;
            }
        }
    }
    return varint_slow(r, out, what);
}

/* Read a tag; *field and *wt out. */
static inline int tag(struct rd *r, uint32_t *field, unsigned *wt)
{
    const uint8_t *at = r->p;
    uint64_t v;
    *field = 0;
    *wt = 0;
    if (varint(r, &v, "field tag"))
        return CAIRN_EINVAL;
    if (v >> 3 == 0)
        return bad(r, at, "field number 0");
    if (v >> 3 > 0x1fffffff)
        return bad(r, at, "field number over 2^29-1");
    *field = (uint32_t)(v >> 3);
    *wt = (unsigned)(v & 7);
    return 0;
}

/* A length-delimited payload: [*s, *s + *n), bounds-checked against the message. */
static inline int lenfield(struct rd *r, const uint8_t **s, size_t *n, const char *what)
{
    const uint8_t *at = r->p;
    uint64_t len;
    *s = NULL;
    *n = 0;
    if (varint(r, &len, what))
        return CAIRN_EINVAL;
    if (len > (uint64_t)(r->end - r->p)) {
        char m[160];
        snprintf(m, sizeof m, "%s: length %llu past the end of its message (%zu bytes left)",
                 what, (unsigned long long)len, (size_t)(r->end - r->p));
        return bad(r, at, m);
    }
    *s = r->p;
    *n = (size_t)len;
    r->p += len;
    return 0;
}

static inline int skip(struct rd *r, unsigned wt, const uint8_t *at)
{
    uint64_t v;
    const uint8_t *s;
    size_t n;
    switch (wt) {
    case PB_VARINT:
        return varint(r, &v, "unknown varint field");
    case PB_I64:
    case PB_I32: {
        size_t w = wt == PB_I64 ? 8 : 4;
        if ((size_t)(r->end - r->p) < w)
            return bad(r, at, "unknown fixed-width field: truncated");
        r->p += w;
        return 0;
    }
    case PB_LEN:
        return lenfield(r, &s, &n, "unknown length-delimited field");
    case 3:
    case 4:
        return bad(r, at, "group wire type (unsupported)");
    default: {
        char m[64];
        snprintf(m, sizeof m, "invalid wire type %u", wt);
        return bad(r, at, m);
    }
    }
}

static inline int wrong_type(struct rd *r, const uint8_t *at, const char *field, unsigned wt)
{
    char m[96];
    snprintf(m, sizeof m, "%s with wire type %u", field, wt);
    return bad(r, at, m);
}

/* A known length-delimited field: its wire type must be 2, then its bytes. */
static inline int len_field(struct rd *r, const uint8_t *at, unsigned wt, const char *what,
                     const uint8_t **s, size_t *n)
{
    if (wt != PB_LEN)
        return wrong_type(r, at, what, wt);
    return lenfield(r, s, n, what);
}

/* A sub-message reader over [s, s + n) of the same input. */
static inline struct rd sub(const struct rd *r, const uint8_t *s, size_t n)
{
    return (struct rd){s, s + n, r->base, r->err, r->total, r->what};
}

#endif
