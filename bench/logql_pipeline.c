/* logql_pipeline.c -- micro benchmark of the LogQL log pipeline on one thread over
 * generated JSON lines: `|= "needle"`, `| json | level="error"`, a line_format
 * projection of three JSON keys, and `| logfmt | level="error"` on logfmt lines.
 * Prints lines and MB of raw line bytes per CPU-second of the thread, best of rounds.
 *
 *   build/bench_logql_pipeline [lines]      (default 500000) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn/logql.h"
#include "cairn/logql_pipeline.h"
#include "cairn/timeutil.h"

struct corpus {
    char *data;
    size_t *off, *len;
    size_t n, bytes;
};

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int gen(struct corpus *c, size_t n, int logfmt)
{
    static const char *levels[] = {"info", "info", "info", "warn", "debug", "error"};
    static const char *paths[] = {"/api/v1/push", "/loki/api/v1/query_range", "/metrics", "/ready"};
    struct cairn_buf b = CAIRN_BUF_INIT;
    c->off = malloc(n * sizeof(size_t));
    c->len = malloc(n * sizeof(size_t));
    if (!c->off || !c->len)
        return -1;
    uint64_t s = 88172645463325252ULL;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = rng(&s);
        const char *lvl = levels[r % 6];
        const char *path = paths[(r >> 8) % 4];
        const char *word = (r >> 16) % 100 == 0 ? "needle" : "hay";
        size_t start = b.len;
        int rc;
        if (logfmt)
            rc = cairn_buf_appendf(&b, "ts=2026-11-25T19:%02u:%02u.%03uZ level=%s caller=handler.go:%u "
                                   "msg=\"request served %s\" method=GET path=%s status=%u duration=%ums "
                                   "trace_id=%016llx", (unsigned)(i / 60 % 60), (unsigned)(i % 60),
                                   (unsigned)(r % 1000), lvl, (unsigned)(r % 400), word, path,
                                   200 + (unsigned)(r % 4) * 100, (unsigned)(r % 900),
                                   (unsigned long long)r);
        else
            rc = cairn_buf_appendf(&b, "{\"ts\":\"2026-11-25T19:%02u:%02u.%03uZ\",\"level\":\"%s\","
                                   "\"caller\":\"handler.go:%u\",\"msg\":\"request served %s\","
                                   "\"request\":{\"method\":\"GET\",\"path\":\"%s\"},\"status\":%u,"
                                   "\"duration_ms\":%u,\"trace_id\":\"%016llx\"}",
                                   (unsigned)(i / 60 % 60), (unsigned)(i % 60), (unsigned)(r % 1000),
                                   lvl, (unsigned)(r % 400), word, path, 200 + (unsigned)(r % 4) * 100,
                                   (unsigned)(r % 900), (unsigned long long)r);
        if (rc)
            return -1;
        c->off[i] = start;
        c->len[i] = b.len - start;
    }
    c->n = n;
    c->bytes = b.len;
    c->data = cairn_buf_detach(&b, NULL);
    return c->data ? 0 : -1;
}

/* CPU time of this thread: the machine is shared, so wall time measures the
 * neighbours as much as the code. */
static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void run(const char *name, const char *query, const struct corpus *c,
                const struct cairn_labels *stream, int rounds)
{
    struct cairn_logql_query *q;
    struct cairn_err err;
    if (cairn_logql_parse(query, strlen(query), &q, &err)) {
        fprintf(stderr, "%s: %s\n", query, err.msg);
        exit(1);
    }
    struct cairn_logql_pipeline *p = cairn_logql_pipeline_create(cairn_logql_root(q), &err);
    if (!p) {
        fprintf(stderr, "%s: %s\n", query, err.msg);
        exit(1);
    }
    size_t kept = 0;
    uint64_t sink = 0;
    int64_t best = -1;
    for (int r = 0; r < rounds; r++) {
        kept = 0;
        int64_t t0 = cpu_ns();
        for (size_t i = 0; i < c->n; i++) {
            int k = cairn_logql_pipeline_process(p, (int64_t)i, stream, c->data + c->off[i], c->len[i]);
            if (k == 1) {
                size_t len;
                cairn_logql_pipeline_line(p, &len);
                sink += len;
                kept++;
            }
        }
        int64_t dt = cpu_ns() - t0;
        if (best < 0 || dt < best)
            best = dt;
    }
    double s = (double)best / 1e9;
    printf("%-34s %9zu kept  %7.2f Mlines/CPU-s  %8.1f MB/CPU-s  (%s)\n", name, kept, (double)c->n / s / 1e6,
           (double)c->bytes / s / 1e6, query);
    (void)sink;
    cairn_logql_pipeline_destroy(p);
    cairn_logql_query_destroy(q);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 500000;
    struct corpus js = {0}, lf = {0};
    if (gen(&js, n, 0) || gen(&lf, n, 1)) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    struct cairn_labels stream;
    struct cairn_err err;
    cairn_labels_init(&stream);
    cairn_labels_parse(&stream, "{app=\"bench\", namespace=\"prod\"}", 31, &err);
    printf("logql pipeline, 1 thread: %zu JSON lines, %.1f MB (avg %zu B/line)\n", n,
           (double)js.bytes / 1e6, js.bytes / n);
    run("literal |= \"needle\"", "{app=\"bench\"} |= \"needle\"", &js, &stream, 5);
    run("regex |~ \"need(le)?s?\"", "{app=\"bench\"} |~ \"need(le)?s?\"", &js, &stream, 3);
    run("json | level=\"error\"", "{app=\"bench\"} | json | level=\"error\"", &js, &stream, 3);
    run("json a=\"level\" | a=\"error\"", "{app=\"bench\"} | json a=\"level\" | a=\"error\"", &js, &stream, 3);
    run("json | line_format 3 keys", "{app=\"bench\"} | json | line_format \"{{.ts}} {{.level}} {{.msg}}\"", &js, &stream, 3);
    run("logfmt | level=\"error\"", "{app=\"bench\"} | logfmt | level=\"error\"", &lf, &stream, 3);
    free(js.data);
    free(js.off);
    free(js.len);
    free(lf.data);
    free(lf.off);
    free(lf.len);
    cairn_labels_deinit(&stream);
    return 0;
}
