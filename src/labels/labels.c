/* labels.c -- label sets: parse Loki's text form, sort, validate, print, fingerprint.
 *
 * Names and values live in one buffer per set (ls->store); the views in ls->v point
 * into it. When the buffer must grow the views are rebased, so callers only ever see
 * valid pointers. Parsing reserves enough up front (unescaping never lengthens a
 * value) that it does not reallocate mid-parse. */
#include <stdlib.h>
#include <string.h>

#include "cairn/hash.h"
#include "cairn/labels.h"
#include "cairn/text.h"

void cairn_labels_init(struct cairn_labels *ls)
{
    ls->n = 0;
    cairn_buf_init(&ls->store);
}

void cairn_labels_deinit(struct cairn_labels *ls)
{
    cairn_buf_deinit(&ls->store);
    ls->n = 0;
}

void cairn_labels_reset(struct cairn_labels *ls)
{
    ls->n = 0;
    cairn_buf_reset(&ls->store);
}

/* Grow the store by `extra`, rebasing the views if the allocation moved. */
static int store_reserve(struct cairn_labels *ls, size_t extra)
{
    char *old = ls->store.data;
    if (cairn_buf_reserve(&ls->store, extra))
        return CAIRN_ENOMEM;
    if (old && old != ls->store.data) {
        for (size_t i = 0; i < ls->n; i++) {
            ls->v[i].name = ls->store.data + (ls->v[i].name - old);
            ls->v[i].value = ls->store.data + (ls->v[i].value - old);
        }
    }
    return 0;
}

int cairn_labels_add(struct cairn_labels *ls, const char *name, size_t name_len,
                     const char *value, size_t value_len)
{
    if (ls->n >= CAIRN_LABELS_PARSE_MAX)
        return CAIRN_ELIMIT;
    if (name_len > UINT32_MAX || value_len > UINT32_MAX)
        return CAIRN_EINVAL;
    if (store_reserve(ls, name_len + value_len + 2))
        return CAIRN_ENOMEM;
    struct cairn_buf *b = &ls->store;
    char *n = b->data + b->len;
    memcpy(n, name, name_len);
    n[name_len] = '\0';
    char *v = n + name_len + 1;
    memcpy(v, value, value_len);
    v[value_len] = '\0';
    b->len += name_len + value_len + 2;
    b->data[b->len] = '\0';
    ls->v[ls->n++] = (struct cairn_label){n, v, (uint32_t)name_len, (uint32_t)value_len};
    return 0;
}

