/* routes.c -- the route table (method, path, handler) and the small handlers:
 * /ready, /metrics and /config. The push handler lives in push.c. */
#include <stdio.h>

#include "api/api_int.h"
#include "cairn/store.h"
#include "cairn/store_check.h"

/* Columns: method, path, metrics name, handler, body (N none, F form, P push), inline
 * (1: answered on the event loop; everything else runs on a worker thread), open (1:
 * no credentials needed when auth is on). */
#define N CAIRN__BODY_NONE
#define F CAIRN__BODY_FORM
#define P CAIRN__BODY_PUSH
const struct cairn__route cairn__routes[] = {
    {"POST", "/loki/api/v1/push", "loki_api_v1_push", cairn__handle_push, P, 0, 0},
    {"POST", "/api/prom/push", "api_prom_push", cairn__handle_push, P, 0, 0}, /* Loki's legacy path */
    {"POST", "/otlp/v1/logs", "otlp_v1_logs", cairn__handle_push, P, 0, 0}, /* push.c */
    {"GET", "/loki/api/v1/query_range", "loki_api_v1_query_range", cairn__handle_query_range, N, 0, 0},
    {"POST", "/loki/api/v1/query_range", "loki_api_v1_query_range", cairn__handle_query_range, F, 0, 0},
    {"GET", "/loki/api/v1/query", "loki_api_v1_query", cairn__handle_query, N, 0, 0},
    {"POST", "/loki/api/v1/query", "loki_api_v1_query", cairn__handle_query, F, 0, 0},
    {"GET", "/loki/api/v1/labels", "loki_api_v1_labels", cairn__handle_labels, N, 0, 0},
    {"POST", "/loki/api/v1/labels", "loki_api_v1_labels", cairn__handle_labels, F, 0, 0},
    {"GET", "/loki/api/v1/label", "loki_api_v1_labels", cairn__handle_labels, N, 0, 0},
    {"GET", "/loki/api/v1/label/*", "loki_api_v1_label_name_values", cairn__handle_label_values, N, 0, 0},
    {"GET", "/loki/api/v1/series", "loki_api_v1_series", cairn__handle_series, N, 0, 0},
    {"POST", "/loki/api/v1/series", "loki_api_v1_series", cairn__handle_series, F, 0, 0},
    {"GET", "/loki/api/v1/index/stats", "loki_api_v1_index_stats", cairn__handle_index_stats, N, 0, 0},
    {"POST", "/loki/api/v1/index/stats", "loki_api_v1_index_stats", cairn__handle_index_stats, F, 0, 0},
    {"GET", "/loki/api/v1/index/volume", "loki_api_v1_index_volume", cairn__handle_volume, N, 0, 0},
    {"POST", "/loki/api/v1/index/volume", "loki_api_v1_index_volume", cairn__handle_volume, F, 0, 0},
    {"GET", "/loki/api/v1/index/volume_range", "loki_api_v1_index_volume_range", cairn__handle_volume_range, N, 0, 0},
    {"POST", "/loki/api/v1/index/volume_range", "loki_api_v1_index_volume_range", cairn__handle_volume_range, F, 0, 0},
    {"GET", "/loki/api/v1/format_query", "loki_api_v1_format_query", cairn__handle_format_query, N, 0, 0},
    {"POST", "/loki/api/v1/format_query", "loki_api_v1_format_query", cairn__handle_format_query, F, 0, 0},
    {"GET", "/loki/api/v1/status/buildinfo", "loki_api_v1_status_buildinfo", cairn__handle_buildinfo, N, 1, 1},
    {"GET", "/loki/api/v1/detected_labels", "loki_api_v1_detected_labels", cairn__handle_detected_labels, N, 0, 0},
    {"GET", "/loki/api/v1/detected_fields", "loki_api_v1_detected_fields", cairn__handle_detected_fields, N, 0, 0},
    {"GET", "/loki/api/v1/detected_field/*", "loki_api_v1_detected_field_values", cairn__handle_detected_field_values, N, 0, 0},
    {"GET", "/loki/api/v1/patterns", "loki_api_v1_patterns", cairn__handle_patterns, N, 0, 0},
    {"POST", "/loki/api/v1/patterns", "loki_api_v1_patterns", cairn__handle_patterns, F, 0, 0},
    /* tail only parses its query here; the session has its own thread (tail.c) */
    {"GET", "/loki/api/v1/tail", "loki_api_v1_tail", cairn__handle_tail, N, 1, 0},
    /* the ruler (cairn_api_set_ruler): Loki's rules API and Prometheus's rules/alerts */
    {"GET", "/loki/api/v1/rules", "loki_api_v1_rules", cairn__handle_ruler, N, 0, 0},
    {"GET", "/loki/api/v1/rules/*", "loki_api_v1_rules", cairn__handle_ruler, N, 0, 0},
    {"POST", "/loki/api/v1/rules/*", "loki_api_v1_rules", cairn__handle_ruler, F, 0, 0}, /* raw YAML body, 1 MiB */
    {"DELETE", "/loki/api/v1/rules/*", "loki_api_v1_rules", cairn__handle_ruler, N, 0, 0},
    {"GET", "/api/prom/rules", "api_prom_rules", cairn__handle_ruler, N, 0, 0},
    {"GET", "/api/prom/rules/*", "api_prom_rules", cairn__handle_ruler, N, 0, 0},
    {"POST", "/api/prom/rules/*", "api_prom_rules", cairn__handle_ruler, F, 0, 0},
    {"DELETE", "/api/prom/rules/*", "api_prom_rules", cairn__handle_ruler, N, 0, 0},
    {"GET", "/prometheus/api/v1/rules", "prometheus_api_v1_rules", cairn__handle_ruler, N, 0, 0},
    {"GET", "/prometheus/api/v1/alerts", "prometheus_api_v1_alerts", cairn__handle_ruler, N, 0, 0},
    {"GET", "/ready", "ready", cairn__handle_ready, N, 1, 1},
    {"GET", "/metrics", "metrics", cairn__handle_metrics, N, 0, 1}, /* store stats take locks */
    {"GET", "/config", "config", cairn__handle_config, N, 0, 0},
};
#undef N
#undef F
#undef P
const size_t cairn__n_routes = sizeof cairn__routes / sizeof cairn__routes[0];

