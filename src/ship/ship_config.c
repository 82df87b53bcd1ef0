/* ship_config.c -- the tables of `cairn ship`'s configuration, in Promtail's shape
 * and with Promtail's flag names, including one table per pipeline stage. */
#include <stddef.h>
#include <stdint.h>

#include "cairn/log.h"
#include "cairn/push.h"
#include "cairn/ship_config.h"

#define SEC 1000000000LL
#define MS 1000000LL

/* pipeline_stages is recursive (match has stages): declare with its size first. */
static const struct cairn_cfg_variant stage_variants[CAIRN_STAGE_KINDS + 1];

#define E(key_, type_, S, m, ...) \
    {.key = key_, .type = type_, CAIRN_CFG_AT(S, m), __VA_ARGS__}

/* ---- stages ---- */
static const struct cairn_cfg_entry cri_e[] = {
    E("max_partial_lines", CAIRN_CFG_INT, struct cairn_ship_st_cri, max_partial_lines,
      .idef = 100, .min = 1, .max = 1000000, .help = "P lines joined at most before flushing"),
    E("max_partial_line_size", CAIRN_CFG_SIZE, struct cairn_ship_st_cri, max_partial_line_size,
      .idef = 0, .help = "largest joined line (0: no limit)"),
    E("max_partial_line_size_truncate", CAIRN_CFG_BOOL, struct cairn_ship_st_cri,
      max_partial_line_size_truncate, .help = "truncate joined lines at max_partial_line_size"),
};
static const struct cairn_cfg_entry empty_e[] = {
    E("x_unused", CAIRN_CFG_INT, struct cairn_ship_st_empty, unused, .flags = CAIRN_CFG_CLI_ONLY,
      .help = "no options"),
};
static const struct cairn_cfg_entry json_e[] = {
    E("expressions", CAIRN_CFG_MAP, struct cairn_ship_st_json, expressions,
      .flags = CAIRN_CFG_REQUIRED, .help = "extracted name -> JMESPath (empty: the name)"),
    E("source", CAIRN_CFG_STRING, struct cairn_ship_st_json, source,
      .help = "extracted value to parse instead of the line"),
    E("drop_malformed", CAIRN_CFG_BOOL, struct cairn_ship_st_json, drop_malformed,
      .help = "drop lines that are not valid JSON"),
};
static const struct cairn_cfg_entry logfmt_e[] = {
    E("mapping", CAIRN_CFG_MAP, struct cairn_ship_st_logfmt, mapping, .flags = CAIRN_CFG_REQUIRED,
      .help = "extracted name -> logfmt key (empty: the name)"),
    E("source", CAIRN_CFG_STRING, struct cairn_ship_st_logfmt, source,
      .help = "extracted value to parse instead of the line"),
};
static const struct cairn_cfg_entry regex_e[] = {
    E("expression", CAIRN_CFG_STRING, struct cairn_ship_st_regex, expression,
      .flags = CAIRN_CFG_REQUIRED, .help = "RE2 regex with named capture groups"),
    E("source", CAIRN_CFG_STRING, struct cairn_ship_st_regex, source,
      .help = "extracted value to match instead of the line"),
};
static const struct cairn_cfg_entry replace_e[] = {
    E("expression", CAIRN_CFG_STRING, struct cairn_ship_st_replace, expression,
      .flags = CAIRN_CFG_REQUIRED, .help = "regex whose capture groups are replaced"),
    E("source", CAIRN_CFG_STRING, struct cairn_ship_st_replace, source,
      .help = "extracted value to rewrite instead of the line"),
    E("replace", CAIRN_CFG_STRING, struct cairn_ship_st_replace, replace,
      .help = "template for each captured group (.Value is the capture)"),
};
static const struct cairn_cfg_entry template_e[] = {
    E("source", CAIRN_CFG_STRING, struct cairn_ship_st_template, source,
      .flags = CAIRN_CFG_REQUIRED, .help = "extracted value to set"),
    E("template", CAIRN_CFG_STRING, struct cairn_ship_st_template, template_,
      .flags = CAIRN_CFG_REQUIRED, .help = "Go template over the extracted map"),
};
static const struct cairn_cfg_entry map_e[] = {
    E("", CAIRN_CFG_MAP, struct cairn_ship_st_map, map, .help = "label name -> value or source"),
};
static const struct cairn_cfg_entry list_e[] = {
    E("", CAIRN_CFG_STRLIST, struct cairn_ship_st_list, list, .help = "label names"),
};
static const struct cairn_cfg_entry timestamp_e[] = {
    E("source", CAIRN_CFG_STRING, struct cairn_ship_st_timestamp, source,
      .flags = CAIRN_CFG_REQUIRED, .help = "extracted value holding the time"),
    E("format", CAIRN_CFG_STRING, struct cairn_ship_st_timestamp, format,
      .flags = CAIRN_CFG_REQUIRED, .help = "RFC3339, Unix, UnixMs, ..., or a Go layout"),
    E("fallback_formats", CAIRN_CFG_STRLIST, struct cairn_ship_st_timestamp, fallback_formats,
      .help = "formats tried when format fails"),
    E("location", CAIRN_CFG_STRING, struct cairn_ship_st_timestamp, location,
      .help = "IANA zone for times without one"),
    E("action_on_failure", CAIRN_CFG_STRING, struct cairn_ship_st_timestamp, action_on_failure,
      .def = "fudge", .help = "fudge or skip"),
};
static const struct cairn_cfg_entry output_e[] = {
    E("source", CAIRN_CFG_STRING, struct cairn_ship_st_output, source,
      .flags = CAIRN_CFG_REQUIRED, .help = "extracted value that becomes the line"),
};
static const struct cairn_cfg_enum match_actions[] = {{"keep", 0}, {"drop", 1}, {NULL, 0}};
static const struct cairn_cfg_entry match_e[] = {
    E("selector", CAIRN_CFG_STRING, struct cairn_ship_st_match, selector,
      .flags = CAIRN_CFG_REQUIRED, .help = "LogQL stream selector and line filters"),
    E("pipeline_name", CAIRN_CFG_STRING, struct cairn_ship_st_match, pipeline_name,
      .help = "name of the nested pipeline"),
    E("action", CAIRN_CFG_ENUM, struct cairn_ship_st_match, action, .def = "keep",
      .names = match_actions, .help = "keep: run stages on matches; drop: drop matches"),
    E("drop_counter_reason", CAIRN_CFG_STRING, struct cairn_ship_st_match, drop_counter_reason,
      .def = "match_stage", .help = "reason label of logentry_dropped_lines_total"),
    E("stages", CAIRN_CFG_VARIANTS, struct cairn_ship_st_match, stages,
      .variants = stage_variants, .help = "stages run on matching entries"),
};
static const struct cairn_cfg_entry drop_e[] = {
    E("source", CAIRN_CFG_STRLIST, struct cairn_ship_st_drop, source, .flags = CAIRN_CFG_ONE_OK,
      .help = "extracted name or names (joined by separator)"),
    E("separator", CAIRN_CFG_STRING, struct cairn_ship_st_drop, separator, .def = ";",
      .help = "joins several sources"),
    E("expression", CAIRN_CFG_STRING, struct cairn_ship_st_drop, expression,
      .help = "drop when this regex matches the source or line"),
    E("value", CAIRN_CFG_STRING, struct cairn_ship_st_drop, value,
      .help = "drop when the source equals this"),
    E("older_than", CAIRN_CFG_DURATION, struct cairn_ship_st_drop, older_than_ns,
      .help = "drop entries older than this"),
    E("longer_than", CAIRN_CFG_SIZE, struct cairn_ship_st_drop, longer_than,
      .help = "drop lines longer than this many bytes"),
    E("drop_counter_reason", CAIRN_CFG_STRING, struct cairn_ship_st_drop, drop_counter_reason,
      .def = "drop_stage", .help = "reason label of logentry_dropped_lines_total"),
};
static const struct cairn_cfg_entry limit_e[] = {
    E("rate", CAIRN_CFG_FLOAT, struct cairn_ship_st_limit, rate, .help = "lines per second"),
    E("burst", CAIRN_CFG_INT, struct cairn_ship_st_limit, burst, .min = 0, .max = INT32_MAX,
      .help = "lines allowed at once"),
    E("drop", CAIRN_CFG_BOOL, struct cairn_ship_st_limit, drop,
      .help = "drop lines over the rate instead of waiting"),
    E("by_label_name", CAIRN_CFG_STRING, struct cairn_ship_st_limit, by_label_name,
      .help = "limit each value of this label on its own"),
    E("max_distinct_labels", CAIRN_CFG_INT, struct cairn_ship_st_limit, max_distinct_labels,
      .idef = 10000, .min = 1, .max = 10000000, .help = "values tracked for by_label_name"),
};
static const struct cairn_cfg_entry sampling_e[] = {
    E("rate", CAIRN_CFG_FLOAT, struct cairn_ship_st_sampling, rate, .fdef = 1, .min = 0, .max = 1,
      .help = "share of entries kept, 0 to 1"),
    E("drop_counter_reason", CAIRN_CFG_STRING, struct cairn_ship_st_sampling,
      drop_counter_reason, .help = "reason the dropped entries are counted under"),
};
static const struct cairn_cfg_entry multiline_e[] = {
    E("firstline", CAIRN_CFG_STRING, struct cairn_ship_st_multiline, firstline,
      .flags = CAIRN_CFG_REQUIRED, .help = "regex matching the first line of a block"),
    E("max_wait_time", CAIRN_CFG_DURATION, struct cairn_ship_st_multiline, max_wait_time_ns,
      .idef = 3 * SEC, .min = MS, .max = 3600 * SEC, .help = "flush a block after this long"),
    E("max_lines", CAIRN_CFG_INT, struct cairn_ship_st_multiline, max_lines, .idef = 128,
      .min = 1, .max = 1000000, .help = "lines per block at most"),
};
static const struct cairn_cfg_entry pack_e[] = {
    E("labels", CAIRN_CFG_STRLIST, struct cairn_ship_st_pack, labels, .flags = CAIRN_CFG_REQUIRED,
      .help = "labels or extracted values packed into the line"),
    E("ingest_timestamp", CAIRN_CFG_BOOL, struct cairn_ship_st_pack, ingest_timestamp, .idef = 1,
      .help = "use the time the line was read"),
};
static const struct cairn_cfg_entry tenant_e[] = {
    E("source", CAIRN_CFG_STRING, struct cairn_ship_st_tenant, source, .help = "extracted value"),
    E("label", CAIRN_CFG_STRING, struct cairn_ship_st_tenant, label, .help = "label value"),
    E("value", CAIRN_CFG_STRING, struct cairn_ship_st_tenant, value, .help = "fixed tenant"),
};
static const struct cairn_cfg_enum metric_types[] = {
    {"counter", 0}, {"Counter", 0}, {"gauge", 1}, {"Gauge", 1}, {"histogram", 2},
    {"Histogram", 2}, {NULL, 0}};
