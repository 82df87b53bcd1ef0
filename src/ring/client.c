/* client.c -- node-to-node HTTP calls run concurrently through one curl multi per
 * batch, with the connection cache shared by every batch of every thread (curl share
 * handle, locked per data kind), so forwards reuse their keep-alive connections. */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/error.h"
#include "cairn/ring_client.h"
#include "cairn/timeutil.h"

#define DEFAULT_MAX_REPLY (64u * 1024u)

struct cairn_ring_client {
    CURLSH *share;
    pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
    char *secret_hdr; /* "X-Cairn-Secret: ..." or NULL */
    long timeout_ms;
};

static void lock_fn(CURL *h, curl_lock_data d, curl_lock_access a, void *u)
{
    (void)h;
    (void)a;
    struct cairn_ring_client *c = u;
    pthread_mutex_lock(&c->locks[d < CURL_LOCK_DATA_LAST ? d : 0]);
}

static void unlock_fn(CURL *h, curl_lock_data d, void *u)
{
    (void)h;
    struct cairn_ring_client *c = u;
    pthread_mutex_unlock(&c->locks[d < CURL_LOCK_DATA_LAST ? d : 0]);
}

struct cairn_ring_client *cairn_ring_client_create(const char *secret, int64_t timeout_ns)
{
    struct cairn_ring_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&c->locks[i], NULL);
    c->timeout_ms = timeout_ns > 1000000 ? (long)(timeout_ns / 1000000) : 1;
    if (secret && *secret) {
        size_t l = strlen(secret) + sizeof CAIRN_RING_SECRET_HEADER + 4;
        if (!(c->secret_hdr = malloc(l)))
            goto fail;
        snprintf(c->secret_hdr, l, "%s: %s", CAIRN_RING_SECRET_HEADER, secret);
    }
    if (!(c->share = curl_share_init()))
        goto fail;
    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, lock_fn);
    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, unlock_fn);
    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    return c;
fail:
    cairn_ring_client_destroy(c);
    return NULL;
}

void cairn_ring_client_destroy(struct cairn_ring_client *c)
{
    if (!c)
        return;
    if (c->share)
        curl_share_cleanup(c->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&c->locks[i]);
    free(c->secret_hdr);
    free(c);
}

struct slot {
    struct cairn_ring_call *call;
    CURL *h;
    struct curl_slist *hd;
    char url[1024];
    int too_big;
};

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    struct slot *s = ud;
    size_t len = size * n;
    size_t max = s->call->max_reply ? s->call->max_reply : DEFAULT_MAX_REPLY;
    if (s->call->reply.len + len > max) {
        s->too_big = 1;
        return 0; /* abort the transfer */
    }
    return cairn_buf_append(&s->call->reply, p, len) ? 0 : len;
}

static int setup(struct cairn_ring_client *c, struct slot *s)
{
    struct cairn_ring_call *k = s->call;
    snprintf(s->url, sizeof s->url, "http://%s%s", k->addr, k->path);
    if (!(s->h = curl_easy_init()))
        return CAIRN_ENOMEM;
    char th[300];
    snprintf(th, sizeof th, "X-Scope-OrgID: %s", k->tenant ? k->tenant : "fake");
    struct curl_slist *hd = curl_slist_append(NULL, th);
    if (hd && k->body)
        hd = curl_slist_append(hd, "Content-Type: application/x-protobuf");
    if (hd && c->secret_hdr)
        hd = curl_slist_append(hd, c->secret_hdr);
    if (hd)
        hd = curl_slist_append(hd, "Expect:"); /* no 100-continue round trip */
    if (!hd)
        return CAIRN_ENOMEM;
    s->hd = hd;
    CURL *h = s->h;
    curl_easy_setopt(h, CURLOPT_URL, s->url);
    curl_easy_setopt(h, CURLOPT_SHARE, c->share);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, k->err);
    curl_easy_setopt(h, CURLOPT_PRIVATE, s);
    if (k->body) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, k->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)k->len);
    }
    return 0;
}

int cairn_ring_client_run(struct cairn_ring_client *c, struct cairn_ring_call *calls, size_t n)
{
    if (!n)
        return 0;
    struct slot *slots = calloc(n, sizeof *slots);
    CURLM *m = curl_multi_init();
    int rc = slots && m ? 0 : CAIRN_ENOMEM;
    int64_t t0 = cairn_mono_ns();
    for (size_t i = 0; i < n && !rc; i++) {
        slots[i].call = &calls[i];
        calls[i].status = 0;
        calls[i].err[0] = '\0';
        cairn_buf_reset(&calls[i].reply);
        rc = setup(c, &slots[i]);
        if (!rc && curl_multi_add_handle(m, slots[i].h) != CURLM_OK)
            rc = CAIRN_ENOMEM;
    }
    int running = rc ? 0 : 1;
    while (running) {
        if (curl_multi_perform(m, &running) != CURLM_OK)
            break;
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct slot *s = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            s->call->ns = cairn_mono_ns() - t0;
            if (msg->data.result == CURLE_OK) {
                curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &s->call->status);
            } else if (s->too_big) {
                snprintf(s->call->err, sizeof s->call->err, "reply larger than %zu bytes",
                         s->call->max_reply ? s->call->max_reply : (size_t)DEFAULT_MAX_REPLY);
            } else if (!s->call->err[0]) {
                snprintf(s->call->err, sizeof s->call->err, "%s",
                         curl_easy_strerror(msg->data.result));
            }
        }
        if (running)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    for (size_t i = 0; slots && i < n; i++) {
        if (slots[i].h) {
            curl_multi_remove_handle(m, slots[i].h);
            curl_easy_cleanup(slots[i].h);
        }
        curl_slist_free_all(slots[i].hd);
    }
    if (m)
        curl_multi_cleanup(m);
    free(slots);
    return rc;
}
