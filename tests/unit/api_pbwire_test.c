/* api_pbwire_test.c -- the hand-written protobuf decoder of PushRequest
 * (push_pbwire.c): valid bodies against protobuf-c's encoding, truncation at every
 * byte, oversized lengths, unknown fields of each wire type, wrong wire types,
 * repeated and merged fields, empty streams and requests, lines as views. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/api_int.h"
#include "cairn/ingest.h"
#include "cairn/buf.h"
#include "push.pb-c.h"

static struct cairn_api_limits api_limits(void)
{
    struct cairn_api_config c;
    cairn_api_config_default(&c);
    return c.limits;
}

/* What the server's push handler decodes and validates with. */
static struct cairn_ingest_limits limits(void)
{
    return api_limits().ingest;
}

static int decode(struct cairn_ingest_batch *b, const void *p, size_t n, struct cairn_err *err)
{
    struct cairn_ingest_limits lim = limits();
    cairn_ingest_batch_reset(b);
    cairn_err_clear(err);
    return cairn_ingest_decode_pb(b, p, n, &lim, err);
}

/* ---- a tiny wire writer for the cases protobuf-c will not produce ---- */

static void put_varint(struct cairn_buf *o, uint64_t v)
{
    while (v >= 0x80) {
        cairn_buf_append_byte(o, (char)(v | 0x80));
        v >>= 7;
    }
    cairn_buf_append_byte(o, (char)v);
}

static void put_tag(struct cairn_buf *o, unsigned field, unsigned wt)
{
    put_varint(o, (uint64_t)field << 3 | wt);
}

static void put_len(struct cairn_buf *o, unsigned field, const void *p, size_t n)
{
    put_tag(o, field, 2);
    put_varint(o, n);
    cairn_buf_append(o, p, n);
}

static void put_uint(struct cairn_buf *o, unsigned field, uint64_t v)
{
    put_tag(o, field, 0);
    put_varint(o, v);
}

/* Entry { timestamp {seconds, nanos}, line } */
static void put_entry(struct cairn_buf *o, int64_t sec, int32_t nanos, const char *line)
{
    struct cairn_buf ts, e;
    cairn_buf_init(&ts);
    cairn_buf_init(&e);
    put_uint(&ts, 1, (uint64_t)sec);
    put_uint(&ts, 2, (uint64_t)(int64_t)nanos);
    put_len(&e, 1, ts.data, ts.len);
    put_len(&e, 2, line, strlen(line));
    put_len(o, 2, e.data, e.len);
    cairn_buf_deinit(&ts);
    cairn_buf_deinit(&e);
}

/* A PushRequest from protobuf-c: streams of labels[i] with n[i] entries each. */
static uint8_t *pack(const char **labels, const size_t *n, size_t ns, size_t *len)
{
    Logproto__StreamAdapter *sa = calloc(ns, sizeof *sa);
    Logproto__StreamAdapter **sap = calloc(ns, sizeof *sap);
    size_t total = 0;
    for (size_t i = 0; i < ns; i++)
        total += n[i];
    Logproto__EntryAdapter *ea = calloc(total + 1, sizeof *ea);
    Logproto__EntryAdapter **eap = calloc(total + 1, sizeof *eap);
    Logproto__Timestamp *ts = calloc(total + 1, sizeof *ts);
    Logproto__LabelPairAdapter md = LOGPROTO__LABEL_PAIR_ADAPTER__INIT;
    Logproto__LabelPairAdapter *mdp = &md;
    md.name = "trace_id";
    md.value = "t1";
    char(*lines)[32] = calloc(total + 1, sizeof *lines);
    size_t k = 0;
    for (size_t i = 0; i < ns; i++) {
        logproto__stream_adapter__init(&sa[i]);
        sap[i] = &sa[i];
        sa[i].labels = (char *)labels[i];
        sa[i].hash = 0xfeedfacecafebeefULL;
        sa[i].n_entries = n[i];
        sa[i].entries = &eap[k];
        for (size_t j = 0; j < n[i]; j++, k++) {
            logproto__entry_adapter__init(&ea[k]);
            logproto__timestamp__init(&ts[k]);
            ts[k].seconds = 1700000000 + (int64_t)k;
            ts[k].nanos = (int32_t)(k * 7);
            ea[k].timestamp = &ts[k];
            snprintf(lines[k], sizeof lines[k], "line %zu of %zu", j, i);
            ea[k].line.data = (uint8_t *)lines[k];
            ea[k].line.len = strlen(lines[k]);
            if (k % 3 == 1) {
                ea[k].n_structuredmetadata = 1;
                ea[k].structuredmetadata = &mdp;
            }
            eap[k] = &ea[k];
        }
    }
    Logproto__PushRequest req = LOGPROTO__PUSH_REQUEST__INIT;
    req.n_streams = ns;
    req.streams = sap;
    *len = logproto__push_request__get_packed_size(&req);
    uint8_t *out = malloc(*len + 1);
    logproto__push_request__pack(&req, out);
    free(sa);
    free(sap);
    free(ea);
    free(eap);
    free(ts);
    free(lines);
    return out;
}

