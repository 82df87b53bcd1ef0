/* push_pb.c -- decode Loki's protobuf push body (logproto.PushRequest), and the two
 * body decompressors: snappy block format (protobuf bodies) and gzip (any body).
 *
 * protobuf-c allocates every message, string and bytes field through the allocator
 * it is given; we pass one backed by the batch's arena, so unpacking a request costs
 * a few large reusable blocks instead of a malloc per entry, and nothing is freed
 * one by one (the arena is reset with the batch). */
#include <stdint.h>
#include <string.h>

#include <snappy-c.h>
#include <zlib.h>

#include "api/push.h"
#include "push.pb-c.h"

static void *arena_alloc(void *ctx, size_t n)
{
    return cairn__arena_alloc(ctx, n);
}

static void arena_free(void *ctx, void *p)
{
    (void)ctx;
    (void)p; /* freed all at once by cairn__arena_reset */
}

int cairn__ingest_decode_pb(struct cairn__ingest_batch *b, const char *p, size_t len,
                          const struct cairn_api_limits *lim, struct cairn_err *err)
{
    ProtobufCAllocator alloc = {arena_alloc, arena_free, &b->arena};
    Logproto__PushRequest *req =
        logproto__push_request__unpack(&alloc, len, (const uint8_t *)p);
    if (!req)
        return cairn_err_set(err, CAIRN_EINVAL,
                             "error parsing push request protobuf: malformed message "
                             "(%zu bytes after decompression)", len);
    for (size_t i = 0; i < req->n_streams; i++) {
        const Logproto__StreamAdapter *sa = req->streams[i];
        int si = cairn__ingest_batch_stream(b);
        if (si < 0)
            return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        for (size_t j = 0; j < sa->n_entries; j++) {
            const Logproto__EntryAdapter *ea = sa->entries[j];
            int64_t ts = 0;
            if (ea->timestamp && (__builtin_mul_overflow(ea->timestamp->seconds,
                                                         (int64_t)1000000000, &ts) ||
                                  __builtin_add_overflow(ts, ea->timestamp->nanos, &ts)))
                /* out of int64 range: saturate, validation calls it too old/new */
                ts = ea->timestamp->seconds < 0 ? INT64_MIN : INT64_MAX;
            if (cairn__ingest_batch_entry(b, ts, (const char *)ea->line.data, ea->line.len))
                return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        }
        const char *text = sa->labels ? sa->labels : "";
        size_t tl = strlen(text);
        struct cairn_err le;
        if (tl == 0 || strcmp(text, "{}") == 0) {
            b->s[si].bad = 1;
            cairn__ingest_fail(b, 400, "error at least one label pair is required per stream");
        } else if (cairn_labels_parse(&b->labels[si], text, tl, &le)) {
            b->s[si].bad = 1;
            if (strncmp(le.msg, "duplicate label name", 20) == 0) {
                const char *q = strchr(le.msg, '\'');
                cairn__ingest_fail(b, 400, "stream '%s' has duplicate label name: %s", text,
                                 q ? q : le.msg);
            } else {
                cairn__ingest_fail(b, 400, "Error parsing labels '%s' with error: %s", text,
                                 le.msg);
            }
        } else {
            cairn__ingest_labels_check(b, (size_t)si, lim);
        }
    }
    /* No free: the arena owns every byte of req. */
    return 0;
}

int cairn__unsnappy(const char *p, size_t len, size_t max, struct cairn_buf *out,
                    struct cairn_err *err)
{
    size_t n;
    if (snappy_uncompressed_length(p, len, &n) != SNAPPY_OK)
        return cairn_err_set(err, CAIRN_EINVAL, "error decompressing push request: "
                                                "not snappy block format");
    if (n > max)
        return cairn_err_set(err, CAIRN_ELIMIT, "request body too large: %zu bytes, limit: %zu bytes",
                             n, max);
    cairn_buf_reset(out);
    if (cairn_buf_reserve(out, n))
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    size_t got = n;
    if (snappy_uncompress(p, len, out->data, &got) != SNAPPY_OK || got != n)
        return cairn_err_set(err, CAIRN_EINVAL, "error decompressing push request: "
                                                "corrupt snappy data");
    out->len = n;
    out->data[n] = '\0';
    return 0;
}

int cairn__gunzip(const char *p, size_t len, size_t max, struct cairn_buf *out,
                  struct cairn_err *err)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 32) != Z_OK) /* +32: gzip or zlib header */
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    cairn_buf_reset(out);
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)len;
    int rc = Z_OK;
    size_t guess = len * 4 < max ? len * 4 : max;
    if (guess < 4096)
        guess = 4096;
    while (rc != Z_STREAM_END) {
        if (out->cap - out->len <= 1) {
            if (out->len >= max) {
                inflateEnd(&z);
                return cairn_err_set(err, CAIRN_ELIMIT,
                                     "request body too large: more than %zu bytes "
                                     "decompressed, limit: %zu bytes", max, max);
            }
            size_t extra = out->cap ? out->cap : guess;
            if (out->len + extra > max)
                extra = max - out->len + 1; /* one over the limit tells us it is too big */
            if (cairn_buf_reserve(out, extra)) {
                inflateEnd(&z);
                return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
            }
        }
        size_t room = out->cap - out->len - 1;
        if (room > UINT32_MAX)
            room = UINT32_MAX;
        z.next_out = (Bytef *)out->data + out->len;
        z.avail_out = (uInt)room;
        rc = inflate(&z, Z_NO_FLUSH);
        out->len += room - z.avail_out;
        if (rc == Z_STREAM_END)
            break;
        if (rc != Z_OK && !(rc == Z_BUF_ERROR && z.avail_out == 0)) {
            inflateEnd(&z);
            return cairn_err_set(err, CAIRN_EINVAL, "error decompressing push request: "
                                                    "corrupt gzip data (%s)",
                                 z.msg ? z.msg : "truncated");
        }
        if (out->len > max) {
            inflateEnd(&z);
            return cairn_err_set(err, CAIRN_ELIMIT,
                                 "request body too large: more than %zu bytes decompressed, "
                                 "limit: %zu bytes", max, max);
        }
    }
    inflateEnd(&z);
    if (out->len > max)
        return cairn_err_set(err, CAIRN_ELIMIT,
                             "request body too large: more than %zu bytes decompressed, "
                             "limit: %zu bytes", max, max);
    out->data[out->len] = '\0';
    return 0;
}
