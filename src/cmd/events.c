/* events.c -- 'cairn events': the Kubernetes event router. Parses flags, finds the API
 * server (kubeconfig or in-cluster), picks a sink, serves /metrics, runs the router. */
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/config.h"
#include "cairn/k8s.h"
#include "cairn/k8s_events_config.h"
#include "cairn/k8s_router.h"
#include "cairn/log.h"
#include "cmd/cmd.h"

/* The one thing a signal handler may touch; main's, not a library's. */
static volatile sig_atomic_t events_stop;

static void on_signal(int sig)
{
    (void)sig;
    events_stop = 1;
}

/* Run the router with a loaded config; the exit status. */
static int run(const struct cairn_events_config *cfg)
{
    struct cairn_k8s_load_opts lo = {
        .kubeconfig = cfg->kubernetes.kubeconfig,
        .context = cfg->kubernetes.context,
        .sa_dir = cfg->kubernetes.serviceaccount_dir,
    };
    struct cairn_k8s_router_opts ro = {
        .events_v1 = cfg->watch.api == CAIRN_EVENTS_API_V1,
        .skip_history = cfg->watch.skip_history,
        .field_selector = cfg->watch.field_selector,
        .page_limit = cfg->watch.page_limit,
        .watch_timeout_s = cfg->watch.watch_timeout_s,
        .old_cache_bytes = (size_t)cfg->old_cache_bytes,
        .max_events = (uint64_t)cfg->watch.max_events,
    };
    struct cairn_k8s_push_opts po = {
        .bearer_token_file = cfg->push.bearer_token_file,
        .basic_auth_username = cfg->push.username,
        .basic_auth_password_file = cfg->push.password_file,
        .tls_ca_file = cfg->push.ca_file,
        .tls_insecure_skip_verify = cfg->push.insecure_skip_verify,
    };
    int use_push = cfg->output == CAIRN_EVENTS_PUSH;
    lo.kubeconfig_env = getenv("KUBECONFIG");
    lo.home = getenv("HOME");
    lo.service_host = getenv("KUBERNETES_SERVICE_HOST");
    lo.service_port = getenv("KUBERNETES_SERVICE_PORT");
    ro.namespaces = (const char *const *)cfg->watch.namespaces.v;
    ro.nnamespaces = cfg->watch.namespaces.n;
    ro.types = (const char *const *)cfg->watch.types.v;
    ro.ntypes = cfg->watch.types.n;
    ro.reasons = (const char *const *)cfg->watch.reasons.v;
    ro.nreasons = cfg->watch.reasons.n;
    ro.kinds = (const char *const *)cfg->watch.kinds.v;
    ro.nkinds = cfg->watch.kinds.n;
    ro.state_file = cfg->state_file && *cfg->state_file ? cfg->state_file : NULL;
    ro.stop = &events_stop;

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "cairn events: curl_global_init failed\n");
        return 1;
    }

    int status = 1;
    struct cairn_err err;
    cairn_err_clear(&err);
    struct cairn_k8s_conn conn;
    struct cairn_k8s_metrics m;
    struct cairn_k8s_sink sink = {0};
    struct cairn_k8s_http *http = NULL;
    int metrics_ok = cairn_k8s_metrics_init(&m) == 0;
    if (cairn_k8s_conn_load(&conn, &lo, &err) != 0) {
        fprintf(stderr, "cairn events: %s\n", err.msg);
        goto out;
    }
    if (use_push) {
        po.url = cfg->push.url;
        po.tenant_id = cfg->push.tenant_id;
        po.job = cfg->push.job;
        po.extra = (const char *const *)cfg->push.labels.v;
        po.nextra = cfg->push.labels.n;
        po.events_v1 = ro.events_v1;
        if (cairn_k8s_sink_push_init(&sink, &po, &err) != 0) {
            fprintf(stderr, "cairn events: %s\n", err.msg);
            goto out;
        }
    } else if (cairn_k8s_sink_stdout_init(&sink, STDOUT_FILENO) != 0) {
        fprintf(stderr, "cairn events: out of memory\n");
        goto out;
    }
    m.sink_metrics = sink.metrics;
    m.sink_ctx = sink.ctx;
    if (cfg->server.listen && *cfg->server.listen) {
        int port = 0;
        if (!(http = cairn_k8s_http_start(cfg->server.listen, &m, &port, &err))) {
            fprintf(stderr, "cairn events: %s\n", err.msg);
            goto out;
        }
        CAIRN_INFO("events", "serving /metrics and /ready", "listen=%s port=%d", cfg->server.listen, port);
    }
    if (cairn_k8s_router_run(&conn, &ro, &sink, &m, &err) != 0) {
        fprintf(stderr, "cairn events: %s\n", err.msg[0] ? err.msg : cairn_strerror(err.code));
        goto out;
    }
    status = 0;
out:
    cairn_k8s_http_stop(http);
    if (sink.destroy)
        sink.destroy(sink.ctx);
    cairn_k8s_conn_deinit(&conn);
    if (metrics_ok)
        cairn_k8s_metrics_deinit(&m);
    curl_global_cleanup();
    return status;
}

int cairn_cmd_events(int argc, char **argv)
{
    struct cairn_events_config cfg;
    struct cairn_cfg c = {0};
    struct cairn_err err;
    struct cairn_buf out = CAIRN_BUF_INIT;
    struct cairn_cfg_args args;
    cairn_err_clear(&err);
    if (cairn_cfg_init(&c, &cairn_events_config_table, &cfg, NULL, &err)) {
        fprintf(stderr, "cairn events: %s\n", err.msg);
        return 1;
    }
    int rc = cairn_cfg_load_args(
        &c, argc, argv,
        "usage: cairn events [--config FILE] [options]\n\n"
        "Watch Kubernetes Events and emit each one exactly once, as JSON lines on stdout\n"
        "(eventrouter's shape) or pushed to a Loki-compatible store.",
        &args, &out, &err);
    if (rc == 0 && args.n_pos > 0)
        rc = cairn_err_set(&err, CAIRN_EINVAL, "unexpected argument '%s' (see --help)",
                           args.pos[0]);
    cairn_cfg_args_deinit(&args);
    int status = 2;
    if (rc == CAIRN_CFG_EXIT) {
        fwrite(out.data ? out.data : "", 1, out.len, stdout);
        status = 0;
    } else if (rc) {
        fprintf(stderr, "cairn events: %s\n", err.msg);
    } else {
        cairn_log_set_level((enum cairn_log_level)cfg.server.log_level);
        status = run(&cfg);
    }
    cairn_buf_deinit(&out);
    cairn_cfg_deinit(&c);
    return status;
}
