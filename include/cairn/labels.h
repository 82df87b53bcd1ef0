/* labels.h -- label sets: parse Loki's `{a="b", c="d"}` form, validate, keep in
 * canonical (name-sorted) order, print, and fingerprint.
 *
 * Ownership: a cairn_labels owns one buffer holding every name and value; the
 * cairn_label views point into it and are valid until the set is reset or deinit.
 * Parsing reuses that buffer, so a set kept on a thread's stack parses line after
 * line without allocating once it has grown to fit. */
#ifndef CAIRN_LABELS_H
#define CAIRN_LABELS_H

#include <stddef.h>
#include <stdint.h>

#include "cairn/buf.h"
#include "cairn/error.h"
#include "cairn/limits.h"

struct cairn_label {
    const char *name;  /* points into the owning set's storage; NUL-terminated */
    const char *value; /* NUL-terminated; may contain no NUL itself */
    uint32_t name_len;
    uint32_t value_len;
};

struct cairn_labels {
    struct cairn_label v[CAIRN_LABELS_PARSE_MAX];
    size_t n;
    struct cairn_buf store; /* names and values, NUL-separated */
};

void cairn_labels_init(struct cairn_labels *ls);
void cairn_labels_deinit(struct cairn_labels *ls);
void cairn_labels_reset(struct cairn_labels *ls);

/* Parse `{name="value", ...}` (Go-quoted values, as Loki prints and Promtail sends;
 * whitespace allowed; `{}` is an empty set). Sorts by name. On a syntax error returns
 * CAIRN_EINVAL with err naming the position; duplicate names are an error naming the
 * label. Validation of counts and lengths is cairn_labels_validate's job. */
int cairn_labels_parse(struct cairn_labels *ls, const char *p, size_t len,
                       struct cairn_err *err);

/* Add one label (copied). Does not sort: call cairn_labels_sort after adding. */
int cairn_labels_add(struct cairn_labels *ls, const char *name, size_t name_len,
                     const char *value, size_t value_len);
/* Sort by name; returns CAIRN_EINVAL (err names it) if a name appears twice. */
int cairn_labels_sort(struct cairn_labels *ls, struct cairn_err *err);
/* Copy src into dst (dst must be initialised). */
int cairn_labels_copy(struct cairn_labels *dst, const struct cairn_labels *src);

/* Value of `name`, or NULL. Binary search: the set must be sorted. */
const struct cairn_label *cairn_labels_get(const struct cairn_labels *ls, const char *name,
                                           size_t name_len);

/* Is this a valid Prometheus/Loki label name ([a-zA-Z_][a-zA-Z0-9_]*)? */
int cairn_label_name_valid(const char *p, size_t len);

/* Loki's validation: at least one label, at most max_names, name and value lengths,
 * valid names. Returns CAIRN_EINVAL with Loki's message wording in err. */
struct cairn_labels_limits {
    unsigned max_names;
    unsigned max_name_len;
    unsigned max_value_len;
};
int cairn_labels_validate(const struct cairn_labels *ls, const struct cairn_labels_limits *lim,
                          struct cairn_err *err);

/* Append the canonical text form `{a="b", c="d"}` (sorted, Go-quoted) to out. */
int cairn_labels_format(const struct cairn_labels *ls, struct cairn_buf *out);

/* Append the set as a JSON object `{"a":"b","c":"d"}` (Loki's stream objects). */
int cairn_labels_format_json(const struct cairn_labels *ls, struct cairn_buf *out);

/* 64-bit fingerprint of the sorted set: the stream's identity within a tenant. */
uint64_t cairn_labels_fingerprint(const struct cairn_labels *ls);

/* Append s Go-quoted ("..." with \" \\ \n \t and \xNN/\uNNNN escapes) to out. */
int cairn_go_quote(struct cairn_buf *out, const char *s, size_t n);

#endif
