/* ship_agent.h -- the whole `cairn ship` agent built from its configuration: push
 * clients (or the --dry-run printer), positions, pipelines per scrape config, the
 * file tailer or the stdin reader, and the /ready + /metrics HTTP server.
 *
 * Ownership: the agent borrows the config (which must outlive it) and owns
 * everything it builds; cairn_ship_agent_destroy flushes the clients, saves the
 * positions and frees it all. */
#ifndef CAIRN_SHIP_AGENT_H
#define CAIRN_SHIP_AGENT_H

#include <stdio.h>

#include "cairn/buf.h"
#include "cairn/error.h"
#include "cairn/ship_config.h"

struct cairn_ship_agent;

/* Build every part (validating stages, selectors, regexes, relabel rules). With
 * cfg->check_syntax nothing is started: the return only says the config is valid.
 * out receives --dry-run output (NULL: stdout). NULL on failure, err says what and
 * where (the key path). */
struct cairn_ship_agent *cairn_ship_agent_create(const struct cairn_ship_config *cfg, FILE *out,
                                                 struct cairn_err *err);
/* Run until cairn_ship_agent_stop (files) or end of input (--stdin). 0 or negative. */
int cairn_ship_agent_run(struct cairn_ship_agent *a);
/* Ask run to return; async-signal-safe. */
void cairn_ship_agent_stop(struct cairn_ship_agent *a);
void cairn_ship_agent_destroy(struct cairn_ship_agent *a);
/* Everything /metrics shows, in Prometheus text format. */
int cairn_ship_agent_metrics(struct cairn_ship_agent *a, struct cairn_buf *out);
/* The HTTP port actually bound (after create), or 0 without a server. */
int cairn_ship_agent_http_port(const struct cairn_ship_agent *a);

#endif
