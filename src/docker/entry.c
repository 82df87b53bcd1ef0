/* entry.c -- docker's LogEntry protobuf, by hand: the wire format of
 * api/types/plugins/logdriver/entry.proto (source=1 string, time_nano=2 int64,
 * line=3 bytes, partial=4 bool, partial_log_metadata=5 {last=1 bool, id=2 string,
 * ordinal=3 int32}). Five fields do not need a generated decoder; views, no copies. */
#include <string.h>

#include "cairn/docker.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

struct field {
    uint32_t num, wt;
    uint64_t v;               /* WT_VARINT */
    const unsigned char *p;   /* WT_LEN */
    size_t len;
};

/* Next field at *pos; 1 one read, 0 at the end, CAIRN_EINVAL malformed. */
static int next_field(const unsigned char *p, size_t len, size_t *pos, struct field *f)
{
    if (*pos >= len)
        return 0;
    uint64_t key;
    size_t n = cairn_get_uvarint(p + *pos, len - *pos, &key);
    if (!n || (key >> 3) == 0 || (key >> 3) > UINT32_MAX)
        return CAIRN_EINVAL;
    *pos += n;
    f->num = (uint32_t)(key >> 3);
    f->wt = (uint32_t)(key & 7);
    switch (f->wt) {
    case WT_VARINT:
        n = cairn_get_uvarint(p + *pos, len - *pos, &f->v);
        if (!n)
            return CAIRN_EINVAL;
        *pos += n;
        return 1;
    case WT_I64:
    case WT_I32: {
        size_t w = f->wt == WT_I64 ? 8 : 4;
        if (len - *pos < w)
            return CAIRN_EINVAL;
        *pos += w;
        return 1;
    }
    case WT_LEN: {
        uint64_t l;
        n = cairn_get_uvarint(p + *pos, len - *pos, &l);
        if (!n || l > len - *pos - n)
            return CAIRN_EINVAL;
        f->p = p + *pos + n;
        f->len = (size_t)l;
        *pos += n + (size_t)l;
        return 1;
    }
    default: /* groups (3, 4) are not in this message; 6, 7 do not exist */
        return CAIRN_EINVAL;
    }
}

static int decode_meta(const unsigned char *p, size_t len, struct cairn_docker_entry *e)
{
    size_t pos = 0;
    struct field f;
    int rc;
    while ((rc = next_field(p, len, &pos, &f)) == 1) {
        if (f.num == 1 && f.wt == WT_VARINT)
            e->meta_last = f.v != 0;
        else if (f.num == 2 && f.wt == WT_LEN) {
            e->meta_id = (const char *)f.p;
            e->meta_id_len = f.len;
        } else if (f.num == 3 && f.wt == WT_VARINT)
            e->meta_ordinal = (int32_t)(uint32_t)f.v;
    }
    return rc;
}

int cairn_docker_entry_decode(const unsigned char *p, size_t len, struct cairn_docker_entry *e)
{
    memset(e, 0, sizeof *e);
    e->source = e->line = e->meta_id = "";
    size_t pos = 0;
    struct field f;
    int rc;
    while ((rc = next_field(p, len, &pos, &f)) == 1) {
        switch (f.num) {
        case 1:
            if (f.wt == WT_LEN) {
                e->source = (const char *)f.p;
                e->source_len = f.len;
            }
            break;
        case 2:
            if (f.wt == WT_VARINT)
                e->time_nano = (int64_t)f.v;
            break;
        case 3:
            if (f.wt == WT_LEN) {
                e->line = (const char *)f.p;
                e->line_len = f.len;
            }
            break;
        case 4:
            if (f.wt == WT_VARINT)
                e->partial = f.v != 0;
            break;
        case 5:
            if (f.wt == WT_LEN) {
                e->has_meta = 1;
                if (decode_meta(f.p, f.len, e))
                    return CAIRN_EINVAL;
            }
            break;
        default:
            break; /* unknown field: skipped */
        }
    }
    return rc;
}

static int put_len_field(struct cairn_buf *b, unsigned num, const void *p, size_t len)
{
    int rc = cairn_buf_append_uvarint(b, (uint64_t)(num << 3 | WT_LEN));
    rc |= cairn_buf_append_uvarint(b, len);
    rc |= cairn_buf_append(b, p, len);
    return rc;
}

int cairn_docker_entry_encode(const struct cairn_docker_entry *e, struct cairn_buf *out)
{
    size_t start = out->len;
    int rc = cairn_buf_append(out, "\0\0\0\0", 4); /* length, filled below */
    if (e->source_len)
        rc |= put_len_field(out, 1, e->source, e->source_len);
    if (e->time_nano) {
        rc |= cairn_buf_append_uvarint(out, 2 << 3 | WT_VARINT);
        rc |= cairn_buf_append_uvarint(out, (uint64_t)e->time_nano);
    }
    if (e->line_len)
        rc |= put_len_field(out, 3, e->line, e->line_len);
    if (e->partial)
        rc |= cairn_buf_append(out, "\x20\x01", 2);
    if (e->has_meta) {
        struct cairn_buf m = CAIRN_BUF_INIT;
        if (e->meta_last)
            rc |= cairn_buf_append(&m, "\x08\x01", 2);
        if (e->meta_id_len)
            rc |= put_len_field(&m, 2, e->meta_id, e->meta_id_len);
        if (e->meta_ordinal) {
            rc |= cairn_buf_append_uvarint(&m, 3 << 3 | WT_VARINT);
            /* int32 is sign-extended to 64 bits on the wire */
            rc |= cairn_buf_append_uvarint(&m, (uint64_t)(int64_t)e->meta_ordinal);
        }
        rc |= put_len_field(out, 5, m.data ? m.data : "", m.len);
        cairn_buf_deinit(&m);
    }
    if (rc) {
        cairn_buf_truncate(out, start);
        return CAIRN_ENOMEM;
    }
    size_t n = out->len - start - 4;
    unsigned char *h = (unsigned char *)out->data + start;
    h[0] = (unsigned char)(n >> 24);
    h[1] = (unsigned char)(n >> 16);
    h[2] = (unsigned char)(n >> 8);
    h[3] = (unsigned char)n;
    return 0;
}
