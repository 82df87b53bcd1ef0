/* agent.c -- assemble `cairn ship` from its config: sinks (push fan-out or dry-run
 * printer), pipelines and targets per scrape config, discoverers, positions, tailer or
 * stdin reader, and the HTTP server (agent_http.c); run and shut down in order (stop
 * discovery and reading, flush the clients, then save positions). */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/log.h"
#include "cairn/push.h"
#include "cairn/sd.h"
#include "cairn/ship.h"
#include "cairn/ship_agent.h"
#include "cairn/ship_positions.h"
#include "cairn/timeutil.h"
#include "ship/ship_build.h"
#include "ship/ship_int.h"
#include "ship/targets.h"
#include "ship/agent_int.h"
#include "ship/src_relay.h"
#include "ship/src_journal.h"

/* ---- sinks ---- */

static int push_emit(void *ud, const struct cairn_ship_entry *e)
{
    struct cairn_ship_agent *a = ud;
    const char *tenant = e->tenant.len ? e->tenant.data : NULL;
    for (size_t i = 0; i < a->n_clients; i++) {
        int rc = cairn_push_entry_sm(a->clients[i], tenant, &e->labels, e->ts,
                                     e->line.data ? e->line.data : "", e->line.len, e->sm.data,
                                     e->sm.len);
        if (rc)
            return rc;
    }
    return 0;
}

static int push_flush(void *ud)
{
    struct cairn_ship_agent *a = ud;
    int rc = 0;
    for (size_t i = 0; i < a->n_clients; i++) {
        int r = cairn_push_flush(a->clients[i]);
        if (r && !rc)
            rc = r;
    }
    return rc;
}

/* --dry-run: "<RFC3339Nano>\t{labels}\t<line>", as Promtail prints. */
static int print_emit_locked(struct cairn_ship_agent *a, const struct cairn_ship_entry *e);

static int print_emit(void *ud, const struct cairn_ship_entry *e)
{
    struct cairn_ship_agent *a = ud;
    pthread_mutex_lock(&a->print_mu); /* sources emit from their own threads */
    int rc = print_emit_locked(a, e);
    pthread_mutex_unlock(&a->print_mu);
    return rc;
}

static int print_emit_locked(struct cairn_ship_agent *a, const struct cairn_ship_entry *e)
{
    char ts[48];
    size_t tl = cairn_format_rfc3339(e->ts, ts, sizeof ts);
    cairn_buf_reset(&a->print);
    int rc = cairn_buf_append(&a->print, ts, tl);
    rc |= cairn_buf_append_byte(&a->print, '\t');
    rc |= cairn_labels_format(&e->labels, &a->print);
    if (e->tenant.len)
        rc |= cairn_buf_appendf(&a->print, "\ttenant=%s", e->tenant.data);
    rc |= cairn_buf_append_byte(&a->print, '\t');
    rc |= cairn_buf_append(&a->print, e->line.data ? e->line.data : "", e->line.len);
    if (a->cfg->inspect && e->n_ex) {
        rc |= cairn_buf_append_str(&a->print, "\textracted:");
        for (size_t i = 0; i < e->n_ex; i++)
            rc |= cairn_buf_appendf(&a->print, " %s=%s", cairn_ship_ex_name(e, i),
                                    cairn_ship_ex_value(e, i));
    }
    rc |= cairn_buf_append_byte(&a->print, '\n');
    if (rc)
        rc = CAIRN_ENOMEM;
    else if (fwrite(a->print.data, 1, a->print.len, a->out) != a->print.len)
        rc = CAIRN_EIO;
    return rc;
}

static int print_flush(void *ud)
{
    struct cairn_ship_agent *a = ud;
    pthread_mutex_lock(&a->print_mu);
    int rc = fflush(a->out) ? CAIRN_EIO : 0;
    pthread_mutex_unlock(&a->print_mu);
    return rc;
}

/* ---- building ---- */

