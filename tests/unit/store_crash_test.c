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

int main(void)
{
    cairn_log_set_level(CAIRN_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sigkill_mid_append),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
