/* metric_int.h -- what the metric evaluator's files share: label sets as sorted
 * blobs, series of per-step values, the evaluation context and each node's evaluator.
 *
 * Model: every node of a metric query evaluates to a value over ALL steps at once:
 * either a scalar (one double per step) or a set of series, each holding one double
 * and one presence flag per step. Steps are t_i = start + i*step, i < nsteps (an
 * instant query is one step at its time). A range aggregation fills its series in one
 * pass over the entries of each selected stream; vector aggregation, binary operators
 * and label_replace then work step by step on those arrays.
 *
 * Ownership: a cairn__mval owns its series, and each series owns its label blob and
 * value arrays; cairn__mval_deinit frees all of it. Internal to src/query. */
#ifndef CAIRN_METRIC_INT_H
#define CAIRN_METRIC_INT_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"
#include "cairn/labels.h"
#include "cairn/logql.h"
#include "query_int.h"

/* ---- label sets as blobs ----
 * A label set is the bytes "name\0value\0name\0value\0..." sorted by name. memcmp on
 * two blobs (then the shorter first) orders them exactly as Prometheus'
 * labels.Compare does, and equal sets have equal bytes, so a blob is its own hash key. */
struct cairn__mlab {
    char *p;
    uint32_t len;
};

/* A mutable set of (name, value) views used to build a blob; the views point into
 * blobs or the query AST that outlive the builder. */
struct cairn__mlb_kv {
    const char *n, *v;
    uint32_t nl, vl;
};
struct cairn__mlb {
    struct cairn__mlb_kv *kv;
    size_t n, cap;
};
void cairn__mlb_deinit(struct cairn__mlb *b);
/* Load the pairs of a blob (views into it). */
int cairn__mlb_load(struct cairn__mlb *b, const char *blob, uint32_t len);
/* Set (replace or add) / delete a label; set with an empty value deletes. */
int cairn__mlb_set(struct cairn__mlb *b, const char *n, size_t nl, const char *v, size_t vl);
void cairn__mlb_del(struct cairn__mlb *b, const char *n, size_t nl);
/* Keep only (keep=1) or drop (keep=0) the named labels. */
void cairn__mlb_filter(struct cairn__mlb *b, const struct cairn_lq_str *names, size_t n, int keep);
const struct cairn__mlb_kv *cairn__mlb_get(const struct cairn__mlb *b, const char *n, size_t nl);
/* Sort by name and write the blob into out (reset first). */
int cairn__mlb_finish(struct cairn__mlb *b, struct cairn_buf *out);

/* Blob of a store label set. */
int cairn__mlab_from_labels(const struct cairn_labels *ls, struct cairn_buf *out);
/* Value of label n in a blob, or NULL (vlen set when found). */
const char *cairn__mlab_get(const char *blob, uint32_t len, const char *n, size_t nl, size_t *vlen);
int cairn__mlab_cmp(const char *a, uint32_t al, const char *b, uint32_t bl);
/* `{a="b", c="d"}` (Go-quoted) and the JSON object `{"a":"b"}`. */
int cairn__mlab_text(const char *blob, uint32_t len, struct cairn_buf *out);
int cairn__mlab_json(const char *blob, uint32_t len, struct cairn_buf *out);

/* An open-addressing map from a byte key to a size_t index (keys are borrowed). */
struct cairn__mmap {
    struct { const char *k; uint32_t kl; uint32_t used; size_t idx; uint64_t h; } *slot;
    size_t cap, n;
};
void cairn__mmap_deinit(struct cairn__mmap *m);
/* Find key; returns 1 and *idx when present, 0 when not. */
int cairn__mmap_get(const struct cairn__mmap *m, const char *k, uint32_t kl, size_t *idx);
/* Insert a key known to be absent (the key bytes must outlive the map). */
int cairn__mmap_put(struct cairn__mmap *m, const char *k, uint32_t kl, size_t idx);

/* ---- values ---- */
struct cairn__mseries {
    struct cairn__mlab lab;
    double *v;   /* nsteps; the allocation, which ok and lab.p point into */
    uint8_t *ok; /* nsteps: 1 when the series has a point at that step */
};

enum { CAIRN__MV_VECTOR = 0, CAIRN__MV_SCALAR = 1 };

struct cairn__mval {
    struct cairn__qgov *gov; /* charged for its series (NULL: not accounted) */
    size_t charged;          /* bytes charged to gov, released by deinit / compact */
    int kind;
    double *scalar; /* SCALAR: nsteps values */
    struct cairn__mseries *s;
    size_t n, cap;
    int sort_dir; /* instant output order: 0 by labels, 1 by value asc, -1 desc */
};

