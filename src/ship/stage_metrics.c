/* stage_metrics.c -- the metrics stage (counter, gauge, histogram from extracted
 * values, with the entry's labels) and the registry /metrics prints. The registry
 * is shared by all pipelines of an agent and guarded by a mutex because the HTTP
 * thread reads it. Series idle longer than max_idle_duration are forgotten. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/timeutil.h"
#include "cairn/units.h"
#include "ship/ship_build.h"
#include "ship/ship_int.h"

#define MAX_BUCKETS 32

struct family {
    char *name, *help;
    int type; /* 0 counter, 1 gauge, 2 histogram */
    double le[MAX_BUCKETS];
    size_t n_le;
    int64_t max_idle;
};

struct series {
    size_t fam;
    uint64_t fp;
    char *labels; /* formatted {a="b"} without braces */
    double v, sum;
    uint64_t count, buckets[MAX_BUCKETS];
    int64_t touched;
};

struct cairn_ship_metrics {
    pthread_mutex_t mu;
    struct family *f;
    size_t nf;
    struct series *s;
    size_t ns, cap;
    struct cairn_buf scratch;
};

struct cairn_ship_metrics *cairn_ship_metrics_create(void)
{
    struct cairn_ship_metrics *m = calloc(1, sizeof *m);
    if (m)
        pthread_mutex_init(&m->mu, NULL);
    return m;
}

void cairn_ship_metrics_destroy(struct cairn_ship_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nf; i++) {
        free(m->f[i].name);
        free(m->f[i].help);
    }
    for (size_t i = 0; i < m->ns; i++)
        free(m->s[i].labels);
    free(m->f);
    free(m->s);
    cairn_buf_deinit(&m->scratch);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* Find or register a family; returns its index or -1. Same name, same family. */
static long family(struct cairn_ship_metrics *m, const struct cairn_ship_metric_cfg *c,
                   const double *le, size_t n_le)
{
    char name[256];
    snprintf(name, sizeof name, "%s%s", c->prefix ? c->prefix : "", c->name);
    for (size_t i = 0; i < m->nf; i++)
        if (strcmp(m->f[i].name, name) == 0)
            return (long)i;
    void *nf = realloc(m->f, (m->nf + 1) * sizeof *m->f);
    if (!nf)
        return -1;
    m->f = nf;
    struct family *f = &m->f[m->nf];
    memset(f, 0, sizeof *f);
    f->name = strdup(name);
    f->help = strdup(c->description ? c->description : "");
    if (!f->name || !f->help) {
        free(f->name);
        free(f->help);
        return -1;
    }
    f->type = c->type;
    f->max_idle = c->max_idle_duration_ns;
    memcpy(f->le, le, n_le * sizeof *le);
    f->n_le = n_le;
    return (long)m->nf++;
}

static struct series *series_get(struct cairn_ship_metrics *m, size_t fam,
                                 const struct cairn_labels *ls)
{
    uint64_t fp = cairn_labels_fingerprint(ls);
    for (size_t i = 0; i < m->ns; i++)
        if (m->s[i].fam == fam && m->s[i].fp == fp)
            return &m->s[i];
    if (m->ns == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 16;
        void *nv = realloc(m->s, nc * sizeof *m->s);
        if (!nv)
            return NULL;
        m->s = nv;
        m->cap = nc;
    }
    cairn_buf_reset(&m->scratch);
    if (cairn_labels_format(ls, &m->scratch))
        return NULL;
    /* strip the braces: the writer adds its own */
    size_t n = m->scratch.len >= 2 ? m->scratch.len - 2 : 0;
    char *l = malloc(n + 1);
    if (!l)
        return NULL;
    memcpy(l, m->scratch.data + 1, n);
    l[n] = '\0';
    struct series *s = &m->s[m->ns++];
    memset(s, 0, sizeof *s);
    s->fam = fam;
    s->fp = fp;
    s->labels = l;
    return s;
}

enum { A_INC, A_ADD, A_SET, A_DEC, A_SUB };

struct metric_stage {
    struct cairn_ship_pipeline *pl;
    size_t n;
    struct one {
        const struct cairn_ship_metric_cfg *cfg; /* borrowed from the config */
        char *source;
        int action;
        double le[MAX_BUCKETS];
        size_t n_le;
        long fam; /* in the registry, resolved on first use */
        struct cairn_ship_metrics *reg;
    } v[];
};

static struct cairn_ship_metrics *registry_of(struct cairn_ship_pipeline *pl)
{
    while (pl->parent)
        pl = pl->parent;
    return pl->metrics;
}

