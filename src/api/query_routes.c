/* query_routes.c -- Loki's read API: query_range, query, labels, label values,
 * series and index/stats, answered from the store through the query module.
 *
 * Defaults follow Loki: end = now; start = end - since (1h) for queries and 6h for
 * label and series lookups; limit 100 (at most 5000); direction backward; range
 * query step = max(1s, (end - start) / 250) rounded down to whole seconds.
 * An instant log query (/query with a selector) reads the hour before `time`. */
#include <stdlib.h>
#include <string.h>

#include "api/params.h"
#include "cairn/limits.h"
#include "cairn/query.h"
#include "cairn/query_gate.h"
#include "cairn/store_read.h"
#include "cairn/timeutil.h"

#define HOUR_NS (3600LL * 1000000000LL)

const char *cairn__req_tenant(struct cairn__req *r)
{
    const char *t = cairn__req_header(r, "X-Scope-OrgID");
    return t && *t ? t : "fake";
}

void cairn__reply_json(struct cairn__req *r)
{
    r->status = 200;
    r->content_type = "application/json; charset=utf-8";
}

struct cairn_store *cairn__store_or_503(struct cairn_api *api, struct cairn__req *r)
{
    struct cairn_store *s = atomic_load(&api->store);
    if (!s)
        cairn__reply_text(r, 503, "Ingester not ready: replaying the WAL");
    return s;
}

struct cairn_store *cairn__store_params(struct cairn_api *api, struct cairn__req *r,
                                        struct cairn__params *pr)
{
    struct cairn_store *s = cairn__store_or_503(api, r);
    if (s && cairn__params_init(pr, r)) {
        cairn__reply_text(r, 500, "out of memory reading parameters");
        return NULL;
    }
    return s;
}

int cairn__time_range(struct cairn__params *pr, struct cairn__req *r, int64_t def_span,
                      int64_t *start, int64_t *end)
{
    const char *v;
    *end = cairn_now_ns();
    if ((v = cairn__param(pr, "end")) && cairn__parse_time(v, end)) {
        cairn__reply_text(r, 400, "invalid parameter \"end\": cannot parse \"%s\" to a valid timestamp", v);
        return -1;
    }
    int64_t span = def_span;
    if ((v = cairn__param(pr, "since")) && cairn__parse_duration_or_seconds(v, &span)) {
        cairn__reply_text(r, 400, "invalid parameter \"since\": cannot parse \"%s\" to a valid duration", v);
        return -1;
    }
    *start = *end - span;
    if ((v = cairn__param(pr, "start")) && cairn__parse_time(v, start)) {
        cairn__reply_text(r, 400, "invalid parameter \"start\": cannot parse \"%s\" to a valid timestamp", v);
        return -1;
    }
    if (*end < *start) {
        cairn__reply_text(r, 400, "end timestamp must not be before or equal to start time");
        return -1;
    }
    return 0;
}

int cairn__param_step(struct cairn__params *pr, struct cairn__req *r, int64_t start,
                      int64_t end, int64_t *step)
{
    const char *v;
    *step = (end - start) / 250 / 1000000000LL * 1000000000LL;
    if (*step < 1000000000LL)
        *step = 1000000000LL;
    if ((v = cairn__param(pr, "step"))) {
        if (cairn__parse_duration_or_seconds(v, step)) {
            cairn__reply_text(r, 400, "invalid parameter \"step\": cannot parse \"%s\" to a valid duration", v);
            return -1;
        }
        if (*step <= 0) {
            cairn__reply_text(r, 400, "zero or negative query resolution step widths are not accepted. Try a positive integer");
            return -1;
        }
    }
    return 0;
}

int cairn__param_limit(struct cairn__params *pr, struct cairn__req *r, size_t *limit)
{
    const char *v;
    *limit = CAIRN_QUERY_DEFAULT_LIMIT;
    if ((v = cairn__param(pr, "limit"))) {
        char *e;
        long long l = strtoll(v, &e, 10);
        if (*e || e == v || l < 0) {
            cairn__reply_text(r, 400, "invalid parameter \"limit\": cannot parse \"%s\" to a valid integer", v);
            return -1;
        }
        if (l == 0)
            l = CAIRN_QUERY_DEFAULT_LIMIT;
        if (l > CAIRN_QUERY_MAX_LIMIT) {
            cairn__reply_text(r, 400, "max entries limit per query exceeded, limit > max_entries_limit (%lld > %d)",
                              l, CAIRN_QUERY_MAX_LIMIT);
            return -1;
        }
        *limit = (size_t)l;
    }
    return 0;
}

