/* text.h -- small byte-level text helpers shared by every parser: hex digits and
 * UTF-8 encoding of a code point, validation and repair. Pure functions; nothing is owned. */
#ifndef CAIRN_TEXT_H
#define CAIRN_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* The value of a hex digit (0-9a-fA-F), or -1. */
static inline int cairn_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Write code point cp as UTF-8 into o (room for 4 bytes); returns the number of bytes
 * written. A surrogate or a value past 0x10FFFF is written as U+FFFD. */
size_t cairn_utf8_encode(char *o, uint32_t cp);

/* Invalid UTF-8, by Go's rules (what Loki decodes with): a byte that does not start a
 * well-formed sequence (overlong, surrogate, past U+10FFFF, truncated) is one invalid
 * byte, replaced by U+FFFD on its own, as Go's decoders and encoders do. */

/* Length of the valid sequence at s[0] (1..4; n > 0), or 0 when s[0] is invalid. */
size_t cairn_utf8_seq_len(const char *s, size_t n);
/* How many leading bytes of s are valid UTF-8 (n when all are). ASCII runs are
 * checked eight bytes at a time. */
size_t cairn_utf8_valid_prefix(const char *s, size_t n);
static inline int cairn_utf8_valid(const char *s, size_t n)
{
    return cairn_utf8_valid_prefix(s, n) == n;
}
/* Length of s once each invalid byte becomes U+FFFD (3 bytes): at most 3 * n. */
size_t cairn_utf8_fixed_len(const char *s, size_t n);
/* Write s with each invalid byte replaced by U+FFFD into o (room for
 * cairn_utf8_fixed_len(s, n) bytes); returns the bytes written. */
size_t cairn_utf8_fix(char *o, const char *s, size_t n);

/* Levenshtein distance between a[0..la) and b[0..lb) (99 when either is 64 bytes or
 * longer): for "did you mean" suggestions. */
/* Standard base64 of p[0..n) with '=' padding, NUL-terminated: out holds
 * 4 * ((n + 2) / 3) + 1 bytes. */
void cairn_base64_encode(const unsigned char *p, size_t n, char *out);
size_t cairn_edit_distance(const char *a, size_t la, const char *b, size_t lb);

#endif
