/* template_exec.c -- render a compiled template: evaluate pipelines (the piped value
 * becomes a function's last argument), variables, if/range/with, and print values
 * as Go's fmt %v does. */
#include <math.h>
#include <stdlib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "parse/template_int.h"

struct tnode *cairn__tpl_root(struct cairn_template *t);
void cairn__tpl_sreset(struct cairn_template *t);
char *cairn__tpl_salloc(struct cairn_template *t, size_t n);

#define TPL_MAX_VARS 32
#define TPL_MAX_DEPTH 64

struct tvar {
    const char *name;
    size_t len;
    struct tval v;
};

struct texec {
    struct cairn_template *t;
    const struct cairn_template_ctx *ctx;
    struct cairn_buf *out;
    struct cairn_err *err;
    struct tvar vars[TPL_MAX_VARS];
    int nvars;
    int depth;
    int failed;
};

char *cairn__tpl_scratch(struct texec *x, size_t n)
{
    char *p = cairn__tpl_salloc(x->t, n ? n : 1);
    if (!p)
        cairn__tpl_fail(x, "out of memory");
    return p;
}

int cairn__tpl_fail(struct texec *x, const char *fmt, ...)
{
    if (x->failed)
        return -1;
    x->failed = 1;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cairn_err_set(x->err, CAIRN_EINVAL, "template: %s", msg);
    return -1;
}

const struct cairn_template_ctx *cairn__tpl_ctx(struct texec *x)
{
    return x->ctx;
}

struct tval cairn__tpl_str(const char *s, size_t len)
{
    return (struct tval){.t = TV_STR, .s = s, .len = len};
}

int cairn_go_format_float(struct cairn_buf *out, double f)
{
    if (isnan(f))
        return cairn_buf_append_str(out, "NaN");
    if (isinf(f))
        return cairn_buf_append_str(out, f > 0 ? "+Inf" : "-Inf");
    char buf[64];
    int prec;
    for (prec = 1; prec < 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, f);
        if (strtod(buf, NULL) == f)
            break;
    }
    snprintf(buf, sizeof(buf), "%.*e", prec - 1, f);
    /* decimal exponent of the shortest form */
    char *e = strchr(buf, 'e');
    int exp = e ? atoi(e + 1) : 0;
    if (exp < -4 || exp >= 6) {
        /* Go: mantissa, 'e', sign, at least two exponent digits */
        char mant[40];
        size_t ml = (size_t)(e - buf);
        memcpy(mant, buf, ml);
        mant[ml] = '\0';
        return cairn_buf_appendf(out, "%se%c%02d", mant, exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    }
    int decimals = prec - 1 - exp;
    if (decimals < 0)
        decimals = 0;
    return cairn_buf_appendf(out, "%.*f", decimals, f);
}

static int fmt_time(struct cairn_buf *b, int64_t ns)
{
    /* Go's time.Time String() in UTC: 2006-01-02 15:04:05.999999999 +0000 UTC */
    static const char layout[] = "2006-01-02 15:04:05.999999999 -0700 MST";
    return cairn_gotime_format(b, layout, sizeof(layout) - 1, ns);
}

int cairn__tpl_to_str(struct texec *x, const struct tval *v, const char **s, size_t *len)
{
    char tmp[96];
    struct cairn_buf b = {tmp, 0, sizeof(tmp)};
    switch (v->t) {
    case TV_STR:
        *s = v->s;
        *len = v->len;
        return 0;
    case TV_NIL:
        *s = "<no value>";
        *len = 10;
        return 0;
    case TV_BOOL:
        *s = v->i ? "true" : "false";
        *len = v->i ? 4 : 5;
        return 0;
    case TV_INT:
        b.len = (size_t)snprintf(tmp, sizeof(tmp), "%lld", (long long)v->i);
        break;
    case TV_FLOAT: {
        struct cairn_buf fb = CAIRN_BUF_INIT;
        if (cairn_go_format_float(&fb, v->f)) {
            cairn_buf_deinit(&fb);
            return cairn__tpl_fail(x, "out of memory");
        }
        char *p = cairn__tpl_scratch(x, fb.len);
        if (p)
            memcpy(p, fb.data, fb.len);
        *s = p;
        *len = fb.len;
        cairn_buf_deinit(&fb);
        return p ? 0 : -1;
    }
    case TV_JSON:
    case TV_TIME: {
        struct cairn_buf tb = CAIRN_BUF_INIT;
        if (v->t == TV_JSON ? cairn__tpl_json_print(&tb, v->s, v->len) : fmt_time(&tb, v->i)) {
            cairn_buf_deinit(&tb);
            return cairn__tpl_fail(x, "out of memory");
        }
        char *p = cairn__tpl_scratch(x, tb.len);
        if (p)
            memcpy(p, tb.data, tb.len);
        *s = p;
        *len = tb.len;
        cairn_buf_deinit(&tb);
        return p ? 0 : -1;
    }
    }
    char *p = cairn__tpl_scratch(x, b.len);
    if (!p)
        return -1;
    memcpy(p, tmp, b.len);
    *s = p;
    *len = b.len;
    return 0;
}

