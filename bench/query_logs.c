/* query_logs.c -- log query benchmark over a store: writes a generated corpus of JSON
 * application logs (many streams), closes and reopens the store so every block is on
 * disk and compressed, then times, on one thread:
 *   a selector with limit 1000 (latency),
 *   `|= "needle"` over everything, `| json | level="error"` over everything, and a
 *   `line_format` projection of three JSON keys,
 * each reported as latency and MB/s of raw line bytes scanned.
 *
 *   bench_query_logs [--mb 200] [--streams 100] [--dir DIR] [--only NAME-PREFIX]
 *                    [--threads N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cairn/query.h"
#include "cairn/timeutil.h"

#define SEC 1000000000LL

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int fill(struct cairn_store *s, size_t mb, int nstreams, int64_t t0, int64_t *t_end,
                size_t *raw)
{
    static const char *levels[] = {"info", "info", "info", "warn", "debug", "error"};
    static const char *paths[] = {"/api/v1/push", "/loki/api/v1/query_range", "/metrics", "/ready"};
    struct cairn_labels *ls = calloc((size_t)nstreams, sizeof(*ls));
    struct cairn_push_stream *ps = calloc((size_t)nstreams, sizeof(*ps));
    enum { BATCH = 200 };
    struct cairn_entry *e = calloc((size_t)nstreams * BATCH, sizeof(*e));
    char *text = malloc((size_t)nstreams * BATCH * 320);
    if (!ls || !ps || !e || !text)
        return -1;
    for (int i = 0; i < nstreams; i++) {
        char v[32];
        cairn_labels_init(&ls[i]);
        snprintf(v, sizeof(v), "pod-%d", i);
        cairn_labels_add(&ls[i], "job", 3, "bench", 5);
        cairn_labels_add(&ls[i], "namespace", 9, i % 2 ? "prod" : "dev", i % 2 ? 4 : 3);
        cairn_labels_add(&ls[i], "pod", 3, v, strlen(v));
        cairn_labels_sort(&ls[i], NULL);
    }
    uint64_t r = 88172645463325252ULL;
    int64_t ts = t0;
    size_t bytes = 0;
    while (bytes < mb * 1000000) {
        char *o = text;
        for (int i = 0; i < nstreams; i++) {
            for (int k = 0; k < BATCH; k++) {
                uint64_t x = rng(&r);
                int64_t t = ts + (int64_t)k * 1000000 + i; /* 1 ms apart per stream */
                int n = snprintf(o, 320,
                                 "{\"ts\":\"%lld\",\"level\":\"%s\",\"caller\":\"handler.go:%u\","
                                 "\"msg\":\"request served %s\",\"request\":{\"method\":\"GET\","
                                 "\"path\":\"%s\"},\"status\":%u,\"duration_ms\":%u,"
                                 "\"trace_id\":\"%016llx\"}",
                                 (long long)t, levels[x % 6], (unsigned)(x % 400),
                                 (x >> 16) % 1000 == 0 ? "needle" : "hay", paths[(x >> 8) % 4],
                                 200 + (unsigned)(x % 4) * 100, (unsigned)(x % 900),
                                 (unsigned long long)x);
                e[i * BATCH + k] = (struct cairn_entry){t, o, (size_t)n};
                o += n;
                bytes += (size_t)n;
            }
            ps[i] = (struct cairn_push_stream){.labels = &ls[i], .entries = &e[i * BATCH], .n = BATCH};
        }
        if (cairn_store_append(s, "fake", ps, (size_t)nstreams))
            return -1;
        ts += BATCH * 1000000LL;
    }
    *t_end = ts + SEC;
    *raw = bytes;
    for (int i = 0; i < nstreams; i++)
        cairn_labels_deinit(&ls[i]);
    free(ls);
    free(ps);
    free(e);
    free(text);
    return 0;
}

static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static const char *only_prefix;
static int threads = 1;

