/* config_fixture.h -- a test configuration that uses every entry type, shaped like a
 * small Promtail config (clients, scrape_configs with pipeline_stages, a recursive
 * match stage), to show such a loader is tables, not strcmp chains. */
#ifndef CAIRN_CONFIG_FIXTURE_H
#define CAIRN_CONFIG_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/config.h"

struct fx_tls {
    char *ca_file;
    bool insecure_skip_verify;
};
struct fx_client {
    char *url;
    char *tenant_id;
    int64_t batchwait;
    uint64_t batchsize;
    char *password;
    struct cairn_cfg_map external_labels;
    struct cairn_cfg_map headers;
    struct fx_tls tls;
};
struct fx_static {
    struct cairn_cfg_strlist targets;
    struct cairn_cfg_map labels;
};
struct fx_relabel {
    struct cairn_cfg_strlist source_labels;
    char *regex;
    int action;
};
struct fx_json {
    struct cairn_cfg_map expressions;
    char *source;
};
struct fx_labels {
    struct cairn_cfg_map labels;
};
struct fx_labeldrop {
    struct cairn_cfg_strlist names;
};
struct fx_match {
    char *selector;
    struct cairn_cfg_list stages;
    int action;
};
struct fx_scrape {
    char *job_name;
    struct cairn_cfg_list static_configs;
    struct cairn_cfg_list relabel_configs;
    struct cairn_cfg_list pipeline_stages;
};
struct fx_metric {
    char *name;
    char *type;
    char *description;
};
struct fx_server {
    char *addr;
    int port;
    bool flag;
};
struct fx {
    struct fx_server server;
    int count;
    int8_t small;
    double ratio;
    int64_t timeout;
    uint64_t limit;
    uint32_t limit32;
    int level;
    char *name;
    char *token;
    int verbose;
    struct cairn_cfg_strlist tags;
    struct cairn_cfg_strlist sources;
    struct cairn_cfg_map labels;
    struct cairn_cfg_list clients;
    struct cairn_cfg_list scrape_configs;
    struct cairn_cfg_list metrics;
    int dry_run;
};

enum { FX_STAGE_DOCKER, FX_STAGE_JSON, FX_STAGE_LABELS, FX_STAGE_LABELDROP, FX_STAGE_MATCH };
enum { FX_KEEP, FX_DROP };
enum { FX_REPLACE, FX_KEEP_RL, FX_DROP_RL };

static const struct cairn_cfg_enum fx_levels[] = {
    {"low", 1}, {"mid", 2}, {"high", 3}, {NULL, 0},
};
static const struct cairn_cfg_enum fx_actions[] = {
    {"keep", FX_KEEP}, {"drop", FX_DROP}, {NULL, 0},
};
static const struct cairn_cfg_enum fx_relabel_actions[] = {
    {"replace", FX_REPLACE}, {"keep", FX_KEEP_RL}, {"drop", FX_DROP_RL}, {NULL, 0},
};

static const struct cairn_cfg_entry fx_server_entries[] = {
    {.key = "addr", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(struct fx_server, addr),
     .def = "127.0.0.1", .flag = "addr", .help = "address"},
    {.key = "port", .type = CAIRN_CFG_INT, CAIRN_CFG_AT(struct fx_server, port), .idef = 80,
     .min = 0, .max = 65535, .lflag = "server.http-listen-port", .help = "port"},
    {.key = "flag", .type = CAIRN_CFG_BOOL, CAIRN_CFG_AT(struct fx_server, flag), .idef = 1,
     .flag = "server-flag", .help = "a bool in a section"},
};
static const struct cairn_cfg_table fx_server_table =
    CAIRN_CFG_TABLE("server", fx_server_entries, struct fx_server);

static const struct cairn_cfg_entry fx_tls_entries[] = {
    {.key = "ca_file", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(struct fx_tls, ca_file)},
    {.key = "insecure_skip_verify", .type = CAIRN_CFG_BOOL,
     CAIRN_CFG_AT(struct fx_tls, insecure_skip_verify)},
};
static const struct cairn_cfg_table fx_tls_table =
    CAIRN_CFG_TABLE("tls_config", fx_tls_entries, struct fx_tls);

