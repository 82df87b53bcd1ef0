/* yaml.c -- loading a YAML document (libfyaml) into a config struct by walking the
 * document against its table: every key must be in the table, every value must parse
 * as its entry's type; errors name the file, line:column and the full key path. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>

#include "cairn/log.h"
#include "config/config_int.h"

struct walk {
    struct cairn_cfg *c;
    const char *file;
    struct cairn_err *err;
    char path[CAIRN__CFG_PATH_MAX];
    size_t plen;
    int line, col; /* of the last key seen, for nodes without a mark */
};

static size_t path_push(struct walk *w, const char *fmt, const char *s, size_t len, size_t idx)
{
    size_t old = w->plen;
    int n;
    if (s)
        n = snprintf(w->path + old, sizeof w->path - old, "%s%.*s", old ? "." : "", (int)len, s);
    else
        n = snprintf(w->path + old, sizeof w->path - old, fmt, idx);
    if (n > 0)
        w->plen = old + (size_t)n < sizeof w->path ? old + (size_t)n : sizeof w->path - 1;
    return old;
}

static void path_pop(struct walk *w, size_t old)
{
    w->plen = old;
    w->path[old] = '\0';
}

/* Where node n starts. libfyaml 0.7 keeps marks on tokens only, so a collection is
 * placed at its first scalar; an empty one at the last key seen. */
static int node_mark(struct fy_node *n, int *line, int *col, int depth)
{
    if (!n || depth > 64)
        return 0;
    switch (fy_node_get_type(n)) {
    case FYNT_SCALAR: {
        struct fy_token *t = fy_node_get_scalar_token(n);
        const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
        if (!m)
            return 0;
        *line = m->line + 1;
        *col = m->column + 1;
        return 1;
    }
    case FYNT_SEQUENCE: {
        void *it = NULL;
        return node_mark(fy_node_sequence_iterate(n, &it), line, col, depth + 1);
    }
    default: {
        void *it = NULL;
        struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
        return p && node_mark(fy_node_pair_key(p), line, col, depth + 1);
    }
    }
}

/* "file:line:col" for node n. */
static void locate(struct walk *w, struct fy_node *n, char *buf, size_t cap)
{
    int line = w->line, col = w->col;
    node_mark(n, &line, &col, 0);
    cairn__cfg_fmt(buf, cap, "%s:%d:%d", w->file, line, col);
}

/* "file:line:col: key.path" for messages about node n. */
static void where(struct walk *w, struct fy_node *n, char *buf, size_t cap)
{
    char loc[CAIRN__CFG_PATH_MAX];
    locate(w, n, loc, sizeof loc);
    cairn__cfg_fmt(buf, cap, "%s: %s", loc, w->plen ? w->path : "(top level)");
}

static int is_null(struct fy_node *n)
{
    if (!n)
        return 1;
    if (fy_node_get_type(n) != FYNT_SCALAR || fy_node_get_style(n) != FYNS_PLAIN)
        return 0;
    size_t len;
    const char *s = fy_node_get_scalar(n, &len);
    return !s || len == 0 || (len == 1 && s[0] == '~') ||
           (len == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4)));
}

static const char *node_kind(struct fy_node *n)
{
    switch (fy_node_get_type(n)) {
    case FYNT_SCALAR: return "a single value";
    case FYNT_SEQUENCE: return "a list";
    default: return "a mapping";
    }
}

static int type_error(struct walk *w, struct fy_node *n, const char *want)
{
    char loc[CAIRN__CFG_PATH_MAX + 64];
    where(w, n, loc, sizeof loc);
    return cairn_err_set(w->err, CAIRN_EINVAL, "%s: expected %s, got %s", loc, want,
                         node_kind(n));
}

static int walk_table(struct walk *w, const struct cairn_cfg_table *t, void *obj,
                      struct fy_node *n);

