/* json_extract.c -- flatten JSON objects to label-like keys and evaluate JSON path
 * expressions, both on the zero-copy scanner: no tree is built. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/parse_json.h"

/* Bytes kept as they are in a label name; everything else becomes '_'. */
static const unsigned char name_ok[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1, ['_'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
    ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
    ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
    ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
    ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
};

/* Is p[0..len) (len <= n) one well-formed UTF-8 sequence? */
static int utf8_seq_ok(const char *s, size_t n, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    if (len > n)
        return 0;
    for (size_t j = 1; j < len; j++)
        if ((p[j] & 0xC0) != 0x80)
            return 0;
    if (len == 3 && ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0)))
        return 0; /* overlong, surrogate */
    if (len == 4 && ((p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90)))
        return 0; /* overlong, past U+10FFFF */
    return 1;
}

/* Length of the unicode.IsSpace rune starting at p[0..n), or 0. */
static size_t space_at(const unsigned char *p, size_t n)
{
    if (n && (p[0] == ' ' || (p[0] >= '\t' && p[0] <= '\r')))
        return 1;
    if (n >= 2 && p[0] == 0xC2 && (p[1] == 0x85 || p[1] == 0xA0))
        return 2;
    if (n >= 3 && p[0] == 0xE1 && p[1] == 0x9A && p[2] == 0x80) /* U+1680 */
        return 3;
    if (n >= 3 && p[0] == 0xE2 && p[1] == 0x80 && (p[2] <= 0x8A || p[2] == 0xA8 || p[2] == 0xA9 || p[2] == 0xAF))
        return 3; /* U+2000..200A, U+2028, U+2029, U+202F */
    if (n >= 3 && p[0] == 0xE2 && p[1] == 0x81 && p[2] == 0x9F) /* U+205F */
        return 3;
    if (n >= 3 && p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) /* U+3000 */
        return 3;
    return 0;
}

/* Length of the space rune ending at p[n], or 0. */
static size_t space_before(const unsigned char *p, size_t n)
{
    for (size_t w = 1; w <= 3 && w <= n; w++)
        if (space_at(p + n - w, w) == w)
            return w;
    return 0;
}

int cairn_json_sanitize_key(struct cairn_buf *out, const char *k, size_t n, int first)
{
    /* Loki trims the key (Go's strings.TrimSpace) before sanitising it. */
    size_t w;
    const unsigned char *u = (const unsigned char *)k;
    if (n && (u[0] <= ' ' || u[0] >= 0x80)) /* only those can start a space */
        while ((w = space_at((const unsigned char *)k, n))) {
            k += w;
            n -= w;
        }
    u = (const unsigned char *)k;
    if (n && (u[n - 1] <= ' ' || u[n - 1] >= 0x80))
        while ((w = space_before((const unsigned char *)k, n)))
            n -= w;
    if (!n)
        return 0;
    if (cairn_buf_reserve(out, n + 1))
        return CAIRN_ENOMEM;
    char *o = out->data + out->len;
    if (first && k[0] >= '0' && k[0] <= '9')
        *o++ = '_';
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)k[i];
        if (name_ok[c]) {
            *o++ = (char)c;
            i++;
            continue;
        }
        /* one '_' per rune, as Go's strings.Map: a valid sequence is one rune, each
         * byte of an invalid one is a RuneError of its own */
        size_t len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 1;
        if (len > 1 && utf8_seq_ok(k + i, n - i, len))
            i += len;
        else
            i++;
        *o++ = '_';
    }
    out->len = (size_t)(o - out->data);
    out->data[out->len] = '\0';
    return 0;
}

