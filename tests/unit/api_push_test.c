/* api_push_test.c -- push body decoding (JSON, gzip, protobuf+snappy), Loki's
 * validation messages, buffer trimming, tenant IDs and the ingestion rate limiter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <snappy-c.h>
#include <zlib.h>

#include "api/api_int.h"
#include "cairn/ingest.h"
#include "cairn/text.h"
#include "cairn/timeutil.h"
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

static int decode_json(struct cairn_ingest_batch *b, const char *s, struct cairn_err *err)
{
    struct cairn_ingest_limits lim = limits();
    cairn_ingest_batch_reset(b);
    cairn_buf_append(&b->body, s, strlen(s));
    return cairn_ingest_decode_json(b, b->body.data, b->body.len, &lim, err);
}

static const char *msg(struct cairn_ingest_batch *b)
{
    return cairn_buf_cstr(&b->msg);
}

static void json_decodes_streams_and_values(void **state)
{
    (void)state;
    struct cairn_ingest_batch b;
    struct cairn_err err;
    cairn_ingest_batch_init(&b);
    const char *body =
        "{\"streams\":[{\"stream\":{\"job\":\"x\",\"app\":\"a\\\"q\"},"
        "\"values\":[[\"1700000000000000001\",\"plain\"],"
        "[\"1700000000000000002\",\"esc \\\"quoted\\\" \\u00e9\\n\",{\"trace_id\":\"abc\"}]]},"
        " {\"values\":[[\"5\",\"first\"]],\"extra\":[1,{\"x\":null}],\"stream\":{\"b\":\"c\"}}],"
        " \"ignored\": true}";
    assert_int_equal(decode_json(&b, body, &err), 0);
    assert_int_equal(b.n, 2);
    assert_int_equal(b.ne, 3);
    assert_int_equal(b.status, 0);
    assert_int_equal(b.labels[0].n, 2);
    assert_string_equal(b.labels[0].v[0].name, "app"); /* sorted */
    assert_string_equal(b.labels[0].v[0].value, "a\"q");
    assert_int_equal(b.e[0].ts, 1700000000000000001LL);
    assert_int_equal(b.e[0].len, 5);
    assert_memory_equal(b.e[0].line, "plain", 5);
    const char *want = "esc \"quoted\" \xc3\xa9\n";
    assert_int_equal(b.e[1].len, strlen(want));
    assert_memory_equal(b.e[1].line, want, strlen(want));
    assert_int_equal(b.s[1].first, 2);
    assert_int_equal(b.s[1].n, 1);
    assert_string_equal(b.labels[1].v[0].value, "c");
    cairn_ingest_batch_deinit(&b);
}

static void json_malformed_is_an_error(void **state)
{
    (void)state;
    struct cairn_ingest_batch b;
    struct cairn_err err;
    cairn_ingest_batch_init(&b);
    assert_int_equal(decode_json(&b, "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"1\"]]}]}",
                                 &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "offset"));
    assert_int_equal(decode_json(&b, "{\"streams\":[{\"stream\":{\"a\":1}}]}", &err), CAIRN_EINVAL);
    assert_int_equal(decode_json(&b, "{\"streams\":[{\"stream\":{\"a\":\"b\"},"
                                     "\"values\":[[\"notanumber\",\"x\"]]}]}", &err),
                     CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "timestamp 'notanumber'"));
    assert_int_equal(decode_json(&b, "{\"streams\":[]} x", &err), CAIRN_EINVAL);
    assert_int_equal(decode_json(&b, "", &err), CAIRN_EINVAL);
    assert_int_equal(decode_json(&b, "{\"streams\":null}", &err), 0);
    assert_int_equal(b.n, 0);
    cairn_ingest_batch_deinit(&b);
}

