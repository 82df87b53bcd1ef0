/* logql.h -- LogQL: parse a query into an AST, and (logql_pipeline.h) run a log
 * pipeline over entries.
 *
 * Ownership: cairn_logql_parse returns a query that owns every node, string and
 * compiled matcher of its AST (one arena); cairn_logql_query_destroy frees it all.
 * Strings in the AST are NUL-terminated and stay valid as long as the query. The
 * compiled matchers carry PCRE2 match data, so one query is used by one thread at a
 * time (parse the text again per thread; parsing is cheap). */
#ifndef CAIRN_LOGQL_H
#define CAIRN_LOGQL_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"
#include "cairn/error.h"
#include "cairn/matcher.h"

struct cairn_lq_str {
    const char *p; /* NUL-terminated */
    size_t len;
};

/* ---- log pipeline stages ---- */

enum cairn_lq_filter_op {
    CAIRN_LQ_LINE_CONTAINS,     /* |= */
    CAIRN_LQ_LINE_NOT_CONTAINS, /* != */
    CAIRN_LQ_LINE_MATCH_RE,     /* |~ */
    CAIRN_LQ_LINE_NOT_RE,       /* !~ */
    CAIRN_LQ_LINE_PATTERN,      /* |> */
    CAIRN_LQ_LINE_NOT_PATTERN,  /* !> */
};

struct cairn_lq_filter_alt { /* one alternative of `|= "a" or "b"` */
    struct cairn_lq_str value;
    int is_ip; /* ip("...") */
};

enum cairn_lq_cmp {
    CAIRN_LQ_CMP_EQ, CAIRN_LQ_CMP_NEQ, CAIRN_LQ_CMP_GT, CAIRN_LQ_CMP_GTE,
    CAIRN_LQ_CMP_LT, CAIRN_LQ_CMP_LTE,
};

enum cairn_lq_lf_kind {
    CAIRN_LQ_LF_AND, CAIRN_LQ_LF_OR,
    CAIRN_LQ_LF_STRING,   /* name op "value" with =, !=, =~, !~ (and ==) */
    CAIRN_LQ_LF_NUMBER,   /* name cmp 1.5 */
    CAIRN_LQ_LF_DURATION, /* name cmp 250ms (value in seconds) */
    CAIRN_LQ_LF_BYTES,    /* name cmp 20MB (value in bytes) */
    CAIRN_LQ_LF_IP,       /* name = ip("..."), name != ip("...") */
};

struct cairn_lq_label_filter {
    enum cairn_lq_lf_kind kind;
    struct cairn_lq_label_filter *left, *right; /* AND / OR */
    struct cairn_matcher m;                     /* STRING (name, value, regex) */
    struct cairn_lq_str name;                   /* NUMBER/DURATION/BYTES/IP */
    enum cairn_lq_cmp cmp;
    double value;
    struct cairn_lq_str ip;
};

struct cairn_lq_param { /* json a="x.y" / logfmt a="k" / label_format a=b / drop a="v" */
    struct cairn_lq_str name;
    struct cairn_lq_str value;
    int has_value;   /* drop/keep: a matcher form; label_format: a template */
    enum cairn_match_type op; /* drop/keep matcher op */
};

enum cairn_lq_stage_kind {
    CAIRN_LQ_STAGE_LINE_FILTER,
    CAIRN_LQ_STAGE_JSON,
    CAIRN_LQ_STAGE_LOGFMT,
    CAIRN_LQ_STAGE_REGEXP,
    CAIRN_LQ_STAGE_PATTERN,
    CAIRN_LQ_STAGE_UNPACK,
    CAIRN_LQ_STAGE_LABEL_FILTER,
    CAIRN_LQ_STAGE_LINE_FORMAT,
    CAIRN_LQ_STAGE_LABEL_FORMAT,
    CAIRN_LQ_STAGE_DROP,
    CAIRN_LQ_STAGE_KEEP,
    CAIRN_LQ_STAGE_DECOLORIZE,
    CAIRN_LQ_STAGE_DISTINCT, /* Loki 3: keep a line when one of the labels has a new value */
};

struct cairn_lq_stage {
    enum cairn_lq_stage_kind kind;
    struct cairn_lq_stage *next;
    /* LINE_FILTER */
    enum cairn_lq_filter_op fop;
    struct cairn_lq_filter_alt *alts;
    size_t nalts;
    /* JSON / LOGFMT params, LABEL_FORMAT, DROP, KEEP */
    struct cairn_lq_param *params;
    size_t nparams;
    int strict, keep_empty; /* logfmt flags */
    /* REGEXP / PATTERN / LINE_FORMAT source text */
    struct cairn_lq_str text;
    /* LABEL_FILTER */
    struct cairn_lq_label_filter *lf;
};

/* ---- expressions ---- */

enum cairn_lq_expr_kind {
    CAIRN_LQ_LOG,           /* selector + pipeline */
    CAIRN_LQ_RANGE_AGG,     /* count_over_time(... [5m]) */
    CAIRN_LQ_VECTOR_AGG,    /* sum by (x) (...) */
    CAIRN_LQ_BINOP,
    CAIRN_LQ_NUMBER,
    CAIRN_LQ_VECTOR,        /* vector(1) */
    CAIRN_LQ_LABEL_REPLACE,
};

