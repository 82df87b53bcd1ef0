/* docker.h -- `cairn docker-driver`: a Docker managed logging plugin, as Grafana Loki's
 * Docker driver. Docker talks to it over HTTP on a unix socket (/Plugin.Activate,
 * /LogDriver.StartLogging, StopLogging, Capabilities, ReadLogs); each container's
 * output arrives on a FIFO as length-prefixed LogEntry protobufs, is joined (partial
 * entries), run through the agent's pipeline stages, pushed with the shared push
 * client and kept in a local json-file copy so `docker logs` still works.
 *
 * Ownership: the driver owns its socket, its streams (one per StartLogging) and their
 * threads; cairn_docker_driver_destroy stops and flushes them. A decoded LogEntry is a
 * set of views into the frame it was decoded from. */
#ifndef CAIRN_DOCKER_H
#define CAIRN_DOCKER_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"
#include "cairn/error.h"

/* ---- LogEntry (docker's api/types/plugins/logdriver/entry.proto wire format) ---- */

struct cairn_docker_entry {
    const char *source;     /* "stdout" / "stderr" */
    size_t source_len;
    int64_t time_nano;
    const char *line;       /* without a trailing newline */
    size_t line_len;
    int partial;
    int has_meta;           /* partial_log_metadata present */
    int meta_last;
    const char *meta_id;
    size_t meta_id_len;
    int32_t meta_ordinal;
};

/* Decode one message (without its length prefix). Views point into p. Unknown fields
 * are skipped. 0 or CAIRN_EINVAL (malformed: truncated varint or field, bad wire type). */
int cairn_docker_entry_decode(const unsigned char *p, size_t len, struct cairn_docker_entry *e);
/* Append the message with its 4-byte big-endian length prefix. 0 or CAIRN_ENOMEM. */
int cairn_docker_entry_encode(const struct cairn_docker_entry *e, struct cairn_buf *out);

/* ---- the driver ---- */

struct cairn_docker_config {
    const char *socket_path; /* where the plugin socket is created (an old one is replaced) */
    const char *data_dir;    /* local copies: <data_dir>/<container id>/json.log */
    const char *hostname;    /* the `host` label; NULL: gethostname() */
};

struct cairn_docker_driver;
/* Create the socket and start serving. NULL with err filled on failure. */
struct cairn_docker_driver *cairn_docker_driver_create(const struct cairn_docker_config *cfg,
                                                       struct cairn_err *err);
/* Stop serving, end followers, drain and flush every stream, remove the socket.
 * NULL is a no-op. */
void cairn_docker_driver_destroy(struct cairn_docker_driver *d);

#endif