static int walk_scalar(struct walk *w, const struct cairn_cfg_entry *e, void *field,
                       struct fy_node *n)
{
    char loc[CAIRN__CFG_PATH_MAX + 64];
    if (fy_node_get_type(n) != FYNT_SCALAR) {
        char want[96];
        cairn__cfg_fmt(want, sizeof want, "a single value (%s)", cairn__cfg_type_name(e));
        return type_error(w, n, want);
    }
    size_t len;
    const char *s = fy_node_get_scalar(n, &len);
    where(w, n, loc, sizeof loc);
    return cairn__cfg_set_scalar(w->c, e, field, s ? s : "", s ? len : 0, loc, w->err);
}

static int walk_strlist(struct walk *w, const struct cairn_cfg_entry *e, void *field,
                        struct fy_node *n)
{
    int one = (e->flags & CAIRN_CFG_ONE_OK) && fy_node_get_type(n) == FYNT_SCALAR;
    if (!one && fy_node_get_type(n) != FYNT_SEQUENCE)
        return type_error(w, n, "a list of strings");
    struct cairn_cfg_strlist nl = {0};
    void *it = NULL;
    struct fy_node *item;
    int rc = 0;
    size_t i = 0;
    while (rc == 0 && (item = one ? (i ? NULL : n) : fy_node_sequence_iterate(n, &it)) != NULL) {
        size_t old = path_push(w, "[%zu]", NULL, 0, i++);
        if (fy_node_get_type(item) != FYNT_SCALAR)
            rc = type_error(w, item, "a string");
        else
            rc = walk_scalar(w, e, &nl, item); /* appends one item */
        path_pop(w, old);
    }
    if (rc != 0) {
        cairn__cfg_free_entry(e, &nl);
        return rc;
    }
    cairn__cfg_free_entry(e, field);
    memcpy(field, &nl, sizeof nl);
    return 0;
}

static int walk_map(struct walk *w, const struct cairn_cfg_entry *e, void *field,
                    struct fy_node *n)
{
    if (fy_node_get_type(n) != FYNT_MAPPING)
        return type_error(w, n, "a mapping of names to values");
    struct cairn_cfg_map nm = {0};
    void *it = NULL;
    struct fy_node_pair *p;
    int rc = 0;
    while (rc == 0 && (p = fy_node_mapping_iterate(n, &it)) != NULL) {
        struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
        if (!k || fy_node_get_type(k) != FYNT_SCALAR) {
            rc = type_error(w, k, "a name as key");
            break;
        }
        size_t klen, vlen = 0;
        const char *ks = fy_node_get_scalar(k, &klen);
        size_t old = path_push(w, NULL, ks, klen, 0);
        const char *vs = NULL;
        if (!is_null(v)) {
            if (fy_node_get_type(v) != FYNT_SCALAR)
                rc = type_error(w, v, "a single value");
            else
                vs = fy_node_get_scalar(v, &vlen);
        }
        struct cairn_cfg_kv *kv = NULL;
        if (rc == 0) {
            char *kc = cairn__cfg_strndup(w->c, ks, klen);
            char *vc = vs ? cairn__cfg_strndup(w->c, vs, vlen) : NULL;
            if (kc && (vc || !vs))
                kv = cairn__cfg_push(w->c, (void **)&nm.v, &nm.n, sizeof *nm.v);
            if (!kv) {
                free(kc);
                free(vc);
                rc = cairn_err_set(w->err, CAIRN_ENOMEM, "%s: %s: out of memory", w->file,
                                   w->path);
            } else {
                kv->key = kc;
                kv->value = vc;
            }
        }
        path_pop(w, old);
    }
    if (rc != 0) {
        cairn__cfg_free_entry(e, &nm);
        return rc;
    }
    cairn__cfg_free_entry(e, field);
    memcpy(field, &nm, sizeof nm);
    return 0;
}

