/* store_ingest.c -- micro benchmark of the store's append path: a deterministic corpus
 * (Kubernetes Events as core/v1 Event JSON, JSON and logfmt application logs, access
 * logs) over many streams, appended in ~1 MiB push batches by several threads through
 * cairn_store_append; prints lines/s, MB/s of raw line bytes, peak RSS and bytes on
 * disk per raw byte after close.
 *
 *   bench_store_ingest [--mb 200] [--streams 2000] [--threads 2] [--codec zstd|lz4]
 *                      [--level 1] [--fsync never|interval|always]
 *                      [--budget MB] [--dir DIR] [--block-filters 0|1] */
#include <dirent.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cairn/log.h"
#include "cairn/store.h"
#include "cairn/timeutil.h"


static const char *reasons[] = {"Scheduled", "Pulled", "Created", "Started", "Killing",
                                "BackOff", "Unhealthy", "FailedScheduling", "SuccessfulCreate",
                                "ScalingReplicaSet"};
static const char *verbs[] = {"GET", "POST", "PUT", "DELETE"};
static const char *paths[] = {"/api/v1/orders", "/api/v1/users/", "/healthz", "/metrics",
                              "/api/v2/cart/items", "/static/app.js"};

struct stream {
    struct cairn_labels ls;
    int kind; /* 0 events, 1 json app, 2 logfmt app, 3 access */
    int64_t ts;
    uint32_t n;
};

/* xorshift: deterministic and cheap */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int gen_line(char *o, size_t cap, struct stream *st, int id, uint64_t *r)
{
    uint64_t x = rnd(r);
    switch (st->kind) {
    case 0: {
        const char *reason = reasons[x % 10];
        return snprintf(o, cap,
                        "{\"kind\":\"Event\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"pod-%d-"
                        "%05x.%llx\",\"namespace\":\"ns-%d\",\"uid\":\"%08llx-4b1c-11ef-9a3b-%012llx\","
                        "\"resourceVersion\":\"%u\"},\"involvedObject\":{\"kind\":\"Pod\","
                        "\"namespace\":\"ns-%d\",\"name\":\"web-%d-%05x\"},\"reason\":\"%s\","
                        "\"message\":\"%s container web in pod web-%d-%05x\",\"source\":{"
                        "\"component\":\"kubelet\",\"host\":\"node-%d\"},\"count\":%u,\"type\":\"%s\"}",
                        id, (unsigned)(x & 0xfffff), (unsigned long long)(x >> 20 & 0xffffff), id % 20,
                        (unsigned long long)(x & 0xffffffff), (unsigned long long)(x >> 16),
                        st->n + 1000000, id % 20, id, (unsigned)(x & 0xfffff), reason,
                        x % 3 ? "Successfully handled" : "Back-off restarting failed", id,
                        (unsigned)(x & 0xfffff), id % 16, (unsigned)(x % 7 + 1),
                        x % 5 ? "Normal" : "Warning");
    }
    case 1:
        return snprintf(o, cap,
                        "{\"level\":\"%s\",\"ts\":\"2026-01-01T00:%02u:%02u.%03uZ\",\"caller\":"
                        "\"server/handler.go:%u\",\"msg\":\"request completed\",\"method\":\"%s\","
                        "\"path\":\"%s%u\",\"status\":%u,\"duration_ms\":%u,\"request_id\":\"%016llx\"}",
                        x % 10 ? "info" : "warn", (unsigned)(st->n / 60 % 60), (unsigned)(st->n % 60),
                        (unsigned)(x % 1000), (unsigned)(x % 400), verbs[x % 4], paths[x % 6],
                        (unsigned)(x % 1000), x % 20 ? 200 : 500, (unsigned)(x % 250),
                        (unsigned long long)x);
    case 2:
        return snprintf(o, cap,
                        "ts=2026-01-01T00:%02u:%02u.%03uZ level=%s msg=\"processed batch\" "
                        "worker=%u batch_size=%u queue=jobs-%u elapsed=%ums trace_id=%016llx",
                        (unsigned)(st->n / 60 % 60), (unsigned)(st->n % 60), (unsigned)(x % 1000),
                        x % 10 ? "info" : "debug", (unsigned)(x % 16), (unsigned)(x % 500),
                        (unsigned)(x % 4), (unsigned)(x % 2000), (unsigned long long)x);
    default:
        return snprintf(o, cap,
                        "10.%u.%u.%u - - [01/Jan/2026:00:%02u:%02u +0000] \"%s %s%u HTTP/1.1\" %u %u "
                        "\"-\" \"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36\"",
                        (unsigned)(x % 256), (unsigned)(x >> 8 & 255), (unsigned)(x >> 16 & 255),
                        (unsigned)(st->n / 60 % 60), (unsigned)(st->n % 60), verbs[x % 4],
                        paths[x % 6], (unsigned)(x % 1000), x % 20 ? 200 : 404,
                        (unsigned)(x % 50000));
    }
}