int cairn__tpl_to_float(const struct tval *v, double *f)
{
    switch (v->t) {
    case TV_INT: case TV_BOOL: *f = (double)v->i; return 0;
    case TV_FLOAT: *f = v->f; return 0;
    case TV_TIME: *f = (double)v->i; return 0;
    case TV_JSON: return -1;
    case TV_NIL: *f = 0; return 0;
    case TV_STR: {
        char buf[64];
        if (v->len == 0) {
            *f = 0;
            return 0;
        }
        if (v->len >= sizeof(buf))
            return -1;
        memcpy(buf, v->s, v->len);
        buf[v->len] = '\0';
        char *end;
        *f = strtod(buf, &end);
        return *end ? -1 : 0;
    }
    }
    return -1;
}

int cairn__tpl_to_int(const struct tval *v, int64_t *i)
{
    if (v->t == TV_INT || v->t == TV_BOOL || v->t == TV_TIME) {
        *i = v->i;
        return 0;
    }
    double f;
    if (cairn__tpl_to_float(v, &f) || !(f > -9.2e18 && f < 9.2e18))
        return -1;
    *i = (int64_t)f;
    return 0;
}

int cairn__tpl_truth(const struct tval *v)
{
    switch (v->t) {
    case TV_NIL: return 0;
    case TV_STR: return v->len > 0;
    case TV_INT: case TV_BOOL: return v->i != 0;
    case TV_FLOAT: return v->f != 0;
    case TV_TIME: return 1;
    case TV_JSON: { /* Go: a map or slice is true when not empty */
        size_t i = 1;
        while (i < v->len && (v->s[i] == ' ' || v->s[i] == '\t' || v->s[i] == '\n' || v->s[i] == '\r'))
            i++;
        return i < v->len && v->s[i] != '}' && v->s[i] != ']';
    }
    }
    return 0;
}

static int eval_pipe(struct texec *x, struct tpipe *pp, const struct tval *dot, struct tval *out);
static int eval_cmd(struct texec *x, struct tcmd *c, const struct tval *dot,
                    const struct tval *piped, struct tval *out);

static int lookup_var(struct texec *x, const char *name, size_t len, struct tval *out)
{
    for (int i = x->nvars - 1; i >= 0; i--)
        if (x->vars[i].len == len && memcmp(x->vars[i].name, name, len) == 0) {
            *out = x->vars[i].v;
            return 0;
        }
    return cairn__tpl_fail(x, "undefined variable: %.*s", (int)len, name);
}

static int eval_arg(struct texec *x, struct targ *a, const struct tval *dot, struct tval *out)
{
    switch (a->kind) {
    case TA_DOT:
        *out = *dot;
        return 0;
    case TA_FIELD: {
        const char *name = a->s;
        size_t len = a->len;
        if (memchr(name, '.', len))
            return cairn__tpl_fail(x, "can't evaluate field %.*s", (int)len, name);
        const char *v = NULL;
        size_t vl = 0;
        if (x->ctx->lookup && x->ctx->lookup(x->ctx->arg, name, len, &v, &vl))
            *out = cairn__tpl_str(v, vl);
        else
            *out = cairn__tpl_str("", 0);
        return 0;
    }
    case TA_VAR:
        if (a->len == 1) { /* $ is the root data */
            *out = (struct tval){.t = TV_NIL};
            return 0;
        }
        return lookup_var(x, a->s, a->len, out);
    case TA_STR:
        *out = cairn__tpl_str(a->s, a->len);
        return 0;
    case TA_NUM:
        *out = a->is_int ? (struct tval){.t = TV_INT, .i = a->i} : (struct tval){.t = TV_FLOAT, .f = a->f};
        return 0;
    case TA_BOOL:
        *out = (struct tval){.t = TV_BOOL, .i = a->i};
        return 0;
    case TA_NIL:
        *out = (struct tval){.t = TV_NIL};
        return 0;
    case TA_PIPE:
        return eval_pipe(x, a->pipe, dot, out);
    case TA_FUNC: {
        /* a function named as an argument is called with no arguments */
        struct tcmd c = {a, 1};
        return eval_cmd(x, &c, dot, NULL, out);
    }
    }
    return cairn__tpl_fail(x, "bad operand");
}

#define TPL_MAX_ARGS 16

static int eval_cmd(struct texec *x, struct tcmd *c, const struct tval *dot,
                    const struct tval *piped, struct tval *out)
{
    struct targ *a0 = &c->args[0];
    if (a0->kind != TA_FUNC) {
        if (piped)
            return cairn__tpl_fail(x, "can't give argument to non-function");
        return eval_arg(x, a0, dot, out);
    }
    struct tval args[TPL_MAX_ARGS];
    int n = 0;
    for (int i = 1; i < c->nargs; i++) {
        if (n >= TPL_MAX_ARGS - 1)
            return cairn__tpl_fail(x, "too many arguments");
        if (eval_arg(x, &c->args[i], dot, &args[n++]))
            return -1;
    }
    if (piped)
        args[n++] = *piped;
    const struct tfunc *fn = a0->fn;
    if (n < fn->min_args || (fn->max_args >= 0 && n > fn->max_args))
        return cairn__tpl_fail(x, "wrong number of args for %s: want %d got %d", fn->name,
                               fn->min_args, n);
    *out = (struct tval){.t = TV_NIL};
    return fn->fn(x, c, args, n, out);
}

