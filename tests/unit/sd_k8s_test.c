/* sd_k8s_test.c -- the targets of Kubernetes objects as Prometheus's kubernetes_sd
 * documents them: role pod (a target per container port, one for a container without
 * ports, init containers marked, labels and annotations with their *present twins,
 * names sanitised, controller, readiness, container id), a pod without an IP giving
 * none, and role node. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cairn/sd.h"

struct got {
    struct cairn_sd_labels t[8];
    size_t n;
};

static int collect(void *ud, const struct cairn_sd_labels *ls)
{
    struct got *g = ud;
    assert_true(g->n < 8);
    cairn_sd_labels_init(&g->t[g->n]);
    assert_int_equal(cairn_sd_labels_copy(&g->t[g->n], ls), 0);
    g->n++;
    return 0;
}

static void got_free(struct got *g)
{
    for (size_t i = 0; i < g->n; i++)
        cairn_sd_labels_deinit(&g->t[i]);
}

static const char *get(const struct cairn_sd_labels *ls, const char *name)
{
    return cairn_sd_labels_get(ls, name, strlen(name), NULL);
}

static const char POD[] =
    "{\"metadata\":{\"name\":\"web-7d4b9c8f6d-x2x9z\",\"namespace\":\"shop\",\"uid\":\"u-1\","
    "\"labels\":{\"app.kubernetes.io/name\":\"web\",\"pod-template-hash\":\"7d4b9c8f6d\","
    "\"empty\":\"\"},"
    "\"annotations\":{\"prometheus.io/scrape\":\"true\",\"kubernetes.io/config.h\\u00e9sh\":\"x\"},"
    "\"ownerReferences\":[{\"kind\":\"Other\",\"name\":\"o\"},"
    "{\"kind\":\"ReplicaSet\",\"name\":\"web-7d4b9c8f6d\",\"controller\":true}]},"
    "\"spec\":{\"nodeName\":\"node-a\",\"containers\":["
    "{\"name\":\"web\",\"image\":\"nginx:1.27\",\"ports\":[{\"name\":\"http\",\"containerPort\":8080},"
    "{\"containerPort\":9090,\"protocol\":\"UDP\"}]},"
    "{\"name\":\"sidecar\",\"image\":\"envoy:1\"}],"
    "\"initContainers\":[{\"name\":\"init-db\",\"image\":\"busybox\"}]},"
    "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.1.0.7\",\"hostIP\":\"192.168.0.10\","
    "\"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"True\"},{\"type\":\"Ready\",\"status\":\"False\"}],"
    "\"containerStatuses\":[{\"name\":\"web\",\"containerID\":\"containerd://abc\"}],"
    "\"initContainerStatuses\":[{\"name\":\"init-db\",\"containerID\":\"containerd://def\"}]}}";

static void test_pod(void **state)
{
    (void)state;
    json_t *pod = json_loads(POD, 0, NULL);
    assert_non_null(pod);
    struct got g = {.n = 0};
    assert_int_equal(cairn_sd_k8s_pod_targets(pod, collect, &g), 0);
    assert_int_equal(g.n, 4); /* web:8080, web:9090, sidecar, init-db */
    const struct cairn_sd_labels *w = &g.t[0], *w2 = &g.t[1], *side = &g.t[2], *init = &g.t[3];
    assert_string_equal(get(w, "__address__"), "10.1.0.7:8080");
    assert_string_equal(get(w, "__meta_kubernetes_namespace"), "shop");
    assert_string_equal(get(w, "__meta_kubernetes_pod_name"), "web-7d4b9c8f6d-x2x9z");
    assert_string_equal(get(w, "__meta_kubernetes_pod_uid"), "u-1");
    assert_string_equal(get(w, "__meta_kubernetes_pod_ip"), "10.1.0.7");
    assert_string_equal(get(w, "__meta_kubernetes_pod_host_ip"), "192.168.0.10");
    assert_string_equal(get(w, "__meta_kubernetes_pod_node_name"), "node-a");
    assert_string_equal(get(w, "__meta_kubernetes_pod_phase"), "Running");
    assert_string_equal(get(w, "__meta_kubernetes_pod_ready"), "false");
    assert_string_equal(get(w, "__meta_kubernetes_pod_controller_kind"), "ReplicaSet");
    assert_string_equal(get(w, "__meta_kubernetes_pod_controller_name"), "web-7d4b9c8f6d");
    assert_string_equal(get(w, "__meta_kubernetes_pod_label_app_kubernetes_io_name"), "web");
    assert_string_equal(get(w, "__meta_kubernetes_pod_labelpresent_app_kubernetes_io_name"), "true");
    assert_string_equal(get(w, "__meta_kubernetes_pod_label_pod_template_hash"), "7d4b9c8f6d");
    assert_string_equal(get(w, "__meta_kubernetes_pod_label_empty"), "");
    assert_string_equal(get(w, "__meta_kubernetes_pod_labelpresent_empty"), "true");
    assert_string_equal(get(w, "__meta_kubernetes_pod_annotation_prometheus_io_scrape"), "true");
    assert_string_equal(get(w, "__meta_kubernetes_pod_annotationpresent_prometheus_io_scrape"),
                        "true");
    /* one '_' per character, as Prometheus sanitises a multi-byte one */
    assert_string_equal(get(w, "__meta_kubernetes_pod_annotation_kubernetes_io_config_h_sh"), "x");
    assert_string_equal(get(w, "__meta_kubernetes_pod_container_name"), "web");
    assert_string_equal(get(w, "__meta_kubernetes_pod_container_image"), "nginx:1.27");
    assert_string_equal(get(w, "__meta_kubernetes_pod_container_init"), "false");
    assert_string_equal(get(w, "__meta_kubernetes_pod_container_id"), "containerd://abc");
    assert_string_equal(get(w, "__meta_kubernetes_pod_container_port_name"), "http");
    assert_string_equal(get(w, "__meta_kubernetes_pod_container_port_number"), "8080");
    assert_string_equal(get(w, "__meta_kubernetes_pod_container_port_protocol"), "TCP");
    assert_string_equal(get(w2, "__address__"), "10.1.0.7:9090");
    assert_string_equal(get(w2, "__meta_kubernetes_pod_container_port_protocol"), "UDP");
    assert_string_equal(get(w2, "__meta_kubernetes_pod_container_port_name"), "");
    assert_string_equal(get(side, "__address__"), "10.1.0.7");
    assert_null(get(side, "__meta_kubernetes_pod_container_port_number"));
    assert_null(get(side, "__meta_kubernetes_pod_container_id")); /* no status yet */
    assert_string_equal(get(init, "__meta_kubernetes_pod_container_name"), "init-db");
    assert_string_equal(get(init, "__meta_kubernetes_pod_container_init"), "true");
    assert_string_equal(get(init, "__meta_kubernetes_pod_container_id"), "containerd://def");
    got_free(&g);

    /* a pod still starting (no IP) has no targets yet, as in Prometheus */
    json_object_del(json_object_get(pod, "status"), "podIP");
    g.n = 0;
    assert_int_equal(cairn_sd_k8s_pod_targets(pod, collect, &g), 0);
    assert_int_equal(g.n, 0);
    json_decref(pod);
}

