/* otlp_map.c -- Loki 3's default otlp_config mapping of OTLP logs onto streams,
 * entries and structured metadata (otlp.h), shared by the protobuf and JSON decoders.
 *
 * Index labels are Loki's default list of resource attributes (docs/API.md "OTLP"),
 * or what limits_config.otlp_config says (otlp_rules.c). A record without a timestamp (time and
 * observed time both 0) gets the time it was received. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/otlp.h"
#include "cairn/parse_template.h"
#include "cairn/smeta.h"
#include "cairn/text.h"
#include "cairn/timeutil.h"


static int oom(struct cairn__otlp_map *m)
{
    return cairn_err_set(m->err, CAIRN_ENOMEM, "out of memory");
}

void cairn__otlp_map_init(struct cairn__otlp_map *m, struct cairn_ingest_batch *b,
                          const struct cairn_ingest_limits *lim, struct cairn_ingest_otlp_rules *rules,
                          struct cairn_err *err)
{
    memset(m, 0, sizeof *m);
    m->b = b;
    m->rules = rules;
    m->lim = lim;
    m->err = err;
    m->stream = -1;
}

void cairn__otlp_map_deinit(struct cairn__otlp_map *m)
{
    cairn_buf_deinit(&m->rsm);
    cairn_buf_deinit(&m->ssm);
    cairn_buf_deinit(&m->name);
}

/* The translated name of k into m->name. */
static int translate(struct cairn__otlp_map *m, const char *k, size_t kl)
{
    cairn_buf_reset(&m->name);
    return cairn_smeta_label_name(&m->name, k, kl) ? oom(m) : 0;
}

/* One pair, its name translated, appended to an smeta blob. */
static int meta(struct cairn__otlp_map *m, struct cairn_buf *to, const char *k, size_t kl,
                const char *v, size_t vl)
{
    if (translate(m, k, kl))
        return CAIRN_ENOMEM;
    return cairn_smeta_append(to, m->name.data, m->name.len, v, vl) ? oom(m) : 0;
}

int cairn__otlp_resource_begin(struct cairn__otlp_map *m)
{
    int si = cairn_ingest_batch_stream(m->b);
    if (si < 0)
        return oom(m);
    m->stream = si;
    m->service = 0;
    cairn_buf_reset(&m->rsm);
    cairn_buf_reset(&m->ssm);
    return 0;
}

int cairn__otlp_resource_attr(struct cairn__otlp_map *m, const char *k, size_t kl, const char *v,
                              size_t vl)
{
    enum cairn_otlp_action a = m->rules ? cairn__otlp_rules_action(m->rules, 0, k, kl)
                               : cairn_otlp_is_index_attr(k, kl) ? CAIRN_OTLP_INDEX_LABEL
                                                      : CAIRN_OTLP_STRUCTURED_METADATA;
    if (a == CAIRN_OTLP_DROP)
        return 0;
    if (a == CAIRN_OTLP_STRUCTURED_METADATA)
        return meta(m, &m->rsm, k, kl, v, vl);
    if (translate(m, k, kl))
        return CAIRN_ENOMEM;
    if (kl == 12 && memcmp(k, "service.name", 12) == 0)
        m->service = 1;
    int rc = cairn_labels_add(&m->b->labels[m->stream], m->name.data, m->name.len, v, vl);
    if (rc == CAIRN_ENOMEM)
        return oom(m);
    if (rc && !m->b->s[m->stream].bad) {
        m->b->s[m->stream].bad = 1;
        cairn_ingest_fail(m->b, 400, "stream has more than %d label names",
                           CAIRN_LABELS_PARSE_MAX);
    }
    return 0;
}

int cairn__otlp_resource_end(struct cairn__otlp_map *m)
{
    struct cairn_ingest_batch *b = m->b;
    size_t i = (size_t)m->stream;
    struct cairn_err e;
    if (!m->service && cairn_labels_add(&b->labels[i], "service_name", 12, "unknown_service", 15))
        return oom(m);
    if (b->s[i].bad)
        return 0;
    if (cairn_labels_sort(&b->labels[i], &e)) {
        b->s[i].bad = 1;
        const char *q = strchr(e.msg, '\'');
        cairn_ingest_fail(b, 400, "stream '%s' has duplicate label name: %s",
                           cairn_ingest_stream_text(b, i), q ? q : e.msg);
    } else {
        cairn_ingest_labels_check(b, i, m->lim);
    }
    return 0;
}

int cairn__otlp_scope(struct cairn__otlp_map *m, const char *name, size_t nl, const char *ver,
                      size_t vl)
{
    cairn_buf_reset(&m->ssm);
    if (nl && cairn_smeta_append(&m->ssm, "scope_name", 10, name, nl))
        return oom(m);
    if (vl && cairn_smeta_append(&m->ssm, "scope_version", 13, ver, vl))
        return oom(m);
    return 0;
}

