/* server_int.h -- the HTTP server's machinery under server.c: the handler worker pool
 * (workers.c) and the connection deadlines (reaper.c).
 *
 * Ownership: both live inside struct cairn_api. Jobs and tracked connections are
 * intrusive nodes in the caller's storage (the connection's context), so queueing a
 * request or tracking a connection allocates nothing. */
#ifndef CAIRN_API_SERVER_INT_H
#define CAIRN_API_SERVER_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

/* ---- the worker pool: request handlers that may block (WAL commit, queries) ---- */

struct cairn__job {
    struct cairn__job *next;
    void (*run)(struct cairn__job *j);
};

struct cairn__workers {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct cairn__job *head, *tail; /* FIFO */
    pthread_t *th;
    unsigned n;      /* threads started */
    int stop;
};

/* Start n threads (n >= 1). 0 or CAIRN_ENOMEM (nothing left running). */
int cairn__workers_start(struct cairn__workers *w, unsigned n);
/* Queue j; a worker calls j->run(j). CAIRN_EAGAIN once the pool is stopping (the
 * job is not queued: run it yourself). */
int cairn__workers_submit(struct cairn__workers *w, struct cairn__job *j);
/* Run what is queued, then join every thread. Idempotent; a pool never started (all
 * zero) is fine. */
void cairn__workers_stop(struct cairn__workers *w);
/* Default pool size: max(CAIRN_HTTP_WORKERS_MIN, 2 x online cores). */
unsigned cairn__workers_default(void);

/* ---- the reaper: absolute deadlines on connections ----
 *
 * libmicrohttpd's connection timeout is an idle timeout: a client sending one header
 * byte every few seconds resets it forever. The server sets an absolute deadline on
 * each connection for the phase it is in (header, body pause, keep-alive idle); once a
 * second the reaper shuts down the socket of every connection past its deadline, and
 * the daemon's loop then sees the end of the stream and closes it. */

struct cairn__tracked {
    struct cairn__tracked *prev, *next;
    int fd;
    _Atomic int64_t deadline_ns; /* monotonic; 0: none (handler running, upgraded) */
};

struct cairn__reaper {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct cairn__tracked head; /* list sentinel */
    size_t n;
    pthread_t th;
    int started, stop;
    _Atomic uint64_t reaped; /* connections shut down past a deadline */
};

int cairn__reaper_start(struct cairn__reaper *r);
/* Stop the thread; tracked connections stay as they are. Idempotent. */
void cairn__reaper_stop(struct cairn__reaper *r);
/* Track / untrack a connection's socket; untrack before the socket is closed. */
void cairn__reaper_add(struct cairn__reaper *r, struct cairn__tracked *t, int fd);
void cairn__reaper_remove(struct cairn__reaper *r, struct cairn__tracked *t);
static inline void cairn__tracked_deadline(struct cairn__tracked *t, int64_t at_ns)
{
    atomic_store_explicit(&t->deadline_ns, at_ns, memory_order_relaxed);
}
/* Tracked connections now (for /metrics). */
size_t cairn__reaper_count(struct cairn__reaper *r);

#endif
