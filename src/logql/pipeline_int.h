/* pipeline_int.h -- internals of the log pipeline: the per-entry label builder, line
 * filter runtime, and IP ranges. */
#ifndef CAIRN_PIPELINE_INT_H
#define CAIRN_PIPELINE_INT_H

#include "cairn/logql_pipeline.h"
#include "cairn/parse_pattern.h"
#include "cairn/strmap.h"

/* ---- label builder: stream labels + changes, for one entry at a time ---- */
struct lb_ent {
    const char *n, *v;     /* external views (stream labels, AST strings) */
    uint32_t noff, voff;   /* offsets into the builder's scratch when *_scr */
    uint32_t nlen, vlen;
    uint8_t n_scr, v_scr;
    uint8_t del;           /* deleted */
    uint8_t stream;        /* came from the stream's labels (and unchanged) */
    uint8_t sm;            /* came from the entry's structured metadata (and unchanged) */
};

struct lbuilder {
    const struct cairn_labels *stream;
    struct lb_ent *e;
    size_t n, cap;
    struct cairn_buf scr;  /* names and values set during this entry */
    size_t *order;         /* sorted live entries */
    size_t ordercap;
    uint64_t mask;         /* one bit per name ever set this entry (see name_bit) */
    uint64_t stream_mask;  /* the same for the stream's own labels */
};

void cairn__lb_init(struct lbuilder *lb);
void cairn__lb_deinit(struct lbuilder *lb);
int cairn__lb_reset(struct lbuilder *lb, const struct cairn_labels *stream);
const char *cairn__lb_name(const struct lbuilder *lb, const struct lb_ent *e);
const char *cairn__lb_value(const struct lbuilder *lb, const struct lb_ent *e);
/* Index of the live label `name`, or -1. */
long cairn__lb_find(const struct lbuilder *lb, const char *name, size_t len);
/* Value of `name` (the empty string when absent: *found says which). */
const char *cairn__lb_get(const struct lbuilder *lb, const char *name, size_t len, size_t *vlen,
                          int *found);
enum {
    LB_PARSED = 1,     /* from a parser: a clash with a stream label gets _extracted */
    LB_NAME_STABLE = 2, /* name outlives the entry (AST text): not copied */
    LB_VALUE_STABLE = 4, /* value is a view into the entry's own input line: not copied */
    LB_SMETA = 8       /* structured metadata (Loki 3's category; else parsed) */
};
/* Set name=value (both copied unless LB_NAME_STABLE; may alias the builder's own
 * scratch). 0 or CAIRN_ENOMEM. */
int cairn__lb_set(struct lbuilder *lb, const char *name, size_t nlen, const char *v, size_t vlen,
                  int flags);
void cairn__lb_del(struct lbuilder *lb, long idx);
int cairn__lb_set_error(struct lbuilder *lb, const char *err, const char *details);
int cairn__lb_has_error(const struct lbuilder *lb);
int cairn__lb_labels(struct lbuilder *lb, struct cairn_labels *out);
uint64_t cairn__lb_hash(struct lbuilder *lb);
/* Loki 3's categories of the labels that are not the stream's, as the JSON object
 * {"structuredMetadata":{...},"parsed":{...}} (each only when not empty; nothing at all
 * when both are) appended to out. 0 or CAIRN_ENOMEM. */
int cairn__lb_categorized(struct lbuilder *lb, struct cairn_buf *out);

/* ---- IP ranges (v4 mapped into v6) ---- */
struct ip_range {
    unsigned char lo[16], hi[16];
};
int cairn__ip_range_parse(const char *s, size_t len, struct ip_range *r);
int cairn__ip_in_range(const struct ip_range *r, const char *s, size_t len);
/* Does the line contain an address inside r? */
int cairn__ip_line_match(const struct ip_range *r, const char *line, size_t len);

/* ---- line filters ---- */
enum lf_alt_kind { LFA_LIT, LFA_LIT_CI, LFA_REGEX, LFA_PATTERN, LFA_IP };

struct lf_alt {
    enum lf_alt_kind kind;
    const char *lit;
    size_t len;
    size_t rare;   /* LFA_LIT: offset of the needle's rarest byte, found by memchr */
    size_t rare2;  /* LFA_LIT: offset of the second rarest (another position) */
    struct cairn_regex *re;
    struct cairn_pattern *pat;
    struct ip_range ip;
};

struct line_filter {
    int negate;
    struct lf_alt *alts;
    size_t n;
};

int cairn__line_filter_init(struct line_filter *f, const struct cairn_lq_stage *st,
                            struct cairn_err *err);
/* A literal alternative for lit (borrowed, not copied), and its search: 1 found. */
void cairn__lit_init(struct lf_alt *a, const char *lit, size_t len);
int cairn__lit_find(const struct lf_alt *a, const char *h, size_t hl);
void cairn__line_filter_deinit(struct line_filter *f);
int cairn__line_filter_match(const struct line_filter *f, const char *line, size_t len);

