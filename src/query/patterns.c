/* patterns.c -- Loki's /patterns: log lines of a selection clustered into templates
 * by a Drain-style clusterer, with counts per step. A line is split on whitespace; a
 * line joins the most similar cluster with as many tokens and the same first token (a
 * first token holding a digit counts as a variable), if at least SIM_MIN of its tokens
 * equal the template's; then the template's differing positions become <_> (for a
 * `key=value` token whose keys agree: key=<_>). Otherwise it starts a cluster, up to
 * MAX_CLUSTERS. Consecutive <_> print as one, as in Loki's patterns. */
#include <stdlib.h>
#include <string.h>

#include "cairn/strmap.h"
#include "query_int.h"

#define MAX_TOKENS 64         /* more are folded into the last token */
#define MAX_CLUSTERS 300      /* Loki's drain default */
#define SIM_MIN 0.3           /* Loki's drain similarity threshold */
#define MAX_LINE 3000         /* longer lines are not clustered (Loki's limit) */
#define PARAM "<_>"

struct tok {
    const char *p;
    size_t len;
};

/* A template token: a literal (tok set, kv 0), key=<_> (tok holds the key, kv 1), or
 * a variable <_> (tok NULL). */
struct cluster {
    size_t ntok;
    char **tok;        /* owned strings */
    unsigned char *kv;
    uint64_t total;
    uint32_t *counts;  /* per step */
};

struct pctx {
    int64_t start, step;
    size_t nsteps;
    struct cluster *c;
    size_t n;
    struct cairn_strmap buckets;  /* "ntok first" -> bucket id */
    struct bucket {
        uint32_t *ids;
        size_t n, cap;
    } *b;
    size_t bcap;
    uint64_t skipped;             /* lines left out (too long, no room for a cluster) */
    struct cairn_buf key;
};

static int has_digit(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] >= '0' && p[i] <= '9')
            return 1;
    return 0;
}

static size_t tokenize(const char *line, size_t len, struct tok *t)
{
    size_t n = 0, i = 0;
    while (i < len) {
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i == len)
            break;
        size_t s = i;
        if (n == MAX_TOKENS - 1) {
            size_t e = len;
            while (e > s && (line[e - 1] == ' ' || line[e - 1] == '\t'))
                e--;
            t[n++] = (struct tok){line + s, e - s};
            break;
        }
        while (i < len && line[i] != ' ' && line[i] != '\t')
            i++;
        t[n++] = (struct tok){line + s, i - s};
    }
    return n;
}

/* key length of a `key=value` token (0 when it is not one). */
static size_t key_len(const char *p, size_t n)
{
    const char *eq = memchr(p, '=', n);
    return eq && eq > p ? (size_t)(eq - p) : 0;
}

static double similarity(const struct cluster *c, const struct tok *t)
{
    size_t same = 0;
    for (size_t i = 0; i < c->ntok; i++) {
        if (!c->tok[i])
            continue;
        size_t tl = strlen(c->tok[i]);
        if (c->kv[i])
            same += key_len(t[i].p, t[i].len) == tl && memcmp(c->tok[i], t[i].p, tl) == 0;
        else
            same += tl == t[i].len && memcmp(c->tok[i], t[i].p, tl) == 0;
    }
    return c->ntok ? (double)same / (double)c->ntok : 1.0;
}

/* Merge a line into the template: positions that differ become variables (key=<_>
 * when both are key=value with the same key). */
static void merge(struct cluster *c, const struct tok *t)
{
    for (size_t i = 0; i < c->ntok; i++) {
        if (!c->tok[i])
            continue;
        size_t tl = strlen(c->tok[i]);
        if (c->kv[i]) {
            if (key_len(t[i].p, t[i].len) == tl && memcmp(c->tok[i], t[i].p, tl) == 0)
                continue;
        } else {
            if (tl == t[i].len && memcmp(c->tok[i], t[i].p, tl) == 0)
                continue;
            size_t k = key_len(c->tok[i], tl);
            if (k && key_len(t[i].p, t[i].len) == k && memcmp(c->tok[i], t[i].p, k) == 0) {
                c->tok[i][k] = '\0';
                c->kv[i] = 1;
                continue;
            }
        }
        free(c->tok[i]);
        c->tok[i] = NULL;
        c->kv[i] = 0;
    }
}

