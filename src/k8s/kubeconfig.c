/* kubeconfig.c -- find the API server and credentials: kubeconfig files (merged as
 * kubectl merges $KUBECONFIG) or the in-cluster service account.
 *
 * Merging: kubectl keeps, for every cluster, user and context name, the entry of the
 * first file that defines it, and current-context from the first file that sets one.
 * Looking each name up in the files in order, first match wins, is the same thing, so
 * the documents are kept parsed and searched rather than copied into a merged tree. */
#include <errno.h>
#include <libfyaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cairn/k8s.h"
#include "cairn/log.h"
#include "cairn/text.h"

#define MAX_FILES 32

struct kfile {
    char *path;
    char *dir; /* for relative paths inside it */
    struct fy_document *doc;
};

struct kset {
    struct kfile f[MAX_FILES];
    int n;
};

static void kset_free(struct kset *ks)
{
    for (int i = 0; i < ks->n; i++) {
        free(ks->f[i].path);
        free(ks->f[i].dir);
        fy_document_destroy(ks->f[i].doc);
    }
    ks->n = 0;
}

static int file_exists(const char *p)
{
    struct stat st;
    return p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* A kubeconfig's text, whole, NUL-terminated (caller frees); NULL with errno set,
 * EFBIG past 16 MiB (kubeconfigs are kilobytes; embedded certificates keep even a
 * hundred clusters to a few MiB). */
#define KUBECONFIG_MAX_BYTES (16u << 20)
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *p = malloc(cap);
    while (p) {
        if (n + 1 == cap) {
            if (cap > KUBECONFIG_MAX_BYTES) {
                free(p);
                fclose(f);
                errno = EFBIG;
                return NULL;
            }
            char *q = realloc(p, cap * 2);
            if (!q)
                break;
            p = q;
            cap *= 2;
        }
        size_t got = fread(p + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) {
            int bad = ferror(f);
            fclose(f);
            if (bad) {
                free(p);
                errno = EIO;
                return NULL;
            }
            p[n] = '\0';
            *len = n;
            return p;
        }
    }
    free(p);
    fclose(f);
    errno = ENOMEM;
    return NULL;
}

/* Parse one kubeconfig into the set. A missing file in $KUBECONFIG is skipped, as
 * kubectl does; a file that does not parse is an error. */
static int kset_add(struct kset *ks, const char *path, int must_exist, struct cairn_err *err)
{
    if (!file_exists(path)) {
        if (must_exist)
            return cairn_err_set(err, CAIRN_ENOTFOUND, "kubeconfig %s: %s", path,
                                 strerror(errno ? errno : ENOENT));
        return 0;
    }
    if (ks->n == MAX_FILES)
        return cairn_err_set(err, CAIRN_ELIMIT, "more than %d kubeconfig files", MAX_FILES);
    /* Read it ourselves: libfyaml (0.8) loops forever on some invalid UTF-8 in a
     * directive line (found by k8s_kubeconfig_fuzz), so it only sees valid text. */
    size_t len;
    char *text = read_file(path, &len);
    if (!text)
        return cairn_err_set(err, errno == EFBIG ? CAIRN_ELIMIT : CAIRN_EIO,
                             "kubeconfig %s: %s", path,
                             errno == EFBIG ? "larger than 16 MiB" : strerror(errno));
    if (!cairn_utf8_valid(text, len) || memchr(text, '\0', len)) {
        free(text);
        return cairn_err_set(err, CAIRN_EINVAL, "kubeconfig %s: not valid UTF-8 text", path);
    }
    struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET};
    struct fy_document *doc = fy_document_build_from_malloc_string(&cfg, text, len);
    if (!doc) /* libfyaml owns (and has freed) text, success or not */
        return cairn_err_set(err, CAIRN_EINVAL, "kubeconfig %s: not valid YAML", path);
    struct kfile *kf = &ks->f[ks->n];
    kf->doc = doc;
    kf->path = strdup(path);
    const char *slash = strrchr(path, '/');
    kf->dir = slash ? strndup(path, (size_t)(slash - path) + 1) : strdup("./");
    ks->n++;
    if (!kf->path || !kf->dir)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    return 0;
}

static const char *scalar(struct fy_node *map, const char *key)
{
    if (!map || !fy_node_is_mapping(map))
        return NULL;
    struct fy_node *v = fy_node_mapping_lookup_by_string(map, key, FY_NT);
    if (!v || !fy_node_is_scalar(v))
        return NULL;
    return fy_node_get_scalar0(v);
}

