/* store_crash_test.c -- SIGKILL a process in the middle of appending (with evictions,
 * WAL rotations and checkpoints going on), reopen the directory: every acknowledged
 * entry is there exactly once, nothing else but the one batch in flight. */
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "cairn/log.h"
#include "cairn/store.h"
#include "cairn/store_read.h"
#include "cairn/timeutil.h"
#include "store/store_int.h"
#include "testutil.h"

#define BATCH 50     /* entries per batch */
#define MAXB 100000  /* batches the child may push before it is killed */
#define STREAMS 7
#define SEC_NS 1000000000LL

static void config(struct cairn_store_config *cfg, const char *dir)
{
    cairn_store_config_default(cfg);
    cfg->data_dir = dir;
    cfg->fsync = CAIRN_FSYNC_NEVER; /* kill -9 keeps the page cache: still durable */
    cfg->head_budget = 128 * 1024;
    cfg->block_target_raw = 16 * 1024;
    cfg->wal_file_max = 64 * 1024;
}

/* Batch b goes to stream b % STREAMS; entry k has ts base + b*BATCH + k and a line
 * naming both, so the reader can tell exactly which entries came back. */
static void child(const char *dir, int fd, int64_t base)
{
    struct cairn_store_config cfg;
    config(&cfg, dir);
    struct cairn_err err;
    struct cairn_store *s = cairn_store_open(&cfg, &err);
    if (!s)
        _exit(2);
    struct cairn_labels ls;
    cairn_labels_init(&ls);
    struct cairn_entry e[BATCH];
    char lines[BATCH][48];
    for (int b = 0; b < MAXB; b++) {
        char v[8];
        snprintf(v, sizeof v, "%d", b % STREAMS);
        cairn_labels_reset(&ls);
        cairn_labels_add(&ls, "s", 1, v, strlen(v));
        for (int k = 0; k < BATCH; k++) {
            int l = snprintf(lines[k], sizeof lines[k], "batch %d entry %d", b, k);
            e[k] = (struct cairn_entry){base + (int64_t)b * BATCH + k, lines[k], (size_t)l};
        }
        struct cairn_push_stream ps = {.labels = &ls, .entries = e, .n = BATCH};
        if (cairn_store_append(s, "fake", &ps, 1) || ps.rejected)
            _exit(3);
        /* acknowledged: tell the parent */
        if (write(fd, &b, sizeof b) != sizeof b)
            _exit(4);
        if (b % 97 == 0)
            cairn__store_maint(s, cairn_now_ns()); /* checkpoints while we go */
    }
    _exit(0);
}

static void sigkill_mid_append(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("crash");
    int64_t base = cairn_now_ns();
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        child(dir, pfd[1], base);
    }
    close(pfd[1]);
    int acked = -1, b;
    /* let it run through a good number of rotations, then kill it mid-stride */
    while (acked < 1500 && read(pfd[0], &b, sizeof b) == sizeof b)
        acked = b;
    kill(pid, SIGKILL);
    while (read(pfd[0], &b, sizeof b) == sizeof b)
        acked = b;
    close(pfd[0]);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));
    assert_true(acked >= 1500);

    struct cairn_store_config cfg;
    config(&cfg, dir);
    struct cairn_err err;
    struct cairn_store *s = cairn_store_open(&cfg, &err);
    assert_non_null(s);
    int nb = acked + 2;
    unsigned char *seen = calloc((size_t)nb * BATCH, 1);
    struct cairn_entry_iter it;
    assert_int_equal(cairn_store_iter_init(&it, s, "fake", NULL, base, base + (int64_t)MAXB * BATCH,
                                           CAIRN_ITER_FORWARD, 0),
                     0);
    uint32_t sid;
    struct cairn_entry e;
    int r;
    while ((r = cairn_store_iter_next(&it, &sid, &e)) == 1) {
        int bb, kk;
        char line[64];
        assert_true(e.len < sizeof line);
        memcpy(line, e.line, e.len);
        line[e.len] = '\0';
        assert_int_equal(sscanf(line, "batch %d entry %d", &bb, &kk), 2);
        assert_true(bb <= acked + 1); /* at most the batch in flight beyond the acks */
        assert_int_equal(e.ts, base + (int64_t)bb * BATCH + kk);
        assert_int_equal(seen[bb * BATCH + kk], 0); /* exactly once */
        seen[bb * BATCH + kk] = 1;
    }
    assert_int_equal(r, 0);
    cairn_store_iter_deinit(&it);
    for (int i = 0; i <= acked; i++)
        for (int k = 0; k < BATCH; k++)
            if (!seen[i * BATCH + k])
                fail_msg("acknowledged entry lost: batch %d entry %d", i, k);
    free(seen);
    cairn_store_close(s);
    test_rmdir_r(dir);
    free(dir);
}

