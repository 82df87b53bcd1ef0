/* canary.c -- a canary's life: check the options, build the store's base URL, the
 * stream's labels and selector, start /metrics, the push client (with -push), the
 * comparator and the threads; stop them all in reverse. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "canary/canary_int.h"
#include "cairn/labels.h"
#include "cairn/limits.h"
#include "cairn/log.h"
#include "cairn/timeutil.h"

int cairn__canary_sleep_until(struct cairn_canary *c, int64_t mono_ns)
{
    pthread_mutex_lock(&c->mu);
    while (!c->stopping) {
        int64_t left = mono_ns - cairn_mono_ns();
        if (left <= 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t at = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec + left;
        ts.tv_sec = (time_t)(at / 1000000000LL);
        ts.tv_nsec = (long)(at % 1000000000LL);
        pthread_cond_timedwait(&c->cv, &c->mu, &ts);
    }
    int stop = c->stopping;
    pthread_mutex_unlock(&c->mu);
    return stop;
}

/* http(s)://host:port from -addr (host:port, or a URL kept as given) and -tls. */
static char *base_url(const struct cairn_canary_config *cfg)
{
    struct cairn_buf b = CAIRN_BUF_INIT;
    const char *a = cfg->addr;
    int rc = strstr(a, "://") ? cairn_buf_append_str(&b, a)
                              : cairn_buf_appendf(&b, "%s://%s", cfg->tls ? "https" : "http", a);
    while (!rc && b.len && b.data[b.len - 1] == '/')
        b.data[--b.len] = 0;
    if (rc) {
        cairn_buf_deinit(&b);
        return NULL;
    }
    return cairn_buf_detach(&b, NULL);
}

/* The stream's labels in canonical form (also the selector of its queries). */
static int stream_labels(struct cairn_canary *c, struct cairn_err *err)
{
    struct cairn_labels *ls = malloc(sizeof *ls);
    if (!ls)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    cairn_labels_init(ls);
    struct cairn_buf b = CAIRN_BUF_INIT;
    const struct cairn_canary_config *f = &c->cfg;
    int rc = 0;
    if (!cairn_label_name_valid(f->labelname, strlen(f->labelname)) ||
        !cairn_label_name_valid(f->streamname, strlen(f->streamname)))
        rc = cairn_err_set(err, CAIRN_EINVAL, "-labelname %s / -streamname %s: not label names",
                           f->labelname, f->streamname);
    else if (cairn_labels_add(ls, f->labelname, strlen(f->labelname), f->labelvalue,
                              strlen(f->labelvalue)) ||
             cairn_labels_add(ls, f->streamname, strlen(f->streamname), f->streamvalue,
                              strlen(f->streamvalue)))
        rc = cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    else if (cairn_labels_sort(ls, err))
        rc = cairn_err_set(err, CAIRN_EINVAL, "-labelname and -streamname are both '%s'",
                           f->labelname);
    if (!rc) { /* canonical order: the push's stream and the queries' selector */
        if (cairn_labels_format(ls, &b) || !(c->labels = strdup(b.data)))
            rc = cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    }
    if (!rc) {
        const char *qa = f->query_append && *f->query_append ? f->query_append : NULL;
        if (qa && (cairn_buf_append_byte(&b, ' ') || cairn_buf_append_str(&b, qa)))
            rc = cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        else if (!(c->selector = strdup(b.data)))
            rc = cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    }
    cairn_buf_deinit(&b);
    cairn_labels_deinit(ls);
    free(ls);
    return rc;
}

