/* logql_pushdown_fuzz.c -- libFuzzer target: a label filter decided on the raw line
 * (src/logql/pushdown.c) must keep exactly what the full pipeline keeps. The input
 * chooses a parser, a filter and a line; the query runs beside a twin with
 * `| line_format "{{__line__}}"` before the filter (same line and labels, but the
 * pushdown stops at a line_format), and the two must agree on keeping the entry, its
 * labels and its line, with and without a stream label of the filter's name.
 *
 * Input: byte 0 picks the parser (low 2 bits) and the filter's form (next 2 bits); the
 * filter's value runs to the first NUL byte, the line is the rest. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/logql.h"
#include "cairn/logql_pipeline.h"

static const char *parsers[] = {"| json", "| logfmt", "| regexp `(?P<level>[^ ]+) `",
                                "| json lvl=\"level\" | logfmt"};
static const char *forms[] = {"level=`%.*s`", "level=~`%.*s|warn`",
                              "level=`%.*s` or msg=\"x\"", "lvl=`%.*s` and level!=\"\""};

/* Keep flag, labels and line of one run, as one string of *n bytes (caller frees). */
static char *outcome(struct cairn_logql_pipeline *p, const struct cairn_labels *st,
                     const char *line, size_t len, size_t *n)
{
    struct cairn_buf b = CAIRN_BUF_INIT;
    int keep = cairn_logql_pipeline_process(p, 1700000000000000000LL, st, line, len);
    if (keep < 0)
        abort(); /* out of memory is not what this looks for */
    if (keep) {
        struct cairn_labels ls;
        cairn_labels_init(&ls);
        size_t l;
        const char *s = cairn_logql_pipeline_line(p, &l);
        if (cairn_logql_pipeline_labels(p, &ls) || cairn_labels_format(&ls, &b) ||
            cairn_buf_append(&b, " ", 1) || cairn_buf_append(&b, s, l))
            abort();
        cairn_labels_deinit(&ls);
    } else if (cairn_buf_append_str(&b, "dropped")) {
        abort();
    }
    char *r = cairn_buf_detach(&b, n);
    if (!r)
        abort();
    return r;
}

static struct cairn_logql_pipeline *compile(const char *text, struct cairn_logql_query **q)
{
    struct cairn_err err;
    if (cairn_logql_parse(text, strlen(text), q, &err))
        return NULL; /* e.g. a value the regex does not accept */
    return cairn_logql_pipeline_create(cairn_logql_root(*q), &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const char *v = (const char *)data + 1;
    const char *nul = memchr(v, '\0', size - 1);
    if (!nul || memchr(v, '`', (size_t)(nul - v)) || nul - v > 64)
        return 0; /* raw strings cannot hold a backtick */
    int vlen = (int)(nul - v);
    const char *line = nul + 1;
    size_t len = size - 1 - (size_t)(nul + 1 - v);
    char filter[160], q1[320], q2[352];
    snprintf(filter, sizeof filter, forms[(data[0] >> 2) & 3], vlen, v);
    snprintf(q1, sizeof q1, "{app=\"x\"} %s | %s", parsers[data[0] & 3], filter);
    snprintf(q2, sizeof q2, "{app=\"x\"} %s | line_format \"{{__line__}}\" | %s",
             parsers[data[0] & 3], filter);
    struct cairn_logql_query *a = NULL, *b = NULL;
    struct cairn_logql_pipeline *pa = compile(q1, &a), *pb = compile(q2, &b);
    if (!pa != !pb)
        abort(); /* both compile or neither */
    if (pa) {
        static const char *streams[] = {"{app=\"x\"}", "{app=\"x\", level=\"error\"}"};
        for (int s = 0; s < 2; s++) {
            struct cairn_labels st;
            struct cairn_err err;
            cairn_labels_init(&st);
            if (cairn_labels_parse(&st, streams[s], strlen(streams[s]), &err))
                abort();
            size_t nx, ny;
            char *x = outcome(pa, &st, line, len, &nx), *y = outcome(pb, &st, line, len, &ny);
            if (nx != ny || memcmp(x, y, nx) != 0) {
                fprintf(stderr, "pushdown differs: %s\n  line: %.*s\n  got:  %.*s\n  want: %.*s\n",
                        q1, (int)len, line, (int)nx, x, (int)ny, y);
                abort();
            }
            free(x);
            free(y);
            cairn_labels_deinit(&st);
        }
    }
    cairn_logql_pipeline_destroy(pa);
    cairn_logql_pipeline_destroy(pb);
    cairn_logql_query_destroy(a);
    cairn_logql_query_destroy(b);
    return 0;
}
