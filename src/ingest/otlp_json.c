/* otlp_json.c -- decode an OTLP/HTTP JSON logs body (the protobuf JSON mapping of
 * ExportLogsServiceRequest: lowerCamelCase keys, snake_case accepted too; 64-bit
 * integers as strings or numbers; trace and span ids as hex) with jansson and feed the
 * mapping (otlp.h). The parsed document is kept in the batch (otlp_doc), so string
 * bodies are used where jansson holds them. */
#include <jansson.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/otlp.h"
#include "cairn/limits.h"

struct dec {
    struct cairn__otlp_map m;
    struct cairn_buf val;
    struct cairn_err *err;
};

static int bad(struct dec *d, const char *what)
{
    return cairn_err_set(d->err, CAIRN_EINVAL, "error parsing OTLP logs JSON: %s", what);
}

/* obj[camel] or obj[snake]. */
static json_t *get(json_t *obj, const char *camel, const char *snake)
{
    json_t *v = json_object_get(obj, camel);
    return v ? v : snake ? json_object_get(obj, snake) : NULL;
}

/* A 64-bit integer given as a number or a decimal string; 0 when absent. */
static int u64_of(struct dec *d, json_t *v, const char *what, uint64_t *out)
{
    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v)) {
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        if (*s == '\0')
            return 0;
        *out = strtoull(s, &end, 10);
        if (*end == '\0')
            return 0;
    }
    char m[96];
    snprintf(m, sizeof m, "%s must be an integer or a decimal string", what);
    return bad(d, m);
}

static int render(struct dec *d, json_t *av, struct cairn_buf *out, int nested, int depth);

static int render_kv(struct dec *d, json_t *kv, struct cairn_buf *out, int depth)
{
    json_t *k = json_object_get(kv, "key");
    if (!json_is_string(k))
        return bad(d, "an attribute without a string \"key\"");
    if (cairn_buf_append_json_str(out, json_string_value(k), json_string_length(k)) ||
        cairn_buf_append_byte(out, ':'))
        return CAIRN_ENOMEM;
    return render(d, json_object_get(kv, "value"), out, 1, depth + 1);
}

/* An AnyValue object as its string form (otlp.h), appended to out. */
static int render(struct dec *d, json_t *av, struct cairn_buf *out, int nested, int depth)
{
    json_t *v;
    uint64_t u;
    if (depth > CAIRN_OTLP_MAX_DEPTH)
        return bad(d, "AnyValue nested too deep");
    if (!av || json_is_null(av) || !json_is_object(av) || json_object_size(av) == 0)
        return nested ? cairn_buf_append_str(out, "null") : 0;
    if ((v = get(av, "stringValue", "string_value")) && json_is_string(v))
        return cairn__otlp_put_str(out, json_string_value(v), json_string_length(v), nested);
    if ((v = get(av, "boolValue", "bool_value")))
        return cairn_buf_append_str(out, json_is_true(v) ? "true" : "false");
    if ((v = get(av, "intValue", "int_value"))) {
        int rc = u64_of(d, v, "intValue", &u);
        return rc ? rc : cairn_buf_appendf(out, "%" PRId64, (int64_t)u);
    }
    if ((v = get(av, "doubleValue", "double_value"))) {
        if (!json_is_number(v))
            return bad(d, "doubleValue must be a number");
        return cairn__otlp_put_double(out, json_number_value(v), nested);
    }
    if ((v = get(av, "bytesValue", "bytes_value")) && json_is_string(v))
        return cairn__otlp_put_str(out, json_string_value(v), json_string_length(v), nested);
    int arr = 1;
    if (!(v = get(av, "arrayValue", "array_value"))) {
        arr = 0;
        if (!(v = get(av, "kvlistValue", "kvlist_value")))
            return nested ? cairn_buf_append_str(out, "null") : 0;
    }
    json_t *vals = json_object_get(v, "values"), *e;
    size_t i;
    if (cairn_buf_append_byte(out, arr ? '[' : '{'))
        return CAIRN_ENOMEM;
    json_array_foreach(vals, i, e) {
        if (i && cairn_buf_append_byte(out, ','))
            return CAIRN_ENOMEM;
        int rc = arr ? render(d, e, out, 1, depth + 1) : render_kv(d, e, out, depth);
        if (rc)
            return rc;
    }
    return cairn_buf_append_byte(out, arr ? ']' : '}');
}

typedef int (*attr_fn)(struct cairn__otlp_map *m, const char *k, size_t kl, const char *v,
                       size_t vl);

