/* gen_lines.h -- bench_gen's line makers: Kubernetes Events as eventrouter prints them,
 * JSON and logfmt application logs, nginx-ingress and envoy access logs.
 *
 * Header-only (see gen_base.h). Each maker writes one line (no newline) for a stream
 * at a timestamp, drawing from the generator's PRNG; the stream keeps the little state
 * that makes the output look like a cluster (the last event, for UPDATED verbs).
 * Ownership: the caller owns struct gen and the streams; makers only write. */
#ifndef CAIRN_BENCH_GEN_LINES_H
#define CAIRN_BENCH_GEN_LINES_H

#include "gen_base.h"

/* One in NEEDLE_EVERY request lines searches for "needle": a rare literal that the
 * query benchmarks look for (`|= "needle"`). */
#define NEEDLE_EVERY 100000u
#define RECENT_IDS 512u

struct gen {
    struct rng rng;
    uint64_t seed;
    uint64_t rv;                     /* resourceVersion counter of the fake API server */
    uint64_t recent[RECENT_IDS][2];  /* recent request ids: requests cross services */
    unsigned nrecent;
    char scratch[4096];              /* a message before JSON escaping */
};

struct gstream {
    unsigned kind;      /* CORPUS_K_* */
    unsigned ns, app, rep;
    unsigned reason;    /* events: index into REASONS */
    int sidecar;        /* the istio-proxy container (envoy access log) */
    int is_stderr;
    double weight;      /* relative lines per second */
    /* events: the last event, so a repeat becomes UPDATED with old_event */
    uint64_t ev_uid_hi, ev_uid_lo;
    int64_t ev_first, ev_last;
    unsigned ev_count, ev_app, ev_rep, ev_node;
    uint64_t ev_rv;
};

/* ---- Kubernetes Events ---- */

enum obj_kind { OBJ_POD, OBJ_NODE, OBJ_RS, OBJ_DEPLOY };

struct reason_def {
    const char *reason;
    enum obj_kind obj;
    const char *type;
    const char *component;
    unsigned weight;    /* relative frequency in a busy cluster */
    int repeats;        /* the kubelet re-reports it: count grows, UPDATED verbs */
    int container;      /* about one container: fieldPath spec.containers{..} */
};

static const struct reason_def REASONS[] = {
    {"Scheduled", OBJ_POD, "Normal", "default-scheduler", 10, 0, 0},
    {"Pulling", OBJ_POD, "Normal", "kubelet", 7, 1, 1},
    {"Pulled", OBJ_POD, "Normal", "kubelet", 10, 1, 1},
    {"Created", OBJ_POD, "Normal", "kubelet", 10, 1, 1},
    {"Started", OBJ_POD, "Normal", "kubelet", 10, 1, 1},
    {"Killing", OBJ_POD, "Normal", "kubelet", 6, 0, 1},
    {"BackOff", OBJ_POD, "Warning", "kubelet", 9, 1, 1},
    {"Unhealthy", OBJ_POD, "Warning", "kubelet", 9, 1, 1},
    {"FailedScheduling", OBJ_POD, "Warning", "default-scheduler", 3, 1, 0},
    {"FailedMount", OBJ_POD, "Warning", "kubelet", 3, 1, 0},
    {"SuccessfulCreate", OBJ_RS, "Normal", "replicaset-controller", 5, 0, 0},
    {"SuccessfulDelete", OBJ_RS, "Normal", "replicaset-controller", 3, 0, 0},
    {"ScalingReplicaSet", OBJ_DEPLOY, "Normal", "deployment-controller", 3, 0, 0},
    {"NodeNotReady", OBJ_POD, "Warning", "node-controller", 1, 0, 0},
    {"OOMKilling", OBJ_NODE, "Warning", "kernel-monitor", 1, 1, 0},
    {"Evicted", OBJ_POD, "Warning", "kubelet", 1, 0, 0},
    {"SandboxChanged", OBJ_POD, "Normal", "kubelet", 2, 0, 0},
};
#define NREASONS (sizeof REASONS / sizeof REASONS[0])

static const char *const OBJ_KIND_NAME[] = {"Pod", "Node", "ReplicaSet", "Deployment"};

