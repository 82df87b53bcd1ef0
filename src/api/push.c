/* push.c -- POST /loki/api/v1/push: decompress, decode, validate, apply the tenant's
 * limits, append to the store, and answer as Loki does.
 *
 * Order as in Loki's distributor: per-stream and per-entry validation first (bad
 * streams and entries are dropped, their messages kept); then the tenant's rate
 * limit on what is left (over it: 429 and nothing is stored); then the active
 * stream limit per new stream (429 for those streams, the rest stored); then the
 * append. Good streams of a partly bad batch are stored and the reply is 400 (or 429)
 * naming each failure, one per line. */
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>
#include <snappy-c.h>

#include "api/api_int.h"
#include "cairn/limits.h"
#include "cairn/log.h"
#include "cairn/timeutil.h"

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

/* POST /otlp/v1/logs: the same pipeline, OTLP bodies and OTLP/HTTP's answers. */
static int is_otlp(const struct cairn__req *r)
{
    return r->url && strncmp(r->url, "/otlp/", 6) == 0;
}

static int otlp_json(struct cairn__req *r)
{
    const char *ctype = cairn__req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    return ctype && strncasecmp(ctype, "application/json", 16) == 0;
}

/* Decompress and decode the body into r->batch; 0, or the reply is already set. */
static int decode(struct cairn_api *api, struct cairn__req *r)
{
    struct cairn__ingest_batch *b = r->batch;
    const struct cairn_api_limits *lim = &api->limits;
    const char *ctype = cairn__req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    const char *cenc = cairn__req_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING);
    struct cairn_err err;
    cairn_err_clear(&err);
    const char *body = b->body.data ? b->body.data : "";
    size_t len = b->body.len;
    if (has_token(cenc, "gzip")) {
        if (cairn__gunzip(body, len, lim->max_push_decoded, &b->dec, &b->charge, &err))
            goto bad;
        body = b->dec.data ? b->dec.data : "";
        len = b->dec.len;
    } else if (cenc && *cenc && strcasecmp(cenc, "identity") != 0) {
        cairn__reply_text(r, 415, "unsupported Content-Encoding '%s' (gzip or none)", cenc);
        return -1;
    }
    if (is_otlp(r)) { /* OTLP/HTTP: protobuf (the default) or JSON, never snappy */
        if (ctype && !otlp_json(r) && strncasecmp(ctype, "application/x-protobuf", 22) != 0) {
            cairn__reply_text(r, 415, "unsupported Content-Type '%s' (application/x-protobuf "
                              "or application/json)", ctype);
            return -1;
        }
        if ((otlp_json(r) ? cairn__ingest_decode_otlp_json : cairn__ingest_decode_otlp_pb)(
                b, body, len, lim, api->otlp, &err))
            goto bad;
        return 0;
    }
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
        if (cairn__unsnappy(body, len, lim->max_push_decoded, dst, &b->charge, &err))
            goto bad;
        const char *p = dst->data ? dst->data : "";
        size_t n = dst->len;
        if (cairn__ingest_decode_pb(b, p, n, lim, &err))
            goto bad;
        return 0;
    }
    if (cairn__ingest_decode_json(b, body, len, lim, &err))
        goto bad;
    return 0;
bad:
    if (err.code == CAIRN_ELIMIT) {
        cairn__reply_text(r, 413, "%s", err.msg);
    } else if (err.code == CAIRN_EAGAIN) { /* the process-wide decoding budget is full */
        cairn__reply_text(r, 503, "%s", err.msg);
        r->retry_after_s = CAIRN_PUSH_RETRY_AFTER_S;
    } else if (err.code == CAIRN_ENOMEM) {
        cairn__reply_text(r, 500, "%s", err.msg);
    } else {
        cairn__reply_text(r, 400, "%s", err.msg);
    }
    return -1;
}

/* Apply the active stream limit: 429 for each stream the store does not know yet
 * once the tenant is at its limit. Returns how many streams stay. */
static size_t stream_limit(struct cairn_api *api, struct cairn_store *st, const char *tenant,
                           struct cairn__ingest_batch *b)
{
    size_t max = api->limits.max_streams_per_user, kept = 0;
    size_t active = max ? cairn_store_active_streams(st, tenant) : 0;
    size_t created = 0;
    /* Room for every stream of the batch even if all were new: no stream can hit the
     * limit, so skip asking the store about each (a lock and a lookup per stream). */
    if (max && active <= max && b->n <= max - active)
        max = 0;
    for (size_t i = 0; i < b->n; i++) {
        struct cairn__bstream *s = &b->s[i];
        if (!s->n)
            continue;
        if (max && !cairn_store_stream_active(st, tenant, s->fp)) {
            if (active + created >= max) {
                cairn__ingest_fail(b, 429,
                                 "Maximum active stream limit exceeded when trying to create "
                                 "stream %s, reduce the number of active streams (reduce "
                                 "labels or reduce label values), or contact your Loki "
                                 "administrator to see if the limit can be increased, "
                                 "user: '%s'",
                                 cairn__ingest_stream_text(b, i), tenant);
                s->n = 0;
                s->status = 429;
                continue;
            }
            created++;
        }
        kept++;
    }
    return kept;
}

