/* template_json.c -- sprig's fromJson and Go's index builtin: a decoded JSON object
 * or array is kept as its raw text (TV_JSON) and printed as Go's %v prints the
 * map[string]interface{} / []interface{} encoding/json gives (maps with sorted keys,
 * numbers as float64, null inside as <nil>). */
#include <stdlib.h>
#include <string.h>

#include "cairn/json.h"
#include "cairn/parse_template.h"
#include "parse/template_fn.h"

/* The value at the scanner's current token t (its first token) as a template value:
 * strings unescaped into scratch, numbers float64, objects and arrays raw text. */
static int tok_value(struct texec *x, struct cairn_json *js, struct cairn_json_tok *t,
                     struct tval *out)
{
    switch (t->type) {
    case CAIRN_JSON_STRING: {
        if (!t->escaped) {
            *out = cairn__tpl_str(t->p, t->len);
            return 0;
        }
        struct cairn_buf b = CAIRN_BUF_INIT;
        if (cairn_json_unescape(t->p, t->len, &b)) {
            cairn_buf_deinit(&b);
            return cairn__tpl_fail(x, "invalid JSON string");
        }
        char *p = cairn__tpl_scratch(x, b.len);
        if (p && b.len)
            memcpy(p, b.data, b.len);
        *out = cairn__tpl_str(p ? p : "", b.len);
        cairn_buf_deinit(&b);
        return p ? 0 : -1;
    }
    case CAIRN_JSON_NUMBER: {
        char buf[64];
        size_t n = t->len < sizeof(buf) - 1 ? t->len : sizeof(buf) - 1;
        memcpy(buf, t->p, n);
        buf[n] = '\0';
        *out = (struct tval){.t = TV_FLOAT, .f = strtod(buf, NULL)};
        return 0;
    }
    case CAIRN_JSON_TRUE: *out = (struct tval){.t = TV_BOOL, .i = 1}; return 0;
    case CAIRN_JSON_FALSE: *out = (struct tval){.t = TV_BOOL, .i = 0}; return 0;
    case CAIRN_JSON_NULL: *out = (struct tval){.t = TV_NIL}; return 0;
    case CAIRN_JSON_OBJECT_START:
    case CAIRN_JSON_ARRAY_START: {
        const char *start = t->p;
        if (cairn_json_skip(js, t))
            return cairn__tpl_fail(x, "invalid JSON");
        *out = (struct tval){.t = TV_JSON, .s = start, .len = (size_t)(js->p + js->pos - start)};
        return 0;
    }
    default:
        return cairn__tpl_fail(x, "invalid JSON");
    }
}

/* sprig fromJson: json.Unmarshal into interface{}; on any error the result is nil. */
TPL_FN(f_fromJson)
{
    (void)call;
    (void)n;
    STR(0, s, l);
    struct cairn_json js;
    struct cairn_json_tok t, end;
    cairn_json_init(&js, s, l);
    if (cairn_json_next(&js, &t) <= 0)
        goto nil;
    const char *start = t.p;
    if (t.type == CAIRN_JSON_OBJECT_START || t.type == CAIRN_JSON_ARRAY_START) {
        if (cairn_json_skip(&js, &t))
            goto nil;
        if (cairn_json_next(&js, &end) != CAIRN_JSON_EOF)
            goto nil;
        *out = (struct tval){.t = TV_JSON, .s = start, .len = (size_t)(js.p + js.pos - start)};
        return 0;
    }
    if (cairn_json_next(&js, &end) != CAIRN_JSON_EOF)
        goto nil;
    return tok_value(x, &js, &t, out);
nil:
    *out = (struct tval){.t = TV_NIL};
    return 0;
}