static int limit_direction(struct cairn__params *pr, struct cairn__req *r,
                           struct cairn_query_params *qp)
{
    const char *v;
    if (cairn__param_limit(pr, r, &qp->limit))
        return -1;
    qp->direction = CAIRN_ITER_BACKWARD;
    if ((v = cairn__param(pr, "direction"))) {
        if (strcasecmp(v, "forward") == 0)
            qp->direction = CAIRN_ITER_FORWARD;
        else if (strcasecmp(v, "backward") != 0) {
            cairn__reply_text(r, 400, "invalid parameter \"direction\": invalid direction '%s'", v);
            return -1;
        }
    }
    return 0;
}

/* The api's query gate, created on first use (NULL without a limit or memory). */
static struct cairn_query_gate *gate_of(struct cairn_api *api)
{
    struct cairn_query_gate *g = atomic_load(&api->qgate);
    if (g || !api->limits.max_tenant_queries)
        return g;
    struct cairn_query_gate *mine = cairn_query_gate_create(api->limits.max_tenant_queries,
                                                            api->limits.max_tenant_queued,
                                                            CAIRN_QUERY_QUEUE_WAIT_NS);
    if (!mine || atomic_compare_exchange_strong(&api->qgate, &g, mine))
        return mine; /* NULL (out of memory): queries are not held back */
    cairn_query_gate_destroy(mine); /* another request created it first */
    return g;
}

int cairn__query_gate_in(struct cairn_api *api, struct cairn__req *r, const char *tenant,
                         struct cairn_query_gate **g, struct cairn_query_ticket *tk)
{
    *g = gate_of(api);
    int rc = cairn_query_gate_enter(*g, tenant, tk);
    if (rc) {
        /* Loki's query-scheduler answer when a tenant's queue is full */
        cairn__reply_text(r, rc == CAIRN_ELIMIT ? 429 : 500, "%s",
                          rc == CAIRN_ELIMIT ? "too many outstanding requests" : cairn_strerror(rc));
        if (rc == CAIRN_ELIMIT)
            r->retry_after_s = 1; /* a slot frees as soon as one query ends */
        return -1;
    }
    return 0;
}

int cairn__query_status(int rc)
{
    return rc == CAIRN_EINVAL || rc == CAIRN_ELIMIT || rc == CAIRN_ERANGE ? 400
           : rc == CAIRN_ETIMEDOUT                                       ? 504
           : rc == CAIRN_EREMOTE /* the object store is down: retry later */ ? 503
                                                                         : 500;
}

static void run_query(struct cairn_api *api, struct cairn__req *r, struct cairn__params *pr,
                      struct cairn_query_params *qp)
{
    struct cairn_store *s = cairn__store_or_503(api, r);
    if (!s)
        return;
    const char *q = cairn__param(pr, "query");
    if (!q || !*q) {
        cairn__reply_text(r, 400, "parse error : syntax error: unexpected $end: query parameter is required");
        return;
    }
    struct cairn_query_gate *g;
    struct cairn_query_ticket tk;
    if (cairn__query_gate_in(api, r, qp->tenant, &g, &tk))
        return;
    struct cairn_err err = {0};
    struct cairn__scratch *scr = NULL;
    if (cairn__cluster_reads_remote(api) && !(s = cairn__cluster_scratch_query(api, r, q, qp, &scr))) {
        cairn_query_gate_leave(g, &tk);
        return; /* answered */
    }
    cairn_buf_reset(r->reply);
    qp->max_memory = api->limits.max_query_memory;
    /* Loki 3: structured metadata and parsed labels apart from the stream's */
    const char *flags = cairn__req_header(r, "X-Loki-Response-Encoding-Flags");
    qp->categorize = flags && strstr(flags, "categorize-labels") != NULL;
    int rc = cairn_query_run(s, q, strlen(q), qp, r->reply, &err);
    cairn__cluster_scratch_done(scr);
    cairn_query_gate_leave(g, &tk);
    if (rc == 0) {
        cairn__reply_json(r);
        return;
    }
    cairn__reply_text(r, cairn__query_status(rc), "%s", err.msg[0] ? err.msg : cairn_strerror(rc));
}