/* Write the event's message (plain, escaped later) into g->scratch. */
static inline size_t event_message(struct gen *g, const struct gstream *s, unsigned app,
                                   unsigned rep, unsigned node)
{
    struct line_w w = {g->scratch, g->scratch + sizeof g->scratch};
    struct rng *r = &g->rng;
    const char *c = APPS[app].name;
    const char *name = REASONS[s->reason].reason;
    if (!strcmp(name, "Scheduled")) {
        W_LIT(&w, "Successfully assigned ");
        w_namespace(&w, s->ns);
        w_ch(&w, '/');
        w_pod(&w, g->seed, s->ns, app, rep);
        W_LIT(&w, " to ");
        w_node(&w, node);
    } else if (!strcmp(name, "Pulling")) {
        W_LIT(&w, "Pulling image \"");
        w_image(&w, g->seed, s->ns, app);
        w_ch(&w, '"');
    } else if (!strcmp(name, "Pulled")) {
        if (rng_chance(r, 0.6)) {
            W_LIT(&w, "Container image \"");
            w_image(&w, g->seed, s->ns, app);
            W_LIT(&w, "\" already present on machine");
        } else {
            uint64_t ms = (uint64_t)rng_lognormal(r, 2500, 0.8);
            W_LIT(&w, "Successfully pulled image \"");
            w_image(&w, g->seed, s->ns, app);
            W_LIT(&w, "\" in ");
            w_fixed(&w, ms, 3);
            W_LIT(&w, "s (");
            w_fixed(&w, ms + rng_below(r, 400), 3);
            W_LIT(&w, "s including waiting). Image size: ");
            w_u64(&w, 20000000 + rng_below(r, 400000000));
            W_LIT(&w, " bytes.");
        }
    } else if (!strcmp(name, "Created")) {
        W_LIT(&w, "Created container ");
        w_str(&w, c);
    } else if (!strcmp(name, "Started")) {
        W_LIT(&w, "Started container ");
        w_str(&w, c);
    } else if (!strcmp(name, "Killing")) {
        W_LIT(&w, "Stopping container ");
        w_str(&w, c);
    } else if (!strcmp(name, "BackOff")) {
        W_LIT(&w, "Back-off restarting failed container ");
        w_str(&w, c);
        W_LIT(&w, " in pod ");
        w_pod(&w, g->seed, s->ns, app, rep);
        w_ch(&w, '_');
        w_namespace(&w, s->ns);
        w_ch(&w, '(');
        w_pod_uid(&w, g->seed, s->ns, app, rep);
        w_ch(&w, ')');
    } else if (!strcmp(name, "Unhealthy")) {
        unsigned v = rng_below(r, 3);
        if (v == 0) {
            W_LIT(&w, "Readiness probe failed: Get \"http://");
            w_pod_ip(&w, g->seed, s->ns, app, rep);
            w_ch(&w, ':');
            w_u64(&w, APPS[app].port);
            W_LIT(&w, "/healthz\": context deadline exceeded (Client.Timeout exceeded "
                      "while awaiting headers)");
        } else if (v == 1) {
            W_LIT(&w, "Liveness probe failed: HTTP probe failed with statuscode: ");
            w_u64(&w, rng_chance(r, 0.7) ? 503 : 500);
        } else {
            W_LIT(&w, "Readiness probe failed: dial tcp ");
            w_pod_ip(&w, g->seed, s->ns, app, rep);
            w_ch(&w, ':');
            w_u64(&w, APPS[app].port);
            W_LIT(&w, ": connect: connection refused");
        }
    } else if (!strcmp(name, "FailedScheduling")) {
        unsigned cpu = rng_below(r, 8), mem = rng_below(r, NNODES - cpu);
        unsigned taint = NNODES - cpu - mem;
        W_LIT(&w, "0/");
        w_u64(&w, NNODES);
        W_LIT(&w, " nodes are available: ");
        w_u64(&w, cpu);
        W_LIT(&w, " Insufficient cpu, ");
        w_u64(&w, mem);
        W_LIT(&w, " Insufficient memory, ");
        w_u64(&w, taint);
        W_LIT(&w, " node(s) had untolerated taint {node.kubernetes.io/unreachable: }. "
                  "preemption: 0/");
        w_u64(&w, NNODES);
        W_LIT(&w, " nodes are available: ");
        w_u64(&w, cpu + mem);
        W_LIT(&w, " No preemption victims found for incoming pod, ");
        w_u64(&w, taint);
        W_LIT(&w, " Preemption is not helpful for scheduling.");
    } else if (!strcmp(name, "FailedMount")) {
        if (rng_chance(r, 0.5)) {
            W_LIT(&w, "MountVolume.SetUp failed for volume \"");
            w_str(&w, c);
            W_LIT(&w, "-config\" : configmap \"");
            w_str(&w, c);
            W_LIT(&w, "-config\" not found");
        } else {
            W_LIT(&w, "Unable to attach or mount volumes: unmounted volumes=[data], "
                      "unattached volumes=[data kube-api-access-");
            w_k8s_suffix(&w, mix4(g->seed, 21, s->ns, app), 5);
            W_LIT(&w, "]: timed out waiting for the condition");
        }
    } else if (!strcmp(name, "SuccessfulCreate") || !strcmp(name, "SuccessfulDelete")) {
        w_str(&w, name[10] == 'C' ? "Created pod: " : "Deleted pod: ");
        w_pod(&w, g->seed, s->ns, app, rep);
    } else if (!strcmp(name, "ScalingReplicaSet")) {
        unsigned n = app_replicas(g->seed, s->ns, app);
        int up = rng_chance(r, 0.5);
        W_LIT(&w, "Scaled ");
        w_str(&w, up ? "up" : "down");
        W_LIT(&w, " replica set ");
        w_replicaset(&w, g->seed, s->ns, app);
        W_LIT(&w, " to ");
        w_u64(&w, up ? n : n - 1);
        if (!up) {
            W_LIT(&w, " from ");
            w_u64(&w, n);
        }
    } else if (!strcmp(name, "NodeNotReady")) {
        W_LIT(&w, "Node is not ready");
    } else if (!strcmp(name, "OOMKilling")) {
        static const char *const procs[] = {"java", "python3", "node", "ruby", "envoy"};
        W_LIT(&w, "Memory cgroup out of memory: Killed process ");
        w_u64(&w, 1000 + rng_below(r, 4000000));
        W_LIT(&w, " (");
        w_str(&w, PICK(r, procs));
        W_LIT(&w, ") total-vm:");
        w_u64(&w, 1000000 + rng_below(r, 9000000));
        W_LIT(&w, "kB, anon-rss:");
        w_u64(&w, 500000 + rng_below(r, 3000000));
        W_LIT(&w, "kB, file-rss:");
        w_u64(&w, rng_below(r, 60000));
        W_LIT(&w, "kB, shmem-rss:0kB, UID:");
        w_u64(&w, rng_chance(r, 0.5) ? 0 : 1000);
        W_LIT(&w, " pgtables:");
        w_u64(&w, 1000 + rng_below(r, 9000));
        W_LIT(&w, "kB oom_score_adj:");
        w_u64(&w, rng_chance(r, 0.5) ? 999 : 1000);
    } else if (!strcmp(name, "Evicted")) {
        W_LIT(&w, "The node was low on resource: memory. Threshold quantity: 100Mi, "
                  "available: ");
        w_u64(&w, 50000 + rng_below(r, 50000));
        W_LIT(&w, "Ki. Container ");
        w_str(&w, c);
        W_LIT(&w, " was using ");
        w_u64(&w, 600000 + rng_below(r, 3000000));
        W_LIT(&w, "Ki, request is ");
        w_u64(&w, 128u << rng_below(r, 4));
        W_LIT(&w, "Mi, has larger consumption of memory.");
    } else {
        W_LIT(&w, "Pod sandbox changed, it will be killed and re-created.");
    }
    return (size_t)(w.p - g->scratch);
}

