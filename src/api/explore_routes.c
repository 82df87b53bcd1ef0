/* explore_routes.c -- the endpoints Grafana's Logs Drilldown and Explore call beside
 * the query API, in Loki 3's shapes: index/volume and index/volume_range, format_query
 * and status/buildinfo. */
#include <stdlib.h>
#include <string.h>

#include "api/params.h"
#include "cairn/logql.h"
#include "cairn/query.h"
#include "cairn/query_gate.h"
#include "cairn/store_read.h"

#define HOUR_NS (3600LL * 1000000000LL)

/* The Loki API level cairn answers Grafana with (Grafana enables Drilldown's features
 * by this version); docs/API.md says what of it cairn implements. */
#define CAIRN_LOKI_API_VERSION "3.3.0"

/* targetLabels "a, b,c" into v (pointing into s, which is modified); the count. */
static size_t split_targets(char *s, struct cairn_lq_str *v, size_t cap)
{
    size_t n = 0;
    for (char *tok = strtok(s, ","); tok && n < cap; tok = strtok(NULL, ",")) {
        while (*tok == ' ')
            tok++;
        size_t len = strlen(tok);
        while (len && tok[len - 1] == ' ')
            tok[--len] = '\0';
        if (len)
            v[n++] = (struct cairn_lq_str){tok, len};
    }
    return n;
}

/* Loki's limit on points per series: 1 after replying 400, else 0. */
static int too_many_points(struct cairn__req *r, int64_t start, int64_t end, int64_t step)
{
    if ((end - start) / step + 1 <= CAIRN_QUERY_MAX_POINTS)
        return 0;
    cairn__reply_text(r, 400, "exceeded maximum resolution of %d points per timeseries. "
                              "Try decreasing the query resolution (?step=XX)",
                      CAIRN_QUERY_MAX_POINTS);
    return 1;
}

static void volume(struct cairn_api *api, struct cairn__req *r, int range)
{
    struct cairn__params pr;
    struct cairn_store *s = cairn__store_params(api, r, &pr);
    if (!s)
        return;
    struct cairn_query_volume v = {.tenant = cairn__req_tenant(r)};
    struct cairn_lq_str targets[64];
    char *tl = NULL;
    const char *a;
    if (cairn__time_range(&pr, r, HOUR_NS, &v.start, &v.end) ||
        cairn__param_limit(&pr, r, &v.limit))
        goto out;
    if (range && cairn__param_step(&pr, r, v.start, v.end, &v.step))
        goto out;
    if (range && too_many_points(r, v.start, v.end, v.step))
        goto out;
    v.query = cairn__param(&pr, "query");
    if (!v.query || !*v.query) {
        cairn__reply_text(r, 400, "query parameter is required: a stream selector such as {job=\"x\"}");
        goto out;
    }
    if ((a = cairn__param(&pr, "aggregateBy")) && *a) {
        if (strcmp(a, "labels") == 0) {
            v.by_labels = 1;
        } else if (strcmp(a, "series") != 0) {
            cairn__reply_text(r, 400, "invalid parameter \"aggregateBy\": '%s': want series or labels", a);
            goto out;
        }
    }
    if ((a = cairn__param(&pr, "targetLabels")) && *a) {
        if (!(tl = strdup(a))) {
            cairn__reply_text(r, 500, "out of memory");
            goto out;
        }
        v.ntargets = split_targets(tl, targets, sizeof targets / sizeof targets[0]);
        v.targets = targets;
    }
    struct cairn_err err = {0};
    struct cairn__scratch *scr; /* read nodes: the cluster's entries (cluster_read.c) */
    if (!(s = cairn__cluster_store_for(api, r, s, v.tenant, v.query, v.start, v.end, &scr)))
        goto out;
    cairn_buf_reset(r->reply);
    int rc = cairn_query_volume(s, &v, r->reply, &err);
    cairn__cluster_scratch_done(scr);
    if (rc) {
        cairn__reply_text(r, rc == CAIRN_EINVAL ? 400 : 500, "%s",
                          err.msg[0] ? err.msg : cairn_strerror(rc));
        goto out;
    }
    cairn__reply_json(r);
out:
    free(tl);
    cairn__params_deinit(&pr);
}

void cairn__handle_volume(struct cairn_api *api, struct cairn__req *r)
{
    volume(api, r, 0);
}

void cairn__handle_volume_range(struct cairn_api *api, struct cairn__req *r)
{
    volume(api, r, 1);
}

