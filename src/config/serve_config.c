/* serve_config.c -- the tables of `cairn serve`'s configuration (server, storage,
 * limits_config, overrides) with Loki's key and flag names where Loki has them, the
 * checks across keys, and the load entry point serve calls. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/config_serve.h"
#include "cairn/limits.h"
#include "cairn/log.h"
#include "config/config_int.h"

#define SEC 1000000000LL
#define HOUR (3600 * SEC)

void cairn_limits_default(struct cairn_limits *l)
{
    memset(l, 0, sizeof *l);
    l->ingestion_rate_mb = CAIRN_INGESTION_RATE_MB;
    l->ingestion_burst_size_mb = CAIRN_INGESTION_BURST_MB;
    l->max_global_streams_per_user = CAIRN_MAX_STREAMS_PER_TENANT;
    l->max_line_size = CAIRN_MAX_LINE_SIZE;
    l->allow_structured_metadata = CAIRN_ALLOW_STRUCTURED_METADATA;
    l->max_structured_metadata_size = CAIRN_MAX_STRUCTURED_METADATA_SIZE;
    l->max_structured_metadata_entries_count = CAIRN_MAX_STRUCTURED_METADATA_ENTRIES;
    l->max_label_names_per_series = CAIRN_MAX_LABEL_NAMES_PER_SERIES;
    l->max_label_name_length = CAIRN_MAX_LABEL_NAME_LENGTH;
    l->max_label_value_length = CAIRN_MAX_LABEL_VALUE_LENGTH;
    l->reject_old_samples = 1;
    l->reject_old_samples_max_age_ns = CAIRN_REJECT_OLD_MAX_AGE_NS;
    l->creation_grace_period_ns = CAIRN_CREATION_GRACE_NS;
    l->max_query_series = CAIRN_MAX_QUERY_SERIES;
    l->query_timeout_ns = CAIRN_QUERY_TIMEOUT_NS;
    l->max_query_memory = CAIRN_MAX_QUERY_MEMORY;
    l->max_concurrent_queries_per_tenant = CAIRN_MAX_TENANT_QUERIES;
    l->max_outstanding_requests_per_tenant = CAIRN_MAX_TENANT_QUEUED;
}

static const struct cairn_cfg_enum log_levels[] = {
    {"debug", CAIRN_LOG_DEBUG}, {"info", CAIRN_LOG_INFO}, {"warn", CAIRN_LOG_WARN},
    {"error", CAIRN_LOG_ERROR}, {NULL, 0},
};
static const struct cairn_cfg_enum fsync_policies[] = {
    {"always", CAIRN_FSYNC_ALWAYS}, {"interval", CAIRN_FSYNC_INTERVAL},
    {"never", CAIRN_FSYNC_NEVER}, {NULL, 0},
};
static const struct cairn_cfg_enum codecs[] = {
    {"zstd", CAIRN_CODEC_ZSTD}, {"lz4", CAIRN_CODEC_LZ4}, {NULL, 0},
};

#define S struct cairn_serve_server
static const struct cairn_cfg_entry server_entries[] = {
    {.key = "http_listen_address", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(S, http_listen_address),
     .def = "127.0.0.1", .lflag = "server.http-listen-address",
     .help = "address the HTTP API listens on"},
    {.key = "http_listen_port", .type = CAIRN_CFG_INT, CAIRN_CFG_AT(S, http_listen_port),
     .idef = 3100, .min = 0, .max = 65535, .lflag = "server.http-listen-port",
     .help = "port the HTTP API listens on (0: any free port)"},
    {.key = "log_level", .type = CAIRN_CFG_ENUM, CAIRN_CFG_AT(S, log_level), .def = "info",
     .names = log_levels, .flag = "log-level", .lflag = "log.level",
     .help = "log only messages of this level or above"},
    /* connections (issue 10): event-driven serving, deadlines, caps; see docs/CONFIG.md */
    {.key = "http_workers", .type = CAIRN_CFG_INT, CAIRN_CFG_AT(S, http_workers), .idef = 0,
     .min = 0, .max = 1024, .lflag = "server.http-workers",
     .help = "handler threads for pushes, and as many for reads (0: max(8, 2 x cores))"},
    {.key = "http_max_connections", .type = CAIRN_CFG_INT, CAIRN_CFG_AT(S, http_max_connections),
     .idef = CAIRN_HTTP_MAX_CONNECTIONS, .min = 16, .max = 1 << 20,
     .lflag = "server.http-max-connections",
     .help = "open connections in all (lowered to fit the open-file limit)"},
    {.key = "http_max_connections_per_ip", .type = CAIRN_CFG_INT,
     CAIRN_CFG_AT(S, http_max_connections_per_ip), .idef = CAIRN_HTTP_MAX_CONNECTIONS_PER_IP,
     .min = 1, .max = 1 << 20, .lflag = "server.http-max-connections-per-ip",
     .help = "open connections from one client address"},
    {.key = "http_header_timeout", .type = CAIRN_CFG_DURATION,
     CAIRN_CFG_AT(S, http_header_timeout_ns), .idef = CAIRN_HTTP_HEADER_TIMEOUT_NS,
     .min = 100000000, .max = HOUR, .lflag = "server.http-header-timeout",
     .help = "a request's header must be complete this long after the connection opened "
             "(or its request line arrived), however slowly it trickles"},
    {.key = "http_body_timeout", .type = CAIRN_CFG_DURATION, CAIRN_CFG_AT(S, http_body_timeout_ns),
     .idef = CAIRN_HTTP_BODY_TIMEOUT_NS, .min = 100000000, .max = HOUR,
     .lflag = "server.http-body-timeout", .help = "longest pause while a request body arrives"},
    {.key = "http_server_idle_timeout", .type = CAIRN_CFG_DURATION,
     CAIRN_CFG_AT(S, http_idle_timeout_ns), .idef = CAIRN_HTTP_IDLE_TIMEOUT_NS,
     .min = SEC, .max = 24 * HOUR, .lflag = "server.http-idle-timeout",
     .help = "a keep-alive connection is closed after this long without a request"},
};
#undef S
static const struct cairn_cfg_table server_table =
    CAIRN_CFG_TABLE("server", server_entries, struct cairn_serve_server);