static void valid_matches_protobuf_c(void **state)
{
    (void)state;
    struct cairn_ingest_batch b;
    struct cairn_err err;
    cairn_ingest_batch_init(&b);
    const char *labels[] = {"{job=\"a\", app=\"x\"}", "{job=\"b\"}", "{job=\"c\"}"};
    size_t n[] = {3, 0, 5};
    size_t len;
    uint8_t *p = pack(labels, n, 3, &len);
    for (int round = 0; round < 2; round++) { /* a reused batch decodes the same */
        assert_int_equal(decode(&b, p, len, &err), 0);
        assert_int_equal(b.n, 3);
        assert_int_equal(b.ne, 8);
        assert_int_equal(b.status, 0);
        assert_int_equal(b.s[0].n, 3);
        assert_int_equal(b.s[1].n, 0); /* a stream without entries is still a stream */
        assert_int_equal(b.s[2].first, 3);
        assert_int_equal(b.s[2].n, 5);
        assert_string_equal(b.labels[0].v[0].name, "app");
        assert_string_equal(b.labels[2].v[0].value, "c");
        assert_int_equal(b.s[0].ltext_len, strlen(labels[0]));
        for (size_t k = 0; k < 8; k++) {
            /* views into the input, not copies */
            assert_true(b.e[k].line >= (const char *)p && b.e[k].line < (const char *)p + len);
            assert_int_equal(b.e[k].ts, (1700000000LL + (int64_t)k) * 1000000000LL + (int64_t)k * 7);
        }
        assert_memory_equal(b.e[7].line, "line 4 of 2", b.e[7].len);
    }
    free(p);
    cairn_ingest_batch_deinit(&b);
}

static void empty_and_zero_entries(void **state)
{
    (void)state;
    struct cairn_ingest_batch b;
    struct cairn_err err;
    cairn_ingest_batch_init(&b);
    assert_int_equal(decode(&b, "", 0, &err), 0); /* no streams at all */
    assert_int_equal(b.n, 0);
    assert_int_equal(decode(&b, "\x0a\x00", 2, &err), 0); /* one empty stream */
    assert_int_equal(b.n, 1);
    assert_int_equal(b.ne, 0);
    assert_true(b.s[0].bad);
    assert_non_null(strstr(cairn_buf_cstr(&b.msg), "at least one label pair is required"));
    /* an entry without timestamp or line: ts 0, empty line */
    struct cairn_buf o, s;
    cairn_buf_init(&o);
    cairn_buf_init(&s);
    put_len(&s, 1, "{a=\"b\"}", 7);
    put_len(&s, 2, "", 0);
    put_len(&o, 1, s.data, s.len);
    assert_int_equal(decode(&b, o.data, o.len, &err), 0);
    assert_int_equal(b.ne, 1);
    assert_int_equal(b.e[0].ts, 0);
    assert_int_equal(b.e[0].len, 0);
    cairn_buf_deinit(&o);
    cairn_buf_deinit(&s);
    cairn_ingest_batch_deinit(&b);
}

