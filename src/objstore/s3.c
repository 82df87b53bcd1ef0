/* s3.c -- the `s3` object storage backend: S3's REST API over libcurl, signed with
 * SigV4 (sigv4.c), for AWS S3 and compatible stores (Ceph RGW, MinIO, R2).
 *
 * Every request: x-amz-content-sha256 (the body's real hash on PUT, UNSIGNED-PAYLOAD
 * otherwise), x-amz-date, a signed Host, Content-Length always on PUT (0 for an empty
 * body), no "Expect: 100-continue" (a round trip per upload for nothing). Each has a
 * whole-request timeout, a connect timeout and a low-speed limit: a one-OSD Ceph whose
 * OSD is gone accepts the connection and then never answers. Network errors, timeouts
 * and 5xx answers are retried max_retries times with doubling backoff; 4xx are not.
 * Curl handles (and so their connections) are reused from a small pool. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cairn/limits.h"
#include "cairn/log.h"
#include "objstore/objstore_int.h"

#define S3_POOL 8

struct s3 {
    char *scheme_host; /* "http://127.0.0.1:7480" (virtual-hosted: with the bucket) */
    char *host;        /* the Host header: "127.0.0.1:7480" */
    char *bucket, *region, *ak, *sk;
    int path_style, skip_verify, max_retries;
    long timeout_ms, connect_ms;
    pthread_mutex_t mu;
    CURL *pool[S3_POOL];
    int n_pool;
};

struct req {
    const char *method;
    const char *key;         /* NULL: the bucket */
    const char *query;       /* canonical query, "" for none */
    const void *body;        /* PUT */
    size_t body_len;
    int body_fd;             /* PUT from a file (body NULL): body_len bytes from offset 0 */
    int if_none_match;       /* If-None-Match: * */
    int range;               /* Range: bytes=off-(off+len-1) */
    uint64_t off, len;
    /* results */
    long status;
    struct cairn_buf *out;   /* body sink, may be NULL */
    uint64_t content_length; /* HEAD */
    size_t sent;
    char err[256];
};

static CURL *handle_get(struct s3 *s)
{
    pthread_mutex_lock(&s->mu);
    CURL *c = s->n_pool ? s->pool[--s->n_pool] : NULL;
    pthread_mutex_unlock(&s->mu);
    if (!c)
        c = curl_easy_init();
    else
        curl_easy_reset(c);
    return c;
}

