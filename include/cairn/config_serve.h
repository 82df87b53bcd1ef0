/* config_serve.h -- the configuration of `cairn serve`: server, storage, limits and
 * retention, as YAML (Loki's key names where Loki has them) and command-line options.
 *
 * Ownership: cairn_serve_config_load fills a caller-owned struct cairn_serve_config;
 * everything it points to (strings, the per-tenant retention array the store config
 * points into) belongs to it until cairn_serve_config_deinit. Read the fields directly.
 *
 * YAML shape (every key optional; see docs/CONFIG.md or `cairn serve --help`):
 *   server:        http_listen_address, http_listen_port, log_level, http_workers,
 *                  http_max_connections, http_max_connections_per_ip,
 *                  http_header_timeout, http_body_timeout, http_server_idle_timeout
 *   storage:       data_dir, fsync, fsync_interval, codec, zstd_level, head_budget,
 *                  block_target_raw, chunk_target, chunk_max_age, chunk_idle,
 *                  index_period, ooo_window
 *   limits_config: ingestion_rate_mb, ingestion_burst_size_mb,
 *                  max_global_streams_per_user, max_line_size,
 *                  max_label_names_per_series, max_label_name_length,
 *                  max_label_value_length, reject_old_samples,
 *                  reject_old_samples_max_age, creation_grace_period, retention_period,
 *                  max_query_series, query_timeout
 *   overrides:     <tenant>: {retention_period: 24h}       (Loki's runtime overrides)
 *   auth:          enabled, credentials: {<name>: {secret_sha256, tenants: [..]}}
 *   target:        all | write | read | backend   (also -target=X, --target X)
 *   common:        replication_factor, instance_addr,
 *                  ring: {instance_id, heartbeat_period, heartbeat_timeout,
 *                         cluster_secret, forward_timeout,
 *                         kvstore: {store: etcd|inmemory|static, prefix, static: [..],
 *                                   etcd: {endpoints, dial_timeout, username, password}}}
 *   memberlist:    accepted and ignored with a warning (membership is etcd's) */
#ifndef CAIRN_CONFIG_SERVE_H
#define CAIRN_CONFIG_SERVE_H

#include <stdint.h>

#include "cairn/buf.h"
#include "cairn/config.h"
#include "cairn/error.h"
#include "cairn/store.h"

/* limits_config.otlp_config, as Loki's (enum cairn_otlp_action in api.h). */
struct cairn_serve_otlp_rule {
    int action;                          /* index_label, structured_metadata, drop */
    struct cairn_cfg_strlist attributes;
    char *regex;
};
struct cairn_serve_otlp_resource {
    int ignore_defaults;
    struct cairn_cfg_list attributes_config; /* of cairn_serve_otlp_rule */
};
struct cairn_serve_otlp {
    struct cairn_serve_otlp_resource resource_attributes;
    struct cairn_cfg_list scope_attributes, log_attributes; /* of cairn_serve_otlp_rule */
};

/* What the HTTP layer enforces on push, per tenant (Loki's limits_config). */
struct cairn_limits {
    double ingestion_rate_mb;            /* MB/s per tenant (token bucket rate) */
    double ingestion_burst_size_mb;      /* MB bucket size */
    int max_global_streams_per_user;     /* active streams per tenant; 0: unlimited */
    size_t max_line_size;                /* bytes; 0: unlimited */
    int allow_structured_metadata;       /* bool */
    size_t max_structured_metadata_size; /* bytes (names + values); 0: unlimited */
    int max_structured_metadata_entries_count; /* pairs per entry; 0: unlimited */
    int max_label_names_per_series;
    int max_label_name_length;
    int max_label_value_length;
    int reject_old_samples;              /* bool: refuse entries older than max age */
    int64_t reject_old_samples_max_age_ns;
    int64_t creation_grace_period_ns;    /* how far in the future an entry may be */
    int max_query_series;                /* series in a metric query's result; 0: unlimited */
    int64_t query_timeout_ns;            /* a query running longer fails (504); 0: none */
    size_t max_query_memory;             /* one query's memory budget (400 past it); 0: none */
    int max_concurrent_queries_per_tenant; /* a tenant's queries running at once; 0: no limit */
    int max_outstanding_requests_per_tenant; /* more may wait, then 429 */
    struct cairn_serve_otlp otlp_config;
};

/* Fill l with the defaults of limits.h (Loki's defaults). */
void cairn_limits_default(struct cairn_limits *l);

struct cairn_serve_server {
    char *http_listen_address;  /* default "127.0.0.1" */
    int http_listen_port;       /* default 3100; 0 picks an ephemeral port */
    int log_level;              /* enum cairn_log_level, default info */
    int http_workers;           /* handler threads; 0: max(8, 2 x cores) */
    int http_max_connections;   /* all clients (clamped to the fd limit) */
    int http_max_connections_per_ip;
    int64_t http_header_timeout_ns; /* whole request header, from accept or request line */
    int64_t http_body_timeout_ns;   /* longest pause inside a body */
    int64_t http_idle_timeout_ns;   /* keep-alive idle */
};

