/* otlp_pb.c -- decode an OTLP/HTTP protobuf logs body (ExportLogsServiceRequest) from
 * the wire bytes with the shared reader (pbwire.h) and feed the mapping (otlp.h).
 *
 * The subset of opentelemetry-proto read (field numbers as its .proto files):
 *   ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1 }
 *   ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2 }
 *   Resource { repeated KeyValue attributes = 1 }
 *   ScopeLogs { InstrumentationScope scope = 1; repeated LogRecord log_records = 2 }
 *   InstrumentationScope { string name = 1; string version = 2;
 *                          repeated KeyValue attributes = 3 }
 *   LogRecord { fixed64 time_unix_nano = 1; fixed64 observed_time_unix_nano = 11;
 *               SeverityNumber severity_number = 2; string severity_text = 3;
 *               AnyValue body = 5; repeated KeyValue attributes = 6;
 *               fixed32 flags = 8; bytes trace_id = 9; bytes span_id = 10 }
 *   KeyValue { string key = 1; AnyValue value = 2 }
 *   AnyValue { oneof: string string_value = 1; bool bool_value = 2; int64 int_value = 3;
 *              double double_value = 4; ArrayValue array_value = 5;
 *              KeyValueList kvlist_value = 6; bytes bytes_value = 7 }
 *   ArrayValue { repeated AnyValue values = 1 }  KeyValueList { repeated KeyValue values = 1 }
 * Other fields are skipped. A resource is read before its scopes and a scope before
 * its records whatever their order on the wire (each message is read twice). */
#include <inttypes.h>
#include <string.h>

#include "ingest/otlp.h"
#include "ingest/pbwire.h"
#include "cairn/limits.h"

struct dec {
    struct cairn__otlp_map m;
    struct cairn_buf val; /* an attribute's rendered value */
};

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int fixed(struct rd *r, const uint8_t *at, unsigned wt, unsigned want, const char *what,
                 uint64_t *v)
{
    size_t w = want == PB_I64 ? 8 : 4;
    if (wt != want)
        return wrong_type(r, at, what, wt);
    if ((size_t)(r->end - r->p) < w)
        return bad(r, at, what);
    *v = w == 8 ? le64(r->p) : (uint64_t)(r->p[0] | r->p[1] << 8 | r->p[2] << 16 |
                                          (uint32_t)r->p[3] << 24);
    r->p += w;
    return 0;
}

static int render(struct rd *r, struct cairn_buf *out, int nested, int depth);

/* KeyValue: the key as a view, the value rendered (nested form) into out. */
static int keyvalue(struct rd *r, const uint8_t **k, size_t *kl, struct cairn_buf *out, int nested,
                    int depth)
{
    *k = (const uint8_t *)"";
    *kl = 0;
    const uint8_t *vs = NULL;
    size_t vn = 0;
    while (r->p < r->end) {
        const uint8_t *at = r->p, *s;
        uint32_t f;
        unsigned wt;
        size_t n;
        if (tag(r, &f, &wt))
            return CAIRN_EINVAL;
        if (f == 1 || f == 2) {
            if (len_field(r, at, wt, f == 1 ? "attribute key" : "attribute value", &s, &n))
                return CAIRN_EINVAL;
            if (f == 1) {
                *k = s;
                *kl = n;
            } else {
                vs = s;
                vn = n;
            }
        } else if (skip(r, wt, at)) {
            return CAIRN_EINVAL;
        }
    }
    if (!vs)
        return nested && cairn_buf_append_str(out, "null") ? CAIRN_ENOMEM : 0;
    struct rd v = sub(r, vs, vn);
    return render(&v, out, nested, depth);
}