/* GET /loki/api/v1/format_query?query=...: the query in canonical form, or 400. */
void cairn__handle_format_query(struct cairn_api *api, struct cairn__req *r)
{
    (void)api;
    struct cairn__params pr;
    if (cairn__params_init(&pr, r)) {
        cairn__reply_text(r, 500, "out of memory reading parameters");
        return;
    }
    const char *q = cairn__param(&pr, "query");
    struct cairn_logql_query *lq = NULL;
    struct cairn_err err = {0};
    struct cairn_buf f = CAIRN_BUF_INIT;
    if (!q || !*q) {
        cairn__reply_text(r, 400, "parse error : syntax error: unexpected $end: query parameter is required");
    } else if (cairn_logql_parse(q, strlen(q), &lq, &err)) {
        cairn__reply_text(r, 400, "%s", err.msg);
    } else {
        cairn_buf_reset(r->reply);
        if (cairn_logql_format(cairn_logql_root(lq), &f) ||
            cairn_buf_append_str(r->reply, "{\"status\":\"success\",\"data\":") ||
            cairn_buf_append_json_str(r->reply, f.data ? f.data : "", f.len) ||
            cairn_buf_append_byte(r->reply, '}'))
            cairn__reply_text(r, 500, "out of memory");
        else
            cairn__reply_json(r);
    }
    cairn_buf_deinit(&f);
    cairn_logql_query_destroy(lq);
    cairn__params_deinit(&pr);
}

/* GET /loki/api/v1/status/buildinfo, in Prometheus's and Loki's shape. */
void cairn__handle_buildinfo(struct cairn_api *api, struct cairn__req *r)
{
    (void)api;
    cairn_buf_reset(r->reply);
    if (cairn_buf_appendf(r->reply,
                          "{\"version\":\"%s\",\"revision\":\"cairn-%s\",\"branch\":\"cairn\","
                          "\"buildUser\":\"cairn\",\"buildDate\":\"%s\",\"goVersion\":\"\","
                          "\"cairnVersion\":\"%s\"}",
                          CAIRN_LOKI_API_VERSION, CAIRN_VERSION, __DATE__, CAIRN_VERSION))
        cairn__reply_text(r, 500, "out of memory");
    else
        cairn__reply_json(r);
}

/* GET /loki/api/v1/detected_labels?query={...}&start&end (query optional). */
void cairn__handle_detected_labels(struct cairn_api *api, struct cairn__req *r)
{
    struct cairn__params pr;
    struct cairn_store *s = cairn__store_params(api, r, &pr);
    if (!s)
        return;
    int64_t start, end;
    if (cairn__time_range(&pr, r, HOUR_NS, &start, &end) == 0) {
        struct cairn_err err = {0};
        struct cairn__scratch *scr; /* read nodes: the cluster's entries (cluster_read.c) */
        const char *q = cairn__param(&pr, "query");
        struct cairn_store *rs = cairn__cluster_store_for(api, r, s, cairn__req_tenant(r), q,
                                                          start, end, &scr);
        if (rs) { /* else answered */
            cairn_buf_reset(r->reply);
            int rc = cairn_query_detected_labels(rs, cairn__req_tenant(r), q, start, end,
                                                 r->reply, &err);
            cairn__cluster_scratch_done(scr);
            if (rc)
                cairn__reply_text(r, rc == CAIRN_EINVAL ? 400 : 500, "%s",
                                  err.msg[0] ? err.msg : cairn_strerror(rc));
            else
                cairn__reply_json(r);
        }
    }
    cairn__params_deinit(&pr);
}

/* A count parameter (line_limit, limit) with a default and a cap; 0, or -1 after 400. */
static int count_param(struct cairn__params *pr, struct cairn__req *r, const char *name,
                       size_t def, size_t max, size_t *out)
{
    const char *v = cairn__param(pr, name);
    *out = def;
    if (!v || !*v)
        return 0;
    char *e;
    long long n = strtoll(v, &e, 10);
    if (*e || n < 0) {
        cairn__reply_text(r, 400, "invalid parameter \"%s\": cannot parse \"%s\" to a valid integer",
                          name, v);
        return -1;
    }
    *out = n == 0 ? def : (size_t)n > max ? max : (size_t)n;
    return 0;
}

/* The query parameters every exploration that reads lines shares: the tenant and the
 * tenant's query limits. */
