/* cluster_push.c -- the write path across nodes: group a validated push by the
 * owners of each stream on the ring, append this node's part to its own store, forward
 * every other owner its part (POST /internal/push, the push client's encoding), and
 * acknowledge once a quorum (rf/2+1) of each stream's owners has it in its WAL.
 *
 * An owner acknowledges only after its own cairn_store_append returned, exactly as a
 * single node acknowledges a push, so "acked by a quorum" means "in a quorum of
 * WALs". A forward that fails (refused connection, timeout, 5xx) counts against the
 * quorum of the streams it carried; the 503 names the streams and the replicas
 * missing, and the client retries the whole push (owners drop exact duplicates). */
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "cairn/push.h"
#include "cairn/ring.h"
#include "cairn/ring_client.h"

/* One remote owner's share of the push. */
struct fwd {
    uint32_t member;
    struct cairn_push_body *body;
    int ok;
};

static int add_stream(struct cairn_push_body *body, struct cairn_buf *tmp,
                      const struct cairn_push_stream *p)
{
    cairn_buf_reset(tmp);
    int rc = cairn_labels_format(p->labels, tmp);
    for (size_t j = 0; j < p->n && rc == 0; j++)
        rc = cairn_push_body_add(body, tmp->data, tmp->len, p->entries[j].ts, p->entries[j].line,
                                 p->entries[j].len);
    return rc;
}

/* The local part: the streams this node owns, appended in one call; their
 * refusals are copied back for the reply. */
static int append_local(struct cairn_store *st, const char *tenant, struct cairn_push_stream *ps,
                        size_t n, const uint8_t *mine)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += mine[i];
    if (!k)
        return 0;
    struct cairn_push_stream *lp = malloc(k * sizeof *lp);
    if (!lp)
        return CAIRN_ENOMEM;
    k = 0;
    for (size_t i = 0; i < n; i++)
        if (mine[i])
            lp[k++] = ps[i];
    int rc = cairn_store_append(st, tenant, lp, k);
    k = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        if (mine[i]) {
            ps[i].rejected = lp[k].rejected;
            ps[i].err = lp[k].err;
            k++;
        }
    free(lp);
    return rc;
}

/* Do two owner lists ([0]: count, then members) hold the same members? */
static int same_owners(const uint32_t *a, const uint32_t *b)
{
    if (a[0] != b[0])
        return 0;
    for (uint32_t i = 1; i <= a[0]; i++) {
        int found = 0;
        for (uint32_t j = 1; j <= b[0]; j++)
            found |= a[i] == b[j];
        if (!found)
            return 0;
    }
    return 1;
}

