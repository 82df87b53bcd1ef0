/* objstore_test.c -- SigV4 against AWS's published examples, the local backend, the
 * block cache's LRU bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cairn/objstore.h"
#include "testutil.h"

#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define AK "AKIAIOSFODNN7EXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

/* AWS S3 docs, "Signature Calculations for the Authorization Header", example GET
 * Object: GET /test.txt with Range: bytes=0-9 on examplebucket, 2013-05-24. */
static void sigv4_get_object_with_range(void **state)
{
    (void)state;
    const char *names[] = {"host", "range", "x-amz-content-sha256", "x-amz-date"};
    const char *vals[] = {"examplebucket.s3.amazonaws.com", "bytes=0-9", EMPTY_SHA,
                          "20130524T000000Z"};
    struct cairn_sigv4_req r = {"GET", "/test.txt", "", names, vals, 4, EMPTY_SHA,
                                "20130524T000000Z", "us-east-1", "s3"};
    struct cairn_buf cr = CAIRN_BUF_INIT, sts = CAIRN_BUF_INIT, auth = CAIRN_BUF_INIT;
    assert_int_equal(cairn_sigv4_sign(&r, AK, SK, &cr, &sts, &auth), 0);
    assert_string_equal(cr.data, "GET\n/test.txt\n\n"
                                 "host:examplebucket.s3.amazonaws.com\n"
                                 "range:bytes=0-9\n"
                                 "x-amz-content-sha256:" EMPTY_SHA "\n"
                                 "x-amz-date:20130524T000000Z\n\n"
                                 "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA);
    assert_string_equal(sts.data, "AWS4-HMAC-SHA256\n20130524T000000Z\n"
                                  "20130524/us-east-1/s3/aws4_request\n"
                                  "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    assert_string_equal(auth.data,
                        "AWS4-HMAC-SHA256 Credential=" AK "/20130524/us-east-1/s3/aws4_request, "
                        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    cairn_buf_deinit(&cr);
    cairn_buf_deinit(&sts);
    cairn_buf_deinit(&auth);
}

/* The same page's list example: GET /?max-keys=2&prefix=J (a sorted query string). */
static void sigv4_list_objects_query(void **state)
{
    (void)state;
    const char *names[] = {"host", "x-amz-content-sha256", "x-amz-date"};
    const char *vals[] = {"examplebucket.s3.amazonaws.com", EMPTY_SHA, "20130524T000000Z"};
    struct cairn_sigv4_req r = {"GET", "/", "max-keys=2&prefix=J", names, vals, 3, EMPTY_SHA,
                                "20130524T000000Z", "us-east-1", "s3"};
    struct cairn_buf auth = CAIRN_BUF_INIT;
    assert_int_equal(cairn_sigv4_sign(&r, AK, SK, NULL, NULL, &auth), 0);
    assert_non_null(strstr(auth.data,
                           "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"));
    cairn_buf_deinit(&auth);
}

static void sigv4_uri_encode_is_full(void **state)
{
    (void)state;
    struct cairn_buf b = CAIRN_BUF_INIT;
    const char *s = "a b/c~d_e-f.g+h=i&j*k";
    assert_int_equal(cairn_sigv4_uri_encode(&b, s, strlen(s), 1), 0);
    assert_string_equal(b.data, "a%20b/c~d_e-f.g%2Bh%3Di%26j%2Ak");
    cairn_buf_reset(&b);
    assert_int_equal(cairn_sigv4_uri_encode(&b, "x/y", 3, 0), 0);
    assert_string_equal(b.data, "x%2Fy");
    cairn_buf_deinit(&b);
}

static void local_backend_round_trip(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("objstore");
    struct cairn_err err;
    struct cairn_objstore *os = cairn_objstore_local_create(dir, &err);
    assert_non_null(os);
    assert_int_equal(cairn_objstore_put(os, "t/1/seg-000000.cseg", "0123456789", 10), 0);
    assert_int_equal(cairn_objstore_put(os, "t/1/empty", "", 0), 0);
    assert_int_equal(cairn_objstore_put(os, "t/2/x", "x", 1), 0);
    assert_int_equal(cairn_objstore_put(os, "u/1/y", "y", 1), 0);
    struct cairn_buf b = CAIRN_BUF_INIT;
    assert_int_equal(cairn_objstore_get_range(os, "t/1/seg-000000.cseg", 3, 4, &b), 0);
    assert_string_equal(b.data, "3456");
    assert_int_equal(cairn_objstore_get_range(os, "t/1/seg-000000.cseg", 8, 4, &b), CAIRN_ERANGE);
    assert_int_equal(cairn_objstore_get(os, "t/1/nope", &b), CAIRN_ENOTFOUND);
    uint64_t size = 0;
    assert_int_equal(cairn_objstore_head(os, "t/1/seg-000000.cseg", &size), 0);
    assert_int_equal(size, 10);
    assert_int_equal(cairn_objstore_head(os, "t/1/empty", &size), 0);
    assert_int_equal(size, 0);
    /* create-only */
    assert_int_equal(cairn_objstore_put_if_absent(os, "t/1/manifest-1", "a", 1), 0);
    assert_int_equal(cairn_objstore_put_if_absent(os, "t/1/manifest-1", "b", 1), CAIRN_EEXIST);
    cairn_buf_reset(&b);
    assert_int_equal(cairn_objstore_get(os, "t/1/manifest-1", &b), 0);
    assert_string_equal(b.data, "a");
    /* list by prefix, sorted, with sizes */
    struct cairn_objstore_list l = {0};
    assert_int_equal(cairn_objstore_list(os, "t/1/", &l), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.v[0].key, "t/1/empty");
    assert_string_equal(l.v[1].key, "t/1/manifest-1");
    assert_string_equal(l.v[2].key, "t/1/seg-000000.cseg");
    assert_int_equal(l.v[2].size, 10);
    cairn_objstore_list_deinit(&l);
    assert_int_equal(cairn_objstore_list(os, "t", &l), 0);
    assert_int_equal(l.n, 4);
    cairn_objstore_list_deinit(&l);
    assert_int_equal(cairn_objstore_del(os, "t/2/x"), 0);
    assert_int_equal(cairn_objstore_del(os, "t/2/x"), 0); /* absent: fine */
    assert_int_equal(cairn_objstore_head(os, "t/2/x", &size), CAIRN_ENOTFOUND);
    /* a file, streamed when the backend can */
    char fp[600];
    snprintf(fp, sizeof fp, "%s.file", dir);
    FILE *f = fopen(fp, "w");
    assert_non_null(f);
    fputs("file bytes", f);
    fclose(f);
    uint64_t sent = 0;
    assert_int_equal(cairn_objstore_put_file(os, "t/3/f", fp, &sent), 0);
    assert_int_equal(sent, 10);
    cairn_buf_reset(&b);
    assert_int_equal(cairn_objstore_get(os, "t/3/f", &b), 0);
    assert_string_equal(b.data, "file bytes");
    unlink(fp);
    assert_int_equal(cairn_objstore_put_file(os, "t/3/g", fp, &sent), CAIRN_ENOTFOUND);
    /* keys that would leave the directory are refused */
    assert_int_equal(cairn_objstore_put(os, "../x", "x", 1), CAIRN_EINVAL);
    assert_int_equal(cairn_objstore_put(os, "/x", "x", 1), CAIRN_EINVAL);
    assert_int_equal(cairn_objstore_put(os, "a/../../x", "x", 1), CAIRN_EINVAL);
    cairn_buf_deinit(&b);
    cairn_objstore_destroy(os);
    test_rmdir_r(dir);
    free(dir);
}

/* Two write nodes' views of one bucket: the same keys do not collide, each lists only
 * its own (prefix removed), and a file is stored through the view. */
static void prefixed_views_share_a_bucket(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("objstore");
    struct cairn_err err;
    struct cairn_objstore *base = cairn_objstore_local_create(dir, &err);
    assert_non_null(base);
    struct cairn_objstore *a = cairn_objstore_prefixed_create(base, "nodes/w0/", &err);
    struct cairn_objstore *b = cairn_objstore_prefixed_create(base, "nodes/w1/", &err);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(cairn_objstore_prefixed_create(base, "no-slash", &err));
    assert_int_equal(err.code, CAIRN_EINVAL);
    assert_int_equal(cairn_objstore_put_if_absent(a, "t/1/manifest-00000001", "a", 1), 0);
    assert_int_equal(cairn_objstore_put_if_absent(b, "t/1/manifest-00000001", "b", 1), 0);
    struct cairn_buf got = CAIRN_BUF_INIT;
    assert_int_equal(cairn_objstore_get(a, "t/1/manifest-00000001", &got), 0);
    assert_string_equal(got.data, "a");
    cairn_buf_reset(&got);
    assert_int_equal(cairn_objstore_get(base, "nodes/w1/t/1/manifest-00000001", &got), 0);
    assert_string_equal(got.data, "b");
    char fp[600];
    snprintf(fp, sizeof fp, "%s.file", dir);
    FILE *f = fopen(fp, "w");
    assert_non_null(f);
    fputs("segment", f);
    fclose(f);
    uint64_t sent = 0, size = 0;
    assert_int_equal(cairn_objstore_put_file(b, "t/1/seg-000000.cseg", fp, &sent), 0);
    unlink(fp);
    assert_int_equal(cairn_objstore_head(base, "nodes/w1/t/1/seg-000000.cseg", &size), 0);
    assert_int_equal(size, 7);
    assert_int_equal(cairn_objstore_head(a, "t/1/seg-000000.cseg", &size), CAIRN_ENOTFOUND);
    cairn_buf_reset(&got);
    assert_int_equal(cairn_objstore_get_range(b, "t/1/seg-000000.cseg", 2, 3, &got), 0);
    assert_memory_equal(got.data, "gme", 3);
    struct cairn_objstore_list l = {0};
    assert_int_equal(cairn_objstore_list(b, "", &l), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].key, "t/1/manifest-00000001");
    assert_string_equal(l.v[1].key, "t/1/seg-000000.cseg");
    cairn_objstore_list_deinit(&l);
    assert_int_equal(cairn_objstore_del(b, "t/1/seg-000000.cseg"), 0);
    assert_int_equal(cairn_objstore_list(base, "nodes/", &l), 0);
    assert_int_equal(l.n, 2);
    cairn_objstore_list_deinit(&l);
    cairn_buf_deinit(&got);
    cairn_objstore_destroy(a);
    cairn_objstore_destroy(b);
    cairn_objstore_destroy(base);
    test_rmdir_r(dir);
    free(dir);
}

static void cache_evicts_least_recent_by_size(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("cache");
    struct cairn_err err;
    /* each entry: 4 + key (2) + 100 bytes = 106; room for three */
    struct cairn_cache *c = cairn_cache_create(dir, 330, &err);
    assert_non_null(c);
    char data[100];
    struct cairn_buf b = CAIRN_BUF_INIT;
    for (int i = 0; i < 3; i++) {
        char k[3] = {'k', (char)('0' + i), 0};
        memset(data, 'a' + i, sizeof data);
        assert_int_equal(cairn_cache_put(c, k, data, sizeof data), 0);
    }
    assert_int_equal(cairn_cache_stats(c)->bytes, 318);
    /* touch k0: k1 is now the least recent */
    assert_int_equal(cairn_cache_get(c, "k0", &b), 0);
    assert_int_equal(b.len, 100);
    assert_int_equal(b.data[0], 'a');
    memset(data, 'z', sizeof data);
    assert_int_equal(cairn_cache_put(c, "k3", data, sizeof data), 0);
    assert_int_equal(cairn_cache_stats(c)->evictions, 1);
    assert_int_equal(cairn_cache_stats(c)->bytes, 318);
    cairn_buf_reset(&b);
    assert_int_equal(cairn_cache_get(c, "k1", &b), CAIRN_ENOTFOUND);
    assert_int_equal(cairn_cache_get(c, "k0", &b), 0);
    assert_int_equal(cairn_cache_get(c, "k2", &b), 0);
    cairn_buf_reset(&b);
    assert_int_equal(cairn_cache_get(c, "k3", &b), 0);
    assert_int_equal(b.data[99], 'z');
    assert_int_equal(cairn_cache_stats(c)->hits, 4);
    assert_int_equal(cairn_cache_stats(c)->misses, 1);
    /* larger than the whole cache: not kept, nothing evicted */
    char big[400] = {0};
    assert_int_equal(cairn_cache_put(c, "kb", big, sizeof big), 0);
    assert_int_equal(cairn_cache_get(c, "kb", &b), CAIRN_ENOTFOUND);
    assert_int_equal(cairn_cache_stats(c)->evictions, 1);
    cairn_cache_destroy(c);
    /* a new cache over the directory starts empty */
    c = cairn_cache_create(dir, 330, &err);
    assert_int_equal(cairn_cache_get(c, "k0", &b), CAIRN_ENOTFOUND);
    cairn_cache_destroy(c);
    cairn_buf_deinit(&b);
    test_rmdir_r(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sigv4_get_object_with_range),
        cmocka_unit_test(sigv4_list_objects_query),
        cmocka_unit_test(sigv4_uri_encode_is_full),
        cmocka_unit_test(local_backend_round_trip),
        cmocka_unit_test(prefixed_views_share_a_bucket),
        cmocka_unit_test(cache_evicts_least_recent_by_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