static const struct cairn_cfg_entry fx_client_entries[] = {
    {.key = "url", .type = CAIRN_CFG_STRING, .flags = CAIRN_CFG_REQUIRED,
     CAIRN_CFG_AT(struct fx_client, url), .help = "push URL"},
    {.key = "tenant_id", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(struct fx_client, tenant_id)},
    {.key = "batchwait", .type = CAIRN_CFG_DURATION, CAIRN_CFG_AT(struct fx_client, batchwait),
     .def = "1s"},
    {.key = "batchsize", .type = CAIRN_CFG_SIZE, CAIRN_CFG_AT(struct fx_client, batchsize),
     .idef = 1048576},
    {.key = "password", .type = CAIRN_CFG_STRING, .flags = CAIRN_CFG_SECRET,
     CAIRN_CFG_AT(struct fx_client, password)},
    {.key = "external_labels", .type = CAIRN_CFG_MAP,
     CAIRN_CFG_AT(struct fx_client, external_labels)},
    {.key = "headers", .type = CAIRN_CFG_MAP, .flags = CAIRN_CFG_SECRET,
     CAIRN_CFG_AT(struct fx_client, headers)},
    {.key = "tls_config", .type = CAIRN_CFG_SECTION, CAIRN_CFG_AT(struct fx_client, tls),
     .sub = &fx_tls_table},
};
static const struct cairn_cfg_table fx_client_table =
    CAIRN_CFG_TABLE("client", fx_client_entries, struct fx_client);

static const struct cairn_cfg_entry fx_static_entries[] = {
    {.key = "targets", .type = CAIRN_CFG_STRLIST, CAIRN_CFG_AT(struct fx_static, targets)},
    {.key = "labels", .type = CAIRN_CFG_MAP, CAIRN_CFG_AT(struct fx_static, labels)},
};
static const struct cairn_cfg_table fx_static_table =
    CAIRN_CFG_TABLE("static_config", fx_static_entries, struct fx_static);

static const struct cairn_cfg_entry fx_relabel_entries[] = {
    {.key = "source_labels", .type = CAIRN_CFG_STRLIST,
     CAIRN_CFG_AT(struct fx_relabel, source_labels)},
    {.key = "regex", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(struct fx_relabel, regex),
     .def = "(.*)"},
    {.key = "action", .type = CAIRN_CFG_ENUM, CAIRN_CFG_AT(struct fx_relabel, action),
     .names = fx_relabel_actions, .def = "replace"},
};
static const struct cairn_cfg_table fx_relabel_table =
    CAIRN_CFG_TABLE("relabel_config", fx_relabel_entries, struct fx_relabel);

/* stages */
static const struct cairn_cfg_table fx_docker_table = {.name = "docker", .size = 1};
static const struct cairn_cfg_entry fx_json_entries[] = {
    {.key = "expressions", .type = CAIRN_CFG_MAP, CAIRN_CFG_AT(struct fx_json, expressions)},
    {.key = "source", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(struct fx_json, source)},
};
static const struct cairn_cfg_table fx_json_table =
    CAIRN_CFG_TABLE("json", fx_json_entries, struct fx_json);
static const struct cairn_cfg_entry fx_labels_entries[] = {
    {.key = "", .type = CAIRN_CFG_MAP, CAIRN_CFG_AT(struct fx_labels, labels)},
};
static const struct cairn_cfg_table fx_labels_table =
    CAIRN_CFG_TABLE("labels", fx_labels_entries, struct fx_labels);
static const struct cairn_cfg_entry fx_labeldrop_entries[] = {
    {.key = "", .type = CAIRN_CFG_STRLIST, CAIRN_CFG_AT(struct fx_labeldrop, names)},
};
static const struct cairn_cfg_table fx_labeldrop_table =
    CAIRN_CFG_TABLE("labeldrop", fx_labeldrop_entries, struct fx_labeldrop);