/* The `sub` mapping (cluster/user/context) of the first entry named `name` in the
 * `list` of any file, and the file it came from. */
static struct fy_node *find_named(struct kset *ks, const char *list, const char *sub,
                                  const char *name, struct kfile **from)
{
    for (int i = 0; i < ks->n; i++) {
        struct fy_node *root = fy_document_root(ks->f[i].doc);
        if (!root || !fy_node_is_mapping(root))
            continue;
        struct fy_node *seq = fy_node_mapping_lookup_by_string(root, list, FY_NT);
        if (!seq || !fy_node_is_sequence(seq))
            continue;
        void *it = NULL;
        struct fy_node *e;
        while ((e = fy_node_sequence_iterate(seq, &it)) != NULL) {
            const char *n = scalar(e, "name");
            if (n && strcmp(n, name) == 0) {
                *from = &ks->f[i];
                struct fy_node *m = fy_node_mapping_lookup_by_string(e, sub, FY_NT);
                return m && fy_node_is_mapping(m) ? m : NULL;
            }
        }
    }
    return NULL;
}

/* Copy a scalar, resolving it against kf->dir if it is a relative path. */
static int copy_path(char **dst, const char *v, const struct kfile *kf)
{
    if (!v || !*v)
        return 0;
    if (v[0] == '/' || !kf) {
        *dst = strdup(v);
    } else {
        size_t n = strlen(kf->dir) + strlen(v) + 1;
        *dst = malloc(n);
        if (*dst)
            snprintf(*dst, n, "%s%s", kf->dir, v);
    }
    return *dst ? 0 : CAIRN_ENOMEM;
}

static int copy_str(char **dst, const char *v)
{
    if (!v)
        return 0;
    *dst = strdup(v);
    return *dst ? 0 : CAIRN_ENOMEM;
}

static int copy_b64(unsigned char **dst, size_t *len, const char *v, const char *what,
                    const char *file, struct cairn_err *err)
{
    if (!v || !*v)
        return 0;
    *dst = cairn_k8s_base64_decode(v, strlen(v), len);
    if (!*dst)
        return cairn_err_set(err, CAIRN_EINVAL, "kubeconfig %s: %s is not valid base64",
                             file, what);
    return 0;
}

static int is_true(const char *v)
{
    return v && (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 || strcmp(v, "1") == 0);
}

static char **str_list(struct fy_node *seq, int *rc)
{
    size_t n = seq && fy_node_is_sequence(seq) ? (size_t)fy_node_sequence_item_count(seq) : 0;
    char **v = calloc(n + 1, sizeof *v);
    if (!v) {
        *rc = CAIRN_ENOMEM;
        return NULL;
    }
    void *it = NULL;
    struct fy_node *e;
    size_t i = 0;
    while (n && (e = fy_node_sequence_iterate(seq, &it)) != NULL && i < n) {
        const char *s = fy_node_is_scalar(e) ? fy_node_get_scalar0(e) : NULL;
        if (!s)
            continue;
        if (!(v[i++] = strdup(s))) {
            *rc = CAIRN_ENOMEM;
            return v;
        }
    }
    return v;
}

static int load_exec(struct cairn_k8s_exec *x, struct fy_node *ex, const struct kfile *kf,
                     struct cairn_err *err)
{
    const char *cmd = scalar(ex, "command");
    if (!cmd || !*cmd)
        return cairn_err_set(err, CAIRN_EINVAL, "kubeconfig %s: users[].user.exec has no "
                             "command", kf->path);
    int rc = strchr(cmd, '/') ? copy_path(&x->command, cmd, kf) : copy_str(&x->command, cmd);
    if (rc == 0)
        rc = copy_str(&x->api_version, scalar(ex, "apiVersion"));
    if (rc)
        return rc;
    x->args = str_list(fy_node_mapping_lookup_by_string(ex, "args", FY_NT), &rc);
    if (rc)
        return rc;
    struct fy_node *env = fy_node_mapping_lookup_by_string(ex, "env", FY_NT);
    size_t n = env && fy_node_is_sequence(env) ? (size_t)fy_node_sequence_item_count(env) : 0;
    x->env = calloc(n + 1, sizeof *x->env);
    if (!x->env)
        return CAIRN_ENOMEM;
    void *it = NULL;
    struct fy_node *e;
    size_t i = 0;
    while (n && (e = fy_node_sequence_iterate(env, &it)) != NULL && i < n) {
        const char *name = scalar(e, "name"), *value = scalar(e, "value");
        if (!name)
            return cairn_err_set(err, CAIRN_EINVAL, "kubeconfig %s: exec env entry without "
                                 "name", kf->path);
        size_t len = strlen(name) + (value ? strlen(value) : 0) + 2;
        if (!(x->env[i] = malloc(len)))
            return CAIRN_ENOMEM;
        snprintf(x->env[i++], len, "%s=%s", name, value ? value : "");
    }
    return 0;
}

