/* logfmt.c -- the logfmt scanner: keys are runs of bytes above space without `=`
 * or `"`; values are bare runs or Go-quoted strings; a key alone is a flag. */
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

int cairn_logfmt_next(struct cairn_logfmt *it, struct cairn_logfmt_pair *pr)
{
    const unsigned char *p = (const unsigned char *)it->p;
    size_t len = it->len;
    while (it->pos < len && p[it->pos] <= ' ')
        it->pos++;
    if (it->pos >= len)
        return 0;
    size_t ks = it->pos;
    while (it->pos < len && p[it->pos] > ' ' && p[it->pos] != '=' && p[it->pos] != '"')
        it->pos++;
    if (it->pos == ks)
        return fail(it, p[it->pos] == '=' ? "unexpected '='" : "unexpected '\"'");
    if (it->pos < len && p[it->pos] == '"')
        return fail(it, "unexpected '\"'");
    memset(pr, 0, sizeof(*pr));
    pr->key = it->p + ks;
    pr->key_len = it->pos - ks;
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
        it->pos++;
        if (it->pos < len && p[it->pos] > ' ')
            return fail(it, "unexpected character after quoted value");
        return 1;
    }
    size_t vs = it->pos;
    while (it->pos < len && p[it->pos] > ' ') {
        if (p[it->pos] == '"' || p[it->pos] == '=')
            return fail(it, p[it->pos] == '"' ? "unexpected '\"'" : "unexpected '='");
        it->pos++;
    }
    pr->val = it->p + vs;
    pr->val_len = it->pos - vs;
    return 1;
}

void cairn_logfmt_recover(struct cairn_logfmt *it)
{
    while (it->pos < it->len && (unsigned char)it->p[it->pos] > ' ')
        it->pos++;
}

int cairn_logfmt_value(const struct cairn_logfmt_pair *pr, struct cairn_buf *out)
{
    if (!pr->quoted)
        return cairn_buf_append(out, pr->val, pr->val_len);
    const char *p = pr->val;
    size_t n = pr->val_len;
    if (cairn_buf_reserve(out, n))
        return CAIRN_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c != '\\' || i + 1 >= n) {
            out->data[out->len++] = c;
            continue;
        }
        c = p[++i];
        switch (c) {
        case 'n': c = '\n'; break;
        case 't': c = '\t'; break;
        case 'r': c = '\r'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case '"': case '\\': case '/': break;
        case 'u':
            if (i + 4 < n && cairn_hex_digit(p[i + 1]) >= 0 && cairn_hex_digit(p[i + 2]) >= 0 && cairn_hex_digit(p[i + 3]) >= 0 &&
                cairn_hex_digit(p[i + 4]) >= 0) {
                unsigned cp = (unsigned)(cairn_hex_digit(p[i + 1]) << 12 | cairn_hex_digit(p[i + 2]) << 8 |
                                         cairn_hex_digit(p[i + 3]) << 4 | cairn_hex_digit(p[i + 4]));
                i += 4;
                if (cp < 0x80) {
                    out->data[out->len++] = (char)cp;
                } else if (cp < 0x800) {
                    out->data[out->len++] = (char)(0xC0 | (cp >> 6));
                    out->data[out->len++] = (char)(0x80 | (cp & 0x3F));
                } else {
                    out->data[out->len++] = (char)(0xE0 | (cp >> 12));
                    out->data[out->len++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                    out->data[out->len++] = (char)(0x80 | (cp & 0x3F));
                }
                continue;
            }
            out->data[out->len] = '\0';
            return CAIRN_EINVAL;
        default:
            out->data[out->len++] = '\\';
        }
        out->data[out->len++] = c;
    }
    out->data[out->len] = '\0';
    return 0;
}