/* One element of a LIST, KEYED or VARIANTS list, appended to nl. */
static int walk_element(struct walk *w, const struct cairn_cfg_table *t,
                        struct cairn_cfg_list *nl, size_t elem, struct fy_node *n, void **out)
{
    char *slot = cairn__cfg_push(w->c, &nl->v, &nl->n, elem);
    if (!slot)
        return cairn_err_set(w->err, CAIRN_ENOMEM, "%s: %s: out of memory", w->file, w->path);
    if (cairn__cfg_defaults(w->c, t, slot, w->err) != 0)
        return w->err->code ? w->err->code : CAIRN_EINVAL;
    *out = slot;
    return walk_table(w, t, slot, n);
}

static int walk_list(struct walk *w, const struct cairn_cfg_entry *e, void *field,
                     struct fy_node *n)
{
    struct cairn_cfg_list nl = {0};
    int rc = 0;
    if (e->type == CAIRN_CFG_KEYED) {
        if (fy_node_get_type(n) != FYNT_MAPPING)
            return type_error(w, n, "a mapping of names to sections");
        void *it = NULL;
        struct fy_node_pair *p;
        while (rc == 0 && (p = fy_node_mapping_iterate(n, &it)) != NULL) {
            struct fy_node *k = fy_node_pair_key(p);
            if (!k || fy_node_get_type(k) != FYNT_SCALAR) {
                rc = type_error(w, k, "a name as key");
                break;
            }
            size_t klen;
            const char *ks = fy_node_get_scalar(k, &klen);
            size_t old = path_push(w, NULL, ks, klen, 0);
            void *el = NULL;
            char *kc = cairn__cfg_strndup(w->c, ks, klen);
            if (!kc)
                rc = cairn_err_set(w->err, CAIRN_ENOMEM, "%s: out of memory", w->file);
            else
                rc = walk_element(w, e->sub, &nl, e->sub->size, fy_node_pair_value(p), &el);
            if (el)
                memcpy((char *)el + e->key_offset, &kc, sizeof kc);
            else
                free(kc);
            path_pop(w, old);
        }
    } else {
        if (fy_node_get_type(n) != FYNT_SEQUENCE)
            return type_error(w, n, "a list");
        void *it = NULL;
        struct fy_node *item;
        size_t i = 0;
        while (rc == 0 && (item = fy_node_sequence_iterate(n, &it)) != NULL) {
            size_t old = path_push(w, "[%zu]", NULL, 0, i++);
            if (e->type == CAIRN_CFG_LIST) {
                void *el;
                rc = walk_element(w, e->sub, &nl, e->sub->size, item, &el);
            } else {
                rc = 0;
                struct fy_node_pair *p = NULL;
                void *it2 = NULL;
                if (fy_node_get_type(item) != FYNT_MAPPING ||
                    fy_node_mapping_item_count(item) != 1 ||
                    !(p = fy_node_mapping_iterate(item, &it2)) ||
                    fy_node_get_type(fy_node_pair_key(p)) != FYNT_SCALAR) {
                    rc = type_error(w, item, "a mapping with exactly one key naming its kind");
                } else {
                    size_t klen;
                    const char *ks = fy_node_get_scalar(fy_node_pair_key(p), &klen);
                    int kind = -1;
                    for (int v = 0; e->variants[v].name; v++)
                        if (strlen(e->variants[v].name) == klen &&
                            memcmp(e->variants[v].name, ks, klen) == 0)
                            kind = v;
                    size_t old2 = path_push(w, NULL, ks, klen, 0);
                    if (kind < 0) {
                        char loc[CAIRN__CFG_PATH_MAX + 64];
                        where(w, fy_node_pair_key(p), loc, sizeof loc);
                        rc = cairn_err_set(w->err, CAIRN_EINVAL, "%s: unknown kind '%.*s'",
                                           loc, (int)klen, ks);
                    } else {
                        struct cairn_cfg_tagged *tg =
                            cairn__cfg_push(w->c, &nl.v, &nl.n, sizeof *tg);
                        if (!tg) {
                            rc = cairn_err_set(w->err, CAIRN_ENOMEM, "%s: out of memory",
                                               w->file);
                        } else {
                            tg->kind = kind;
                            const struct cairn_cfg_table *vt = e->variants[kind].table;
                            tg->data = cairn__cfg_new_element(w->c, vt, w->err);
                            rc = tg->data ? walk_table(w, vt, tg->data, fy_node_pair_value(p))
                                          : (w->err->code ? w->err->code : CAIRN_ENOMEM);
                        }
                    }
                    path_pop(w, old2);
                }
            }
            path_pop(w, old);
        }
    }
    if (rc != 0) {
        cairn__cfg_free_entry(e, &nl);
        return rc;
    }
    cairn__cfg_free_entry(e, field);
    memcpy(field, &nl, sizeof nl);
    return 0;
}

