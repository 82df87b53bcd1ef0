/* query_auth.c -- credentials and TLS for `cairn query`, as logcli takes them:
 * --username/--password (basic), --bearer-token or --bearer-token-file, --ca-cert,
 * --cert/--key (client certificate), --tls-skip-verify, --org-id, each defaulting to
 * logcli's LOKI_* environment variable. At most one of basic and bearer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/error.h"
#include "cmd/query_int.h"

/* A bearer token file: one token, surrounding whitespace dropped. */
#define TOKEN_FILE_MAX 16384

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int base64(struct cairn_buf *out, const unsigned char *p, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
                     (i + 2 < n ? p[i + 2] : 0);
        char q[4] = {B64[v >> 18 & 63], B64[v >> 12 & 63],
                     i + 1 < n ? B64[v >> 6 & 63] : '=', i + 2 < n ? B64[v & 63] : '='};
        rc |= cairn_buf_append(out, q, 4);
    }
    return rc;
}

int cairn__query_auth_load(struct query_opts *o)
{
    int basic = (o->username && *o->username) || (o->password && *o->password);
    int bearer = (o->bearer && *o->bearer) || (o->bearer_file && *o->bearer_file);
    if (basic && bearer) {
        fprintf(stderr, "cairn query: at most one of basic auth (--username/--password) and a "
                        "bearer token (--bearer-token, --bearer-token-file) may be set\n");
        return -1;
    }
    if (o->bearer && *o->bearer && o->bearer_file && *o->bearer_file) {
        fprintf(stderr, "cairn query: --bearer-token and --bearer-token-file both set\n");
        return -1;
    }
    if (o->bearer_file && *o->bearer_file) {
        FILE *f = fopen(o->bearer_file, "r");
        char *b = malloc(TOKEN_FILE_MAX + 1);
        size_t n = f && b ? fread(b, 1, TOKEN_FILE_MAX + 1, f) : 0;
        int bad = !f || !b || ferror(f) || n > TOKEN_FILE_MAX;
        if (f)
            fclose(f);
        if (bad) {
            free(b);
            fprintf(stderr, "cairn query: --bearer-token-file %s: cannot read a token\n",
                    o->bearer_file);
            return -1;
        }
        while (n && (b[n - 1] == '\n' || b[n - 1] == '\r' || b[n - 1] == ' ' || b[n - 1] == '\t'))
            n--;
        b[n] = 0;
        o->bearer_owned = b;
        o->bearer = b;
    }
    return 0;
}

int cairn__query_auth_header(const struct query_opts *o, struct cairn_buf *out)
{
    int rc = 0;
    if (o->bearer && *o->bearer) {
        rc = cairn_buf_appendf(out, "Authorization: Bearer %s\r\n", o->bearer);
    } else if ((o->username && *o->username) || (o->password && *o->password)) {
        struct cairn_buf up = CAIRN_BUF_INIT;
        rc = cairn_buf_appendf(&up, "%s:%s", o->username ? o->username : "",
                               o->password ? o->password : "") |
             cairn_buf_append_str(out, "Authorization: Basic ") |
             base64(out, (const unsigned char *)up.data, up.len) |
             cairn_buf_append_str(out, "\r\n");
        cairn_buf_deinit(&up);
    }
    if (o->org_id && *o->org_id)
        rc |= cairn_buf_appendf(out, "X-Scope-OrgID: %s\r\n", o->org_id);
    return rc ? CAIRN_ENOMEM : 0;
}

void cairn__query_curl_tls(CURL *c, const struct query_opts *o)
{
    if (o->ca_cert && *o->ca_cert)
        curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_cert);
    if (o->cert && *o->cert)
        curl_easy_setopt(c, CURLOPT_SSLCERT, o->cert);
    if (o->key && *o->key)
        curl_easy_setopt(c, CURLOPT_SSLKEY, o->key);
    if (o->tls_skip_verify) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

int cairn__query_curl_headers(const struct query_opts *o, struct curl_slist **hdr)
{
    struct cairn_buf h = CAIRN_BUF_INIT;
    if (cairn__query_auth_header(o, &h)) {
        cairn_buf_deinit(&h);
        return CAIRN_ENOMEM;
    }
    int rc = 0;
    char *p = h.data;
    while (p && *p) { /* one slist entry per "Name: value\r\n" */
        char *e = strstr(p, "\r\n");
        *e = 0;
        struct curl_slist *n = curl_slist_append(*hdr, p);
        if (!n) {
            rc = CAIRN_ENOMEM;
            break;
        }
        *hdr = n;
        p = e + 2;
    }
    cairn_buf_deinit(&h);
    return rc;
}