static void push(struct cairn_api *api, struct cairn__req *r)
{
    struct cairn__ingest_batch *b = r->batch;
    struct cairn_store *st = atomic_load(&api->store);
    if (!st) {
        cairn__reply_text(r, 503, "not ready: the store is still replaying its WAL");
        return;
    }
    if (cairn__req_tenant_refused(r)) /* the dispatcher checked already; the store's
                                         paths depend on it, so check where it is used */
        return;
    const char *tenant = cairn__req_tenant(r);
    if (decode(api, r))
        return;

    size_t total_in = b->ne, bytes = 0;
    size_t lines = cairn__ingest_validate(b, &api->limits, cairn_now_ns(), &bytes);
    if (lines && cairn__tenants_take(&api->tenants, tenant, bytes, cairn_mono_ns())) {
        long long limit = (long long)(api->limits.ingestion_rate_mb * 1024 * 1024);
        cairn__tenants_count(&api->tenants, tenant, 0, 0, total_in);
        cairn__reply_text(r, 429,
                          "Ingestion rate limit exceeded for user %s (limit: %lld bytes/sec) "
                          "while attempting to ingest '%zu' lines totaling '%zu' bytes, reduce "
                          "log volume or contact your Loki administrator to see if the limit "
                          "can be increased",
                          tenant, limit, lines, bytes);
        return;
    }
    size_t ns = lines ? stream_limit(api, st, tenant, b) : 0;

    /* Hand the surviving streams to the store in one append (one WAL write). */
    if (ns && cairn__ingest_sm_refs(b)) {
        cairn__reply_text(r, 500, "out of memory");
        return;
    }
    if (b->ps_cap < ns) {
        struct cairn_push_stream *ps = realloc(b->ps, ns * sizeof *ps);
        if (!ps) {
            cairn__reply_text(r, 500, "out of memory");
            return;
        }
        b->ps = ps;
        b->ps_cap = ns;
    }
    size_t k = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (!b->s[i].n)
            continue;
        struct cairn_push_stream *p = &b->ps[k++];
        p->labels = &b->labels[i];
        p->entries = b->e + b->s[i].first;
        p->n = b->s[i].n;
        p->fp = b->s[i].fp; /* validation computed it (or the label cache had it) */
        p->fp_set = 1;
        p->sm = b->has_sm ? b->smref + b->s[i].first : NULL;
        p->rejected = 0;
        cairn_err_clear(&p->err);
    }
    uint64_t ok_lines = 0, ok_bytes = 0;
    if (k) {
        int rc = cairn_store_append(st, tenant, b->ps, k);
        if (rc) {
            atomic_fetch_add(&api->push_errors, 1);
            CAIRN_ERROR("api", "push append failed", "tenant=%s err=%s", tenant,
                        cairn_strerror(rc));
            /* Nothing of the push is stored (the store leaves no trace of a failed
             * write), so the client may retry it whole. Disk full: 507 Insufficient
             * Storage; writes resume by themselves when space returns, reads go on. */
            if (rc == CAIRN_ENOSPC)
                cairn__reply_text(r, 507,
                                  "insufficient storage: the data directory is full (no space "
                                  "left on device); nothing of this push was stored, retry "
                                  "once space is freed");
            else
                cairn__reply_text(r, rc == CAIRN_EAGAIN ? 503 : 500,
                                  "failed to store the push: %s; nothing of it was stored",
                                  cairn_strerror(rc));
            return;
        }
        cairn__tail_publish(api, tenant, b->ps, k);
        k = 0;
        for (size_t i = 0; i < b->n; i++) {
            if (!b->s[i].n)
                continue;
            struct cairn_push_stream *p = &b->ps[k++];
            size_t took = p->n - p->rejected;
            ok_lines += took;
            /* Bytes of the refused entries are not known; count the stream's share. */
            ok_bytes += p->n ? b->s[i].bytes * took / p->n : 0;
            if (p->rejected)
                cairn__ingest_fail(b, 400, "%s, total ignored: %zu out of %zu for stream: %s",
                                 p->err.msg[0] ? p->err.msg : "entry out of order",
                                 p->rejected, p->n, cairn__ingest_stream_text(b, i));
        }
    }
    cairn__tenants_count(&api->tenants, tenant, ok_lines, ok_bytes, total_in - ok_lines);
    if (b->status) {
        CAIRN_DEBUG("api", "push partly refused", "tenant=%s status=%d errors=%zu stored=%llu",
                    tenant, b->status, b->n_errors, (unsigned long long)ok_lines);
        if (b->n_errors > CAIRN_PUSH_MAX_ERROR_LINES)
            cairn_buf_appendf(&b->msg, "(and %zu more errors)\n",
                              b->n_errors - CAIRN_PUSH_MAX_ERROR_LINES);
        cairn__reply_text(r, b->status, "%.*s", (int)(b->msg.len ? b->msg.len - 1 : 0),
                          cairn_buf_cstr(&b->msg));
        return;
    }
    if (is_otlp(r)) { /* an empty ExportLogsServiceResponse */
        int json = otlp_json(r);
        r->status = 200;
        r->content_type = json ? "application/json" : "application/x-protobuf";
        cairn_buf_reset(r->reply);
        if (json)
            cairn_buf_append_str(r->reply, "{}");
        return;
    }
    r->status = 204;
}

void cairn__handle_push(struct cairn_api *api, struct cairn__req *r)
{
    struct cairn__decode_charge *ch = &r->batch->charge;
    *ch = (struct cairn__decode_charge){.used = &api->push_decoding,
                                        .max = api->limits.push_decode_budget};
    push(api, r);
    /* The buffers stay with the connection (trimmed after the reply), uncharged. */
    cairn__decode_charge_release(ch);
}
