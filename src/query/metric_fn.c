/* metric_fn.c -- the range functions over one window of samples, with Loki's
 * arithmetic (incremental mean, Welford variance, Prometheus quantile interpolation,
 * and Loki's extrapolated counter rate over nanosecond timestamps); absent_over_time's
 * labels and the pipeline error a series carrying __error__ raises. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metric_int.h"

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    /* NaN first, as Go's sort of a float heap by Less(x<y || isNaN(x)) leaves it */
    if (isnan(x))
        return isnan(y) ? 0 : -1;
    if (isnan(y))
        return 1;
    return x < y ? -1 : x > y;
}

/* Prometheus' quantile: linear interpolation between the closest ranks. */
static double quantile(double q, double *vals, size_t n)
{
    if (n == 0)
        return NAN;
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    qsort(vals, n, sizeof *vals, dbl_cmp);
    double fn = (double)n;
    double rank = q * (fn - 1);
    double lower = fmax(0, floor(rank));
    double upper = fmin(fn - 1, lower + 1);
    double weight = rank - floor(rank);
    return vals[(size_t)lower] * (1 - weight) + vals[(size_t)upper] * weight;
}

/* Loki's rate_counter: Prometheus' extrapolatedRate(isCounter, isRate) as Loki runs
 * it, on nanosecond timestamps with the range start taken as the first sample minus
 * the range in milliseconds. */
static double counter_rate(const struct cairn__msample *s, size_t n, int64_t range_ns)
{
    if (n < 2)
        return 0;
    int64_t range_ms = range_ns / 1000000;
    int64_t range_start = s[0].ts - range_ms;
    int64_t range_end = s[n - 1].ts;
    double result = s[n - 1].v - s[0].v;
    double last = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i].v < last)
            result += last;
        last = s[i].v;
    }
    double to_start = (double)(s[0].ts - range_start) / 1000;
    double to_end = (double)(range_end - s[n - 1].ts) / 1000;
    double sampled = (double)(s[n - 1].ts - s[0].ts) / 1000;
    double avg_between = sampled / (double)(n - 1);
    if (result > 0 && s[0].v >= 0) {
        double to_zero = sampled * (s[0].v / result);
        if (to_zero < to_start)
            to_start = to_zero;
    }
    double threshold = avg_between * 1.1;
    double interval = sampled;
    interval += to_start < threshold ? to_start : avg_between / 2;
    interval += to_end < threshold ? to_end : avg_between / 2;
    result = result * (interval / sampled);
    return result / ((double)range_ns / 1e9);
}

