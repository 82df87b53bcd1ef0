/* view.c -- the token ring: deterministic tokens per instance, immutable views sorted
 * on the circle, owners of a stream, ownership shares, and a member's JSON value.
 *
 * Tokens come from splitmix64 seeded with the hash of the instance id, so a node that
 * restarts with the same id takes back the same ranges (its WAL holds their data) and
 * every node computes the same ring from the same member list. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/hash.h"
#include "cairn/ring.h"

const char *cairn_ring_state_name(enum cairn_ring_state s)
{
    switch (s) {
    case CAIRN_RING_JOINING: return "JOINING";
    case CAIRN_RING_ACTIVE: return "ACTIVE";
    case CAIRN_RING_LEAVING: return "LEAVING";
    }
    return "UNKNOWN";
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void cairn_ring_tokens(const char *id, uint32_t *out, size_t n)
{
    uint64_t s = cairn_hash64(id, strlen(id));
    for (size_t i = 0; i < n; i++)
        out[i] = (uint32_t)(splitmix64(&s) >> 32);
}

uint32_t cairn_ring_key(const char *tenant, uint64_t fp)
{
    uint64_t h = cairn_hash64_seed(tenant, strlen(tenant), fp);
    return (uint32_t)(h ^ (h >> 32));
}

static int cmp_member(const void *a, const void *b)
{
    return strcmp(((const struct cairn_ring_member *)a)->id,
                  ((const struct cairn_ring_member *)b)->id);
}

static int cmp_tok(const void *a, const void *b)
{
    const struct cairn__ring_tok *x = a, *y = b;
    if (x->token != y->token)
        return x->token < y->token ? -1 : 1;
    return x->member < y->member ? -1 : x->member > y->member;
}

void cairn_ring_view_free(struct cairn_ring_view *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++)
        free(v->members[i].tokens);
    free(v->members);
    free(v->toks);
    free(v);
}

struct cairn_ring_view *cairn_ring_view_build(const struct cairn_ring_member *m, size_t n)
{
    struct cairn_ring_view *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    if (n && !(v->members = calloc(n, sizeof *v->members)))
        goto fail;
    size_t nt = 0;
    for (size_t i = 0; i < n; i++) {
        v->members[i] = m[i];
        v->members[i].tokens = NULL;
        v->members[i].n_tokens = 0;
        v->n++;
        if (m[i].n_tokens) {
            if (!(v->members[i].tokens = malloc(m[i].n_tokens * sizeof(uint32_t))))
                goto fail;
            memcpy(v->members[i].tokens, m[i].tokens, m[i].n_tokens * sizeof(uint32_t));
            v->members[i].n_tokens = m[i].n_tokens;
            nt += m[i].n_tokens;
        }
    }
    if (v->n)
        qsort(v->members, v->n, sizeof *v->members, cmp_member);
    if (nt && !(v->toks = malloc(nt * sizeof *v->toks)))
        goto fail;
    for (size_t i = 0; i < v->n; i++)
        for (size_t j = 0; j < v->members[i].n_tokens; j++)
            v->toks[v->n_toks++] = (struct cairn__ring_tok){v->members[i].tokens[j], (uint32_t)i};
    if (v->n_toks)
        qsort(v->toks, v->n_toks, sizeof *v->toks, cmp_tok);
    return v;
fail:
    cairn_ring_view_free(v);
    return NULL;
}

/* First token >= key (wrapping to 0). */
static size_t first_at(const struct cairn_ring_view *v, uint32_t key)
{
    size_t lo = 0, hi = v->n_toks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->toks[mid].token < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == v->n_toks ? 0 : lo;
}

size_t cairn_ring_owners(const struct cairn_ring_view *v, uint32_t key, size_t rf, uint32_t *out)
{
    size_t got = 0;
    if (!v->n_toks || !rf)
        return 0;
    size_t i = first_at(v, key);
    for (size_t step = 0; step < v->n_toks && got < rf; step++, i = (i + 1) % v->n_toks) {
        uint32_t m = v->toks[i].member;
        if (v->members[m].state != CAIRN_RING_ACTIVE ||
            !(v->members[m].roles & CAIRN_RING_ROLE_WRITE))
            continue;
        int dup = 0;
        for (size_t k = 0; k < got; k++)
            dup |= out[k] == m;
        if (!dup)
            out[got++] = m;
    }
    return got;
}

