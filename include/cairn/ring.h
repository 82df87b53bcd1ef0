/* ring.h -- cluster membership and stream ownership for `cairn serve -target=...`.
 *
 * Two pieces:
 *  - the ring view: an immutable snapshot of the members (id, address, state, role,
 *    tokens, heartbeat) and their tokens sorted on a 32-bit circle. A stream (tenant +
 *    label fingerprint) hashes to a point; its owners are the first `rf` distinct
 *    ACTIVE writers met walking clockwise from there. Pure functions: unit-testable.
 *  - the membership: where views come from. `etcd` (v3 JSON gateway over libcurl:
 *    a lease with a TTL kept alive by a background thread, the node's key
 *    <prefix><instance_id> put under that lease, the prefix read back periodically:
 *    polling rather than a watch stream, see docs/SCALING.md), `inmemory` (this node
 *    alone) or `static` (a fixed list of peer addresses, all taken as ACTIVE).
 *
 * Ownership: cairn_ring_create copies its config. A view is reference counted:
 * cairn_ring_view_get returns one the caller releases with cairn_ring_view_put; it
 * never changes while held. Thread safety: every function may be called from any
 * thread; the membership thread swaps views under a mutex. */
#ifndef CAIRN_RING_H
#define CAIRN_RING_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"
#include "cairn/error.h"

/* Tokens per writer: enough for ownership within a few percent of even across ten
 * nodes (tests/unit/ring_test.c checks the bound), small enough to keep a member's
 * etcd value near 1.5 KB. */
#define CAIRN_RING_TOKENS 128
#define CAIRN_RING_ID_MAX 128   /* instance id bytes */
#define CAIRN_RING_ADDR_MAX 256 /* host:port bytes */
#define CAIRN_RING_RF_MAX 8     /* replication factor bound (owners arrays on the stack) */

enum cairn_ring_state {
    CAIRN_RING_JOINING = 0, /* registered, WAL still replaying: owns nothing yet */
    CAIRN_RING_ACTIVE = 1,  /* takes writes for its tokens and answers reads */
    CAIRN_RING_LEAVING = 2, /* shutting down: no new writes, still answers reads */
};
const char *cairn_ring_state_name(enum cairn_ring_state s);

/* Roles a member plays (-target): a bit set. */
#define CAIRN_RING_ROLE_WRITE 0x1u
#define CAIRN_RING_ROLE_READ 0x2u
#define CAIRN_RING_ROLE_BACKEND 0x4u

struct cairn_ring_member {
    char id[CAIRN_RING_ID_MAX];
    char addr[CAIRN_RING_ADDR_MAX]; /* host:port of its HTTP API */
    enum cairn_ring_state state;
    unsigned roles;                 /* CAIRN_RING_ROLE_* */
    int64_t heartbeat_ns;           /* unix ns of its last heartbeat (0: unknown) */
    uint32_t *tokens;               /* owned by the view; n_tokens of them */
    size_t n_tokens;
};

struct cairn_ring_view {
    struct cairn_ring_member *members; /* sorted by id */
    size_t n;
    struct cairn__ring_tok { uint32_t token; uint32_t member; } *toks; /* sorted by token */
    size_t n_toks;
    int64_t built_ns;                  /* unix ns the view was read */
    int refs;                          /* managed by the ring; 0 for a caller-built view */
};

/* The deterministic tokens of an instance (seeded by its id): n values into out. */
void cairn_ring_tokens(const char *id, uint32_t *out, size_t n);
/* Build a view from members (copied, tokens included) and sort it. NULL on ENOMEM.
 * Free with cairn_ring_view_free (a view from cairn_ring_view_get: _put instead). */
struct cairn_ring_view *cairn_ring_view_build(const struct cairn_ring_member *m, size_t n);
void cairn_ring_view_free(struct cairn_ring_view *v);
/* The point on the circle of a stream: tenant and fingerprint hashed together. */
uint32_t cairn_ring_key(const char *tenant, uint64_t fp);
/* The owners of key: up to rf distinct ACTIVE members with tokens (indexes into
 * v->members) into out, in ring order. Returns how many (fewer than rf when the ring
 * has fewer ACTIVE writers). */