/* An AnyValue as its string form (otlp.h), appended to out. */
static int render(struct rd *r, struct cairn_buf *out, int nested, int depth)
{
    if (depth > CAIRN_OTLP_MAX_DEPTH)
        return bad(r, r->p, "AnyValue nested too deep");
    int seen = 0, rc = 0;
    size_t keep = out->len;
    while (r->p < r->end) {
        const uint8_t *at = r->p, *s;
        uint32_t f;
        unsigned wt;
        size_t n;
        uint64_t v;
        if (tag(r, &f, &wt))
            return CAIRN_EINVAL;
        if (f < 1 || f > 7) {
            if (skip(r, wt, at))
                return CAIRN_EINVAL;
            continue;
        }
        cairn_buf_truncate(out, keep); /* a oneof: the last one wins */
        seen = 1;
        switch (f) {
        case 1:
        case 7:
            if (len_field(r, at, wt, f == 1 ? "string_value" : "bytes_value", &s, &n))
                return CAIRN_EINVAL;
            rc = f == 1 ? cairn__otlp_put_str(out, (const char *)s, n, nested)
                        : cairn__otlp_put_bytes(out, s, n, nested);
            break;
        case 2:
        case 3:
            if (wt != PB_VARINT)
                return wrong_type(r, at, f == 2 ? "bool_value" : "int_value", wt);
            if (varint(r, &v, f == 2 ? "bool_value" : "int_value"))
                return CAIRN_EINVAL;
            rc = f == 2 ? cairn_buf_append_str(out, v ? "true" : "false")
                        : cairn_buf_appendf(out, "%" PRId64, (int64_t)v);
            break;
        case 4: {
            double d;
            if (fixed(r, at, wt, PB_I64, "double_value", &v))
                return CAIRN_EINVAL;
            memcpy(&d, &v, sizeof d);
            rc = cairn__otlp_put_double(out, d, nested);
            break;
        }
        default: { /* 5 array, 6 kvlist: repeated field 1 of AnyValue / KeyValue */
            if (len_field(r, at, wt, f == 5 ? "array_value" : "kvlist_value", &s, &n))
                return CAIRN_EINVAL;
            struct rd l = sub(r, s, n);
            int first = 1;
            if (cairn_buf_append_byte(out, f == 5 ? '[' : '{'))
                return CAIRN_ENOMEM;
            while (l.p < l.end) {
                const uint8_t *at2 = l.p, *es;
                uint32_t ef;
                unsigned ewt;
                size_t en;
                if (tag(&l, &ef, &ewt))
                    return CAIRN_EINVAL;
                if (ef != 1) {
                    if (skip(&l, ewt, at2))
                        return CAIRN_EINVAL;
                    continue;
                }
                if (len_field(&l, at2, ewt, "array or kvlist element", &es, &en))
                    return CAIRN_EINVAL;
                if (!first && cairn_buf_append_byte(out, ','))
                    return CAIRN_ENOMEM;
                first = 0;
                struct rd e = sub(&l, es, en);
                if (f == 5) {
                    rc = render(&e, out, 1, depth + 1);
                } else {
                    /* the key first: render the value after it */
                    const uint8_t *k;
                    size_t kl;
                    struct rd probe = e;
                    struct cairn_buf tmp = {0};
                    rc = keyvalue(&probe, &k, &kl, &tmp, 1, depth + 1);
                    if (!rc && (cairn_buf_append_json_str(out, (const char *)k, kl) ||
                                cairn_buf_append_byte(out, ':') ||
                                cairn_buf_append(out, tmp.data ? tmp.data : "", tmp.len)))
                        rc = CAIRN_ENOMEM;
                    cairn_buf_deinit(&tmp);
                }
                if (rc)
                    return rc;
            }
            rc = cairn_buf_append_byte(out, f == 5 ? ']' : '}');
        }
        }
        if (rc)
            return rc == CAIRN_ENOMEM ? cairn_err_set(r->err, CAIRN_ENOMEM, "out of memory") : rc;
    }
    if (!seen && nested && cairn_buf_append_str(out, "null"))
        return CAIRN_ENOMEM;
    return 0;
}

typedef int (*attr_fn)(struct cairn__otlp_map *m, const char *k, size_t kl, const char *v,
                       size_t vl);

