/* otlp.c -- the push client's OTLP encoder: a batch as an OTLP/HTTP protobuf
 * ExportLogsServiceRequest (field numbers as opentelemetry-proto's logs and common
 * .proto files; the same subset the server's decoder reads, src/ingest/otlp_pb.c), written
 * straight to the wire format. Stream labels become resource attributes, an entry's
 * structured metadata its record's attributes (LogRecord.attributes, field 6). */
#include <string.h>

#include "cairn/labels.h"
#include "cairn/smeta.h"
#include "push/push_int.h"

static size_t uv_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static int put_uv(struct cairn_buf *o, uint64_t v)
{
    return cairn_buf_append_uvarint(o, v);
}

/* A length-delimited field whose payload is p[0..n). */
static int put_len(struct cairn_buf *o, unsigned field, const void *p, size_t n)
{
    if (put_uv(o, (uint64_t)field << 3 | 2) || put_uv(o, n))
        return CAIRN_ENOMEM;
    return cairn_buf_append(o, p, n);
}

/* The OTLP name of a label: service_name -> service.name for Loki's index list. */
static const char *otlp_name(const char *label)
{
    for (size_t i = 0; i < CAIRN_OTLP_N_INDEX_ATTRS; i++) {
        const char *a = cairn_otlp_index_attrs[i];
        size_t k = 0;
        while (a[k] && label[k] && (a[k] == label[k] || (a[k] == '.' && label[k] == '_')))
            k++;
        if (!a[k] && !label[k])
            return a;
    }
    return label;
}

/* KeyValue{key, AnyValue{string_value}} as field `field` of o, through scratch t. */
static int put_attr(struct cairn_buf *o, unsigned field, const char *k, const char *v, size_t vl,
                    struct cairn_buf *t)
{
    size_t kl = strlen(k);
    size_t av = 1 + uv_len(vl) + vl; /* AnyValue: tag 1, length, bytes */
    cairn_buf_reset(t);
    if (put_len(t, 1, k, kl) || put_uv(t, 2 << 3 | 2) || put_uv(t, av) || put_len(t, 1, v, vl))
        return CAIRN_ENOMEM;
    return put_len(o, field, t->data, t->len);
}

/* An entry's structured metadata (smeta blob sm[0..len)) as the record's string
 * attributes, names as sent. */
static int record_attrs(struct cairn_buf *rec, const char *sm, size_t len, struct cairn_buf *t,
                        struct cairn_buf *name)
{
    struct cairn_smeta_iter it;
    const char *n, *v;
    size_t nl, vl;
    int rc;
    cairn_smeta_iter_init(&it, sm, len);
    while ((rc = cairn_smeta_next(&it, &n, &nl, &v, &vl)) == 1) {
        cairn_buf_reset(name); /* put_attr takes a C string */
        if (cairn_buf_append(name, n, nl) || cairn_buf_append_byte(name, '\0') ||
            put_attr(rec, 6, name->data, v, vl, t))
            return CAIRN_ENOMEM;
    }
    return rc;
}

int cairn__pushc_batch_encode_otlp(struct cairn__push_batch *b)
{
    struct cairn_buf res = {0}, recs = {0}, rec = {0}, tmp = {0}, sl = {0}, rl = {0}, name = {0};
    struct cairn_labels ls;
    struct cairn_err err;
    int rc = 0;
    cairn_labels_init(&ls);
    cairn_buf_reset(&b->body);
    for (size_t si = 0; si < b->n_streams && !rc; si++) {
        const struct cairn__push_stream *st = &b->streams[si];
        cairn_buf_reset(&res);
        cairn_buf_reset(&recs);
        cairn_labels_reset(&ls);
        if (cairn_labels_parse(&ls, b->labels.data + st->label_off, st->label_len, &err)) {
            rc = CAIRN_EINVAL;
            break;
        }
        for (size_t i = 0; i < ls.n && !rc; i++)
            rc = put_attr(&res, 1, otlp_name(ls.v[i].name), ls.v[i].value, ls.v[i].value_len,
                          &tmp);
        for (size_t i = 0; i < b->n_entries && !rc; i++) {
            const struct cairn__push_entry *e = &b->entries[i];
            if (e->stream != si)
                continue;
            unsigned char t[8];
            for (int k = 0; k < 8; k++)
                t[k] = (unsigned char)((uint64_t)e->ts >> (8 * k));
            size_t body = 1 + uv_len(e->len) + e->len;
            cairn_buf_reset(&rec);
            if (put_uv(&rec, 1 << 3 | 1) || cairn_buf_append(&rec, t, 8) ||
                put_uv(&rec, 5 << 3 | 2) || put_uv(&rec, body) ||
                put_len(&rec, 1, b->lines.data + e->off, e->len))
                rc = CAIRN_ENOMEM;
            if (!rc && e->sm_len)
                rc = record_attrs(&rec, b->sm.data + e->sm_off, e->sm_len, &tmp, &name);
            if (!rc && put_len(&recs, 2, rec.data, rec.len))
                rc = CAIRN_ENOMEM;
        }
        cairn_buf_reset(&sl);
        cairn_buf_reset(&rl);
        if (!rc && (cairn_buf_append(&sl, recs.data ? recs.data : "", recs.len) ||
                    put_len(&rl, 1, res.data ? res.data : "", res.len) ||
                    put_len(&rl, 2, sl.data ? sl.data : "", sl.len) ||
                    put_len(&b->body, 1, rl.data, rl.len)))
            rc = CAIRN_ENOMEM;
    }
    struct cairn_buf *all[] = {&res, &recs, &rec, &tmp, &sl, &rl, &name};
    for (size_t i = 0; i < 7; i++)
        cairn_buf_deinit(all[i]);
    cairn_labels_deinit(&ls);
    if (!rc && !b->body.data)
        rc = cairn_buf_reserve(&b->body, 1); /* an empty request: a valid empty body */
    return rc;
}