size_t cairn_ring_owners(const struct cairn_ring_view *v, uint32_t key, size_t rf, uint32_t *out);
/* The share of the circle each member owns as primary (fractions summing to 1 over
 * members with tokens), into share[v->n]. */
void cairn_ring_ownership(const struct cairn_ring_view *v, double *share);
/* Index of member id in v, or -1. */
long cairn_ring_find(const struct cairn_ring_view *v, const char *id);
/* A member's etcd value: {"addr":..,"state":"ACTIVE","roles":[..],"tokens":[..],
 * "heartbeat":unix_ns} appended to out; and the reverse (m->tokens malloc'd: the caller
 * frees it). Parse: 0 or CAIRN_EINVAL. */
int cairn_ring_member_json(const struct cairn_ring_member *m, struct cairn_buf *out);
int cairn_ring_member_parse(const char *json, size_t len, struct cairn_ring_member *m);

/* ---- membership ---- */

struct cairn_ring_config {
    const char *store;            /* "etcd", "inmemory" or "static" */
    const char *prefix;           /* key prefix in etcd ("collectors/cairn/") */
    const char *const *endpoints; /* etcd: http://host:port ... */
    size_t n_endpoints;
    int64_t dial_timeout_ns;      /* per etcd request (connect and whole request) */
    const char *username, *password; /* etcd auth, or NULL */
    const char *const *static_addrs; /* static: every writer's host:port, this one too */
    size_t n_static;
    const char *instance_id;      /* unique per node */
    const char *instance_addr;    /* host:port peers reach this node's API on */
    unsigned roles;               /* CAIRN_RING_ROLE_* of this node */
    int64_t lease_ttl_ns;         /* etcd lease TTL (whole seconds) */
    int64_t heartbeat_ns;         /* keepalive and heartbeat period */
    int64_t poll_ns;              /* how often the member list is read back */
};
void cairn_ring_config_default(struct cairn_ring_config *cfg);

struct cairn_ring;
/* Register this node as JOINING (etcd: grant the lease, put the key; fails with err
 * naming the endpoint when etcd does not answer within dial_timeout) and start the
 * membership thread. NULL on failure. */
struct cairn_ring *cairn_ring_create(const struct cairn_ring_config *cfg, struct cairn_err *err);
/* Move this node to state (ACTIVE once its WAL is replayed, LEAVING on shutdown) and
 * publish it now. 0 or CAIRN_EIO (the next heartbeat retries). */
int cairn_ring_set_state(struct cairn_ring *r, enum cairn_ring_state state);
/* Leave: LEAVING, then revoke the lease (the key goes at once), stop the thread and
 * free. NULL is a no-op. */
void cairn_ring_destroy(struct cairn_ring *r);
/* The current view (never NULL after create: at least this node). Release with _put. */
struct cairn_ring_view *cairn_ring_view_get(struct cairn_ring *r);
void cairn_ring_view_put(struct cairn_ring *r, struct cairn_ring_view *v);
const char *cairn_ring_self_id(const struct cairn_ring *r);
const char *cairn_ring_store_kind(const struct cairn_ring *r);

/* Counters for /metrics. */
struct cairn_ring_stats {
    uint64_t kv_errors;     /* etcd requests that failed */
    uint64_t lease_renewals; /* leases granted again after one expired */
    int64_t last_sync_ns;   /* unix ns of the last successful member list read */
};
void cairn_ring_stats(struct cairn_ring *r, struct cairn_ring_stats *out);

/* /ring: the view as JSON ({"self":..,"members":[{id,addr,state,roles,tokens,
 * heartbeat_age_seconds,ownership}]}) or as an HTML page. */
int cairn_ring_render_json(struct cairn_ring *r, struct cairn_buf *out);
int cairn_ring_render_html(struct cairn_ring *r, struct cairn_buf *out);
/* Members by state in Prometheus text form (cairn_ring_members{state="ACTIVE"} 3) and
 * the kv counters. */
int cairn_ring_metrics(struct cairn_ring *r, struct cairn_buf *out);

#endif
