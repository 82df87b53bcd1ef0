/* cli.c -- command-line options over the config tables (GNU long options and Loki's
 * single-dash dotted flags), the --help text generated from the same tables, and the
 * load sequence every subcommand runs: defaults, file, options, checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/text.h"
#include "config/config_int.h"

/* Tables nest; this bounds recursion for self-referencing tables (match -> stages). */
#define HELP_MAX_DEPTH 6

struct found {
    const struct cairn_cfg_entry *e;
    size_t base;
    int negated; /* --no-x */
};

static int name_is(const char *flag, const char *name, size_t len)
{
    return flag && strlen(flag) == len && memcmp(flag, name, len) == 0;
}

/* Find the entry whose flag or lflag is name, through sections from the root. */
static int find_option(const struct cairn_cfg_table *t, size_t base, const char *name,
                       size_t len, struct found *f, int depth)
{
    if (depth > HELP_MAX_DEPTH)
        return 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct cairn_cfg_entry *e = &t->entries[i];
        if (e->type == CAIRN_CFG_SECTION) {
            if (find_option(e->sub, base + e->offset, name, len, f, depth + 1))
                return 1;
            continue;
        }
        if (name_is(e->flag, name, len) || name_is(e->lflag, name, len)) {
            f->e = e;
            f->base = base;
            return 1;
        }
        if (e->type == CAIRN_CFG_BOOL && e->flag && len > 3 && memcmp(name, "no-", 3) == 0 &&
            name_is(e->flag, name + 3, len - 3)) {
            f->e = e;
            f->base = base;
            f->negated = 1;
            return 1;
        }
    }
    return 0;
}

/* The option name closest to a mistyped one (1 edit for short names, else 2). */
static void suggest_option(const struct cairn_cfg_table *t, const char *name, size_t len,
                           const char **best, size_t *best_d, int depth)
{
    if (depth > HELP_MAX_DEPTH)
        return;
    for (size_t i = 0; i < t->n; i++) {
        const struct cairn_cfg_entry *e = &t->entries[i];
        if (e->type == CAIRN_CFG_SECTION) {
            suggest_option(e->sub, name, len, best, best_d, depth + 1);
            continue;
        }
        const char *fl[2] = {e->flag, e->lflag};
        for (int f = 0; f < 2; f++) {
            if (!fl[f])
                continue;
            size_t d = cairn_edit_distance(name, len, fl[f], strlen(fl[f]));
            if (d < *best_d) {
                *best_d = d;
                *best = fl[f];
            }
        }
    }
}

static int unknown_option(const struct cairn_cfg_table *t, const char *arg, int optlen,
                          const char *name, size_t len, struct cairn_err *err)
{
    static const char *const builtin[] = {"config", "config.file", "config.expand-env",
                                          "print-config", "help"};
    const char *best = NULL;
    size_t best_d = len < 4 ? 2 : 3;
    for (size_t i = 0; i < sizeof builtin / sizeof builtin[0]; i++) {
        size_t d = cairn_edit_distance(name, len, builtin[i], strlen(builtin[i]));
        if (d < best_d) {
            best_d = d;
            best = builtin[i];
        }
    }
    suggest_option(t, name, len, &best, &best_d, 0);
    if (best)
        return cairn_err_set(err, CAIRN_EINVAL, "unknown option '%.*s' (did you mean %s%s?)",
                             optlen, arg, strchr(best, '.') ? "-" : "--", best);
    return cairn_err_set(err, CAIRN_EINVAL, "unknown option '%.*s' (see --help)", optlen, arg);
}

void cairn_cfg_args_deinit(struct cairn_cfg_args *a)
{
    if (!a)
        return;
    free(a->pos);
    free(a->sets);
    memset(a, 0, sizeof *a);
}

