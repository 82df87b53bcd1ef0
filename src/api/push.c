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
#include <strings.h>

#include <microhttpd.h>

#include "api/api_int.h"
#include "cairn/limits.h"
#include "cairn/log.h"
#include "cairn/timeutil.h"

/* POST /otlp/v1/logs: the same pipeline, OTLP bodies and OTLP/HTTP's answers. */
static int is_otlp(const struct cairn__req *r)
{
    return r->url && strncmp(r->url, "/otlp/", 6) == 0;
}

/* Decompress and decode the body into r->batch; 0, or the reply is already set. */
static int decode(struct cairn_api *api, struct cairn__req *r, const struct cairn_ingest_limits *lim)
{
    struct cairn_err err;
    int status = 0;
    cairn_err_clear(&err);
    const char *ctype = cairn__req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    const char *cenc = cairn__req_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING);
    if (is_otlp(r) ? cairn_ingest_decode_otlp_body(r->batch, ctype, cenc, lim, api->otlp,
                                                   &status, &err) == 0
                   : cairn_ingest_decode_body(r->batch, ctype, cenc, lim, &status, &err) == 0)
        return 0;
    cairn__reply_text(r, status, "%s", err.msg);
    if (status == 503) /* the process-wide decoding budget is full */
        r->retry_after_s = CAIRN_PUSH_RETRY_AFTER_S;
    return -1;
}

/* Apply the active stream limit: 429 for each stream the store does not know yet
 * once the tenant is at its limit. Returns how many streams stay. */
static size_t stream_limit(struct cairn_api *api, struct cairn_store *st, const char *tenant,
                           struct cairn_ingest_batch *b)
{
    size_t max = api->limits.max_streams_per_user, kept = 0;
    size_t active = max ? cairn_store_active_streams(st, tenant) : 0;
    size_t created = 0;
    /* Room for every stream of the batch even if all were new: no stream can hit the
     * limit, so skip asking the store about each (a lock and a lookup per stream). */
    if (max && active <= max && b->n <= max - active)
        max = 0;
    for (size_t i = 0; i < b->n; i++) {
        struct cairn_ingest_bstream *s = &b->s[i];
        if (!s->n)
            continue;
        if (max && !cairn_store_stream_active(st, tenant, s->fp)) {
            if (active + created >= max) {
                cairn_ingest_fail(b, 429,
                                 "Maximum active stream limit exceeded when trying to create "
                                 "stream %s, reduce the number of active streams (reduce "
                                 "labels or reduce label values), or contact your Loki "
                                 "administrator to see if the limit can be increased, "
                                 "user: '%s'",
                                 cairn_ingest_stream_text(b, i), tenant);
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

/* internal: a peer's forward (/internal/push): the distributor applied the tenant's
 * limits and chose this node as an owner, so store it here, limits and ring aside. */
static void push(struct cairn_api *api, struct cairn__req *r, int internal)
{
    struct cairn_ingest_batch *b = r->batch;
    struct cairn_store *st = atomic_load(&api->store);
    if (!st) {
        cairn__reply_text(r, 503, "not ready: the store is still replaying its WAL");
        return;
    }
    if (cairn__req_tenant_refused(r)) /* the dispatcher checked already; the store's
                                         paths depend on it, so check where it is used */
        return;
    const char *tenant = cairn__req_tenant(r);
    const struct cairn_ingest_limits *lim = &api->limits.ingest;
    if (decode(api, r, lim))
        return;

    size_t total_in = b->ne, bytes = 0;
    size_t lines = cairn_ingest_validate(b, lim, cairn_now_ns(), &bytes);
    if (lines && !internal && cairn__tenants_take(&api->tenants, tenant, bytes, cairn_mono_ns())) {
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
    size_t ns = !lines ? 0 : internal ? b->n : stream_limit(api, st, tenant, b);

    /* Hand the surviving streams to the store in one append (one WAL write). */
    if (ns && cairn_ingest_sm_refs(b)) {
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
        struct cairn_buf why = CAIRN_BUF_INIT;
        int rc = api->cluster && !internal
                     ? cairn__cluster_append(api, st, tenant, b, b->ps, k, &why)
                     : cairn_store_append(st, tenant, b->ps, k);
        if (rc == CAIRN_EAGAIN && why.len) {
            cairn__reply_text(r, 503, "push not acknowledged by a quorum of replicas: %s",
                              cairn_buf_cstr(&why));
            r->retry_after_s = 1;
            cairn_buf_deinit(&why);
            return;
        }
        cairn_buf_deinit(&why);
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
                cairn_ingest_fail(b, 400, "%s, total ignored: %zu out of %zu for stream: %s",
                                 p->err.msg[0] ? p->err.msg : "entry out of order",
                                 p->rejected, p->n, cairn_ingest_stream_text(b, i));
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
        const char *ctype = cairn__req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
        int json = ctype && strncasecmp(ctype, "application/json", 16) == 0;
        r->status = 200;
        r->content_type = json ? "application/json" : "application/x-protobuf";
        cairn_buf_reset(r->reply);
        if (json)
            cairn_buf_append_str(r->reply, "{}");
        return;
    }
    r->status = 204;
}

static void handle(struct cairn_api *api, struct cairn__req *r, int internal)
{
    struct cairn_ingest_charge *ch = &r->batch->charge;
    *ch = (struct cairn_ingest_charge){.used = &api->push_decoding,
                                        .max = api->limits.push_decode_budget};
    push(api, r, internal);
    /* The buffers stay with the connection (trimmed after the reply), uncharged. */
    cairn_ingest_charge_release(ch);
}

void cairn__handle_push(struct cairn_api *api, struct cairn__req *r)
{
    handle(api, r, 0);
}

void cairn__handle_internal_push(struct cairn_api *api, struct cairn__req *r)
{
    if (!cairn__cluster_refused(api, r))
        handle(api, r, 1);
}
