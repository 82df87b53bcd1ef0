/* template.c -- parse Go text/template source into a tree: text, {{ actions }} with
 * `{{-`/`-}}` trimming, comments, pipelines, if/else if/else/end, range, with. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse/template_int.h"

/* Deeper nesting is refused: bounds the parser's and the renderer's recursion. */
#define TPL_MAX_NEST 64

struct tpl_block {
    struct tpl_block *next;
    size_t used, cap;
    max_align_t data[];
};

struct cairn_template {
    struct tpl_block *arena;
    char *src;
    size_t len;
    struct tnode *root;
    int literal;
    struct tpl_block *sblocks; /* render scratch, kept across renders */
    struct tpl_block *scur;
    /* every cached regex, to free on destroy */
    struct targ **regex_args;
    size_t nregex;
};

struct tparser {
    struct cairn_template *t;
    const char *p; /* template source (owned copy) */
    size_t len, pos;
    struct cairn_err *err;
    const struct cairn_template_funcs *extra;
    int failed;
    int depth; /* nesting of parentheses and control blocks */
    /* variables in scope, checked at parse time as Go does */
    struct { const char *name; size_t len; } vars[64];
    int nvars;
    /* the current action's tokens */
    const char *a;
    size_t alen, ai;
};

static void *talloc(struct cairn_template *t, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    struct tpl_block *b = t->arena;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 2048 ? n : 2048;
        b = malloc(sizeof(*b) + cap);
        if (!b)
            return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = t->arena;
        t->arena = b;
    }
    void *r = (char *)b->data + b->used;
    b->used += n;
    memset(r, 0, n);
    return r;
}

static int line_of(struct tparser *ps)
{
    int line = 1;
    size_t lim = ps->a ? (size_t)(ps->a - ps->p) : ps->pos;
    for (size_t i = 0; i < lim && i < ps->len; i++)
        line += ps->p[i] == '\n';
    return line;
}

