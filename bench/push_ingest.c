/* push_ingest.c -- bench_push_ingest: the server's push path in one process, without
 * HTTP: a bench_gen corpus is cut and encoded as bench_push does (protobuf + snappy,
 * --batch-bytes of lines per request, streams split over --threads shards), then each
 * body goes through what POST /loki/api/v1/push does after receiving it (snappy,
 * protobuf walk, validation, cairn_store_append) and the store is closed (its flush).
 *
 * It reports CPU seconds of the whole process (every thread, the store's maintenance
 * thread included) for the append phase and for the close, so the numbers depend little
 * on what else the machine runs. Instruction counts, which do not depend on it at all:
 *
 *   valgrind --tool=callgrind --dump-before=ingest_phase --dump-after=ingest_phase \
 *       build/bench_push_ingest CORPUS
 *
 * and read the totals of the dump made after ingest_phase (`callgrind_annotate`): the
 * encoding before it is not counted. The last output line is `BENCH_PUSH_INGEST k=v...`.
 *
 *   bench_push_ingest [--threads 1] [--batch-bytes 1048576] [--mb 0 (all)] [--level N]
 *                     [--codec zstd|lz4] [--block-kb N] [--budget-mb N] [--wal-mb N] [--dir DIR]
 *                     [--keep] CORPUS */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cairn/ingest.h"
#include "cairn/store.h"
#include "cairn/timeutil.h"
#include "corpus.h"
#include "push_encode.h"

struct body {
    char *p;
    size_t len;
    uint64_t lines;
};

struct opts {
    unsigned threads;
    size_t batch_bytes;
    uint64_t limit_bytes;
    int level, codec, keep;
    size_t block_kb, budget_mb, wal_mb;
    const char *dir, *corpus;
};

struct shard {
    struct body *v;
    size_t n, cap;
    struct cairn_store *s;
    const struct cairn_ingest_limits *lim;
    uint64_t lines, bytes;
    int failed;
};

static int usage(void)
{
    fprintf(stderr, "usage: bench_push_ingest [--threads N] [--batch-bytes N] [--mb N] [--level N]\n"
                    "         [--codec zstd|lz4] [--block-kb N] [--budget-mb N] [--wal-mb N] [--dir DIR]\n"
                    "         [--keep] CORPUS\n");
    return 2;
}

static double sys_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static double wall_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static int add_body(struct shard *sh, const struct encoder *e, uint64_t lines)
{
    if (sh->n == sh->cap) {
        size_t nc = sh->cap ? sh->cap * 2 : 64;
        struct body *nv = realloc(sh->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        sh->v = nv;
        sh->cap = nc;
    }
    char *p = malloc(e->out.len ? e->out.len : 1);
    if (!p)
        return -1;
    memcpy(p, e->out.data, e->out.len);
    sh->v[sh->n++] = (struct body){p, e->out.len, lines};
    return 0;
}

/* Cut and encode every shard's batches, as bench_push does (untimed). */
static int encode_all(const struct opts *o, const struct corpus_map *m, char **labels,
                      struct shard *shards)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct enc_src src = {.m = m, .labels = labels, .nshards = o->threads};
    /* rebased by whole hours, so validation accepts the whole corpus while timestamps
     * keep their precision and their place in the hour and the day (the period split),
     * as in the corpus run.sh pushes */
    int64_t hour = 3600000000000LL;
    src.shift_ns = ((int64_t)now.tv_sec * 1000000000LL - m->h.max_ts) / hour * hour;
    struct encoder e;
    if (encoder_init(&e, m->h.nstreams))
        return -1;
    int rc = 0;
    for (unsigned sh = 0; sh < o->threads && !rc; sh++) {
        struct enc_batch b = {.shard = sh};
        uint64_t bytes = 0, total = 0;
        struct corpus_entry en;
        for (size_t off = m->entries_off; off < m->size && !rc;) {
            size_t here = off;
            if (corpus_next(m, &off, &en) != 1)
                break;
            if (o->limit_bytes && total >= o->limit_bytes)
                break;
            total += en.len;
            if (en.stream % o->threads != sh)
                continue;
            if (b.nentries && bytes + en.len > o->batch_bytes) {
                rc = encode_batch(&src, &e, &b) || add_body(&shards[sh], &e, b.nentries);
                b = (struct enc_batch){.shard = sh};
                bytes = 0;
            }
            if (!b.nentries)
                b.off = here;
            b.end = off;
            b.nentries++;
            bytes += en.len;
        }
        if (!rc && b.nentries)
            rc = encode_batch(&src, &e, &b) || add_body(&shards[sh], &e, b.nentries);
    }
    encoder_deinit(&e);
    return rc ? -1 : 0;
}

