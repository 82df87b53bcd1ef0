/* k8s_int.h -- internals of the k8s module shared between its files: the table of
 * (uid, resourceVersion) already emitted, the state file that keeps it across restarts,
 * and the bounded cache of previous event versions for old_event.
 *
 * Ownership: each struct owns its memory; _deinit frees it. */
#ifndef CAIRN_K8S_INT_H
#define CAIRN_K8S_INT_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"
#include "cairn/error.h"

/* Events live an hour in the API after their last change; remember what was emitted a
 * while longer, so a relist never re-emits anything still listed. */
#define CAIRN_K8S_SEEN_TTL_S (2 * 3600)
/* A resourceVersion key: the number itself (below 2^43: etcd revisions are far from
 * it), or, for a version that is not a decimal number, its hash with this bit set (only
 * equality can be checked then). */
#define CAIRN_K8S_RV_BITS 44
#define CAIRN_K8S_RV_MASK ((1ULL << CAIRN_K8S_RV_BITS) - 1)
#define CAIRN_K8S_RV_OPAQUE (1ULL << 43)
/* Minutes kept per entry (for pruning), in the 20 bits above the key: wraps after
 * ~728 days, far beyond the TTL. */
#define CAIRN_K8S_MIN_MASK ((1ULL << (64 - CAIRN_K8S_RV_BITS)) - 1)

/* uid hash -> newest resourceVersion emitted and the minute it was: 16 bytes an event,
 * so 100,000 live events cost 2 MiB. Open addressing, uid 0 is empty. */
struct cairn__seen_slot {
    uint64_t uid;
    uint64_t v; /* minute << 44 | rv key */
};
static inline uint64_t cairn__slot_rv(const struct cairn__seen_slot *s)
{
    return s->v & CAIRN_K8S_RV_MASK;
}
static inline int64_t cairn__slot_minute(const struct cairn__seen_slot *s)
{
    return (int64_t)(s->v >> CAIRN_K8S_RV_BITS);
}
struct cairn__seen {
    struct cairn__seen_slot *slots;
    size_t cap; /* power of two */
    size_t n;
};

int cairn__seen_init(struct cairn__seen *t, size_t cap_hint);
void cairn__seen_deinit(struct cairn__seen *t);
struct cairn__seen_slot *cairn__seen_find(struct cairn__seen *t, uint64_t uid);
/* Insert or overwrite; at_s is the wall clock in seconds. 0 or CAIRN_ENOMEM. */
int cairn__seen_put(struct cairn__seen *t, uint64_t uid, uint64_t rv, int64_t at_s);
/* Drop entries last written more than ttl_s before now_s. 0 or CAIRN_ENOMEM (the table
 * is left as it was). */
int cairn__seen_prune(struct cairn__seen *t, int64_t now_s, int64_t ttl_s);
/* The uid key of a uid string (never 0), and the rv key of a resourceVersion string. */
uint64_t cairn__uid_key(const char *uid, size_t len);
uint64_t cairn__rv_key(const char *rv, size_t len);
/* Is rv newer than the stored one (numeric order, or just different if opaque)? */
int cairn__rv_newer(uint64_t rv, uint64_t stored);

/* The state file: per-watch resourceVersion (keyed by request path) and the seen table. */
struct cairn__state_rv {
    char *path;
    char *rv;
};
struct cairn__state {
    struct cairn__state_rv *rvs;
    size_t nrvs;
};
/* Load path into st and t (t must be initialised). CAIRN_ENOTFOUND if there is no file,
 * CAIRN_ECORRUPT if it fails its checks, CAIRN_EIO, CAIRN_ENOMEM. */
int cairn__state_load(const char *path, struct cairn__state *st, struct cairn__seen *t);
/* The same over bytes in memory (what _load does after reading the file). */
int cairn__state_parse(const unsigned char *p, size_t len, struct cairn__state *st,
                       struct cairn__seen *t);
/* Write atomically: path.tmp, fsync, rename, fsync the directory. 0 or CAIRN_EIO. */
int cairn__state_save(const char *path, const struct cairn__state *st,
                      const struct cairn__seen *t, struct cairn_buf *scratch);
void cairn__state_deinit(struct cairn__state *st);
/* Set the rv for a path (copies). 0 or CAIRN_ENOMEM. */
int cairn__state_set_rv(struct cairn__state *st, const char *path, const char *rv);
const char *cairn__state_get_rv(const struct cairn__state *st, const char *path);

/* Previous versions of events by uid key, in one ring buffer of `budget` bytes: the
 * oldest written fall off first (see oldcache.c). */
struct cairn__oc_slot {
    uint64_t uid; /* 0: empty */
    uint32_t off; /* of the entry in the ring */
    uint32_t pad;
};
struct cairn__oldcache {
    unsigned char *ring;
    size_t cap;              /* ring bytes (budget rounded down to 8, below 4 GiB) */
    size_t head, tail, used; /* next write, oldest entry, bytes between them */
    struct cairn__oc_slot *idx;
    size_t icap, n;          /* index slots (power of two), live entries */
};
int cairn__oldcache_init(struct cairn__oldcache *c, size_t budget);
void cairn__oldcache_deinit(struct cairn__oldcache *c);
/* The cached text for uid, or NULL. Valid until the next put/del. */
const char *cairn__oldcache_get(struct cairn__oldcache *c, uint64_t uid, size_t *len);
/* Store a copy of json for uid, replacing any older one. 0 or CAIRN_ENOMEM. */
int cairn__oldcache_put(struct cairn__oldcache *c, uint64_t uid, const char *json, size_t len);
void cairn__oldcache_del(struct cairn__oldcache *c, uint64_t uid);

/* One HTTP request to the API server: a curl easy handle set up with the server's TLS
 * settings and the credentials of the moment, and the lists it borrows. */
struct cairn_k8s_conn;
struct cairn_k8s_creds;
struct cairn_err;
struct cairn__k8s_req {
    void *easy; /* CURL * */
    struct curl_slist *hdrs, *connect_to;
};
/* Create the handle for GET server+path_query. 0, or CAIRN_ENOMEM / CAIRN_EIO /
 * CAIRN_EINVAL (credentials could not be had: err says why). */
int cairn__k8s_req_init(struct cairn__k8s_req *q, const struct cairn_k8s_conn *c,
                        struct cairn_k8s_creds *cr, const char *path_query,
                        struct cairn_err *err);
void cairn__k8s_req_deinit(struct cairn__k8s_req *q);

#endif