int cairn_cfg_args_parse(struct cairn_cfg *c, int argc, char **argv, struct cairn_cfg_args *a,
                         struct cairn_err *err)
{
    memset(a, 0, sizeof *a);
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        if (!only_pos && strcmp(arg, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (only_pos || arg[0] != '-' || arg[1] == '\0') {
            char **slot = cairn__cfg_push(c, (void **)&a->pos, &a->n_pos, sizeof(char *));
            if (!slot)
                return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
            *slot = arg;
            continue;
        }
        const char *name = arg + 1 + (arg[1] == '-');
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const char *value = eq ? eq + 1 : NULL;
        int optlen = (int)(name - arg + (ptrdiff_t)len);

        if (name_is("help", name, len) || name_is("h", name, len)) {
            a->help = 1;
            continue;
        }
        if (name_is("config", name, len) || name_is("config.file", name, len)) {
            if (!value && i + 1 >= argc)
                return cairn_err_set(err, CAIRN_EINVAL, "option %.*s needs a file name",
                                     optlen, arg);
            a->config_file = value ? value : argv[++i];
            continue;
        }
        if (name_is("config.expand-env", name, len) || name_is("print-config", name, len) ||
            name_is("print-config-stderr", name, len)) {
            int b = 1;
            if (value && cairn_cfg_parse_bool(value, strlen(value), &b) != 0)
                return cairn_err_set(err, CAIRN_EINVAL,
                                     "option %.*s: '%s' is not a boolean (true or false)",
                                     optlen, arg, value);
            if (name[0] == 'c')
                a->expand_env = b;
            else
                a->print_config = b;
            continue;
        }

        struct found f = {0};
        if (!find_option(c->table, 0, name, len, &f, 0))
            return unknown_option(c->table, arg, optlen, name, len, err);
        if (f.negated) {
            if (value)
                return cairn_err_set(err, CAIRN_EINVAL, "option %.*s takes no value", optlen,
                                     arg);
            value = "false";
        } else if (f.e->type == CAIRN_CFG_BOOL) {
            if (!value)
                value = "true";
        } else if (!value) {
            if (i + 1 >= argc)
                return cairn_err_set(err, CAIRN_EINVAL, "option %.*s needs a value (%s)",
                                     optlen, arg, cairn__cfg_type_name(f.e));
            value = argv[++i];
        }
        struct cairn__cfg_pending *p =
            cairn__cfg_push(c, (void **)&a->sets, &a->n_sets, sizeof *a->sets);
        if (!p)
            return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        p->e = f.e;
        p->base = f.base;
        p->opt = arg;
        p->value = value;
    }
    return 0;
}

int cairn_cfg_args_apply(struct cairn_cfg *c, const struct cairn_cfg_args *a,
                         struct cairn_err *err)
{
    for (size_t i = 0; i < a->n_sets; i++) {
        const struct cairn__cfg_pending *p = &a->sets[i];
        char where[128];
        const char *eq = strchr(p->opt, '=');
        int n = eq ? (int)(eq - p->opt) : (int)strlen(p->opt);
        cairn__cfg_fmt(where, sizeof where, "option %.*s", n, p->opt);
        int rc = cairn__cfg_set_scalar(c, p->e, (char *)c->obj + p->base + p->e->offset,
                                       p->value, strlen(p->value), where, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- help ---- */

static int help_default(const struct cairn_cfg_entry *e, const void *field,
                        struct cairn_buf *out)
{
    if (e->hdef)
        return cairn_buf_append_str(out, e->hdef);
    switch (e->type) {
    case CAIRN_CFG_STRING: {
        const char *s = *(char *const *)field;
        if (!s || !*s)
            return cairn_buf_append_str(out, "none");
        return cairn__cfg_format_scalar(e, field, 1, out);
    }
    case CAIRN_CFG_STRLIST:
    case CAIRN_CFG_MAP:
    case CAIRN_CFG_LIST:
    case CAIRN_CFG_KEYED:
    case CAIRN_CFG_VARIANTS:
    case CAIRN_CFG_SECTION:
        return cairn_buf_append_str(out, "empty");
    default:
        return cairn__cfg_format_scalar(e, field, 1, out);
    }
}

static int type_text(const struct cairn_cfg_entry *e, int metavar, struct cairn_buf *out)
{
    if (metavar && e->metavar)
        return cairn_buf_append_str(out, e->metavar);
    if (e->type != CAIRN_CFG_ENUM) {
        struct cairn_cfg_entry plain = *e;
        plain.metavar = NULL;
        return cairn_buf_append_str(out, cairn__cfg_type_name(&plain));
    }
    int rc = 0;
    for (const struct cairn_cfg_enum *n = e->names; n && n->name && rc == 0; n++)
        rc = cairn_buf_appendf(out, "%s%s", n == e->names ? "" : "|", n->name);
    return rc;
}

static int help_options(const struct cairn_cfg_table *t, const void *obj, const char *prefix,
                        struct cairn_buf *out, int depth)
{
    int rc = 0;
    if (depth > HELP_MAX_DEPTH)
        return 0;
    for (size_t i = 0; i < t->n && rc == 0; i++) {
        const struct cairn_cfg_entry *e = &t->entries[i];
        const void *field = (const char *)obj + e->offset;
        if (e->type == CAIRN_CFG_SECTION) {
            char sub[CAIRN__CFG_PATH_MAX];
            cairn__cfg_fmt(sub, sizeof sub, "%s%s%s", prefix, *prefix ? "." : "", e->key);
            rc = help_options(e->sub, field, sub, out, depth + 1);
            continue;
        }
        if (!e->flag && !e->lflag)
            continue;
        struct cairn_buf ty = CAIRN_BUF_INIT;
        rc |= type_text(e, 1, &ty);
        int isbool = e->type == CAIRN_CFG_BOOL;
        rc |= cairn_buf_append_str(out, "  ");
        if (e->flag)
            rc |= cairn_buf_appendf(out, "--%s%s%s%s", isbool ? "[no-]" : "", e->flag,
                                    isbool ? "" : " ", isbool ? "" : cairn_buf_cstr(&ty));
        if (e->lflag)
            rc |= cairn_buf_appendf(out, "%s-%s%s%s", e->flag ? ", " : "", e->lflag,
                                    isbool ? "" : "=", isbool ? "" : cairn_buf_cstr(&ty));
        rc |= cairn_buf_appendf(out, "\n      %s (%s, default ", e->help ? e->help : "",
                                cairn_buf_cstr(&ty));
        rc |= help_default(e, field, out);
        rc |= cairn_buf_append_str(out, ")\n");
        if (e->key && !(e->flags & CAIRN_CFG_CLI_ONLY))
            rc |= cairn_buf_appendf(out, "      config file: %s%s%s\n", prefix,
                                    *prefix ? "." : "", e->key);
        cairn_buf_deinit(&ty);
    }
    return rc ? CAIRN_ENOMEM : 0;
}

static int help_keys(const struct cairn_cfg_table *t, const void *obj, const char *prefix,
                     struct cairn_buf *out, const void **stack, int depth);

static int help_element(const struct cairn_cfg_table *t, const char *path,
                        struct cairn_buf *out, const void **stack, int depth)
{
    for (int d = 0; d < depth; d++)
        if (stack[d] == t)
            return cairn_buf_appendf(out, "  %s...  (the same keys as above, nested)\n", path);
    if (depth >= HELP_MAX_DEPTH)
        return 0;
    struct cairn_cfg tmp = {.table = t};
    struct cairn_err err;
    void *el = cairn__cfg_new_element(&tmp, t, &err);
    if (!el)
        return CAIRN_ENOMEM;
    stack[depth] = t;
    int rc = help_keys(t, el, path, out, stack, depth + 1);
    cairn_cfg_free(t, el);
    free(el);
    return rc;
}

static int help_keys(const struct cairn_cfg_table *t, const void *obj, const char *prefix,
                     struct cairn_buf *out, const void **stack, int depth)
{
    int rc = 0;
    for (size_t i = 0; i < t->n && rc == 0; i++) {
        const struct cairn_cfg_entry *e = &t->entries[i];
        const void *field = (const char *)obj + e->offset;
        if (!e->key || (e->flags & CAIRN_CFG_CLI_ONLY))
            continue;
        char path[CAIRN__CFG_PATH_MAX];
        cairn__cfg_fmt(path, sizeof path, "%s%s%s", prefix, *prefix && *e->key ? "." : "", e->key);
        if (e->type == CAIRN_CFG_SECTION) {
            rc = help_keys(e->sub, field, path, out, stack, depth);
            continue;
        }
        struct cairn_buf ty = CAIRN_BUF_INIT;
        rc |= type_text(e, 0, &ty);
        rc |= cairn_buf_appendf(out, "  %s  (%s", *path ? path : "(value)", cairn_buf_cstr(&ty));
        if (e->type < CAIRN_CFG_STRLIST) {
            rc |= cairn_buf_append_str(out, ", default ");
            rc |= help_default(e, field, out);
        }
        if (e->flags & CAIRN_CFG_REQUIRED)
            rc |= cairn_buf_append_str(out, ", required");
        rc |= cairn_buf_appendf(out, ")\n      %s\n", e->help ? e->help : "");
        cairn_buf_deinit(&ty);
        if (rc)
            return CAIRN_ENOMEM;
        char sub[CAIRN__CFG_PATH_MAX];
        if (e->type == CAIRN_CFG_LIST) {
            cairn__cfg_fmt(sub, sizeof sub, "%s[]", path);
            rc = help_element(e->sub, sub, out, stack, depth);
        } else if (e->type == CAIRN_CFG_KEYED) {
            cairn__cfg_fmt(sub, sizeof sub, "%s.<name>", path);
            rc = help_element(e->sub, sub, out, stack, depth);
        } else if (e->type == CAIRN_CFG_VARIANTS) {
            int seen = 0;
            for (int d = 0; d < depth; d++)
                seen |= stack[d] == (const void *)e->variants;
            if (seen) {
                rc = cairn_buf_appendf(out, "  %s[]...  (the same kinds as above, nested)\n",
                                       path);
                continue;
            }
            if (depth >= HELP_MAX_DEPTH)
                continue;
            stack[depth++] = e->variants;
            for (const struct cairn_cfg_variant *v = e->variants; v->name && rc == 0; v++) {
                cairn__cfg_fmt(sub, sizeof sub, "%s[].%s", path, v->name);
                rc = cairn_buf_appendf(out, "  %s  (kind)\n      %s\n", sub, v->help ? v->help : "");
                rc = rc ? rc : help_element(v->table, sub, out, stack, depth);
            }
            depth--;
        }
    }
    for (const struct cairn_cfg_ignored *ig = t->ignored; ig && ig->key && rc == 0; ig++)
        rc = cairn_buf_appendf(out, "  %s%s%s  (ignored)\n      %s\n", prefix, *prefix ? "." : "",
                               ig->key, ig->reason);
    return rc ? CAIRN_ENOMEM : 0;
}

int cairn_cfg_help(const struct cairn_cfg_table *t, const void *defaults, const char *usage,
                   struct cairn_buf *out)
{
    size_t start = out->len;
    const void *stack[HELP_MAX_DEPTH + 2];
    int rc = cairn_buf_appendf(out, "%s\n\noptions (later ones win; they override the "
                                    "config file):\n", usage ? usage : "");
    rc |= cairn_buf_append_str(
        out,
        "  --config FILE, -config.file=FILE\n"
        "      read the configuration from this YAML file (default none)\n"
        "  -config.expand-env\n"
        "      expand ${VAR} and ${VAR:-default} in the config file (bool, default false)\n"
        "  --print-config\n"
        "      print the effective configuration as YAML and exit\n"
        "  --help, -h\n"
        "      this text\n");
    rc = rc ? CAIRN_ENOMEM : help_options(t, defaults, "", out, 0);
    rc = rc ? rc : cairn_buf_append_str(out, "\nconfig file keys (YAML):\n");
    stack[0] = t;
    rc = rc ? rc : help_keys(t, defaults, "", out, stack, 1);
    if (rc != 0)
        cairn_buf_truncate(out, start);
    return rc;
}

/* ---- the whole sequence ---- */

int cairn_cfg_load_args(struct cairn_cfg *c, int argc, char **argv, const char *usage,
                        struct cairn_cfg_args *a, struct cairn_buf *out,
                        struct cairn_err *err)
{
    int rc = cairn_cfg_args_parse(c, argc, argv, a, err);
    if (rc != 0)
        return rc;
    if (a->help) {
        rc = cairn_cfg_help(c->table, c->obj, usage, out);
        return rc ? cairn_err_set(err, rc, "out of memory") : CAIRN_CFG_EXIT;
    }
    c->expand_env = a->expand_env;
    if (a->config_file && (rc = cairn_cfg_load_file(c, a->config_file, err)) != 0)
        return rc;
    if ((rc = cairn_cfg_args_apply(c, a, err)) != 0)
        return rc;
    if ((rc = cairn_cfg_check(c, err)) != 0)
        return rc;
    if (a->print_config) {
        rc = cairn_cfg_dump(c, out);
        return rc ? cairn_err_set(err, rc, "out of memory") : CAIRN_CFG_EXIT;
    }
    return 0;
}
