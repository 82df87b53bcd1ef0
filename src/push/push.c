/* push.c -- the push client: per-tenant open batches, the ready queue, back-pressure,
 * and the sender thread that encodes, POSTs and retries.
 *
 * One mutex guards everything shared. Producers append to their tenant's open batch;
 * a batch moves to the FIFO ready queue when the next line would overflow batchsize,
 * when it is older than batchwait, or on flush/shutdown. The single sender thread
 * pops batches in order, sends them with the lock released, then recycles them onto a
 * small free list. `queued` counts the cost (line bytes plus overhead) of every batch
 * not yet finished; producers wait on cv_space while it is over queue_limit. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn/log.h"
#include "cairn/timeutil.h"
#include "push/push_int.h"

#define PUSH_FMT_CACHE 64 /* direct-mapped, by fingerprint */
#define FREE_BATCHES_KEPT 2 /* recycled batches kept warm; more are freed */

struct cairn_push {
    struct cairn_push_config cfg; /* strings below are owned copies */
    char *url, *tenant_id;
    char host[128];
    struct cairn_labels external;
    int has_external;

    pthread_mutex_t mu;
    pthread_cond_t cv_sender; /* work for the sender, or stop */
    pthread_cond_t cv_space;  /* queued dropped below the limit */
    pthread_cond_t cv_done;   /* a batch finished */
    pthread_t thread;
    int thread_started;
    int stopping;
    atomic_int interrupted;   /* cairn_push_interrupt: refuse entries, bound retries */
    int64_t drain_deadline;   /* monotonic; 0 until stopping or interrupted */
    int undelivered;          /* batches dropped by the drain deadline since last flush */

    struct cairn__push_batch **open; /* one open batch per tenant */
    size_t n_open, cap_open;
    struct cairn__push_batch *ready_head, *ready_tail;
    struct cairn__push_batch *free_list;
    size_t n_free;
    size_t queued;
    uint64_t seq_in, seq_done;   /* entries accepted / finished (sent or dropped) */
    int dropped_since_flush;

    struct cairn_labels scratch_labels; /* producer scratch, under mu */
    struct cairn_buf scratch;
    /* formatted stream text by label-set fingerprint: most entries belong to a few
     * streams, so formatting (and merging external labels) is done once per stream */
    struct {
        uint64_t fp;
        struct cairn_buf text;
    } fmt_cache[PUSH_FMT_CACHE];

    struct cairn__push_metrics m; /* under mu */
    struct cairn__push_http *http; /* sender thread only */
};

void cairn_push_config_default(struct cairn_push_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->batch_wait_ns = CAIRN_PUSH_BATCH_WAIT_NS;
    cfg->batch_size = CAIRN_PUSH_BATCH_SIZE;
    cfg->timeout_ns = CAIRN_PUSH_TIMEOUT_NS;
    cfg->min_backoff_ns = CAIRN_PUSH_MIN_BACKOFF_NS;
    cfg->max_backoff_ns = CAIRN_PUSH_MAX_BACKOFF_NS;
    cfg->max_retries = CAIRN_PUSH_MAX_RETRIES;
    cfg->queue_limit = CAIRN_PUSH_QUEUE_LIMIT;
    cfg->drain_timeout_ns = CAIRN_PUSH_DRAIN_TIMEOUT_NS;
}

void cairn_push_interrupt(struct cairn_push *p)
{
    atomic_store(&p->interrupted, 1);
}

/* Read a secret file, trimming trailing whitespace; caller frees. */
static char *read_secret(const char *path, struct cairn_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cairn_err_set(err, CAIRN_EIO, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    struct cairn_buf b = CAIRN_BUF_INIT;
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
        if (cairn_buf_append(&b, tmp, n)) {
            fclose(f);
            cairn_buf_deinit(&b);
            cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
            return NULL;
        }
    }
    fclose(f);
    while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r' ||
                     b.data[b.len - 1] == ' ' || b.data[b.len - 1] == '\t'))
        cairn_buf_truncate(&b, b.len - 1);
    if (!b.data && cairn_buf_append(&b, "", 0)) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    return cairn_buf_detach(&b, NULL);
}