static const struct cairn_cfg_table fx_match_table;
static const struct cairn_cfg_variant fx_stages[] = {
    {"docker", &fx_docker_table, "docker json-file lines"},
    {"json", &fx_json_table, "extract from JSON"},
    {"labels", &fx_labels_table, "extracted values to labels"},
    {"labeldrop", &fx_labeldrop_table, "drop labels"},
    {"match", &fx_match_table, "stages for matching streams"},
    {NULL, NULL, NULL},
};
static const struct cairn_cfg_entry fx_match_entries[] = {
    {.key = "selector", .type = CAIRN_CFG_STRING, .flags = CAIRN_CFG_REQUIRED,
     CAIRN_CFG_AT(struct fx_match, selector)},
    {.key = "stages", .type = CAIRN_CFG_VARIANTS, CAIRN_CFG_AT(struct fx_match, stages),
     .variants = fx_stages},
    {.key = "action", .type = CAIRN_CFG_ENUM, CAIRN_CFG_AT(struct fx_match, action),
     .names = fx_actions, .def = "keep"},
};
static const struct cairn_cfg_table fx_match_table =
    CAIRN_CFG_TABLE("match", fx_match_entries, struct fx_match);

static const struct cairn_cfg_entry fx_scrape_entries[] = {
    {.key = "job_name", .type = CAIRN_CFG_STRING, .flags = CAIRN_CFG_REQUIRED,
     CAIRN_CFG_AT(struct fx_scrape, job_name)},
    {.key = "static_configs", .type = CAIRN_CFG_LIST,
     CAIRN_CFG_AT(struct fx_scrape, static_configs), .sub = &fx_static_table},
    {.key = "relabel_configs", .type = CAIRN_CFG_LIST,
     CAIRN_CFG_AT(struct fx_scrape, relabel_configs), .sub = &fx_relabel_table},
    {.key = "pipeline_stages", .type = CAIRN_CFG_VARIANTS,
     CAIRN_CFG_AT(struct fx_scrape, pipeline_stages), .variants = fx_stages},
};
static const struct cairn_cfg_table fx_scrape_table =
    CAIRN_CFG_TABLE("scrape_config", fx_scrape_entries, struct fx_scrape);

static const struct cairn_cfg_entry fx_metric_entries[] = {
    {.key = "type", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(struct fx_metric, type),
     .def = "Counter"},
    {.key = "description", .type = CAIRN_CFG_STRING,
     CAIRN_CFG_AT(struct fx_metric, description)},
};
static const struct cairn_cfg_table fx_metric_table =
    CAIRN_CFG_TABLE("metric", fx_metric_entries, struct fx_metric);