/* Go's error texts (pipeline_goerr.c). go_parse_float: strconv.ParseFloat's syntax and
 * range, 0 or -1 with its error appended to msg (msg may be NULL). The other two append
 * the error go-humanize's ParseBytes / time.ParseDuration give for a value cairn
 * refused. Appends are best effort (an out-of-memory buffer keeps what fits). */
int cairn__go_parse_float(const char *s, size_t n, double *v, struct cairn_buf *msg);
void cairn__go_bytes_error(const char *s, size_t n, struct cairn_buf *msg);
void cairn__go_duration_error(const char *s, size_t n, struct cairn_buf *msg);

/* Strip ANSI colour escape sequences from in into out. */
int cairn__decolorize(const char *in, size_t len, struct cairn_buf *out);


/* ---- the pipeline itself (pipeline.c), and its parser stages (pipeline_parse.c) ---- */
struct stage_rt {
    const struct cairn_lq_stage *st;
    int hoisted;
    struct line_filter lf;
    struct cairn_jsonpath **paths;   /* json params */
    struct cairn_regex *re;          /* regexp */
    struct cairn_pattern *pat;       /* pattern */
    struct cairn_template *tpl;      /* line_format */
    struct cairn_template **tpls;    /* label_format, per param (NULL for renames) */
    struct cairn_regex **kre;        /* drop/keep =~ / !~ per param */
    const struct cairn_matcher *pre; /* json: the next stage's filter, tried first */
    struct cairn_strmap *seen;       /* distinct: the values seen, per label */
};

/* Label filters decided on the raw line before parsing (pushdown.c). create: *out
 * NULL when no label filter of the stages can be decided so (0 or CAIRN_ENOMEM); the
 * stages must outlive it. keep: 0 when the stages would drop the line of this stream
 * for sure, 1 when only running them can tell (stream NULL: unknown, 1). */
struct cairn__pushdown;
int cairn__pushdown_create(const struct stage_rt *v, size_t n, struct cairn__pushdown **out);
void cairn__pushdown_destroy(struct cairn__pushdown *pd);
int cairn__pushdown_keep(struct cairn__pushdown *pd, const struct cairn_labels *stream,
                         const char *line, size_t len);

struct cairn_logql_pipeline {
    struct stage_rt *v;
    size_t n;
    struct cairn__pushdown *pd; /* NULL: no label filter decided on the raw line */
    const struct cairn_lq_stage *post; /* post-unwrap label filters */
    struct stage_rt *postv;
    size_t npost;
    const struct cairn_lq_expr *unwrap; /* RANGE_AGG with unwrap, else NULL */
    int labels_fixed;
    int prefiltered;    /* the caller ran the hoisted filters already (store-side) */
    struct lbuilder lb;
    const char *line;
    size_t len;
    const char *input;  /* the caller's line: parsed values may be views into it */
    int64_t ts, now;
    struct cairn_buf lbuf[2]; /* line_format / decolorize outputs, alternating */
    int cur;
    struct cairn_buf tmp, tmp2, key;
    struct cairn_buf jfield, jpairs; /* json/unpack: a member's name; unpack's pairs */
    const char *sm;     /* the next entry's structured metadata (set_sm), or NULL */
    size_t sm_len;
    struct cairn_err err;
};

/* Parser stages: 0 done (errors go to __error__), CAIRN_ENOMEM. json_prefilter: can a
 * `| json | name="v"` line be dropped on one scan (0 drop, 1 run the stage)? */
int cairn__lq_json(struct cairn_logql_pipeline *p, struct stage_rt *s);
int cairn__lq_json_prefilter(struct cairn_logql_pipeline *p, const struct cairn_matcher *m);
int cairn__lq_logfmt(struct cairn_logql_pipeline *p, struct stage_rt *s);
int cairn__lq_regexp(struct cairn_logql_pipeline *p, struct stage_rt *s);
int cairn__lq_pattern(struct cairn_logql_pipeline *p, struct stage_rt *s);
int cairn__lq_unpack(struct cairn_logql_pipeline *p);
/* `| json` without arguments (pipeline_json.c): 0 or CAIRN_ENOMEM, errors as labels. */
int cairn__lq_json_flat(struct cairn_logql_pipeline *p);
/* jsoniter's Valid on the entry's line: 1 valid, 0 not. */
int cairn__lq_json_valid(struct cairn_logql_pipeline *p);
/* LB_VALUE_STABLE when v is a view into the entry's own input line, else 0. */
int cairn__lq_view_flags(const struct cairn_logql_pipeline *p, const char *v);
/* Loki's text for a line that is not a JSON object (6 is jsoniter's ObjectValue). */
#define CAIRN__LQ_ERR_NOT_OBJECT "expecting json object(6), but it is not"

#endif
