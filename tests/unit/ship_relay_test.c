/* ship_relay_test.c -- the loki_push_api relay (src/ship/src_relay.c) against a sink
 * of the test's own: a push is answered 204 only after its entries were handed to the
 * sink (a blocked sink holds the pusher's reply back: back-pressure), a sink refusing
 * because the agent stops gives 503, labels and tenant as documented, and the config
 * check that a relay names its port. Waits on events (condition variables), never on
 * time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>

#include "cairn/config.h"
#include "cairn/ship_config.h"
#include "ship/src_relay.h"

/* ---- a sink that records, and can hold the relay until released ---- */

struct tsink {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int hold;       /* emit waits while set */
    int waiting;    /* an emit is waiting */
    int refuse;     /* emit returns CAIRN_EAGAIN (the clients are stopping) */
    size_t n;
    char labels[4][256];
    char tenant[4][64];
    char line[4][64];
    int64_t ts[4];
};

static int tsink_emit(void *ud, const struct cairn_ship_entry *e)
{
    struct tsink *s = ud;
    pthread_mutex_lock(&s->mu);
    while (s->hold) {
        s->waiting = 1;
        pthread_cond_broadcast(&s->cv);
        pthread_cond_wait(&s->cv, &s->mu);
    }
    s->waiting = 0;
    int rc = s->refuse ? CAIRN_EAGAIN : 0;
    if (!rc && s->n < 4) {
        struct cairn_buf b = CAIRN_BUF_INIT;
        cairn_labels_format(&e->labels, &b);
        snprintf(s->labels[s->n], sizeof s->labels[0], "%s", cairn_buf_cstr(&b));
        cairn_buf_deinit(&b);
        snprintf(s->tenant[s->n], sizeof s->tenant[0], "%.*s", (int)e->tenant.len,
                 e->tenant.len ? e->tenant.data : "");
        snprintf(s->line[s->n], sizeof s->line[0], "%.*s", (int)e->line.len,
                 e->line.len ? e->line.data : "");
        s->ts[s->n] = e->ts;
    }
    if (!rc)
        s->n++;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static void tsink_init(struct tsink *s)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
}

/* ---- config ---- */

struct conf {
    struct cairn_cfg c;
    struct cairn_ship_config cfg;
    struct cairn_err err;
};

static int conf_load(struct conf *k, const char *yaml)
{
    assert_int_equal(cairn_cfg_init(&k->c, &cairn_ship_config_table, &k->cfg, NULL, &k->err), 0);
    int rc = cairn_cfg_load_string(&k->c, "relay.yaml", yaml, strlen(yaml), &k->err);
    if (!rc)
        rc = cairn_cfg_check(&k->c, &k->err);
    return rc;
}

static const char *relay_yaml =
    "scrape_configs:\n"
    "  - job_name: push\n"
    "    loki_push_api:\n"
    "      server:\n"
    "        http_listen_address: 127.0.0.1\n"
    "        http_listen_port: 0\n"
    "      labels:\n"
    "        via: relay\n"
    "        env: test\n"
    "      use_incoming_timestamp: true\n"
    "    relabel_configs:\n"
    "      - source_labels: [app]\n"
    "        regex: dropme\n"
    "        action: drop\n";

/* ---- a pusher on its own thread ---- */

struct pusher {
    char url[128];
    const char *body;
    const char *tenant;
    long status;
    atomic_int done;
};

static size_t discard(char *p, size_t sz, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return sz * n;
}

static void *push_thread(void *arg)
{
    struct pusher *p = arg;
    CURL *h = curl_easy_init();
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    char t[96];
    if (p->tenant) {
        snprintf(t, sizeof t, "X-Scope-OrgID: %s", p->tenant);
        hdr = curl_slist_append(hdr, t);
    }
    curl_easy_setopt(h, CURLOPT_URL, p->url);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, p->body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L); /* a hang fails the test, not CI */
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &p->status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    atomic_store(&p->done, 1);
    return NULL;
}

static const char *two_streams =
    "{\"streams\":[{\"stream\":{\"app\":\"web\",\"via\":\"client\",\"__x\":\"1\"},"
    "\"values\":[[\"1700000000000000001\",\"one\"],[\"1700000000000000002\",\"two\"]]},"
    "{\"stream\":{\"app\":\"dropme\"},\"values\":[[\"1700000000000000003\",\"gone\"]]}]}";

/* The reply waits for the sink: while the sink holds the relay, the pusher has no
 * answer; once released, 204, and the entries carry the documented labels. */
