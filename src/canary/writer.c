/* writer.c -- the canary's writer thread: every interval one line "<unix ns> ppp..."
 * of -size bytes (newline included), recorded as sent, then written to stdout for an
 * agent to ship or queued on the push client. -out-of-order-percentage of the lines
 * carry a timestamp -out-of-order-min..max in the past, as loki-canary's do. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "canary/canary_int.h"
#include "cairn/log.h"
#include "cairn/timeutil.h"

/* xorshift64*: the out-of-order draw only needs to be spread, not secret. */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ULL;
}

void *cairn__canary_writer_main(void *arg)
{
    struct cairn_canary *c = arg;
    uint64_t seed;
    if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed || !seed)
        seed = (uint64_t)cairn_mono_ns() | 1;
    char line[64];
    struct cairn_buf b = CAIRN_BUF_INIT; /* a pushed line, reused */
    int64_t next = cairn_mono_ns() + c->cfg.interval_ns;
    while (!cairn__canary_sleep_until(c, next)) {
        next += c->cfg.interval_ns;
        int64_t now = cairn_mono_ns();
        if (next < now) /* fell behind (a stalled push): skip, do not burst */
            next = now + c->cfg.interval_ns;
        int64_t ts = cairn_now_ns();
        if (c->cfg.ooo_percentage > 0 &&
            (int)(next_rand(&seed) % 100) < c->cfg.ooo_percentage) {
            int64_t span = c->cfg.ooo_max_ns - c->cfg.ooo_min_ns;
            int64_t back = c->cfg.ooo_min_ns;
            if (span > 0) /* whole seconds, as loki-canary draws them */
                back += (int64_t)(next_rand(&seed) % (uint64_t)(span / 1000000000LL + 1)) *
                        1000000000LL;
            ts -= back;
        }
        int tl = snprintf(line, sizeof line, "%lld", (long long)ts);
        /* padding: size minus the timestamp, the space and the newline */
        size_t pad = c->cfg.size > tl + 2 ? (size_t)(c->cfg.size - tl - 2) : 0;
        if (cairn__canary_cmp_sent(&c->cmp, ts)) {
            CAIRN_WARN("canary", "out of memory: a line was not written", "ts=%lld",
                       (long long)ts);
            continue;
        }
        if (c->push) {
            cairn_buf_reset(&b);
            int rc = cairn_buf_appendf(&b, "%s %.*s", line, (int)pad, c->pad);
            if (!rc)
                rc = cairn_push_entry_str(c->push, NULL, c->labels, strlen(c->labels), ts,
                                          b.data, b.len);
            if (rc && rc != CAIRN_EAGAIN)
                CAIRN_WARN("canary", "cannot queue a line for push", "ts=%lld err=%s",
                           (long long)ts, cairn_strerror(rc));
        } else {
            if (fprintf(c->out, "%s %.*s\n", line, (int)pad, c->pad) < 0 || fflush(c->out))
                CAIRN_WARN("canary", "failed to write log entry", "ts=%lld", (long long)ts);
        }
    }
    cairn_buf_deinit(&b);
    return NULL;
}