/* Every proper prefix of a one-stream request is malformed (its stream's length says
 * more than is there); every prefix of a many-stream request is accepted exactly when
 * protobuf-c accepts it, with the same number of streams. */
static void truncated_at_every_byte(void **state)
{
    (void)state;
    struct cairn_ingest_batch b;
    struct cairn_err err;
    cairn_ingest_batch_init(&b);
    const char *one[] = {"{job=\"a\"}"};
    size_t n1[] = {4};
    size_t len;
    uint8_t *p = pack(one, n1, 1, &len);
    for (size_t k = 1; k < len; k++) {
        uint8_t *cut = malloc(k); /* exactly k bytes: ASan sees any read past them */
        memcpy(cut, p, k);
        assert_int_equal(decode(&b, cut, k, &err), CAIRN_EINVAL);
        assert_non_null(strstr(err.msg, "error parsing push request protobuf: "));
        assert_non_null(strstr(err.msg, " at byte "));
        free(cut);
    }
    free(p);
    const char *many[] = {"{job=\"a\"}", "{job=\"b\"}", "{job=\"c\"}"};
    size_t n3[] = {2, 1, 3};
    p = pack(many, n3, 3, &len);
    size_t accepted = 0;
    for (size_t k = 0; k <= len; k++) {
        uint8_t *cut = malloc(k ? k : 1);
        memcpy(cut, p, k);
        int rc = decode(&b, cut, k, &err);
        Logproto__PushRequest *req = logproto__push_request__unpack(NULL, k, cut);
        assert_int_equal(rc == 0, req != NULL);
        if (req) {
            accepted++;
            assert_int_equal(b.n, req->n_streams);
            logproto__push_request__free_unpacked(req, NULL);
        }
        free(cut);
    }
    assert_int_equal(accepted, 4); /* 0, 1, 2 and 3 whole streams */
    free(p);
    cairn_ingest_batch_deinit(&b);
}

static void oversized_lengths_and_bad_varints(void **state)
{
    (void)state;
    struct cairn_ingest_batch b;
    struct cairn_err err;
    cairn_ingest_batch_init(&b);
    struct cairn_buf o, s, e;
    cairn_buf_init(&o);
    cairn_buf_init(&s);
    cairn_buf_init(&e);
    /* a line claiming 2^40 bytes inside an entry */
    put_tag(&e, 2, 2);
    put_varint(&e, 1ULL << 40);
    cairn_buf_append(&e, "abc", 3);
    put_len(&s, 2, e.data, e.len);
    put_len(&o, 1, s.data, s.len);
    assert_int_equal(decode(&b, o.data, o.len, &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "entry line: length 1099511627776 past the end of its "
                                    "message (3 bytes left) at byte 5"));
    /* a stream length of 2^64-1 */
    cairn_buf_reset(&o);
    put_tag(&o, 1, 2);
    put_varint(&o, UINT64_MAX);
    assert_int_equal(decode(&b, o.data, o.len, &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "stream: length 18446744073709551615 past the end"));
    /* an 11-byte varint */
    cairn_buf_reset(&o);
    put_tag(&o, 9, 0);
    cairn_buf_append(&o, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);
    assert_int_equal(decode(&b, o.data, o.len, &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "varint longer than 10 bytes at byte 1"));
    /* a truncated tag varint */
    assert_int_equal(decode(&b, "\x80", 1, &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "field tag: truncated varint at byte 0"));
    /* field number 0 */
    assert_int_equal(decode(&b, "\x00\x00", 2, &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "field number 0 at byte 0"));
    /* fixed-width unknown fields cut short */
    assert_int_equal(decode(&b, "\x49" "abc", 4, &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "unknown fixed-width field: truncated"));
    cairn_buf_deinit(&o);
    cairn_buf_deinit(&s);
    cairn_buf_deinit(&e);
    cairn_ingest_batch_deinit(&b);
}

