/* eval.c -- one evaluation of a group: each rule's expression as an instant query at
 * the group's time; an alerting rule's result moves its alerts through Prometheus's
 * states (a new series is pending, or firing at once without `for`; pending longer
 * than `for` fires; a series gone resolves a firing alert, after keep_firing_for, and
 * drops a pending one), with annotations rendered from Go templates ($labels.x,
 * $value, .Labels.x, .Value); a recording rule's samples go to remote write. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/hash.h"
#include "cairn/limits.h"
#include "cairn/log.h"
#include "cairn/parse_template.h"
#include "cairn/query.h"
#include "cairn/timeutil.h"
#include "ruler/ruler_int.h"

/* Resolved alerts are still sent this long (Prometheus: 15 minutes). */
#define RESOLVED_RETENTION_NS (15LL * 60 * 1000000000LL)

/* Prometheus's template forms rewritten to the template engine's fields: $labels.x,
 * .Labels.x and $externalLabels.x read label x; $value and .Value the sample value. */
static int rewrite_template(const char *s, struct cairn_buf *out)
{
    static const struct { const char *from, *to; } forms[] = {
        {"$labels.", "."}, {".Labels.", "."}, {"$externalLabels.", "."},
        {".ExternalLabels.", "."}, {"$value", ".__value__"}, {".Value", ".__value__"},
    };
    int rc = 0;
    while (*s && !rc) {
        size_t i;
        for (i = 0; i < sizeof forms / sizeof forms[0]; i++) {
            size_t l = strlen(forms[i].from);
            if (strncmp(s, forms[i].from, l) == 0) {
                rc = cairn_buf_append_str(out, forms[i].to);
                s += l;
                break;
            }
        }
        if (i == sizeof forms / sizeof forms[0])
            rc = cairn_buf_append_byte(out, *s++);
    }
    return rc;
}

struct tctx {
    json_t *labels;
    char value[64];
};

static int lookup(void *arg, const char *name, size_t len, const char **v, size_t *vlen)
{
    struct tctx *t = arg;
    if (len == 9 && memcmp(name, "__value__", 9) == 0) {
        *v = t->value;
        *vlen = strlen(t->value);
        return 1;
    }
    char key[256];
    if (len >= sizeof key)
        return 0;
    memcpy(key, name, len);
    key[len] = '\0';
    const char *s = json_string_value(json_object_get(t->labels, key));
    if (!s)
        return 0;
    *v = s;
    *vlen = strlen(s);
    return 1;
}

void cairn__rule_tpl_free(struct rule_rt *rr)
{
    size_t n = rr->rule ? rr->rule->annotations.n : 0;
    for (size_t i = 0; rr->tpl && i < n; i++) {
        cairn_template_destroy(rr->tpl[i]);
        free(rr->tpl_err[i]);
    }
    free(rr->tpl);
    free(rr->tpl_err);
    rr->tpl = NULL;
    rr->tpl_err = NULL;
}

/* Compile the rule's annotations once (Prometheus's forms rewritten, the ruler's
 * template functions added). 0 or CAIRN_ENOMEM. */
static int compile_annotations(struct rule_rt *rr)
{
    const struct cairn_rule *rule = rr->rule;
    size_t n = rule->annotations.n;
    rr->tpl = calloc(n ? n : 1, sizeof *rr->tpl);
    rr->tpl_err = calloc(n ? n : 1, sizeof *rr->tpl_err);
    if (!rr->tpl || !rr->tpl_err) {
        free(rr->tpl);
        free(rr->tpl_err);
        rr->tpl = NULL;
        rr->tpl_err = NULL;
        return CAIRN_ENOMEM;
    }
    struct cairn_buf src = CAIRN_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        const struct cairn_cfg_kv *kv = &rule->annotations.v[i];
        struct cairn_err err;
        cairn_err_clear(&err);
        cairn_buf_reset(&src);
        if (rewrite_template(kv->value ? kv->value : "", &src) == 0)
            rr->tpl[i] = cairn_template_compile_with(src.data ? src.data : "", src.len,
                                                     &cairn__ruler_tpl_funcs, &err);
        if (!rr->tpl[i])
            rr->tpl_err[i] = strdup(err.msg[0] ? err.msg : "out of memory");
    }
    cairn_buf_deinit(&src);
    return 0;
}