static void handle_put(struct s3 *s, CURL *c)
{
    pthread_mutex_lock(&s->mu);
    if (s->n_pool < S3_POOL) {
        s->pool[s->n_pool++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    if (c)
        curl_easy_cleanup(c);
}

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
    struct req *r = ud;
    size_t n = sz * nm;
    if (r->out && cairn_buf_append(r->out, p, n))
        return 0; /* out of memory: curl fails the transfer */
    return n;
}

static size_t on_read(char *dst, size_t sz, size_t nm, void *ud)
{
    struct req *r = ud;
    size_t n = sz * nm, left = r->body_len - r->sent;
    if (n > left)
        n = left;
    if (!r->body) { /* from the file: pread, so a retry starts again at 0 */
        ssize_t got = pread(r->body_fd, dst, n, (off_t)r->sent);
        if (got <= 0)
            return CURL_READFUNC_ABORT; /* a file shorter than said: fail, not truncate */
        n = (size_t)got;
    } else {
        memcpy(dst, (const char *)r->body + r->sent, n);
    }
    r->sent += n;
    return n;
}

/* The canonical (and request) path: "/bucket/key" or "/key", URI-encoded. */
static int build_path(const struct s3 *s, const char *key, struct cairn_buf *path)
{
    if (cairn_buf_append_byte(path, '/'))
        return CAIRN_ENOMEM;
    if (s->path_style && (cairn_sigv4_uri_encode(path, s->bucket, strlen(s->bucket), 0) ||
                          (key && cairn_buf_append_byte(path, '/'))))
        return CAIRN_ENOMEM;
    if (key && cairn_sigv4_uri_encode(path, key, strlen(key), 1))
        return CAIRN_ENOMEM;
    return 0;
}

static int once(struct s3 *s, struct req *r, size_t out_mark)
{
    struct cairn_buf path = CAIRN_BUF_INIT, url = CAIRN_BUF_INIT, auth = CAIRN_BUF_INIT;
    struct curl_slist *hl = NULL;
    CURL *c = NULL;
    int rc = CAIRN_ENOMEM;
    char hash[65] = "UNSIGNED-PAYLOAD", date[17], hline[600];
    if (r->body && cairn__sha256_hex(r->body, r->body_len, hash))
        return CAIRN_EIO;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%Y%m%dT%H%M%SZ", &tm);
    if (build_path(s, r->key, &path) ||
        cairn_buf_appendf(&url, "%s%s%s%s", s->scheme_host, path.data, *r->query ? "?" : "",
                          r->query))
        goto out;
    const char *names[] = {"host", "x-amz-content-sha256", "x-amz-date"};
    const char *vals[] = {s->host, hash, date};
    struct cairn_sigv4_req sr = {r->method, path.data, r->query, names, vals, 3, hash, date,
                                 s->region, "s3"};
    if ((rc = cairn_sigv4_sign(&sr, s->ak, s->sk, NULL, NULL, &auth)))
        goto out;
    rc = CAIRN_ENOMEM;
#define ADDH(...)                                                                          \
    do {                                                                                   \
        snprintf(hline, sizeof hline, __VA_ARGS__);                                        \
        struct curl_slist *nl = curl_slist_append(hl, hline);                              \
        if (!nl)                                                                           \
            goto out;                                                                      \
        hl = nl;                                                                           \
    } while (0)
    ADDH("Host: %s", s->host);
    ADDH("x-amz-content-sha256: %s", hash);
    ADDH("x-amz-date: %s", date);
    ADDH("Authorization: %s", auth.data);
    ADDH("Expect:");
    if (r->if_none_match)
        ADDH("If-None-Match: *");
    if (r->range)
        ADDH("Range: bytes=%" PRIu64 "-%" PRIu64, r->off, r->off + r->len - 1);
    if (!(c = handle_get(s)))
        goto out;
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, s->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, s->connect_ms);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, s->timeout_ms / 1000 > 0 ? s->timeout_ms / 1000 : 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    if (s->skip_verify) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!strcmp(r->method, "PUT")) {
        r->sent = 0;
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, r);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
    } else if (!strcmp(r->method, "HEAD")) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(r->method, "GET")) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
    }
    if (r->out)
        cairn_buf_truncate(r->out, out_mark);
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        snprintf(r->err, sizeof r->err, "%s", curl_easy_strerror(cc));
        rc = cc == CURLE_OPERATION_TIMEDOUT ? CAIRN_ETIMEDOUT
             : cc == CURLE_WRITE_ERROR      ? CAIRN_ENOMEM
                                            : CAIRN_EIO;
        r->status = 0;
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_off_t cl = -1;
    curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
    r->content_length = cl > 0 ? (uint64_t)cl : 0;
    rc = 0;
out:
    if (c)
        handle_put(s, c);
    curl_slist_free_all(hl);
    cairn_buf_deinit(&path);
    cairn_buf_deinit(&url);
    cairn_buf_deinit(&auth);
    return rc;
}

/* Run r with retries; map the HTTP status to a CAIRN_E*. ok_status: the status that
 * means success besides 2xx (0: none). */
static int run(struct s3 *s, struct req *r)
{
    size_t mark = r->out ? r->out->len : 0;
    int rc = 0;
    for (int attempt = 0;; attempt++) {
        rc = once(s, r, mark);
        int retry = (rc == CAIRN_EIO || rc == CAIRN_ETIMEDOUT) || (!rc && r->status >= 500);
        if (!retry || attempt >= s->max_retries)
            break;
        usleep((useconds_t)(100000u << (attempt < 5 ? attempt : 5)));
    }
    if (rc) {
        CAIRN_WARN("objstore", "request failed", "method=%s key=\"%s\" err=\"%s\"", r->method,
                   r->key ? r->key : "", r->err);
        return rc;
    }
    if (r->status >= 200 && r->status < 300)
        return 0;
    if (r->out)
        cairn_buf_truncate(r->out, mark);
    if (r->status == 404)
        return CAIRN_ENOTFOUND;
    if (r->status == 412)
        return CAIRN_EEXIST;
    if (r->status == 416)
        return CAIRN_ERANGE;
    snprintf(r->err, sizeof r->err, "HTTP %ld", r->status);
    CAIRN_WARN("objstore", "request refused", "method=%s key=\"%s\" status=%ld", r->method,
               r->key ? r->key : "", r->status);
    return CAIRN_EIO;
}

static int s_put(void *be, const char *key, const void *p, size_t n)
{
    struct req r = {.method = "PUT", .key = key, .query = "", .body = p ? p : "", .body_len = n};
    return run(be, &r);
}

