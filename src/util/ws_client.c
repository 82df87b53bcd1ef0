/* ws_client.c -- a WebSocket client connection: libcurl connects (CONNECT_ONLY, so
 * TLS and proxies are curl's), we send the upgrade request, check the 101 answer and
 * its accept key, then read frames with cairn/ws.h, answering pings. */
#include <curl/curl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cairn/timeutil.h"
#include "cairn/ws.h"
#include "cairn/ws_client.h"

#define WSC_TIMEOUT_MS 10000L
#define WSC_MAX_MESSAGE (64u << 20)
#define WSC_HEAD_MAX 16384 /* an upgrade answer's head longer than this is not one */

struct cairn_wsc {
    CURL *c;
    curl_socket_t sock;
    struct cairn_ws_reader rd;
    struct cairn_buf out; /* frames we send (pongs, the close) */
    unsigned char mask[4];
};

/* Wait until the socket is readable (or writable), at most ms (-1: no limit).
 * 1 ready, 0 timed out, -1 error. */
static int wait_sock(curl_socket_t s, int for_write, int ms)
{
    struct pollfd p = {s, (short)(for_write ? POLLOUT : POLLIN), 0};
    int r = poll(&p, 1, ms);
    return r < 0 ? -1 : r;
}

static int send_all(struct cairn_wsc *w, const char *p, size_t n)
{
    while (n) {
        size_t sent = 0;
        CURLcode cc = curl_easy_send(w->c, p, n, &sent);
        if (cc == CURLE_AGAIN) {
            if (wait_sock(w->sock, 1, WSC_TIMEOUT_MS) <= 0)
                return CAIRN_EIO;
            continue;
        }
        if (cc != CURLE_OK)
            return CAIRN_EIO;
        p += sent;
        n -= sent;
    }
    return 0;
}

/* Read what is there into b, waiting up to ms for something. 1 read, 0 timed out,
 * CAIRN_EIO closed or failed, CAIRN_ENOMEM. */
static int recv_some(struct cairn_wsc *w, struct cairn_buf *b, int ms)
{
    char buf[16384];
    for (;;) {
        size_t got = 0;
        CURLcode cc = curl_easy_recv(w->c, buf, sizeof buf, &got);
        if (cc == CURLE_AGAIN) {
            int r = wait_sock(w->sock, 0, ms);
            if (r <= 0)
                return r == 0 ? 0 : CAIRN_EIO;
            continue;
        }
        if (cc != CURLE_OK || got == 0)
            return CAIRN_EIO;
        return cairn_buf_append(b, buf, got) ? CAIRN_ENOMEM : 1;
    }
}

/* "GET <path?query> HTTP/1.1" target and Host of the url. */
static int url_parts(const char *url, struct cairn_buf *target, struct cairn_buf *host)
{
    CURLU *u = curl_url();
    char *h = NULL, *port = NULL, *path = NULL, *query = NULL;
    int rc = CAIRN_EINVAL;
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK)
        goto out;
    curl_url_get(u, CURLUPART_PORT, &port, 0);
    curl_url_get(u, CURLUPART_PATH, &path, 0);
    curl_url_get(u, CURLUPART_QUERY, &query, 0);
    if (cairn_buf_appendf(target, "%s%s%s", path ? path : "/", query ? "?" : "",
                          query ? query : "") ||
        cairn_buf_appendf(host, "%s%s%s", h, port ? ":" : "", port ? port : ""))
        rc = CAIRN_ENOMEM;
    else
        rc = 0;
out:
    curl_free(h);
    curl_free(port);
    curl_free(path);
    curl_free(query);
    curl_url_cleanup(u);
    return rc;
}

static void fresh_bytes(unsigned char *p, size_t n)
{
    if (getrandom(p, n, 0) == (ssize_t)n)
        return;
    uint64_t x = (uint64_t)cairn_mono_ns() ^ (uint64_t)time(NULL) << 20; /* only has to differ */
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        p[i] = (unsigned char)(x >> 56);
    }
}

