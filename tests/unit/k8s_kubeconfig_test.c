/* k8s_kubeconfig_test.c -- kubeconfig lookup and merging as kubectl does it, in-cluster
 * files, and what each credential kind sends (token, tokenFile with rotation, client
 * certificate data and files, basic auth, exec plugin with expiry). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cairn/k8s.h"
#include "testutil.h"

struct fx {
    char *dir;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    f->dir = test_mkdtemp("k8s-kc");
    *state = f;
    return f->dir ? 0 : -1;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    test_rmdir_r(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static char *path_in(struct fx *f, const char *name)
{
    char *p = malloc(strlen(f->dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", f->dir, name);
    return p;
}

static char *write_file(struct fx *f, const char *name, const char *text)
{
    char *p = path_in(f, name);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    return p;
}

static const char *KC_A =
    "apiVersion: v1\nkind: Config\ncurrent-context: a-ctx\n"
    "clusters:\n"
    "- name: shared\n  cluster:\n    server: https://a.example:6443/\n"
    "    certificate-authority: certs/ca.crt\n    tls-server-name: api.internal\n"
    "- name: only-a\n  cluster:\n    server: https://only-a:443\n"
    "    certificate-authority-data: aGVsbG8=\n    insecure-skip-tls-verify: true\n"
    "users:\n- name: alice\n  user:\n    token: tok-a\n"
    "contexts:\n- name: a-ctx\n  context:\n    cluster: shared\n    user: alice\n"
    "    namespace: payments\n"
    "- name: shared-ctx\n  context:\n    cluster: only-a\n    user: alice\n";

static const char *KC_B =
    "apiVersion: v1\nkind: Config\ncurrent-context: b-ctx\n"
    "clusters:\n"
    "- name: shared\n  cluster:\n    server: https://b.example:6443\n"
    "- name: only-b\n  cluster:\n    server: https://only-b:6443\n"
    "users:\n- name: alice\n  user:\n    token: tok-b\n"
    "- name: bob\n  user:\n    username: bob\n    password: hunter2\n"
    "contexts:\n- name: b-ctx\n  context:\n    cluster: only-b\n    user: bob\n"
    "- name: shared-ctx\n  context:\n    cluster: only-b\n    user: bob\n";

static void merge_first_file_wins(void **state)
{
    struct fx *f = *state;
    char *a = write_file(f, "a.yaml", KC_A), *b = write_file(f, "b.yaml", KC_B);
    char env[4096];
    snprintf(env, sizeof env, "%s/missing.yaml:%s:%s:%s", f->dir, a, b, a);
    struct cairn_k8s_load_opts o = {.kubeconfig_env = env, .home = f->dir};
    struct cairn_k8s_conn c;
    struct cairn_err err;
    cairn_err_clear(&err);
    assert_int_equal(cairn_k8s_conn_load(&c, &o, &err), 0);
    /* current-context from the first file that sets it; cluster "shared" from a */
    assert_string_equal(c.context, "a-ctx");
    assert_string_equal(c.server, "https://a.example:6443");
    assert_string_equal(c.namespace, "payments");
    assert_string_equal(c.token, "tok-a");
    assert_string_equal(c.tls_server_name, "api.internal");
    char *ca = path_in(f, "certs/ca.crt"); /* relative to a.yaml's directory */
    assert_string_equal(c.ca_file, ca);
    free(ca);
    cairn_k8s_conn_deinit(&c);

    /* --context picks a context defined in both: a's wins (cluster only-a) */
    o.context = "shared-ctx";
    assert_int_equal(cairn_k8s_conn_load(&c, &o, &err), 0);
    assert_string_equal(c.server, "https://only-a:443");
    assert_int_equal(c.insecure, 1);
    assert_int_equal(c.ca_data_len, 5);
    assert_memory_equal(c.ca_data, "hello", 5);
    cairn_k8s_conn_deinit(&c);

    /* a context only in b, whose user only b has */
    o.context = "b-ctx";
    assert_int_equal(cairn_k8s_conn_load(&c, &o, &err), 0);
    assert_string_equal(c.server, "https://only-b:6443");
    assert_string_equal(c.username, "bob");
    assert_string_equal(c.password, "hunter2");
    assert_null(c.token);
    cairn_k8s_conn_deinit(&c);

    /* b first: now b's entries win */
    snprintf(env, sizeof env, "%s:%s", b, a);
    o.context = NULL;
    assert_int_equal(cairn_k8s_conn_load(&c, &o, &err), 0);
    assert_string_equal(c.context, "b-ctx");
    cairn_k8s_conn_deinit(&c);
    o.context = "a-ctx";
    assert_int_equal(cairn_k8s_conn_load(&c, &o, &err), 0);
    assert_string_equal(c.server, "https://b.example:6443"); /* cluster "shared" of b */
    assert_string_equal(c.token, "tok-b");                   /* user "alice" of b */
    cairn_k8s_conn_deinit(&c);

    /* unknown context: an error naming it */
    o.context = "nope";
    assert_int_equal(cairn_k8s_conn_load(&c, &o, &err), CAIRN_ENOTFOUND);
    assert_non_null(strstr(err.msg, "\"nope\""));
    cairn_k8s_conn_deinit(&c);
    free(a);
    free(b);
}

