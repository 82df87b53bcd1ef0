/* push.c -- bench_push: replays a bench_gen corpus into any Loki-compatible push API.
 *
 * It speaks only HTTP (libcurl) to --url, so the same run measures `cairn serve` or
 * Grafana Loki. The corpus is cut, in timestamp order, into batches of at most
 * --batch-bytes of raw line bytes (as Promtail's batchsize counts them), each encoded
 * as Loki's PushRequest in protobuf+snappy (or JSON). By default every batch is encoded
 * before the clock starts, so the timed part is only HTTP: the pusher measures the
 * server, not itself. --connections threads, one keep-alive connection each, take the
 * next batch in order until none are left.
 *
 * The last line of output is machine-readable (`BENCH_PUSH key=value ...`).
 * Exit status: 0 all pushes acknowledged, 1 some failed, 2 bad usage or input. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>

#include <curl/curl.h>

#include "cairn/buf.h"
#include "cairn/labels.h"
#include "corpus.h"
#include "push_encode.h"

#define MAX_STATUS 600
#define ERRBODY_MAX 512

enum format { FMT_PROTOBUF, FMT_JSON, FMT_JSON_GZIP };

struct opts {
    const char *url;
    const char *corpus;
    const char *tenant;
    unsigned connections;
    size_t batch_bytes;
    enum format format;
    int pre_encode;
    int dry_run;
    int rebase;
    long timeout_ms;
    unsigned max_errors;
    uint64_t limit_bytes;
};

struct batch {
    struct enc_batch eb; /* entry range in the corpus map and shard */
    uint64_t line_bytes;
    char *body;          /* pre-encoded body (owned), or NULL */
    size_t body_len;
    double latency_ms;   /* -1 until sent */
    int acked;           /* the server answered 2xx */
};

struct run {
    struct opts o;
    struct corpus_map m;
    char **labels;                   /* per stream, NUL-terminated */
    char **json_stream;              /* per stream: {"k":"v",...} for --format json */
    size_t *json_stream_len;
    struct batch *batches;           /* shard by shard, each in time order */
    size_t nbatches;
    size_t *shard_first, *shard_count; /* per shard: its batches in `batches` */
    struct enc_src src;              /* what the encoders read */
    atomic_size_t next;
    atomic_uint errors;
    atomic_int stop;
    pthread_mutex_t mu;              /* guards the fields below */
    uint64_t status_count[MAX_STATUS];
    char first_error[ERRBODY_MAX + 128];
    uint64_t wire_bytes;
    int encode_failed;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_push --url URL [options] CORPUS\n"
            "Pushes a bench_gen corpus to a Loki-compatible push API and reports throughput.\n\n"
            "  --url URL            server base URL (http://127.0.0.1:3100) or the full push\n"
            "                       URL; /loki/api/v1/push is added when there is no path\n"
            "  --corpus FILE        the corpus (or as the last argument)\n"
            "  --connections N      parallel connections, one thread each [4]\n"
            "  --batch-bytes N      raw line bytes per push request [1048576]\n"
            "  --format F           protobuf (snappy-compressed) | json | json-gzip\n"
            "                       [protobuf]\n"
            "  --tenant ID          X-Scope-OrgID header [bench]\n"
            "  --no-pre-encode      encode inside the timed loop (measures the pusher too)\n"
            "  --dry-run            encode every batch with N threads, send nothing, report\n"
            "                       the encoder's throughput\n"
            "  --rebase             shift timestamps so the newest is one minute ago\n"
            "  --timeout SECONDS    per request [60]\n"
            "  --max-errors N       stop after N failed requests [20]\n"
            "  --limit-bytes N      push only the first N raw line bytes\n"
            "  -h, --help           this text\n");
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!*s)
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end)
        return -1;
    *out = v;
    return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.tenant = "bench", .connections = 4, .batch_bytes = 1 << 20,
                       .format = FMT_PROTOBUF, .pre_encode = 1, .timeout_ms = 60000,
                       .max_errors = 20};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--no-pre-encode")) {
            o->pre_encode = 0;
            continue;
        } else if (!strcmp(a, "--dry-run")) {
            o->dry_run = 1;
            continue;
        } else if (!strcmp(a, "--rebase")) {
            o->rebase = 1;
            continue;
        } else if (a[0] != '-') {
            o->corpus = a;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "bench_push: %s needs a value (or is unknown)\n", a);
            return -1;
        }
        const char *v = argv[++i];
        uint64_t n = 0;
        int bad = 0;
        if (!strcmp(a, "--url")) {
            o->url = v;
        } else if (!strcmp(a, "--corpus")) {
            o->corpus = v;
        } else if (!strcmp(a, "--tenant")) {
            o->tenant = v;
        } else if (!strcmp(a, "--connections")) {
            bad = parse_u64(v, &n) || n == 0 || n > 256;
            o->connections = (unsigned)n;
        } else if (!strcmp(a, "--batch-bytes")) {
            bad = parse_u64(v, &n) || n == 0;
            o->batch_bytes = (size_t)n;
        } else if (!strcmp(a, "--format")) {
            if (!strcmp(v, "protobuf"))
                o->format = FMT_PROTOBUF;
            else if (!strcmp(v, "json"))
                o->format = FMT_JSON;
            else if (!strcmp(v, "json-gzip"))
                o->format = FMT_JSON_GZIP;
            else
                bad = 1;
        } else if (!strcmp(a, "--timeout")) {
            bad = parse_u64(v, &n) || n == 0;
            o->timeout_ms = (long)n * 1000;
        } else if (!strcmp(a, "--max-errors")) {
            bad = parse_u64(v, &n) || n == 0;
            o->max_errors = (unsigned)n;
        } else if (!strcmp(a, "--limit-bytes")) {
            bad = parse_u64(v, &o->limit_bytes);
        } else {
            fprintf(stderr, "bench_push: unknown option %s (try --help)\n", a);
            return -1;
        }
        if (bad) {
            fprintf(stderr, "bench_push: bad value for %s: '%s'\n", a, v);
            return -1;
        }
    }
    if (!o->corpus) {
        fprintf(stderr, "bench_push: no corpus file given (try --help)\n");
        return -1;
    }
    if (!o->url && !o->dry_run) {
        fprintf(stderr, "bench_push: --url is required (or --dry-run)\n");
        return -1;
    }
    return 0;
}