_Static_assert(sizeof cairn__routes / sizeof cairn__routes[0] < CAIRN_ROUTES_MAX,
               "route table larger than the metrics table (one slot is for 'no route')");

void cairn__handle_ready(struct cairn_api *api, struct cairn__req *r)
{
    if (atomic_load(&api->store))
        cairn__reply_text(r, 200, "ready");
    else
        cairn__reply_text(r, 503, "Ingester not ready: replaying the WAL");
}

static int gauge(struct cairn_buf *o, const char *name, const char *type, const char *help,
                 uint64_t v)
{
    return cairn_buf_appendf(o, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type,
                             name, (unsigned long long)v);
}

void cairn__handle_metrics(struct cairn_api *api, struct cairn__req *r)
{
    struct cairn_buf *o = r->reply;
    int rc = cairn__tenants_metrics(&api->tenants, o);
    struct cairn_store *st = atomic_load(&api->store);
    if (st) {
        struct cairn_store_stats s;
        cairn_store_stats(st, &s);
        rc |= gauge(o, "cairn_active_streams", "gauge", "Streams with an open head.",
                    s.active_streams);
        rc |= gauge(o, "cairn_head_bytes", "gauge", "Bytes held in open head blocks.",
                    s.head_bytes);
        rc |= gauge(o, "cairn_wal_bytes_total", "counter", "Bytes written to the WAL.",
                    s.wal_bytes);
        rc |= gauge(o, "cairn_wal_records_total", "counter", "Records written to the WAL.",
                    s.wal_records);
        rc |= gauge(o, "cairn_wal_fsyncs_total", "counter", "fsync calls on the WAL.",
                    s.wal_fsyncs);
        rc |= gauge(o, "cairn_blocks_cut_total", "counter", "Head blocks cut and compressed.",
                    s.blocks_cut);
        rc |= gauge(o, "cairn_chunks_flushed_total", "counter",
                    "Chunks written to segment files.", s.chunks_flushed);
        rc |= gauge(o, "cairn_chunk_bytes_flushed_total", "counter",
                    "Compressed bytes written to segment files.", s.chunk_bytes_flushed);
        rc |= gauge(o, "cairn_store_entries_appended_total", "counter",
                    "Entries the store accepted.", s.entries_appended);
        rc |= gauge(o, "cairn_store_bytes_appended_total", "counter",
                    "Line bytes the store accepted.", s.bytes_appended);
        rc |= gauge(o, "cairn_store_entries_rejected_total", "counter",
                    "Entries the store refused (out of order beyond the window).",
                    s.entries_rejected);
        struct cairn_store_damage d;
        cairn_store_damage(st, &d);
        rc |= gauge(o, "cairn_store_corrupt_records_skipped_total", "counter",
                    "WAL or segment records skipped because they failed their CRC or format "
                    "check (file and offset in the log).", d.records_skipped);
        rc |= gauge(o, "cairn_store_corrupt_bytes_skipped_total", "counter",
                    "Bytes of those records.", d.bytes_skipped);
        rc |= gauge(o, "cairn_store_corrupt_blocks_skipped_total", "counter",
                    "Damaged blocks skipped by queries or at load.", d.blocks_skipped);
        rc |= gauge(o, "cairn_store_files_quarantined_total", "counter",
                    "Damaged files moved to (or copied into) DATA_DIR/quarantine/.",
                    d.files_quarantined);
    }
    rc |= gauge(o, "cairn_push_store_errors_total", "counter",
                "Pushes that failed in the store (I/O, disk full).",
                atomic_load(&api->push_errors));
    rc |= gauge(o, "cairn_ready", "gauge", "1 once the WAL is replayed.", st ? 1 : 0);
    rc |= gauge(o, "cairn_http_connections", "gauge", "Open HTTP connections.",
                cairn__reaper_count(&api->reaper));
    rc |= gauge(o, "cairn_http_connections_timed_out_total", "counter",
                "Connections closed past their header, body or idle deadline.",
                atomic_load(&api->reaper.reaped));
    rc |= cairn__metrics_render(&api->metrics, o);
    if (rc) {
        cairn__reply_text(r, 500, "out of memory rendering metrics");
        return;
    }
    r->status = 200;
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

void cairn__handle_config(struct cairn_api *api, struct cairn__req *r)
{
    if (!api->config_dump) {
        cairn__reply_text(r, 404, "no configuration to show");
        return;
    }
    int rc = api->config_dump(api->config_dump_ctx, r->reply);
    if (rc) {
        cairn__reply_text(r, 500, "cannot render the configuration: %s", cairn_strerror(rc));
        return;
    }
    r->status = 200;
    r->content_type = "text/yaml; charset=utf-8";
}

void cairn_api_set_ruler(struct cairn_api *api, cairn_api_ruler_fn fn, void *ctx)
{
    atomic_store(&api->ruler_ctx, ctx);
    atomic_store(&api->ruler_fn, fn);
}

void cairn__handle_ruler(struct cairn_api *api, struct cairn__req *r)
{
    cairn_api_ruler_fn fn = atomic_load(&api->ruler_fn);
    if (!fn) {
        cairn__reply_text(r, 404, "the ruler is not enabled (set ruler.storage.local.directory)");
        return;
    }
    const char *body = r->batch && r->batch->body.data ? r->batch->body.data : "";
    size_t len = r->batch ? r->batch->body.len : 0;
    const char *ct = "text/plain; charset=utf-8";
    cairn_buf_reset(r->reply);
    r->status = fn(atomic_load(&api->ruler_ctx), r->method, r->url, cairn__req_tenant(r), body,
                   len, r->reply, &ct);
    r->content_type = ct;
}
