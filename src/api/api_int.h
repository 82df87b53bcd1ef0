/* api_int.h -- the api module's internal layout: the server context, the route table,
 * per-tenant state (rate limiter, counters) and request metrics.
 *
 * Ownership: the cairn_api owns its tenant table and metrics; handlers borrow the api
 * for the duration of a request. */
#ifndef CAIRN_API_INT_H
#define CAIRN_API_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "api/server_int.h"
#include "api/tail.h"
#include "cairn/api.h"
#include "cairn/buf.h"
#include "cairn/ingest.h"
#include "cairn/query_gate.h"

/* ---- tenants: ingestion rate limiter and counters -------------------------------- */

struct cairn__tenant {
    char id[CAIRN_TENANT_ID_MAX + 1];
    double tokens;         /* bytes available now */
    int64_t last_ns;       /* monotonic time of the last refill */
    uint64_t lines, bytes; /* ingested (acknowledged) */
    uint64_t discarded_lines;
};

struct cairn__tenants {
    pthread_mutex_t mu;
    struct cairn__tenant *v;
    size_t n, cap;
    double rate, burst; /* bytes/s and bucket size */
};

int cairn__tenants_init(struct cairn__tenants *t, double rate_bytes, double burst_bytes);
void cairn__tenants_deinit(struct cairn__tenants *t);
/* Is `id` a valid tenant ID (Loki's rules: 1..150 bytes of [A-Za-z0-9!-_.*'()], not
 * "." or ".."; so no NUL, '/', or the '|' of Loki's multi-tenant queries)? */
int cairn__tenant_id_valid(const char *id, size_t len);
/* Take `bytes` from the tenant's token bucket. 0 when allowed, CAIRN_ELIMIT when the
 * tenant is over its rate (nothing taken), CAIRN_ENOMEM. */
int cairn__tenants_take(struct cairn__tenants *t, const char *id, size_t bytes, int64_t now_ns);
/* Count ingested and discarded lines for /metrics. */
void cairn__tenants_count(struct cairn__tenants *t, const char *id, uint64_t lines,
                          uint64_t bytes, uint64_t discarded);
/* Append the per-tenant counters in Prometheus text form. */
int cairn__tenants_metrics(struct cairn__tenants *t, struct cairn_buf *out);

/* ---- request metrics ------------------------------------------------------------ */

#define CAIRN_METRIC_BUCKETS 12
#define CAIRN_METRIC_STATUSES 12 /* distinct status codes tracked per route */
#define CAIRN_ROUTES_MAX 64 /* route table entries (+1 for "no route"); ~130 KiB of histograms */

struct cairn__histo {
    _Atomic int status;      /* 0: slot unused */
    _Atomic uint64_t count;
    _Atomic uint64_t sum_ns;
    _Atomic uint64_t le[CAIRN_METRIC_BUCKETS]; /* non-cumulative counts per bucket */
};

struct cairn__metrics {
    struct cairn__histo h[CAIRN_ROUTES_MAX][CAIRN_METRIC_STATUSES];
};

void cairn__metrics_observe(struct cairn__metrics *m, size_t route, int status, int64_t ns);
int cairn__metrics_render(struct cairn__metrics *m, struct cairn_buf *out);

/* ---- routes --------------------------------------------------------------------- */

struct cairn__req;

/* A handler reads the request and fills its reply (status, body, content type). */
typedef void (*cairn__handler_fn)(struct cairn_api *api, struct cairn__req *r);

struct cairn__route {
    const char *method;
    const char *path;
    const char *name; /* the route label in metrics, as Loki names them */
    cairn__handler_fn fn;
    int wants_body;   /* accumulate the body: CAIRN__BODY_PUSH or CAIRN__BODY_FORM */
    int runs_inline;  /* cheap and never blocks: answered on the event loop, no worker */
    int open;         /* answered without credentials when auth is on (/ready, /metrics) */
};
/* Body limits: a push takes limits.max_push_body, any other route CAIRN_MAX_BODY_OTHER
 * (a body it does not want is read and dropped up to that). */
#define CAIRN__BODY_NONE 0
#define CAIRN__BODY_PUSH 1
#define CAIRN__BODY_FORM 2

extern const struct cairn__route cairn__routes[];
/* Does a route path match the request path? A path ending in '*' is a prefix. */
int cairn__route_matches(const char *path, const char *url);
/* The metrics slot of a route: rows sharing a name (GET and POST) share one, so each
 * route label appears once in /metrics. */
size_t cairn__route_slot(size_t route);
extern const size_t cairn__n_routes;

