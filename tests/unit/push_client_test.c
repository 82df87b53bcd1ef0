/* push_client_test.c -- the push client against a tiny scripted HTTP server on
 * 127.0.0.1: payload round trip (snappy + protobuf), batching by size and by wait,
 * retries on 5xx/429/network errors, no retry on 400, back-pressure, metrics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <snappy-c.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cairn/push.h"
#include "cairn/smeta.h"
#include "cairn/timeutil.h"
#include "push.pb-c.h"

#define MAX_REQ 64

struct req {
    char tenant[64];
    Logproto__PushRequest *pr; /* decoded body */
    size_t entries;
};

struct server {
    struct MHD_Daemon *d;
    int port;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int script[MAX_REQ]; /* status per request; 0 after the end: 204 */
    size_t n_script;
    struct req reqs[MAX_REQ];
    size_t n_req;
    int gate_closed; /* hold requests until opened */
};

struct conn {
    char *body;
    size_t len;
};

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    (void)url;
    (void)method;
    (void)version;
    struct server *s = cls;
    struct conn *cn = *con_cls;
    if (!cn) {
        cn = calloc(1, sizeof *cn);
        *con_cls = cn;
        return MHD_YES;
    }
    if (*upload_size) {
        cn->body = realloc(cn->body, cn->len + *upload_size);
        memcpy(cn->body + cn->len, upload, *upload_size);
        cn->len += *upload_size;
        *upload_size = 0;
        return MHD_YES;
    }
    size_t ulen = 0;
    Logproto__PushRequest *pr = NULL;
    if (snappy_uncompressed_length(cn->body, cn->len, &ulen) == SNAPPY_OK) {
        char *raw = malloc(ulen ? ulen : 1);
        if (snappy_uncompress(cn->body, cn->len, raw, &ulen) == SNAPPY_OK)
            pr = logproto__push_request__unpack(NULL, ulen, (uint8_t *)raw);
        free(raw);
    }
    const char *tenant = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Scope-OrgID");
    pthread_mutex_lock(&s->mu);
    while (s->gate_closed)
        pthread_cond_wait(&s->cv, &s->mu);
    size_t i = s->n_req;
    int status = i < s->n_script ? s->script[i] : 204;
    if (i < MAX_REQ) {
        struct req *r = &s->reqs[i];
        snprintf(r->tenant, sizeof r->tenant, "%s", tenant ? tenant : "");
        r->pr = pr;
        r->entries = 0;
        for (size_t k = 0; pr && k < pr->n_streams; k++)
            r->entries += pr->streams[k]->n_entries;
        s->n_req++;
        pr = NULL;
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (pr)
        logproto__push_request__free_unpacked(pr, NULL);
    const char *msg = status == 400 ? "entry too far behind" : "";
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct conn *cn = *con_cls;
    if (cn) {
        free(cn->body);
        free(cn);
        *con_cls = NULL;
    }
}

static struct server *server_start(const int *script, size_t n)
{
    struct server *s = calloc(1, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (n)
        memcpy(s->script, script, n * sizeof *script);
    s->n_script = n;
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                            handler, s, MHD_OPTION_SOCK_ADDR, &sa,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_END);
    assert_non_null(s->d);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di->port;
    return s;
}

