/* json.c -- the zero-copy JSON pull scanner (see json.h): structure validated with a
 * small state machine and a depth stack; strings and numbers returned as views. */
#include <stdint.h>
#include <string.h>

#include "cairn/json.h"
#include "cairn/text.h"

enum {
    ST_VALUE,         /* a value must come (top level, after ':' or ',' in an array) */
    ST_VALUE_OR_END,  /* just after '[' */
    ST_KEY_OR_END,    /* just after '{' */
    ST_KEY,           /* after ',' in an object */
    ST_COMMA_OR_END,  /* after a value inside a container */
    ST_DONE,          /* the top-level value is complete */
    ST_FAILED,
};

void cairn_json_init(struct cairn_json *js, const char *p, size_t len)
{
    js->p = p;
    js->len = len;
    js->pos = 0;
    js->depth = 0;
    js->state = ST_VALUE;
    js->why = NULL;
}

static enum cairn_json_type fail(struct cairn_json *js, const char *why)
{
    js->state = ST_FAILED;
    js->why = why;
    return CAIRN_JSON_ERROR;
}

static void skip_ws(struct cairn_json *js)
{
    const char *p = js->p;
    size_t i = js->pos, n = js->len;
    while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
        i++;
    js->pos = i;
}

/* Scan a string starting at the opening quote; fills tok with the inner text. */
static int scan_string(struct cairn_json *js, struct cairn_json_tok *tok)
{
    const char *p = js->p;
    size_t i = js->pos + 1, n = js->len;
    int escaped = 0;
    uint64_t high = 0; /* OR of the bytes seen: bit 7 set once one is non-ASCII */
    for (;;) {
        /* Fast path: jump to the next quote, then look back for what needs care. */
        const char *q = memchr(p + i, '"', n - i);
        if (!q)
            return -1;
        size_t end = (size_t)(q - p);
        size_t k = i;
        while (k < end) {
            /* Eight bytes at a time while none is a backslash or a control character
             * (the classic has-zero-byte / has-less-than tests; a false alarm only
             * sends that word through the byte test below). */
            if (end - k >= 8) {
                uint64_t w;
                memcpy(&w, p + k, 8);
                uint64_t bs = w ^ 0x5c5c5c5c5c5c5c5cULL;
                uint64_t hit = ((bs - 0x0101010101010101ULL) & ~bs) |
                               ((w - 0x2020202020202020ULL) & ~w);
                high |= w;
                if (!(hit & 0x8080808080808080ULL)) {
                    k += 8;
                    continue;
                }
            }
            unsigned char c = (unsigned char)p[k];
            high |= c;
            if (c == '\\') {
                escaped = 1;
                k++; /* the escaped char may be the quote we found */
                if (k >= end) {
                    end = k; /* quote was escaped: continue after it */
                    goto next;
                }
            } else if (c < 0x20) {
                return -2;
            }
            k++;
        }
        tok->p = p + js->pos + 1;
        tok->len = end - js->pos - 1;
        tok->escaped = escaped;
        tok->nonascii = (high & 0x8080808080808080ULL) != 0;
        js->pos = end + 1;
        return 0;
    next:
        i = end + 1;
        if (i > n)
            return -1;
    }
}

static int scan_number(struct cairn_json *js, struct cairn_json_tok *tok)
{
    const char *p = js->p;
    size_t i = js->pos, n = js->len, s = i;
    if (i < n && p[i] == '-')
        i++;
    if (i >= n)
        return -1;
    if (p[i] == '0') {
        i++;
    } else if (p[i] >= '1' && p[i] <= '9') {
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
    } else {
        return -1;
    }
    if (i < n && p[i] == '.') {
        i++;
        size_t d = i;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
        if (i == d)
            return -1;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            i++;
        size_t d = i;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
        if (i == d)
            return -1;
    }
    tok->p = p + s;
    tok->len = i - s;
    tok->escaped = 0;
    tok->nonascii = 0;
    js->pos = i;
    return 0;
}

