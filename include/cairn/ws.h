/* ws.h -- the WebSocket protocol pieces (RFC 6455) that tailing needs, on both ends
 * (cairn serve's /loki/api/v1/tail and cairn query --tail): the handshake's accept key,
 * writing frames (masked for a client), and reading frames from a byte stream, so a
 * server can answer pings and notice a close and a client can read messages.
 *
 * Ownership: nothing is allocated except in the cairn_buf the caller passes; a reader
 * is a plain struct on the caller's storage (cairn_ws_reader_deinit frees its buffer). */
#ifndef CAIRN_WS_H
#define CAIRN_WS_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"

enum {
    CAIRN_WS_TEXT = 0x1,
    CAIRN_WS_BINARY = 0x2,
    CAIRN_WS_CLOSE = 0x8,
    CAIRN_WS_PING = 0x9,
    CAIRN_WS_PONG = 0xA,
};

/* Sec-WebSocket-Accept for a client's Sec-WebSocket-Key: base64(SHA-1(key + GUID)),
 * 28 characters and a NUL into out[29]. */
void cairn_ws_accept_key(const char *key, size_t len, char out[29]);

/* A client's Sec-WebSocket-Key: base64 of 16 fresh random bytes, 24 characters and a
 * NUL into out[25]. */
void cairn_ws_client_key(const unsigned char nonce[16], char out[25]);

/* SHA-1 of p (the handshake's digest), into out[20]. */
void cairn_sha1(const void *p, size_t len, unsigned char out[20]);

/* Append a frame (FIN set) with opcode and payload to out. mask: a client's frame,
 * masked with the 4 bytes of key (a server's frames are not masked: key NULL). */
int cairn_ws_frame(struct cairn_buf *out, int opcode, const void *payload, size_t len,
                    const unsigned char *key);

/* Frames arriving on a connection, reassembled from whatever each read returned. */
struct cairn_ws_reader {
    struct cairn_buf in;
    size_t max_frame; /* a longer frame is an error (close 1009) */
};
void cairn_ws_reader_init(struct cairn_ws_reader *r, size_t max_frame);
void cairn_ws_reader_deinit(struct cairn_ws_reader *r);
/* Add bytes read from the connection. 0 or CAIRN_ENOMEM. */
int cairn_ws_reader_feed(struct cairn_ws_reader *r, const void *p, size_t len);
/* Take the next complete frame: 1 with *opcode and the unmasked payload in payload
 * (reset first), 0 when more bytes are needed, CAIRN_EINVAL for a malformed or too
 * large frame. Fragmented messages are returned frame by frame (continuations have
 * opcode 0). */
int cairn_ws_reader_next(struct cairn_ws_reader *r, int *opcode, struct cairn_buf *payload);

#endif
