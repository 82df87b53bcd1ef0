/* relabel.c -- Prometheus relabel_configs over a target's label set: replace, keep,
 * drop, keepequal, dropequal, hashmod, labelmap, labeldrop, labelkeep, lowercase,
 * uppercase. Regexes are fully anchored, as in Prometheus; replacements (and
 * replace's target_label) expand $1, ${1}, $name and ${name} as Go's Regexp.Expand
 * does; hashmod is Prometheus's: the last 8 bytes of the MD5 of the joined value, big
 * endian, modulo modulus. */
#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/matcher.h"
#include "ship/ship_build.h"

#define GROUPS 16

static int is_word(char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Expand the template with the groups of the last match (Go's Regexp.Expand). */
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
        const char *s = braced ? p + 1 : p, *e = s;
        while (*e && is_word(*e))
            e++;
        size_t nl = (size_t)(e - s);
        if (nl == 0 || (braced && *e != '}')) {
            /* not a reference: Go writes the '$' as it is */
            if (cairn_buf_append_byte(out, '$'))
                return CAIRN_ENOMEM;
            continue;
        }
        p = braced ? e + 1 : e;
        int g = -1, numeric = 1;
        for (size_t i = 0; i < nl; i++)
            numeric &= s[i] >= '0' && s[i] <= '9';
        if (numeric) {
            g = 0;
            for (size_t i = 0; i < nl && g < 100000; i++)
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
    return cairn_buf_append(out, "", 0) ? CAIRN_ENOMEM : 0;
}

static int join_sources(const struct cairn_ship_relabel_rule *r, const struct cairn_sd_labels *ls,
                        struct cairn_buf *out)
{
    cairn_buf_reset(out);
    for (size_t i = 0; i < r->n_sources; i++) {
        if (i && cairn_buf_append_str(out, r->separator))
            return CAIRN_ENOMEM;
        size_t vl = 0;
        const char *v = cairn_sd_labels_get(ls, r->sources[i], strlen(r->sources[i]), &vl);
        if (v && cairn_buf_append(out, v, vl))
            return CAIRN_ENOMEM;
    }
    return cairn_buf_append(out, "", 0) ? CAIRN_ENOMEM : 0;
}

static int name_valid(const char *p, size_t n)
{
    if (n == 0 || (p[0] >= '0' && p[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_word(p[i]))
            return 0;
    return 1;
}

/* Set name to v; an empty value removes the label (Prometheus's builder). */
static int set_label(struct cairn_sd_labels *ls, const char *name, size_t nl, const char *v,
                     size_t vl)
{
    if (vl == 0) {
        for (size_t i = 0; i < ls->n; i++)
            if (ls->v[i].name_len == nl && memcmp(ls->v[i].name, name, nl) == 0) {
                cairn_sd_labels_remove_at(ls, i);
                break;
            }
        return 0;
    }
    return cairn_sd_labels_set(ls, name, nl, v, vl);
}

static uint64_t hashmod(const char *v, size_t n, uint64_t mod)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int ml = 0;
    if (!EVP_Digest(v, n, md, &ml, EVP_md5(), NULL) || ml != 16)
        return 0;
    uint64_t s = 0;
    for (int i = 8; i < 16; i++)
        s = s << 8 | md[i];
    return s % mod;
}

static int apply_one(const struct cairn_ship_relabel_rule *r, struct cairn_sd_labels *ls,
                     struct cairn_buf *val, struct cairn_buf *out, struct cairn_buf *tgt)
{
    size_t ov[2 * GROUPS];
    switch (r->action) {
    case CAIRN_RELABEL_REPLACE: {
        if (join_sources(r, ls, val))
            return CAIRN_ENOMEM;
        int pairs = cairn_regex_exec(r->re, val->data, val->len, 0, ov, GROUPS);
        if (pairs <= 0)
            return 1;
        cairn_buf_reset(out);
        cairn_buf_reset(tgt);
        if (expand(tgt, r->target, val->data, ov, pairs, r->re) ||
            expand(out, r->replacement, val->data, ov, pairs, r->re))
            return CAIRN_ENOMEM;
        if (out->len == 0)
            return set_label(ls, tgt->data, tgt->len, "", 0) ? CAIRN_ENOMEM : 1;
        if (!name_valid(tgt->data, tgt->len))
            return 1; /* Prometheus leaves the set as it is */
        return set_label(ls, tgt->data, tgt->len, out->data, out->len) ? CAIRN_ENOMEM : 1;
    }
    case CAIRN_RELABEL_KEEP:
    case CAIRN_RELABEL_DROP: {
        if (join_sources(r, ls, val))
            return CAIRN_ENOMEM;
        int m = cairn_regex_match(r->re, val->data, val->len) == 1;
        return m == (r->action == CAIRN_RELABEL_KEEP);
    }
    case CAIRN_RELABEL_KEEPEQUAL:
    case CAIRN_RELABEL_DROPEQUAL: {
        if (join_sources(r, ls, val))
            return CAIRN_ENOMEM;
        size_t tl = 0;
        const char *t = cairn_sd_labels_get(ls, r->target, strlen(r->target), &tl);
        int eq = (t ? tl : 0) == val->len && memcmp(t ? t : "", val->data, val->len) == 0;
        return eq == (r->action == CAIRN_RELABEL_KEEPEQUAL);
    }
    case CAIRN_RELABEL_HASHMOD: {
        if (join_sources(r, ls, val))
            return CAIRN_ENOMEM;
        char num[32];
        int nl = snprintf(num, sizeof num, "%llu",
                          (unsigned long long)hashmod(val->data, val->len, r->modulus));
        return set_label(ls, r->target, strlen(r->target), num, (size_t)nl) ? CAIRN_ENOMEM : 1;
    }
    case CAIRN_RELABEL_LOWERCASE:
    case CAIRN_RELABEL_UPPERCASE: {
        if (join_sources(r, ls, val))
            return CAIRN_ENOMEM;
        for (size_t i = 0; i < val->len; i++)
            val->data[i] = (char)(r->action == CAIRN_RELABEL_LOWERCASE
                                      ? tolower((unsigned char)val->data[i])
                                      : toupper((unsigned char)val->data[i]));
        return set_label(ls, r->target, strlen(r->target), val->data, val->len) ? CAIRN_ENOMEM
                                                                                 : 1;
    }
    case CAIRN_RELABEL_LABELMAP: {
        struct cairn_sd_labels add;
        cairn_sd_labels_init(&add);
        int rc = 1;
        for (size_t i = 0; i < ls->n && rc == 1; i++) {
            int pairs = cairn_regex_exec(r->re, ls->v[i].name, ls->v[i].name_len, 0, ov, GROUPS);
            if (pairs <= 0)
                continue;
            cairn_buf_reset(out);
            if (expand(out, r->replacement, ls->v[i].name, ov, pairs, r->re) ||
                cairn_sd_labels_set(&add, out->data, out->len, ls->v[i].value, ls->v[i].value_len))
                rc = CAIRN_ENOMEM;
        }
        for (size_t i = 0; i < add.n && rc == 1; i++)
            if (add.v[i].name_len && set_label(ls, add.v[i].name, add.v[i].name_len,
                                               add.v[i].value, add.v[i].value_len))
                rc = CAIRN_ENOMEM;
        cairn_sd_labels_deinit(&add);
        return rc;
    }
    case CAIRN_RELABEL_LABELDROP:
    case CAIRN_RELABEL_LABELKEEP:
        for (size_t i = 0; i < ls->n;) {
            int m = cairn_regex_match(r->re, ls->v[i].name, ls->v[i].name_len) == 1;
            if (m == (r->action == CAIRN_RELABEL_LABELDROP))
                cairn_sd_labels_remove_at(ls, i);
            else
                i++;
        }
        return 1;
    }
    return 1;
}

int cairn_ship_relabel_apply(const struct cairn_ship_relabel_rule *rules, size_t n,
                             struct cairn_sd_labels *ls)
{
    struct cairn_buf val = CAIRN_BUF_INIT, out = CAIRN_BUF_INIT, tgt = CAIRN_BUF_INIT;
    int rc = 1;
    for (size_t k = 0; k < n && rc == 1; k++)
        rc = apply_one(&rules[k], ls, &val, &out, &tgt);
    cairn_buf_deinit(&val);
    cairn_buf_deinit(&out);
    cairn_buf_deinit(&tgt);
    return rc;
}

void cairn_ship_relabel_free(struct cairn_ship_relabel_rule *rules, size_t n)
{
    for (size_t i = 0; rules && i < n; i++)
        cairn_regex_destroy(rules[i].re);
    free(rules);
}

static int needs_target(int a)
{
    return a == CAIRN_RELABEL_REPLACE || a == CAIRN_RELABEL_HASHMOD ||
           a == CAIRN_RELABEL_LOWERCASE || a == CAIRN_RELABEL_UPPERCASE ||
           a == CAIRN_RELABEL_KEEPEQUAL || a == CAIRN_RELABEL_DROPEQUAL;
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
        r[i].target = c[i].target_label ? c[i].target_label : "";
        r[i].replacement = c[i].replacement ? c[i].replacement : "$1";
        r[i].modulus = (uint64_t)c[i].modulus;
        const char *re = c[i].regex ? c[i].regex : "(.*)";
        struct cairn_err e2;
        r[i].re = cairn_regex_compile(re, strlen(re), CAIRN_RE_ANCHORED, &e2);
        const char *why = NULL;
        if (!r[i].re)
            why = e2.msg;
        else if (needs_target(c[i].action) && !*r[i].target)
            why = "target_label is required for this action";
        else if (c[i].action == CAIRN_RELABEL_HASHMOD && c[i].modulus <= 0)
            why = "modulus is required for hashmod";
        else if ((c[i].action == CAIRN_RELABEL_LOWERCASE || c[i].action == CAIRN_RELABEL_UPPERCASE ||
                  c[i].action == CAIRN_RELABEL_KEEPEQUAL || c[i].action == CAIRN_RELABEL_DROPEQUAL ||
                  c[i].action == CAIRN_RELABEL_HASHMOD) &&
                 !name_valid(r[i].target, strlen(r[i].target)))
            why = "target_label is not a valid label name";
        else if ((c[i].action == CAIRN_RELABEL_LABELDROP || c[i].action == CAIRN_RELABEL_LABELKEEP) &&
                 (c[i].source_labels.n || (c[i].target_label && *c[i].target_label)))
            why = "labeldrop and labelkeep take only regex";
        if (why) {
            cairn_err_set(err, CAIRN_EINVAL, "%s[%zu]%s%s", path, i, r[i].re ? ": " : ".regex: ",
                          why);
            cairn_ship_relabel_free(r, i + 1);
            return NULL;
        }
    }
    return r;
}