/* auth: credentials mapped to tenants (off by default). */
struct cairn_serve_credential {
    char *name;                     /* the key: basic-auth user */
    char *secret_sha256;            /* hex SHA-256 of the token / password */
    struct cairn_cfg_strlist tenants; /* "*": any tenant */
};
struct cairn_serve_auth {
    int enabled;
    struct cairn_cfg_list credentials; /* struct cairn_serve_credential, keyed by name */
};

/* Object storage, under Loki's keys: storage_config.aws and common.storage.s3 fill the
 * same settings; storage_config.cache (or cairn's cache:) the block cache. */
struct cairn_serve_s3 {
    char *endpoint, *bucketnames, *region, *access_key_id, *secret_access_key;
    char *secret_access_key_file;
    int s3forcepathstyle, insecure;
    struct {
        int insecure_skip_verify;
    } http_config;
    int64_t timeout_ns;
    int max_retries;
};
struct cairn_serve_objstore {
    struct cairn_serve_s3 s3;
    struct {
        char *dir;        /* default DATA_DIR/cache */
        uint64_t max_size;
    } cache;
};
/* ruler: LogQL alerting and recording rules (Loki's ruler keys; docs/RULER.md). The
 * ruler runs when a rules directory is set. */
struct cairn_ruler_config {
    int storage_type;            /* storage.type: local (the only one) */
    char *directory;             /* storage.local.directory: <dir>/<tenant>/<namespace>.yaml */
    char *rule_path;             /* Loki's scratch path; used as the directory when that is unset */
    int64_t evaluation_interval_ns; /* default group interval (1m) */
    int64_t poll_interval_ns;    /* how often rule files are re-read (1m) */
    char *alertmanager_url;      /* comma-separated Alertmanager base URLs */
    char *external_url;          /* generatorURL base of alerts */
    struct cairn_cfg_map external_labels; /* added to alerts and recorded series */
    int enable_api;              /* the /loki/api/v1/rules write API (reads always on) */
    int64_t resend_delay_ns;     /* firing alerts are re-sent this often (1m) */
    int remote_write_enabled;
    char *remote_write_url;      /* Prometheus remote-write endpoint of recording rules */
    char *wal_dir;               /* recorded samples waiting for remote write */
};

/* -target: which roles this process runs (docs/SCALING.md). */
enum cairn_serve_target {
    CAIRN_TARGET_ALL = 0, /* today's single process */
    CAIRN_TARGET_WRITE,   /* pushes: WAL, head, forwarding to owners */
    CAIRN_TARGET_READ,    /* queries over every write node's data; stateless */
    CAIRN_TARGET_BACKEND, /* compaction and retention */
};
enum cairn_serve_kvstore { CAIRN_KV_INMEMORY = 0, CAIRN_KV_ETCD, CAIRN_KV_STATIC };

/* common: the cluster, as Loki's common block (ring, replication, instance). */
struct cairn_serve_common {
    int replication_factor;     /* owners per stream (default 1; 3 for HA) */
    char *instance_addr;        /* host:port peers reach this node on; default: the
                                 * listen address, or the hostname when it is 0.0.0.0 */
    struct {
        char *instance_id;      /* default: the hostname */
        int64_t heartbeat_period_ns; /* etcd keepalive and heartbeat (5s in Loki; 3s) */
        int64_t heartbeat_timeout_ns; /* the lease TTL: a silent node leaves after it */
        char *cluster_secret;   /* shared by the nodes: guards the /internal/ routes */
        int64_t forward_timeout_ns; /* a forward to one owner or a read from one node */
        struct {
            int store;          /* enum cairn_serve_kvstore */
            char *prefix;
            struct cairn_cfg_strlist static_addrs;
            struct {
                struct cairn_cfg_strlist endpoints;
                int64_t dial_timeout_ns;
                char *username;
                char *password;
            } etcd;
        } kvstore;
    } ring;
};

struct cairn_serve_config {
    struct cairn_serve_objstore objstore; /* used when s3.endpoint is set */
    struct cairn_serve_server server;
    int target;                       /* enum cairn_serve_target */
    struct cairn_serve_common common;
    struct cairn_serve_auth auth;
    struct cairn_store_config store;  /* store.tenant_retention points into overrides */
    struct cairn_limits limits;
    struct cairn_cfg_list overrides;  /* struct cairn_tenant_retention, keyed by tenant */
    struct cairn_ruler_config ruler;
    char *listen;                     /* --listen HOST:PORT (CLI only), split into server.* */
    struct cairn_cfg cfg;             /* the loader state over this struct */
};

extern const struct cairn_cfg_table cairn_serve_config_table;

/* Defaults, then --config/-config.file, then options, then checks (argv[0] is
 * "serve"). Returns 0 to run, CAIRN_CFG_EXIT after writing --help or --print-config
 * output to out, or negative with err saying which key, option or line is wrong.
 * Call cairn_serve_config_deinit afterwards in every case. */
int cairn_serve_config_load(struct cairn_serve_config *sc, int argc, char **argv,
                            struct cairn_buf *out, struct cairn_err *err);
/* Defaults only (tests, embedding). */
int cairn_serve_config_init(struct cairn_serve_config *sc, struct cairn_err *err);
void cairn_serve_config_deinit(struct cairn_serve_config *sc);
/* The effective config as YAML for GET /config (secrets masked). */
int cairn_serve_config_dump(const struct cairn_serve_config *sc, struct cairn_buf *out);

#endif