#define M struct cairn_ship_metric_cfg
static const struct cairn_cfg_entry metric_config_e[] = {
    {.key = "value", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(M, config.value),
     .help = "count only when the source equals this"},
    {.key = "action", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(M, config.action),
     .help = "counter: inc|add; gauge: set|inc|dec|add|sub"},
    {.key = "match_all", .type = CAIRN_CFG_BOOL, CAIRN_CFG_AT(M, config.match_all),
     .help = "counter: count every line"},
    {.key = "count_entry_bytes", .type = CAIRN_CFG_BOOL, CAIRN_CFG_AT(M, config.count_entry_bytes),
     .help = "counter with match_all: add line bytes"},
    {.key = "buckets", .type = CAIRN_CFG_STRLIST, CAIRN_CFG_AT(M, config.buckets),
     .help = "histogram bucket bounds"},
};
static const struct cairn_cfg_table metric_config_table = {
    .name = "config", .entries = metric_config_e,
    .n = sizeof metric_config_e / sizeof metric_config_e[0], .size = sizeof(M)};
static const struct cairn_cfg_entry metric_e[] = {
    {.key = "type", .type = CAIRN_CFG_ENUM, CAIRN_CFG_AT(M, type), .names = metric_types,
     .def = "counter", .help = "counter, gauge or histogram"},
    {.key = "description", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(M, description),
     .help = "HELP text"},
    {.key = "source", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(M, source),
     .help = "extracted value (default: the metric name)"},
    {.key = "prefix", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(M, prefix),
     .def = "promtail_custom_", .help = "metric name prefix"},
    {.key = "max_idle_duration", .type = CAIRN_CFG_DURATION, CAIRN_CFG_AT(M, max_idle_duration_ns),
     .idef = 300 * SEC, .help = "forget series idle this long"},
    {.key = "config", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(M),
     .sub = &metric_config_table, .help = "what to count"},
};
static const struct cairn_cfg_table metric_table = CAIRN_CFG_TABLE("metric", metric_e, M);
#undef M
static const struct cairn_cfg_entry metrics_e[] = {
    E("", CAIRN_CFG_KEYED, struct cairn_ship_st_metrics, metrics, .sub = &metric_table,
      .key_offset = offsetof(struct cairn_ship_metric_cfg, name), .help = "metrics by name"),
};