static void *sender_main(void *arg);

struct cairn_push *cairn_push_create(const struct cairn_push_config *in, struct cairn_err *err)
{
    char *bearer = NULL, *password = NULL;
    if (!in->url || (strncmp(in->url, "http://", 7) && strncmp(in->url, "https://", 8))) {
        cairn_err_set(err, CAIRN_EINVAL, "client url must be http:// or https://, got '%s'",
                      in->url ? in->url : "");
        return NULL;
    }
    struct cairn_push *p = calloc(1, sizeof *p);
    if (!p) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    p->cfg = *in;
    struct cairn_push_config def;
    cairn_push_config_default(&def);
    if (p->cfg.batch_wait_ns <= 0)
        p->cfg.batch_wait_ns = def.batch_wait_ns;
    if (p->cfg.batch_size == 0)
        p->cfg.batch_size = def.batch_size;
    if (p->cfg.timeout_ns <= 0)
        p->cfg.timeout_ns = def.timeout_ns;
    if (p->cfg.min_backoff_ns <= 0)
        p->cfg.min_backoff_ns = def.min_backoff_ns;
    if (p->cfg.max_backoff_ns <= 0)
        p->cfg.max_backoff_ns = def.max_backoff_ns;
    if (p->cfg.max_retries < 0)
        p->cfg.max_retries = def.max_retries;
    if (p->cfg.queue_limit == 0)
        p->cfg.queue_limit = def.queue_limit;
    if (p->cfg.drain_timeout_ns <= 0)
        p->cfg.drain_timeout_ns = def.drain_timeout_ns;
    cairn_labels_init(&p->external);
    cairn_labels_init(&p->scratch_labels);
    for (size_t i = 0; i < CAIRN__PUSH_STATUS_SLOTS; i++)
        p->m.hist[i].status = -1;

    p->url = strdup(in->url);
    p->tenant_id = in->tenant_id ? strdup(in->tenant_id) : NULL;
    if (!p->url || (in->tenant_id && !p->tenant_id))
        goto nomem;
    if (p->tenant_id && strlen(p->tenant_id) >= CAIRN__PUSH_TENANT_MAX) {
        cairn_err_set(err, CAIRN_EINVAL, "tenant_id longer than %d bytes",
                      CAIRN__PUSH_TENANT_MAX - 1);
        goto fail;
    }
    /* host:port for the metrics' host label */
    const char *h = strstr(p->url, "://") + 3;
    size_t hl = strcspn(h, "/?#");
    if (hl >= sizeof p->host)
        hl = sizeof p->host - 1;
    memcpy(p->host, h, hl);
    p->host[hl] = '\0';
    if (in->external_labels && in->external_labels->n) {
        if (cairn_labels_copy(&p->external, in->external_labels))
            goto nomem;
        p->has_external = 1;
    }
    if (in->bearer_token_file) {
        if (!(bearer = read_secret(in->bearer_token_file, err)))
            goto fail;
    } else if (in->bearer_token) {
        if (!(bearer = strdup(in->bearer_token)))
            goto nomem;
    }
    if (in->basic_auth_password_file) {
        if (!(password = read_secret(in->basic_auth_password_file, err)))
            goto fail;
    } else if (in->basic_auth_password) {
        if (!(password = strdup(in->basic_auth_password)))
            goto nomem;
    }
    p->cfg.url = p->url;
    p->cfg.tenant_id = p->tenant_id;
    p->http = cairn__pushc_http_create(&p->cfg, bearer, password, err);
    if (!p->http)
        goto fail;
    /* the strings not copied are only used during create */
    p->cfg.external_labels = NULL;
    p->cfg.bearer_token = p->cfg.bearer_token_file = NULL;
    p->cfg.basic_auth_username = p->cfg.basic_auth_password = NULL;
    p->cfg.basic_auth_password_file = NULL;
    p->cfg.tls_ca_file = p->cfg.tls_cert_file = p->cfg.tls_key_file = NULL;
    p->cfg.user_agent = NULL;

    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv_sender, &ca);
    pthread_cond_init(&p->cv_space, &ca);
    pthread_cond_init(&p->cv_done, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&p->thread, NULL, sender_main, p)) {
        cairn_err_set(err, CAIRN_EIO, "cannot start the push sender thread");
        goto fail;
    }
    p->thread_started = 1;
    free(bearer);
    free(password);
    return p;
