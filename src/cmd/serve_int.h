/* serve_int.h -- the pieces of `cairn serve` split out of serve.c. */
#ifndef CAIRN_SERVE_INT_H
#define CAIRN_SERVE_INT_H

#include "cairn/config_serve.h"
#include "cairn/objstore.h"

/* Build the object store and block cache the configuration asks for (none when no
 * s3 endpoint is set: *os and *cache NULL) and point sc->store at them. The caller
 * destroys both after closing the store. 0 or CAIRN_E* with err naming the key. */
int cairn__serve_objstore_open(struct cairn_serve_config *sc, struct cairn_objstore **os,
                               struct cairn_cache **cache, struct cairn_err *err);

/* A read node's view of the shared bucket (serve_bucket.c): one read-only store per
 * write node prefix nodes/<id>/ under DATA_DIR/bucket, refreshed by queries at most
 * every CAIRN_BUCKET_REFRESH_NS; with backend, the stores apply sc's retention to the
 * bucket and a thread refreshes every CAIRN_BUCKET_BACKEND_REFRESH_NS. base is borrowed. NULL only on CAIRN_ENOMEM or an
 * unusable directory (a bucket that cannot be listed yet gives an empty view). */
struct cairn__bucket;
struct cairn_push_body;
struct cairn__bucket *cairn__bucket_open(const struct cairn_serve_config *sc,
                                         struct cairn_objstore *base, int backend,
                                         struct cairn_err *err);
void cairn__bucket_close(struct cairn__bucket *b);
/* Can instance id[0..len) name a write node's prefix (and a directory of the reader):
 * [A-Za-z0-9._-], not "." or ".."? */
int cairn__bucket_id_ok(const char *id, size_t len);
/* cairn_api_read_source_fn over every write node's uploaded periods. */
int cairn__bucket_read(void *ctx, const char *tenant, const char *sel, int64_t start,
                       int64_t end, int series_only, size_t max_bytes, struct cairn_push_body *body);

#endif