/* One connection's requests: what cairn__handle_push does after the body arrived
 * (without the rate and stream limits, which a benchmark raises out of the way). */
static void *push_thread(void *arg)
{
    struct shard *sh = arg;
    struct cairn_ingest_batch b;
    cairn_ingest_batch_init(&b);
    for (size_t i = 0; i < sh->n && !sh->failed; i++) {
        struct cairn_err err;
        cairn_err_clear(&err);
        cairn_ingest_batch_reset(&b);
        if (cairn_ingest_unsnappy(sh->v[i].p, sh->v[i].len, sh->lim->max_push_decoded, &b.dec, NULL,
                            &err) ||
            cairn_ingest_decode_pb(&b, b.dec.data, b.dec.len, sh->lim, &err)) {
            fprintf(stderr, "bench_push_ingest: request %zu: %s\n", i, err.msg);
            sh->failed = 1;
            break;
        }
        size_t bytes = 0;
        size_t lines = cairn_ingest_validate(&b, sh->lim, cairn_now_ns(), &bytes);
        if (b.ps_cap < b.n) {
            struct cairn_push_stream *ps = realloc(b.ps, b.n * sizeof *ps);
            if (!ps) {
                sh->failed = 1;
                break;
            }
            b.ps = ps;
            b.ps_cap = b.n;
        }
        size_t k = 0;
        for (size_t j = 0; j < b.n; j++) {
            if (!b.s[j].n)
                continue;
            struct cairn_push_stream *p = &b.ps[k++];
            p->labels = &b.labels[j];
            p->entries = b.e + b.s[j].first;
            p->n = b.s[j].n;
            p->fp = b.s[j].fp;
            p->fp_set = 1;
        }
        int rc = k ? cairn_store_append(sh->s, "bench", b.ps, k) : 0;
        if (rc || b.status) {
            fprintf(stderr, "bench_push_ingest: request %zu refused: %s %.200s\n", i,
                    cairn_strerror(rc), b.msg.data ? b.msg.data : "");
            sh->failed = 1;
        }
        sh->lines += lines;
        sh->bytes += bytes;
    }
    cairn_ingest_batch_deinit(&b);
    return NULL;
}

struct phase {
    double cpu_append, cpu_close, sys, wall_append;
    struct cairn_store_stats st; /* after the flush */
};

/* The measured part: every request into the store, then its close (the flush).
 * Not inlined, so callgrind's --dump-before/--dump-after can find it. */
__attribute__((noinline)) static int ingest_phase(struct shard *shards, unsigned n,
                                                  struct cairn_store *s, struct phase *ph)
{
    double c0 = cpu_s(), s0 = sys_s(), w0 = wall_s();
    pthread_t *tid = calloc(n, sizeof *tid);
    if (!tid)
        return -1;
    unsigned started = 0;
    for (; started < n; started++)
        if (pthread_create(&tid[started], NULL, push_thread, &shards[started]))
            break;
    for (unsigned i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    free(tid);
    double c1 = cpu_s();
    ph->wall_append = wall_s() - w0;
    cairn_store_flush(s);
    cairn_store_stats(s, &ph->st);
    cairn_store_close(s);
    ph->cpu_append = c1 - c0;
    ph->cpu_close = cpu_s() - c1;
    ph->sys = sys_s() - s0;
    return started == n ? 0 : -1;
}

static uint64_t du(const char *path)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "du -sb '%s'", path);
    FILE *f = popen(cmd, "r");
    unsigned long long v = 0;
    if (f) {
        if (fscanf(f, "%llu", &v) != 1)
            v = 0;
        pclose(f);
    }
    return v;
}