/* Go's index: each index applies to the result of the previous one. */
TPL_FN(f_index)
{
    (void)call;
    struct tval cur = a[0];
    for (int i = 1; i < n; i++) {
        if (cur.t == TV_NIL)
            return cairn__tpl_fail(x, "index of untyped nil");
        if (cur.t == TV_STR) {
            int64_t k;
            if (cairn__tpl_to_int(&a[i], &k) || a[i].t == TV_STR)
                return cairn__tpl_fail(x, "cannot index slice/array with type %s",
                                       a[i].t == TV_STR ? "string" : "float64");
            if (k < 0 || (uint64_t)k >= cur.len)
                return cairn__tpl_fail(x, "index out of range: %lld", (long long)k);
            cur = (struct tval){.t = TV_INT, .i = (unsigned char)cur.s[k]};
            continue;
        }
        if (cur.t != TV_JSON)
            return cairn__tpl_fail(x, "can't index item of type %s",
                                   cur.t == TV_INT ? "int" : cur.t == TV_FLOAT ? "float64"
                                   : cur.t == TV_BOOL ? "bool" : "time.Time");
        struct cairn_json js;
        struct cairn_json_tok t;
        cairn_json_init(&js, cur.s, cur.len);
        enum cairn_json_type ty = cairn_json_next(&js, &t);
        if (ty == CAIRN_JSON_OBJECT_START) {
            const char *k;
            size_t kl;
            if (a[i].t != TV_STR)
                return cairn__tpl_fail(x, "value has type %s; should be string",
                                       a[i].t == TV_INT ? "int" : "float64");
            k = a[i].s;
            kl = a[i].len;
            struct tval found = {.t = TV_NIL}; /* a missing key: the element's zero value */
            for (;;) {
                if (cairn_json_next(&js, &t) != CAIRN_JSON_KEY)
                    break;
                int eq = cairn_json_str_eq(&t, k, kl);
                if (cairn_json_next(&js, &t) <= 0)
                    break;
                if (eq) { /* the last duplicate wins, as in encoding/json */
                    if (tok_value(x, &js, &t, &found))
                        return -1;
                } else if (cairn_json_skip(&js, &t)) {
                    break;
                }
            }
            cur = found;
            continue;
        }
        int64_t k;
        if (a[i].t == TV_STR || cairn__tpl_to_int(&a[i], &k))
            return cairn__tpl_fail(x, "cannot index slice/array with type %s",
                                   a[i].t == TV_STR ? "string" : "float64");
        int64_t j = 0;
        int hit = 0;
        for (;;) {
            if (cairn_json_next(&js, &t) <= 0 || t.type == CAIRN_JSON_ARRAY_END)
                break;
            if (j == k) {
                if (tok_value(x, &js, &t, &cur))
                    return -1;
                hit = 1;
                break;
            }
            if (cairn_json_skip(&js, &t))
                break;
            j++;
        }
        if (!hit)
            return cairn__tpl_fail(x, "index out of range: %lld", (long long)k);
    }
    *out = cur;
    return 0;
}

int64_t cairn__tpl_json_len(const struct tval *v)
{
    struct cairn_json js;
    struct cairn_json_tok t;
    int64_t n = 0;
    cairn_json_init(&js, v->s, v->len);
    enum cairn_json_type open = cairn_json_next(&js, &t);
    for (;;) {
        enum cairn_json_type ty = cairn_json_next(&js, &t);
        if (ty <= 0 || ty == CAIRN_JSON_OBJECT_END || ty == CAIRN_JSON_ARRAY_END)
            break;
        if (open == CAIRN_JSON_OBJECT_START && (ty != CAIRN_JSON_KEY || cairn_json_next(&js, &t) <= 0))
            break;
        if (cairn_json_skip(&js, &t))
            break;
        n++; /* duplicate keys count once in Go's map: close enough to not track */
    }
    return n;
}

/* ---- printing: Go's %v of the decoded value ---- */

struct member {
    const char *k; /* unescaped key (in the keys buffer, set once it stops growing) */
    size_t kl, koff;
    size_t off;    /* offset of the value in the text */
};

static int print_value(struct cairn_buf *b, const char *p, size_t len, int depth);

static int cmp_key(const char *a, size_t al, const char *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = memcmp(a, b, n);
    return c ? c : (al > bl) - (al < bl);
}

static int print_scalar(struct cairn_buf *b, const struct cairn_json_tok *t)
{
    switch (t->type) {
    case CAIRN_JSON_STRING:
        return t->escaped ? cairn_json_unescape(t->p, t->len, b) : cairn_buf_append(b, t->p, t->len);
    case CAIRN_JSON_NUMBER: {
        char buf[64];
        size_t n = t->len < sizeof(buf) - 1 ? t->len : sizeof(buf) - 1;
        memcpy(buf, t->p, n);
        buf[n] = '\0';
        return cairn_go_format_float(b, strtod(buf, NULL));
    }
    case CAIRN_JSON_TRUE: return cairn_buf_append_str(b, "true");
    case CAIRN_JSON_FALSE: return cairn_buf_append_str(b, "false");
    default: return cairn_buf_append_str(b, "<nil>");
    }
}