static int make_clients(struct cairn_ship_agent *a, struct cairn_err *err)
{
    const struct cairn_ship_config *cfg = a->cfg;
    size_t n = cfg->clients.n + (cfg->client_url ? 1 : 0);
    if (n == 0)
        return cairn_err_set(err, CAIRN_EINVAL, "no clients: set clients[].url or --client.url "
                             "(or use --dry-run)");
    a->clients = calloc(n, sizeof *a->clients);
    if (!a->clients)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    const struct cairn_ship_client *cl = cfg->clients.v;
    for (size_t i = 0; i < n; i++) {
        struct cairn_push_config pc;
        cairn_push_config_default(&pc);
        struct cairn_labels ext;
        cairn_labels_init(&ext);
        if (i < cfg->clients.n) {
            const struct cairn_ship_client *c = &cl[i];
            pc.url = c->url;
            pc.tenant_id = c->tenant_id;
            pc.protocol = (enum cairn_push_protocol)c->protocol;
            pc.batch_wait_ns = c->batchwait_ns;
            pc.batch_size = (size_t)c->batchsize;
            pc.timeout_ns = c->timeout_ns;
            pc.min_backoff_ns = c->backoff_config.min_period_ns;
            pc.max_backoff_ns = c->backoff_config.max_period_ns;
            pc.max_retries = c->backoff_config.max_retries;
            pc.queue_limit = (size_t)c->queue_limit;
            pc.drain_timeout_ns = c->drain_timeout_ns;
            pc.basic_auth_username = c->basic_auth.username;
            pc.basic_auth_password = c->basic_auth.password;
            pc.basic_auth_password_file = c->basic_auth.password_file;
            pc.bearer_token = c->bearer_token;
            pc.bearer_token_file = c->bearer_token_file;
            pc.tls_ca_file = c->tls_config.ca_file;
            pc.tls_cert_file = c->tls_config.cert_file;
            pc.tls_key_file = c->tls_config.key_file;
            pc.tls_insecure_skip_verify = c->tls_config.insecure_skip_verify;
            for (size_t k = 0; k < c->external_labels.n; k++) {
                const struct cairn_cfg_kv *kv = &c->external_labels.v[k];
                const char *v = kv->value ? kv->value : "";
                if (cairn_labels_add(&ext, kv->key, strlen(kv->key), v, strlen(v))) {
                    cairn_labels_deinit(&ext);
                    return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
                }
            }
            struct cairn_err e2;
            if (cairn_labels_sort(&ext, &e2)) {
                cairn_labels_deinit(&ext);
                return cairn_err_set(err, CAIRN_EINVAL, "clients[%zu].external_labels: %s", i,
                                     e2.msg);
            }
            pc.external_labels = &ext;
        } else {
            pc.url = cfg->client_url;
            pc.tenant_id = cfg->client_tenant;
        }
        struct cairn_err e2;
        a->clients[i] = cairn_push_create(&pc, &e2);
        cairn_labels_deinit(&ext);
        if (!a->clients[i])
            return cairn_err_set(err, e2.code ? e2.code : CAIRN_EINVAL, "clients[%zu]: %s", i,
                                 e2.msg);
        a->n_clients = i + 1;
    }
    return 0;
}

/* Target labels of one static_config after relabeling; adds a tail target. */
static int static_target(struct cairn_ship_agent *a, size_t si, size_t ki,
                         const struct cairn_ship_static *sc,
                         const struct cairn_ship_relabel_rule *rules, size_t n_rules,
                         struct cairn_ship_pipeline *pl, const char *job, struct cairn_err *err)
{
    struct cairn_sd_labels ls, disc;
    cairn_sd_labels_init(&ls);
    cairn_sd_labels_init(&disc);
    int rc = 0;
    for (size_t i = 0; i < sc->labels.n && !rc; i++)
        rc = cairn_sd_labels_set_str(&disc, sc->labels.v[i].key, sc->labels.v[i].value);
    if (!rc)
        rc = cairn_sd_labels_copy(&ls, &disc);
    int keep = rc ? rc : cairn_ship_relabel_apply(rules, n_rules, &ls);
    const char *why = "dropped by relabel_configs";
    if (keep == 1)
        keep = cairn__tset_add_labels(&a->statics, &ls, pl, job,
                                      a->hostname[0] ? a->hostname : NULL, &why);
    if (keep >= 0 && cairn__agent_view_add(a->static_view, job, &disc, keep ? &ls : NULL, why))
        keep = CAIRN_ENOMEM;
    cairn_sd_labels_deinit(&ls);
    cairn_sd_labels_deinit(&disc);
    if (keep < 0)
        return cairn_err_set(err, keep, "out of memory");
    if (keep == 0) /* as Promtail: logged, not an error */
        CAIRN_WARN("ship", "target dropped", "scrape_config=%zu static_config=%zu why=\"%s\"",
                   si, ki, why);
    return 0;
}