#define T struct cairn_store_config
static const struct cairn_cfg_entry storage_entries[] = {
    {.key = "data_dir", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(T, data_dir), .def = "./data",
     .flag = "data-dir", .metavar = "DIR",
     .help = "directory for the WAL, segment files and index"},
    {.key = "fsync", .type = CAIRN_CFG_ENUM, CAIRN_CFG_AT(T, fsync), .def = "interval",
     .names = fsync_policies, .flag = "fsync",
     .help = "when the WAL is synced: always (before each ack, grouped), interval, never"},
    {.key = "fsync_interval", .type = CAIRN_CFG_DURATION, CAIRN_CFG_AT(T, fsync_interval_ns),
     .def = "1s", .min = 1000000, .max = HOUR, .flag = "fsync-interval",
     .help = "how often the WAL is synced under fsync: interval"},
    {.key = "codec", .type = CAIRN_CFG_ENUM, CAIRN_CFG_AT(T, codec), .def = "zstd",
     .names = codecs, .flag = "codec", .help = "compression of new blocks"},
    {.key = "zstd_level", .type = CAIRN_CFG_INT, CAIRN_CFG_AT(T, zstd_level), .idef = CAIRN_ZSTD_LEVEL_DEFAULT,
     .min = 1, .max = 22, .flag = "zstd-level", .help = "zstd compression level"},
    {.key = "head_budget", .type = CAIRN_CFG_SIZE, CAIRN_CFG_AT(T, head_budget),
     .idef = CAIRN_HEAD_BUDGET_DEFAULT, .min = 1 << 20, .max = 1LL << 40,
     .flag = "head-budget",
     .help = "memory for open blocks across all streams; past it the largest are cut"},
    {.key = "block_target_raw", .type = CAIRN_CFG_SIZE, CAIRN_CFG_AT(T, block_target_raw),
     .idef = CAIRN_BLOCK_TARGET_RAW, .min = 4096, .max = 16 << 20,
     .lflag = "ingester.chunks-block-size",
     .help = "cut an open block into a compressed block at this many raw bytes"},
    {.key = "chunk_target", .type = CAIRN_CFG_SIZE, CAIRN_CFG_AT(T, chunk_target),
     .idef = CAIRN_CHUNK_TARGET_COMPRESSED, .min = 65536, .max = 1LL << 30,
     .lflag = "ingester.chunk-target-size",
     .help = "close a chunk at this many compressed bytes"},
    {.key = "chunk_max_age", .type = CAIRN_CFG_DURATION, CAIRN_CFG_AT(T, chunk_max_age_ns),
     .idef = CAIRN_CHUNK_MAX_AGE_NS, .min = SEC, .max = 168 * HOUR,
     .lflag = "ingester.max-chunk-age", .help = "close a chunk this long after its first entry"},
    {.key = "chunk_idle", .type = CAIRN_CFG_DURATION, CAIRN_CFG_AT(T, chunk_idle_ns),
     .idef = CAIRN_CHUNK_IDLE_NS, .min = SEC, .max = 168 * HOUR,
     .lflag = "ingester.chunks-idle-period",
     .help = "close a chunk whose stream received nothing for this long"},
    {.key = "index_period", .type = CAIRN_CFG_DURATION, CAIRN_CFG_AT(T, index_period_ns),
     .idef = CAIRN_INDEX_PERIOD_NS, .min = HOUR, .max = 30 * 24 * HOUR,
     .flag = "index-period",
     .help = "time span of one index and segment period (whole hours)"},
    {.key = "ooo_window", .type = CAIRN_CFG_DURATION, CAIRN_CFG_AT(T, ooo_window_ns),
     .idef = CAIRN_OOO_WINDOW_NS, .min = 0, .max = 168 * HOUR, .flag = "ooo-window",
     .help = "accept entries this much older than a stream's newest"},
    {.key = "block_filters", .type = CAIRN_CFG_BOOL, CAIRN_CFG_AT(T, block_filters), .idef = 1,
     .flag = "block-filters",
     .help = "build per-block n-gram filters and skip blocks that cannot hold a |= literal"},
};
#undef T
static const struct cairn_cfg_table storage_table =
    CAIRN_CFG_TABLE("storage", storage_entries, struct cairn_store_config);