nomem:
    cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
fail:
    free(bearer);
    free(password);
    cairn_push_destroy(p);
    return NULL;
}

static void free_chain(struct cairn__push_batch *b)
{
    while (b) {
        struct cairn__push_batch *n = b->next;
        cairn__pushc_batch_free(b);
        b = n;
    }
}

void cairn_push_destroy(struct cairn_push *p)
{
    if (!p)
        return;
    if (p->thread_started) {
        pthread_mutex_lock(&p->mu);
        p->stopping = 1;
        pthread_cond_broadcast(&p->cv_sender);
        pthread_cond_broadcast(&p->cv_space);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->thread, NULL);
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv_sender);
        pthread_cond_destroy(&p->cv_space);
        pthread_cond_destroy(&p->cv_done);
    }
    for (size_t i = 0; i < p->n_open; i++)
        cairn__pushc_batch_free(p->open[i]);
    free(p->open);
    free_chain(p->ready_head);
    free_chain(p->free_list);
    cairn__pushc_http_destroy(p->http);
    cairn_labels_deinit(&p->external);
    cairn_labels_deinit(&p->scratch_labels);
    cairn_buf_deinit(&p->scratch);
    for (size_t i = 0; i < PUSH_FMT_CACHE; i++)
        cairn_buf_deinit(&p->fmt_cache[i].text);
    free(p->url);
    free(p->tenant_id);
    free(p);
}

/* Move open batch i to the ready queue (under mu). */
static void enqueue_open(struct cairn_push *p, size_t i)
{
    struct cairn__push_batch *b = p->open[i];
    p->open[i] = p->open[--p->n_open];
    b->next = NULL;
    if (p->ready_tail)
        p->ready_tail->next = b;
    else
        p->ready_head = b;
    p->ready_tail = b;
    pthread_cond_signal(&p->cv_sender);
}

static struct cairn__push_batch *open_batch(struct cairn_push *p, const char *tenant)
{
    for (size_t i = 0; i < p->n_open; i++)
        if (strcmp(p->open[i]->tenant, tenant) == 0)
            return p->open[i];
    if (p->n_open == p->cap_open) {
        size_t nc = p->cap_open ? p->cap_open * 2 : 4;
        void *no = realloc(p->open, nc * sizeof *p->open);
        if (!no)
            return NULL;
        p->open = no;
        p->cap_open = nc;
    }
    struct cairn__push_batch *b = p->free_list;
    if (b) {
        p->free_list = b->next;
        p->n_free--;
    } else if (!(b = calloc(1, sizeof *b))) {
        return NULL;
    }
    cairn__pushc_batch_reset(b, tenant, cairn_mono_ns());
    p->open[p->n_open++] = b;
    return b;
}

/* Wait (under mu) until `cost` more bytes fit, or the client stops. */
static struct timespec mono_deadline(int64_t at_ns);

/* Wait (under mu) until `cost` more bytes fit, or the client stops or is
 * interrupted (checked every 100 ms: an interrupt may come from a signal handler,
 * which cannot signal a condition variable). */
static int wait_space(struct cairn_push *p, size_t cost)
{
    while (!p->stopping && !atomic_load(&p->interrupted) && p->queued > 0 &&
           p->queued + cost > p->cfg.queue_limit) {
        /* make sure the sender has something to free: ship the open batches */
        while (p->n_open && !p->ready_head)
            enqueue_open(p, 0);
        struct timespec ts = mono_deadline(cairn_mono_ns() + 100000000LL);
        pthread_cond_timedwait(&p->cv_space, &p->mu, &ts);
    }
    return p->stopping || atomic_load(&p->interrupted) ? CAIRN_EAGAIN : 0;
}