static int walk_value(struct walk *w, const struct cairn_cfg_entry *e, void *field,
                      struct fy_node *n)
{
    if (is_null(n))
        return 0; /* `key:`, `key: ~` or `key: null` keeps what was there */
    switch (e->type) {
    case CAIRN_CFG_STRLIST: return walk_strlist(w, e, field, n);
    case CAIRN_CFG_MAP: return walk_map(w, e, field, n);
    case CAIRN_CFG_SECTION:
        if (e->flags & CAIRN_CFG_OPTIONAL) {
            int one = 1;
            memcpy((char *)field + e->key_offset, &one, sizeof one);
        }
        return walk_table(w, e->sub, field, n);
    case CAIRN_CFG_LIST:
    case CAIRN_CFG_KEYED:
    case CAIRN_CFG_VARIANTS: return walk_list(w, e, field, n);
    default: return walk_scalar(w, e, field, n);
    }
}

static int walk_table(struct walk *w, const struct cairn_cfg_table *t, void *obj,
                      struct fy_node *n)
{
    const struct cairn_cfg_entry *whole = cairn__cfg_whole_entry(t);
    if (whole)
        return walk_value(w, whole, (char *)obj + whole->offset, n);
    if (is_null(n))
        return 0;
    if (fy_node_get_type(n) != FYNT_MAPPING)
        return type_error(w, n, "a section (a mapping of keys)");
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(n, &it)) != NULL) {
        struct fy_node *k = fy_node_pair_key(p);
        if (!k || fy_node_get_type(k) != FYNT_SCALAR)
            return type_error(w, k ? k : n, "a key name");
        size_t klen;
        const char *ks = fy_node_get_scalar(k, &klen);
        const struct cairn_cfg_entry *e = NULL;
        for (size_t i = 0; i < t->n && !e; i++) {
            const struct cairn_cfg_entry *x = &t->entries[i];
            if (x->key && !(x->flags & CAIRN_CFG_CLI_ONLY) && strlen(x->key) == klen &&
                memcmp(x->key, ks, klen) == 0)
                e = x;
        }
        node_mark(k, &w->line, &w->col, 0);
        size_t old = path_push(w, NULL, ks, klen, 0);
        const struct cairn_cfg_ignored *ig = e ? NULL : cairn__cfg_ignored_find(t, ks, klen);
        if (ig) { /* never silently dropped: said once, here */
            char loc[CAIRN__CFG_PATH_MAX];
            locate(w, k, loc, sizeof loc);
            CAIRN_WARN("config", "key ignored", "where=\"%s\" key=%s reason=\"%s\"", loc, w->path,
                       ig->reason ? ig->reason : "");
            path_pop(w, old);
            continue;
        }
        if (!e) {
            char loc[CAIRN__CFG_PATH_MAX];
            locate(w, k, loc, sizeof loc);
            const char *hint = cairn__cfg_suggest(t, ks, klen);
            cairn_err_set(w->err, CAIRN_EINVAL, "%s: unknown key '%s'%s%s%s", loc, w->path,
                          hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
            path_pop(w, old);
            return CAIRN_EINVAL;
        }
        int rc = walk_value(w, e, (char *)obj + e->offset, fy_node_pair_value(p));
        path_pop(w, old);
        if (rc != 0)
            return rc;
    }
    char loc[CAIRN__CFG_PATH_MAX];
    locate(w, n, loc, sizeof loc);
    return cairn__cfg_check_required(t, obj, loc, w->path, w->err);
}