void cairn__handle_query_range(struct cairn_api *api, struct cairn__req *r)
{
    struct cairn__params pr;
    struct cairn_query_params qp = {.tenant = cairn__req_tenant(r),
                                    .max_series = api->limits.max_query_series,
                                    .timeout = api->limits.query_timeout_ns};
    const char *v;
    if (cairn__params_init(&pr, r)) {
        cairn__reply_text(r, 500, "out of memory reading parameters");
        return;
    }
    if (cairn__time_range(&pr, r, HOUR_NS, &qp.start, &qp.end) || limit_direction(&pr, r, &qp))
        goto out;
    if (cairn__param_step(&pr, r, qp.start, qp.end, &qp.step))
        goto out;
    if ((v = cairn__param(&pr, "interval")) && cairn__parse_duration_or_seconds(v, &qp.interval)) {
        cairn__reply_text(r, 400, "invalid parameter \"interval\": cannot parse \"%s\" to a valid duration", v);
        goto out;
    }
    run_query(api, r, &pr, &qp);
out:
    cairn__params_deinit(&pr);
}

void cairn__handle_query(struct cairn_api *api, struct cairn__req *r)
{
    struct cairn__params pr;
    struct cairn_query_params qp = {.tenant = cairn__req_tenant(r), .instant = 1,
                                    .max_series = api->limits.max_query_series,
                                    .timeout = api->limits.query_timeout_ns};
    const char *v;
    if (cairn__params_init(&pr, r)) {
        cairn__reply_text(r, 500, "out of memory reading parameters");
        return;
    }
    qp.end = cairn_now_ns();
    if ((v = cairn__param(&pr, "time")) && cairn__parse_time(v, &qp.end)) {
        cairn__reply_text(r, 400, "invalid parameter \"time\": cannot parse \"%s\" to a valid timestamp", v);
        goto out;
    }
    if (limit_direction(&pr, r, &qp))
        goto out;
    /* Metric queries evaluate at `time`; a log query reads the hour before it (the
     * end is inclusive for an instant, hence +1 ns on the half-open range). */
    qp.start = qp.end - HOUR_NS;
    qp.step = 1000000000LL;
    run_query(api, r, &pr, &qp);
out:
    cairn__params_deinit(&pr);
}

