/* stage_parse.c -- stages that parse into the extracted map, on the shared parsers:
 * json (parse_jsonpath.h over json.h), logfmt (parse_logfmt.h), regex (matcher.h's
 * PCRE2 wrapper), and the ones that rewrite values with templates (parse_template.h):
 * template and replace. */
#include <stdlib.h>
#include <string.h>

#include "cairn/log.h"
#include "cairn/matcher.h"
#include "cairn/parse_json.h"
#include "cairn/parse_logfmt.h"
#include "cairn/parse_template.h"
#include "cairn/timeutil.h"
#include "ship/ship_int.h"

#define MAX_GROUPS 32

/* The source text of a stage: the line, or an extracted value copied into `copy`
 * (extracting appends to the entry's store, which may move). NULL if the extracted
 * key is absent. */
static const char *source_text(struct cairn_ship_entry *e, const char *source, size_t slen,
                               struct cairn_buf *copy, size_t *len)
{
    if (!source) {
        *len = e->line.len;
        return e->line.data ? e->line.data : "";
    }
    size_t vl;
    const char *v = cairn_ship_ex_get(e, source, slen, &vl);
    if (!v)
        return NULL;
    cairn_buf_reset(copy);
    if (cairn_buf_append(copy, v, vl))
        return NULL;
    *len = vl;
    return copy->data;
}

/* ---- json ---- */

#define JSON_MAX_EXPR 64

struct json_stage {
    size_t n;
    char **names;
    struct cairn_jsonpath **paths;
    char *source;
    size_t source_len;
    int drop_malformed;
    struct cairn_buf doc, val;
};

/* Promtail writes JMESPath's quoted keys as `a."b.c"`; the shared path syntax says
 * `a["b.c"]`. Rewrite the first form into the second before compiling. */
static int jmespath_to_brackets(const char *e, struct cairn_buf *out)
{
    cairn_buf_reset(out);
    int rc = 0;
    for (size_t i = 0; e[i] && !rc;) {
        if (e[i] == '"' && (i == 0 || e[i - 1] == '.')) {
            if (i > 0)
                cairn_buf_truncate(out, out->len - 1); /* drop the '.' */
            size_t j = i + 1;
            while (e[j] && e[j] != '"')
                j++;
            rc |= cairn_buf_append_str(out, "[\"");
            rc |= cairn_buf_append(out, e + i + 1, j - i - 1);
            rc |= cairn_buf_append_str(out, "\"]");
            i = e[j] ? j + 1 : j;
            continue;
        }
        rc |= cairn_buf_append_byte(out, e[i++]);
    }
    return rc ? CAIRN_ENOMEM : 0;
}

/* An object or array value goes into the extracted map as JSON text; Promtail
 * re-encodes it compactly, so drop the whitespace between tokens (strings are copied
 * as they are). 1 if out holds the compact text, 0 if raw was compact already. */
static int json_compact(const char *raw, size_t len, struct cairn_buf *out)
{
    int in_str = 0, spaced = 0;
    for (size_t i = 0; i < len && !spaced; i++) {
        char c = raw[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"')
            in_str = 1;
        else
            spaced = c == ' ' || c == '\t' || c == '\n' || c == '\r';
    }
    if (!spaced)
        return 0;
    cairn_buf_reset(out);
    if (cairn_buf_reserve(out, len))
        return -1;
    size_t k = 0;
    in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char c = raw[i];
        if (in_str) {
            if (c == '\\' && i + 1 < len) {
                out->data[k++] = c;
                c = raw[++i];
            } else if (c == '"') {
                in_str = 0;
            }
        } else if (c == '"') {
            in_str = 1;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            continue;
        }
        out->data[k++] = c;
    }
    out->len = k;
    out->data[k] = '\0';
    return 1;
}

static int json_process(struct cairn__stage *s, struct cairn_ship_entry *e)
{
    struct json_stage *j = s->st;
    size_t len;
    const char *doc = source_text(e, j->source, j->source_len, &j->doc, &len);
    if (!doc)
        return CAIRN__KEEP;
    for (size_t i = 0; i < j->n; i++) {
        struct cairn_json_tok v;
        const char *raw;
        size_t rawlen;
        int rc = cairn_jsonpath_get(j->paths[i], doc, len, &v, &raw, &rawlen);
        if (rc < 0) {
            CAIRN_DEBUG("json", "could not parse JSON", "%s", "");
            return j->drop_malformed ? CAIRN__DROP : CAIRN__KEEP;
        }
        if (rc == 0 || v.type == CAIRN_JSON_NULL)
            continue;
        if (v.type == CAIRN_JSON_STRING && v.escaped) {
            cairn_buf_reset(&j->val);
            if (cairn_json_unescape(v.p, v.len, &j->val))
                continue;
            raw = j->val.data ? j->val.data : "";
            rawlen = j->val.len;
        } else if (v.type == CAIRN_JSON_OBJECT_START || v.type == CAIRN_JSON_ARRAY_START) {
            int c = json_compact(raw, rawlen, &j->val);
            if (c < 0)
                return CAIRN_ENOMEM;
            if (c) {
                raw = j->val.data;
                rawlen = j->val.len;
            }
        }
        if (cairn_ship_ex_set(e, j->names[i], strlen(j->names[i]), raw, rawlen))
            return CAIRN_ENOMEM;
    }
    return CAIRN__KEEP;
}

