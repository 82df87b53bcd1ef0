/* agent_int.h -- the agent's parts shared by agent.c (building, running, stopping),
 * agent_sd.c (kubernetes discovery and target refreshes) and agent_http.c (/ready,
 * /metrics, /targets, /service-discovery).
 *
 * Ownership: the agent owns everything it points to except cfg (borrowed). The view
 * (targets as the pages show them) is replaced whole under view_mu: the HTTP thread
 * takes a reference, the tailer thread swaps a new one in. */
#ifndef CAIRN_SHIP_AGENT_INT_H
#define CAIRN_SHIP_AGENT_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "cairn/sd.h"
#include "cairn/ship.h"
#include "cairn/ship_agent.h"
#include "ship/ship_build.h"
#include "ship/src_syslog.h"
#include "ship/targets.h"

struct cairn__relays; /* loki_push_api sources (src_relay.h) */

/* One kubernetes_sd_config's discoverer and the scrape config it feeds. */
struct agent_sd {
    struct cairn_sd_k8s *sd;
    size_t scrape;
};

struct cairn_ship_agent {
    const struct cairn_ship_config *cfg;
    FILE *out;
    struct cairn_push **clients;
    size_t n_clients;
    struct cairn_ship_sink sink;
    struct cairn_buf print;             /* dry-run line buffer */
    pthread_mutex_t print_mu;           /* the dry-run sink: the tailer and sources emit */
    struct cairn_ship_pipeline **pipes; /* one per scrape config */
    size_t n_pipes;
    struct cairn_ship_pipeline **extra_pipes; /* pod log targets' pipelines */
    size_t n_extra;
    struct cairn__tset statics; /* static_configs and pod_logs targets */
    struct cairn__tset live;    /* statics and discovered ones (tailer thread) */
    int64_t last_trim;          /* monotonic ns of the last malloc_trim (tailer thread) */
    struct cairn_ship_relabel_rule **rules; /* per scrape config */
    struct agent_sd *sds;
    size_t n_sds;
    struct cairn_ship_pipeline **all_pipes; /* every pipeline, for the tailer's ticks */
    size_t n_all;
    char hostname[256];
    /* read by the HTTP thread: targets after the last refresh, and those dropped */
    atomic_size_t n_live;
    atomic_ullong dropped_targets;
    struct cairn_positions *positions;
    struct cairn_tailer *tailer;
    struct cairn__relays *relays; /* NULL: no loki_push_api */
    struct cairn__journals *journals; /* journal: scrape configs' readers (src_journal.c) */
    struct cairn_syslog_set *syslog;    /* syslog: listeners (src_syslog.c) */
    struct cairn_ship_metrics *metrics;
    void *http; /* struct MHD_Daemon * */
    int http_port;
    atomic_int stop;
    uint64_t stdin_lines;
    pthread_mutex_t view_mu;
    json_t *view;        /* what the pages show (see agent_sd.c) */
    json_t *static_view; /* the static targets' part of it, built at start */
};

/* agent_sd.c */
struct cairn_sd_k8s *cairn__agent_make_sd(struct cairn_ship_agent *a,
                                          const struct cairn_ship_k8s_sd *k, const char *path,
                                          struct cairn_err *err);
void cairn__agent_sd_changed(void *ud);
int cairn__agent_refresh(void *ud, struct cairn_tailer *t);
/* The view the pages show: {"active": [...], "dropped": [...]}; _add appends a target
 * (final NULL: dropped for why). 0 or CAIRN_ENOMEM. */
json_t *cairn__agent_view_new(void);
int cairn__agent_view_add(json_t *view, const char *job, const struct cairn_sd_labels *disc,
                          const struct cairn_sd_labels *final, const char *why);

/* agent_http.c */
int cairn__agent_start_http(struct cairn_ship_agent *a, struct cairn_err *err);
void cairn__agent_stop_http(struct cairn_ship_agent *a);
/* Replace the view (takes the reference). */
void cairn__agent_view_set(struct cairn_ship_agent *a, json_t *view);

#endif