static void json_bad_labels_mark_only_their_stream(void **state)
{
    (void)state;
    struct cairn_ingest_batch b;
    struct cairn_err err;
    cairn_ingest_batch_init(&b);
    const char *body =
        "{\"streams\":["
        "{\"stream\":{},\"values\":[[\"1\",\"a\"]]},"
        "{\"stream\":{\"a\":\"1\",\"a\":\"2\"},\"values\":[[\"1\",\"b\"]]},"
        "{\"stream\":{\"ok\":\"yes\"},\"values\":[[\"1\",\"c\"]]},"
        "{\"stream\":{\"1bad\":\"x\"},\"values\":[[\"1\",\"d\"]]}"
        "]}";
    assert_int_equal(decode_json(&b, body, &err), 0);
    assert_int_equal(b.n, 4);
    assert_true(b.s[0].bad);
    assert_true(b.s[1].bad);
    assert_false(b.s[2].bad);
    assert_true(b.s[3].bad);
    assert_int_equal(b.status, 400);
    assert_non_null(strstr(msg(&b), "error at least one label pair is required per stream\n"));
    assert_non_null(strstr(msg(&b), "has duplicate label name: 'a'"));
    assert_non_null(strstr(msg(&b), "invalid label name: '1bad'"));
    cairn_ingest_batch_deinit(&b);
}

static void json_label_limits_use_lokis_words(void **state)
{
    (void)state;
    struct cairn_ingest_batch b;
    struct cairn_err err;
    struct cairn_buf body = CAIRN_BUF_INIT;
    cairn_ingest_batch_init(&b);
    cairn_buf_append_str(&body, "{\"streams\":[{\"stream\":{");
    for (int i = 0; i < 16; i++)
        cairn_buf_appendf(&body, "%s\"l%02d\":\"v\"", i ? "," : "", i);
    cairn_buf_append_str(&body, "},\"values\":[[\"1\",\"x\"]]},{\"stream\":{\"n\":\"");
    for (int i = 0; i < 2049; i++)
        cairn_buf_append_byte(&body, 'v');
    cairn_buf_append_str(&body, "\"},\"values\":[[\"1\",\"x\"]]}]}");
    assert_int_equal(decode_json(&b, body.data, &err), 0);
    assert_true(b.s[0].bad);
    assert_true(b.s[1].bad);
    assert_non_null(strstr(msg(&b), "has 16 label names; limit 15"));
    assert_non_null(strstr(msg(&b), "has label value too long: 'vvvv"));
    cairn_buf_deinit(&body);
    cairn_ingest_batch_deinit(&b);
}

static void validate_drops_bad_entries_keeps_good(void **state)
{
    (void)state;
    struct cairn_ingest_batch b;
    struct cairn_err err;
    struct cairn_ingest_limits lim = limits();
    lim.max_line_size = 10;
    cairn_ingest_batch_init(&b);
    int64_t now = cairn_now_ns();
    char body[512];
    snprintf(body, sizeof body,
             "{\"streams\":[{\"stream\":{\"app\":\"a\"},\"values\":["
             "[\"%lld\",\"good1\"],[\"%lld\",\"this line is too long\"],"
             "[\"%lld\",\"old\"],[\"%lld\",\"future\"],[\"%lld\",\"good2\"]]}]}",
             (long long)now, (long long)now, (long long)(now - 200LL * 3600 * 1000000000LL),
             (long long)(now + 3600LL * 1000000000LL), (long long)(now - 1000));
    cairn_buf_append(&b.body, body, strlen(body));
    assert_int_equal(cairn_ingest_decode_json(&b, b.body.data, b.body.len, &lim, &err), 0);
    size_t bytes = 0;
    assert_int_equal(cairn_ingest_validate(&b, &lim, now, &bytes), 2);
    assert_int_equal(bytes, 10);
    assert_int_equal(b.s[0].n, 2);
    assert_memory_equal(b.e[b.s[0].first + 1].line, "good2", 5);
    assert_int_equal(b.status, 400);
    assert_non_null(strstr(msg(&b), "Max entry size '10' bytes exceeded for stream "
                                    "'{app=\"a\"}' while adding an entry with length '21' bytes"));
    assert_non_null(strstr(msg(&b), "entry for stream '{app=\"a\"}' has timestamp too old: "));
    assert_non_null(strstr(msg(&b), "oldest acceptable timestamp is: "));
    assert_non_null(strstr(msg(&b), "entry for stream '{app=\"a\"}' has timestamp too new: "));
    cairn_ingest_batch_deinit(&b);
}

