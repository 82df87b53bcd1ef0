/* template_int.h -- the template parse tree, values and function table shared by
 * template.c (parser), template_exec.c and template_funcs.c. */
#ifndef CAIRN_TEMPLATE_INT_H
#define CAIRN_TEMPLATE_INT_H

#include "cairn/matcher.h"
#include "cairn/parse_template.h"

enum tv_type { TV_NIL, TV_STR, TV_INT, TV_FLOAT, TV_BOOL, TV_TIME, TV_JSON };

struct tval {
    enum tv_type t;
    const char *s; /* TV_STR (not NUL-terminated); TV_JSON: an object's or array's text */
    size_t len;
    int64_t i;     /* TV_INT, TV_BOOL, TV_TIME (unix ns) */
    double f;      /* TV_FLOAT */
};

enum targ_kind { TA_FIELD, TA_DOT, TA_VAR, TA_STR, TA_NUM, TA_BOOL, TA_NIL, TA_FUNC, TA_PIPE };

struct tpipe;
struct tfunc;
struct tcmd;

struct targ {
    enum targ_kind kind;
    const char *s;     /* TA_FIELD: field name; TA_VAR: variable name; TA_STR: text */
    size_t len;
    int is_int;        /* TA_NUM */
    int64_t i;
    double f;
    const struct tfunc *fn;  /* TA_FUNC */
    struct tpipe *pipe;      /* TA_PIPE */
    struct cairn_regex *re;  /* cache for a literal regex argument */
};

struct tcmd {
    struct targ *args;
    int nargs;
};

struct tpipe {
    const char *decl;  /* $x := / $x = ; NULL if none */
    size_t decl_len;
    const char *decl2; /* range $i, $v := */
    size_t decl2_len;
    int assign;        /* `=` rather than `:=` */
    struct tcmd *cmds;
    int ncmds;
};

enum tnode_kind { TN_TEXT, TN_ACTION, TN_IF, TN_RANGE, TN_WITH };

struct tnode {
    enum tnode_kind kind;
    struct tnode *next;
    const char *text; /* TN_TEXT */
    size_t len;
    struct tpipe *pipe;
    struct tnode *list, *elist;
};

struct texec; /* execution state (template_exec.c) */

struct tfunc {
    const char *name;
    int min_args, max_args; /* max -1: variadic */
    int (*fn)(struct texec *x, struct tcmd *call, struct tval *a, int n, struct tval *out);
};

/* A caller's extra function: fn is cairn__tpl_f_ext, which calls ext. */
struct tfunc_ext {
    struct tfunc f;
    const struct cairn_template_func *ext;
};

/* Calls the struct tfunc_ext's ext of call->args[0] (template_ext.c). */
int cairn__tpl_f_ext(struct texec *x, struct tcmd *call, struct tval *a, int n, struct tval *out);

const struct tfunc *cairn__tpl_func(const char *name, size_t len);

/* Scratch allocation for values built while rendering (reset per render). */
char *cairn__tpl_scratch(struct texec *x, size_t n);
int cairn__tpl_fail(struct texec *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Value -> text (Go's %v). The result may point into scratch. */
int cairn__tpl_to_str(struct texec *x, const struct tval *v, const char **s, size_t *len);
int cairn__tpl_to_float(const struct tval *v, double *f);
int cairn__tpl_to_int(const struct tval *v, int64_t *i);
int cairn__tpl_truth(const struct tval *v);
const struct cairn_template_ctx *cairn__tpl_ctx(struct texec *x);
struct tval cairn__tpl_str(const char *s, size_t len);

/* Append Go's %v of a TV_JSON value (template_json.c). 0, CAIRN_ENOMEM, CAIRN_EINVAL. */
int cairn__tpl_json_print(struct cairn_buf *b, const char *p, size_t len);

/* Digests of the concatenation p1 || p2 (digest.c). */
void cairn__sha256(const void *p1, size_t n1, const void *p2, size_t n2, unsigned char out[32]);
void cairn__sha3_256(const void *p1, size_t n1, const void *p2, size_t n2, unsigned char out[32]);

#endif
