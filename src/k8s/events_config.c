/* events_config.c -- the table of `cairn events`' configuration: YAML keys for
 * --config and the command-line options (the flags it has always had). */
#include <stddef.h>
#include <stdint.h>

#include "cairn/k8s_events_config.h"
#include "cairn/log.h"

#define C struct cairn_events_config
#define E(key_, type_, m, ...) {.key = key_, .type = type_, CAIRN_CFG_AT(C, m), __VA_ARGS__}

static const struct cairn_cfg_entry kube_e[] = {
    E("kubeconfig", CAIRN_CFG_STRING, kubernetes.kubeconfig, .flag = "kubeconfig",
      .metavar = "FILE", .hdef = "$KUBECONFIG, then ~/.kube/config, then in-cluster",
      .help = "kubeconfig file"),
    E("context", CAIRN_CFG_STRING, kubernetes.context, .flag = "context", .metavar = "NAME",
      .hdef = "current-context", .help = "kubeconfig context"),
    E("serviceaccount_dir", CAIRN_CFG_STRING, kubernetes.serviceaccount_dir,
      .flag = "serviceaccount-dir", .metavar = "DIR",
      .hdef = "/var/run/secrets/kubernetes.io/serviceaccount",
      .help = "in-cluster token, ca.crt and namespace"),
};
static const struct cairn_cfg_table kube_t = CAIRN_CFG_TABLE("kubernetes", kube_e, C);

static const struct cairn_cfg_enum apis[] = {
    {"core", CAIRN_EVENTS_API_CORE}, {"v1", CAIRN_EVENTS_API_CORE},
    {"events.k8s.io", CAIRN_EVENTS_API_V1}, {"events.k8s.io/v1", CAIRN_EVENTS_API_V1},
    {NULL, 0}};

static const struct cairn_cfg_entry watch_e[] = {
    E("api", CAIRN_CFG_ENUM, watch.api, .def = "core", .names = apis, .flag = "api",
      .help = "API group of Events: core (v1) or events.k8s.io"),
    E("namespaces", CAIRN_CFG_STRLIST, watch.namespaces, .flags = CAIRN_CFG_ONE_OK,
      .flag = "namespace", .metavar = "NS", .hdef = "all",
      .help = "a namespace to watch (repeatable)"),
    E("field_selector", CAIRN_CFG_STRING, watch.field_selector, .flag = "field-selector",
      .metavar = "SEL", .help = "server-side field selector, e.g. type=Warning"),
    E("types", CAIRN_CFG_STRLIST, watch.types, .flags = CAIRN_CFG_ONE_OK, .flag = "type",
      .metavar = "T", .help = "keep only events of this type (repeatable)"),
    E("reasons", CAIRN_CFG_STRLIST, watch.reasons, .flags = CAIRN_CFG_ONE_OK, .flag = "reason",
      .metavar = "R", .help = "keep only events with this reason (repeatable)"),
    E("kinds", CAIRN_CFG_STRLIST, watch.kinds, .flags = CAIRN_CFG_ONE_OK, .flag = "kind",
      .metavar = "K", .help = "keep only events about this object kind (repeatable)"),
    E("page_limit", CAIRN_CFG_INT, watch.page_limit, .idef = 500, .min = 1, .max = 100000,
      .flag = "page-limit", .help = "list page size"),
    E("watch_timeout_seconds", CAIRN_CFG_INT, watch.watch_timeout_s, .idef = 300, .min = 1,
      .max = 86400, .flag = "watch-timeout", .metavar = "S",
      .help = "server-side watch timeout in seconds"),
    E("skip_history", CAIRN_CFG_BOOL, watch.skip_history, .flag = "skip-history",
      .help = "first start: do not emit the events already listed"),
    E("max_events", CAIRN_CFG_INT, watch.max_events, .min = 0, .max = INT64_MAX,
      .flag = "max-events", .help = "stop after N events (0: never; tests, benchmarks)"),
};
static const struct cairn_cfg_table watch_t = CAIRN_CFG_TABLE("watch", watch_e, C);

