/* matcher.h -- Prometheus/Loki label matchers: name =, !=, =~, !~ value.
 *
 * Regex matchers are fully anchored (as Prometheus and Loki anchor them) and run on
 * PCRE2 with JIT, with RE2's meaning where PCRE2 allows: UTF-8, `.` not matching a
 * newline, `$` only at the very end. A matcher owns its compiled regex and its match
 * data, so one matcher must be used by one thread at a time (compile one per thread,
 * or guard it). cairn_matcher_deinit frees what cairn_matcher_init made. */
#ifndef CAIRN_MATCHER_H
#define CAIRN_MATCHER_H

#include <stddef.h>

#include "cairn/error.h"

enum cairn_match_type {
    CAIRN_MATCH_EQ = 0,  /* =  */
    CAIRN_MATCH_NEQ,     /* != */
    CAIRN_MATCH_RE,      /* =~ */
    CAIRN_MATCH_NRE,     /* !~ */
};

struct cairn_regex; /* opaque compiled PCRE2 pattern + match data */

struct cairn_matcher {
    enum cairn_match_type type;
    char *name;       /* owned, NUL-terminated */
    char *value;      /* owned, NUL-terminated (the regex source for =~ / !~) */
    size_t name_len;
    size_t value_len;
    struct cairn_regex *re; /* =~ / !~ only */
};

/* Copy name and value and compile the regex for =~ / !~. On a bad regex returns
 * CAIRN_EINVAL with err naming the pattern and PCRE2's reason; CAIRN_ENOMEM. */
int cairn_matcher_init(struct cairn_matcher *m, enum cairn_match_type type,
                       const char *name, size_t name_len, const char *value,
                       size_t value_len, struct cairn_err *err);
void cairn_matcher_deinit(struct cairn_matcher *m);

/* Does the value (an absent label is the empty string) satisfy the matcher? */
int cairn_matcher_matches(const struct cairn_matcher *m, const char *v, size_t len);

/* Operator text: "=", "!=", "=~", "!~". */
const char *cairn_matcher_op_str(enum cairn_match_type type);

/* Regex flags for cairn_regex_compile. */
enum {
    CAIRN_RE_ANCHORED = 1, /* whole subject must match (label matchers) */
    CAIRN_RE_CASELESS = 2,
};

/* A compiled regex for other users (line filters, regexp parser, templates).
 * Returns NULL on error with err filled ("error parsing regexp: ... in `pat`"). */
struct cairn_regex *cairn_regex_compile(const char *pat, size_t len, int flags,
                                        struct cairn_err *err);
void cairn_regex_destroy(struct cairn_regex *re);
/* 1 match, 0 no match (errors such as a match limit count as no match). */
int cairn_regex_match(struct cairn_regex *re, const char *s, size_t len);
/* Search from `start`; on a match fills ovec with up to `pairs` (start,end) pairs and
 * returns the number of pairs set (>= 1); 0 if no match. */
int cairn_regex_exec(struct cairn_regex *re, const char *s, size_t len, size_t start,
                     size_t *ovec, int pairs);
/* Number of capture groups, and the name of group i (1-based) or NULL. */
int cairn_regex_groups(const struct cairn_regex *re);
const char *cairn_regex_group_name(const struct cairn_regex *re, int i);
/* Does the regex match the empty string? */
int cairn_regex_matches_empty(struct cairn_regex *re);

#endif
