/* store_engine_test.c -- the store through its public API: append and read back,
 * reopen after close, replay after a simulated crash (exactly once), out-of-order
 * window and duplicates, head cut under the memory budget, postings and label values,
 * retention of whole periods, column-only and backward iteration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "cairn/fs.h"
#include "cairn/objstore.h"
#include "cairn/store.h"
#include "cairn/store_read.h"
#include "cairn/log.h"
#include "cairn/timeutil.h"
#include "store/store_int.h"
#include "testutil.h"

#define T0 1767225600000000000LL /* 2026-01-01T00:00:00Z */
#define SEC 1000000000LL
#define HOUR (3600 * SEC)

static struct cairn_store *open_store(const char *dir, void (*tweak)(struct cairn_store_config *))
{
    struct cairn_store_config cfg;
    cairn_store_config_default(&cfg);
    cfg.data_dir = dir;
    cfg.fsync = CAIRN_FSYNC_NEVER;
    if (tweak)
        tweak(&cfg);
    struct cairn_err err;
    struct cairn_store *s = cairn_store_open(&cfg, &err);
    if (!s)
        fail_msg("open: %s", err.msg);
    return s;
}

/* Push n entries to stream {app=<app>, pod=<pod>} with ts = base + i*step, line
 * "<app>/<pod> line <i>". Returns entries rejected. */
