/* k8s_sd.c -- the Kubernetes discoverer: resolve the connection of one
 * kubernetes_sd_config (api_server with its TLS and credentials, a kubeconfig file,
 * or in-cluster), list+watch its role's objects through the k8s module's loop in a
 * thread of its own, and keep each object's targets in a table the agent reads.
 *
 * The table is keyed by namespace/name. A full relist marks every object of that
 * request path stale first and drops those the list did not name, so objects deleted
 * while the watch was down (a 410, an API server restart) go too. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/k8s.h"
#include "cairn/k8s_watch.h"
#include "cairn/log.h"
#include "cairn/sd.h"

struct object {
    char *key; /* namespace/name */
    size_t path;
    int stale;
    struct cairn_sd_labels *t;
    size_t nt;
};

struct cairn_sd_k8s {
    int role;
    struct cairn_k8s_conn conn;
    char **paths;
    size_t npaths;
    char *field_selector, *label_selector;
    pthread_mutex_t mu;
    struct object *obj;
    size_t nobj, cap;
    int synced;
    int changed_pending; /* changes since the last notification (loop thread only) */
    void (*changed)(void *ud);
    void *ud;
    pthread_t thread;
    int started;
    volatile sig_atomic_t stop;
};

static char *xstrdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void free_object(struct object *o)
{
    for (size_t i = 0; i < o->nt; i++)
        cairn_sd_labels_deinit(&o->t[i]);
    free(o->t);
    free(o->key);
}

static char *read_trimmed(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    return strdup(buf);
}

static int build_conn(struct cairn_sd_k8s *sd, const struct cairn_sd_k8s_opts *o,
                      struct cairn_err *err)
{
    struct cairn_k8s_conn *c = &sd->conn;
    if (o->api_server && *o->api_server) {
        memset(c, 0, sizeof *c);
        size_t n = strlen(o->api_server);
        while (n && o->api_server[n - 1] == '/')
            n--;
        if (!(c->server = strndup(o->api_server, n)))
            return CAIRN_ENOMEM;
        if (strncmp(c->server, "http://", 7) != 0 && strncmp(c->server, "https://", 8) != 0)
            return cairn_err_set(err, CAIRN_EINVAL, "api_server: '%s' is not an http(s) URL",
                                 o->api_server);
        c->ca_file = xstrdup(o->ca_file);
        c->cert_file = xstrdup(o->cert_file);
        c->key_file = xstrdup(o->key_file);
        c->tls_server_name = xstrdup(o->server_name);
        c->insecure = o->insecure_skip_verify;
        c->token = xstrdup(o->bearer_token);
        c->token_file = xstrdup(o->bearer_token_file);
        c->username = xstrdup(o->username);
        if (o->password_file && *o->password_file) {
            c->password = read_trimmed(o->password_file);
            if (!c->password)
                return cairn_err_set(err, CAIRN_EIO, "basic_auth.password_file: cannot read %s",
                                     o->password_file);
        } else {
            c->password = xstrdup(o->password);
        }
        return 0;
    }
    struct cairn_k8s_load_opts lo = {0};
    if (o->kubeconfig_file && *o->kubeconfig_file) {
        lo.kubeconfig = o->kubeconfig_file;
    } else {
        lo.service_host = o->service_host;
        lo.service_port = o->service_port;
        lo.sa_dir = o->sa_dir;
        if (!o->service_host || !*o->service_host)
            return cairn_err_set(err, CAIRN_EINVAL, "no api_server or kubeconfig_file, and not "
                                 "in a cluster (KUBERNETES_SERVICE_HOST unset)");
    }
    struct cairn_err e2;
    cairn_err_clear(&e2);
    int rc = cairn_k8s_conn_load(c, &lo, &e2);
    if (rc)
        return cairn_err_set(err, rc, "%s", e2.msg[0] ? e2.msg : cairn_strerror(rc));
    return 0;
}

static int add_path(struct cairn_sd_k8s *sd, const char *ns, const char *res)
{
    char buf[512];
    if (ns)
        snprintf(buf, sizeof buf, "/api/v1/namespaces/%s/%s", ns, res);
    else
        snprintf(buf, sizeof buf, "/api/v1/%s", res);
    char **np = realloc(sd->paths, (sd->npaths + 1) * sizeof *np);
    if (!np)
        return CAIRN_ENOMEM;
    sd->paths = np;
    if (!(np[sd->npaths] = strdup(buf)))
        return CAIRN_ENOMEM;
    sd->npaths++;
    return 0;
}