/* One core/v1 Event object as the API server returns it (Go's JSON field order). */
static inline void w_event(struct line_w *w, struct gen *g, const struct gstream *s,
                           unsigned count, int64_t first, int64_t last, uint64_t rv,
                           const char *msg, size_t msg_len)
{
    const struct reason_def *rd = &REASONS[s->reason];
    enum obj_kind ok = rd->obj;
    unsigned app = s->ev_app, rep = s->ev_rep;
    W_LIT(w, "{\"metadata\":{\"name\":\"");
    if (ok == OBJ_NODE)
        w_node(w, s->ev_node);
    else if (ok == OBJ_RS)
        w_replicaset(w, g->seed, s->ns, app);
    else if (ok == OBJ_DEPLOY)
        w_str(w, APPS[app].name);
    else
        w_pod(w, g->seed, s->ns, app, rep);
    w_ch(w, '.');
    w_hex(w, (uint64_t)first, 16);
    W_LIT(w, "\",\"namespace\":\"");
    w_namespace(w, s->ns);
    W_LIT(w, "\",\"uid\":\"");
    w_uuid(w, s->ev_uid_hi, s->ev_uid_lo);
    W_LIT(w, "\",\"resourceVersion\":\"");
    w_u64(w, rv);
    W_LIT(w, "\",\"creationTimestamp\":\"");
    w_rfc3339(w, first, 0);
    W_LIT(w, "\"},\"involvedObject\":{\"kind\":\"");
    w_str(w, OBJ_KIND_NAME[ok]);
    if (ok != OBJ_NODE) {
        W_LIT(w, "\",\"namespace\":\"");
        w_namespace(w, s->ns);
    }
    W_LIT(w, "\",\"name\":\"");
    if (ok == OBJ_NODE)
        w_node(w, s->ev_node);
    else if (ok == OBJ_RS)
        w_replicaset(w, g->seed, s->ns, app);
    else if (ok == OBJ_DEPLOY)
        w_str(w, APPS[app].name);
    else
        w_pod(w, g->seed, s->ns, app, rep);
    W_LIT(w, "\",\"uid\":\"");
    if (ok == OBJ_NODE)
        w_node(w, s->ev_node); /* the kubelet uses the node name as the uid */
    else
        w_uuid(w, mix4(g->seed, 22 + ok, s->ns, (uint64_t)app << 16 | rep),
               mix4(g->seed, 26 + ok, s->ns, (uint64_t)app << 16 | rep));
    W_LIT(w, "\",\"apiVersion\":\"");
    w_str(w, ok == OBJ_RS || ok == OBJ_DEPLOY ? "apps/v1" : "v1");
    if (ok != OBJ_NODE) {
        W_LIT(w, "\",\"resourceVersion\":\"");
        w_u64(w, 1000000 + mix4(g->seed, 30, s->ns, (uint64_t)app << 16 | rep) % 9000000);
    }
    if (rd->container) {
        W_LIT(w, "\",\"fieldPath\":\"spec.containers{");
        w_str(w, APPS[app].name);
        w_ch(w, '}');
    }
    W_LIT(w, "\"},\"reason\":\"");
    w_str(w, rd->reason);
    W_LIT(w, "\",\"message\":\"");
    w_json_esc(w, msg, msg_len);
    W_LIT(w, "\",\"source\":{\"component\":\"");
    w_str(w, rd->component);
    if (!strcmp(rd->component, "kubelet") || ok == OBJ_NODE) {
        W_LIT(w, "\",\"host\":\"");
        w_node(w, s->ev_node);
    }
    W_LIT(w, "\"},\"firstTimestamp\":\"");
    w_rfc3339(w, first, 0);
    W_LIT(w, "\",\"lastTimestamp\":\"");
    w_rfc3339(w, last, 0);
    W_LIT(w, "\",\"count\":");
    w_u64(w, count);
    W_LIT(w, ",\"type\":\"");
    w_str(w, rd->type);
    W_LIT(w, "\",\"eventTime\":null,\"reportingComponent\":\"");
    if (!strcmp(rd->component, "kubelet"))
        w_str(w, "kubelet");
    W_LIT(w, "\",\"reportingInstance\":\"");
    if (!strcmp(rd->component, "kubelet"))
        w_node(w, s->ev_node);
    W_LIT(w, "\"}");
}