static void reply_after_sink(void **state)
{
    (void)state;
    struct conf k;
    assert_int_equal(conf_load(&k, relay_yaml), 0);
    struct tsink s;
    tsink_init(&s);
    s.hold = 1;
    struct cairn_ship_sink sink = {tsink_emit, NULL, &s};
    struct cairn_err err;
    struct cairn__relays *rs = cairn__relays_start(&k.cfg, &sink, NULL, &err);
    assert_non_null(rs);
    int port = cairn__relays_port(rs, 0);
    assert_true(port > 0);

    struct pusher p = {.body = two_streams, .tenant = "team-a"};
    snprintf(p.url, sizeof p.url, "http://127.0.0.1:%d/loki/api/v1/push", port);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, push_thread, &p), 0);
    pthread_mutex_lock(&s.mu);
    while (!s.waiting) /* the relay is inside the sink with the push */
        pthread_cond_wait(&s.cv, &s.mu);
    /* the reply can only be sent after emit returns: none has come */
    assert_int_equal(atomic_load(&p.done), 0);
    s.hold = 0;
    pthread_cond_broadcast(&s.cv);
    pthread_mutex_unlock(&s.mu);
    pthread_join(th, NULL);
    assert_int_equal(p.status, 204);

    assert_int_equal(s.n, 2); /* the dropme stream was relabelled away */
    for (size_t i = 0; i < 2; i++) {
        /* pushed labels, the relay's replacing `via`, no __ labels */
        assert_string_equal(s.labels[i], "{app=\"web\", env=\"test\", via=\"relay\"}");
        assert_string_equal(s.tenant[i], "team-a");
        assert_int_equal(s.ts[i], 1700000000000000001LL + (int64_t)i); /* incoming */
    }
    assert_string_equal(s.line[0], "one");
    assert_string_equal(s.line[1], "two");
    cairn__relays_destroy(rs);
    cairn_cfg_deinit(&k.c);
}

/* The clients refuse (the agent is stopping): 503, and the relay keeps answering. */
static void stopping_clients_503(void **state)
{
    (void)state;
    struct conf k;
    assert_int_equal(conf_load(&k, relay_yaml), 0);
    struct tsink s;
    tsink_init(&s);
    s.refuse = 1;
    struct cairn_ship_sink sink = {tsink_emit, NULL, &s};
    struct cairn_err err;
    struct cairn__relays *rs = cairn__relays_start(&k.cfg, &sink, NULL, &err);
    assert_non_null(rs);
    struct pusher p = {.body = two_streams};
    snprintf(p.url, sizeof p.url, "http://127.0.0.1:%d/loki/api/v1/push",
             cairn__relays_port(rs, 0));
    push_thread(&p);
    assert_int_equal(p.status, 503);
    /* stopping: refused before decoding */
    cairn__relays_stop(rs);
    s.refuse = 0;
    p.status = 0;
    push_thread(&p);
    assert_int_equal(p.status, 503);
    assert_int_equal(s.n, 0);
    cairn__relays_destroy(rs);
    cairn_cfg_deinit(&k.c);
}

/* Without a port nothing would listen: the config says so instead of starting nothing. */
static void config_needs_port(void **state)
{
    (void)state;
    struct conf k;
    int rc = conf_load(&k, "scrape_configs:\n"
                           "  - job_name: push\n"
                           "    loki_push_api:\n"
                           "      labels:\n"
                           "        via: relay\n");
    assert_int_equal(rc, CAIRN_EINVAL);
    assert_non_null(strstr(k.err.msg, "scrape_configs[0].loki_push_api.server.http_listen_port"));
    cairn_cfg_deinit(&k.c);
    /* no loki_push_api at all: no relay */
    assert_int_equal(conf_load(&k, "scrape_configs:\n  - job_name: files\n"), 0);
    struct cairn_ship_sink sink = {tsink_emit, NULL, NULL};
    struct cairn_err err;
    assert_null(cairn__relays_start(&k.cfg, &sink, NULL, &err));
    assert_int_equal(err.code, 0);
    /* --print-config of it loads again (its loki_push_api defaults name no relay) */
    struct cairn_buf dump = CAIRN_BUF_INIT;
    assert_int_equal(cairn_cfg_dump(&k.c, &dump), 0);
    cairn_cfg_deinit(&k.c);
    assert_int_equal(conf_load(&k, cairn_buf_cstr(&dump)), 0);
    assert_null(cairn__relays_start(&k.cfg, &sink, NULL, &err));
    cairn_buf_deinit(&dump);
    cairn_cfg_deinit(&k.c);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reply_after_sink),
        cmocka_unit_test(stopping_clients_503),
        cmocka_unit_test(config_needs_port),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