/* Regression (fuzz): validating a batch with no entries at all did NULL + 0. */
static void validate_empty_streams(void **state)
{
    (void)state;
    struct cairn_ingest_batch b;
    struct cairn_err err;
    struct cairn_ingest_limits lim = limits();
    cairn_ingest_batch_init(&b);
    assert_int_equal(decode_json(&b, "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[]}]}",
                                 &err), 0);
    size_t bytes = 1;
    assert_int_equal(cairn_ingest_validate(&b, &lim, cairn_now_ns(), &bytes), 0);
    assert_int_equal(bytes, 0);
    assert_int_equal(b.status, 0);
    cairn_ingest_batch_deinit(&b);
}

/* Regression (fuzz): a protobuf timestamp of ~1e10 seconds overflowed int64 ns. */
static void protobuf_huge_timestamp_is_too_new(void **state)
{
    (void)state;
    struct cairn_ingest_batch b;
    struct cairn_err err;
    struct cairn_ingest_limits lim = limits();
    cairn_ingest_batch_init(&b);
    Logproto__Timestamp ts = LOGPROTO__TIMESTAMP__INIT;
    ts.seconds = 10289934592LL;
    Logproto__EntryAdapter ea = LOGPROTO__ENTRY_ADAPTER__INIT;
    Logproto__EntryAdapter *eap = &ea;
    ea.timestamp = &ts;
    ea.line.data = (uint8_t *)"x";
    ea.line.len = 1;
    Logproto__StreamAdapter sa = LOGPROTO__STREAM_ADAPTER__INIT;
    Logproto__StreamAdapter *sap = &sa;
    sa.labels = "{a=\"b\"}";
    sa.n_entries = 1;
    sa.entries = &eap;
    Logproto__PushRequest req = LOGPROTO__PUSH_REQUEST__INIT;
    req.n_streams = 1;
    req.streams = &sap;
    uint8_t buf[256];
    size_t n = logproto__push_request__pack(&req, buf);
    assert_int_equal(cairn_ingest_decode_pb(&b, (const char *)buf, n, &lim, &err), 0);
    assert_int_equal(b.e[0].ts, INT64_MAX);
    size_t bytes;
    assert_int_equal(cairn_ingest_validate(&b, &lim, cairn_now_ns(), &bytes), 0);
    assert_non_null(strstr(msg(&b), "has timestamp too new"));
    cairn_ingest_batch_deinit(&b);
}

static void gzip_round_trip_and_limit(void **state)
{
    (void)state;
    const char *text = "{\"streams\":[]}{\"streams\":[]}{\"streams\":[]}{\"streams\":[]}";
    unsigned char gz[256];
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)text;
    z.avail_in = (uInt)strlen(text);
    z.next_out = gz;
    z.avail_out = sizeof gz;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t gzlen = sizeof gz - z.avail_out;
    deflateEnd(&z);
    struct cairn_buf out = CAIRN_BUF_INIT;
    struct cairn_err err;
    assert_int_equal(cairn_ingest_gunzip((char *)gz, gzlen, 1000, &out, NULL, &err), 0);
    assert_int_equal(out.len, strlen(text));
    assert_memory_equal(out.data, text, out.len);
    assert_int_equal(cairn_ingest_gunzip((char *)gz, gzlen, 20, &out, NULL, &err), CAIRN_ELIMIT);
    assert_non_null(strstr(err.msg, "request body too large"));
    assert_int_equal(cairn_ingest_gunzip((char *)gz, gzlen - 4, 1000, &out, NULL, &err), CAIRN_EINVAL);
    assert_int_equal(cairn_ingest_gunzip("nope", 4, 1000, &out, NULL, &err), CAIRN_EINVAL);
    cairn_buf_deinit(&out);
}