/* limits_config's offsets are relative to the whole serve config: retention_period
 * lives in Loki's limits_config but belongs to the store. */
#define C struct cairn_serve_config
static const struct cairn_cfg_enum otlp_actions[] = {
    {"index_label", 0}, {"structured_metadata", 1}, {"drop", 2}, {NULL, 0},
};
#define R struct cairn_serve_otlp_rule
static const struct cairn_cfg_entry otlp_rule_entries[] = {
    {.key = "action", .type = CAIRN_CFG_ENUM, .flags = CAIRN_CFG_REQUIRED, CAIRN_CFG_AT(R, action),
     .names = otlp_actions,
     .help = "index_label (resource attributes only), structured_metadata or drop"},
    {.key = "attributes", .type = CAIRN_CFG_STRLIST, CAIRN_CFG_AT(R, attributes),
     .help = "attribute names the action applies to"},
    {.key = "regex", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(R, regex),
     .help = "or: attribute names this regex matches whole"},
};
#undef R
static const struct cairn_cfg_table otlp_rule_table =
    CAIRN_CFG_TABLE("attributes_config", otlp_rule_entries, struct cairn_serve_otlp_rule);
static const struct cairn_cfg_entry otlp_res_entries[] = {
    {.key = "ignore_defaults", .type = CAIRN_CFG_BOOL,
     CAIRN_CFG_AT(struct cairn_serve_otlp_resource, ignore_defaults),
     .help = "do not index Loki's default resource attributes (service.name, k8s.pod.name...)"},
    {.key = "attributes_config", .type = CAIRN_CFG_LIST,
     CAIRN_CFG_AT(struct cairn_serve_otlp_resource, attributes_config), .sub = &otlp_rule_table,
     .help = "rules, in order; the first that matches an attribute wins"},
};
static const struct cairn_cfg_table otlp_res_table =
    CAIRN_CFG_TABLE("resource_attributes", otlp_res_entries, struct cairn_serve_otlp_resource);
static const struct cairn_cfg_entry otlp_entries[] = {
    {.key = "resource_attributes", .type = CAIRN_CFG_SECTION,
     CAIRN_CFG_AT(struct cairn_serve_otlp, resource_attributes), .sub = &otlp_res_table,
     .help = "resource attributes: index labels, structured metadata or dropped"},
    {.key = "scope_attributes", .type = CAIRN_CFG_LIST,
     CAIRN_CFG_AT(struct cairn_serve_otlp, scope_attributes), .sub = &otlp_rule_table,
     .help = "scope attribute rules (structured_metadata or drop)"},
    {.key = "log_attributes", .type = CAIRN_CFG_LIST,
     CAIRN_CFG_AT(struct cairn_serve_otlp, log_attributes), .sub = &otlp_rule_table,
     .help = "log record attribute rules (structured_metadata or drop)"},
};
static const struct cairn_cfg_table otlp_table =
    CAIRN_CFG_TABLE("otlp_config", otlp_entries, struct cairn_serve_otlp);