/* Unknown fields of every wire type at every level are skipped; groups and the
 * invalid wire types 6 and 7 are malformed. */
static void unknown_fields_skipped(void **state)
{
    (void)state;
    struct cairn_ingest_batch b;
    struct cairn_err err;
    cairn_ingest_batch_init(&b);
    struct cairn_buf o, s, e, ts;
    cairn_buf_init(&o);
    cairn_buf_init(&s);
    cairn_buf_init(&e);
    cairn_buf_init(&ts);
#define UNKNOWN(buf)                                                                      \
    do {                                                                                  \
        put_uint(buf, 100, 300);                                                          \
        put_tag(buf, 101, 1);                                                             \
        cairn_buf_append(buf, "12345678", 8);                                             \
        put_len(buf, 102, "\x0a\x01x", 3);                                                \
        put_tag(buf, 536870911, 5); /* the largest field number */                        \
        cairn_buf_append(buf, "1234", 4);                                                 \
    } while (0)
    UNKNOWN(&ts);
    put_uint(&ts, 1, 1700000000);
    UNKNOWN(&ts);
    put_uint(&ts, 2, 42);
    UNKNOWN(&e);
    put_len(&e, 1, ts.data, ts.len);
    UNKNOWN(&e);
    put_len(&e, 2, "the line", 8);
    UNKNOWN(&e);
    UNKNOWN(&s);
    put_len(&s, 2, e.data, e.len);
    UNKNOWN(&s);
    put_len(&s, 1, "{a=\"b\"}", 7);
    UNKNOWN(&s);
    UNKNOWN(&o);
    put_len(&o, 1, s.data, s.len);
    UNKNOWN(&o);
#undef UNKNOWN
    assert_int_equal(decode(&b, o.data, o.len, &err), 0);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.ne, 1);
    assert_false(b.s[0].bad);
    assert_int_equal(b.e[0].ts, 1700000000LL * 1000000000LL + 42);
    assert_memory_equal(b.e[0].line, "the line", 8);
    Logproto__PushRequest *req = logproto__push_request__unpack(NULL, o.len, (uint8_t *)o.data);
    assert_non_null(req); /* protobuf-c agrees it is valid */
    logproto__push_request__free_unpacked(req, NULL);
    for (unsigned wt = 3; wt <= 7; wt++) {
        if (wt == 5)
            continue;
        cairn_buf_reset(&o);
        put_tag(&o, 7, wt);
        cairn_buf_append(&o, "\0\0\0\0\0\0\0\0", 8);
        assert_int_equal(decode(&b, o.data, o.len, &err), CAIRN_EINVAL);
        assert_non_null(strstr(err.msg, wt <= 4 ? "group wire type" : "invalid wire type"));
    }
    cairn_buf_deinit(&o);
    cairn_buf_deinit(&s);
    cairn_buf_deinit(&e);
    cairn_buf_deinit(&ts);
    cairn_ingest_batch_deinit(&b);
}

/* The schema has no repeated scalars, so nothing is packable: a known scalar sent
 * length-delimited ("packed") or a message sent as a varint is the wrong wire type,
 * as protobuf-c and Loki's gogo code say too. Repeated message fields may be split
 * and interleaved; a string or a Timestamp given twice keeps the last (as Loki). */