struct cairn_sd_k8s *cairn_sd_k8s_create(const struct cairn_sd_k8s_opts *o, struct cairn_err *err)
{
    struct cairn_sd_k8s *sd = calloc(1, sizeof *sd);
    if (!sd) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&sd->mu, NULL);
    sd->role = o->role;
    int rc = build_conn(sd, o, err);
    const char *res = o->role == CAIRN_SD_ROLE_NODE ? "nodes" : "pods";
    if (!rc && o->role == CAIRN_SD_ROLE_NODE) {
        rc = add_path(sd, NULL, res); /* nodes are not namespaced */
    } else if (!rc) {
        for (size_t i = 0; i < o->nnamespaces && !rc; i++)
            rc = add_path(sd, o->namespaces[i], res);
        if (!rc && o->own_namespace) {
            char p[4096];
            snprintf(p, sizeof p, "%s/namespace", o->sa_dir ? o->sa_dir : CAIRN_K8S_SA_DIR);
            char *ns = read_trimmed(p);
            if (!ns && sd->conn.namespace)
                ns = strdup(sd->conn.namespace);
            if (!ns)
                rc = cairn_err_set(err, CAIRN_EINVAL, "namespaces.own_namespace: cannot read %s",
                                   p);
            else
                rc = add_path(sd, ns, res);
            free(ns);
        }
        if (!rc && sd->npaths == 0)
            rc = add_path(sd, NULL, res);
    }
    if (!rc && ((o->field_selector && !(sd->field_selector = strdup(o->field_selector))) ||
                (o->label_selector && !(sd->label_selector = strdup(o->label_selector)))))
        rc = CAIRN_ENOMEM;
    if (rc) {
        if (!err->code)
            cairn_err_set(err, rc, "%s", cairn_strerror(rc));
        cairn_sd_k8s_destroy(sd);
        return NULL;
    }
    return sd;
}

/* ---- the table (written by the loop thread under mu) ---- */

static struct object *find_obj(struct cairn_sd_k8s *sd, const char *key)
{
    for (size_t i = 0; i < sd->nobj; i++)
        if (strcmp(sd->obj[i].key, key) == 0)
            return &sd->obj[i];
    return NULL;
}

static void remove_obj(struct cairn_sd_k8s *sd, struct object *o)
{
    free_object(o);
    *o = sd->obj[--sd->nobj];
}

struct collect {
    struct cairn_sd_labels *t;
    size_t n, cap;
};

static int collect_one(void *ud, const struct cairn_sd_labels *ls)
{
    struct collect *c = ud;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 4;
        void *nt = realloc(c->t, nc * sizeof *c->t);
        if (!nt)
            return CAIRN_ENOMEM;
        c->t = nt;
        c->cap = nc;
    }
    cairn_sd_labels_init(&c->t[c->n]);
    if (cairn_sd_labels_copy(&c->t[c->n], ls))
        return CAIRN_ENOMEM;
    c->n++;
    return 0;
}

static int on_object(void *ud, size_t pi, const char *type, json_t *obj)
{
    struct cairn_sd_k8s *sd = ud;
    json_t *meta = json_object_get(obj, "metadata");
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    const char *name = json_string_value(json_object_get(meta, "name"));
    if (!name)
        return 0;
    char key[600];
    snprintf(key, sizeof key, "%s/%s", ns ? ns : "", name);
    struct collect c = {0};
    int rc = 0;
    if (strcmp(type, "DELETED") != 0)
        rc = sd->role == CAIRN_SD_ROLE_NODE ? cairn_sd_k8s_node_targets(obj, collect_one, &c)
                                            : cairn_sd_k8s_pod_targets(obj, collect_one, &c);
    if (rc) {
        for (size_t i = 0; i < c.n; i++)
            cairn_sd_labels_deinit(&c.t[i]);
        free(c.t);
        CAIRN_WARN("sd", "cannot build targets: out of memory", "object=%s", key);
        return 0; /* the next change of the object tries again */
    }
    pthread_mutex_lock(&sd->mu);
    struct object *o = find_obj(sd, key);
    if (strcmp(type, "DELETED") == 0) {
        if (o)
            remove_obj(sd, o);
    } else {
        if (!o && sd->nobj == sd->cap) {
            size_t nc = sd->cap ? sd->cap * 2 : 16;
            void *no = realloc(sd->obj, nc * sizeof *sd->obj);
            if (no) {
                sd->obj = no;
                sd->cap = nc;
            }
        }
        if (!o && sd->nobj < sd->cap) {
            o = &sd->obj[sd->nobj];
            memset(o, 0, sizeof *o);
            if ((o->key = strdup(key)))
                sd->nobj++;
            else
                o = NULL;
        }
        if (o) {
            for (size_t i = 0; i < o->nt; i++)
                cairn_sd_labels_deinit(&o->t[i]);
            free(o->t);
            o->t = c.t;
            o->nt = c.n;
            o->path = pi;
            o->stale = 0;
            c.t = NULL;
            c.n = 0;
        }
    }
    pthread_mutex_unlock(&sd->mu);
    for (size_t i = 0; i < c.n; i++)
        cairn_sd_labels_deinit(&c.t[i]);
    free(c.t);
    sd->changed_pending = 1;
    CAIRN_DEBUG("sd", "object", "type=%s key=%s", type, key);
    return 0;
}

