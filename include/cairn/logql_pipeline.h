/* logql_pipeline.h -- run a LogQL log pipeline over entries, one at a time.
 *
 * A pipeline is compiled from a parsed log expression and then fed entries
 * (timestamp, stream labels, line). It owns per-thread scratch (label builder, line
 * buffers, regex match data), so one pipeline serves one thread; after warm-up it
 * allocates nothing per line. Results of a kept entry (line, labels) are views into
 * that scratch, valid until the next call. The query it was built from must outlive it.
 *
 * Stages run as Loki runs them: line filters before the first stage that changes the
 * line go first, on the raw bytes (memmem, or PCRE2 JIT for regexes); parsers add
 * labels (a clash with a stream label gets `_extracted`); failures set `__error__`
 * (JSONParserErr, LogfmtParserErr, LabelFilterErr, TemplateFormatErr,
 * SampleExtractionErr) and `__error_details__` and keep the line. */
#ifndef CAIRN_LOGQL_PIPELINE_H
#define CAIRN_LOGQL_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"
#include "cairn/labels.h"
#include "cairn/logql.h"

struct cairn_logql_pipeline;

/* Compile the pipeline of a LOG expression, or of a RANGE_AGG's log expression with
 * its unwrap. NULL on error (err says why: a bad ip() range, ENOMEM). */
struct cairn_logql_pipeline *cairn_logql_pipeline_create(const struct cairn_lq_expr *e,
                                                         struct cairn_err *err);
void cairn_logql_pipeline_destroy(struct cairn_logql_pipeline *p);

/* The structured metadata (a cairn/smeta.h blob, borrowed until the next process) of
 * the entries processed next; NULL: none. Its pairs become labels after the stream's
 * and before any parser's (a name the stream has gets `_extracted`), as Loki 3. */
void cairn_logql_pipeline_set_sm(struct cairn_logql_pipeline *p, const char *sm, size_t len);
/* Does the current entry carry structured metadata? Then its labels are not its
 * stream's even when labels_fixed. */
int cairn_logql_pipeline_has_sm(const struct cairn_logql_pipeline *p);
/* The kept entry's labels that are not its stream's, as Loki 3 answers them with
 * `categorize-labels`: {"structuredMetadata":{...},"parsed":{...}} (members only when
 * not empty, nothing appended when both are) appended to out. 0 or CAIRN_ENOMEM. */
int cairn_logql_pipeline_categorized(struct cairn_logql_pipeline *p, struct cairn_buf *out);

/* Process one entry: 1 kept, 0 filtered out, CAIRN_ENOMEM. */
int cairn_logql_pipeline_process(struct cairn_logql_pipeline *p, int64_t ts_ns,
                                 const struct cairn_labels *stream, const char *line,
                                 size_t len);

/* The line filters that run on the raw line before any stage (Loki's hoisting), on
 * their own: 1 keep, 0 drop. For a store-side filter that runs as blocks are decoded
 * (cairn_store_iter_init_filtered); same thread as the pipeline. */
int cairn_logql_pipeline_prefilter(struct cairn_logql_pipeline *p, const char *line, size_t len);
/* The same, and the label filters a line cannot pass when it lacks their value's bytes
 * (`| json | level="error"` and a line without "error"; exact, see pushdown.c): all
 * that can be decided on the raw line. stream: the entry's stream labels (NULL when
 * unknown: only the line filters decide). has_prefilter: is there anything for
 * prefilter_stream to decide? set_prefiltered(p, 1): process() no longer runs the
 * line filters again (the label filters run in full anyway). */
int cairn_logql_pipeline_prefilter_stream(struct cairn_logql_pipeline *p,
                                          const struct cairn_labels *stream, const char *line,
                                          size_t len);
/* (An entry with structured metadata: only prefilter decides on the raw line, since
 * its labels may come from the metadata.) */
int cairn_logql_pipeline_has_prefilter(const struct cairn_logql_pipeline *p);
void cairn_logql_pipeline_set_prefiltered(struct cairn_logql_pipeline *p, int on);
/* Literals every kept line holds as a substring, case-sensitive (the hoisted
 * `|= "x"` filters, and `|~` ones whose pattern is a plain literal): the first cap go
 * to lits/lens (views into the query, valid while it lives); returns how many there
 * are. For a store that can skip blocks lacking one (cairn_store_iter_set_needles). */
size_t cairn_logql_pipeline_needles(const struct cairn_logql_pipeline *p, const char **lits,
                                    size_t *lens, size_t cap);

/* The kept entry's line. */
const char *cairn_logql_pipeline_line(const struct cairn_logql_pipeline *p, size_t *len);
/* The kept entry's labels, sorted, into out (reset first). */
int cairn_logql_pipeline_labels(struct cairn_logql_pipeline *p, struct cairn_labels *out);
/* The kept entry's value of label `name`, or NULL when it has none (a view valid
 * until the next call): lets a metric query group by a few labels without copying
 * the whole set. */
const char *cairn_logql_pipeline_label(struct cairn_logql_pipeline *p, const char *name, size_t len,
                                       size_t *vlen);
/* Fingerprint of the kept entry's labels (equal label sets, equal hashes): groups
 * entries into result streams without building label sets. */
uint64_t cairn_logql_pipeline_labels_hash(struct cairn_logql_pipeline *p);
/* Does the pipeline never change labels (only line filters)? Then every kept entry's
 * labels are its stream's. */
int cairn_logql_pipeline_labels_fixed(const struct cairn_logql_pipeline *p);

/* For metric queries with `| unwrap`: the unwrapped value of the kept entry. Returns 1
 * with *v set, 0 if the entry gives no sample (the label is missing or empty, or a
 * post-unwrap filter drops it), or sets
 * __error__=SampleExtractionErr and returns 2 (the entry carries an error). */
int cairn_logql_pipeline_unwrap(struct cairn_logql_pipeline *p, double *v);

/* The clock that template `now` reads (unix ns); default: the time of creation. */
void cairn_logql_pipeline_set_now(struct cairn_logql_pipeline *p, int64_t now_ns);

#endif
