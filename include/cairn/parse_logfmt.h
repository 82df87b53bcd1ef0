/* parse_logfmt.h -- a logfmt pull scanner (`key=value key2="quoted \"v\"" flag`),
 * shared by LogQL's logfmt parser and the agent's logfmt stage.
 *
 * Ownership: the scanner is a plain struct over the caller's bytes; keys and raw
 * values are views into them. Quoted values are JSON-escaped; unquote them with
 * cairn_logfmt_value into the caller's buffer. */
#ifndef CAIRN_PARSE_LOGFMT_H
#define CAIRN_PARSE_LOGFMT_H

#include <stddef.h>

#include "cairn/buf.h"

struct cairn_logfmt {
    const char *p;
    size_t len, pos;
    const char *why; /* after an error: what was wrong ("unexpected '='") */
    size_t err_pos;  /* 1-based byte position of the error */
};

struct cairn_logfmt_pair {
    const char *key;
    size_t key_len;
    const char *val; /* raw, between the quotes when quoted */
    size_t val_len;
    int quoted;      /* val holds escapes to resolve with cairn_logfmt_value */
    int bare;        /* a key with no `=` */
    int hi;          /* the raw value holds a byte >= 0x80 (UTF-8 to check) */
};

void cairn_logfmt_init(struct cairn_logfmt *it, const char *p, size_t len);
/* 1: a pair in *pr; 0: end of input; -1: syntax error (why/err_pos set). After an
 * error, cairn_logfmt_recover skips to the next whitespace so scanning can go on. */
int cairn_logfmt_next(struct cairn_logfmt *it, struct cairn_logfmt_pair *pr);
void cairn_logfmt_recover(struct cairn_logfmt *it);
/* Append the value of a pair, unescaped when quoted (JSON escapes plus \'; an unknown
 * escape is CAIRN_EINVAL, go-logfmt's "invalid quoted value", and appends nothing).
 * 0, CAIRN_EINVAL, CAIRN_ENOMEM. */
int cairn_logfmt_value(const struct cairn_logfmt_pair *pr, struct cairn_buf *out);

/* 1 when s[0..n) holds invalid UTF-8 or U+FFFD (Go's ContainsRune(s, RuneError)). */
int cairn_logfmt_has_rune_error(const char *s, size_t n);

#endif
