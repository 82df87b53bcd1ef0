/* ship_config.h -- `cairn ship`'s configuration: Promtail's YAML shape (server,
 * positions, clients, scrape_configs with static_configs, pipeline_stages and
 * relabel_configs, limits_config) described as config.h tables, plus the
 * command-line-only options (--stdin, --label, --dry-run, --check-syntax).
 *
 * Ownership: everything in a cairn_ship_config is owned by it (config.h's rule) and
 * freed by cairn_cfg_deinit on the cairn_cfg that loaded it. */
#ifndef CAIRN_SHIP_CONFIG_H
#define CAIRN_SHIP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/config.h"
#include "cairn/ship_syslog.h"

/* ---- stages: one struct per pipeline_stages kind ---- */
enum cairn_ship_stage_kind {
    CAIRN_STAGE_DOCKER, CAIRN_STAGE_CRI, CAIRN_STAGE_JSON, CAIRN_STAGE_LOGFMT,
    CAIRN_STAGE_REGEX, CAIRN_STAGE_REPLACE, CAIRN_STAGE_TEMPLATE, CAIRN_STAGE_LABELS,
    CAIRN_STAGE_LABELALLOW, CAIRN_STAGE_LABELDROP, CAIRN_STAGE_STATIC_LABELS,
    CAIRN_STAGE_TIMESTAMP, CAIRN_STAGE_OUTPUT, CAIRN_STAGE_MATCH, CAIRN_STAGE_DROP,
    CAIRN_STAGE_LIMIT, CAIRN_STAGE_MULTILINE, CAIRN_STAGE_PACK, CAIRN_STAGE_DECOLORIZE,
    CAIRN_STAGE_TENANT, CAIRN_STAGE_METRICS, CAIRN_STAGE_SAMPLING,
    CAIRN_STAGE_STRUCTURED_METADATA,
    CAIRN_STAGE_KINDS
};

struct cairn_ship_st_cri { int max_partial_lines; uint64_t max_partial_line_size;
                           int max_partial_line_size_truncate; };
struct cairn_ship_st_empty { int unused; };
struct cairn_ship_st_json { struct cairn_cfg_map expressions; char *source; int drop_malformed; };
struct cairn_ship_st_logfmt { struct cairn_cfg_map mapping; char *source; };
struct cairn_ship_st_regex { char *expression; char *source; };
struct cairn_ship_st_replace { char *expression; char *source; char *replace; };
struct cairn_ship_st_template { char *source; char *template_; };
struct cairn_ship_st_map { struct cairn_cfg_map map; };        /* labels, static_labels */
struct cairn_ship_st_list { struct cairn_cfg_strlist list; };  /* labelallow, labeldrop */
struct cairn_ship_st_timestamp { char *source; char *format; struct cairn_cfg_strlist fallback_formats;
                                 char *location; char *action_on_failure; };
struct cairn_ship_st_output { char *source; };
struct cairn_ship_st_match { char *selector; char *pipeline_name; int action; /* 0 keep, 1 drop */
                             char *drop_counter_reason; struct cairn_cfg_list stages; };
struct cairn_ship_st_drop { struct cairn_cfg_strlist source; char *separator; char *expression;
                            char *value; int64_t older_than_ns; uint64_t longer_than;
                            char *drop_counter_reason; };
struct cairn_ship_st_limit { double rate; int burst; int drop; char *by_label_name;
                             int max_distinct_labels; };
struct cairn_ship_st_sampling { double rate; char *drop_counter_reason; };
struct cairn_ship_st_multiline { char *firstline; int64_t max_wait_time_ns; int max_lines; };
struct cairn_ship_st_pack { struct cairn_cfg_strlist labels; int ingest_timestamp; };
struct cairn_ship_st_tenant { char *source; char *label; char *value; };
struct cairn_ship_metric_cfg {
    char *name; /* the KEYED key */
    int type;   /* 0 counter, 1 gauge, 2 histogram */
    char *description, *source, *prefix;
    int64_t max_idle_duration_ns;
    struct { char *value; char *action; int match_all; int count_entry_bytes;
             struct cairn_cfg_strlist buckets; } config;
};
struct cairn_ship_st_metrics { struct cairn_cfg_list metrics; /* of cairn_ship_metric_cfg */ };

/* ---- the rest of Promtail's shape ---- */
struct cairn_ship_relabel {
    struct cairn_cfg_strlist source_labels;
    char *separator, *target_label, *regex, *replacement;
    int64_t modulus;
    int action; /* enum cairn_ship_relabel_action */
};
enum cairn_ship_relabel_action {
    CAIRN_RELABEL_REPLACE, CAIRN_RELABEL_KEEP, CAIRN_RELABEL_DROP, CAIRN_RELABEL_LABELMAP,
    CAIRN_RELABEL_LABELDROP, CAIRN_RELABEL_LABELKEEP, CAIRN_RELABEL_HASHMOD,
    CAIRN_RELABEL_KEEPEQUAL, CAIRN_RELABEL_DROPEQUAL, CAIRN_RELABEL_LOWERCASE,
    CAIRN_RELABEL_UPPERCASE,
};

struct cairn_ship_static {
    struct cairn_cfg_strlist targets;
    struct cairn_cfg_map labels; /* includes __path__, __path_exclude__ */
};

