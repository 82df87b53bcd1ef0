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
    /* cluster (cluster*.c): peers' routes check the cluster secret themselves */
    {"POST", "/internal/push", "internal_push", cairn__handle_internal_push, P, 0, 1},
    {"GET", "/internal/read", "internal_read", cairn__handle_internal_read, N, 0, 1},
    {"GET", "/ring", "ring", cairn__handle_ring, N, 0, 0},
    {"GET", "/services", "services", cairn__handle_services, N, 1, 1},
    /* as Loki's /flush: cut every head and close every period now (object storage:
     * uploaded within a second); an operator's or a test's trigger */
    {"POST", "/flush", "flush", cairn__handle_flush, N, 0, 0},
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

static int objstore_metrics(struct cairn_store *st, struct cairn_buf *o);

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
        rc |= gauge(o, "cairn_blocks_filtered_total", "counter",
                    "Blocks queries skipped unread: their filter said no line holds a literal.",
                    s.blocks_filtered);
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
        rc |= objstore_metrics(st, o);
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
    rc |= cairn__cluster_metrics(api, o);
    rc |= cairn__metrics_render(&api->metrics, o);
    if (rc) {
        cairn__reply_text(r, 500, "out of memory rendering metrics");
        return;
    }
    r->status = 200;
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

void cairn__handle_flush(struct cairn_api *api, struct cairn__req *r)
{
    struct cairn_store *st = atomic_load(&api->store);
    if (!st) {
        cairn__reply_text(r, 503, "not ready");
        return;
    }
    int rc = cairn_store_flush_close(st);
    if (rc) {
        cairn__reply_text(r, 500, "flush failed: %s", cairn_strerror(rc));
        return;
    }
    r->status = 204;
}

static int objstore_metrics(struct cairn_store *st, struct cairn_buf *o)
{
    struct cairn_store_remote_stats rs;
    cairn_store_remote_stats(st, &rs);
    if (!rs.enabled)
        return 0;
    int rc = gauge(o, "cairn_objstore_uploads_total", "counter",
                   "Segment files uploaded to the object store (confirmed by size).", rs.uploads);
    rc |= gauge(o, "cairn_objstore_upload_bytes_total", "counter", "Bytes of those files.",
                rs.upload_bytes);
    rc |= gauge(o, "cairn_objstore_upload_failures_total", "counter",
                "Period uploads that failed (retried with backoff; local files kept).",
                rs.upload_failures);
    rc |= gauge(o, "cairn_objstore_upload_queue", "gauge",
                "Closed periods with local files not yet uploaded.", rs.queue);
    rc |= gauge(o, "cairn_objstore_periods_deleted_total", "counter",
                "Periods whose objects retention deleted from the bucket.", rs.periods_deleted);
    const struct cairn_objstore_stats *os = cairn_store_objstore_stats(st);
    if (os) {
        static const char *le[6] = {"0.01", "0.05", "0.1", "0.5", "1", "5"};
        rc |= gauge(o, "cairn_objstore_request_errors_total", "counter",
                    "Object store requests that failed (after retries).", atomic_load(&os->errors));
        rc |= gauge(o, "cairn_objstore_bytes_read_total", "counter",
                    "Bytes read from the object store.", atomic_load(&os->bytes_in));
        rc |= cairn_buf_appendf(o, "# HELP cairn_objstore_request_duration_seconds Object store "
                                   "request latency.\n# TYPE cairn_objstore_request_duration_seconds "
                                   "histogram\n");
        for (int i = 0; i < 6; i++)
            rc |= cairn_buf_appendf(o, "cairn_objstore_request_duration_seconds_bucket{le=\"%s\"} %llu\n",
                                    le[i], (unsigned long long)atomic_load(&os->latency_le[i]));
        unsigned long long n = atomic_load(&os->requests);
        rc |= cairn_buf_appendf(o, "cairn_objstore_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
                                   "cairn_objstore_request_duration_seconds_sum %.6f\n"
                                   "cairn_objstore_request_duration_seconds_count %llu\n",
                                n, atomic_load(&os->latency_us_sum) / 1e6, n);
    }
    const struct cairn_cache_stats *cs = cairn_store_cache_stats(st);
    if (cs) {
        rc |= gauge(o, "cairn_cache_hits_total", "counter", "Block cache hits.", atomic_load(&cs->hits));
        rc |= gauge(o, "cairn_cache_misses_total", "counter", "Block cache misses (ranged GETs).",
                    atomic_load(&cs->misses));
        rc |= gauge(o, "cairn_cache_bytes", "gauge", "Bytes in the block cache.", atomic_load(&cs->bytes));
        rc |= gauge(o, "cairn_cache_evictions_total", "counter", "Block cache entries evicted.",
                    atomic_load(&cs->evictions));
    }
    return rc;
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