/* Print the JSON value starting at p (an object or array, already validated). */
static int print_value(struct cairn_buf *b, const char *p, size_t len, int depth)
{
    struct cairn_json js;
    struct cairn_json_tok t;
    if (depth > 64)
        return CAIRN_EINVAL;
    cairn_json_init(&js, p, len);
    enum cairn_json_type ty = cairn_json_next(&js, &t);
    int rc = 0;
    if (ty == CAIRN_JSON_ARRAY_START) {
        rc |= cairn_buf_append_byte(b, '[');
        for (int first = 1;; first = 0) {
            if (cairn_json_next(&js, &t) <= 0 || t.type == CAIRN_JSON_ARRAY_END)
                break;
            if (!first)
                rc |= cairn_buf_append_byte(b, ' ');
            if (t.type == CAIRN_JSON_OBJECT_START || t.type == CAIRN_JSON_ARRAY_START) {
                const char *s = t.p;
                if (cairn_json_skip(&js, &t))
                    return CAIRN_EINVAL;
                rc |= print_value(b, s, (size_t)(js.p + js.pos - s), depth + 1);
            } else {
                rc |= print_scalar(b, &t);
            }
        }
        return rc | cairn_buf_append_byte(b, ']');
    }
    /* object: collect the members, sort by (unescaped) key, last duplicate wins */
    struct member *m = NULL;
    size_t nm = 0, cap = 0;
    struct cairn_buf keys = CAIRN_BUF_INIT;
    for (;;) {
        if (cairn_json_next(&js, &t) != CAIRN_JSON_KEY)
            break;
        size_t koff = keys.len;
        if (t.escaped ? cairn_json_unescape(t.p, t.len, &keys) : cairn_buf_append(&keys, t.p, t.len)) {
            rc = CAIRN_ENOMEM;
            break;
        }
        struct cairn_json_tok v;
        if (cairn_json_next(&js, &v) <= 0)
            break;
        size_t voff = (size_t)(v.p - p);
        if (v.type == CAIRN_JSON_STRING)
            voff--; /* v.p is past the opening quote */
        if (cairn_json_skip(&js, &v))
            break;
        if (nm == cap) {
            cap = cap ? cap * 2 : 8;
            struct member *nmv = realloc(m, cap * sizeof(*m));
            if (!nmv) {
                rc = CAIRN_ENOMEM;
                break;
            }
            m = nmv;
        }
        m[nm++] = (struct member){.k = NULL, .kl = keys.len - koff, .off = voff, .koff = koff};
    }
    for (size_t i = 0; i < nm; i++)
        m[i].k = keys.data + m[i].koff;
    /* insertion sort, stable: equal keys keep their order, the last one is printed */
    for (size_t i = 1; i < nm; i++)
        for (size_t j = i; j > 0 && cmp_key(m[j - 1].k, m[j - 1].kl, m[j].k, m[j].kl) > 0; j--) {
            struct member tmp = m[j];
            m[j] = m[j - 1];
            m[j - 1] = tmp;
        }
    rc |= cairn_buf_append_str(b, "map[");
    int first = 1;
    for (size_t i = 0; i < nm && !rc; i++) {
        if (i + 1 < nm && cmp_key(m[i].k, m[i].kl, m[i + 1].k, m[i + 1].kl) == 0)
            continue;
        if (!first)
            rc |= cairn_buf_append_byte(b, ' ');
        first = 0;
        rc |= cairn_buf_append(b, m[i].k, m[i].kl);
        rc |= cairn_buf_append_byte(b, ':');
        struct cairn_json vj;
        struct cairn_json_tok vt;
        cairn_json_init(&vj, p + m[i].off, len - m[i].off);
        cairn_json_next(&vj, &vt);
        if (vt.type == CAIRN_JSON_OBJECT_START || vt.type == CAIRN_JSON_ARRAY_START) {
            const char *s = vt.p;
            if (cairn_json_skip(&vj, &vt)) {
                rc = CAIRN_EINVAL;
                break;
            }
            rc |= print_value(b, s, (size_t)(vj.p + vj.pos - s), depth + 1);
        } else {
            rc |= print_scalar(b, &vt);
        }
    }
    free(m);
    cairn_buf_deinit(&keys);
    return rc | cairn_buf_append_byte(b, ']');
}

int cairn__tpl_json_print(struct cairn_buf *b, const char *p, size_t len)
{
    return print_value(b, p, len, 0);
}
