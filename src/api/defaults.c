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
    cairn_ingest_limits_default(&l->ingest);
    l->ingestion_rate_mb = CAIRN_INGESTION_RATE_MB;
    l->ingestion_burst_mb = CAIRN_INGESTION_BURST_MB;
    l->max_streams_per_user = CAIRN_MAX_STREAMS_PER_TENANT;
    l->max_query_series = CAIRN_MAX_QUERY_SERIES;
    l->query_timeout_ns = CAIRN_QUERY_TIMEOUT_NS;
    l->max_query_memory = CAIRN_MAX_QUERY_MEMORY;
    l->max_tenant_queries = CAIRN_MAX_TENANT_QUERIES;
    l->max_tenant_queued = CAIRN_MAX_TENANT_QUEUED;
    l->max_push_body = CAIRN_MAX_PUSH_BODY;
    l->push_decode_budget = CAIRN_PUSH_DECODE_BUDGET;
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