/* One KeyValue message [s, s + n) rendered and handed to fn. */
static int attr(struct dec *d, struct rd *r, const uint8_t *s, size_t n, attr_fn fn)
{
    struct rd kv = sub(r, s, n);
    const uint8_t *k;
    size_t kl;
    cairn_buf_reset(&d->val);
    int rc = keyvalue(&kv, &k, &kl, &d->val, 0, 0);
    if (rc)
        return rc;
    return fn(&d->m, (const char *)k, kl, d->val.data ? d->val.data : "", d->val.len);
}

/* Every field `field` (length-delimited) of message r, in order, to each(). */
#define EACH(r, field, what, ...)                                                           \
    do {                                                                                       \
        struct rd it_ = *(r);                                                                  \
        while (it_.p < it_.end) {                                                              \
            const uint8_t *at_ = it_.p, *s;                                                    \
            uint32_t f_;                                                                       \
            unsigned wt_;                                                                      \
            size_t n;                                                                          \
            if (tag(&it_, &f_, &wt_))                                                          \
                return CAIRN_EINVAL;                                                           \
            if (f_ != (field)) {                                                               \
                if (skip(&it_, wt_, at_))                                                      \
                    return CAIRN_EINVAL;                                                       \
                continue;                                                                      \
            }                                                                                  \
            if (len_field(&it_, at_, wt_, what, &s, &n))                                       \
                return CAIRN_EINVAL;                                                           \
            __VA_ARGS__                                                                        \
        }                                                                                      \
    } while (0)

static int record(struct dec *d, struct rd *r)
{
    struct cairn__otlp_rec rec = {.line = ""};
    struct cairn_buf *lines = &d->m.b->otlp_lines;
    int rc = cairn__otlp_record_begin(&d->m);
    if (rc)
        return rc;
    while (r->p < r->end) {
        const uint8_t *at = r->p, *s;
        uint32_t f;
        unsigned wt;
        size_t n;
        uint64_t v;
        if (tag(r, &f, &wt))
            return CAIRN_EINVAL;
        switch (f) {
        case 1:
        case 11:
            if (fixed(r, at, wt, PB_I64, f == 1 ? "time_unix_nano" : "observed_time_unix_nano", &v))
                return CAIRN_EINVAL;
            *(f == 1 ? &rec.time_ns : &rec.observed_ns) = v;
            break;
        case 2:
            if (wt != PB_VARINT)
                return wrong_type(r, at, "severity_number", wt);
            if (varint(r, &v, "severity_number"))
                return CAIRN_EINVAL;
            rec.severity_number = (int32_t)(uint32_t)v;
            break;
        case 3:
            if (len_field(r, at, wt, "severity_text", &s, &n))
                return CAIRN_EINVAL;
            rec.severity_text = (const char *)s;
            rec.severity_text_len = n;
            break;
        case 5: {
            if (len_field(r, at, wt, "body", &s, &n))
                return CAIRN_EINVAL;
            /* the usual body, one string_value: a view, no copy */
            uint64_t sl;
            const uint8_t *q = s + 1;
            struct rd t = sub(r, q, n ? n - 1 : 0);
            if (n >= 2 && s[0] == 0x0a && !varint(&t, &sl, "body") && sl == (uint64_t)(t.end - t.p)) {
                rec.line = (const char *)t.p;
                rec.len = (size_t)sl;
                break;
            }
            cairn_err_clear(r->err);
            struct rd bv = sub(r, s, n);
            size_t before = lines->len;
            if ((rc = render(&bv, lines, 0, 0)))
                return rc;
            rec.line = NULL;
            rec.len = lines->len - before;
            break;
        }
        case 6:
            if (len_field(r, at, wt, "log attribute", &s, &n))
                return CAIRN_EINVAL;
            if ((rc = attr(d, r, s, n, cairn__otlp_record_attr)))
                return rc;
            break;
        case 8:
            if (fixed(r, at, wt, PB_I32, "flags", &v))
                return CAIRN_EINVAL;
            rec.flags = (uint32_t)v;
            break;
        case 9:
        case 10:
            if (len_field(r, at, wt, f == 9 ? "trace_id" : "span_id", &s, &n))
                return CAIRN_EINVAL;
            *(f == 9 ? &rec.trace_id : &rec.span_id) = s;
            *(f == 9 ? &rec.trace_id_len : &rec.span_id_len) = n;
            break;
        default:
            if (skip(r, wt, at))
                return CAIRN_EINVAL;
        }
    }
    /* a rendered body that moved the lines buffer: the map re-points them at the end */
    return cairn__otlp_record_end(&d->m, &rec);
}