/* Add an entry whose stream text is labels (under mu, space already waited for). */
static int add_locked(struct cairn_push *p, const char *tenant, const char *labels,
                      size_t labels_len, int64_t ts, const char *line, size_t len, const char *sm,
                      size_t sm_len)
{
    if (!tenant)
        tenant = p->tenant_id ? p->tenant_id : "";
    if (strlen(tenant) >= CAIRN__PUSH_TENANT_MAX)
        return CAIRN_EINVAL;
    struct cairn__push_batch *b = open_batch(p, tenant);
    if (!b)
        return CAIRN_ENOMEM;
    if (b->n_entries && b->line_bytes + len > p->cfg.batch_size) {
        for (size_t i = 0; i < p->n_open; i++)
            if (p->open[i] == b) {
                enqueue_open(p, i);
                break;
            }
        if (!(b = open_batch(p, tenant)))
            return CAIRN_ENOMEM;
    }
    size_t before = b->cost;
    int rc = cairn__pushc_batch_add(b, labels, labels_len, ts, line, len, sm, sm_len);
    if (rc)
        return rc;
    p->queued += b->cost - before;
    p->seq_in++;
    return 0;
}

static size_t estimate_cost(size_t labels_len, size_t len)
{
    return len + labels_len / 8 + CAIRN__PUSH_ENTRY_OVERHEAD;
}