static void explicit_file_home_and_in_cluster(void **state)
{
    struct fx *f = *state;
    char *a = write_file(f, "a.yaml", KC_A);
    char *b = write_file(f, "b.yaml", KC_B);
    struct cairn_k8s_conn c;
    struct cairn_err err;
    /* --kubeconfig beats $KUBECONFIG */
    struct cairn_k8s_load_opts o = {.kubeconfig = b, .kubeconfig_env = a};
    assert_int_equal(cairn_k8s_conn_load(&c, &o, &err), 0);
    assert_string_equal(c.context, "b-ctx");
    cairn_k8s_conn_deinit(&c);
    /* a missing --kubeconfig is an error, not a fallback */
    char *missing = path_in(f, "missing");
    o.kubeconfig = missing;
    assert_int_equal(cairn_k8s_conn_load(&c, &o, &err), CAIRN_ENOTFOUND);
    assert_non_null(strstr(err.msg, missing));
    cairn_k8s_conn_deinit(&c);
    /* ~/.kube/config */
    char *kube = path_in(f, ".kube");
    mkdir(kube, 0755);
    free(write_file(f, ".kube/config", KC_B));
    struct cairn_k8s_load_opts oh = {.home = f->dir, .service_host = "10.0.0.1"};
    assert_int_equal(cairn_k8s_conn_load(&c, &oh, &err), 0);
    assert_string_equal(c.context, "b-ctx");
    assert_int_equal(c.in_cluster, 0);
    cairn_k8s_conn_deinit(&c);
    /* nothing: in-cluster from the service account dir */
    char *sa = path_in(f, "sa");
    mkdir(sa, 0755);
    free(write_file(f, "sa/token", "sa-token\n"));
    free(write_file(f, "sa/ca.crt", "pem"));
    free(write_file(f, "sa/namespace", "kube-system\n"));
    struct cairn_k8s_load_opts oi = {.home = sa, .service_host = "10.96.0.1",
                                     .service_port = "443", .sa_dir = sa};
    assert_int_equal(cairn_k8s_conn_load(&c, &oi, &err), 0);
    assert_int_equal(c.in_cluster, 1);
    assert_string_equal(c.server, "https://10.96.0.1:443");
    assert_string_equal(c.namespace, "kube-system");
    assert_non_null(strstr(c.token_file, "sa/token"));
    assert_non_null(strstr(c.ca_file, "sa/ca.crt"));
    cairn_k8s_conn_deinit(&c);
    oi.service_host = "fd00::1";
    assert_int_equal(cairn_k8s_conn_load(&c, &oi, &err), 0);
    assert_string_equal(c.server, "https://[fd00::1]:443");
    cairn_k8s_conn_deinit(&c);
    /* neither */
    oi.service_host = NULL;
    assert_int_equal(cairn_k8s_conn_load(&c, &oi, &err), CAIRN_ENOTFOUND);
    cairn_k8s_conn_deinit(&c);
    /* a file that is not YAML */
    char *bad = write_file(f, "bad.yaml", "clusters: [\n  - {{{\n");
    struct cairn_k8s_load_opts ob = {.kubeconfig = bad};
    assert_int_equal(cairn_k8s_conn_load(&c, &ob, &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "bad.yaml"));
    cairn_k8s_conn_deinit(&c);
    /* invalid UTF-8 in a directive line: libfyaml looped forever on it (found by
     * k8s_kubeconfig_fuzz); refused before it gets there */
    char *hang = write_file(f, "hang.yaml", "contexts:\n% name: \xff\xff\xff\xffk\n");
    struct cairn_k8s_load_opts oh2 = {.kubeconfig = hang};
    assert_int_equal(cairn_k8s_conn_load(&c, &oh2, &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "not valid UTF-8"));
    cairn_k8s_conn_deinit(&c);
    free(hang);
    free(a);
    free(b);
    free(missing);
    free(kube);
    free(sa);
    free(bad);
}

