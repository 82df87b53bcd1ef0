/* events.c -- 'cairn events': the Kubernetes event router. Parses flags, finds the API
 * server (kubeconfig or in-cluster), picks a sink, serves /metrics, runs the router. */
#include <curl/curl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/k8s.h"
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

#define MAX_LIST 64

struct strlist {
    const char *v[MAX_LIST];
    size_t n;
};

static int add(struct strlist *l, const char *v, const char *flag)
{
    if (l->n == MAX_LIST) {
        fprintf(stderr, "cairn events: at most %d %s flags\n", MAX_LIST, flag);
        return -1;
    }
    l->v[l->n++] = v;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: cairn events [options]\n\n"
        "Watch Kubernetes Events and emit each one exactly once, as JSON lines on stdout\n"
        "(eventrouter's shape) or pushed to a Loki-compatible store.\n\n"
        "connection (in-cluster when no kubeconfig is found):\n"
        "  --kubeconfig FILE       kubeconfig (default: $KUBECONFIG, then ~/.kube/config)\n"
        "  --context NAME          kubeconfig context (default: current-context)\n"
        "what to watch:\n"
        "  --api core|events.k8s.io  API group of Events (default core)\n"
        "  --namespace NS          a namespace to watch; repeatable (default: all)\n"
        "  --field-selector SEL    server-side field selector, e.g. type=Warning\n"
        "  --type T, --reason R, --kind K   keep only these; each repeatable\n"
        "output:\n"
        "  --output stdout|push    where events go (default stdout)\n"
        "  --push-url URL          Loki-compatible push URL (with --output push)\n"
        "  --job NAME              job label for pushed events (default events)\n"
        "  --label NAME=PATH       extra label from the event's JSON path (a.b.c); repeatable\n"
        "  --tenant ID             X-Scope-OrgID for pushes (default none)\n"
        "  --push-bearer-token-file F, --push-username U, --push-password-file F\n"
        "  --push-ca-file F, --push-insecure-skip-verify   how to reach the store\n"
        "state and service:\n"
        "  --state-file FILE       what was emitted (default ./cairn-events.state; \"\" for none)\n"
        "  --skip-history          first start: do not emit the events already listed\n"
        "  --listen ADDR:PORT      serve /metrics and /ready there\n"
        "  --page-limit N          list page size (default 500)\n"
        "  --watch-timeout S       server-side watch timeout in seconds (default 300)\n"
        "  --old-cache-bytes N     memory for previous versions (old_event; default 2 MiB)\n"
        "  --max-events N          stop after N events (tests, benchmarks)\n"
        "  --log-level L           debug, info, warn, error (default info)\n");
}

enum {
    O_KUBECONFIG = 256, O_CONTEXT, O_API, O_NAMESPACE, O_OUTPUT, O_PUSH_URL, O_STATE,
    O_SKIP_HISTORY, O_LISTEN, O_FIELD_SELECTOR, O_TYPE, O_REASON, O_KIND, O_JOB, O_LABEL,
    O_TENANT, O_PUSH_TOKEN_FILE, O_PUSH_USER, O_PUSH_PASSWORD_FILE, O_PUSH_CA, O_PUSH_INSECURE,
    O_PAGE_LIMIT, O_WATCH_TIMEOUT, O_OLD_CACHE, O_MAX_EVENTS, O_LOG_LEVEL, O_SA_DIR, O_HELP,
};

static const struct option longopts[] = {
    {"kubeconfig", required_argument, NULL, O_KUBECONFIG},
    {"context", required_argument, NULL, O_CONTEXT},
    {"api", required_argument, NULL, O_API},
    {"namespace", required_argument, NULL, O_NAMESPACE},
    {"output", required_argument, NULL, O_OUTPUT},
    {"push-url", required_argument, NULL, O_PUSH_URL},
    {"state-file", required_argument, NULL, O_STATE},
    {"skip-history", no_argument, NULL, O_SKIP_HISTORY},
    {"listen", required_argument, NULL, O_LISTEN},
    {"field-selector", required_argument, NULL, O_FIELD_SELECTOR},
    {"type", required_argument, NULL, O_TYPE},
    {"reason", required_argument, NULL, O_REASON},
    {"kind", required_argument, NULL, O_KIND},
    {"job", required_argument, NULL, O_JOB},
    {"label", required_argument, NULL, O_LABEL},
    {"tenant", required_argument, NULL, O_TENANT},
    {"push-bearer-token-file", required_argument, NULL, O_PUSH_TOKEN_FILE},
    {"push-username", required_argument, NULL, O_PUSH_USER},
    {"push-password-file", required_argument, NULL, O_PUSH_PASSWORD_FILE},
    {"push-ca-file", required_argument, NULL, O_PUSH_CA},
    {"push-insecure-skip-verify", no_argument, NULL, O_PUSH_INSECURE},
    {"page-limit", required_argument, NULL, O_PAGE_LIMIT},
    {"watch-timeout", required_argument, NULL, O_WATCH_TIMEOUT},
    {"old-cache-bytes", required_argument, NULL, O_OLD_CACHE},
    {"max-events", required_argument, NULL, O_MAX_EVENTS},
    {"log-level", required_argument, NULL, O_LOG_LEVEL},
    {"serviceaccount-dir", required_argument, NULL, O_SA_DIR}, /* tests: in-cluster files */
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};

