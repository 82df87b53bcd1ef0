/* metric_fn.c -- the range functions over one window of samples, with Loki's
 * arithmetic (incremental mean, Welford variance, Prometheus quantile interpolation,
 * and Loki's extrapolated counter rate over nanosecond timestamps). */
#include <math.h>
#include <stdlib.h>

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
