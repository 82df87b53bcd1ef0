/* buf.c -- the growable byte buffer and the integer encodings of our file formats. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/buf.h"
#include "cairn/error.h"
#include "cairn/text.h"

void cairn_buf_init(struct cairn_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void cairn_buf_deinit(struct cairn_buf *b)
{
    free(b->data);
    cairn_buf_init(b);
}

int cairn_buf_reserve(struct cairn_buf *b, size_t extra)
{
    if (extra > SIZE_MAX / 2 - b->len)
        return CAIRN_ENOMEM;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
        return CAIRN_ENOMEM;
    if (!b->data)
        p[0] = '\0';
    b->data = p;
    b->cap = cap;
    return 0;
}

int cairn_buf_append(struct cairn_buf *b, const void *p, size_t n)
{
    if (cairn_buf_reserve(b, n))
        return CAIRN_ENOMEM;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int cairn_buf_append_str(struct cairn_buf *b, const char *s)
{
    return cairn_buf_append(b, s, strlen(s));
}

int cairn_buf_append_byte(struct cairn_buf *b, char c)
{
    if (b->len + 1 < b->cap) {
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
        return 0;
    }
    return cairn_buf_append(b, &c, 1);
}

int cairn_buf_vappendf(struct cairn_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return CAIRN_EINVAL;
    if ((size_t)n < sizeof tmp)
        return cairn_buf_append(b, tmp, (size_t)n);
    if (cairn_buf_reserve(b, (size_t)n))
        return CAIRN_ENOMEM;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int cairn_buf_appendf(struct cairn_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = cairn_buf_vappendf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int cairn_buf_append_u32le(struct cairn_buf *b, uint32_t v)
{
    unsigned char t[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    return cairn_buf_append(b, t, 4);
}

int cairn_buf_append_u64le(struct cairn_buf *b, uint64_t v)
{
    unsigned char t[8];
    for (int i = 0; i < 8; i++)
        t[i] = (unsigned char)(v >> (8 * i));
    return cairn_buf_append(b, t, 8);
}

int cairn_buf_append_uvarint(struct cairn_buf *b, uint64_t v)
{
    unsigned char t[10];
    size_t n = 0;
    while (v >= 0x80) {
        t[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    t[n++] = (unsigned char)v;
    return cairn_buf_append(b, t, n);
}

int cairn_buf_append_varint(struct cairn_buf *b, int64_t v)
{
    return cairn_buf_append_uvarint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

int cairn_buf_append_json_str(struct cairn_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    /* Worst case every byte becomes \u00XX or \ufffd: reserve once, then write. */
    if (n > (SIZE_MAX - 2) / 6 || cairn_buf_reserve(b, n * 6 + 2))
        return CAIRN_ENOMEM;
    char *o = b->data + b->len;
    *o++ = '"';
    size_t i = 0;
    while (i < n) {
        /* Fast path: eight bytes at a time while none is a control character, a quote,
         * a backslash or non-ASCII (has-less-than and has-zero-byte tests). */
        while (n - i >= 8) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            uint64_t q = w ^ 0x2222222222222222ULL, bs = w ^ 0x5c5c5c5c5c5c5c5cULL;
            uint64_t hit = (w - 0x2020202020202020ULL) | ((q - 0x0101010101010101ULL) & ~q) |
                           ((bs - 0x0101010101010101ULL) & ~bs) | w;
            if (hit & 0x8080808080808080ULL)
                break;
            memcpy(o, &w, 8);
            o += 8;
            i += 8;
        }
        if (i >= n)
            break;
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) { /* valid UTF-8 is copied; each invalid byte becomes U+FFFD */
            size_t k = cairn_utf8_seq_len(s + i, n - i);
            if (k) {
                memcpy(o, s + i, k);
                o += k;
                i += k;
            } else {
                memcpy(o, "\\ufffd", 6);
                o += 6;
                i++;
            }
            continue;
        }
        i++;
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        default:
            *o++ = 'u'; *o++ = '0'; *o++ = '0';
            *o++ = hex[c >> 4]; *o++ = hex[c & 15];
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    b->data[b->len] = '\0';
    return 0;
}

void cairn_buf_reset(struct cairn_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void cairn_buf_truncate(struct cairn_buf *b, size_t n)
{
    if (n < b->len) {
        b->len = n;
        b->data[n] = '\0';
    }
}

const char *cairn_buf_cstr(const struct cairn_buf *b)
{
    return b->data ? b->data : "";
}

char *cairn_buf_detach(struct cairn_buf *b, size_t *len)
{
    char *p = b->data;
    if (len)
        *len = b->len;
    cairn_buf_init(b);
    return p;
}

size_t cairn_get_uvarint(const unsigned char *p, size_t len, uint64_t *v)
{
    uint64_t x = 0;
    unsigned shift = 0;
    for (size_t i = 0; i < len && i < 10; i++) {
        unsigned char c = p[i];
        if (i == 9 && c > 1)
            return 0;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return i + 1;
        }
        shift += 7;
    }
    return 0;
}

size_t cairn_get_varint(const unsigned char *p, size_t len, int64_t *v)
{
    uint64_t u;
    size_t n = cairn_get_uvarint(p, len, &u);
    if (n)
        *v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return n;
}

uint32_t cairn_get_u32le(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t cairn_get_u64le(const unsigned char *p)
{
    return (uint64_t)cairn_get_u32le(p) | (uint64_t)cairn_get_u32le(p + 4) << 32;
}

int cairn_buf_append_html(struct cairn_buf *b, const char *s)
{
    int rc = 0;
    for (; s && *s && !rc; s++) {
        switch (*s) {
        case '<': rc = cairn_buf_append_str(b, "&lt;"); break;
        case '>': rc = cairn_buf_append_str(b, "&gt;"); break;
        case '&': rc = cairn_buf_append_str(b, "&amp;"); break;
        case '"': rc = cairn_buf_append_str(b, "&quot;"); break;
        default: rc = cairn_buf_append_byte(b, *s);
        }
    }
    return rc;
}
