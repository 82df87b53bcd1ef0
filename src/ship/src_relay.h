/* src_relay.h -- the agent's `loki_push_api:` source: Promtail as a push relay. Each
 * scrape config with a loki_push_api section gets its own HTTP server and thread,
 * accepting POST /loki/api/v1/push (JSON or protobuf+snappy, gzip or not, decoded by
 * the store's own decoders, cairn/ingest.h), POST /promtail/api/v1/raw (a line per
 * entry) and GET /ready. Entries go through relabel_configs (pushes only), the scrape
 * config's pipeline_stages and the agent's sink; the push is answered 204 only once
 * every entry was handed to the sink, so a full client queue holds the pusher back.
 *
 * Ownership: the relays borrow the config, the sink and the metrics registry, which
 * must outlive them; everything else (pipelines, relabel rules, servers, threads) is
 * theirs. Threads: start, stop, metrics and destroy from the agent's threads; each
 * relay's pipeline is used by its own thread only. */
#ifndef CAIRN_SHIP_SRC_RELAY_H
#define CAIRN_SHIP_SRC_RELAY_H

#include "cairn/buf.h"
#include "cairn/error.h"
#include "cairn/ship.h"
#include "cairn/ship_config.h"

struct cairn_ship_metrics;
struct cairn__relays;

/* Start a relay for every scrape config that has loki_push_api. NULL with err set on
 * failure (a bad address, a port in use: err names the scrape config); also NULL with
 * err clear when there is none. */
struct cairn__relays *cairn__relays_start(const struct cairn_ship_config *cfg,
                                          const struct cairn_ship_sink *sink,
                                          struct cairn_ship_metrics *metrics,
                                          struct cairn_err *err);
/* Refuse new pushes from now on (503); safe from any thread, idempotent. NULL: no-op. */
void cairn__relays_stop(struct cairn__relays *r);
/* Stop (if not yet), join the threads, emit what stages still hold, and free. Call
 * before the sink's clients are flushed. NULL is a no-op. */
void cairn__relays_destroy(struct cairn__relays *r);
/* The relays' lines of /metrics (Prometheus text). 0 or CAIRN_ENOMEM. */
int cairn__relays_metrics(struct cairn__relays *r, struct cairn_buf *out);
/* The relays' pipelines' logentry_dropped_lines_total lines (under the agent's TYPE
 * line, with the other sources' drops: one family stays in one block). */
int cairn__relays_drops(struct cairn__relays *r, struct cairn_buf *out);
/* The port the i-th relay (in scrape config order) listens on, or 0. For tests. */
int cairn__relays_port(const struct cairn__relays *r, size_t i);

#endif