/* What a handler sees: headers looked up on demand, the body, the reply to fill. */
struct cairn__req {
    struct MHD_Connection *conn;
    const char *url;    /* the path, for prefix routes */
    const char *method;
    struct cairn_ingest_batch *batch; /* body lives in batch->body */
    int status;
    const char *content_type;
    struct cairn_buf *reply; /* reply body (the connection's, reused) */
    struct cairn__upgrade upgrade; /* tail: set with status 101 to switch to WebSocket */
    unsigned retry_after_s; /* > 0: the reply carries Retry-After (503, 429) */
};

const char *cairn__req_header(struct cairn__req *r, const char *name);
/* The request's tenant: X-Scope-OrgID, or "fake" without one (as Loki). */
const char *cairn__req_tenant(struct cairn__req *r);
const char *cairn__req_query(struct cairn__req *r, const char *name);
/* The one tenant check of every route that acts for a tenant (push, query, labels,
 * series, tail...), run before its handler: 1 after answering 400 for an invalid
 * X-Scope-OrgID (with a NUL, too long, '..', '|'...), 0 to go on. Reads and writes
 * thus refuse the same IDs with the same answer. */
int cairn__req_tenant_refused(struct cairn__req *r);

/* ---- auth (auth.c): credentials and the tenants they own -------------------------- */

struct cairn__cred {
    char *name;            /* basic-auth user; in messages */
    unsigned char sha[32]; /* SHA-256 of the secret */
    char **tenants;        /* "*": any */
    size_t n_tenants;
};

struct cairn__auth {
    int enabled;
    struct cairn__cred *v;
    size_t n;
};

/* Copy the config's credentials (hashes decoded). 0, or CAIRN_EINVAL / CAIRN_ENOMEM with
 * err naming the credential. Disabled auth is an empty table. */
int cairn__auth_init(struct cairn__auth *a, const struct cairn_api_config *cfg,
                     struct cairn_err *err);
void cairn__auth_deinit(struct cairn__auth *a);
/* Check a request's credentials and tenant (from its header alone): 0 to serve it
 * (X-Scope-OrgID set to the credential's first tenant when absent), or 401, 403 or 500
 * with msg filled. */
struct MHD_Connection;
int cairn__auth_check(const struct cairn__auth *a, struct MHD_Connection *conn, char *msg,
                      size_t cap);

/* ---- the server ----------------------------------------------------------------- */

struct cairn_api {
    struct MHD_Daemon *mhd;
    char *listen;
    unsigned port;
    struct cairn_api_limits limits;
    cairn_api_config_dump_fn config_dump;
    void *config_dump_ctx;
    cairn_api_file_fn files;
    struct cairn_store *_Atomic store;
    struct cairn__tenants tenants;
    struct cairn__metrics metrics;
    _Atomic uint64_t push_errors; /* store append failures */
    _Atomic size_t push_decoding; /* bytes in decompression buffers (limits.push_decode_budget) */
    struct cairn__tailhub tails;  /* open /loki/api/v1/tail sessions */
    struct cairn_query_gate *_Atomic qgate; /* per-tenant query admission (query_routes.c
                                             * creates it on first use) */
    /* connections (server.c): handler threads, deadlines and their settings */
    /* pushes and reads on separate pools: queries, however slow or many, never keep a
     * push waiting for a thread (nor pushes a query) */
    struct cairn__workers ingest_workers, read_workers;
    struct cairn__workers internal_workers; /* peers' /internal/ calls (cluster mode) */
    struct cairn__reaper reaper;
    int64_t header_timeout_ns, body_timeout_ns, idle_timeout_ns;
    unsigned max_connections, max_connections_per_ip, n_workers;
    struct cairn__auth auth;
    _Atomic(cairn_api_ruler_fn) ruler_fn; /* the ruler's API, or NULL */
    void *_Atomic ruler_ctx;
    struct cairn__cluster *cluster; /* NULL: a single node (cluster.c) */
    struct cairn_ingest_otlp_rules *otlp; /* limits_config.otlp_config (otlp_rules.c); NULL: Loki's */
    _Atomic int64_t log_second;   /* libmicrohttpd's messages: rate limit (server.c) */
    _Atomic unsigned log_count;
    _Atomic uint64_t log_suppressed;
};

