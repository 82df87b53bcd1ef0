/* ws_client.h -- one WebSocket client connection (RFC 6455), for clients of Loki's
 * /loki/api/v1/tail: `cairn canary` reads its lines back through it.
 *
 * libcurl opens the connection (plain or TLS, with the same CA / client certificate /
 * verification options as every other request, proxies included) in CONNECT_ONLY
 * mode; the handshake and the frames are ours (cairn/ws.h). Pings are answered here.
 *
 * Ownership: cairn_wsc_connect copies what it needs from the options; the connection
 * is the caller's until cairn_wsc_close. One thread uses a connection at a time. */
#ifndef CAIRN_WS_CLIENT_H
#define CAIRN_WS_CLIENT_H

#include <stddef.h>

#include "cairn/buf.h"
#include "cairn/error.h"

struct cairn_wsc_opts {
    const char *url;       /* http(s)://host:port/path?query: the request's target */
    const char *headers;   /* extra request header lines, each ending in "\r\n"; or NULL */
    const char *ca_file;   /* TLS: CA bundle for the server's certificate; or NULL */
    const char *cert_file; /* TLS: client certificate and key; or NULL */
    const char *key_file;
    int insecure;          /* TLS: do not verify the server's certificate */
    long timeout_ms;       /* connect and handshake deadline; 0: 10 s */
    size_t max_message;    /* larger frames are an error; 0: 64 MiB */
};

struct cairn_wsc;

/* Connect and upgrade. NULL on failure with err saying why; when the server answered
 * but refused the upgrade (an HTTP error), err holds its status line and the start of
 * its body. */
struct cairn_wsc *cairn_wsc_connect(const struct cairn_wsc_opts *o, struct cairn_err *err);

/* Wait up to timeout_ms for the next frame. Returns 1 with *opcode (CAIRN_WS_TEXT,
 * _BINARY, _CLOSE, or _PING after it was answered) and the payload in payload (reset
 * first); 0 when nothing came in time; CAIRN_EIO when the connection was lost or
 * closed; CAIRN_EINVAL for a malformed frame; CAIRN_ENOMEM. */
int cairn_wsc_read(struct cairn_wsc *c, int timeout_ms, int *opcode, struct cairn_buf *payload);

/* Send a close frame (best effort), close the connection and free c. NULL: no-op. */
void cairn_wsc_close(struct cairn_wsc *c);

#endif
