/* otlp_rules.c -- limits_config.otlp_config compiled for the OTLP mapping: per level
 * (resource, scope, log record) the rules in order, each with its attribute names and
 * its anchored regex; Loki's default index labels first for resources unless
 * ignore_defaults. PCRE2 match data is not shareable, so the regexes are matched under
 * one mutex (the rules are few and short; pushes without rules never take it). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/otlp.h"
#include "cairn/matcher.h"
#include "cairn/smeta.h"

struct rule {
    enum cairn_otlp_action action;
    char **names;
    size_t n;
    struct cairn_regex *re;
    int defaults; /* Loki's default index labels */
};

struct cairn_ingest_otlp_rules {
    struct rule *v[3];
    size_t n[3];
    pthread_mutex_t mu;
};

void cairn_ingest_otlp_rules_destroy(struct cairn_ingest_otlp_rules *r)
{
    if (!r)
        return;
    for (int l = 0; l < 3; l++) {
        for (size_t i = 0; i < r->n[l]; i++) {
            for (size_t k = 0; k < r->v[l][i].n; k++)
                free(r->v[l][i].names[k]);
            free(r->v[l][i].names);
            cairn_regex_destroy(r->v[l][i].re);
        }
        free(r->v[l]);
    }
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static const char *const level_names[3] = {"resource_attributes", "scope_attributes",
                                           "log_attributes"};

static int compile(struct cairn_ingest_otlp_rules *r, int level, const struct cairn_otlp_rule *src,
                   size_t n, int defaults, struct cairn_err *err)
{
    size_t total = n + (defaults ? 1 : 0);
    if (!total)
        return 0;
    if (!(r->v[level] = calloc(total, sizeof *r->v[level])))
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    if (defaults)
        r->v[level][r->n[level]++] = (struct rule){.action = CAIRN_OTLP_INDEX_LABEL, .defaults = 1};
    for (size_t i = 0; i < n; i++) {
        const struct cairn_otlp_rule *s = &src[i];
        struct rule *d = &r->v[level][r->n[level]++];
        d->action = s->action;
        if (s->action == CAIRN_OTLP_INDEX_LABEL && level != 0)
            return cairn_err_set(err, CAIRN_EINVAL, "limits_config.otlp_config.%s[%zu]: action "
                                 "index_label is valid only for resource_attributes",
                                 level_names[level], i);
        if (!s->n_attributes && !(s->regex && *s->regex))
            return cairn_err_set(err, CAIRN_EINVAL, "limits_config.otlp_config.%s[%zu]: "
                                 "attributes or regex required", level_names[level], i);
        if (s->n_attributes && !(d->names = calloc(s->n_attributes, sizeof *d->names)))
            return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        for (size_t k = 0; k < s->n_attributes; k++, d->n++)
            if (!(d->names[k] = strdup(s->attributes[k])))
                return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        if (s->regex && *s->regex) {
            struct cairn_err re;
            if (!(d->re = cairn_regex_compile(s->regex, strlen(s->regex), CAIRN_RE_ANCHORED, &re)))
                return cairn_err_set(err, CAIRN_EINVAL, "limits_config.otlp_config.%s[%zu].regex: %s",
                                     level_names[level], i, re.msg);
        }
    }
    return 0;
}

int cairn_ingest_otlp_rules_create(const struct cairn_otlp_config *cfg, struct cairn_ingest_otlp_rules **out,
                             struct cairn_err *err)
{
    *out = NULL;
    if (!cfg || (!cfg->ignore_defaults && !cfg->n_resource && !cfg->n_scope && !cfg->n_log))
        return 0;
    struct cairn_ingest_otlp_rules *r = calloc(1, sizeof *r);
    if (!r)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    pthread_mutex_init(&r->mu, NULL);
    int rc = compile(r, 0, cfg->resource, cfg->n_resource, !cfg->ignore_defaults, err);
    if (!rc)
        rc = compile(r, 1, cfg->scope, cfg->n_scope, 0, err);
    if (!rc)
        rc = compile(r, 2, cfg->log, cfg->n_log, 0, err);
    if (rc) {
        cairn_ingest_otlp_rules_destroy(r);
        return rc;
    }
    *out = r;
    return 0;
}

static int matches(struct cairn_ingest_otlp_rules *r, struct rule *u, const char *k, size_t kl)
{
    if (u->defaults)
        return cairn_otlp_is_index_attr(k, kl);
    for (size_t i = 0; i < u->n; i++)
        if (strlen(u->names[i]) == kl && memcmp(u->names[i], k, kl) == 0)
            return 1;
    if (!u->re)
        return 0;
    pthread_mutex_lock(&r->mu);
    int m = cairn_regex_match(u->re, k, kl);
    pthread_mutex_unlock(&r->mu);
    return m;
}

enum cairn_otlp_action cairn__otlp_rules_action(struct cairn_ingest_otlp_rules *r, int level,
                                                const char *k, size_t kl)
{
    for (size_t i = 0; i < r->n[level]; i++)
        if (matches(r, &r->v[level][i], k, kl))
            return r->v[level][i].action;
    return CAIRN_OTLP_STRUCTURED_METADATA;
}