/* {"verb":"ADDED","event":{..}} or {"verb":"UPDATED","event":{..},"old_event":{..}} */
static inline void make_event(struct line_w *w, struct gen *g, struct gstream *s, int64_t ts)
{
    struct rng *r = &g->rng;
    const struct reason_def *rd = &REASONS[s->reason];
    int update = rd->repeats && s->ev_count > 0 && rng_chance(r, 0.55);
    if (!update) {
        unsigned napps = APPS_PER_NS;
        s->ev_app = ns_app(s->ns, rng_below(r, napps));
        s->ev_rep = rng_below(r, app_replicas(g->seed, s->ns, s->ev_app));
        s->ev_node = rd->obj == OBJ_NODE ? rng_below(r, NNODES)
                                         : pod_node(g->seed, s->ns, s->ev_app, s->ev_rep);
        s->ev_uid_hi = rng_next(r);
        s->ev_uid_lo = rng_next(r);
        s->ev_first = ts;
        s->ev_count = 0;
    }
    size_t mlen = event_message(g, s, s->ev_app, s->ev_rep, s->ev_node);
    uint64_t old_rv = s->ev_rv;
    int64_t old_last = s->ev_last;
    g->rv += 1 + rng_below(r, 40);
    s->ev_rv = g->rv;
    s->ev_count++;
    s->ev_last = ts;
    if (update) {
        W_LIT(w, "{\"verb\":\"UPDATED\",\"event\":");
        w_event(w, g, s, s->ev_count, s->ev_first, ts, s->ev_rv, g->scratch, mlen);
        W_LIT(w, ",\"old_event\":");
        w_event(w, g, s, s->ev_count - 1, s->ev_first, old_last, old_rv, g->scratch, mlen);
    } else {
        W_LIT(w, "{\"verb\":\"ADDED\",\"event\":");
        w_event(w, g, s, 1, ts, ts, s->ev_rv, g->scratch, mlen);
    }
    w_ch(w, '}');
}