/* ---- documents ---- */

/* Expand ${VAR} and ${VAR:-default} (Loki's -config.expand-env). Unset: empty. */
static int expand_env(const char *s, size_t len, struct cairn_buf *out)
{
    size_t i = 0;
    while (i < len) {
        const char *d = memchr(s + i, '$', len - i);
        size_t stop = d ? (size_t)(d - s) : len;
        if (cairn_buf_append(out, s + i, stop - i) != 0)
            return CAIRN_ENOMEM;
        i = stop;
        if (i >= len)
            break;
        const char *close = i + 1 < len && s[i + 1] == '{' ? memchr(s + i, '}', len - i) : NULL;
        if (!close) {
            if (cairn_buf_append_byte(out, '$') != 0)
                return CAIRN_ENOMEM;
            i++;
            continue;
        }
        const char *name = s + i + 2;
        size_t nlen = (size_t)(close - name);
        const char *dflt = NULL;
        size_t dlen = 0;
        for (size_t k = 0; k + 1 < nlen; k++) {
            if (name[k] == ':' && name[k + 1] == '-') {
                dflt = name + k + 2;
                dlen = nlen - k - 2;
                nlen = k;
                break;
            }
        }
        char var[256];
        const char *val = NULL;
        if (nlen < sizeof var) {
            memcpy(var, name, nlen);
            var[nlen] = '\0';
            val = getenv(var);
        }
        int rc = 0;
        if (val && *val)
            rc = cairn_buf_append_str(out, val);
        else if (dflt)
            rc = cairn_buf_append(out, dflt, dlen);
        if (rc != 0)
            return CAIRN_ENOMEM;
        i = (size_t)(close - s) + 1;
    }
    return 0;
}

/* libfyaml reports through an output callback as "<source>:LINE:COL: error: MSG";
 * keep the first report to reword it with our file name. */
struct diag_capture {
    char first[CAIRN_ERR_MSG_MAX];
    int have;
};

static void diag_output(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
    (void)diag;
    struct diag_capture *dc = user;
    if (dc->have)
        return;
    if (len >= sizeof dc->first)
        len = sizeof dc->first - 1;
    memcpy(dc->first, buf, len);
    dc->first[len] = '\0';
    dc->have = 1;
}

static int parse_error(const struct diag_capture *dc, const char *name, struct cairn_err *err)
{
    const char *e = dc->have ? strstr(dc->first, ": error: ") : NULL;
    if (!e)
        return cairn_err_set(err, CAIRN_EINVAL, "%s: YAML syntax error (or out of memory)", name);
    /* the location ends just before e: ...:LINE:COL */
    const char *p = e;
    int colons = 0;
    while (p > dc->first && colons < 2) {
        p--;
        if (*p == ':')
            colons++;
    }
    int line = 0, col = 0;
    if (colons == 2)
        sscanf(p, ":%d:%d", &line, &col);
    const char *msg = e + 9;
    size_t mlen = strcspn(msg, "\n");
    return cairn_err_set(err, CAIRN_EINVAL, "%s:%d:%d: YAML syntax error: %.*s", name, line, col,
                         (int)mlen, msg);
}

/* A document of only blank lines, comments and markers: libfyaml builds no document
 * for it, which must not read as an error. */
static int is_blank(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
            i++;
        size_t eol = i;
        while (eol < len && s[eol] != '\n')
            eol++;
        int marker = eol - i >= 3 && (!memcmp(s + i, "---", 3) || !memcmp(s + i, "...", 3));
        if (i < eol && s[i] != '#' && !marker)
            return 0;
        i = eol + 1;
    }
    return 1;
}