/* A file is sent as it is read (never whole in memory): UNSIGNED-PAYLOAD, as hashing
 * it first would read it twice; the caller checks the stored size with HEAD. */
static int s_put_file(void *be, const char *key, int fd, uint64_t size)
{
    struct req r = {.method = "PUT", .key = key, .query = "", .body = NULL, .body_len = size,
                    .body_fd = fd};
    return run(be, &r);
}

static int s_put_if_absent(void *be, const char *key, const void *p, size_t n)
{
    struct req r = {.method = "PUT", .key = key, .query = "", .body = p ? p : "", .body_len = n,
                    .if_none_match = 1};
    return run(be, &r);
}

static int s_get_range(void *be, const char *key, uint64_t off, uint64_t len,
                       struct cairn_buf *out)
{
    size_t before = out->len;
    struct req r = {.method = "GET", .key = key, .query = "", .range = 1, .off = off, .len = len,
                    .out = out};
    int rc = run(be, &r);
    if (!rc && (out->len - before != len || r.status != 206)) {
        cairn_buf_truncate(out, before);
        return CAIRN_ERANGE; /* a short object, or a server ignoring Range */
    }
    return rc;
}

static int s_get(void *be, const char *key, struct cairn_buf *out)
{
    struct req r = {.method = "GET", .key = key, .query = "", .out = out};
    return run(be, &r);
}

static int s_head(void *be, const char *key, uint64_t *size)
{
    struct req r = {.method = "HEAD", .key = key, .query = ""};
    int rc = run(be, &r);
    if (!rc)
        *size = r.content_length;
    return rc;
}

static int s_del(void *be, const char *key)
{
    struct req r = {.method = "DELETE", .key = key, .query = ""};
    int rc = run(be, &r);
    return rc == CAIRN_ENOTFOUND ? 0 : rc;
}

/* The text of <tag>...</tag> at or after *pos in x; advances *pos past it. */
static int xml_next(const char *x, size_t *pos, const char *tag, const char **v, size_t *vl)
{
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = strstr(x + *pos, open);
    if (!a)
        return 0;
    a += strlen(open);
    const char *b = strstr(a, close);
    if (!b)
        return 0;
    *v = a;
    *vl = (size_t)(b - a);
    *pos = (size_t)(b - x) + strlen(close);
    return 1;
}

/* XML text to bytes: the five predefined entities. */
static int xml_unescape(const char *p, size_t n, struct cairn_buf *out)
{
    static const struct { const char *e; char c; } ents[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    cairn_buf_reset(out);
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c == '&')
            for (size_t k = 0; k < 5; k++) {
                size_t el = strlen(ents[k].e);
                if (n - i >= el && !memcmp(p + i, ents[k].e, el)) {
                    c = ents[k].c;
                    i += el - 1;
                    break;
                }
            }
        if (cairn_buf_append_byte(out, c))
            return CAIRN_ENOMEM;
    }
    return 0;
}

static int s_list(void *be, const char *prefix, struct cairn_objstore_list *out)
{
    struct cairn_buf q = CAIRN_BUF_INIT, body = CAIRN_BUF_INIT, tok = CAIRN_BUF_INIT,
                     key = CAIRN_BUF_INIT;
    int rc = 0;
    for (;;) {
        /* the canonical query: parameters sorted by name, values fully encoded */
        cairn_buf_reset(&q);
        if ((tok.len && (cairn_buf_append_str(&q, "continuation-token=") ||
                         cairn_sigv4_uri_encode(&q, tok.data, tok.len, 0) ||
                         cairn_buf_append_byte(&q, '&'))) ||
            cairn_buf_append_str(&q, "list-type=2&prefix=") ||
            cairn_sigv4_uri_encode(&q, prefix, strlen(prefix), 0)) {
            rc = CAIRN_ENOMEM;
            break;
        }
        cairn_buf_reset(&body);
        struct req r = {.method = "GET", .query = q.data, .out = &body};
        if ((rc = run(be, &r)))
            break;
        size_t pos = 0;
        const char *v;
        size_t vl;
        while (!rc && xml_next(body.data, &pos, "Key", &v, &vl)) {
            const char *sv;
            size_t svl;
            uint64_t size = 0;
            size_t save = pos;
            if (xml_next(body.data, &pos, "Size", &sv, &svl))
                size = strtoull(sv, NULL, 10);
            else
                pos = save;
            rc = xml_unescape(v, vl, &key) ? CAIRN_ENOMEM
                                           : cairn__objstore_list_add(out, key.data, key.len, size);
        }
        if (rc)
            break;
        pos = 0;
        if (!xml_next(body.data, &pos, "IsTruncated", &v, &vl) || vl != 4 || memcmp(v, "true", 4))
            break;
        pos = 0;
        if (!xml_next(body.data, &pos, "NextContinuationToken", &v, &vl)) {
            rc = CAIRN_EIO; /* truncated without a token: cannot go on */
            break;
        }
        if ((rc = xml_unescape(v, vl, &tok)))
            break;
    }
    cairn_buf_deinit(&q);
    cairn_buf_deinit(&body);
    cairn_buf_deinit(&tok);
    cairn_buf_deinit(&key);
    return rc;
}