static int build_scrapes(struct cairn_ship_agent *a, struct cairn_err *err)
{
    const struct cairn_ship_config *cfg = a->cfg;
    const struct cairn_ship_scrape *sc = cfg->scrape_configs.v;
    a->pipes = calloc(cfg->scrape_configs.n ? cfg->scrape_configs.n : 1, sizeof *a->pipes);
    a->extra_pipes = calloc(cfg->scrape_configs.n ? cfg->scrape_configs.n : 1,
                            sizeof *a->extra_pipes);
    a->rules = calloc(cfg->scrape_configs.n ? cfg->scrape_configs.n : 1, sizeof *a->rules);
    size_t nsd = 0;
    for (size_t i = 0; i < cfg->scrape_configs.n; i++)
        nsd += sc[i].kubernetes_sd_configs.n;
    a->sds = calloc(nsd ? nsd : 1, sizeof *a->sds);
    if (!a->pipes || !a->extra_pipes || !a->rules || !a->sds)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    for (size_t i = 0; i < cfg->scrape_configs.n; i++) {
        char path[96];
        snprintf(path, sizeof path, "scrape_configs[%zu].pipeline_stages", i);
        a->pipes[i] = cairn_ship_pipeline_build(&sc[i].pipeline_stages, path, err);
        if (!a->pipes[i])
            return err->code ? err->code : CAIRN_EINVAL;
        a->n_pipes = i + 1;
        cairn_ship_pipeline_set_metrics(a->pipes[i], a->metrics);
        snprintf(path, sizeof path, "scrape_configs[%zu].relabel_configs", i);
        struct cairn_ship_relabel_rule *rules = a->rules[i] =
            cairn_ship_relabel_compile(&sc[i].relabel_configs, path, err);
        if (!rules)
            return err->code ? err->code : CAIRN_EINVAL;
        const struct cairn_ship_static *st = sc[i].static_configs.v;
        int rc = 0;
        /* stdin mode reads no files: static_configs only lend their labels */
        for (size_t k = 0; k < sc[i].static_configs.n && !rc && !cfg->stdin_mode; k++)
            rc = static_target(a, i, k, &st[k], rules, sc[i].relabel_configs.n, a->pipes[i],
                               sc[i].job_name, err);
        if (rc)
            return rc;
        const struct cairn_ship_k8s_sd *ks = sc[i].kubernetes_sd_configs.v;
        for (size_t k = 0; k < sc[i].kubernetes_sd_configs.n && !cfg->check_syntax &&
                           !cfg->stdin_mode; k++) {
            snprintf(path, sizeof path, "scrape_configs[%zu].kubernetes_sd_configs[%zu]", i, k);
            struct cairn_sd_k8s *sd = cairn__agent_make_sd(a, &ks[k], path, err);
            if (!sd)
                return err->code;
            a->sds[a->n_sds++] = (struct agent_sd){sd, i};
        }
        if (sc[i].pod_logs.enabled) {
            struct cairn_labels ls;
            cairn_labels_init(&ls);
            for (size_t k = 0; k < sc[i].pod_logs.labels.n && !rc; k++) {
                const char *v = sc[i].pod_logs.labels.v[k].value ? sc[i].pod_logs.labels.v[k].value : "";
                rc = cairn_labels_add(&ls, sc[i].pod_logs.labels.v[k].key,
                                      strlen(sc[i].pod_logs.labels.v[k].key), v, strlen(v));
            }
            if (!rc && cairn_labels_sort(&ls, err))
                rc = CAIRN_EINVAL;
            /* pod logs get their own pipeline: the container format first */
            struct cairn_ship_pipeline *pp = NULL;
            if (!rc) {
                snprintf(path, sizeof path, "scrape_configs[%zu].pipeline_stages", i);
                pp = cairn__pipeline_new(0);
                if (!pp)
                    rc = CAIRN_ENOMEM;
                else if ((rc = cairn__stage_container(pp, err)) ||
                         (rc = cairn_ship_pipeline_build_into(pp, &sc[i].pipeline_stages, path,
                                                              err)))
                    cairn_ship_pipeline_destroy(pp), pp = NULL;
            }
            if (pp) {
                a->extra_pipes[a->n_extra++] = pp;
                cairn_ship_pipeline_set_metrics(pp, a->metrics);
            }
            if (!rc)
                rc = cairn__tset_add(&a->statics, CAIRN_TAIL_PODS, sc[i].pod_logs.path, NULL,
                                     &ls, pp, sc[i].job_name);
            cairn_labels_deinit(&ls);
            if (rc)
                return err->code ? rc : cairn_err_set(err, rc, "scrape_configs[%zu].pod_logs: %s",
                                                      i, cairn_strerror(rc));
        }
    }
    return 0;
}