void cairn_ring_ownership(const struct cairn_ring_view *v, double *share)
{
    for (size_t i = 0; i < v->n; i++)
        share[i] = 0;
    if (!v->n_toks)
        return;
    /* token i owns (token[i-1], token[i]]: the keys that walk to it first */
    for (size_t i = 0; i < v->n_toks; i++) {
        uint32_t prev = v->toks[i ? i - 1 : v->n_toks - 1].token;
        uint32_t span = v->toks[i].token - prev; /* wraps for i == 0 */
        if (v->n_toks == 1)
            span = UINT32_MAX;
        share[v->toks[i].member] += (double)span / 4294967296.0;
    }
}

long cairn_ring_find(const struct cairn_ring_view *v, const char *id)
{
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->members[i].id, id) == 0)
            return (long)i;
    return -1;
}

int cairn_ring_member_json(const struct cairn_ring_member *m, struct cairn_buf *out)
{
    int rc = cairn_buf_append_str(out, "{\"addr\":");
    rc |= cairn_buf_append_json_str(out, m->addr, strlen(m->addr));
    rc |= cairn_buf_appendf(out, ",\"state\":\"%s\",\"roles\":[", cairn_ring_state_name(m->state));
    const char *sep = "";
    static const char *const names[] = {"write", "read", "backend"};
    for (unsigned b = 0; b < 3; b++)
        if (m->roles & (1u << b)) {
            rc |= cairn_buf_appendf(out, "%s\"%s\"", sep, names[b]);
            sep = ",";
        }
    rc |= cairn_buf_append_str(out, "],\"tokens\":[");
    for (size_t i = 0; i < m->n_tokens; i++)
        rc |= cairn_buf_appendf(out, "%s%u", i ? "," : "", m->tokens[i]);
    rc |= cairn_buf_appendf(out, "],\"heartbeat\":%lld}", (long long)m->heartbeat_ns);
    return rc ? CAIRN_ENOMEM : 0;
}

int cairn_ring_member_parse(const char *json, size_t len, struct cairn_ring_member *m)
{
    json_error_t je;
    json_t *o = json_loadb(json, len, 0, &je);
    int rc = CAIRN_EINVAL;
    m->tokens = NULL;
    m->n_tokens = 0;
    m->roles = 0;
    if (!json_is_object(o))
        goto out;
    const char *addr = json_string_value(json_object_get(o, "addr"));
    const char *state = json_string_value(json_object_get(o, "state"));
    json_t *toks = json_object_get(o, "tokens"), *roles = json_object_get(o, "roles");
    if (!addr || !state || strlen(addr) >= sizeof m->addr || (toks && !json_is_array(toks)))
        goto out;
    strcpy(m->addr, addr);
    m->state = strcmp(state, "ACTIVE") == 0    ? CAIRN_RING_ACTIVE
               : strcmp(state, "LEAVING") == 0 ? CAIRN_RING_LEAVING
                                               : CAIRN_RING_JOINING;
    m->heartbeat_ns = (int64_t)json_integer_value(json_object_get(o, "heartbeat"));
    size_t i;
    json_t *x;
    json_array_foreach(roles, i, x) {
        const char *s = json_string_value(x);
        if (s && strcmp(s, "write") == 0)
            m->roles |= CAIRN_RING_ROLE_WRITE;
        else if (s && strcmp(s, "read") == 0)
            m->roles |= CAIRN_RING_ROLE_READ;
        else if (s && strcmp(s, "backend") == 0)
            m->roles |= CAIRN_RING_ROLE_BACKEND;
    }
    size_t nt = toks ? json_array_size(toks) : 0;
    if (nt) {
        if (!(m->tokens = malloc(nt * sizeof *m->tokens))) {
            rc = CAIRN_ENOMEM;
            goto out;
        }
        json_array_foreach(toks, i, x) m->tokens[i] = (uint32_t)json_integer_value(x);
        m->n_tokens = nt;
    }
    rc = 0;
out:
    json_decref(o);
    return rc;
}
