/* serve_objstore.c -- `cairn serve`'s object storage: the s3 backend and the block
 * cache built from the configuration (storage_config.aws / common.storage.s3,
 * storage_config.cache), credentials from the config, a file or the environment. */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cairn/buf.h"
#include "cairn/fs.h"
#include "cairn/log.h"
#include "cmd/serve_int.h"

int cairn__serve_objstore_open(struct cairn_serve_config *sc, struct cairn_objstore **os,
                               struct cairn_cache **cache, struct cairn_err *err)
{
    *os = NULL;
    *cache = NULL;
    const struct cairn_serve_s3 *c = &sc->objstore.s3;
    if (!c->endpoint || !*c->endpoint)
        return 0; /* local disk only: the embedded default */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return cairn_err_set(err, CAIRN_EIO, "curl_global_init failed");
    const char *ak = c->access_key_id && *c->access_key_id ? c->access_key_id
                                                           : getenv("AWS_ACCESS_KEY_ID");
    const char *sk = c->secret_access_key && *c->secret_access_key
                         ? c->secret_access_key
                         : getenv("AWS_SECRET_ACCESS_KEY");
    struct cairn_buf f = CAIRN_BUF_INIT;
    if (c->secret_access_key_file && *c->secret_access_key_file) {
        if (cairn_fs_read_file(c->secret_access_key_file, &f))
            return cairn_err_set(err, CAIRN_EINVAL,
                                 "storage_config.aws.secret_access_key_file: cannot read %s",
                                 c->secret_access_key_file);
        while (f.len && (f.data[f.len - 1] == '\n' || f.data[f.len - 1] == '\r'))
            cairn_buf_truncate(&f, f.len - 1);
        sk = f.data;
    }
    struct cairn_s3_config s3 = {
        .endpoint = c->endpoint,
        .bucket = c->bucketnames,
        .region = c->region,
        .access_key_id = ak,
        .secret_access_key = sk,
        .path_style = c->s3forcepathstyle,
        .insecure = c->insecure,
        .insecure_skip_verify = c->http_config.insecure_skip_verify,
        .timeout_ms = c->timeout_ns / 1000000,
        .max_retries = c->max_retries,
    };
    if (c->bucketnames && strchr(c->bucketnames, ',')) {
        cairn_buf_deinit(&f);
        return cairn_err_set(err, CAIRN_EINVAL,
                             "storage_config.aws.bucketnames: one bucket only (got \"%s\")",
                             c->bucketnames);
    }
    *os = cairn_objstore_s3_create(&s3, err);
    cairn_buf_deinit(&f);
    if (!*os)
        return err->code ? err->code : CAIRN_EINVAL;
    char dir[4200];
    if (sc->objstore.cache.dir && *sc->objstore.cache.dir)
        snprintf(dir, sizeof dir, "%s", sc->objstore.cache.dir);
    else
        snprintf(dir, sizeof dir, "%s/cache", sc->store.data_dir);
    if (!(*cache = cairn_cache_create(dir, sc->objstore.cache.max_size, err))) {
        cairn_objstore_destroy(*os);
        *os = NULL;
        return err->code ? err->code : CAIRN_EIO;
    }
    sc->store.objstore = *os;
    sc->store.cache = *cache;
    CAIRN_INFO("serve", "object storage", "store=\"%s\" cache=\"%s\" cache_max=%llu",
               cairn_objstore_where(*os), dir, (unsigned long long)sc->objstore.cache.max_size);
    return 0;
}
