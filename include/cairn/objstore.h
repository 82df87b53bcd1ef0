/* objstore.h -- object storage behind one interface: a local directory or an
 * S3-compatible bucket (AWS S3, Ceph RGW, MinIO, R2), and a bounded on-disk LRU cache
 * of byte ranges read from it.
 *
 * A backend is a struct of callbacks (as Redis's ae backends): every call takes the
 * backend's own state first. Keys are relative object names ("fake/1700000000/seg-1"),
 * never starting with '/', made of [A-Za-z0-9!-_.*'()/] (what tenants and cairn's file
 * names use). Ownership: buffers passed in are borrowed; results are appended to a
 * caller-owned cairn_buf. Thread safety: every call may come from any thread at once
 * (the s3 backend takes one curl handle per call from a small pool).
 *
 * Errors: 0 or a negative CAIRN_E*: CAIRN_ENOTFOUND (no such object), CAIRN_EEXIST
 * (put_if_absent found one), CAIRN_ETIMEDOUT (no answer within the timeout),
 * CAIRN_EIO (the store answered an error or could not be reached: the message in
 * cairn_objstore_last_error names it), CAIRN_ENOMEM. */
#ifndef CAIRN_OBJSTORE_H
#define CAIRN_OBJSTORE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"
#include "cairn/error.h"

struct cairn_objstore;

/* One object of a listing. */
struct cairn_objstore_item {
    char *key; /* owned by the list */
    uint64_t size;
};
struct cairn_objstore_list {
    struct cairn_objstore_item *v;
    size_t n, cap;
};
void cairn_objstore_list_deinit(struct cairn_objstore_list *l);

struct cairn_objstore_ops {
    const char *name; /* "local", "s3" */
    /* Store p[0..n) as key, replacing what is there. */
    int (*put)(void *be, const char *key, const void *p, size_t n);
    /* Store it only if key does not exist: CAIRN_EEXIST if it does. */
    int (*put_if_absent)(void *be, const char *key, const void *p, size_t n);
    /* Append bytes [off, off + len) of key to out; CAIRN_ERANGE if the object is
     * shorter. */
    int (*get_range)(void *be, const char *key, uint64_t off, uint64_t len,
                     struct cairn_buf *out);
    /* Append the whole object to out. */
    int (*get)(void *be, const char *key, struct cairn_buf *out);
    /* Its size; CAIRN_ENOTFOUND if absent. */
    int (*head)(void *be, const char *key, uint64_t *size);
    /* Remove it; an absent key is not an error. */
    int (*del)(void *be, const char *key);
    /* Append every key starting with prefix (all of them, in key order) to out. */
    int (*list)(void *be, const char *prefix, struct cairn_objstore_list *out);
    void (*destroy)(void *be);
    /* Optional: store `size` bytes read from fd (from offset 0) as key, without
     * holding them in memory. NULL: the file is read whole and put. */
    int (*put_file)(void *be, const char *key, int fd, uint64_t size);
};

/* Settings of the s3 backend (strings borrowed while the backend is created; it keeps
 * copies). */
struct cairn_s3_config {
    const char *endpoint;   /* "http://127.0.0.1:7480", "https://s3.eu-west-1.amazonaws.com",
                             * or a host without a scheme (https unless insecure) */
    const char *bucket;
    const char *region;     /* default us-east-1 */
    const char *access_key_id;
    const char *secret_access_key;
    int path_style;         /* endpoint/bucket/key rather than bucket.endpoint/key */
    int insecure;           /* http:// when the endpoint names no scheme */
    int insecure_skip_verify; /* no TLS certificate check */
    int64_t timeout_ms;     /* whole request; a one-OSD Ceph hangs rather than fail */
    int64_t connect_timeout_ms;
    int max_retries;        /* after a network error or 5xx, with backoff */
};

/* Counters for /metrics (atomics, read without locks). */
struct cairn_objstore_stats {
    atomic_uint_least64_t requests, errors, retries, bytes_in, bytes_out;
    atomic_uint_least64_t latency_us_sum; /* over requests */
    atomic_uint_least64_t latency_le[6];  /* histogram: <= 10ms, 50, 100, 500, 1s, 5s */
};

/* A backend over a directory (created if needed): objects are files under it, written
 * through a temporary file renamed into place; put_if_absent uses link(2), so it is
 * create-only even between processes. NULL on failure (err says why). */
struct cairn_objstore *cairn_objstore_local_create(const char *dir, struct cairn_err *err);
/* An S3 backend. Checks the settings only (no request is made). NULL on failure. */
struct cairn_objstore *cairn_objstore_s3_create(const struct cairn_s3_config *cfg,
                                                struct cairn_err *err);
