/* query.c -- the canary's reads of the store's HTTP API with libcurl: query_range for
 * the lines it looks for (missing ones, spot checks) and an instant count_over_time
 * for the metric test, with the same paths, parameters and JSON as Loki's. */
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "canary/canary_int.h"
#include "cairn/error.h"
#include "cairn/log.h"
#include "cairn/timeutil.h"

/* Loki's default max_entries_limit_per_query: larger pages would be refused. */
#define QUERY_PAGE 1000
/* Pages of one query_range before giving up on the rest (a window of 10^5 lines). */
#define QUERY_MAX_PAGES 100

int cairn__canary_parse_line(const char *p, size_t len, int64_t *ts)
{
    const char *sp = memchr(p, ' ', len);
    size_t n = sp ? (size_t)(sp - p) : len;
    if (!sp || memchr(sp + 1, ' ', len - n - 1)) /* "<ts> <padding>": two fields */
        return CAIRN_EINVAL;
    return cairn_parse_i64(p, n, ts);
}

int cairn__canary_auth_headers(const struct cairn_canary *c, struct cairn_buf *out)
{
    int rc = 0;
    if (c->cfg.user && *c->cfg.user) {
        struct cairn_buf up = CAIRN_BUF_INIT;
        rc = cairn_buf_appendf(&up, "%s:%s", c->cfg.user, c->cfg.pass ? c->cfg.pass : "");
        size_t cap = 4 * ((up.len + 2) / 3) + 1;
        if (!rc && (rc = cairn_buf_reserve(out, cap + 32)) == 0) {
            rc = cairn_buf_append_str(out, "Authorization: Basic ");
            int n = EVP_EncodeBlock((unsigned char *)out->data + out->len,
                                    (const unsigned char *)up.data, (int)up.len);
            out->len += (size_t)n;
            rc |= cairn_buf_append_str(out, "\r\n");
        }
        cairn_buf_deinit(&up);
    }
    if (c->cfg.tenant_id && *c->cfg.tenant_id)
        rc |= cairn_buf_appendf(out, "X-Scope-OrgID: %s\r\n", c->cfg.tenant_id);
    return rc ? CAIRN_ENOMEM : 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    return cairn_buf_append(arg, p, size * n) ? 0 : size * n;
}

int cairn__canary_http_init(struct cairn_canary *c, struct cairn__canary_http *h)
{
    memset(h, 0, sizeof *h);
    struct cairn_buf hb = CAIRN_BUF_INIT;
    if (!(h->curl = curl_easy_init()) || cairn__canary_auth_headers(c, &hb) ||
        cairn_buf_appendf(&hb, "User-Agent: cairn-canary/%s\r\n", CAIRN_VERSION))
        goto fail;
    for (char *p = hb.data; p && *p;) { /* one list entry per "Name: value\r\n" */
        char *e = strstr(p, "\r\n");
        *e = 0;
        struct curl_slist *l = curl_slist_append(h->hdr, p);
        if (!l)
            goto fail;
        h->hdr = l;
        p = e + 2;
    }
    cairn_buf_deinit(&hb);
    CURL *k = h->curl;
    curl_easy_setopt(k, CURLOPT_HTTPHEADER, h->hdr);
    curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k, CURLOPT_TIMEOUT_MS, (long)(c->cfg.query_timeout_ns / 1000000));
    curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(k, CURLOPT_WRITEDATA, &h->body);
    curl_easy_setopt(k, CURLOPT_ACCEPT_ENCODING, "");
    if (c->cfg.ca_file && *c->cfg.ca_file)
        curl_easy_setopt(k, CURLOPT_CAINFO, c->cfg.ca_file);
    if (c->cfg.cert_file && *c->cfg.cert_file)
        curl_easy_setopt(k, CURLOPT_SSLCERT, c->cfg.cert_file);
    if (c->cfg.key_file && *c->cfg.key_file)
        curl_easy_setopt(k, CURLOPT_SSLKEY, c->cfg.key_file);
    if (c->cfg.insecure) {
        curl_easy_setopt(k, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(k, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    return 0;
fail:
    cairn_buf_deinit(&hb);
    cairn__canary_http_deinit(h);
    return CAIRN_ENOMEM;
}

void cairn__canary_http_deinit(struct cairn__canary_http *h)
{
    curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->hdr);
    cairn_buf_deinit(&h->body);
    memset(h, 0, sizeof *h);
}

/* GET base+path?params; the decoded JSON's "data" member on a 2xx, else NULL (logged).
 * *doc owns it. */
static json_t *get_data(struct cairn_canary *c, struct cairn__canary_http *h, const char *path,
                        const char *params, json_t **doc)
{
    struct cairn_buf url = CAIRN_BUF_INIT;
    *doc = NULL;
    if (cairn_buf_appendf(&url, "%s%s?%s", c->base, path, params)) {
        cairn_buf_deinit(&url);
        return NULL;
    }
    cairn_buf_reset(&h->body);
    curl_easy_setopt(h->curl, CURLOPT_URL, url.data);
    CURLcode cc = curl_easy_perform(h->curl);
    long status = 0;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    json_t *data = NULL;
    if (cc != CURLE_OK) {
        CAIRN_WARN("canary", "query failed", "path=%s err=\"%s\"", path, curl_easy_strerror(cc));
    } else if (status / 100 != 2) {
        CAIRN_WARN("canary", "query refused", "path=%s status=%ld body=\"%.200s\"", path, status,
                   cairn_buf_cstr(&h->body));
    } else {
        json_error_t je;
        *doc = json_loadb(h->body.data ? h->body.data : "", h->body.len, 0, &je);
        data = *doc ? json_object_get(*doc, "data") : NULL;
        if (!json_is_object(data)) {
            CAIRN_WARN("canary", "query answer is not Loki's JSON", "path=%s", path);
            data = NULL;
        }
    }
    cairn_buf_deinit(&url);
    return data;
}

static int grow_push(int64_t **v, size_t *n, size_t *cap, int64_t ts)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        int64_t *nv = realloc(*v, nc * sizeof *nv);
        if (!nv)
            return CAIRN_ENOMEM;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = ts;
    return 0;
}

