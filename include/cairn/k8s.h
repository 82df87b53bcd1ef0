/* k8s.h -- the Kubernetes side of `cairn events`: where the API server is and how to
 * authenticate (kubeconfig or in-cluster), credentials that refresh themselves, and the
 * event router that lists and watches Events and hands each one, exactly once, to a
 * sink.
 *
 * Ownership: every struct here owns the strings and buffers it points to and frees them
 * in its _deinit/_destroy; functions taking `const char *` copy what they keep. Pointers
 * a function hands out (cairn_k8s_creds_get) stay valid until the next call on the same
 * object. Nothing here is thread-safe except the metrics counters (see k8s_metrics.h). */
#ifndef CAIRN_K8S_H
#define CAIRN_K8S_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/error.h"

/* An exec credential plugin (users[].user.exec). */
struct cairn_k8s_exec {
    char *command;     /* resolved against the kubeconfig's directory if relative with '/' */
    char **args;       /* NULL-terminated */
    char **env;        /* "NAME=VALUE", NULL-terminated; added to the inherited env */
    char *api_version; /* client.authentication.k8s.io/v1 or v1beta1 */
};

/* Where the API server is and how to authenticate, as a kubeconfig context (or the
 * in-cluster service account) resolves. Blobs (*_data) are decoded PEM bytes. */
struct cairn_k8s_conn {
    char *server;          /* "https://host:port", no trailing slash */
    char *context;         /* the context used (NULL in-cluster) */
    char *namespace;       /* the context's namespace, or the pod's; may be NULL */
    int in_cluster;
    /* TLS */
    char *ca_file;
    unsigned char *ca_data;
    size_t ca_data_len;
    int insecure;          /* insecure-skip-tls-verify */
    char *tls_server_name;
    /* client certificate */
    char *cert_file, *key_file;
    unsigned char *cert_data, *key_data;
    size_t cert_data_len, key_data_len;
    /* bearer token, inline or from a file re-read when it changes */
    char *token;
    char *token_file;
    /* basic auth */
    char *username, *password;
    /* exec plugin (exec.command != NULL when set) */
    struct cairn_k8s_exec exec;
};

/* Inputs of the connection lookup; all optional (NULL). The environment is passed in,
 * not read, so tests can say what it is. */
struct cairn_k8s_load_opts {
    const char *kubeconfig;     /* --kubeconfig: only this file */
    const char *context;        /* --context: instead of current-context */
    const char *kubeconfig_env; /* $KUBECONFIG: colon-separated files, merged */
    const char *home;           /* $HOME: ~/.kube/config */
    const char *service_host;   /* $KUBERNETES_SERVICE_HOST */
    const char *service_port;   /* $KUBERNETES_SERVICE_PORT */
    const char *sa_dir;         /* default /var/run/secrets/kubernetes.io/serviceaccount */
};

#define CAIRN_K8S_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

/* Resolve a connection: --kubeconfig, else $KUBECONFIG (merged like kubectl: for each
 * cluster, user and context name the first file that defines it wins, current-context
 * from the first file that sets it), else ~/.kube/config, else in-cluster. Relative
 * file paths resolve against the directory of the kubeconfig that named them.
 * Returns 0, or CAIRN_ENOTFOUND (nothing to connect to), CAIRN_EINVAL (bad file: err
 * names it and the key), CAIRN_EIO, CAIRN_ENOMEM. On failure c is left deinit-able. */
int cairn_k8s_conn_load(struct cairn_k8s_conn *c, const struct cairn_k8s_load_opts *o,
                        struct cairn_err *err);
void cairn_k8s_conn_deinit(struct cairn_k8s_conn *c);

/* The credentials to send now. Pointers stay valid until the next cairn_k8s_creds_get
 * or _invalidate on the same creds. */
struct cairn_k8s_auth {
    const char *token;                 /* Authorization: Bearer (NULL: none) */
    const char *username, *password;   /* basic auth (NULL: none) */
    const unsigned char *cert, *key;   /* client certificate PEM blobs (NULL: none) */
    size_t cert_len, key_len;
    const char *cert_file, *key_file;  /* or files */
};

struct cairn_k8s_creds;

/* Credentials over a connection (which must outlive them). NULL on ENOMEM. */
struct cairn_k8s_creds *cairn_k8s_creds_create(const struct cairn_k8s_conn *c);
void cairn_k8s_creds_destroy(struct cairn_k8s_creds *cr);
/* Fill *out with what to send: re-reads a token file whose mtime or size changed, runs
 * the exec plugin when it has no credential or the one it has expires within a minute.
 * now_ns is the wall clock (a parameter so tests can move it). 0, or CAIRN_EIO /
 * CAIRN_EINVAL with err saying which file or plugin failed. */
int cairn_k8s_creds_get(struct cairn_k8s_creds *cr, int64_t now_ns,
                        struct cairn_k8s_auth *out, struct cairn_err *err);
/* Forget cached tokens (after a 401): the next _get reads or runs again. */
void cairn_k8s_creds_invalidate(struct cairn_k8s_creds *cr);

/* Parse RFC3339 ("2026-11-25T19:30:00Z", fractions and offsets allowed) to unix ns.
 * 0 or CAIRN_EINVAL. */
int cairn_k8s_parse_time(const char *s, int64_t *ns);
/* Decode standard base64 (whitespace ignored). Returns a malloc'd buffer (NUL-terminated
 * for convenience) and its length, or NULL on bad input / ENOMEM. */
unsigned char *cairn_k8s_base64_decode(const char *s, size_t len, size_t *out_len);

#endif
