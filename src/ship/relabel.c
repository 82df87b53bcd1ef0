/* relabel.c -- Prometheus relabel_configs over a target's label set: replace, keep,
 * drop, labelmap, labeldrop, labelkeep, hashmod. Regexes are fully anchored, as in
 * Prometheus; replacements expand $1, ${1}, $name and ${name}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/hash.h"
#include "cairn/matcher.h"
#include "ship/ship_build.h"

#define GROUPS 16

/* Expand the replacement template with the groups of the last match. */
static int expand(struct cairn_buf *out, const char *tpl, const char *subj, const size_t *ov,
                  int pairs, const struct cairn_regex *re)
{
    for (const char *p = tpl; *p;) {
        if (*p != '$') {
            if (cairn_buf_append_byte(out, *p++))
                return CAIRN_ENOMEM;
            continue;
        }
        p++;
        if (*p == '$') {
            if (cairn_buf_append_byte(out, *p++))
                return CAIRN_ENOMEM;
            continue;
        }
        int braced = *p == '{';
        if (braced)
            p++;
        const char *s = p;
        while (*p && (*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9')))
            p++;
        size_t nl = (size_t)(p - s);
        if (braced) {
            if (*p != '}')
                continue; /* malformed: Go expands it to nothing */
            p++;
        }
        int g = -1;
        if (nl && s[0] >= '0' && s[0] <= '9') {
            g = 0;
            for (size_t i = 0; i < nl; i++)
                g = g * 10 + (s[i] - '0');
        } else {
            for (int i = 1; i < pairs && re; i++) {
                const char *n = cairn_regex_group_name(re, i);
                if (n && strlen(n) == nl && memcmp(n, s, nl) == 0)
                    g = i;
            }
        }
        if (g >= 0 && g < pairs && ov[2 * g] != (size_t)-1 && ov[2 * g + 1] >= ov[2 * g]) {
            if (cairn_buf_append(out, subj + ov[2 * g], ov[2 * g + 1] - ov[2 * g]))
                return CAIRN_ENOMEM;
        }
    }
    return 0;
}

static int join_sources(const struct cairn_ship_relabel_rule *r, const struct cairn_labels *ls,
                        struct cairn_buf *out)
{
    cairn_buf_reset(out);
    for (size_t i = 0; i < r->n_sources; i++) {
        if (i && cairn_buf_append_str(out, r->separator))
            return CAIRN_ENOMEM;
        const struct cairn_label *l = cairn_labels_get(ls, r->sources[i], strlen(r->sources[i]));
        if (l && cairn_buf_append(out, l->value, l->value_len))
            return CAIRN_ENOMEM;
    }
    if (!out->data && cairn_buf_append(out, "", 0))
        return CAIRN_ENOMEM;
    return 0;
}

/* Rebuild ls without label i (labels keep their order). */
static int remove_at(struct cairn_labels *ls, size_t idx)
{
    struct cairn_labels tmp;
    cairn_labels_init(&tmp);
    for (size_t i = 0; i < ls->n; i++) {
        if (i == idx)
            continue;
        if (cairn_labels_add(&tmp, ls->v[i].name, ls->v[i].name_len, ls->v[i].value,
                             ls->v[i].value_len)) {
            cairn_labels_deinit(&tmp);
            return CAIRN_ENOMEM;
        }
    }
    int rc = cairn_labels_copy(ls, &tmp);
    cairn_labels_deinit(&tmp);
    return rc;
}

static int set_label(struct cairn_labels *ls, const char *name, const char *v, size_t vl)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < ls->n; i++)
        if (ls->v[i].name_len == nl && memcmp(ls->v[i].name, name, nl) == 0) {
            int rc = remove_at(ls, i);
            if (rc)
                return rc;
            break;
        }
    if (vl == 0)
        return 0; /* an empty value removes the label */
    if (cairn_labels_add(ls, name, nl, v, vl))
        return CAIRN_ENOMEM;
    return cairn_labels_sort(ls, NULL) ? CAIRN_EINVAL : 0;
}

