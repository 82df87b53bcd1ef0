/* reaper.c -- absolute deadlines on HTTP connections: a list of every open
 * connection's socket and deadline, and a thread that shuts down the sockets whose
 * deadline passed (see server_int.h for why libmicrohttpd's own timeout is not enough).
 *
 * shutdown(2), not close(2): the socket stays libmicrohttpd's, whose loop reads the
 * end of the stream and closes the connection the usual way (callbacks included). A
 * connection leaves the list (in the daemon's close notification) before its socket is
 * closed, under the list's lock, so the reaper never touches a reused descriptor. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "api/server_int.h"
#include "cairn/error.h"
#include "cairn/log.h"
#include "cairn/timeutil.h"

#define REAPER_TICK_NS 250000000LL /* deadlines are seconds; a quarter of one is fine */

static void *reaper_main(void *arg)
{
    struct cairn__reaper *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!r->stop) {
        int64_t now = cairn_mono_ns();
        for (struct cairn__tracked *t = r->head.next; t != &r->head; t = t->next) {
            int64_t d = atomic_load_explicit(&t->deadline_ns, memory_order_relaxed);
            if (!d || now < d)
                continue;
            atomic_store_explicit(&t->deadline_ns, 0, memory_order_relaxed);
            if (shutdown(t->fd, SHUT_RDWR) == 0 || errno == ENOTCONN)
                atomic_fetch_add(&r->reaped, 1);
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t at = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec + REAPER_TICK_NS;
        ts.tv_sec = (time_t)(at / 1000000000LL);
        ts.tv_nsec = (long)(at % 1000000000LL);
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

int cairn__reaper_start(struct cairn__reaper *r)
{
    memset(r, 0, sizeof *r);
    r->head.next = r->head.prev = &r->head;
    if (pthread_mutex_init(&r->mu, NULL))
        return CAIRN_ENOMEM;
    if (pthread_cond_init(&r->cv, NULL)) {
        pthread_mutex_destroy(&r->mu);
        return CAIRN_ENOMEM;
    }
    int rc = pthread_create(&r->th, NULL, reaper_main, r);
    if (rc) {
        CAIRN_ERROR("http", "cannot start the connection reaper", "errno=%d", rc);
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        return CAIRN_ENOMEM;
    }
    r->started = 1;
    return 0;
}

void cairn__reaper_stop(struct cairn__reaper *r)
{
    if (!r->started)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->th, NULL);
    r->started = 0;
}

void cairn__reaper_add(struct cairn__reaper *r, struct cairn__tracked *t, int fd)
{
    t->fd = fd;
    pthread_mutex_lock(&r->mu);
    t->next = &r->head;
    t->prev = r->head.prev;
    r->head.prev->next = t;
    r->head.prev = t;
    r->n++;
    pthread_mutex_unlock(&r->mu);
}

void cairn__reaper_remove(struct cairn__reaper *r, struct cairn__tracked *t)
{
    if (!t->next)
        return;
    pthread_mutex_lock(&r->mu);
    t->prev->next = t->next;
    t->next->prev = t->prev;
    t->next = t->prev = NULL;
    r->n--;
    pthread_mutex_unlock(&r->mu);
}

size_t cairn__reaper_count(struct cairn__reaper *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->n;
    pthread_mutex_unlock(&r->mu);
    return n;
}