enum cairn_lq_range_op {
    CAIRN_LQ_COUNT_OVER_TIME, CAIRN_LQ_RATE, CAIRN_LQ_RATE_COUNTER,
    CAIRN_LQ_BYTES_OVER_TIME, CAIRN_LQ_BYTES_RATE, CAIRN_LQ_ABSENT_OVER_TIME,
    CAIRN_LQ_SUM_OVER_TIME, CAIRN_LQ_AVG_OVER_TIME, CAIRN_LQ_MAX_OVER_TIME,
    CAIRN_LQ_MIN_OVER_TIME, CAIRN_LQ_FIRST_OVER_TIME, CAIRN_LQ_LAST_OVER_TIME,
    CAIRN_LQ_STDVAR_OVER_TIME, CAIRN_LQ_STDDEV_OVER_TIME, CAIRN_LQ_QUANTILE_OVER_TIME,
};

enum cairn_lq_vec_op {
    CAIRN_LQ_SUM, CAIRN_LQ_AVG, CAIRN_LQ_MIN, CAIRN_LQ_MAX, CAIRN_LQ_COUNT,
    CAIRN_LQ_STDDEV, CAIRN_LQ_STDVAR, CAIRN_LQ_TOPK, CAIRN_LQ_BOTTOMK,
    CAIRN_LQ_SORT, CAIRN_LQ_SORT_DESC,
};

enum cairn_lq_bin_op {
    CAIRN_LQ_OR, CAIRN_LQ_AND, CAIRN_LQ_UNLESS,
    CAIRN_LQ_EQ, CAIRN_LQ_NEQ, CAIRN_LQ_GT, CAIRN_LQ_GTE, CAIRN_LQ_LT, CAIRN_LQ_LTE,
    CAIRN_LQ_ADD, CAIRN_LQ_SUB, CAIRN_LQ_MUL, CAIRN_LQ_DIV, CAIRN_LQ_MOD, CAIRN_LQ_POW,
};

enum cairn_lq_unwrap_conv { CAIRN_LQ_CONV_NONE, CAIRN_LQ_CONV_BYTES, CAIRN_LQ_CONV_DURATION,
                            CAIRN_LQ_CONV_DURATION_SECONDS };

struct cairn_lq_grouping {
    int present;
    int without;
    struct cairn_lq_str *labels;
    size_t nlabels;
};

struct cairn_lq_expr {
    enum cairn_lq_expr_kind kind;
    /* LOG */
    struct cairn_matcher *matchers;
    size_t nmatchers;
    struct cairn_lq_stage *stages; /* linked list, in query order */
    /* RANGE_AGG */
    enum cairn_lq_range_op rop;
    struct cairn_lq_expr *log;     /* the LOG expression inside */
    int64_t range_ns;
    int64_t offset_ns;
    int has_unwrap;
    struct cairn_lq_str unwrap_label;
    enum cairn_lq_unwrap_conv unwrap_conv;
    struct cairn_lq_stage *post_unwrap; /* label filters after `| unwrap x` */
    /* VECTOR_AGG */
    enum cairn_lq_vec_op vop;
    int approx;                    /* approx_topk: topk, for instant queries only */
    struct cairn_lq_expr *param;   /* topk/bottomk k, quantile_over_time phi */
    struct cairn_lq_grouping grouping; /* vector and range aggregations */
    struct cairn_lq_expr *inner;   /* VECTOR_AGG, LABEL_REPLACE */
    /* BINOP */
    enum cairn_lq_bin_op bop;
    int return_bool;
    int on, ignoring, group_left, group_right;
    struct cairn_lq_str *match_labels;  /* on(...) / ignoring(...) */
    size_t nmatch_labels;
    struct cairn_lq_str *include_labels; /* group_left(...) */
    size_t ninclude_labels;
    struct cairn_lq_expr *lhs, *rhs;
    /* NUMBER, VECTOR */
    double number;
    /* LABEL_REPLACE */
    struct cairn_lq_str dst, replacement, src, regex;
};

struct cairn_logql_query;

/* Parse a LogQL query (log or metric). On a syntax error returns CAIRN_EINVAL and err
 * holds Loki's wording: "parse error at line L, col C: syntax error: unexpected ..."
 * (or "parse error : queries require at least one regexp or equality matcher ..."
 * for a selector with no matcher that excludes the empty string). */
int cairn_logql_parse(const char *q, size_t len, struct cairn_logql_query **out,
                      struct cairn_err *err);
void cairn_logql_query_destroy(struct cairn_logql_query *q);
const struct cairn_lq_expr *cairn_logql_root(const struct cairn_logql_query *q);

/* The query text as given to cairn_logql_parse (owned by the query). Threads that
 * need their own AST (compiled matchers are per thread) parse it again. */
const char *cairn_logql_text(const struct cairn_logql_query *q, size_t *len);

/* Is the root a log query (a selector with a pipeline, not a metric)? */
int cairn_logql_is_log(const struct cairn_logql_query *q);

/* Print the expression back in a canonical LogQL form, binary operations fully
 * parenthesised, for tests and logs. */
int cairn_logql_format(const struct cairn_lq_expr *e, struct cairn_buf *out);

#endif
