/* body.c -- a push body as it came over HTTP: its Content-Encoding (gzip or none) and
 * Content-Type (JSON, protobuf+snappy, or sniffed as Loki does) decide which decoder
 * fills the batch, and a failure maps to the HTTP status Loki answers with. Shared by
 * the store's push endpoint and the agent's push relay. */
#include <string.h>
#include <strings.h>

#include <snappy-c.h>

#include "cairn/ingest.h"

static int has_token(const char *h, const char *tok)
{
    if (!h)
        return 0;
    size_t n = strlen(tok);
    for (const char *p = h; (p = strcasestr(p, tok)) != NULL; p += n) {
        char after = p[n];
        int start_ok = p == h || p[-1] == ' ' || p[-1] == ',' || p[-1] == '\t';
        if (start_ok && (after == '\0' || after == ',' || after == ';' || after == ' '))
            return 1;
    }
    return 0;
}

static int status_of(int code)
{
    switch (code) {
    case CAIRN_ELIMIT:
        return 413;
    case CAIRN_EAGAIN: /* the process-wide decoding budget is full */
        return 503;
    case CAIRN_ENOMEM:
        return 500;
    default:
        return 400;
    }
}

/* The body after its Content-Encoding (gzip or none) into *body and *len: 0, or an error
 * with *status set. */
static int content_decode(struct cairn_ingest_batch *b, const char *cenc,
                          const struct cairn_ingest_limits *lim, const char **body, size_t *len,
                          int *status, struct cairn_err *err)
{
    *body = b->body.data ? b->body.data : "";
    *len = b->body.len;
    *status = 0;
    if (has_token(cenc, "gzip")) {
        if (cairn_ingest_gunzip(*body, *len, lim->max_push_decoded, &b->dec, &b->charge, err)) {
            *status = status_of(err->code);
            return err->code ? err->code : CAIRN_EINVAL;
        }
        *body = b->dec.data ? b->dec.data : "";
        *len = b->dec.len;
    } else if (cenc && *cenc && strcasecmp(cenc, "identity") != 0) {
        *status = 415;
        return cairn_err_set(err, CAIRN_EINVAL,
                             "unsupported Content-Encoding '%s' (gzip or none)", cenc);
    }
    return 0;
}

int cairn_ingest_decode_otlp_body(struct cairn_ingest_batch *b, const char *ctype,
                                  const char *cenc, const struct cairn_ingest_limits *lim,
                                  struct cairn_ingest_otlp_rules *rules, int *status,
                                  struct cairn_err *err)
{
    const char *body;
    size_t len;
    int rc = content_decode(b, cenc, lim, &body, &len, status, err);
    if (rc)
        return rc;
    int json = ctype && strncasecmp(ctype, "application/json", 16) == 0;
    if (ctype && !json && strncasecmp(ctype, "application/x-protobuf", 22) != 0) {
        *status = 415;
        return cairn_err_set(err, CAIRN_EINVAL, "unsupported Content-Type '%s' "
                             "(application/x-protobuf or application/json)", ctype);
    }
    rc = json ? cairn_ingest_decode_otlp_json(b, body, len, lim, rules, err)
              : cairn_ingest_decode_otlp_pb(b, body, len, lim, rules, err);
    if (rc)
        *status = status_of(err->code);
    return rc;
}

int cairn_ingest_decode_body(struct cairn_ingest_batch *b, const char *ctype, const char *cenc,
                             const struct cairn_ingest_limits *lim, int *status,
                             struct cairn_err *err)
{
    const char *body;
    size_t len;
    int rc = content_decode(b, cenc, lim, &body, &len, status, err);
    if (rc)
        return rc;
    /* As Loki: JSON when said so, protobuf+snappy when said so or unsaid. A body under
     * another type (curl -d sends form-urlencoded) that is not valid snappy but plainly
     * a JSON object is taken as JSON. Snappy first: a snappy body may start with '{'. */
    int is_json = ctype && strncasecmp(ctype, "application/json", 16) == 0;
    int is_pb = ctype && strncasecmp(ctype, "application/x-protobuf", 22) == 0;
    if (!is_json && !is_pb && snappy_validate_compressed_buffer(body, len) != SNAPPY_OK) {
        size_t i = 0;
        while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t'))
            i++;
        is_json = i < len && body[i] == '{';
    }
    if (!is_json) {
        /* Loki's protobuf bodies are snappy block-compressed, inside any gzip. When
         * gzip used the decompression buffer, the raw body's buffer is free. */
        struct cairn_buf *dst = body == b->dec.data ? &b->body : &b->dec;
        if (cairn_ingest_unsnappy(body, len, lim->max_push_decoded, dst, &b->charge, err))
            goto bad;
        const char *p = dst->data ? dst->data : "";
        if (cairn_ingest_decode_pb(b, p, dst->len, lim, err))
            goto bad;
        return 0;
    }
    if (cairn_ingest_decode_json(b, body, len, lim, err))
        goto bad;
    return 0;
bad:
    *status = status_of(err->code);
    return err->code ? err->code : CAIRN_EINVAL;
}
