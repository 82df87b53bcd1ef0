/* query.c -- bench_query: time one Loki API read (query_range, query, labels...) over HTTP.
 *
 * Like bench_push it speaks only HTTP, so it measures `cairn serve` or Loki alike. It
 * sends the same GET --warmup times untimed, then --repeat times timed, checks each
 * answer (HTTP 200 and Loki's "status":"success"), and reports latency (min, p50,
 * max) and the shape of the answer (resultType, results, values), so a benchmark can
 * see that a query did its work. Parameters are KEY=VALUE arguments, URL-encoded here.
 * The last output line is `BENCH_QUERY key=value ...`. Exit status: 0 every answer
 * good, 1 a bad answer (its status and body are printed), 2 bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cairn/buf.h"

struct opts {
    const char *url;
    const char *path;
    const char *tenant;
    unsigned repeat, warmup;
    long timeout_ms;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_query --url URL [options] KEY=VALUE...\n"
               "Times a GET of a Loki read endpoint, e.g.\n"
               "  bench_query --url http://127.0.0.1:3100 'query={job=\"events\"} |= \"needle\"' \\\n"
               "      start=1700000000000000000 end=1700086400000000000 limit=1000\n\n"
               "  --url URL        server base URL\n"
               "  --path PATH      endpoint [/loki/api/v1/query_range]\n"
               "  --tenant ID      X-Scope-OrgID [bench]\n"
               "  --repeat N       timed requests [5]\n"
               "  --warmup N       untimed requests first [1]\n"
               "  --timeout S      per request, seconds [300]\n"
               "  -h, --help       this text\n");
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct cairn_buf *b = arg;
    return cairn_buf_append(b, p, size * n) == 0 ? size * n : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static const char *str_or_empty(const char *s)
{
    return s ? s : "";
}

/* What the answer holds: Loki's status, resultType, results and values in them. */
struct shape {
    char status[32];
    char result_type[32];
    size_t results, values;
    long long server_bytes; /* data.stats.summary.totalBytesProcessed, or -1 */
};

