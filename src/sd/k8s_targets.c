/* k8s_targets.c -- the targets of one Kubernetes object as Prometheus's kubernetes_sd
 * builds them: role pod (a target per container port, or per container without
 * ports, init containers included) and role node. Label names follow Prometheus's
 * documentation; pod and node label and annotation names are sanitised the same way. */
#include <stdio.h>
#include <string.h>

#include "cairn/sd.h"

#define META "__meta_kubernetes_"
#define NAME_MAX_LEN 512

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* <prefix>label_<name>=value and <prefix>labelpresent_<name>=true for each key of m. */
static int add_map(struct cairn_sd_labels *ls, json_t *m, const char *pre, const char *present)
{
    const char *k;
    json_t *v;
    char name[NAME_MAX_LEN];
    json_object_foreach(m, k, v) {
        const char *s = json_string_value(v);
        cairn_sd_sanitize(name, sizeof name, pre, k);
        if (cairn_sd_labels_set_str(ls, name, s ? s : ""))
            return CAIRN_ENOMEM;
        cairn_sd_sanitize(name, sizeof name, present, k);
        if (cairn_sd_labels_set_str(ls, name, "true"))
            return CAIRN_ENOMEM;
    }
    return 0;
}

static const char *ready_of(json_t *status)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(status, "conditions"), i, c) {
        const char *t = jstr(c, "type"), *s = jstr(c, "status");
        if (t && strcmp(t, "Ready") == 0 && s) {
            if (strcmp(s, "True") == 0)
                return "true";
            if (strcmp(s, "False") == 0)
                return "false";
            return "unknown";
        }
    }
    return "unknown";
}

static const char *container_id(json_t *statuses, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(statuses, i, c) {
        const char *n = jstr(c, "name");
        if (n && name && strcmp(n, name) == 0)
            return jstr(c, "containerID");
    }
    return NULL;
}

/* The labels every target of the pod shares. */
static int pod_common(json_t *pod, struct cairn_sd_labels *ls)
{
    json_t *meta = json_object_get(pod, "metadata"), *spec = json_object_get(pod, "spec"),
           *st = json_object_get(pod, "status");
    int rc = 0;
    rc |= cairn_sd_labels_set_str(ls, META "namespace", jstr(meta, "namespace"));
    rc |= cairn_sd_labels_set_str(ls, META "pod_name", jstr(meta, "name"));
    rc |= cairn_sd_labels_set_str(ls, META "pod_ip", jstr(st, "podIP"));
    rc |= cairn_sd_labels_set_str(ls, META "pod_ready", ready_of(st));
    rc |= cairn_sd_labels_set_str(ls, META "pod_phase", jstr(st, "phase"));
    rc |= cairn_sd_labels_set_str(ls, META "pod_node_name", jstr(spec, "nodeName"));
    rc |= cairn_sd_labels_set_str(ls, META "pod_host_ip", jstr(st, "hostIP"));
    rc |= cairn_sd_labels_set_str(ls, META "pod_uid", jstr(meta, "uid"));
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(meta, "ownerReferences"), i, o) {
        if (json_is_true(json_object_get(o, "controller"))) {
            rc |= cairn_sd_labels_set_str(ls, META "pod_controller_kind", jstr(o, "kind"));
            rc |= cairn_sd_labels_set_str(ls, META "pod_controller_name", jstr(o, "name"));
            break;
        }
    }
    if (rc)
        return CAIRN_ENOMEM;
    if (add_map(ls, json_object_get(meta, "labels"), META "pod_label_",
                META "pod_labelpresent_") ||
        add_map(ls, json_object_get(meta, "annotations"), META "pod_annotation_",
                META "pod_annotationpresent_"))
        return CAIRN_ENOMEM;
    return 0;
}