static int scope_logs(struct dec *d, struct rd *r)
{
    const uint8_t *name = (const uint8_t *)"", *ver = (const uint8_t *)"";
    size_t nl = 0, vl = 0;
    int rc;
    EACH(r, 1, "scope", {
        struct rd sc = sub(&it_, s, n);
        while (sc.p < sc.end) {
            const uint8_t *at = sc.p, *x;
            uint32_t f;
            unsigned wt;
            size_t xn;
            if (tag(&sc, &f, &wt))
                return CAIRN_EINVAL;
            if (f == 1 || f == 2) {
                if (len_field(&sc, at, wt, f == 1 ? "scope name" : "scope version", &x, &xn))
                    return CAIRN_EINVAL;
                *(f == 1 ? &name : &ver) = x;
                *(f == 1 ? &nl : &vl) = xn;
            } else if (skip(&sc, wt, at)) {
                return CAIRN_EINVAL;
            }
        }
    });
    if ((rc = cairn__otlp_scope(&d->m, (const char *)name, nl, (const char *)ver, vl)))
        return rc;
    EACH(r, 1, "scope", {
        struct rd sc = sub(&it_, s, n);
        EACH(&sc, 3, "scope attribute", {
            if ((rc = attr(d, &it_, s, n, cairn__otlp_scope_attr)))
                return rc;
        });
    });
    EACH(r, 2, "log record", {
        struct rd lr = sub(&it_, s, n);
        if ((rc = record(d, &lr)))
            return rc;
    });
    return 0;
}

static int resource_logs(struct dec *d, struct rd *r)
{
    int rc = cairn__otlp_resource_begin(&d->m);
    if (rc)
        return rc;
    EACH(r, 1, "resource", {
        struct rd res = sub(&it_, s, n);
        EACH(&res, 1, "resource attribute", {
            if ((rc = attr(d, &it_, s, n, cairn__otlp_resource_attr)))
                return rc;
        });
    });
    if ((rc = cairn__otlp_resource_end(&d->m)))
        return rc;
    EACH(r, 2, "scope logs", {
        struct rd sl = sub(&it_, s, n);
        if ((rc = scope_logs(d, &sl)))
            return rc;
    });
    return 0;
}

static int request(struct dec *d, struct rd *r)
{
    int rc;
    EACH(r, 1, "resource logs", {
        struct rd rl = sub(&it_, s, n);
        if ((rc = resource_logs(d, &rl)))
            return rc;
    });
    return 0;
}

int cairn_ingest_decode_otlp_pb(struct cairn_ingest_batch *b, const char *p, size_t len,
                                 const struct cairn_ingest_limits *lim,
                                 struct cairn_ingest_otlp_rules *rules, struct cairn_err *err)
{
    const uint8_t *u = (const uint8_t *)(p ? p : "");
    struct rd r = {u, u + len, u, err, len, "OTLP logs protobuf"};
    struct dec d = {0};
    cairn__otlp_map_init(&d.m, b, lim, rules, err);
    int rc = request(&d, &r);
    if (rc == CAIRN_ENOMEM)
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    if (!rc)
        cairn__otlp_finish(&d.m);
    cairn__otlp_map_deinit(&d.m);
    cairn_buf_deinit(&d.val);
    return rc;
}