static const struct cairn_cfg_entry push_e[] = {
    E("url", CAIRN_CFG_STRING, push.url, .flag = "push-url", .metavar = "URL",
      .help = "Loki-compatible push URL (with output: push)"),
    E("tenant_id", CAIRN_CFG_STRING, push.tenant_id, .flag = "tenant", .metavar = "ID",
      .help = "X-Scope-OrgID of the pushes"),
    E("job", CAIRN_CFG_STRING, push.job, .def = "events", .flag = "job",
      .help = "value of the job label"),
    E("labels", CAIRN_CFG_STRLIST, push.labels, .flag = "label", .metavar = "NAME=PATH",
      .help = "extra label from the event's JSON path a.b.c (repeatable)"),
    E("bearer_token_file", CAIRN_CFG_STRING, push.bearer_token_file,
      .flag = "push-bearer-token-file", .metavar = "FILE", .help = "bearer token for the store"),
    E("username", CAIRN_CFG_STRING, push.username, .flag = "push-username",
      .help = "basic auth user for the store"),
    E("password_file", CAIRN_CFG_STRING, push.password_file, .flag = "push-password-file",
      .metavar = "FILE", .help = "basic auth password file"),
    E("ca_file", CAIRN_CFG_STRING, push.ca_file, .flag = "push-ca-file", .metavar = "FILE",
      .help = "CA certificate of the store"),
    E("insecure_skip_verify", CAIRN_CFG_BOOL, push.insecure_skip_verify,
      .flag = "push-insecure-skip-verify", .help = "do not verify the store's certificate"),
};
static const struct cairn_cfg_table push_t = CAIRN_CFG_TABLE("push", push_e, C);

static const struct cairn_cfg_enum log_levels[] = {
    {"debug", CAIRN_LOG_DEBUG}, {"info", CAIRN_LOG_INFO}, {"warn", CAIRN_LOG_WARN},
    {"error", CAIRN_LOG_ERROR}, {NULL, 0}};

static const struct cairn_cfg_entry server_e[] = {
    E("listen", CAIRN_CFG_STRING, server.listen, .flag = "listen", .metavar = "ADDR:PORT",
      .help = "serve /metrics and /ready there (none by default)"),
    E("log_level", CAIRN_CFG_ENUM, server.log_level, .def = "info", .names = log_levels,
      .flag = "log-level", .lflag = "log.level", .help = "log level"),
};
static const struct cairn_cfg_table server_t = CAIRN_CFG_TABLE("server", server_e, C);

static const struct cairn_cfg_enum outputs[] = {
    {"stdout", CAIRN_EVENTS_STDOUT}, {"push", CAIRN_EVENTS_PUSH}, {NULL, 0}};

static int check(struct cairn_cfg *c, void *obj, const char *path, struct cairn_err *err)
{
    (void)c;
    (void)path;
    const C *cfg = obj;
    if (cfg->output == CAIRN_EVENTS_PUSH && (!cfg->push.url || !*cfg->push.url))
        return cairn_err_set(err, CAIRN_EINVAL, "output: push needs push.url (--push-url)");
    return 0;
}

static const struct cairn_cfg_entry root_e[] = {
    {.key = "kubernetes", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(C),
     .sub = &kube_t, .help = "how to reach the API server (in-cluster when nothing is found)"},
    {.key = "watch", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(C), .sub = &watch_t,
     .help = "which Events to watch"},
    E("output", CAIRN_CFG_ENUM, output, .def = "stdout", .names = outputs, .flag = "output",
      .help = "where events go: stdout (JSON lines) or push"),
    {.key = "push", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(C), .sub = &push_t,
     .help = "the store events are pushed to (output: push)"},
    E("state_file", CAIRN_CFG_STRING, state_file, .def = "./cairn-events.state",
      .flag = "state-file", .metavar = "FILE",
      .help = "what was emitted, so a restart emits nothing twice (\"\": none)"),
    E("old_cache_bytes", CAIRN_CFG_SIZE, old_cache_bytes, .idef = 2 * 1024 * 1024,
      .flag = "old-cache-bytes", .help = "memory for previous versions (old_event)"),
    {.key = "server", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(C),
     .sub = &server_t, .help = "HTTP server for /metrics and /ready, logging"},
};
#undef E
#undef C

const struct cairn_cfg_table cairn_events_config_table = {
    .name = "events", .entries = root_e, .n = sizeof root_e / sizeof root_e[0],
    .size = sizeof(struct cairn_events_config), .check = check};
