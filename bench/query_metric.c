/* query_metric.c -- benchmark of LogQL metric queries over a generated store:
 * Kubernetes-event-like JSON lines in `streams` streams {job="events", namespace,
 * pod} over `hours` hours, one line per stream every `every` seconds; then, over the
 * whole range at step 1m:
 *   sum by (namespace) (count_over_time({job="events"}[5m]))     (column-only)
 *   topk(10, sum by (reason) (rate({job="events"} | json [1m])))  (every line parsed)
 * and a few more shapes, and two log queries that merge every entry and keep none. Prints wall and CPU time and GB/s of raw line bytes covered
 * per CPU-second (the raw-equivalent bytes the query answers over).
 *
 * With --dup, the last hour of every stream is pushed a second time after the flush
 * (an agent's retries stored twice): every stream then has blocks overlapping in time,
 * the worst case for duplicate-dropping reads (docs/LOGQL.md, "Duplicate entries").
 *
 *   bench_query_metric [--streams 2000] [--hours 24] [--every 60] [--threads 0]
 *                      [--repeat 3] [--query N] [--dir DIR] [--keep] [--dup] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cairn/labels.h"
#include "cairn/log.h"
#include "cairn/query.h"
#include "cairn/store.h"
#include "cairn/timeutil.h"

#define SEC 1000000000LL

static const char *reasons[] = {"Scheduled", "Pulled", "Created", "Started", "Killing",
                                "BackOff", "Unhealthy", "FailedScheduling", "SuccessfulCreate",
                                "ScalingReplicaSet"};

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static int gen_line(char *o, size_t cap, int sid, int ns, uint32_t n, uint64_t *r)
{
    uint64_t x = rnd(r);
    const char *reason = reasons[x % 10];
    return snprintf(o, cap,
                    "{\"kind\":\"Event\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"pod-%d.%llx\","
                    "\"namespace\":\"ns-%d\",\"resourceVersion\":\"%u\"},\"involvedObject\":{\"kind\":"
                    "\"Pod\",\"namespace\":\"ns-%d\",\"name\":\"web-%d\"},\"reason\":\"%s\",\"message\":"
                    "\"%s container web in pod web-%d\",\"type\":\"%s\",\"count\":%u}",
                    sid, (unsigned long long)(x >> 20), ns, n, ns, sid, reason, reason, sid,
                    x % 7 == 0 ? "Warning" : "Normal", (unsigned)(x % 5 + 1));
}

int main(int argc, char **argv)
{
    int streams = 2000, hours = 24, every = 60, threads = 0, repeat = 3, keep = 0, only = -1, dup = 0;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--streams") && i + 1 < argc)
            streams = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--hours") && i + 1 < argc)
            hours = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--every") && i + 1 < argc)
            every = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--repeat") && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
            dir = argv[++i];
        else if (!strcmp(argv[i], "--query") && i + 1 < argc)
            only = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--keep"))
            keep = 1;
        else if (!strcmp(argv[i], "--dup"))
            dup = 1;
        else {
            fprintf(stderr, "usage: %s [--streams N] [--hours H] [--every SEC] [--threads N] "
                            "[--repeat N] [--query N] [--dir DIR] [--keep] [--dup]\n", argv[0]);
            return 2;
        }
    }
    char tmpl[] = "/tmp/cairn-bench-metric-XXXXXX";
    if (!dir && !(dir = mkdtemp(tmpl))) {
        perror("mkdtemp");
        return 1;
    }
    cairn_log_set_level(CAIRN_LOG_WARN);
    struct cairn_store_config cfg;
    cairn_store_config_default(&cfg);
    cfg.data_dir = dir;
    cfg.fsync = CAIRN_FSYNC_NEVER;
    struct cairn_err err = {0};
    struct cairn_store *s = cairn_store_open(&cfg, &err);
    if (!s) {
        fprintf(stderr, "open: %s\n", err.msg);
        return 1;
    }
    /* whole hours, aligned, ending a little in the past */
    int64_t end = (cairn_now_ns() / (3600 * SEC)) * 3600 * SEC - 3600 * SEC;
    int64_t start = end - (int64_t)hours * 3600 * SEC;
    int per_hour = 3600 / every;
    struct cairn_labels *ls = calloc((size_t)streams, sizeof *ls);
    struct cairn_entry *ents = calloc((size_t)per_hour, sizeof *ents);
    char *lines = malloc((size_t)per_hour * 512);
    if (!ls || !ents || !lines)
        return 1;
    for (int i = 0; i < streams; i++) {
        char ns[32], pod[32];
        int nl = snprintf(ns, sizeof ns, "ns-%d", i % 50), pl = snprintf(pod, sizeof pod, "pod-%d", i);
        cairn_labels_init(&ls[i]);
        cairn_labels_add(&ls[i], "job", 3, "events", 6);
        cairn_labels_add(&ls[i], "namespace", 9, ns, (size_t)nl);
        cairn_labels_add(&ls[i], "pod", 3, pod, (size_t)pl);
        cairn_labels_sort(&ls[i], NULL);
    }
    uint64_t raw = 0, nent = 0;
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    uint64_t last_seed = seed;
    double t0 = (double)cairn_mono_ns() / 1e9;
    for (int h = 0, pass = 0; h < hours; h++) {
        if (h == hours - 1 && pass == 0)
            last_seed = seed;
        for (int i = 0; i < streams; i++) {
            for (int k = 0; k < per_hour; k++) {
                char *o = lines + (size_t)k * 512;
                int l = gen_line(o, 512, i, i % 50, (uint32_t)(h * per_hour + k), &seed);
                /* spread streams within the interval so steps see every stream */
                int64_t ts = start + (int64_t)h * 3600 * SEC + (int64_t)k * every * SEC +
                             (int64_t)(i % every) * SEC + (int64_t)i;
                ents[k] = (struct cairn_entry){ts, o, (size_t)l};
                raw += (uint64_t)l;
            }
            struct cairn_push_stream ps = {.labels = &ls[i], .entries = ents, .n = (size_t)per_hour};
            if (cairn_store_append(s, "fake", &ps, 1) || ps.rejected) {
                fprintf(stderr, "append failed (%zu rejected: %s)\n", ps.rejected, ps.err.msg);
                return 1;
            }
            nent += (uint64_t)per_hour;
        }
        if (h == hours - 1 && dup && pass == 0) { /* the last hour again, as a retry */
            cairn_store_flush(s);
            seed = last_seed;
            pass = 1;
            h--;
        }
    }
    cairn_store_flush(s);
    double t1 = (double)cairn_mono_ns() / 1e9;
    printf("data: %d streams, %d h, %llu entries, %.1f MB raw, generated and stored in %.1f s\n", streams,
           hours, (unsigned long long)nent, (double)raw / 1e6, t1 - t0);

    static const char *queries[] = {
        "sum by (namespace) (count_over_time({job=\"events\"}[5m]))",
        "topk(10, sum by (reason) (rate({job=\"events\"} | json [1m])))",
        "sum(bytes_rate({job=\"events\"}[1m]))",
        "sum by (namespace) (count_over_time({job=\"events\"} |= \"Warning\" [5m]))",
        "sum by (reason) (count_over_time({job=\"events\"} | json | type=\"Warning\" [5m]))",
        "quantile_over_time(0.99, {job=\"events\"} | json | unwrap count [5m]) by (namespace)",
        /* log queries whose pipeline drops every line after the merge (no store-side
         * filter): the cost per merged entry, duplicate check included */
        "{job=\"events\"} | json | type=\"None\"",
        "{job=\"events\"} | line_format \"x\" |= \"y\"",
    };
    struct cairn_query_params p = {.tenant = "fake", .start = start + 60 * SEC, .end = end, .step = 60 * SEC,
                                   .threads = threads};
    struct cairn_buf out = CAIRN_BUF_INIT;
    for (size_t qi = 0; qi < sizeof queries / sizeof queries[0]; qi++) {
        if (only >= 0 && (size_t)only != qi)
            continue;
        double best_wall = 1e30, best_cpu = 1e30;
        size_t outlen = 0;
        for (int r = 0; r < repeat; r++) {
            cairn_buf_reset(&out);
            double w0 = (double)cairn_mono_ns() / 1e9, c0 = cpu_now();
            int rc = cairn_query_run(s, queries[qi], strlen(queries[qi]), &p, &out, &err);
            double w1 = (double)cairn_mono_ns() / 1e9, c1 = cpu_now();
            if (rc) {
                fprintf(stderr, "%s: %s\n", queries[qi], err.msg);
                return 1;
            }
            if (w1 - w0 < best_wall)
                best_wall = w1 - w0;
            if (c1 - c0 < best_cpu)
                best_cpu = c1 - c0;
            outlen = out.len;
        }
        printf("%-90s wall %7.3f s  cpu %7.3f s  %6.2f GB/s raw per core  %6.2f GB/s wall  (%zu B reply)\n",
               queries[qi], best_wall, best_cpu, (double)raw / 1e9 / best_cpu, (double)raw / 1e9 / best_wall,
               outlen);
    }
    cairn_buf_deinit(&out);
    cairn_store_close(s);
    for (int i = 0; i < streams; i++)
        cairn_labels_deinit(&ls[i]);
    free(ls);
    free(ents);
    free(lines);
    if (!keep && dir == tmpl) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tmpl);
    }
    return 0;
}
