/* store_wal_test.c -- WAL write and replay, torn tail cut (the file is truncated
 * there, everything before is kept), a damaged record skipped (the rest is kept), rotation, group commit under
 * concurrent appenders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <pthread.h>
#include <cmocka.h>

#include "store/store_int.h"
#include "testutil.h"

struct seen {
    int n;
    int ids[20000];
    uint64_t seqs[20000];
};

/* Records look like the store's ENTRIES records (type 2, tenant "fake" first), so
 * replay can resynchronise on them after a damaged one; the rest of the payload is
 * the id followed by id%50 copies of 'x'. */
#define PRE 5 /* uvarint 4, "fake" */

static int collect(void *ctx, uint64_t seq, uint8_t type, const unsigned char *p, uint32_t n)
{
    struct seen *s = ctx;
    assert_int_equal(type, CAIRN__WAL_ENTRIES);
    assert_true(n >= PRE + 4);
    assert_memory_equal(p, "\x04" "fake", PRE);
    p += PRE;
    n -= PRE;
    int id = (int)cairn_get_u32le(p);
    assert_int_equal(n, 4 + id % 50);
    for (uint32_t i = 4; i < n; i++)
        assert_int_equal(p[i], 'x');
    s->seqs[s->n] = seq;
    s->ids[s->n++] = id;
    return 0;
}

static void rec(struct cairn_buf *b, int id)
{
    unsigned char p[64 + PRE];
    memcpy(p, "\x04" "fake", PRE);
    p[PRE + 0] = (unsigned char)id;
    p[PRE + 1] = (unsigned char)(id >> 8);
    p[PRE + 2] = (unsigned char)(id >> 16);
    p[PRE + 3] = (unsigned char)(id >> 24);
    memset(p + PRE + 4, 'x', (size_t)(id % 50));
    assert_int_equal(cairn__rec_append(b, CAIRN__WAL_ENTRIES, p, PRE + 4 + (size_t)(id % 50)), 0);
}

