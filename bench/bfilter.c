/* bfilter.c -- bench_bfilter: the per-block n-gram filters (src/store/bfilter.c) on a
 * real corpus: build cost per raw byte, size per raw byte, and the false-positive rate
 * of absent 16-hex-digit ids, over blocks made as the store makes them (each stream's
 * lines in arrival order, cut at 256 KiB of raw bytes).
 *
 *   bench_gen --bytes 200M --emit text | bench_bfilter [--block BYTES] [--probes N]
 *
 * Input: `labels<TAB>ts<TAB>line` per line (bench_gen --emit text). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cairn/hash.h"
#include "store/bfilter.h"

struct blk {
    char *p;
    size_t len, cap;
    uint32_t *lens;
    size_t n, ncap;
};

struct stream {
    uint64_t key;
    struct blk cur;
};

static struct blk *done;
static size_t ndone, capdone;

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fprintf(stderr, "bench_bfilter: out of memory\n");
        exit(2);
    }
    return q;
}

static void blk_push(struct blk *b, const char *line, size_t len)
{
    if (b->len + len > b->cap) {
        b->cap = (b->len + len) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, line, len);
    b->len += len;
    if (b->n == b->ncap) {
        b->ncap = b->ncap ? b->ncap * 2 : 64;
        b->lens = xrealloc(b->lens, b->ncap * sizeof *b->lens);
    }
    b->lens[b->n++] = (uint32_t)len;
}

static void blk_done(struct blk *b)
{
    if (!b->n)
        return;
    if (ndone == capdone) {
        capdone = capdone ? capdone * 2 : 1024;
        done = xrealloc(done, capdone * sizeof *done);
    }
    done[ndone++] = *b;
    memset(b, 0, sizeof *b);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    size_t block = 256 * 1024, probes = 2000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--block"))
            block = strtoull(argv[i + 1], NULL, 10);
        else if (!strcmp(argv[i], "--probes"))
            probes = strtoull(argv[i + 1], NULL, 10);
    }
    size_t nst = 4096;
    struct stream *st = calloc(nst, sizeof *st); /* open addressing by label hash */
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    while ((got = getline(&line, &cap, stdin)) > 0) {
        char *t1 = memchr(line, '\t', (size_t)got);
        char *t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(got - (t1 + 1 - line))) : NULL;
        if (!t2)
            continue;
        size_t len = (size_t)(line + got - (t2 + 1));
        if (len && t2[len] == '\n')
            len--;
        uint64_t k = cairn_hash64(line, (size_t)(t1 - line)) | 1;
        size_t h = k % nst;
        while (st[h].key && st[h].key != k)
            h = (h + 1) % nst;
        st[h].key = k;
        blk_push(&st[h].cur, t2 + 1, len);
        if (st[h].cur.len >= block)
            blk_done(&st[h].cur);
    }
    for (size_t i = 0; i < nst; i++)
        blk_done(&st[i].cur);
    uint64_t raw = 0, fbytes = 0, maybes = 0, n_probes = 0, maybes8 = 0;
    struct cairn__bf_builder b = {0};
    double build = 0;
    unsigned char *bytes = NULL;
    uint64_t seed = 12345;
    for (size_t i = 0; i < ndone; i++) {
        struct blk *x = &done[i];
        double t0 = now_s();
        if (cairn__bf_begin(&b, x->len))
            return 2;
        const char *q = x->p;
        for (size_t k = 0; k < x->n; k++) {
            cairn__bf_add_line(&b, q, x->lens[k]);
            q += x->lens[k];
        }
        build += now_s() - t0;
        raw += x->len;
        fbytes += b.nwords * 8;
        bytes = xrealloc(bytes, b.nwords * 8);
        for (size_t w = 0; w < b.nwords; w++)
            for (int k = 0; k < 8; k++)
                bytes[w * 8 + k] = (unsigned char)(b.bits[w] >> (8 * k));
        struct cairn__bf_view v = {bytes, (uint32_t)b.nwords};
        for (size_t p = 0; p < probes; p++) {
            char id[17];
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            snprintf(id, sizeof id, "%016llx", (unsigned long long)(seed ^ (seed >> 29)));
            n_probes++;
            maybes += (uint64_t)cairn__bf_may_contain(&v, id, 16);
            maybes8 += (uint64_t)cairn__bf_may_contain(&v, id, 8);
        }
    }
    printf("BENCH_BFILTER blocks=%zu raw_mb=%.1f size_per_raw=%.4f build_ns_per_byte=%.3f "
           "build_mb_s=%.0f fpr_hex16=%.4f fpr_hex8=%.4f probes=%llu\n",
           ndone, (double)raw / 1e6, (double)fbytes / (double)raw, build * 1e9 / (double)raw,
           (double)raw / 1e6 / build, (double)maybes / (double)n_probes,
           (double)maybes8 / (double)n_probes, (unsigned long long)n_probes);
    cairn__bf_deinit(&b);
    return 0;
}