double cairn__mfn_window(enum cairn_lq_range_op op, int has_unwrap, double param, int64_t range_ns,
                         const struct cairn__msample *s, size_t n, double *scratch)
{
    double secs = (double)range_ns / 1e9;
    double acc = 0, mean = 0, count = 0, aux = 0;
    switch (op) {
    case CAIRN_LQ_COUNT_OVER_TIME:
        return (double)n;
    case CAIRN_LQ_RATE:
        if (!has_unwrap)
            return (double)n / secs;
        for (size_t i = 0; i < n; i++)
            acc += s[i].v;
        return acc / secs;
    case CAIRN_LQ_BYTES_RATE:
        for (size_t i = 0; i < n; i++)
            acc += s[i].v;
        return acc / secs;
    case CAIRN_LQ_BYTES_OVER_TIME:
    case CAIRN_LQ_SUM_OVER_TIME:
        for (size_t i = 0; i < n; i++)
            acc += s[i].v;
        return acc;
    case CAIRN_LQ_RATE_COUNTER:
        return counter_rate(s, n, range_ns);
    case CAIRN_LQ_AVG_OVER_TIME:
        for (size_t i = 0; i < n; i++) {
            double v = s[i].v;
            count++;
            if (isinf(mean)) {
                if (isinf(v) && (mean > 0) == (v > 0))
                    continue;
                if (!isinf(v) && !isnan(v))
                    continue;
            }
            mean += v / count - mean / count;
        }
        return mean;
    case CAIRN_LQ_MAX_OVER_TIME:
        acc = s[0].v;
        for (size_t i = 0; i < n; i++)
            if (s[i].v > acc || isnan(acc))
                acc = s[i].v;
        return acc;
    case CAIRN_LQ_MIN_OVER_TIME:
        acc = s[0].v;
        for (size_t i = 0; i < n; i++)
            if (s[i].v < acc || isnan(acc))
                acc = s[i].v;
        return acc;
    case CAIRN_LQ_STDVAR_OVER_TIME:
    case CAIRN_LQ_STDDEV_OVER_TIME:
        for (size_t i = 0; i < n; i++) {
            count++;
            double delta = s[i].v - mean;
            mean += delta / count;
            aux += delta * (s[i].v - mean);
        }
        return op == CAIRN_LQ_STDVAR_OVER_TIME ? aux / count : sqrt(aux / count);
    case CAIRN_LQ_QUANTILE_OVER_TIME:
        for (size_t i = 0; i < n; i++)
            scratch[i] = s[i].v;
        return quantile(param, scratch, n);
    case CAIRN_LQ_FIRST_OVER_TIME:
        return n ? s[0].v : NAN;
    case CAIRN_LQ_LAST_OVER_TIME:
        return n ? s[n - 1].v : NAN;
    case CAIRN_LQ_ABSENT_OVER_TIME:
        return 1;
    }
    return NAN;
}

/* Loki's labels for absent_over_time: each equality matcher's label, except names
 * that appear in another matcher after it or with another operator. */
int cairn__mabsent_labels(const struct cairn_lq_expr *log, struct cairn__mlb *lb, struct cairn_buf *out)
{
    lb->n = 0;
    for (size_t i = 0; i < log->nmatchers; i++) {
        const struct cairn_matcher *m = &log->matchers[i];
        if (m->type == CAIRN_MATCH_EQ && !cairn__mlb_get(lb, m->name, m->name_len)) {
            int rc = cairn__mlb_set(lb, m->name, m->name_len, m->value, m->value_len);
            if (rc)
                return rc;
        }
    }
    /* the "empty" list: matchers that were not the first equality on their name */
    for (size_t i = 0; i < log->nmatchers; i++) {
        const struct cairn_matcher *m = &log->matchers[i];
        int first_eq = m->type == CAIRN_MATCH_EQ;
        for (size_t j = 0; j < i && first_eq; j++)
            if (log->matchers[j].type == CAIRN_MATCH_EQ && log->matchers[j].name_len == m->name_len &&
                memcmp(log->matchers[j].name, m->name, m->name_len) == 0)
                first_eq = 0;
        if (!first_eq)
            cairn__mlb_del(lb, m->name, m->name_len);
    }
    return cairn__mlb_finish(lb, out);
}

int cairn__mpipeline_error(struct cairn__mctx *c, const struct cairn__mval *v)
{
    for (size_t i = 0; i < v->n; i++) {
        size_t el;
        const char *err = cairn__mlab_get(v->s[i].lab.p, v->s[i].lab.len, "__error__", 9, &el);
        if (!err)
            continue;
        struct cairn_buf t = CAIRN_BUF_INIT;
        if (cairn__mlab_text(v->s[i].lab.p, v->s[i].lab.len, &t)) {
            cairn_buf_deinit(&t);
            return CAIRN_ENOMEM;
        }
        cairn_err_set(c->err, CAIRN_EINVAL,
                      "pipeline error: '%.*s' for series: '%s'.\n"
                      "Use a label filter to intentionally skip this error. (e.g | __error__!=\"%.*s\").\n"
                      "To skip all potential errors you can match empty errors.(e.g __error__=\"\")\n"
                      "The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__=\"\" )\n",
                      (int)el, err, cairn_buf_cstr(&t), (int)el, err);
        cairn_buf_deinit(&t);
        return CAIRN_EINVAL;
    }
    return 0;
}