static void s_destroy(void *be)
{
    struct s3 *s = be;
    if (!s)
        return;
    for (int i = 0; i < s->n_pool; i++)
        curl_easy_cleanup(s->pool[i]);
    pthread_mutex_destroy(&s->mu);
    free(s->scheme_host);
    free(s->host);
    free(s->bucket);
    free(s->region);
    free(s->ak);
    free(s->sk);
    free(s);
}

static const struct cairn_objstore_ops s3_ops = {
    "s3", s_put, s_put_if_absent, s_get_range, s_get, s_head, s_del, s_list, s_destroy,
    s_put_file,
};

struct cairn_objstore *cairn_objstore_s3_create(const struct cairn_s3_config *cfg,
                                                struct cairn_err *err)
{
    const char *missing = !cfg->endpoint || !*cfg->endpoint ? "endpoint"
                          : !cfg->bucket || !*cfg->bucket   ? "bucket"
                          : !cfg->access_key_id || !*cfg->access_key_id ? "access_key_id"
                          : !cfg->secret_access_key || !*cfg->secret_access_key
                              ? "secret_access_key"
                              : NULL;
    if (missing) {
        cairn_err_set(err, CAIRN_EINVAL, "s3 storage: %s is not set", missing);
        return NULL;
    }
    const char *ep = cfg->endpoint, *scheme = cfg->insecure ? "http" : "https";
    if (!strncmp(ep, "http://", 7)) {
        scheme = "http";
        ep += 7;
    } else if (!strncmp(ep, "https://", 8)) {
        scheme = "https";
        ep += 8;
    }
    size_t hl = strcspn(ep, "/");
    if (!hl) {
        cairn_err_set(err, CAIRN_EINVAL, "s3 storage: endpoint \"%s\" names no host",
                      cfg->endpoint);
        return NULL;
    }
    struct s3 *s = calloc(1, sizeof *s);
    if (!s) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    s->path_style = cfg->path_style;
    s->skip_verify = cfg->insecure_skip_verify;
    s->max_retries = cfg->max_retries < 0 ? 0 : cfg->max_retries;
    s->timeout_ms = cfg->timeout_ms > 0 ? (long)cfg->timeout_ms : CAIRN_OBJSTORE_TIMEOUT_MS;
    s->connect_ms = cfg->connect_timeout_ms > 0 ? (long)cfg->connect_timeout_ms
                                                 : CAIRN_OBJSTORE_CONNECT_TIMEOUT_MS;
    if (s->connect_ms > s->timeout_ms)
        s->connect_ms = s->timeout_ms;
    struct cairn_buf h = CAIRN_BUF_INIT, sh = CAIRN_BUF_INIT;
    int bad = s->path_style ? cairn_buf_append(&h, ep, hl)
                            : cairn_buf_appendf(&h, "%s.%.*s", cfg->bucket, (int)hl, ep);
    bad |= cairn_buf_appendf(&sh, "%s://%s", scheme, cairn_buf_cstr(&h));
    s->host = cairn_buf_detach(&h, NULL);
    s->scheme_host = cairn_buf_detach(&sh, NULL);
    s->bucket = strdup(cfg->bucket);
    s->region = strdup(cfg->region && *cfg->region ? cfg->region : "us-east-1");
    s->ak = strdup(cfg->access_key_id);
    s->sk = strdup(cfg->secret_access_key);
    if (bad || !s->host || !s->scheme_host || !s->bucket || !s->region || !s->ak || !s->sk) {
        s_destroy(s);
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    char where[400];
    snprintf(where, sizeof where, "%s%s%s", s->scheme_host, s->path_style ? "/" : "",
             s->path_style ? s->bucket : "");
    struct cairn_objstore *os = cairn__objstore_wrap(&s3_ops, s, where);
    if (!os)
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    return os;
}