static int load_from_kset(struct cairn_k8s_conn *c, struct kset *ks, const char *want_ctx,
                          struct cairn_err *err)
{
    const char *ctx_name = want_ctx;
    for (int i = 0; !ctx_name && i < ks->n; i++) {
        const char *cc = scalar(fy_document_root(ks->f[i].doc), "current-context");
        if (cc && *cc)
            ctx_name = cc;
    }
    if (!ctx_name)
        return cairn_err_set(err, CAIRN_EINVAL, "kubeconfig %s: no current-context and no "
                             "--context", ks->f[0].path);
    struct kfile *kf = NULL;
    struct fy_node *ctx = find_named(ks, "contexts", "context", ctx_name, &kf);
    if (!ctx)
        return cairn_err_set(err, CAIRN_ENOTFOUND, "kubeconfig: context \"%s\" not found",
                             ctx_name);
    const char *cluster_name = scalar(ctx, "cluster"), *user_name = scalar(ctx, "user");
    int rc = copy_str(&c->context, ctx_name);
    if (rc == 0)
        rc = copy_str(&c->namespace, scalar(ctx, "namespace"));
    if (rc)
        return rc;
    if (!cluster_name)
        return cairn_err_set(err, CAIRN_EINVAL, "kubeconfig %s: context \"%s\" has no cluster",
                             kf->path, ctx_name);
    struct fy_node *cl = find_named(ks, "clusters", "cluster", cluster_name, &kf);
    if (!cl)
        return cairn_err_set(err, CAIRN_ENOTFOUND, "kubeconfig: cluster \"%s\" (of context "
                             "\"%s\") not found", cluster_name, ctx_name);
    const char *server = scalar(cl, "server");
    if (!server || !*server)
        return cairn_err_set(err, CAIRN_EINVAL, "kubeconfig %s: cluster \"%s\" has no server",
                             kf->path, cluster_name);
    if ((rc = copy_str(&c->server, server)) != 0)
        return rc;
    size_t sl = strlen(c->server);
    while (sl > 0 && c->server[sl - 1] == '/')
        c->server[--sl] = '\0';
    if ((rc = copy_path(&c->ca_file, scalar(cl, "certificate-authority"), kf)) ||
        (rc = copy_b64(&c->ca_data, &c->ca_data_len, scalar(cl, "certificate-authority-data"),
                       "certificate-authority-data", kf->path, err)) ||
        (rc = copy_str(&c->tls_server_name, scalar(cl, "tls-server-name"))))
        return rc;
    c->insecure = is_true(scalar(cl, "insecure-skip-tls-verify"));
    if (!user_name)
        return 0; /* anonymous */
    struct fy_node *u = find_named(ks, "users", "user", user_name, &kf);
    if (!u)
        return cairn_err_set(err, CAIRN_ENOTFOUND, "kubeconfig: user \"%s\" (of context "
                             "\"%s\") not found", user_name, ctx_name);
    if ((rc = copy_str(&c->token, scalar(u, "token"))) ||
        (rc = copy_path(&c->token_file, scalar(u, "tokenFile"), kf)) ||
        (rc = copy_path(&c->cert_file, scalar(u, "client-certificate"), kf)) ||
        (rc = copy_path(&c->key_file, scalar(u, "client-key"), kf)) ||
        (rc = copy_b64(&c->cert_data, &c->cert_data_len, scalar(u, "client-certificate-data"),
                       "client-certificate-data", kf->path, err)) ||
        (rc = copy_b64(&c->key_data, &c->key_data_len, scalar(u, "client-key-data"),
                       "client-key-data", kf->path, err)) ||
        (rc = copy_str(&c->username, scalar(u, "username"))) ||
        (rc = copy_str(&c->password, scalar(u, "password"))))
        return rc;
    struct fy_node *ex = fy_node_mapping_lookup_by_string(u, "exec", FY_NT);
    if (ex && fy_node_is_mapping(ex))
        return load_exec(&c->exec, ex, kf, err);
    return 0;
}

