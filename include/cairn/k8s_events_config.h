/* k8s_events_config.h -- the configuration of `cairn events`: one table for its YAML
 * file (--config) and its command-line options, loaded by the shared config loader
 * (include/cairn/config.h), so its option errors and --help read as every command's.
 *
 * Ownership: the loader owns every string and list in the struct (cairn_cfg_deinit
 * frees them); the command borrows them for the router's and sink's options. */
#ifndef CAIRN_K8S_EVENTS_CONFIG_H
#define CAIRN_K8S_EVENTS_CONFIG_H

#include <stdint.h>

#include "cairn/config.h"

enum cairn_events_api { CAIRN_EVENTS_API_CORE = 0, CAIRN_EVENTS_API_V1 = 1 };
enum cairn_events_output { CAIRN_EVENTS_STDOUT = 0, CAIRN_EVENTS_PUSH = 1 };

struct cairn_events_config {
    struct {
        char *kubeconfig;
        char *context;
        char *serviceaccount_dir; /* tests: in-cluster token, ca.crt, namespace */
    } kubernetes;
    struct {
        int api; /* enum cairn_events_api */
        struct cairn_cfg_strlist namespaces;
        char *field_selector;
        struct cairn_cfg_strlist types, reasons, kinds;
        int page_limit;
        int watch_timeout_s;
        int skip_history;
        int64_t max_events;
    } watch;
    int output; /* enum cairn_events_output */
    struct {
        char *url;
        char *tenant_id;
        char *job;
        struct cairn_cfg_strlist labels; /* "NAME=JSONPATH" */
        char *bearer_token_file;
        char *username;
        char *password_file;
        char *ca_file;
        int insecure_skip_verify;
    } push;
    char *state_file;
    uint64_t old_cache_bytes;
    struct {
        char *listen;
        int log_level; /* enum cairn_log_level */
    } server;
};

extern const struct cairn_cfg_table cairn_events_config_table;

#endif