/* ---- shared request vocabulary ---- */

struct request {
    const char *method;
    unsigned status;
    uint64_t dur_us;
    uint64_t bytes;
    uint64_t id_hi, id_lo;
    unsigned user;
    int needle;
    unsigned path_kind;
    unsigned path_id;
};

static const char *const PATHS[] = {
    "/api/v1/orders/", "/api/v1/cart/", "/api/v1/products/", "/api/v1/users/",
    "/api/v1/payments/", "/api/v1/search?q=", "/healthz", "/api/v1/inventory/",
    "/static/js/app.", "/api/v1/recommendations?user=",
};
static const char *const WORDS[] = {
    "shoes", "laptop", "coffee", "headphones", "jacket", "tent", "camera", "desk",
    "monitor", "backpack", "watch", "kettle",
};

/* Draw a request; its id is often one a neighbouring service logged already. */
static inline void draw_request(struct gen *g, struct request *q, int stderr_stream)
{
    struct rng *r = &g->rng;
    static const unsigned mw[] = {70, 20, 6, 4};
    static const char *const methods[] = {"GET", "POST", "PUT", "DELETE"};
    static const unsigned sw[] = {840, 40, 20, 25, 20, 10, 20, 15, 5, 5};
    static const unsigned sv[] = {200, 201, 204, 304, 400, 401, 404, 500, 502, 503};
    q->method = methods[rng_pick(r, mw, 4)];
    q->status = sv[rng_pick(r, sw, 10)];
    if (stderr_stream && q->status < 400)
        q->status = rng_chance(r, 0.5) ? 500 : 503;
    q->dur_us = (uint64_t)rng_lognormal(r, q->status >= 500 ? 180000 : 18000, 1.0);
    q->bytes = q->status == 204 || q->status == 304 ? 0 : (uint64_t)rng_lognormal(r, 1800, 1.2);
    if (g->nrecent && rng_chance(r, 0.5)) {
        unsigned k = rng_below(r, g->nrecent);
        q->id_hi = g->recent[k][0];
        q->id_lo = g->recent[k][1];
    } else {
        q->id_hi = rng_next(r);
        q->id_lo = rng_next(r);
        unsigned k = g->nrecent < RECENT_IDS ? g->nrecent++ : rng_below(r, RECENT_IDS);
        g->recent[k][0] = q->id_hi;
        g->recent[k][1] = q->id_lo;
    }
    q->user = 1000 + (unsigned)(rng_lognormal(r, 3000, 1.5)) % 900000;
    q->needle = rng_below(r, NEEDLE_EVERY) == 0;
    q->path_kind = q->needle ? 5 : rng_below(r, sizeof PATHS / sizeof PATHS[0]);
    q->path_id = rng_below(r, 100000);
}

static inline void w_path(struct line_w *w, struct gen *g, const struct request *q)
{
    w_str(w, PATHS[q->path_kind]);
    switch (q->path_kind) {
    case 5:
        w_str(w, q->needle ? "needle" : WORDS[q->path_id % 12]);
        break;
    case 6:
        break;
    case 8:
        w_hex(w, mix4(g->seed, 31, q->path_id % 8, 0), 8);
        W_LIT(w, ".js");
        break;
    case 9:
        W_LIT(w, "u-");
        w_u64(w, q->user);
        break;
    default:
        w_u64(w, q->path_id);
    }
}

