/* store_scan.c -- micro benchmark of the store's read path over a data directory (for
 * instance one written by bench_store_ingest --dir DIR): decoded-block scan with and
 * without line bytes, and the time-merged entry iterator, each as raw MB/s and
 * entries/s on one thread.
 *
 * The last one runs the merged iterator with a literal filter on every line (memmem of
 * "needle"), the store's share of a `|= "needle"` log query, then the same filter given
 * to the iterator (cairn_store_iter_init_filtered: it runs as blocks are decoded).
 *
 *   bench_store_scan DIR [tenant] [--only N]   (N: 1..6, one of the scans) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn/log.h"
#include "cairn/store.h"
#include "cairn/store_read.h"
#include "cairn/timeutil.h"

static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t cpu0;

/* Wall-clock rates, and rates per CPU-second of this thread (what a core does when the
 * machine is not shared). */
static void report(const char *what, uint64_t n, uint64_t bytes, int64_t ns)
{
    double s = (double)ns / 1e9, c = (double)(cpu_ns() - cpu0) / 1e9;
    printf("  %-34s %8llu entries %7.1f MB  wall %6.3f s %8.1f MB/s  cpu %6.3f s %8.1f MB/s "
           "%9.0f entries/s\n",
           what, (unsigned long long)n, (double)bytes / 1e6, s, (double)bytes / 1e6 / s, c,
           (double)bytes / 1e6 / c, (double)n / c);
}

static int scan_blocks(struct cairn_store *s, const char *tenant, unsigned flags, const char *what)
{
    struct cairn_block_iter it;
    cpu0 = cpu_ns();
    int64_t t0 = cairn_mono_ns();
    if (cairn_store_blocks_init(&it, s, tenant, NULL, INT64_MIN / 2, INT64_MAX / 2, flags))
        return 1;
    struct cairn_block_view v;
    uint64_t n = 0, bytes = 0, sink = 0;
    int r;
    while ((r = cairn_store_blocks_next(&it, &v)) == 1) {
        n += v.n;
        bytes += v.raw_bytes;
        if (v.lines && v.n) /* touch the lines, as a filter would */
            for (uint32_t i = 0; i < v.n; i++)
                sink += (unsigned char)v.lines[v.offs[i] + (v.lens[i] ? v.lens[i] - 1 : 0)];
    }
    cairn_store_blocks_deinit(&it);
    report(what, n, bytes, cairn_mono_ns() - t0);
    return r < 0 || sink == 1; /* sink keeps the loop honest */
}

static int has_needle(void *ctx, uint32_t sid, int64_t ts, const char *line, size_t len)
{
    (void)ctx;
    (void)sid;
    (void)ts;
    return memmem(line, len, "needle", 6) != NULL;
}

/* filter: 1 memmem after the merge, 2 the same filter given to the iterator */
static int scan_entries(struct cairn_store *s, const char *tenant, enum cairn_iter_dir dir,
                        int filter, const char *what)
{
    struct cairn_entry_iter it;
    cpu0 = cpu_ns();
    int64_t t0 = cairn_mono_ns();
    if (cairn_store_iter_init_filtered(&it, s, tenant, NULL, INT64_MIN / 2, INT64_MAX / 2, dir, 0,
                                       filter == 2 ? has_needle : NULL, NULL))
        return 1;
    uint32_t sid;
    struct cairn_entry e;
    uint64_t n = 0, bytes = 0, hits = 0;
    int r;
    while ((r = cairn_store_iter_next(&it, &sid, &e)) == 1) {
        n++;
        bytes += e.len;
        if (filter == 1 && memmem(e.line, e.len, "needle", 6))
            hits++;
    }
    if (filter == 2) { /* the lines the iterator dropped count as read */
        uint64_t sn, sb;
        cairn_store_iter_skipped(&it, &sn, &sb);
        n += sn;
        bytes += sb;
    }
    if (filter)
        printf("  (%llu lines with \"needle\")\n", (unsigned long long)hits);
    cairn_store_iter_deinit(&it);
    report(what, n, bytes, cairn_mono_ns() - t0);
    return r < 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_store_scan DIR [tenant]\n");
        return 2;
    }
    const char *tenant = "fake";
    int only = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = atoi(argv[++i]);
        else
            tenant = argv[i];
    }
    cairn_log_set_level(CAIRN_LOG_WARN);
    struct cairn_store_config cfg;
    cairn_store_config_default(&cfg);
    cfg.data_dir = argv[1];
    struct cairn_err err;
    struct cairn_store *s = cairn_store_open(&cfg, &err);
    if (!s) {
        fprintf(stderr, "open: %s\n", err.msg);
        return 1;
    }
    printf("store_scan: %s tenant %s, one thread\n", argv[1], tenant);
    int rc = 0;
    if (!only || only == 1)
        rc |= scan_blocks(s, tenant, 0, "blocks, lines decoded");
    if (!only || only == 2)
        rc |= scan_blocks(s, tenant, CAIRN_ITER_NO_LINES, "blocks, columns only (no lines)");
    if (!only || only == 3)
        rc |= scan_entries(s, tenant, CAIRN_ITER_FORWARD, 0, "entries merged by time, forward");
    if (!only || only == 4)
        rc |= scan_entries(s, tenant, CAIRN_ITER_BACKWARD, 0, "entries merged by time, backward");
    if (!only || only == 5)
        rc |= scan_entries(s, tenant, CAIRN_ITER_BACKWARD, 1, "merged backward, |= \"needle\"");
    if (!only || only == 6)
        rc |= scan_entries(s, tenant, CAIRN_ITER_BACKWARD, 2, "filtered iterator, |= \"needle\"");
    cairn_store_close(s);
    return rc;
}