static const struct cairn_cfg_entry limits_entries[] = {
    {.key = "ingestion_rate_mb", .type = CAIRN_CFG_FLOAT, CAIRN_CFG_AT(C, limits.ingestion_rate_mb),
     .fdef = CAIRN_INGESTION_RATE_MB, .min = 0, .max = 1000000,
     .lflag = "distributor.ingestion-rate-limit-mb",
     .help = "per-tenant ingestion rate limit in MB/s of line bytes (0: no limit; Loki: 4)"},
    {.key = "ingestion_burst_size_mb", .type = CAIRN_CFG_FLOAT,
     CAIRN_CFG_AT(C, limits.ingestion_burst_size_mb), .fdef = CAIRN_INGESTION_BURST_MB,
     .min = 0, .max = 1000000, .lflag = "distributor.ingestion-burst-size-mb",
     .help = "per-tenant burst allowed above the rate, in MB"},
    {.key = "max_global_streams_per_user", .type = CAIRN_CFG_INT,
     CAIRN_CFG_AT(C, limits.max_global_streams_per_user), .idef = CAIRN_MAX_STREAMS_PER_TENANT,
     .min = 0, .max = INT32_MAX, .lflag = "ingester.max-global-streams-per-user",
     .help = "active streams per tenant (0: no limit; Loki: 5000)"},
    {.key = "max_query_series", .type = CAIRN_CFG_INT, CAIRN_CFG_AT(C, limits.max_query_series),
     .idef = CAIRN_MAX_QUERY_SERIES, .min = 0, .max = INT32_MAX,
     .lflag = "querier.max-query-series",
     .help = "series a metric query may return (0: no limit)"},
    {.key = "query_timeout", .type = CAIRN_CFG_DURATION, CAIRN_CFG_AT(C, limits.query_timeout_ns),
     .idef = CAIRN_QUERY_TIMEOUT_NS, .min = 0, .max = 24 * HOUR,
     .lflag = "querier.query-timeout",
     .help = "a query running longer than this fails with 504 (0: no limit)"},
    {.key = "max_query_memory", .type = CAIRN_CFG_SIZE, CAIRN_CFG_AT(C, limits.max_query_memory),
     .idef = CAIRN_MAX_QUERY_MEMORY, .min = 0, .max = INT64_MAX, .lflag = "querier.max-query-memory",
     .help = "memory one query may use while it runs; past it the query fails with 400 (0: no limit)"},
    {.key = "max_concurrent_queries_per_tenant", .type = CAIRN_CFG_INT,
     CAIRN_CFG_AT(C, limits.max_concurrent_queries_per_tenant), .idef = CAIRN_MAX_TENANT_QUERIES,
     .min = 0, .max = 65536, .lflag = "querier.max-concurrent-queries-per-tenant",
     .help = "queries of one tenant running at once; more wait (0: no limit)"},
    {.key = "max_outstanding_requests_per_tenant", .type = CAIRN_CFG_INT,
     CAIRN_CFG_AT(C, limits.max_outstanding_requests_per_tenant), .idef = CAIRN_MAX_TENANT_QUEUED,
     .min = 0, .max = 65536, .lflag = "query-scheduler.max-outstanding-requests-per-tenant",
     .help = "queries of one tenant waiting to run; past it, or after 5s waiting, 429"},
    {.key = "max_line_size", .type = CAIRN_CFG_SIZE, CAIRN_CFG_AT(C, limits.max_line_size),
     .idef = CAIRN_MAX_LINE_SIZE, .min = 0, .max = CAIRN_MAX_PUSH_DECODED,
     .lflag = "distributor.max-line-size", .help = "longest accepted line (0: no limit)"},
    {.key = "allow_structured_metadata", .type = CAIRN_CFG_BOOL,
     CAIRN_CFG_AT(C, limits.allow_structured_metadata), .idef = CAIRN_ALLOW_STRUCTURED_METADATA,
     .lflag = "validation.allow-structured-metadata",
     .help = "accept structured metadata on entries (push and OTLP); false: 400"},
    {.key = "max_structured_metadata_size", .type = CAIRN_CFG_SIZE,
     CAIRN_CFG_AT(C, limits.max_structured_metadata_size),
     .idef = CAIRN_MAX_STRUCTURED_METADATA_SIZE, .min = 0, .max = CAIRN_MAX_PUSH_DECODED,
     .lflag = "limits.max-structured-metadata-size",
     .help = "largest structured metadata of one entry, names and values (0: no limit)"},
    {.key = "max_structured_metadata_entries_count", .type = CAIRN_CFG_INT,
     CAIRN_CFG_AT(C, limits.max_structured_metadata_entries_count),
     .idef = CAIRN_MAX_STRUCTURED_METADATA_ENTRIES, .min = 0, .max = 1 << 20,
     .lflag = "limits.max-structured-metadata-entries-count",
     .help = "most structured metadata pairs on one entry (0: no limit)"},
    {.key = "otlp_config", .type = CAIRN_CFG_SECTION, CAIRN_CFG_AT(C, limits.otlp_config),
     .sub = &otlp_table, .help = "how POST /otlp/v1/logs maps OTLP attributes (Loki's)"},
    {.key = "max_label_names_per_series", .type = CAIRN_CFG_INT,
     CAIRN_CFG_AT(C, limits.max_label_names_per_series),
     .idef = CAIRN_MAX_LABEL_NAMES_PER_SERIES, .min = 1, .max = CAIRN_LABELS_PARSE_MAX,
     .lflag = "validation.max-label-names-per-series", .help = "labels per stream"},
    {.key = "max_label_name_length", .type = CAIRN_CFG_INT,
     CAIRN_CFG_AT(C, limits.max_label_name_length), .idef = CAIRN_MAX_LABEL_NAME_LENGTH,
     .min = 1, .max = 65536, .lflag = "validation.max-length-label-name",
     .help = "longest label name"},
    {.key = "max_label_value_length", .type = CAIRN_CFG_INT,
     CAIRN_CFG_AT(C, limits.max_label_value_length), .idef = CAIRN_MAX_LABEL_VALUE_LENGTH,
     .min = 1, .max = 1 << 20, .lflag = "validation.max-length-label-value",
     .help = "longest label value"},
    {.key = "reject_old_samples", .type = CAIRN_CFG_BOOL,
     CAIRN_CFG_AT(C, limits.reject_old_samples), .idef = 1,
     .lflag = "validation.reject-old-samples",
     .help = "refuse entries older than reject_old_samples_max_age"},
    {.key = "reject_old_samples_max_age", .type = CAIRN_CFG_DURATION,
     CAIRN_CFG_AT(C, limits.reject_old_samples_max_age_ns),
     .idef = CAIRN_REJECT_OLD_MAX_AGE_NS, .lflag = "validation.reject-old-samples.max-age",
     .help = "oldest accepted entry, relative to now"},
    {.key = "creation_grace_period", .type = CAIRN_CFG_DURATION,
     CAIRN_CFG_AT(C, limits.creation_grace_period_ns), .idef = CAIRN_CREATION_GRACE_NS,
     .lflag = "validation.create-grace-period",
     .help = "how far in the future an entry's timestamp may be"},
    {.key = "retention_period", .type = CAIRN_CFG_DURATION, CAIRN_CFG_AT(C, store.retention_ns),
     .idef = 0, .flag = "retention", .lflag = "store.retention",
     .help = "delete data older than this, a whole index period at a time (0: keep forever)"},
};
static const struct cairn_cfg_table limits_table =
    CAIRN_CFG_TABLE("limits_config", limits_entries, struct cairn_serve_config);