static int parse_num(const char *flag, const char *v, long long min, long long *out)
{
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n < min) {
        fprintf(stderr, "cairn events: %s %s: want an integer >= %lld\n", flag, v, min);
        return -1;
    }
    *out = n;
    return 0;
}

int cairn_cmd_events(int argc, char **argv)
{
    struct cairn_k8s_load_opts lo = {0};
    struct cairn_k8s_router_opts ro = {0};
    struct cairn_k8s_push_opts po = {0};
    struct strlist ns = {0}, types = {0}, reasons = {0}, kinds = {0}, labels = {0};
    const char *output = "stdout", *push_url = NULL, *listen = NULL, *job = "events";
    const char *tenant = NULL;
    const char *state = "./cairn-events.state";
    long long n;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_KUBECONFIG: lo.kubeconfig = optarg; break;
        case O_CONTEXT: lo.context = optarg; break;
        case O_API:
            if (strcmp(optarg, "core") == 0 || strcmp(optarg, "v1") == 0) {
                ro.events_v1 = 0;
            } else if (strcmp(optarg, "events.k8s.io") == 0 ||
                       strcmp(optarg, "events.k8s.io/v1") == 0) {
                ro.events_v1 = 1;
            } else {
                fprintf(stderr, "cairn events: --api %s: want core or events.k8s.io\n", optarg);
                return 2;
            }
            break;
        case O_NAMESPACE: if (add(&ns, optarg, "--namespace")) return 2; break;
        case O_TYPE: if (add(&types, optarg, "--type")) return 2; break;
        case O_REASON: if (add(&reasons, optarg, "--reason")) return 2; break;
        case O_KIND: if (add(&kinds, optarg, "--kind")) return 2; break;
        case O_LABEL: if (add(&labels, optarg, "--label")) return 2; break;
        case O_OUTPUT: output = optarg; break;
        case O_PUSH_URL: push_url = optarg; break;
        case O_STATE: state = optarg; break;
        case O_SKIP_HISTORY: ro.skip_history = 1; break;
        case O_LISTEN: listen = optarg; break;
        case O_FIELD_SELECTOR: ro.field_selector = optarg; break;
        case O_JOB: job = optarg; break;
        case O_TENANT: tenant = optarg; break;
        case O_PUSH_TOKEN_FILE: po.bearer_token_file = optarg; break;
        case O_PUSH_USER: po.basic_auth_username = optarg; break;
        case O_PUSH_PASSWORD_FILE: po.basic_auth_password_file = optarg; break;
        case O_PUSH_CA: po.tls_ca_file = optarg; break;
        case O_PUSH_INSECURE: po.tls_insecure_skip_verify = 1; break;
        case O_PAGE_LIMIT:
            if (parse_num("--page-limit", optarg, 1, &n)) return 2;
            ro.page_limit = (int)n;
            break;
        case O_WATCH_TIMEOUT:
            if (parse_num("--watch-timeout", optarg, 1, &n)) return 2;
            ro.watch_timeout_s = (int)n;
            break;
        case O_OLD_CACHE:
            if (parse_num("--old-cache-bytes", optarg, 0, &n)) return 2;
            ro.old_cache_bytes = (size_t)n;
            break;
        case O_MAX_EVENTS:
            if (parse_num("--max-events", optarg, 0, &n)) return 2;
            ro.max_events = (uint64_t)n;
            break;
        case O_LOG_LEVEL: {
            enum cairn_log_level lvl;
            if (cairn_log_parse_level(optarg, &lvl) != 0) {
                fprintf(stderr, "cairn events: --log-level %s: want debug, info, warn or error\n",
                        optarg);
                return 2;
            }
            cairn_log_set_level(lvl);
            break;
        }
        case O_SA_DIR: lo.sa_dir = optarg; break;
        case O_HELP:
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "cairn events: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    int use_push = strcmp(output, "push") == 0;
    if (!use_push && strcmp(output, "stdout") != 0) {
        fprintf(stderr, "cairn events: --output %s: want stdout or push\n", output);
        return 2;
    }
    if (use_push && !push_url) {
        fprintf(stderr, "cairn events: --output push needs --push-url\n");
        return 2;
    }
    lo.kubeconfig_env = getenv("KUBECONFIG");
    lo.home = getenv("HOME");
    lo.service_host = getenv("KUBERNETES_SERVICE_HOST");
    lo.service_port = getenv("KUBERNETES_SERVICE_PORT");
    ro.namespaces = ns.v;
    ro.nnamespaces = ns.n;
    ro.types = types.v;
    ro.ntypes = types.n;
    ro.reasons = reasons.v;
    ro.nreasons = reasons.n;
    ro.kinds = kinds.v;
    ro.nkinds = kinds.n;
    ro.state_file = state && *state ? state : NULL;
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
        po.url = push_url;
        po.tenant_id = tenant;
        po.job = job;
        po.extra = labels.v;
        po.nextra = labels.n;
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
    if (listen) {
        int port = 0;
        if (!(http = cairn_k8s_http_start(listen, &m, &port, &err))) {
            fprintf(stderr, "cairn events: %s\n", err.msg);
            goto out;
        }
        CAIRN_INFO("events", "serving /metrics and /ready", "listen=%s port=%d", listen, port);
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