/* Encode a PushRequest the way Promtail does: protobuf, then snappy block format. */
static char *encode_pb(const char *labels, size_t n, size_t *len)
{
    Logproto__PushRequest req = LOGPROTO__PUSH_REQUEST__INIT;
    Logproto__StreamAdapter sa = LOGPROTO__STREAM_ADAPTER__INIT;
    Logproto__StreamAdapter *sp = &sa;
    Logproto__EntryAdapter *ents = calloc(n, sizeof *ents);
    Logproto__EntryAdapter **ep = calloc(n, sizeof *ep);
    Logproto__Timestamp *ts = calloc(n, sizeof *ts);
    char (*lines)[32] = calloc(n, sizeof *lines);
    assert_non_null(ents && ep && ts && lines);
    for (size_t i = 0; i < n; i++) {
        logproto__entry_adapter__init(&ents[i]);
        logproto__timestamp__init(&ts[i]);
        ts[i].seconds = 1700000000 + (int64_t)i;
        ts[i].nanos = 7;
        ents[i].timestamp = &ts[i];
        snprintf(lines[i], sizeof lines[i], "line %zu", i);
        ents[i].line.data = (uint8_t *)lines[i];
        ents[i].line.len = strlen(lines[i]);
        ep[i] = &ents[i];
    }
    sa.labels = (char *)labels;
    sa.n_entries = n;
    sa.entries = ep;
    req.n_streams = 1;
    req.streams = &sp;
    size_t pl = logproto__push_request__get_packed_size(&req);
    uint8_t *pb = malloc(pl);
    logproto__push_request__pack(&req, pb);
    size_t cl = snappy_max_compressed_length(pl);
    char *c = malloc(cl);
    assert_int_equal(snappy_compress((char *)pb, pl, c, &cl), SNAPPY_OK);
    free(pb);
    free(ents);
    free(ep);
    free(ts);
    free(lines);
    *len = cl;
    return c;
}

static void protobuf_snappy_decodes(void **state)
{
    (void)state;
    struct cairn_ingest_batch b;
    struct cairn_err err;
    struct cairn_ingest_limits lim = limits();
    cairn_ingest_batch_init(&b);
    for (int round = 0; round < 3; round++) { /* reuse: the buffers are kept */
        size_t len;
        char *c = encode_pb("{job=\"promtail\", host=\"h1\"}", 500, &len);
        cairn_ingest_batch_reset(&b);
        assert_int_equal(cairn_ingest_unsnappy(c, len, 1 << 20, &b.dec, NULL, &err), 0);
        assert_int_equal(cairn_ingest_decode_pb(&b, b.dec.data, b.dec.len, &lim, &err), 0);
        assert_int_equal(b.n, 1);
        assert_int_equal(b.ne, 500);
        assert_false(b.s[0].bad);
        assert_string_equal(b.labels[0].v[0].name, "host");
        assert_int_equal(b.e[499].ts, (1700000000LL + 499) * 1000000000LL + 7);
        assert_memory_equal(b.e[499].line, "line 499", 8);
        assert_int_equal(cairn_ingest_unsnappy(c, len, 10, &b.dec, NULL, &err), CAIRN_ELIMIT);
        free(c);
    }
    size_t len;
    char *c = encode_pb("{job=\"x\"", 1, &len);
    cairn_ingest_batch_reset(&b);
    assert_int_equal(cairn_ingest_unsnappy(c, len, 1 << 20, &b.dec, NULL, &err), 0);
    assert_int_equal(cairn_ingest_decode_pb(&b, b.dec.data, b.dec.len, &lim, &err), 0);
    assert_true(b.s[0].bad);
    assert_non_null(strstr(msg(&b), "Error parsing labels '{job=\"x\"' with error: "));
    free(c);
    assert_int_equal(cairn_ingest_unsnappy("\xff\xff\xff", 3, 100, &b.dec, NULL, &err), CAIRN_EINVAL);
    assert_int_equal(cairn_ingest_decode_pb(&b, "\x0a\xff", 2, &lim, &err), CAIRN_EINVAL);
    cairn_ingest_batch_deinit(&b);
}

static void trim_frees_only_big_buffers(void **state)
{
    (void)state;
    struct cairn_ingest_batch b;
    cairn_ingest_batch_init(&b);
    assert_int_equal(cairn_buf_reserve(&b.body, 1 << 20), 0);
    assert_int_equal(cairn_buf_reserve(&b.dec, 3 << 20), 0);
    cairn_ingest_batch_trim(&b, 2 << 20);
    assert_true(b.body.cap >= 1 << 20); /* kept for the next request */
    assert_int_equal(b.dec.cap, 0);     /* freed */
    assert_null(b.dec.data);
    cairn_ingest_batch_reset(&b);        /* still usable */
    assert_int_equal(cairn_buf_append(&b.dec, "x", 1), 0);
    cairn_ingest_batch_deinit(&b);
}