static size_t push(struct cairn_store *s, const char *tenant, const char *app, int pod,
                   int64_t base, int64_t step, int n)
{
    struct cairn_labels ls;
    cairn_labels_init(&ls);
    char pv[16];
    snprintf(pv, sizeof pv, "%d", pod);
    cairn_labels_add(&ls, "app", 3, app, strlen(app));
    cairn_labels_add(&ls, "pod", 3, pv, strlen(pv));
    assert_int_equal(cairn_labels_sort(&ls, NULL), 0);
    struct cairn_entry *e = calloc((size_t)n, sizeof *e);
    char **lines = calloc((size_t)n, sizeof *lines);
    for (int i = 0; i < n; i++) {
        lines[i] = malloc(64);
        int l = snprintf(lines[i], 64, "%s/%d line %d", app, pod, i);
        e[i] = (struct cairn_entry){base + i * step, lines[i], (size_t)l};
    }
    struct cairn_push_stream ps = {.labels = &ls, .entries = e, .n = (size_t)n};
    assert_int_equal(cairn_store_append(s, tenant, &ps, 1), 0);
    for (int i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
    free(e);
    cairn_labels_deinit(&ls);
    return ps.rejected;
}

/* Every entry of a tenant as "labels\tts\tline" lines, in iteration order. */
static char *dump(struct cairn_store *s, const char *tenant, int backward, size_t *count)
{
    roaring_bitmap_t *all = roaring_bitmap_create();
    assert_int_equal(cairn_store_streams(s, tenant, INT64_MIN / 2, INT64_MAX / 2, all), 0);
    struct cairn_entry_iter it;
    assert_int_equal(cairn_store_iter_init(&it, s, tenant, all, INT64_MIN / 2, INT64_MAX / 2,
                                           backward ? CAIRN_ITER_BACKWARD : CAIRN_ITER_FORWARD, 0),
                     0);
    struct cairn_buf out = CAIRN_BUF_INIT;
    uint32_t sid;
    struct cairn_entry e;
    int r;
    size_t n = 0;
    while ((r = cairn_store_iter_next(&it, &sid, &e)) == 1) {
        assert_int_equal(cairn_store_stream_labels_str(s, tenant, sid, &out), 0);
        cairn_buf_appendf(&out, "\t%lld\t%.*s\n", (long long)e.ts, (int)e.len, e.line);
        n++;
    }
    assert_int_equal(r, 0);
    cairn_store_iter_deinit(&it);
    roaring_bitmap_free(all);
    if (count)
        *count = n;
    return cairn_buf_detach(&out, NULL) ?: strdup("");
}

static void fill(struct cairn_store *s)
{
    for (int p = 0; p < 5; p++) {
        push(s, "fake", "api", p, T0 + p, SEC, 300);
        push(s, "fake", "web", p, T0 + 2 * p, SEC / 2, 200);
    }
    push(s, "other", "api", 1, T0, SEC, 10);
}

static void append_read_back_and_reopen(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("store");
    struct cairn_store *s = open_store(dir, NULL);
    fill(s);
    size_t n;
    char *before = dump(s, "fake", 0, &n);
    assert_int_equal(n, 5 * 300 + 5 * 200);
    /* forward order is by time */
    long long prev = INT64_MIN;
    for (char *l = before; *l; l = strchr(l, '\n') + 1) {
        long long ts = atoll(strchr(l, '\t') + 1);
        assert_true(ts >= prev);
        prev = ts;
    }
    /* backward is the exact reverse */
    char *back = dump(s, "fake", 1, &n);
    assert_int_equal(n, 2500);
    assert_int_equal(strlen(back), strlen(before));
    struct cairn_store_stats st;
    cairn_store_stats(s, &st);
    assert_int_equal(st.entries_appended, 2510);
    assert_int_equal(st.active_streams, 11);
    assert_int_equal(cairn_store_active_streams(s, "fake"), 10);
    cairn_store_close(s);
    /* reopen: same data, from segment files only (the WAL was checkpointed) */
    s = open_store(dir, NULL);
    char *after = dump(s, "fake", 0, &n);
    assert_string_equal(before, after);
    size_t other;
    free(dump(s, "other", 0, &other));
    assert_int_equal(other, 10);
    char wal[4200];
    snprintf(wal, sizeof wal, "%s/wal/0000000000000001.wal", dir);
    struct stat sb;
    /* the new WAL holds only its header: nothing was left to replay */
    assert_int_equal(stat(wal, &sb), 0);
    assert_int_equal(sb.st_size, CAIRN__FILE_HDR);
    /* and appends keep working after the reopen, with the same stream ids */
    push(s, "fake", "api", 0, T0 + 1000 * SEC, SEC, 5);
    free(after);
    after = dump(s, "fake", 0, &n);
    assert_int_equal(n, 2505);
    cairn_store_close(s);
    free(before);
    free(back);
    free(after);
    test_rmdir_r(dir);
    free(dir);
}

static void crash_replay_exactly_once(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("store");
    struct cairn_store *s = open_store(dir, NULL);
    fill(s);
    /* some blocks go to segment files before the crash: they must not come back twice */
    cairn_store_flush(s);
    push(s, "fake", "api", 0, T0 + 400 * SEC, SEC, 50);
    push(s, "fake", "new", 9, T0, SEC, 20);
    size_t n;
    char *before = dump(s, "fake", 0, &n);
    assert_int_equal(n, 2570);
    cairn_store_abandon(s); /* no flush, no checkpoint: as after kill -9 */
    s = open_store(dir, NULL);
    char *after = dump(s, "fake", 0, &n);
    assert_int_equal(n, 2570);
    assert_string_equal(before, after);
    /* a second crash right after replay changes nothing */
    cairn_store_abandon(s);
    s = open_store(dir, NULL);
    free(after);
    after = dump(s, "fake", 0, &n);
    assert_string_equal(before, after);
    cairn_store_close(s);
    free(before);
    free(after);
    test_rmdir_r(dir);
    free(dir);
}

static void crash_in_child_process(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("store");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct cairn_store_config cfg;
        cairn_store_config_default(&cfg);
        cfg.data_dir = dir;
        cfg.head_budget = 64 * 1024; /* cuts mid-way, so segments and WAL overlap */
        struct cairn_err err;
        struct cairn_store *s = cairn_store_open(&cfg, &err);
        if (!s)
            _exit(2);
        fill(s);
        _exit(0); /* acknowledged, never flushed */
    }
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct cairn_store *s = open_store(dir, NULL);
    size_t n;
    char *got = dump(s, "fake", 0, &n);
    assert_int_equal(n, 2500);
    cairn_store_close(s);
    /* compare with the same pushes into a fresh store */
    char *dir2 = test_mkdtemp("store");
    s = open_store(dir2, NULL);
    fill(s);
    char *want = dump(s, "fake", 0, &n);
    assert_string_equal(got, want);
    cairn_store_close(s);
    free(got);
    free(want);
    test_rmdir_r(dir);
    test_rmdir_r(dir2);
    free(dir);
    free(dir2);
}