static void run(struct cairn_store *s, const char *name, const char *query, size_t limit,
                int64_t start, int64_t end)
{
    if (only_prefix && strncmp(name, only_prefix, strlen(only_prefix)) != 0)
        return;
    struct cairn_logql_query *q;
    struct cairn_err err;
    if (cairn_logql_parse(query, strlen(query), &q, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    int64_t best = -1, best_cpu = -1;
    struct cairn_query_stats st = {0};
    size_t streams = 0;
    for (int round = 0; round < 3; round++) {
        struct cairn_query_result r;
        cairn_query_result_init(&r);
        struct cairn_query_params p = {"fake", start, end, limit, CAIRN_ITER_BACKWARD, 0, threads};
        int64_t t0 = cairn_mono_ns(), c0 = cpu_ns();
        if (cairn_query_logs(s, q, &p, &r, &err)) {
            fprintf(stderr, "%s: %s\n", query, err.msg);
            exit(1);
        }
        int64_t dt = cairn_mono_ns() - t0, dc = cpu_ns() - c0;
        if (best_cpu < 0 || dc < best_cpu)
            best_cpu = dc;
        if (best < 0 || dt < best) {
            best = dt;
            st = r.stats;
            streams = r.n;
        }
        cairn_query_result_deinit(&r);
    }
    double secs = (double)best / 1e9;
    double cpu = (double)best_cpu / 1e9;
    printf("  %-26s %8.1f ms wall %8.1f ms CPU %9llu lines %7.1f MB/s wall %7.1f MB/CPU-s  %llu returned, %zu streams\n",
           name, secs * 1e3, cpu * 1e3, (unsigned long long)st.lines_scanned,
           (double)st.bytes_scanned / secs / 1e6, (double)st.bytes_scanned / cpu / 1e6,
           (unsigned long long)st.lines_returned, streams);
    cairn_logql_query_destroy(q);
}

int main(int argc, char **argv)
{
    size_t mb = 200;
    int nstreams = 100;
    const char *dir = NULL;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mb") && i + 1 < argc)
            mb = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--streams") && i + 1 < argc)
            nstreams = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--mb N] [--streams N] [--dir DIR] [--only NAME-PREFIX] [--threads N]\n", argv[0]);
            return 2;
        }
    }
    only_prefix = only;
    char tmpl[] = "/tmp/cairn-qbench-XXXXXX";
    if (!dir && !(dir = mkdtemp(tmpl))) {
        perror("mkdtemp");
        return 1;
    }
    struct cairn_store_config cfg;
    cairn_store_config_default(&cfg);
    cfg.data_dir = dir;
    cfg.fsync = CAIRN_FSYNC_NEVER;
    struct cairn_err err;
    struct cairn_store *s = cairn_store_open(&cfg, &err);
    if (!s) {
        fprintf(stderr, "open: %s\n", err.msg);
        return 1;
    }
    int64_t t0 = cairn_now_ns() - 3600 * SEC, t1;
    size_t raw;
    if (fill(s, mb, nstreams, t0, &t1, &raw)) {
        fprintf(stderr, "fill failed\n");
        return 1;
    }
    cairn_store_close(s);
    if (!(s = cairn_store_open(&cfg, &err))) {
        fprintf(stderr, "reopen: %s\n", err.msg);
        return 1;
    }
    printf("query_logs: %.1f MB raw JSON lines in %d streams, %d thread(s), best of 3\n",
           (double)raw / 1e6, nstreams, threads);
    run(s, "selector limit 1000", "{job=\"bench\"}", 1000, t0, t1);
    run(s, "|= \"needle\" (all data)", "{job=\"bench\"} |= \"needle\"", (size_t)1 << 40, t0, t1);
    run(s, "| json | level=\"error\"", "{job=\"bench\"} | json | level=\"error\"", (size_t)1 << 40, t0, t1);
    run(s, "line_format of 3 keys", "{job=\"bench\"} | json | keep pod | line_format \"{{.ts}} {{.level}} {{.msg}}\"",
        (size_t)1 << 40, t0, t1);
    cairn_store_close(s);
    if (dir == tmpl) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpl);
    }
    return 0;
}