/* ---- preparing: labels, batch boundaries ---- */

static int prepare_streams(struct run *r)
{
    uint32_t n = r->m.h.nstreams;
    r->labels = calloc(n ? n : 1, sizeof *r->labels);
    r->json_stream = calloc(n ? n : 1, sizeof *r->json_stream);
    r->json_stream_len = calloc(n ? n : 1, sizeof *r->json_stream_len);
    if (!r->labels || !r->json_stream || !r->json_stream_len)
        return -1;
    struct cairn_labels ls;
    cairn_labels_init(&ls);
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        const struct corpus_stream *s = &r->m.streams[i];
        r->labels[i] = strndup(s->labels, s->len);
        if (!r->labels[i]) {
            rc = -1;
            break;
        }
        if (r->o.format == FMT_PROTOBUF)
            continue;
        struct cairn_err err;
        if (cairn_labels_parse(&ls, s->labels, s->len, &err) != 0) {
            fprintf(stderr, "bench_push: stream %u: bad labels %s: %s\n", i, r->labels[i],
                    err.msg);
            rc = -1;
            break;
        }
        struct cairn_buf b = CAIRN_BUF_INIT;
        int e = cairn_buf_append_byte(&b, '{');
        for (size_t k = 0; k < ls.n && e == 0; k++) {
            if (k)
                e |= cairn_buf_append_byte(&b, ',');
            e |= cairn_buf_append_json_str(&b, ls.v[k].name, ls.v[k].name_len);
            e |= cairn_buf_append_byte(&b, ':');
            e |= cairn_buf_append_json_str(&b, ls.v[k].value, ls.v[k].value_len);
        }
        e |= cairn_buf_append_byte(&b, '}');
        if (e) {
            cairn_buf_deinit(&b);
            rc = -1;
            break;
        }
        r->json_stream[i] = cairn_buf_detach(&b, &r->json_stream_len[i]);
    }
    cairn_labels_deinit(&ls);
    return rc;
}