/* A push batch: a run of streams, each with its entries. */
struct batch {
    struct cairn_push_stream *ps;
    size_t nps;
    size_t lines, bytes;
};

struct corpus {
    struct batch *b;
    size_t nb;
    char *text;
    struct cairn_entry *entries;
    size_t lines, bytes;
};

static void build_corpus(struct corpus *c, struct stream *st, int nstreams, size_t target)
{
    size_t cap_text = target + (1 << 20), cap_e = target / 60 + 1024;
    c->text = malloc(cap_text);
    c->entries = malloc(cap_e * sizeof *c->entries);
    size_t nbcap = target / (1 << 20) + 8;
    c->b = calloc(nbcap, sizeof *c->b);
    uint64_t r = 0x9e3779b97f4a7c15ULL;
    size_t used = 0, ne = 0;
    int next = 0;
    while (used < target && c->nb < nbcap) {
        struct batch *b = &c->b[c->nb++];
        int per_stream = 30; /* lines per stream per batch */
        size_t nps = (1u << 20) / (per_stream * 250) + 1;
        b->ps = calloc(nps, sizeof *b->ps);
        for (size_t k = 0; k < nps && used < target; k++) {
            struct stream *s = &st[next];
            int id = next;
            next = (next + 1) % nstreams;
            struct cairn_push_stream *ps = &b->ps[b->nps++];
            ps->labels = &s->ls;
            ps->entries = &c->entries[ne];
            for (int i = 0; i < per_stream && used < target && ne < cap_e; i++) {
                int l = gen_line(c->text + used, cap_text - used, s, id, &r);
                s->ts += 1000000 + (int64_t)(rnd(&r) % 1000);
                s->n++;
                c->entries[ne++] = (struct cairn_entry){s->ts, c->text + used, (size_t)l};
                used += (size_t)l;
                ps->n++;
                b->lines++;
                b->bytes += (size_t)l;
            }
        }
        c->lines += b->lines;
        c->bytes += b->bytes;
    }
}

struct worker {
    struct cairn_store *s;
    struct corpus *c;
    size_t from, step;
    int failed;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    for (size_t i = w->from; i < w->c->nb; i += w->step) {
        struct batch *b = &w->c->b[i];
        if (cairn_store_append(w->s, "fake", b->ps, b->nps))
            w->failed = 1;
    }
    return NULL;
}

static uint64_t du(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    if (!S_ISDIR(st.st_mode))
        return (uint64_t)st.st_size;
    uint64_t sum = 0;
    DIR *d = opendir(path);
    struct dirent *de;
    char sub[4096];
    while (d && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
        sum += du(sub);
    }
    if (d)
        closedir(d);
    return sum;
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            v = atol(line + 6);
    if (f)
        fclose(f);
    return v;
}