/* Append a JSON string array of the list to the reply, inside Loki's envelope. */
static void reply_strlist(struct cairn__req *r, const struct cairn_strlist *l)
{
    struct cairn_buf *o = r->reply;
    int rc = cairn_buf_append_str(o, "{\"status\":\"success\",\"data\":[");
    for (size_t i = 0; i < l->n && rc == 0; i++)
        rc = (i && cairn_buf_append_byte(o, ',')) ||
             cairn_buf_append_json_str(o, l->v[i], strlen(l->v[i]));
    rc = rc || cairn_buf_append_str(o, "]}");
    if (rc)
        cairn__reply_text(r, 500, "out of memory");
    else
        cairn__reply_json(r);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort and de-duplicate a list in place. */
static void strlist_uniq(struct cairn_strlist *l)
{
    if (!l->n)
        return;
    qsort(l->v, l->n, sizeof *l->v, cmp_str);
    size_t k = 1;
    for (size_t i = 1; i < l->n; i++) {
        if (strcmp(l->v[i], l->v[k - 1]) == 0)
            free(l->v[i]);
        else
            l->v[k++] = l->v[i];
    }
    l->n = k;
}

/* Names (name == NULL) or values of `name` over the streams selected by `query=`. */
static int labels_of_selection(struct cairn_store *s, const char *tenant, const char *sel,
                               const char *name, int64_t start, int64_t end,
                               struct cairn_strlist *out, struct cairn_err *err)
{
    roaring_bitmap_t *sids = roaring_bitmap_create();
    if (!sids)
        return CAIRN_ENOMEM;
    struct cairn_labels ls;
    cairn_labels_init(&ls);
    int rc = cairn_query_select_text(s, tenant, sel, strlen(sel), start, end, sids, err);
    roaring_uint32_iterator_t *it = rc ? NULL : roaring_create_iterator(sids);
    for (; rc == 0 && it && it->has_value; roaring_advance_uint32_iterator(it)) {
        if (cairn_store_stream_labels(s, tenant, it->current_value, &ls))
            continue;
        for (size_t i = 0; i < ls.n && rc == 0; i++) {
            if (!name)
                rc = cairn_strlist_add(out, ls.v[i].name, ls.v[i].name_len);
            else if (strcmp(ls.v[i].name, name) == 0)
                rc = cairn_strlist_add(out, ls.v[i].value, ls.v[i].value_len);
        }
    }
    if (it)
        roaring_free_uint32_iterator(it);
    cairn_labels_deinit(&ls);
    cairn_bitmap_free(sids);
    strlist_uniq(out);
    return rc;
}

static void labels_or_values(struct cairn_api *api, struct cairn__req *r, const char *name)
{
    struct cairn__params pr;
    struct cairn_store *s = cairn__store_params(api, r, &pr);
    if (!s)
        return;
    struct cairn_strlist l = {0};
    struct cairn_err err = {0};
    int64_t start, end;
    if (cairn__time_range(&pr, r, 6 * HOUR_NS, &start, &end))
        goto out;
    const char *sel = cairn__param(&pr, "query");
    int rc;
    struct cairn__scratch *scr = NULL;
    if (cairn__cluster_reads_remote(api) &&
        !(s = cairn__cluster_scratch(api, r, cairn__req_tenant(r), &sel, sel && *sel, start, end,
                                     1, &scr)))
        goto out; /* answered */
    if (sel && *sel)
        rc = labels_of_selection(s, cairn__req_tenant(r), sel, name, start, end, &l, &err);
    else if (name)
        rc = cairn_store_label_values(s, cairn__req_tenant(r), name, start, end, &l);
    else
        rc = cairn_store_label_names(s, cairn__req_tenant(r), start, end, &l);
    cairn__cluster_scratch_done(scr);
    if (rc) {
        cairn__reply_text(r, rc == CAIRN_EINVAL ? 400 : 500, "%s",
                          err.msg[0] ? err.msg : cairn_strerror(rc));
        goto out;
    }
    cairn_buf_reset(r->reply);
    reply_strlist(r, &l);
out:
    cairn_strlist_deinit(&l);
    cairn__params_deinit(&pr);
}

void cairn__handle_labels(struct cairn_api *api, struct cairn__req *r)
{
    labels_or_values(api, r, NULL);
}

int cairn__path_name(struct cairn__req *r, const char *prefix, char *name, size_t cap)
{
    const char *p = r->url + strlen(prefix);
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : 0;
    if (!slash || strcmp(slash, "/values") != 0 || n == 0 || n >= cap) {
        cairn__reply_text(r, 404, "404 page not found");
        return -1;
    }
    memcpy(name, p, n);
    name[n] = '\0';
    return 0;
}

void cairn__handle_label_values(struct cairn_api *api, struct cairn__req *r)
{
    char name[CAIRN_MAX_LABEL_NAME_LENGTH + 1];
    if (cairn__path_name(r, "/loki/api/v1/label/", name, sizeof name) == 0)
        labels_or_values(api, r, name);
}

struct series_ctx {
    struct cairn_store *s;
    const char *sels[16]; /* read nodes: the selectors to ask the write nodes for */
    size_t nsel;
    const char *tenant;
    int64_t start, end;
    roaring_bitmap_t *sids;
    struct cairn_err err;
};

static int series_sel(void *ud, const char *sel)
{
    struct series_ctx *c = ud;
    if (c->nsel == sizeof c->sels / sizeof c->sels[0])
        return cairn_err_set(&c->err, CAIRN_EINVAL, "at most %zu match[] selectors",
                             sizeof c->sels / sizeof c->sels[0]);
    c->sels[c->nsel++] = sel;
    return 0;
}

static int series_add(void *ud, const char *sel)
{
    struct series_ctx *c = ud;
    return cairn_query_select_text(c->s, c->tenant, sel, strlen(sel), c->start, c->end, c->sids,
                                   &c->err);
}

void cairn__handle_series(struct cairn_api *api, struct cairn__req *r)
{
    struct cairn__params pr;
    struct cairn_store *s = cairn__store_params(api, r, &pr);
    if (!s)
        return;
    struct series_ctx c = {.s = s, .tenant = cairn__req_tenant(r), .sids = roaring_bitmap_create()};
    struct cairn_labels ls;
    cairn_labels_init(&ls);
    if (!c.sids || cairn__time_range(&pr, r, 6 * HOUR_NS, &c.start, &c.end))
        goto out;
    if (!cairn__param(&pr, "match[]") && !cairn__param(&pr, "match")) {
        cairn__reply_text(r, 400, "match[] parameter is required: a stream selector such as {job=\"x\"}");
        goto out;
    }
    int rc = 0;
    struct cairn__scratch *scr = NULL;
    if (cairn__cluster_reads_remote(api)) {
        rc = cairn__param_each(&pr, "match[]", series_sel, &c);
        if (rc == 0)
            rc = cairn__param_each(&pr, "match", series_sel, &c);
        if (rc == 0 && !(c.s = s = cairn__cluster_scratch(api, r, c.tenant, c.sels, c.nsel, c.start,
                                                          c.end, 1, &scr)))
            goto out; /* answered */
    }
    if (rc == 0)
        rc = cairn__param_each(&pr, "match[]", series_add, &c);
    if (rc == 0)
        rc = cairn__param_each(&pr, "match", series_add, &c);
    if (rc) {
        cairn__reply_text(r, rc == CAIRN_EINVAL ? 400 : 500, "%s",
                          c.err.msg[0] ? c.err.msg : cairn_strerror(rc));
        cairn__cluster_scratch_done(scr);
        goto out;
    }
    struct cairn_buf *o = r->reply;
    cairn_buf_reset(o);
    rc = cairn_buf_append_str(o, "{\"status\":\"success\",\"data\":[");
    roaring_uint32_iterator_t *it = roaring_create_iterator(c.sids);
    int first = 1;
    for (; rc == 0 && it && it->has_value; roaring_advance_uint32_iterator(it)) {
        if (cairn_store_stream_labels(s, c.tenant, it->current_value, &ls))
            continue;
        rc = (!first && cairn_buf_append_byte(o, ',')) || cairn_buf_append_byte(o, '{');
        for (size_t i = 0; i < ls.n && rc == 0; i++)
            rc = (i && cairn_buf_append_byte(o, ',')) ||
                 cairn_buf_append_json_str(o, ls.v[i].name, ls.v[i].name_len) ||
                 cairn_buf_append_byte(o, ':') ||
                 cairn_buf_append_json_str(o, ls.v[i].value, ls.v[i].value_len);
        rc = rc || cairn_buf_append_byte(o, '}');
        first = 0;
    }
    if (it)
        roaring_free_uint32_iterator(it);
    if (rc || cairn_buf_append_str(o, "]}"))
        cairn__reply_text(r, 500, "out of memory");
    else
        cairn__reply_json(r);
    cairn__cluster_scratch_done(scr);
out:
    cairn_labels_deinit(&ls);
    cairn_bitmap_free(c.sids);
    cairn__params_deinit(&pr);
}

void cairn__handle_index_stats(struct cairn_api *api, struct cairn__req *r)
{
    struct cairn__params pr;
    struct cairn_store *s = cairn__store_params(api, r, &pr);
    if (!s)
        return;
    roaring_bitmap_t *sids = roaring_bitmap_create();
    struct cairn_err err = {0};
    int64_t start, end;
    if (!sids || cairn__time_range(&pr, r, HOUR_NS, &start, &end))
        goto out;
    const char *sel = cairn__param(&pr, "query");
    if (!sel || !*sel) {
        cairn__reply_text(r, 400, "query parameter is required: a stream selector such as {job=\"x\"}");
        goto out;
    }
    struct cairn__scratch *scr = NULL;
    if (cairn__cluster_reads_remote(api) &&
        !(s = cairn__cluster_scratch(api, r, cairn__req_tenant(r), &sel, 1, start, end, 0, &scr)))
        goto out; /* answered */
    int rc = cairn_query_select_text(s, cairn__req_tenant(r), sel, strlen(sel), start, end, sids, &err);
    struct cairn_index_stats st = {0};
    if (rc == 0)
        rc = cairn_store_index_stats(s, cairn__req_tenant(r), sids, start, end, &st);
    cairn__cluster_scratch_done(scr);
    if (rc) {
        cairn__reply_text(r, rc == CAIRN_EINVAL ? 400 : 500, "%s",
                          err.msg[0] ? err.msg : cairn_strerror(rc));
        goto out;
    }
    cairn_buf_reset(r->reply);
    if (cairn_buf_appendf(r->reply, "{\"streams\":%llu,\"chunks\":%llu,\"bytes\":%llu,\"entries\":%llu}",
                          (unsigned long long)st.streams, (unsigned long long)st.chunks,
                          (unsigned long long)st.bytes, (unsigned long long)st.entries))
        cairn__reply_text(r, 500, "out of memory");
    else
        cairn__reply_json(r);
out:
    cairn_bitmap_free(sids);
    cairn__params_deinit(&pr);
}