int cairn__canary_query_range(struct cairn_canary *c, struct cairn__canary_http *h, int64_t from,
                              int64_t to, int64_t **ts, size_t *n)
{
    size_t cap = 0;
    *ts = NULL;
    *n = 0;
    char *q = curl_easy_escape(h->curl, c->selector, 0);
    if (!q)
        return CAIRN_ENOMEM;
    int rc = 0;
    for (int page = 0; page < QUERY_MAX_PAGES && from <= to; page++) {
        char params[2048];
        snprintf(params, sizeof params, "query=%s&start=%lld&end=%lld&limit=%d&direction=forward",
                 q, (long long)from, (long long)to + 1, QUERY_PAGE);
        json_t *doc;
        json_t *data = get_data(c, h, "/loki/api/v1/query_range", params, &doc);
        json_t *result = data ? json_object_get(data, "result") : NULL;
        const char *type = data ? json_string_value(json_object_get(data, "resultType")) : NULL;
        if (!result || !type || strcmp(type, "streams") != 0 || !json_is_array(result)) {
            if (data)
                CAIRN_WARN("canary", "query_range: not a streams result", "type=%s",
                           type ? type : "?");
            json_decref(doc);
            rc = CAIRN_EIO;
            break;
        }
        size_t got = 0, i, j;
        int64_t last = from;
        json_t *s, *v;
        json_array_foreach(result, i, s) {
            json_array_foreach(json_object_get(s, "values"), j, v) {
                const char *ets = json_string_value(json_array_get(v, 0));
                const char *line = json_string_value(json_array_get(v, 1));
                int64_t ets_ns, lts;
                got++;
                if (ets && cairn_parse_i64(ets, strlen(ets), &ets_ns) == 0 && ets_ns > last)
                    last = ets_ns;
                if (!line || cairn__canary_parse_line(line, strlen(line), &lts)) {
                    CAIRN_WARN("canary", "received invalid entry", "line=\"%.80s\"",
                               line ? line : "");
                    continue;
                }
                if ((rc = grow_push(ts, n, &cap, lts)))
                    break;
            }
        }
        json_decref(doc);
        if (rc || got < QUERY_PAGE)
            break;
        from = last + 1; /* forward pages: the next starts after the newest seen */
    }
    curl_free(q);
    if (rc) {
        free(*ts);
        *ts = NULL;
        *n = 0;
    }
    return rc;
}

int cairn__canary_count_over_time(struct cairn_canary *c, struct cairn__canary_http *h,
                                  int64_t range_s, int64_t at, double *out)
{
    struct cairn_buf q = CAIRN_BUF_INIT;
    /* the bare stream, as loki-canary's metric test: -query-append could split it */
    if (cairn_buf_appendf(&q, "count_over_time(%s[%llds])", c->labels, (long long)range_s)) {
        cairn_buf_deinit(&q);
        return CAIRN_ENOMEM;
    }
    char *eq = curl_easy_escape(h->curl, q.data, (int)q.len);
    cairn_buf_deinit(&q);
    if (!eq)
        return CAIRN_ENOMEM;
    struct cairn_buf params = CAIRN_BUF_INIT;
    int rc = cairn_buf_appendf(&params, "query=%s&time=%lld&limit=1000", eq, (long long)at);
    curl_free(eq);
    if (rc) {
        cairn_buf_deinit(&params);
        return CAIRN_ENOMEM;
    }
    json_t *doc;
    json_t *data = get_data(c, h, "/loki/api/v1/query", params.data, &doc);
    cairn_buf_deinit(&params);
    rc = CAIRN_EIO;
    json_t *result = data ? json_object_get(data, "result") : NULL;
    const char *type = data ? json_string_value(json_object_get(data, "resultType")) : NULL;
    if (type && strcmp(type, "vector") == 0 && json_array_size(result) == 1) {
        const char *val = json_string_value(json_array_get(
            json_object_get(json_array_get(result, 0), "value"), 1));
        char *end;
        if (val) {
            *out = strtod(val, &end);
            rc = *end ? CAIRN_EIO : 0;
        }
    }
    if (rc && data)
        CAIRN_WARN("canary", "metric test: expected a vector of one sample",
                   "type=%s samples=%zu", type ? type : "?", json_array_size(result));
    json_decref(doc);
    return rc;
}
