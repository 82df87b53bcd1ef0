/* query_config.c -- `cairn query`'s options as a config table, so they are parsed by
 * the loader every command uses (the same forms, errors and --help), with logcli's
 * LOKI_* environment variables as defaults that options override. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd/query_int.h"

#define C struct query_config
#define E(key_, type_, m, ...) \
    {.key = key_, .type = type_, CAIRN_CFG_AT(C, m), __VA_ARGS__}

static const struct cairn_cfg_enum outputs[] = {
    {"default", QUERY_OUT_DEFAULT}, {"raw", QUERY_OUT_RAW}, {"jsonl", QUERY_OUT_JSONL}, {NULL, 0}};

static const struct cairn_cfg_entry query_e[] = {
    E("addr", CAIRN_CFG_STRING, addr, .def = "http://127.0.0.1:3100", .flag = "addr",
      .metavar = "URL", .hdef = "$LOKI_ADDR or http://127.0.0.1:3100", .help = "server address"),
    E("org_id", CAIRN_CFG_STRING, org_id, .flag = "org-id", .metavar = "ID",
      .hdef = "$LOKI_ORG_ID or none", .help = "tenant, sent as X-Scope-OrgID"),
    E("since", CAIRN_CFG_DURATION, since_ns, .def = "1h", .min = 1, .max = INT64_MAX,
      .flag = "since", .help = "look back this far from --to, e.g. 30m, 2h"),
    E("from", CAIRN_CFG_STRING, from, .flag = "from", .metavar = "TIME", .hdef = "now - since",
      .help = "start (RFC3339 or unix ns)"),
    E("to", CAIRN_CFG_STRING, to, .flag = "to", .metavar = "TIME", .hdef = "now",
      .help = "end (RFC3339 or unix ns)"),
    E("limit", CAIRN_CFG_INT, limit, .idef = 30, .min = 0, .max = INT32_MAX, .flag = "limit",
      .help = "most entries to return"),
    E("batch", CAIRN_CFG_INT, batch, .idef = 1000, .min = 1, .max = INT32_MAX, .flag = "batch",
      .help = "page a log query N entries per request up to --limit"),
    E("forward", CAIRN_CFG_BOOL, forward, .flag = "forward", .hdef = "newest first",
      .help = "oldest first"),
    E("step", CAIRN_CFG_STRING, step, .flag = "step", .metavar = "DUR",
      .hdef = "the server's, ending at --to", .help = "metric query resolution step"),
    E("instant", CAIRN_CFG_BOOL, instant, .flag = "instant", .help = "instant query at --to"),
    E("tail", CAIRN_CFG_BOOL, tail, .flag = "tail", .lflag = "t",
      .help = "follow: the last --limit entries, then new ones as they come"),
    E("delay_for", CAIRN_CFG_INT, delay_for, .min = 0, .max = 5, .flag = "delay-for",
      .metavar = "SEC", .help = "--tail: let the server wait up to 5 s to order entries"),
    E("output", CAIRN_CFG_ENUM, output, .def = "default", .names = outputs, .flag = "output",
      .lflag = "o", .help = "how entries are printed"),
    E("fields", CAIRN_CFG_STRING, fields, .flag = "fields", .metavar = "LIST",
      .help = "print these keys of JSON or logfmt lines as columns, e.g. "
              "event.reason,event.involvedObject.name,items[0].id"),
    E("wide", CAIRN_CFG_BOOL, wide, .flag = "wide",
      .help = "--fields: never cut values to the terminal width"),
    E("include_label", CAIRN_CFG_STRLIST, include, .flag = "include-label", .metavar = "L",
      .help = "only this label in the printed labels (repeatable)"),
    E("exclude_label", CAIRN_CFG_STRLIST, exclude, .flag = "exclude-label", .metavar = "L",
      .help = "leave this label out of the printed labels (repeatable)"),
    E("stats", CAIRN_CFG_BOOL, stats, .flag = "stats", .help = "the query's statistics on stderr"),
    E("no_color", CAIRN_CFG_BOOL, no_color, .flag = "no-color", .hdef = "$NO_COLOR",
      .help = "no colour (colour is on only when stdout is a terminal)"),
    E("quiet", CAIRN_CFG_BOOL, quiet, .flag = "quiet", .lflag = "q",
      .help = "no request summary on stderr"),
    E("username", CAIRN_CFG_STRING, username, .flag = "username", .hdef = "$LOKI_USERNAME",
      .help = "basic auth user"),
    E("password", CAIRN_CFG_STRING, password, .flags = CAIRN_CFG_SECRET,
      .flag = "password", .hdef = "$LOKI_PASSWORD", .help = "basic auth password"),
    E("bearer_token", CAIRN_CFG_STRING, bearer, .flags = CAIRN_CFG_SECRET,
      .flag = "bearer-token", .hdef = "$LOKI_BEARER_TOKEN", .help = "bearer token"),
    E("bearer_token_file", CAIRN_CFG_STRING, bearer_file, .flag = "bearer-token-file",
      .metavar = "FILE", .hdef = "$LOKI_BEARER_TOKEN_FILE", .help = "a file holding the token"),
    E("ca_cert", CAIRN_CFG_STRING, ca_cert, .flag = "ca-cert", .metavar = "FILE",
      .hdef = "$LOKI_CA_CERT_PATH", .help = "CA to verify the server with"),
    E("cert", CAIRN_CFG_STRING, cert, .flag = "cert", .metavar = "FILE",
      .hdef = "$LOKI_CLIENT_CERT_PATH", .help = "client certificate"),
    E("key", CAIRN_CFG_STRING, key, .flag = "key", .metavar = "FILE",
      .hdef = "$LOKI_CLIENT_KEY_PATH", .help = "client certificate key"),
    E("tls_skip_verify", CAIRN_CFG_BOOL, tls_skip_verify, .flag = "tls-skip-verify",
      .hdef = "$LOKI_TLS_SKIP_VERIFY", .help = "do not verify the server certificate"),
};
#undef E
#undef C

const struct cairn_cfg_table cairn__query_config_table =
    CAIRN_CFG_TABLE("query", query_e, struct query_config);

/* logcli's environment variables, each the default of one option. */
static const struct {
    const char *env, *key;
} env_defaults[] = {
    {"LOKI_ADDR", "addr"},
    {"LOKI_ORG_ID", "org_id"},
    {"LOKI_USERNAME", "username"},
    {"LOKI_PASSWORD", "password"},
    {"LOKI_BEARER_TOKEN", "bearer_token"},
    {"LOKI_BEARER_TOKEN_FILE", "bearer_token_file"},
    {"LOKI_CA_CERT_PATH", "ca_cert"},
    {"LOKI_CLIENT_CERT_PATH", "cert"},
    {"LOKI_CLIENT_KEY_PATH", "key"},
};

static int env_true(const char *v)
{
    return v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0);
}

int cairn__query_config_env(struct cairn_cfg *c, struct cairn_err *err)
{
    for (size_t i = 0; i < sizeof env_defaults / sizeof env_defaults[0]; i++) {
        const char *v = getenv(env_defaults[i].env);
        if (v && *v) {
            struct cairn_err e;
            cairn_err_clear(&e);
            int rc = cairn_cfg_set(c, env_defaults[i].key, v, &e);
            if (rc)
                return cairn_err_set(err, rc, "$%s: %s", env_defaults[i].env, e.msg);
        }
    }
    struct query_config *q = c->obj;
    q->tls_skip_verify = env_true(getenv("LOKI_TLS_SKIP_VERIFY"));
    const char *nc = getenv("NO_COLOR");
    q->no_color = nc && *nc;
    return 0;
}
