/* stage_misc.c -- pack (labels and line into one JSON object), decolorize (strip ANSI
 * escape sequences), limit (token-bucket rate limit, whole or per label value). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn/hash.h"
#include "cairn/timeutil.h"
#include "ship/ship_int.h"

/* ---- pack ---- */

struct pack {
    size_t n;
    int ingest_ts;
    char **names; /* sorted */
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int pack_process(struct cairn__stage *s, struct cairn_ship_entry *e)
{
    struct pack *p = s->st;
    struct cairn_buf *o = &e->scratch;
    cairn_buf_reset(o);
    int rc = cairn_buf_append_byte(o, '{');
    int first = 1;
    for (size_t i = 0; i < p->n && !rc; i++) {
        size_t nl = strlen(p->names[i]), vl = 0;
        const char *v = NULL;
        const struct cairn_label *l = cairn_labels_get(&e->labels, p->names[i], nl);
        if (l) {
            v = l->value;
            vl = l->value_len;
        } else {
            v = cairn_ship_ex_get(e, p->names[i], nl, &vl);
        }
        if (!v)
            continue;
        if (!first)
            rc |= cairn_buf_append_byte(o, ',');
        first = 0;
        rc |= cairn_buf_append_json_str(o, p->names[i], nl);
        rc |= cairn_buf_append_byte(o, ':');
        rc |= cairn_buf_append_json_str(o, v, vl);
    }
    if (!first)
        rc |= cairn_buf_append_byte(o, ',');
    rc |= cairn_buf_append_str(o, "\"_entry\":");
    rc |= cairn_buf_append_json_str(o, e->line.data ? e->line.data : "", e->line.len);
    rc |= cairn_buf_append_byte(o, '}');
    if (rc)
        return CAIRN_ENOMEM;
    for (size_t i = 0; i < p->n; i++)
        cairn_ship_label_del(e, p->names[i], strlen(p->names[i]));
    struct cairn_buf t = e->line;
    e->line = e->scratch;
    e->scratch = t;
    if (p->ingest_ts)
        e->ts = cairn_now_ns();
    return CAIRN__KEEP;
}

static void pack_destroy(struct cairn__stage *s)
{
    struct pack *p = s->st;
    for (size_t i = 0; p && i < p->n; i++)
        free(p->names[i]);
    if (p)
        free(p->names);
    free(p);
}

static const struct cairn__stage_ops pack_ops = {
    .name = "pack",
    .process = pack_process,
    .destroy = pack_destroy,
};

int cairn__stage_pack(struct cairn_ship_pipeline *pl, const char *const *names, size_t n,
                      int ingest_timestamp, struct cairn_err *err)
{
    if (n == 0)
        return cairn_err_set(err, CAIRN_EINVAL, "pack stage: labels is required");
    struct pack *p = calloc(1, sizeof *p);
    if (!p || !(p->names = calloc(n, sizeof *p->names)))
        goto nomem;
    p->ingest_ts = ingest_timestamp;
    for (; p->n < n; p->n++)
        if (!(p->names[p->n] = strdup(names[p->n])))
            goto nomem;
    qsort(p->names, p->n, sizeof *p->names, cmp_str);
    if (cairn__pipeline_add(pl, &pack_ops, p, NULL))
        goto nomem;
    return 0;
nomem: {
    struct cairn__stage tmp = {NULL, p, NULL};
    pack_destroy(&tmp);
    return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
}
}

/* ---- decolorize ---- */

/* Remove ANSI CSI sequences (ESC '[' params intermediates final) and two-byte ESC
 * sequences, in place. */
static size_t strip_ansi(char *p, size_t n)
{
    size_t w = 0;
    for (size_t r = 0; r < n;) {
        if (p[r] != '\x1b') {
            p[w++] = p[r++];
            continue;
        }
        if (r + 1 < n && p[r + 1] == '[') {
            size_t q = r + 2;
            while (q < n && (unsigned char)p[q] >= 0x30 && (unsigned char)p[q] <= 0x3f)
                q++;
            while (q < n && (unsigned char)p[q] >= 0x20 && (unsigned char)p[q] <= 0x2f)
                q++;
            if (q < n && (unsigned char)p[q] >= 0x40 && (unsigned char)p[q] <= 0x7e) {
                r = q + 1;
                continue;
            }
        } else if (r + 1 < n && (unsigned char)p[r + 1] >= 0x40 && (unsigned char)p[r + 1] <= 0x5f) {
            r += 2;
            continue;
        }
        p[w++] = p[r++];
    }
    return w;
}

static int decolorize_process(struct cairn__stage *s, struct cairn_ship_entry *e)
{
    (void)s;
    if (e->line.len && memchr(e->line.data, '\x1b', e->line.len))
        cairn_buf_truncate(&e->line, strip_ansi(e->line.data, e->line.len));
    return CAIRN__KEEP;
}

static const struct cairn__stage_ops decolorize_ops = {
    .name = "decolorize",
    .process = decolorize_process,
    .destroy = NULL,
};

int cairn__stage_decolorize(struct cairn_ship_pipeline *pl, struct cairn_err *err)
{
    if (cairn__pipeline_add(pl, &decolorize_ops, NULL, NULL))
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    return 0;
}

/* ---- sampling ---- */

struct sampling {
    uint64_t keep_below; /* keep when the next random number is below this */
    int keep_all;
    uint64_t state;      /* splitmix64 */
};

static uint64_t next_random(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int sampling_process(struct cairn__stage *s, struct cairn_ship_entry *e)
{
    (void)e;
    struct sampling *sm = s->st;
    if (sm->keep_all)
        return CAIRN__KEEP;
    return next_random(&sm->state) < sm->keep_below ? CAIRN__KEEP : CAIRN__DROP;
}

static void sampling_destroy(struct cairn__stage *s)
{
    free(s->st);
}

static const struct cairn__stage_ops sampling_ops = {
    .name = "sampling",
    .process = sampling_process,
    .destroy = sampling_destroy,
};

int cairn__stage_sampling(struct cairn_ship_pipeline *pl, double rate, const char *drop_reason,
                          struct cairn_err *err)
{
    if (!(rate >= 0 && rate <= 1))
        return cairn_err_set(err, CAIRN_EINVAL, "sampling stage: rate must be between 0 and 1, "
                             "got %g", rate);
    struct sampling *sm = calloc(1, sizeof *sm);
    if (!sm)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    sm->keep_all = rate >= 1;
    /* (2^64 itself does not fit: rate 1 keeps all without a draw) */
    sm->keep_below = sm->keep_all ? 0 : (uint64_t)(rate * 0x1p64);
    /* a fixed seed: the kept share is what matters, and runs can be compared */
    sm->state = 0x243f6a8885a308d3ULL;
    if (cairn__pipeline_add(pl, &sampling_ops, sm,
                            drop_reason && *drop_reason ? drop_reason : "sampling_stage")) {
        free(sm);
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    }
    return 0;
}

/* ---- limit ---- */

struct bucket {
    uint64_t key; /* hash of the label value; 0 unused */
    double tokens;
    int64_t at;
};

struct limit {
    double rate, burst;
    int drop;
    char *by_label;
    size_t by_label_len;
    struct bucket whole;
    struct bucket *b; /* open addressing, cap entries */
    size_t cap, used, max;
};

/* Take a token from bk: 1 granted, 0 refused (drop mode) after waiting otherwise. */
static int take(struct limit *l, struct bucket *bk)
{
    for (;;) {
        int64_t now = cairn_mono_ns();
        if (bk->at == 0) {
            bk->at = now;
            bk->tokens = l->burst;
        }
        bk->tokens += (double)(now - bk->at) / 1e9 * l->rate;
        bk->at = now;
        if (bk->tokens > l->burst)
            bk->tokens = l->burst;
        if (bk->tokens >= 1) {
            bk->tokens -= 1;
            return 1;
        }
        if (l->drop)
            return 0;
        double wait = (1 - bk->tokens) / l->rate;
        struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

static int limit_process(struct cairn__stage *s, struct cairn_ship_entry *e)
{
    struct limit *l = s->st;
    struct bucket *bk = &l->whole;
    if (l->by_label) {
        const struct cairn_label *lb = cairn_labels_get(&e->labels, l->by_label, l->by_label_len);
        if (!lb)
            return CAIRN__KEEP; /* entries without the label are not limited */
        uint64_t k = cairn_hash64(lb->value, lb->value_len) | 1;
        size_t i = k & (l->cap - 1);
        while (l->b[i].key && l->b[i].key != k)
            i = (i + 1) & (l->cap - 1);
        if (!l->b[i].key) {
            if (l->used >= l->max)
                return CAIRN__KEEP; /* too many distinct values: stop limiting new ones */
            l->b[i].key = k;
            l->used++;
        }
        bk = &l->b[i];
    }
    return take(l, bk) ? CAIRN__KEEP : CAIRN__DROP;
}

static void limit_destroy(struct cairn__stage *s)
{
    struct limit *l = s->st;
    if (!l)
        return;
    free(l->by_label);
    free(l->b);
    free(l);
}

static const struct cairn__stage_ops limit_ops = {
    .name = "limit",
    .process = limit_process,
    .destroy = limit_destroy,
};

int cairn__stage_limit(struct cairn_ship_pipeline *pl, double rate, double burst, int drop,
                       const char *by_label_name, size_t max_distinct_labels,
                       struct cairn_err *err)
{
    if (rate <= 0)
        return cairn_err_set(err, CAIRN_EINVAL, "limit stage: rate must be > 0");
    if (burst < 1)
        return cairn_err_set(err, CAIRN_EINVAL, "limit stage: burst must be >= 1");
    if (by_label_name && *by_label_name && !drop)
        return cairn_err_set(err, CAIRN_EINVAL, "limit stage: by_label_name needs drop: true");
    struct limit *l = calloc(1, sizeof *l);
    if (!l)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    l->rate = rate;
    l->burst = burst;
    l->drop = drop;
    if (by_label_name && *by_label_name) {
        l->max = max_distinct_labels ? max_distinct_labels : 10000;
        l->cap = 16;
        while (l->cap < l->max * 2)
            l->cap *= 2;
        l->by_label = strdup(by_label_name);
        l->by_label_len = strlen(by_label_name);
        l->b = calloc(l->cap, sizeof *l->b);
        if (!l->by_label || !l->b)
            goto nomem;
    }
    if (cairn__pipeline_add(pl, &limit_ops, l, "limit_stage"))
        goto nomem;
    return 0;
nomem: {
    struct cairn__stage tmp = {NULL, l, NULL};
    limit_destroy(&tmp);
    return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
}
}