static int read_shape(const char *body, size_t len, struct shape *sh)
{
    memset(sh, 0, sizeof *sh);
    sh->server_bytes = -1;
    json_error_t err;
    json_t *root = json_loadb(body, len, 0, &err);
    if (!json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    snprintf(sh->status, sizeof sh->status, "%s",
             str_or_empty(json_string_value(json_object_get(root, "status"))));
    json_t *data = json_object_get(root, "data");
    if (json_is_array(data)) { /* labels, label values, series */
        sh->results = json_array_size(data);
        snprintf(sh->result_type, sizeof sh->result_type, "list");
    } else if (json_is_object(data)) {
        snprintf(sh->result_type, sizeof sh->result_type, "%s",
                 str_or_empty(json_string_value(json_object_get(data, "resultType"))));
        json_t *res = json_object_get(data, "result");
        size_t i;
        json_t *r;
        if (json_is_array(res)) {
            sh->results = json_array_size(res);
            json_array_foreach(res, i, r) {
                json_t *v = json_object_get(r, "values");
                sh->values += json_is_array(v) ? json_array_size(v) : 1;
            }
        }
        json_t *tb = json_object_get(json_object_get(json_object_get(data, "stats"), "summary"),
                                     "totalBytesProcessed");
        if (json_is_integer(tb))
            sh->server_bytes = json_integer_value(tb);
    }
    json_decref(root);
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = {.path = "/loki/api/v1/query_range", .tenant = "bench", .repeat = 5,
                     .warmup = 1, .timeout_ms = 300000};
    int nparams = 0;
    char **params = calloc((size_t)argc, sizeof *params);
    if (!params)
        return 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            free(params);
            return 0;
        } else if (a[0] != '-' && strchr(a, '=')) {
            params[nparams++] = argv[i];
        } else if (v && !strcmp(a, "--url")) {
            o.url = argv[++i];
        } else if (v && !strcmp(a, "--path")) {
            o.path = argv[++i];
        } else if (v && !strcmp(a, "--tenant")) {
            o.tenant = argv[++i];
        } else if (v && !strcmp(a, "--repeat") && atoi(v) > 0) {
            o.repeat = (unsigned)atoi(argv[++i]);
        } else if (v && !strcmp(a, "--warmup") && atoi(v) >= 0) {
            o.warmup = (unsigned)atoi(argv[++i]);
        } else if (v && !strcmp(a, "--timeout") && atoi(v) > 0) {
            o.timeout_ms = 1000L * atoi(argv[++i]);
        } else {
            fprintf(stderr, "bench_query: bad or unknown argument %s (try --help)\n", a);
            free(params);
            return 2;
        }
    }
    if (!o.url) {
        fprintf(stderr, "bench_query: --url is required\n");
        free(params);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = 2;
    CURL *c = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    struct cairn_buf url = CAIRN_BUF_INIT, body = CAIRN_BUF_INIT, hdr = CAIRN_BUF_INIT;
    double *lat = calloc(o.repeat, sizeof *lat);
    size_t n = strlen(o.url);
    int e = !c || !lat;
    e |= cairn_buf_append(&url, o.url, n && o.url[n - 1] == '/' ? n - 1 : n);
    e |= cairn_buf_append_str(&url, o.path);
    for (int i = 0; i < nparams && !e; i++) {
        const char *eq = strchr(params[i], '=');
        char *k = c ? curl_easy_escape(c, params[i], (int)(eq - params[i])) : NULL;
        char *v = c ? curl_easy_escape(c, eq + 1, 0) : NULL;
        e |= !k || !v || cairn_buf_appendf(&url, "%c%s=%s", i ? '&' : '?', k, v);
        curl_free(k);
        curl_free(v);
    }
    e |= cairn_buf_appendf(&hdr, "X-Scope-OrgID: %s", o.tenant);
    if (!e && !(hdrs = curl_slist_append(NULL, hdr.data)))
        e = 1;
    if (e) {
        fprintf(stderr, "bench_query: out of memory\n");
        goto done;
    }
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, o.timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* whatever the server compresses */
    /* libcurl reads 16 KiB at a time by default: a 300 KB answer then costs this
     * client ~20 poll/recv/callback rounds, ~2 ms it would add to the server's time.
     * curl's own tool reads 100 KiB at a time; the maximum is 10 MiB. */
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 1024L * 1024L);

    rc = 1;
    struct shape sh = {0};
    long status = 0;
    for (unsigned i = 0; i < o.warmup + o.repeat; i++) {
        cairn_buf_reset(&body);
        double t0 = mono_s();
        CURLcode cc = curl_easy_perform(c);
        double ms = (mono_s() - t0) * 1e3;
        if (cc != CURLE_OK) {
            printf("bench_query: request failed: %s\n", curl_easy_strerror(cc));
            goto done;
        }
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200 || read_shape(body.data ? body.data : "", body.len, &sh) != 0 ||
            strcmp(sh.status, "success") != 0) {
            printf("bench_query: GET %s: HTTP %ld: %.300s\n", url.data, status,
                   body.len ? body.data : "(empty body)");
            printf("BENCH_QUERY status=%ld ok=0\n", status);
            goto done;
        }
        if (i >= o.warmup)
            lat[i - o.warmup] = ms;
    }
    qsort(lat, o.repeat, sizeof *lat, cmp_double);
    double p50 = lat[(o.repeat + 1) / 2 - 1];
    printf("bench_query: GET %s: HTTP 200, %zu bytes, resultType %s, %zu results, %zu values; "
           "latency ms min %.2f p50 %.2f max %.2f over %u runs (%u warmup)\n",
           url.data, body.len, sh.result_type, sh.results, sh.values, lat[0], p50,
           lat[o.repeat - 1], o.repeat, o.warmup);
    printf("BENCH_QUERY status=200 ok=1 runs=%u min_ms=%.3f p50_ms=%.3f max_ms=%.3f "
           "resp_bytes=%zu result_type=%s results=%zu values=%zu server_bytes=%lld\n",
           o.repeat, lat[0], p50, lat[o.repeat - 1], body.len, sh.result_type[0] ? sh.result_type : "-",
           sh.results, sh.values, sh.server_bytes);
    rc = 0;
done:
    curl_slist_free_all(hdrs);
    if (c)
        curl_easy_cleanup(c);
    cairn_buf_deinit(&url);
    cairn_buf_deinit(&body);
    cairn_buf_deinit(&hdr);
    free(lat);
    free(params);
    curl_global_cleanup();
    return rc;
}
