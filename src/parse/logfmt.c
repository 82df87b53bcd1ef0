/* logfmt.c -- the logfmt scanner: keys are runs of bytes above space without `=`
 * or `"`; values are bare runs or Go-quoted strings; a key alone is a flag. The
 * tokens, error positions and messages are those of go-logfmt's decoder (which
 * Loki's and Promtail's logfmt parsers use): nothing is checked after a closing
 * quote, a key holding invalid UTF-8 is an "invalid key", and quoted values
 * unescape as encoding/json strings do (an unknown escape is an error). */
#include <stdint.h>
#include <string.h>

#include "cairn/error.h"
#include "cairn/parse_logfmt.h"
#include "cairn/text.h"

void cairn_logfmt_init(struct cairn_logfmt *it, const char *p, size_t len)
{
    it->p = p;
    it->len = len;
    it->pos = 0;
    it->why = NULL;
    it->err_pos = 0;
}

static int fail(struct cairn_logfmt *it, const char *why)
{
    it->why = why;
    it->err_pos = it->pos + 1;
    return -1;
}

/* Does s[0..n) hold invalid UTF-8 or U+FFFD (what Go's ContainsRune(RuneError) sees)? */
int cairn_logfmt_has_rune_error(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    /* ASCII is the common case: skip it eight bytes at a time */
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w & 0x8080808080808080ULL)
            break;
    }
    while (i < n) {
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k = c >= 0xF5 ? 0 : c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC2 ? 1 : 0;
        if (!k || n - i <= k)
            return 1;
        uint32_t cp = c & (0x3Fu >> k);
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xC0) != 0x80)
                return 1;
            cp = cp << 6 | (p[i + j] & 0x3F);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0xFFFD)
            return 1;
        i += k + 1;
    }
    return 0;
}

int cairn_logfmt_next(struct cairn_logfmt *it, struct cairn_logfmt_pair *pr)
{
    const unsigned char *p = (const unsigned char *)it->p;
    size_t len = it->len;
    while (it->pos < len && p[it->pos] <= ' ')
        it->pos++;
    if (it->pos >= len)
        return 0;
    size_t ks = it->pos;
    unsigned hi = 0;
    while (it->pos < len && p[it->pos] > ' ' && p[it->pos] != '=' && p[it->pos] != '"')
        hi |= p[it->pos++];
    if (it->pos == ks)
        return fail(it, p[it->pos] == '=' ? "unexpected '='" : "unexpected '\"'");
    if (it->pos < len && p[it->pos] == '"')
        return fail(it, "unexpected '\"'");
    memset(pr, 0, sizeof(*pr));
    pr->key = it->p + ks;
    pr->key_len = it->pos - ks;
    if ((hi & 0x80) && cairn_logfmt_has_rune_error(pr->key, pr->key_len))
        return fail(it, "invalid key");
    if (it->pos >= len || p[it->pos] != '=') {
        pr->bare = 1;
        pr->val = it->p + it->pos;
        return 1;
    }
    it->pos++; /* '=' */
    if (it->pos < len && p[it->pos] == '"') {
        size_t vs = ++it->pos;
        while (it->pos < len && p[it->pos] != '"') {
            if (p[it->pos] == '\\')
                it->pos++;
            it->pos++;
        }
        if (it->pos >= len) {
            it->pos = len;
            return fail(it, "unterminated quoted value");
        }
        pr->val = it->p + vs;
        pr->val_len = it->pos - vs;
        pr->quoted = memchr(pr->val, '\\', pr->val_len) != NULL;
        pr->hi = 1; /* quoted: rarely hot enough to track */
        it->pos++;
        return 1;
    }
    size_t vs = it->pos;
    hi = 0;
    while (it->pos < len && p[it->pos] > ' ') {
        if (p[it->pos] == '"' || p[it->pos] == '=')
            return fail(it, p[it->pos] == '"' ? "unexpected '\"'" : "unexpected '='");
        hi |= p[it->pos++];
    }
    pr->hi = (hi & 0x80) != 0;
    pr->val = it->p + vs;
    pr->val_len = it->pos - vs;
    return 1;
}

void cairn_logfmt_recover(struct cairn_logfmt *it)
{
    while (it->pos < it->len && (unsigned char)it->p[it->pos] > ' ')
        it->pos++;
}

static int hex4(const char *p, size_t n, size_t i, uint32_t *cp)
{
    if (i + 6 > n || p[i] != '\\' || p[i + 1] != 'u')
        return -1;
    uint32_t v = 0;
    for (size_t j = 2; j < 6; j++) {
        int d = cairn_hex_digit(p[i + j]);
        if (d < 0)
            return -1;
        v = v << 4 | (uint32_t)d;
    }
    *cp = v;
    return 0;
}

int cairn_logfmt_value(const struct cairn_logfmt_pair *pr, struct cairn_buf *out)
{
    if (!pr->quoted)
        return cairn_buf_append(out, pr->val, pr->val_len);
    const char *p = pr->val;
    size_t n = pr->val_len, start = out->len;
    if (cairn_buf_reserve(out, n + 4))
        return CAIRN_ENOMEM;
    for (size_t i = 0; i < n;) {
        char c = p[i];
        if (c != '\\') {
            out->data[out->len++] = c;
            i++;
            continue;
        }
        if (i + 1 >= n)
            goto bad;
        char e = p[i + 1];
        switch (e) {
        case '"': case '\\': case '/': case '\'': c = e; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (hex4(p, n, i, &cp))
                goto bad;
            i += 6;
            if (cp >= 0xD800 && cp < 0xE000) {
                /* a valid surrogate pair is one rune, anything else U+FFFD */
                if (cp < 0xDC00 && !hex4(p, n, i, &lo) && lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    i += 6;
                } else {
                    cp = 0xFFFD;
                }
            }
            out->len += cairn_utf8_encode(out->data + out->len, cp);
            continue;
        }
        default:
            goto bad;
        }
        out->data[out->len++] = c;
        i += 2;
    }
    out->data[out->len] = '\0';
    return 0;
bad:
    out->len = start;
    if (out->data)
        out->data[out->len] = '\0';
    return CAIRN_EINVAL;
}
