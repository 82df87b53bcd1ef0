/* agent_sd.c -- the agent's discovered targets: a kubernetes_sd_config to a
 * discoverer (Prometheus's keys; Promtail's own-node pod selector), and the refresh the
 * tailer runs when a discoverer reports a change: every discovered label set is
 * relabelled with its scrape config's rules and becomes a tail target or a dropped
 * one (Promtail's target syncer), and the view the HTTP pages show is rebuilt. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/labels.h"
#include "cairn/log.h"
#include "cairn/timeutil.h"
#include "ship/agent_int.h"

/* After a refresh, free heap pages go back to the system at most this often. A pod
 * churn frees as much as it allocates (heaptrack: the live heap after 600 pods came
 * and went is within 11 KB of the one after 30), but glibc keeps the freed pages of
 * its arenas -- the discovery thread's above all -- so RSS crept up ~0.1 MB a minute
 * (issue 12 wants it flat). malloc_trim walks the free chunks: a few ms for the
 * agent's heap, and it runs only while targets change. */
#define TRIM_PERIOD_NS (5LL * 1000000000)

/* A kubernetes_sd_config to discoverer options (Prometheus's semantics; Promtail's
 * own-node field selector for role pod). */
struct cairn_sd_k8s *cairn__agent_make_sd(struct cairn_ship_agent *a,
                                          const struct cairn_ship_k8s_sd *k, const char *path,
                                          struct cairn_err *err)
{
    struct cairn_sd_k8s_opts o = {0};
    o.role = k->role == CAIRN_K8S_ROLE_NODE ? CAIRN_SD_ROLE_NODE : CAIRN_SD_ROLE_POD;
    o.api_server = k->api_server;
    o.kubeconfig_file = k->kubeconfig_file;
    o.namespaces = (const char *const *)k->namespaces.names.v;
    o.nnamespaces = k->namespaces.names.n;
    o.own_namespace = k->namespaces.own_namespace;
    const struct cairn_ship_k8s_selector *sel = k->selectors.v;
    for (size_t i = 0; i < k->selectors.n; i++)
        if (sel[i].role == k->role) {
            o.label_selector = sel[i].label;
            o.field_selector = sel[i].field;
        }
    /* Promtail asks only for the pods of its own node (spec.nodeName=$HOSTNAME): an
     * agent never lists, nor tails, other nodes' pods */
    char field[1024];
    if (o.role == CAIRN_SD_ROLE_POD && a->hostname[0]) {
        char node[300];
        snprintf(node, sizeof node, "spec.nodeName=%s", a->hostname);
        if (o.field_selector && *o.field_selector && !strstr(o.field_selector, node))
            snprintf(field, sizeof field, "%s,%s", o.field_selector, node);
        else if (o.field_selector && *o.field_selector)
            snprintf(field, sizeof field, "%s", o.field_selector);
        else
            snprintf(field, sizeof field, "%s", node);
        o.field_selector = field;
    }
    o.bearer_token = k->bearer_token;
    o.bearer_token_file = k->bearer_token_file;
    if (k->authorization.credentials && *k->authorization.credentials)
        o.bearer_token = k->authorization.credentials;
    if (k->authorization.credentials_file && *k->authorization.credentials_file)
        o.bearer_token_file = k->authorization.credentials_file;
    o.username = k->basic_auth.username;
    o.password = k->basic_auth.password;
    o.password_file = k->basic_auth.password_file;
    o.ca_file = k->tls_config.ca_file;
    o.cert_file = k->tls_config.cert_file;
    o.key_file = k->tls_config.key_file;
    o.server_name = k->tls_config.server_name;
    o.insecure_skip_verify = k->tls_config.insecure_skip_verify;
    o.service_host = getenv("KUBERNETES_SERVICE_HOST");
    o.service_port = getenv("KUBERNETES_SERVICE_PORT");
    o.sa_dir = a->cfg->k8s_sa_dir;
    struct cairn_err e2;
    cairn_err_clear(&e2);
    struct cairn_sd_k8s *sd = cairn_sd_k8s_create(&o, &e2);
    if (!sd)
        cairn_err_set(err, e2.code ? e2.code : CAIRN_EINVAL, "%s: %s", path, e2.msg);
    return sd;
}

void cairn__agent_sd_changed(void *ud)
{
    struct cairn_ship_agent *a = ud;
    if (a->tailer)
        cairn_tailer_refresh(a->tailer);
}