/* An extracted value as a number, as Promtail's metrics stage reads it: a float, a
 * Go duration in seconds ("0.5ms" is 0.0005), or a boolean (1 or 0). 0 or -1. */
static int metric_value(const char *v, size_t vl, double *x)
{
    char num[64];
    if (vl == 0 || vl >= sizeof num)
        return -1;
    memcpy(num, v, vl);
    num[vl] = '\0';
    char *end;
    *x = strtod(num, &end);
    if (end != num && !*end)
        return 0;
    int64_t ns;
    if (cairn_parse_duration(num, vl, &ns) == 0) {
        *x = (double)ns / 1e9;
        return 0;
    }
    if (strcmp(num, "true") == 0 || strcmp(num, "false") == 0) {
        *x = num[0] == 't';
        return 0;
    }
    return -1;
}

static int metrics_process(struct cairn__stage *st, struct cairn_ship_entry *e)
{
    struct metric_stage *ms = st->st;
    struct cairn_ship_metrics *m = registry_of(ms->pl);
    if (!m)
        return CAIRN__KEEP;
    int64_t now = cairn_mono_ns();
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < ms->n; i++) {
        struct one *o = &ms->v[i];
        const struct cairn_ship_metric_cfg *c = o->cfg;
        double x = 1;
        if (c->type == 0 && c->config.match_all) {
            x = c->config.count_entry_bytes ? (double)e->line.len : 1;
        } else {
            size_t vl;
            const char *v = cairn_ship_ex_get(e, o->source, strlen(o->source), &vl);
            if (!v)
                continue;
            if (c->config.value && (strlen(c->config.value) != vl || memcmp(c->config.value, v, vl)))
                continue;
            if (c->type == 2 || o->action == A_ADD || o->action == A_SET || o->action == A_SUB) {
                if (metric_value(v, vl, &x))
                    continue;
            }
        }
        if (o->reg != m || o->fam < 0) {
            o->fam = family(m, c, o->le, o->n_le);
            o->reg = m;
            if (o->fam < 0)
                continue;
        }
        struct series *s = series_get(m, (size_t)o->fam, &e->labels);
        if (!s)
            continue;
        s->touched = now;
        if (c->type == 2) {
            for (size_t b = 0; b < o->n_le; b++)
                if (x <= o->le[b])
                    s->buckets[b]++;
            s->count++;
            s->sum += x;
        } else if (o->action == A_SET) {
            s->v = x;
        } else if (o->action == A_DEC || o->action == A_SUB) {
            s->v -= x;
        } else {
            s->v += x;
        }
    }
    pthread_mutex_unlock(&m->mu);
    return CAIRN__KEEP;
}

static void metrics_destroy(struct cairn__stage *st)
{
    struct metric_stage *ms = st->st;
    for (size_t i = 0; ms && i < ms->n; i++)
        free(ms->v[i].source);
    free(ms);
}

static const struct cairn__stage_ops metrics_ops = {
    .name = "metrics",
    .process = metrics_process,
    .destroy = metrics_destroy,
};