static void json_destroy(struct cairn__stage *s)
{
    struct json_stage *j = s->st;
    if (!j)
        return;
    for (size_t i = 0; i < j->n; i++) {
        free(j->names[i]);
        cairn_jsonpath_destroy(j->paths[i]);
    }
    free(j->names);
    free(j->paths);
    free(j->source);
    cairn_buf_deinit(&j->doc);
    cairn_buf_deinit(&j->val);
    free(j);
}

static const struct cairn__stage_ops json_ops = {
    .name = "json",
    .process = json_process,
    .destroy = json_destroy,
};

int cairn__stage_json(struct cairn_ship_pipeline *pl, const struct cairn__kv *expr, size_t n,
                      const char *source, int drop_malformed, struct cairn_err *err)
{
    if (n == 0)
        return cairn_err_set(err, CAIRN_EINVAL, "json stage: expressions is required");
    if (n > JSON_MAX_EXPR)
        return cairn_err_set(err, CAIRN_EINVAL, "json stage: more than %d expressions",
                             JSON_MAX_EXPR);
    struct json_stage *j = calloc(1, sizeof *j);
    if (!j)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    struct cairn__stage tmp = {NULL, j, NULL};
    j->names = calloc(n, sizeof *j->names);
    j->paths = calloc(n, sizeof *j->paths);
    j->drop_malformed = drop_malformed;
    if (!j->names || !j->paths)
        goto nomem;
    if (source && *source) {
        if (!(j->source = strdup(source)))
            goto nomem;
        j->source_len = strlen(source);
    }
    for (size_t i = 0; i < n; i++) {
        const char *path = expr[i].v && *expr[i].v ? expr[i].v : expr[i].k;
        if (!(j->names[i] = strdup(expr[i].k)))
            goto nomem;
        j->n = i + 1;
        if (jmespath_to_brackets(path, &j->val))
            goto nomem;
        j->paths[i] = cairn_jsonpath_compile(j->val.data, j->val.len, err);
        if (!j->paths[i]) {
            json_destroy(&tmp);
            return err && err->code ? err->code : CAIRN_EINVAL;
        }
    }
    if (cairn__pipeline_add(pl, &json_ops, j, "json_stage"))
        goto nomem;
    return 0;
nomem:
    json_destroy(&tmp);
    return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
}

/* ---- logfmt ---- */

struct logfmt_stage {
    size_t n;
    char **names, **keys;
    size_t *key_lens;
    char *source;
    size_t source_len;
    struct cairn_buf doc, val;
};

static int logfmt_process(struct cairn__stage *s, struct cairn_ship_entry *e)
{
    struct logfmt_stage *l = s->st;
    size_t len;
    const char *doc = source_text(e, l->source, l->source_len, &l->doc, &len);
    if (!doc)
        return CAIRN__KEEP;
    struct cairn_logfmt it;
    struct cairn_logfmt_pair pr;
    cairn_logfmt_init(&it, doc, len);
    for (;;) {
        int r = cairn_logfmt_next(&it, &pr);
        if (r == 0)
            break;
        if (r < 0) {
            cairn_logfmt_recover(&it);
            continue;
        }
        for (size_t i = 0; i < l->n; i++) {
            if (l->key_lens[i] != pr.key_len || memcmp(l->keys[i], pr.key, pr.key_len))
                continue;
            cairn_buf_reset(&l->val);
            if (cairn_logfmt_value(&pr, &l->val))
                continue;
            if (cairn_ship_ex_set(e, l->names[i], strlen(l->names[i]),
                                  l->val.data ? l->val.data : "", l->val.len))
                return CAIRN_ENOMEM;
        }
    }
    return CAIRN__KEEP;
}

