/* buf.h -- the one growable byte buffer: binary-safe, always NUL-terminated.
 *
 * Ownership: a cairn_buf owns its data; cairn_buf_deinit frees it. Appends return 0
 * or CAIRN_ENOMEM and leave the buffer as it was on failure. A zeroed struct is a
 * valid empty buffer (data NULL, len 0); cairn_buf_cstr() is "" then. */
#ifndef CAIRN_BUF_H
#define CAIRN_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct cairn_buf {
    char *data;  /* NULL until the first append; then data[len] == '\0' */
    size_t len;
    size_t cap;  /* bytes allocated, including room for the NUL */
};

#define CAIRN_BUF_INIT {NULL, 0, 0}

void cairn_buf_init(struct cairn_buf *b);
void cairn_buf_deinit(struct cairn_buf *b);
/* Make room for `extra` more bytes (plus the NUL) without changing len. */
int cairn_buf_reserve(struct cairn_buf *b, size_t extra);
int cairn_buf_append(struct cairn_buf *b, const void *p, size_t n);
int cairn_buf_append_str(struct cairn_buf *b, const char *s);
int cairn_buf_append_byte(struct cairn_buf *b, char c);
int cairn_buf_appendf(struct cairn_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int cairn_buf_vappendf(struct cairn_buf *b, const char *fmt, va_list ap);
/* Append little-endian fixed-width and LEB128 varint integers (for file formats). */
int cairn_buf_append_u32le(struct cairn_buf *b, uint32_t v);
int cairn_buf_append_u64le(struct cairn_buf *b, uint64_t v);
int cairn_buf_append_uvarint(struct cairn_buf *b, uint64_t v);
int cairn_buf_append_varint(struct cairn_buf *b, int64_t v); /* zigzag */
/* Append s as a JSON string literal, quotes included, escaping as JSON requires. */
int cairn_buf_append_json_str(struct cairn_buf *b, const char *s, size_t n);
/* Append the C string s (NULL: nothing) with < > & " escaped for HTML text and
 * attribute values (the status pages: /ring, the agent's /targets). */
int cairn_buf_append_html(struct cairn_buf *b, const char *s);
/* Set len to 0, keep the allocation. */
void cairn_buf_reset(struct cairn_buf *b);
/* Shrink len to n (n <= len). */
void cairn_buf_truncate(struct cairn_buf *b, size_t n);
/* The contents as a C string ("" when empty). */
const char *cairn_buf_cstr(const struct cairn_buf *b);
/* Hand the allocation to the caller (who frees it); the buffer becomes empty.
 * Returns NULL for an empty never-allocated buffer. */
char *cairn_buf_detach(struct cairn_buf *b, size_t *len);

/* Decoding helpers for the same integer encodings. Each returns the number of bytes
 * read, or 0 if the input is truncated or malformed. */
size_t cairn_get_uvarint(const unsigned char *p, size_t len, uint64_t *v);
size_t cairn_get_varint(const unsigned char *p, size_t len, int64_t *v);
uint32_t cairn_get_u32le(const unsigned char *p);
uint64_t cairn_get_u64le(const unsigned char *p);

#endif
