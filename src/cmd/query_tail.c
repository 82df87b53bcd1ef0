/* query_tail.c -- `cairn query --tail`: follow a log query through Loki's
 * /loki/api/v1/tail WebSocket, as `logcli query --tail` does.
 *
 * libcurl makes the connection (plain or TLS, proxies, as for every other request)
 * in CONNECT_ONLY mode; the WebSocket handshake and frames are ours (cairn/ws.h).
 * Each message's entries are printed oldest first; dropped entries are reported on
 * stderr. */
#include <curl/curl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "cairn/buf.h"
#include "cairn/ws.h"
#include "cmd/query_int.h"

struct conn {
    CURL *c;
    curl_socket_t sock;
};

/* Wait until the connection is readable (or writable). */
static int wait_sock(struct conn *k, int for_write)
{
    struct pollfd p = {k->sock, (short)(for_write ? POLLOUT : POLLIN), 0};
    int r = poll(&p, 1, -1);
    return r > 0 ? 0 : -1;
}

static int send_all(struct conn *k, const char *p, size_t n)
{
    while (n) {
        size_t sent = 0;
        CURLcode cc = curl_easy_send(k->c, p, n, &sent);
        if (cc == CURLE_AGAIN) {
            if (wait_sock(k, 1))
                return -1;
            continue;
        }
        if (cc != CURLE_OK)
            return -1;
        p += sent;
        n -= sent;
    }
    return 0;
}

/* Read some bytes into b: 1 read, 0 the server closed, -1 error. */
static int recv_some(struct conn *k, struct cairn_buf *b)
{
    char buf[16384];
    for (;;) {
        size_t got = 0;
        CURLcode cc = curl_easy_recv(k->c, buf, sizeof buf, &got);
        if (cc == CURLE_AGAIN) {
            if (wait_sock(k, 0))
                return -1;
            continue;
        }
        if (cc != CURLE_OK)
            return -1;
        if (got == 0)
            return 0;
        return cairn_buf_append(b, buf, got) ? -1 : 1;
    }
}