static void logfmt_destroy(struct cairn__stage *s)
{
    struct logfmt_stage *l = s->st;
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->names[i]);
        free(l->keys[i]);
    }
    free(l->names);
    free(l->keys);
    free(l->key_lens);
    free(l->source);
    cairn_buf_deinit(&l->doc);
    cairn_buf_deinit(&l->val);
    free(l);
}

static const struct cairn__stage_ops logfmt_ops = {
    .name = "logfmt",
    .process = logfmt_process,
    .destroy = logfmt_destroy,
};

int cairn__stage_logfmt(struct cairn_ship_pipeline *pl, const struct cairn__kv *map, size_t n,
                        const char *source, struct cairn_err *err)
{
    if (n == 0)
        return cairn_err_set(err, CAIRN_EINVAL, "logfmt stage: mapping is required");
    struct logfmt_stage *l = calloc(1, sizeof *l);
    if (!l)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    struct cairn__stage tmp = {NULL, l, NULL};
    l->names = calloc(n, sizeof *l->names);
    l->keys = calloc(n, sizeof *l->keys);
    l->key_lens = calloc(n, sizeof *l->key_lens);
    if (!l->names || !l->keys || !l->key_lens)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        const char *key = map[i].v && *map[i].v ? map[i].v : map[i].k;
        l->names[i] = strdup(map[i].k);
        l->keys[i] = strdup(key);
        l->n = i + 1;
        if (!l->names[i] || !l->keys[i])
            goto nomem;
        l->key_lens[i] = strlen(key);
    }
    if (source && *source) {
        if (!(l->source = strdup(source)))
            goto nomem;
        l->source_len = strlen(source);
    }
    if (cairn__pipeline_add(pl, &logfmt_ops, l, NULL))
        goto nomem;
    return 0;
nomem:
    logfmt_destroy(&tmp);
    return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
}

/* ---- regex ---- */

struct regex_stage {
    struct cairn_regex *re;
    int groups;
    char *source;
    size_t source_len;
    struct cairn_buf doc;
};

static int regex_process(struct cairn__stage *s, struct cairn_ship_entry *e)
{
    struct regex_stage *r = s->st;
    size_t len;
    const char *doc = source_text(e, r->source, r->source_len, &r->doc, &len);
    if (!doc)
        return CAIRN__KEEP;
    size_t ov[2 * (MAX_GROUPS + 1)];
    int pairs = cairn_regex_exec(r->re, doc, len, 0, ov, MAX_GROUPS + 1);
    if (pairs <= 0)
        return CAIRN__KEEP;
    if (!r->source) {
        /* the line itself: copy so that ex_set cannot invalidate it (it does not
         * touch the line buffer, but keep one rule for both paths) */
        cairn_buf_reset(&r->doc);
        if (cairn_buf_append(&r->doc, doc, len))
            return CAIRN_ENOMEM;
        doc = r->doc.data;
    }
    for (int g = 1; g < pairs && g <= r->groups; g++) {
        const char *name = cairn_regex_group_name(r->re, g);
        if (!name || ov[2 * g] > len || ov[2 * g + 1] > len)
            continue;
        if (cairn_ship_ex_set(e, name, strlen(name), doc + ov[2 * g], ov[2 * g + 1] - ov[2 * g]))
            return CAIRN_ENOMEM;
    }
    return CAIRN__KEEP;
}

static void regex_destroy(struct cairn__stage *s)
{
    struct regex_stage *r = s->st;
    if (!r)
        return;
    cairn_regex_destroy(r->re);
    free(r->source);
    cairn_buf_deinit(&r->doc);
    free(r);
}

static const struct cairn__stage_ops regex_ops = {
    .name = "regex",
    .process = regex_process,
    .destroy = regex_destroy,
};

int cairn__stage_regex(struct cairn_ship_pipeline *pl, const char *expression,
                       const char *source, struct cairn_err *err)
{
    if (!expression || !*expression)
        return cairn_err_set(err, CAIRN_EINVAL, "regex stage: expression is required");
    struct regex_stage *r = calloc(1, sizeof *r);
    if (!r)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    struct cairn__stage tmp = {NULL, r, NULL};
    r->re = cairn_regex_compile(expression, strlen(expression), 0, err);
    if (!r->re) {
        regex_destroy(&tmp);
        return CAIRN_EINVAL;
    }
    r->groups = cairn_regex_groups(r->re);
    if (r->groups > MAX_GROUPS) {
        regex_destroy(&tmp);
        return cairn_err_set(err, CAIRN_EINVAL, "regex stage: more than %d groups", MAX_GROUPS);
    }
    int named = 0;
    for (int g = 1; g <= r->groups; g++)
        named += cairn_regex_group_name(r->re, g) != NULL;
    if (!named) {
        regex_destroy(&tmp);
        return cairn_err_set(err, CAIRN_EINVAL, "regex stage: expression must contain at least "
                             "one named capture group");
    }
    if (source && *source) {
        if (!(r->source = strdup(source))) {
            regex_destroy(&tmp);
            return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        }
        r->source_len = strlen(source);
    }
    if (cairn__pipeline_add(pl, &regex_ops, r, NULL)) {
        regex_destroy(&tmp);
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    }
    return 0;
}