static void wire_types_repeats_and_merges(void **state)
{
    (void)state;
    struct cairn_ingest_batch b;
    struct cairn_err err;
    cairn_ingest_batch_init(&b);
    struct cairn_buf o, s, e;
    cairn_buf_init(&o);
    cairn_buf_init(&s);
    cairn_buf_init(&e);
    /* hash as a packed varint list */
    put_len(&s, 3, "\x01\x02", 2);
    put_len(&o, 1, s.data, s.len);
    assert_int_equal(decode(&b, o.data, o.len, &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "stream hash with wire type 2 at byte 2"));
    assert_null(logproto__push_request__unpack(NULL, o.len, (uint8_t *)o.data));
    /* a line as a varint */
    cairn_buf_reset(&o);
    cairn_buf_reset(&s);
    put_uint(&e, 2, 5);
    put_len(&s, 2, e.data, e.len);
    put_len(&o, 1, s.data, s.len);
    assert_int_equal(decode(&b, o.data, o.len, &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "entry line with wire type 0"));
    /* streams as a varint */
    assert_int_equal(decode(&b, "\x08\x01", 2, &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "streams with wire type 0 at byte 0"));
    /* entries split around the labels, labels twice (last wins), timestamp twice
     * (the last wins whole: its seconds are absent, so 0) */
    cairn_buf_reset(&o);
    cairn_buf_reset(&s);
    cairn_buf_reset(&e);
    put_entry(&s, 1, 1, "one");
    put_len(&s, 1, "{a=\"first\"}", 11);
    put_entry(&s, 2, 2, "two");
    put_len(&s, 1, "{a=\"last\"}", 10);
    put_len(&e, 1, "\x08\x05", 2);      /* seconds 5 */
    put_len(&e, 1, "\x10\x09", 2);      /* nanos 9 */
    put_len(&e, 2, "x", 1);
    put_len(&e, 2, "three", 5);         /* last line wins */
    put_len(&s, 2, e.data, e.len);
    put_len(&o, 1, s.data, s.len);
    assert_int_equal(decode(&b, o.data, o.len, &err), 0);
    assert_int_equal(b.ne, 3);
    assert_string_equal(b.labels[0].v[0].value, "last");
    assert_int_equal(b.e[0].ts, 1000000001);
    assert_int_equal(b.e[1].ts, 2000000002);
    assert_int_equal(b.e[2].ts, 9);
    assert_memory_equal(b.e[2].line, "three", 5);
    Logproto__PushRequest *req = logproto__push_request__unpack(NULL, o.len, (uint8_t *)o.data);
    assert_non_null(req);
    assert_string_equal(req->streams[0]->labels, "{a=\"last\"}");
    assert_int_equal(req->streams[0]->entries[2]->timestamp->seconds, 0);
    assert_int_equal(req->streams[0]->entries[2]->timestamp->nanos, 9);
    logproto__push_request__free_unpacked(req, NULL);
    /* negative nanos (a 10-byte varint) and negative seconds */
    cairn_buf_reset(&o);
    cairn_buf_reset(&s);
    put_entry(&s, -2, -5, "neg");
    put_len(&s, 1, "{a=\"b\"}", 7);
    put_len(&o, 1, s.data, s.len);
    assert_int_equal(decode(&b, o.data, o.len, &err), 0);
    assert_int_equal(b.e[0].ts, -2000000005LL);
    cairn_buf_deinit(&o);
    cairn_buf_deinit(&s);
    cairn_buf_deinit(&e);
    cairn_ingest_batch_deinit(&b);
}

static void bad_labels_mark_their_stream(void **state)
{
    (void)state;
    struct cairn_ingest_batch b;
    struct cairn_err err;
    cairn_ingest_batch_init(&b);
    const char *labels[] = {"{a=\"1\", a=\"2\"}", "{ok=\"yes\"}", "{a=\"1\"", "{}"};
    size_t n[] = {1, 2, 1, 1};
    size_t len;
    uint8_t *p = pack(labels, n, 4, &len);
    assert_int_equal(decode(&b, p, len, &err), 0);
    assert_true(b.s[0].bad);
    assert_false(b.s[1].bad);
    assert_true(b.s[2].bad);
    assert_true(b.s[3].bad);
    const char *m = cairn_buf_cstr(&b.msg);
    assert_non_null(strstr(m, "stream '{a=\"1\", a=\"2\"}' has duplicate label name: "));
    assert_non_null(strstr(m, "Error parsing labels '{a=\"1\"' with error: "));
    assert_non_null(strstr(m, "error at least one label pair is required per stream"));
    assert_int_equal(b.status, 400);
    size_t bytes;
    struct cairn_ingest_limits lim = limits();
    int64_t now = (1700000000LL + 2) * 1000000000LL;
    assert_int_equal(cairn_ingest_validate(&b, &lim, now, &bytes), 2); /* the good stream */
    free(p);
    cairn_ingest_batch_deinit(&b);
}