static const struct cairn_cfg_entry override_entries[] = {
    {.key = "retention_period", .type = CAIRN_CFG_DURATION,
     CAIRN_CFG_AT(struct cairn_tenant_retention, retention_ns),
     .help = "this tenant's retention (0: keep forever)"},
};
static const struct cairn_cfg_table override_table =
    CAIRN_CFG_TABLE("overrides", override_entries, struct cairn_tenant_retention);

static const struct cairn_cfg_entry cred_entries[] = {
    {.key = "secret_sha256", .type = CAIRN_CFG_STRING, .flags = CAIRN_CFG_SECRET | CAIRN_CFG_REQUIRED,
     CAIRN_CFG_AT(struct cairn_serve_credential, secret_sha256),
     .help = "SHA-256 (64 hex digits) of the secret: printf %s SECRET | sha256sum"},
    {.key = "tenants", .type = CAIRN_CFG_STRLIST, .flags = CAIRN_CFG_REQUIRED | CAIRN_CFG_ONE_OK,
     CAIRN_CFG_AT(struct cairn_serve_credential, tenants),
     .help = "tenants (X-Scope-OrgID) it may use, the first by default; \"*\": any"},
};
static const struct cairn_cfg_table cred_table =
    CAIRN_CFG_TABLE("credential", cred_entries, struct cairn_serve_credential);