#define T(name, entries, type) \
    static const struct cairn_cfg_table name##_t = CAIRN_CFG_TABLE(#name, entries, type)
T(cri, cri_e, struct cairn_ship_st_cri);
T(docker, empty_e, struct cairn_ship_st_empty);
T(decolorize, empty_e, struct cairn_ship_st_empty);
T(json, json_e, struct cairn_ship_st_json);
T(logfmt, logfmt_e, struct cairn_ship_st_logfmt);
T(regex, regex_e, struct cairn_ship_st_regex);
T(replace, replace_e, struct cairn_ship_st_replace);
T(template, template_e, struct cairn_ship_st_template);
T(labels, map_e, struct cairn_ship_st_map);
T(static_labels, map_e, struct cairn_ship_st_map);
T(structured_metadata, map_e, struct cairn_ship_st_map);
T(labelallow, list_e, struct cairn_ship_st_list);
T(labeldrop, list_e, struct cairn_ship_st_list);
T(timestamp, timestamp_e, struct cairn_ship_st_timestamp);
T(output, output_e, struct cairn_ship_st_output);
T(match, match_e, struct cairn_ship_st_match);
T(drop, drop_e, struct cairn_ship_st_drop);
T(limit, limit_e, struct cairn_ship_st_limit);
T(multiline, multiline_e, struct cairn_ship_st_multiline);
T(pack, pack_e, struct cairn_ship_st_pack);
T(tenant, tenant_e, struct cairn_ship_st_tenant);
T(metrics, metrics_e, struct cairn_ship_st_metrics);
T(sampling, sampling_e, struct cairn_ship_st_sampling);
#undef T

