/* etcd.c -- a minimal etcd v3 client over its HTTP/JSON gateway (etcd 3.4: /v3/...):
 * lease grant, keepalive and revoke, put and prefix range, optional user/password
 * authentication. Keys and values travel base64-encoded, 64-bit integers as JSON
 * strings, as the gateway's protobuf-to-JSON mapping does.
 *
 * One curl handle, kept alive, serialised by a mutex; each request has the dial
 * timeout as its whole deadline, and a failing endpoint makes the next request try
 * the next one in the list. */
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/log.h"
#include "ring/ring_int.h"

struct cairn__etcd {
    pthread_mutex_t mu;
    CURL *curl;
    char **endpoints;
    size_t n, cur;
    long timeout_ms;
    char *user, *password;
    char *token; /* "Authorization: <token>" once authenticated */
    struct cairn_buf reply;
    char curl_err[CURL_ERROR_SIZE];
};

static size_t on_reply(char *p, size_t size, size_t n, void *ud)
{
    struct cairn_buf *b = ud;
    return cairn_buf_append(b, p, size * n) ? 0 : size * n;
}

void cairn__etcd_destroy(struct cairn__etcd *e)
{
    if (!e)
        return;
    if (e->curl)
        curl_easy_cleanup(e->curl);
    for (size_t i = 0; i < e->n; i++)
        free(e->endpoints[i]);
    free(e->endpoints);
    free(e->user);
    free(e->password);
    free(e->token);
    cairn_buf_deinit(&e->reply);
    pthread_mutex_destroy(&e->mu);
    free(e);
}

struct cairn__etcd *cairn__etcd_create(const char *const *endpoints, size_t n, int64_t timeout_ns,
                                       const char *user, const char *password,
                                       struct cairn_err *err)
{
    if (!n) {
        cairn_err_set(err, CAIRN_EINVAL, "common.ring.kvstore.etcd.endpoints: none given");
        return NULL;
    }
    struct cairn__etcd *e = calloc(1, sizeof *e);
    if (!e || pthread_mutex_init(&e->mu, NULL)) {
        free(e);
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    e->timeout_ms = timeout_ns > 0 ? (long)(timeout_ns / 1000000) : 5000;
    if (!(e->endpoints = calloc(n, sizeof *e->endpoints)))
        goto nomem;
    for (; e->n < n; e->n++) {
        /* "host:port" as Loki accepts it means http://host:port */
        const char *ep = endpoints[e->n];
        size_t l = strlen(ep) + 8;
        if (!(e->endpoints[e->n] = malloc(l)))
            goto nomem;
        snprintf(e->endpoints[e->n], l, "%s%s", strstr(ep, "://") ? "" : "http://", ep);
        size_t k = strlen(e->endpoints[e->n]);
        while (k && e->endpoints[e->n][k - 1] == '/')
            e->endpoints[e->n][--k] = '\0';
    }
    if ((user && !(e->user = strdup(user))) || (password && !(e->password = strdup(password))))
        goto nomem;
    if (!(e->curl = curl_easy_init()))
        goto nomem;
    return e;
nomem:
    cairn__etcd_destroy(e);
    cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    return NULL;
}

const char *cairn__etcd_endpoint(const struct cairn__etcd *e)
{
    return e->endpoints[e->cur];
}

/* POST body to path on the current endpoint; the reply's JSON into *out. Caller holds
 * mu. 0, or CAIRN_EIO after trying every endpoint once. */
static int call_locked(struct cairn__etcd *e, const char *path, const char *body, json_t **out);

static int authenticate(struct cairn__etcd *e)
{
    if (!e->user || e->token)
        return 0;
    json_t *req = json_pack("{s:s,s:s}", "name", e->user, "password", e->password ? e->password : "");
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body)
        return CAIRN_ENOMEM;
    json_t *o = NULL;
    /* authenticate itself goes without a token: e->token is NULL here */
    int rc = call_locked(e, "/v3/auth/authenticate", body, &o);
    free(body);
    const char *tok = rc ? NULL : json_string_value(json_object_get(o, "token"));
    if (!rc && !tok)
        rc = CAIRN_EIO;
    if (tok) {
        size_t l = strlen(tok) + 32;
        if ((e->token = malloc(l)))
            snprintf(e->token, l, "Authorization: %s", tok);
        else
            rc = CAIRN_ENOMEM;
    }
    json_decref(o);
    return rc;
}

static int call_locked(struct cairn__etcd *e, const char *path, const char *body, json_t **out)
{
    *out = NULL;
    for (size_t attempt = 0; attempt < e->n; attempt++) {
        char url[1024];
        snprintf(url, sizeof url, "%s%s", e->endpoints[e->cur], path);
        struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
        if (hd && e->token)
            hd = curl_slist_append(hd, e->token);
        if (!hd)
            return CAIRN_ENOMEM;
        CURL *c = e->curl;
        cairn_buf_reset(&e->reply);
        curl_easy_reset(c);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, e->timeout_ms);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, e->timeout_ms);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_reply);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &e->reply);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, e->curl_err);
        e->curl_err[0] = '\0';
        CURLcode cc = curl_easy_perform(c);
        curl_slist_free_all(hd);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (cc == CURLE_OK && status == 200) {
            json_error_t je;
            *out = json_loadb(e->reply.data ? e->reply.data : "", e->reply.len, 0, &je);
            return *out ? 0 : CAIRN_EIO;
        }
        if (cc == CURLE_OK && status == 401 && e->token) { /* token expired: log in again */
            free(e->token);
            e->token = NULL;
            if (authenticate(e) == 0)
                continue;
        }
        CAIRN_DEBUG("ring", "etcd request failed", "url=%s status=%ld err=\"%s\" reply=\"%.200s\"",
                    url, status, cc == CURLE_OK ? "" : e->curl_err, cairn_buf_cstr(&e->reply));
        if (cc == CURLE_OK && status >= 400 && status < 500)
            return CAIRN_EIO; /* etcd answered: another endpoint would say the same */
        e->cur = (e->cur + 1) % e->n;
    }
    return CAIRN_EIO;
}