/* kubernetes_sd_configs, Prometheus's keys (sd_config.c). */
struct cairn_ship_k8s_selector {
    int role; /* enum cairn_ship_k8s_role */
    char *label, *field;
};
enum cairn_ship_k8s_role { CAIRN_K8S_ROLE_POD, CAIRN_K8S_ROLE_NODE, CAIRN_K8S_ROLE_SERVICE,
                           CAIRN_K8S_ROLE_ENDPOINTS, CAIRN_K8S_ROLE_ENDPOINTSLICE,
                           CAIRN_K8S_ROLE_INGRESS };
struct cairn_ship_k8s_sd {
    int role; /* enum cairn_ship_k8s_role */
    char *api_server, *kubeconfig_file;
    struct { struct cairn_cfg_strlist names; int own_namespace; } namespaces;
    struct cairn_cfg_list selectors; /* of cairn_ship_k8s_selector */
    char *bearer_token, *bearer_token_file;
    struct { char *username, *password, *password_file; } basic_auth;
    struct { char *type, *credentials, *credentials_file; } authorization;
    struct { char *ca_file, *cert_file, *key_file, *server_name; int insecure_skip_verify; } tls_config;
    int follow_redirects, enable_http2;
    char *proxy_url;
    struct { int node; } attach_metadata;
};

/* loki_push_api: the agent as a push relay (Promtail's PushTargetConfig; src_relay.c,
 * src_relay_config.c). server.http_listen_port -1 (unset) means no relay. */
struct cairn_ship_relay {
    struct { char *http_listen_address; int http_listen_port; char *grpc_listen_address;
             int grpc_listen_port; int64_t read_timeout_ns, write_timeout_ns, idle_timeout_ns,
             graceful_shutdown_timeout_ns; uint64_t grpc_max_recv_msg_size;
             int register_instrumentation; char *log_level, *http_path_prefix; } server;
    struct cairn_cfg_map labels; /* added to (and replacing) every pushed stream's */
    int use_incoming_timestamp;  /* 0: the time of receipt, as Promtail */
    uint64_t max_message_size;   /* cairn's: body limit, 413 past it */
};

/* journal: the systemd journal (Promtail's journal_config; src_journal_config.c). */
struct cairn_ship_journal {
    int present;      /* the scrape config has `journal:` (set by the loader) */
    char *path;       /* a journal directory; NULL: the local system journal */
    int64_t max_age_ns;
    int json;         /* the line is the whole entry as a JSON object */
    struct cairn_cfg_map labels;
    char *matches;    /* "FIELD=value ..." for sd_journal_add_match */
};

struct cairn_ship_scrape {
    char *job_name;
    struct cairn_cfg_list static_configs;  /* of cairn_ship_static */
    struct cairn_cfg_list kubernetes_sd_configs; /* of cairn_ship_k8s_sd */
    struct cairn_cfg_list pipeline_stages; /* of cairn_cfg_tagged (enum cairn_ship_stage_kind) */
    struct cairn_cfg_list relabel_configs; /* of cairn_ship_relabel */
    struct { int enabled; char *path; struct cairn_cfg_map labels; } pod_logs; /* cairn's */
    struct cairn_ship_relay loki_push_api;
    struct cairn_ship_journal journal;
    struct cairn_ship_syslog syslog; /* listen_address empty: none */
};

struct cairn_ship_client {
    char *url, *tenant_id;
    int protocol; /* enum cairn_push_protocol: loki (default) or otlp */
    int64_t batchwait_ns;
    uint64_t batchsize;
    int64_t timeout_ns;
    struct { int64_t min_period_ns, max_period_ns; int max_retries; } backoff_config;
    struct { char *username, *password, *password_file; } basic_auth;
    char *bearer_token, *bearer_token_file;
    struct cairn_cfg_map external_labels;
    struct { char *ca_file, *cert_file, *key_file, *server_name; int insecure_skip_verify; } tls_config;
    int drop_rate_limited_batches;
    uint64_t queue_limit; /* cairn's: bytes held before the readers wait */
    int64_t drain_timeout_ns; /* cairn's: retries at shutdown end after this */
};

struct cairn_ship_config {
    struct { char *http_listen_address; int http_listen_port; int grpc_listen_port;
             int log_level; int disable; char *log_format; char *http_path_prefix; } server;
    struct { int enabled; } tracing; /* accepted for compatibility */
    struct { char *filename; int64_t sync_period_ns; int ignore_invalid_yaml; } positions;
    struct cairn_cfg_list clients;        /* of cairn_ship_client */
    struct cairn_cfg_list scrape_configs; /* of cairn_ship_scrape */
    struct { double readline_rate; int readline_burst; int readline_rate_enabled;
             int readline_rate_drop; int max_streams; } limits_config;
    struct { int64_t sync_period_ns; } target_config;
    /* command line only */
    int stdin_mode;
    struct cairn_cfg_map stdin_labels; /* --label k=v */
    int dry_run, check_syntax, inspect;
    char *client_url, *client_tenant;
    char *k8s_sa_dir; /* in-cluster service account files (tests); NULL: the usual place */
};

/* The root table (its check validates selectors, regexes, templates, stage options). */
extern const struct cairn_cfg_table cairn_ship_config_table;

/* The pipeline_stages variants (a list ending with {NULL}) and the relabel_configs
 * element table, for components that load stages or relabel rules outside a ship
 * config (the Docker driver). */
const struct cairn_cfg_variant *cairn_ship_stage_variants(void);
const struct cairn_cfg_table *cairn_ship_relabel_table(void);

#endif
