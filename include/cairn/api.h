/* api.h -- cairn serve's HTTP API: Loki's push endpoint, /ready, /metrics, /config.
 *
 * Ownership: cairn_api_create returns a server the caller destroys with
 * cairn_api_destroy (which stops listening and waits for in-flight requests). The
 * store is borrowed: it must outlive the api (or be detached first with
 * cairn_api_set_store(api, NULL) after cairn_api_stop). Strings in the config are
 * copied by cairn_api_create. The config dump callback's text is copied per request. */
#ifndef CAIRN_API_H
#define CAIRN_API_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"
#include "cairn/error.h"
#include "cairn/ingest.h"

struct cairn_store;

/* Validation and per-tenant limits, Loki's limits_config names in the comments. */
struct cairn_api_limits {
    /* What decoding and validation of a push check (labels, line size, structured
     * metadata, sample age, decompressed body size): the ingest module's own limits,
     * defaults from cairn_ingest_limits_default. */
    struct cairn_ingest_limits ingest;
    double ingestion_rate_mb;        /* ingestion_rate_mb per tenant (MB/s, 2^20 bytes) */
    double ingestion_burst_mb;       /* ingestion_burst_size_mb */
    size_t max_streams_per_user;     /* max_global_streams_per_user; 0: unlimited */
    size_t max_query_series;         /* max_query_series (500); 0: unlimited */
    int64_t query_timeout_ns;        /* query_timeout (1m); 0: none */
    size_t max_query_memory;         /* max_query_memory (256 MiB); 0: none */
    unsigned max_tenant_queries;     /* max_concurrent_queries_per_tenant (4); 0: no limit */
    unsigned max_tenant_queued;      /* max_outstanding_requests_per_tenant (16) */
    size_t max_push_body;            /* request body size limit, 413 past it */
    size_t push_decode_budget;       /* decompression bytes of all pushes at once, 503
                                        past it; 0: none */
};

/* Called for GET /config: append the effective configuration as YAML (secrets
 * masked) to out; return 0 or a negative CAIRN_E*. */
typedef int (*cairn_api_config_dump_fn)(void *ctx, struct cairn_buf *out);

/* The ruler's HTTP API (rules and alerts): the status of the call, the body in out and
 * its type in *content_type. Set with cairn_api_set_ruler; without one those routes
 * answer 404. */
typedef int (*cairn_api_ruler_fn)(void *ctx, const char *method, const char *path,
                                  const char *tenant, const char *body, size_t len,
                                  struct cairn_buf *out, const char **content_type);

/* A static file (the web UI) for a GET path no API route takes: 0 and *out filled, or
 * nonzero when there is none. The data must stay valid for the server's life. */
struct cairn_api_file {
    const char *content_type;
    const void *data;
    size_t len;
};
typedef int (*cairn_api_file_fn)(const char *path, struct cairn_api_file *out);

/* A credential (auth): a bearer token, or basic auth with name as user and the same
 * secret as password. Strings are copied by cairn_api_create. */
struct cairn_api_credential {
    const char *name;
    const char *secret_sha256;     /* 64 hex digits: SHA-256 of the secret */
    const char *const *tenants;    /* the tenants it may use; "*": any */
    size_t n_tenants;
};

struct cairn_api_config {
    const char *listen;          /* "host:port"; port 0 picks an ephemeral port */
    /* Connections (see server.c): 0 in any of these takes the limits.h default. */
    unsigned workers;                /* handler threads of each pool, push and read
                                      * (0: max(8, 2 x cores)) */
    unsigned max_connections;        /* all clients, clamped to the fd limit */
    unsigned max_connections_per_ip; /* one client address */
    int64_t header_timeout_ns;       /* a request's header must be in within this */
    int64_t body_timeout_ns;         /* longest pause while a body arrives */
    int64_t idle_timeout_ns;         /* keep-alive connection idle between requests */
    /* Auth: off unless auth_enabled; then every route but /ready and /metrics needs
     * one of the credentials (401 without, 403 for a tenant it does not own). */
    int auth_enabled;
    const struct cairn_api_credential *credentials;
    size_t n_credentials;
    struct cairn_api_limits limits;
    cairn_api_config_dump_fn config_dump;
    void *config_dump_ctx;
    cairn_api_file_fn files; /* NULL: no static files */
    struct cairn_otlp_config otlp; /* compiled (copied) by cairn_api_create */
};