static void after_value(struct cairn_json *js)
{
    js->state = js->depth == 0 ? ST_DONE : ST_COMMA_OR_END;
}

static enum cairn_json_type scan_value(struct cairn_json *js, struct cairn_json_tok *tok)
{
    const char *p = js->p;
    char c = p[js->pos];
    tok->escaped = 0;
    tok->nonascii = 0;
    switch (c) {
    case '{':
    case '[':
        if (js->depth >= CAIRN_JSON_MAX_DEPTH)
            return fail(js, "nesting too deep");
        js->stack[js->depth++] = c == '{' ? 'o' : 'a';
        js->state = c == '{' ? ST_KEY_OR_END : ST_VALUE_OR_END;
        tok->p = p + js->pos++;
        tok->len = 1;
        return tok->type = c == '{' ? CAIRN_JSON_OBJECT_START : CAIRN_JSON_ARRAY_START;
    case '"': {
        int rc = scan_string(js, tok);
        if (rc)
            return fail(js, rc == -1 ? "unterminated string" : "control character in string");
        after_value(js);
        return tok->type = CAIRN_JSON_STRING;
    }
    case 't':
    case 'f':
    case 'n': {
        static const char *const lit[] = {"true", "false", "null"};
        static const enum cairn_json_type typ[] = {CAIRN_JSON_TRUE, CAIRN_JSON_FALSE,
                                                   CAIRN_JSON_NULL};
        int k = c == 't' ? 0 : c == 'f' ? 1 : 2;
        size_t l = strlen(lit[k]);
        if (js->len - js->pos < l || memcmp(p + js->pos, lit[k], l) != 0)
            return fail(js, "invalid literal");
        tok->p = p + js->pos;
        tok->len = l;
        js->pos += l;
        after_value(js);
        return tok->type = typ[k];
    }
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            if (scan_number(js, tok))
                return fail(js, "invalid number");
            after_value(js);
            return tok->type = CAIRN_JSON_NUMBER;
        }
        return fail(js, "unexpected character, expected a value");
    }
}

static enum cairn_json_type close_container(struct cairn_json *js, struct cairn_json_tok *tok,
                                            char c)
{
    char want = c == '}' ? 'o' : 'a';
    if (js->depth == 0 || js->stack[js->depth - 1] != want)
        return fail(js, "mismatched closing bracket");
    js->depth--;
    tok->p = js->p + js->pos++;
    tok->len = 1;
    tok->escaped = 0;
    tok->nonascii = 0;
    after_value(js);
    return tok->type = c == '}' ? CAIRN_JSON_OBJECT_END : CAIRN_JSON_ARRAY_END;
}

static enum cairn_json_type scan_key(struct cairn_json *js, struct cairn_json_tok *tok)
{
    if (js->p[js->pos] != '"')
        return fail(js, "expected a string key");
    int rc = scan_string(js, tok);
    if (rc)
        return fail(js, rc == -1 ? "unterminated string" : "control character in string");
    skip_ws(js);
    if (js->pos >= js->len || js->p[js->pos] != ':')
        return fail(js, "expected ':' after object key");
    js->pos++;
    js->state = ST_VALUE;
    return tok->type = CAIRN_JSON_KEY;
}

enum cairn_json_type cairn_json_next(struct cairn_json *js, struct cairn_json_tok *tok)
{
    for (;;) {
        if (js->state == ST_FAILED)
            return tok->type = CAIRN_JSON_ERROR;
        skip_ws(js);
        if (js->pos >= js->len) {
            if (js->state == ST_DONE)
                return tok->type = CAIRN_JSON_EOF;
            return fail(js, js->pos == 0 ? "empty input" : "unexpected end of input");
        }
        char c = js->p[js->pos];
        switch (js->state) {
        case ST_DONE:
            return fail(js, "unexpected data after the top-level value");
        case ST_COMMA_OR_END:
            if (c == ',') {
                js->pos++;
                js->state = js->stack[js->depth - 1] == 'o' ? ST_KEY : ST_VALUE;
                continue;
            }
            if (c == '}' || c == ']')
                return close_container(js, tok, c);
            return fail(js, "expected ',' or a closing bracket");
        case ST_KEY_OR_END:
            if (c == '}')
                return close_container(js, tok, c);
            return scan_key(js, tok);
        case ST_KEY:
            return scan_key(js, tok);
        case ST_VALUE_OR_END:
            if (c == ']')
                return close_container(js, tok, c);
            return scan_value(js, tok);
        default:
            return scan_value(js, tok);
        }
    }
}

