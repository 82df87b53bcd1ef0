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

#endif
