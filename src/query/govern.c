/* govern.c -- the query governor: the memory budget, the series limit and the
 * deadline, shared by a query's threads through atomics (see query_int.h). */
#include "cairn/timeutil.h"
#include "query_int.h"

int cairn__qgov_fail(struct cairn__qgov *g, enum cairn__qstop why, int rc)
{
    if (!g)
        return rc;
    int none = CAIRN__QSTOP_NONE;
    if (atomic_compare_exchange_strong(&g->why, &none, (int)why))
        atomic_store(&g->stop, rc);
    return rc;
}

int cairn__qgov_charge(struct cairn__qgov *g, size_t n)
{
    if (!g)
        return 0;
    size_t u = atomic_fetch_add_explicit(&g->used, n, memory_order_relaxed) + n;
    if (g->limit && u > g->limit) {
        atomic_fetch_sub_explicit(&g->used, n, memory_order_relaxed);
        return cairn__qgov_fail(g, CAIRN__QSTOP_MEMORY, CAIRN_ELIMIT);
    }
    size_t pk = atomic_load_explicit(&g->peak, memory_order_relaxed);
    while (u > pk && !atomic_compare_exchange_weak_explicit(&g->peak, &pk, u, memory_order_relaxed,
                                                            memory_order_relaxed))
        ;
    return 0;
}

void cairn__qgov_release(struct cairn__qgov *g, size_t n)
{
    if (g && n)
        atomic_fetch_sub_explicit(&g->used, n, memory_order_relaxed);
}

int cairn__qgov_check(struct cairn__qgov *g)
{
    if (!g)
        return 0;
    int rc = atomic_load_explicit(&g->stop, memory_order_relaxed);
    if (rc)
        return rc;
    if (g->deadline && cairn_mono_ns() > g->deadline)
        return cairn__qgov_fail(g, CAIRN__QSTOP_TIMEOUT, CAIRN_ETIMEDOUT);
    return 0;
}