int cairn_json_skip(struct cairn_json *js, const struct cairn_json_tok *tok)
{
    if (tok->type != CAIRN_JSON_OBJECT_START && tok->type != CAIRN_JSON_ARRAY_START)
        return tok->type == CAIRN_JSON_ERROR ? CAIRN_EINVAL : 0;
    int target = js->depth - 1;
    struct cairn_json_tok t;
    for (;;) {
        enum cairn_json_type ty = cairn_json_next(js, &t);
        if (ty <= 0)
            return CAIRN_EINVAL;
        if ((ty == CAIRN_JSON_OBJECT_END || ty == CAIRN_JSON_ARRAY_END) && js->depth == target)
            return 0;
    }
}

int cairn_json_error(const struct cairn_json *js, struct cairn_err *err)
{
    return cairn_err_set(err, CAIRN_EINVAL, "invalid JSON at offset %zu: %s", js->pos,
                         js->why ? js->why : "syntax error");
}

static int hex4(const char *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int d = cairn_hex_digit(p[i]);
        if (d < 0)
            return -1;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

int cairn_json_unescape(const char *p, size_t len, struct cairn_buf *out)
{
    /* Decoded text is never longer than the escaped text. */
    if (cairn_buf_reserve(out, len))
        return CAIRN_ENOMEM;
    char *o = out->data + out->len;
    size_t i = 0;
    while (i < len) {
        const char *bs = memchr(p + i, '\\', len - i);
        size_t run = bs ? (size_t)(bs - (p + i)) : len - i;
        memcpy(o, p + i, run);
        o += run;
        i += run;
        if (!bs)
            break;
        if (i + 1 >= len)
            return CAIRN_EINVAL;
        char c = p[i + 1];
        i += 2;
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            uint32_t cp;
            if (i + 4 > len || hex4(p + i, &cp))
                return CAIRN_EINVAL;
            i += 4;
            if (cp >= 0xd800 && cp < 0xdc00) {
                uint32_t lo;
                if (i + 6 <= len && p[i] == '\\' && p[i + 1] == 'u' && hex4(p + i + 2, &lo) == 0 &&
                    lo >= 0xdc00 && lo < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    i += 6;
                } else {
                    cp = 0xfffd; /* lone high surrogate, as Go's decoder does */
                }
            } else if (cp >= 0xdc00 && cp < 0xe000) {
                cp = 0xfffd;
            }
            o += cairn_utf8_encode(o, cp);
            break;
        }
        default:
            return CAIRN_EINVAL;
        }
    }
    out->len = (size_t)(o - out->data);
    out->data[out->len] = '\0';
    return 0;
}

int cairn_json_str_eq(const struct cairn_json_tok *tok, const char *s, size_t n)
{
    if (!tok->escaped)
        return tok->len == n && memcmp(tok->p, s, n) == 0;
    char tmp[256];
    struct cairn_buf b = {tmp, 0, sizeof tmp};
    /* The buffer only grows when it must; a stack buffer can't be realloc'd, so
     * compare long escaped keys the slow way. */
    if (tok->len >= sizeof tmp) {
        struct cairn_buf h = CAIRN_BUF_INIT;
        int eq = cairn_json_unescape(tok->p, tok->len, &h) == 0 && h.len == n &&
                 memcmp(h.data, s, n) == 0;
        cairn_buf_deinit(&h);
        return eq;
    }
    return cairn_json_unescape(tok->p, tok->len, &b) == 0 && b.len == n && memcmp(tmp, s, n) == 0;
}