static void on_list(void *ud, size_t pi, int begin)
{
    struct cairn_sd_k8s *sd = ud;
    pthread_mutex_lock(&sd->mu);
    if (begin) {
        for (size_t i = 0; i < sd->nobj; i++)
            if (sd->obj[i].path == pi)
                sd->obj[i].stale = 1;
    } else {
        for (size_t i = 0; i < sd->nobj;)
            if (sd->obj[i].path == pi && sd->obj[i].stale)
                remove_obj(sd, &sd->obj[i]);
            else
                i++;
        sd->synced = 1;
        sd->changed_pending = 1;
    }
    pthread_mutex_unlock(&sd->mu);
}

/* Tell the agent once per turn of the loop, not once per object. */
static int on_turn(void *ud, int64_t now, int listing, int64_t *wait_ns)
{
    (void)now;
    (void)wait_ns;
    struct cairn_sd_k8s *sd = ud;
    if (sd->changed_pending && !listing) {
        sd->changed_pending = 0;
        if (sd->changed)
            sd->changed(sd->ud);
    }
    return sd->stop ? 1 : 0;
}

static void *run(void *arg)
{
    struct cairn_sd_k8s *sd = arg;
    struct cairn_k8s_watch_opts wo = {
        .paths = (const char *const *)sd->paths, .npaths = sd->npaths,
        .field_selector = sd->field_selector, .label_selector = sd->label_selector,
        .stop = &sd->stop, .what = sd->role == CAIRN_SD_ROLE_NODE ? "nodes" : "pods"};
    struct cairn_k8s_watch_handler h = {on_object, on_list, NULL, on_turn, sd};
    struct cairn_err err;
    cairn_err_clear(&err);
    CAIRN_INFO("sd", "kubernetes discovery started", "server=%s role=%s paths=%zu field=%s "
               "label=%s", sd->conn.server, wo.what, sd->npaths,
               sd->field_selector ? sd->field_selector : "",
               sd->label_selector ? sd->label_selector : "");
    int rc = cairn_k8s_watch_run(&sd->conn, &wo, &h, NULL, &err);
    if (rc)
        CAIRN_ERROR("sd", "kubernetes discovery ended", "err=\"%s\"",
                    err.msg[0] ? err.msg : cairn_strerror(rc));
    return NULL;
}

int cairn_sd_k8s_start(struct cairn_sd_k8s *sd, void (*changed)(void *ud), void *ud)
{
    sd->changed = changed;
    sd->ud = ud;
    if (pthread_create(&sd->thread, NULL, run, sd) != 0)
        return CAIRN_EIO;
    sd->started = 1;
    return 0;
}

int cairn_sd_k8s_targets(struct cairn_sd_k8s *sd, cairn_sd_target_fn fn, void *ud)
{
    int rc = 0;
    pthread_mutex_lock(&sd->mu);
    for (size_t i = 0; i < sd->nobj && !rc; i++)
        for (size_t k = 0; k < sd->obj[i].nt && !rc; k++)
            rc = fn(ud, &sd->obj[i].t[k]);
    pthread_mutex_unlock(&sd->mu);
    return rc;
}

int cairn_sd_k8s_synced(struct cairn_sd_k8s *sd)
{
    pthread_mutex_lock(&sd->mu);
    int s = sd->synced;
    pthread_mutex_unlock(&sd->mu);
    return s;
}

void cairn_sd_k8s_destroy(struct cairn_sd_k8s *sd)
{
    if (!sd)
        return;
    if (sd->started) {
        sd->stop = 1;
        pthread_join(sd->thread, NULL);
    }
    for (size_t i = 0; i < sd->nobj; i++)
        free_object(&sd->obj[i]);
    free(sd->obj);
    for (size_t i = 0; i < sd->npaths; i++)
        free(sd->paths[i]);
    free(sd->paths);
    free(sd->field_selector);
    free(sd->label_selector);
    cairn_k8s_conn_deinit(&sd->conn);
    pthread_mutex_destroy(&sd->mu);
    free(sd);
}