static void ooo_window_and_duplicates(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("store");
    struct cairn_store *s = open_store(dir, NULL);
    assert_int_equal(push(s, "fake", "api", 0, T0 + 10 * HOUR, SEC, 3), 0);
    /* 30 min behind the newest: accepted (window 1 h) */
    assert_int_equal(push(s, "fake", "api", 0, T0 + 10 * HOUR - HOUR / 2, SEC, 2), 0);
    /* 2 h behind: refused with Loki's message */
    struct cairn_labels ls;
    cairn_labels_init(&ls);
    cairn_labels_add(&ls, "app", 3, "api", 3);
    cairn_labels_add(&ls, "pod", 3, "0", 1);
    cairn_labels_sort(&ls, NULL);
    struct cairn_entry e[3] = {{T0 + 8 * HOUR, "old", 3},
                               {T0 + 10 * HOUR + 5 * SEC, "new", 3},
                               {T0 + 10 * HOUR + 5 * SEC, "new", 3}};
    struct cairn_push_stream ps = {.labels = &ls, .entries = e, .n = 3};
    assert_int_equal(cairn_store_append(s, "fake", &ps, 1), 0);
    assert_int_equal(ps.rejected, 1);
    assert_non_null(strstr(ps.err.msg, "entry with timestamp 2026-01-01T08:00:00Z ignored, reason: "
                                       "'entry too far behind, oldest acceptable timestamp is: "
                                       "2026-01-01T09:00:02Z'"));
    /* the same exact entry again: dropped silently */
    assert_int_equal(cairn_store_append(s, "fake", &ps, 1), 0);
    assert_int_equal(ps.rejected, 1);
    size_t n;
    char *d = dump(s, "fake", 0, &n);
    assert_int_equal(n, 3 + 2 + 1);
    /* out-of-order entries come back in time order */
    assert_non_null(strstr(d, "api/0 line 1\n"));
    assert_true(strstr(d, "\t1767258000000000000\t") < strstr(d, "\t1767261600000000000\t"));
    free(d);
    /* a retried batch (Promtail after a timeout) adds nothing while it is in the head */
    assert_int_equal(push(s, "fake", "api", 0, T0 + 10 * HOUR, SEC, 3), 0);
    assert_int_equal(push(s, "fake", "api", 0, T0 + 10 * HOUR - HOUR / 2, SEC, 2), 0);
    free(dump(s, "fake", 0, &n));
    assert_int_equal(n, 6);
    struct cairn_store_stats st;
    cairn_store_stats(s, &st);
    assert_int_equal(st.entries_rejected, 2);
    assert_int_equal(st.entries_appended, 6);
    cairn_store_close(s);
    /* after reopen the window still holds (newest ts restored from disk) */
    s = open_store(dir, NULL);
    assert_int_equal(push(s, "fake", "api", 0, T0 + 7 * HOUR, SEC, 1), 1);
    cairn_store_close(s);
    cairn_labels_deinit(&ls);
    test_rmdir_r(dir);
    free(dir);
}

static void tiny_budget(struct cairn_store_config *c)
{
    c->head_budget = 256 * 1024;
    c->block_target_raw = 64 * 1024;
    c->codec = CAIRN_CODEC_LZ4;
}

static void head_cut_under_budget(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("store");
    struct cairn_store *s = open_store(dir, tiny_budget);
    for (int round = 0; round < 20; round++)
        for (int p = 0; p < 40; p++)
            push(s, "fake", "svc", p, T0 + round * 100 * SEC, SEC / 10, 100);
    struct cairn_store_stats st;
    cairn_store_stats(s, &st);
    assert_true(st.blocks_cut > 0);
    assert_true(st.head_bytes <= 256 * 1024 + 64 * 1024);
    size_t n;
    char *d = dump(s, "fake", 0, &n);
    assert_int_equal(n, 20 * 40 * 100);
    free(d);
    /* column-only iteration gives timestamps and lengths, no lines */
    roaring_bitmap_t *ids = roaring_bitmap_create();
    assert_int_equal(cairn_store_postings(s, "fake", "pod", "7", T0, T0 + HOUR, ids), 0);
    assert_int_equal(roaring_bitmap_get_cardinality(ids), 1);
    struct cairn_entry_iter it;
    assert_int_equal(cairn_store_iter_init(&it, s, "fake", ids, T0 + 100 * SEC, T0 + 200 * SEC,
                                           CAIRN_ITER_FORWARD, CAIRN_ITER_NO_LINES),
                     0);
    uint32_t sid;
    struct cairn_entry e;
    size_t k = 0;
    int64_t prev = 0;
    while (cairn_store_iter_next(&it, &sid, &e) == 1) {
        assert_null(e.line);
        assert_true(e.ts >= T0 + 100 * SEC && e.ts < T0 + 200 * SEC && e.ts >= prev);
        assert_int_equal(e.len, strlen("svc/7 line ") + (k < 10 ? 1 : k < 100 ? 2 : 3));
        prev = e.ts;
        k++;
    }
    assert_int_equal(k, 100);
    cairn_store_iter_deinit(&it);
    struct cairn_index_stats is;
    assert_int_equal(cairn_store_index_stats(s, "fake", ids, T0, T0 + HOUR, &is), 0);
    assert_int_equal(is.streams, 1);
    assert_int_equal(is.entries, 2000);
    assert_true(is.chunks >= 1);
    roaring_bitmap_free(ids);
    cairn_store_close(s);
    test_rmdir_r(dir);
    free(dir);
}

