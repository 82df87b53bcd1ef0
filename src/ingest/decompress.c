/* decompress.c -- the two push body decompressors, snappy block format (protobuf bodies)
 * and gzip (any body), each into a buffer the batch keeps between requests, and the
 * process-wide budget their buffers are charged to. The protobuf itself is decoded by
 * pbwire.c.
 *
 * Neither allocates what a body only claims: gzip output grows as it actually arrives
 * and stops one byte past the cap; snappy's declared length is checked against the
 * cap, against the most snappy can expand its input, and (when it would allocate) by
 * a validating pass that writes nothing, before any buffer is sized to it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>
#include <zlib.h>

#include "cairn/ingest.h"

/* Snappy's densest element is a 3-byte copy of 64 bytes: no valid stream expands its
 * input more than 64/3 times. */
#define SNAPPY_MAX_EXPANSION 22

/* The first gzip buffer: a guess at the ratio of log text, at least 64 KiB. */
#define GUNZIP_FIRST_GUESS 4
#define GUNZIP_MIN_BUF (64u * 1024)

int cairn_ingest_charge_take(struct cairn_ingest_charge *c, size_t n)
{
    if (!c || !c->used || !n)
        return 0;
    size_t cur = atomic_load(c->used);
    do {
        if (c->max && (n > c->max || cur > c->max - n))
            return CAIRN_EAGAIN;
    } while (!atomic_compare_exchange_weak(c->used, &cur, cur + n));
    c->held += n;
    return 0;
}

void cairn_ingest_charge_release(struct cairn_ingest_charge *c)
{
    if (c && c->used && c->held)
        atomic_fetch_sub(c->used, c->held);
    if (c)
        c->held = 0;
}

static int too_large(struct cairn_err *err, size_t max)
{
    return cairn_err_set(err, CAIRN_ELIMIT,
                         "request body too large: more than %zu bytes decompressed, "
                         "limit: %zu bytes", max, max);
}

static int over_budget(struct cairn_err *err)
{
    return cairn_err_set(err, CAIRN_EAGAIN,
                         "too many push bytes being decompressed at once, retry later");
}

/* Grow out's allocation to exactly cap bytes, charging what goes beyond base (the
 * capacity it came with, charged to no one). 0, CAIRN_EAGAIN or CAIRN_ENOMEM. */
static int grow_to(struct cairn_buf *out, size_t cap, size_t base, struct cairn_ingest_charge *ch)
{
    size_t from = out->cap > base ? out->cap : base;
    if (cap > from && cairn_ingest_charge_take(ch, cap - from))
        return CAIRN_EAGAIN;
    char *p = realloc(out->data, cap);
    if (!p)
        return CAIRN_ENOMEM; /* what was charged is released with the request */
    if (!out->data)
        p[0] = '\0';
    out->data = p;
    out->cap = cap;
    return 0;
}

int cairn_ingest_reserve(struct cairn_buf *out, size_t n, struct cairn_ingest_charge *ch)
{
    if (n > SIZE_MAX - 1 - out->len)
        return CAIRN_ENOMEM;
    size_t need = out->len + n + 1;
    return need <= out->cap ? 0 : grow_to(out, need, out->cap, ch);
}

int cairn_ingest_unsnappy(const char *p, size_t len, size_t max, struct cairn_buf *out,
                    struct cairn_ingest_charge *ch, struct cairn_err *err)
{
    size_t n;
    if (snappy_uncompressed_length(p, len, &n) != SNAPPY_OK)
        return cairn_err_set(err, CAIRN_EINVAL, "error decompressing push request: "
                                                "not snappy block format");
    if (n > max)
        return cairn_err_set(err, CAIRN_ELIMIT, "request body too large: %zu bytes, limit: %zu bytes",
                             n, max);
    if (n / SNAPPY_MAX_EXPANSION > len)
        return cairn_err_set(err, CAIRN_EINVAL, "error decompressing push request: corrupt "
                                                "snappy data (%zu bytes cannot hold %zu)", len, n);
    cairn_buf_reset(out);
    if (n + 1 > out->cap) {
        /* Only a stream that really yields n bytes gets n bytes of memory. */
        if (snappy_validate_compressed_buffer(p, len) != SNAPPY_OK)
            return cairn_err_set(err, CAIRN_EINVAL, "error decompressing push request: "
                                                    "corrupt snappy data");
        int rc = grow_to(out, n + 1, out->cap, ch);
        if (rc == CAIRN_EAGAIN)
            return over_budget(err);
        if (rc)
            return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    }
    size_t got = n;
    if (snappy_uncompress(p, len, out->data, &got) != SNAPPY_OK || got != n)
        return cairn_err_set(err, CAIRN_EINVAL, "error decompressing push request: "
                                                "corrupt snappy data");
    out->len = n;
    out->data[n] = '\0';
    return 0;
}

int cairn_ingest_gunzip(const char *p, size_t len, size_t max, struct cairn_buf *out,
                  struct cairn_ingest_charge *ch, struct cairn_err *err)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 32) != Z_OK) /* +32: gzip or zlib header */
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    cairn_buf_reset(out);
    const size_t base = out->cap, limit = max + 2; /* max + 1 bytes tell "too big", + NUL */
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
    size_t in_left = len - z.avail_in;
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        if (out->cap - out->len <= 1) { /* full: grow by what has arrived, to the cap */
            size_t cap = out->cap ? out->cap * 2 : GUNZIP_MIN_BUF;
            if (!out->cap && len <= limit / GUNZIP_FIRST_GUESS && len * GUNZIP_FIRST_GUESS > cap)
                cap = len * GUNZIP_FIRST_GUESS;
            if (cap > limit || cap < out->cap)
                cap = limit;
            int g = cap > out->cap ? grow_to(out, cap, base, ch) : CAIRN_ELIMIT;
            if (g) {
                inflateEnd(&z);
                return g == CAIRN_ELIMIT   ? too_large(err, max)
                       : g == CAIRN_EAGAIN ? over_budget(err)
                                           : cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
            }
        }
        size_t room = out->cap - out->len - 1;
        if (room > UINT32_MAX)
            room = UINT32_MAX;
        if (z.avail_in == 0 && in_left) { /* bodies past 4 GiB: feed the rest */
            size_t more = in_left > UINT32_MAX ? UINT32_MAX : in_left;
            z.avail_in = (uInt)more;
            in_left -= more;
        }
        z.next_out = (Bytef *)out->data + out->len;
        z.avail_out = (uInt)room;
        rc = inflate(&z, Z_NO_FLUSH);
        out->len += room - z.avail_out;
        if (out->len > max) {
            inflateEnd(&z);
            return too_large(err, max);
        }
        if (rc == Z_STREAM_END)
            break;
        if (rc != Z_OK && !(rc == Z_BUF_ERROR && z.avail_out == 0)) {
            inflateEnd(&z);
            return cairn_err_set(err, CAIRN_EINVAL, "error decompressing push request: "
                                                    "corrupt gzip data (%s)",
                                 z.msg ? z.msg : "truncated");
        }
    }
    inflateEnd(&z);
    out->data[out->len] = '\0';
    return 0;
}