struct cairn__mctx {
    struct cairn_store *store;
    const char *tenant;
    const struct cairn_query_params *p;
    int64_t start, step; /* step >= 1 (1 for an instant query) */
    size_t nsteps;
    int instant;
    struct cairn__query_stats *st;
    struct cairn_err *err;
    int64_t deadline; /* cairn__query_deadline of the whole query (threads copy it) */
    struct cairn__qgov *gov; /* the query's governor (threads share it) */
    /* the nodes whose series are the query's result (sort/sort_desc looked through),
     * whose series count against max_query_series as they are created: out_expr, and
     * out_range, a range aggregation under a root sum that pushes its grouping down
     * (its series are the sum's groups); NULL when none */
    const struct cairn_lq_expr *out_expr, *out_range;
};

/* Memory a series of nsteps with a label blob of len bytes is charged. */
#define CAIRN__MSERIES_COST(len, nsteps) \
    (sizeof(struct cairn__mseries) + (size_t)(len) + 1 + (size_t)(nsteps) * (sizeof(double) + 1))

void cairn__mval_deinit(struct cairn__mval *v);
/* An empty value accounted to c's governor. */
#define CAIRN__MVAL_INIT(c) {.gov = (c)->gov}
/* Append a series with a copy of the label blob and zeroed arrays; returns its index
 * through *idx. Charged to v->gov: CAIRN_ELIMIT past the memory budget. */
int cairn__mval_add(struct cairn__mval *v, size_t nsteps, const char *lab, uint32_t len, size_t *idx);
/* Drop series with no point at any step. */
void cairn__mval_compact(struct cairn__mval *v, size_t nsteps);
/* Sort the series by label set. */
void cairn__mval_sort(struct cairn__mval *v);

/* The steps of a query: instant (one step at end) or start..end by step, with Loki's
 * resolution limit. CAIRN_EINVAL / CAIRN_ELIMIT with Loki's message. */
int cairn__metric_steps(const struct cairn_query_params *p, struct cairn__mctx *c, struct cairn_err *err);

/* ---- evaluators (each fills *out, which the caller zeroed) ---- */
int cairn__meval(struct cairn__mctx *c, const struct cairn_lq_expr *e, struct cairn__mval *out);
/* push: a grouping to apply while extracting (Loki injects a parent sum's grouping
 * into count/rate/bytes/sum range aggregations, so series are reduced before they
 * are built); NULL for none. */
int cairn__meval_range(struct cairn__mctx *c, const struct cairn_lq_expr *e,
                       const struct cairn_lq_grouping *push, struct cairn__mval *out);
/* Does vector aggregation e push its grouping into its range aggregation (Loki's
 * canInjectVectorGrouping)? */
int cairn__mvec_pushes(const struct cairn_lq_expr *e);
int cairn__meval_vector_agg(struct cairn__mctx *c, const struct cairn_lq_expr *e,
                            struct cairn__mval *out);
int cairn__meval_binop(struct cairn__mctx *c, const struct cairn_lq_expr *e, struct cairn__mval *out);
int cairn__meval_label_replace(struct cairn__mctx *c, const struct cairn_lq_expr *e,
                               struct cairn__mval *out);

/* The range functions over one window of samples in time order (Loki's exact
 * arithmetic). ts in unix ns. */
struct cairn__msample {
    int64_t ts;
    double v;
    uint32_t sid, seq; /* stream and position in it: ties at one ts keep one order */
};
double cairn__mfn_window(enum cairn_lq_range_op op, int has_unwrap, double param, int64_t range_ns,
                         const struct cairn__msample *s, size_t n, double *scratch);

/* The range aggregation e over the streams ids for the steps of c, on nt stream
 * shards (pl: e's pipeline for this thread, NULL without stages and unwrap); the
 * series, sorted and without empty ones, into all. */
struct cairn_logql_pipeline;
int cairn__mrange_eval(struct cairn__mctx *c, const struct cairn_lq_expr *e, const struct cairn_lq_grouping *push,
                       const uint32_t *ids, size_t n, struct cairn_logql_pipeline *pl, long nt,
                       struct cairn__mval *all);

/* absent_over_time's labels (the selector's equality matchers, as Loki picks them)
 * as a blob into out; lb is scratch. */
int cairn__mabsent_labels(const struct cairn_lq_expr *log, struct cairn__mlb *lb, struct cairn_buf *out);
/* CAIRN_EINVAL with Loki's "pipeline error: '<err>' for series: ..." when a series of
 * v carries __error__ (the first in label order), else 0. */
int cairn__mpipeline_error(struct cairn__mctx *c, const struct cairn__mval *v);

/* Encode a finished value as `"resultType":...,"result":[...]`. */
int cairn__mjson(struct cairn__mctx *c, struct cairn__mval *v, struct cairn_buf *out);
/* Append a float as Go's strconv.FormatFloat(f, 'f', -1, 64) (NaN, +Inf, -Inf). */
int cairn__mjson_float(struct cairn_buf *out, double f);

#endif