static int check_config(const struct cairn_canary_config *f, struct cairn_err *err)
{
    if (!f->addr || !*f->addr)
        return cairn_err_set(err, CAIRN_EINVAL,
                             "must specify a store address with -addr or $LOKI_ADDRESS");
    if (f->interval_ns <= 0)
        return cairn_err_set(err, CAIRN_EINVAL, "-interval must be more than 0");
    if (f->prune_interval_ns <= 0 || f->spot_query_rate_ns <= 0 || f->metric_interval_ns <= 0)
        return cairn_err_set(err, CAIRN_EINVAL, "-pruneinterval, -spot-check-query-rate and "
                                                "-metric-test-interval must be more than 0");
    if (f->ooo_percentage > 0 && f->ooo_max_ns < f->ooo_min_ns)
        return cairn_err_set(err, CAIRN_EINVAL, "-out-of-order-max is less than -out-of-order-min");
    if (f->logs_batch_size > f->logs_batch_size_max)
        return cairn_err_set(err, CAIRN_EINVAL,
                             "-logs-batch-size must not be more than -logs-batch-size-max");
    if (((f->cert_file && *f->cert_file) || (f->key_file && *f->key_file) ||
         (f->ca_file && *f->ca_file)) && !f->tls && !strstr(f->addr, "https://"))
        return cairn_err_set(err, CAIRN_EINVAL, "must set -tls when specifying client certs");
    return 0;
}

/* Copy the strings the canary keeps (the config's are the caller's). */
static int own_strings(struct cairn_canary_config *f)
{
    char **s[] = {&f->addr, &f->user, &f->pass, &f->tenant_id, &f->cert_file, &f->key_file,
                  &f->ca_file, &f->listen_host, &f->labelname, &f->labelvalue, &f->streamname,
                  &f->streamvalue, &f->query_append};
    int rc = 0;
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        const char *v = *s[i] ? *s[i] : "";
        if (!(*s[i] = strdup(v)))
            rc = CAIRN_ENOMEM; /* the rest still become owned (or NULL) for the free */
    }
    return rc;
}

static void free_strings(struct cairn_canary_config *f)
{
    char *s[] = {f->addr, f->user, f->pass, f->tenant_id, f->cert_file, f->key_file,
                 f->ca_file, f->listen_host, f->labelname, f->labelvalue, f->streamname,
                 f->streamvalue, f->query_append};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        free(s[i]);
}

static int start_push(struct cairn_canary *c, struct cairn_err *err)
{
    const struct cairn_canary_config *f = &c->cfg;
    struct cairn_buf url = CAIRN_BUF_INIT;
    if (cairn_buf_appendf(&url, "%s/loki/api/v1/push", c->base))
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    struct cairn_push_config pc;
    cairn_push_config_default(&pc);
    pc.url = url.data;
    pc.tenant_id = *f->tenant_id ? f->tenant_id : NULL;
    /* loki-canary sends each line on its own: a batch waits a fraction of the
     * interval, never long enough to hold a second line unless -logs-batch-size asks */
    int64_t wait = f->interval_ns / 4;
    if (f->logs_batch_size > 1)
        wait = f->interval_ns * f->logs_batch_size;
    pc.batch_wait_ns = wait < CAIRN_CANARY_MIN_BATCH_WAIT_NS ? CAIRN_CANARY_MIN_BATCH_WAIT_NS
                                                             : wait;
    pc.timeout_ns = f->write_timeout_ns;
    pc.min_backoff_ns = f->write_min_backoff_ns;
    pc.max_backoff_ns = f->write_max_backoff_ns;
    pc.max_retries = f->write_max_retries;
    pc.basic_auth_username = *f->user ? f->user : NULL;
    pc.basic_auth_password = *f->user ? f->pass : NULL;
    pc.tls_ca_file = *f->ca_file ? f->ca_file : NULL;
    pc.tls_cert_file = *f->cert_file ? f->cert_file : NULL;
    pc.tls_key_file = *f->key_file ? f->key_file : NULL;
    pc.tls_insecure_skip_verify = f->insecure;
    pc.user_agent = "cairn-canary/" CAIRN_VERSION;
    c->push = cairn_push_create(&pc, err);
    cairn_buf_deinit(&url);
    return c->push ? 0 : CAIRN_EINVAL;
}