int main(int argc, char **argv)
{
    size_t mb = 200, budget_mb = 0;
    int nstreams = 2000, threads = 2, level = 1, filters = 1;
    const char *dir = NULL, *codec = "zstd", *fsync = "interval";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--mb"))
            mb = (size_t)atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--streams"))
            nstreams = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--codec"))
            codec = argv[i + 1];
        else if (!strcmp(argv[i], "--level"))
            level = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--fsync"))
            fsync = argv[i + 1];
        else if (!strcmp(argv[i], "--budget"))
            budget_mb = (size_t)atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--dir"))
            dir = argv[i + 1];
        else if (!strcmp(argv[i], "--block-filters"))
            filters = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (threads < 1 || threads > 64 || nstreams < 1)
        return 2;
    cairn_log_set_level(CAIRN_LOG_WARN);
    char tmpl[] = "/tmp/cairn-bench-XXXXXX";
    if (!dir && !(dir = mkdtemp(tmpl)))
        return 1;
    /* recent timestamps, as a live pusher sends: periods stay open during the run */
    int64_t t_start = cairn_now_ns() - 600 * 1000000000LL;
    struct stream *st = calloc((size_t)nstreams, sizeof *st);
    for (int i = 0; i < nstreams; i++) {
        char v[32];
        cairn_labels_init(&st[i].ls);
        st[i].kind = i % 4;
        st[i].ts = t_start;
        static const char *jobs[] = {"k8s-events", "app-json", "app-logfmt", "ingress"};
        cairn_labels_add(&st[i].ls, "job", 3, jobs[i % 4], strlen(jobs[i % 4]));
        snprintf(v, sizeof v, "ns-%d", i % 20);
        cairn_labels_add(&st[i].ls, "namespace", 9, v, strlen(v));
        snprintf(v, sizeof v, "pod-%d", i);
        cairn_labels_add(&st[i].ls, "pod", 3, v, strlen(v));
        cairn_labels_sort(&st[i].ls, NULL);
    }
    struct corpus c = {0};
    build_corpus(&c, st, nstreams, mb << 20);
    long rss_base = rss_kb();

    struct cairn_store_config cfg;
    cairn_store_config_default(&cfg);
    cfg.data_dir = dir;
    cfg.block_filters = filters;
    cfg.codec = !strcmp(codec, "lz4") ? CAIRN_CODEC_LZ4 : CAIRN_CODEC_ZSTD;
    cfg.zstd_level = level;
    if (budget_mb)
        cfg.head_budget = budget_mb << 20;
    cfg.fsync = !strcmp(fsync, "never")    ? CAIRN_FSYNC_NEVER
                : !strcmp(fsync, "always") ? CAIRN_FSYNC_ALWAYS
                                           : CAIRN_FSYNC_INTERVAL;
    struct cairn_err err;
    struct cairn_store *s = cairn_store_open(&cfg, &err);
    if (!s) {
        fprintf(stderr, "open: %s\n", err.msg);
        return 1;
    }
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    int64_t t0 = cairn_mono_ns();
    pthread_t th[64];
    struct worker w[64];
    for (int i = 0; i < threads; i++) {
        w[i] = (struct worker){s, &c, (size_t)i, (size_t)threads, 0};
        pthread_create(&th[i], NULL, work, &w[i]);
    }
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    int64_t t1 = cairn_mono_ns();
    getrusage(RUSAGE_SELF, &ru1);
    struct cairn_store_stats sst;
    cairn_store_stats(s, &sst);
    long rss_ingest = rss_kb(), hwm_ingest = ru1.ru_maxrss;
    if (getenv("BENCH_MALLOC_STATS"))
        malloc_stats();
    cairn_store_close(s);
    int64_t t2 = cairn_mono_ns();
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    uint64_t disk = du(dir);
    double secs = (double)(t1 - t0) / 1e9;
    printf("store_ingest: %zu lines, %.1f MB raw, %d streams, %d threads, codec %s level %d, "
           "fsync %s\n",
           c.lines, (double)c.bytes / 1e6, nstreams, threads, codec, level, fsync);
    printf("  append: %.2f s  %.0f lines/s  %.1f MB/s\n", secs, (double)c.lines / secs,
           (double)c.bytes / 1e6 / secs);
    double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec -
                          ru0.ru_stime.tv_sec) +
                 (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec -
                          ru0.ru_stime.tv_usec) / 1e6;
    printf("  append CPU: %.2f s (user+sys, all threads) = %.0f lines per CPU-second, %.1f MB per "
           "CPU-second\n",
           cpu, (double)c.lines / cpu, (double)c.bytes / 1e6 / cpu);
    printf("  close (flush heads): %.2f s; with it: %.0f lines/s  %.1f MB/s\n",
           (double)(t2 - t1) / 1e9, (double)c.lines / ((double)(t2 - t0) / 1e9),
           (double)c.bytes / 1e6 / ((double)(t2 - t0) / 1e9));
    printf("  peak RSS %.1f MB (corpus in memory before the store opened: %.1f MB; store's "
           "share about %.1f MB)\n",
           (double)ru.ru_maxrss / 1024, (double)rss_base / 1024,
           (double)(ru.ru_maxrss - rss_base) / 1024);
    printf("  after ingest: RSS %.1f MB, peak so far %.1f MB, head (open blocks) %.1f MB, "
           "blocks cut %llu\n",
           (double)rss_ingest / 1024, (double)hwm_ingest / 1024, (double)sst.head_bytes / 1048576,
           (unsigned long long)sst.blocks_cut);
    printf("  bytes on disk after close: %llu = %.3f of raw\n", (unsigned long long)disk,
           (double)disk / (double)c.bytes);
    int failed = 0;
    for (int i = 0; i < threads; i++)
        failed |= w[i].failed;
    for (size_t i = 0; i < c.nb; i++)
        free(c.b[i].ps);
    free(c.b);
    free(c.text);
    free(c.entries);
    for (int i = 0; i < nstreams; i++)
        cairn_labels_deinit(&st[i].ls);
    free(st);
    if (strncmp(dir, "/tmp/cairn-bench-", 17) == 0) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    return failed;
}