static int containers(json_t *pod, const struct cairn_sd_labels *common, json_t *list,
                      json_t *statuses, int init, cairn_sd_target_fn fn, void *ud)
{
    const char *ip = jstr(json_object_get(pod, "status"), "podIP");
    size_t i;
    json_t *c;
    struct cairn_sd_labels ls;
    cairn_sd_labels_init(&ls);
    int rc = 0;
    json_array_foreach(list, i, c) {
        const char *name = jstr(c, "name");
        const char *id = container_id(statuses, name);
        json_t *ports = json_object_get(c, "ports");
        size_t np = json_array_size(ports);
        for (size_t k = 0; k < (np ? np : 1) && !rc; k++) {
            if ((rc = cairn_sd_labels_copy(&ls, common)))
                break;
            rc |= cairn_sd_labels_set_str(&ls, META "pod_container_name", name);
            rc |= cairn_sd_labels_set_str(&ls, META "pod_container_image", jstr(c, "image"));
            rc |= cairn_sd_labels_set_str(&ls, META "pod_container_init", init ? "true" : "false");
            if (id && *id)
                rc |= cairn_sd_labels_set_str(&ls, META "pod_container_id", id);
            char addr[320];
            if (np) {
                json_t *p = json_array_get(ports, k);
                long long port = json_integer_value(json_object_get(p, "containerPort"));
                char num[24];
                snprintf(num, sizeof num, "%lld", port);
                snprintf(addr, sizeof addr, "%s:%lld", ip, port);
                rc |= cairn_sd_labels_set_str(&ls, META "pod_container_port_name", jstr(p, "name"));
                rc |= cairn_sd_labels_set_str(&ls, META "pod_container_port_number", num);
                const char *proto = jstr(p, "protocol");
                rc |= cairn_sd_labels_set_str(&ls, META "pod_container_port_protocol",
                                              proto ? proto : "TCP");
            } else {
                snprintf(addr, sizeof addr, "%s", ip);
            }
            rc |= cairn_sd_labels_set_str(&ls, "__address__", addr);
            if (rc) {
                rc = CAIRN_ENOMEM;
                break;
            }
            rc = fn(ud, &ls);
        }
        if (rc)
            break;
    }
    cairn_sd_labels_deinit(&ls);
    return rc;
}

int cairn_sd_k8s_pod_targets(json_t *pod, cairn_sd_target_fn fn, void *ud)
{
    json_t *spec = json_object_get(pod, "spec"), *st = json_object_get(pod, "status");
    const char *ip = jstr(st, "podIP");
    if (!ip || !*ip)
        return 0; /* starting or evicted: Prometheus gives no targets for it */
    struct cairn_sd_labels common;
    cairn_sd_labels_init(&common);
    int rc = pod_common(pod, &common);
    if (!rc)
        rc = containers(pod, &common, json_object_get(spec, "containers"),
                        json_object_get(st, "containerStatuses"), 0, fn, ud);
    if (!rc)
        rc = containers(pod, &common, json_object_get(spec, "initContainers"),
                        json_object_get(st, "initContainerStatuses"), 1, fn, ud);
    cairn_sd_labels_deinit(&common);
    return rc;
}

int cairn_sd_k8s_node_targets(json_t *node, cairn_sd_target_fn fn, void *ud)
{
    json_t *meta = json_object_get(node, "metadata"), *st = json_object_get(node, "status");
    struct cairn_sd_labels ls;
    cairn_sd_labels_init(&ls);
    const char *name = jstr(meta, "name");
    int rc = cairn_sd_labels_set_str(&ls, META "node_name", name);
    rc |= cairn_sd_labels_set_str(&ls, "instance", name);
    const char *pid = jstr(json_object_get(node, "spec"), "providerID");
    rc |= cairn_sd_labels_set_str(&ls, META "node_provider_id", pid);
    if (!rc)
        rc = add_map(&ls, json_object_get(meta, "labels"), META "node_label_",
                     META "node_labelpresent_");
    if (!rc)
        rc = add_map(&ls, json_object_get(meta, "annotations"), META "node_annotation_",
                     META "node_annotationpresent_");
    /* the address: InternalIP first, then the others Prometheus prefers, in order */
    static const char *const pref[] = {"InternalIP", "InternalDNS", "ExternalIP",
                                       "ExternalDNS", "LegacyHostIP", "Hostname"};
    const char *addr = NULL;
    size_t i;
    json_t *a;
    char name_buf[NAME_MAX_LEN];
    json_array_foreach(json_object_get(st, "addresses"), i, a) {
        const char *t = jstr(a, "type"), *v = jstr(a, "address");
        if (!t || !v)
            continue;
        cairn_sd_sanitize(name_buf, sizeof name_buf, META "node_address_", t);
        if (!cairn_sd_labels_get(&ls, name_buf, strlen(name_buf), NULL))
            rc |= cairn_sd_labels_set_str(&ls, name_buf, v);
    }
    for (size_t k = 0; k < sizeof pref / sizeof pref[0] && !addr; k++) {
        json_array_foreach(json_object_get(st, "addresses"), i, a) {
            const char *t = jstr(a, "type");
            if (t && strcmp(t, pref[k]) == 0) {
                addr = jstr(a, "address");
                break;
            }
        }
    }
    long long port = json_integer_value(json_object_get(
        json_object_get(json_object_get(st, "daemonEndpoints"), "kubeletEndpoint"), "Port"));
    char buf[320];
    snprintf(buf, sizeof buf, "%s:%lld", addr ? addr : "", port);
    rc |= cairn_sd_labels_set_str(&ls, "__address__", addr ? buf : "");
    if (!rc)
        rc = fn(ud, &ls);
    else
        rc = CAIRN_ENOMEM;
    cairn_sd_labels_deinit(&ls);
    return rc;
}