static int perr(struct tparser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(struct tparser *ps, const char *fmt, ...)
{
    if (ps->failed)
        return -1;
    ps->failed = 1;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cairn_err_set(ps->err, CAIRN_EINVAL, "template: line:%d: %s", line_of(ps), msg);
    return -1;
}

static int oom(struct tparser *ps)
{
    ps->failed = 1;
    cairn_err_set(ps->err, CAIRN_ENOMEM, "out of memory");
    return -1;
}

static size_t var_name_len(const char *s, size_t len)
{
    const char *dot = memchr(s + 1, '.', len - 1);
    return dot ? (size_t)(dot - s) : len;
}

static int var_known(struct tparser *ps, const char *s, size_t len)
{
    size_t n = var_name_len(s, len);
    if (n == 1)
        return 1; /* $ */
    for (int i = ps->nvars - 1; i >= 0; i--)
        if (ps->vars[i].len == n && memcmp(ps->vars[i].name, s, n) == 0)
            return 1;
    return 0;
}

static int var_declare(struct tparser *ps, const char *s, size_t len)
{
    if (ps->nvars >= (int)(sizeof(ps->vars) / sizeof(ps->vars[0])))
        return perr(ps, "too many variables");
    ps->vars[ps->nvars].name = s;
    ps->vars[ps->nvars].len = len;
    ps->nvars++;
    return 0;
}

/* ---- action tokens ---- */
enum atok { AT_END, AT_IDENT, AT_FIELD, AT_VAR, AT_STR, AT_NUM, AT_LPAREN, AT_RPAREN,
            AT_PIPE, AT_DECL, AT_ASSIGN, AT_COMMA, AT_BAD };

struct atoken {
    enum atok t;
    const char *s;
    size_t len;
};

static void skip_sp(struct tparser *ps)
{
    while (ps->ai < ps->alen && isspace((unsigned char)ps->a[ps->ai]))
        ps->ai++;
}

static struct atoken apeek(struct tparser *ps)
{
    size_t save = ps->ai;
    skip_sp(ps);
    struct atoken tk = {AT_END, ps->a + ps->ai, 0};
    const char *a = ps->a;
    size_t i = ps->ai, n = ps->alen;
    if (i >= n)
        goto out;
    char c = a[i];
    if (c == '(' || c == ')' || c == '|' || c == ',') {
        tk.t = c == '(' ? AT_LPAREN : c == ')' ? AT_RPAREN : c == '|' ? AT_PIPE : AT_COMMA;
        tk.len = 1;
    } else if (c == ':' && i + 1 < n && a[i + 1] == '=') {
        tk.t = AT_DECL;
        tk.len = 2;
    } else if (c == '=') {
        tk.t = AT_ASSIGN;
        tk.len = 1;
    } else if (c == '"' || c == '`') {
        size_t j = i + 1;
        while (j < n && a[j] != c) {
            if (c == '"' && a[j] == '\\')
                j++;
            j++;
        }
        tk.t = j < n ? AT_STR : AT_BAD;
        tk.len = (j < n ? j + 1 : n) - i;
    } else if (c == '.' || c == '$') {
        size_t j = i + 1;
        while (j < n && (isalnum((unsigned char)a[j]) || a[j] == '_' || a[j] == '.'))
            j++;
        tk.t = c == '.' ? AT_FIELD : AT_VAR;
        tk.len = j - i;
    } else if (isdigit((unsigned char)c) || ((c == '-' || c == '+') && i + 1 < n &&
                                             (isdigit((unsigned char)a[i + 1]) || a[i + 1] == '.'))) {
        size_t j = i + 1;
        while (j < n && (isalnum((unsigned char)a[j]) || a[j] == '.' ||
                         ((a[j] == '-' || a[j] == '+') && (a[j - 1] == 'e' || a[j - 1] == 'E'))))
            j++;
        tk.t = AT_NUM;
        tk.len = j - i;
    } else if (isalpha((unsigned char)c) || c == '_') {
        size_t j = i + 1;
        while (j < n && (isalnum((unsigned char)a[j]) || a[j] == '_'))
            j++;
        tk.t = AT_IDENT;
        tk.len = j - i;
    } else {
        tk.t = AT_BAD;
        tk.len = 1;
    }
out:
    ps->ai = save;
    return tk;
}

static struct atoken anext(struct tparser *ps)
{
    struct atoken tk = apeek(ps);
    skip_sp(ps);
    ps->ai += tk.len;
    return tk;
}

static int tok_is(const struct atoken *tk, const char *s)
{
    return tk->t == AT_IDENT && strlen(s) == tk->len && memcmp(tk->s, s, tk->len) == 0;
}

static struct tpipe *parse_pipe(struct tparser *ps, int in_paren, int allow_decl);

static int unquote_str(struct tparser *ps, const struct atoken *tk, struct targ *arg)
{
    size_t n = tk->len - 2;
    char *o = talloc(ps->t, n + 1);
    if (!o)
        return oom(ps);
    if (tk->s[0] == '`') {
        memcpy(o, tk->s + 1, n);
        arg->s = o;
        arg->len = n;
        return 0;
    }
    size_t k = 0;
    for (size_t i = 1; i + 1 < tk->len; i++) {
        char c = tk->s[i];
        if (c != '\\') {
            o[k++] = c;
            continue;
        }
        c = tk->s[++i];
        switch (c) {
        case 'n': o[k++] = '\n'; break;
        case 't': o[k++] = '\t'; break;
        case 'r': o[k++] = '\r'; break;
        case '\\': o[k++] = '\\'; break;
        case '"': o[k++] = '"'; break;
        case '\'': o[k++] = '\''; break;
        case 'a': o[k++] = '\a'; break;
        case 'b': o[k++] = '\b'; break;
        case 'f': o[k++] = '\f'; break;
        case 'v': o[k++] = '\v'; break;
        case 'x': {
            unsigned v = 0;
            for (int d = 0; d < 2; d++) {
                char h = tk->s[++i];
                if (!isxdigit((unsigned char)h))
                    return perr(ps, "invalid syntax");
                v = v * 16 + (unsigned)(isdigit((unsigned char)h) ? h - '0' : (tolower(h) - 'a' + 10));
            }
            o[k++] = (char)v;
            break;
        }
        default:
            return perr(ps, "invalid syntax");
        }
    }
    arg->s = o;
    arg->len = k;
    return 0;
}

/* A caller's extra function by name (an alias resolves to the built-in), or NULL. */
static const struct tfunc *extra_func(struct tparser *ps, const char *name, size_t len)
{
    for (size_t i = 0; ps->extra && i < ps->extra->n; i++) {
        const struct cairn_template_func *e = &ps->extra->v[i];
        if (strlen(e->name) != len || memcmp(e->name, name, len) != 0)
            continue;
        if (e->alias)
            return cairn__tpl_func(e->alias, strlen(e->alias));
        struct tfunc_ext *f = talloc(ps->t, sizeof *f);
        if (!f) {
            perr(ps, "out of memory");
            return NULL;
        }
        *f = (struct tfunc_ext){{e->name, e->min_args, e->max_args, cairn__tpl_f_ext}, e};
        return &f->f;
    }
    return NULL;
}

static int parse_operand(struct tparser *ps, struct targ *arg)
{
    struct atoken tk = anext(ps);
    switch (tk.t) {
    case AT_FIELD:
        if (tk.len == 1) {
            arg->kind = TA_DOT;
            return 0;
        }
        arg->kind = TA_FIELD;
        arg->s = tk.s + 1;
        arg->len = tk.len - 1;
        return 0;
    case AT_VAR:
        arg->kind = TA_VAR;
        arg->s = tk.s;
        arg->len = tk.len;
        if (!var_known(ps, tk.s, tk.len))
            return perr(ps, "undefined variable: %.*s", (int)var_name_len(tk.s, tk.len), tk.s);
        return 0;
    case AT_STR:
        arg->kind = TA_STR;
        return unquote_str(ps, &tk, arg);
    case AT_NUM: {
        char buf[64];
        if (tk.len >= sizeof(buf))
            return perr(ps, "bad number syntax: %.*s", (int)tk.len, tk.s);
        memcpy(buf, tk.s, tk.len);
        buf[tk.len] = '\0';
        char *end;
        arg->kind = TA_NUM;
        long long v = strtoll(buf, &end, 0);
        if (*end == '\0') {
            arg->is_int = 1;
            arg->i = v;
            arg->f = (double)v;
            return 0;
        }
        arg->f = strtod(buf, &end);
        if (*end)
            return perr(ps, "bad number syntax: %s", buf);
        return 0;
    }
    case AT_LPAREN:
        arg->kind = TA_PIPE;
        if (++ps->depth > TPL_MAX_NEST)
            return perr(ps, "template too deeply nested");
        arg->pipe = parse_pipe(ps, 1, 0);
        ps->depth--;
        return arg->pipe ? 0 : -1;
    case AT_IDENT:
        if (tok_is(&tk, "true") || tok_is(&tk, "false")) {
            arg->kind = TA_BOOL;
            arg->i = tok_is(&tk, "true");
            return 0;
        }
        if (tok_is(&tk, "nil")) {
            arg->kind = TA_NIL;
            return 0;
        }
        arg->kind = TA_FUNC;
        arg->s = tk.s;
        arg->len = tk.len;
        if (!(arg->fn = extra_func(ps, tk.s, tk.len)) && ps->failed)
            return -1;
        if (!arg->fn && !(arg->fn = cairn__tpl_func(tk.s, tk.len)))
            return perr(ps, "function \"%.*s\" not defined", (int)tk.len, tk.s);
        return 0;
    case AT_END:
        return perr(ps, "missing value for command");
    default:
        return perr(ps, "unexpected \"%.*s\" in operand", (int)tk.len, tk.s);
    }
}

static int note_regex(struct tparser *ps, struct targ *a)
{
    struct targ **nv = realloc(ps->t->regex_args, (ps->t->nregex + 1) * sizeof(*nv));
    if (!nv)
        return oom(ps);
    nv[ps->t->nregex++] = a;
    ps->t->regex_args = nv;
    return 0;
}

static struct tpipe *parse_pipe_inner(struct tparser *ps, int in_paren, int allow_decl);

static struct tpipe *parse_pipe(struct tparser *ps, int in_paren, int allow_decl)
{
    struct tpipe *pp = parse_pipe_inner(ps, in_paren, allow_decl);
    if (pp && pp->decl && !pp->assign && var_declare(ps, pp->decl, pp->decl_len))
        return NULL;
    if (pp && pp->decl2 && var_declare(ps, pp->decl2, pp->decl2_len))
        return NULL;
    return pp;
}

static struct tpipe *parse_pipe_inner(struct tparser *ps, int in_paren, int allow_decl)
{
    struct tpipe *pp = talloc(ps->t, sizeof(*pp));
    if (!pp) {
        oom(ps);
        return NULL;
    }
    if (allow_decl && apeek(ps).t == AT_VAR) {
        size_t save = ps->ai;
        struct atoken v = anext(ps);
        struct atoken nx = apeek(ps);
        if (nx.t == AT_COMMA && allow_decl == 2) {
            anext(ps);
            struct atoken v2 = anext(ps);
            if (v2.t != AT_VAR) {
                perr(ps, "range can only initialize variables");
                return NULL;
            }
            pp->decl2 = v2.s;
            pp->decl2_len = v2.len;
            nx = apeek(ps);
        }
        if (nx.t == AT_DECL || nx.t == AT_ASSIGN) {
            anext(ps);
            pp->decl = v.s;
            pp->decl_len = v.len;
            pp->assign = nx.t == AT_ASSIGN;
            if (pp->assign && !var_known(ps, v.s, v.len)) {
                perr(ps, "undefined variable: %.*s", (int)v.len, v.s);
                return NULL;
            }
        } else {
            ps->ai = save;
            pp->decl2 = NULL;
        }
    }
    int cap = 0;
    for (;;) {
        struct tcmd cmd = {0};
        int acap = 0;
        for (;;) {
            struct atoken nx = apeek(ps);
            if (nx.t == AT_END || nx.t == AT_PIPE || nx.t == AT_RPAREN)
                break;
            if (cmd.nargs == acap) {
                acap = acap ? acap * 2 : 4;
                struct targ *na = talloc(ps->t, (size_t)acap * sizeof(*na));
                if (!na) {
                    oom(ps);
                    return NULL;
                }
                if (cmd.nargs)
                    memcpy(na, cmd.args, (size_t)cmd.nargs * sizeof(*na));
                cmd.args = na;
            }
            if (parse_operand(ps, &cmd.args[cmd.nargs]))
                return NULL;
            cmd.nargs++;
        }
        if (!cmd.nargs) {
            perr(ps, pp->ncmds ? "missing command" : "missing value for command");
            return NULL;
        }
        if (cmd.args[0].kind != TA_FUNC && cmd.nargs > 1) {
            perr(ps, "can't give argument to non-function %.*s", (int)cmd.args[0].len,
                 cmd.args[0].s ? cmd.args[0].s : "");
            return NULL;
        }
        if (cmd.args[0].kind == TA_FUNC && cmd.nargs > 1 && cmd.args[1].kind == TA_STR &&
            (strncmp(cmd.args[0].s, "regexReplaceAll", 15) == 0 ||
             (cmd.args[0].len == 5 && memcmp(cmd.args[0].s, "count", 5) == 0))) {
            struct cairn_err e;
            cmd.args[1].re = cairn_regex_compile(cmd.args[1].s, cmd.args[1].len, 0, &e);
            if (!cmd.args[1].re) {
                perr(ps, "%s", e.msg);
                return NULL;
            }
            if (note_regex(ps, &cmd.args[1])) {
                cairn_regex_destroy(cmd.args[1].re);
                return NULL;
            }
        }
        if (pp->ncmds == cap) {
            cap = cap ? cap * 2 : 2;
            struct tcmd *nc = talloc(ps->t, (size_t)cap * sizeof(*nc));
            if (!nc) {
                oom(ps);
                return NULL;
            }
            if (pp->ncmds)
                memcpy(nc, pp->cmds, (size_t)pp->ncmds * sizeof(*nc));
            pp->cmds = nc;
        }
        pp->cmds[pp->ncmds++] = cmd;
        struct atoken nx = anext(ps);
        if (nx.t == AT_PIPE)
            continue;
        if (nx.t == AT_RPAREN) {
            if (!in_paren) {
                perr(ps, "unexpected \")\" in command");
                return NULL;
            }
            return pp;
        }
        if (in_paren) {
            perr(ps, "unclosed left paren");
            return NULL;
        }
        return pp;
    }
}

/* ---- text and actions ---- */

/* Find the next action from ps->pos: sets [ts,te) text, the action body, trims. */
struct action {
    size_t text_end;   /* end of the text before the action (after left trim) */
    size_t body, body_len;
    size_t after;      /* position after the action (after right trim) */
    int found;
};

static int next_action(struct tparser *ps, struct action *ac)
{
    const char *p = ps->p;
    size_t n = ps->len;
    const char *o = ps->pos < n ? memmem(p + ps->pos, n - ps->pos, "{{", 2) : NULL;
    memset(ac, 0, sizeof(*ac));
    if (!o) {
        ac->text_end = n;
        ac->after = n;
        return 0;
    }
    size_t s = (size_t)(o - p);
    ac->found = 1;
    ac->text_end = s;
    size_t b = s + 2;
    if (b + 1 < n && p[b] == '-' && isspace((unsigned char)p[b + 1])) {
        while (ac->text_end > ps->pos && isspace((unsigned char)p[ac->text_end - 1]))
            ac->text_end--;
        b += 2;
    }
    size_t i = b;
    while (i < n) {
        if (p[i] == '"' || p[i] == '`') {
            char q = p[i++];
            while (i < n && p[i] != q) {
                if (q == '"' && p[i] == '\\')
                    i++;
                i++;
            }
            i++;
            continue;
        }
        if (i + 1 < n && p[i] == '}' && p[i + 1] == '}')
            break;
        i++;
    }
    if (i + 1 >= n) {
        ps->a = NULL;
        ps->pos = s;
        return perr(ps, "unclosed action");
    }
    size_t e = i;
    ac->after = i + 2;
    if (e >= b + 2 && p[e - 1] == '-' && isspace((unsigned char)p[e - 2])) {
        e -= 2;
        while (ac->after < n && isspace((unsigned char)p[ac->after]))
            ac->after++;
    }
    ac->body = b;
    ac->body_len = e > b ? e - b : 0;
    return 0;
}

/* Parse a list of nodes until {{end}} / {{else}} (returned in *stop: 0 eof, 1 end,
 * 2 else, 3 else-if with ps->a positioned after `else if`). */
static struct tnode *parse_list(struct tparser *ps, int *stop);
static struct tnode *control(struct tparser *ps, enum tnode_kind kind);
static struct tnode *control_inner(struct tparser *ps, enum tnode_kind kind);

static struct tnode *control(struct tparser *ps, enum tnode_kind kind)
{
    if (++ps->depth > TPL_MAX_NEST) {
        perr(ps, "template too deeply nested");
        return NULL;
    }
    int saved = ps->nvars;
    struct tnode *r = control_inner(ps, kind);
    ps->nvars = saved;
    ps->depth--;
    return r;
}

static struct tnode *control_inner(struct tparser *ps, enum tnode_kind kind)
{
    struct tnode *nd = talloc(ps->t, sizeof(*nd));
    if (!nd) {
        oom(ps);
        return NULL;
    }
    nd->kind = kind;
    if (!(nd->pipe = parse_pipe(ps, 0, kind == TN_RANGE ? 2 : 1)))
        return NULL;
    int stop = 0;
    nd->list = parse_list(ps, &stop);
    if (ps->failed)
        return NULL;
    if (stop == 2) {
        nd->elist = parse_list(ps, &stop);
        if (ps->failed)
            return NULL;
        if (stop != 1) {
            perr(ps, "unexpected EOF");
            return NULL;
        }
    } else if (stop == 3) {
        /* else if ...: a nested if that consumes the shared {{end}} */
        nd->elist = control(ps, TN_IF);
        if (!nd->elist)
            return NULL;
    } else if (stop != 1) {
        perr(ps, "unexpected EOF");
        return NULL;
    }
    return nd;
}

static struct tnode *parse_list_inner(struct tparser *ps, int *stop);

/* Variables declared in a list go out of scope at its end ({{end}} or {{else}}). */
static struct tnode *parse_list(struct tparser *ps, int *stop)
{
    int saved = ps->nvars;
    struct tnode *r = parse_list_inner(ps, stop);
    ps->nvars = saved;
    return r;
}

static struct tnode *parse_list_inner(struct tparser *ps, int *stop)
{
    struct tnode *head = NULL, **tail = &head;
    *stop = 0;
    while (!ps->failed) {
        struct action ac;
        if (next_action(ps, &ac))
            return NULL;
        if (ac.text_end > ps->pos) {
            struct tnode *t = talloc(ps->t, sizeof(*t));
            if (!t) {
                oom(ps);
                return NULL;
            }
            t->kind = TN_TEXT;
            t->text = ps->p + ps->pos;
            t->len = ac.text_end - ps->pos;
            *tail = t;
            tail = &t->next;
        }
        ps->pos = ac.after;
        if (!ac.found)
            return head;
        ps->a = ps->p + ac.body;
        ps->alen = ac.body_len;
        ps->ai = 0;
        skip_sp(ps);
        if (ps->ai + 1 < ps->alen && ps->a[ps->ai] == '/' && ps->a[ps->ai + 1] == '*')
            continue; /* comment */
        struct atoken kw = apeek(ps);
        struct tnode *nd = NULL;
        if (tok_is(&kw, "end")) {
            anext(ps);
            *stop = 1;
            return head;
        }
        if (tok_is(&kw, "else")) {
            anext(ps);
            struct atoken nx = apeek(ps);
            if (tok_is(&nx, "if")) {
                anext(ps);
                *stop = 3;
            } else {
                *stop = 2;
            }
            return head;
        }
        if (tok_is(&kw, "if") || tok_is(&kw, "range") || tok_is(&kw, "with")) {
            anext(ps);
            nd = control(ps, tok_is(&kw, "if") ? TN_IF : tok_is(&kw, "range") ? TN_RANGE : TN_WITH);
        } else if (tok_is(&kw, "define") || tok_is(&kw, "template") || tok_is(&kw, "block") ||
                   tok_is(&kw, "break") || tok_is(&kw, "continue")) {
            perr(ps, "%.*s is not supported", (int)kw.len, kw.s);
            return NULL;
        } else {
            nd = talloc(ps->t, sizeof(*nd));
            if (!nd) {
                oom(ps);
                return NULL;
            }
            nd->kind = TN_ACTION;
            if (!(nd->pipe = parse_pipe(ps, 0, 1)))
                return NULL;
            if (apeek(ps).t != AT_END) {
                struct atoken bad = apeek(ps);
                perr(ps, "unexpected \"%.*s\" in command", (int)bad.len, bad.s);
                return NULL;
            }
        }
        if (!nd)
            return NULL;
        *tail = nd;
        tail = &nd->next;
    }
    return NULL;
}

struct cairn_template *cairn_template_compile(const char *src, size_t len, struct cairn_err *err)
{
    return cairn_template_compile_with(src, len, NULL, err);
}

struct cairn_template *cairn_template_compile_with(const char *src, size_t len,
                                                  const struct cairn_template_funcs *extra,
                                                  struct cairn_err *err)
{
    struct cairn_template *t = calloc(1, sizeof(*t));
    if (!t || !(t->src = malloc(len + 1))) {
        free(t);
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    memcpy(t->src, src, len);
    t->src[len] = '\0';
    t->len = len;
    struct tparser ps = {.t = t, .p = t->src, .len = len, .err = err, .extra = extra};
    int stop = 0;
    t->root = parse_list(&ps, &stop);
    if (!ps.failed && stop == 1)
        perr(&ps, "unexpected {{end}}");
    else if (!ps.failed && stop >= 2)
        perr(&ps, "unexpected {{else}}");
    if (ps.failed) {
        cairn_template_destroy(t);
        return NULL;
    }
    t->literal = !t->root || (t->root->kind == TN_TEXT && !t->root->next);
    return t;
}

void cairn_template_destroy(struct cairn_template *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nregex; i++)
        cairn_regex_destroy(t->regex_args[i]->re);
    free(t->regex_args);
    struct tpl_block *b = t->arena;
    while (b) {
        struct tpl_block *n = b->next;
        free(b);
        b = n;
    }
    b = t->sblocks;
    while (b) {
        struct tpl_block *n = b->next;
        free(b);
        b = n;
    }
    free(t->src);
    free(t);
}

int cairn_template_is_literal(const struct cairn_template *t)
{
    return t->literal;
}

/* Accessors for template_exec.c (same module, internal). */
struct tnode *cairn__tpl_root(struct cairn_template *t)
{
    return t->root;
}

void cairn__tpl_sreset(struct cairn_template *t)
{
    for (struct tpl_block *b = t->sblocks; b; b = b->next)
        b->used = 0;
    t->scur = t->sblocks;
}

/* Scratch bytes valid until the next render; blocks are kept, so a warm template
 * renders without allocating. */
char *cairn__tpl_salloc(struct cairn_template *t, size_t n)
{
    struct tpl_block *b = t->scur;
    while (b && b->cap - b->used < n)
        b = b->next;
    if (!b) {
        size_t cap = n > 4096 ? n : 4096;
        b = malloc(sizeof(*b) + cap);
        if (!b)
            return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = t->sblocks;
        t->sblocks = b;
    }
    t->scur = b;
    char *r = (char *)b->data + b->used;
    b->used += n;
    return r;
}