static int new_cluster(struct pctx *x, const struct tok *t, size_t n, uint32_t *id)
{
    struct cluster *c = &x->c[x->n];
    memset(c, 0, sizeof *c);
    c->tok = calloc(n ? n : 1, sizeof *c->tok);
    c->kv = calloc(n ? n : 1, 1);
    c->counts = calloc(x->nsteps, sizeof *c->counts);
    if (!c->tok || !c->kv || !c->counts)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if (!(c->tok[i] = malloc(t[i].len + 1)))
            goto fail;
        memcpy(c->tok[i], t[i].p, t[i].len);
        c->tok[i][t[i].len] = '\0';
    }
    c->ntok = n;
    *id = (uint32_t)x->n++;
    return 0;
fail:
    for (size_t i = 0; c->tok && i < n; i++)
        free(c->tok[i]);
    free(c->tok);
    free(c->kv);
    free(c->counts);
    return CAIRN_ENOMEM;
}

static int visit_line(void *ud, const char *labels_json, size_t labels_len, int64_t ts,
                      const char *line, size_t len, const char *meta, size_t meta_len)
{
    (void)labels_json;
    (void)labels_len;
    (void)meta;
    (void)meta_len;
    struct pctx *x = ud;
    struct tok t[MAX_TOKENS];
    if (len > MAX_LINE) {
        x->skipped++;
        return 0;
    }
    size_t n = tokenize(line, len, t);
    /* the bucket: token count and first token (digits make it a variable) */
    cairn_buf_reset(&x->key);
    if (cairn_buf_appendf(&x->key, "%zu ", n) ||
        (n && !has_digit(t[0].p, t[0].len) && cairn_buf_append(&x->key, t[0].p, t[0].len)))
        return CAIRN_ENOMEM;
    uint32_t bid;
    int created;
    if (cairn_strmap_put(&x->buckets, x->key.data, x->key.len, &bid, &created))
        return CAIRN_ENOMEM;
    if (created) {
        if (bid >= x->bcap) {
            size_t nc = x->bcap ? 2 * x->bcap : 16;
            struct bucket *b = realloc(x->b, nc * sizeof *b);
            if (!b)
                return CAIRN_ENOMEM;
            x->b = b;
            x->bcap = nc;
        }
        x->b[bid] = (struct bucket){0};
    }
    struct bucket *b = &x->b[bid];
    double best = -1;
    uint32_t id = UINT32_MAX;
    for (size_t i = 0; i < b->n; i++) {
        double s = similarity(&x->c[b->ids[i]], t);
        if (s > best) {
            best = s;
            id = b->ids[i];
        }
    }
    if (id != UINT32_MAX && best >= SIM_MIN) {
        merge(&x->c[id], t);
    } else {
        if (x->n == MAX_CLUSTERS) {
            x->skipped++;
            return 0;
        }
        if (b->n == b->cap) {
            size_t nc = b->cap ? 2 * b->cap : 4;
            uint32_t *ids = realloc(b->ids, nc * sizeof *ids);
            if (!ids)
                return CAIRN_ENOMEM;
            b->ids = ids;
            b->cap = nc;
        }
        if (new_cluster(x, t, n, &id))
            return CAIRN_ENOMEM;
        b->ids[b->n++] = id;
    }
    int64_t d = ts - x->start;
    size_t k = d <= 0 ? 0 : (size_t)(d / x->step);
    if (k >= x->nsteps)
        k = x->nsteps - 1;
    x->c[id].counts[k]++;
    x->c[id].total++;
    return 0;
}