/* ---- template and replace: the Go template subset over the extracted map ---- */

struct tpl_lookup {
    struct cairn_ship_entry *e;
    const char *value; /* .Value */
    size_t value_len;
    int has_value;
};

static int tpl_lookup(void *arg, const char *name, size_t len, const char **v, size_t *vlen)
{
    struct tpl_lookup *t = arg;
    if (t->has_value && len == 5 && memcmp(name, "Value", 5) == 0) {
        *v = t->value;
        *vlen = t->value_len;
        return 1;
    }
    const char *x = cairn_ship_ex_get(t->e, name, len, vlen);
    if (x) {
        *v = x;
        return 1;
    }
    /* Promtail's template data: the extracted map, .Value, and .Entry (the line) */
    if (len == 5 && memcmp(name, "Entry", 5) == 0) {
        *v = t->e->line.data ? t->e->line.data : "";
        *vlen = t->e->line.len;
        return 1;
    }
    return 0;
}

struct tpl_stage {
    struct cairn_template *tpl;
    struct cairn_regex *re; /* replace only */
    char *source;
    size_t source_len;
    struct cairn_buf val, out, piece;
};

static int render(struct tpl_stage *t, struct cairn_ship_entry *e, const char *value, size_t vl,
                  int has_value, struct cairn_buf *out)
{
    struct tpl_lookup lk = {e, value, vl, has_value};
    struct cairn_template_ctx ctx = {tpl_lookup, &lk, e->line.data ? e->line.data : "",
                                     e->line.len, e->ts, cairn_now_ns()};
    struct cairn_err err;
    size_t mark = out->len;
    if (cairn_template_render(t->tpl, &ctx, out, &err)) {
        cairn_buf_truncate(out, mark);
        CAIRN_DEBUG("template", "render failed", "err=\"%s\"", err.msg);
        return CAIRN_EINVAL;
    }
    return 0;
}

static int template_process(struct cairn__stage *s, struct cairn_ship_entry *e)
{
    struct tpl_stage *t = s->st;
    size_t vl = 0;
    const char *v = cairn_ship_ex_get(e, t->source, t->source_len, &vl);
    cairn_buf_reset(&t->val);
    if (v && cairn_buf_append(&t->val, v, vl))
        return CAIRN_ENOMEM;
    cairn_buf_reset(&t->out);
    if (render(t, e, t->val.data ? t->val.data : "", t->val.len, 1, &t->out))
        return CAIRN__KEEP;
    if (cairn_ship_ex_set(e, t->source, t->source_len, t->out.data ? t->out.data : "", t->out.len))
        return CAIRN_ENOMEM;
    return CAIRN__KEEP;
}

static void tpl_destroy(struct cairn__stage *s)
{
    struct tpl_stage *t = s->st;
    if (!t)
        return;
    cairn_template_destroy(t->tpl);
    cairn_regex_destroy(t->re);
    free(t->source);
    cairn_buf_deinit(&t->val);
    cairn_buf_deinit(&t->out);
    cairn_buf_deinit(&t->piece);
    free(t);
}

static const struct cairn__stage_ops template_ops = {
    .name = "template",
    .process = template_process,
    .destroy = tpl_destroy,
};

int cairn__stage_template(struct cairn_ship_pipeline *pl, const char *source, const char *tpl,
                          struct cairn_err *err)
{
    if (!source || !*source)
        return cairn_err_set(err, CAIRN_EINVAL, "template stage: source is required");
    if (!tpl)
        return cairn_err_set(err, CAIRN_EINVAL, "template stage: template is required");
    struct tpl_stage *t = calloc(1, sizeof *t);
    if (!t)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    struct cairn__stage tmp = {NULL, t, NULL};
    t->tpl = cairn_template_compile(tpl, strlen(tpl), err);
    if (!t->tpl) {
        tpl_destroy(&tmp);
        return CAIRN_EINVAL;
    }
    t->source = strdup(source);
    t->source_len = strlen(source);
    if (!t->source || cairn__pipeline_add(pl, &template_ops, t, NULL)) {
        tpl_destroy(&tmp);
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    }
    return 0;
}