/* The connection's label cache: a repeated text gives the same set and fingerprint
 * without parsing; bad sets are never cached; past its size it empties and goes on. */
static void label_cache_hits_and_bounds(void **state)
{
    (void)state;
    struct cairn_ingest_batch b;
    struct cairn_err err;
    cairn_ingest_batch_init(&b);
    const char *labels[] = {"{job=\"a\", app=\"x\"}", "{job=\"b\", job=\"c\"}"};
    size_t n[] = {1, 1};
    size_t len;
    uint8_t *p = pack(labels, n, 2, &len);
    assert_int_equal(decode(&b, p, len, &err), 0);
    assert_int_equal(b.lcache.used, 1); /* only the good set */
    for (int round = 0; round < 2; round++) {
        assert_int_equal(decode(&b, p, len, &err), 0);
        assert_int_equal(b.lcache.used, 1);
        assert_true(b.s[0].fp_set);
        assert_false(b.s[0].bad);
        assert_int_equal(b.labels[0].n, 2);
        assert_string_equal(b.labels[0].v[0].name, "app");
        assert_string_equal(b.labels[0].v[1].value, "a");
        assert_int_equal(b.s[0].fp, cairn_labels_fingerprint(&b.labels[0]));
        assert_true(b.s[1].bad); /* parsed again: its message again */
        assert_non_null(strstr(cairn_buf_cstr(&b.msg), "has duplicate label name"));
    }
    free(p);
    /* more distinct texts than the cache holds, twice over */
    struct cairn_ingest_limits lim = limits();
    char text[64];
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned k = 0; k < CAIRN_INGEST_LCACHE_MAX + 100; k++) {
            cairn_ingest_batch_reset(&b);
            int si = cairn_ingest_batch_stream(&b);
            assert_int_equal(si, 0);
            int tl = snprintf(text, sizeof text, "{pod=\"p%u\"}", k);
            cairn_ingest_stream_labels(&b, 0, text, (size_t)tl, &lim);
            assert_false(b.s[0].bad);
            assert_int_equal(b.labels[0].v[0].value_len, tl - 8);
            assert_memory_equal(b.labels[0].v[0].value, text + 6, (size_t)tl - 8);
            assert_int_equal(b.s[0].fp, cairn_labels_fingerprint(&b.labels[0]));
            assert_true(b.lcache.used <= CAIRN_INGEST_LCACHE_MAX);
            assert_true(b.lcache.bytes <= CAIRN_INGEST_LCACHE_MAX_BYTES);
        }
    }
    /* a set cached under one limit is checked again under a tighter one */
    cairn_ingest_batch_reset(&b);
    assert_int_equal(cairn_ingest_batch_stream(&b), 0);
    cairn_ingest_stream_labels(&b, 0, "{pod=\"p1\"}", 10, &lim);
    assert_false(b.s[0].bad);
    assert_int_equal(cairn_ingest_batch_stream(&b), 1);
    cairn_ingest_stream_labels(&b, 1, "{pod=\"p1\"}", 10, &lim);
    assert_true(b.s[1].fp_set); /* a hit */
    lim.max_label_value_len = 1;
    assert_int_equal(cairn_ingest_batch_stream(&b), 2);
    cairn_ingest_stream_labels(&b, 2, "{pod=\"p1\"}", 10, &lim);
    assert_true(b.s[2].bad);
    assert_non_null(strstr(cairn_buf_cstr(&b.msg), "has label value too long"));
    cairn_ingest_batch_deinit(&b);
}

/* Entries in the shape clients send take a fast path; any other order or extra field
 * takes the general reader; both give the same entries. */
