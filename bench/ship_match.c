/* ship_match.c -- the match stage's selector on its hot path: entries run through
 * a pipeline of match stages (literal, regex, pattern and ip() line filters, built from
 * YAML as `cairn ship` builds them) into a sink that discards, in memory (no tailing),
 * so the cost is the selector's.
 *
 *   bench_ship_match [LINES]   (default 2,000,000)
 * Prints one line per selector kind: "filter=K lines=N kept=M cpu_s=X
 * lines_per_cpu_s=Y". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cairn/config.h"
#include "cairn/ship.h"
#include "cairn/ship_config.h"
#include "ship/ship_build.h"
#include "cpu.h"

static int count_emit(void *ud, const struct cairn_ship_entry *e)
{
    (void)e;
    (*(unsigned long long *)ud)++;
    return 0;
}

/* name, selector of a match stage with action drop */
static const char *const kinds[][2] = {
    {"literal", "{job=\\\"bench\\\"} |= \\\"level=error\\\""},
    {"regex", "{job=\\\"bench\\\"} |~ \\\"status=5[0-9]{2}\\\""},
    {"pattern", "{job=\\\"bench\\\"} |> \\\"<_> status=503 <_>\\\""},
    {"ip", "{job=\\\"bench\\\"} |= ip(\\\"10.0.0.0/8\\\")"},
    {"combined", "{job=\\\"bench\\\"} |= \\\"GET\\\" != \\\"health\\\" |= ip(\\\"10.0.0.0/8\\\")"},
};

int main(int argc, char **argv)
{
    long lines = argc > 1 ? atol(argv[1]) : 2000000;
    if (lines < 1)
        return 2;
    enum { NLINES = 1024 };
    static char text[NLINES][200];
    static const char *const levels[] = {"info", "warn", "error", "debug"};
    for (int i = 0; i < NLINES; i++)
        snprintf(text[i], sizeof text[i],
                 "ts=2024-01-01T00:00:%02d level=%s method=%s status=%d path=/api/v1/%d "
                 "client=%d.%d.0.%d dur=%dms",
                 i % 60, levels[i & 3], i % 5 ? "GET" : "POST", i % 7 ? 200 : 503, i,
                 i % 3 ? 10 : 192, i % 3 ? 1 : 168, i & 255, i % 97);
    struct cairn_labels ls;
    cairn_labels_init(&ls);
    cairn_labels_add(&ls, "job", 3, "bench", 5);
    struct cairn_ship_entry e;
    cairn_ship_entry_init(&e);
    int rc = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0] && !rc; k++) {
        char yaml[1024];
        snprintf(yaml, sizeof yaml,
                 "scrape_configs:\n- job_name: bench\n  pipeline_stages:\n"
                 "  - match:\n      selector: \"%s\"\n      action: drop\n",
                 kinds[k][1]);
        struct cairn_ship_config cfg;
        struct cairn_cfg c = {0};
        struct cairn_err err;
        if (cairn_cfg_init(&c, &cairn_ship_config_table, &cfg, NULL, &err) ||
            cairn_cfg_load_string(&c, "bench.yaml", yaml, strlen(yaml), &err)) {
            fprintf(stderr, "config: %s\n", err.msg);
            return 1;
        }
        const struct cairn_ship_scrape *sc = cfg.scrape_configs.v;
        struct cairn_ship_pipeline *pl =
            cairn_ship_pipeline_build(&sc[0].pipeline_stages, "p", &err);
        if (!pl) {
            fprintf(stderr, "pipeline: %s\n", err.msg);
            cairn_cfg_deinit(&c);
            return 1;
        }
        unsigned long long kept = 0;
        struct cairn_ship_sink sink = {count_emit, NULL, &kept};
        double c0 = bench_cpu_seconds();
        for (long i = 0; i < lines && !rc; i++) {
            const char *l = text[i % NLINES];
            rc = cairn_ship_entry_reset(&e, &ls, i, l, strlen(l)) ||
                 cairn_ship_pipeline_run(pl, &e, &sink);
        }
        double cpu = bench_cpu_seconds() - c0;
        printf("filter=%s lines=%ld kept=%llu cpu_s=%.3f lines_per_cpu_s=%.0f\n", kinds[k][0],
               lines, kept, cpu, (double)lines / cpu);
        cairn_ship_pipeline_destroy(pl);
        cairn_cfg_deinit(&c);
    }
    cairn_ship_entry_deinit(&e);
    cairn_labels_deinit(&ls);
    return rc ? 1 : 0;
}