/* ---- lifecycle ---- */

struct cairn_ship_agent *cairn_ship_agent_create(const struct cairn_ship_config *cfg, FILE *out,
                                                 struct cairn_err *err)
{
    struct cairn_ship_agent *a = calloc(1, sizeof *a);
    if (!a) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    a->cfg = cfg;
    a->out = out ? out : stdout;
    pthread_mutex_init(&a->view_mu, NULL);
    pthread_mutex_init(&a->print_mu, NULL);
    if (!(a->static_view = cairn__agent_view_new())) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        pthread_mutex_destroy(&a->view_mu);
        pthread_mutex_destroy(&a->print_mu);
        free(a);
        return NULL;
    }
    /* Promtail's hostname: $HOSTNAME (the DaemonSet sets it from spec.nodeName), else
     * the machine's */
    const char *hn = getenv("HOSTNAME");
    if (hn && *hn)
        snprintf(a->hostname, sizeof a->hostname, "%s", hn);
    else if (gethostname(a->hostname, sizeof a->hostname - 1) != 0)
        a->hostname[0] = '\0';
    cairn_err_clear(err);
    if (!(a->metrics = cairn_ship_metrics_create())) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        goto fail;
    }
    if (build_scrapes(a, err))
        goto fail;
    cairn__agent_view_set(a, json_incref(a->static_view));
    if (cfg->check_syntax)
        return a;
    if (cfg->dry_run) {
        /* someone is watching: show each line as it is read */
        setvbuf(a->out, NULL, _IOLBF, 0);
        a->sink = (struct cairn_ship_sink){print_emit, print_flush, a};
    } else {
        if (make_clients(a, err))
            goto fail;
        a->sink = (struct cairn_ship_sink){push_emit, push_flush, a};
    }
    /* a one-shot stdin push needs no /ready or /metrics (nor port 9080) */
    if (!cfg->server.disable && !cfg->stdin_mode && cairn__agent_start_http(a, err))
        goto fail;
    if (cfg->stdin_mode)
        return a;
    /* dry runs read from the start and leave the positions file alone */
    if (!cfg->dry_run && cfg->positions.filename && *cfg->positions.filename) {
        a->positions = cairn_positions_open(cfg->positions.filename, err);
        if (!a->positions) {
            if (!cfg->positions.ignore_invalid_yaml)
                goto fail;
            CAIRN_WARN("ship", "ignoring an invalid positions file", "err=\"%s\"", err->msg);
            unlink(cfg->positions.filename);
            if (!(a->positions = cairn_positions_open(cfg->positions.filename, err)))
                goto fail;
        }
    }
    cairn__tset_fix(&a->statics);
    struct cairn_tailer_config tc = {0};
    tc.targets = a->statics.t;
    tc.n_targets = a->statics.n;
    if (a->n_sds) {
        a->all_pipes = calloc(a->n_pipes + a->n_extra + 1, sizeof *a->all_pipes);
        if (!a->all_pipes) {
            cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < a->n_pipes; i++)
            a->all_pipes[a->n_all++] = a->pipes[i];
        for (size_t i = 0; i < a->n_extra; i++)
            a->all_pipes[a->n_all++] = a->extra_pipes[i];
        tc.refresh = cairn__agent_refresh;
        tc.refresh_ud = a;
        tc.pipelines = a->all_pipes;
        tc.n_pipelines = a->n_all;
    }
    tc.positions = a->positions;
    tc.sink = &a->sink;
    tc.sync_period_ns = cfg->positions.sync_period_ns;
    tc.rescan_period_ns = cfg->target_config.sync_period_ns;
    if (cfg->limits_config.readline_rate_enabled) {
        tc.readline_rate = cfg->limits_config.readline_rate;
        tc.readline_burst = cfg->limits_config.readline_burst;
        tc.readline_rate_drop = cfg->limits_config.readline_rate_drop;
    }
    if (!(a->tailer = cairn_tailer_create(&tc, err)))
        goto fail;
    /* pushes are taken once the pipelines, the sink and the clients are there */
    if (!(a->relays = cairn__relays_start(cfg, &a->sink, a->metrics, err)) && err->code)
        goto fail;
    if (!(a->syslog = cairn_syslog_create(cfg, &a->sink, a->metrics, err)))
        goto fail;
    if (cairn_syslog_start(a->syslog)) {
        cairn_err_set(err, CAIRN_EIO, "cannot start the syslog listeners");
        goto fail;
    }
    for (size_t i = 0; i < a->n_sds; i++)
        if (cairn_sd_k8s_start(a->sds[i].sd, cairn__agent_sd_changed, a)) {
            cairn_err_set(err, CAIRN_EIO, "cannot start kubernetes discovery");
            goto fail;
        }
    if (cairn__journals_start(&a->journals, cfg, &a->sink, a->positions, a->metrics, err))
        goto fail;
    return a;
