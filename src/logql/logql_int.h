/* logql_int.h -- internals shared by the LogQL lexer, parser and printer: the arena
 * that owns a query's AST, the token stream, and the query struct. */
#ifndef CAIRN_LOGQL_INT_H
#define CAIRN_LOGQL_INT_H

#include "cairn/logql.h"

/* ---- arena: every AST node and string of one query; freed at once ---- */
struct lq_arena_block;
struct lq_arena {
    struct lq_arena_block *head;
};
void *cairn__lq_alloc(struct lq_arena *a, size_t n); /* zeroed; NULL on OOM */
char *cairn__lq_strdup(struct lq_arena *a, const char *p, size_t n);
void cairn__lq_arena_free(struct lq_arena *a);

/* ---- tokens ---- */
enum lq_tok {
    LT_EOF = 0, LT_IDENT, LT_STRING, LT_NUMBER, LT_DURATION, LT_BYTES, LT_FLAG,
    LT_LBRACE, LT_RBRACE, LT_LPAREN, LT_RPAREN, LT_LBRACK, LT_RBRACK, LT_COMMA,
    LT_EQ, LT_EQEQ, LT_NEQ, LT_RE, LT_NRE, LT_PIPE_EXACT, LT_PIPE_MATCH,
    LT_PIPE_PATTERN, LT_NPATTERN, LT_PIPE, LT_GT, LT_GTE, LT_LT, LT_LTE,
    LT_ADD, LT_SUB, LT_MUL, LT_DIV, LT_MOD, LT_POW,
};

struct lq_token {
    enum lq_tok t;
    const char *src; /* the token's text in the query */
    size_t srclen;
    int line, col;   /* 1-based */
    char *s;         /* STRING: unescaped (arena); IDENT/FLAG: copy of the text */
    size_t slen;
    double num;      /* NUMBER, BYTES */
    int64_t dur;     /* DURATION, in ns */
};

struct cairn_logql_query {
    struct lq_arena arena;
    struct cairn_lq_expr *root;
    /* every matcher compiled into the AST, to deinit them on destroy */
    struct cairn_matcher **matchers;
    size_t nmatchers, capmatchers;
    const char *text; /* the query as given (arena copy) */
    size_t text_len;
};

/* Tokenise the whole query into an arena array ending with LT_EOF. On a lexical
 * error fills err with Loki's "parse error at line L, col C: ..." wording. */
int cairn__lq_lex(struct lq_arena *a, const char *q, size_t len, struct lq_token **out,
                  size_t *n, struct cairn_err *err);
const char *cairn__lq_tok_name(enum lq_tok t);

/* Unquote a Go double-quoted string body (between the quotes): escapes as Go's
 * strconv.Unquote. Writes at most len bytes to out; returns the length or -1. */
long cairn__lq_unquote(const char *p, size_t len, char *out, const char **why);

/* Format a duration in ns the way Prometheus prints it ("1h5m", "250ms"). */
int cairn__lq_format_duration(struct cairn_buf *b, int64_t ns);

/* Parser state (parse.c, parse_pipeline.c). */
struct lq_parser {
    struct cairn_logql_query *q;
    struct lq_token *toks;
    size_t n, i;
    struct cairn_err *err;
    int failed;
    int depth; /* nesting of parentheses and sub-expressions */
    int binary; /* binary operators and and/or label filters so far */
};
/* More binary nodes than this are refused: evaluation and printing recurse down
 * left-deep chains like `a or b or c ...`. */
#define LQ_MAX_BINARY 1024
/* Deeper nesting is refused: bounds the parser's recursion (and stack). */
#define LQ_MAX_DEPTH 128
int cairn__lq_enter(struct lq_parser *ps);
struct lq_token *cairn__lq_peek(struct lq_parser *ps, size_t ahead);
struct lq_token *cairn__lq_next(struct lq_parser *ps);
int cairn__lq_accept(struct lq_parser *ps, enum lq_tok t);
int cairn__lq_ident_is(const struct lq_token *t, const char *s);
/* "syntax error: unexpected X[, expecting Y]" at the current token; returns -1. */
int cairn__lq_syntax(struct lq_parser *ps, const char *expecting);
int cairn__lq_error_at(struct lq_parser *ps, const struct lq_token *t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cairn__lq_add_matcher(struct lq_parser *ps, struct cairn_matcher *m);
/* Parse a log expression's pipeline after the selector into e->stages (and the
 * unwrap fields when allow_unwrap). Returns 0 or -1 with the error set. */
int cairn__lq_parse_pipeline(struct lq_parser *ps, struct cairn_lq_expr *e, int allow_unwrap);

#endif
