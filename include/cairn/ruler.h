/* ruler.h -- LogQL alerting and recording rules, as Loki's ruler: rule files in
 * Prometheus's format per tenant, evaluated on each group's interval with the metric
 * engine; alerts through the Prometheus state machine (pending, firing, resolved) to
 * Alertmanager's v2 API, recording rules to Prometheus remote write; state kept in the
 * data directory across restarts. docs/RULER.md.
 *
 * Ownership: the ruler borrows the store and the config (both outlive it); it owns its
 * thread, rule sets, alert states and clients. Every function is safe to call from any
 * thread while the ruler runs (the HTTP API does). */
#ifndef CAIRN_RULER_H
#define CAIRN_RULER_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"
#include "cairn/config.h"
#include "cairn/config_serve.h"
#include "cairn/error.h"
#include "cairn/store.h"

/* ---- rule files (rules.c) ---- */

struct cairn_rule {
    char *alert;      /* alerting rule name, or NULL */
    char *record;     /* recording rule's metric name, or NULL */
    char *expr;       /* a LogQL metric query */
    int64_t for_ns;
    int64_t keep_firing_for_ns;
    struct cairn_cfg_map labels;
    struct cairn_cfg_map annotations;
};
struct cairn_rule_group {
    char *name;
    int64_t interval_ns; /* 0: the ruler's evaluation_interval */
    int limit;           /* most alerts or series a rule may produce; 0: no limit */
    struct cairn_cfg_list rules; /* struct cairn_rule */
};
struct cairn_rule_file {
    struct cairn_cfg_list groups; /* struct cairn_rule_group */
};
extern const struct cairn_cfg_table cairn_rule_file_table;
extern const struct cairn_cfg_table cairn_rule_group_table;

/* Parse a rule file (Prometheus's `groups:` format, expressions in LogQL) into f, which
 * the caller deinits with cairn_cfg_deinit(c). name is for messages. Every expression
 * must parse as a metric query, group names be unique, and a rule be alert or record.
 * 0, or CAIRN_EINVAL with err "file:line:col: groups[0].rules[1].expr: ...". */
int cairn_rule_file_parse(struct cairn_cfg *c, struct cairn_rule_file *f, const char *name,
                          const char *text, size_t len, struct cairn_err *err);

/* ---- the ruler ---- */

struct cairn_ruler;

/* Create and start the ruler (a thread); NULL with err when the config is invalid or
 * the rules directory cannot be made. data_dir holds its state (ruler-state/). */
struct cairn_ruler *cairn_ruler_start(const struct cairn_ruler_config *cfg,
                                      struct cairn_store *store, const char *data_dir,
                                      struct cairn_err *err);
/* Stop the thread (state saved), free everything. NULL is a no-op. */
void cairn_ruler_stop(struct cairn_ruler *r);

/* One HTTP call of the rules API (http.c): Loki's /loki/api/v1/rules[/{ns}[/{group}]]
 * and /api/prom/rules... (GET YAML, POST a group as YAML, DELETE), Prometheus's
 * /prometheus/api/v1/rules and /prometheus/api/v1/alerts (JSON). Returns the HTTP
 * status; the body goes to out, its type to *content_type. */
int cairn_ruler_http(struct cairn_ruler *r, const char *method, const char *path,
                     const char *tenant, const char *body, size_t body_len,
                     struct cairn_buf *out, const char **content_type);

#endif