static int add_batch(struct run *r, size_t *cap, const struct batch *b)
{
    if (r->nbatches == *cap) {
        struct batch *nb = realloc(r->batches, 2 * *cap * sizeof *nb);
        if (!nb)
            return -1;
        r->batches = nb;
        *cap *= 2;
    }
    r->batches[r->nbatches++] = *b;
    return 0;
}

/* Cut each shard's entries (streams with index % connections == shard), in time order,
 * into batches of at most --batch-bytes of lines. One connection pushes one shard, so
 * every stream's entries reach the server in order, however few batches there are
 * (parallel connections carrying one stream would race past the server's
 * out-of-order window). */
static int cut_batches(struct run *r)
{
    uint32_t n = r->o.connections;
    size_t cap = 64, limit_end = r->m.entries_off, off = r->m.entries_off;
    struct corpus_entry e;
    uint64_t total = 0;
    int rc;
    while ((rc = corpus_next(&r->m, &off, &e)) == 1) {
        if (r->o.limit_bytes && total >= r->o.limit_bytes)
            break;
        total += e.len;
        limit_end = off;
    }
    if (rc < 0) {
        fprintf(stderr, "bench_push: %s: corpus truncated or corrupt\n", r->o.corpus);
        return -1;
    }
    r->batches = calloc(cap, sizeof *r->batches);
    r->shard_first = calloc(n, sizeof *r->shard_first);
    r->shard_count = calloc(n, sizeof *r->shard_count);
    if (!r->batches || !r->shard_first || !r->shard_count)
        return -1;
    for (uint32_t shard = 0; shard < n; shard++) {
        r->shard_first[shard] = r->nbatches;
        struct batch cur = {.eb = {.shard = shard}, .latency_ms = -1};
        for (off = r->m.entries_off; off < limit_end;) {
            size_t here = off;
            if (corpus_next(&r->m, &off, &e) != 1)
                break; /* checked above: cannot happen */
            if (e.stream % n != shard)
                continue;
            if (cur.eb.nentries && cur.line_bytes + e.len > r->o.batch_bytes) {
                if (add_batch(r, &cap, &cur) != 0)
                    return -1;
                cur = (struct batch){.eb = {.shard = shard}, .latency_ms = -1};
            }
            if (cur.eb.nentries == 0)
                cur.eb.off = here;
            cur.eb.end = off;
            cur.eb.nentries++;
            cur.line_bytes += e.len;
        }
        if (cur.eb.nentries && add_batch(r, &cap, &cur) != 0)
            return -1;
        r->shard_count[shard] = r->nbatches - r->shard_first[shard];
    }
    return 0;
}

/* ---- the workers ---- */

struct worker {
    struct run *r;
    uint32_t shard;   /* the streams this worker's connection pushes */
    struct encoder enc;
    int phase; /* PHASE_* */
    CURL *curl;
    struct curl_slist *headers;
    char errbody[ERRBODY_MAX + 1];
    size_t errbody_len;
};

enum { PHASE_ENCODE, PHASE_SEND };

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct worker *w = arg;
    size_t len = size * n, room = ERRBODY_MAX - w->errbody_len;
    size_t take = len < room ? len : room;
    memcpy(w->errbody + w->errbody_len, p, take);
    w->errbody_len += take;
    w->errbody[w->errbody_len] = '\0';
    return len;
}

static void note_failure(struct run *r, long status, const char *what)
{
    pthread_mutex_lock(&r->mu);
    r->status_count[status >= 0 && status < MAX_STATUS ? status : 0]++;
    if (!r->first_error[0])
        snprintf(r->first_error, sizeof r->first_error, "%s", what);
    pthread_mutex_unlock(&r->mu);
    if (atomic_fetch_add(&r->errors, 1) + 1 >= r->o.max_errors)
        atomic_store(&r->stop, 1);
}