static void postings_and_label_values(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("store");
    struct cairn_store *s = open_store(dir, NULL);
    fill(s);
    for (int pass = 0; pass < 2; pass++) {
        struct cairn_strlist names = {0}, vals = {0};
        assert_int_equal(cairn_store_label_names(s, "fake", T0, T0 + HOUR, &names), 0);
        assert_int_equal(names.n, 2);
        assert_string_equal(names.v[0], "app");
        assert_string_equal(names.v[1], "pod");
        assert_int_equal(cairn_store_label_values(s, "fake", "app", T0, T0 + HOUR, &vals), 0);
        assert_int_equal(vals.n, 2);
        assert_string_equal(vals.v[0], "api");
        assert_string_equal(vals.v[1], "web");
        roaring_bitmap_t *api = roaring_bitmap_create(), *p3 = roaring_bitmap_create();
        assert_int_equal(cairn_store_postings(s, "fake", "app", "api", T0, T0 + HOUR, api), 0);
        assert_int_equal(cairn_store_postings(s, "fake", "pod", "3", T0, T0 + HOUR, p3), 0);
        assert_int_equal(roaring_bitmap_get_cardinality(api), 5);
        assert_int_equal(roaring_bitmap_get_cardinality(p3), 2);
        roaring_bitmap_and_inplace(api, p3);
        assert_int_equal(roaring_bitmap_get_cardinality(api), 1);
        struct cairn_labels ls;
        cairn_labels_init(&ls);
        assert_int_equal(cairn_store_stream_labels(s, "fake", roaring_bitmap_minimum(api), &ls), 0);
        assert_string_equal(cairn_labels_get(&ls, "pod", 3)->value, "3");
        assert_string_equal(cairn_labels_get(&ls, "app", 3)->value, "api");
        cairn_labels_deinit(&ls);
        /* another period: nothing there */
        roaring_bitmap_clear(api);
        assert_int_equal(cairn_store_postings(s, "fake", "app", "api", T0 + 48 * HOUR,
                                              T0 + 50 * HOUR, api),
                         0);
        assert_int_equal(roaring_bitmap_get_cardinality(api), 0);
        /* unknown tenant: empty, not an error */
        assert_int_equal(cairn_store_postings(s, "nobody", "app", "api", T0, T0 + HOUR, api), 0);
        assert_int_equal(cairn_store_stream_labels(s, "nobody", 1, &ls), CAIRN_ENOTFOUND);
        roaring_bitmap_free(api);
        roaring_bitmap_free(p3);
        cairn_strlist_deinit(&names);
        cairn_strlist_deinit(&vals);
        /* the second pass reads the index rebuilt from segment files */
        cairn_store_close(s);
        s = open_store(dir, NULL);
    }
    cairn_store_close(s);
    test_rmdir_r(dir);
    free(dir);
}