static inline const char *level_for(struct gen *g, unsigned status, int stderr_stream)
{
    if (status >= 500)
        return "error";
    if (stderr_stream)
        return rng_chance(&g->rng, 0.5) ? "error" : "warn";
    if (status >= 400)
        return "warn";
    unsigned x = rng_below(&g->rng, 100);
    return x < 11 ? "debug" : x < 16 ? "warn" : x < 18 ? "error" : "info";
}

static const char *const ERRORS[] = {
    "context deadline exceeded",
    ("rpc error: code = Unavailable desc = connection error: desc = \\\"transport: Error while "
     "dialing: dial tcp 10.96.0.12:5432: connect: connection refused\\\""),
    "pq: duplicate key value violates unique constraint \\\"orders_pkey\\\"",
    "redis: connection pool timeout",
    "upstream request timeout",
    "card declined: insufficient_funds",
    "kafka: client has run out of available brokers to talk to",
    "json: cannot unmarshal string into Go struct field Item.quantity of type int",
};

static const char *const MSGS_INFO[] = {
    "request completed", "order created", "cart updated", "user authenticated",
    "published event", "payment authorized", "cache refreshed", "item reserved",
};
static const char *const MSGS_DEBUG[] = {
    "cache hit", "cache miss", "db query", "feature flag evaluated", "token validated",
};
static const char *const MSGS_WARN[] = {
    "slow request", "retrying upstream call", "rate limit close to quota",
    "deprecated API version used",
};
static const char *const MSGS_ERROR[] = {
    "request failed", "failed to process message", "upstream call failed",
    "could not commit transaction",
};

static inline const char *msg_for(struct gen *g, const char *level)
{
    struct rng *r = &g->rng;
    switch (level[0]) {
    case 'd': return PICK(r, MSGS_DEBUG);
    case 'w': return PICK(r, MSGS_WARN);
    case 'e': return PICK(r, MSGS_ERROR);
    default: return PICK(r, MSGS_INFO);
    }
}

/* ---- application logs ---- */

static inline void make_json(struct line_w *w, struct gen *g, struct gstream *s, int64_t ts)
{
    struct rng *r = &g->rng;
    struct request q;
    draw_request(g, &q, s->is_stderr);
    const char *level = level_for(g, q.status, s->is_stderr);
    W_LIT(w, "{\"ts\":\"");
    w_rfc3339(w, ts, 6);
    W_LIT(w, "\",\"level\":\"");
    w_str(w, level);
    W_LIT(w, "\",\"msg\":\"");
    w_str(w, msg_for(g, level));
    W_LIT(w, "\",\"caller\":\"");
    w_str(w, APPS[s->app].name);
    w_ch(w, '/');
    static const char *const files[] = {"handler.go", "service.go", "store.go", "client.go"};
    w_str(w, PICK(r, files));
    w_ch(w, ':');
    w_u64(w, 40 + mix4(g->seed, 32, s->app, rng_below(r, 12)) % 400);
    W_LIT(w, "\",\"request_id\":\"");
    w_uuid(w, q.id_hi, q.id_lo);
    W_LIT(w, "\",\"user_id\":\"u-");
    w_u64(w, q.user);
    W_LIT(w, "\",\"method\":\"");
    w_str(w, q.method);
    W_LIT(w, "\",\"path\":\"");
    w_path(w, g, &q);
    W_LIT(w, "\",\"status\":");
    w_u64(w, q.status);
    W_LIT(w, ",\"duration_ms\":");
    w_fixed(w, q.dur_us, 3);
    W_LIT(w, ",\"bytes\":");
    w_u64(w, q.bytes);
    if (level[0] == 'e' || (level[0] == 'w' && rng_chance(r, 0.5))) {
        W_LIT(w, ",\"error\":\"");
        w_str(w, PICK(r, ERRORS));
        w_ch(w, '"');
        if (level[0] == 'e' && rng_chance(r, 0.3)) {
            W_LIT(w, ",\"stacktrace\":\"main.(*Server).handle\\n\\t/src/");
            w_str(w, APPS[s->app].name);
            W_LIT(w, "/handler.go:");
            w_u64(w, 100 + rng_below(r, 300));
            W_LIT(w, "\\nnet/http.HandlerFunc.ServeHTTP\\n\\t/usr/local/go/src/net/http/"
                     "server.go:2136\\nnet/http.(*conn).serve\\n\\t/usr/local/go/src/net/"
                     "http/server.go:2039\"");
        }
    }
    if (level[0] == 'w' && rng_chance(r, 0.5)) {
        W_LIT(w, ",\"attempt\":");
        w_u64(w, 1 + rng_below(r, 4));
    }
    W_LIT(w, ",\"version\":\"1.");
    w_u64(w, mix4(g->seed, 20, s->ns, s->app) % 60);
    W_LIT(w, "\"}");
}