static void send_one(struct worker *w, struct batch *b, const char *body, size_t len)
{
    struct run *r = w->r;
    w->errbody_len = 0;
    w->errbody[0] = '\0';
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(w->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    double t0 = mono_s();
    CURLcode cc = curl_easy_perform(w->curl);
    b->latency_ms = (mono_s() - t0) * 1e3;
    long status = 0;
    if (cc != CURLE_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "request failed: %s", curl_easy_strerror(cc));
        note_failure(r, 0, msg);
        return;
    }
    curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        char msg[ERRBODY_MAX + 64];
        size_t n = w->errbody_len;
        while (n && (w->errbody[n - 1] == '\n' || w->errbody[n - 1] == '\r'))
            w->errbody[--n] = '\0';
        snprintf(msg, sizeof msg, "HTTP %ld: %s", status, w->errbody_len ? w->errbody : "(empty body)");
        note_failure(r, status, msg);
        return;
    }
    b->acked = 1;
    pthread_mutex_lock(&r->mu);
    r->status_count[status]++;
    pthread_mutex_unlock(&r->mu);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->r;
    size_t mine = 0;
    for (;;) {
        if (atomic_load(&r->stop))
            break;
        size_t i;
        if (w->phase == PHASE_SEND) { /* this connection's shard, in order */
            if (mine == r->shard_count[w->shard])
                break;
            i = r->shard_first[w->shard] + mine++;
        } else {                      /* encoding: any batch, any thread */
            i = atomic_fetch_add(&r->next, 1);
            if (i >= r->nbatches)
                break;
        }
        struct batch *b = &r->batches[i];
        if (w->phase == PHASE_SEND && b->body) {
            send_one(w, b, b->body, b->body_len);
            continue;
        }
        if (encode_batch(&r->src, &w->enc, &b->eb) != 0) {
            pthread_mutex_lock(&r->mu);
            r->encode_failed = 1;
            pthread_mutex_unlock(&r->mu);
            atomic_store(&r->stop, 1);
            break;
        }
        pthread_mutex_lock(&r->mu);
        r->wire_bytes += w->enc.out.len;
        pthread_mutex_unlock(&r->mu);
        if (w->phase == PHASE_SEND) {
            send_one(w, b, w->enc.out.data, w->enc.out.len);
        } else if (r->o.pre_encode && !r->o.dry_run) {
            b->body = cairn_buf_detach(&w->enc.out, &b->body_len);
        }
    }
    return NULL;
}

static char *push_url(const char *url)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    int has_path = strchr(p, '/') != NULL && strchr(p, '/')[1] != '\0';
    size_t n = strlen(url);
    char *out = malloc(n + 32);
    if (!out)
        return NULL;
    if (has_path)
        snprintf(out, n + 32, "%s", url);
    else
        snprintf(out, n + 32, "%.*s/loki/api/v1/push", (int)(n && url[n - 1] == '/' ? n - 1 : n),
                 url);
    return out;
}

