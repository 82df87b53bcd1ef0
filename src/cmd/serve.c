/* serve.c -- 'cairn serve': load the configuration (defaults, --config FILE, options;
 * the config module's serve table), start HTTP, open the store (replaying its WAL),
 * serve until SIGTERM/SIGINT, then flush heads and exit 0. The main thread only waits
 * for signals: retention, chunk closing and WAL checkpoints run in the store's own
 * background thread (store.h). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/api.h"
#include "cairn/config_serve.h"
#include "cairn/log.h"
#include "cairn/ruler.h"
#include "cairn/ring.h"
#include "cairn/store.h"
#include "cairn/timeutil.h"
#include "cairn/ui.h"
#include "cmd/cmd.h"
#include "cmd/serve_int.h"

static int dump_config(void *ctx, struct cairn_buf *out)
{
    return cairn_serve_config_dump(ctx, out);
}

/* The web UI's files for the api's static-file hook. */
static int ui_file(const char *path, struct cairn_api_file *out)
{
    const struct cairn_ui_asset *a = cairn_ui_find(path);
    if (!a)
        return -1;
    *out = (struct cairn_api_file){a->content_type, a->data, a->len};
    return 0;
}

/* The api's view of limits_config.otlp_config: one array (*rules, freed by the caller
 * after cairn_api_create) for the three levels. 0 or CAIRN_ENOMEM. */
static int otlp_rules(const struct cairn_serve_otlp *o, struct cairn_otlp_config *out,
                      struct cairn_otlp_rule **rules)
{
    const struct cairn_cfg_list *l[3] = {&o->resource_attributes.attributes_config,
                                         &o->scope_attributes, &o->log_attributes};
    size_t n = l[0]->n + l[1]->n + l[2]->n, k = 0;
    *rules = NULL;
    out->ignore_defaults = o->resource_attributes.ignore_defaults;
    if (!n)
        return 0;
    if (!(*rules = calloc(n, sizeof **rules)))
        return CAIRN_ENOMEM;
    const struct cairn_otlp_rule *start[3];
    for (int i = 0; i < 3; i++) {
        const struct cairn_serve_otlp_rule *v = l[i]->v;
        start[i] = *rules + k;
        for (size_t j = 0; j < l[i]->n; j++)
            (*rules)[k++] = (struct cairn_otlp_rule){(enum cairn_otlp_action)v[j].action,
                                                     (const char *const *)v[j].attributes.v,
                                                     v[j].attributes.n, v[j].regex};
    }
    out->resource = start[0];
    out->n_resource = l[0]->n;
    out->scope = start[1];
    out->n_scope = l[1]->n;
    out->log = start[2];
    out->n_log = l[2]->n;
    return 0;
}

static void build_api_config(const struct cairn_serve_config *sc, struct cairn_api_config *ac,
                             char *listen, size_t cap)
{
    cairn_api_config_default(ac);
    const char *host = sc->server.http_listen_address;
    snprintf(listen, cap, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host,
             sc->server.http_listen_port);
    ac->listen = listen;
    ac->workers = (unsigned)sc->server.http_workers;
    ac->max_connections = (unsigned)sc->server.http_max_connections;
    ac->max_connections_per_ip = (unsigned)sc->server.http_max_connections_per_ip;
    ac->header_timeout_ns = sc->server.http_header_timeout_ns;
    ac->body_timeout_ns = sc->server.http_body_timeout_ns;
    ac->idle_timeout_ns = sc->server.http_idle_timeout_ns;
    const struct cairn_limits *l = &sc->limits;
    struct cairn_ingest_limits *il = &ac->limits.ingest;
    il->max_label_names = (unsigned)l->max_label_names_per_series;
    il->max_label_name_len = (unsigned)l->max_label_name_length;
    il->max_label_value_len = (unsigned)l->max_label_value_length;
    il->max_line_size = l->max_line_size;
    il->allow_structured_metadata = l->allow_structured_metadata;
    il->max_sm_size = l->max_structured_metadata_size;
    il->max_sm_entries = (size_t)l->max_structured_metadata_entries_count;
    il->reject_old_samples = l->reject_old_samples;
    il->reject_old_max_age_ns = l->reject_old_samples_max_age_ns;
    il->creation_grace_ns = l->creation_grace_period_ns;
    ac->limits.ingestion_rate_mb = l->ingestion_rate_mb;
    ac->limits.ingestion_burst_mb = l->ingestion_burst_size_mb;
    ac->limits.max_streams_per_user = (size_t)(l->max_global_streams_per_user > 0
                                                   ? l->max_global_streams_per_user : 0);
    ac->limits.max_query_series = (size_t)(l->max_query_series > 0 ? l->max_query_series : 0);
    ac->limits.query_timeout_ns = l->query_timeout_ns;
    ac->limits.max_query_memory = l->max_query_memory;
    ac->limits.max_tenant_queries = (unsigned)l->max_concurrent_queries_per_tenant;
    ac->limits.max_tenant_queued = (unsigned)l->max_outstanding_requests_per_tenant;
    ac->auth_enabled = sc->auth.enabled;
    ac->config_dump = dump_config;
    ac->config_dump_ctx = (void *)sc;
    ac->files = ui_file;
}