/* Render every annotation of the rule for one alert, as a JSON object text. */
static char *render_annotations(struct rule_rt *rr, json_t *labels, double value, int64_t now)
{
    const struct cairn_rule *rule = rr->rule;
    if (!rr->tpl && compile_annotations(rr))
        return NULL;
    json_t *out = json_object();
    struct cairn_buf res = CAIRN_BUF_INIT, fv = CAIRN_BUF_INIT;
    struct tctx t = {.labels = labels};
    if (cairn_go_format_float(&fv, value) == 0)
        snprintf(t.value, sizeof t.value, "%s", cairn_buf_cstr(&fv));
    for (size_t i = 0; out && i < rule->annotations.n; i++) {
        const struct cairn_cfg_kv *kv = &rule->annotations.v[i];
        cairn_buf_reset(&res);
        struct cairn_err err;
        cairn_err_clear(&err);
        const char *fail = rr->tpl_err[i];
        if (rr->tpl[i]) {
            struct cairn_template_ctx ctx = {.lookup = lookup, .arg = &t, .now_ns = now};
            if (cairn_template_render(rr->tpl[i], &ctx, &res, &err))
                fail = err.msg;
        }
        if (fail) {
            /* as Prometheus: the error text stands in for the annotation */
            cairn_buf_reset(&res);
            cairn_buf_appendf(&res, "<error expanding template: %s>", fail);
        }
        json_object_set_new(out, kv->key, json_stringn(res.data ? res.data : "", res.len));
    }
    char *s = out ? json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(out);
    cairn_buf_deinit(&res);
    cairn_buf_deinit(&fv);
    return s;
}

static struct alert *find_alert(struct rule_rt *rr, uint64_t fp, const char *labels)
{
    for (size_t i = 0; i < rr->n; i++)
        if (rr->alerts[i].fp == fp && strcmp(rr->alerts[i].labels_json, labels) == 0)
            return &rr->alerts[i];
    return NULL;
}

static struct alert *add_alert(struct rule_rt *rr)
{
    if (rr->n == rr->cap) {
        size_t nc = rr->cap ? 2 * rr->cap : 8;
        struct alert *v = realloc(rr->alerts, nc * sizeof *v);
        if (!v)
            return NULL;
        rr->alerts = v;
        rr->cap = nc;
    }
    struct alert *a = &rr->alerts[rr->n++];
    memset(a, 0, sizeof *a);
    return a;
}

/* The samples of an instant query's answer: metric objects (new references) and
 * values, in *ms and *vs (n). 0, or a message in err. */
static int samples(const char *body, size_t len, json_t **doc, json_t **res, int *scalar,
                   char *err, size_t errcap)
{
    json_error_t je;
    *doc = json_loadb(body, len, 0, &je);
    json_t *data = json_object_get(*doc, "data");
    const char *type = json_string_value(json_object_get(data, "resultType"));
    *res = json_object_get(data, "result");
    if (!type || !*res) {
        snprintf(err, errcap, "unexpected query answer");
        return -1;
    }
    *scalar = strcmp(type, "scalar") == 0;
    if (!*scalar && strcmp(type, "vector") != 0) {
        snprintf(err, errcap, "rule expression gives a %s, not a vector", type);
        return -1;
    }
    return 0;
}

static double sample_value(json_t *pair)
{
    const char *s = json_string_value(json_array_get(pair, 1));
    return s ? strtod(s, NULL) : 0;
}

/* The labels of one result series with the rule's labels (they win) and extra=value,
 * as sorted compact JSON (malloc'd), and the object itself (new reference). */
static char *series_labels(json_t *metric, const struct cairn_rule *rule, const char *extra,
                           const char *extra_v, json_t **obj)
{
    json_t *o = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(metric, k, v)
        json_object_set(o, k, v);
    for (size_t i = 0; i < rule->labels.n; i++)
        json_object_set_new(o, rule->labels.v[i].key,
                            json_string(rule->labels.v[i].value ? rule->labels.v[i].value : ""));
    json_object_set_new(o, extra, json_string(extra_v));
    *obj = o;
    return json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
}

static void eval_alert(struct cairn_ruler *r, struct group_rt *g, struct rule_rt *rr,
                       json_t *res, int scalar, int64_t t)
{
    const struct cairn_rule *rule = rr->rule;
    for (size_t i = 0; i < rr->n; i++)
        rr->alerts[i].seen = 0;
    size_t n = scalar ? 1 : json_array_size(res);
    if (g->g->limit > 0 && n > (size_t)g->g->limit) {
        snprintf(rr->last_error, sizeof rr->last_error,
                 "exceeded limit of %d with %zu alerts", g->g->limit, n);
        rr->health = "err";
        return;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *metric = scalar ? NULL : json_object_get(json_array_get(res, i), "metric");
        double v = sample_value(scalar ? res : json_object_get(json_array_get(res, i), "value"));
        json_t *obj;
        char *lj = series_labels(metric, rule, "alertname", rule->alert, &obj);
        if (!lj) {
            json_decref(obj);
            continue;
        }
        uint64_t fp = cairn_hash64(lj, strlen(lj));
        struct alert *a = find_alert(rr, fp, lj);
        if (a && a->state == ALERT_RESOLVED) { /* back: a new activation */
            cairn__alert_free(a);
            memset(a, 0, sizeof *a);
            a->state = 0;
        }
        if (!a && !(a = add_alert(rr))) {
            free(lj);
            json_decref(obj);
            continue;
        }
        if (!a->labels_json) {
            a->labels_json = lj;
            a->fp = fp;
            a->active_at = t;
            a->state = ALERT_PENDING;
        } else {
            free(lj);
        }
        a->seen = 1;
        a->last_seen = t;
        a->value = v;
        if (a->state == ALERT_PENDING && t - a->active_at >= rule->for_ns) {
            a->state = ALERT_FIRING;
            a->fired_at = t;
            a->last_sent = 0; /* send now */
        }
        free(a->annotations_json);
        a->annotations_json = render_annotations(rr, obj, v, t);
        json_decref(obj);
    }
    /* series gone: pending ones are dropped, firing ones resolve (after keep_firing_for) */
    size_t k = 0;
    for (size_t i = 0; i < rr->n; i++) {
        struct alert *a = &rr->alerts[i];
        int drop = 0;
        if (!a->seen) {
            if (a->state == ALERT_PENDING) {
                drop = 1;
            } else if (a->state == ALERT_FIRING && t - a->last_seen >= rule->keep_firing_for_ns) {
                a->state = ALERT_RESOLVED;
                a->resolved_at = t;
                a->last_sent = 0;
            } else if (a->state == ALERT_RESOLVED && t - a->resolved_at > RESOLVED_RETENTION_NS) {
                drop = 1;
            }
        }
        if (drop)
            cairn__alert_free(a);
        else
            rr->alerts[k++] = *a;
    }
    rr->n = k;
    (void)r;
}