static inline void make_logfmt(struct line_w *w, struct gen *g, struct gstream *s, int64_t ts)
{
    struct rng *r = &g->rng;
    struct request q;
    draw_request(g, &q, s->is_stderr);
    const char *level = level_for(g, q.status, s->is_stderr);
    W_LIT(w, "ts=");
    w_rfc3339(w, ts, 3);
    W_LIT(w, " level=");
    w_str(w, level);
    W_LIT(w, " caller=");
    static const char *const files[] = {"server.go", "worker.go", "db.go", "queue.go"};
    w_str(w, PICK(r, files));
    w_ch(w, ':');
    w_u64(w, 30 + mix4(g->seed, 33, s->app, rng_below(r, 10)) % 600);
    W_LIT(w, " msg=\"");
    w_str(w, msg_for(g, level));
    W_LIT(w, "\" request_id=");
    w_hex(w, q.id_hi, 16);
    w_hex(w, q.id_lo, 16);
    if (rng_chance(r, 0.6)) {
        W_LIT(w, " method=");
        w_str(w, q.method);
        W_LIT(w, " path=");
        w_path(w, g, &q);
        W_LIT(w, " status=");
        w_u64(w, q.status);
    } else {
        static const char *const topics[] = {"orders.created", "payments.settled",
                                             "shipments.updated", "emails.outbound"};
        W_LIT(w, " topic=");
        w_str(w, PICK(r, topics));
        W_LIT(w, " partition=");
        w_u64(w, rng_below(r, 12));
        W_LIT(w, " offset=");
        w_u64(w, 1000000 + (uint64_t)(ts / 1000000) % 90000000);
    }
    W_LIT(w, " user=u-");
    w_u64(w, q.user);
    W_LIT(w, " duration=");
    w_fixed(w, q.dur_us / 10, 2);
    W_LIT(w, "ms");
    if (level[0] == 'e' || level[0] == 'w') {
        W_LIT(w, " err=\"");
        w_str(w, PICK(r, ERRORS));
        w_ch(w, '"');
    }
}

/* ingress-nginx's default log format. */
static inline void make_nginx(struct line_w *w, struct gen *g, struct gstream *s, int64_t ts)
{
    struct rng *r = &g->rng;
    struct request q;
    draw_request(g, &q, 0);
    static const char *const agents[] = {
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/119.0.0.0 Safari/537.36"),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"),
        "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
        "okhttp/4.12.0", "kube-probe/1.28", "curl/8.4.0",
        "Go-http-client/1.1",
    };
    /* clients follow a long tail: a few addresses send most requests */
    uint64_t client = (uint64_t)rng_lognormal(r, 200, 1.5) % 50000;
    uint64_t ip = mix4(g->seed, 50, client, 0);
    w_u64(w, 1 + ip % 223);
    w_ch(w, '.');
    w_u64(w, (ip >> 8) % 256);
    w_ch(w, '.');
    w_u64(w, (ip >> 16) % 256);
    w_ch(w, '.');
    w_u64(w, (ip >> 24) % 256);
    W_LIT(w, " - - [");
    w_clf_time(w, ts);
    W_LIT(w, "] \"");
    w_str(w, q.method);
    w_ch(w, ' ');
    w_path(w, g, &q);
    W_LIT(w, " HTTP/1.1\" ");
    w_u64(w, q.status);
    w_ch(w, ' ');
    w_u64(w, q.bytes);
    W_LIT(w, " \"https://shop.example.com/");
    static const char *const refs[] = {"", "cart", "checkout", "products", "account"};
    w_str(w, PICK(r, refs));
    W_LIT(w, "\" \"");
    w_str(w, PICK(r, agents));
    W_LIT(w, "\" ");
    w_u64(w, 200 + rng_below(r, 900));
    w_ch(w, ' ');
    w_fixed(w, q.dur_us / 1000, 3);
    unsigned up_app = ns_app(s->ns, rng_below(r, APPS_PER_NS));
    unsigned up_rep = rng_below(r, app_replicas(g->seed, s->ns, up_app));
    W_LIT(w, " [");
    w_namespace(w, s->ns);
    w_ch(w, '-');
    w_str(w, APPS[up_app].name);
    w_ch(w, '-');
    w_u64(w, APPS[up_app].port);
    W_LIT(w, "] [] ");
    w_pod_ip(w, g->seed, s->ns, up_app, up_rep);
    w_ch(w, ':');
    w_u64(w, APPS[up_app].port);
    w_ch(w, ' ');
    w_u64(w, q.bytes);
    w_ch(w, ' ');
    w_fixed(w, q.dur_us / 1000 * 9 / 10, 3);
    w_ch(w, ' ');
    w_u64(w, q.status);
    w_ch(w, ' ');
    w_hex(w, q.id_hi, 16);
    w_hex(w, q.id_lo, 16);
}

