/* jsonpath.c -- compile JMESPath-subset paths and resolve many of them in one pass
 * over a JSON document without building it (see parse_jsonpath.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/parse_jsonpath.h"

void cairn_jsonpath_deinit(struct cairn_jsonpath *jp)
{
    for (size_t i = 0; i < jp->n; i++)
        free(jp->steps[i].key);
    free(jp->steps);
    jp->steps = NULL;
    jp->n = 0;
}

static int push_step(struct cairn_jsonpath *jp, const char *key, size_t kl, long index)
{
    void *ns = realloc(jp->steps, (jp->n + 1) * sizeof *jp->steps);
    if (!ns)
        return CAIRN_ENOMEM;
    jp->steps = ns;
    struct cairn_jsonpath_step *s = &jp->steps[jp->n];
    s->key = NULL;
    s->key_len = kl;
    s->index = index;
    if (key) {
        if (!(s->key = malloc(kl + 1)))
            return CAIRN_ENOMEM;
        memcpy(s->key, key, kl);
        s->key[kl] = '\0';
    }
    jp->n++;
    return 0;
}

/* Parse a "quoted" key at e[*i] (on the quote) into out, unescaping \" and \\. */
static int quoted(const char *e, size_t len, size_t *i, struct cairn_buf *out)
{
    size_t j = *i + 1;
    cairn_buf_reset(out);
    while (j < len && e[j] != '"') {
        char c = e[j];
        if (c == '\\' && j + 1 < len) {
            c = e[++j];
            if (c == 'n')
                c = '\n';
            else if (c == 't')
                c = '\t';
        }
        if (cairn_buf_append_byte(out, c))
            return CAIRN_ENOMEM;
        j++;
    }
    if (j >= len)
        return CAIRN_EINVAL;
    *i = j + 1;
    if (!out->data && cairn_buf_append(out, "", 0))
        return CAIRN_ENOMEM;
    return 0;
}

static int is_key_char(char c)
{
    return c != '.' && c != '[' && c != ']' && c != '"' && c != ' ' && c != '\t' && c != '\0';
}

int cairn_jsonpath_compile(struct cairn_jsonpath *jp, const char *e, size_t len,
                           struct cairn_err *err)
{
    jp->steps = NULL;
    jp->n = 0;
    struct cairn_buf key = CAIRN_BUF_INIT;
    size_t i = 0;
    int rc = 0, need_step = 1;
    while (len && (e[len - 1] == ' ' || e[len - 1] == '\t'))
        len--;
    while (i < len && (e[i] == ' ' || e[i] == '\t'))
        i++;
    if (i == len) {
        rc = CAIRN_EINVAL;
        goto bad;
    }
    while (i < len) {
        if (e[i] == '[') {
            i++;
            if (i < len && e[i] == '"') {
                if ((rc = quoted(e, len, &i, &key)))
                    goto bad;
                rc = push_step(jp, key.data, key.len, 0);
            } else {
                int neg = i < len && e[i] == '-';
                if (neg)
                    i++;
                if (i >= len || e[i] < '0' || e[i] > '9') {
                    rc = CAIRN_EINVAL;
                    goto bad;
                }
                long v = 0;
                while (i < len && e[i] >= '0' && e[i] <= '9' && v < 100000000)
                    v = v * 10 + (e[i++] - '0');
                if (neg) {
                    /* negative indexes need the array's length: not in a one-pass scan */
                    rc = CAIRN_EINVAL;
                    goto bad;
                }
                rc = push_step(jp, NULL, 0, v);
            }
            if (rc)
                goto bad;
            if (i >= len || e[i] != ']') {
                rc = CAIRN_EINVAL;
                goto bad;
            }
            i++;
            need_step = 0;
        } else if (e[i] == '.' && !need_step) {
            i++;
            need_step = 1;
            if (i >= len) {
                rc = CAIRN_EINVAL;
                goto bad;
            }
        } else if (need_step && e[i] == '"') {
            if ((rc = quoted(e, len, &i, &key)) || (rc = push_step(jp, key.data, key.len, 0)))
                goto bad;
            need_step = 0;
        } else if (need_step && is_key_char(e[i])) {
            size_t s = i;
            while (i < len && is_key_char(e[i]))
                i++;
            if ((rc = push_step(jp, e + s, i - s, 0)))
                goto bad;
            need_step = 0;
        } else {
            rc = CAIRN_EINVAL;
            goto bad;
        }
    }
    if (need_step) {
        rc = CAIRN_EINVAL;
        goto bad;
    }
    cairn_buf_deinit(&key);
    return 0;
bad:
    cairn_buf_deinit(&key);
    cairn_jsonpath_deinit(jp);
    if (rc == CAIRN_ENOMEM)
        return cairn_err_set(err, rc, "out of memory");
    return cairn_err_set(err, CAIRN_EINVAL, "invalid JSON path expression '%.*s' at col %zu",
                         (int)len, e, i + 1);
}