static int worker_setup_curl(struct worker *w, const char *url)
{
    struct run *r = w->r;
    char hdr[300];
    w->curl = curl_easy_init();
    if (!w->curl)
        return -1;
    const char *hdrs[4] = {r->o.format == FMT_PROTOBUF ? "Content-Type: application/x-protobuf"
                                                       : "Content-Type: application/json",
                           hdr, "Expect:", /* no 100-continue round trip */
                           r->o.format == FMT_JSON_GZIP ? "Content-Encoding: gzip" : NULL};
    snprintf(hdr, sizeof hdr, "X-Scope-OrgID: %s", r->o.tenant);
    for (int i = 0; i < 4 && hdrs[i]; i++) {
        struct curl_slist *l = curl_slist_append(w->headers, hdrs[i]);
        if (!l)
            return -1; /* w->headers, still whole, is freed by the caller */
        w->headers = l;
    }
    curl_easy_setopt(w->curl, CURLOPT_URL, url);
    curl_easy_setopt(w->curl, CURLOPT_POST, 1L);
    curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, w->headers);
    curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(w->curl, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(w->curl, CURLOPT_TIMEOUT_MS, r->o.timeout_ms);
    curl_easy_setopt(w->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(w->curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(w->curl, CURLOPT_USERAGENT, "cairn-bench-push/" CAIRN_VERSION);
    return 0;
}

/* Run one phase over all batches with the configured threads; returns seconds. */
static double run_phase(struct run *r, struct worker *ws, int phase)
{
    atomic_store(&r->next, 0);
    pthread_t *tids = calloc(r->o.connections, sizeof *tids);
    if (!tids)
        return -1;
    unsigned started = 0;
    double t0 = mono_s();
    for (unsigned i = 0; i < r->o.connections; i++) {
        ws[i].phase = phase;
        if (pthread_create(&tids[i], NULL, worker_main, &ws[i]) != 0)
            break;
        started++;
    }
    for (unsigned i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    double el = mono_s() - t0;
    free(tids);
    return started ? el : -1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(struct run *r, double encode_s, double push_s)
{
    uint64_t lines = 0, bytes = 0, sent_lines = 0, sent_bytes = 0, ok_lines = 0, ok_bytes = 0;
    size_t nlat = 0;
    double *lat = calloc(r->nbatches ? r->nbatches : 1, sizeof *lat);
    for (size_t i = 0; i < r->nbatches; i++) {
        const struct batch *b = &r->batches[i];
        lines += b->eb.nentries;
        bytes += b->line_bytes;
        if (b->latency_ms >= 0) {
            sent_lines += b->eb.nentries;
            sent_bytes += b->line_bytes;
            if (lat)
                lat[nlat++] = b->latency_ms;
        }
        if (b->acked) {
            ok_lines += b->eb.nentries;
            ok_bytes += b->line_bytes;
        }
    }
    unsigned errors = atomic_load(&r->errors);
    uint64_t ok = 0;
    for (int s = 200; s < 300; s++)
        ok += r->status_count[s];
    printf("bench_push: corpus %s: %llu lines, %.1f MB of lines in %u streams; "
           "%zu batches of <= %zu bytes, %s, %.1f MB on the wire\n",
           r->o.corpus, (unsigned long long)lines, (double)bytes / 1e6, r->m.h.nstreams,
           r->nbatches, r->o.batch_bytes,
           r->o.format == FMT_JSON ? "JSON" : r->o.format == FMT_JSON_GZIP ? "gzipped JSON"
                                                                             : "protobuf+snappy", (double)r->wire_bytes / 1e6);
    if (encode_s >= 0)
        printf("bench_push: encode: %.3f s with %u threads = %.0f lines/s, %.1f MB/s of lines%s\n",
               encode_s, r->o.connections, (double)lines / encode_s,
               (double)bytes / 1e6 / encode_s,
               r->o.dry_run ? " (dry run: nothing sent)" : " (before the clock)");
    double lines_s = 0, mb_s = 0, p50 = 0, p99 = 0, pmax = 0;
    if (push_s > 0) {
        /* throughput counts acknowledged batches only */
        lines_s = (double)ok_lines / push_s;
        mb_s = (double)ok_bytes / 1e6 / push_s;
        if (nlat && lat) {
            qsort(lat, nlat, sizeof *lat, cmp_double);
            p50 = lat[(nlat + 1) / 2 - 1]; /* nearest rank */
            p99 = lat[(size_t)ceil((double)nlat * 0.99) - 1];
            pmax = lat[nlat - 1];
        }
        printf("bench_push: push: %llu lines, %.1f MB of lines sent in %.3f s over %u "
               "connections: %.0f lines/s, %.1f MB/s acknowledged; %zu requests, %llu ok, "
               "%u errors; latency ms "
               "p50 %.1f p99 %.1f max %.1f\n",
               (unsigned long long)sent_lines, (double)sent_bytes / 1e6, push_s,
               r->o.connections, lines_s, mb_s, nlat, (unsigned long long)ok, errors, p50, p99,
               pmax);
        if (errors) {
            printf("bench_push: responses:");
            for (int s = 0; s < MAX_STATUS; s++)
                if (r->status_count[s])
                    printf(s ? " HTTP %d x%llu" : " no-response%.0d x%llu", s,
                           (unsigned long long)r->status_count[s]);
            printf("\nbench_push: first error: %s\n", r->first_error);
            if (atomic_load(&r->stop) && nlat < r->nbatches)
                printf("bench_push: stopped after %u errors (--max-errors)\n", errors);
        }
    }
    /* lines/bytes: acknowledged by the server (encoded, for a dry run) */
    printf("BENCH_PUSH lines=%llu bytes=%llu wire_bytes=%llu batches=%zu requests=%zu ok=%llu "
           "errors=%u encode_s=%.3f elapsed_s=%.3f lines_per_s=%.0f mb_per_s=%.1f "
           "p50_ms=%.1f p99_ms=%.1f\n",
           (unsigned long long)(r->o.dry_run ? lines : ok_lines),
           (unsigned long long)(r->o.dry_run ? bytes : ok_bytes),
           (unsigned long long)r->wire_bytes, r->nbatches, nlat, (unsigned long long)ok, errors,
           encode_s, push_s, lines_s, mb_s, p50, p99);
    free(lat);
}

int main(int argc, char **argv)
{
    struct run *r = calloc(1, sizeof *r);
    if (!r || parse_opts(argc, argv, &r->o) != 0) {
        free(r);
        return 2;
    }
    char err[512];
    if (corpus_map_file(&r->m, r->o.corpus, err, sizeof err) != 0) {
        fprintf(stderr, "bench_push: %s\n", err);
        free(r);
        return 2;
    }
    int rc = 2;
    char *url = NULL;
    struct worker *ws = calloc(r->o.connections, sizeof *ws);
    pthread_mutex_init(&r->mu, NULL);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!ws || prepare_streams(r) != 0 || cut_batches(r) != 0) {
        fprintf(stderr, "bench_push: cannot prepare the corpus (out of memory?)\n");
        goto done;
    }
    if (r->o.rebase && r->m.h.nentries) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t now = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
        r->src.shift_ns = now - 60000000000LL - r->m.h.max_ts;
    }
    r->src.m = &r->m;
    r->src.labels = r->labels;
    r->src.json_stream = r->json_stream;
    r->src.json_stream_len = r->json_stream_len;
    r->src.nshards = r->o.connections;
    r->src.json = r->o.format != FMT_PROTOBUF;
    r->src.gzip = r->o.format == FMT_JSON_GZIP;
    if (!r->o.dry_run && !(url = push_url(r->o.url))) {
        fprintf(stderr, "bench_push: out of memory\n");
        goto done;
    }
    for (unsigned i = 0; i < r->o.connections; i++) {
        ws[i].r = r;
        ws[i].shard = i;
        if (encoder_init(&ws[i].enc, r->m.h.nstreams) != 0 ||
            (url && worker_setup_curl(&ws[i], url) != 0)) {
            fprintf(stderr, "bench_push: cannot set up worker %u\n", i);
            goto done;
        }
    }
    double encode_s = -1, push_s = -1;
    if (r->o.pre_encode || r->o.dry_run) {
        encode_s = run_phase(r, ws, PHASE_ENCODE);
        if (r->encode_failed || encode_s < 0) {
            fprintf(stderr, "bench_push: encoding failed (out of memory?)\n");
            goto done;
        }
    }
    if (!r->o.dry_run) {
        push_s = run_phase(r, ws, PHASE_SEND);
        if (r->encode_failed || push_s < 0) {
            fprintf(stderr, "bench_push: encoding failed (out of memory?)\n");
            goto done;
        }
    }
    report(r, encode_s, push_s);
    rc = atomic_load(&r->errors) ? 1 : 0;
done:
    for (unsigned i = 0; ws && i < r->o.connections; i++) {
        encoder_deinit(&ws[i].enc);
        if (ws[i].curl)
            curl_easy_cleanup(ws[i].curl);
        curl_slist_free_all(ws[i].headers);
    }
    free(ws);
    free(url);
    for (size_t i = 0; i < r->nbatches; i++)
        free(r->batches[i].body);
    free(r->batches);
    free(r->shard_first);
    free(r->shard_count);
    for (uint32_t i = 0; r->labels && i < r->m.h.nstreams; i++)
        free(r->labels[i]);
    for (uint32_t i = 0; r->json_stream && i < r->m.h.nstreams; i++)
        free(r->json_stream[i]);
    free(r->labels);
    free(r->json_stream);
    free(r->json_stream_len);
    corpus_unmap(&r->m);
    curl_global_cleanup();
    pthread_mutex_destroy(&r->mu);
    free(r);
    return rc;
}
