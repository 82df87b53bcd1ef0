/* workers.c -- the HTTP server's handler threads: a FIFO of intrusive jobs and a fixed
 * set of threads running them. The daemon's event loop never blocks on a handler: it
 * suspends the connection, queues its job here and goes on serving other sockets. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/server_int.h"
#include "cairn/error.h"
#include "cairn/limits.h"
#include "cairn/log.h"

static void *worker_main(void *arg)
{
    struct cairn__workers *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->head && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        struct cairn__job *j = w->head;
        if (!j)
            break; /* stopping and nothing left */
        w->head = j->next;
        if (!w->head)
            w->tail = NULL;
        pthread_mutex_unlock(&w->mu);
        j->next = NULL;
        j->run(j);
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

unsigned cairn__workers_default(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = cores > 0 ? (unsigned)cores * 2 : 2;
    return n < CAIRN_HTTP_WORKERS_MIN ? CAIRN_HTTP_WORKERS_MIN : n;
}

int cairn__workers_start(struct cairn__workers *w, unsigned n)
{
    memset(w, 0, sizeof *w);
    if (pthread_mutex_init(&w->mu, NULL))
        return CAIRN_ENOMEM;
    if (pthread_cond_init(&w->cv, NULL)) {
        pthread_mutex_destroy(&w->mu);
        return CAIRN_ENOMEM;
    }
    w->th = calloc(n, sizeof *w->th);
    if (!w->th)
        goto fail;
    for (; w->n < n; w->n++) {
        int rc = pthread_create(&w->th[w->n], NULL, worker_main, w);
        if (rc) {
            CAIRN_ERROR("http", "cannot start a handler thread", "started=%u wanted=%u errno=%d",
                        w->n, n, rc);
            goto fail;
        }
    }
    return 0;
fail:
    cairn__workers_stop(w);
    return CAIRN_ENOMEM;
}

int cairn__workers_submit(struct cairn__workers *w, struct cairn__job *j)
{
    pthread_mutex_lock(&w->mu);
    if (w->stop || !w->n) {
        pthread_mutex_unlock(&w->mu);
        return CAIRN_EAGAIN;
    }
    j->next = NULL;
    if (w->tail)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

void cairn__workers_stop(struct cairn__workers *w)
{
    if (!w->th)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (unsigned i = 0; i < w->n; i++)
        pthread_join(w->th[i], NULL);
    free(w->th);
    w->th = NULL;
    w->n = 0;
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}