int cairn_ship_relabel_apply(const struct cairn_ship_relabel_rule *rules, size_t n,
                             struct cairn_labels *ls)
{
    struct cairn_buf val = CAIRN_BUF_INIT, out = CAIRN_BUF_INIT;
    int rc = 1;
    for (size_t k = 0; k < n && rc == 1; k++) {
        const struct cairn_ship_relabel_rule *r = &rules[k];
        size_t ov[2 * GROUPS];
        switch (r->action) {
        case CAIRN_RELABEL_REPLACE: {
            if (join_sources(r, ls, &val)) {
                rc = CAIRN_ENOMEM;
                break;
            }
            int pairs = cairn_regex_exec(r->re, val.data, val.len, 0, ov, GROUPS);
            if (pairs <= 0 || !r->target)
                break;
            cairn_buf_reset(&out);
            if (expand(&out, r->replacement, val.data, ov, pairs, r->re) ||
                cairn_buf_append(&out, "", 0)) {
                rc = CAIRN_ENOMEM;
                break;
            }
            cairn_buf_reset(&val);
            if (expand(&val, r->target, "", ov, 0, NULL) || cairn_buf_append(&val, "", 0)) {
                rc = CAIRN_ENOMEM;
                break;
            }
            if (val.len && set_label(ls, val.data, out.data, out.len))
                rc = CAIRN_ENOMEM;
            break;
        }
        case CAIRN_RELABEL_KEEP:
        case CAIRN_RELABEL_DROP: {
            if (join_sources(r, ls, &val)) {
                rc = CAIRN_ENOMEM;
                break;
            }
            int m = cairn_regex_match(r->re, val.data, val.len) == 1;
            if (m == (r->action == CAIRN_RELABEL_DROP))
                rc = 0;
            break;
        }
        case CAIRN_RELABEL_HASHMOD: {
            if (join_sources(r, ls, &val) || !r->modulus) {
                rc = r->modulus ? CAIRN_ENOMEM : rc;
                break;
            }
            char num[32];
            int nl = snprintf(num, sizeof num, "%llu",
                              (unsigned long long)(cairn_hash64(val.data, val.len) % r->modulus));
            if (r->target && set_label(ls, r->target, num, (size_t)nl))
                rc = CAIRN_ENOMEM;
            break;
        }
        case CAIRN_RELABEL_LABELMAP: {
            struct cairn_labels add;
            cairn_labels_init(&add);
            for (size_t i = 0; i < ls->n; i++) {
                int pairs = cairn_regex_exec(r->re, ls->v[i].name, ls->v[i].name_len, 0, ov, GROUPS);
                if (pairs <= 0)
                    continue;
                cairn_buf_reset(&out);
                if (expand(&out, r->replacement, ls->v[i].name, ov, pairs, r->re) ||
                    cairn_labels_add(&add, out.data ? out.data : "", out.len, ls->v[i].value,
                                     ls->v[i].value_len))
                    rc = CAIRN_ENOMEM;
            }
            for (size_t i = 0; i < add.n && rc == 1; i++)
                if (add.v[i].name_len && set_label(ls, add.v[i].name, add.v[i].value, add.v[i].value_len))
                    rc = CAIRN_ENOMEM;
            cairn_labels_deinit(&add);
            break;
        }
        case CAIRN_RELABEL_LABELDROP:
        case CAIRN_RELABEL_LABELKEEP:
            for (size_t i = 0; i < ls->n;) {
                int m = cairn_regex_match(r->re, ls->v[i].name, ls->v[i].name_len) == 1;
                if (m == (r->action == CAIRN_RELABEL_LABELDROP)) {
                    if (remove_at(ls, i)) {
                        rc = CAIRN_ENOMEM;
                        break;
                    }
                } else {
                    i++;
                }
            }
            break;
        }
    }
    cairn_buf_deinit(&val);
    cairn_buf_deinit(&out);
    return rc;
}

void cairn_ship_relabel_free(struct cairn_ship_relabel_rule *rules, size_t n)
{
    for (size_t i = 0; rules && i < n; i++)
        cairn_regex_destroy(rules[i].re);
    free(rules);
}

struct cairn_ship_relabel_rule *cairn_ship_relabel_compile(const struct cairn_cfg_list *cfgs,
                                                           const char *path,
                                                           struct cairn_err *err)
{
    const struct cairn_ship_relabel *c = cfgs->v;
    struct cairn_ship_relabel_rule *r = calloc(cfgs->n ? cfgs->n : 1, sizeof *r);
    if (!r) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < cfgs->n; i++) {
        r[i].action = c[i].action;
        r[i].sources = (const char *const *)c[i].source_labels.v;
        r[i].n_sources = c[i].source_labels.n;
        r[i].separator = c[i].separator ? c[i].separator : ";";
        r[i].target = c[i].target_label;
        r[i].replacement = c[i].replacement ? c[i].replacement : "$1";
        r[i].modulus = (uint64_t)c[i].modulus;
        const char *re = c[i].regex ? c[i].regex : "(.*)";
        struct cairn_err e2;
        r[i].re = cairn_regex_compile(re, strlen(re), CAIRN_RE_ANCHORED, &e2);
        if (!r[i].re) {
            cairn_err_set(err, CAIRN_EINVAL, "%s[%zu].regex: %s", path, i, e2.msg);
            cairn_ship_relabel_free(r, i);
            return NULL;
        }
        if ((c[i].action == CAIRN_RELABEL_REPLACE || c[i].action == CAIRN_RELABEL_HASHMOD) &&
            !(c[i].target_label && *c[i].target_label)) {
            cairn_err_set(err, CAIRN_EINVAL, "%s[%zu]: target_label is required for this action",
                          path, i);
            cairn_ship_relabel_free(r, i + 1);
            return NULL;
        }
        if (c[i].action == CAIRN_RELABEL_HASHMOD && c[i].modulus <= 0) {
            cairn_err_set(err, CAIRN_EINVAL, "%s[%zu]: modulus is required for hashmod", path, i);
            cairn_ship_relabel_free(r, i + 1);
            return NULL;
        }
    }
    return r;
}