int cairn_json_flatten(const char *p, size_t len, int sanitize, struct cairn_buf *key,
                       cairn_json_leaf_fn fn, void *arg, struct cairn_err *err)
{
    struct cairn_json js;
    struct cairn_json_tok t;
    size_t marks[CAIRN_JSON_MAX_DEPTH + 1];
    struct cairn_buf tmp = CAIRN_BUF_INIT;
    int rc = 0;
    cairn_json_init(&js, p, len);
    cairn_buf_reset(key);
    if (cairn_json_next(&js, &t) != CAIRN_JSON_OBJECT_START) {
        if (t.type == CAIRN_JSON_ERROR)
            return cairn_json_error(&js, err);
        return cairn_err_set(err, CAIRN_EINVAL, "expected a JSON object");
    }
    marks[1] = 0;
    for (;;) {
        enum cairn_json_type ty = cairn_json_next(&js, &t);
        if (ty == CAIRN_JSON_ERROR) {
            rc = cairn_json_error(&js, err);
            break;
        }
        if (ty == CAIRN_JSON_EOF)
            break;
        if (ty == CAIRN_JSON_OBJECT_END) {
            int d = cairn_json_depth(&js);
            if (d >= 1)
                cairn_buf_truncate(key, marks[d]);
            continue;
        }
        if (ty != CAIRN_JSON_KEY) {
            rc = cairn_err_set(err, CAIRN_EINVAL, "invalid JSON");
            break;
        }
        int d = cairn_json_depth(&js);
        cairn_buf_truncate(key, marks[d]);
        if (key->len && cairn_buf_append_byte(key, '_')) {
            rc = CAIRN_ENOMEM;
            break;
        }
        const char *k = t.p;
        size_t kl = t.len;
        if (t.escaped) {
            cairn_buf_reset(&tmp);
            if ((rc = cairn_json_unescape(t.p, t.len, &tmp)))
                break;
            k = tmp.data ? tmp.data : "";
            kl = tmp.len;
        }
        rc = sanitize ? cairn_json_sanitize_key(key, k, kl, marks[d] == 0)
                      : cairn_buf_append(key, k, kl);
        if (rc)
            break;
        struct cairn_json_tok v;
        ty = cairn_json_next(&js, &v);
        if (ty == CAIRN_JSON_ERROR) {
            rc = cairn_json_error(&js, err);
            break;
        }
        if (ty == CAIRN_JSON_OBJECT_START) {
            marks[cairn_json_depth(&js)] = key->len;
            continue;
        }
        if (ty == CAIRN_JSON_ARRAY_START) {
            if (cairn_json_skip(&js, &v)) {
                rc = cairn_json_error(&js, err);
                break;
            }
            continue;
        }
        if ((rc = fn(arg, key->data ? key->data : "", key->len, &v)))
            break;
    }
    cairn_buf_deinit(&tmp);
    return rc;
}

/* ---- paths ---- */

struct jp_seg {
    int is_index;
    long index;
    char *key;
    size_t klen;
};

struct cairn_jsonpath {
    struct jp_seg *v;
    size_t n;
};

void cairn_jsonpath_destroy(struct cairn_jsonpath *jp)
{
    if (!jp)
        return;
    for (size_t i = 0; i < jp->n; i++)
        free(jp->v[i].key);
    free(jp->v);
    free(jp);
}

static int add_seg(struct cairn_jsonpath *jp, int is_index, long idx, const char *k, size_t kl)
{
    struct jp_seg *nv = realloc(jp->v, (jp->n + 1) * sizeof(*nv));
    if (!nv)
        return CAIRN_ENOMEM;
    jp->v = nv;
    struct jp_seg *s = &jp->v[jp->n];
    memset(s, 0, sizeof(*s));
    s->is_index = is_index;
    s->index = idx;
    if (!is_index) {
        if (!(s->key = malloc(kl + 1)))
            return CAIRN_ENOMEM;
        memcpy(s->key, k, kl);
        s->key[kl] = '\0';
        s->klen = kl;
    }
    jp->n++;
    return 0;
}

