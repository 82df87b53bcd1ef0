/* store_window_test.c -- the out-of-order window means what it says (issue 10,
 * finding 9): an entry is refused only when it is older than the newest entry the
 * stream has accepted minus ooo_window, whatever blocks were cut, chunks closed,
 * heads flushed or the store reopened meanwhile, and with several threads pushing
 * one time-ordered corpus in short batches nothing is refused. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cairn/store.h"
#include "cairn/store_read.h"
#include "cairn/timeutil.h"
#include "store/store_int.h"
#include "testutil.h"

#define T0 1767225600000000000LL /* 2026-01-01T00:00:00Z */
#define SEC 1000000000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)

static void small_blocks(struct cairn_store_config *c)
{
    c->block_target_raw = 4096; /* a cut every few dozen entries */
    c->head_budget = 64 * 1024;
    c->codec = CAIRN_CODEC_LZ4;
}

static struct cairn_store *open_store(const char *dir)
{
    struct cairn_store_config cfg;
    cairn_store_config_default(&cfg);
    cfg.data_dir = dir;
    cfg.fsync = CAIRN_FSYNC_NEVER;
    small_blocks(&cfg);
    struct cairn_err err;
    struct cairn_store *s = cairn_store_open(&cfg, &err);
    if (!s)
        fail_msg("open: %s", err.msg);
    return s;
}

/* Push entries at ts[0..n) to {app="w"}; entries refused. */
static size_t push_ts(struct cairn_store *s, const int64_t *ts, size_t n)
{
    struct cairn_labels ls;
    cairn_labels_init(&ls);
    cairn_labels_add(&ls, "app", 3, "w", 1);
    assert_int_equal(cairn_labels_sort(&ls, NULL), 0);
    struct cairn_entry *e = calloc(n, sizeof *e);
    char (*lines)[48] = calloc(n, sizeof *lines);
    assert_non_null(e);
    assert_non_null(lines);
    for (size_t i = 0; i < n; i++) {
        int l = snprintf(lines[i], sizeof lines[i], "entry at %lld", (long long)ts[i]);
        e[i] = (struct cairn_entry){ts[i], lines[i], (size_t)l};
    }
    struct cairn_push_stream ps = {.labels = &ls, .entries = e, .n = n};
    assert_int_equal(cairn_store_append(s, "fake", &ps, 1), 0);
    free(e);
    free(lines);
    cairn_labels_deinit(&ls);
    return ps.rejected;
}

static size_t push_one(struct cairn_store *s, int64_t ts)
{
    return push_ts(s, &ts, 1);
}

/* The boundary, exactly, after every kind of head change. */
static void window_bound_is_newest_minus_window(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("window");
    struct cairn_store *s = open_store(dir);
    int64_t newest = T0 + 5 * HOUR;
    for (int i = 0; i < 200; i++) /* many blocks cut on the way up */
        assert_int_equal(push_one(s, newest - 199 * MIN / 10 + i * MIN / 10), 0);
    for (int round = 0; round < 4; round++) {
        switch (round) {
        case 1: /* every head written out, chunks closed */
            cairn_store_flush(s);
            break;
        case 2: /* a maintenance pass 10 h from now: the stream idle, its chunks closed,
                 * the WAL checkpointed, the (past) period closed with its index file */
            cairn__store_maint(s, cairn_now_ns() + 10 * HOUR);
            assert_int_equal(cairn_store_active_streams(s, "fake"), 0);
            break;
        case 3: /* reopened: the newest timestamp comes back from disk */
            cairn_store_close(s);
            s = open_store(dir);
            break;
        }
        assert_int_equal(push_one(s, newest - HOUR), 0);       /* on the bound: kept */
        assert_int_equal(push_one(s, newest - HOUR - 1), 1);   /* 1 ns past it: refused */
        assert_int_equal(push_one(s, newest - 5 * MIN + round), 0);
    }
    cairn_store_close(s);
    test_rmdir_r(dir);
    free(dir);
}

/* Four threads push one time-ordered corpus, taking the next 5-minute batch each, while
 * blocks are cut and heads flushed. On main a push that slept on the stream's shard
 * lock through a long hold (the first block's period being created, a flush) was
 * overtaken by the other threads' later batches, dozens of them (the mutex lets
 * running threads barge), until it fell out of the 1 h window. Appends now reserve in
 * arrival order. The pushers keep at most WINDOW batches in flight, as an agent bounds
 * its concurrent requests: without that bound a pusher preempted between taking its
 * batch and calling the store (a loaded CI machine) is overtaken by any number of
 * batches before it arrives, and Loki's rule rightly refuses it. */
#define WINDOW 6 /* 30 minutes of batches in flight, half the window */
#define BATCHES 96
#define PER_BATCH 60 /* one entry every 5 s */

struct feed {
    struct cairn_store *s;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int next;
    int done[BATCHES];
    int low; /* the lowest batch not yet done */
    size_t refused;
};

static void *pusher(void *arg)
{
    struct feed *f = arg;
    int64_t ts[PER_BATCH];
    for (;;) {
        pthread_mutex_lock(&f->mu);
        while (f->next < BATCHES && f->next >= f->low + WINDOW)
            pthread_cond_wait(&f->cv, &f->mu);
        int b = f->next++;
        pthread_mutex_unlock(&f->mu);
        if (b >= BATCHES)
            return NULL;
        for (int i = 0; i < PER_BATCH; i++)
            ts[i] = T0 + (int64_t)b * 5 * MIN + i * 5 * SEC;
        size_t r = push_ts(f->s, ts, PER_BATCH);
        pthread_mutex_lock(&f->mu);
        if (r)
            print_message("batch %d refused %zu entries; batches taken meanwhile: up to %d\n", b,
                          r, f->next - 1);
        f->refused += r;
        f->done[b] = 1;
        while (f->low < BATCHES && f->done[f->low])
            f->low++;
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
        if (b % 10 == 0) /* blocks cut and written under the shard locks */
            cairn_store_flush(f->s);
    }
}

static void concurrent_time_ordered_batches_not_refused(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("window");
    struct feed f = {.s = open_store(dir)};
    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.cv, NULL);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, pusher, &f), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(f.refused, 0);
    struct cairn_store_stats st;
    cairn_store_stats(f.s, &st);
    assert_int_equal(st.entries_appended, BATCHES * PER_BATCH);
    pthread_cond_destroy(&f.cv);
    pthread_mutex_destroy(&f.mu);
    cairn_store_close(f.s);
    test_rmdir_r(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(window_bound_is_newest_minus_window),
        cmocka_unit_test(concurrent_time_ordered_batches_not_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
