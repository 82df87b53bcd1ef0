/* targets.c -- tail targets from relabelled label sets, deduplicated as Promtail's
 * target syncer does (by path, exclusion and visible labels). */
#include <stdlib.h>
#include <string.h>

#include "ship/targets.h"

void cairn__tset_free(struct cairn__tset *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->st[i].path);
        free(s->st[i].exclude);
        cairn_labels_deinit(&s->st[i].labels);
    }
    free(s->st);
    free(s->t);
    memset(s, 0, sizeof *s);
}

static int same_labels(const struct cairn_labels *a, const struct cairn_labels *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->v[i].name_len != b->v[i].name_len || a->v[i].value_len != b->v[i].value_len ||
            memcmp(a->v[i].name, b->v[i].name, a->v[i].name_len) != 0 ||
            memcmp(a->v[i].value, b->v[i].value, a->v[i].value_len) != 0)
            return 0;
    return 1;
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int cairn__tset_add(struct cairn__tset *s, enum cairn_tail_kind kind, const char *path,
                    const char *exclude, const struct cairn_labels *ls,
                    struct cairn_ship_pipeline *pl, const char *job)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->t[i].pipeline == pl && strcmp(s->st[i].path, path) == 0 &&
            same_str(s->st[i].exclude, exclude) && same_labels(&s->st[i].labels, ls))
            return 0;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 8;
        void *nt = realloc(s->t, nc * sizeof *s->t);
        if (!nt)
            return CAIRN_ENOMEM;
        s->t = nt;
        void *ns = realloc(s->st, nc * sizeof *s->st);
        if (!ns)
            return CAIRN_ENOMEM;
        s->st = ns;
        s->cap = nc;
    }
    struct cairn__tstate *t = &s->st[s->n];
    memset(t, 0, sizeof *t);
    s->t[s->n] = (struct cairn_tail_target){kind, NULL, NULL, NULL, pl};
    cairn_labels_init(&t->labels);
    t->job = job;
    t->path = strdup(path);
    t->exclude = exclude ? strdup(exclude) : NULL;
    if (!t->path || (exclude && !t->exclude) || cairn_labels_copy(&t->labels, ls)) {
        free(t->path);
        free(t->exclude);
        cairn_labels_deinit(&t->labels);
        return CAIRN_ENOMEM;
    }
    s->n++;
    return 0;
}

void cairn__tset_fix(struct cairn__tset *s)
{
    for (size_t i = 0; i < s->n; i++) {
        s->t[i].path = s->st[i].path;
        s->t[i].exclude = s->st[i].exclude;
        s->t[i].labels = &s->st[i].labels;
    }
}

int cairn__tset_add_labels(struct cairn__tset *s, const struct cairn_sd_labels *ls,
                           struct cairn_ship_pipeline *pl, const char *job,
                           const char *hostname, const char **why)
{
    size_t hl = 0, pl_len = 0, xl = 0;
    const char *host = cairn_sd_labels_get(ls, "__host__", 8, &hl);
    if (host && hostname && (strlen(hostname) != hl || memcmp(host, hostname, hl) != 0)) {
        *why = "wrong host";
        return 0;
    }
    const char *path = cairn_sd_labels_get(ls, "__path__", 8, &pl_len);
    if (!path || !pl_len) {
        *why = "no path for target";
        return 0;
    }
    const char *ex = cairn_sd_labels_get(ls, "__path_exclude__", 16, &xl);
    struct cairn_labels vis;
    cairn_labels_init(&vis);
    int rc = 0;
    for (size_t i = 0; i < ls->n && !rc; i++) {
        const struct cairn_sd_label *l = &ls->v[i];
        if ((l->name_len >= 2 && l->name[0] == '_' && l->name[1] == '_') || l->value_len == 0)
            continue;
        if (vis.n == sizeof vis.v / sizeof vis.v[0]) {
            *why = "too many labels";
            cairn_labels_deinit(&vis);
            return 0;
        }
        rc = cairn_labels_add(&vis, l->name, l->name_len, l->value, l->value_len);
    }
    if (!rc && cairn_labels_sort(&vis, NULL))
        rc = CAIRN_EINVAL; /* cannot happen: the names were unique */
    if (!rc)
        rc = cairn__tset_add(s, CAIRN_TAIL_FILES, path, ex && xl ? ex : NULL, &vis, pl, job);
    cairn_labels_deinit(&vis);
    return rc ? rc : 1;
}
