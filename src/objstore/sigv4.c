/* sigv4.c -- AWS Signature Version 4: canonical request, string to sign, signature.
 *
 * Our own signer rather than libcurl's CURLOPT_AWS_SIGV4: Debian 12's curl 7.88 signs
 * the query string as given (no sorting, no re-encoding), and ours can be checked
 * against AWS's published vectors in a unit test. HMAC and SHA-256 are libcrypto's. */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cairn/objstore.h"
#include "objstore/objstore_int.h"

static void hex(const unsigned char *p, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = '\0';
}

int cairn__sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned int ml = 0;
    if (EVP_Digest(p, n, md, &ml, EVP_sha256(), NULL) != 1 || ml != 32)
        return CAIRN_EIO;
    hex(md, 32, out);
    return 0;
}

static int hmac(const void *key, size_t klen, const void *p, size_t n, unsigned char out[32])
{
    unsigned int ml = 0;
    if (!HMAC(EVP_sha256(), key, (int)klen, p, n, out, &ml) || ml != 32)
        return CAIRN_EIO;
    return 0;
}

int cairn_sigv4_uri_encode(struct cairn_buf *out, const char *s, size_t n, int keep_slash)
{
    static const char d[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/');
        char e[3] = {'%', d[c >> 4], d[c & 15]};
        if (keep ? cairn_buf_append_byte(out, (char)c) : cairn_buf_append(out, e, 3))
            return CAIRN_ENOMEM;
    }
    return 0;
}

int cairn_sigv4_sign(const struct cairn_sigv4_req *r, const char *access_key,
                     const char *secret_key, struct cairn_buf *canonical,
                     struct cairn_buf *to_sign, struct cairn_buf *authorization)
{
    struct cairn_buf cr = CAIRN_BUF_INIT, sts = CAIRN_BUF_INIT, signed_h = CAIRN_BUF_INIT;
    int rc = CAIRN_ENOMEM;
    if (cairn_buf_appendf(&cr, "%s\n%s\n%s\n", r->method, r->path, r->query))
        goto out;
    for (size_t i = 0; i < r->n_hdrs; i++)
        if (cairn_buf_appendf(&cr, "%s:%s\n", r->hdr_names[i], r->hdr_values[i]) ||
            cairn_buf_appendf(&signed_h, "%s%s", i ? ";" : "", r->hdr_names[i]))
            goto out;
    if (cairn_buf_appendf(&cr, "\n%s\n%s", cairn_buf_cstr(&signed_h), r->payload_hash))
        goto out;
    char crhash[65], date[9];
    if ((rc = cairn__sha256_hex(cr.data, cr.len, crhash)))
        goto out;
    memcpy(date, r->amz_date, 8);
    date[8] = '\0';
    rc = CAIRN_ENOMEM;
    if (cairn_buf_appendf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", r->amz_date,
                          date, r->region, r->service, crhash))
        goto out;
    unsigned char k[32];
    char kinit[300];
    int kl = snprintf(kinit, sizeof kinit, "AWS4%s", secret_key);
    rc = CAIRN_EINVAL;
    if (kl < 0 || (size_t)kl >= sizeof kinit)
        goto out;
    if ((rc = hmac(kinit, (size_t)kl, date, 8, k)) ||
        (rc = hmac(k, 32, r->region, strlen(r->region), k)) ||
        (rc = hmac(k, 32, r->service, strlen(r->service), k)) ||
        (rc = hmac(k, 32, "aws4_request", 12, k)) || (rc = hmac(k, 32, sts.data, sts.len, k)))
        goto out;
    char sig[65];
    hex(k, 32, sig);
    rc = CAIRN_ENOMEM;
    if (canonical && cairn_buf_append(canonical, cr.data, cr.len))
        goto out;
    if (to_sign && cairn_buf_append(to_sign, sts.data, sts.len))
        goto out;
    if (authorization &&
        cairn_buf_appendf(authorization,
                          "AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, "
                          "SignedHeaders=%s, Signature=%s",
                          access_key, date, r->region, r->service, cairn_buf_cstr(&signed_h), sig))
        goto out;
    rc = 0;
out:
    cairn_buf_deinit(&cr);
    cairn_buf_deinit(&sts);
    cairn_buf_deinit(&signed_h);
    return rc;
}
