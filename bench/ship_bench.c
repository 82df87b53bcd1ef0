/* ship_bench.c -- the agent's hot path, tail -> json -> labels -> a sink that
 * discards: lines per CPU-second, with the pipeline built from YAML exactly as
 * `cairn ship` builds it.
 *
 *   bench_ship_bench [FILES [LINES_PER_FILE]]   (default 1 file, 2,000,000 lines)
 * Writes the files under $TMPDIR, reads them once with the tailer, prints
 * "lines=N files=F cpu_s=X lines_per_cpu_s=Y maxrss_kb=Z". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cairn/config.h"
#include "cairn/ship.h"
#include "cairn/ship_config.h"
#include "cairn/timeutil.h"
#include "ship/ship_build.h"
#include "cpu.h"

struct discard {
    uint64_t lines, bytes, labelled;
};

static int discard_emit(void *ud, const struct cairn_ship_entry *e)
{
    struct discard *d = ud;
    d->lines++;
    d->bytes += e->line.len;
    d->labelled += e->labels.n;
    return 0;
}

static const char *const levels[] = {"info", "warn", "error", "debug"};

int main(int argc, char **argv)
{
    int files = argc > 1 ? atoi(argv[1]) : 1;
    long lines = argc > 2 ? atol(argv[2]) : 2000000;
    if (files < 1 || lines < 1)
        return 2;
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char dir[512];
    snprintf(dir, sizeof dir, "%s/ship-bench-XXXXXX", tmp);
    if (!mkdtemp(dir))
        return 1;
    /* eventrouter-like JSON lines, ~230 bytes each */
    for (int f = 0; f < files; f++) {
        char path[600];
        snprintf(path, sizeof path, "%s/app-%03d.log", dir, f);
        FILE *fp = fopen(path, "w");
        if (!fp)
            return 1;
        for (long i = 0; i < lines; i++)
            fprintf(fp, "{\"verb\":\"ADDED\",\"level\":\"%s\",\"event\":{\"metadata\":{\"name\":"
                        "\"pod-%ld.17a2b\",\"namespace\":\"ns-%ld\",\"uid\":\"0b1c-22\"},\"reason\":"
                        "\"Scheduled\",\"message\":\"Successfully assigned pod %ld to node-7\"},"
                        "\"ts\":%ld}\n",
                    levels[i & 3], i, i % 50, i, 1700000000000L + i);
        fclose(fp);
    }
    char yaml[2048];
    snprintf(yaml, sizeof yaml,
             "scrape_configs:\n- job_name: bench\n  pipeline_stages:\n"
             "  - json:\n      expressions:\n        namespace: event.metadata.namespace\n"
             "        level:\n"
             "  - labels:\n      namespace:\n      level:\n"
             "  static_configs:\n  - labels:\n      job: bench\n      __path__: %s/*.log\n",
             dir);
    struct cairn_ship_config cfg;
    struct cairn_cfg c = {0};
    struct cairn_err err;
    if (cairn_cfg_init(&c, &cairn_ship_config_table, &cfg, NULL, &err) ||
        cairn_cfg_load_string(&c, "bench.yaml", yaml, strlen(yaml), &err)) {
        fprintf(stderr, "config: %s\n", err.msg);
        return 1;
    }
    const struct cairn_ship_scrape *sc = cfg.scrape_configs.v;
    struct cairn_ship_pipeline *pl = cairn_ship_pipeline_build(&sc[0].pipeline_stages, "p", &err);
    if (!pl) {
        fprintf(stderr, "pipeline: %s\n", err.msg);
        return 1;
    }
    struct discard d = {0};
    struct cairn_ship_sink sink = {discard_emit, NULL, &d};
    struct cairn_labels ls;
    cairn_labels_init(&ls);
    cairn_labels_add(&ls, "job", 3, "bench", 5);
    char glob[600];
    snprintf(glob, sizeof glob, "%s/*.log", dir);
    struct cairn_tail_target tg = {CAIRN_TAIL_FILES, glob, NULL, &ls, pl};
    struct cairn_tailer_config tc = {0};
    tc.targets = &tg;
    tc.n_targets = 1;
    tc.sink = &sink;
    struct cairn_tailer *t = cairn_tailer_create(&tc, &err);
    if (!t)
        return 1;
    double c0 = bench_cpu_seconds();
    int64_t w0 = cairn_mono_ns();
    if (cairn_tailer_poll(t))
        return 1;
    double cpu = bench_cpu_seconds() - c0;
    double wall = (double)(cairn_mono_ns() - w0) / 1e9;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("lines=%llu files=%d bytes=%llu cpu_s=%.3f wall_s=%.3f lines_per_cpu_s=%.0f "
           "MB_per_cpu_s=%.1f maxrss_kb=%ld\n",
           (unsigned long long)d.lines, files, (unsigned long long)d.bytes, cpu, wall,
           (double)d.lines / cpu, (double)d.bytes / cpu / 1e6, ru.ru_maxrss);
    int ok = d.lines == (uint64_t)files * (uint64_t)lines && d.labelled == d.lines * 4;
    cairn_tailer_destroy(t);
    cairn_ship_pipeline_destroy(pl);
    cairn_labels_deinit(&ls);
    cairn_cfg_deinit(&c);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    if (!ok) {
        fprintf(stderr, "wrong count: %llu lines, %llu labels\n", (unsigned long long)d.lines,
                (unsigned long long)d.labelled);
        return 1;
    }
    return 0;
}
