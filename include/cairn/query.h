/* query.h -- LogQL execution over the store: selectors through the label index, log
 * queries through the pipeline, merged by time in the requested direction up to a
 * limit, grouped into result streams by their final labels (as Loki groups them).
 *
 * Ownership: a cairn_query_result owns every label set, line and entry it holds;
 * cairn_query_result_deinit frees them. The parsed query is borrowed. */
#ifndef CAIRN_QUERY_H
#define CAIRN_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include <roaring/roaring.h>

#include "cairn/labels.h"
#include "cairn/logql.h"
#include "cairn/store_read.h"

/* Stream ids matching a selector's matchers over [start, end) (ORed into out):
 * equality through postings; regexes by matching the label's values; negative
 * matchers against all streams; a missing label counts as the empty value. */
int cairn_query_select(struct cairn_store *s, const char *tenant,
                       const struct cairn_matcher *m, size_t n, int64_t start, int64_t end,
                       roaring_bitmap_t *out);

struct cairn_query_params {
    const char *tenant;
    int64_t start, end;        /* [start, end) unix ns */
    size_t limit;              /* max entries over all streams; 0: Loki's default 100 */
    enum cairn_iter_dir dir;   /* CAIRN_ITER_BACKWARD is Loki's default */
    int64_t now_ns;            /* clock for template `now` */
    int threads;               /* shards run in parallel (by stream id); 0 or 1: one.
                                  The result is the same whatever the number. */
};

struct cairn_query_entry {
    int64_t ts;
    size_t off, len;           /* the line, in the owning stream's bytes */
};

struct cairn_query_stream {
    struct cairn_labels labels;
    uint64_t hash;
    struct cairn_buf bytes;    /* lines, back to back */
    struct cairn_query_entry *e;
    size_t n, cap;
};

struct cairn_query_stats {
    uint64_t lines_scanned, bytes_scanned; /* raw entries read from the store */
    uint64_t lines_returned;
    int64_t exec_ns;
};

struct cairn_query_result {
    struct cairn_query_stream *streams;
    size_t n, cap;
    struct cairn_query_stats stats;
};

void cairn_query_result_init(struct cairn_query_result *r);
void cairn_query_result_deinit(struct cairn_query_result *r);

/* Run a log query (the root must be a LOG expression). Entries within each result
 * stream come in the requested direction; at most limit entries in total (the first
 * ones in that direction), identical for any number of threads. Errors: CAIRN_EINVAL (not a log query, err says so),
 * CAIRN_ENOMEM, or a store read error. */
int cairn_query_logs(struct cairn_store *s, const struct cairn_logql_query *q,
                     const struct cairn_query_params *p, struct cairn_query_result *out,
                     struct cairn_err *err);

#endif