/* Fill with Loki's defaults (limits.h), listen "127.0.0.1:3100". */
void cairn_api_config_default(struct cairn_api_config *cfg);

/* Create the server and start listening. Until a store is set, /ready answers 503
 * and pushes 503. NULL on failure with err naming the address or the cause. */
struct cairn_api *cairn_api_create(const struct cairn_api_config *cfg, struct cairn_err *err);
/* Set (or clear) the store pushes go to; the api is ready once one is set. */
void cairn_api_set_store(struct cairn_api *api, struct cairn_store *store);
/* Set (or clear, fn NULL) the ruler behind /loki/api/v1/rules, /api/prom/rules and
 * /prometheus/api/v1/{rules,alerts}; ctx must outlive the server or be cleared first. */
void cairn_api_set_ruler(struct cairn_api *api, cairn_api_ruler_fn fn, void *ctx);
/* The port actually bound (useful with port 0). */
unsigned cairn_api_port(const struct cairn_api *api);
/* Stop accepting and wait for in-flight requests; idempotent. */
void cairn_api_stop(struct cairn_api *api);
/* Stop and free. NULL is a no-op. */
void cairn_api_destroy(struct cairn_api *api);

 /* ---- cluster mode (docs/SCALING.md) ---- */

struct cairn_ring;
struct cairn_push_body;
/* A further source of entries for the read path (the object-storage reader): append to
 * body (with cairn_push_body_add) the entries of tenant's streams matching the LogQL
 * selector sel ("" : every stream) in [start, end) -- only the first entry of each
 * stream when series_only -- at most max_bytes of lines. They are merged with the write
 * nodes' entries, duplicates dropped. 0, or a negative CAIRN_E* (the query fails: 503,
 * or 400 for CAIRN_ELIMIT / CAIRN_EINVAL). Called from query threads concurrently. */
typedef int (*cairn_api_read_source_fn)(void *ctx, const char *tenant, const char *sel,
                                        int64_t start, int64_t end, int series_only,
                                        size_t max_bytes, struct cairn_push_body *body);

struct cairn_store;
/* What /internal/read answers, from store st: the entries of tenant's streams matching
 * sel in [start, end) appended to body (not reset: several stores add to one), as a
 * read source does. Used by
 * the bucket reader (one read-only store per write node's prefix, serve_bucket.c). */
int cairn_api_read_store(struct cairn_store *st, const char *tenant, const char *sel,
                         int64_t start, int64_t end, int series_only, size_t max_bytes,
                         struct cairn_push_body *body);

/* How this node takes part in a cluster. Strings are copied; the ring is borrowed and
 * must outlive the api. */
struct cairn_api_cluster {
    struct cairn_ring *ring;
    const char *target;        /* "all", "write", "read", "backend": for /services */
    unsigned roles;            /* CAIRN_RING_ROLE_* */
    unsigned replication_factor;
    const char *secret;        /* required on the /internal/ routes when set */
    int64_t forward_timeout_ns;
    const char *scratch_dir;   /* read nodes: per-query stores live under it */
    cairn_api_read_source_fn read_source; /* NULL: the write nodes are the only source */
    void *read_source_ctx;
};
/* Enter cluster mode, before the store is set: pushes go to each stream's owners on
 * the ring (quorum acknowledgement), the internal push and read routes answer peers,
 * and a node with the read role answers queries from every write node's data. /ring
 * and /services show the cluster. 0 or CAIRN_ENOMEM. */
int cairn_api_set_cluster(struct cairn_api *api, const struct cairn_api_cluster *c,
                          struct cairn_err *err);

/* Split "host:port" (host may be empty or [v6]) into its parts; 0 or CAIRN_EINVAL. */
int cairn_api_parse_listen(const char *s, char *host, size_t host_cap, unsigned *port);

#endif