int cairn__otlp_scope_attr(struct cairn__otlp_map *m, const char *k, size_t kl, const char *v,
                           size_t vl)
{
    if (m->rules && cairn__otlp_rules_action(m->rules, 1, k, kl) == CAIRN_OTLP_DROP)
        return 0;
    return meta(m, &m->ssm, k, kl, v, vl);
}

int cairn__otlp_record_begin(struct cairn__otlp_map *m)
{
    struct cairn_buf *smb = &m->b->smb;
    m->mark = cairn_ingest_sm_mark(m->b);
    if (cairn_buf_append(smb, m->rsm.data ? m->rsm.data : "", m->rsm.len) ||
        cairn_buf_append(smb, m->ssm.data ? m->ssm.data : "", m->ssm.len))
        return oom(m);
    return 0;
}

int cairn__otlp_record_attr(struct cairn__otlp_map *m, const char *k, size_t kl, const char *v,
                            size_t vl)
{
    if (m->rules && cairn__otlp_rules_action(m->rules, 2, k, kl) == CAIRN_OTLP_DROP)
        return 0;
    return meta(m, &m->b->smb, k, kl, v, vl);
}

static int hex_meta(struct cairn__otlp_map *m, const char *name, const unsigned char *p, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    char buf[2 * 64];
    if (!n)
        return 0;
    if (n > 64)
        n = 64; /* trace ids are 16 bytes, span ids 8 */
    for (size_t i = 0; i < n; i++) {
        buf[2 * i] = hx[p[i] >> 4];
        buf[2 * i + 1] = hx[p[i] & 15];
    }
    return cairn_smeta_append(&m->b->smb, name, strlen(name), buf, 2 * n) ? oom(m) : 0;
}

static int num_meta(struct cairn__otlp_map *m, const char *name, int64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%" PRId64, v);
    return cairn_smeta_append(&m->b->smb, name, strlen(name), buf, (size_t)n) ? oom(m) : 0;
}

int cairn__otlp_record_end(struct cairn__otlp_map *m, const struct cairn__otlp_rec *rec)
{
    struct cairn_ingest_batch *b = m->b;
    if (hex_meta(m, "trace_id", rec->trace_id, rec->trace_id_len) ||
        hex_meta(m, "span_id", rec->span_id, rec->span_id_len))
        return m->err->code;
    if (rec->severity_text_len &&
        cairn_smeta_append(&b->smb, "severity_text", 13, rec->severity_text,
                           rec->severity_text_len))
        return oom(m);
    if (rec->severity_number && num_meta(m, "severity_number", rec->severity_number))
        return CAIRN_ENOMEM;
    if (rec->flags && num_meta(m, "flags", rec->flags))
        return CAIRN_ENOMEM;
    if (rec->observed_ns && num_meta(m, "observed_timestamp", (int64_t)rec->observed_ns))
        return CAIRN_ENOMEM;
    uint64_t t = rec->time_ns ? rec->time_ns : rec->observed_ns;
    int64_t ts = t ? (t > INT64_MAX ? INT64_MAX : (int64_t)t) : cairn_now_ns();
    if (cairn_ingest_batch_entry_sm(b, ts, rec->line, rec->len, m->mark))
        return oom(m);
    if (!rec->line)
        m->rendered += rec->len;
    return 0;
}

void cairn__otlp_finish(struct cairn__otlp_map *m)
{
    struct cairn_ingest_batch *b = m->b;
    size_t off = 0;
    for (size_t i = 0; i < b->ne && off < m->rendered; i++) {
        if (b->e[i].line)
            continue;
        b->e[i].line = b->otlp_lines.data + off;
        off += b->e[i].len;
    }
}

int cairn__otlp_put_str(struct cairn_buf *out, const char *s, size_t n, int nested)
{
    return nested ? cairn_buf_append_json_str(out, s, n) : cairn_buf_append(out, s, n);
}

int cairn__otlp_put_bytes(struct cairn_buf *out, const unsigned char *p, size_t n, int nested)
{
    size_t need = 4 * ((n + 2) / 3) + 1;
    if (cairn_buf_reserve(out, need + 2))
        return CAIRN_ENOMEM;
    if (nested)
        out->data[out->len++] = '"';
    cairn_base64_encode(p, n, out->data + out->len);
    out->len += need - 1;
    if (nested)
        out->data[out->len++] = '"';
    out->data[out->len] = '\0';
    return 0;
}

int cairn__otlp_put_double(struct cairn_buf *out, double d, int nested)
{
    if (isfinite(d))
        return cairn_go_format_float(out, d);
    const char *s = isnan(d) ? "NaN" : d > 0 ? "+Inf" : "-Inf";
    return cairn__otlp_put_str(out, s, strlen(s), nested);
}