static char *wal_file(const char *dir, uint64_t seq)
{
    static char path[4200];
    snprintf(path, sizeof path, "%s/wal/%016llx.wal", dir, (unsigned long long)seq);
    return path;
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Write records 0..n-1, one append each; returns the file's record offsets. */
static void write_n(const char *dir, int n, enum cairn_fsync_policy pol, size_t *offs)
{
    struct cairn__wal *w = cairn__wal_open(dir, pol, 1000000, 1 << 30, NULL, NULL, 1);
    assert_non_null(w);
    struct cairn_buf b = CAIRN_BUF_INIT;
    size_t off = CAIRN__FILE_HDR;
    for (int i = 0; i < n; i++) {
        cairn_buf_reset(&b);
        rec(&b, i);
        if (offs)
            offs[i] = off;
        off += b.len;
        assert_int_equal(cairn__wal_append(w, b.data, b.len), 0);
    }
    uint64_t bytes, fsyncs, records;
    cairn__wal_stats(w, &bytes, &fsyncs, &records);
    assert_int_equal(records, n);
    if (pol == CAIRN_FSYNC_ALWAYS)
        assert_true(fsyncs >= 1);
    cairn_buf_deinit(&b);
    cairn__wal_close(w, 1);
    assert_int_equal(file_size(wal_file(dir, 1)), (off_t)off);
}

static void wal_write_replay(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("wal");
    write_n(dir, 300, CAIRN_FSYNC_ALWAYS, NULL);
    struct seen *s = calloc(1, sizeof *s);
    uint64_t max;
    assert_int_equal(cairn__wal_replay(dir, collect, s, &max), 0);
    assert_int_equal(max, 1);
    assert_int_equal(s->n, 300);
    for (int i = 0; i < 300; i++)
        assert_int_equal(s->ids[i], i);
    free(s);
    test_rmdir_r(dir);
    free(dir);
}

static void wal_torn_tail_is_cut(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("wal");
    size_t offs[100];
    write_n(dir, 100, CAIRN_FSYNC_NEVER, offs);
    /* tear the last record in the middle */
    const char *path = wal_file(dir, 1);
    off_t full = file_size(path);
    assert_int_equal(truncate(path, (off_t)offs[99] + 5), 0);
    struct seen *s = calloc(1, sizeof *s);
    uint64_t max;
    assert_int_equal(cairn__wal_replay(dir, collect, s, &max), 0);
    assert_int_equal(s->n, 99);
    assert_int_equal(file_size(path), (off_t)offs[99]); /* cut at the torn record */
    assert_true(full > (off_t)offs[99]);
    /* a second replay sees a clean file */
    s->n = 0;
    assert_int_equal(cairn__wal_replay(dir, collect, s, &max), 0);
    assert_int_equal(s->n, 99);
    free(s);
    test_rmdir_r(dir);
    free(dir);
}

/* A damaged record in the middle costs that record only: replay resynchronises on
 * the next valid one and the file is left as it is (no cut). */
static void wal_corrupt_byte_loses_only_its_record(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("wal");
    size_t offs[100];
    write_n(dir, 100, CAIRN_FSYNC_INTERVAL, offs);
    const char *path = wal_file(dir, 1);
    off_t full = file_size(path);
    size_t len;
    char *data = test_read_file(path, &len);
    assert_non_null(data);
    data[offs[60] + CAIRN__REC_HDR + 1] ^= 0x55; /* inside record 60's payload */
    data[offs[80] + 2] ^= 0x55;                  /* record 80's length */
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    free(data);
    struct seen *s = calloc(1, sizeof *s);
    uint64_t max;
    assert_int_equal(cairn__wal_replay(dir, collect, s, &max), 0);
    assert_int_equal(s->n, 98);
    for (int i = 0, k = 0; i < 100; i++)
        if (i != 60 && i != 80)
            assert_int_equal(s->ids[k++], i);
    assert_int_equal(file_size(path), full);
    free(s);
    test_rmdir_r(dir);
    free(dir);
}

static int rotate_cb(void *ctx, struct cairn_buf *out)
{
    int *calls = ctx;
    (*calls)++;
    rec(out, 1000000 + *calls); /* every file starts with a marker record */
    return 0;
}

static void wal_rotation_and_checkpoint(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("wal");
    int calls = 0;
    struct cairn__wal *w = cairn__wal_open(dir, CAIRN_FSYNC_NEVER, 0, 4096, rotate_cb, &calls, 1);
    assert_non_null(w);
    struct cairn_buf b = CAIRN_BUF_INIT;
    for (int i = 0; i < 500; i++) {
        cairn_buf_reset(&b);
        rec(&b, i);
        assert_int_equal(cairn__wal_append(w, b.data, b.len), 0);
    }
    uint64_t last = cairn__wal_seq(w);
    assert_true(last > 3);
    assert_int_equal((uint64_t)calls, last); /* one marker per file */
    cairn__wal_close(w, 1);
    struct seen *s = calloc(1, sizeof *s);
    uint64_t max;
    assert_int_equal(cairn__wal_replay(dir, collect, s, &max), 0);
    assert_int_equal(max, last);
    int data = 0;
    for (int i = 0; i < s->n; i++)
        if (s->ids[i] < 1000000)
            assert_int_equal(s->ids[i], data++);
    assert_int_equal(data, 500);
    /* checkpoint: drop files below 3 */
    w = cairn__wal_open(dir, CAIRN_FSYNC_NEVER, 0, 4096, NULL, NULL, last + 1);
    assert_int_equal(cairn__wal_remove_below(w, 3), 0);
    cairn__wal_close(w, 0);
    assert_int_equal(file_size(wal_file(dir, 1)), -1);
    assert_int_equal(file_size(wal_file(dir, 2)), -1);
    assert_true(file_size(wal_file(dir, 3)) > 0);
    cairn_buf_deinit(&b);
    free(s);
    test_rmdir_r(dir);
    free(dir);
}

struct gc {
    struct cairn__wal *w;
    int base;
};

static void *gc_thread(void *arg)
{
    struct gc *g = arg;
    struct cairn_buf b = CAIRN_BUF_INIT;
    for (int i = 0; i < 200; i++) {
        cairn_buf_reset(&b);
        rec(&b, g->base + i);
        if (cairn__wal_append(g->w, b.data, b.len))
            break;
    }
    cairn_buf_deinit(&b);
    return NULL;
}

static void wal_group_commit_concurrent(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("wal");
    struct cairn__wal *w = cairn__wal_open(dir, CAIRN_FSYNC_ALWAYS, 0, 1 << 30, NULL, NULL, 1);
    assert_non_null(w);
    pthread_t th[4];
    struct gc g[4];
    for (int i = 0; i < 4; i++) {
        g[i] = (struct gc){w, i * 1000};
        pthread_create(&th[i], NULL, gc_thread, &g[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    uint64_t bytes, fsyncs, records;
    cairn__wal_stats(w, &bytes, &fsyncs, &records);
    assert_int_equal(records, 800);
    assert_true(fsyncs >= 1 && fsyncs <= 800);
    cairn__wal_close(w, 1);
    struct seen *s = calloc(1, sizeof *s);
    uint64_t max;
    assert_int_equal(cairn__wal_replay(dir, collect, s, &max), 0);
    assert_int_equal(s->n, 800);
    /* each writer's records are in its own order */
    int next[4] = {0, 0, 0, 0};
    for (int i = 0; i < s->n; i++) {
        int t = s->ids[i] / 1000;
        assert_int_equal(s->ids[i] % 1000, next[t]++);
    }
    free(s);
    test_rmdir_r(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wal_write_replay),
        cmocka_unit_test(wal_torn_tail_is_cut),
        cmocka_unit_test(wal_corrupt_byte_loses_only_its_record),
        cmocka_unit_test(wal_rotation_and_checkpoint),
        cmocka_unit_test(wal_group_commit_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
