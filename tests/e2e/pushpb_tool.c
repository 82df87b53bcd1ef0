/* pushpb_tool.c -- e2e helper: push to a Loki-compatible endpoint the way Promtail
 * does (protobuf PushRequest, snappy block format, application/x-protobuf), and a
 * small throughput driver.
 *
 *   pushpb_tool push URL TENANT LABELS COUNT START_NS PREFIX
 *       one request: COUNT entries in stream LABELS, timestamps START_NS+i, lines
 *       PREFIX<i>; prints the HTTP status on stdout and the reply body on stderr.
 *   pushpb_tool encode LABELS COUNT START_NS PREFIX
 *       the same body, written to stdout (for tests that wrap it, e.g. in gzip).
 *   pushpb_tool bench URL FORMAT THREADS SECONDS LINES_PER_REQ STREAMS
 *       FORMAT json or pb; each thread builds its bodies once, then pushes them in a
 *       loop over keep-alive connections for SECONDS; prints lines/s and MB/s. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <snappy-c.h>

#include "cairn/buf.h"
#include "cairn/timeutil.h"
#include "push.pb-c.h"

static size_t sink(char *p, size_t sz, size_t n, void *ud)
{
    struct cairn_buf *b = ud;
    if (b)
        cairn_buf_append(b, p, sz * n);
    return sz * n;
}

/* One stream's worth of entries, protobuf+snappy; caller frees. */
static char *encode_pb(const char *labels, size_t count, int64_t start, const char *prefix,
                       size_t line_pad, size_t *out_len)
{
    Logproto__PushRequest req = LOGPROTO__PUSH_REQUEST__INIT;
    Logproto__StreamAdapter sa = LOGPROTO__STREAM_ADAPTER__INIT;
    Logproto__StreamAdapter *sp = &sa;
    Logproto__EntryAdapter *ents = calloc(count ? count : 1, sizeof *ents);
    Logproto__EntryAdapter **ep = calloc(count ? count : 1, sizeof *ep);
    Logproto__Timestamp *ts = calloc(count ? count : 1, sizeof *ts);
    struct cairn_buf text = CAIRN_BUF_INIT;
    size_t *off = calloc(count ? count : 1, sizeof *off);
    if (!ents || !ep || !ts || !off)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        off[i] = text.len;
        cairn_buf_appendf(&text, "%s%zu", prefix, i);
        for (size_t k = 0; k < line_pad; k++)
            cairn_buf_append_byte(&text, 'x');
    }
    for (size_t i = 0; i < count; i++) {
        logproto__entry_adapter__init(&ents[i]);
        logproto__timestamp__init(&ts[i]);
        int64_t t = start + (int64_t)i;
        ts[i].seconds = t / 1000000000LL;
        ts[i].nanos = (int32_t)(t % 1000000000LL);
        ents[i].timestamp = &ts[i];
        ents[i].line.data = (uint8_t *)text.data + off[i];
        ents[i].line.len = (i + 1 < count ? off[i + 1] : text.len) - off[i];
        ep[i] = &ents[i];
    }
    sa.labels = (char *)labels;
    sa.n_entries = count;
    sa.entries = ep;
    req.n_streams = 1;
    req.streams = &sp;
    size_t pl = logproto__push_request__get_packed_size(&req);
    uint8_t *pb = malloc(pl ? pl : 1);
    size_t cl = snappy_max_compressed_length(pl);
    char *c = malloc(cl);
    if (!pb || !c)
        return NULL;
    logproto__push_request__pack(&req, pb);
    if (snappy_compress((char *)pb, pl, c, &cl) != SNAPPY_OK)
        return NULL;
    free(pb);
    free(ents);
    free(ep);
    free(ts);
    free(off);
    cairn_buf_deinit(&text);
    *out_len = cl;
    return c;
}

static long post(CURL *h, const char *url, const char *tenant, const char *ctype,
                 const char *body, size_t len, struct cairn_buf *reply)
{
    struct curl_slist *hd = NULL;
    char th[256], ct[128];
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
    hd = curl_slist_append(hd, ct);
    if (tenant && *tenant) {
        snprintf(th, sizeof th, "X-Scope-OrgID: %s", tenant);
        hd = curl_slist_append(hd, th);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, reply);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    long code = 0;
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    else if (reply)
        cairn_buf_appendf(reply, "curl: %s", curl_easy_strerror(rc));
    curl_slist_free_all(hd);
    return code;
}

static int cmd_push(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: pushpb_tool push URL TENANT LABELS COUNT START_NS PREFIX\n");
        return 2;
    }
    size_t len;
    char *body = encode_pb(argv[4], strtoull(argv[5], NULL, 10), strtoll(argv[6], NULL, 10),
                           argv[7], 0, &len);
    if (!body)
        return 1;
    CURL *h = curl_easy_init();
    struct cairn_buf reply = CAIRN_BUF_INIT;
    long code = post(h, argv[2], argv[3], "application/x-protobuf", body, len, &reply);
    printf("%ld\n", code);
    fprintf(stderr, "%s", cairn_buf_cstr(&reply));
    cairn_buf_deinit(&reply);
    curl_easy_cleanup(h);
    free(body);
    return code ? 0 : 1;
}

static int cmd_encode(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: pushpb_tool encode LABELS COUNT START_NS PREFIX\n");
        return 2;
    }
    size_t len;
    char *body = encode_pb(argv[2], strtoull(argv[3], NULL, 10), strtoll(argv[4], NULL, 10),
                           argv[5], 0, &len);
    if (!body)
        return 1;
    int ok = fwrite(body, 1, len, stdout) == len;
    free(body);
    return ok ? 0 : 1;
}

