/* cluster.c -- cluster mode's small pieces: entering it, the peers-only check of the
 * /internal/ routes, /ring, /services and the forwarding metrics. The write path is
 * cluster_push.c, the read path cluster_read.c. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "cairn/ring.h"
#include "cairn/ring_client.h"

void cairn__cluster_destroy(struct cairn__cluster *c)
{
    if (!c)
        return;
    cairn_ring_client_destroy(c->client);
    cairn_ring_client_destroy(c->read_client);
    free(c->target);
    free(c->secret);
    free(c->scratch_dir);
    free(c);
}

int cairn_api_set_cluster(struct cairn_api *api, const struct cairn_api_cluster *in,
                          struct cairn_err *err)
{
    struct cairn__cluster *c = calloc(1, sizeof *c);
    if (!c)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    c->ring = in->ring;
    c->roles = in->roles;
    c->read_source = in->read_source;
    c->read_source_ctx = in->read_source_ctx;
    c->rf = in->replication_factor ? in->replication_factor : 1;
    if (c->rf > CAIRN_RING_RF_MAX)
        c->rf = CAIRN_RING_RF_MAX;
    c->target = strdup(in->target ? in->target : "all");
    c->secret = in->secret && *in->secret ? strdup(in->secret) : NULL;
    c->scratch_dir = strdup(in->scratch_dir ? in->scratch_dir : "/tmp");
    c->client = cairn_ring_client_create(in->secret, in->forward_timeout_ns);
    /* a read from a write node may move up to max_query_memory: the query's own
     * deadline bounds it (forward_timeout when queries have none) */
    int64_t qt = api->limits.query_timeout_ns;
    c->read_client = cairn_ring_client_create(in->secret, qt > 0 ? qt : in->forward_timeout_ns);
    if (!c->target || !c->scratch_dir || !c->client || !c->read_client || (in->secret && *in->secret && !c->secret)) {
        cairn__cluster_destroy(c);
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    }
    cairn__cluster_scratch_clean(c->scratch_dir);
    cairn__cluster_destroy(api->cluster);
    api->cluster = c;
    return 0;
}

int cairn__cluster_refused(struct cairn_api *api, struct cairn__req *r)
{
    struct cairn__cluster *c = api->cluster;
    if (!c) {
        cairn__reply_text(r, 404, "not in cluster mode (-target=all with store: inmemory)");
        return 1;
    }
    if (!c->secret)
        return 0;
    const char *got = cairn__req_header(r, CAIRN_RING_SECRET_HEADER);
    size_t n = strlen(c->secret);
    if (!got || strlen(got) != n || CRYPTO_memcmp(got, c->secret, n) != 0) {
        cairn__reply_text(r, 403, "internal route: missing or wrong %s (common.ring.cluster_secret)",
                          CAIRN_RING_SECRET_HEADER);
        return 1;
    }
    return 0;
}

void cairn__handle_ring(struct cairn_api *api, struct cairn__req *r)
{
    if (!api->cluster) {
        cairn__reply_text(r, 404, "no ring: this node runs alone (-target=all, kvstore inmemory)");
        return;
    }
    const char *fmt = cairn__req_query(r, "format");
    const char *acc = cairn__req_header(r, "Accept");
    int json = (fmt && strcmp(fmt, "json") == 0) ||
               (!fmt && acc && strstr(acc, "application/json") && !strstr(acc, "text/html"));
    cairn_buf_reset(r->reply);
    int rc = json ? cairn_ring_render_json(api->cluster->ring, r->reply)
                  : cairn_ring_render_html(api->cluster->ring, r->reply);
    if (rc) {
        cairn__reply_text(r, 500, "out of memory");
        return;
    }
    r->status = 200;
    r->content_type = json ? "application/json; charset=utf-8" : "text/html; charset=utf-8";
}

/* Loki's /services: one "module => State" line per running module. */
void cairn__handle_services(struct cairn_api *api, struct cairn__req *r)
{
    unsigned roles = api->cluster ? api->cluster->roles
                                  : CAIRN_RING_ROLE_WRITE | CAIRN_RING_ROLE_READ | CAIRN_RING_ROLE_BACKEND;
    struct cairn_buf *o = r->reply;
    cairn_buf_reset(o);
    int rc = cairn_buf_append_str(o, "server => Running\n");
    if (api->cluster)
        rc |= cairn_buf_appendf(o, "ring => Running\nmemberlist-kv => Disabled (%s)\n",
                                cairn_ring_store_kind(api->cluster->ring));
    rc |= cairn_buf_append_str(o, "distributor => Running\n"); /* any node takes pushes */
    if (roles & CAIRN_RING_ROLE_WRITE)
        rc |= cairn_buf_append_str(o, "ingester => Running\n");
    if (roles & CAIRN_RING_ROLE_READ)
        rc |= cairn_buf_append_str(o, "querier => Running\nquery-frontend => Running\n");
    if (roles & CAIRN_RING_ROLE_BACKEND)
        rc |= cairn_buf_append_str(o, "compactor => Running\n");
    if (rc) {
        cairn__reply_text(r, 500, "out of memory");
        return;
    }
    r->status = 200;
    r->content_type = "text/plain; charset=utf-8";
}

int cairn__cluster_metrics(struct cairn_api *api, struct cairn_buf *o)
{
    struct cairn__cluster *c = api->cluster;
    if (!c)
        return 0;
    int rc = cairn_ring_metrics(c->ring, o);
    rc |= cairn_buf_appendf(
        o,
        "# HELP cairn_ring_forwards_total Pushes forwarded to a stream owner.\n"
        "# TYPE cairn_ring_forwards_total counter\ncairn_ring_forwards_total %llu\n"
        "# HELP cairn_ring_forward_failures_total Forwards that failed (network, timeout, 5xx).\n"
        "# TYPE cairn_ring_forward_failures_total counter\ncairn_ring_forward_failures_total %llu\n"
        "# HELP cairn_ring_forward_seconds_total Time spent in forwards (divide by the count).\n"
        "# TYPE cairn_ring_forward_seconds_total counter\ncairn_ring_forward_seconds_total %.6f\n"
        "# HELP cairn_ring_quorum_failures_total Pushes refused with 503: a stream missed its "
        "quorum of owners.\n"
        "# TYPE cairn_ring_quorum_failures_total counter\ncairn_ring_quorum_failures_total %llu\n"
        "# HELP cairn_ring_remote_reads_total Reads asked of write nodes by this read node.\n"
        "# TYPE cairn_ring_remote_reads_total counter\ncairn_ring_remote_reads_total %llu\n"
        "# HELP cairn_ring_remote_read_failures_total Of those, failed.\n"
        "# TYPE cairn_ring_remote_read_failures_total counter\n"
        "cairn_ring_remote_read_failures_total %llu\n",
        (unsigned long long)atomic_load(&c->forwards),
        (unsigned long long)atomic_load(&c->forward_failures),
        (double)atomic_load(&c->forward_ns) / 1e9,
        (unsigned long long)atomic_load(&c->quorum_failures),
        (unsigned long long)atomic_load(&c->remote_reads),
        (unsigned long long)atomic_load(&c->remote_read_failures));
    return rc;
}