static struct cairn_k8s_creds *load_creds(struct fx *f, const char *user_yaml,
                                          struct cairn_k8s_conn *c)
{
    char text[4096];
    snprintf(text, sizeof text,
             "current-context: x\nclusters:\n- name: c\n  cluster:\n    server: https://s\n"
             "contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
             "users:\n- name: u\n  user:\n%s", user_yaml);
    char *p = write_file(f, "creds.yaml", text);
    struct cairn_k8s_load_opts o = {.kubeconfig = p};
    struct cairn_err err;
    assert_int_equal(cairn_k8s_conn_load(c, &o, &err), 0);
    free(p);
    struct cairn_k8s_creds *cr = cairn_k8s_creds_create(c);
    assert_non_null(cr);
    return cr;
}

static void cred_token_and_basic(void **state)
{
    struct fx *f = *state;
    struct cairn_k8s_conn c;
    struct cairn_k8s_auth a;
    struct cairn_err err;
    struct cairn_k8s_creds *cr = load_creds(f, "    token: abc\n", &c);
    assert_int_equal(cairn_k8s_creds_get(cr, 0, &a, &err), 0);
    assert_string_equal(a.token, "abc");
    assert_null(a.username);
    assert_null(a.cert);
    cairn_k8s_creds_destroy(cr);
    cairn_k8s_conn_deinit(&c);

    cr = load_creds(f, "    username: u1\n    password: p1\n", &c);
    assert_int_equal(cairn_k8s_creds_get(cr, 0, &a, &err), 0);
    assert_null(a.token);
    assert_string_equal(a.username, "u1");
    assert_string_equal(a.password, "p1");
    cairn_k8s_creds_destroy(cr);
    cairn_k8s_conn_deinit(&c);
}

static void cred_token_file_rotates(void **state)
{
    struct fx *f = *state;
    free(write_file(f, "tok", "first\n"));
    struct cairn_k8s_conn c;
    struct cairn_k8s_auth a;
    struct cairn_err err;
    struct cairn_k8s_creds *cr = load_creds(f, "    tokenFile: tok\n", &c); /* relative */
    assert_int_equal(cairn_k8s_creds_get(cr, 0, &a, &err), 0);
    assert_string_equal(a.token, "first");
    /* rotated as kubelet does: a new file renamed over the old one */
    free(write_file(f, "tok.new", "second-token\n"));
    char *from = path_in(f, "tok.new"), *to = path_in(f, "tok");
    assert_int_equal(rename(from, to), 0);
    assert_int_equal(cairn_k8s_creds_get(cr, 0, &a, &err), 0);
    assert_string_equal(a.token, "second-token");
    /* a vanished file is an error naming it */
    unlink(to);
    assert_int_equal(cairn_k8s_creds_get(cr, 0, &a, &err), CAIRN_EIO);
    assert_non_null(strstr(err.msg, "tok"));
    free(from);
    free(to);
    cairn_k8s_creds_destroy(cr);
    cairn_k8s_conn_deinit(&c);
}