struct ex {
    const struct cairn_jsonpath *paths;
    size_t n;
    struct cairn_json js;
    cairn_jsonpath_fn fn;
    void *ud;
    int stop;
    uint64_t found, all; /* paths resolved so far: once all are, the rest is not scanned */
};

#define ALL_FOUND 1 /* internal: stop walking, nothing more to find */

/* The value starting with tok sits at depth d of the paths in `active`. */
static int walk(struct ex *x, const struct cairn_json_tok *tok, size_t d, uint64_t active)
{
    uint64_t ending = 0, cont = 0;
    for (size_t i = 0; i < x->n; i++) {
        if (!(active >> i & 1))
            continue;
        if (x->paths[i].n == d)
            ending |= 1ull << i;
        else
            cont |= 1ull << i;
    }
    int container = tok->type == CAIRN_JSON_OBJECT_START || tok->type == CAIRN_JSON_ARRAY_START;
    const char *start = tok->p;
    if (container && !cont) {
        if (cairn_json_skip(&x->js, tok))
            return CAIRN_EINVAL;
    } else if (tok->type == CAIRN_JSON_OBJECT_START) {
        struct cairn_json_tok k, v;
        for (;;) {
            enum cairn_json_type t = cairn_json_next(&x->js, &k);
            if (t == CAIRN_JSON_OBJECT_END)
                break;
            if (t != CAIRN_JSON_KEY)
                return CAIRN_EINVAL;
            uint64_t m = 0;
            for (size_t i = 0; i < x->n; i++) {
                if (!(cont >> i & 1))
                    continue;
                const struct cairn_jsonpath_step *s = &x->paths[i].steps[d];
                if (s->key && (k.escaped ? cairn_json_str_eq(&k, s->key, s->key_len)
                                         : (k.len == s->key_len && memcmp(k.p, s->key, k.len) == 0)))
                    m |= 1ull << i;
            }
            if (cairn_json_next(&x->js, &v) <= 0)
                return CAIRN_EINVAL;
            if (m) {
                int rc = walk(x, &v, d + 1, m);
                if (rc)
                    return rc;
            } else if (cairn_json_skip(&x->js, &v)) {
                return CAIRN_EINVAL;
            }
        }
    } else if (tok->type == CAIRN_JSON_ARRAY_START) {
        struct cairn_json_tok v;
        for (long idx = 0;; idx++) {
            enum cairn_json_type t = cairn_json_next(&x->js, &v);
            if (t == CAIRN_JSON_ARRAY_END)
                break;
            if (t <= 0)
                return CAIRN_EINVAL;
            uint64_t m = 0;
            for (size_t i = 0; i < x->n; i++) {
                if (!(cont >> i & 1))
                    continue;
                const struct cairn_jsonpath_step *s = &x->paths[i].steps[d];
                if (!s->key && s->index == idx)
                    m |= 1ull << i;
            }
            if (m) {
                int rc = walk(x, &v, d + 1, m);
                if (rc)
                    return rc;
            } else if (cairn_json_skip(&x->js, &v)) {
                return CAIRN_EINVAL;
            }
        }
    }
    if (!ending)
        return 0;
    struct cairn_json_tok out = *tok;
    if (container)
        out.len = (size_t)(x->js.p + x->js.pos - start);
    for (size_t i = 0; i < x->n; i++) {
        if (ending >> i & 1) {
            int rc = x->fn(x->ud, i, &out);
            if (rc) {
                x->stop = 1;
                return rc;
            }
            x->found |= 1ull << i;
        }
    }
    return x->found == x->all ? ALL_FOUND : 0;
}

int cairn_jsonpath_extract(const struct cairn_jsonpath *paths, size_t n, const char *doc,
                           size_t len, cairn_jsonpath_fn fn, void *ud, struct cairn_err *err)
{
    if (n > CAIRN_JSONPATH_MAX)
        return cairn_err_set(err, CAIRN_EINVAL, "more than %d JSON paths", CAIRN_JSONPATH_MAX);
    struct ex x = {paths, n, {0}, fn, ud, 0, 0, 0};
    cairn_json_init(&x.js, doc, len);
    struct cairn_json_tok tok;
    if (cairn_json_next(&x.js, &tok) <= 0)
        return cairn_json_error(&x.js, err);
    uint64_t all = n == 64 ? ~0ull : (1ull << n) - 1;
    /* zero-step paths do not exist (compile refuses them), so depth 0 never ends one */
    if (tok.type != CAIRN_JSON_OBJECT_START && tok.type != CAIRN_JSON_ARRAY_START)
        all = 0; /* a scalar document resolves no path */
    x.all = all;
    int rc = walk(&x, &tok, 0, all);
    if (rc && x.stop)
        return rc;
    if (rc == ALL_FOUND)
        return 0;
    if (rc || cairn_json_next(&x.js, &tok) != CAIRN_JSON_EOF)
        return cairn_json_error(&x.js, err);
    return 0;
}
