/* src_relay_config.c -- the keys of a scrape config's `loki_push_api:` (Promtail's
 * push target): its own HTTP server, labels added to every entry, and whether the
 * pushed timestamps are kept. Promtail's server_config keys that mean nothing here
 * (gRPC, instrumentation) are accepted so Promtail files load; the relay warns about
 * grpc_listen_port when it starts. */
#include <stddef.h>
#include <stdint.h>

#include "cairn/limits.h"
#include "cairn/ship_config.h"

#define SEC 1000000000LL
#define R struct cairn_ship_relay

static const struct cairn_cfg_entry server_e[] = {
    {.key = "http_listen_address", .type = CAIRN_CFG_STRING,
     CAIRN_CFG_AT(R, server.http_listen_address), .help = "IPv4 address (empty: all)"},
    {.key = "http_listen_port", .type = CAIRN_CFG_INT, CAIRN_CFG_AT(R, server.http_listen_port),
     .idef = -1, .min = -1, .max = 65535,
     .help = "port of the push endpoints (0: any free port; required for a relay)"},
    {.key = "grpc_listen_address", .type = CAIRN_CFG_STRING,
     CAIRN_CFG_AT(R, server.grpc_listen_address), .help = "accepted for compatibility; no gRPC"},
    {.key = "grpc_listen_port", .type = CAIRN_CFG_INT, CAIRN_CFG_AT(R, server.grpc_listen_port),
     .min = 0, .max = 65535, .help = "accepted and ignored with a warning: no gRPC push"},
    {.key = "http_server_read_timeout", .type = CAIRN_CFG_DURATION,
     CAIRN_CFG_AT(R, server.read_timeout_ns), .idef = CAIRN_HTTP_BODY_TIMEOUT_NS, .min = SEC,
     .max = 3600 * SEC, .help = "a connection silent this long while sending is closed"},
    {.key = "http_server_write_timeout", .type = CAIRN_CFG_DURATION,
     CAIRN_CFG_AT(R, server.write_timeout_ns), .idef = 30 * SEC,
     .help = "accepted for compatibility"},
    {.key = "http_server_idle_timeout", .type = CAIRN_CFG_DURATION,
     CAIRN_CFG_AT(R, server.idle_timeout_ns), .idef = CAIRN_HTTP_IDLE_TIMEOUT_NS, .min = SEC,
     .max = 24 * 3600 * SEC, .help = "idle keep-alive connections are closed after this"},
    {.key = "graceful_shutdown_timeout", .type = CAIRN_CFG_DURATION,
     CAIRN_CFG_AT(R, server.graceful_shutdown_timeout_ns), .idef = 30 * SEC,
     .help = "accepted for compatibility (clients' drain_timeout bounds the shutdown)"},
    {.key = "grpc_server_max_recv_msg_size", .type = CAIRN_CFG_SIZE,
     CAIRN_CFG_AT(R, server.grpc_max_recv_msg_size), .idef = 4 << 20,
     .help = "accepted for compatibility; see max_message_size"},
    {.key = "register_instrumentation", .type = CAIRN_CFG_BOOL,
     CAIRN_CFG_AT(R, server.register_instrumentation), .idef = 1,
     .help = "accepted for compatibility (the agent's /metrics has the relay's)"},
    {.key = "log_level", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(R, server.log_level),
     .help = "accepted for compatibility (the agent's log level applies)"},
    {.key = "http_path_prefix", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(R, server.http_path_prefix),
     .help = "accepted for compatibility; not used"},
};
static const struct cairn_cfg_table server_t = {
    .name = "server", .entries = server_e, .n = sizeof server_e / sizeof server_e[0],
    .size = sizeof(R)};

static const struct cairn_cfg_entry relay_e[] = {
    {.key = "server", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(R), .sub = &server_t,
     .help = "the relay's own HTTP server"},
    {.key = "labels", .type = CAIRN_CFG_MAP, CAIRN_CFG_AT(R, labels),
     .help = "labels added to every entry (replacing a pushed label of the same name)"},
    {.key = "use_incoming_timestamp", .type = CAIRN_CFG_BOOL,
     CAIRN_CFG_AT(R, use_incoming_timestamp),
     .help = "keep the pushed timestamps (false: the time of receipt)"},
    {.key = "max_message_size", .type = CAIRN_CFG_SIZE, CAIRN_CFG_AT(R, max_message_size),
     .idef = CAIRN_MAX_PUSH_BODY, .min = 1024, .max = CAIRN_MAX_PUSH_BODY,
     .help = "cairn's: largest request body, 413 past it (decoded size is capped as serve's)"},
};

/* A relay needs its port: the other keys alone would silently start nothing. */
static int relay_check(struct cairn_cfg *c, void *obj, const char *path, struct cairn_err *err)
{
    (void)c;
    const struct cairn_ship_relay *r = obj;
    if (r->server.http_listen_port < 0 &&
        (r->labels.n || r->use_incoming_timestamp ||
         (r->server.http_listen_address && *r->server.http_listen_address)))
        return cairn_err_set(err, CAIRN_EINVAL, "%s.server.http_listen_port: required for a "
                             "loki_push_api relay (0: any free port)", path);
    return 0;
}

const struct cairn_cfg_table cairn__ship_relay_table = {
    .name = "loki_push_api", .entries = relay_e, .n = sizeof relay_e / sizeof relay_e[0],
    .size = sizeof(R), .check = relay_check};
