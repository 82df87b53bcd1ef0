/* parse_jsonpath.h -- JSON path expressions (the JMESPath subset Promtail's json stage
 * and LogQL's `json a="x.y"` take: dotted keys, "quoted keys", ["bracketed keys"],
 * array indexes [0]) and a one-pass extractor that resolves many paths at once over
 * the zero-copy scanner of json.h, skipping every subtree no path needs.
 *
 * Ownership: a compiled path owns its steps (keys unescaped and copied);
 * cairn_jsonpath_deinit frees them. Extraction allocates nothing: values are handed
 * to the callback as views into the document. */
#ifndef CAIRN_PARSE_JSONPATH_H
#define CAIRN_PARSE_JSONPATH_H

#include <stddef.h>

#include "cairn/error.h"
#include "cairn/json.h"

/* At most this many paths per extraction (one bit each in the active set). */
#define CAIRN_JSONPATH_MAX 64

struct cairn_jsonpath_step {
    char *key;     /* NULL for an index step */
    size_t key_len;
    long index;
};

struct cairn_jsonpath {
    struct cairn_jsonpath_step *steps;
    size_t n;
};

/* Compile `a.b[0]."c.d"["e"]`. CAIRN_EINVAL with err naming the expression and the
 * column; CAIRN_ENOMEM. */
int cairn_jsonpath_compile(struct cairn_jsonpath *jp, const char *expr, size_t len,
                           struct cairn_err *err);
void cairn_jsonpath_deinit(struct cairn_jsonpath *jp);

/* Called once per path that resolves. val->type is the value's type; for strings
 * val->p/len is the raw text between the quotes (val->escaped says whether to
 * cairn_json_unescape it); for objects and arrays (type OBJECT_START/ARRAY_START)
 * val->p/len spans the whole raw value. Return nonzero to stop. */
typedef int (*cairn_jsonpath_fn)(void *ud, size_t path_index, const struct cairn_json_tok *val);

/* Resolve paths[0..n) over doc in one pass. Returns 0, the callback's nonzero value,
 * or CAIRN_EINVAL if doc is not valid JSON (err says where). */
int cairn_jsonpath_extract(const struct cairn_jsonpath *paths, size_t n, const char *doc,
                           size_t len, cairn_jsonpath_fn fn, void *ud, struct cairn_err *err);

#endif
