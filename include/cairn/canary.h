/* canary.h -- `cairn canary`: Grafana loki-canary's audit of a log store. A writer emits
 * "<unix ns> <padding>" lines every interval (to stdout for an agent to ship, or pushed
 * straight to the store); a reader follows them back over the store's tail WebSocket;
 * a comparator counts what came back in order, out of order, twice, or not at all;
 * spot checks query older entries back and a metric test compares count_over_time
 * with what was written. Everything is reported on /metrics with loki-canary's names.
 *
 * Ownership: the config struct is filled by the config table below (strings owned by
 * it, freed by cairn_cfg_deinit); cairn_canary_create copies what it keeps. The
 * canary owns its threads, connections and metrics until cairn_canary_destroy. */
#ifndef CAIRN_CANARY_H
#define CAIRN_CANARY_H

#include <stdint.h>
#include <stdio.h>

#include "cairn/config.h"
#include "cairn/error.h"

struct cairn_canary_config {
    /* where and who */
    char *addr;                 /* host:port (scheme from -tls) or a full http(s):// URL */
    char *user, *pass, *tenant_id;
    int tls, insecure;
    char *cert_file, *key_file, *ca_file;
    int port;                   /* our /metrics; 0: any free port (logged) */
    char *listen_host;          /* address /metrics binds to */
    /* the stream */
    char *labelname, *labelvalue, *streamname, *streamvalue;
    char *query_append;         /* LogQL appended to the selector (-query-append) */
    /* writer */
    int push;
    int64_t interval_ns;
    int size;
    int ooo_percentage;
    int64_t ooo_min_ns, ooo_max_ns;
    int64_t write_timeout_ns, write_min_backoff_ns, write_max_backoff_ns;
    int write_max_retries;
    int logs_batch_size, logs_batch_size_max;
    /* reader and comparator */
    int64_t wait_ns, max_wait_ns, prune_interval_ns, query_timeout_ns;
    int buckets;
    int64_t spot_interval_ns, spot_max_ns, spot_query_rate_ns, spot_wait_ns;
    int64_t metric_interval_ns, metric_range_ns;
    /* accepted for loki-canary's command lines, not used (a warning says so) */
    int64_t cache_test_interval_ns, cache_test_range_ns, cache_test_now_ns;
    int version;
    int log_level;
};

extern const struct cairn_cfg_table cairn_canary_config_table;

struct cairn_canary;

/* Start the canary: /metrics server, writer, reader and checks, each on its thread.
 * Lines go to out (stdout) unless cfg->push. The caller has called curl_global_init.
 * NULL on failure with err set. */
struct cairn_canary *cairn_canary_create(const struct cairn_canary_config *cfg, FILE *out,
                                         struct cairn_err *err);

/* The port /metrics listens on (useful with port 0). */
int cairn_canary_port(const struct cairn_canary *c);

/* Stop every thread (pushing what is queued), close connections and free c.
 * NULL: no-op. */
void cairn_canary_destroy(struct cairn_canary *c);

#endif