static const struct cairn_cfg_entry fx_entries[] = {
    {.key = "server", .type = CAIRN_CFG_SECTION, CAIRN_CFG_AT(struct fx, server),
     .sub = &fx_server_table},
    {.key = "count", .type = CAIRN_CFG_INT, CAIRN_CFG_AT(struct fx, count), .idef = 5, .min = 1,
     .max = 10, .flag = "count", .help = "how many"},
    {.key = "small", .type = CAIRN_CFG_INT, CAIRN_CFG_AT(struct fx, small), .idef = -3},
    {.key = "ratio", .type = CAIRN_CFG_FLOAT, CAIRN_CFG_AT(struct fx, ratio), .fdef = 0.5,
     .min = 0, .max = 1, .flag = "ratio", .help = "a fraction"},
    {.key = "timeout", .type = CAIRN_CFG_DURATION, CAIRN_CFG_AT(struct fx, timeout),
     .def = "1h30m", .flag = "timeout", .lflag = "client.timeout", .help = "how long"},
    {.key = "limit", .type = CAIRN_CFG_SIZE, CAIRN_CFG_AT(struct fx, limit), .def = "64MiB",
     .flag = "limit", .help = "how big"},
    {.key = "limit32", .type = CAIRN_CFG_SIZE, CAIRN_CFG_AT(struct fx, limit32), .idef = 4096},
    {.key = "level", .type = CAIRN_CFG_ENUM, CAIRN_CFG_AT(struct fx, level), .def = "mid",
     .names = fx_levels, .flag = "level", .lflag = "log.level", .help = "a level"},
    {.key = "name", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(struct fx, name), .def = "cairn",
     .flag = "name", .help = "a name"},
    {.key = "token", .type = CAIRN_CFG_STRING, .flags = CAIRN_CFG_SECRET,
     CAIRN_CFG_AT(struct fx, token), .def = "s3cr3t-default", .flag = "token",
     .help = "a secret"},
    {.key = "verbose", .type = CAIRN_CFG_BOOL, CAIRN_CFG_AT(struct fx, verbose),
     .flag = "verbose", .help = "talk more"},
    {.key = "tags", .type = CAIRN_CFG_STRLIST, CAIRN_CFG_AT(struct fx, tags), .flag = "tag",
     .help = "tags (repeatable)"},
    {.key = "sources", .type = CAIRN_CFG_STRLIST, .flags = CAIRN_CFG_ONE_OK,
     CAIRN_CFG_AT(struct fx, sources), .help = "one name or a list"},
    {.key = "labels", .type = CAIRN_CFG_MAP, CAIRN_CFG_AT(struct fx, labels), .flag = "label",
     .help = "labels (repeatable)"},
    {.key = "clients", .type = CAIRN_CFG_LIST, CAIRN_CFG_AT(struct fx, clients),
     .sub = &fx_client_table, .help = "where to push"},
    {.key = "scrape_configs", .type = CAIRN_CFG_LIST, CAIRN_CFG_AT(struct fx, scrape_configs),
     .sub = &fx_scrape_table, .help = "what to read"},
    {.key = "metrics", .type = CAIRN_CFG_KEYED, CAIRN_CFG_AT(struct fx, metrics),
     .sub = &fx_metric_table, .key_offset = offsetof(struct fx_metric, name)},
    {.key = "dry_run", .type = CAIRN_CFG_BOOL, .flags = CAIRN_CFG_CLI_ONLY,
     CAIRN_CFG_AT(struct fx, dry_run), .flag = "dry-run", .lflag = "dry-run-loki",
     .help = "print instead of pushing"},
};
static const struct cairn_cfg_table fx_table __attribute__((unused)) =
    CAIRN_CFG_TABLE("fx", fx_entries, struct fx);

/* The blog case and a bit of everything. */
static const char fx_yaml[] __attribute__((unused)) =
    "server:\n"
    "  addr: 0.0.0.0\n"
    "  port: 9080\n"
    "  flag: no\n"
    "count: 7\n"
    "small: -100\n"
    "ratio: 0.25\n"
    "timeout: 250ms\n"
    "limit: 1GB\n"
    "limit32: 512KB\n"
    "level: HIGH\n"
    "name: \"hello world\"\n"
    "verbose: true\n"
    "tags: [a, 'b c', \"3\"]\n"
    "labels:\n"
    "  env: prod\n"
    "  empty: \"\"\n"
    "  nothing:\n"
    "clients:\n"
    "  - url: http://127.0.0.1:3100/loki/api/v1/push\n"
    "    password: hunter2\n"
    "    batchwait: 2s\n"
    "    external_labels: {cluster: c1}\n"
    "    headers: {Authorization: Bearer xyzzy}\n"
    "    tls_config:\n"
    "      insecure_skip_verify: true\n"
    "  - url: http://other/push\n"
    "    tenant_id: t2\n"
    "scrape_configs:\n"
    "- job_name: eventrouter\n"
    "  static_configs:\n"
    "  - targets: [localhost]\n"
    "    labels:\n"
    "      job: eventrouter\n"
    "      __path__: /var/log/pods/**/*.log\n"
    "  relabel_configs:\n"
    "  - source_labels: [__a, __b]\n"
    "    action: keep\n"
    "  pipeline_stages:\n"
    "  - docker: {}\n"
    "  - match:\n"
    "      selector: '{name=\"eventrouter\"}'\n"
    "      stages:\n"
    "      - json:\n"
    "          expressions:\n"
    "            namespace: event.metadata.namespace\n"
    "      - labels:\n"
    "          namespace: \"\"\n"
    "  - labeldrop: [filename, stream]\n"
    "  - docker:\n"
    "metrics:\n"
    "  lines_total:\n"
    "    description: all lines\n"
    "  bytes_total: {type: Gauge}\n";

#endif