struct cairn_jsonpath *cairn_jsonpath_compile(const char *e, size_t len, struct cairn_err *err)
{
    struct cairn_jsonpath *jp = calloc(1, sizeof(*jp));
    if (!jp) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    size_t i = 0;
    int rc = 0, need_field = 1;
    while (i < len && !rc) {
        if (e[i] == '[') {
            i++;
            if (i < len && (e[i] == '"' || e[i] == '\'')) {
                char q = e[i++];
                size_t s = i;
                while (i < len && e[i] != q)
                    i++;
                if (i + 1 >= len || e[i + 1] != ']')
                    goto bad;
                rc = add_seg(jp, 0, 0, e + s, i - s);
                i += 2;
            } else {
                long v = 0;
                size_t s = i;
                while (i < len && isdigit((unsigned char)e[i])) {
                    if (v <= 1000000) /* past the cap the index is refused below */
                        v = v * 10 + (e[i] - '0');
                    i++;
                }
                if (i == s || i >= len || e[i] != ']' || v > 1000000)
                    goto bad;
                rc = add_seg(jp, 1, v, NULL, 0);
                i++;
            }
            need_field = 0;
            continue;
        }
        if (e[i] == '.') {
            if (need_field)
                goto bad;
            i++;
            need_field = 1;
            if (i >= len)
                goto bad;
            continue;
        }
        if (!need_field && jp->n)
            goto bad;
        size_t s = i;
        while (i < len && e[i] != '.' && e[i] != '[' && e[i] != ']' && e[i] != '"' && e[i] != ' ')
            i++;
        if (i == s)
            goto bad;
        rc = add_seg(jp, 0, 0, e + s, i - s);
        need_field = 0;
    }
    if (rc) {
        cairn_jsonpath_destroy(jp);
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    if (!jp->n || need_field)
        goto bad;
    return jp;
bad:
    cairn_jsonpath_destroy(jp);
    cairn_err_set(err, CAIRN_EINVAL, "cannot parse JSON expression: %.*s", (int)(len > 100 ? 100 : len), e);
    return NULL;
}

int cairn_jsonpath_get(const struct cairn_jsonpath *jp, const char *p, size_t len,
                       struct cairn_json_tok *val, const char **raw, size_t *rawlen)
{
    struct cairn_json js;
    struct cairn_json_tok t;
    cairn_json_init(&js, p, len);
    enum cairn_json_type ty = cairn_json_next(&js, &t);
    for (size_t si = 0; si < jp->n; si++) {
        const struct jp_seg *sg = &jp->v[si];
        if (ty == CAIRN_JSON_ERROR)
            return CAIRN_EINVAL;
        if (sg->is_index) {
            if (ty != CAIRN_JSON_ARRAY_START)
                return 0;
            long i = 0;
            for (;;) {
                ty = cairn_json_next(&js, &t);
                if (ty == CAIRN_JSON_ERROR)
                    return CAIRN_EINVAL;
                if (ty == CAIRN_JSON_ARRAY_END)
                    return 0;
                if (i == sg->index)
                    break;
                if (cairn_json_skip(&js, &t))
                    return CAIRN_EINVAL;
                i++;
            }
        } else {
            if (ty != CAIRN_JSON_OBJECT_START)
                return 0;
            for (;;) {
                ty = cairn_json_next(&js, &t);
                if (ty == CAIRN_JSON_ERROR)
                    return CAIRN_EINVAL;
                if (ty == CAIRN_JSON_OBJECT_END)
                    return 0;
                int eq = cairn_json_str_eq(&t, sg->key, sg->klen);
                ty = cairn_json_next(&js, &t);
                if (ty == CAIRN_JSON_ERROR)
                    return CAIRN_EINVAL;
                if (eq)
                    break;
                if (cairn_json_skip(&js, &t))
                    return CAIRN_EINVAL;
            }
        }
    }
    *val = t;
    if (ty == CAIRN_JSON_OBJECT_START || ty == CAIRN_JSON_ARRAY_START) {
        const char *start = t.p;
        if (cairn_json_skip(&js, &t))
            return CAIRN_EINVAL;
        *raw = start;
        *rawlen = (size_t)(js.p + js.pos - start);
    } else {
        *raw = t.p;
        *rawlen = t.len;
    }
    return 1;
}
