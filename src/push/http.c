/* http.c -- the push client's HTTP side: one libcurl easy handle, kept alive across
 * requests, configured once with auth, TLS and timeout; one POST per batch. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/log.h"
#include "push/push_int.h"

struct cairn__push_http {
    CURL *curl;
    struct curl_slist *base_headers; /* content type, auth, user agent */
    char *url;
    char *bearer_header;
    char *password;
    struct cairn_buf reply;
    char curl_err[CURL_ERROR_SIZE];
};

static size_t on_reply(char *p, size_t size, size_t n, void *ud)
{
    struct cairn__push_http *h = ud;
    size_t len = size * n;
    /* keep at most a few KiB of the server's message for the log */
    if (h->reply.len < 4096)
        cairn_buf_append(&h->reply, p, len < 4096 - h->reply.len ? len : 4096 - h->reply.len);
    return len;
}

struct cairn__push_http *cairn__pushc_http_create(const struct cairn_push_config *cfg,
                                                 const char *bearer, const char *password,
                                                 struct cairn_err *err)
{
    static const char ua_default[] = "User-Agent: cairn/" CAIRN_VERSION;
    struct cairn_buf tmp = CAIRN_BUF_INIT;
    struct cairn__push_http *h = calloc(1, sizeof *h);
    if (!h) {
        cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
        return NULL;
    }
    h->url = strdup(cfg->url);
    if (!h->url)
        goto nomem;
    h->curl = curl_easy_init();
    if (!h->curl) {
        cairn_err_set(err, CAIRN_EIO, "curl_easy_init failed");
        goto fail;
    }
    struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
    if (!hd)
        goto nomem;
    h->base_headers = hd;
    if (cfg->user_agent) {
        if (cairn_buf_appendf(&tmp, "User-Agent: %s", cfg->user_agent))
            goto nomem;
        hd = curl_slist_append(h->base_headers, tmp.data);
        cairn_buf_deinit(&tmp);
    } else {
        hd = curl_slist_append(h->base_headers, ua_default);
    }
    if (!hd)
        goto nomem;
    if (bearer) {
        if (cairn_buf_appendf(&tmp, "Authorization: Bearer %s", bearer))
            goto nomem;
        hd = curl_slist_append(h->base_headers, tmp.data);
        cairn_buf_deinit(&tmp);
        if (!hd)
            goto nomem;
    }
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_URL, h->url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_reply);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->curl_err);
    long timeout_ms = (long)(cfg->timeout_ns / 1000000LL);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 1L);
    if (cfg->basic_auth_username) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, cfg->basic_auth_username);
        if (password) {
            h->password = strdup(password);
            if (!h->password)
                goto nomem;
            curl_easy_setopt(c, CURLOPT_PASSWORD, h->password);
        }
    }
    if (cfg->tls_ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, cfg->tls_ca_file);
    if (cfg->tls_cert_file)
        curl_easy_setopt(c, CURLOPT_SSLCERT, cfg->tls_cert_file);
    if (cfg->tls_key_file)
        curl_easy_setopt(c, CURLOPT_SSLKEY, cfg->tls_key_file);
    if (cfg->tls_insecure_skip_verify) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    return h;
nomem:
    cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
fail:
    cairn_buf_deinit(&tmp);
    cairn__pushc_http_destroy(h);
    return NULL;
}

void cairn__pushc_http_destroy(struct cairn__push_http *h)
{
    if (!h)
        return;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->base_headers);
    free(h->url);
    free(h->password);
    free(h->bearer_header);
    cairn_buf_deinit(&h->reply);
    free(h);
}

long cairn__pushc_http_post(struct cairn__push_http *h, const char *tenant, const char *body,
                           size_t len, char *msg, size_t cap)
{
    char tenant_hdr[CAIRN__PUSH_TENANT_MAX + 32];
    struct curl_slist tenant_node, *headers = h->base_headers;
    if (tenant && tenant[0]) {
        /* a stack node prepended to the shared list: no allocation per request */
        snprintf(tenant_hdr, sizeof tenant_hdr, "X-Scope-OrgID: %s", tenant);
        tenant_node.data = tenant_hdr;
        tenant_node.next = h->base_headers;
        headers = &tenant_node;
    }
    cairn_buf_reset(&h->reply);
    h->curl_err[0] = '\0';
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    CURLcode rc = curl_easy_perform(h->curl);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
    if (cap)
        msg[0] = '\0';
    if (rc != CURLE_OK) {
        if (cap)
            snprintf(msg, cap, "%s", h->curl_err[0] ? h->curl_err : curl_easy_strerror(rc));
        return 0;
    }
    long status = 0;
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    if (cap) {
        size_t n = h->reply.len < cap - 1 ? h->reply.len : cap - 1;
        if (n)
            memcpy(msg, h->reply.data, n);
        msg[n] = '\0';
        while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
            msg[--n] = '\0';
    }
    return status;
}