struct bench {
    const char *url;
    int pb;
    int thread;
    double seconds;
    size_t lines, streams;
    unsigned long long sent_lines, sent_bytes, requests, failures;
};

/* Every request carries fresh timestamps (the store drops exact duplicates of what it
 * already holds, which would flatter the numbers): JSON bodies are built once with
 * fixed-width timestamps whose digits are rewritten in place before each request;
 * protobuf bodies are re-encoded. */
static void *bench_thread(void *arg)
{
    struct bench *b = arg;
    int64_t base = cairn_now_ns() - 300LL * 1000000000LL;
    size_t per = b->lines / b->streams;
    size_t nts = per * b->streams;
    size_t *ts_off = calloc(nts ? nts : 1, sizeof *ts_off);
    struct cairn_buf body = CAIRN_BUF_INIT;
    if (!ts_off)
        return NULL;
    if (!b->pb) {
        size_t k = 0;
        cairn_buf_append_str(&body, "{\"streams\":[");
        for (size_t s = 0; s < b->streams; s++) {
            cairn_buf_appendf(&body, "%s{\"stream\":{\"bench\":\"json\",\"thread\":\"%d\","
                                     "\"stream\":\"%zu\"},\"values\":[",
                              s ? "," : "", b->thread, s);
            for (size_t i = 0; i < per; i++) {
                cairn_buf_append_str(&body, i ? ",[\"" : "[\"");
                ts_off[k++] = body.len;
                cairn_buf_appendf(&body, "%019lld\",\"level=info msg=\\\"request served\\\" "
                                         "path=/api/v1/items status=200 duration_ms=12 seq=%zu\"]",
                                  (long long)base, i);
            }
            cairn_buf_append_str(&body, "]}");
        }
        cairn_buf_append_str(&body, "]}");
    }
    CURL *h = curl_easy_init();
    int64_t end = cairn_mono_ns() + (int64_t)(b->seconds * 1e9);
    size_t lines_per_body = b->pb ? b->lines : nts;
    char labels[128];
    snprintf(labels, sizeof labels, "{bench=\"pb\", thread=\"%d\"}", b->thread);
    for (unsigned long long r = 0; cairn_mono_ns() < end; r++) {
        int64_t t0 = base + (int64_t)(r * lines_per_body);
        char *pbody = NULL;
        size_t len;
        if (b->pb) {
            pbody = encode_pb(labels, b->lines, t0, "level=info msg=\"request served\" "
                              "path=/api/v1/items status=200 duration_ms=12 seq=", 0, &len);
            if (!pbody)
                break;
        } else {
            for (size_t k = 0; k < nts; k++) {
                char d[24];
                snprintf(d, sizeof d, "%019lld", (long long)(t0 + (int64_t)(k % per)));
                memcpy(body.data + ts_off[k], d, 19);
            }
            len = body.len;
        }
        long code = post(h, b->url, "bench", b->pb ? "application/x-protobuf" : "application/json",
                         b->pb ? pbody : body.data, len, NULL);
        free(pbody);
        b->requests++;
        if (code == 204) {
            b->sent_lines += lines_per_body;
            b->sent_bytes += len;
        } else {
            b->failures++;
        }
    }
    curl_easy_cleanup(h);
    cairn_buf_deinit(&body);
    free(ts_off);
    return NULL;
}

static int cmd_bench(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: pushpb_tool bench URL json|pb THREADS SECONDS LINES_PER_REQ "
                        "STREAMS\n");
        return 2;
    }
    int n = atoi(argv[4]);
    if (n < 1 || n > 64)
        return 2;
    struct bench b[64];
    pthread_t th[64];
    for (int i = 0; i < n; i++) {
        b[i] = (struct bench){.url = argv[2], .pb = strcmp(argv[3], "pb") == 0, .thread = i,
                              .seconds = atof(argv[5]), .lines = strtoull(argv[6], NULL, 10),
                              .streams = strtoull(argv[7], NULL, 10)};
        if (b[i].streams < 1)
            b[i].streams = 1;
    }
    int64_t t0 = cairn_mono_ns();
    for (int i = 0; i < n; i++)
        pthread_create(&th[i], NULL, bench_thread, &b[i]);
    unsigned long long lines = 0, bytes = 0, req = 0, fail = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
        lines += b[i].sent_lines;
        bytes += b[i].sent_bytes;
        req += b[i].requests;
        fail += b[i].failures;
    }
    double s = (double)(cairn_mono_ns() - t0) / 1e9;
    printf("requests=%llu failures=%llu lines=%llu seconds=%.2f lines_per_s=%.0f "
           "body_MB_per_s=%.1f\n", req, fail, lines, s, (double)lines / s,
           (double)bytes / s / 1048576.0);
    return fail ? 1 : 0;
}

int main(int argc, char **argv)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = 2;
    if (argc >= 2 && strcmp(argv[1], "push") == 0)
        rc = cmd_push(argc, argv);
    else if (argc >= 2 && strcmp(argv[1], "encode") == 0)
        rc = cmd_encode(argc, argv);
    else if (argc >= 2 && strcmp(argv[1], "bench") == 0)
        rc = cmd_bench(argc, argv);
    else
        fprintf(stderr, "usage: pushpb_tool push|encode|bench ...\n");
    curl_global_cleanup();
    return rc;
}