static struct cairn_query_params explore_base(struct cairn_api *api, struct cairn__req *r)
{
    return (struct cairn_query_params){.tenant = cairn__req_tenant(r),
                                       .timeout = api->limits.query_timeout_ns,
                                       .max_memory = api->limits.max_query_memory};
}

/* An exploration that reads lines: in the tenant's query queue, over the cluster's
 * data on a read node, its answer (or error) as the reply. */
typedef int (*explore_fn)(struct cairn_store *s, const void *q, struct cairn_buf *out,
                          struct cairn_err *err);

static void run_explore(struct cairn_api *api, struct cairn__req *r, struct cairn_store *s,
                        const struct cairn_query_params *base, const char *query, explore_fn fn,
                        const void *q)
{
    if (!query || !*query) {
        cairn__reply_text(r, 400, "query parameter is required: a log query such as {job=\"x\"}");
        return;
    }
    struct cairn_query_ticket tk;
    struct cairn_query_gate *g;
    if (cairn__query_gate_in(api, r, base->tenant, &g, &tk))
        return;
    struct cairn_err err = {0};
    struct cairn__scratch *scr;
    if (!(s = cairn__cluster_store_for(api, r, s, base->tenant, query, base->start, base->end,
                                       &scr))) {
        cairn_query_gate_leave(g, &tk);
        return;
    }
    cairn_buf_reset(r->reply);
    int rc = fn(s, q, r->reply, &err);
    cairn__cluster_scratch_done(scr);
    cairn_query_gate_leave(g, &tk);
    if (rc)
        cairn__reply_text(r, cairn__query_status(rc), "%s", err.msg[0] ? err.msg : cairn_strerror(rc));
    else
        cairn__reply_json(r);
}

static int fields_fn(struct cairn_store *s, const void *q, struct cairn_buf *out,
                     struct cairn_err *err)
{
    return cairn_query_detected_fields(s, q, out, err);
}

static int patterns_fn(struct cairn_store *s, const void *q, struct cairn_buf *out,
                       struct cairn_err *err)
{
    return cairn_query_patterns(s, q, out, err);
}

/* /detected_fields, and /detected_field/<name>/values when field is set. */
static void detected_fields(struct cairn_api *api, struct cairn__req *r, const char *field)
{
    struct cairn__params pr;
    struct cairn_store *s = cairn__store_params(api, r, &pr);
    if (!s)
        return;
    struct cairn_query_fields q = {.base = explore_base(api, r), .field = field};
    if (cairn__time_range(&pr, r, HOUR_NS, &q.base.start, &q.base.end) ||
        count_param(&pr, r, "line_limit", 1000, CAIRN_QUERY_MAX_LIMIT, &q.line_limit) ||
        count_param(&pr, r, "limit", 1000, 10000, &q.limit))
        goto out;
    if (!cairn__param(&pr, "limit") &&
        count_param(&pr, r, "field_limit", 1000, 10000, &q.limit))
        goto out;
    q.query = cairn__param(&pr, "query");
    run_explore(api, r, s, &q.base, q.query, fields_fn, &q);
out:
    cairn__params_deinit(&pr);
}

void cairn__handle_detected_fields(struct cairn_api *api, struct cairn__req *r)
{
    detected_fields(api, r, NULL);
}

/* GET /loki/api/v1/detected_field/<name>/values */
void cairn__handle_detected_field_values(struct cairn_api *api, struct cairn__req *r)
{
    char name[256];
    if (cairn__path_name(r, "/loki/api/v1/detected_field/", name, sizeof name) == 0)
        detected_fields(api, r, name);
}

/* GET /loki/api/v1/patterns?query=&start=&end=&step= (line_limit: how many of the
 * newest lines are clustered, default 20000). */
void cairn__handle_patterns(struct cairn_api *api, struct cairn__req *r)
{
    struct cairn__params pr;
    struct cairn_store *s = cairn__store_params(api, r, &pr);
    if (!s)
        return;
    struct cairn_query_patterns q = {.base = explore_base(api, r)};
    if (cairn__time_range(&pr, r, HOUR_NS, &q.base.start, &q.base.end) ||
        cairn__param_step(&pr, r, q.base.start, q.base.end, &q.step) ||
        count_param(&pr, r, "line_limit", 20000, 100000, &q.line_limit))
        goto out;
    if (too_many_points(r, q.base.start, q.base.end, q.step))
        goto out;
    q.query = cairn__param(&pr, "query");
    run_explore(api, r, s, &q.base, q.query, patterns_fn, &q);
out:
    cairn__params_deinit(&pr);
}
