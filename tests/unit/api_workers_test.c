/* api_workers_test.c -- the HTTP server's machinery under server.c: the handler pool
 * runs every queued job exactly once (those queued before a stop included) and refuses
 * jobs once stopping; the reaper shuts down a tracked socket past its deadline, leaves
 * one without a deadline alone, and never touches a socket once it is untracked. */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "api/server_int.h"
#include "cairn/error.h"
#include "cairn/timeutil.h"

struct counted {
    struct cairn__job job;
    _Atomic int *runs;
};

static void count_run(struct cairn__job *j)
{
    struct counted *c = (struct counted *)j;
    usleep(100);
    atomic_fetch_add(c->runs, 1);
}

static void workers_run_every_job_once(void **state)
{
    (void)state;
    enum { N = 500 };
    static struct counted jobs[N];
    _Atomic int runs = 0;
    struct cairn__workers w;
    assert_int_equal(cairn__workers_start(&w, 4), 0);
    for (int i = 0; i < N; i++) {
        jobs[i] = (struct counted){.job = {.run = count_run}, .runs = &runs};
        assert_int_equal(cairn__workers_submit(&w, &jobs[i].job), 0);
    }
    cairn__workers_stop(&w); /* runs what is queued, then joins */
    assert_int_equal(atomic_load(&runs), N);
    assert_int_equal(cairn__workers_submit(&w, &jobs[0].job), CAIRN_EAGAIN);
    cairn__workers_stop(&w); /* idempotent */
    assert_true(cairn__workers_default() >= 8);
}

/* 1 when the peer of fd saw the end of the stream within ms. */
static int peer_closed(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, ms) != 1)
        return 0;
    char c;
    return recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

static void reaper_enforces_deadlines(void **state)
{
    (void)state;
    int late[2], none[2], gone[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, late), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, none), 0);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, gone), 0);
    struct cairn__reaper r;
    assert_int_equal(cairn__reaper_start(&r), 0);
    struct cairn__tracked tl = {0}, tn = {0}, tg = {0};
    cairn__reaper_add(&r, &tl, late[0]);
    cairn__reaper_add(&r, &tn, none[0]);
    cairn__reaper_add(&r, &tg, gone[0]);
    assert_int_equal(cairn__reaper_count(&r), 3);
    cairn__tracked_deadline(&tn, 0);
    cairn__tracked_deadline(&tg, cairn_mono_ns() - 1);
    cairn__reaper_remove(&r, &tg); /* untracked before its deadline was seen */
    cairn__tracked_deadline(&tl, cairn_mono_ns() + 100000000LL);
    assert_true(peer_closed(late[1], 10000));
    /* the reaper counts after shutdown(), under its lock: wait for that round to end */
    pthread_mutex_lock(&r.mu);
    pthread_mutex_unlock(&r.mu);
    assert_int_equal(atomic_load(&r.reaped), 1);
    assert_false(peer_closed(none[1], 600)); /* two reaper rounds: no deadline, no end */
    assert_false(peer_closed(gone[1], 0));
    cairn__reaper_remove(&r, &tl);
    cairn__reaper_remove(&r, &tl); /* twice is harmless */
    cairn__reaper_remove(&r, &tn);
    assert_int_equal(cairn__reaper_count(&r), 0);
    cairn__reaper_stop(&r);
    cairn__reaper_stop(&r);
    for (int i = 0; i < 2; i++) {
        close(late[i]);
        close(none[i]);
        close(gone[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(workers_run_every_job_once),
        cmocka_unit_test(reaper_enforces_deadlines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