static int label_cmp(const void *a, const void *b)
{
    const struct cairn_label *x = a, *y = b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    if (c)
        return c;
    return (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

int cairn_labels_sort(struct cairn_labels *ls, struct cairn_err *err)
{
    /* Insertion sort: sets are small and usually nearly sorted already. */
    for (size_t i = 1; i < ls->n; i++) {
        struct cairn_label t = ls->v[i];
        size_t j = i;
        while (j > 0 && label_cmp(&ls->v[j - 1], &t) > 0) {
            ls->v[j] = ls->v[j - 1];
            j--;
        }
        ls->v[j] = t;
    }
    for (size_t i = 1; i < ls->n; i++) {
        if (label_cmp(&ls->v[i - 1], &ls->v[i]) == 0)
            return cairn_err_set(err, CAIRN_EINVAL, "duplicate label name: '%s'", ls->v[i].name);
    }
    return 0;
}

int cairn_labels_copy(struct cairn_labels *dst, const struct cairn_labels *src)
{
    cairn_labels_reset(dst);
    if (store_reserve(dst, src->store.len))
        return CAIRN_ENOMEM;
    for (size_t i = 0; i < src->n; i++) {
        const struct cairn_label *l = &src->v[i];
        if (cairn_labels_add(dst, l->name, l->name_len, l->value, l->value_len))
            return CAIRN_ENOMEM;
    }
    return 0;
}

const struct cairn_label *cairn_labels_get(const struct cairn_labels *ls, const char *name,
                                           size_t name_len)
{
    struct cairn_label key = {name, NULL, (uint32_t)name_len, 0};
    size_t lo = 0, hi = ls->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = label_cmp(&ls->v[mid], &key);
        if (c == 0)
            return &ls->v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int cairn_label_name_valid(const char *p, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

/* Unescape the Go/Prometheus quoted string starting after the opening quote at p[*i]
 * into o; on return *i is past the closing quote. Returns bytes written or -1. */
static long unquote(const char *p, size_t len, size_t *i, char q, char *o, const char **why)
{
    size_t k = *i;
    long n = 0;
    while (k < len && p[k] != q) {
        char c = p[k++];
        if (c == '\n') {
            *why = "newline in string";
            return -1;
        }
        if (c != '\\' || q == '`') {
            o[n++] = c;
            continue;
        }
        if (k >= len)
            break;
        c = p[k++];
        switch (c) {
        case 'n': o[n++] = '\n'; break;
        case 't': o[n++] = '\t'; break;
        case 'r': o[n++] = '\r'; break;
        case 'a': o[n++] = '\a'; break;
        case 'b': o[n++] = '\b'; break;
        case 'f': o[n++] = '\f'; break;
        case 'v': o[n++] = '\v'; break;
        case '\\': case '"': case '\'': o[n++] = c; break;
        case 'x': case 'u': case 'U': {
            int digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
            uint32_t cp = 0;
            for (int d = 0; d < digits; d++) {
                int h = k < len ? cairn_hex_digit(p[k]) : -1;
                if (h < 0) {
                    *why = "invalid escape sequence";
                    return -1;
                }
                cp = cp << 4 | (uint32_t)h;
                k++;
            }
            if (c == 'x')
                o[n++] = (char)cp;
            else if (cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000)) {
                *why = "invalid unicode escape";
                return -1;
            } else
                n += (long)cairn_utf8_encode(o + n, cp);
            break;
        }
        default:
            if (c >= '0' && c <= '7' && k + 1 < len) {
                int a = p[k] - '0', b = p[k + 1] - '0';
                if (a >= 0 && a <= 7 && b >= 0 && b <= 7) {
                    o[n++] = (char)((c - '0') << 6 | a << 3 | b);
                    k += 2;
                    break;
                }
            }
            *why = "invalid escape sequence";
            return -1;
        }
    }
    if (k >= len) {
        *why = "unterminated quoted string";
        return -1;
    }
    *i = k + 1;
    return n;
}

static void skip_ws(const char *p, size_t len, size_t *i)
{
    while (*i < len && (p[*i] == ' ' || p[*i] == '\t' || p[*i] == '\n' || p[*i] == '\r'))
        (*i)++;
}

int cairn_labels_parse(struct cairn_labels *ls, const char *p, size_t len, struct cairn_err *err)
{
    cairn_labels_reset(ls);
    if (store_reserve(ls, len + 2 * CAIRN_LABELS_PARSE_MAX + 2))
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory parsing labels");
    size_t i = 0;
    const char *why = NULL;
    skip_ws(p, len, &i);
    if (i >= len || p[i] != '{') {
        why = "expected '{'";
        goto bad;
    }
    i++;
    skip_ws(p, len, &i);
    if (i < len && p[i] == '}') {
        i++;
        goto end;
    }
    for (;;) {
        skip_ws(p, len, &i);
        size_t ns = i;
        while (i < len && (p[i] == '_' || (p[i] >= 'a' && p[i] <= 'z') ||
                           (p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9')))
            i++;
        if (i == ns || (p[ns] >= '0' && p[ns] <= '9')) {
            why = "expected label name";
            goto bad;
        }
        size_t nlen = i - ns;
        skip_ws(p, len, &i);
        if (i >= len || p[i] != '=') {
            why = "expected '=' after label name";
            goto bad;
        }
        i++;
        skip_ws(p, len, &i);
        if (i >= len || (p[i] != '"' && p[i] != '`')) {
            why = "expected quoted label value";
            goto bad;
        }
        if (ls->n >= CAIRN_LABELS_PARSE_MAX)
            return cairn_err_set(err, CAIRN_EINVAL, "too many labels (more than %d)",
                                 CAIRN_LABELS_PARSE_MAX);
        char q = p[i++];
        struct cairn_buf *b = &ls->store;
        char *name = b->data + b->len;
        memcpy(name, p + ns, nlen);
        name[nlen] = '\0';
        char *val = name + nlen + 1;
        long vlen = unquote(p, len, &i, q, val, &why);
        if (vlen < 0)
            goto bad;
        val[vlen] = '\0';
        b->len += nlen + (size_t)vlen + 2;
        ls->v[ls->n++] = (struct cairn_label){name, val, (uint32_t)nlen, (uint32_t)vlen};
        skip_ws(p, len, &i);
        if (i < len && p[i] == ',') {
            i++;
            skip_ws(p, len, &i);
            if (i < len && p[i] == '}') {
                i++;
                break;
            }
            continue;
        }
        if (i < len && p[i] == '}') {
            i++;
            break;
        }
        why = "expected ',' or '}'";
        goto bad;
    }
end:
    skip_ws(p, len, &i);
    if (i != len) {
        why = "unexpected text after '}'";
        goto bad;
    }
    ls->store.data[ls->store.len] = '\0';
    return cairn_labels_sort(ls, err);
bad:
    cairn_labels_reset(ls);
    return cairn_err_set(err, CAIRN_EINVAL, "parse error at col %zu: %s in labels %.*s", i + 1,
                         why, (int)(len > 200 ? 200 : len), p);
}

int cairn_labels_validate(const struct cairn_labels *ls, const struct cairn_labels_limits *lim,
                          struct cairn_err *err)
{
    struct cairn_buf tmp = CAIRN_BUF_INIT;
    int rc = 0;
    if (ls->n == 0)
        return cairn_err_set(err, CAIRN_EINVAL, "error at least one label pair is required per stream");
    if (ls->n > lim->max_names) {
        rc = cairn_labels_format(ls, &tmp) ? CAIRN_ENOMEM
             : cairn_err_set(err, CAIRN_EINVAL,
                             "stream '%.300s' has %zu label names; limit %u",
                             cairn_buf_cstr(&tmp), ls->n, lim->max_names);
        goto out;
    }
    for (size_t i = 0; i < ls->n; i++) {
        const struct cairn_label *l = &ls->v[i];
        if (!cairn_label_name_valid(l->name, l->name_len)) {
            rc = cairn_err_set(err, CAIRN_EINVAL, "invalid label name: '%.300s'", l->name);
            goto out;
        }
        if (l->name_len > lim->max_name_len || l->value_len > lim->max_value_len) {
            int name = l->name_len > lim->max_name_len;
            rc = cairn_labels_format(ls, &tmp) ? CAIRN_ENOMEM
                 : cairn_err_set(err, CAIRN_EINVAL,
                                 "label %s length too long: %u > %u in stream '%.300s' (label '%.100s')",
                                 name ? "name" : "value", name ? l->name_len : l->value_len,
                                 name ? lim->max_name_len : lim->max_value_len,
                                 cairn_buf_cstr(&tmp), l->name);
            goto out;
        }
    }
out:
    cairn_buf_deinit(&tmp);
    return rc;
}

int cairn_go_quote(struct cairn_buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (cairn_buf_reserve(out, n + 2))
        return CAIRN_ENOMEM;
    if (cairn_buf_append_byte(out, '"'))
        return CAIRN_ENOMEM;
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
            continue;
        if (cairn_buf_append(out, s + run, i - run))
            return CAIRN_ENOMEM;
        run = i + 1;
        char e[5] = {'\\', 0, 0, 0, 0};
        size_t el = 2;
        switch (c) {
        case '"': e[1] = '"'; break;
        case '\\': e[1] = '\\'; break;
        case '\n': e[1] = 'n'; break;
        case '\t': e[1] = 't'; break;
        case '\r': e[1] = 'r'; break;
        default: e[1] = 'x'; e[2] = hex[c >> 4]; e[3] = hex[c & 15]; el = 4;
        }
        if (cairn_buf_append(out, e, el))
            return CAIRN_ENOMEM;
    }
    if (cairn_buf_append(out, s + run, n - run) || cairn_buf_append_byte(out, '"'))
        return CAIRN_ENOMEM;
    return 0;
}

int cairn_labels_format(const struct cairn_labels *ls, struct cairn_buf *out)
{
    if (cairn_buf_append_byte(out, '{'))
        return CAIRN_ENOMEM;
    for (size_t i = 0; i < ls->n; i++) {
        const struct cairn_label *l = &ls->v[i];
        if ((i && cairn_buf_append(out, ", ", 2)) || cairn_buf_append(out, l->name, l->name_len) ||
            cairn_buf_append_byte(out, '=') || cairn_go_quote(out, l->value, l->value_len))
            return CAIRN_ENOMEM;
    }
    return cairn_buf_append_byte(out, '}');
}

int cairn_labels_format_json(const struct cairn_labels *ls, struct cairn_buf *out)
{
    if (cairn_buf_append_byte(out, '{'))
        return CAIRN_ENOMEM;
    for (size_t i = 0; i < ls->n; i++) {
        const struct cairn_label *l = &ls->v[i];
        if ((i && cairn_buf_append_byte(out, ',')) ||
            cairn_buf_append_json_str(out, l->name, l->name_len) ||
            cairn_buf_append_byte(out, ':') ||
            cairn_buf_append_json_str(out, l->value, l->value_len))
            return CAIRN_ENOMEM;
    }
    return cairn_buf_append_byte(out, '}');
}

uint64_t cairn_labels_fingerprint(const struct cairn_labels *ls)
{
    /* Hash name\xff value\xff pairs in order: '\xff' never appears in valid UTF-8,
     * so distinct sets cannot produce the same byte sequence. */
    uint64_t h = 0x9ae16a3b2f90404fULL;
    for (size_t i = 0; i < ls->n; i++) {
        h = cairn_hash64_seed(ls->v[i].name, ls->v[i].name_len, h);
        h = cairn_hash64_seed(ls->v[i].value, ls->v[i].value_len, h ^ 0xff);
    }
    return h;
}
