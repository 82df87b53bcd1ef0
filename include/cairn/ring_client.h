/* ring_client.h -- node-to-node calls inside a cluster: a write node forwarding a push
 * to a stream's owners, a read node asking every write node for raw entries. Many
 * requests run at once (one curl multi), each with the forward timeout; connections
 * are kept alive and shared between requests and threads (a curl share handle).
 * Every request carries the cluster secret (X-Cairn-Secret) when one is set.
 *
 * Ownership: the caller owns the calls array and everything its fields point to; a
 * call's reply buffer is the caller's to deinit. The client is thread-safe. */
#ifndef CAIRN_RING_CLIENT_H
#define CAIRN_RING_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"

#define CAIRN_RING_SECRET_HEADER "X-Cairn-Secret"

struct cairn_ring_call {
    /* in */
    const char *addr;        /* host:port */
    const char *path;        /* "/internal/push", "/internal/read?query=..." */
    const char *tenant;      /* X-Scope-OrgID */
    const char *body;        /* NULL: GET; else POST of snappy protobuf */
    size_t len;
    size_t max_reply;        /* reply bytes kept; past it the call fails (0: 64 KiB) */
    /* out */
    long status;             /* HTTP status, 0 on a network error or timeout */
    char err[256];           /* curl's message, or "reply larger than ..." */
    struct cairn_buf reply;
    int64_t ns;              /* how long it took */
};

struct cairn_ring_client;
/* secret may be NULL or "". NULL on ENOMEM. */
struct cairn_ring_client *cairn_ring_client_create(const char *secret, int64_t timeout_ns);
void cairn_ring_client_destroy(struct cairn_ring_client *c);
/* Run the n calls concurrently, each bounded by the timeout; returns when all are
 * done. 0, or CAIRN_ENOMEM (no call ran). */
int cairn_ring_client_run(struct cairn_ring_client *c, struct cairn_ring_call *calls, size_t n);

#endif
