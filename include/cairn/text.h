/* text.h -- small byte-level text helpers shared by every parser: hex digits and
 * UTF-8 encoding of a code point. Pure functions; nothing is owned. */
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

#endif