static void tenant_ids_and_rate_limit(void **state)
{
    (void)state;
    assert_true(cairn__tenant_id_valid("fake", 4));
    assert_true(cairn__tenant_id_valid("team-a_1.prod", 13));
    assert_false(cairn__tenant_id_valid("", 0));
    assert_false(cairn__tenant_id_valid("..", 2));
    assert_false(cairn__tenant_id_valid("a/b", 3));
    assert_false(cairn__tenant_id_valid("a b", 3));
    struct cairn__tenants t;
    assert_int_equal(cairn__tenants_init(&t, 1000, 1500), 0);
    int64_t now = 1000000000;
    assert_int_equal(cairn__tenants_take(&t, "a", 1000, now), 0);
    assert_int_equal(cairn__tenants_take(&t, "a", 1000, now), CAIRN_ELIMIT); /* 500 left */
    assert_int_equal(cairn__tenants_take(&t, "b", 1500, now), 0);  /* own bucket */
    assert_int_equal(cairn__tenants_take(&t, "a", 1000, now + 500000000), 0); /* refilled */
    assert_int_equal(cairn__tenants_take(&t, "a", 2000, now + 100000000000LL), CAIRN_ELIMIT);
    cairn__tenants_count(&t, "a", 3, 30, 1);
    struct cairn_buf out = CAIRN_BUF_INIT;
    assert_int_equal(cairn__tenants_metrics(&t, &out), 0);
    assert_non_null(strstr(out.data, "cairn_ingested_lines_total{tenant=\"a\"} 3\n"));
    assert_non_null(strstr(out.data, "cairn_ingested_bytes_total{tenant=\"a\"} 30\n"));
    cairn_buf_deinit(&out);
    cairn__tenants_deinit(&t);
}

/* A gzip body of `mib` MiB of zeros (about 1 KiB per MiB). Caller frees. */
static unsigned char *gzip_bomb(size_t mib, size_t *len)
{
    static const unsigned char zero[1 << 16];
    size_t cap = mib * 2048 + 4096;
    unsigned char *gz = malloc(cap);
    assert_non_null(gz);
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_out = gz;
    z.avail_out = (uInt)cap;
    for (size_t i = 0; i < mib * 16; i++) {
        z.next_in = (Bytef *)zero;
        z.avail_in = sizeof zero;
        assert_int_equal(deflate(&z, Z_NO_FLUSH), Z_OK);
    }
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *len = cap - z.avail_out;
    deflateEnd(&z);
    return gz;
}

/* Finding 2: a small body inflating far past the cap stops there, its buffer never
 * larger than the cap plus two bytes (main doubled it past the cap). */
static void gzip_bomb_stops_at_the_cap_without_allocating_past_it(void **state)
{
    (void)state;
    size_t len;
    unsigned char *gz = gzip_bomb(64, &len);
    assert_true(len < 256 * 1024);
    struct cairn_buf out = CAIRN_BUF_INIT;
    struct cairn_err err;
    const size_t max = 3 * 1024 * 1024 + 17;
    assert_int_equal(cairn_ingest_gunzip((char *)gz, len, max, &out, NULL, &err), CAIRN_ELIMIT);
    assert_non_null(strstr(err.msg, "request body too large"));
    assert_true(out.cap <= max + 2);
    assert_true(out.len <= max + 1);
    cairn_buf_deinit(&out);
    free(gz);
}

/* Finding 2: concurrent bombs share one budget; past it EAGAIN (503), and the
 * request's charge goes back whole. */
