/* src_syslog.h -- the agent's syslog source: the message parser (RFC 5424, RFC 3164
 * best effort), the TCP framer (RFC 6587 octet counting and non-transparent LF
 * framing, decided per frame), and the listeners the agent starts and stops.
 *
 * Ownership: a parsed message points into the bytes it was parsed from (nothing is
 * copied); the caller keeps them alive while it reads the message. A source set
 * borrows the agent's config, sink and metrics registry until it is destroyed. */
#ifndef CAIRN_SHIP_SRC_SYSLOG_H
#define CAIRN_SHIP_SRC_SYSLOG_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"
#include "cairn/error.h"
#include "cairn/ship.h"
#include "cairn/ship_config.h"

/* ---- messages (src_syslog_parse.c) ---- */

/* A field is absent (RFC 5424's NILVALUE "-", or not in an RFC 3164 message) when its
 * pointer is NULL. */
struct cairn_syslog_field {
    const char *p;
    size_t len;
};

struct cairn_syslog_msg {
    int rfc;          /* 5424 or 3164 */
    int facility;     /* 0..23 */
    int severity;     /* 0..7 */
    struct cairn_syslog_field ts; /* TIMESTAMP as sent (shape checked); NULL: none */
    int ts_bsd;       /* ts is RFC 3164's "Mmm dd hh:mm:ss" (this year, UTC) */
    struct cairn_syslog_field host, app, procid, msgid;
    struct cairn_syslog_field sd;  /* the STRUCTURED-DATA text, validated; NULL: none */
    struct cairn_syslog_field msg; /* MSG, BOM and trailing CR/LF removed; NULL: none */
};

/* Parse one message of len bytes (no framing). format is enum cairn_syslog_format:
 * auto takes RFC 5424 when a VERSION follows the PRI, else RFC 3164. Returns 0, or
 * CAIRN_EINVAL with *why (static text) naming what is wrong: a bad PRI, a bad field
 * in an RFC 5424 header, malformed structured data. */
int cairn_syslog_parse(const char *p, size_t len, int format, struct cairn_syslog_msg *m,
                       const char **why);

/* The message's time in unix ns: 0, or CAIRN_EINVAL when it has none or it is not a
 * real date (Feb 30). Converted on demand: only use_incoming_timestamp needs it. */
int cairn_syslog_time(const struct cairn_syslog_msg *m, int64_t *ns);

/* Walk the structured data of a parsed message: each call gives the next parameter
 * (its SD-ID, PARAM-NAME, and PARAM-VALUE with \" \\ \] unescaped into val, reset
 * first). Returns 1 with a parameter, 0 at the end, CAIRN_ENOMEM. An element without
 * parameters gives none. */
struct cairn_syslog_sd_iter {
    const char *p, *end;
    struct cairn_syslog_field id; /* of the element being walked */
    int in_elem;
};
void cairn_syslog_sd_begin(struct cairn_syslog_sd_iter *it, const struct cairn_syslog_msg *m);
int cairn_syslog_sd_next(struct cairn_syslog_sd_iter *it, struct cairn_syslog_field *id,
                         struct cairn_syslog_field *name, struct cairn_buf *val);

/* Keywords as Promtail labels them (go-syslog's): severity "emergency".."debug",
 * facility "kern", "user", ..., "local7" (a description for codes without one). */
const char *cairn_syslog_severity_name(int severity);
const char *cairn_syslog_facility_name(int facility);

/* ---- TCP framing (src_syslog_parse.c) ---- */

/* State carried between reads of one connection. */
struct cairn_syslog_framer {
    size_t max;      /* max_message_length */
    uint64_t skip;   /* bytes of an oversize octet-counted frame still to discard */
    int skip_to_lf;  /* discarding an oversize LF-framed message up to its LF */
};

enum cairn_syslog_frame_rc {
    CAIRN_FRAME_MORE = 0,     /* need more bytes (*used may be > 0: bytes discarded) */
    CAIRN_FRAME_OK = 1,       /* *frame / *flen is a message */
    CAIRN_FRAME_OVERSIZE = 2, /* a message over max began; it is being discarded */
    CAIRN_FRAME_BAD = 3,      /* a bad octet count: framing is lost, close the connection */
};

/* Look at buf[0..len) (bytes not consumed yet) and return what the next frame is; *used
 * is how many bytes the caller drops from the front. Octet counting ("LEN SP MSG") when
 * the frame starts with a digit, LF framing otherwise; blank bytes between frames are
 * skipped. A message without its LF that fills max bytes is oversize. */
int cairn_syslog_frame_next(struct cairn_syslog_framer *f, const char *buf, size_t len,
                            const char **frame, size_t *flen, size_t *used);

/* ---- the source (src_syslog.c) ---- */

struct cairn_syslog_set;
struct cairn_ship_metrics;

/* Listeners for every scrape config with a `syslog:` block; NULL with err set on a
 * failure (bad address, port in use, unreadable TLS files), or an empty set when there
 * are none (*n_listeners 0). Nothing runs before _start. */
struct cairn_syslog_set *cairn_syslog_create(const struct cairn_ship_config *cfg,
                                             const struct cairn_ship_sink *sink,
                                             struct cairn_ship_metrics *metrics,
                                             struct cairn_err *err);
size_t cairn_syslog_count(const struct cairn_syslog_set *s);
/* The port listener i is bound to (tests use port 0). */
int cairn_syslog_port(const struct cairn_syslog_set *s, size_t i);
/* Start each listener's threads. 0 or CAIRN_EIO. */
int cairn_syslog_start(struct cairn_syslog_set *s);
/* Ask the threads to stop; async-signal-safe (atomic store and eventfd writes). */
void cairn_syslog_stop(struct cairn_syslog_set *s);
/* Stop, join the threads (messages parsed but not emitted are emitted first, held
 * multiline blocks flushed) and free. NULL is a no-op. */
void cairn_syslog_destroy(struct cairn_syslog_set *s);
/* Each listener pipeline's logentry_dropped_lines_total lines, without the TYPE line:
 * the agent writes them among its own so the family stays in one group. */
int cairn_syslog_drops_write(struct cairn_syslog_set *s, struct cairn_buf *out);
/* Counters in Prometheus text: Promtail's promtail_syslog_* and cairn_ship_syslog_*.
 * 0 or CAIRN_ENOMEM. */
int cairn_syslog_metrics_write(struct cairn_syslog_set *s, struct cairn_buf *out);

#endif