static void entry_shapes_fast_and_general(void **state)
{
    (void)state;
    struct cairn_buf st, e, ts, body;
    cairn_buf_init(&st);
    cairn_buf_init(&body);
    put_len(&st, 1, "{a=\"b\"}", 7);
    /* 1-3: the usual shape; seconds only; nanos only */
    put_entry(&st, 1700000000, 5, "one");
    const int64_t secs[2] = {1700000001, 0};
    const int32_t nan[2] = {0, 7};
    for (int k = 0; k < 2; k++) {
        cairn_buf_init(&ts);
        cairn_buf_init(&e);
        if (secs[k])
            put_uint(&ts, 1, (uint64_t)secs[k]);
        if (nan[k])
            put_uint(&ts, 2, (uint64_t)nan[k]);
        put_len(&e, 1, ts.data, ts.len);
        put_len(&e, 2, k ? "three" : "two", k ? 5 : 3);
        put_len(&st, 2, e.data, e.len);
        cairn_buf_deinit(&ts);
        cairn_buf_deinit(&e);
    }
    /* 4: negative seconds and nanos (10-byte varints), empty line */
    put_entry(&st, -2, -1, "");
    /* 5: line first, then a timestamp with nanos before seconds and seconds twice */
    cairn_buf_init(&ts);
    cairn_buf_init(&e);
    put_uint(&ts, 2, 9);
    put_uint(&ts, 1, 1);
    put_uint(&ts, 1, 1700000002);
    put_len(&e, 2, "five", 4);
    put_len(&e, 1, ts.data, ts.len);
    put_len(&st, 2, e.data, e.len);
    cairn_buf_deinit(&ts);
    cairn_buf_deinit(&e);
    /* 6: the usual shape followed by structured metadata; 7: an empty Timestamp */
    cairn_buf_init(&ts);
    cairn_buf_init(&e);
    put_uint(&ts, 1, 1700000003);
    put_len(&e, 1, ts.data, ts.len);
    put_len(&e, 2, "six", 3);
    put_len(&e, 3, "", 0);
    put_len(&st, 2, e.data, e.len);
    cairn_buf_reset(&e);
    put_len(&e, 1, "", 0);
    put_len(&e, 2, "seven", 5);
    put_len(&st, 2, e.data, e.len);
    cairn_buf_deinit(&ts);
    cairn_buf_deinit(&e);
    put_len(&body, 1, st.data, st.len);
    struct cairn_ingest_batch b;
    cairn_ingest_batch_init(&b);
    struct cairn_err err;
    assert_int_equal(decode(&b, body.data, body.len, &err), 0);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.ne, 7);
    const int64_t want_ts[7] = {1700000000000000005LL, 1700000001000000000LL, 7,
                                -2000000001LL, 1700000002000000009LL, 1700000003000000000LL, 0};
    const char *want_line[7] = {"one", "two", "three", "", "five", "six", "seven"};
    for (int i = 0; i < 7; i++) {
        assert_int_equal(b.e[i].ts, want_ts[i]);
        assert_int_equal(b.e[i].len, strlen(want_line[i]));
        assert_memory_equal(b.e[i].line, want_line[i], b.e[i].len);
    }
    /* cut inside the last entry's line: the general reader names the entry field */
    assert_int_equal(decode(&b, body.data, body.len - 1, &err), CAIRN_EINVAL);
    cairn_ingest_batch_deinit(&b);
    cairn_buf_deinit(&st);
    cairn_buf_deinit(&body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_matches_protobuf_c),
        cmocka_unit_test(empty_and_zero_entries),
        cmocka_unit_test(truncated_at_every_byte),
        cmocka_unit_test(oversized_lengths_and_bad_varints),
        cmocka_unit_test(unknown_fields_skipped),
        cmocka_unit_test(wire_types_repeats_and_merges),
        cmocka_unit_test(bad_labels_mark_their_stream),
        cmocka_unit_test(label_cache_hits_and_bounds),
        cmocka_unit_test(entry_shapes_fast_and_general),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