/* Indexed by enum cairn_ship_stage_kind. */
static const struct cairn_cfg_variant stage_variants[CAIRN_STAGE_KINDS + 1] = {
    [CAIRN_STAGE_DOCKER] = {"docker", &docker_t, "parse Docker json-file lines"},
    [CAIRN_STAGE_CRI] = {"cri", &cri_t, "parse CRI lines, joining partial ones"},
    [CAIRN_STAGE_JSON] = {"json", &json_t, "extract values from JSON"},
    [CAIRN_STAGE_LOGFMT] = {"logfmt", &logfmt_t, "extract values from logfmt"},
    [CAIRN_STAGE_REGEX] = {"regex", &regex_t, "extract named groups of a regex"},
    [CAIRN_STAGE_REPLACE] = {"replace", &replace_t, "rewrite captured groups"},
    [CAIRN_STAGE_TEMPLATE] = {"template", &template_t, "set an extracted value by template"},
    [CAIRN_STAGE_LABELS] = {"labels", &labels_t, "set labels from extracted values"},
    [CAIRN_STAGE_LABELALLOW] = {"labelallow", &labelallow_t, "keep only these labels"},
    [CAIRN_STAGE_LABELDROP] = {"labeldrop", &labeldrop_t, "remove these labels"},
    [CAIRN_STAGE_STATIC_LABELS] = {"static_labels", &static_labels_t, "set fixed labels"},
    [CAIRN_STAGE_TIMESTAMP] = {"timestamp", &timestamp_t, "set the entry's time"},
    [CAIRN_STAGE_OUTPUT] = {"output", &output_t, "set the line from an extracted value"},
    [CAIRN_STAGE_MATCH] = {"match", &match_t, "run stages on, or drop, matching entries"},
    [CAIRN_STAGE_DROP] = {"drop", &drop_t, "drop entries by value, regex, age or length"},
    [CAIRN_STAGE_LIMIT] = {"limit", &limit_t, "rate-limit entries"},
    [CAIRN_STAGE_MULTILINE] = {"multiline", &multiline_t, "join lines into blocks"},
    [CAIRN_STAGE_PACK] = {"pack", &pack_t, "pack labels into the line as JSON"},
    [CAIRN_STAGE_DECOLORIZE] = {"decolorize", &decolorize_t, "strip ANSI color codes"},
    [CAIRN_STAGE_TENANT] = {"tenant", &tenant_t, "set the tenant"},
    [CAIRN_STAGE_METRICS] = {"metrics", &metrics_t, "count into Prometheus metrics"},
    [CAIRN_STAGE_SAMPLING] = {"sampling", &sampling_t, "keep a random share of entries"},
    [CAIRN_STAGE_STRUCTURED_METADATA] = {"structured_metadata", &structured_metadata_t,
                                         "set structured metadata from extracted values"},
    [CAIRN_STAGE_KINDS] = {NULL, NULL, NULL},
};

/* ---- scrape configs ---- */
static const struct cairn_cfg_enum relabel_actions[] = {
    {"replace", CAIRN_RELABEL_REPLACE}, {"keep", CAIRN_RELABEL_KEEP},
    {"drop", CAIRN_RELABEL_DROP}, {"labelmap", CAIRN_RELABEL_LABELMAP},
    {"labeldrop", CAIRN_RELABEL_LABELDROP}, {"labelkeep", CAIRN_RELABEL_LABELKEEP},
    {"hashmod", CAIRN_RELABEL_HASHMOD}, {"keepequal", CAIRN_RELABEL_KEEPEQUAL},
    {"dropequal", CAIRN_RELABEL_DROPEQUAL}, {"lowercase", CAIRN_RELABEL_LOWERCASE},
    {"uppercase", CAIRN_RELABEL_UPPERCASE},
    {NULL, 0}};