static int eval_pipe(struct texec *x, struct tpipe *pp, const struct tval *dot, struct tval *out)
{
    if (++x->depth > TPL_MAX_DEPTH)
        return cairn__tpl_fail(x, "exceeded maximum template depth");
    struct tval v = {.t = TV_NIL};
    for (int i = 0; i < pp->ncmds; i++) {
        struct tval r;
        if (eval_cmd(x, &pp->cmds[i], dot, i ? &v : NULL, &r))
            return -1;
        v = r;
    }
    x->depth--;
    if (pp->decl) {
        if (pp->assign) {
            for (int i = x->nvars - 1; i >= 0; i--)
                if (x->vars[i].len == pp->decl_len &&
                    memcmp(x->vars[i].name, pp->decl, pp->decl_len) == 0) {
                    x->vars[i].v = v;
                    *out = v;
                    return 0;
                }
            return cairn__tpl_fail(x, "undefined variable: %.*s", (int)pp->decl_len, pp->decl);
        }
        if (x->nvars >= TPL_MAX_VARS)
            return cairn__tpl_fail(x, "too many variables");
        x->vars[x->nvars++] = (struct tvar){pp->decl, pp->decl_len, v};
    }
    *out = v;
    return 0;
}

static int print_val(struct texec *x, const struct tval *v)
{
    const char *s;
    size_t len;
    if (cairn__tpl_to_str(x, v, &s, &len))
        return -1;
    if (cairn_buf_append(x->out, s, len))
        return cairn__tpl_fail(x, "out of memory");
    return 0;
}

static int exec_list(struct texec *x, struct tnode *n, const struct tval *dot)
{
    int saved = x->nvars;
    for (; n && !x->failed; n = n->next) {
        struct tval v;
        switch (n->kind) {
        case TN_TEXT:
            if (cairn_buf_append(x->out, n->text, n->len))
                return cairn__tpl_fail(x, "out of memory");
            break;
        case TN_ACTION:
            if (eval_pipe(x, n->pipe, dot, &v))
                return -1;
            if (!n->pipe->decl && print_val(x, &v))
                return -1;
            break;
        case TN_IF:
        case TN_WITH: {
            int vs = x->nvars;
            if (eval_pipe(x, n->pipe, dot, &v))
                return -1;
            if (cairn__tpl_truth(&v)) {
                if (exec_list(x, n->list, n->kind == TN_WITH ? &v : dot))
                    return -1;
            } else if (n->elist) {
                if (exec_list(x, n->elist, dot))
                    return -1;
            }
            x->nvars = vs;
            break;
        }
        case TN_RANGE: {
            /* Loki's data has no lists; range over an integer n counts 0..n-1 (Go
             * 1.22), over a string its bytes' absence: run else. */
            int vs = x->nvars;
            if (eval_pipe(x, n->pipe, dot, &v))
                return -1;
            int64_t cnt = 0;
            if (v.t == TV_INT)
                cnt = v.i;
            else if (v.t != TV_NIL && !(v.t == TV_STR && v.len == 0))
                return cairn__tpl_fail(x, "range can't iterate over %.*s", (int)(v.t == TV_STR ? v.len : 0), v.s ? v.s : "");
            if (cnt <= 0 && n->elist && exec_list(x, n->elist, dot))
                return -1;
            for (int64_t i = 0; i < cnt && i < 100000; i++) {
                struct tval iv = {.t = TV_INT, .i = i};
                if (n->pipe->decl && x->nvars < TPL_MAX_VARS) {
                    x->nvars = vs;
                    x->vars[x->nvars++] = (struct tvar){n->pipe->decl, n->pipe->decl_len, iv};
                    if (n->pipe->decl2 && x->nvars < TPL_MAX_VARS)
                        x->vars[x->nvars++] = (struct tvar){n->pipe->decl2, n->pipe->decl2_len, iv};
                }
                if (exec_list(x, n->list, &iv))
                    return -1;
            }
            x->nvars = vs;
            break;
        }
        }
    }
    x->nvars = saved;
    return x->failed ? -1 : 0;
}

int cairn_template_render(struct cairn_template *t, const struct cairn_template_ctx *ctx,
                          struct cairn_buf *out, struct cairn_err *err)
{
    struct texec x = {.t = t, .ctx = ctx, .out = out, .err = err};
    cairn__tpl_sreset(t);
    struct tval root = {.t = TV_NIL};
    x.vars[x.nvars++] = (struct tvar){"$", 1, root};
    if (exec_list(&x, cairn__tpl_root(t), &root))
        return err && err->code ? err->code : CAIRN_EINVAL;
    return 0;
}
