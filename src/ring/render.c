/* render.c -- the ring for people and scrapers: /ring as JSON or HTML, and the
 * members-by-state gauges of /metrics. */
#include <stdlib.h>
#include <string.h>

#include "cairn/ring.h"
#include "cairn/timeutil.h"

static const char *role_text(unsigned roles)
{
    static const char *const t[8] = {"",           "write",       "read",       "write,read",
                                     "backend",    "write,backend", "read,backend", "all"};
    return t[roles & 7];
}

/* The current view and each member's share of the ring (*share NULL when out of
 * memory); the caller frees share and puts the view. */
static struct cairn_ring_view *view_with_shares(struct cairn_ring *r, double **share)
{
    struct cairn_ring_view *v = cairn_ring_view_get(r);
    *share = calloc(v->n ? v->n : 1, sizeof **share);
    if (*share)
        cairn_ring_ownership(v, *share);
    return v;
}

int cairn_ring_render_json(struct cairn_ring *r, struct cairn_buf *out)
{
    double *share;
    struct cairn_ring_view *v = view_with_shares(r, &share);
    int rc = share ? 0 : CAIRN_ENOMEM;
    int64_t now = cairn_now_ns();
    rc |= cairn_buf_append_str(out, "{\"self\":");
    rc |= cairn_buf_append_json_str(out, cairn_ring_self_id(r), strlen(cairn_ring_self_id(r)));
    rc |= cairn_buf_appendf(out, ",\"kvstore\":\"%s\",\"members\":[", cairn_ring_store_kind(r));
    for (size_t i = 0; share && i < v->n; i++) {
        const struct cairn_ring_member *m = &v->members[i];
        rc |= cairn_buf_append_str(out, i ? ",{\"id\":" : "{\"id\":");
        rc |= cairn_buf_append_json_str(out, m->id, strlen(m->id));
        rc |= cairn_buf_append_str(out, ",\"addr\":");
        rc |= cairn_buf_append_json_str(out, m->addr, strlen(m->addr));
        rc |= cairn_buf_appendf(out,
                                ",\"state\":\"%s\",\"roles\":\"%s\",\"tokens\":%zu,"
                                "\"heartbeat_age_seconds\":%.3f,\"ownership\":%.6f}",
                                cairn_ring_state_name(m->state), role_text(m->roles), m->n_tokens,
                                m->heartbeat_ns ? (double)(now - m->heartbeat_ns) / 1e9 : -1.0,
                                share[i]);
    }
    rc |= cairn_buf_append_str(out, "]}");
    free(share);
    cairn_ring_view_put(r, v);
    return rc ? CAIRN_ENOMEM : 0;
}

int cairn_ring_render_html(struct cairn_ring *r, struct cairn_buf *out)
{
    double *share;
    struct cairn_ring_view *v = view_with_shares(r, &share);
    int rc = share ? 0 : CAIRN_ENOMEM;
    int64_t now = cairn_now_ns();
    rc |= cairn_buf_appendf(out,
                            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>cairn ring"
                            "</title></head><body><h1>Ring</h1><p>kvstore: %s; this node: ",
                            cairn_ring_store_kind(r));
    rc |= cairn_buf_append_html(out, cairn_ring_self_id(r));
    rc |= cairn_buf_append_str(out, "</p><table border=\"1\"><tr><th>Instance ID</th><th>Address"
                                    "</th><th>State</th><th>Roles</th><th>Tokens</th><th>Last "
                                    "heartbeat</th><th>Ownership</th></tr>");
    for (size_t i = 0; share && i < v->n; i++) {
        const struct cairn_ring_member *m = &v->members[i];
        rc |= cairn_buf_append_str(out, "<tr><td>");
        rc |= cairn_buf_append_html(out, m->id);
        rc |= cairn_buf_append_str(out, "</td><td>");
        rc |= cairn_buf_append_html(out, m->addr);
        rc |= cairn_buf_appendf(out,
                                "</td><td>%s</td><td>%s</td><td>%zu</td><td>%.1fs ago</td>"
                                "<td>%.1f%%</td></tr>",
                                cairn_ring_state_name(m->state), role_text(m->roles), m->n_tokens,
                                m->heartbeat_ns ? (double)(now - m->heartbeat_ns) / 1e9 : -1.0,
                                100.0 * share[i]);
    }
    rc |= cairn_buf_append_str(out, "</table><p><a href=\"/ring?format=json\">JSON</a></p>"
                                    "</body></html>\n");
    free(share);
    cairn_ring_view_put(r, v);
    return rc ? CAIRN_ENOMEM : 0;
}

int cairn_ring_metrics(struct cairn_ring *r, struct cairn_buf *out)
{
    struct cairn_ring_view *v = cairn_ring_view_get(r);
    size_t by[3] = {0, 0, 0};
    for (size_t i = 0; i < v->n; i++)
        if ((unsigned)v->members[i].state < 3)
            by[v->members[i].state]++;
    cairn_ring_view_put(r, v);
    struct cairn_ring_stats s;
    cairn_ring_stats(r, &s);
    int rc = cairn_buf_appendf(out,
                               "# HELP cairn_ring_members Ring members by state.\n"
                               "# TYPE cairn_ring_members gauge\n"
                               "cairn_ring_members{state=\"JOINING\"} %zu\n"
                               "cairn_ring_members{state=\"ACTIVE\"} %zu\n"
                               "cairn_ring_members{state=\"LEAVING\"} %zu\n"
                               "# HELP cairn_ring_kv_errors_total etcd requests that failed.\n"
                               "# TYPE cairn_ring_kv_errors_total counter\n"
                               "cairn_ring_kv_errors_total %llu\n"
                               "# HELP cairn_ring_lease_renewals_total Leases granted again after "
                               "one expired.\n# TYPE cairn_ring_lease_renewals_total counter\n"
                               "cairn_ring_lease_renewals_total %llu\n",
                               by[0], by[1], by[2], (unsigned long long)s.kv_errors,
                               (unsigned long long)s.lease_renewals);
    return rc;
}