/* Regression: concurrent pushes to one stream can reach the WAL in another order than
 * their sequence numbers. Replay used to insert them in WAL order; a block cut in the
 * middle then claimed the lower numbers as flushed and the late record was skipped. */
static void entries_record(struct cairn_buf *b, uint32_t sid, uint64_t first, int n,
                           int64_t base)
{
    size_t at = cairn__rec_begin(b, CAIRN__WAL_ENTRIES);
    cairn_buf_append_uvarint(b, 4);
    cairn_buf_append(b, "fake", 4);
    cairn_buf_append_u32le(b, sid);
    cairn_buf_append_uvarint(b, first);
    int64_t prev = 0;
    for (int i = 0; i < n; i++) {
        char line[64];
        int64_t ts = base + (int64_t)(first + (uint64_t)i) * 1000;
        int l = snprintf(line, sizeof line, "entry %llu with some padding to fill blocks",
                         (unsigned long long)(first + (uint64_t)i));
        cairn_buf_append_varint(b, ts - prev);
        prev = ts;
        cairn_buf_append_uvarint(b, (uint64_t)l);
        cairn_buf_append(b, line, (size_t)l);
    }
    cairn__rec_finish(b, at);
}

static void replay_of_reordered_records_keeps_all(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("crash");
    int64_t base = cairn_now_ns();
    struct cairn_labels ls;
    cairn_labels_init(&ls);
    cairn_labels_add(&ls, "job", 3, "x", 1);
    struct cairn_buf txt = CAIRN_BUF_INIT, b = CAIRN_BUF_INIT;
    cairn_labels_format(&ls, &txt);
    assert_int_equal(cairn__wal_stream_record(&b, "fake", 1, cairn_labels_fingerprint(&ls),
                                              txt.data, txt.len),
                     0);
    entries_record(&b, 1, 100, 100, base); /* written first, numbered second */
    entries_record(&b, 1, 0, 100, base);
    struct cairn__wal *w = cairn__wal_open(dir, CAIRN_FSYNC_NEVER, 0, 1 << 30, NULL, NULL, 1);
    assert_non_null(w);
    assert_int_equal(cairn__wal_append(w, b.data, b.len), 0);
    cairn__wal_close(w, 1);
    struct cairn_store_config cfg;
    config(&cfg, dir);
    cfg.block_target_raw = 2048; /* blocks are cut during replay */
    struct cairn_err err;
    for (int pass = 0; pass < 2; pass++) { /* and again after a crash right after replay */
        struct cairn_store *s = cairn_store_open(&cfg, &err);
        assert_non_null(s);
        struct cairn_entry_iter it;
        assert_int_equal(cairn_store_iter_init(&it, s, "fake", NULL, base, base + SEC_NS,
                                               CAIRN_ITER_FORWARD, 0),
                         0);
        uint32_t sid;
        struct cairn_entry e;
        int64_t n = 0;
        while (cairn_store_iter_next(&it, &sid, &e) == 1) {
            assert_int_equal(e.ts, base + n * 1000);
            n++;
        }
        cairn_store_iter_deinit(&it);
        assert_int_equal(n, 200);
        cairn_store_abandon(s);
    }
    cairn_buf_deinit(&b);
    cairn_buf_deinit(&txt);
    cairn_labels_deinit(&ls);
    test_rmdir_r(dir);
    free(dir);
}

int main(void)
{
    cairn_log_set_level(CAIRN_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sigkill_mid_append),
        cmocka_unit_test(replay_of_reordered_records_keeps_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
