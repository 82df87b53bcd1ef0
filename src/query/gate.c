/* gate.c -- per-tenant query admission (see query_gate.h): a counter of running and
 * waiting queries per tenant under one mutex, waiters on one condition variable on
 * the monotonic clock. Entries live in a list while a tenant has queries in; the list
 * is as long as the number of tenants querying at once. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn/query_gate.h"
#include "cairn/timeutil.h"

struct cairn__gate_tenant {
    struct cairn__gate_tenant *next;
    unsigned running, waiting;
    char name[];
};

struct cairn_query_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned running, queued;
    int64_t wait_ns;
    struct cairn__gate_tenant *list;
};

struct cairn_query_gate *cairn_query_gate_create(unsigned running, unsigned queued, int64_t wait_ns)
{
    struct cairn_query_gate *g = calloc(1, sizeof *g);
    pthread_condattr_t ca;
    if (!g)
        return NULL;
    g->running = running;
    g->queued = queued;
    g->wait_ns = wait_ns;
    if (pthread_mutex_init(&g->mu, NULL))
        goto fail_free;
    if (pthread_condattr_init(&ca))
        goto fail_mu;
    int rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) || pthread_cond_init(&g->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc)
        goto fail_mu;
    return g;
fail_mu:
    pthread_mutex_destroy(&g->mu);
fail_free:
    free(g);
    return NULL;
}

void cairn_query_gate_destroy(struct cairn_query_gate *g)
{
    if (!g)
        return;
    while (g->list) {
        struct cairn__gate_tenant *t = g->list;
        g->list = t->next;
        free(t);
    }
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

/* The entry of tenant, created when absent. Under mu. */
static struct cairn__gate_tenant *tenant_get(struct cairn_query_gate *g, const char *tenant)
{
    for (struct cairn__gate_tenant *t = g->list; t; t = t->next)
        if (strcmp(t->name, tenant) == 0)
            return t;
    size_t n = strlen(tenant);
    struct cairn__gate_tenant *t = calloc(1, sizeof *t + n + 1);
    if (!t)
        return NULL;
    memcpy(t->name, tenant, n + 1);
    t->next = g->list;
    g->list = t;
    return t;
}

/* Drop an entry with nothing in. Under mu. */
static void tenant_put(struct cairn_query_gate *g, struct cairn__gate_tenant *t)
{
    if (t->running || t->waiting)
        return;
    for (struct cairn__gate_tenant **pp = &g->list; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            free(t);
            return;
        }
    }
}

int cairn_query_gate_enter(struct cairn_query_gate *g, const char *tenant, struct cairn_query_ticket *tk)
{
    tk->t = NULL;
    if (!g || !g->running)
        return 0;
    pthread_mutex_lock(&g->mu);
    struct cairn__gate_tenant *t = tenant_get(g, tenant);
    int rc = 0;
    if (!t) {
        rc = CAIRN_ENOMEM;
    } else if (t->running < g->running) {
        t->running++;
    } else if (t->waiting >= g->queued || g->wait_ns <= 0) {
        rc = CAIRN_ELIMIT;
    } else {
        int64_t until = cairn_mono_ns() + g->wait_ns;
        struct timespec ts = {.tv_sec = until / 1000000000LL, .tv_nsec = until % 1000000000LL};
        t->waiting++;
        while (t->running >= g->running && rc == 0)
            if (pthread_cond_timedwait(&g->cv, &g->mu, &ts))
                rc = t->running >= g->running ? CAIRN_ELIMIT : 0;
        t->waiting--;
        if (rc == 0)
            t->running++;
    }
    if (rc == 0)
        tk->t = t;
    else if (t)
        tenant_put(g, t);
    pthread_mutex_unlock(&g->mu);
    return rc;
}

void cairn_query_gate_leave(struct cairn_query_gate *g, struct cairn_query_ticket *tk)
{
    if (!g || !tk->t)
        return;
    pthread_mutex_lock(&g->mu);
    struct cairn__gate_tenant *t = tk->t;
    t->running--;
    int wake = t->waiting > 0;
    tenant_put(g, t);
    if (wake)
        pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
    tk->t = NULL;
}

unsigned cairn_query_gate_waiting(struct cairn_query_gate *g, const char *tenant)
{
    unsigned n = 0;
    if (!g)
        return 0;
    pthread_mutex_lock(&g->mu);
    for (struct cairn__gate_tenant *t = g->list; t; t = t->next)
        if (strcmp(t->name, tenant) == 0)
            n = t->waiting;
    pthread_mutex_unlock(&g->mu);
    return n;
}
