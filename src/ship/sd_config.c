/* sd_config.c -- the table of kubernetes_sd_configs inside a scrape config, with
 * Prometheus's keys (role, api_server, kubeconfig_file, namespaces, selectors, and the
 * HTTP client's authentication and TLS options). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cairn/ship_config.h"

#define K struct cairn_ship_k8s_sd

static const struct cairn_cfg_enum roles[] = {
    {"pod", CAIRN_K8S_ROLE_POD}, {"node", CAIRN_K8S_ROLE_NODE},
    {"service", CAIRN_K8S_ROLE_SERVICE}, {"endpoints", CAIRN_K8S_ROLE_ENDPOINTS},
    {"endpointslice", CAIRN_K8S_ROLE_ENDPOINTSLICE}, {"ingress", CAIRN_K8S_ROLE_INGRESS},
    {NULL, 0}};

static const struct cairn_cfg_entry selector_e[] = {
    {.key = "role", .type = CAIRN_CFG_ENUM,
     CAIRN_CFG_AT(struct cairn_ship_k8s_selector, role), .def = "pod", .names = roles,
     .help = "the role this selector applies to"},
    {.key = "label", .type = CAIRN_CFG_STRING,
     CAIRN_CFG_AT(struct cairn_ship_k8s_selector, label), .help = "labelSelector"},
    {.key = "field", .type = CAIRN_CFG_STRING,
     CAIRN_CFG_AT(struct cairn_ship_k8s_selector, field), .help = "fieldSelector"},
};
static const struct cairn_cfg_table selector_t =
    CAIRN_CFG_TABLE("selectors", selector_e, struct cairn_ship_k8s_selector);

static const struct cairn_cfg_entry ns_e[] = {
    {.key = "names", .type = CAIRN_CFG_STRLIST, CAIRN_CFG_AT(K, namespaces.names),
     .help = "namespaces to discover in (empty: all)"},
    {.key = "own_namespace", .type = CAIRN_CFG_BOOL, CAIRN_CFG_AT(K, namespaces.own_namespace),
     .help = "also the namespace the agent runs in"},
};
static const struct cairn_cfg_table ns_t = {
    .name = "namespaces", .entries = ns_e, .n = 2, .size = sizeof(K)};

static const struct cairn_cfg_entry basic_e[] = {
    {.key = "username", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(K, basic_auth.username),
     .help = "user"},
    {.key = "password", .type = CAIRN_CFG_STRING, .flags = CAIRN_CFG_SECRET,
     CAIRN_CFG_AT(K, basic_auth.password), .help = "password"},
    {.key = "password_file", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(K, basic_auth.password_file),
     .help = "file holding the password"},
};
static const struct cairn_cfg_table basic_t = {
    .name = "basic_auth", .entries = basic_e, .n = 3, .size = sizeof(K)};

static const struct cairn_cfg_entry authz_e[] = {
    {.key = "type", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(K, authorization.type),
     .def = "Bearer", .help = "only Bearer"},
    {.key = "credentials", .type = CAIRN_CFG_STRING, .flags = CAIRN_CFG_SECRET,
     CAIRN_CFG_AT(K, authorization.credentials), .help = "the token"},
    {.key = "credentials_file", .type = CAIRN_CFG_STRING,
     CAIRN_CFG_AT(K, authorization.credentials_file), .help = "file holding the token"},
};
static const struct cairn_cfg_table authz_t = {
    .name = "authorization", .entries = authz_e, .n = 3, .size = sizeof(K)};

static const struct cairn_cfg_entry tls_e[] = {
    {.key = "ca_file", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(K, tls_config.ca_file),
     .help = "CA bundle"},
    {.key = "cert_file", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(K, tls_config.cert_file),
     .help = "client certificate"},
    {.key = "key_file", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(K, tls_config.key_file),
     .help = "client key"},
    {.key = "server_name", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(K, tls_config.server_name),
     .help = "name the server certificate must have"},
    {.key = "insecure_skip_verify", .type = CAIRN_CFG_BOOL,
     CAIRN_CFG_AT(K, tls_config.insecure_skip_verify), .help = "do not verify the server"},
};
static const struct cairn_cfg_table tls_t = {
    .name = "tls_config", .entries = tls_e, .n = 5, .size = sizeof(K)};

static const struct cairn_cfg_entry attach_e[] = {
    {.key = "node", .type = CAIRN_CFG_BOOL, CAIRN_CFG_AT(K, attach_metadata.node),
     .help = "accepted for compatibility; node metadata is not attached"},
};
static const struct cairn_cfg_table attach_t = {
    .name = "attach_metadata", .entries = attach_e, .n = 1, .size = sizeof(K)};

static int check(struct cairn_cfg *c, void *obj, const char *path, struct cairn_err *err)
{
    (void)c;
    const K *k = obj;
    if (k->role != CAIRN_K8S_ROLE_POD && k->role != CAIRN_K8S_ROLE_NODE)
        return cairn_err_set(err, CAIRN_EINVAL, "%s.role: only pod and node are supported",
                             path);
    if (k->api_server && *k->api_server && k->kubeconfig_file && *k->kubeconfig_file)
        return cairn_err_set(err, CAIRN_EINVAL, "%s: api_server and kubeconfig_file are "
                             "mutually exclusive", path);
    if (k->authorization.type && strcmp(k->authorization.type, "Bearer") != 0)
        return cairn_err_set(err, CAIRN_EINVAL, "%s.authorization.type: only Bearer is "
                             "supported", path);
    int n = 0;
    n += k->bearer_token && *k->bearer_token;
    n += k->bearer_token_file && *k->bearer_token_file;
    n += (k->authorization.credentials && *k->authorization.credentials) ||
         (k->authorization.credentials_file && *k->authorization.credentials_file);
    n += k->basic_auth.username && *k->basic_auth.username;
    if (n > 1)
        return cairn_err_set(err, CAIRN_EINVAL, "%s: at most one of bearer_token, "
                             "bearer_token_file, authorization and basic_auth", path);
    const struct cairn_ship_k8s_selector *s = k->selectors.v;
    for (size_t i = 0; i < k->selectors.n; i++)
        for (size_t j = 0; j < i; j++)
            if (s[i].role == s[j].role)
                return cairn_err_set(err, CAIRN_EINVAL, "%s.selectors[%zu]: a role may have "
                                     "one selector only", path, i);
    return 0;
}

static const struct cairn_cfg_entry k8s_e[] = {
    {.key = "role", .type = CAIRN_CFG_ENUM, CAIRN_CFG_AT(K, role), .def = "pod", .names = roles,
     .help = "pod or node"},
    {.key = "api_server", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(K, api_server),
     .help = "API server URL (default: in-cluster)"},
    {.key = "kubeconfig_file", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(K, kubeconfig_file),
     .help = "kubeconfig to connect with (instead of api_server)"},
    {.key = "namespaces", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(K),
     .sub = &ns_t, .help = "namespaces to discover in"},
    {.key = "selectors", .type = CAIRN_CFG_LIST, CAIRN_CFG_AT(K, selectors), .sub = &selector_t,
     .help = "label and field selectors sent to the API server"},
    {.key = "bearer_token", .type = CAIRN_CFG_STRING, .flags = CAIRN_CFG_SECRET,
     CAIRN_CFG_AT(K, bearer_token), .help = "Authorization: Bearer"},
    {.key = "bearer_token_file", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(K, bearer_token_file),
     .help = "file holding the bearer token (re-read when it changes)"},
    {.key = "basic_auth", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(K),
     .sub = &basic_t, .help = "HTTP basic auth"},
    {.key = "authorization", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(K),
     .sub = &authz_t, .help = "Authorization header"},
    {.key = "tls_config", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(K),
     .sub = &tls_t, .help = "TLS"},
    {.key = "follow_redirects", .type = CAIRN_CFG_BOOL, CAIRN_CFG_AT(K, follow_redirects),
     .idef = 1, .help = "accepted for compatibility"},
    {.key = "enable_http2", .type = CAIRN_CFG_BOOL, CAIRN_CFG_AT(K, enable_http2), .idef = 1,
     .help = "accepted for compatibility"},
    {.key = "proxy_url", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(K, proxy_url),
     .help = "accepted for compatibility; not used"},
    {.key = "attach_metadata", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(K),
     .sub = &attach_t, .help = "accepted for compatibility"},
};

const struct cairn_cfg_table cairn__ship_k8s_sd_table = {
    .name = "kubernetes_sd_configs", .entries = k8s_e, .n = sizeof k8s_e / sizeof k8s_e[0],
    .size = sizeof(K), .check = check};