static int call(struct cairn__etcd *e, const char *path, json_t *req, json_t **out)
{
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body)
        return CAIRN_ENOMEM;
    pthread_mutex_lock(&e->mu);
    int rc = authenticate(e);
    if (!rc)
        rc = call_locked(e, path, body, out);
    pthread_mutex_unlock(&e->mu);
    free(body);
    return rc;
}

static char *b64(const char *p, size_t n)
{
    char *o = malloc(4 * ((n + 2) / 3) + 1);
    if (o)
        EVP_EncodeBlock((unsigned char *)o, (const unsigned char *)p, (int)n);
    return o;
}

/* Decode base64 into a malloc'd NUL-terminated buffer. */
static char *unb64(const char *s, size_t *outlen)
{
    size_t n = strlen(s);
    unsigned char *o = malloc(3 * (n / 4) + 4);
    if (!o)
        return NULL;
    int k = EVP_DecodeBlock(o, (const unsigned char *)s, (int)n);
    if (k < 0) {
        free(o);
        return NULL;
    }
    while (n && s[n - 1] == '=' && k > 0) { /* EVP_DecodeBlock counts padding as zeros */
        k--;
        n--;
    }
    o[k] = '\0';
    *outlen = (size_t)k;
    return (char *)o;
}

static int64_t json_i64(json_t *v)
{
    if (json_is_string(v))
        return strtoll(json_string_value(v), NULL, 10);
    return (int64_t)json_integer_value(v);
}

int cairn__etcd_grant(struct cairn__etcd *e, int64_t ttl_s, int64_t *id, struct cairn_err *err)
{
    json_t *o = NULL;
    int rc = call(e, "/v3/lease/grant", json_pack("{s:I}", "TTL", (json_int_t)ttl_s), &o);
    int64_t v = rc ? 0 : json_i64(json_object_get(o, "ID"));
    json_decref(o);
    if (rc || !v)
        return cairn_err_set(err, CAIRN_EIO, "etcd at %s: cannot grant a lease (%s)",
                             cairn__etcd_endpoint(e), rc ? "no answer" : "no lease id");
    *id = v;
    return 0;
}

int cairn__etcd_keepalive(struct cairn__etcd *e, int64_t id)
{
    char ids[32];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    json_t *o = NULL;
    int rc = call(e, "/v3/lease/keepalive", json_pack("{s:s}", "ID", ids), &o);
    if (!rc) {
        /* the gateway streams {"result":{...,"TTL":"10"}}; no TTL: the lease expired */
        json_t *res = json_object_get(o, "result");
        if (json_i64(json_object_get(res ? res : o, "TTL")) <= 0)
            rc = CAIRN_ENOTFOUND;
    }
    json_decref(o);
    return rc;
}

int cairn__etcd_revoke(struct cairn__etcd *e, int64_t id)
{
    char ids[32];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    json_t *o = NULL;
    int rc = call(e, "/v3/lease/revoke", json_pack("{s:s}", "ID", ids), &o);
    json_decref(o);
    return rc;
}

int cairn__etcd_put(struct cairn__etcd *e, const char *key, const char *value, size_t vlen,
                    int64_t lease)
{
    char *k = b64(key, strlen(key)), *v = b64(value, vlen);
    char ls[32];
    snprintf(ls, sizeof ls, "%lld", (long long)lease);
    json_t *o = NULL;
    int rc = CAIRN_ENOMEM;
    if (k && v)
        rc = call(e, "/v3/kv/put",
                  lease ? json_pack("{s:s,s:s,s:s}", "key", k, "value", v, "lease", ls)
                        : json_pack("{s:s,s:s}", "key", k, "value", v),
                  &o);
    json_decref(o);
    free(k);
    free(v);
    return rc;
}

int cairn__etcd_range_prefix(struct cairn__etcd *e, const char *prefix, cairn__etcd_kv_fn fn,
                             void *ctx)
{
    size_t pl = strlen(prefix);
    char *end = malloc(pl + 1);
    if (!end)
        return CAIRN_ENOMEM;
    memcpy(end, prefix, pl + 1);
    /* range_end: the prefix with its last byte incremented (etcd's prefix idiom) */
    if (pl)
        end[pl - 1]++;
    char *k = b64(prefix, pl), *re = b64(end, pl);
    free(end);
    json_t *o = NULL;
    int rc = CAIRN_ENOMEM;
    if (k && re)
        rc = call(e, "/v3/kv/range", json_pack("{s:s,s:s}", "key", k, "range_end", re), &o);
    free(k);
    free(re);
    size_t i;
    json_t *kv;
    json_array_foreach(json_object_get(o, "kvs"), i, kv) {
        size_t kl = 0, vl = 0;
        const char *ks = json_string_value(json_object_get(kv, "key"));
        const char *vs = json_string_value(json_object_get(kv, "value"));
        char *kd = ks ? unb64(ks, &kl) : NULL, *vd = vs ? unb64(vs, &vl) : NULL;
        if (kd && vd)
            fn(ctx, kd, kl, vd, vl);
        free(kd);
        free(vd);
    }
    json_decref(o);
    return rc;
}
