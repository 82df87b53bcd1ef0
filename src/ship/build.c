/* build.c -- turn a loaded pipeline_stages list into a running pipeline: one stage
 * constructor per kind, errors prefixed with the stage's key path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/ship_config.h"
#include "ship/ship_build.h"
#include "ship/ship_int.h"

static struct cairn__kv *kv_of(const struct cairn_cfg_map *m)
{
    struct cairn__kv *kv = calloc(m->n ? m->n : 1, sizeof *kv);
    if (!kv)
        return NULL;
    for (size_t i = 0; i < m->n; i++)
        kv[i] = (struct cairn__kv){m->v[i].key, m->v[i].value};
    return kv;
}

static int add_stage(struct cairn_ship_pipeline *pl, const struct cairn_cfg_tagged *tg,
                     const char *path, struct cairn_err *err)
{
    const void *d = tg->data;
    int rc;
    switch ((enum cairn_ship_stage_kind)tg->kind) {
    case CAIRN_STAGE_DOCKER:
        return cairn__stage_docker(pl, err);
    case CAIRN_STAGE_CRI: {
        const struct cairn_ship_st_cri *c = d;
        return cairn__stage_cri(pl, c->max_partial_lines, (size_t)c->max_partial_line_size,
                                c->max_partial_line_size_truncate, err);
    }
    case CAIRN_STAGE_JSON:
    case CAIRN_STAGE_LOGFMT:
    case CAIRN_STAGE_LABELS:
    case CAIRN_STAGE_STRUCTURED_METADATA:
    case CAIRN_STAGE_STATIC_LABELS: {
        const struct cairn_cfg_map *m =
            tg->kind == CAIRN_STAGE_JSON     ? &((const struct cairn_ship_st_json *)d)->expressions
            : tg->kind == CAIRN_STAGE_LOGFMT ? &((const struct cairn_ship_st_logfmt *)d)->mapping
                                             : &((const struct cairn_ship_st_map *)d)->map;
        struct cairn__kv *kv = kv_of(m);
        if (!kv)
            return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        if (tg->kind == CAIRN_STAGE_JSON) {
            const struct cairn_ship_st_json *j = d;
            rc = cairn__stage_json(pl, kv, m->n, j->source, j->drop_malformed, err);
        } else if (tg->kind == CAIRN_STAGE_LOGFMT) {
            rc = cairn__stage_logfmt(pl, kv, m->n, ((const struct cairn_ship_st_logfmt *)d)->source,
                                     err);
        } else if (tg->kind == CAIRN_STAGE_LABELS) {
            rc = cairn__stage_labels(pl, kv, m->n, err);
        } else if (tg->kind == CAIRN_STAGE_STRUCTURED_METADATA) {
            rc = cairn__stage_structured_metadata(pl, kv, m->n, err);
        } else {
            rc = cairn__stage_static_labels(pl, kv, m->n, err);
        }
        free(kv);
        return rc;
    }
    case CAIRN_STAGE_REGEX: {
        const struct cairn_ship_st_regex *r = d;
        return cairn__stage_regex(pl, r->expression, r->source, err);
    }
    case CAIRN_STAGE_REPLACE: {
        const struct cairn_ship_st_replace *r = d;
        return cairn__stage_replace(pl, r->expression, r->source, r->replace, err);
    }
    case CAIRN_STAGE_TEMPLATE: {
        const struct cairn_ship_st_template *t = d;
        return cairn__stage_template(pl, t->source, t->template_, err);
    }
    case CAIRN_STAGE_LABELALLOW:
    case CAIRN_STAGE_LABELDROP: {
        const struct cairn_cfg_strlist *l = &((const struct cairn_ship_st_list *)d)->list;
        return tg->kind == CAIRN_STAGE_LABELALLOW
                   ? cairn__stage_labelallow(pl, (const char *const *)l->v, l->n, err)
                   : cairn__stage_labeldrop(pl, (const char *const *)l->v, l->n, err);
    }
    case CAIRN_STAGE_TIMESTAMP: {
        const struct cairn_ship_st_timestamp *t = d;
        return cairn__stage_timestamp(pl, t->source, t->format,
                                      (const char *const *)t->fallback_formats.v,
                                      t->fallback_formats.n, t->location, t->action_on_failure,
                                      err);
    }
    case CAIRN_STAGE_OUTPUT:
        return cairn__stage_output(pl, ((const struct cairn_ship_st_output *)d)->source, err);
    case CAIRN_STAGE_MATCH: {
        const struct cairn_ship_st_match *m = d;
        if (m->action == 1 && m->stages.n)
            return cairn_err_set(err, CAIRN_EINVAL, "match stage: stages must not be set with "
                                 "action: drop");
        struct cairn_ship_pipeline *nested = NULL;
        if (m->action == 0) {
            char sub[700];
            snprintf(sub, sizeof sub, "%s.match.stages", path);
            nested = cairn_ship_pipeline_build(&m->stages, sub, err);
            if (!nested)
                return err->code ? err->code : CAIRN_EINVAL;
        }
        return cairn__stage_match(pl, m->selector, m->action == 1, m->drop_counter_reason, nested,
                                  err);
    }
    case CAIRN_STAGE_DROP: {
        const struct cairn_ship_st_drop *x = d;
        return cairn__stage_drop(pl, (const char *const *)x->source.v, x->source.n, x->separator,
                                 x->expression, x->value, x->older_than_ns, x->longer_than,
                                 x->drop_counter_reason, err);
    }
    case CAIRN_STAGE_LIMIT: {
        const struct cairn_ship_st_limit *l = d;
        return cairn__stage_limit(pl, l->rate, l->burst, l->drop, l->by_label_name,
                                  (size_t)l->max_distinct_labels, err);
    }
    case CAIRN_STAGE_MULTILINE: {
        const struct cairn_ship_st_multiline *m = d;
        return cairn__stage_multiline(pl, m->firstline, m->max_wait_time_ns, m->max_lines, err);
    }
    case CAIRN_STAGE_PACK: {
        const struct cairn_ship_st_pack *p = d;
        return cairn__stage_pack(pl, (const char *const *)p->labels.v, p->labels.n,
                                 p->ingest_timestamp, err);
    }
    case CAIRN_STAGE_DECOLORIZE:
        return cairn__stage_decolorize(pl, err);
    case CAIRN_STAGE_TENANT: {
        const struct cairn_ship_st_tenant *t = d;
        return cairn__stage_tenant(pl, t->source, t->label, t->value, err);
    }
    case CAIRN_STAGE_METRICS:
        return cairn__stage_metrics(pl, &((const struct cairn_ship_st_metrics *)d)->metrics, err);
    case CAIRN_STAGE_SAMPLING: {
        const struct cairn_ship_st_sampling *sm = d;
        return cairn__stage_sampling(pl, sm->rate, sm->drop_counter_reason, err);
    }
    case CAIRN_STAGE_KINDS:
        break;
    }
    return cairn_err_set(err, CAIRN_EINVAL, "unknown stage kind %d", tg->kind);
}

static const char *const kind_names[CAIRN_STAGE_KINDS] = {
    "docker", "cri", "json", "logfmt", "regex", "replace", "template", "labels",
    "labelallow", "labeldrop", "static_labels", "timestamp", "output", "match", "drop",
    "limit", "multiline", "pack", "decolorize", "tenant", "metrics", "sampling",
    "structured_metadata",
};

int cairn_ship_pipeline_build_into(struct cairn_ship_pipeline *pl,
                                   const struct cairn_cfg_list *stages, const char *path,
                                   struct cairn_err *err)
{
    const struct cairn_cfg_tagged *tg = stages->v;
    for (size_t i = 0; i < stages->n; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        struct cairn_err e2;
        cairn_err_clear(&e2);
        int rc = add_stage(pl, &tg[i], p, &e2);
        if (rc) {
            const char *kn = tg[i].kind >= 0 && tg[i].kind < CAIRN_STAGE_KINDS
                                 ? kind_names[tg[i].kind] : "?";
            /* nested errors already carry their own path */
            if (strncmp(e2.msg, path, strlen(path)) == 0)
                return cairn_err_set(err, rc, "%s", e2.msg);
            return cairn_err_set(err, rc, "%s.%s: %s", p, kn,
                                 e2.msg[0] ? e2.msg : cairn_strerror(rc));
        }
    }
    return 0;
}

struct cairn_ship_pipeline *cairn_ship_pipeline_build(const struct cairn_cfg_list *stages,
                                                      const char *path, struct cairn_err *err)
{
    struct cairn_ship_pipeline *pl = cairn__pipeline_new(0);
    if (!pl) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    if (cairn_ship_pipeline_build_into(pl, stages, path, err)) {
        cairn_ship_pipeline_destroy(pl);
        return NULL;
    }
    return pl;
}
