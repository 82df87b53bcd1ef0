/* ws.c -- WebSocket framing (RFC 6455) and the handshake's SHA-1 accept key. */
#include <string.h>

#include "cairn/error.h"
#include "cairn/text.h"
#include "cairn/ws.h"

/* ---- SHA-1 (FIPS 180-4), only for Sec-WebSocket-Accept ---- */

static uint32_t rol(uint32_t x, int n)
{
    return (x << n) | (x >> (32 - n));
}

static void sha1_block(uint32_t h[5], const unsigned char *p)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDC;
        } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6;
        }
        uint32_t t = rol(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol(b, 30);
        b = a;
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void cairn_sha1(const void *data, size_t len, unsigned char out[20])
{
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    const unsigned char *p = data;
    size_t left = len;
    for (; left >= 64; left -= 64, p += 64)
        sha1_block(h, p);
    unsigned char tail[128] = {0};
    memcpy(tail, p, left);
    tail[left] = 0x80;
    size_t tl = left + 1 + 8 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        tail[tl - 1 - i] = (unsigned char)(bits >> (8 * i));
    for (size_t i = 0; i < tl; i += 64)
        sha1_block(h, tail + i);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (unsigned char)(h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(h[i] >> 8);
        out[4 * i + 3] = (unsigned char)h[i];
    }
}

void cairn_ws_accept_key(const char *key, size_t len, char out[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char cat[128 + sizeof guid], d[20];
    if (len > 128)
        len = 128; /* a real key is 24 characters; a longer one just gets a wrong answer */
    memcpy(cat, key, len);
    memcpy(cat + len, guid, sizeof guid - 1);
    cairn_sha1(cat, len + sizeof guid - 1, d);
    cairn_base64_encode(d, sizeof d, out);
}

void cairn_ws_client_key(const unsigned char nonce[16], char out[25])
{
    cairn_base64_encode(nonce, 16, out);
}

/* ---- frames ---- */

int cairn_ws_frame(struct cairn_buf *out, int opcode, const void *payload, size_t len,
                   const unsigned char *key)
{
    unsigned char h[14];
    size_t n = 0;
    h[n++] = (unsigned char)(0x80 | (opcode & 0x0f));
    unsigned char m = key ? 0x80 : 0;
    if (len < 126) {
        h[n++] = (unsigned char)(m | len);
    } else if (len <= 0xffff) {
        h[n++] = m | 126;
        h[n++] = (unsigned char)(len >> 8);
        h[n++] = (unsigned char)len;
    } else {
        h[n++] = m | 127;
        for (int i = 7; i >= 0; i--)
            h[n++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    if (key) {
        memcpy(h + n, key, 4);
        n += 4;
    }
    size_t at = out->len;
    if (cairn_buf_append(out, h, n) || cairn_buf_append(out, payload, len))
        return CAIRN_ENOMEM;
    if (key) {
        unsigned char *p = (unsigned char *)out->data + at + n;
        for (size_t i = 0; i < len; i++)
            p[i] ^= key[i & 3];
    }
    return 0;
}

void cairn_ws_reader_init(struct cairn_ws_reader *r, size_t max_frame)
{
    cairn_buf_init(&r->in);
    r->max_frame = max_frame;
}

void cairn_ws_reader_deinit(struct cairn_ws_reader *r)
{
    cairn_buf_deinit(&r->in);
}

int cairn_ws_reader_feed(struct cairn_ws_reader *r, const void *p, size_t len)
{
    return cairn_buf_append(&r->in, p, len) ? CAIRN_ENOMEM : 0;
}

int cairn_ws_reader_next(struct cairn_ws_reader *r, int *opcode, struct cairn_buf *payload)
{
    const unsigned char *p = (const unsigned char *)r->in.data;
    size_t have = r->in.len, need = 2;
    if (have < need)
        return 0;
    if (p[0] & 0x70)
        return CAIRN_EINVAL; /* reserved bits: no extension was negotiated */
    int masked = p[1] & 0x80;
    uint64_t len = p[1] & 0x7f;
    if (len == 126) {
        need += 2;
        if (have < need)
            return 0;
        len = (uint64_t)p[2] << 8 | p[3];
    } else if (len == 127) {
        need += 8;
        if (have < need)
            return 0;
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | p[2 + i];
    }
    if (len > r->max_frame)
        return CAIRN_EINVAL;
    const unsigned char *key = NULL;
    if (masked) {
        key = p + need;
        need += 4;
    }
    if (have < need + len)
        return 0;
    cairn_buf_reset(payload);
    if (cairn_buf_append(payload, p + need, (size_t)len))
        return CAIRN_ENOMEM;
    if (key) {
        unsigned char *q = (unsigned char *)payload->data;
        for (size_t i = 0; i < len; i++)
            q[i] ^= key[i & 3];
    }
    *opcode = p[0] & 0x0f;
    size_t used = need + (size_t)len;
    memmove(r->in.data, r->in.data + used, have - used);
    cairn_buf_truncate(&r->in, have - used);
    return 1;
}