static void gzip_growth_is_charged_to_the_shared_budget(void **state)
{
    (void)state;
    size_t len;
    unsigned char *gz = gzip_bomb(16, &len);
    _Atomic size_t used = 0;
    struct cairn_buf a = CAIRN_BUF_INIT, b = CAIRN_BUF_INIT;
    struct cairn_ingest_charge ca = {.used = &used, .max = 6u << 20};
    struct cairn_ingest_charge cb = {.used = &used, .max = 6u << 20};
    struct cairn_err err;
    /* a takes most of the budget and is refused at the cap (4 MiB) */
    assert_int_equal(cairn_ingest_gunzip((char *)gz, len, 4u << 20, &a, &ca, &err), CAIRN_ELIMIT);
    assert_true(ca.held >= 4u << 20 && ca.held <= (4u << 20) + 2);
    /* b, while a still holds its part, hits the budget */
    assert_int_equal(cairn_ingest_gunzip((char *)gz, len, 100u << 20, &b, &cb, &err), CAIRN_EAGAIN);
    assert_non_null(strstr(err.msg, "retry later"));
    assert_true(atomic_load(&used) <= 6u << 20);
    assert_true(b.cap <= 6u << 20);
    cairn_ingest_charge_release(&ca);
    cairn_ingest_charge_release(&cb);
    assert_int_equal(atomic_load(&used), 0);
    cairn_buf_deinit(&a);
    cairn_buf_deinit(&b);
    free(gz);
}

/* Finding 2: a snappy body whose declared length its data does not yield is refused
 * before anything is allocated (main allocated the declared length first). */
static void snappy_lying_length_allocates_nothing(void **state)
{
    (void)state;
    struct cairn_buf out = CAIRN_BUF_INIT;
    struct cairn_err err;
    /* declares 50 MiB, holds one 3-byte literal */
    const char tiny[] = "\x80\x80\x80\x19" "\x08" "abc";
    assert_int_equal(cairn_ingest_unsnappy(tiny, sizeof tiny - 1, 100u << 20, &out, NULL, &err),
                     CAIRN_EINVAL);
    assert_int_equal(out.cap, 0);
    /* a real stream of 1 MiB of varied text, its length patched to 2 MiB */
    size_t n = 1u << 20;
    char *raw = malloc(n);
    assert_non_null(raw);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        raw[i] = (char)('a' + (x >> 16) % 26);
    }
    size_t clen = snappy_max_compressed_length(n);
    char *c = malloc(clen + 8);
    assert_non_null(c);
    assert_int_equal(snappy_compress(raw, n, c + 1, &clen), SNAPPY_OK);
    /* 1 MiB is the varint 80 80 40; 2 MiB is 80 80 80 01: one byte longer */
    assert_memory_equal(c + 1, "\x80\x80\x40", 3);
    memcpy(c, "\x80\x80\x80\x01", 4);
    assert_int_equal(cairn_ingest_unsnappy(c, clen + 1, 100u << 20, &out, NULL, &err), CAIRN_EINVAL);
    assert_int_equal(out.cap, 0);
    /* declared past the cap: 413 wording, nothing allocated */
    assert_int_equal(cairn_ingest_unsnappy(c, clen + 1, 1u << 20, &out, NULL, &err), CAIRN_ELIMIT);
    assert_int_equal(out.cap, 0);
    free(c);
    free(raw);
}

/* Finding 7: invalid UTF-8 in a JSON push's line and label value becomes U+FFFD, as
 * Go's JSON decoding does in Loki; valid UTF-8 is kept as it is. */
static void json_push_repairs_invalid_utf8(void **state)
{
    (void)state;
    struct cairn_ingest_batch b;
    cairn_ingest_batch_init(&b);
    struct cairn_err err;
    assert_int_equal(decode_json(&b, "{\"streams\":[{\"stream\":{\"app\":\"v\xff\"},\"values\":"
                                     "[[\"1\",\"a\xc3\xa9\xfe\\n\"],[\"2\",\"ok\xe2\x82\"]]}]}",
                                 &err), 0);
    assert_int_equal(b.ne, 2);
    assert_int_equal(b.e[0].len, 7);
    assert_memory_equal(b.e[0].line, "a\xc3\xa9\xef\xbf\xbd\n", 7);
    assert_int_equal(b.e[1].len, 2 + 6);
    assert_memory_equal(b.e[1].line, "ok\xef\xbf\xbd\xef\xbf\xbd", 8);
    assert_int_equal(b.labels[0].n, 1);
    assert_int_equal(b.labels[0].v[0].value_len, 4);
    assert_memory_equal(b.labels[0].v[0].value, "v\xef\xbf\xbd", 4);
    cairn_ingest_batch_deinit(&b);
}