fail:
    if (!err->code)
        cairn_err_set(err, CAIRN_EINVAL, "cannot start the agent");
    cairn_ship_agent_destroy(a);
    return NULL;
}

/* Is name one of the --label options (which win over the config's labels)? */
static int given_label(const struct cairn_ship_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->stdin_labels.n; i++)
        if (strcmp(cfg->stdin_labels.v[i].key, name) == 0)
            return 1;
    return 0;
}

/* The labels of stdin lines, as Promtail's stdin target: the static_configs labels of
 * the first scrape config (those without the reserved "__" prefix; __path__ is not
 * needed), or job="stdin" and hostname without a scrape config; then the --labels. */
static int stdin_labels(struct cairn_ship_agent *a, struct cairn_labels *ls)
{
    const struct cairn_ship_config *cfg = a->cfg;
    int rc = 0;
    if (cfg->scrape_configs.n) {
        const struct cairn_ship_scrape *sc = cfg->scrape_configs.v;
        const struct cairn_ship_static *st = sc[0].static_configs.v;
        for (size_t k = 0; k < sc[0].static_configs.n && !rc; k++) {
            for (size_t i = 0; i < st[k].labels.n && !rc; i++) {
                const struct cairn_cfg_kv *kv = &st[k].labels.v[i];
                const char *v = kv->value ? kv->value : "";
                if (strncmp(kv->key, "__", 2) == 0 || !*v || given_label(cfg, kv->key) ||
                    cairn_labels_get(ls, kv->key, strlen(kv->key)))
                    continue;
                rc = cairn_labels_add(ls, kv->key, strlen(kv->key), v, strlen(v));
            }
        }
    } else {
        if (!given_label(cfg, "job"))
            rc = cairn_labels_add(ls, "job", 3, "stdin", 5);
        if (!rc && a->hostname[0] && !given_label(cfg, "hostname"))
            rc = cairn_labels_add(ls, "hostname", 8, a->hostname, strlen(a->hostname));
    }
    for (size_t i = 0; i < cfg->stdin_labels.n && !rc; i++) {
        const char *v = cfg->stdin_labels.v[i].value ? cfg->stdin_labels.v[i].value : "";
        rc = cairn_labels_add(ls, cfg->stdin_labels.v[i].key, strlen(cfg->stdin_labels.v[i].key),
                              v, strlen(v));
    }
    struct cairn_err e2;
    if (!rc && cairn_labels_sort(ls, &e2)) {
        CAIRN_ERROR("ship", "bad --label", "err=\"%s\"", e2.msg);
        rc = CAIRN_EINVAL;
    }
    return rc;
}