/* Send the upgrade request and check the answer; leftover bytes go to the reader. */
static int handshake(struct cairn_wsc *w, const struct cairn_wsc_opts *o, struct cairn_err *err)
{
    struct cairn_buf target = CAIRN_BUF_INIT, host = CAIRN_BUF_INIT, req = CAIRN_BUF_INIT;
    struct cairn_buf in = CAIRN_BUF_INIT;
    unsigned char nonce[16];
    char key[25], want[29];
    int rc = url_parts(o->url, &target, &host);
    if (rc) {
        cairn_err_set(err, rc, "%s: not a URL", o->url);
        goto out;
    }
    fresh_bytes(nonce, sizeof nonce);
    cairn_ws_client_key(nonce, key);
    if (cairn_buf_appendf(&req,
                          "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                          "Sec-WebSocket-Version: 13\r\n%s\r\n",
                          target.data, host.data, key, o->headers ? o->headers : "")) {
        rc = cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = send_all(w, req.data, req.len))) {
        cairn_err_set(err, rc, "%s: cannot send the upgrade request", o->url);
        goto out;
    }
    long ms = o->timeout_ms > 0 ? o->timeout_ms : WSC_TIMEOUT_MS;
    int64_t deadline = cairn_mono_ns() + ms * 1000000LL;
    char *end;
    while (!(end = in.len ? memmem(in.data, in.len, "\r\n\r\n", 4) : NULL)) {
        int64_t left = (deadline - cairn_mono_ns()) / 1000000LL;
        int r = left > 0 && in.len < WSC_HEAD_MAX ? recv_some(w, &in, (int)left) : 0;
        if (r <= 0) {
            rc = r == CAIRN_ENOMEM ? r : CAIRN_EIO;
            cairn_err_set(err, rc, "%s: %s", o->url,
                          r == 0 ? "no upgrade answer in time" : "closed before answering");
            goto out;
        }
    }
    size_t head = (size_t)(end - in.data) + 4;
    if (in.len < 12 || memcmp(in.data + 9, "101", 3) != 0) {
        const char *eol = memchr(in.data, '\r', in.len);
        int sl = eol ? (int)(eol - in.data) : 0;
        int bl = (int)(in.len - head > 300 ? 300 : in.len - head);
        rc = cairn_err_set(err, CAIRN_EIO, "%s: upgrade refused: %.*s: %.*s", o->url, sl,
                           in.data, bl, in.data + head);
        goto out;
    }
    cairn_ws_accept_key(key, 24, want);
    if (!memmem(in.data, head, want, 28)) {
        rc = cairn_err_set(err, CAIRN_EIO, "%s: wrong Sec-WebSocket-Accept", o->url);
        goto out;
    }
    rc = cairn_ws_reader_feed(&w->rd, in.data + head, in.len - head);
    if (rc)
        cairn_err_set(err, rc, "out of memory");
out:
    cairn_buf_deinit(&target);
    cairn_buf_deinit(&host);
    cairn_buf_deinit(&req);
    cairn_buf_deinit(&in);
    return rc;
}

struct cairn_wsc *cairn_wsc_connect(const struct cairn_wsc_opts *o, struct cairn_err *err)
{
    struct cairn_wsc *w = calloc(1, sizeof *w);
    if (!w) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    w->sock = CURL_SOCKET_BAD;
    cairn_ws_reader_init(&w->rd, o->max_message ? o->max_message : WSC_MAX_MESSAGE);
    fresh_bytes(w->mask, sizeof w->mask);
    if (!(w->c = curl_easy_init())) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        goto fail;
    }
    curl_easy_setopt(w->c, CURLOPT_URL, o->url);
    curl_easy_setopt(w->c, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(w->c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(w->c, CURLOPT_CONNECTTIMEOUT_MS,
                     o->timeout_ms > 0 ? o->timeout_ms : WSC_TIMEOUT_MS);
    if (o->ca_file && *o->ca_file)
        curl_easy_setopt(w->c, CURLOPT_CAINFO, o->ca_file);
    if (o->cert_file && *o->cert_file)
        curl_easy_setopt(w->c, CURLOPT_SSLCERT, o->cert_file);
    if (o->key_file && *o->key_file)
        curl_easy_setopt(w->c, CURLOPT_SSLKEY, o->key_file);
    if (o->insecure) {
        curl_easy_setopt(w->c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(w->c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    CURLcode cc = curl_easy_perform(w->c);
    if (cc != CURLE_OK ||
        curl_easy_getinfo(w->c, CURLINFO_ACTIVESOCKET, &w->sock) != CURLE_OK ||
        w->sock == CURL_SOCKET_BAD) {
        cairn_err_set(err, CAIRN_EIO, "%s: %s", o->url, curl_easy_strerror(cc));
        goto fail;
    }
    if (handshake(w, o, err))
        goto fail;
    return w;
fail:
    cairn_ws_reader_deinit(&w->rd);
    curl_easy_cleanup(w->c);
    free(w);
    return NULL;
}

int cairn_wsc_read(struct cairn_wsc *w, int timeout_ms, int *opcode, struct cairn_buf *payload)
{
    int64_t deadline = cairn_mono_ns() + (int64_t)timeout_ms * 1000000LL;
    struct cairn_buf in = CAIRN_BUF_INIT;
    int rc;
    for (;;) {
        rc = cairn_ws_reader_next(&w->rd, opcode, payload);
        if (rc < 0)
            break;
        if (rc == 1) {
            if (*opcode == CAIRN_WS_PING) {
                cairn_buf_reset(&w->out);
                rc = cairn_ws_frame(&w->out, CAIRN_WS_PONG, payload->data, payload->len,
                                    w->mask);
                if (!rc)
                    rc = send_all(w, w->out.data, w->out.len);
                if (!rc)
                    rc = 1;
            }
            break;
        }
        int64_t left = (deadline - cairn_mono_ns()) / 1000000LL;
        if (left < 0)
            left = 0;
        rc = recv_some(w, &in, (int)left);
        if (rc <= 0)
            break;
        rc = cairn_ws_reader_feed(&w->rd, in.data, in.len);
        cairn_buf_reset(&in);
        if (rc)
            break;
    }
    cairn_buf_deinit(&in);
    return rc;
}

void cairn_wsc_close(struct cairn_wsc *w)
{
    if (!w)
        return;
    static const unsigned char normal[2] = {0x03, 0xe8}; /* 1000: normal closure */
    cairn_buf_reset(&w->out);
    if (cairn_ws_frame(&w->out, CAIRN_WS_CLOSE, normal, sizeof normal, w->mask) == 0)
        send_all(w, w->out.data, w->out.len);
    cairn_ws_reader_deinit(&w->rd);
    cairn_buf_deinit(&w->out);
    curl_easy_cleanup(w->c);
    free(w);
}