static const struct cairn_cfg_entry auth_entries[] = {
    {.key = "enabled", .type = CAIRN_CFG_BOOL, CAIRN_CFG_AT(struct cairn_serve_auth, enabled),
     .idef = 0, .lflag = "auth.enabled",
     .help = "require a credential on every API route but /ready and /metrics"},
    {.key = "credentials", .type = CAIRN_CFG_KEYED,
     CAIRN_CFG_AT(struct cairn_serve_auth, credentials), .sub = &cred_table,
     .key_offset = offsetof(struct cairn_serve_credential, name),
     .help = "by name (the basic-auth user): a bearer token or basic-auth password"},
};
static const struct cairn_cfg_table auth_table =
    CAIRN_CFG_TABLE("auth", auth_entries, struct cairn_serve_auth);

static int serve_check(struct cairn_cfg *c, void *obj, const char *path, struct cairn_err *err);

static const struct cairn_cfg_enum targets[] = {
    {"all", CAIRN_TARGET_ALL}, {"write", CAIRN_TARGET_WRITE}, {"read", CAIRN_TARGET_READ},
    {"backend", CAIRN_TARGET_BACKEND}, {NULL, 0},
};

static const struct cairn_cfg_entry serve_entries[] = {
    {.key = "server", .type = CAIRN_CFG_SECTION, CAIRN_CFG_AT(C, server), .sub = &server_table,
     .help = "the HTTP server"},
    {.key = "target", .type = CAIRN_CFG_ENUM, CAIRN_CFG_AT(C, target), .def = "all",
     .names = targets, .flag = "target",
     .help = "roles to run: all, write, read or backend (docs/SCALING.md)"},
    {.key = "common", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(C),
     .sub = &cairn__serve_common_table,
     .help = "Loki's common block: ring, replication, instance, storage"},
    {.key = "listen", .type = CAIRN_CFG_STRING, .flags = CAIRN_CFG_CLI_ONLY,
     CAIRN_CFG_AT(C, listen), .flag = "listen", .metavar = "HOST:PORT",
     .hdef = "127.0.0.1:3100",
     .help = "listen address, sets server.http_listen_address and server.http_listen_port"},
    {.key = "storage", .type = CAIRN_CFG_SECTION, CAIRN_CFG_AT(C, store), .sub = &storage_table,
     .help = "the store"},
    {.key = "limits_config", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(C),
     .sub = &limits_table, .help = "per-tenant limits, as Loki's limits_config"},
    {.key = "ruler", .type = CAIRN_CFG_SECTION, CAIRN_CFG_AT(C, ruler),
     .sub = &cairn__ruler_config_table, .help = "alerting and recording rules (docs/RULER.md)"},
    {.key = "auth", .type = CAIRN_CFG_SECTION, CAIRN_CFG_AT(C, auth), .sub = &auth_table,
     .help = "optional authentication: credentials mapped to tenants"},
    {.key = "storage_config", .type = CAIRN_CFG_SECTION, CAIRN_CFG_AT(C, objstore),
     .sub = &cairn__storage_config_table, .help = "object storage, as Loki's storage_config"},
    {.key = "overrides", .type = CAIRN_CFG_KEYED, CAIRN_CFG_AT(C, overrides), .sub = &override_table,
     .key_offset = offsetof(struct cairn_tenant_retention, tenant),
     .help = "per-tenant overrides by tenant ID, as in Loki's runtime config"},
};

/* Loki's root keys cairn accepts and ignores, each named in a warning. */
static const struct cairn_cfg_ignored serve_ignored[] = {
    {"schema_config", "cairn's formats are its own; the index period is storage.index_period"},
    {"memberlist", "cairn keeps the ring in etcd (common.ring.kvstore.store: etcd), not gossip"},
    {NULL, NULL},
};