static int run_stdin(struct cairn_ship_agent *a)
{
    struct cairn_labels ls;
    cairn_labels_init(&ls);
    int rc = stdin_labels(a, &ls);
    /* Promtail: stdin lines go through the first scrape config's stages */
    struct cairn_ship_pipeline *pl = a->n_pipes ? a->pipes[0] : NULL;
    struct cairn_ship_entry e;
    cairn_ship_entry_init(&e);
    struct cairn_buf partial = CAIRN_BUF_INIT;
    char *buf = malloc(65536);
    if (!buf)
        rc = CAIRN_ENOMEM;
    while (!rc && !atomic_load(&a->stop)) {
        ssize_t n = read(STDIN_FILENO, buf, 65536);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        const char *p = buf, *end = buf + n;
        while (!rc && p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl) {
                rc = cairn_buf_append(&partial, p, (size_t)(end - p));
                break;
            }
            const char *line = p;
            size_t len = (size_t)(nl - p);
            if (partial.len) {
                rc = cairn_buf_append(&partial, p, len);
                line = partial.data;
                len = partial.len;
            }
            if (!rc && len && line[len - 1] == '\r')
                len--;
            if (!rc)
                rc = cairn_ship_entry_reset(&e, &ls, cairn_now_ns(), line, len);
            if (!rc)
                rc = cairn_ship_pipeline_run(pl, &e, &a->sink);
            a->stdin_lines++;
            cairn_buf_reset(&partial);
            p = nl + 1;
        }
    }
    if (!rc && partial.len) {
        rc = cairn_ship_entry_reset(&e, &ls, cairn_now_ns(), partial.data, partial.len);
        if (!rc)
            rc = cairn_ship_pipeline_run(pl, &e, &a->sink);
    }
    if (!rc && pl)
        rc = cairn_ship_pipeline_tick(pl, INT64_MAX, &a->sink);
    if (!rc && a->sink.flush)
        rc = a->sink.flush(a->sink.ud);
    free(buf);
    cairn_buf_deinit(&partial);
    cairn_ship_entry_deinit(&e);
    cairn_labels_deinit(&ls);
    return rc;
}

int cairn_ship_agent_run(struct cairn_ship_agent *a)
{
    if (a->cfg->check_syntax)
        return 0;
    int rc;
    if (a->cfg->stdin_mode) {
        rc = run_stdin(a);
    } else {
        if (!a->statics.n && !a->n_sds && !a->relays && !a->journals &&
            !cairn_syslog_count(a->syslog))
            CAIRN_WARN("ship", "nothing to tail: no static_configs with __path__", "%s", "");
        cairn__journals_go(a->journals);
        rc = cairn_tailer_run(a->tailer);
    }
    /* refused because we are stopping: that is the stop, not a failure */
    return rc == CAIRN_EAGAIN && atomic_load(&a->stop) ? 0 : rc;
}

void cairn_ship_agent_stop(struct cairn_ship_agent *a)
{
    atomic_store(&a->stop, 1);
    cairn__relays_stop(a->relays);
    cairn_syslog_stop(a->syslog);
    if (a->tailer)
        cairn_tailer_stop(a->tailer);
    /* a reader blocked on a full queue gives up within 100 ms; what is queued is
     * delivered for at most drain_timeout */
    for (size_t i = 0; i < a->n_clients; i++)
        cairn_push_interrupt(a->clients[i]);
    /* after the clients: what a journal reader emits once woken is refused, always */
    cairn__journals_stop(a->journals);
}

int cairn_ship_agent_http_port(const struct cairn_ship_agent *a)
{
    return a->http ? a->http_port : 0;
}