int main(int argc, char **argv)
{
    struct opts o = {.threads = 1, .batch_bytes = 1 << 20, .level = -1, .codec = -1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--keep")) {
            o.keep = 1;
            continue;
        }
        if (a[0] != '-') {
            o.corpus = a;
            continue;
        }
        if (!v)
            return usage();
        i++;
        if (!strcmp(a, "--threads"))
            o.threads = (unsigned)atoi(v);
        else if (!strcmp(a, "--batch-bytes"))
            o.batch_bytes = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--mb"))
            o.limit_bytes = strtoull(v, NULL, 10) * 1000000ull;
        else if (!strcmp(a, "--level"))
            o.level = atoi(v);
        else if (!strcmp(a, "--codec"))
            o.codec = !strcmp(v, "lz4") ? CAIRN_CODEC_LZ4 : CAIRN_CODEC_ZSTD;
        else if (!strcmp(a, "--block-kb"))
            o.block_kb = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--wal-mb"))
            o.wal_mb = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--budget-mb"))
            o.budget_mb = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--dir"))
            o.dir = v;
        else
            return usage();
    }
    if (!o.corpus || o.threads < 1 || o.threads > 64 || !o.batch_bytes)
        return usage();
    char err[512];
    struct corpus_map m;
    if (corpus_map_file(&m, o.corpus, err, sizeof err)) {
        fprintf(stderr, "bench_push_ingest: %s\n", err);
        return 2;
    }
    char **labels = calloc(m.h.nstreams + 1, sizeof *labels);
    struct shard *shards = calloc(o.threads, sizeof *shards);
    if (!labels || !shards)
        return 1;
    for (uint32_t i = 0; i < m.h.nstreams; i++)
        if (!(labels[i] = strndup(m.streams[i].labels, m.streams[i].len)))
            return 1;
    if (encode_all(&o, &m, labels, shards)) {
        fprintf(stderr, "bench_push_ingest: encoding failed (out of memory?)\n");
        return 1;
    }
    char tmpl[] = "/tmp/bench_push_ingest.XXXXXX";
    const char *dir = o.dir;
    if (!dir && !(dir = mkdtemp(tmpl))) {
        perror("mkdtemp");
        return 1;
    }
    struct cairn_ingest_limits ilim; /* what cairn serve checks, unconfigured */
    cairn_ingest_limits_default(&ilim);
    struct cairn_store_config cfg;
    cairn_store_config_default(&cfg);
    cfg.data_dir = dir;
    if (o.level >= 0)
        cfg.zstd_level = o.level;
    if (o.codec >= 0)
        cfg.codec = (enum cairn_codec)o.codec;
    if (o.block_kb)
        cfg.block_target_raw = o.block_kb * 1024;
    if (o.budget_mb)
        cfg.head_budget = o.budget_mb << 20;
    if (o.wal_mb)
        cfg.wal_file_max = o.wal_mb << 20;
    struct cairn_err e;
    struct cairn_store *s = cairn_store_open(&cfg, &e);
    if (!s) {
        fprintf(stderr, "bench_push_ingest: %s\n", e.msg);
        return 1;
    }
    for (unsigned i = 0; i < o.threads; i++) {
        shards[i].s = s;
        shards[i].lim = &ilim;
    }
    struct phase ph = {0};
    int rc = ingest_phase(shards, o.threads, s, &ph);
    uint64_t lines = 0, bytes = 0;
    for (unsigned i = 0; i < o.threads; i++) {
        lines += shards[i].lines;
        bytes += shards[i].bytes;
        rc |= shards[i].failed;
        for (size_t k = 0; k < shards[i].n; k++)
            free(shards[i].v[k].p);
        free(shards[i].v);
    }
    uint64_t disk = du(dir);
    double cpu = ph.cpu_append + ph.cpu_close;
    printf("BENCH_PUSH_INGEST lines=%llu bytes=%llu threads=%u cpu_append_s=%.3f cpu_close_s=%.3f "
           "sys_s=%.3f wall_append_s=%.3f lines_per_cpu_s=%.0f ns_cpu_per_line=%.1f disk_ratio=%.4f "
           "blocks=%llu chunks=%llu\n",
           (unsigned long long)lines, (unsigned long long)bytes, o.threads, ph.cpu_append,
           ph.cpu_close, ph.sys, ph.wall_append, cpu > 0 ? lines / cpu : 0,
           lines ? cpu * 1e9 / lines : 0, bytes ? (double)disk / bytes : 0,
           (unsigned long long)ph.st.blocks_cut, (unsigned long long)ph.st.chunks_flushed);
    if (!o.keep && !o.dir) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_push_ingest: could not remove %s\n", dir);
    }
    for (uint32_t i = 0; i < m.h.nstreams; i++)
        free(labels[i]);
    free(labels);
    free(shards);
    corpus_unmap(&m);
    return rc ? 1 : 0;
}
