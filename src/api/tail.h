/* tail.h -- live tailing (GET /loki/api/v1/tail): the registry of open tails that
 * pushes feed, and the WebSocket session of each.
 *
 * Ownership: the hub (in struct cairn_api) owns every tail; a tail owns its parsed
 * query, pipeline, queue and, once upgraded, its socket and thread. A tail leaves the
 * hub when its client goes away or the server stops (cairn__tailhub_stop waits for
 * all of them). */
#ifndef CAIRN_API_TAIL_H
#define CAIRN_API_TAIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"

struct cairn_api;
struct cairn__req;
struct cairn__tail;
struct cairn_push_stream;

/* Loki's max_concurrent_tail_requests default. */
#define CAIRN_TAIL_MAX 10

struct cairn__tailhub {
    pthread_mutex_t mu;
    pthread_cond_t gone;          /* signalled when a tail leaves */
    struct cairn__tail *v[CAIRN_TAIL_MAX];
    size_t n;
    _Atomic size_t live;          /* tails taking entries: pushes skip the hub at 0 */
    int stopping;
};

int cairn__tailhub_init(struct cairn__tailhub *h);
/* End every tail (a close frame to each client) and wait until their threads are
 * done. Call before stopping the HTTP daemon. */
void cairn__tailhub_stop(struct cairn__tailhub *h);
void cairn__tailhub_deinit(struct cairn__tailhub *h);

/* The route handler: check the query and the WebSocket handshake, and set r->upgrade
 * (or reply 400/503). */
void cairn__handle_tail(struct cairn_api *api, struct cairn__req *r);

/* What the server needs to answer a tail request with 101 Switching Protocols. */
struct cairn__upgrade {
    struct cairn__tail *tail;
    char accept[29]; /* Sec-WebSocket-Accept */
};
/* The connection was upgraded: the tail owns sock from now on (urh: MHD's handle). */
void cairn__tail_upgraded(struct cairn__tail *t, int sock, void *urh);
/* The upgrade response could not be sent: forget the tail. */
void cairn__tail_abandon(struct cairn__tail *t);

/* tail_seam.c: the history's entries, so that their live copies (pushed while the
 * history was read) are not sent again. Owned by the tail's thread. */
struct cairn__tail_seam {
    uint64_t *v; /* hashes of (stream JSON, value JSON), sorted once closed */
    size_t n, cap;
    int64_t until; /* monotonic: live entries queued after this are not checked */
};
/* Remember one history entry (its stream object and its ["ts","line"] text). */
void cairn__tail_seam_add(struct cairn__tail_seam *s, const char *labels, size_t llen,
                          const char *value, size_t vlen);
/* The history is sent: live entries are checked against it from now for a moment. */
void cairn__tail_seam_close(struct cairn__tail_seam *s);
/* Was this live entry (labels as a JSON object) in the history? Frees the seam once
 * its moment is over. scratch: the caller's buffer. */
int cairn__tail_seam_has(struct cairn__tail_seam *s, const char *labels, size_t llen,
                         int64_t ts, const char *line, size_t len, struct cairn_buf *scratch);
void cairn__tail_seam_free(struct cairn__tail_seam *s);

/* Entries a push just stored: queue those that match each live tail of tenant. */
void cairn__tail_publish(struct cairn_api *api, const char *tenant,
                         const struct cairn_push_stream *ps, size_t n);

#endif
