/* parse_template.h -- the subset of Go's text/template that Loki's line_format and
 * label_format (and Promtail's template stage) use: text and {{ actions }} with
 * trim markers, fields (.label), variables, pipelines, parenthesised commands,
 * if/else if/else, range, with, and Loki's documented function list (ToUpper,
 * replace, regexReplaceAll, printf, date, toDate, unixEpoch, default, add, ...).
 *
 * Ownership: a compiled template owns its parse tree and a reusable scratch area for
 * the values built while rendering, so rendering allocates nothing once warm, and a
 * template is used by one thread at a time. Render output is appended to the
 * caller's buffer. */
#ifndef CAIRN_PARSE_TEMPLATE_H
#define CAIRN_PARSE_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"
#include "cairn/error.h"

struct cairn_template;

struct cairn_template_ctx {
    /* Value of `.name`: return 1 and set v and vlen when present, 0 when absent. */
    int (*lookup)(void *arg, const char *name, size_t len, const char **v, size_t *vlen);
    void *arg;
    const char *line;   /* __line__ */
    size_t line_len;
    int64_t ts_ns;      /* __timestamp__, unix ns */
    int64_t now_ns;     /* `now` (the caller's clock, so renders are reproducible) */
};

/* Compile. Errors use Go's wording: "template: line:1: function \"x\" not defined". */
struct cairn_template *cairn_template_compile(const char *src, size_t len, struct cairn_err *err);
void cairn_template_destroy(struct cairn_template *t);

/* Extra functions a caller adds at compile time (the ruler's Prometheus functions,
 * which LogQL's line_format must not have). An argument arrives as its text (Go's %v)
 * and, when it is a number or text that parses as one, as a number too. The function
 * appends its text result to ret->text, or sets ret->is_bool and ret->b. On error it
 * returns CAIRN_EINVAL with err set (the render fails with that message). An entry with
 * `alias` set instead of fn is another name for a built-in function (toUpper: ToUpper).
 * Extra names are looked up before the built-ins. The table must outlive the template. */
struct cairn_template_arg {
    const char *s;
    size_t len;
    int is_num;
    double num;
};
struct cairn_template_ret {
    struct cairn_buf *text;
    int is_bool, b;
};
struct cairn_template_func {
    const char *name;
    int min_args, max_args; /* max -1: variadic */
    int (*fn)(const struct cairn_template_arg *a, int n, struct cairn_template_ret *ret,
              struct cairn_err *err);
    const char *alias;
};
struct cairn_template_funcs {
    const struct cairn_template_func *v;
    size_t n;
};
struct cairn_template *cairn_template_compile_with(const char *src, size_t len,
                                                  const struct cairn_template_funcs *extra,
                                                  struct cairn_err *err);

/* Go's regexp ReplaceAllString (`$1`, `${name}` expanded; literal: ReplaceAllLiteralString)
 * of s by re, appended to out: for extra functions. 0 or CAIRN_ENOMEM. */
struct cairn_regex;
int cairn_template_regex_replace(struct cairn_buf *out, struct cairn_regex *re, const char *s,
                                 size_t l, const char *repl, size_t rl, int literal);

/* Render, appending to out. On an execution error returns CAIRN_EINVAL with err set
 * (out may hold partial output: callers that must not see it truncate). */
int cairn_template_render(struct cairn_template *t, const struct cairn_template_ctx *ctx,
                          struct cairn_buf *out, struct cairn_err *err);

/* Does the template consist of text only (no actions)? Then rendering is a copy. */
int cairn_template_is_literal(const struct cairn_template *t);

/* Go time layouts ("2006-01-02T15:04:05Z07:00"): format a unix-ns time in UTC, and
 * parse text by a layout into unix ns. 0 or CAIRN_EINVAL. */
int cairn_gotime_format(struct cairn_buf *out, const char *layout, size_t llen, int64_t ns);
int cairn_gotime_parse(const char *layout, size_t llen, const char *s, size_t slen,
                       int64_t *ns);
/* Go's %v of a float64 (strconv.FormatFloat(f, 'g', -1, 64) with %v's exponent
 * thresholds). */
int cairn_go_format_float(struct cairn_buf *out, double f);

#endif