int cairn_ship_agent_metrics(struct cairn_ship_agent *a, struct cairn_buf *out)
{
    int rc = 0;
    for (size_t i = 0; i < a->n_clients; i++)
        rc |= cairn_push_metrics_write(a->clients[i], "promtail", out);
    if (a->tailer) {
        struct cairn_tailer_stats st;
        cairn_tailer_stats(a->tailer, &st);
        rc |= cairn_buf_appendf(out,
                                "# TYPE promtail_read_lines_total counter\n"
                                "promtail_read_lines_total %llu\n"
                                "# TYPE promtail_read_bytes_total counter\n"
                                "promtail_read_bytes_total %llu\n"
                                "# TYPE promtail_files_active_total gauge\n"
                                "promtail_files_active_total %llu\n"
                                "# TYPE promtail_file_rotations_total counter\n"
                                "promtail_file_rotations_total %llu\n"
                                "# TYPE promtail_file_truncations_total counter\n"
                                "promtail_file_truncations_total %llu\n",
                                (unsigned long long)st.lines, (unsigned long long)st.bytes,
                                (unsigned long long)st.files_open, (unsigned long long)st.rotations,
                                (unsigned long long)st.truncations);
    }
    if (a->n_sds)
        rc |= cairn_buf_appendf(out, "# TYPE promtail_targets_active_total gauge\n"
                                "promtail_targets_active_total %zu\n"
                                "# TYPE cairn_ship_targets_dropped gauge\n"
                                "cairn_ship_targets_dropped %llu\n",
                                atomic_load(&a->n_live),
                                (unsigned long long)atomic_load(&a->dropped_targets));
    rc |= cairn_buf_append_str(out, "# TYPE logentry_dropped_lines_total counter\n");
    const struct cairn_ship_scrape *sc = a->cfg->scrape_configs.v;
    for (size_t i = 0; i < a->n_pipes; i++)
        rc |= cairn_ship_pipeline_drops_write(a->pipes[i], sc[i].job_name, out);
    rc |= cairn_syslog_drops_write(a->syslog, out); /* before any source's own families */
    rc |= cairn__relays_drops(a->relays, out);
    rc |= cairn__journals_drops(a->journals, out);
    rc |= cairn__relays_metrics(a->relays, out);
    rc |= cairn__journals_metrics(a->journals, out);
    rc |= cairn_syslog_metrics_write(a->syslog, out);
    if (a->metrics)
        rc |= cairn_ship_metrics_write(a->metrics, out);
    return rc ? CAIRN_ENOMEM : 0;
}

void cairn_ship_agent_destroy(struct cairn_ship_agent *a)
{
    if (!a)
        return;
    /* order: stop reading (tailer flushes the sink, then saves positions), then the
     * clients send what is left, then the HTTP server goes */
    for (size_t i = 0; i < a->n_sds; i++) /* no refresh may come in from here on */
        cairn_sd_k8s_destroy(a->sds[i].sd);
    free(a->sds);
    cairn__relays_destroy(a->relays); /* before the sink is flushed: held entries go out */
    cairn__journals_destroy(a->journals); /* flushes the sink, saves its cursors */
    cairn_syslog_destroy(a->syslog); /* joins its threads: nothing emits from here on */
    cairn_tailer_destroy(a->tailer);
    cairn_positions_close(a->positions);
    for (size_t i = 0; i < a->n_clients; i++)
        cairn_push_destroy(a->clients[i]);
    free(a->clients);
    cairn__agent_stop_http(a);
    for (size_t i = 0; i < a->n_pipes; i++)
        cairn_ship_pipeline_destroy(a->pipes[i]);
    free(a->pipes);
    for (size_t i = 0; i < a->n_extra; i++)
        cairn_ship_pipeline_destroy(a->extra_pipes[i]);
    free(a->extra_pipes);
    cairn__tset_free(&a->statics);
    cairn__tset_free(&a->live);
    const struct cairn_ship_scrape *sc = a->cfg->scrape_configs.v;
    for (size_t i = 0; a->rules && i < a->cfg->scrape_configs.n; i++)
        if (a->rules[i])
            cairn_ship_relabel_free(a->rules[i], sc[i].relabel_configs.n);
    free(a->rules);
    free(a->all_pipes);
    json_decref(a->view);
    json_decref(a->static_view);
    pthread_mutex_destroy(&a->view_mu);
    pthread_mutex_destroy(&a->print_mu);
    cairn_ship_metrics_destroy(a->metrics);
    cairn_buf_deinit(&a->print);
    free(a);
}
