/* pipeline_parse.c -- the log pipeline's parser stages: json (flattened or by path,
 * with the one-scan label-filter shortcut), logfmt, regexp, pattern and unpack. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/parse_json.h"
#include "cairn/parse_logfmt.h"
#include "cairn/parse_template.h"
#include "cairn/parse_units.h"
#include "logql/pipeline_int.h"


static int sanitized_set(struct cairn_logql_pipeline *p, const char *k, size_t kl,
                         const char *v, size_t vl)
{
    cairn_buf_reset(&p->key);
    if (cairn_json_sanitize_key(&p->key, k, kl, 1))
        return CAIRN_ENOMEM;
    if (!p->key.len)
        return 0;
    return cairn__lb_set(&p->lb, p->key.data, p->key.len, v, vl, LB_PARSED | cairn__lq_view_flags(p, v));
}

static int json_value(struct cairn_logql_pipeline *p, const struct cairn_json_tok *v,
                      const char **s, size_t *l)
{
    if (v->type == CAIRN_JSON_NULL) {
        *s = "";
        *l = 0;
        return 0;
    }
    if (v->type == CAIRN_JSON_STRING && v->escaped) {
        cairn_buf_reset(&p->tmp);
        int rc = cairn_json_unescape(v->p, v->len, &p->tmp);
        if (rc)
            return rc;
        *s = p->tmp.data ? p->tmp.data : "";
        *l = p->tmp.len;
        return 0;
    }
    *s = v->p;
    *l = v->len;
    return 0;
}

int cairn__lq_view_flags(const struct cairn_logql_pipeline *p, const char *v)
{
    return p->line == p->input && v >= p->input && v < p->input + p->len ? LB_VALUE_STABLE : 0;
}

int cairn__lq_json(struct cairn_logql_pipeline *p, struct stage_rt *s)
{
    const struct cairn_lq_stage *st = s->st;
    if (!st->nparams)
        return cairn__lq_json_flat(p);
    /* Loki 2.7 checks the line with jsoniter's Valid before any path (one value,
     * what follows is not looked at) and on failure sets JSONParserErr alone: no
     * labels, no details. */
    if (!cairn__lq_json_valid(p))
        return cairn__lb_set_error(&p->lb, "JSONParserErr", NULL);
    for (size_t i = 0; i < st->nparams; i++) {
        struct cairn_json_tok v;
        const char *raw = NULL, *val = "";
        size_t rawlen = 0, vl = 0;
        int rc = cairn_jsonpath_get(s->paths[i], p->line, p->len, &v, &raw, &rawlen);
        if (rc < 0)
            return cairn__lb_set_error(&p->lb, "JSONParserErr", "invalid JSON");
        if (rc == 1) {
            if (v.type == CAIRN_JSON_OBJECT_START || v.type == CAIRN_JSON_ARRAY_START) {
                val = raw;
                vl = rawlen;
            } else if ((rc = json_value(p, &v, &val, &vl))) {
                if (rc == CAIRN_ENOMEM)
                    return rc;
                val = "";
                vl = 0;
            }
        }
        const struct cairn_lq_str *nm = &st->params[i].name;
        if (cairn__lb_set(&p->lb, nm->p, nm->len, val, vl, LB_PARSED | LB_NAME_STABLE))
            return CAIRN_ENOMEM;
    }
    return 0;
}

/* Decide `| json | name=~"..."` from one scan when the answer is "drop": the label
 * the json stage would give `name` is the last scalar under a top-level key equal to
 * it (nested keys join with '_', which name has not). Returns 0 to drop the entry, 1
 * when the full stage must run (kept, absent, clash with a stream label, escaped
 * keys, and any malformed JSON: jsoniter may read on past an error and set labels
 * after it, so only well-formed lines are decided here; on those the stage and this
 * scan agree: null makes no label, the last duplicate wins). */
int cairn__lq_json_prefilter(struct cairn_logql_pipeline *p, const struct cairn_matcher *m)
{
    if (p->lb.stream && cairn_labels_get(p->lb.stream, m->name, m->name_len))
        return 1;
    struct cairn_json js;
    struct cairn_json_tok t, v, last = {0};
    int found = 0;
    cairn_json_init(&js, p->line, p->len);
    if (cairn_json_next(&js, &t) != CAIRN_JSON_OBJECT_START)
        return 1;
    for (;;) {
        enum cairn_json_type ty = cairn_json_next(&js, &t);
        if (ty == CAIRN_JSON_OBJECT_END)
            break;
        if (ty != CAIRN_JSON_KEY)
            return 1; /* malformed: jsoniter may read on past it (pipeline_json.c) */
        const unsigned char *k = (const unsigned char *)t.p;
        size_t kl = t.len;
        /* a key the stage would trim (Go's TrimSpace, Unicode spaces too) or that
         * holds escapes is left to the stage */
        if (t.escaped || (kl && (k[0] <= ' ' || k[0] >= 0x80 || k[kl - 1] <= ' ' || k[kl - 1] >= 0x80)))
            return 1;
        int hit = kl == m->name_len && memcmp(k, m->name, kl) == 0;
        ty = cairn_json_next(&js, &v);
        if (ty == CAIRN_JSON_ERROR)
            return 1;
        if (ty == CAIRN_JSON_OBJECT_START || ty == CAIRN_JSON_ARRAY_START) {
            if (cairn_json_skip(&js, &v))
                return 1;
            continue;
        }
        if (hit && ty != CAIRN_JSON_NULL) {
            last = v;
            found = 1;
        }
    }
    if (!found)
        return 1;
    const char *val;
    size_t vl;
    if (json_value(p, &last, &val, &vl))
        return 1;
    if (last.type == CAIRN_JSON_STRING && cairn_logfmt_has_rune_error(val, vl))
        vl = 0;
    return cairn_matcher_matches(m, val, vl);
}

