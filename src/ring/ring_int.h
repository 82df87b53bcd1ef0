/* ring_int.h -- the ring module's internal pieces: the etcd v3 JSON-gateway client
 * (etcd.c) the membership (member.c) drives. Internal to src/ring.
 *
 * Ownership: a cairn__etcd owns its curl handle and copies of its endpoints and
 * credentials; calls are serialised by its own mutex. */
#ifndef CAIRN_RING_INT_H
#define CAIRN_RING_INT_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"
#include "cairn/error.h"

struct cairn__etcd;

struct cairn__etcd *cairn__etcd_create(const char *const *endpoints, size_t n, int64_t timeout_ns,
                                       const char *user, const char *password,
                                       struct cairn_err *err);
void cairn__etcd_destroy(struct cairn__etcd *e);
/* Grant a lease of ttl seconds: 0 and *id, or CAIRN_EIO with err naming the endpoint. */
int cairn__etcd_grant(struct cairn__etcd *e, int64_t ttl_s, int64_t *id, struct cairn_err *err);
/* Renew: 0 while the lease lives, CAIRN_ENOTFOUND once it expired, CAIRN_EIO. */
int cairn__etcd_keepalive(struct cairn__etcd *e, int64_t id);
int cairn__etcd_revoke(struct cairn__etcd *e, int64_t id);
/* Put key = value under lease (0: none). 0 or CAIRN_EIO. */
int cairn__etcd_put(struct cairn__etcd *e, const char *key, const char *value, size_t vlen,
                    int64_t lease);
/* Every key under prefix: fn(ctx, key, value, vlen) per key (decoded). 0 or CAIRN_EIO. */
typedef void (*cairn__etcd_kv_fn)(void *ctx, const char *key, size_t klen, const char *value,
                                  size_t vlen);
int cairn__etcd_range_prefix(struct cairn__etcd *e, const char *prefix, cairn__etcd_kv_fn fn,
                             void *ctx);
/* The endpoint last used, for messages. */
const char *cairn__etcd_endpoint(const struct cairn__etcd *e);

#endif
