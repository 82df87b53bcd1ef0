/* auth.c -- optional authentication of API requests: credentials (a bearer token, or
 * basic auth with the credential's name as user and the same secret as password)
 * mapped to the tenants they may use.
 *
 * Secrets are stored as SHA-256 digests (hex) and compared in constant time
 * (CRYPTO_memcmp over every credential, no early exit). A fast digest fits because a
 * secret is meant to be a generated token (`openssl rand -hex 32`), not a password a
 * person chose: nothing can be guessed by hashing faster, and checking a request costs
 * microseconds, so it is decided on the event loop from the header alone, before any
 * body is read. Human-chosen passwords would need a slow hash (crypt(3)) and a cache
 * of verified credentials instead; see docs/CONFIG.md.
 *
 * Tenant: X-Scope-OrgID must name one of the credential's tenants ("*" owns every
 * tenant), else 403; without the header the credential's first tenant is set on the
 * request, so handlers read it as if the client had sent it. */
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "api/api_int.h"
#include "cairn/log.h"
#include "cairn/text.h"

int cairn__auth_init(struct cairn__auth *a, const struct cairn_api_config *cfg,
                     struct cairn_err *err)
{
    memset(a, 0, sizeof *a);
    if (!cfg->auth_enabled)
        return 0;
    if (!cfg->n_credentials)
        return cairn_err_set(err, CAIRN_EINVAL, "auth: enabled without any credential");
    a->v = calloc(cfg->n_credentials, sizeof *a->v);
    if (!a->v)
        return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
    a->enabled = 1;
    for (size_t i = 0; i < cfg->n_credentials; i++) {
        const struct cairn_api_credential *c = &cfg->credentials[i];
        struct cairn__cred *d = &a->v[a->n++];
        const char *h = c->secret_sha256 ? c->secret_sha256 : "";
        if (strlen(h) != 64)
            goto bad_hash;
        for (size_t k = 0; k < 32; k++) {
            int hi = cairn_hex_digit(h[2 * k]), lo = cairn_hex_digit(h[2 * k + 1]);
            if (hi < 0 || lo < 0)
                goto bad_hash;
            d->sha[k] = (unsigned char)(hi << 4 | lo);
        }
        if (!c->n_tenants) {
            cairn__auth_deinit(a);
            return cairn_err_set(err, CAIRN_EINVAL, "auth.credentials.%s.tenants: empty",
                                 c->name);
        }
        d->name = strdup(c->name ? c->name : "");
        d->tenants = calloc(c->n_tenants, sizeof *d->tenants);
        if (!d->name || !d->tenants)
            goto nomem;
        for (; d->n_tenants < c->n_tenants; d->n_tenants++)
            if (!(d->tenants[d->n_tenants] = strdup(c->tenants[d->n_tenants])))
                goto nomem;
        continue;
    bad_hash:
        cairn__auth_deinit(a);
        return cairn_err_set(err, CAIRN_EINVAL,
                             "auth.credentials.%s.secret_sha256: not 64 hex digits (the "
                             "SHA-256 of the secret, e.g. printf %%s SECRET | sha256sum)",
                             c->name);
    }
    return 0;
nomem:
    cairn__auth_deinit(a);
    return cairn_err_set(err, CAIRN_ENOMEM, "out of memory");
}

void cairn__auth_deinit(struct cairn__auth *a)
{
    for (size_t i = 0; i < a->n; i++) {
        free(a->v[i].name);
        for (size_t k = 0; k < a->v[i].n_tenants; k++)
            free(a->v[i].tenants[k]);
        free(a->v[i].tenants);
    }
    free(a->v);
    memset(a, 0, sizeof *a);
}

static int sha256(const char *p, size_t n, unsigned char out[32])
{
    unsigned len = 0;
    return EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) == 1 && len == 32 ? 0 : CAIRN_EIO;
}

/* The credential whose secret hashes to sha among those named name (NULL: any), or
 * NULL. Every candidate is compared in full, whatever matched before. */
static const struct cairn__cred *match(const struct cairn__auth *a, const char *name,
                                       const unsigned char sha[32])
{
    const struct cairn__cred *found = NULL;
    for (size_t i = 0; i < a->n; i++) {
        int same = CRYPTO_memcmp(a->v[i].sha, sha, 32) == 0;
        if (same && (!name || strcmp(a->v[i].name, name) == 0) && !found)
            found = &a->v[i];
    }
    return found;
}

static int owns(const struct cairn__cred *c, const char *tenant)
{
    for (size_t i = 0; i < c->n_tenants; i++)
        if (strcmp(c->tenants[i], "*") == 0 || strcmp(c->tenants[i], tenant) == 0)
            return 1;
    return 0;
}

int cairn__auth_check(const struct cairn__auth *a, struct MHD_Connection *conn, char *msg,
                      size_t cap)
{
    if (!a->enabled)
        return 0;
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    unsigned char sha[32];
    const struct cairn__cred *c = NULL;
    if (h && strncasecmp(h, "Bearer ", 7) == 0) {
        const char *tok = h + 7;
        while (*tok == ' ')
            tok++;
        if (sha256(tok, strlen(tok), sha) == 0)
            c = match(a, NULL, sha);
    } else if (h && strncasecmp(h, "Basic ", 6) == 0) {
        char *pass = NULL;
        char *user = MHD_basic_auth_get_username_password(conn, &pass);
        if (user && pass && sha256(pass, strlen(pass), sha) == 0)
            c = match(a, user, sha);
        if (pass) {
            memset(pass, 0, strlen(pass));
            MHD_free(pass);
        }
        MHD_free(user);
    }
    if (!c) {
        snprintf(msg, cap, h ? "invalid credentials" : "no credentials: this server needs a "
                 "bearer token or basic auth");
        return 401;
    }
    const char *tenant = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Scope-OrgID");
    if (tenant && *tenant) {
        if (!owns(c, tenant)) {
            snprintf(msg, cap, "credential '%s' may not use tenant '%.160s'", c->name, tenant);
            return 403;
        }
        return 0;
    }
    /* no tenant named: the credential's first one ("*" first: Loki's default "fake") */
    const char *t = strcmp(c->tenants[0], "*") == 0 ? "fake" : c->tenants[0];
    if (MHD_set_connection_value(conn, MHD_HEADER_KIND, "X-Scope-OrgID", t) != MHD_YES) {
        snprintf(msg, cap, "out of memory");
        return 500;
    }
    return 0;
}
