/* ship_build.h -- from a loaded ship config to running parts: pipelines, relabel
 * rules, the metrics stage's registry.
 *
 * Ownership: a built pipeline owns its stages (cairn_ship_pipeline_destroy). Relabel
 * rules borrow strings from the config they were compiled from, which must outlive
 * them; cairn_ship_relabel_free frees the compiled regexes and the array. */
#ifndef CAIRN_SHIP_BUILD_H
#define CAIRN_SHIP_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/labels.h"
#include "cairn/sd.h"
#include "cairn/ship.h"
#include "cairn/ship_config.h"

/* Build pipeline_stages; errors name the stage ("scrape_configs[0].pipeline_stages[2].json:
 * ..."). path is the key path of the list. NULL on failure. */
struct cairn_ship_pipeline *cairn_ship_pipeline_build(const struct cairn_cfg_list *stages,
                                                      const char *path, struct cairn_err *err);
/* The same, appending to an existing pipeline. 0 or negative with err filled. */
int cairn_ship_pipeline_build_into(struct cairn_ship_pipeline *pl,
                                   const struct cairn_cfg_list *stages, const char *path,
                                   struct cairn_err *err);

struct cairn_regex;
struct cairn_ship_relabel_rule {
    int action; /* enum cairn_ship_relabel_action */
    const char *const *sources;
    size_t n_sources;
    const char *separator, *target, *replacement;
    uint64_t modulus;
    struct cairn_regex *re;
};
struct cairn_ship_relabel_rule *cairn_ship_relabel_compile(const struct cairn_cfg_list *cfgs,
                                                           const char *path,
                                                           struct cairn_err *err);
void cairn_ship_relabel_free(struct cairn_ship_relabel_rule *rules, size_t n);
/* Apply to ls (kept sorted): 1 keep the target, 0 dropped, negative error. */
int cairn_ship_relabel_apply(const struct cairn_ship_relabel_rule *rules, size_t n,
                             struct cairn_sd_labels *ls);

/* The metrics stage (stage_metrics.c): series live in a registry shared by every
 * pipeline of the agent and printed by /metrics. */
struct cairn_ship_metrics;
struct cairn_ship_metrics *cairn_ship_metrics_create(void);
void cairn_ship_metrics_destroy(struct cairn_ship_metrics *m);
int cairn_ship_metrics_write(struct cairn_ship_metrics *m, struct cairn_buf *out);
int cairn__stage_metrics(struct cairn_ship_pipeline *pl, const struct cairn_cfg_list *metrics,
                         struct cairn_err *err);
/* Attach the registry to a pipeline (and its nested ones) before it runs. */
void cairn_ship_pipeline_set_metrics(struct cairn_ship_pipeline *pl, struct cairn_ship_metrics *m);
/* logentry_dropped_lines_total by reason, added to out in Prometheus text. */
int cairn_ship_pipeline_drops_write(const struct cairn_ship_pipeline *pl, const char *job,
                                    struct cairn_buf *out);

/* Stage constructors used only by build.c. */
int cairn__stage_cri(struct cairn_ship_pipeline *pl, int max_partial_lines, size_t max_size,
                     int truncate, struct cairn_err *err);
int cairn__stage_docker(struct cairn_ship_pipeline *pl, struct cairn_err *err);
/* Pod logs: CRI or docker json-file, decided line by line. */
int cairn__stage_container(struct cairn_ship_pipeline *pl, struct cairn_err *err);
int cairn__stage_multiline(struct cairn_ship_pipeline *pl, const char *firstline,
                           int64_t max_wait_ns, int max_lines, struct cairn_err *err);

#endif
