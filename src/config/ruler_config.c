/* ruler_config.c -- the `ruler:` section of `cairn serve`'s configuration, with Loki's
 * key names (storage.local.directory, rule_path, evaluation_interval, alertmanager_url,
 * external_url, enable_api, remote_write, wal). */
#include <stdint.h>

#include "cairn/config_serve.h"
#include "config/config_int.h"

#define SEC 1000000000LL
#define R struct cairn_ruler_config
#define E(key_, type_, m, ...) {.key = key_, .type = type_, CAIRN_CFG_AT(R, m), __VA_ARGS__}

static const struct cairn_cfg_entry local_e[] = {
    E("directory", CAIRN_CFG_STRING, directory, .lflag = "ruler.storage.local.directory",
      .help = "rule files: <directory>/<tenant>/<namespace>.yaml (the ruler runs when set)"),
};
static const struct cairn_cfg_table local_t = CAIRN_CFG_TABLE("local", local_e, R);
static const struct cairn_cfg_enum storage_types[] = {{"local", 0}, {NULL, 0}};
static const struct cairn_cfg_entry storage_e[] = {
    {.key = "type", .type = CAIRN_CFG_ENUM, CAIRN_CFG_AT(struct cairn_ruler_config, storage_type),
     .def = "local", .names = storage_types, .help = "where rules live: local (a directory)"},
    {.key = "local", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(R), .sub = &local_t,
     .help = "rules on local disk"},
};
static const struct cairn_cfg_table storage_t = CAIRN_CFG_TABLE("storage", storage_e, R);

static const struct cairn_cfg_entry client_e[] = {
    E("url", CAIRN_CFG_STRING, remote_write_url, .lflag = "ruler.remote-write.url",
      .help = "Prometheus remote-write URL for recording rules"),
};
static const struct cairn_cfg_table client_t = CAIRN_CFG_TABLE("client", client_e, R);
static const struct cairn_cfg_entry rw_e[] = {
    E("enabled", CAIRN_CFG_BOOL, remote_write_enabled, .lflag = "ruler.remote-write.enabled",
      .help = "send recording rules' samples to remote_write.client.url"),
    {.key = "client", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(R), .sub = &client_t,
     .help = "the remote-write endpoint"},
};
static const struct cairn_cfg_table rw_t = CAIRN_CFG_TABLE("remote_write", rw_e, R);
static const struct cairn_cfg_entry wal_e[] = {
    E("dir", CAIRN_CFG_STRING, wal_dir, .lflag = "ruler.wal.dir",
      .help = "recorded samples waiting for remote write (default <data_dir>/ruler-wal)"),
};
static const struct cairn_cfg_table wal_t = CAIRN_CFG_TABLE("wal", wal_e, R);

static const struct cairn_cfg_entry ruler_e[] = {
    {.key = "storage", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(R), .sub = &storage_t,
     .help = "where rule files are"},
    E("rule_path", CAIRN_CFG_STRING, rule_path, .lflag = "ruler.rule-path",
      .help = "Loki's scratch path; the rules directory when storage.local.directory is unset"),
    E("evaluation_interval", CAIRN_CFG_DURATION, evaluation_interval_ns, .idef = 60 * SEC,
      .min = SEC / 10, .max = 24 * 3600 * SEC, .lflag = "ruler.evaluation-interval",
      .help = "default interval of rule groups"),
    E("poll_interval", CAIRN_CFG_DURATION, poll_interval_ns, .idef = 60 * SEC, .min = SEC / 10,
      .max = 24 * 3600 * SEC, .lflag = "ruler.poll-interval", .help = "how often rule files are re-read"),
    E("alertmanager_url", CAIRN_CFG_STRING, alertmanager_url, .lflag = "ruler.alertmanager-url",
      .help = "comma-separated Alertmanager URLs (alerts go to each)"),
    E("external_url", CAIRN_CFG_STRING, external_url, .lflag = "ruler.external.url",
      .help = "base of the alerts' generatorURL"),
    E("external_labels", CAIRN_CFG_MAP, external_labels,
      .help = "labels added to every alert and recorded series"),
    E("enable_api", CAIRN_CFG_BOOL, enable_api, .idef = 1, .lflag = "ruler.enable-api",
      .help = "accept rule groups through POST/DELETE /loki/api/v1/rules"),
    E("resend_delay", CAIRN_CFG_DURATION, resend_delay_ns, .idef = 60 * SEC, .min = SEC / 10,
      .max = 3600 * SEC, .lflag = "ruler.resend-delay", .help = "firing alerts are re-sent this often"),
    {.key = "remote_write", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(R), .sub = &rw_t,
     .help = "recording rules' output"},
    {.key = "wal", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(R), .sub = &wal_t,
     .help = "recorded samples not yet sent"},
};
#undef E
#undef R

const struct cairn_cfg_table cairn__ruler_config_table = CAIRN_CFG_TABLE("ruler", ruler_e,
                                                                           struct cairn_ruler_config);
