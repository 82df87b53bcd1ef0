/* push_pb.c -- the two push body decompressors: snappy block format (protobuf
 * bodies) and gzip (any body), each into a buffer the batch keeps between requests.
 * The protobuf itself is decoded by push_pbwire.c. */
#include <stdint.h>
#include <string.h>

#include <snappy-c.h>
#include <zlib.h>

#include "api/push.h"

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
