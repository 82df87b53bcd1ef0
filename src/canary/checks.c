/* checks.c -- the canary's periodic checks, each on its own thread so a slow query
 * in one never delays another (loki-canary runs them as goroutines):
 *
 *   prune        every -pruneinterval: lines not seen on the tail within -wait are
 *                queried for over [oldest - 10 s, newest + 10 s] (the clock slack
 *                loki-canary allows); those still absent after -max-wait are missing.
 *   spot check   every -spot-check-query-rate: each kept line (one per
 *                -spot-check-interval, for -spot-check-max) older than
 *                -spot-check-initial-wait is queried back over its own +-10 s.
 *   metric test  every -metric-test-interval (the first at a random point of it):
 *                count_over_time over -metric-test-range (or the canary's run time,
 *                if shorter) against range / interval lines expected. */
#include <stdlib.h>
#include <sys/random.h>

#include "canary/canary_int.h"
#include "cairn/log.h"
#include "cairn/timeutil.h"

#define SLACK_NS (10LL * 1000000000LL)

static int contains(const int64_t *v, size_t n, int64_t ts)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == ts)
            return 1;
    return 0;
}

/* One round of a check, with the thread's own connection to the store. */
typedef void (*check_fn)(struct cairn_canary *c, struct cairn__canary_http *h);

/* Run fn first at first (monotonic), then every interval, until the canary stops. */
static void run_every(struct cairn_canary *c, const char *what, int64_t first, int64_t interval,
                      check_fn fn)
{
    struct cairn__canary_http h;
    if (cairn__canary_http_init(c, &h)) {
        CAIRN_ERROR("canary", "out of memory: a check does not run", "check=%s", what);
        return;
    }
    int64_t next = first;
    while (!cairn__canary_sleep_until(c, next)) {
        next += interval;
        fn(c, &h);
    }
    cairn__canary_http_deinit(&h);
}

static void prune_round(struct cairn_canary *c, struct cairn__canary_http *h)
{
    int64_t oldest = 0, newest = 0;
    size_t n = cairn__canary_cmp_prune(&c->cmp, cairn_now_ns(), &oldest, &newest);
    if (!n)
        return;
    int64_t *found = NULL;
    size_t nf = 0;
    if (cairn__canary_query_range(c, h, oldest - SLACK_NS, newest + SLACK_NS, &found, &nf))
        nf = 0; /* the store did not answer: nothing found, but the clock still runs out */
    cairn__canary_cmp_confirm(&c->cmp, found, nf, cairn_now_ns());
    free(found);
}

static void spot_round(struct cairn_canary *c, struct cairn__canary_http *h)
{
    int64_t *due = NULL;
    size_t n = 0;
    int64_t now = cairn_now_ns();
    if (cairn__canary_cmp_spot_due(&c->cmp, now, &due, &n))
        return;
    for (size_t i = 0; i < n; i++) {
        int64_t *found = NULL;
        size_t nf = 0;
        int64_t t0 = cairn_mono_ns();
        int rc = cairn__canary_query_range(c, h, due[i] - SLACK_NS, due[i] + SLACK_NS, &found,
                                           &nf);
        cairn__canary_observe(&c->m, &c->m.spot_duration, (double)(cairn_mono_ns() - t0) / 1e9);
        if (rc) /* as loki-canary: an error ends this round and counts nothing */
            break;
        c->m.spot_entries++;
        if (!contains(found, nf, due[i])) {
            c->m.spot_missing++;
            CAIRN_WARN("canary", "spot check: entry not found", "ts=%lld age=%.3fs",
                       (long long)due[i], (double)(now - due[i]) / 1e9);
        }
        free(found);
    }
    free(due);
}

static void metric_round(struct cairn_canary *c, struct cairn__canary_http *h)
{
    int64_t now = cairn_now_ns();
    int64_t range = c->cfg.metric_range_ns;
    if (now - range < c->start_ns)
        range = now - c->start_ns;
    int64_t range_s = (range + 500000000LL) / 1000000000LL;
    if (range_s < 1)
        return;
    double actual = 0;
    int64_t t0 = cairn_mono_ns();
    int rc = cairn__canary_count_over_time(c, h, range_s, now, &actual);
    cairn__canary_observe(&c->m, &c->m.metric_duration, (double)(cairn_mono_ns() - t0) / 1e9);
    if (rc)
        return;
    double expected = (double)range / (double)c->cfg.interval_ns;
    cairn__canary_metric_test_set(&c->m, expected, actual);
    CAIRN_INFO("canary", "metric test", "range=%llds expected=%.1f actual=%.0f",
               (long long)range_s, expected, actual);
}

void *cairn__canary_prune_main(void *arg)
{
    struct cairn_canary *c = arg;
    int64_t iv = c->cfg.prune_interval_ns;
    run_every(c, "prune", cairn_mono_ns() + iv, iv, prune_round);
    return NULL;
}

void *cairn__canary_spot_main(void *arg)
{
    struct cairn_canary *c = arg;
    int64_t iv = c->cfg.spot_query_rate_ns;
    run_every(c, "spot check", cairn_mono_ns() + iv, iv, spot_round);
    return NULL;
}

void *cairn__canary_metric_main(void *arg)
{
    struct cairn_canary *c = arg;
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = (uint64_t)cairn_mono_ns();
    /* the first run at a random point of the interval, so canaries started together
     * do not query together */
    int64_t iv = c->cfg.metric_interval_ns;
    run_every(c, "metric test", cairn_mono_ns() + (iv > 1 ? (int64_t)(r % (uint64_t)iv) : 0), iv,
              metric_round);
    return NULL;
}
