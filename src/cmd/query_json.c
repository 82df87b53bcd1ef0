/* query_json.c -- reprint a JSON value from the server's raw bytes, so numbers pass
 * through exactly as the server sent them (a jansson round trip turned 1796653625.134
 * into 1796653625.1340001 and 8.9e-5 into 8.8999999999999995e-5). Built on the
 * zero-copy scanner (cairn/json.h): strings and numbers are copied verbatim. */
#include <string.h>

#include "cairn/json.h"
#include "cairn/parse_json.h"
#include "cmd/query_int.h"

static int newline(struct cairn_buf *out, int indent, int depth)
{
    if (!indent)
        return 0;
    int rc = cairn_buf_append_byte(out, '\n');
    for (int i = 0; i < depth * indent && !rc; i++)
        rc = cairn_buf_append_byte(out, ' ');
    return rc;
}

int cairn__query_json_reprint(const char *p, size_t len, int indent, struct cairn_buf *out)
{
    struct cairn_json js;
    struct cairn_json_tok t;
    enum cairn_json_type ty;
    int rc = 0, need_comma = 0, after_key = 0, empty = 0;
    cairn_json_init(&js, p, len);
    while (!rc && (ty = cairn_json_next(&js, &t)) > 0) {
        int closing = ty == CAIRN_JSON_OBJECT_END || ty == CAIRN_JSON_ARRAY_END;
        if (closing) {
            if (!empty)
                rc |= newline(out, indent, cairn_json_depth(&js));
            rc |= cairn_buf_append_byte(out, ty == CAIRN_JSON_OBJECT_END ? '}' : ']');
            need_comma = 1;
            empty = 0;
            continue;
        }
        if (!after_key) {
            if (need_comma)
                rc |= cairn_buf_append_byte(out, ',');
            if (cairn_json_depth(&js) > (ty == CAIRN_JSON_OBJECT_START ||
                                         ty == CAIRN_JSON_ARRAY_START))
                rc |= newline(out, indent, cairn_json_depth(&js) -
                                               (ty == CAIRN_JSON_OBJECT_START ||
                                                ty == CAIRN_JSON_ARRAY_START));
        }
        after_key = 0;
        empty = 0;
        switch (ty) {
        case CAIRN_JSON_OBJECT_START:
        case CAIRN_JSON_ARRAY_START:
            rc |= cairn_buf_append_byte(out, ty == CAIRN_JSON_OBJECT_START ? '{' : '[');
            need_comma = 0;
            empty = 1;
            break;
        case CAIRN_JSON_KEY:
            rc |= cairn_buf_append_byte(out, '"') | cairn_buf_append(out, t.p, t.len) |
                  cairn_buf_append_str(out, indent ? "\": " : "\":");
            after_key = 1;
            need_comma = 0;
            break;
        case CAIRN_JSON_STRING:
            rc |= cairn_buf_append_byte(out, '"') | cairn_buf_append(out, t.p, t.len) |
                  cairn_buf_append_byte(out, '"');
            need_comma = 1;
            break;
        default: /* number, true, false, null: the literal as sent */
            rc |= cairn_buf_append(out, t.p, t.len);
            need_comma = 1;
            break;
        }
    }
    if (rc)
        return CAIRN_ENOMEM;
    return ty == CAIRN_JSON_EOF ? 0 : CAIRN_EINVAL;
}

int cairn__query_json_at(const char *p, size_t len, const char *path, const char **raw,
                         size_t *rawlen)
{
    struct cairn_err err = {0};
    struct cairn_jsonpath *jp = cairn_jsonpath_compile(path, strlen(path), &err);
    if (!jp)
        return CAIRN_ENOMEM;
    struct cairn_json_tok t;
    int rc = cairn_jsonpath_get(jp, p, len, &t, raw, rawlen);
    cairn_jsonpath_destroy(jp);
    return rc;
}

int cairn__query_json_each(const char *p, size_t len, cairn__query_json_elem_fn fn, void *arg)
{
    struct cairn_json js;
    struct cairn_json_tok t;
    cairn_json_init(&js, p, len);
    if (cairn_json_next(&js, &t) != CAIRN_JSON_ARRAY_START)
        return CAIRN_EINVAL;
    for (;;) {
        enum cairn_json_type ty = cairn_json_next(&js, &t);
        if (ty == CAIRN_JSON_ARRAY_END)
            return 0;
        if (ty <= 0)
            return CAIRN_EINVAL;
        const char *start = ty == CAIRN_JSON_STRING ? t.p - 1 : t.p;
        if (cairn_json_skip(&js, &t))
            return CAIRN_EINVAL;
        const char *end = ty == CAIRN_JSON_STRING ? t.p + t.len + 1 : t.p + t.len;
        if (ty == CAIRN_JSON_OBJECT_START || ty == CAIRN_JSON_ARRAY_START)
            end = js.p + js.pos;
        int rc = fn(arg, start, (size_t)(end - start));
        if (rc)
            return rc;
    }
}

static int stat_leaf(void *arg, const char *key, size_t klen, const struct cairn_json_tok *val)
{
    (void)arg;
    fprintf(stderr, "%.*s %s%.*s%s\n", (int)klen, key, val->type == CAIRN_JSON_STRING ? "\"" : "",
            (int)val->len, val->p, val->type == CAIRN_JSON_STRING ? "\"" : "");
    return 0;
}

int cairn__query_print_stats(const char *body, size_t len)
{
    const char *raw;
    size_t rawlen;
    if (cairn__query_json_at(body, len, "data.stats", &raw, &rawlen) != 1 || raw[0] != '{') {
        fprintf(stderr, "cairn query: the server sent no statistics\n");
        return 0;
    }
    struct cairn_buf key = CAIRN_BUF_INIT;
    struct cairn_err err = {0};
    int rc = cairn_json_flatten(raw, rawlen, 0, &key, stat_leaf, NULL, &err);
    cairn_buf_deinit(&key);
    return rc;
}