static void retention_deletes_old_periods(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("store");
    struct cairn_store *s = open_store(dir, NULL);
    /* three daily periods, some days ago: the background pass (real clock) must not
     * find anything to delete with the 10-day retention below */
    int64_t day = 24 * HOUR;
    int64_t base = (cairn_now_ns() / day - 5) * day;
    for (int d = 0; d < 3; d++)
        push(s, "fake", "api", d, base + d * day, SEC, 10);
    push(s, "keep", "api", 0, base, SEC, 10);
    cairn_store_flush(s);
    cairn_store_close(s);
    struct cairn_tenant_retention tr = {"keep", 0};
    struct cairn_store_config cfg;
    cairn_store_config_default(&cfg);
    cfg.data_dir = dir;
    cfg.retention_ns = 10 * day;
    cfg.tenant_retention = &tr;
    cfg.n_tenant_retention = 1;
    struct cairn_err err;
    s = cairn_store_open(&cfg, &err);
    assert_non_null(s);
    char p0[4200], p1[4200];
    snprintf(p0, sizeof p0, "%s/tenants/fake/%lld", dir, (long long)base);
    snprintf(p1, sizeof p1, "%s/tenants/fake/%lld", dir, (long long)(base + day));
    struct stat sb;
    assert_int_equal(stat(p0, &sb), 0);
    /* 10 days and an hour after day 0 ended: day 0 goes, day 1 (ended a day later) stays */
    assert_int_equal(cairn_store_apply_retention(s, base + day + 10 * day + HOUR), 0);
    assert_int_not_equal(stat(p0, &sb), 0);
    assert_int_equal(stat(p1, &sb), 0);
    size_t n;
    free(dump(s, "fake", 0, &n));
    assert_int_equal(n, 20);
    free(dump(s, "keep", 0, &n));
    assert_int_equal(n, 10); /* per-tenant override: keep forever */
    cairn_store_close(s);
    test_rmdir_r(dir);
    free(dir);
}

static void bad_tenant_refused(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("store");
    struct cairn_store *s = open_store(dir, NULL);
    struct cairn_push_stream ps = {0};
    assert_int_equal(cairn_store_append(s, "../etc", &ps, 0), CAIRN_EINVAL);
    assert_int_equal(cairn_store_append(s, "", &ps, 0), CAIRN_EINVAL);
    cairn_store_close(s);
    test_rmdir_r(dir);
    free(dir);
}

/* ---- object storage, over the local backend (the Ceph run is tests/e2e) ---- */

struct remote_env {
    char *root, data[600], bucket[600], cache[600];
    struct cairn_objstore *os;
    struct cairn_cache *c;
};

static void remote_env_init(struct remote_env *r)
{
    r->root = test_mkdtemp("remote");
    snprintf(r->data, sizeof r->data, "%s/data", r->root);
    snprintf(r->bucket, sizeof r->bucket, "%s/bucket", r->root);
    snprintf(r->cache, sizeof r->cache, "%s/cache", r->root);
    struct cairn_err err;
    assert_non_null(r->os = cairn_objstore_local_create(r->bucket, &err));
    assert_non_null(r->c = cairn_cache_create(r->cache, 64 << 20, &err));
}

static void remote_env_deinit(struct remote_env *r)
{
    cairn_cache_destroy(r->c);
    cairn_objstore_destroy(r->os);
    test_rmdir_r(r->root);
    free(r->root);
}

static struct cairn_store *open_remote(struct remote_env *r)
{
    struct cairn_store_config cfg;
    cairn_store_config_default(&cfg);
    cfg.data_dir = r->data;
    cfg.fsync = CAIRN_FSYNC_NEVER;
    cfg.objstore = r->os;
    cfg.cache = r->c;
    struct cairn_err err;
    struct cairn_store *s = cairn_store_open(&cfg, &err);
    if (!s)
        fail_msg("open: %s", err.msg);
    return s;
}

static int seg_exists(const struct remote_env *r, unsigned no)
{
    char p[800];
    struct stat st;
    snprintf(p, sizeof p, "%s/tenants/fake/%lld/seg-%06u.cseg", r->data, T0, no);
    return stat(p, &st) == 0;
}

/* Wait (at most 20 s) until `uploads` segment files are uploaded, none is pending, and
 * no local segment file is left; the uploader runs on its own thread. */
static void wait_uploaded(struct cairn_store *s, const struct remote_env *r, uint64_t uploads)
{
    struct cairn_store_remote_stats rs;
    for (int i = 0; i < 2000; i++) {
        cairn_store_remote_stats(s, &rs);
        if (rs.uploads >= uploads && rs.queue == 0 && !seg_exists(r, 0) && !seg_exists(r, 1))
            return;
        usleep(10000);
    }
    fail_msg("not uploaded: uploads=%llu queue=%llu failures=%llu", (unsigned long long)rs.uploads,
             (unsigned long long)rs.queue, (unsigned long long)rs.upload_failures);
}

