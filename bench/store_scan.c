/* store_scan.c -- micro benchmark of the store's read path over a data directory (for
 * instance one written by bench_store_ingest --dir DIR): decoded-block scan with and
 * without line bytes, and the time-merged entry iterator, each as raw MB/s and
 * entries/s on one thread.
 *
 *   bench_store_scan DIR [tenant] */
#include <stdio.h>
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

static int scan_entries(struct cairn_store *s, const char *tenant, enum cairn_iter_dir dir,
                        const char *what)
{
    struct cairn_entry_iter it;
    cpu0 = cpu_ns();
    int64_t t0 = cairn_mono_ns();
    if (cairn_store_iter_init(&it, s, tenant, NULL, INT64_MIN / 2, INT64_MAX / 2, dir, 0))
        return 1;
    uint32_t sid;
    struct cairn_entry e;
    uint64_t n = 0, bytes = 0;
    int r;
    while ((r = cairn_store_iter_next(&it, &sid, &e)) == 1) {
        n++;
        bytes += e.len;
    }
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
    const char *tenant = argc > 2 ? argv[2] : "fake";
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
    int rc = scan_blocks(s, tenant, 0, "blocks, lines decoded");
    rc |= scan_blocks(s, tenant, CAIRN_ITER_NO_LINES, "blocks, columns only (no lines)");
    rc |= scan_entries(s, tenant, CAIRN_ITER_FORWARD, "entries merged by time, forward");
    rc |= scan_entries(s, tenant, CAIRN_ITER_BACKWARD, "entries merged by time, backward");
    cairn_store_close(s);
    return rc;
}