static void server_stop(struct server *s)
{
    pthread_mutex_lock(&s->mu);
    s->gate_closed = 0;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    MHD_stop_daemon(s->d);
    for (size_t i = 0; i < s->n_req && i < MAX_REQ; i++)
        if (s->reqs[i].pr)
            logproto__push_request__free_unpacked(s->reqs[i].pr, NULL);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

/* Wait (bounded, 20 s) until the server has seen n requests. */
static size_t server_wait(struct server *s, size_t n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 20;
    pthread_mutex_lock(&s->mu);
    while (s->n_req < n)
        if (pthread_cond_timedwait(&s->cv, &s->mu, &ts))
            break;
    size_t got = s->n_req;
    pthread_mutex_unlock(&s->mu);
    return got;
}

static void config_for(struct cairn_push_config *cfg, struct server *s, char *url, size_t cap)
{
    cairn_push_config_default(cfg);
    snprintf(url, cap, "http://127.0.0.1:%d/loki/api/v1/push", s->port);
    cfg->url = url;
    cfg->min_backoff_ns = 1000000;  /* 1 ms: tests do not wait on backoff */
    cfg->max_backoff_ns = 4000000;
    cfg->batch_wait_ns = 3600LL * 1000000000LL; /* only size and flush send */
}

static void parse_labels(struct cairn_labels *ls, const char *s)
{
    struct cairn_err err;
    cairn_labels_reset(ls);
    assert_int_equal(cairn_labels_parse(ls, s, strlen(s), &err), 0);
}

static void payload_round_trips(void **state)
{
    (void)state;
    struct server *s = server_start(NULL, 0);
    struct cairn_push_config cfg;
    char url[128];
    config_for(&cfg, s, url, sizeof url);
    cfg.tenant_id = "team-a";
    struct cairn_labels ext, ls;
    cairn_labels_init(&ext);
    cairn_labels_init(&ls);
    parse_labels(&ext, "{cluster=\"eu1\", job=\"overridden\"}");
    cfg.external_labels = &ext;
    struct cairn_err err;
    struct cairn_push *p = cairn_push_create(&cfg, &err);
    assert_non_null(p);
    parse_labels(&ls, "{job=\"events\", namespace=\"grafana-com\"}");
    assert_int_equal(cairn_push_entry(p, NULL, &ls, 1700000000123456789LL, "first", 5), 0);
    parse_labels(&ls, "{job=\"other\"}");
    assert_int_equal(cairn_push_entry(p, NULL, &ls, 1700000001000000000LL, "x\0y", 3), 0);
    parse_labels(&ls, "{job=\"events\", namespace=\"grafana-com\"}");
    struct cairn_buf sm = CAIRN_BUF_INIT; /* structured metadata: two pairs */
    assert_int_equal(cairn_smeta_append(&sm, "trace_id", 8, "0af7651916cd43dd", 16), 0);
    assert_int_equal(cairn_smeta_append(&sm, "user", 4, "u1", 2), 0);
    assert_int_equal(cairn_push_entry_sm(p, NULL, &ls, 1700000000223456789LL, "second", 6, sm.data,
                                         sm.len), 0);
    cairn_buf_deinit(&sm);
    assert_int_equal(cairn_push_flush(p), 0);
    assert_int_equal(server_wait(s, 1), 1);
    struct req *r = &s->reqs[0];
    assert_string_equal(r->tenant, "team-a");
    assert_non_null(r->pr);
    assert_int_equal(r->pr->n_streams, 2);
    Logproto__StreamAdapter *a = r->pr->streams[0];
    assert_string_equal(a->labels, "{cluster=\"eu1\", job=\"events\", namespace=\"grafana-com\"}");
    assert_int_equal(a->n_entries, 2);
    assert_int_equal(a->entries[0]->timestamp->seconds, 1700000000);
    assert_int_equal(a->entries[0]->timestamp->nanos, 123456789);
    assert_memory_equal(a->entries[0]->line.data, "first", 5);
    assert_memory_equal(a->entries[1]->line.data, "second", 6);
    assert_int_equal(a->entries[0]->n_structuredmetadata, 0);
    assert_int_equal(a->entries[1]->n_structuredmetadata, 2);
    assert_string_equal(a->entries[1]->structuredmetadata[0]->name, "trace_id");
    assert_string_equal(a->entries[1]->structuredmetadata[0]->value, "0af7651916cd43dd");
    assert_string_equal(a->entries[1]->structuredmetadata[1]->name, "user");
    assert_string_equal(a->entries[1]->structuredmetadata[1]->value, "u1");
    Logproto__StreamAdapter *b = r->pr->streams[1];
    assert_string_equal(b->labels, "{cluster=\"eu1\", job=\"other\"}");
    assert_int_equal(b->entries[0]->line.len, 3);
    assert_memory_equal(b->entries[0]->line.data, "x\0y", 3);

    /* a tenant per entry becomes its own batch and header */
    assert_int_equal(cairn_push_entry_str(p, "team-b", "{a=\"1\"}", 7, 5, "z", 1), 0);
    assert_int_equal(cairn_push_flush(p), 0);
    assert_int_equal(server_wait(s, 2), 2);
    assert_string_equal(s->reqs[1].tenant, "team-b");
    assert_string_equal(s->reqs[1].pr->streams[0]->labels, "{a=\"1\"}");

    struct cairn_push_stats st;
    cairn_push_stats(p, &st);
    assert_int_equal(st.sent_entries, 4);
    assert_int_equal(st.sent_bytes, 15);
    assert_int_equal(st.dropped_entries, 0);
    assert_int_equal(st.queued_bytes, 0);
    struct cairn_buf m = CAIRN_BUF_INIT;
    assert_int_equal(cairn_push_metrics_write(p, "promtail", &m), 0);
    char want[128];
    snprintf(want, sizeof want, "promtail_sent_entries_total{host=\"127.0.0.1:%d\"} 4", s->port);
    assert_non_null(strstr(m.data, want));
    assert_non_null(strstr(m.data, "status_code=\"204\",le=\"+Inf\"} 2"));
    cairn_buf_deinit(&m);
    cairn_push_destroy(p);
    cairn_labels_deinit(&ext);
    cairn_labels_deinit(&ls);
    server_stop(s);
}

static void batches_by_size(void **state)
{
    (void)state;
    struct server *s = server_start(NULL, 0);
    struct cairn_push_config cfg;
    char url[128];
    config_for(&cfg, s, url, sizeof url);
    cfg.batch_size = 100;
    struct cairn_err err;
    struct cairn_push *p = cairn_push_create(&cfg, &err);
    assert_non_null(p);
    char line[31];
    memset(line, 'a', 30);
    for (int i = 0; i < 10; i++)
        assert_int_equal(cairn_push_entry_str(p, NULL, "{job=\"x\"}", 9, i, line, 30), 0);
    /* three full batches went without a flush (a fourth line would pass 100 bytes) */
    assert_int_equal(server_wait(s, 3), 3);
    assert_int_equal(cairn_push_flush(p), 0);
    assert_int_equal(server_wait(s, 4), 4);
    assert_int_equal(s->reqs[0].entries, 3);
    assert_int_equal(s->reqs[1].entries, 3);
    assert_int_equal(s->reqs[2].entries, 3);
    assert_int_equal(s->reqs[3].entries, 1);
    assert_string_equal(s->reqs[0].tenant, "");
    cairn_push_destroy(p);
    server_stop(s);
}

static void batches_by_wait(void **state)
{
    (void)state;
    struct server *s = server_start(NULL, 0);
    struct cairn_push_config cfg;
    char url[128];
    config_for(&cfg, s, url, sizeof url);
    cfg.batch_wait_ns = 20000000; /* 20 ms */
    struct cairn_err err;
    struct cairn_push *p = cairn_push_create(&cfg, &err);
    assert_non_null(p);
    assert_int_equal(cairn_push_entry_str(p, NULL, "{job=\"x\"}", 9, 1, "one", 3), 0);
    assert_int_equal(cairn_push_entry_str(p, NULL, "{job=\"x\"}", 9, 2, "two", 3), 0);
    /* no flush: the sender ships the batch once it is older than batchwait */
    assert_int_equal(server_wait(s, 1), 1);
    assert_int_equal(s->reqs[0].entries, 2);
    cairn_push_destroy(p);
    server_stop(s);
}

static void retries_5xx_and_429_then_succeeds(void **state)
{
    (void)state;
    const int script[] = {500, 429, 503, 204};
    struct server *s = server_start(script, 4);
    struct cairn_push_config cfg;
    char url[128];
    config_for(&cfg, s, url, sizeof url);
    struct cairn_err err;
    struct cairn_push *p = cairn_push_create(&cfg, &err);
    assert_non_null(p);
    assert_int_equal(cairn_push_entry_str(p, NULL, "{job=\"x\"}", 9, 1, "l", 1), 0);
    assert_int_equal(cairn_push_flush(p), 0);
    assert_int_equal(server_wait(s, 4), 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(s->reqs[i].entries, 1); /* the same batch each time */
    struct cairn_push_stats st;
    cairn_push_stats(p, &st);
    assert_int_equal(st.requests, 4);
    assert_int_equal(st.retries, 3);
    assert_int_equal(st.sent_entries, 1);
    assert_int_equal(st.dropped_entries, 0);
    cairn_push_destroy(p);
    server_stop(s);
}

static void never_retries_400_and_counts_the_drop(void **state)
{
    (void)state;
    const int script[] = {400, 204};
    struct server *s = server_start(script, 2);
    struct cairn_push_config cfg;
    char url[128];
    config_for(&cfg, s, url, sizeof url);
    struct cairn_err err;
    struct cairn_push *p = cairn_push_create(&cfg, &err);
    assert_non_null(p);
    assert_int_equal(cairn_push_entry_str(p, NULL, "{job=\"x\"}", 9, 1, "bad", 3), 0);
    assert_int_equal(cairn_push_flush(p), CAIRN_EIO);
    assert_int_equal(cairn_push_entry_str(p, NULL, "{job=\"x\"}", 9, 2, "good", 4), 0);
    assert_int_equal(cairn_push_flush(p), 0);
    assert_int_equal(server_wait(s, 2), 2);
    struct cairn_push_stats st;
    cairn_push_stats(p, &st);
    assert_int_equal(st.requests, 2);
    assert_int_equal(st.retries, 0);
    assert_int_equal(st.dropped_entries, 1);
    assert_int_equal(st.dropped_bytes, 3);
    assert_int_equal(st.sent_entries, 1);
    struct cairn_buf m = CAIRN_BUF_INIT;
    assert_int_equal(cairn_push_metrics_write(p, "promtail", &m), 0);
    assert_non_null(strstr(m.data, "reason=\"rejected\"} 1\n"));
    cairn_buf_deinit(&m);
    cairn_push_destroy(p);
    server_stop(s);
}

static void gives_up_after_max_retries(void **state)
{
    (void)state;
    const int script[] = {500, 500, 500, 500, 500};
    struct server *s = server_start(script, 5);
    struct cairn_push_config cfg;
    char url[128];
    config_for(&cfg, s, url, sizeof url);
    cfg.max_retries = 2;
    struct cairn_err err;
    struct cairn_push *p = cairn_push_create(&cfg, &err);
    assert_non_null(p);
    assert_int_equal(cairn_push_entry_str(p, NULL, "{job=\"x\"}", 9, 1, "l", 1), 0);
    assert_int_equal(cairn_push_flush(p), CAIRN_EIO);
    struct cairn_push_stats st;
    cairn_push_stats(p, &st);
    assert_int_equal(st.requests, 3);
    assert_int_equal(st.retries, 2);
    assert_int_equal(st.dropped_entries, 1);
    cairn_push_destroy(p);
    server_stop(s);
}

static void retries_network_errors(void **state)
{
    (void)state;
    /* a port nobody listens on: bind, learn the port, close */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    close(fd);
    struct cairn_push_config cfg;
    cairn_push_config_default(&cfg);
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/loki/api/v1/push", ntohs(sa.sin_port));
    cfg.url = url;
    cfg.min_backoff_ns = 1000000;
    cfg.max_backoff_ns = 2000000;
    cfg.max_retries = 2;
    struct cairn_err err;
    struct cairn_push *p = cairn_push_create(&cfg, &err);
    assert_non_null(p);
    assert_int_equal(cairn_push_entry_str(p, NULL, "{job=\"x\"}", 9, 1, "l", 1), 0);
    assert_int_equal(cairn_push_flush(p), CAIRN_EIO);
    struct cairn_push_stats st;
    cairn_push_stats(p, &st);
    assert_int_equal(st.requests, 3);
    assert_int_equal(st.retries, 2);
    assert_int_equal(st.dropped_entries, 1);
    cairn_push_destroy(p);
}

struct producer {
    struct cairn_push *p;
    int n;
    size_t max_queued;
    int failed;
};

static void *produce(void *arg)
{
    struct producer *pr = arg;
    char line[100];
    memset(line, 'q', sizeof line);
    for (int i = 0; i < pr->n; i++) {
        if (cairn_push_entry_str(pr->p, NULL, "{job=\"x\"}", 9, i, line, sizeof line))
            pr->failed++;
        struct cairn_push_stats st;
        cairn_push_stats(pr->p, &st);
        if (st.queued_bytes > pr->max_queued)
            pr->max_queued = st.queued_bytes;
    }
    return NULL;
}

static void blocks_producer_instead_of_dropping(void **state)
{
    (void)state;
    struct server *s = server_start(NULL, 0);
    s->gate_closed = 1; /* the server holds every request until opened */
    struct cairn_push_config cfg;
    char url[128];
    config_for(&cfg, s, url, sizeof url);
    cfg.batch_size = 1000;
    cfg.queue_limit = 4000;
    struct cairn_err err;
    struct cairn_push *p = cairn_push_create(&cfg, &err);
    assert_non_null(p);
    struct producer pr = {p, 500, 0, 0};
    pthread_t t;
    pthread_create(&t, NULL, produce, &pr);
    /* wait until the queue is full: the producer must now be blocked */
    int64_t deadline = cairn_mono_ns() + 20LL * 1000000000LL;
    struct cairn_push_stats st;
    do {
        cairn_push_stats(p, &st);
        if (st.queued_bytes + 200 > cfg.queue_limit)
            break;
        usleep(1000);
    } while (cairn_mono_ns() < deadline);
    assert_true(st.queued_bytes + 200 > cfg.queue_limit);
    pthread_mutex_lock(&s->mu);
    s->gate_closed = 0;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(t, NULL);
    assert_int_equal(cairn_push_flush(p), 0);
    assert_int_equal(pr.failed, 0);
    /* bounded: never more than the limit plus one entry's cost */
    assert_true(pr.max_queued <= cfg.queue_limit + 200);
    cairn_push_stats(p, &st);
    assert_int_equal(st.sent_entries, 500);
    assert_int_equal(st.dropped_entries, 0);
    size_t total = 0;
    for (size_t i = 0; i < s->n_req; i++)
        total += s->reqs[i].entries;
    assert_int_equal(total, 500);
    cairn_push_destroy(p);
    server_stop(s);
}

static void interrupt_unblocks_and_bounds_the_drain(void **state)
{
    (void)state;
    /* a server that always fails: without a bound, retries would go on for minutes */
    int script[MAX_REQ];
    for (size_t i = 0; i < MAX_REQ; i++)
        script[i] = 503;
    struct server *s = server_start(script, MAX_REQ);
    struct cairn_push_config cfg;
    char url[128];
    config_for(&cfg, s, url, sizeof url);
    cfg.min_backoff_ns = 20000000;  /* 20 ms */
    cfg.max_backoff_ns = 20000000;
    cfg.max_retries = 1000000;
    cfg.queue_limit = 4000;
    cfg.batch_size = 1000;
    cfg.drain_timeout_ns = 50000000; /* 50 ms */
    struct cairn_err err;
    struct cairn_push *p = cairn_push_create(&cfg, &err);
    assert_non_null(p);
    struct producer pr = {p, 500, 0, 0};
    pthread_t t;
    pthread_create(&t, NULL, produce, &pr);
    /* the producer fills the queue and blocks; wait for the first (failing) request */
    assert_true(server_wait(s, 1) >= 1);
    cairn_push_interrupt(p);
    pthread_join(t, NULL); /* returns: refused entries instead of blocking forever */
    assert_true(pr.failed > 0);
    /* what was queued is given up after the drain timeout, and flush says so */
    assert_int_equal(cairn_push_flush(p), CAIRN_EAGAIN);
    assert_int_equal(cairn_push_entry_str(p, NULL, "{job=\"x\"}", 9, 1, "late", 4), CAIRN_EAGAIN);
    struct cairn_push_stats st;
    cairn_push_stats(p, &st);
    assert_int_equal(st.sent_entries, 0);
    assert_int_equal(st.dropped_entries, (uint64_t)(500 - pr.failed));
    cairn_push_destroy(p);
    server_stop(s);
}

static void rejects_bad_config(void **state)
{
    (void)state;
    struct cairn_push_config cfg;
    cairn_push_config_default(&cfg);
    struct cairn_err err;
    cfg.url = "ftp://x";
    assert_null(cairn_push_create(&cfg, &err));
    assert_non_null(strstr(err.msg, "ftp://x"));
    cfg.url = "http://127.0.0.1:1/x";
    cfg.bearer_token_file = "/nonexistent/token";
    assert_null(cairn_push_create(&cfg, &err));
    assert_non_null(strstr(err.msg, "/nonexistent/token"));
    cairn_push_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(payload_round_trips),
        cmocka_unit_test(batches_by_size),
        cmocka_unit_test(batches_by_wait),
        cmocka_unit_test(retries_5xx_and_429_then_succeeds),
        cmocka_unit_test(never_retries_400_and_counts_the_drop),
        cmocka_unit_test(gives_up_after_max_retries),
        cmocka_unit_test(retries_network_errors),
        cmocka_unit_test(blocks_producer_instead_of_dropping),
        cmocka_unit_test(interrupt_unblocks_and_bounds_the_drain),
        cmocka_unit_test(rejects_bad_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
