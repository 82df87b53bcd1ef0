/* stage_labels.c -- stages that rewrite the label set or the tenant: labels,
 * structured_metadata, static_labels, labelallow, labeldrop, tenant, and output (line from extracted). */
#include <stdlib.h>
#include <string.h>

#include "cairn/log.h"
#include "cairn/smeta.h"
#include "ship/ship_int.h"

/* A copied list of (name, source/value) pairs with lengths. */
struct pairs {
    size_t n;
    struct pair {
        char *name, *src;
        size_t name_len, src_len;
    } v[];
};

static void pairs_destroy(struct cairn__stage *s)
{
    struct pairs *p = s->st;
    for (size_t i = 0; p && i < p->n; i++) {
        free(p->v[i].name);
        free(p->v[i].src);
    }
    free(p);
}

/* Copy kv into a pairs block; a NULL or empty value becomes the name itself when
 * name_default is set (labels: `app:` means "from extracted app"). */
static struct pairs *pairs_new(const struct cairn__kv *kv, size_t n, int name_default,
                               int check_names, struct cairn_err *err)
{
    struct pairs *p = calloc(1, sizeof *p + n * sizeof p->v[0]);
    if (!p) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const char *v = kv[i].v;
        if ((!v || !*v) && name_default)
            v = kv[i].k;
        if (!v)
            v = "";
        if (check_names && !cairn_label_name_valid(kv[i].k, strlen(kv[i].k))) {
            cairn_err_set(err, CAIRN_EINVAL, "invalid label name '%s'", kv[i].k);
            goto fail;
        }
        p->v[i].name = strdup(kv[i].k);
        p->v[i].src = strdup(v);
        p->n = i + 1;
        if (!p->v[i].name || !p->v[i].src) {
            cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
            goto fail;
        }
        p->v[i].name_len = strlen(p->v[i].name);
        p->v[i].src_len = strlen(p->v[i].src);
    }
    return p;
fail: {
    struct cairn__stage tmp = {NULL, p, NULL};
    pairs_destroy(&tmp);
    return NULL;
}
}

/* labels: label name -> extracted key. Missing keys are skipped; an empty value
 * removes the label (Loki has no empty-valued labels). */
static int labels_process(struct cairn__stage *s, struct cairn_ship_entry *e)
{
    struct pairs *p = s->st;
    for (size_t i = 0; i < p->n; i++) {
        size_t vl;
        const char *v = cairn_ship_ex_get(e, p->v[i].src, p->v[i].src_len, &vl);
        if (!v)
            continue;
        if (vl == 0) {
            cairn_ship_label_del(e, p->v[i].name, p->v[i].name_len);
            continue;
        }
        if (cairn_ship_label_set(e, p->v[i].name, p->v[i].name_len, v, vl))
            return CAIRN_ENOMEM;
    }
    return CAIRN__KEEP;
}

static const struct cairn__stage_ops labels_ops = {
    .name = "labels",
    .process = labels_process,
    .destroy = pairs_destroy,
};

/* A stage of `name: value` pairs run by ops (labels, structured_metadata: the value an
 * extracted key, name_default; static_labels: the value itself). */
static int pairs_stage(struct cairn_ship_pipeline *pl, const struct cairn__stage_ops *ops,
                       int name_default, const struct cairn__kv *kv, size_t n,
                       struct cairn_err *err)
{
    struct pairs *p = pairs_new(kv, n, name_default, 1, err);
    if (!p)
        return err ? err->code : CAIRN_EINVAL;
    if (cairn__pipeline_add(pl, ops, p, NULL)) {
        struct cairn__stage tmp = {NULL, p, NULL};
        pairs_destroy(&tmp);
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    }
    return 0;
}

int cairn__stage_labels(struct cairn_ship_pipeline *pl, const struct cairn__kv *kv, size_t n,
                        struct cairn_err *err)
{
    return pairs_stage(pl, &labels_ops, 1, kv, n, err);
}

