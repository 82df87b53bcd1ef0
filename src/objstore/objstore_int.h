/* objstore_int.h -- what the object storage module's files share: the handle that
 * wraps a backend, and helpers. */
#ifndef CAIRN_OBJSTORE_INT_H
#define CAIRN_OBJSTORE_INT_H

#include "cairn/objstore.h"

struct cairn_objstore {
    const struct cairn_objstore_ops *ops;
    void *be;
    char where[512];
    struct cairn_objstore_stats stats;
};

/* A handle over backend state be (taken over: destroyed by cairn_objstore_destroy, or
 * here if the handle cannot be made). */
struct cairn_objstore *cairn__objstore_wrap(const struct cairn_objstore_ops *ops, void *be,
                                            const char *where);
/* Hex SHA-256 of p[0..n); 0 or CAIRN_EIO. */
int cairn__sha256_hex(const void *p, size_t n, char out[65]);
/* Append a key to a list (copied); 0 or CAIRN_ENOMEM. */
int cairn__objstore_list_add(struct cairn_objstore_list *l, const char *key, size_t klen,
                             uint64_t size);
/* Sort a list by key. */
void cairn__objstore_list_sort(struct cairn_objstore_list *l);
/* Is key usable as an object name (non-empty, relative, no "..", no control bytes)? */
int cairn__objstore_key_ok(const char *key);

#endif
