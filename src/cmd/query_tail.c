/* query_tail.c -- `cairn query --tail`: follow a log query through Loki's
 * /loki/api/v1/tail WebSocket, as `logcli query --tail` does.
 *
 * The connection is cairn/ws_client.h's (libcurl's, so plain or TLS and proxies as
 * for every other request; the handshake and frames ours).
 * Each message's entries are printed oldest first; dropped entries are reported on
 * stderr. */
#include <stdio.h>
#include <string.h>

#include "cairn/buf.h"
#include "cairn/ws.h"
#include "cairn/ws_client.h"
#include "cmd/query_int.h"

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
    CURL *c = curl_easy_init();
    struct cairn_buf params = CAIRN_BUF_INIT, url = CAIRN_BUF_INIT, hdr = CAIRN_BUF_INIT;
    struct cairn_buf payload = CAIRN_BUF_INIT;
    struct cairn_wsc *w = NULL;
    int rc = 1;
    char lim[32], delay[32];
    snprintf(lim, sizeof lim, "%ld", o->limit);
    snprintf(delay, sizeof delay, "%ld", o->delay_for);
    size_t al = strlen(o->addr);
    while (al && o->addr[al - 1] == '/')
        al--; /* a gateway prefix, without its trailing slash */
    if (!c || cairn__qparam(c, &params, "query", query) ||
        cairn__qparam(c, &params, "limit", lim) || cairn__qparam(c, &params, "start", o->from) ||
        cairn__qparam(c, &params, "delay_for", delay) ||
        cairn_buf_appendf(&url, "%.*s/loki/api/v1/tail?%s", (int)al, o->addr, params.data) ||
        cairn__query_auth_header(o, &hdr) ||
        cairn_buf_append_str(&hdr, "User-Agent: cairn-query\r\n")) {
        fprintf(stderr, "cairn query: cannot make the tail request for --addr '%s'\n", o->addr);
        goto out;
    }
    struct cairn_wsc_opts wo = {
        .url = url.data, .headers = hdr.data, .ca_file = o->ca_cert, .cert_file = o->cert,
        .key_file = o->key, .insecure = o->tls_skip_verify,
    };
    struct cairn_err err;
    cairn_err_clear(&err);
    if (!(w = cairn_wsc_connect(&wo, &err))) {
        fprintf(stderr, "cairn query: tail: %s\n", err.msg);
        goto out;
    }
    if (!o->quiet)
        fprintf(stderr, "%s (tail)\n", url.data);
    for (;;) {
        int op, r = cairn_wsc_read(w, 60000, &op, &payload);
        if (r == 0)
            continue;
        if (r < 0) {
            fprintf(stderr, "cairn query: %s\n", r == CAIRN_EINVAL
                                                      ? "malformed WebSocket frame from the server"
                                                      : "connection lost");
            goto out;
        }
        if (op == CAIRN_WS_TEXT && print_message(o, payload.data, payload.len))
            goto out;
        if (op == CAIRN_WS_CLOSE) {
            rc = 0;
            goto out;
        }
    }
out:
    cairn_wsc_close(w);
    cairn_buf_deinit(&params);
    cairn_buf_deinit(&url);
    cairn_buf_deinit(&hdr);
    cairn_buf_deinit(&payload);
    curl_easy_cleanup(c);
    return rc;
}