#define R struct cairn_ship_relabel
static const struct cairn_cfg_entry relabel_e[] = {
    E("source_labels", CAIRN_CFG_STRLIST, R, source_labels, .help = "labels joined by separator"),
    E("separator", CAIRN_CFG_STRING, R, separator, .def = ";", .help = "joins source_labels"),
    E("target_label", CAIRN_CFG_STRING, R, target_label, .help = "label written by replace"),
    E("regex", CAIRN_CFG_STRING, R, regex, .def = "(.*)", .help = "anchored regex"),
    E("modulus", CAIRN_CFG_INT, R, modulus, .min = 0, .max = INT64_MAX, .help = "for hashmod"),
    E("replacement", CAIRN_CFG_STRING, R, replacement, .def = "$1",
      .help = "value written, with $1 / ${name} references"),
    E("action", CAIRN_CFG_ENUM, R, action, .def = "replace", .names = relabel_actions,
      .help = "replace, keep, drop, keepequal, dropequal, hashmod, labelmap, labeldrop, "
            "labelkeep, lowercase, uppercase"),
};
#undef R
static const struct cairn_cfg_table relabel_t =
    CAIRN_CFG_TABLE("relabel_configs", relabel_e, struct cairn_ship_relabel);

static const struct cairn_cfg_entry static_e[] = {
    E("targets", CAIRN_CFG_STRLIST, struct cairn_ship_static, targets,
      .help = "ignored for files (Promtail: localhost)"),
    E("labels", CAIRN_CFG_MAP, struct cairn_ship_static, labels,
      .help = "target labels; __path__ is the glob to tail, __path_exclude__ excludes"),
};
static const struct cairn_cfg_table static_t =
    CAIRN_CFG_TABLE("static_configs", static_e, struct cairn_ship_static);

/* kubernetes_sd_configs (sd_config.c) */
extern const struct cairn_cfg_table cairn__ship_k8s_sd_table;
/* loki_push_api (src_relay_config.c) */
extern const struct cairn_cfg_table cairn__ship_relay_table;
/* journal (src_journal_config.c) */
extern const struct cairn_cfg_table cairn__ship_journal_table;

#define SC struct cairn_ship_scrape
static const struct cairn_cfg_entry pods_e[] = {
    {.key = "enabled", .type = CAIRN_CFG_BOOL, CAIRN_CFG_AT(SC, pod_logs.enabled), .idef = 0,
     .help = "tail pod logs (set true to enable)"},
    {.key = "path", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(SC, pod_logs.path),
     .def = "/var/log/pods/*/*/*.log", .help = "glob over the kubelet's pod log files"},
    {.key = "labels", .type = CAIRN_CFG_MAP, CAIRN_CFG_AT(SC, pod_logs.labels),
     .help = "labels added to every pod log stream"},
};
static const struct cairn_cfg_table pods_t = {
    .name = "pod_logs", .entries = pods_e, .n = sizeof pods_e / sizeof pods_e[0], .size = sizeof(SC)};
static const struct cairn_cfg_entry scrape_e[] = {
    E("job_name", CAIRN_CFG_STRING, SC, job_name, .flags = CAIRN_CFG_REQUIRED,
      .help = "name of this scrape config"),
    E("static_configs", CAIRN_CFG_LIST, SC, static_configs, .sub = &static_t,
      .help = "file targets"),
    E("kubernetes_sd_configs", CAIRN_CFG_LIST, SC, kubernetes_sd_configs,
      .sub = &cairn__ship_k8s_sd_table, .help = "discover targets from the Kubernetes API"),
    E("pipeline_stages", CAIRN_CFG_VARIANTS, SC, pipeline_stages, .variants = stage_variants,
      .help = "stages every entry goes through"),
    E("relabel_configs", CAIRN_CFG_LIST, SC, relabel_configs, .sub = &relabel_t,
      .help = "rewrite target labels before tailing"),
    {.key = "pod_logs", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(SC), .sub = &pods_t,
     .help = "cairn: tail /var/log/pods with namespace, pod, container labels"},
    E("loki_push_api", CAIRN_CFG_SECTION, SC, loki_push_api, .sub = &cairn__ship_relay_table,
      .help = "receive Loki pushes and relay them through this job's stages"),
    E("journal", CAIRN_CFG_SECTION, SC, journal, .sub = &cairn__ship_journal_table,
      .flags = CAIRN_CFG_OPTIONAL, .key_offset = offsetof(struct cairn_ship_journal, present),
      .help = "read the systemd journal"),
    E("syslog", CAIRN_CFG_SECTION, SC, syslog, .sub = &cairn_ship_syslog_table,
      .help = "receive syslog (RFC 5424 / 3164) over TCP or UDP"),
};
#undef SC
static const struct cairn_cfg_table scrape_t =
    CAIRN_CFG_TABLE("scrape_configs", scrape_e, struct cairn_ship_scrape);

