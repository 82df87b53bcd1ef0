/* query_int.h -- what `cairn query` and its --tail mode (query_tail.c) share: the
 * options and the printer of log entries.
 *
 * Ownership: options point into argv or the environment; nothing here allocates
 * beyond the duration of a call. */
#ifndef CAIRN_CMD_QUERY_INT_H
#define CAIRN_CMD_QUERY_INT_H

#include <curl/curl.h>
#include <jansson.h>

#include "cairn/buf.h"
#include "cairn/config.h"

struct query_fields; /* the parsed --fields list (query_fields.c) */

enum query_output { QUERY_OUT_DEFAULT, QUERY_OUT_RAW, QUERY_OUT_JSONL };

/* The options as loaded (query_config.c); owned by the loader (cairn_cfg_deinit). */
struct query_config {
    char *addr, *org_id, *from, *to, *step, *fields;
    int64_t since_ns;
    int limit, batch, delay_for;
    int forward, instant, tail, wide, stats, no_color, quiet, tls_skip_verify;
    int output; /* enum query_output */
    struct cairn_cfg_strlist include, exclude;
    char *username, *password, *bearer, *bearer_file, *ca_cert, *cert, *key;
};
extern const struct cairn_cfg_table cairn__query_config_table;
/* Apply logcli's LOKI_* variables (and NO_COLOR) as defaults, before the options.
 * 0, or negative with err naming the variable. */
int cairn__query_config_env(struct cairn_cfg *c, struct cairn_err *err);

struct query_opts {
    const char *addr;
    const char *org_id;
    const char *from, *to;
    const char *output;
    const char *step;
    long limit;
    long batch;     /* --batch: entries per request when paging a log query */
    long delay_for; /* --tail: seconds the server waits to order entries */
    int forward;
    int quiet;
    const struct query_fields *fields; /* --fields, or NULL for whole lines */
    int fields_header;                 /* print a header row above the columns */
    int wide;                          /* --wide: never cut values to the terminal */
    const char *username, *password;   /* basic auth */
    const char *bearer, *bearer_file;  /* bearer token, or a file holding it */
    char *bearer_owned;                /* owned: the token read from bearer_file */
    const char *ca_cert, *cert, *key;  /* TLS: server CA, client certificate and key */
    int tls_skip_verify;
    const char **include, **exclude;   /* --include-label/--exclude-label (NULL-ended) */
    int color;                         /* colour the default output */
    int stats;                         /* --stats: the reply's statistics on stderr */
};

/* One log entry of a streams result, for merging across streams. Views into the
 * decoded reply. */
struct query_row {
    int64_t ts;
    const char *labels; /* as printed (--include-label/--exclude-label applied) */
    const char *stream; /* every label: which stream the entry is from */
    const char *line;
    /* -o jsonl: the value's third element as a Loki 3 server sends it with
     * categorize-labels ({"structuredMetadata":{...},"parsed":{...}}), or NULL */
    const json_t *cat;
};

struct query_reply {
    struct cairn_buf body; /* owned: cairn_buf_deinit */
    long status;
};

/* GET o->addr + path?params (with o's tenant and credentials); 0 with reply filled
 * (any HTTP status), or -1 after a message on stderr. */
int cairn__query_http_get(const struct query_opts *o, const char *path, struct cairn_buf *params,
                          struct query_reply *reply);

/* Append k=v (v URL-escaped) to a query string in b. 0, or -1 out of memory. */
int cairn__qparam(CURL *c, struct cairn_buf *b, const char *k, const char *v);

/* Print the entries of a streams result (Loki's [{"stream":..,"values":..}..]) merged
 * across streams, oldest first if forward, in o->output's format. 0, or 1 after a
 * message on stderr. */
int cairn__query_print_streams(const struct query_opts *o, json_t *result, int forward);

/* --tail: stream a log query's entries from addr's /loki/api/v1/tail (WebSocket) until
 * the server closes or the process is interrupted. Returns the exit status. */
int cairn__query_tail(const struct query_opts *o, const char *query);

/* query_range.c: does the LogQL query q compute a metric (not select log lines)? */
int cairn__query_is_metric(const char *q);

/* For a metric range query over unix-ns from..to, pick the step (step, or the server's
 * default when NULL) and move start back by less than one step so that `to` is an
 * evaluation point. Returns 1 with from_out and step_out (seconds) filled, 0 when
 * nothing is to change (log query, RFC3339 times, unparsable step). */