static void cred_client_certificates(void **state)
{
    struct fx *f = *state;
    struct cairn_k8s_conn c;
    struct cairn_k8s_auth a;
    struct cairn_err err;
    /* "CERT" and "KEY" in base64 */
    struct cairn_k8s_creds *cr = load_creds(
        f, "    client-certificate-data: Q0VSVA==\n    client-key-data: S0VZ\n", &c);
    assert_int_equal(cairn_k8s_creds_get(cr, 0, &a, &err), 0);
    assert_int_equal(a.cert_len, 4);
    assert_memory_equal(a.cert, "CERT", 4);
    assert_int_equal(a.key_len, 3);
    assert_memory_equal(a.key, "KEY", 3);
    assert_null(a.cert_file);
    cairn_k8s_creds_destroy(cr);
    cairn_k8s_conn_deinit(&c);

    cr = load_creds(f, "    client-certificate: pki/c.crt\n    client-key: /abs/c.key\n", &c);
    assert_int_equal(cairn_k8s_creds_get(cr, 0, &a, &err), 0);
    assert_null(a.cert);
    char *want = path_in(f, "pki/c.crt");
    assert_string_equal(a.cert_file, want);
    assert_string_equal(a.key_file, "/abs/c.key");
    free(want);
    cairn_k8s_creds_destroy(cr);
    cairn_k8s_conn_deinit(&c);

    /* not base64: the key is named */
    char *p = write_file(f, "bad64.yaml",
                         "current-context: x\nclusters:\n- name: c\n  cluster: {server: https://s}\n"
                         "contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
                         "users:\n- name: u\n  user:\n    client-key-data: '%%%'\n");
    struct cairn_k8s_load_opts o = {.kubeconfig = p};
    assert_int_equal(cairn_k8s_conn_load(&c, &o, &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "client-key-data"));
    cairn_k8s_conn_deinit(&c);
    free(p);
}