/* Handlers (routes.c and push.c). */
void cairn__handle_push(struct cairn_api *api, struct cairn__req *r);
void cairn__handle_ready(struct cairn_api *api, struct cairn__req *r);
void cairn__handle_metrics(struct cairn_api *api, struct cairn__req *r);
void cairn__handle_config(struct cairn_api *api, struct cairn__req *r);
void cairn__handle_flush(struct cairn_api *api, struct cairn__req *r);
void cairn__handle_ruler(struct cairn_api *api, struct cairn__req *r);
/* Query API handlers (query_routes.c). */
void cairn__handle_query_range(struct cairn_api *api, struct cairn__req *r);
void cairn__handle_query(struct cairn_api *api, struct cairn__req *r);
void cairn__handle_labels(struct cairn_api *api, struct cairn__req *r);
void cairn__handle_label_values(struct cairn_api *api, struct cairn__req *r);
void cairn__handle_series(struct cairn_api *api, struct cairn__req *r);
void cairn__handle_index_stats(struct cairn_api *api, struct cairn__req *r);
/* explore_routes.c */
void cairn__handle_volume(struct cairn_api *api, struct cairn__req *r);
void cairn__handle_volume_range(struct cairn_api *api, struct cairn__req *r);
void cairn__handle_format_query(struct cairn_api *api, struct cairn__req *r);
void cairn__handle_buildinfo(struct cairn_api *api, struct cairn__req *r);
void cairn__handle_detected_labels(struct cairn_api *api, struct cairn__req *r);
void cairn__handle_detected_fields(struct cairn_api *api, struct cairn__req *r);
void cairn__handle_detected_field_values(struct cairn_api *api, struct cairn__req *r);
void cairn__handle_patterns(struct cairn_api *api, struct cairn__req *r);

/* ---- cluster mode (cluster*.c) --------------------------------------------------- */

struct cairn__cluster {
    struct cairn_ring *ring;
    struct cairn_ring_client *client;      /* forwards: common.ring.forward_timeout */
    struct cairn_ring_client *read_client; /* reads from write nodes: the query timeout */
    char *target, *secret, *scratch_dir;
    unsigned roles, rf;
    cairn_api_read_source_fn read_source; /* the bucket reader, when there is one */
    void *read_source_ctx;
    _Atomic uint64_t forwards, forward_failures, forward_ns, quorum_failures;
    _Atomic uint64_t remote_reads, remote_read_failures, scratch_seq;
};
void cairn__cluster_destroy(struct cairn__cluster *c);
/* Peers only: 1 after answering 404 (not a cluster) or 403 (wrong secret), else 0. */
int cairn__cluster_refused(struct cairn_api *api, struct cairn__req *r);
/* Store streams ps[0..n) of tenant on their owners: the local part with
 * cairn_store_append, the rest forwarded. 0 once rf/2+1 owners of every stream have
 * it (owners' 400 messages go to b as failures); CAIRN_EAGAIN with why filled
 * (which streams, which replicas) when some stream missed its quorum; or the local
 * append's error when only this node owns the failing part. */
int cairn__cluster_append(struct cairn_api *api, struct cairn_store *st, const char *tenant,
                          struct cairn_ingest_batch *b, struct cairn_push_stream *ps, size_t n,
                          struct cairn_buf *why);
/* Does this node answer reads from the whole cluster (read role, peers to ask)? */
int cairn__cluster_reads_remote(struct cairn_api *api);
/* A store built for one request from what every write node holds for the selectors
 * (NULL or "" : every stream) over [start, end); series_only: one entry per stream
 * (label and series lookups). On failure the reply is set and NULL returned. Release
 * with cairn__cluster_scratch_done. */
struct cairn__scratch;
struct cairn_store *cairn__cluster_scratch(struct cairn_api *api, struct cairn__req *r,
                                           const char *tenant, const char *const *sels,
                                           size_t nsel, int64_t start, int64_t end,
                                           int series_only, struct cairn__scratch **out);
void cairn__cluster_scratch_done(struct cairn__scratch *s);
/* The store a read route answers from: own, or on a node reading the whole cluster a
 * scratch for the LogQL text q (NULL or "": every stream) over [start, end]. NULL after
 * replying. Release *out with cairn__cluster_scratch_done (NULL is fine). */
struct cairn_store *cairn__cluster_store_for(struct cairn_api *api, struct cairn__req *r,
                                             struct cairn_store *own, const char *tenant,
                                             const char *q, int64_t start, int64_t end,
                                             struct cairn__scratch **out);
/* Remove a scratch directory and what is in it (leftovers of a crash, at start). */
void cairn__cluster_scratch_clean(const char *dir);
/* The same for a LogQL query: its selectors, over the range it reads (range
 * aggregations' windows and offsets included). */
struct cairn_query_params;
struct cairn_store *cairn__cluster_scratch_query(struct cairn_api *api, struct cairn__req *r,
                                                 const char *q, const struct cairn_query_params *qp,
                                                 struct cairn__scratch **out);
int cairn__cluster_metrics(struct cairn_api *api, struct cairn_buf *out);
void cairn__handle_internal_push(struct cairn_api *api, struct cairn__req *r);
void cairn__handle_internal_read(struct cairn_api *api, struct cairn__req *r);
void cairn__handle_ring(struct cairn_api *api, struct cairn__req *r);
void cairn__handle_services(struct cairn_api *api, struct cairn__req *r);

/* Set the reply to a plain-text message (newline added). */
void cairn__reply_text(struct cairn__req *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