/* Finding 7: a protobuf push's label text with invalid UTF-8 is refused, as Loki's
 * parser (Prometheus' lexer: "invalid UTF-8 rune") refuses it; the message shows the
 * text with U+FFFD, so the reply itself is valid UTF-8. */
static void protobuf_labels_with_invalid_utf8_are_refused(void **state)
{
    (void)state;
    struct cairn_ingest_limits lim = limits();
    struct cairn_ingest_batch b;
    cairn_ingest_batch_init(&b);
    assert_int_equal(cairn_ingest_batch_stream(&b), 0);
    const char *t = "{app=\"x\xff\"}";
    cairn_ingest_stream_labels(&b, 0, t, strlen(t), &lim);
    assert_true(b.s[0].bad);
    assert_int_equal(b.status, 400);
    assert_non_null(strstr(msg(&b), "Error parsing labels '{app=\"x\xef\xbf\xbd\"}' with "
                                    "error: 1:8: parse error: invalid UTF-8 rune"));
    assert_true(cairn_utf8_valid(msg(&b), strlen(msg(&b))));
    assert_int_equal(cairn_ingest_batch_stream(&b), 1);
    t = "{app=\"x\xc3\xa9\"}"; /* valid UTF-8 is taken */
    cairn_ingest_stream_labels(&b, 1, t, strlen(t), &lim);
    assert_false(b.s[1].bad);
    cairn_ingest_batch_deinit(&b);
}

/* Finding 2: a connection keeps at most CAIRN_PUSH_KEEP_BYTES of buffers in all. */
static void trim_bounds_what_a_connection_keeps(void **state)
{
    (void)state;
    struct cairn_ingest_batch b;
    cairn_ingest_batch_init(&b);
    assert_int_equal(cairn_buf_reserve(&b.body, 3u << 20), 0);
    assert_int_equal(cairn_buf_reserve(&b.dec, 3u << 20), 0);
    assert_int_equal(cairn_buf_reserve(&b.unesc, 3u << 20), 0);
    cairn_ingest_batch_trim(&b, CAIRN_PUSH_KEEP_BYTES);
    assert_true(b.body.cap + b.dec.cap + b.unesc.cap <= CAIRN_PUSH_KEEP_BYTES);
    assert_true(CAIRN_PUSH_KEEP_BYTES <= 4u << 20);
    cairn_ingest_batch_deinit(&b);
}

/* Findings 2 and 8: the embedded defaults. */
static void defaults_for_one_machine(void **state)
{
    (void)state;
    struct cairn_api_limits l = api_limits();
    assert_true(l.ingestion_rate_mb == 0);      /* no per-tenant rate limit */
    assert_int_equal(l.max_streams_per_user, 0); /* no active-stream limit */
    assert_int_equal(l.ingest.max_push_decoded, 100u << 20); /* Loki's max_recv_msg_size */
    assert_true(l.push_decode_budget > 0 && l.push_decode_budget < 512u << 20);
    assert_true(l.max_push_body > 0);
    /* rate 0: any amount goes through */
    struct cairn__tenants t;
    assert_int_equal(cairn__tenants_init(&t, l.ingestion_rate_mb * 1048576,
                                         l.ingestion_burst_mb * 1048576), 0);
    assert_int_equal(cairn__tenants_take(&t, "fake", 64u << 20, 1), 0);
    assert_int_equal(cairn__tenants_take(&t, "fake", 64u << 20, 2), 0);
    cairn__tenants_deinit(&t);
}