/* ---- clients ---- */
#define CL struct cairn_ship_client
static const struct cairn_cfg_entry backoff_e[] = {
    {.key = "min_period", .type = CAIRN_CFG_DURATION, CAIRN_CFG_AT(CL, backoff_config.min_period_ns),
     .idef = 500 * MS, .min = MS, .max = 3600 * SEC, .help = "first retry delay"},
    {.key = "max_period", .type = CAIRN_CFG_DURATION, CAIRN_CFG_AT(CL, backoff_config.max_period_ns),
     .idef = 300 * SEC, .min = MS, .max = 24 * 3600 * SEC, .help = "longest retry delay"},
    {.key = "max_retries", .type = CAIRN_CFG_INT, CAIRN_CFG_AT(CL, backoff_config.max_retries),
     .idef = 10, .min = 0, .max = 1000000, .help = "retries before a batch is dropped"},
};
static const struct cairn_cfg_table backoff_t = {
    .name = "backoff_config", .entries = backoff_e, .n = 3, .size = sizeof(CL)};
static const struct cairn_cfg_entry basic_auth_e[] = {
    {.key = "username", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(CL, basic_auth.username),
     .help = "user"},
    {.key = "password", .type = CAIRN_CFG_STRING, .flags = CAIRN_CFG_SECRET,
     CAIRN_CFG_AT(CL, basic_auth.password), .help = "password"},
    {.key = "password_file", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(CL, basic_auth.password_file),
     .help = "file holding the password"},
};
static const struct cairn_cfg_table basic_auth_t = {
    .name = "basic_auth", .entries = basic_auth_e, .n = 3, .size = sizeof(CL)};
static const struct cairn_cfg_entry tls_e[] = {
    {.key = "ca_file", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(CL, tls_config.ca_file),
     .help = "CA bundle"},
    {.key = "cert_file", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(CL, tls_config.cert_file),
     .help = "client certificate"},
    {.key = "key_file", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(CL, tls_config.key_file),
     .help = "client key"},
    {.key = "server_name", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(CL, tls_config.server_name),
     .help = "accepted for compatibility; the URL's host is verified"},
    {.key = "insecure_skip_verify", .type = CAIRN_CFG_BOOL,
     CAIRN_CFG_AT(CL, tls_config.insecure_skip_verify), .help = "do not verify the server"},
};
static const struct cairn_cfg_table tls_t = {
    .name = "tls_config", .entries = tls_e, .n = 5, .size = sizeof(CL)};
static const struct cairn_cfg_enum push_protocols[] = {
    {"loki", CAIRN_PUSH_LOKI}, {"otlp", CAIRN_PUSH_OTLP}, {NULL, 0},
};
static const struct cairn_cfg_entry client_e[] = {
    E("url", CAIRN_CFG_STRING, CL, url, .flags = CAIRN_CFG_REQUIRED, .help = "push endpoint"),
    E("tenant_id", CAIRN_CFG_STRING, CL, tenant_id, .help = "X-Scope-OrgID"),
    E("protocol", CAIRN_CFG_ENUM, CL, protocol, .def = "loki", .names = push_protocols,
      .help = "loki: Loki's push API (url .../loki/api/v1/push); otlp: OTLP/HTTP protobuf "
              "logs (url .../v1/logs)"),
    E("batchwait", CAIRN_CFG_DURATION, CL, batchwait_ns, .idef = SEC, .min = MS,
      .max = 3600 * SEC, .help = "send a batch at most this long after its first line"),
    E("batchsize", CAIRN_CFG_SIZE, CL, batchsize, .idef = 1048576, .min = 1, .max = 1LL << 30,
      .help = "send a batch at this many bytes of lines"),
    E("timeout", CAIRN_CFG_DURATION, CL, timeout_ns, .idef = 10 * SEC, .min = MS,
      .max = 3600 * SEC, .help = "per request"),
    {.key = "backoff_config", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(CL),
     .sub = &backoff_t, .help = "retries"},
    {.key = "basic_auth", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(CL),
     .sub = &basic_auth_t, .help = "HTTP basic auth"},
    E("bearer_token", CAIRN_CFG_STRING, CL, bearer_token, .flags = CAIRN_CFG_SECRET,
      .help = "Authorization: Bearer"),
    E("bearer_token_file", CAIRN_CFG_STRING, CL, bearer_token_file,
      .help = "file holding the bearer token"),
    E("external_labels", CAIRN_CFG_MAP, CL, external_labels, .help = "labels added to every stream"),
    {.key = "tls_config", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(CL),
     .sub = &tls_t, .help = "TLS"},
    E("drop_rate_limited_batches", CAIRN_CFG_BOOL, CL, drop_rate_limited_batches,
      .help = "accepted for compatibility; 429 is always retried"),
    E("queue_limit", CAIRN_CFG_SIZE, CL, queue_limit, .idef = 4 << 20, .min = 4096,
      .max = 1LL << 34, .help = "bytes held before the readers wait (back-pressure)"),
    E("drain_timeout", CAIRN_CFG_DURATION, CL, drain_timeout_ns, .idef = 10 * SEC, .min = 0,
      .max = 3600 * SEC, .help = "at shutdown, how long undelivered batches are still retried"),
};
#undef CL
static const struct cairn_cfg_table client_t =
    CAIRN_CFG_TABLE("clients", client_e, struct cairn_ship_client);

