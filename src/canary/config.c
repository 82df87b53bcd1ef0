/* config.c -- `cairn canary`'s options: loki-canary's single-dash flags with its
 * defaults, through the one table loader (so -x=v, -x v and --x v all work and a
 * mistyped flag is an error naming it). A few flags of loki-canary's that make no
 * sense here are accepted and warned about at start (canary.c). */
#include <stddef.h>
#include <string.h>

#include "cairn/canary.h"
#include "cairn/log.h"

#define MS 1000000LL
#define SEC (1000 * MS)
#define MIN (60 * SEC)
#define HOUR (60 * MIN)

static const struct cairn_cfg_enum log_levels[] = {
    {"debug", CAIRN_LOG_DEBUG}, {"info", CAIRN_LOG_INFO}, {"warn", CAIRN_LOG_WARN},
    {"error", CAIRN_LOG_ERROR}, {NULL, 0},
};

#define C struct cairn_canary_config
/* A command-line-only option named like loki-canary's flag. */
#define F(flag_, type_, m, ...)                                                       \
    {.key = flag_, .type = type_, .flags = CAIRN_CFG_CLI_ONLY, CAIRN_CFG_AT(C, m),    \
     .lflag = flag_, __VA_ARGS__}
#define D(flag_, m, def_, help_)                                                       \
    F(flag_, CAIRN_CFG_DURATION, m, .idef = (def_), .min = 0, .max = INT64_MAX, .help = help_)

static const struct cairn_cfg_entry entries[] = {
    F("addr", CAIRN_CFG_STRING, addr, .metavar = "HOST:PORT",
      .help = "the store: host:port (http, or https with -tls) or a full URL; "
              "default $LOKI_ADDRESS"),
    F("user", CAIRN_CFG_STRING, user, .help = "basic auth user"),
    {.key = "pass", .type = CAIRN_CFG_STRING, .flags = CAIRN_CFG_CLI_ONLY | CAIRN_CFG_SECRET,
     CAIRN_CFG_AT(struct cairn_canary_config, pass), .lflag = "pass",
     .help = "basic auth password (needs read and write access)"},
    F("tenant-id", CAIRN_CFG_STRING, tenant_id, .help = "X-Scope-OrgID sent with every request"),
    F("tls", CAIRN_CFG_BOOL, tls, .help = "the store speaks https (and wss for the tail)"),
    F("cert-file", CAIRN_CFG_STRING, cert_file, .help = "TLS client certificate (PEM)"),
    F("key-file", CAIRN_CFG_STRING, key_file, .help = "TLS client key (PEM)"),
    F("ca-file", CAIRN_CFG_STRING, ca_file, .help = "CA bundle for the store's certificate"),
    F("insecure", CAIRN_CFG_BOOL, insecure, .help = "do not verify the store's certificate"),
    F("port", CAIRN_CFG_INT, port, .idef = 3500, .min = 0, .max = 65535,
      .help = "port of our own /metrics (0: any free port, logged at start)"),
    F("listen-address", CAIRN_CFG_STRING, listen_host, .def = "0.0.0.0",
      .help = "address /metrics binds to (ours; loki-canary binds every address)"),
    F("labelname", CAIRN_CFG_STRING, labelname, .def = "name",
      .help = "label name of this canary's stream"),
    F("labelvalue", CAIRN_CFG_STRING, labelvalue, .def = "loki-canary",
      .help = "label value of this canary's stream (unique per canary)"),
    F("streamname", CAIRN_CFG_STRING, streamname, .def = "stream",
      .help = "second label name of the stream"),
    F("streamvalue", CAIRN_CFG_STRING, streamvalue, .def = "stdout",
      .help = "second label value of the stream"),
    F("query-append", CAIRN_CFG_STRING, query_append,
      .help = "LogQL appended to the canary's selector, e.g. '| json | line_format `{{.log}}`'"),
    F("push", CAIRN_CFG_BOOL, push,
      .help = "push the lines to the store instead of writing them to stdout"),
    D("interval", interval_ns, 1 * SEC, "time between two lines"),
    F("size", CAIRN_CFG_INT, size, .idef = 100, .min = 0, .max = 1 << 20,
      .help = "bytes per line, timestamp and padding included"),
    F("out-of-order-percentage", CAIRN_CFG_INT, ooo_percentage, .idef = 0, .min = 0, .max = 100,
      .help = "percentage of lines written with an older timestamp"),
    D("out-of-order-min", ooo_min_ns, 30 * SEC, "least an out-of-order line goes back"),
    D("out-of-order-max", ooo_max_ns, 60 * SEC, "most an out-of-order line goes back"),
    D("write-timeout", write_timeout_ns, 10 * SEC, "-push: deadline of one push request"),
    D("write-min-backoff", write_min_backoff_ns, 500 * MS, "-push: first retry delay"),
    D("write-max-backoff", write_max_backoff_ns, 5 * MIN, "-push: longest retry delay"),
    F("write-max-retries", CAIRN_CFG_INT, write_max_retries, .idef = 10, .min = 0, .max = 1000,
      .help = "-push: retries of a failed push before its lines are dropped"),
    F("logs-batch-size", CAIRN_CFG_INT, logs_batch_size, .idef = 1, .min = 0, .max = 1 << 20,
      .help = "-push: lines per push request (0 or 1: each line on its own)"),
    F("logs-batch-size-max", CAIRN_CFG_INT, logs_batch_size_max, .idef = 1000, .min = 1,
      .max = 1 << 20, .help = "upper bound of -logs-batch-size"),
    D("wait", wait_ns, 60 * SEC,
      "how long a line may take to come back on the tail before it is queried for"),
    D("max-wait", max_wait_ns, 5 * MIN,
      "how long a line not seen on the tail is queried for before it counts as missing"),
    D("pruneinterval", prune_interval_ns, 60 * SEC,
      "how often sent lines are checked against received ones (and missing ones queried)"),
    D("query-timeout", query_timeout_ns, 10 * SEC, "deadline of one query to the store"),
    F("buckets", CAIRN_CFG_INT, buckets, .idef = 10, .min = 1, .max = 64,
      .help = "buckets of the response_latency histogram (0.5 s doubling)"),
    D("spot-check-interval", spot_interval_ns, 15 * MIN,
      "keep one written line per this interval for spot checks"),
    D("spot-check-max", spot_max_ns, 4 * HOUR, "how far back spot-checked lines are kept"),
    D("spot-check-query-rate", spot_query_rate_ns, 1 * MIN,
      "how often every kept line is queried back"),
    D("spot-check-initial-wait", spot_wait_ns, 10 * SEC,
      "age a line reaches before it is spot-checked"),
    D("metric-test-interval", metric_interval_ns, 1 * HOUR,
      "how often count_over_time is compared with what was written"),
    D("metric-test-range", metric_range_ns, 24 * HOUR,
      "range of the metric test (shorter while the canary has run less long)"),
    D("cache-test-interval", cache_test_interval_ns, 15 * MIN, "accepted, not used"),
    D("cache-test-range", cache_test_range_ns, 24 * HOUR, "accepted, not used"),
    D("cache-test-now", cache_test_now_ns, 1 * HOUR, "accepted, not used"),
    F("version", CAIRN_CFG_BOOL, version, .help = "print the version and exit"),
    F("log.level", CAIRN_CFG_ENUM, log_level, .def = "info", .names = log_levels,
      .help = "log only messages of this level or above"),
};
#undef C

const struct cairn_cfg_table cairn_canary_config_table =
    CAIRN_CFG_TABLE("canary", entries, struct cairn_canary_config);
