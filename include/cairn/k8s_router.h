/* k8s_router.h -- the event router: list+watch Kubernetes Events, hand each version of
 * each event to a sink exactly once (across reconnects, relists and restarts), keep the
 * metrics that /metrics serves.
 *
 * Ownership: the router borrows the connection, the sink and the metrics for the length
 * of cairn_k8s_router_run; option strings are borrowed too. Sinks own their own state.
 * The metrics struct is the one thing shared between threads (the router writes, the
 * HTTP thread reads); it has its own lock. */
#ifndef CAIRN_K8S_ROUTER_H
#define CAIRN_K8S_ROUTER_H

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"
#include "cairn/error.h"
#include "cairn/k8s.h"

/* Where events go. emit() gets the verb ("ADDED" or "UPDATED"), the event as parsed
 * JSON (for labels) and as compact JSON text, and the previous version's text for
 * UPDATED when the router still has it (else NULL). It returns 0 or a negative
 * CAIRN_E*; a failed emit is counted, logged, and not retried by the router (the push
 * sink retries inside). flush() makes everything emitted so far delivered (written to
 * the fd, or acknowledged by the store); the router calls it before it records the
 * events as done in the state file. destroy may be NULL. */
struct cairn_k8s_sink {
    int (*emit)(void *ctx, const char *verb, json_t *event, const char *event_json,
                size_t event_len, const char *old_json, size_t old_len);
    int (*flush)(void *ctx);
    void (*destroy)(void *ctx);
    /* Append the sink's own metrics (Prometheus text); may be NULL. Called from the
     * HTTP thread: must be thread-safe. */
    int (*metrics)(void *ctx, struct cairn_buf *out);
    void *ctx;
};

/* The stdout sink: eventrouter's line shape {"verb":..,"event":..,"old_event":..}.
 * Writes to fd (1 for stdout). Returns 0 or CAIRN_ENOMEM. */
int cairn_k8s_sink_stdout_init(struct cairn_k8s_sink *s, int fd);

/* The push sink: to a Loki-compatible push URL through the shared push client
 * (batching, retries, back-pressure), labels job, namespace, kind, reason, type, source
 * plus extra "NAME=JSONPATH" labels read from the event. 0, or CAIRN_EINVAL with err
 * naming the bad label or URL, CAIRN_ENOMEM. */
struct cairn_k8s_push_opts {
    const char *url;
    const char *tenant_id;        /* X-Scope-OrgID; NULL: none */
    const char *job;              /* NULL: "events" */
    const char *const *extra;     /* "NAME=JSONPATH" */
    size_t nextra;
    int events_v1;                /* events.k8s.io: kind from regarding */
    /* how to reach the store (passed to the push client; NULL: not used) */
    const char *bearer_token_file;
    const char *basic_auth_username;
    const char *basic_auth_password_file;
    const char *tls_ca_file;
    int tls_insecure_skip_verify;
};
int cairn_k8s_sink_push_init(struct cairn_k8s_sink *s, const struct cairn_k8s_push_opts *o,
                             struct cairn_err *err);

/* Counters served on /metrics. Updated by the router under mu. */
#define CAIRN_K8S_METRICS_MAX_KEYS 512 /* distinct (type, reason) pairs; more go to "other" */
struct cairn_k8s_metric_key {
    char type[32];
    char reason[96];
    uint64_t n;
};
struct cairn_k8s_metrics {
    pthread_mutex_t mu;
    struct cairn_k8s_metric_key keys[CAIRN_K8S_METRICS_MAX_KEYS];
    size_t nkeys;
    uint64_t events_total;    /* emitted */
    uint64_t duplicates;      /* seen again and not emitted */
    uint64_t filtered;        /* dropped by a type/reason/kind filter */
    uint64_t watch_restarts;  /* watches started after the first */
    uint64_t relists;         /* lists after 410 Gone */
    uint64_t sink_errors;
    uint64_t api_errors;      /* failed requests to the API server */
    int64_t last_event_ns;    /* wall clock of the last emitted event, 0: none yet */
    int ready;                /* listed (or resumed) and watching */
    /* the sink's metrics, appended by render (set before the HTTP server starts) */
    int (*sink_metrics)(void *ctx, struct cairn_buf *out);
    void *sink_ctx;
};
int cairn_k8s_metrics_init(struct cairn_k8s_metrics *m);
void cairn_k8s_metrics_deinit(struct cairn_k8s_metrics *m);
/* Prometheus text exposition of m into a malloc'd string (caller frees), NULL on ENOMEM. */
char *cairn_k8s_metrics_render(struct cairn_k8s_metrics *m, int64_t now_ns);

/* A small HTTP server for /metrics and /ready (libmicrohttpd, its own thread). */
struct cairn_k8s_http;
/* addr is "HOST:PORT" (PORT 0 picks one); *port_out gets the bound port. NULL on failure,
 * with err saying why. */
struct cairn_k8s_http *cairn_k8s_http_start(const char *addr, struct cairn_k8s_metrics *m,
                                            int *port_out, struct cairn_err *err);
void cairn_k8s_http_stop(struct cairn_k8s_http *h);

struct cairn_k8s_router_opts {
    int events_v1;                 /* 0: core/v1 events, 1: events.k8s.io/v1 */
    const char *const *namespaces; /* NULL or empty: all namespaces */
    size_t nnamespaces;
    const char *const *types, *const *reasons, *const *kinds; /* client-side filters */
    size_t ntypes, nreasons, nkinds;
    const char *field_selector;    /* passed to the API server */
    const char *state_file;        /* NULL: no state (exactly once within one run only) */
    int skip_history;              /* first start: record listed events, emit none */
    int page_limit;                /* list page size; 0: 500 */
    int watch_timeout_s;           /* server-side watch timeout; 0: 300 (jittered to 2x) */
    size_t old_cache_bytes;        /* budget for previous versions; 0: 2 MiB */
    uint64_t max_events;           /* stop after this many emitted; 0: run until *stop */
    const volatile sig_atomic_t *stop; /* set by a signal handler to end the run */
};

/* Run until *stop (or max_events). Returns 0 on a clean stop, or a negative CAIRN_E* with
 * err filled when it cannot go on (bad state file, sink broken for good). */
int cairn_k8s_router_run(const struct cairn_k8s_conn *conn,
                         const struct cairn_k8s_router_opts *opts,
                         struct cairn_k8s_sink *sink, struct cairn_k8s_metrics *m,
                         struct cairn_err *err);

#endif
