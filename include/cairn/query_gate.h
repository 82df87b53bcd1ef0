/* query_gate.h -- admission of queries per tenant: at most `running` of one tenant's
 * queries run at once; more wait, at most `queued` of them and for at most `wait_ns`,
 * and past either the request is refused (Loki's 429 "too many outstanding requests").
 * One tenant's heavy queries then cannot take every worker of the server.
 *
 * Ownership: the gate is created and destroyed by its owner (the API); a ticket is
 * caller storage, filled by enter and given back by leave. Thread-safe. The gate keeps
 * an entry only for tenants with queries running or waiting. */
#ifndef CAIRN_QUERY_GATE_H
#define CAIRN_QUERY_GATE_H

#include <stdint.h>

#include "cairn/error.h"

struct cairn_query_gate;
struct cairn__gate_tenant;

struct cairn_query_ticket {
    struct cairn__gate_tenant *t; /* NULL: nothing to give back */
};

/* running 0: no limit (enter always admits); NULL when out of memory. */
struct cairn_query_gate *cairn_query_gate_create(unsigned running, unsigned queued, int64_t wait_ns);
/* NULL is a no-op; no query may be inside. */
void cairn_query_gate_destroy(struct cairn_query_gate *g);
/* Admit a query of tenant: 0 (call leave with the ticket when it ends), CAIRN_ELIMIT
 * when the tenant's queue is full or the wait ran out, CAIRN_ENOMEM. */
int cairn_query_gate_enter(struct cairn_query_gate *g, const char *tenant, struct cairn_query_ticket *tk);
void cairn_query_gate_leave(struct cairn_query_gate *g, struct cairn_query_ticket *tk);
/* Queries of tenant waiting now (for tests and diagnostics). */
unsigned cairn_query_gate_waiting(struct cairn_query_gate *g, const char *tenant);

#endif
