/* http.c -- one libcurl request to the API server: URL, TLS (CA file or blob, skip
 * verify, tls-server-name), client certificates (files or blobs), bearer or basic. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/k8s.h"
#include "cairn/timeutil.h"
#include "k8s/k8s_int.h"

void cairn__k8s_req_deinit(struct cairn__k8s_req *q)
{
    if (q->easy)
        curl_easy_cleanup(q->easy);
    curl_slist_free_all(q->hdrs);
    curl_slist_free_all(q->connect_to);
    memset(q, 0, sizeof *q);
}

/* With tls-server-name, the URL names that host (SNI and certificate check use it) and
 * CONNECT_TO sends the connection to the real server. */
static int set_url(struct cairn__k8s_req *q, const struct cairn_k8s_conn *c, const char *pq)
{
    CURL *e = q->easy;
    size_t n = strlen(c->server) + strlen(pq) + 1;
    char *url = malloc(n);
    if (!url)
        return CAIRN_ENOMEM;
    snprintf(url, n, "%s%s", c->server, pq);
    int rc = 0;
    if (c->tls_server_name && *c->tls_server_name) {
        CURLU *u = curl_url();
        char *host = NULL, *port = NULL, *nurl = NULL;
        if (!u || curl_url_set(u, CURLUPART_URL, url, 0) ||
            curl_url_get(u, CURLUPART_HOST, &host, 0) ||
            curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) ||
            curl_url_set(u, CURLUPART_HOST, c->tls_server_name, 0) ||
            curl_url_get(u, CURLUPART_URL, &nurl, 0)) {
            rc = CAIRN_EINVAL;
        } else {
            char ct[1024];
            snprintf(ct, sizeof ct, "%s:%s:%s:%s", c->tls_server_name, port, host, port);
            struct curl_slist *l = curl_slist_append(NULL, ct);
            if (!l)
                rc = CAIRN_ENOMEM;
            q->connect_to = l;
            curl_easy_setopt(e, CURLOPT_CONNECT_TO, l);
            curl_easy_setopt(e, CURLOPT_URL, nurl);
        }
        curl_free(host);
        curl_free(port);
        curl_free(nurl);
        curl_url_cleanup(u);
    } else {
        curl_easy_setopt(e, CURLOPT_URL, url);
    }
    free(url);
    return rc;
}

static int blob(CURL *e, CURLoption opt, const void *p, size_t len)
{
    struct curl_blob b = {.data = (void *)p, .len = len, .flags = CURL_BLOB_COPY};
    return curl_easy_setopt(e, opt, &b) == CURLE_OK ? 0 : CAIRN_EUNSUPPORTED;
}

int cairn__k8s_req_init(struct cairn__k8s_req *q, const struct cairn_k8s_conn *c,
                        struct cairn_k8s_creds *cr, const char *path_query, struct cairn_err *err)
{
    memset(q, 0, sizeof *q);
    struct cairn_k8s_auth a;
    int rc = cairn_k8s_creds_get(cr, cairn_now_ns(), &a, err);
    if (rc)
        return rc;
    CURL *e = q->easy = curl_easy_init();
    if (!e)
        return cairn_err_set(err, CAIRN_ENOMEM, "curl_easy_init failed");
    if ((rc = set_url(q, c, path_query)) != 0) {
        cairn__k8s_req_deinit(q);
        return cairn_err_set(err, rc, "bad server URL \"%s\"", c->server);
    }
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "cairn-events/" CAIRN_VERSION);
    if (c->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (c->ca_data) {
        rc = blob(e, CURLOPT_CAINFO_BLOB, c->ca_data, c->ca_data_len);
    } else if (c->ca_file) {
        curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
    }
    if (rc == 0 && a.cert) {
        curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
        rc = blob(e, CURLOPT_SSLCERT_BLOB, a.cert, a.cert_len);
    } else if (rc == 0 && a.cert_file) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, a.cert_file);
    }
    if (rc == 0 && a.key) {
        curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
        rc = blob(e, CURLOPT_SSLKEY_BLOB, a.key, a.key_len);
    } else if (rc == 0 && a.key_file) {
        curl_easy_setopt(e, CURLOPT_SSLKEY, a.key_file);
    }
    if (rc) {
        cairn__k8s_req_deinit(q);
        return cairn_err_set(err, rc, "libcurl cannot take certificate blobs");
    }
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
    if (h && a.token) {
        size_t n = strlen(a.token) + 32;
        char *hv = malloc(n);
        struct curl_slist *h2 = NULL;
        if (hv) {
            snprintf(hv, n, "Authorization: Bearer %s", a.token);
            h2 = curl_slist_append(h, hv);
            free(hv);
        }
        if (!h2) {
            curl_slist_free_all(h);
            h = NULL;
        }
    }
    if (!h) {
        cairn__k8s_req_deinit(q);
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    }
    q->hdrs = h;
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    if (a.username) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERNAME, a.username);
        curl_easy_setopt(e, CURLOPT_PASSWORD, a.password);
    }
    return 0;
}