static void eval_record(struct cairn_ruler *r, struct group_rt *g, struct rule_rt *rr,
                        json_t *res, int scalar, int64_t t)
{
    size_t n = scalar ? 1 : json_array_size(res);
    if (g->g->limit > 0 && n > (size_t)g->g->limit) {
        snprintf(rr->last_error, sizeof rr->last_error,
                 "exceeded limit of %d with %zu series", g->g->limit, n);
        rr->health = "err";
        return;
    }
    for (size_t i = 0; i < n && r->rw; i++) {
        json_t *metric = scalar ? NULL : json_object_get(json_array_get(res, i), "metric");
        double v = sample_value(scalar ? res : json_object_get(json_array_get(res, i), "value"));
        json_t *obj;
        char *lj = series_labels(metric, rr->rule, "__name__", rr->rule->record, &obj);
        for (size_t e = 0; e < r->cfg->external_labels.n; e++)
            if (!json_object_get(obj, r->cfg->external_labels.v[e].key))
                json_object_set_new(obj, r->cfg->external_labels.v[e].key,
                                    json_string(r->cfg->external_labels.v[e].value
                                                    ? r->cfg->external_labels.v[e].value : ""));
        free(lj);
        lj = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(obj);
        if (lj && cairn__rwrite_add(r->rw, lj, t / 1000000, v))
            CAIRN_WARN("ruler", "cannot queue a recorded sample", "rule=%s", rr->rule->record);
        free(lj);
    }
}

void cairn__ruler_eval_group(struct cairn_ruler *r, struct group_rt *g, int64_t t)
{
    int64_t g0 = cairn_mono_ns();
    for (size_t i = 0; i < g->nrules; i++) {
        struct rule_rt *rr = &g->rules[i];
        const char *expr = rr->rule->expr;
        struct cairn_query_params p = {
            .tenant = g->tenant, .start = t - 3600LL * 1000000000LL, .end = t, .step = 1000000000LL,
            .instant = 1, .threads = 1, .max_series = CAIRN_MAX_QUERY_SERIES,
            .timeout = CAIRN_QUERY_TIMEOUT_NS, .max_memory = CAIRN_MAX_QUERY_MEMORY,
        };
        struct cairn_buf out = CAIRN_BUF_INIT;
        struct cairn_err err;
        cairn_err_clear(&err);
        int64_t t0 = cairn_mono_ns();
        /* the query runs without the lock: the HTTP API keeps answering meanwhile */
        pthread_mutex_unlock(&r->mu);
        int rc = cairn_query_run(r->store, expr, strlen(expr), &p, &out, &err);
        pthread_mutex_lock(&r->mu);
        rr->eval_ns = cairn_mono_ns() - t0;
        rr->last_eval = t;
        json_t *doc = NULL, *res = NULL;
        int scalar = 0;
        if (rc) {
            snprintf(rr->last_error, sizeof rr->last_error, "%s",
                     err.msg[0] ? err.msg : cairn_strerror(rc));
            rr->health = "err";
        } else if (samples(out.data, out.len, &doc, &res, &scalar, rr->last_error,
                           sizeof rr->last_error)) {
            rr->health = "err";
        } else {
            rr->health = "ok";
            rr->last_error[0] = '\0';
            rr->samples = scalar ? 1 : json_array_size(res);
            if (rr->rule->alert)
                eval_alert(r, g, rr, res, scalar, t);
            else
                eval_record(r, g, rr, res, scalar, t);
        }
        if (rc || !res)
            CAIRN_WARN("ruler", "rule evaluation failed", "tenant=%s group=%s rule=%s err=\"%s\"",
                       g->tenant, g->g->name, rr->rule->alert ? rr->rule->alert : rr->rule->record,
                       rr->last_error);
        json_decref(doc);
        cairn_buf_deinit(&out);
    }
    g->last_eval = t;
    g->eval_ns = cairn_mono_ns() - g0;
}