static int attrs(struct dec *d, json_t *list, attr_fn fn)
{
    size_t i;
    json_t *kv;
    if (list && !json_is_array(list))
        return bad(d, "attributes must be an array");
    json_array_foreach(list, i, kv) {
        json_t *k = json_object_get(kv, "key");
        if (!json_is_string(k))
            return bad(d, "an attribute without a string \"key\"");
        cairn_buf_reset(&d->val);
        int rc = render(d, json_object_get(kv, "value"), &d->val, 0, 0);
        if (rc)
            return rc;
        if ((rc = fn(&d->m, json_string_value(k), json_string_length(k),
                     d->val.data ? d->val.data : "", d->val.len)))
            return rc;
    }
    return 0;
}

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A hex id (traceId, spanId) into out[0..*n) (at most 32 bytes). */
static int hex_id(struct dec *d, json_t *v, const char *what, unsigned char *out, size_t *n)
{
    *n = 0;
    if (!v || json_is_null(v))
        return 0;
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    size_t len = s ? json_string_length(v) : 0;
    char m[96];
    snprintf(m, sizeof m, "%s must be a string of hex digits", what);
    if (!s || len % 2 || len > 64)
        return bad(d, m);
    for (size_t i = 0; i < len; i += 2) {
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            return bad(d, m);
        out[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    *n = len / 2;
    return 0;
}

static int record(struct dec *d, json_t *lr)
{
    struct cairn__otlp_rec rec = {.line = ""};
    unsigned char tid[32], sid[32];
    uint64_t u;
    int rc = cairn__otlp_record_begin(&d->m);
    if (rc || (rc = attrs(d, get(lr, "attributes", NULL), cairn__otlp_record_attr)))
        return rc;
    if ((rc = u64_of(d, get(lr, "timeUnixNano", "time_unix_nano"), "timeUnixNano", &rec.time_ns)) ||
        (rc = u64_of(d, get(lr, "observedTimeUnixNano", "observed_time_unix_nano"),
                     "observedTimeUnixNano", &rec.observed_ns)) ||
        (rc = u64_of(d, get(lr, "severityNumber", "severity_number"), "severityNumber", &u)))
        return rc;
    rec.severity_number = (int32_t)u;
    if ((rc = u64_of(d, get(lr, "flags", NULL), "flags", &u)))
        return rc;
    rec.flags = (uint32_t)u;
    json_t *st = get(lr, "severityText", "severity_text");
    if (json_is_string(st)) {
        rec.severity_text = json_string_value(st);
        rec.severity_text_len = json_string_length(st);
    }
    if ((rc = hex_id(d, get(lr, "traceId", "trace_id"), "traceId", tid, &rec.trace_id_len)) ||
        (rc = hex_id(d, get(lr, "spanId", "span_id"), "spanId", sid, &rec.span_id_len)))
        return rc;
    rec.trace_id = tid;
    rec.span_id = sid;
    json_t *body = json_object_get(lr, "body"), *sv = body ? get(body, "stringValue", "string_value") : NULL;
    if (json_is_string(sv)) {
        rec.line = json_string_value(sv);
        rec.len = json_string_length(sv);
    } else if (body && !json_is_null(body)) {
        struct cairn_buf *lines = &d->m.b->otlp_lines;
        size_t before = lines->len;
        if ((rc = render(d, body, lines, 0, 0)))
            return rc;
        rec.line = NULL;
        rec.len = lines->len - before;
    }
    return cairn__otlp_record_end(&d->m, &rec);
}

static int request(struct dec *d, json_t *root)
{
    json_t *rls = get(root, "resourceLogs", "resource_logs"), *rl;
    size_t i;
    if (rls && !json_is_array(rls))
        return bad(d, "resourceLogs must be an array");
    json_array_foreach(rls, i, rl) {
        json_t *res = json_object_get(rl, "resource");
        int rc = cairn__otlp_resource_begin(&d->m);
        if (rc || (rc = attrs(d, json_object_get(res, "attributes"), cairn__otlp_resource_attr)) ||
            (rc = cairn__otlp_resource_end(&d->m)))
            return rc;
        json_t *sls = get(rl, "scopeLogs", "scope_logs"), *sl;
        size_t j;
        json_array_foreach(sls, j, sl) {
            json_t *sc = json_object_get(sl, "scope");
            json_t *nm = json_object_get(sc, "name"), *vr = json_object_get(sc, "version");
            if ((rc = cairn__otlp_scope(&d->m, json_is_string(nm) ? json_string_value(nm) : "",
                                        json_is_string(nm) ? json_string_length(nm) : 0,
                                        json_is_string(vr) ? json_string_value(vr) : "",
                                        json_is_string(vr) ? json_string_length(vr) : 0)) ||
                (rc = attrs(d, json_object_get(sc, "attributes"), cairn__otlp_scope_attr)))
                return rc;
            json_t *lrs = get(sl, "logRecords", "log_records"), *lr;
            size_t k;
            json_array_foreach(lrs, k, lr) {
                if (!json_is_object(lr))
                    return bad(d, "a log record must be an object");
                if ((rc = record(d, lr)))
                    return rc;
            }
        }
    }
    return 0;
}

int cairn_ingest_decode_otlp_json(struct cairn_ingest_batch *b, const char *p, size_t len,
                                   const struct cairn_ingest_limits *lim,
                                   struct cairn_ingest_otlp_rules *rules, struct cairn_err *err)
{
    json_error_t je;
    json_t *root = json_loadb(p ? p : "", len, 0, &je);
    if (!root)
        return cairn_err_set(err, CAIRN_EINVAL, "error parsing OTLP logs JSON at line %d column %d: %s",
                             je.line, je.column, je.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return cairn_err_set(err, CAIRN_EINVAL, "error parsing OTLP logs JSON: expected an object");
    }
    json_decref(b->otlp_doc);
    b->otlp_doc = root; /* string bodies point into it: freed with the batch's contents */
    struct dec d = {.err = err};
    cairn__otlp_map_init(&d.m, b, lim, rules, err);
    int rc = request(&d, root);
    if (rc == CAIRN_ENOMEM)
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    if (!rc)
        cairn__otlp_finish(&d.m);
    cairn__otlp_map_deinit(&d.m);
    cairn_buf_deinit(&d.val);
    return rc;
}