int cairn__stage_metrics(struct cairn_ship_pipeline *pl, const struct cairn_cfg_list *list,
                         struct cairn_err *err)
{
    const struct cairn_ship_metric_cfg *c = list->v;
    struct metric_stage *ms = calloc(1, sizeof *ms + list->n * sizeof ms->v[0]);
    if (!ms)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    struct cairn__stage tmp = {NULL, ms, NULL};
    ms->pl = pl;
    for (size_t i = 0; i < list->n; i++) {
        struct one *o = &ms->v[i];
        ms->n = i + 1;
        o->cfg = &c[i];
        o->fam = -1;
        o->source = strdup(c[i].source && *c[i].source ? c[i].source : c[i].name);
        if (!o->source)
            goto nomem;
        const char *a = c[i].config.action;
        /* the combinations the metrics stage docs call errors */
        const char *bad = NULL;
        if (c[i].config.match_all && c[i].config.value)
            bad = "match_all and value are mutually exclusive";
        else if (c[i].config.count_entry_bytes && !c[i].config.match_all)
            bad = "count_entry_bytes needs match_all: true";
        else if (c[i].config.count_entry_bytes && !(a && strcmp(a, "add") == 0))
            bad = "count_entry_bytes needs action: add";
        if (bad) {
            metrics_destroy(&tmp);
            return cairn_err_set(err, CAIRN_EINVAL, "metric %s: %s", c[i].name, bad);
        }
        if (c[i].type == 0) {
            if (!a && !c[i].config.match_all) {
                metrics_destroy(&tmp);
                return cairn_err_set(err, CAIRN_EINVAL, "metric %s: counter needs config.action "
                                     "(inc or add) or config.match_all", c[i].name);
            }
            o->action = a && strcmp(a, "add") == 0 ? A_ADD : A_INC;
            if (a && strcmp(a, "add") && strcmp(a, "inc")) {
                metrics_destroy(&tmp);
                return cairn_err_set(err, CAIRN_EINVAL, "metric %s: counter action must be inc "
                                     "or add, got '%s'", c[i].name, a);
            }
        } else if (c[i].type == 1) {
            static const char *const acts[] = {"inc", "add", "set", "dec", "sub"};
            o->action = -1;
            for (int k = 0; k < 5 && a; k++)
                if (strcmp(a, acts[k]) == 0)
                    o->action = k;
            if (o->action < 0) {
                metrics_destroy(&tmp);
                return cairn_err_set(err, CAIRN_EINVAL, "metric %s: gauge action must be set, "
                                     "inc, dec, add or sub", c[i].name);
            }
        } else {
            if (c[i].config.buckets.n > MAX_BUCKETS) {
                metrics_destroy(&tmp);
                return cairn_err_set(err, CAIRN_EINVAL, "metric %s: more than %d buckets",
                                     c[i].name, MAX_BUCKETS);
            }
            for (size_t b = 0; b < c[i].config.buckets.n; b++) {
                char *end;
                o->le[b] = strtod(c[i].config.buckets.v[b], &end);
                if (end == c[i].config.buckets.v[b] || *end) {
                    metrics_destroy(&tmp);
                    return cairn_err_set(err, CAIRN_EINVAL, "metric %s: bad bucket '%s'",
                                         c[i].name, c[i].config.buckets.v[b]);
                }
            }
            o->n_le = c[i].config.buckets.n;
            if (o->n_le == 0) {
                static const double def[] = {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};
                memcpy(o->le, def, sizeof def);
                o->n_le = sizeof def / sizeof def[0];
            }
        }
    }
    if (cairn__pipeline_add(pl, &metrics_ops, ms, NULL))
        goto nomem;
    return 0;
nomem:
    metrics_destroy(&tmp);
    return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
}

void cairn_ship_pipeline_set_metrics(struct cairn_ship_pipeline *pl, struct cairn_ship_metrics *m)
{
    if (pl)
        pl->metrics = m;
}

int cairn_ship_metrics_write(struct cairn_ship_metrics *m, struct cairn_buf *out)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    int rc = 0;
    int64_t now = cairn_mono_ns();
    pthread_mutex_lock(&m->mu);
    /* forget idle series first */
    for (size_t i = 0; i < m->ns;) {
        struct family *f = &m->f[m->s[i].fam];
        if (f->max_idle > 0 && now - m->s[i].touched > f->max_idle) {
            free(m->s[i].labels);
            m->s[i] = m->s[--m->ns];
        } else {
            i++;
        }
    }
    for (size_t fi = 0; fi < m->nf && !rc; fi++) {
        struct family *f = &m->f[fi];
        rc |= cairn_buf_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
                                types[f->type]);
        for (size_t i = 0; i < m->ns; i++) {
            struct series *s = &m->s[i];
            if (s->fam != fi)
                continue;
            if (f->type != 2) {
                rc |= cairn_buf_appendf(out, "%s{%s} %.17g\n", f->name, s->labels, s->v);
                continue;
            }
            const char *sep = s->labels[0] ? "," : "";
            for (size_t b = 0; b < f->n_le; b++)
                rc |= cairn_buf_appendf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", f->name, s->labels,
                                        sep, f->le[b], (unsigned long long)s->buckets[b]);
            rc |= cairn_buf_appendf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n%s_sum{%s} %.17g\n"
                                    "%s_count{%s} %llu\n", f->name, s->labels, sep,
                                    (unsigned long long)s->count, f->name, s->labels, s->sum,
                                    f->name, s->labels, (unsigned long long)s->count);
        }
    }
    pthread_mutex_unlock(&m->mu);
    return rc ? CAIRN_ENOMEM : 0;
}

int cairn_ship_pipeline_drops_write(const struct cairn_ship_pipeline *pl, const char *job,
                                    struct cairn_buf *out)
{
    int rc = 0;
    for (size_t i = 0; pl && i < CAIRN__DROP_REASONS && pl->drops[i].reason[0]; i++)
        rc |= cairn_buf_appendf(out, "logentry_dropped_lines_total{job=\"%s\",reason=\"%s\"} %llu\n",
                                job, pl->drops[i].reason, (unsigned long long)pl->drops[i].n);
    return rc ? CAIRN_ENOMEM : 0;
}