/* ---- root ---- */
static const struct cairn_cfg_enum log_levels[] = {
    {"debug", CAIRN_LOG_DEBUG}, {"info", CAIRN_LOG_INFO}, {"warn", CAIRN_LOG_WARN},
    {"error", CAIRN_LOG_ERROR}, {NULL, 0}};
#define C struct cairn_ship_config
static const struct cairn_cfg_entry server_e[] = {
    {.key = "http_listen_address", .type = CAIRN_CFG_STRING,
     CAIRN_CFG_AT(C, server.http_listen_address), .def = "127.0.0.1",
     .lflag = "server.http-listen-address", .help = "address of /ready and /metrics"},
    {.key = "http_listen_port", .type = CAIRN_CFG_INT, CAIRN_CFG_AT(C, server.http_listen_port),
     .idef = 9080, .min = 0, .max = 65535, .lflag = "server.http-listen-port",
     .help = "port of /ready and /metrics (0: any free port)"},
    {.key = "grpc_listen_port", .type = CAIRN_CFG_INT, CAIRN_CFG_AT(C, server.grpc_listen_port),
     .min = 0, .max = 65535, .help = "accepted for compatibility; no gRPC server"},
    {.key = "log_level", .type = CAIRN_CFG_ENUM, CAIRN_CFG_AT(C, server.log_level), .def = "info",
     .names = log_levels, .lflag = "log.level", .flag = "log-level", .help = "log level"},
    {.key = "disable", .type = CAIRN_CFG_BOOL, CAIRN_CFG_AT(C, server.disable),
     .lflag = "server.disable", .help = "no HTTP server"},
    {.key = "log_format", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(C, server.log_format),
     .def = "logfmt", .lflag = "log.format", .help = "accepted for compatibility (logfmt)"},
    {.key = "http_path_prefix", .type = CAIRN_CFG_STRING,
     CAIRN_CFG_AT(C, server.http_path_prefix), .help = "accepted for compatibility; not used"},
};
static const struct cairn_cfg_table server_t = {
    .name = "server", .entries = server_e, .n = sizeof server_e / sizeof server_e[0], .size = sizeof(C)};
static const struct cairn_cfg_entry positions_e[] = {
    {.key = "filename", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(C, positions.filename),
     .def = "/var/log/positions.yaml", .lflag = "positions.file", .help = "positions file"},
    {.key = "sync_period", .type = CAIRN_CFG_DURATION, CAIRN_CFG_AT(C, positions.sync_period_ns),
     .idef = 10 * SEC, .min = MS, .max = 3600 * SEC, .lflag = "positions.sync-period",
     .help = "how often positions are saved (after the client acknowledged)"},
    {.key = "ignore_invalid_yaml", .type = CAIRN_CFG_BOOL,
     CAIRN_CFG_AT(C, positions.ignore_invalid_yaml), .lflag = "positions.ignore-invalid-yaml",
     .help = "start empty instead of failing on a corrupt positions file"},
};
static const struct cairn_cfg_table positions_t = {
    .name = "positions", .entries = positions_e, .n = 3, .size = sizeof(C)};
static const struct cairn_cfg_entry limits_e[] = {
    {.key = "readline_rate", .type = CAIRN_CFG_FLOAT, CAIRN_CFG_AT(C, limits_config.readline_rate),
     .fdef = 10000, .help = "lines per second read, over all files"},
    {.key = "readline_burst", .type = CAIRN_CFG_INT, CAIRN_CFG_AT(C, limits_config.readline_burst),
     .idef = 10000, .min = 0, .max = INT32_MAX, .help = "lines read at once"},
    {.key = "readline_rate_enabled", .type = CAIRN_CFG_BOOL,
     CAIRN_CFG_AT(C, limits_config.readline_rate_enabled), .help = "apply readline_rate"},
    {.key = "readline_rate_drop", .type = CAIRN_CFG_BOOL,
     CAIRN_CFG_AT(C, limits_config.readline_rate_drop), .idef = 1,
     .help = "drop lines over the rate (else wait)"},
    {.key = "max_streams", .type = CAIRN_CFG_INT, CAIRN_CFG_AT(C, limits_config.max_streams),
     .min = 0, .max = INT32_MAX, .help = "accepted for compatibility"},
};
static const struct cairn_cfg_table limits_t = {
    .name = "limits_config", .entries = limits_e, .n = 5, .size = sizeof(C)};