static void cred_exec_plugin(void **state)
{
    struct fx *f = *state;
    char script[4096];
    /* prints a token naming its run; expiry from the file "exp" */
    snprintf(script, sizeof script,
             "#!/bin/sh\n[ \"$1\" = \"-x\" ] && [ \"$MYVAR\" = \"v1\" ] || exit 7\n"
             "echo r >> %s/runs\nn=$(wc -l < %s/runs | tr -d ' ')\n"
             "case \"$KUBERNETES_EXEC_INFO\" in *ExecCredential*) ;; *) exit 8;; esac\n"
             "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":"
             "\"ExecCredential\",\"status\":{\"token\":\"t%%s\",\"expirationTimestamp\":\"%%s\"}}' "
             "\"$n\" \"$(cat %s/exp)\"\n",
             f->dir, f->dir, f->dir);
    char *sp = write_file(f, "plugin.sh", script);
    chmod(sp, 0755);
    free(write_file(f, "exp", "2030-01-01T00:00:00Z"));
    struct cairn_k8s_conn c;
    struct cairn_k8s_auth a;
    struct cairn_err err;
    struct cairn_k8s_creds *cr = load_creds(
        f,
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n"
        "      command: ./plugin.sh\n      args: [\"-x\"]\n"
        "      env:\n      - name: MYVAR\n        value: v1\n",
        &c);
    int64_t exp_ns;
    assert_int_equal(cairn_k8s_parse_time("2030-01-01T00:00:00Z", &exp_ns), 0);
    int64_t now = exp_ns - 3600LL * 1000000000;
    assert_int_equal(cairn_k8s_creds_get(cr, now, &a, &err), 0);
    assert_string_equal(a.token, "t1");
    /* still valid for an hour: not run again */
    assert_int_equal(cairn_k8s_creds_get(cr, now + 1000000000LL, &a, &err), 0);
    assert_string_equal(a.token, "t1");
    /* 30 s before expiry: refreshed ahead of time */
    assert_int_equal(cairn_k8s_creds_get(cr, exp_ns - 30LL * 1000000000, &a, &err), 0);
    assert_string_equal(a.token, "t2");
    /* after a 401 the router invalidates: run again */
    cairn_k8s_creds_invalidate(cr);
    assert_int_equal(cairn_k8s_creds_get(cr, now, &a, &err), 0);
    assert_string_equal(a.token, "t3");
    /* a bad timestamp and a failing plugin are errors naming the plugin */
    free(write_file(f, "exp", "soon"));
    cairn_k8s_creds_invalidate(cr);
    assert_int_equal(cairn_k8s_creds_get(cr, now, &a, &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "expirationTimestamp"));
    cairn_k8s_creds_destroy(cr);
    cairn_k8s_conn_deinit(&c);

    cr = load_creds(f, "    exec:\n      command: ./plugin.sh\n      args: [\"-y\"]\n", &c);
    assert_int_equal(cairn_k8s_creds_get(cr, now, &a, &err), CAIRN_EIO);
    assert_non_null(strstr(err.msg, "plugin.sh"));
    assert_non_null(strstr(err.msg, "status 7"));
    cairn_k8s_creds_destroy(cr);
    cairn_k8s_conn_deinit(&c);
    free(sp);
}

static void time_and_base64(void **state)
{
    (void)state;
    int64_t ns;
    assert_int_equal(cairn_k8s_parse_time("1970-01-01T00:00:01Z", &ns), 0);
    assert_int_equal(ns, 1000000000LL);
    assert_int_equal(cairn_k8s_parse_time("1970-01-01T01:00:00.5+01:00", &ns), 0);
    assert_int_equal(ns, 500000000LL);
    assert_int_equal(cairn_k8s_parse_time("2026-11-25T19:30:00", &ns), CAIRN_EINVAL);
    assert_int_equal(cairn_k8s_parse_time("yesterday", &ns), CAIRN_EINVAL);
    /* regression: past 2262 the seconds times 1e9 overflowed int64 (UB; found by
     * docker_entry_fuzz through the Docker driver's local copy and ReadLogs' Since) */
    assert_int_equal(cairn_k8s_parse_time("4048-12-07T19:00:00Z", &ns), CAIRN_EINVAL);
    assert_int_equal(cairn_k8s_parse_time("1000-01-01T00:00:00Z", &ns), CAIRN_EINVAL);
    assert_int_equal(cairn_k8s_parse_time("2262-01-01T00:00:00Z", &ns), 0);
    size_t n;
    unsigned char *d = cairn_k8s_base64_decode("aGVs\nbG8gd29ybGQ=", 17, &n);
    assert_non_null(d);
    assert_int_equal(n, 11);
    assert_memory_equal(d, "hello world", 11);
    free(d);
    assert_null(cairn_k8s_base64_decode("a=b", 3, &n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(merge_first_file_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(explicit_file_home_and_in_cluster, setup, teardown),
        cmocka_unit_test_setup_teardown(cred_token_and_basic, setup, teardown),
        cmocka_unit_test_setup_teardown(cred_token_file_rotates, setup, teardown),
        cmocka_unit_test_setup_teardown(cred_client_certificates, setup, teardown),
        cmocka_unit_test_setup_teardown(cred_exec_plugin, setup, teardown),
        cmocka_unit_test(time_and_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