static int cmp_total(const void *a, const void *b)
{
    const struct cluster *x = a, *y = b;
    return x->total != y->total ? (x->total > y->total ? -1 : 1) : 0;
}

/* The template as Loki prints it: tokens joined by spaces, runs of <_> as one. */
static int render(const struct cluster *c, struct cairn_buf *s)
{
    int rc = 0, last_param = 0;
    for (size_t i = 0; i < c->ntok && !rc; i++) {
        int param = !c->tok[i];
        if (param && last_param)
            continue;
        if (i)
            rc = cairn_buf_append_byte(s, ' ');
        if (param)
            rc = rc || cairn_buf_append_str(s, PARAM);
        else
            rc = rc || cairn_buf_append_str(s, c->tok[i]) ||
                 (c->kv[i] && cairn_buf_append_str(s, "=" PARAM));
        last_param = param;
    }
    return rc ? CAIRN_ENOMEM : 0;
}

static void pctx_free(struct pctx *x)
{
    for (size_t i = 0; i < x->n; i++) {
        for (size_t k = 0; k < x->c[i].ntok; k++)
            free(x->c[i].tok[k]);
        free(x->c[i].tok);
        free(x->c[i].kv);
        free(x->c[i].counts);
    }
    free(x->c);
    for (size_t i = 0; i < x->buckets.n && i < x->bcap; i++)
        free(x->b[i].ids);
    free(x->b);
    cairn_strmap_deinit(&x->buckets);
    cairn_buf_deinit(&x->key);
}

int cairn_query_patterns(struct cairn_store *s, const struct cairn_query_patterns *q,
                         struct cairn_buf *out, struct cairn_err *err)
{
    struct pctx x = {.start = q->base.start, .step = q->step};
    cairn_strmap_init(&x.buckets);
    cairn_buf_init(&x.key);
    x.nsteps = (size_t)((q->base.end - q->base.start) / q->step) + 1;
    x.c = calloc(MAX_CLUSTERS, sizeof *x.c);
    struct cairn_query_params p = q->base;
    p.limit = q->line_limit;
    p.direction = CAIRN_ITER_BACKWARD;
    p.visit = visit_line;
    p.visit_ud = &x;
    int rc = x.c ? cairn_query_run(s, q->query, strlen(q->query), &p, out, err) : CAIRN_ENOMEM;
    if (!rc) {
        qsort(x.c, x.n, sizeof *x.c, cmp_total);
        struct cairn_buf pat = CAIRN_BUF_INIT;
        rc = cairn_buf_append_str(out, "{\"status\":\"success\",\"data\":[");
        for (size_t i = 0; i < x.n && !rc; i++) {
            cairn_buf_reset(&pat);
            rc = render(&x.c[i], &pat);
            if (rc || (i && cairn_buf_append_byte(out, ',')) ||
                cairn_buf_append_str(out, "{\"pattern\":") ||
                cairn_buf_append_json_str(out, pat.data ? pat.data : "", pat.len) ||
                cairn_buf_append_str(out, ",\"samples\":[")) {
                rc = CAIRN_ENOMEM;
                break;
            }
            int first = 1;
            for (size_t k = 0; k < x.nsteps && !rc; k++) {
                if (!x.c[i].counts[k])
                    continue;
                int64_t t = q->base.start + (int64_t)k * q->step;
                rc = cairn_buf_appendf(out, "%s[%lld,%u]", first ? "" : ",",
                                       (long long)(t / 1000000000LL), x.c[i].counts[k]);
                first = 0;
            }
            if (rc || cairn_buf_append_str(out, "]}"))
                rc = CAIRN_ENOMEM;
        }
        if (rc || cairn_buf_append_str(out, "]}"))
            rc = CAIRN_ENOMEM;
        cairn_buf_deinit(&pat);
    }
    pctx_free(&x);
    if (rc == CAIRN_ENOMEM && !err->msg[0])
        cairn_err_set(err, rc, "out of memory finding patterns");
    return rc;
}