/* The api's view of the ruler's HTTP entry point. */
static int ruler_http(void *ctx, const char *method, const char *path, const char *tenant,
                      const char *body, size_t len, struct cairn_buf *out, const char **ct)
{
    return cairn_ruler_http(ctx, method, path, tenant, body, len, out, ct);
}

int cairn_cmd_serve(int argc, char **argv)
{
    struct cairn_serve_config sc;
    struct cairn_buf out = CAIRN_BUF_INIT;
    struct cairn_err err;
    cairn_err_clear(&err);
    memset(&sc, 0, sizeof sc);
    int rc = cairn_serve_config_load(&sc, argc, argv, &out, &err);
    if (rc == CAIRN_CFG_EXIT) { /* --help or --print-config */
        fwrite(out.data ? out.data : "", 1, out.len, stdout);
        cairn_buf_deinit(&out);
        cairn_serve_config_deinit(&sc);
        return 0;
    }
    cairn_buf_deinit(&out);
    if (rc) {
        fprintf(stderr, "cairn serve: %s\n", err.msg);
        cairn_serve_config_deinit(&sc);
        return 2;
    }
    cairn_log_set_level((enum cairn_log_level)sc.server.log_level);
    char listen[300];
    struct cairn_api_config ac;
    build_api_config(&sc, &ac, listen, sizeof listen);

    /* Signals go to sigtimedwait below, never to a worker thread: block them before
     * any thread starts (threads inherit the mask). */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* auth credentials: views into sc, copied by cairn_api_create */
    struct cairn_api_credential *creds = NULL;
    if (sc.auth.enabled) {
        const struct cairn_serve_credential *sv = sc.auth.credentials.v;
        if (!(creds = calloc(sc.auth.credentials.n, sizeof *creds))) {
            CAIRN_ERROR("serve", "out of memory", "");
            cairn_serve_config_deinit(&sc);
            return 1;
        }
        for (size_t i = 0; i < sc.auth.credentials.n; i++)
            creds[i] = (struct cairn_api_credential){sv[i].name, sv[i].secret_sha256,
                                                     (const char *const *)sv[i].tenants.v,
                                                     sv[i].tenants.n};
        ac.credentials = creds;
        ac.n_credentials = sc.auth.credentials.n;
    }
    /* otlp_config: views into sc, compiled by cairn_api_create */
    struct cairn_otlp_rule *orules = NULL;
    if (otlp_rules(&sc.limits.otlp_config, &ac.otlp, &orules)) {
        CAIRN_ERROR("serve", "out of memory", "");
        free(creds);
        cairn_serve_config_deinit(&sc);
        return 1;
    }
    struct cairn_api *api = cairn_api_create(&ac, &err);
    free(creds);
    free(orules);
    if (!api) {
        CAIRN_ERROR("serve", "cannot start HTTP", "err=\"%s\"", err.msg);
        cairn_serve_config_deinit(&sc);
        return 1;
    }
    int64_t t0 = cairn_mono_ns();
    struct cairn_objstore *os = NULL, *own_os = NULL;
    struct cairn_cache *cache = NULL;
    struct cairn_store *st = NULL;
    struct cairn_ring *ring = NULL; /* cluster mode: joins as JOINING (serve_cluster.c) */
    struct cairn__bucket *bucket = NULL; /* a read node's view of the bucket */
    if (cairn__serve_objstore_open(&sc, &os, &cache, &err) ||
        cairn_cmd_serve_cluster(&sc, api, &ring, &bucket, &err)) {
        CAIRN_ERROR("serve", "cannot join the cluster", "err=\"%s\"", err.msg);
        cairn_cache_destroy(cache);
        cairn_objstore_destroy(os);
        cairn_api_destroy(api);
        cairn_serve_config_deinit(&sc);
        return 1;
    }
    /* write nodes share the bucket, each under its own prefix (docs/SCALING.md) */
    if (ring && os && (sc.target == CAIRN_TARGET_WRITE || sc.target == CAIRN_TARGET_ALL)) {
        char pfx[CAIRN_RING_ID_MAX + 16];
        const char *id = cairn_ring_self_id(ring);
        snprintf(pfx, sizeof pfx, "nodes/%s/", id);
        if (!cairn__bucket_id_ok(id, strlen(id)))
            cairn_err_set(&err, CAIRN_EINVAL, "common.ring.instance_id \"%s\": with object "
                          "storage it names the node's prefix: [A-Za-z0-9._-] only", id);
        else if ((own_os = cairn_objstore_prefixed_create(os, pfx, &err)))
            sc.store.objstore = own_os;
    }
    if (!ring || !os || own_os || sc.target == CAIRN_TARGET_READ || sc.target == CAIRN_TARGET_BACKEND)
        st = cairn_store_open(&sc.store, &err);
    if (!st) {
        CAIRN_ERROR("serve", "cannot open the store", "data_dir=%s err=\"%s\"",
                    sc.store.data_dir, err.msg);
        cairn_api_stop(api);
        cairn__bucket_close(bucket);
        cairn_cache_destroy(cache);
        cairn_objstore_destroy(own_os);
        cairn_objstore_destroy(os);
        cairn_api_destroy(api);
        cairn_ring_destroy(ring);
        cairn_serve_config_deinit(&sc);
        return 1;
    }
    cairn_api_set_store(api, st);
    struct cairn_ruler *ruler = NULL;
    const struct cairn_ruler_config *rcfg = &sc.ruler;
    if ((rcfg->directory && *rcfg->directory) || (rcfg->rule_path && *rcfg->rule_path)) {
        if (!(ruler = cairn_ruler_start(rcfg, st, sc.store.data_dir, &err))) {
            CAIRN_ERROR("serve", "cannot start the ruler", "err=\"%s\"", err.msg);
            cairn_api_stop(api);
            cairn_api_set_store(api, NULL);
            cairn_store_close(st);
            cairn__bucket_close(bucket);
            cairn_api_destroy(api);
            cairn_ring_destroy(ring);
            cairn_serve_config_deinit(&sc);
            return 1;
        }
        cairn_api_set_ruler(api, ruler_http, ruler);
    }
    if (ring)
        cairn_ring_set_state(ring, CAIRN_RING_ACTIVE); /* WAL replayed: take writes */
    CAIRN_INFO("serve", "ready", "listen=%s port=%u data_dir=%s replay_ms=%lld", listen,
               cairn_api_port(api), sc.store.data_dir, (long long)((cairn_mono_ns() - t0) / 1000000));

    int sig;
    while ((sig = sigwaitinfo(&sigs, NULL)) < 0 && errno == EINTR)
        ;
    CAIRN_INFO("serve", "shutting down", "signal=%s", sig == SIGINT ? "INT" : "TERM");
    if (ring)
        cairn_ring_set_state(ring, CAIRN_RING_LEAVING); /* peers stop sending writes */
    cairn_api_stop(api);         /* waits for in-flight pushes */
    cairn_api_set_ruler(api, NULL, NULL);
    cairn_ruler_stop(ruler);     /* saves alert state */
    cairn_api_set_store(api, NULL);
    cairn_store_close(st);       /* flushes heads */
    cairn__bucket_close(bucket);
    cairn_cache_destroy(cache);
    cairn_objstore_destroy(own_os);
    cairn_objstore_destroy(os);
    cairn_api_destroy(api);
    cairn_ring_destroy(ring);    /* revokes the lease: the key goes at once */
    cairn_serve_config_deinit(&sc);
    CAIRN_INFO("serve", "stopped", "");
    return 0;
}