static void warn_unused(const struct cairn_canary_config *f)
{
    if (f->cache_test_interval_ns != 15LL * 60 * 1000000000LL ||
        f->cache_test_range_ns != 24LL * 3600 * 1000000000LL ||
        f->cache_test_now_ns != 3600LL * 1000000000LL)
        CAIRN_WARN("canary", "-cache-test-* accepted but not used: the cache test compares a "
                   "results cache cairn does not have", "");
    if (!f->push && f->logs_batch_size > 1)
        CAIRN_WARN("canary", "-logs-batch-size is used only with -push", "");
}

static int start_thread(struct cairn_canary *c, void *(*fn)(void *), struct cairn_err *err)
{
    if (pthread_create(&c->threads[c->n_threads], NULL, fn, c))
        return cairn_err_set(err, CAIRN_EIO, "cannot start a thread");
    c->n_threads++;
    return 0;
}

struct cairn_canary *cairn_canary_create(const struct cairn_canary_config *cfg, FILE *out,
                                         struct cairn_err *err)
{
    if (check_config(cfg, err))
        return NULL;
    struct cairn_canary *c = calloc(1, sizeof *c);
    if (!c) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    c->cfg = *cfg;
    int strings = own_strings(&c->cfg);
    int metrics = cairn__canary_metrics_init(&c->m, cfg->buckets);
    struct cairn__canary_cmp_config cc = {
        .wait_ns = cfg->wait_ns, .max_wait_ns = cfg->max_wait_ns,
        .spot_interval_ns = cfg->spot_interval_ns, .spot_max_ns = cfg->spot_max_ns,
        .spot_wait_ns = cfg->spot_wait_ns, .max_pending = CAIRN_CANARY_MAX_PENDING,
    };
    int cmp = metrics ? -1 : cairn__canary_cmp_init(&c->cmp, &cc, &c->m);
    pthread_condattr_t ca; /* sleeps are timed on the monotonic clock */
    int sync = pthread_condattr_init(&ca) || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) ||
               pthread_mutex_init(&c->mu, NULL) || pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (strings || metrics || cmp || sync) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        if (!metrics)
            cairn__canary_metrics_deinit(&c->m);
        if (!metrics && !cmp)
            cairn__canary_cmp_deinit(&c->cmp);
        free_strings(&c->cfg);
        free(c);
        return NULL;
    }
    c->out = out;
    c->start_ns = cairn_now_ns();
    size_t pad = cfg->size > 0 ? (size_t)cfg->size : 1;
    if (!(c->base = base_url(&c->cfg)) || !(c->pad = malloc(pad + 1))) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        goto fail;
    }
    memset(c->pad, 'p', pad);
    c->pad[pad] = 0;
    if (stream_labels(c, err) || (cfg->push && start_push(c, err)) ||
        !(c->http = cairn__canary_http_start(c, err)))
        goto fail;
    warn_unused(&c->cfg);
    CAIRN_INFO("canary", "started", "addr=%s stream=%s port=%d push=%d interval=%.3fs",
               c->base, c->labels, c->port, c->cfg.push, (double)c->cfg.interval_ns / 1e9);
    void *(*fns[])(void *) = {cairn__canary_reader_main, cairn__canary_writer_main,
                              cairn__canary_prune_main, cairn__canary_spot_main,
                              cairn__canary_metric_main};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (start_thread(c, fns[i], err))
            goto fail;
    return c;
fail:
    cairn_canary_destroy(c);
    return NULL;
}

int cairn_canary_port(const struct cairn_canary *c)
{
    return c->port;
}

void cairn_canary_destroy(struct cairn_canary *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->stopping = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (c->push)
        cairn_push_interrupt(c->push); /* a writer blocked on a full queue returns */
    for (size_t i = 0; i < c->n_threads; i++)
        pthread_join(c->threads[i], NULL);
    cairn__canary_http_stop(c->http);
    cairn_push_destroy(c->push);
    cairn__canary_cmp_deinit(&c->cmp);
    cairn__canary_metrics_deinit(&c->m);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c->base);
    free(c->selector);
    free(c->labels);
    free(c->pad);
    free_strings(&c->cfg);
    free(c);
}