/* The request line's target and the Host header of addr + path?params. */
static int request_parts(const char *addr, const char *path, const char *params,
                         struct cairn_buf *target, struct cairn_buf *host)
{
    CURLU *u = curl_url();
    char *h = NULL, *port = NULL, *base = NULL;
    int rc = -1;
    if (!u || curl_url_set(u, CURLUPART_URL, addr, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK)
        goto out;
    curl_url_get(u, CURLUPART_PORT, &port, 0);
    curl_url_get(u, CURLUPART_PATH, &base, 0);
    size_t bl = base ? strlen(base) : 0;
    while (bl && base[bl - 1] == '/')
        bl--; /* a gateway prefix, without its trailing slash */
    if (cairn_buf_appendf(target, "%.*s%s?%s", (int)bl, base ? base : "", path, params) ||
        cairn_buf_appendf(host, "%s%s%s", h, port ? ":" : "", port ? port : ""))
        goto out;
    rc = 0;
out:
    curl_free(h);
    curl_free(port);
    curl_free(base);
    curl_url_cleanup(u);
    return rc;
}

/* Print one tail message; 0, or 1 on a message that is not what Loki sends. */
static int print_message(const struct query_opts *o, const char *p, size_t n)
{
    json_error_t je;
    json_t *doc = json_loadb(p, n, 0, &je);
    json_t *streams = doc ? json_object_get(doc, "streams") : NULL;
    if (!streams || !json_is_array(streams)) {
        fprintf(stderr, "cairn query: unexpected tail message: %.*s\n", (int)(n > 200 ? 200 : n),
                p);
        json_decref(doc);
        return 1;
    }
    int rc = cairn__query_print_streams(o, streams, 1);
    json_t *dropped = json_object_get(doc, "dropped_entries");
    if (json_is_array(dropped) && json_array_size(dropped))
        fprintf(stderr, "cairn query: the server dropped %zu entries (this client is too slow)\n",
                json_array_size(dropped));
    fflush(stdout);
    json_decref(doc);
    return rc;
}

int cairn__query_tail(const struct query_opts *o, const char *query)
{
    struct conn k = {curl_easy_init(), CURL_SOCKET_BAD};
    struct cairn_buf params = CAIRN_BUF_INIT, target = CAIRN_BUF_INIT, host = CAIRN_BUF_INIT;
    struct cairn_buf req = CAIRN_BUF_INIT, in = CAIRN_BUF_INIT, payload = CAIRN_BUF_INIT;
    struct cairn_buf frame = CAIRN_BUF_INIT;
    struct cairn_ws_reader rd;
    cairn_ws_reader_init(&rd, 64u << 20);
    int rc = 1;
    char lim[32], delay[32];
    snprintf(lim, sizeof lim, "%ld", o->limit);
    snprintf(delay, sizeof delay, "%ld", o->delay_for);
    if (!k.c || cairn__qparam(k.c, &params, "query", query) ||
        cairn__qparam(k.c, &params, "limit", lim) ||
        cairn__qparam(k.c, &params, "start", o->from) ||
        cairn__qparam(k.c, &params, "delay_for", delay) ||
        request_parts(o->addr, "/loki/api/v1/tail", cairn_buf_cstr(&params), &target, &host)) {
        fprintf(stderr, "cairn query: cannot make the tail request for --addr '%s'\n", o->addr);
        goto out;
    }
    curl_easy_setopt(k.c, CURLOPT_URL, o->addr);
    curl_easy_setopt(k.c, CURLOPT_CONNECT_ONLY, 1L);
    cairn__query_curl_tls(k.c, o);
    CURLcode cc = curl_easy_perform(k.c);
    if (cc != CURLE_OK ||
        curl_easy_getinfo(k.c, CURLINFO_ACTIVESOCKET, &k.sock) != CURLE_OK ||
        k.sock == CURL_SOCKET_BAD) {
        fprintf(stderr, "cairn query: %s: %s\n", o->addr, curl_easy_strerror(cc));
        goto out;
    }
    unsigned char nonce[16];
    if (getrandom(nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce) {
        for (size_t i = 0; i < sizeof nonce; i++) /* the key only has to be fresh */
            nonce[i] = (unsigned char)(rand() ^ time(NULL) >> (i % 8));
    }
    char key[25];
    cairn_ws_client_key(nonce, key);
    if (cairn_buf_appendf(&req,
                          "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                          "Sec-WebSocket-Version: 13\r\nUser-Agent: cairn-query\r\n",
                          target.data, host.data, key) ||
        cairn__query_auth_header(o, &req) ||
        cairn_buf_append_str(&req, "\r\n") || send_all(&k, req.data, req.len)) {
        fprintf(stderr, "cairn query: cannot send the tail request\n");
        goto out;
    }
    if (!o->quiet)
        fprintf(stderr, "%s%s (tail)\n", o->addr, target.data);
    /* the answer's head: 101 and the right accept key, or an error to show */
    char *end;
    while (!(end = in.len ? memmem(in.data, in.len, "\r\n\r\n", 4) : NULL)) {
        if (recv_some(&k, &in) <= 0) {
            fprintf(stderr, "cairn query: the server closed the connection before answering\n");
            goto out;
        }
    }
    size_t head = (size_t)(end - in.data) + 4;
    char want[29];
    cairn_ws_accept_key(key, 24, want);
    if (in.len < 12 || memcmp(in.data + 9, "101", 3) != 0) {
        /* an HTTP error: its body says why (read what has come) */
        fprintf(stderr, "cairn query: tail refused: %.*s\n", (int)(in.len > 2000 ? 2000 : in.len),
                in.data);
        goto out;
    }
    if (!memmem(in.data, head, want, 28)) {
        fprintf(stderr, "cairn query: the server's WebSocket handshake is wrong\n");
        goto out;
    }
    if (cairn_ws_reader_feed(&rd, in.data + head, in.len - head))
        goto out;
    cairn_buf_reset(&in);
    static const unsigned char mask[4] = {0x5a, 0x17, 0xc3, 0x8e};
    for (;;) {
        int op, r;
        while ((r = cairn_ws_reader_next(&rd, &op, &payload)) == 1) {
            if (op == CAIRN_WS_TEXT && print_message(o, payload.data, payload.len))
                goto out;
            if (op == CAIRN_WS_PING) {
                cairn_buf_reset(&frame);
                if (cairn_ws_frame(&frame, CAIRN_WS_PONG, payload.data, payload.len, mask) ||
                    send_all(&k, frame.data, frame.len))
                    goto out;
            }
            if (op == CAIRN_WS_CLOSE) {
                rc = 0;
                goto out;
            }
        }
        if (r < 0) {
            fprintf(stderr, "cairn query: malformed WebSocket frame from the server\n");
            goto out;
        }
        r = recv_some(&k, &in);
        if (r <= 0) {
            rc = r == 0 ? 0 : 1;
            if (r < 0)
                fprintf(stderr, "cairn query: connection lost\n");
            goto out;
        }
        if (cairn_ws_reader_feed(&rd, in.data, in.len))
            goto out;
        cairn_buf_reset(&in);
    }
out:
    cairn_ws_reader_deinit(&rd);
    cairn_buf_deinit(&params);
    cairn_buf_deinit(&target);
    cairn_buf_deinit(&host);
    cairn_buf_deinit(&req);
    cairn_buf_deinit(&in);
    cairn_buf_deinit(&payload);
    cairn_buf_deinit(&frame);
    curl_easy_cleanup(k.c);
    return rc;
}
