/* json.h -- a zero-copy JSON scanner: a pull tokenizer over (p, len) that validates
 * structure as it goes and never builds a tree.
 *
 * Each cairn_json_next() returns the next token: a key (inside an object), a scalar,
 * or the start/end of an object or array. String tokens are views into the input
 * (between the quotes, escapes left in place); cairn_json_unescape decodes one into
 * a cairn_buf when the caller needs the text. The scanner owns nothing: the input
 * must outlive it, and a scanner is a plain struct (put it on the stack).
 *
 *   struct cairn_json js; struct cairn_json_tok t;
 *   cairn_json_init(&js, p, len);
 *   while (cairn_json_next(&js, &t) > 0) { ... }
 *
 * Used by the push decoder, the LogQL json parser stage and the agent's json stage. */
#ifndef CAIRN_JSON_H
#define CAIRN_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"
#include "cairn/error.h"

/* Nesting deeper than this is refused (CAIRN_JSON_ERROR): bounds the stack, and no
 * log line or API document we read is anywhere near it. */
#define CAIRN_JSON_MAX_DEPTH 128

enum cairn_json_type {
    CAIRN_JSON_ERROR = -1,
    CAIRN_JSON_EOF = 0,
    CAIRN_JSON_OBJECT_START,
    CAIRN_JSON_OBJECT_END,
    CAIRN_JSON_ARRAY_START,
    CAIRN_JSON_ARRAY_END,
    CAIRN_JSON_KEY,    /* an object member's name; its value is the next token */
    CAIRN_JSON_STRING,
    CAIRN_JSON_NUMBER,
    CAIRN_JSON_TRUE,
    CAIRN_JSON_FALSE,
    CAIRN_JSON_NULL,
};

struct cairn_json_tok {
    enum cairn_json_type type;
    const char *p;   /* KEY/STRING: text between the quotes; NUMBER etc.: the literal */
    size_t len;
    int escaped;     /* KEY/STRING: the raw text contains backslash escapes */
    int nonascii;    /* KEY/STRING: the raw text has bytes >= 0x80 (UTF-8, or not) */
};

struct cairn_json {
    const char *p;
    size_t len;
    size_t pos;
    int depth;
    int state;                           /* what may come next (internal) */
    unsigned char stack[CAIRN_JSON_MAX_DEPTH]; /* 'o' object, 'a' array */
    const char *why;                     /* after CAIRN_JSON_ERROR: what was wrong */
};

void cairn_json_init(struct cairn_json *js, const char *p, size_t len);

/* Next token into *tok; returns its type (> 0), CAIRN_JSON_EOF after one complete
 * top-level value followed only by whitespace, or CAIRN_JSON_ERROR. After an error
 * every further call returns CAIRN_JSON_ERROR. */
enum cairn_json_type cairn_json_next(struct cairn_json *js, struct cairn_json_tok *tok);

/* After a token that starts a value (OBJECT_START/ARRAY_START or a scalar), skip the
 * rest of that value. Returns 0 or CAIRN_EINVAL on malformed input. */
int cairn_json_skip(struct cairn_json *js, const struct cairn_json_tok *tok);

/* Current nesting depth (0 at top level; 1 inside the top-level object...). */
static inline int cairn_json_depth(const struct cairn_json *js) { return js->depth; }

/* Describe the error at the scanner's position into err ("invalid JSON at offset N:
 * ..."); returns CAIRN_EINVAL. */
int cairn_json_error(const struct cairn_json *js, struct cairn_err *err);

/* Append the decoded text of a KEY/STRING token (escapes resolved, \u surrogate
 * pairs joined into UTF-8) to out. Returns 0, CAIRN_EINVAL for a bad escape, or
 * CAIRN_ENOMEM. Without escapes it is a plain copy. */
int cairn_json_unescape(const char *p, size_t len, struct cairn_buf *out);

/* Does the KEY/STRING token equal the literal s (compared after unescaping)? */
int cairn_json_str_eq(const struct cairn_json_tok *tok, const char *s, size_t n);

#endif
