/* query_range.c -- the time range and step of a `cairn query` range request.
 *
 * Metric range queries are evaluated at start, start+step, ... <= end. With the
 * server's default step (span/250 rounded down to whole seconds) a 6 h query has its
 * last point 14 s before "now", so a count over the last minute right after a push
 * showed nothing. As Grafana does, the client picks the step itself and moves start
 * back (by less than one step) so that end -- usually now -- is a point. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/timeutil.h"
#include "cairn/units.h"
#include "cmd/query_int.h"

#define SEC_NS 1000000000LL

/* A LogQL log query starts with its stream selector; anything else is a metric query. */
int cairn__query_is_metric(const char *q)
{
    while (isspace((unsigned char)*q))
        q++;
    return *q && *q != '{';
}

/* --step: a duration (30s, 1m) or seconds (15, 0.5), as the API takes it. */
static int parse_step(const char *s, int64_t *ns)
{
    if (cairn_parse_duration(s, strlen(s), ns) == 0)
        return *ns > 0 ? 0 : -1;
    char *end;
    double sec = strtod(s, &end);
    if (*end || end == s || !(sec > 0) || sec > 1e9)
        return -1;
    *ns = (int64_t)(sec * 1e9);
    return *ns > 0 ? 0 : -1;
}

int cairn__query_align(const char *query, const char *from, const char *to, const char *step,
                       char *from_out, char *step_out, size_t cap)
{
    int64_t start, end, st;
    if (!cairn__query_is_metric(query) || cairn_parse_i64(from, strlen(from), &start) ||
        cairn_parse_i64(to, strlen(to), &end) || end <= start)
        return 0;
    if (step) {
        if (parse_step(step, &st))
            return 0; /* the server says what is wrong with it */
    } else {
        st = (end - start) / 250 / SEC_NS * SEC_NS; /* the server's default */
        if (st < SEC_NS)
            st = SEC_NS;
    }
    int64_t n = (end - start + st - 1) / st; /* whole steps covering the span */
    snprintf(from_out, cap, "%lld", (long long)(end - n * st));
    if (st % SEC_NS == 0)
        snprintf(step_out, cap, "%lld", (long long)(st / SEC_NS));
    else
        snprintf(step_out, cap, "%lld.%09lld", (long long)(st / SEC_NS),
                 (long long)(st % SEC_NS));
    return 1;
}
