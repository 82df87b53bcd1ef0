/* ship_syslog.h -- the `syslog:` block of a scrape config (Promtail's keys), kept apart
 * from ship_config.h so the source's options live with the source.
 *
 * Ownership: as ship_config.h: everything is owned by the loaded config. */
#ifndef CAIRN_SHIP_SYSLOG_H
#define CAIRN_SHIP_SYSLOG_H

#include <stdint.h>

#include "cairn/config.h"

enum cairn_syslog_proto { CAIRN_SYSLOG_TCP = 0, CAIRN_SYSLOG_UDP = 1 };
enum cairn_syslog_format { CAIRN_SYSLOG_AUTO = 0, CAIRN_SYSLOG_RFC5424 = 1, CAIRN_SYSLOG_RFC3164 = 2 };

struct cairn_ship_syslog {
    char *listen_address;    /* host:port; NULL or empty: no syslog listener */
    int listen_protocol;     /* enum cairn_syslog_proto */
    int64_t idle_timeout_ns;
    int label_structured_data;
    struct cairn_cfg_map labels;
    int use_incoming_timestamp;
    int use_rfc5424_message;
    uint64_t max_message_length;
    int syslog_format;       /* enum cairn_syslog_format; cairn's default: auto */
    int max_connections;     /* cairn's: TCP connections open at once */
    struct { char *cert_file, *key_file, *ca_file; } tls_config;
};

/* The table of the `syslog:` section (its offsets are relative to the struct above). */
extern const struct cairn_cfg_table cairn_ship_syslog_table;

#endif