static int split_listen(struct cairn_cfg *c, const char *listen, struct cairn_err *err)
{
    const char *colon = strrchr(listen, ':');
    const char *host = listen;
    size_t hlen = colon ? (size_t)(colon - listen) : 0;
    if (!colon || colon[1] == '\0')
        return cairn_err_set(err, CAIRN_EINVAL, "option --listen: '%s' is not HOST:PORT", listen);
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
        host++;
        hlen -= 2;
    }
    char hbuf[256];
    if (hlen >= sizeof hbuf)
        return cairn_err_set(err, CAIRN_EINVAL, "option --listen: host too long");
    memcpy(hbuf, host, hlen);
    hbuf[hlen] = '\0';
    int rc = cairn_cfg_set(c, "server.http_listen_port", colon + 1, err);
    if (rc == 0)
        rc = cairn_cfg_set(c, "server.http_listen_address", hlen ? hbuf : "0.0.0.0", err);
    if (rc != 0 && err && strncmp(err->msg, "option", 6) != 0) {
        char msg[CAIRN_ERR_MSG_MAX];
        memcpy(msg, err->msg, sizeof msg);
        cairn_err_set(err, rc, "option --listen: %s", msg);
    }
    return rc;
}

static int serve_check(struct cairn_cfg *c, void *obj, const char *path, struct cairn_err *err)
{
    (void)path;
    struct cairn_serve_config *sc = obj;
    if (sc->listen) {
        int rc = split_listen(c, sc->listen, err);
        if (rc != 0)
            return rc;
    }
    const struct cairn_store_config *st = &sc->store;
    if (st->index_period_ns % HOUR != 0)
        return cairn_err_set(err, CAIRN_EINVAL,
                             "storage.index_period: must be a whole number of hours");
    if (st->retention_ns != 0 && st->retention_ns < st->index_period_ns)
        return cairn_err_set(err, CAIRN_EINVAL,
                             "limits_config.retention_period: shorter than storage.index_period; "
                             "retention deletes whole periods");
    const struct cairn_tenant_retention *tr = sc->overrides.v;
    for (size_t i = 0; i < sc->overrides.n; i++)
        if (tr[i].retention_ns != 0 && tr[i].retention_ns < st->index_period_ns)
            return cairn_err_set(err, CAIRN_EINVAL,
                                 "overrides.%s.retention_period: shorter than "
                                 "storage.index_period; retention deletes whole periods",
                                 tr[i].tenant);
    if (sc->limits.ingestion_burst_size_mb < sc->limits.ingestion_rate_mb)
        CAIRN_WARN("config", "burst below rate",
                   "ingestion_burst_size_mb=%g ingestion_rate_mb=%g",
                   sc->limits.ingestion_burst_size_mb, sc->limits.ingestion_rate_mb);
    if (sc->auth.enabled && sc->auth.credentials.n == 0)
        return cairn_err_set(err, CAIRN_EINVAL, "auth.enabled: no auth.credentials given");
    sc->store.tenant_retention = sc->overrides.v;
    sc->store.n_tenant_retention = sc->overrides.n;
    return 0;
}

const struct cairn_cfg_table cairn_serve_config_table = {
    .name = "serve",
    .entries = serve_entries,
    .n = sizeof serve_entries / sizeof serve_entries[0],
    .size = sizeof(C),
    .check = serve_check,
    .ignored = serve_ignored,
};
#undef C

int cairn_serve_config_init(struct cairn_serve_config *sc, struct cairn_err *err)
{
    return cairn_cfg_init(&sc->cfg, &cairn_serve_config_table, sc, NULL, err);
}

int cairn_serve_config_load(struct cairn_serve_config *sc, int argc, char **argv,
                            struct cairn_buf *out, struct cairn_err *err)
{
    int rc = cairn_serve_config_init(sc, err);
    if (rc != 0)
        return rc;
    struct cairn_cfg_args a;
    rc = cairn_cfg_load_args(&sc->cfg, argc, argv, "usage: cairn serve [options]", &a, out, err);
    if (rc == 0 && a.n_pos > 0)
        rc = cairn_err_set(err, CAIRN_EINVAL, "unexpected argument '%s' (see --help)", a.pos[0]);
    cairn_cfg_args_deinit(&a);
    return rc;
}

void cairn_serve_config_deinit(struct cairn_serve_config *sc)
{
    if (sc && sc->cfg.table)
        cairn_cfg_deinit(&sc->cfg);
}

int cairn_serve_config_dump(const struct cairn_serve_config *sc, struct cairn_buf *out)
{
    return cairn_cfg_dump(&sc->cfg, out);
}
