/* tenants.c -- per-tenant state of the push path: the ingestion rate limiter (a token
 * bucket in bytes, Loki's ingestion_rate_mb / ingestion_burst_size_mb) and the
 * ingested-lines/bytes counters behind /metrics.
 *
 * Tenants are few; a mutex-guarded array searched linearly is held for a few hundred
 * nanoseconds once per request, never per line. */
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "api/api_int.h"

int cairn__tenants_init(struct cairn__tenants *t, double rate_bytes, double burst_bytes)
{
    memset(t, 0, sizeof *t);
    if (pthread_mutex_init(&t->mu, NULL))
        return CAIRN_ENOMEM;
    t->rate = rate_bytes;
    t->burst = burst_bytes;
    return 0;
}

void cairn__tenants_deinit(struct cairn__tenants *t)
{
    pthread_mutex_destroy(&t->mu);
    free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
}

int cairn__tenant_id_valid(const char *id, size_t len)
{
    return cairn_ingest_tenant_problem(id, len) == NULL;
}

/* Routes that act for a tenant: Loki's API (push, query, labels, series, tail...). */
static int tenant_scoped(const char *url)
{
    return url && (strncmp(url, "/loki/api/", 10) == 0 || strncmp(url, "/api/prom/", 10) == 0);
}

int cairn__req_tenant_refused(struct cairn__req *r)
{
    if (!tenant_scoped(r->url))
        return 0;
    const char *id = NULL;
    size_t len = 0;
    if (MHD_lookup_connection_value_n(r->conn, MHD_HEADER_KIND, "X-Scope-OrgID", 13, &id,
                                      &len) != MHD_YES || !id || len == 0)
        return 0; /* none: the tenant is "fake", as in Loki */
    const char *why = cairn_ingest_tenant_problem(id, len);
    if (!why && strlen(id) == len) /* a NUL inside would cut the ID short: refused above */
        return 0;
    /* Print at most the first 160 bytes, printable ASCII only. */
    char shown[161];
    size_t n = 0;
    for (size_t i = 0; i < len && n < sizeof shown - 1; i++)
        shown[n++] = id[i] >= 0x20 && id[i] < 0x7f ? id[i] : '?';
    shown[n] = '\0';
    cairn__reply_text(r, 400,
                      "invalid tenant ID '%s': %s (1 to %d characters of "
                      "[A-Za-z0-9!-_.*'()], not '.' or '..')",
                      shown, why ? why : "tenant ID contains an unsupported character",
                      CAIRN_TENANT_ID_MAX);
    return 1;
}

/* The tenant's slot, created if new; NULL on out of memory. Caller holds t->mu. */
static struct cairn__tenant *find(struct cairn__tenants *t, const char *id, int64_t now_ns)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].id, id) == 0)
            return &t->v[i];
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        struct cairn__tenant *v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return NULL;
        t->v = v;
        t->cap = cap;
    }
    struct cairn__tenant *x = &t->v[t->n++];
    memset(x, 0, sizeof *x);
    strncpy(x->id, id, CAIRN_TENANT_ID_MAX);
    x->tokens = t->burst;
    x->last_ns = now_ns;
    return x;
}

int cairn__tenants_take(struct cairn__tenants *t, const char *id, size_t bytes, int64_t now_ns)
{
    int rc = 0;
    pthread_mutex_lock(&t->mu);
    struct cairn__tenant *x = find(t, id, now_ns);
    if (!x) {
        rc = CAIRN_ENOMEM;
    } else if (t->rate > 0) {
        double dt = (double)(now_ns - x->last_ns) / 1e9;
        if (dt > 0) {
            x->tokens += dt * t->rate;
            if (x->tokens > t->burst)
                x->tokens = t->burst;
            x->last_ns = now_ns;
        }
        if ((double)bytes > x->tokens)
            rc = CAIRN_ELIMIT;
        else
            x->tokens -= (double)bytes;
    }
    pthread_mutex_unlock(&t->mu);
    return rc;
}

void cairn__tenants_count(struct cairn__tenants *t, const char *id, uint64_t lines,
                          uint64_t bytes, uint64_t discarded)
{
    pthread_mutex_lock(&t->mu);
    struct cairn__tenant *x = find(t, id, 0);
    if (x) {
        x->lines += lines;
        x->bytes += bytes;
        x->discarded_lines += discarded;
    }
    pthread_mutex_unlock(&t->mu);
}

int cairn__tenants_metrics(struct cairn__tenants *t, struct cairn_buf *out)
{
    static const struct {
        const char *name, *help;
        size_t off;
    } m[] = {
        {"cairn_ingested_lines_total", "Log lines ingested (acknowledged) per tenant.",
         offsetof(struct cairn__tenant, lines)},
        {"cairn_ingested_bytes_total", "Log line bytes ingested (acknowledged) per tenant.",
         offsetof(struct cairn__tenant, bytes)},
        {"cairn_discarded_lines_total", "Log lines refused by validation or limits per tenant.",
         offsetof(struct cairn__tenant, discarded_lines)},
    };
    int rc = 0;
    pthread_mutex_lock(&t->mu);
    for (size_t k = 0; k < sizeof m / sizeof m[0] && !rc; k++) {
        rc |= cairn_buf_appendf(out, "# HELP %s %s\n# TYPE %s counter\n", m[k].name, m[k].help,
                                m[k].name);
        for (size_t i = 0; i < t->n && !rc; i++) {
            uint64_t v = *(const uint64_t *)((const char *)&t->v[i] + m[k].off);
            /* tenant IDs hold no '"' or '\\' (cairn__tenant_id_valid) */
            rc |= cairn_buf_appendf(out, "%s{tenant=\"%s\"} %llu\n", m[k].name, t->v[i].id,
                                    (unsigned long long)v);
        }
    }
    pthread_mutex_unlock(&t->mu);
    return rc ? CAIRN_ENOMEM : 0;
}