/* structured_metadata: the same pairs, into the entry's structured metadata (an smeta
 * blob sent with the entry, not a label: no new stream). Appends into e->sm, whose
 * capacity stays across entries. */
static int smeta_process(struct cairn__stage *s, struct cairn_ship_entry *e)
{
    struct pairs *p = s->st;
    for (size_t i = 0; i < p->n; i++) {
        size_t vl;
        const char *v = cairn_ship_ex_get(e, p->v[i].src, p->v[i].src_len, &vl);
        if (v && vl && cairn_smeta_append(&e->sm, p->v[i].name, p->v[i].name_len, v, vl))
            return CAIRN_ENOMEM;
    }
    return CAIRN__KEEP;
}

static const struct cairn__stage_ops smeta_ops = {
    .name = "structured_metadata",
    .process = smeta_process,
    .destroy = pairs_destroy,
};

int cairn__stage_structured_metadata(struct cairn_ship_pipeline *pl, const struct cairn__kv *kv,
                                     size_t n, struct cairn_err *err)
{
    return pairs_stage(pl, &smeta_ops, 1, kv, n, err);
}

static int static_process(struct cairn__stage *s, struct cairn_ship_entry *e)
{
    struct pairs *p = s->st;
    for (size_t i = 0; i < p->n; i++) {
        if (p->v[i].src_len == 0) {
            cairn_ship_label_del(e, p->v[i].name, p->v[i].name_len);
            continue;
        }
        if (cairn_ship_label_set(e, p->v[i].name, p->v[i].name_len, p->v[i].src, p->v[i].src_len))
            return CAIRN_ENOMEM;
    }
    return CAIRN__KEEP;
}

static const struct cairn__stage_ops static_ops = {
    .name = "static_labels",
    .process = static_process,
    .destroy = pairs_destroy,
};

int cairn__stage_static_labels(struct cairn_ship_pipeline *pl, const struct cairn__kv *kv,
                               size_t n, struct cairn_err *err)
{
    return pairs_stage(pl, &static_ops, 0, kv, n, err);
}

/* labelallow / labeldrop: a name list. */
static int allow_process(struct cairn__stage *s, struct cairn_ship_entry *e)
{
    struct pairs *p = s->st;
    for (size_t i = 0; i < e->labels.n;) {
        const struct cairn_label *l = &e->labels.v[i];
        int keep = 0;
        for (size_t j = 0; j < p->n && !keep; j++)
            keep = p->v[j].name_len == l->name_len && memcmp(p->v[j].name, l->name, l->name_len) == 0;
        if (keep) {
            i++;
            continue;
        }
        cairn_ship_label_del(e, l->name, l->name_len); /* shifts the rest down */
    }
    return CAIRN__KEEP;
}

static int drop_process(struct cairn__stage *s, struct cairn_ship_entry *e)
{
    struct pairs *p = s->st;
    for (size_t j = 0; j < p->n; j++)
        cairn_ship_label_del(e, p->v[j].name, p->v[j].name_len);
    return CAIRN__KEEP;
}

static const struct cairn__stage_ops allow_ops = {
    .name = "labelallow",
    .process = allow_process,
    .destroy = pairs_destroy,
};
static const struct cairn__stage_ops ldrop_ops = {
    .name = "labeldrop",
    .process = drop_process,
    .destroy = pairs_destroy,
};

static int add_names(struct cairn_ship_pipeline *pl, const struct cairn__stage_ops *ops,
                     const char *const *names, size_t n, struct cairn_err *err)
{
    struct cairn__kv *kv = calloc(n ? n : 1, sizeof *kv);
    if (!kv)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        kv[i].k = names[i];
    struct pairs *p = pairs_new(kv, n, 0, 0, err);
    free(kv);
    if (!p)
        return err ? err->code : CAIRN_EINVAL;
    if (cairn__pipeline_add(pl, ops, p, NULL)) {
        struct cairn__stage tmp = {NULL, p, NULL};
        pairs_destroy(&tmp);
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    }
    return 0;
}