/* replace: every capture group of every match is replaced by the rendered template
 * (with .Value the captured text); named groups are also extracted. */
static int replace_process(struct cairn__stage *s, struct cairn_ship_entry *e)
{
    struct tpl_stage *t = s->st;
    size_t len;
    const char *src = source_text(e, t->source, t->source_len, &t->val, &len);
    if (!src)
        return CAIRN__KEEP;
    if (!t->source) {
        cairn_buf_reset(&t->val);
        if (cairn_buf_append(&t->val, src, len))
            return CAIRN_ENOMEM;
        src = t->val.data ? t->val.data : "";
    }
    cairn_buf_reset(&t->out);
    size_t pos = 0, copied = 0;
    int any = 0;
    int groups = cairn_regex_groups(t->re);
    long prev_end = -1;
    while (pos <= len) {
        size_t ov[2 * (MAX_GROUPS + 1)];
        int pairs = cairn_regex_exec(t->re, src, len, pos, ov, MAX_GROUPS + 1);
        if (pairs <= 0)
            break;
        if (ov[0] == ov[1] && (long)ov[0] == prev_end) {
            /* Go's FindAll: an empty match right after the previous match is none */
            pos = ov[0] + 1;
            continue;
        }
        prev_end = (long)ov[1];
        any = 1;
        for (int g = 1; g < pairs && g <= groups; g++) {
            size_t gs = ov[2 * g], ge = ov[2 * g + 1];
            if (gs > len || ge > len)
                continue; /* the group did not take part */
            /* the group's replacement: the rendered template, or nothing */
            cairn_buf_reset(&t->piece);
            if (t->tpl && render(t, e, src + gs, ge - gs, 1, &t->piece))
                return CAIRN__KEEP;
            const char *rep = t->piece.data ? t->piece.data : "";
            /* named groups are extracted with their replaced value, as Promtail does */
            const char *name = cairn_regex_group_name(t->re, g);
            if (name && cairn_ship_ex_set(e, name, strlen(name), rep, t->piece.len))
                return CAIRN_ENOMEM;
            if (gs < copied)
                continue; /* nested in a group already replaced */
            if (cairn_buf_append(&t->out, src + copied, gs - copied) ||
                cairn_buf_append(&t->out, rep, t->piece.len))
                return CAIRN_ENOMEM;
            copied = ge;
        }
        pos = ov[1] > ov[0] ? ov[1] : ov[1] + 1;
    }
    if (!any)
        return CAIRN__KEEP;
    if (cairn_buf_append(&t->out, src + copied, len - copied))
        return CAIRN_ENOMEM;
    if (t->source)
        return cairn_ship_ex_set(e, t->source, t->source_len, t->out.data ? t->out.data : "",
                                 t->out.len)
                   ? CAIRN_ENOMEM
                   : CAIRN__KEEP;
    struct cairn_buf tmp = e->line;
    e->line = t->out;
    t->out = tmp;
    return CAIRN__KEEP;
}

static const struct cairn__stage_ops replace_ops = {
    .name = "replace",
    .process = replace_process,
    .destroy = tpl_destroy,
};

int cairn__stage_replace(struct cairn_ship_pipeline *pl, const char *expression,
                         const char *source, const char *replace, struct cairn_err *err)
{
    if (!expression || !*expression)
        return cairn_err_set(err, CAIRN_EINVAL, "replace stage: expression is required");
    struct tpl_stage *t = calloc(1, sizeof *t);
    if (!t)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    struct cairn__stage tmp = {NULL, t, NULL};
    t->re = cairn_regex_compile(expression, strlen(expression), 0, err);
    if (!t->re) {
        tpl_destroy(&tmp);
        return CAIRN_EINVAL;
    }
    if (cairn_regex_groups(t->re) < 1 || cairn_regex_groups(t->re) > MAX_GROUPS) {
        tpl_destroy(&tmp);
        return cairn_err_set(err, CAIRN_EINVAL, "replace stage: expression must contain capture "
                             "groups");
    }
    if (replace && *replace && !(t->tpl = cairn_template_compile(replace, strlen(replace), err))) {
        tpl_destroy(&tmp);
        return CAIRN_EINVAL;
    }
    if (source && *source) {
        if (!(t->source = strdup(source))) {
            tpl_destroy(&tmp);
            return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        }
        t->source_len = strlen(source);
    }
    if (cairn__pipeline_add(pl, &replace_ops, t, NULL)) {
        tpl_destroy(&tmp);
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    }
    return 0;
}
