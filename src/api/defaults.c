/* defaults.c -- the api's default configuration (Loki's limits_config defaults, from
 * limits.h) and listen-address parsing: no server state, usable by tests and serve. */
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "cairn/api.h"
#include "cairn/limits.h"

void cairn_api_config_default(struct cairn_api_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->listen = "127.0.0.1:3100";
    cfg->max_connections = CAIRN_HTTP_MAX_CONNECTIONS;
    cfg->max_connections_per_ip = CAIRN_HTTP_MAX_CONNECTIONS_PER_IP;
    cfg->header_timeout_ns = CAIRN_HTTP_HEADER_TIMEOUT_NS;
    cfg->body_timeout_ns = CAIRN_HTTP_BODY_TIMEOUT_NS;
    cfg->idle_timeout_ns = CAIRN_HTTP_IDLE_TIMEOUT_NS;
    struct cairn_api_limits *l = &cfg->limits;
    l->max_label_names = CAIRN_MAX_LABEL_NAMES_PER_SERIES;
    l->max_label_name_len = CAIRN_MAX_LABEL_NAME_LENGTH;
    l->max_label_value_len = CAIRN_MAX_LABEL_VALUE_LENGTH;
    l->max_line_size = CAIRN_MAX_LINE_SIZE;
    l->allow_structured_metadata = CAIRN_ALLOW_STRUCTURED_METADATA;
    l->max_sm_size = CAIRN_MAX_STRUCTURED_METADATA_SIZE;
    l->max_sm_entries = CAIRN_MAX_STRUCTURED_METADATA_ENTRIES;
    l->reject_old_samples = 1;
    l->reject_old_max_age_ns = CAIRN_REJECT_OLD_MAX_AGE_NS;
    l->creation_grace_ns = CAIRN_CREATION_GRACE_NS;
    l->ingestion_rate_mb = CAIRN_INGESTION_RATE_MB;
    l->ingestion_burst_mb = CAIRN_INGESTION_BURST_MB;
    l->max_streams_per_user = CAIRN_MAX_STREAMS_PER_TENANT;
    l->max_query_series = CAIRN_MAX_QUERY_SERIES;
    l->query_timeout_ns = CAIRN_QUERY_TIMEOUT_NS;
    l->max_query_memory = CAIRN_MAX_QUERY_MEMORY;
    l->max_tenant_queries = CAIRN_MAX_TENANT_QUERIES;
    l->max_tenant_queued = CAIRN_MAX_TENANT_QUEUED;
    l->max_push_body = CAIRN_MAX_PUSH_BODY;
    l->max_push_decoded = CAIRN_MAX_PUSH_DECODED;
    l->push_decode_budget = CAIRN_PUSH_DECODE_BUDGET;
}

void cairn__api_ingest_limits(const struct cairn_api_limits *l, struct cairn_ingest_limits *out)
{
    *out = (struct cairn_ingest_limits){
        .max_label_names = l->max_label_names,
        .max_label_name_len = l->max_label_name_len,
        .max_label_value_len = l->max_label_value_len,
        .max_line_size = l->max_line_size,
        .allow_structured_metadata = l->allow_structured_metadata,
        .max_sm_size = l->max_sm_size,
        .max_sm_entries = l->max_sm_entries,
        .reject_old_samples = l->reject_old_samples,
        .reject_old_max_age_ns = l->reject_old_max_age_ns,
        .creation_grace_ns = l->creation_grace_ns,
        .max_push_decoded = l->max_push_decoded,
    };
}

int cairn_api_parse_listen(const char *s, char *host, size_t host_cap, unsigned *port)
{
    const char *colon;
    const char *h = s;
    size_t hl;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (!rb || rb[1] != ':')
            return CAIRN_EINVAL;
        h = s + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return CAIRN_EINVAL;
        hl = (size_t)(colon - s);
    }
    if (hl >= host_cap)
        return CAIRN_EINVAL;
    char *end;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end || p > 65535)
        return CAIRN_EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (unsigned)p;
    return 0;
}
