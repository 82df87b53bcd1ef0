/* sd.h -- service discovery for `cairn ship`: target label sets (the `__meta_*` labels
 * Prometheus's discovery gives, before relabelling) and the Kubernetes discoverer that
 * keeps them current by list+watch (roles pod and node).
 *
 * Ownership: a cairn_sd_labels owns its names and values (_deinit frees them); the
 * discoverer owns its connection, thread and targets; callbacks borrow the label sets
 * they are given for the length of the call. Only cairn_sd_k8s_targets and
 * cairn_sd_k8s_destroy may be called from another thread than the creator's. */
#ifndef CAIRN_SD_H
#define CAIRN_SD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/error.h"

/* A label set of any size, sorted by name (discovered sets hold a label per pod label
 * and annotation, more than a stream's label set may). */
struct cairn_sd_label {
    char *name, *value;
    size_t name_len, value_len;
};
struct cairn_sd_labels {
    struct cairn_sd_label *v;
    size_t n, cap;
};
void cairn_sd_labels_init(struct cairn_sd_labels *ls);
void cairn_sd_labels_deinit(struct cairn_sd_labels *ls);
void cairn_sd_labels_reset(struct cairn_sd_labels *ls);
/* Add or replace (copies). 0 or CAIRN_ENOMEM (ls unchanged). */
int cairn_sd_labels_set(struct cairn_sd_labels *ls, const char *name, size_t name_len,
                        const char *value, size_t value_len);
int cairn_sd_labels_set_str(struct cairn_sd_labels *ls, const char *name, const char *value);
/* The value of name or NULL (*len set when not NULL and found). */
const char *cairn_sd_labels_get(const struct cairn_sd_labels *ls, const char *name,
                                size_t name_len, size_t *len);
void cairn_sd_labels_remove_at(struct cairn_sd_labels *ls, size_t i);
/* dst becomes a copy of src. 0 or CAIRN_ENOMEM (dst left valid). */
int cairn_sd_labels_copy(struct cairn_sd_labels *dst, const struct cairn_sd_labels *src);
/* Prometheus's label-name sanitising: every byte outside [a-zA-Z0-9_] becomes '_'.
 * Appends name to prefix into out (size cap, truncated to fit). */
void cairn_sd_sanitize(char *out, size_t cap, const char *prefix, const char *name);

/* Called for each target; ls is borrowed. Nonzero stops the walk and is returned. */
typedef int (*cairn_sd_target_fn)(void *ud, const struct cairn_sd_labels *ls);

/* The targets of one Pod object as Prometheus's pod role builds them: one per
 * container port, one for a container without ports, init containers included
 * (`__meta_kubernetes_pod_container_init`); none for a pod without an IP. */
int cairn_sd_k8s_pod_targets(json_t *pod, cairn_sd_target_fn fn, void *ud);
/* The target of one Node object (role node): __address__ and __meta_kubernetes_node_*. */
int cairn_sd_k8s_node_targets(json_t *node, cairn_sd_target_fn fn, void *ud);

enum cairn_sd_k8s_role { CAIRN_SD_ROLE_POD = 0, CAIRN_SD_ROLE_NODE = 1 };

/* kubernetes_sd_configs, as Prometheus reads them; every string is borrowed for the
 * length of _create only. */
struct cairn_sd_k8s_opts {
    int role; /* enum cairn_sd_k8s_role */
    const char *api_server;      /* NULL: kubeconfig_file, else in-cluster */
    const char *kubeconfig_file;
    const char *const *namespaces;
    size_t nnamespaces;
    int own_namespace;           /* add the namespace the agent runs in */
    const char *label_selector, *field_selector;
    const char *bearer_token, *bearer_token_file;
    const char *username, *password, *password_file;
    const char *ca_file, *cert_file, *key_file, *server_name;
    int insecure_skip_verify;
    /* in-cluster inputs, passed in so tests can say what they are */
    const char *service_host, *service_port, *sa_dir;
};

struct cairn_sd_k8s;
/* Resolve the connection (err names the bad key or file). NULL on failure. */
struct cairn_sd_k8s *cairn_sd_k8s_create(const struct cairn_sd_k8s_opts *o,
                                         struct cairn_err *err);
/* Start listing and watching in a thread of its own; changed (may be NULL) is called
 * from that thread after the targets changed. 0 or CAIRN_EIO. */
int cairn_sd_k8s_start(struct cairn_sd_k8s *sd, void (*changed)(void *ud), void *ud);
/* Walk the current targets under the discoverer's lock (fn must not call back in). */
int cairn_sd_k8s_targets(struct cairn_sd_k8s *sd, cairn_sd_target_fn fn, void *ud);
/* Has it listed once (its targets are the cluster's, not an empty start)? */
int cairn_sd_k8s_synced(struct cairn_sd_k8s *sd);
/* Stop the thread and free. NULL is a no-op. */
void cairn_sd_k8s_destroy(struct cairn_sd_k8s *sd);

#endif