static const struct cairn_cfg_entry target_e[] = {
    {.key = "sync_period", .type = CAIRN_CFG_DURATION, CAIRN_CFG_AT(C, target_config.sync_period_ns),
     .idef = 10 * SEC, .min = MS, .max = 3600 * SEC, .lflag = "target.sync-period",
     .help = "how often globs are rescanned"},
};
static const struct cairn_cfg_table target_t = {
    .name = "target_config", .entries = target_e, .n = 1, .size = sizeof(C)};

static const struct cairn_cfg_entry tracing_e[] = {
    {.key = "enabled", .type = CAIRN_CFG_BOOL, CAIRN_CFG_AT(C, tracing.enabled),
     .help = "accepted for compatibility; no tracing"},
};
static const struct cairn_cfg_table tracing_t = {
    .name = "tracing", .entries = tracing_e, .n = 1, .size = sizeof(C)};

static const struct cairn_cfg_entry root_e[] = {
    {.key = "server", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(C), .sub = &server_t,
     .help = "HTTP server for /ready and /metrics"},
    {.key = "positions", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(C),
     .sub = &positions_t, .help = "where read offsets are kept"},
    E("clients", CAIRN_CFG_LIST, C, clients, .sub = &client_t, .help = "push endpoints"),
    E("scrape_configs", CAIRN_CFG_LIST, C, scrape_configs, .sub = &scrape_t,
      .help = "what to read and how to label it"),
    {.key = "limits_config", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(C),
     .sub = &limits_t, .help = "read limits"},
    {.key = "target_config", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(C),
     .sub = &target_t, .help = "target discovery"},
    {.key = "tracing", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(C),
     .sub = &tracing_t, .help = "accepted for compatibility"},
    E("stdin", CAIRN_CFG_BOOL, C, stdin_mode, .flags = CAIRN_CFG_CLI_ONLY, .flag = "stdin",
      .lflag = "stdin", .help = "read lines from stdin instead of the scrape configs"),
    E("label", CAIRN_CFG_MAP, C, stdin_labels, .flags = CAIRN_CFG_CLI_ONLY, .flag = "label",
      .metavar = "NAME=VALUE", .help = "label of stdin lines (repeatable)"),
    E("dry_run", CAIRN_CFG_BOOL, C, dry_run, .flags = CAIRN_CFG_CLI_ONLY, .flag = "dry-run",
      .lflag = "dry-run", .help = "print labels and lines instead of pushing"),
    E("check_syntax", CAIRN_CFG_BOOL, C, check_syntax, .flags = CAIRN_CFG_CLI_ONLY,
      .flag = "check-syntax", .lflag = "check-syntax", .help = "validate the config and exit"),
    E("inspect", CAIRN_CFG_BOOL, C, inspect, .flags = CAIRN_CFG_CLI_ONLY, .flag = "inspect",
      .lflag = "inspect", .help = "with --dry-run: show the extracted values too"),
    E("client_url", CAIRN_CFG_STRING, C, client_url, .flags = CAIRN_CFG_CLI_ONLY,
      .flag = "client.url", .lflag = "client.url", .metavar = "URL",
      .help = "push endpoint (adds a client)"),
    E("client_tenant", CAIRN_CFG_STRING, C, client_tenant, .flags = CAIRN_CFG_CLI_ONLY,
      .flag = "client.tenant-id", .lflag = "client.tenant-id", .help = "tenant of --client.url"),
    E("k8s_sa_dir", CAIRN_CFG_STRING, C, k8s_sa_dir, .flags = CAIRN_CFG_CLI_ONLY,
      .flag = "kubernetes.serviceaccount-dir", .lflag = "kubernetes.serviceaccount-dir",
      .metavar = "DIR", .help = "in-cluster token, ca.crt and namespace (default "
      "/var/run/secrets/kubernetes.io/serviceaccount)"),
};
#undef C

const struct cairn_cfg_table cairn_ship_config_table =
    CAIRN_CFG_TABLE("ship", root_e, struct cairn_ship_config);

/* For components that load stages or relabel rules outside a ship config (the Docker
 * driver's loki-pipeline-stages and loki-relabel-config). */
const struct cairn_cfg_variant *cairn_ship_stage_variants(void)
{
    return stage_variants;
}

const struct cairn_cfg_table *cairn_ship_relabel_table(void)
{
    return &relabel_t;
}