/* A view of base under prefix (non-empty, ending in '/'): key k is "<prefix>k" in
 * base, lists return keys with the prefix removed. base is borrowed: it must outlive
 * the view. Several write nodes share one bucket this way. NULL on failure. */
struct cairn_objstore *cairn_objstore_prefixed_create(struct cairn_objstore *base,
                                                      const char *prefix, struct cairn_err *err);
void cairn_objstore_destroy(struct cairn_objstore *os);

const char *cairn_objstore_name(const struct cairn_objstore *os);
/* A short description for messages: "s3 http://127.0.0.1:7480/cairn" or "local DIR". */
const char *cairn_objstore_where(const struct cairn_objstore *os);
const struct cairn_objstore_stats *cairn_objstore_stats(const struct cairn_objstore *os);

int cairn_objstore_put(struct cairn_objstore *os, const char *key, const void *p, size_t n);
/* Store the file at path as key, streamed when the backend can; *size gets the bytes
 * sent (the file's size when opened). CAIRN_ENOTFOUND if the file is missing. */
int cairn_objstore_put_file(struct cairn_objstore *os, const char *key, const char *path,
                            uint64_t *size);
int cairn_objstore_put_if_absent(struct cairn_objstore *os, const char *key, const void *p,
                                 size_t n);
int cairn_objstore_get_range(struct cairn_objstore *os, const char *key, uint64_t off,
                             uint64_t len, struct cairn_buf *out);
int cairn_objstore_get(struct cairn_objstore *os, const char *key, struct cairn_buf *out);
int cairn_objstore_head(struct cairn_objstore *os, const char *key, uint64_t *size);
int cairn_objstore_del(struct cairn_objstore *os, const char *key);
int cairn_objstore_list(struct cairn_objstore *os, const char *prefix,
                        struct cairn_objstore_list *out);

/* ---- SigV4 (exposed for its unit test against AWS's published vectors) ---- */

/* One request to sign. Headers are lower-case name / trimmed value pairs, sorted by
 * name, and must include host and x-amz-date (and x-amz-content-sha256 for S3). */
struct cairn_sigv4_req {
    const char *method;
    const char *path;   /* already URI-encoded ("/bucket/key%20x") */
    const char *query;  /* canonical: sorted, fully percent-encoded, "" for none */
    const char *const *hdr_names;
    const char *const *hdr_values;
    size_t n_hdrs;
    const char *payload_hash; /* hex sha256 of the body, or "UNSIGNED-PAYLOAD" */
    const char *amz_date;     /* "20130524T000000Z" */
    const char *region, *service;
};
/* Append the canonical request, the string to sign and the Authorization header value
 * for req to the buffers given (any may be NULL). 0 or CAIRN_ENOMEM. */
int cairn_sigv4_sign(const struct cairn_sigv4_req *req, const char *access_key,
                     const char *secret_key, struct cairn_buf *canonical,
                     struct cairn_buf *to_sign, struct cairn_buf *authorization);
/* Append s[0..n) percent-encoded as SigV4 wants (unreserved A-Za-z0-9-_.~ kept; with
 * keep_slash, '/' too). 0 or CAIRN_ENOMEM. */
int cairn_sigv4_uri_encode(struct cairn_buf *out, const char *s, size_t n, int keep_slash);

/* ---- the block cache (cache.c) ---- */

/* A bounded on-disk LRU cache of byte ranges: each entry one file under dir, named by
 * a hash of its key. At most max_size bytes of entries; past it the least recently used
 * are deleted. The cache is emptied when created (a process start): entries are copies
 * of immutable objects, so nothing is lost, and no stale entry can outlive an object
 * rewritten under the same name. */
struct cairn_cache;
struct cairn_cache_stats {
    atomic_uint_least64_t hits, misses, bytes, evictions, entries;
};
struct cairn_cache *cairn_cache_create(const char *dir, uint64_t max_size, struct cairn_err *err);
void cairn_cache_destroy(struct cairn_cache *c);
/* Append the entry for key to out: 0, or CAIRN_ENOTFOUND (a miss). */
int cairn_cache_get(struct cairn_cache *c, const char *key, struct cairn_buf *out);
/* Store p[0..n) as key (evicting as needed; an entry larger than max_size is not
 * kept). 0 or CAIRN_EIO/CAIRN_ENOMEM (the cache is best effort: callers go on). */
int cairn_cache_put(struct cairn_cache *c, const char *key, const void *p, size_t n);
const struct cairn_cache_stats *cairn_cache_stats(const struct cairn_cache *c);
uint64_t cairn_cache_max_size(const struct cairn_cache *c);

#endif