/* Tenant IDs: Loki's rules, one function for reads and writes. */
static void tenant_id_rules(void **state)
{
    (void)state;
    char id[152];
    memset(id, 'a', sizeof id);
    assert_true(cairn__tenant_id_valid(id, 150));
    assert_false(cairn__tenant_id_valid(id, 151));
    assert_non_null(strstr(cairn_ingest_tenant_problem(id, 151), "too long"));
    assert_false(cairn__tenant_id_valid("../x", 4));
    assert_false(cairn__tenant_id_valid("a\0b", 3));
    assert_false(cairn__tenant_id_valid("a|b", 3));
    assert_non_null(strstr(cairn_ingest_tenant_problem("a|b", 3), "'|'"));
    assert_false(cairn__tenant_id_valid(".", 1));
    assert_false(cairn__tenant_id_valid("..", 2));
    assert_true(cairn__tenant_id_valid("...", 3));
    assert_true(cairn__tenant_id_valid("team-a_(1)!*'.", 14));
    assert_false(cairn__tenant_id_valid("", 0));
    assert_false(cairn__tenant_id_valid("\xc3\xa9", 2));
}

/* Repair and unescaping are bounded too: a line of bad bytes triples, so its repair
 * counts against the decoded cap; the unescape buffer is charged to the budget. */
static void json_repair_and_unescape_are_bounded(void **state)
{
    (void)state;
    struct cairn_ingest_limits lim = limits();
    struct cairn_ingest_batch b;
    cairn_ingest_batch_init(&b);
    struct cairn_err err;
    const char *bad = "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"1\","
                      "\"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\"]]}]}";
    lim.max_push_decoded = 30; /* 12 bad bytes repair to 36 */
    cairn_buf_append(&b.body, bad, strlen(bad));
    assert_int_equal(cairn_ingest_decode_json(&b, b.body.data, b.body.len, &lim, &err),
                     CAIRN_ELIMIT);
    assert_non_null(strstr(err.msg, "invalid UTF-8"));
    /* escapes: the unescape buffer (body-sized) must fit the budget */
    lim = limits();
    cairn_ingest_batch_reset(&b);
    const char *esc = "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"1\",\"x\\ny\"]]}]}";
    cairn_buf_append(&b.body, esc, strlen(esc));
    _Atomic size_t used = 0;
    b.charge = (struct cairn_ingest_charge){.used = &used, .max = 16};
    assert_int_equal(cairn_ingest_decode_json(&b, b.body.data, b.body.len, &lim, &err),
                     CAIRN_EAGAIN);
    assert_int_equal(atomic_load(&used), 0);
    b.charge.max = 4096;
    cairn_ingest_batch_reset(&b);
    cairn_buf_append(&b.body, esc, strlen(esc));
    assert_int_equal(cairn_ingest_decode_json(&b, b.body.data, b.body.len, &lim, &err), 0);
    assert_int_equal(atomic_load(&used), strlen(esc) + 1);
    cairn_ingest_charge_release(&b.charge);
    assert_int_equal(atomic_load(&used), 0);
    cairn_ingest_batch_deinit(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_decodes_streams_and_values),
        cmocka_unit_test(json_malformed_is_an_error),
        cmocka_unit_test(json_bad_labels_mark_only_their_stream),
        cmocka_unit_test(json_label_limits_use_lokis_words),
        cmocka_unit_test(validate_drops_bad_entries_keeps_good),
        cmocka_unit_test(validate_empty_streams),
        cmocka_unit_test(protobuf_huge_timestamp_is_too_new),
        cmocka_unit_test(gzip_round_trip_and_limit),
        cmocka_unit_test(protobuf_snappy_decodes),
        cmocka_unit_test(trim_frees_only_big_buffers),
        cmocka_unit_test(tenant_ids_and_rate_limit),
        cmocka_unit_test(gzip_bomb_stops_at_the_cap_without_allocating_past_it),
        cmocka_unit_test(gzip_growth_is_charged_to_the_shared_budget),
        cmocka_unit_test(snappy_lying_length_allocates_nothing),
        cmocka_unit_test(json_push_repairs_invalid_utf8),
        cmocka_unit_test(protobuf_labels_with_invalid_utf8_are_refused),
        cmocka_unit_test(trim_bounds_what_a_connection_keeps),
        cmocka_unit_test(defaults_for_one_machine),
        cmocka_unit_test(tenant_id_rules),
        cmocka_unit_test(json_repair_and_unescape_are_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