static char *read_small(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(65536 + 1);
    size_t n = buf ? fread(buf, 1, 65536, f) : 0;
    fclose(f);
    if (!buf)
        return NULL;
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static int load_in_cluster(struct cairn_k8s_conn *c, const struct cairn_k8s_load_opts *o,
                           struct cairn_err *err)
{
    const char *dir = o->sa_dir ? o->sa_dir : CAIRN_K8S_SA_DIR;
    char path[4096];
    const char *host = o->service_host, *port = o->service_port ? o->service_port : "443";
    size_t n = strlen(host) + strlen(port) + 16;
    if (!(c->server = malloc(n)))
        return CAIRN_ENOMEM;
    /* An IPv6 service address needs brackets in a URL. */
    snprintf(c->server, n, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port);
    c->in_cluster = 1;
    snprintf(path, sizeof path, "%s/token", dir);
    if (!file_exists(path))
        return cairn_err_set(err, CAIRN_ENOTFOUND, "in-cluster: no service account token at "
                             "%s", path);
    if (copy_str(&c->token_file, path))
        return CAIRN_ENOMEM;
    snprintf(path, sizeof path, "%s/ca.crt", dir);
    if (file_exists(path) && copy_str(&c->ca_file, path))
        return CAIRN_ENOMEM;
    snprintf(path, sizeof path, "%s/namespace", dir);
    char *ns = read_small(path, NULL);
    if (ns) {
        ns[strcspn(ns, " \r\n")] = '\0';
        if (*ns)
            c->namespace = ns;
        else
            free(ns);
    }
    return 0;
}

int cairn_k8s_conn_load(struct cairn_k8s_conn *c, const struct cairn_k8s_load_opts *o,
                        struct cairn_err *err)
{
    memset(c, 0, sizeof *c);
    struct kset ks = {.n = 0};
    int rc = 0;
    if (o->kubeconfig) {
        rc = kset_add(&ks, o->kubeconfig, 1, err);
    } else if (o->kubeconfig_env && *o->kubeconfig_env) {
        char *list = strdup(o->kubeconfig_env), *save = NULL;
        if (!list)
            return CAIRN_ENOMEM;
        for (char *p = strtok_r(list, ":", &save); p && rc == 0; p = strtok_r(NULL, ":", &save)) {
            int dup = 0; /* kubectl ignores a file named twice */
            for (int i = 0; i < ks.n; i++)
                dup |= strcmp(ks.f[i].path, p) == 0;
            if (!dup)
                rc = kset_add(&ks, p, 0, err);
        }
        free(list);
    } else if (o->home) {
        char path[4096];
        snprintf(path, sizeof path, "%s/.kube/config", o->home);
        rc = kset_add(&ks, path, 0, err);
    }
    if (rc == 0 && ks.n > 0) {
        rc = load_from_kset(c, &ks, o->context, err);
        if (rc == 0)
            CAIRN_INFO("k8s", "using kubeconfig", "file=%s context=%s server=%s",
                       ks.f[0].path, c->context, c->server);
    } else if (rc == 0) {
        if (o->service_host && *o->service_host) {
            rc = load_in_cluster(c, o, err);
            if (rc == 0)
                CAIRN_INFO("k8s", "using in-cluster config", "server=%s", c->server);
        } else {
            rc = cairn_err_set(err, CAIRN_ENOTFOUND, "no kubeconfig (--kubeconfig, $KUBECONFIG, "
                               "~/.kube/config) and not in a cluster "
                               "(KUBERNETES_SERVICE_HOST unset)");
        }
    }
    if (rc == CAIRN_ENOMEM)
        cairn_err_set(err, rc, "out of memory loading kubeconfig");
    kset_free(&ks);
    return rc;
}

static void free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

void cairn_k8s_conn_deinit(struct cairn_k8s_conn *c)
{
    if (!c)
        return;
    free(c->server);
    free(c->context);
    free(c->namespace);
    free(c->ca_file);
    free(c->ca_data);
    free(c->tls_server_name);
    free(c->cert_file);
    free(c->key_file);
    free(c->cert_data);
    free(c->key_data);
    free(c->token);
    free(c->token_file);
    free(c->username);
    free(c->password);
    free(c->exec.command);
    free_strv(c->exec.args);
    free_strv(c->exec.env);
    free(c->exec.api_version);
    memset(c, 0, sizeof *c);
}