/* Loki 2.7's logfmt stage: every pair up to the first syntax error becomes a label
 * (bare keys and `k=` as ""), the error stops the scan and sets LogfmtParserErr with
 * go-logfmt's message. A value holding invalid UTF-8 or U+FFFD is "". `--strict` and
 * `--keep-empty` (Loki 2.9+) describe this behaviour already and change nothing. */
static int logfmt_error(struct cairn_logql_pipeline *p, size_t pos, const char *why)
{
    char msg[128];
    snprintf(msg, sizeof(msg), "logfmt syntax error at pos %zu : %s", pos, why);
    return cairn__lb_set_error(&p->lb, "LogfmtParserErr", msg);
}

int cairn__lq_logfmt(struct cairn_logql_pipeline *p, struct stage_rt *s)
{
    const struct cairn_lq_stage *st = s->st;
    struct cairn_logfmt it;
    struct cairn_logfmt_pair pr;
    int rc = 0;
    cairn_logfmt_init(&it, p->line, p->len);
    for (;;) {
        int r = cairn_logfmt_next(&it, &pr);
        if (r == 0)
            break;
        if (r < 0) {
            rc = logfmt_error(p, it.err_pos, it.why);
            break;
        }
        const char *v = pr.val;
        size_t vl = pr.val_len;
        if (pr.quoted) { /* escapes to resolve: copy; otherwise a view of the line */
            cairn_buf_reset(&p->tmp2);
            int u = cairn_logfmt_value(&pr, &p->tmp2);
            if (u == CAIRN_ENOMEM)
                return u;
            if (u) { /* go-logfmt reports it just past the closing quote */
                rc = logfmt_error(p, it.pos + 1, "invalid quoted value");
                break;
            }
            v = p->tmp2.data ? p->tmp2.data : "";
            vl = p->tmp2.len;
        }
        if (pr.hi && cairn_logfmt_has_rune_error(v, vl))
            vl = 0;
        if (st->nparams) {
            for (size_t i = 0; i < st->nparams; i++) {
                const struct cairn_lq_param *pm = &st->params[i];
                if (pm->value.len == pr.key_len && memcmp(pm->value.p, pr.key, pr.key_len) == 0 &&
                    cairn__lb_set(&p->lb, pm->name.p, pm->name.len, v, vl,
                                  LB_PARSED | LB_NAME_STABLE | cairn__lq_view_flags(p, v)))
                    return CAIRN_ENOMEM;
            }
            continue;
        }
        if (sanitized_set(p, pr.key, pr.key_len, v, vl))
            return CAIRN_ENOMEM;
    }
    if (rc)
        return rc;
    /* With field arguments every requested label exists, empty if not found. */
    for (size_t i = 0; i < st->nparams; i++) {
        const struct cairn_lq_param *pm = &st->params[i];
        if (cairn__lb_find(&p->lb, pm->name.p, pm->name.len) < 0 &&
            cairn__lb_set(&p->lb, pm->name.p, pm->name.len, "", 0, LB_PARSED | LB_NAME_STABLE))
            return CAIRN_ENOMEM;
    }
    return 0;
}

#define RE_MAX_GROUPS 64
int cairn__lq_regexp(struct cairn_logql_pipeline *p, struct stage_rt *s)
{
    size_t ov[2 * RE_MAX_GROUPS];
    int ng = cairn_regex_exec(s->re, p->line, p->len, 0, ov, RE_MAX_GROUPS);
    if (ng <= 0)
        return 0;
    for (int g = 1; g <= cairn_regex_groups(s->re) && g < RE_MAX_GROUPS; g++) {
        const char *nm = cairn_regex_group_name(s->re, g);
        if (!nm)
            continue;
        const char *v = "";
        size_t vl = 0;
        if (g < ng && ov[2 * g] != (size_t)-1) {
            v = p->line + ov[2 * g];
            vl = ov[2 * g + 1] - ov[2 * g];
        }
        if (cairn__lb_set(&p->lb, nm, strlen(nm), v, vl, LB_PARSED | LB_NAME_STABLE | cairn__lq_view_flags(p, v)))
            return CAIRN_ENOMEM;
    }
    return 0;
}

int cairn__lq_pattern(struct cairn_logql_pipeline *p, struct stage_rt *s)
{
    struct cairn_pattern_capture caps[CAIRN_PATTERN_MAX_CAPTURES];
    int n = cairn_pattern_extract(s->pat, p->line, p->len, caps);
    for (int i = 0; i < n; i++)
        if (cairn__lb_set(&p->lb, caps[i].name, caps[i].name_len, caps[i].v, caps[i].len,
                          LB_PARSED | LB_NAME_STABLE | cairn__lq_view_flags(p, caps[i].v)))
            return CAIRN_ENOMEM;
    return 0;
}

/* ---- templates ---- */