/* YAML is Unicode text. libfyaml 0.7.12 can loop forever on some invalid UTF-8 (seen in
 * a directive line), so bytes are checked before it sees them. Returns the offset of
 * the first bad byte, or len. */
static size_t utf8_check(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char b = s[i];
        size_t n;
        uint32_t cp;
        if (b < 0x80) {
            if (b == 0)
                return i;
            i++;
            continue;
        }
        if (b >= 0xc2 && b <= 0xdf) {
            n = 1;
            cp = b & 0x1f;
        } else if (b >= 0xe0 && b <= 0xef) {
            n = 2;
            cp = b & 0x0f;
        } else if (b >= 0xf0 && b <= 0xf4) {
            n = 3;
            cp = b & 0x07;
        } else {
            return i;
        }
        if (len - i <= n)
            return i;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return i; /* overlong, out of range, or a surrogate */
        i += n + 1;
    }
    return len;
}

static int utf8_error(const char *name, const char *s, size_t bad, struct cairn_err *err)
{
    int line = 1, col = 1;
    for (size_t i = 0; i < bad; i++) {
        if (s[i] == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)s[i] & 0xc0) != 0x80) {
            col++;
        }
    }
    return cairn_err_set(err, CAIRN_EINVAL, "%s:%d:%d: not valid UTF-8 text", name, line, col);
}

int cairn_cfg_load_string(struct cairn_cfg *c, const char *name, const char *text, size_t len,
                          struct cairn_err *err)
{
    struct cairn_buf expanded = CAIRN_BUF_INIT;
    if (c->expand_env) {
        if (expand_env(text, len, &expanded) != 0) {
            cairn_buf_deinit(&expanded);
            return cairn_err_set(err, CAIRN_ENOMEM, "%s: out of memory", name);
        }
        text = cairn_buf_cstr(&expanded);
        len = expanded.len;
    }
    size_t bad = utf8_check((const unsigned char *)text, len);
    if (bad != len) {
        int rc = utf8_error(name, text, bad, err);
        cairn_buf_deinit(&expanded);
        return rc;
    }
    if (is_blank(text, len)) {
        cairn_buf_deinit(&expanded);
        return 0;
    }
    struct diag_capture dc = {.have = 0};
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = diag_output;
    dcfg.user = &dc;
    dcfg.colorize = false;
    struct fy_diag *diag = fy_diag_create(&dcfg);
    if (!diag) {
        cairn_buf_deinit(&expanded);
        return cairn_err_set(err, CAIRN_ENOMEM, "%s: out of memory", name);
    }
    struct fy_parse_cfg pcfg = {
        .flags = FYPCF_RESOLVE_DOCUMENT,
        .diag = diag,
    };
    int rc;
    struct fy_document *doc = fy_document_build_from_string(&pcfg, text, len);
    if (!doc) {
        rc = parse_error(&dc, name, err);
    } else {
        struct walk w = {.c = c, .file = name, .err = err};
        rc = walk_table(&w, c->table, c->obj, fy_document_root(doc));
    }
    fy_document_destroy(doc);
    fy_diag_destroy(diag);
    cairn_buf_deinit(&expanded);
    return rc;
}

int cairn_cfg_load_file(struct cairn_cfg *c, const char *path, struct cairn_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cairn_err_set(err, CAIRN_EIO, "config file %s: %s", path, strerror(errno));
    struct cairn_buf b = CAIRN_BUF_INIT;
    char chunk[8192];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if ((rc = cairn_buf_append(&b, chunk, n)) != 0)
            break;
    if (rc == 0 && ferror(f))
        rc = cairn_err_set(err, CAIRN_EIO, "config file %s: read error", path);
    else if (rc != 0)
        rc = cairn_err_set(err, CAIRN_ENOMEM, "config file %s: out of memory", path);
    fclose(f);
    if (rc == 0)
        rc = cairn_cfg_load_string(c, path, cairn_buf_cstr(&b), b.len, err);
    cairn_buf_deinit(&b);
    return rc;
}