int cairn__query_align(const char *query, const char *from, const char *to, const char *step,
                       char *from_out, char *step_out, size_t cap);

/* A streams result's entries, merged and ordered; rows view the decoded reply and
 * labels (owned: the `{k="v", ...}` text of each stream). */
struct query_rows {
    struct query_row *rows;
    size_t n;
    char **labels;
    size_t nlabels;
};

/* Collect a streams result into out, newest first unless forward, with the labels
 * o's --include-label/--exclude-label leave. 0 or CAIRN_ENOMEM
 * (out then empty). Free with cairn__query_rows_free. */
int cairn__query_rows_collect(const struct query_opts *o, json_t *result, int forward,
                              struct query_rows *out);
void cairn__query_rows_free(struct query_rows *r);

/* Print ordered rows in o->output's format (or as --fields columns). 0, or 1. */
int cairn__query_print_rows(const struct query_opts *o, const struct query_row *rows, size_t n);

/* query_auth.c: read --bearer-token-file, check that one scheme is set. 0, or -1 after
 * a message. */
int cairn__query_auth_load(struct query_opts *o);
/* Append "Authorization: ...\r\n" and "X-Scope-OrgID: ...\r\n" as o asks (nothing
 * without credentials). 0 or CAIRN_ENOMEM. */
int cairn__query_auth_header(const struct query_opts *o, struct cairn_buf *out);
/* The same headers onto a curl list. 0 or CAIRN_ENOMEM. */
int cairn__query_curl_headers(const struct query_opts *o, struct curl_slist **hdr);
/* TLS options (CA, client certificate, verification) onto a curl handle. */
void cairn__query_curl_tls(CURL *c, const struct query_opts *o);

/* query_batch.c: a log range query in pages of o->batch entries up to o->limit, no
 * entry twice, none lost at a page boundary. Returns the exit status. */
int cairn__query_batched(const struct query_opts *o, const char *query);

/* query_fields.c: parse "a.b,c[0],msg" (NULL when empty or out of memory); free. */
struct query_fields *cairn__query_fields_parse(const char *spec);
void cairn__query_fields_free(struct query_fields *f);

/* Print rows (already ordered) as aligned columns of o->fields. 0, or 1 after a
 * message on stderr. */
int cairn__query_fields_print(const struct query_opts *o, const struct query_row *rows,
                              size_t n);

/* query_json.c: --stats: the reply's data.stats leaves, `key value` a line on stderr
 * (numbers as sent). 0, or negative on bad JSON. */
int cairn__query_print_stats(const char *body, size_t len);

/* query_json.c: reprint the JSON value p[0..len) from its raw text (numbers and
 * strings verbatim), indented by indent spaces per level, or compact when 0. Appends
 * to out; 0, CAIRN_EINVAL (bad JSON), CAIRN_ENOMEM. */
int cairn__query_json_reprint(const char *p, size_t len, int indent, struct cairn_buf *out);

/* The raw text of the object or array at a JSON path (`data.result`) in p. 1 found
 * (*raw views p), 0 absent, negative on bad JSON. */
int cairn__query_json_at(const char *p, size_t len, const char *path, const char **raw,
                         size_t *rawlen);

/* Call fn with the raw text of each element of the JSON array p (strings with their
 * quotes). 0, fn's nonzero code, or CAIRN_EINVAL. */
typedef int (*cairn__query_json_elem_fn)(void *arg, const char *p, size_t len);
int cairn__query_json_each(const char *p, size_t len, cairn__query_json_elem_fn fn, void *arg);

/* --include-label / --exclude-label: is this label printed? */
int cairn__query_label_shown(const struct query_opts *o, const char *name);
/* query_fields.c: display width of UTF-8 text (code points); the terminal's width
 * (COLUMNS, else 80); append s cut to w code points ("..."
 * when cut) and padded to w when pad. 0 or CAIRN_ENOMEM. */
size_t cairn__query_text_width(const char *s, size_t n);
size_t cairn__query_term_width(void);
int cairn__query_put_cell(struct cairn_buf *out, const char *s, size_t n, size_t w, int cut,
                          int pad);

/* query_metric.c: a metric result (vector, matrix, scalar, string) for people: an
 * aligned table for vectors, one row per series with a sparkline and min/max/last for
 * matrices (with --wide: one row per step, one column per series). 0, or 1 after a
 * message on stderr. */
int cairn__query_print_metric(const struct query_opts *o, json_t *data);

#endif