static void objstore_upload_and_empty_disk(void **state)
{
    (void)state;
    struct remote_env r;
    remote_env_init(&r);
    struct cairn_store *s = open_remote(&r);
    push(s, "fake", "api", 1, T0, SEC, 300);
    push(s, "fake", "web", 2, T0 + 5, SEC, 200);
    char *before = dump(s, "fake", 0, NULL);
    assert_int_equal(cairn_store_flush_close(s), 0);
    wait_uploaded(s, &r, 1);
    char key[200];
    uint64_t size;
    snprintf(key, sizeof key, "fake/%lld/manifest-00000001", T0);
    assert_int_equal(cairn_objstore_head(r.os, key, &size), 0);
    snprintf(key, sizeof key, "fake/%lld/seg-000000.cseg", T0);
    assert_int_equal(cairn_objstore_head(r.os, key, &size), 0);
    char *remote = dump(s, "fake", 0, NULL); /* blocks now come through the cache */
    assert_true(cairn_objstore_stats(r.os)->bytes_in > 0);
    assert_string_equal(remote, before);
    assert_true(cairn_cache_stats(r.c)->misses > 0);
    /* each block was read once by the dump, after the read-ahead had fetched it */
    assert_true(cairn_cache_stats(r.c)->hits > 0);
    cairn_store_close(s);

    /* a new node: an empty data directory finds the period in the bucket */
    cairn_fs_rm_rf(r.data);
    s = open_remote(&r);
    char *again = dump(s, "fake", 1, NULL);
    char *fwd = dump(s, "fake", 0, NULL);
    assert_string_equal(fwd, before);
    /* late entries for the uploaded period: a new local file, then manifest 2 */
    push(s, "fake", "api", 1, T0 + 400 * SEC, SEC, 10);
    assert_int_equal(cairn_store_flush_close(s), 0);
    wait_uploaded(s, &r, 1);
    snprintf(key, sizeof key, "fake/%lld/manifest-00000002", T0);
    assert_int_equal(cairn_objstore_head(r.os, key, &size), 0);
    size_t n = 0;
    char *all = dump(s, "fake", 0, &n);
    assert_int_equal(n, 510);
    cairn_store_close(s);
    cairn_fs_rm_rf(r.data);
    s = open_remote(&r);
    char *all2 = dump(s, "fake", 0, NULL);
    assert_string_equal(all2, all);
    cairn_store_close(s);
    free(before);
    free(remote);
    free(again);
    free(fwd);
    free(all);
    free(all2);
    remote_env_deinit(&r);
}

static void objstore_down_keeps_local_files(void **state)
{
    (void)state;
    struct remote_env r;
    remote_env_init(&r);
    /* the bucket directory replaced by a file: every put fails */
    cairn_fs_rm_rf(r.bucket);
    FILE *f = fopen(r.bucket, "w");
    assert_non_null(f);
    fclose(f);
    struct cairn_store *s = open_remote(&r);
    push(s, "fake", "api", 1, T0, SEC, 100);
    char *before = dump(s, "fake", 0, NULL);
    assert_int_equal(cairn_store_flush_close(s), 0);
    struct cairn_store_remote_stats rs;
    for (int i = 0; i < 2000; i++) {
        cairn_store_remote_stats(s, &rs);
        if (rs.upload_failures)
            break;
        usleep(10000);
    }
    assert_true(rs.upload_failures > 0);
    assert_true(seg_exists(&r, 0)); /* not confirmed: kept */
    char *during = dump(s, "fake", 0, NULL);
    assert_string_equal(during, before);
    /* the store comes back: the upload is retried (backoff) and the file released */
    unlink(r.bucket);
    assert_int_equal(cairn_fs_mkdir_p(r.bucket), 0);
    wait_uploaded(s, &r, 1);
    char *after = dump(s, "fake", 0, NULL);
    assert_string_equal(after, before);
    cairn_store_close(s);
    free(before);
    free(during);
    free(after);
    remote_env_deinit(&r);
}

int main(void)
{
    cairn_log_set_level(CAIRN_LOG_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(append_read_back_and_reopen),
        cmocka_unit_test(crash_replay_exactly_once),
        cmocka_unit_test(crash_in_child_process),
        cmocka_unit_test(ooo_window_and_duplicates),
        cmocka_unit_test(head_cut_under_budget),
        cmocka_unit_test(postings_and_label_values),
        cmocka_unit_test(retention_deletes_old_periods),
        cmocka_unit_test(bad_tenant_refused),
        cmocka_unit_test(objstore_upload_and_empty_disk),
        cmocka_unit_test(objstore_down_keeps_local_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
