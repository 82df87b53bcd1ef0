/* parse_json.h -- JSON extraction over the zero-copy scanner (json.h): flatten an
 * object's scalar leaves into `a_b_c` keys (arrays skipped, as Loki's json parser
 * does), and JSON path expressions (`a.b`, `list[0]`, `["dotted.key"]`) as Loki's
 * `json label="expr"` and the agent's json stage take them.
 *
 * Ownership: flattening calls back with views into the caller's line and into the
 * caller's key buffer (valid during the callback). A compiled path owns its segments. */
#ifndef CAIRN_PARSE_JSON_H
#define CAIRN_PARSE_JSON_H

#include <stddef.h>

#include "cairn/buf.h"
#include "cairn/error.h"
#include "cairn/json.h"

/* One scalar leaf: key is the joined path; val is the token (STRING raw with
 * val->escaped, NUMBER, TRUE, FALSE, NULL). Return 0 to go on, negative to stop. */
typedef int (*cairn_json_leaf_fn)(void *arg, const char *key, size_t klen,
                                  const struct cairn_json_tok *val);

/* Walk a top-level JSON object. With sanitize, each key segment is made a valid label
 * name piece (bytes outside [A-Za-z0-9_] become '_', a leading digit of the first
 * segment gets a '_' prefix). key is the caller's scratch. Returns 0, the callback's
 * negative code, CAIRN_ENOMEM, or CAIRN_EINVAL with err describing bad JSON. */
int cairn_json_flatten(const char *p, size_t len, int sanitize, struct cairn_buf *key,
                       cairn_json_leaf_fn fn, void *arg, struct cairn_err *err);

/* Make one key segment a label-name piece, appending to out (see above). */
int cairn_json_sanitize_key(struct cairn_buf *out, const char *k, size_t n, int first);

struct cairn_jsonpath;

/* Compile `a.b[0]["c.d"]`. NULL with err ("cannot parse JSON expression") on error. */
struct cairn_jsonpath *cairn_jsonpath_compile(const char *expr, size_t len, struct cairn_err *err);
void cairn_jsonpath_destroy(struct cairn_jsonpath *jp);

/* Find the value at the path in a JSON document. Returns 1 and sets *val (for an
 * object or array, raw/rawlen span its whole text; for scalars the token's text),
 * 0 if absent, CAIRN_EINVAL if the JSON is malformed before the value is found. */
int cairn_jsonpath_get(const struct cairn_jsonpath *jp, const char *p, size_t len,
                       struct cairn_json_tok *val, const char **raw, size_t *rawlen);

#endif