int cairn_push_entry_str(struct cairn_push *p, const char *tenant, const char *labels,
                         size_t labels_len, int64_t ts_ns, const char *line, size_t len)
{
    pthread_mutex_lock(&p->mu);
    int rc = wait_space(p, estimate_cost(labels_len, len));
    if (!rc)
        rc = add_locked(p, tenant, labels, labels_len, ts_ns, line, len, NULL, 0);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

/* Merge the external labels under the stream's (stream wins) into scratch_labels. */
static int merge_external(struct cairn_push *p, const struct cairn_labels *ls)
{
    struct cairn_labels *out = &p->scratch_labels;
    cairn_labels_reset(out);
    size_t i = 0, j = 0;
    const struct cairn_labels *ex = &p->external;
    while (i < ls->n || j < ex->n) {
        int c;
        if (i == ls->n)
            c = 1;
        else if (j == ex->n)
            c = -1;
        else {
            const struct cairn_label *a = &ls->v[i], *b = &ex->v[j];
            size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
            c = memcmp(a->name, b->name, n);
            if (!c)
                c = (a->name_len > b->name_len) - (a->name_len < b->name_len);
        }
        const struct cairn_label *l = c <= 0 ? &ls->v[i] : &ex->v[j];
        int rc = cairn_labels_add(out, l->name, l->name_len, l->value, l->value_len);
        if (rc)
            return rc;
        if (c <= 0)
            i++;
        if (c >= 0)
            j++;
    }
    return 0;
}

int cairn_push_entry(struct cairn_push *p, const char *tenant, const struct cairn_labels *labels,
                     int64_t ts_ns, const char *line, size_t len)
{
    return cairn_push_entry_sm(p, tenant, labels, ts_ns, line, len, NULL, 0);
}

int cairn_push_entry_sm(struct cairn_push *p, const char *tenant, const struct cairn_labels *labels,
                        int64_t ts_ns, const char *line, size_t len, const char *sm, size_t sm_len)
{
    uint64_t fp = cairn_labels_fingerprint(labels) | 1; /* 0 marks an empty slot */
    pthread_mutex_lock(&p->mu);
    int rc = wait_space(p, estimate_cost(64, len + sm_len));
    if (rc)
        goto out;
    struct cairn_buf *text = &p->fmt_cache[fp % PUSH_FMT_CACHE].text;
    if (p->fmt_cache[fp % PUSH_FMT_CACHE].fp != fp) {
        const struct cairn_labels *ls = labels;
        if (p->has_external) {
            if ((rc = merge_external(p, labels)))
                goto out;
            ls = &p->scratch_labels;
        }
        cairn_buf_reset(text);
        p->fmt_cache[fp % PUSH_FMT_CACHE].fp = 0;
        if ((rc = cairn_labels_format(ls, text)))
            goto out;
        p->fmt_cache[fp % PUSH_FMT_CACHE].fp = fp;
    }
    rc = add_locked(p, tenant, text->data, text->len, ts_ns, line, len, sm, sm_len);
out:
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int cairn_push_flush(struct cairn_push *p)
{
    pthread_mutex_lock(&p->mu);
    uint64_t target = p->seq_in;
    while (p->n_open)
        enqueue_open(p, 0);
    while (p->seq_done < target && p->thread_started)
        pthread_cond_wait(&p->cv_done, &p->mu);
    int rc = p->undelivered ? CAIRN_EAGAIN : p->dropped_since_flush ? CAIRN_EIO : 0;
    p->dropped_since_flush = 0;
    p->undelivered = 0;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void cairn_push_stats(struct cairn_push *p, struct cairn_push_stats *out)
{
    pthread_mutex_lock(&p->mu);
    *out = p->m.s;
    out->queued_bytes = p->queued;
    pthread_mutex_unlock(&p->mu);
}

int cairn_push_metrics_write(struct cairn_push *p, const char *prefix, struct cairn_buf *out)
{
    pthread_mutex_lock(&p->mu);
    struct cairn__push_metrics m = p->m;
    m.s.queued_bytes = p->queued;
    pthread_mutex_unlock(&p->mu);
    return cairn__pushc_metrics_format(&m, prefix, p->host, out);
}

/* ---- sender thread ---- */

static struct timespec mono_deadline(int64_t at_ns)
{
    struct timespec ts = {(time_t)(at_ns / 1000000000LL), (long)(at_ns % 1000000000LL)};
    return ts;
}

/* The drain deadline once stopping or interrupted (0 before). Under mu. */
static int64_t drain_deadline(struct cairn_push *p)
{
    if (!p->drain_deadline && (p->stopping || atomic_load(&p->interrupted)))
        p->drain_deadline = cairn_mono_ns() + p->cfg.drain_timeout_ns;
    return p->drain_deadline;
}

/* Sleep for the backoff (under mu), in slices so that a stop or an interrupt cuts it
 * to the drain deadline. */
static void backoff_sleep(struct cairn_push *p, int64_t ns)
{
    int64_t until = cairn_mono_ns() + ns;
    for (;;) {
        int64_t now = cairn_mono_ns(), dl = drain_deadline(p);
        int64_t end = dl && dl < until ? dl : until;
        if (now >= end)
            return;
        int64_t slice = end - now < 100000000LL ? end - now : 100000000LL;
        struct timespec ts = mono_deadline(now + slice);
        pthread_cond_timedwait(&p->cv_done, &p->mu, &ts);
    }
}

/* Send one batch, retrying as configured. Called with mu held; releases it while
 * the request runs. Records the outcome in the metrics. */
static void send_batch(struct cairn_push *p, struct cairn__push_batch *b)
{
    size_t nent = b->n_entries, nbytes = b->line_bytes;
    pthread_mutex_unlock(&p->mu);
    int rc = p->cfg.protocol == CAIRN_PUSH_OTLP ? cairn__pushc_batch_encode_otlp(b)
                                                : cairn__pushc_batch_encode(b);
    pthread_mutex_lock(&p->mu);
    if (rc) {
        CAIRN_ERROR("push", "cannot encode batch; dropped", "entries=%zu err=%s", nent,
                    cairn_strerror(rc));
        p->m.dropped_entries_retries += nent;
        p->m.dropped_bytes_retries += nbytes;
        goto dropped;
    }
    int64_t backoff = p->cfg.min_backoff_ns;
    char msg[512];
    for (int attempt = 0;; attempt++) {
        pthread_mutex_unlock(&p->mu);
        int64_t t0 = cairn_mono_ns();
        long status = cairn__pushc_http_post(p->http, b->tenant, b->body.data, b->body.len, msg,
                                            sizeof msg);
        double secs = (double)(cairn_mono_ns() - t0) / 1e9;
        pthread_mutex_lock(&p->mu);
        p->m.s.requests++;
        if (attempt)
            p->m.s.retries++;
        cairn__pushc_metrics_observe(&p->m, status, secs);
        if (status >= 200 && status < 300) {
            p->m.s.sent_entries += nent;
            p->m.s.sent_bytes += nbytes;
            p->m.s.encoded_bytes += b->body.len;
            p->m.s.batches_sent++;
            return;
        }
        int retryable = status == 0 || status == 429 || status >= 500;
        if (!retryable) {
            CAIRN_ERROR("push", "server refused batch; dropped", "host=%s status=%ld entries=%zu "
                        "tenant=\"%s\" error=\"%s\"", p->host, status, nent, b->tenant, msg);
            p->m.dropped_entries_4xx += nent;
            p->m.dropped_bytes_4xx += nbytes;
            goto dropped;
        }
        int64_t dl = drain_deadline(p);
        if (dl && cairn_mono_ns() >= dl) {
            CAIRN_ERROR("push", "shutting down: batch not delivered", "host=%s status=%ld "
                        "entries=%zu error=\"%s\"", p->host, status, nent, msg);
            p->m.dropped_entries_retries += nent;
            p->m.dropped_bytes_retries += nbytes;
            p->undelivered = 1;
            goto dropped;
        }
        if (attempt >= p->cfg.max_retries) {
            CAIRN_ERROR("push", "out of retries; batch dropped", "host=%s status=%ld "
                        "entries=%zu retries=%d error=\"%s\"", p->host, status, nent, attempt, msg);
            p->m.dropped_entries_retries += nent;
            p->m.dropped_bytes_retries += nbytes;
            goto dropped;
        }
        CAIRN_WARN("push", "error sending batch, will retry", "host=%s status=%ld "
                   "backoff_ms=%lld error=\"%s\"", p->host, status,
                   (long long)(backoff / 1000000), msg);
        backoff_sleep(p, backoff);
        backoff = backoff * 2 > p->cfg.max_backoff_ns ? p->cfg.max_backoff_ns : backoff * 2;
    }
dropped:
    p->m.s.dropped_entries += nent;
    p->m.s.dropped_bytes += nbytes;
    p->m.s.batches_dropped++;
    p->dropped_since_flush = 1;
}

static void *sender_main(void *arg)
{
    struct cairn_push *p = arg;
    /* check batch ages at a tenth of batchwait, as Promtail does (at least 10 ms) */
    int64_t tick = p->cfg.batch_wait_ns / 10;
    if (tick < 10000000LL)
        tick = 10000000LL;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (!p->ready_head) {
            int64_t now = cairn_mono_ns();
            for (size_t i = 0; i < p->n_open;) {
                if (p->stopping || now - p->open[i]->created_ns >= p->cfg.batch_wait_ns)
                    enqueue_open(p, i);
                else
                    i++;
            }
            if (!p->ready_head) {
                if (p->stopping)
                    break;
                struct timespec ts = mono_deadline(now + tick);
                pthread_cond_timedwait(&p->cv_sender, &p->mu, &ts);
                continue;
            }
        }
        struct cairn__push_batch *b = p->ready_head;
        p->ready_head = b->next;
        if (!p->ready_head)
            p->ready_tail = NULL;
        send_batch(p, b);
        p->queued -= b->cost;
        p->seq_done += b->n_entries;
        if (p->n_free < FREE_BATCHES_KEPT) {
            b->next = p->free_list;
            p->free_list = b;
            p->n_free++;
        } else {
            cairn__pushc_batch_free(b);
        }
        pthread_cond_broadcast(&p->cv_space);
        pthread_cond_broadcast(&p->cv_done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}
