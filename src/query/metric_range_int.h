/* metric_range_int.h -- what the range aggregation's evaluation (metric_range.c) and
 * its stream shards on threads (metric_shard.c) share: the per-series accumulators and
 * the evaluation state. Inside src/query only. */
#ifndef CAIRN_QUERY_METRIC_RANGE_INT_H
#define CAIRN_QUERY_METRIC_RANGE_INT_H

#include "dedupe.h"
#include "metric_int.h"

struct racc {
    char *lab;    /* the allocation: the label, then (padded) cnt and byt */
    uint32_t len;
    int64_t *cnt; /* additive ops: nsteps+1 difference array of entry counts */
    int64_t *byt; /* bytes ops: difference array of line bytes */
    struct cairn__msample *smp;
    size_t ns, cap;
    int unsorted;
    int counted; /* counted as an output series (max_query_series) */
};

struct hslot {
    uint64_t h;
    size_t idx;
    int used;
};

struct rstate {
    struct cairn__mctx *c;
    const struct cairn_lq_expr *e;
    const struct cairn_lq_grouping *g; /* the aggregation's, or one pushed down from sum */
    int additive, bytes;
    int64_t range, off;
    struct racc *a;
    size_t n, cap;
    struct cairn__mmap map;   /* label blob -> racc */
    struct hslot *hs;         /* pipeline label hash -> racc */
    size_t hcap, hn;
    struct cairn_buf tmp;
    struct cairn__mlb lb;
    struct cairn_labels ls;
    struct cairn_lq_str *by; /* `by` names sorted and unique, for the per-entry fast path */
    size_t nby;
    int by_fast;
    size_t charged;  /* bytes charged to c->gov for the accumulators */
    int count_out;   /* the series are the query's result: count them */
    struct cairn__qdup dup; /* scan_stream_merged's run of equal timestamps */
    int64_t *spans;         /* the current stream's overlapping spans read merged (ovl_lo) */
    size_t nspans, capspans;
    size_t nout;     /* series counted (this shard's: a lower bound of the whole) */
    /* an expression without stages meeting entries with structured metadata: they are
     * labels of the entry (Loki 3), so those entries go through a pipeline of no stage,
     * created at the first; smstream holds the stream labels of stream smsid */
    struct cairn_logql_pipeline *smpl;
    struct cairn_labels smstream;
    uint32_t smsid;
    int smstream_ok;
};

/* Charge n more bytes to the query's memory budget: 0 or CAIRN_ELIMIT. */
int cairn__mr_charge(struct rstate *r, size_t n);
/* The accumulator of the series labelled lab[0..len) (created if new): its index. */
int cairn__mr_racc_for(struct rstate *r, const char *lab, uint32_t len, size_t *idx);
/* Scan the blocks of streams sids over [qs, qe) into r's accumulators; pl NULL when
 * the expression has no stages. */
int cairn__mr_scan_blocks(struct rstate *r, const roaring_bitmap_t *sids, int64_t qs, int64_t qe,
                          struct cairn_logql_pipeline *pl);
/* Free what r owns (r->by included). */
void cairn__mr_deinit(struct rstate *r);
/* Scan streams ids[0..n) on nt threads (this one included), the shards merged into r. */
int cairn__mr_scan_all(struct rstate *r, const struct cairn_lq_expr *e, const uint32_t *ids,
                       size_t n, int64_t qs, int64_t qe, struct cairn_logql_pipeline *pl, long nt);

#endif