int cairn__cluster_append(struct cairn_api *api, struct cairn_store *st, const char *tenant,
                          struct cairn_ingest_batch *b, struct cairn_push_stream *ps, size_t n,
                          struct cairn_buf *why)
{
    struct cairn__cluster *c = api->cluster;
    struct cairn_ring_view *v = cairn_ring_view_get(c->ring);
    long self = cairn_ring_find(v, cairn_ring_self_id(c->ring));
    size_t rf = c->rf, quorum = rf / 2 + 1;
    uint32_t *own = malloc((n ? n : 1) * (rf + 1) * sizeof *own); /* [i*(rf+1)]: count */
    uint8_t *mine = calloc(n ? n : 1, 1);
    struct fwd *fw = calloc(v->n ? v->n : 1, sizeof *fw);
    struct cairn_ring_call *calls = calloc(v->n ? v->n : 1, sizeof *calls);
    struct cairn_buf tmp = CAIRN_BUF_INIT;
    size_t nf = 0;
    int rc = own && mine && fw && calls ? 0 : CAIRN_ENOMEM;
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint32_t *o = &own[i * (rf + 1)];
        if (!ps[i].fp_set) {
            ps[i].fp = cairn_labels_fingerprint(ps[i].labels);
            ps[i].fp_set = 1;
        }
        o[0] = (uint32_t)cairn_ring_owners(v, cairn_ring_key(tenant, ps[i].fp), rf, o + 1);
        for (uint32_t k = 1; k <= o[0]; k++)
            mine[i] |= (long)o[k] == self;
    }
    /* Every stream with the same owners (rf = ring size, or one stream): one body
     * encoded once serves every remote owner. */
    int same = n > 0;
    for (size_t i = 1; i < n && same; i++)
        same = same_owners(&own[0], &own[i * (rf + 1)]);
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint32_t *o = &own[i * (rf + 1)];
        for (uint32_t k = 1; k <= o[0] && rc == 0; k++) {
            if ((long)o[k] == self)
                continue;
            size_t f = 0;
            while (f < nf && fw[f].member != o[k])
                f++;
            if (f == nf) {
                fw[nf].member = o[k];
                fw[nf].body = same && nf ? fw[0].body : cairn_push_body_create();
                if (!fw[nf].body) {
                    rc = CAIRN_ENOMEM;
                    break;
                }
                nf++;
            }
            if (!same || f == 0)
                rc = add_stream(fw[f].body, &tmp, &ps[i]);
        }
    }
    for (size_t f = 0; f < nf && rc == 0; f++) {
        calls[f] = (struct cairn_ring_call){.addr = v->members[fw[f].member].addr,
                                            .path = "/internal/push", .tenant = tenant};
        if (same && f) {
            calls[f].body = calls[0].body;
            calls[f].len = calls[0].len;
        } else {
            rc = cairn_push_body_encode(fw[f].body, &calls[f].body, &calls[f].len);
        }
    }
    /* local first: its WAL write overlaps nothing, but it is the cheapest ack */
    int local_rc = rc ? rc : append_local(st, tenant, ps, n, mine);
    if (rc == 0 && nf) {
        rc = cairn_ring_client_run(c->client, calls, nf);
        for (size_t f = 0; f < nf && rc == 0; f++) {
            struct cairn_ring_call *k = &calls[f];
            atomic_fetch_add(&c->forwards, 1);
            atomic_fetch_add(&c->forward_ns, (uint64_t)k->ns);
            /* 400: the owner stored all but the entries it refused (named in its reply) */
            fw[f].ok = k->status == 204 || k->status == 200 || k->status == 400;
            if (k->status == 400)
                cairn_ingest_fail(b, 400, "%.*s", (int)(k->reply.len > 1 ? k->reply.len - 1 : 0),
                                   cairn_buf_cstr(&k->reply));
            if (!fw[f].ok)
                atomic_fetch_add(&c->forward_failures, 1);
        }
    }
    /* count each stream's acks */
    size_t failed = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint32_t *o = &own[i * (rf + 1)];
        size_t acks = 0;
        for (uint32_t k = 1; k <= o[0]; k++) {
            if ((long)o[k] == self) {
                acks += local_rc == 0;
                continue;
            }
            for (size_t f = 0; f < nf; f++)
                if (fw[f].member == o[k])
                    acks += fw[f].ok;
        }
        if (acks >= quorum)
            continue;
        if (failed++ < 4) {
            cairn_buf_reset(&tmp);
            cairn_labels_format(ps[i].labels, &tmp);
            cairn_buf_appendf(why, "%sstream %s: %zu of %u owners acknowledged (quorum %zu)",
                              failed > 1 ? "; " : "", cairn_buf_cstr(&tmp), acks, o[0], quorum);
        }
    }
    if (rc == 0 && failed && local_rc && !nf) {
        rc = local_rc; /* this node alone owned it: the single-node answer (507, 500) */
    } else if (rc == 0 && failed) {
        atomic_fetch_add(&c->quorum_failures, 1);
        if (failed > 4)
            cairn_buf_appendf(why, "; and %zu more streams", failed - 4);
        cairn_buf_append_str(why, "; missing replicas:");
        size_t listed = 0;
        if (self >= 0 && local_rc != 0) {
            cairn_buf_appendf(why, " %s (this node): %s", v->members[self].id, cairn_strerror(local_rc));
            listed++;
        }
        for (size_t f = 0; f < nf; f++)
            if (!fw[f].ok) {
                const struct cairn_ring_member *m = &v->members[fw[f].member];
                cairn_buf_appendf(why, "%s %s (%s): %s", listed++ ? "," : "", m->id, m->addr,
                                  calls[f].status ? cairn_buf_cstr(&calls[f].reply) : calls[f].err);
            }
        if (!listed)
            cairn_buf_append_str(why, " not enough ACTIVE write nodes in the ring");
        while (why->len && (why->data[why->len - 1] == '\n'))
            why->data[--why->len] = '\0';
        rc = CAIRN_EAGAIN;
    }
    for (size_t f = 0; f < nf; f++) {
        if (!same || f == 0)
            cairn_push_body_destroy(fw[f].body);
        cairn_buf_deinit(&calls[f].reply);
    }
    cairn_buf_deinit(&tmp);
    free(calls);
    free(fw);
    free(mine);
    free(own);
    cairn_ring_view_put(c->ring, v);
    return rc;
}
