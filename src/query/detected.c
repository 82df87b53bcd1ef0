/* detected.c -- what Grafana's Logs Drilldown asks of a selection, in Loki 3's shapes:
 * detected labels (stream label names with their number of values, leaving out labels
 * whose values are all numbers or UUIDs, as Loki does, but for cluster, namespace,
 * instance and pod), and detected fields (keys found in the newest lines by the json
 * parser, else logfmt, with a type, the parsers that found them and their number of
 * distinct values), or one field's distinct values. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cairn/json.h"
#include "cairn/parse_json.h"
#include "cairn/parse_logfmt.h"
#include "cairn/parse_units.h"
#include "cairn/store_read.h"
#include "cairn/strmap.h"
#include "cairn/text.h"
#include "cairn/units.h"
#include "query_int.h"

/* ---- value kinds ---- */

static int is_int(const char *s, size_t n)
{
    size_t i = (n && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    if (i == n || n - i > 19)
        return 0;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int is_float(const char *s, size_t n)
{
    char buf[64], *end;
    if (!n || n >= sizeof buf)
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    strtod(buf, &end);
    return *end == '\0' && end != buf;
}

static int is_uuid(const char *s, size_t n)
{
    static const int dash[] = {8, 13, 18, 23};
    if (n != 36)
        return 0;
    for (size_t i = 0, d = 0; i < n; i++) {
        if (d < 4 && (int)i == dash[d]) {
            if (s[i] != '-')
                return 0;
            d++;
        } else if (cairn_hex_digit(s[i]) < 0) {
            return 0;
        }
    }
    return 1;
}

enum ftype { T_NONE, T_INT, T_FLOAT, T_BOOL, T_DURATION, T_BYTES, T_STRING };
static const char *const type_names[] = {"string", "int", "float", "boolean", "duration",
                                         "bytes", "string"};

/* Go's strconv.ParseBool words. */
static int is_bool(const char *s, size_t n)
{
    static const char *const w[] = {"1", "t", "T", "TRUE", "true", "True",
                                    "0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        if (strlen(w[i]) == n && memcmp(w[i], s, n) == 0)
            return 1;
    return 0;
}

/* The type of one value, in Loki's order of tries. */
static enum ftype type_of(const char *s, size_t n)
{
    int64_t ns;
    double b;
    if (is_int(s, n))
        return T_INT;
    if (is_float(s, n))
        return T_FLOAT;
    if (is_bool(s, n))
        return T_BOOL;
    if (n && cairn_parse_duration(s, n, &ns) == 0)
        return T_DURATION;
    if (n && cairn_parse_bytes(s, n, &b) == 0)
        return T_BYTES;
    return T_STRING;
}

/* Two values of one field: int widens to float, any other disagreement is a string. */
static enum ftype merge_type(enum ftype a, enum ftype b)
{
    if (a == T_NONE || a == b)
        return b;
    if ((a == T_INT && b == T_FLOAT) || (a == T_FLOAT && b == T_INT))
        return T_FLOAT;
    return T_STRING;
}

/* ---- detected labels ---- */

static int static_label(const char *n)
{
    return !strcmp(n, "cluster") || !strcmp(n, "namespace") || !strcmp(n, "instance") ||
           !strcmp(n, "pod");
}

int cairn_query_detected_labels(struct cairn_store *s, const char *tenant, const char *sel,
                                int64_t start, int64_t end, struct cairn_buf *out,
                                struct cairn_err *err)
{
    roaring_bitmap_t *sids = roaring_bitmap_create();
    struct cairn_strmap names, pairs;
    cairn_strmap_init(&names);
    cairn_strmap_init(&pairs);
    struct cairn_labels ls;
    cairn_labels_init(&ls);
    struct cairn_buf key = CAIRN_BUF_INIT;
    uint32_t *card = NULL, *idish = NULL; /* per name: values, values not number/UUID */
    size_t cap = 0;
    int rc = sids ? 0 : CAIRN_ENOMEM;
    if (!rc && sel && *sel)
        rc = cairn_query_select_text(s, tenant, sel, strlen(sel), start, end, sids, err);
    else if (!rc)
        rc = cairn_store_streams(s, tenant, start, end, sids);
    roaring_uint32_iterator_t *it = rc ? NULL : roaring_create_iterator(sids);
    for (; !rc && it && it->has_value; roaring_advance_uint32_iterator(it)) {
        if (cairn_store_stream_labels(s, tenant, it->current_value, &ls))
            continue;
        for (size_t i = 0; i < ls.n && !rc; i++) {
            uint32_t nid, pid;
            int created;
            cairn_buf_reset(&key);
            if (cairn_buf_append(&key, ls.v[i].name, ls.v[i].name_len) ||
                cairn_buf_append_byte(&key, '\0') ||
                cairn_buf_append(&key, ls.v[i].value, ls.v[i].value_len) ||
                cairn_strmap_put(&names, ls.v[i].name, ls.v[i].name_len, &nid, NULL) ||
                cairn_strmap_put(&pairs, key.data, key.len, &pid, &created)) {
                rc = CAIRN_ENOMEM;
                break;
            }
            if (nid >= cap) {
                size_t nc = cap ? 2 * cap : 32;
                uint32_t *a = realloc(card, nc * sizeof *a), *b = a ? realloc(idish, nc * sizeof *b) : NULL;
                if (a)
                    card = a;
                if (!a || !b) {
                    rc = CAIRN_ENOMEM;
                    break;
                }
                idish = b;
                memset(card + cap, 0, (nc - cap) * sizeof *card);
                memset(idish + cap, 0, (nc - cap) * sizeof *idish);
                cap = nc;
            }
            if (created) {
                card[nid]++;
                const char *v = ls.v[i].value;
                size_t vn = ls.v[i].value_len;
                if (!is_float(v, vn) && !is_uuid(v, vn))
                    idish[nid]++;
            }
        }
        cairn_labels_reset(&ls);
    }
    if (it)
        roaring_free_uint32_iterator(it);
    if (!rc) {
        /* names in order */
        uint32_t *ord = malloc((names.n ? names.n : 1) * sizeof *ord);
        if (!ord)
            rc = CAIRN_ENOMEM;
        for (size_t i = 0; !rc && i < names.n; i++)
            ord[i] = (uint32_t)i;
        for (size_t i = 1; !rc && i < names.n; i++) /* insertion sort: few names */
            for (size_t j = i; j > 0 && strcmp(cairn_strmap_key(&names, ord[j - 1], NULL),
                                               cairn_strmap_key(&names, ord[j], NULL)) > 0; j--) {
                uint32_t t = ord[j];
                ord[j] = ord[j - 1];
                ord[j - 1] = t;
            }
        int first = 1;
        rc = rc ? rc : cairn_buf_append_str(out, "{\"detectedLabels\":[");
        for (size_t i = 0; !rc && i < names.n; i++) {
            size_t nl;
            const char *n = cairn_strmap_key(&names, ord[i], &nl);
            if (!idish[ord[i]] && !static_label(n))
                continue; /* every value a number or a UUID: an id, not a label to browse */
            rc = (!first && cairn_buf_append_byte(out, ',')) ||
                 cairn_buf_append_str(out, "{\"label\":") || cairn_buf_append_json_str(out, n, nl) ||
                 cairn_buf_appendf(out, ",\"cardinality\":%u}", card[ord[i]]);
            first = 0;
        }
        if (rc || cairn_buf_append_str(out, "]}"))
            rc = CAIRN_ENOMEM;
        free(ord);
    }
    free(card);
    free(idish);
    cairn_buf_deinit(&key);
    cairn_labels_deinit(&ls);
    cairn_strmap_deinit(&names);
    cairn_strmap_deinit(&pairs);
    cairn_bitmap_free(sids);
    return rc;
}

/* ---- detected fields ---- */

#define PARSER_JSON 1
#define PARSER_LOGFMT 2

struct fctx {
    const struct cairn_query_fields *q;
    struct cairn_strmap names;  /* field names */
    struct cairn_strmap pairs;  /* name \0 value: distinct values */
    struct field {
        uint32_t card;
        enum ftype type;
        unsigned parsers;
    } *f;
    size_t cap;
    struct cairn_strmap values; /* its values (field mode) */
    struct cairn_buf key, val, path;
    unsigned parser;           /* of the line being read */
    int rc;
};

static int add_value(struct fctx *c, const char *k, size_t kn, const char *v, size_t vn)
{
    if (!vn)
        return 0; /* empty values are not fields (Loki's parsers drop them) */
    uint32_t id, pid;
    int created;
    if (c->q->field) {
        if (kn != strlen(c->q->field) || memcmp(k, c->q->field, kn) != 0 ||
            c->values.n >= c->q->limit)
            return 0;
        return cairn_strmap_put(&c->values, v, vn, &id, NULL);
    }
    if (!cairn_strmap_find(&c->names, k, kn, &id)) {
        if (c->names.n >= c->q->limit)
            return 0;
        if (cairn_strmap_put(&c->names, k, kn, &id, NULL))
            return CAIRN_ENOMEM;
        if (id >= c->cap) {
            size_t nc = c->cap ? 2 * c->cap : 32;
            struct field *f = realloc(c->f, nc * sizeof *f);
            if (!f)
                return CAIRN_ENOMEM;
            c->f = f;
            c->cap = nc;
        }
        c->f[id] = (struct field){0};
    }
    struct field *f = &c->f[id];
    f->parsers |= c->parser;
    cairn_buf_reset(&c->key);
    if (cairn_buf_append(&c->key, k, kn) || cairn_buf_append_byte(&c->key, '\0') ||
        cairn_buf_append(&c->key, v, vn) ||
        cairn_strmap_put(&c->pairs, c->key.data, c->key.len, &pid, &created))
        return CAIRN_ENOMEM;
    if (created) {
        f->card++;
        f->type = merge_type(f->type, type_of(v, vn));
    }
    return 0;
}

static int json_leaf(void *arg, const char *key, size_t klen, const struct cairn_json_tok *val)
{
    struct fctx *c = arg;
    if (val->type == CAIRN_JSON_NULL)
        return 0;
    if (val->type != CAIRN_JSON_STRING || !val->escaped)
        return add_value(c, key, klen, val->p, val->len);
    cairn_buf_reset(&c->val);
    if (cairn_json_unescape(val->p, val->len, &c->val))
        return 0;
    return add_value(c, key, klen, c->val.data ? c->val.data : "", c->val.len);
}

/* The entry's structured metadata from its categorized labels' JSON (logs.c writes
 * it: {"structuredMetadata":{"name":"value",...},"parsed":{...}}): fields found by no
 * parser. */
static int smeta_fields(struct fctx *c, const char *meta, size_t len)
{
    struct cairn_json js;
    struct cairn_json_tok t;
    cairn_json_init(&js, meta, len);
    if (cairn_json_next(&js, &t) != CAIRN_JSON_OBJECT_START)
        return 0;
    while (cairn_json_next(&js, &t) == CAIRN_JSON_KEY) {
        int sm = cairn_json_str_eq(&t, "structuredMetadata", 18);
        if (cairn_json_next(&js, &t) != CAIRN_JSON_OBJECT_START)
            return 0;
        if (!sm) {
            if (cairn_json_skip(&js, &t))
                return 0;
            continue;
        }
        c->parser = 0;
        while (cairn_json_next(&js, &t) == CAIRN_JSON_KEY) {
            /* names are label names (no escapes); values may have them */
            const char *k = t.p;
            size_t kn = t.len;
            if (cairn_json_next(&js, &t) != CAIRN_JSON_STRING)
                return 0;
            cairn_buf_reset(&c->val);
            if (t.escaped ? cairn_json_unescape(t.p, t.len, &c->val)
                          : cairn_buf_append(&c->val, t.p, t.len))
                return 0;
            int rc = add_value(c, k, kn, c->val.data ? c->val.data : "", c->val.len);
            if (rc)
                return rc;
        }
        return 0;
    }
    return 0;
}

static int visit_line(void *ud, const char *labels_json, size_t labels_len, int64_t ts,
                      const char *line, size_t len, const char *meta, size_t meta_len)
{
    (void)labels_json;
    (void)labels_len;
    (void)ts;
    struct fctx *c = ud;
    struct cairn_err e;
    size_t i = 0;
    if (meta_len) {
        int rc = smeta_fields(c, meta, meta_len);
        if (rc)
            return rc;
    }
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i < len && line[i] == '{') {
        c->parser = PARSER_JSON;
        int rc = cairn_json_flatten(line, len, 1, &c->path, json_leaf, c, &e);
        if (rc == CAIRN_ENOMEM)
            return rc;
        if (rc == 0)
            return 0;
    }
    c->parser = PARSER_LOGFMT;
    struct cairn_logfmt it;
    struct cairn_logfmt_pair pr;
    int r;
    cairn_logfmt_init(&it, line, len);
    while ((r = cairn_logfmt_next(&it, &pr)) != 0) {
        if (r < 0) {
            cairn_logfmt_recover(&it);
            continue;
        }
        if (pr.bare || !pr.key_len)
            continue;
        int rc;
        if (!pr.quoted) {
            rc = add_value(c, pr.key, pr.key_len, pr.val, pr.val_len);
        } else {
            cairn_buf_reset(&c->val);
            if (cairn_logfmt_value(&pr, &c->val))
                continue;
            rc = add_value(c, pr.key, pr.key_len, c->val.data ? c->val.data : "", c->val.len);
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int cmp_names(const void *a, const void *b, void *m)
{
    return strcmp(cairn_strmap_key(m, *(const uint32_t *)a, NULL),
                  cairn_strmap_key(m, *(const uint32_t *)b, NULL));
}

static int encode_fields(struct fctx *c, struct cairn_buf *out)
{
    if (c->q->field) {
        int rc = cairn_buf_append_str(out, "{\"values\":[");
        for (size_t i = 0; i < c->values.n && !rc; i++) {
            size_t n;
            const char *v = cairn_strmap_key(&c->values, (uint32_t)i, &n);
            rc = (i && cairn_buf_append_byte(out, ',')) || cairn_buf_append_json_str(out, v, n);
        }
        return rc || cairn_buf_appendf(out, "],\"limit\":%zu}", c->q->limit) ? CAIRN_ENOMEM : 0;
    }
    uint32_t *ord = malloc((c->names.n ? c->names.n : 1) * sizeof *ord);
    if (!ord)
        return CAIRN_ENOMEM;
    for (size_t i = 0; i < c->names.n; i++)
        ord[i] = (uint32_t)i;
    qsort_r(ord, c->names.n, sizeof *ord, cmp_names, &c->names);
    int rc = cairn_buf_append_str(out, "{\"fields\":[");
    for (size_t i = 0; i < c->names.n && !rc; i++) {
        size_t n;
        const char *k = cairn_strmap_key(&c->names, ord[i], &n);
        const struct field *f = &c->f[ord[i]];
        rc = (i && cairn_buf_append_byte(out, ',')) || cairn_buf_append_str(out, "{\"label\":") ||
             cairn_buf_append_json_str(out, k, n) ||
             cairn_buf_appendf(out, ",\"type\":\"%s\",\"cardinality\":%u,\"parsers\":%s%s%s%s%s}",
                               type_names[f->type], f->card, f->parsers ? "[" : "null",
                               f->parsers & PARSER_JSON ? "\"json\"" : "",
                               f->parsers == (PARSER_JSON | PARSER_LOGFMT) ? "," : "",
                               f->parsers & PARSER_LOGFMT ? "\"logfmt\"" : "",
                               f->parsers ? "]" : "");
    }
    free(ord);
    return rc || cairn_buf_appendf(out, "],\"limit\":%zu}", c->q->limit) ? CAIRN_ENOMEM : 0;
}

int cairn_query_detected_fields(struct cairn_store *s, const struct cairn_query_fields *q,
                                struct cairn_buf *out, struct cairn_err *err)
{
    struct fctx c = {.q = q};
    cairn_strmap_init(&c.names);
    cairn_strmap_init(&c.pairs);
    cairn_strmap_init(&c.values);
    cairn_buf_init(&c.key);
    cairn_buf_init(&c.val);
    cairn_buf_init(&c.path);
    struct cairn_query_params p = q->base;
    p.limit = q->line_limit;
    p.direction = CAIRN_ITER_BACKWARD;
    p.visit = visit_line;
    p.visit_ud = &c;
    p.categorize = 1; /* structured metadata apart: fields of their own */
    int rc = cairn_query_run(s, q->query, strlen(q->query), &p, out, err);
    if (!rc)
        rc = encode_fields(&c, out);
    free(c.f);
    cairn_strmap_deinit(&c.names);
    cairn_strmap_deinit(&c.pairs);
    cairn_strmap_deinit(&c.values);
    cairn_buf_deinit(&c.key);
    cairn_buf_deinit(&c.val);
    cairn_buf_deinit(&c.path);
    if (rc == CAIRN_ENOMEM && !err->msg[0])
        cairn_err_set(err, rc, "out of memory detecting fields");
    return rc;
}