int cairn__stage_labelallow(struct cairn_ship_pipeline *pl, const char *const *names, size_t n,
                            struct cairn_err *err)
{
    return add_names(pl, &allow_ops, names, n, err);
}

int cairn__stage_labeldrop(struct cairn_ship_pipeline *pl, const char *const *names, size_t n,
                           struct cairn_err *err)
{
    return add_names(pl, &ldrop_ops, names, n, err);
}

/* output: the line becomes the extracted value `source`. */
static int output_process(struct cairn__stage *s, struct cairn_ship_entry *e)
{
    struct pairs *p = s->st;
    size_t vl;
    const char *v = cairn_ship_ex_get(e, p->v[0].src, p->v[0].src_len, &vl);
    if (!v)
        return CAIRN__KEEP;
    cairn_buf_reset(&e->line);
    return cairn_buf_append(&e->line, v, vl) ? CAIRN_ENOMEM : CAIRN__KEEP;
}

static const struct cairn__stage_ops output_ops = {
    .name = "output",
    .process = output_process,
    .destroy = pairs_destroy,
};

int cairn__stage_output(struct cairn_ship_pipeline *pl, const char *source, struct cairn_err *err)
{
    if (!source || !*source)
        return cairn_err_set(err, CAIRN_EINVAL, "output stage: source is required");
    struct cairn__kv kv = {"output", source};
    struct pairs *p = pairs_new(&kv, 1, 0, 0, err);
    if (!p)
        return err ? err->code : CAIRN_EINVAL;
    if (cairn__pipeline_add(pl, &output_ops, p, NULL)) {
        struct cairn__stage tmp = {NULL, p, NULL};
        pairs_destroy(&tmp);
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    }
    return 0;
}

/* tenant: from extracted `source`, from label `label`, or the static `value`. */
enum { TENANT_SOURCE, TENANT_LABEL, TENANT_VALUE };
static int tenant_process(struct cairn__stage *s, struct cairn_ship_entry *e)
{
    struct pairs *p = s->st;
    const char *v = NULL;
    size_t vl = 0;
    int kind = p->v[0].name[0] - '0';
    if (kind == TENANT_SOURCE) {
        v = cairn_ship_ex_get(e, p->v[0].src, p->v[0].src_len, &vl);
    } else if (kind == TENANT_LABEL) {
        const struct cairn_label *l = cairn_labels_get(&e->labels, p->v[0].src, p->v[0].src_len);
        if (l) {
            v = l->value;
            vl = l->value_len;
        }
    } else {
        v = p->v[0].src;
        vl = p->v[0].src_len;
    }
    if (!v || !vl)
        return CAIRN__KEEP;
    cairn_buf_reset(&e->tenant);
    return cairn_buf_append(&e->tenant, v, vl) ? CAIRN_ENOMEM : CAIRN__KEEP;
}

static const struct cairn__stage_ops tenant_ops = {
    .name = "tenant",
    .process = tenant_process,
    .destroy = pairs_destroy,
};

int cairn__stage_tenant(struct cairn_ship_pipeline *pl, const char *source, const char *label,
                        const char *value, struct cairn_err *err)
{
    int set = (source && *source) + (label && *label) + (value && *value);
    if (set != 1)
        return cairn_err_set(err, CAIRN_EINVAL,
                             "tenant stage: exactly one of source, label or value is required");
    struct cairn__kv kv;
    if (source && *source)
        kv = (struct cairn__kv){"0", source};
    else if (label && *label)
        kv = (struct cairn__kv){"1", label};
    else
        kv = (struct cairn__kv){"2", value};
    struct pairs *p = pairs_new(&kv, 1, 0, 0, err);
    if (!p)
        return err ? err->code : CAIRN_EINVAL;
    if (cairn__pipeline_add(pl, &tenant_ops, p, NULL)) {
        struct cairn__stage tmp = {NULL, p, NULL};
        pairs_destroy(&tmp);
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    }
    return 0;
}