static void test_ready_unknown(void **state)
{
    (void)state;
    json_t *pod = json_loads("{\"metadata\":{\"name\":\"p\",\"namespace\":\"n\"},"
                             "\"spec\":{\"containers\":[{\"name\":\"c\"}]},"
                             "\"status\":{\"podIP\":\"10.0.0.1\"}}", 0, NULL);
    struct got g = {.n = 0};
    assert_int_equal(cairn_sd_k8s_pod_targets(pod, collect, &g), 0);
    assert_int_equal(g.n, 1);
    assert_string_equal(get(&g.t[0], "__meta_kubernetes_pod_ready"), "unknown");
    assert_null(get(&g.t[0], "__meta_kubernetes_pod_controller_kind"));
    got_free(&g);
    json_decref(pod);
}

static void test_node(void **state)
{
    (void)state;
    json_t *node = json_loads(
        "{\"metadata\":{\"name\":\"node-a\",\"labels\":{\"kubernetes.io/arch\":\"amd64\"},"
        "\"annotations\":{\"a\":\"b\"}},\"spec\":{\"providerID\":\"aws:///i-1\"},"
        "\"status\":{\"addresses\":[{\"type\":\"Hostname\",\"address\":\"node-a\"},"
        "{\"type\":\"InternalIP\",\"address\":\"192.168.0.10\"}],"
        "\"daemonEndpoints\":{\"kubeletEndpoint\":{\"Port\":10250}}}}", 0, NULL);
    assert_non_null(node);
    struct got g = {.n = 0};
    assert_int_equal(cairn_sd_k8s_node_targets(node, collect, &g), 0);
    assert_int_equal(g.n, 1);
    const struct cairn_sd_labels *t = &g.t[0];
    assert_string_equal(get(t, "__address__"), "192.168.0.10:10250");
    assert_string_equal(get(t, "instance"), "node-a");
    assert_string_equal(get(t, "__meta_kubernetes_node_name"), "node-a");
    assert_string_equal(get(t, "__meta_kubernetes_node_provider_id"), "aws:///i-1");
    assert_string_equal(get(t, "__meta_kubernetes_node_label_kubernetes_io_arch"), "amd64");
    assert_string_equal(get(t, "__meta_kubernetes_node_labelpresent_kubernetes_io_arch"), "true");
    assert_string_equal(get(t, "__meta_kubernetes_node_annotation_a"), "b");
    assert_string_equal(get(t, "__meta_kubernetes_node_address_InternalIP"), "192.168.0.10");
    assert_string_equal(get(t, "__meta_kubernetes_node_address_Hostname"), "node-a");
    got_free(&g);
    json_decref(node);
}

static void test_labels(void **state)
{
    (void)state;
    struct cairn_sd_labels ls;
    cairn_sd_labels_init(&ls);
    char name[32];
    /* more labels than a stream may have: discovered sets are not bounded by it */
    for (int i = 99; i >= 0; i--) {
        snprintf(name, sizeof name, "l%03d", i);
        assert_int_equal(cairn_sd_labels_set_str(&ls, name, name), 0);
    }
    assert_int_equal(ls.n, 100);
    for (size_t i = 1; i < ls.n; i++)
        assert_true(strcmp(ls.v[i - 1].name, ls.v[i].name) < 0);
    assert_int_equal(cairn_sd_labels_set_str(&ls, "l050", "x"), 0);
    assert_int_equal(ls.n, 100);
    assert_string_equal(get(&ls, "l050"), "x");
    cairn_sd_labels_remove_at(&ls, 0);
    assert_null(get(&ls, "l000"));
    cairn_sd_sanitize(name, sizeof name, "p_", "a.b-c/d");
    assert_string_equal(name, "p_a_b_c_d");
    cairn_sd_labels_deinit(&ls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pod),
        cmocka_unit_test(test_ready_unknown),
        cmocka_unit_test(test_node),
        cmocka_unit_test(test_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