/* The istio-proxy sidecar: envoy's default access log format. */
static inline void make_envoy(struct line_w *w, struct gen *g, struct gstream *s, int64_t ts)
{
    struct rng *r = &g->rng;
    struct request q;
    draw_request(g, &q, 0);
    w_ch(w, '[');
    w_rfc3339(w, ts, 3);
    W_LIT(w, "] \"");
    w_str(w, q.method);
    w_ch(w, ' ');
    w_path(w, g, &q);
    W_LIT(w, " HTTP/1.1\" ");
    w_u64(w, q.status);
    w_str(w, q.status >= 500 ? " UF upstream_reset_before_response_started{connection_failure}"
                             : " - via_upstream");
    W_LIT(w, " - \"-\" ");
    w_u64(w, q.method[0] == 'G' ? 0 : 100 + rng_below(r, 4000));
    w_ch(w, ' ');
    w_u64(w, q.bytes);
    w_ch(w, ' ');
    w_u64(w, q.dur_us / 1000);
    w_ch(w, ' ');
    w_u64(w, q.dur_us / 1000 * 9 / 10);
    W_LIT(w, " \"-\" \"Go-http-client/1.1\" \"");
    w_uuid(w, q.id_hi, q.id_lo);
    W_LIT(w, "\" \"");
    w_str(w, APPS[s->app].name);
    w_ch(w, '.');
    w_namespace(w, s->ns);
    W_LIT(w, ".svc.cluster.local:");
    w_u64(w, APPS[s->app].port);
    W_LIT(w, "\" \"");
    w_pod_ip(w, g->seed, s->ns, s->app, s->rep);
    w_ch(w, ':');
    w_u64(w, APPS[s->app].port);
    W_LIT(w, "\" inbound|");
    w_u64(w, APPS[s->app].port);
    W_LIT(w, "|| 127.0.0.6:");
    w_u64(w, 30000 + rng_below(r, 30000));
    w_ch(w, ' ');
    w_pod_ip(w, g->seed, s->ns, s->app, s->rep);
    w_ch(w, ':');
    w_u64(w, APPS[s->app].port);
    W_LIT(w, " 10.");
    w_u64(w, 100 + rng_below(r, 4));
    w_ch(w, '.');
    w_u64(w, rng_below(r, 256));
    w_ch(w, '.');
    w_u64(w, 2 + rng_below(r, 250));
    W_LIT(w, ":0 outbound_.");
    w_u64(w, APPS[s->app].port);
    W_LIT(w, "_._.");
    w_str(w, APPS[s->app].name);
    w_ch(w, '.');
    w_namespace(w, s->ns);
    W_LIT(w, ".svc.cluster.local default");
}

/* Write one line for stream s at ts. */
static inline void make_line(struct line_w *w, struct gen *g, struct gstream *s, int64_t ts)
{
    switch (s->kind) {
    case CORPUS_K_EVENTS: make_event(w, g, s, ts); break;
    case CORPUS_K_JSON: make_json(w, g, s, ts); break;
    case CORPUS_K_LOGFMT: make_logfmt(w, g, s, ts); break;
    default:
        if (s->sidecar)
            make_envoy(w, g, s, ts);
        else
            make_nginx(w, g, s, ts);
    }
}

#endif
