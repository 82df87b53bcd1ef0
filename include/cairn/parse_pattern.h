/* parse_pattern.h -- Loki's pattern expressions: literals and captures, `<name>` or
 * the unnamed `<_>`, e.g. `<ip> - - [<_>] "<method> <uri> <_>"`.
 *
 * Ownership: a compiled pattern owns its copy of the expression; match results are
 * views into the caller's line. A pattern holds no mutable state: share it freely. */
#ifndef CAIRN_PARSE_PATTERN_H
#define CAIRN_PARSE_PATTERN_H

#include <stddef.h>

#include "cairn/error.h"

#define CAIRN_PATTERN_MAX_CAPTURES 64

struct cairn_pattern;

struct cairn_pattern_capture {
    const char *name; /* the capture's name (owned by the pattern) */
    size_t name_len;
    const char *v;    /* view into the line */
    size_t len;
};

/* Compile. for_filter: a line filter (`|>`), where captures are optional. Errors
 * (CAIRN_EINVAL, err filled): no capture, consecutive captures, duplicate names. */
struct cairn_pattern *cairn_pattern_compile(const char *p, size_t len, int for_filter,
                                            struct cairn_err *err);
void cairn_pattern_destroy(struct cairn_pattern *pat);

/* Extract the named captures from a line as Loki's pattern parser does (a literal
 * that is not found ends matching; the capture before it takes the rest). Returns the
 * number of captures written to caps (at most CAIRN_PATTERN_MAX_CAPTURES). */
int cairn_pattern_extract(const struct cairn_pattern *pat, const char *line, size_t len,
                          struct cairn_pattern_capture *caps);

/* Does the whole line match the pattern (every literal found in order, a leading
 * literal at the start, a trailing literal at the end)? */
int cairn_pattern_test(const struct cairn_pattern *pat, const char *line, size_t len);

#endif
