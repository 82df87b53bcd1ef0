/* src_syslog_config.c -- the `syslog:` section of a scrape config: Promtail's keys
 * (listen_address, listen_protocol, idle_timeout, label_structured_data, labels,
 * use_incoming_timestamp, use_rfc5424_message, max_message_length, syslog_format,
 * tls_config) and cairn's max_connections, with their checks. */
#include <string.h>

#include "cairn/labels.h"
#include "cairn/limits.h"
#include "cairn/ship_syslog.h"

#define S struct cairn_ship_syslog
#define SEC 1000000000LL

static const struct cairn_cfg_enum protos[] = {
    {"tcp", CAIRN_SYSLOG_TCP}, {"udp", CAIRN_SYSLOG_UDP}, {NULL, 0}};
static const struct cairn_cfg_enum formats[] = {
    {"auto", CAIRN_SYSLOG_AUTO}, {"rfc5424", CAIRN_SYSLOG_RFC5424},
    {"rfc3164", CAIRN_SYSLOG_RFC3164}, {NULL, 0}};

static const struct cairn_cfg_entry tls_e[] = {
    {.key = "cert_file", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(S, tls_config.cert_file),
     .help = "server certificate (PEM); with key_file turns TLS on"},
    {.key = "key_file", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(S, tls_config.key_file),
     .help = "server key (PEM)"},
    {.key = "ca_file", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(S, tls_config.ca_file),
     .help = "CA bundle: clients must present a certificate it signed"},
};
static const struct cairn_cfg_table tls_t = {
    .name = "tls_config", .entries = tls_e, .n = sizeof tls_e / sizeof tls_e[0], .size = sizeof(S)};

static int check(struct cairn_cfg *c, void *obj, const char *path, struct cairn_err *err)
{
    (void)c;
    const S *s = obj;
    int tls = (s->tls_config.cert_file && *s->tls_config.cert_file) ||
              (s->tls_config.key_file && *s->tls_config.key_file) ||
              (s->tls_config.ca_file && *s->tls_config.ca_file);
    if (!s->listen_address || !*s->listen_address) {
        /* the section is inline: a block is there when anything in it differs from
         * the defaults */
        if (tls || s->labels.n || s->listen_protocol != CAIRN_SYSLOG_TCP ||
            s->label_structured_data || s->use_incoming_timestamp || s->use_rfc5424_message ||
            s->syslog_format != CAIRN_SYSLOG_AUTO || s->idle_timeout_ns != 120 * SEC ||
            s->max_message_length != CAIRN_SYSLOG_MAX_MESSAGE_LENGTH ||
            s->max_connections != CAIRN_SYSLOG_MAX_CONNECTIONS)
            return cairn_err_set(err, CAIRN_EINVAL, "%s.listen_address: required", path);
        return 0; /* no syslog block */
    }
    if (!strrchr(s->listen_address, ':'))
        return cairn_err_set(err, CAIRN_EINVAL, "%s.listen_address: '%s' is not host:port",
                             path, s->listen_address);
    for (size_t i = 0; i < s->labels.n; i++)
        if (!cairn_label_name_valid(s->labels.v[i].key, strlen(s->labels.v[i].key)))
            return cairn_err_set(err, CAIRN_EINVAL, "%s.labels: '%s' is not a valid label name",
                                 path, s->labels.v[i].key);
    if (tls && s->listen_protocol != CAIRN_SYSLOG_TCP)
        return cairn_err_set(err, CAIRN_EINVAL, "%s.tls_config: TLS needs listen_protocol tcp",
                             path);
    if (tls && (!s->tls_config.cert_file || !*s->tls_config.cert_file || !s->tls_config.key_file ||
                !*s->tls_config.key_file))
        return cairn_err_set(err, CAIRN_EINVAL, "%s.tls_config: cert_file and key_file are "
                             "required", path);
    return 0;
}

static const struct cairn_cfg_entry syslog_e[] = {
    {.key = "listen_address", .type = CAIRN_CFG_STRING, CAIRN_CFG_AT(S, listen_address),
     .help = "host:port to listen on (\":1514\" for every address)"},
    {.key = "listen_protocol", .type = CAIRN_CFG_ENUM, CAIRN_CFG_AT(S, listen_protocol),
     .def = "tcp", .names = protos, .help = "tcp or udp"},
    {.key = "idle_timeout", .type = CAIRN_CFG_DURATION, CAIRN_CFG_AT(S, idle_timeout_ns),
     .idef = 120 * SEC, .min = 1000000LL, .max = 24 * 3600 * SEC,
     .help = "close a TCP connection silent this long"},
    {.key = "label_structured_data", .type = CAIRN_CFG_BOOL,
     CAIRN_CFG_AT(S, label_structured_data),
     .help = "structured data as __syslog_message_sd_<id>_<name> labels"},
    {.key = "labels", .type = CAIRN_CFG_MAP, CAIRN_CFG_AT(S, labels),
     .help = "labels added to every message"},
    {.key = "use_incoming_timestamp", .type = CAIRN_CFG_BOOL,
     CAIRN_CFG_AT(S, use_incoming_timestamp),
     .help = "the message's TIMESTAMP instead of the time it was received"},
    {.key = "use_rfc5424_message", .type = CAIRN_CFG_BOOL, CAIRN_CFG_AT(S, use_rfc5424_message),
     .help = "the whole syslog message as the line, not only MSG"},
    {.key = "max_message_length", .type = CAIRN_CFG_SIZE, CAIRN_CFG_AT(S, max_message_length),
     .idef = CAIRN_SYSLOG_MAX_MESSAGE_LENGTH, .min = 64, .max = CAIRN_SYSLOG_MESSAGE_LENGTH_CAP,
     .help = "longer messages are counted and skipped"},
    {.key = "syslog_format", .type = CAIRN_CFG_ENUM, CAIRN_CFG_AT(S, syslog_format),
     .def = "auto", .names = formats,
     .help = "auto (cairn: RFC 5424, else RFC 3164, per message), rfc5424 or rfc3164"},
    {.key = "max_connections", .type = CAIRN_CFG_INT, CAIRN_CFG_AT(S, max_connections),
     .idef = CAIRN_SYSLOG_MAX_CONNECTIONS, .min = 1, .max = 65536,
     .help = "cairn: TCP connections at once; more are closed at once and counted"},
    {.key = "tls_config", .type = CAIRN_CFG_SECTION, .offset = 0, .size = sizeof(S),
     .sub = &tls_t, .help = "TLS for tcp (OpenSSL)"},
};

const struct cairn_cfg_table cairn_ship_syslog_table = {
    .name = "syslog", .entries = syslog_e, .n = sizeof syslog_e / sizeof syslog_e[0],
    .size = sizeof(S), .check = check};