/* A label set as a JSON object; visible: only the stream's labels (no "__", no empty). */
static json_t *labels_json(const struct cairn_sd_labels *ls, int visible)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < ls->n; i++) {
        const struct cairn_sd_label *l = &ls->v[i];
        if (visible && ((l->name_len >= 2 && l->name[0] == '_' && l->name[1] == '_') ||
                        !l->value_len))
            continue;
        if (json_object_set_new(o, l->name, json_stringn(l->value, l->value_len))) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

json_t *cairn__agent_view_new(void)
{
    return json_pack("{s:[],s:[]}", "active", "dropped");
}

int cairn__agent_view_add(json_t *view, const char *job, const struct cairn_sd_labels *disc,
                          const struct cairn_sd_labels *final, const char *why)
{
    json_t *t;
    if (final) {
        const char *path = cairn_sd_labels_get(final, "__path__", 8, NULL);
        t = json_pack("{s:s,s:o?,s:o?,s:s}", "job", job, "discoveredLabels",
                      labels_json(disc, 0), "labels", labels_json(final, 1), "path",
                      path ? path : "");
    } else {
        t = json_pack("{s:s,s:o?,s:s}", "job", job, "discoveredLabels", labels_json(disc, 0),
                      "reason", why ? why : "");
    }
    if (!t || json_array_append_new(json_object_get(view, final ? "active" : "dropped"), t))
        return CAIRN_ENOMEM;
    return 0;
}

struct refresh_ctx {
    struct cairn_ship_agent *a;
    struct cairn__tset *set;
    json_t *view;
    size_t scrape;
    uint64_t dropped;
    struct cairn_sd_labels work;
};

static int on_discovered(void *ud, const struct cairn_sd_labels *ls)
{
    struct refresh_ctx *r = ud;
    struct cairn_ship_agent *a = r->a;
    const struct cairn_ship_scrape *sc = &((const struct cairn_ship_scrape *)
                                               a->cfg->scrape_configs.v)[r->scrape];
    if (cairn_sd_labels_copy(&r->work, ls))
        return CAIRN_ENOMEM;
    int keep = cairn_ship_relabel_apply(a->rules[r->scrape], sc->relabel_configs.n, &r->work);
    const char *why = "dropped by relabel_configs";
    if (keep == 1)
        keep = cairn__tset_add_labels(r->set, &r->work, a->pipes[r->scrape], sc->job_name,
                                      a->hostname[0] ? a->hostname : NULL, &why);
    if (keep < 0)
        return keep;
    if (keep == 0)
        r->dropped++;
    if (r->view && cairn__agent_view_add(r->view, sc->job_name, ls, keep ? &r->work : NULL, why))
        return CAIRN_ENOMEM;
    return 0;
}

/* --dry-run: the discovered targets, as they change. */
static void print_targets(struct cairn_ship_agent *a, const struct cairn__tset *set,
                          uint64_t dropped)
{
    struct cairn_buf b = CAIRN_BUF_INIT;
    for (size_t i = 0; i < set->n; i++) {
        cairn_buf_reset(&b);
        cairn_labels_format(&set->st[i].labels, &b);
        fprintf(a->out, "# target\t%s\t%s\t%s\n", set->st[i].job,
                b.data ? b.data : "{}", set->st[i].path);
    }
    fprintf(a->out, "# targets: %zu active, %llu dropped\n", set->n, (unsigned long long)dropped);
    fflush(a->out);
    cairn_buf_deinit(&b);
}

int cairn__agent_refresh(void *ud, struct cairn_tailer *t)
{
    struct cairn_ship_agent *a = ud;
    struct cairn__tset set = {0};
    struct refresh_ctx r = {.a = a, .set = &set};
    r.view = a->static_view ? json_deep_copy(a->static_view) : cairn__agent_view_new();
    cairn_sd_labels_init(&r.work);
    int rc = 0;
    for (size_t i = 0; i < a->statics.n && !rc; i++)
        rc = cairn__tset_add(&set, a->statics.t[i].kind, a->statics.st[i].path,
                             a->statics.st[i].exclude, &a->statics.st[i].labels,
                             a->statics.t[i].pipeline, a->statics.st[i].job);
    for (size_t i = 0; i < a->n_sds && !rc; i++) {
        r.scrape = a->sds[i].scrape;
        rc = cairn_sd_k8s_targets(a->sds[i].sd, on_discovered, &r);
    }
    cairn_sd_labels_deinit(&r.work);
    if (rc) {
        json_decref(r.view);
        cairn__tset_free(&set);
        return rc;
    }
    cairn__tset_fix(&set);
    rc = cairn_tailer_set_targets(t, set.t, set.n);
    cairn__tset_free(&a->live);
    a->live = set;
    atomic_store(&a->dropped_targets, (unsigned long long)r.dropped);
    atomic_store(&a->n_live, set.n);
    if (r.view)
        cairn__agent_view_set(a, r.view);
    if (a->cfg->dry_run)
        print_targets(a, &set, r.dropped);
    int64_t now = cairn_mono_ns();
    if (now - a->last_trim >= TRIM_PERIOD_NS) {
        malloc_trim(0);
        a->last_trim = now;
    }
    CAIRN_INFO("ship", "targets refreshed", "active=%zu dropped=%llu", set.n,
               (unsigned long long)r.dropped);
    return rc;
}
