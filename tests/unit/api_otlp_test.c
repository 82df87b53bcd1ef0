/* api_otlp_test.c -- structured metadata and OTLP on the ingest side: the JSON push's
 * third element and the protobuf structuredMetadata decoded into the batch, Loki 3's
 * limits on them; the OTLP logs decoders (a protobuf ExportLogsServiceRequest built
 * here with a wire writer, a JSON one in the OTLP specification's example shape) and
 * Loki 3's default mapping onto labels, lines and structured metadata. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/api_int.h"
#include "ingest/otlp.h"
#include "cairn/ingest.h"
#include "cairn/buf.h"
#include "cairn/smeta.h"
#include "push.pb-c.h"

static struct cairn_ingest_limits limits(void)
{
    struct cairn_ingest_limits l;
    cairn_ingest_limits_default(&l);
    return l;
}

/* Entry i's metadata as "a=b,c=d". */
static const char *meta(struct cairn_ingest_batch *b, size_t i, char *out, size_t cap)
{
    struct cairn_smeta_iter it;
    const char *n, *v;
    size_t nl, vl, o = 0;
    out[0] = '\0';
    cairn_smeta_iter_init(&it, b->smb.data + b->esm[i].off, b->esm[i].len);
    while (cairn_smeta_next(&it, &n, &nl, &v, &vl) == 1)
        o += (size_t)snprintf(out + o, cap - o, "%s%.*s=%.*s", o ? "," : "", (int)nl, n, (int)vl,
                              v);
    return out;
}

static const char *label(struct cairn_ingest_batch *b, size_t s, const char *name)
{
    for (size_t i = 0; i < b->labels[s].n; i++)
        if (!strcmp(b->labels[s].v[i].name, name))
            return b->labels[s].v[i].value;
    return NULL;
}

static void json_push_metadata(void **state)
{
    (void)state;
    struct cairn_ingest_batch b;
    struct cairn_ingest_limits lim = limits();
    struct cairn_err err;
    char m[256];
    cairn_ingest_batch_init(&b);
    const char *body = "{\"streams\":[{\"stream\":{\"app\":\"a\"},\"values\":["
                       "[\"1\",\"plain\"],"
                       "[\"2\",\"with\",{\"trace_id\":\"abc\",\"user\":\"u\\u00e9\"}],"
                       "[\"3\",\"empty\",{}]]}]}";
    assert_int_equal(cairn_ingest_decode_json(&b, body, strlen(body), &lim, &err), 0);
    assert_int_equal(b.ne, 3);
    assert_int_equal(b.esm[0].len, 0);
    assert_string_equal(meta(&b, 1, m, sizeof m), "trace_id=abc,user=u\xc3\xa9");
    assert_int_equal(b.esm[2].len, 0);

    /* not an object of strings: 400 naming the entry */
    const char *bad[] = {
        "{\"streams\":[{\"stream\":{\"app\":\"a\"},\"values\":[[\"1\",\"x\"],[\"2\",\"y\",{\"n\":1}]]}]}",
        "{\"streams\":[{\"stream\":{\"app\":\"a\"},\"values\":[[\"1\",\"x\",{\"n\":{\"a\":\"b\"}}]]}]}",
        "{\"streams\":[{\"stream\":{\"app\":\"a\"},\"values\":[[\"1\",\"x\",[\"a\"]]]}]}",
    };
    const char *want[] = {"entry 1 of stream 0", "entry 0 of stream 0", "entry 0 of stream 0"};
    for (size_t i = 0; i < 3; i++) {
        cairn_ingest_batch_reset(&b);
        cairn_err_clear(&err);
        assert_int_equal(cairn_ingest_decode_json(&b, bad[i], strlen(bad[i]), &lim, &err),
                         CAIRN_EINVAL);
        assert_non_null(strstr(err.msg, want[i]));
    }
    cairn_ingest_batch_deinit(&b);
}

static void pb_push_metadata(void **state)
{
    (void)state;
    Logproto__LabelPairAdapter p1 = LOGPROTO__LABEL_PAIR_ADAPTER__INIT,
                               p2 = LOGPROTO__LABEL_PAIR_ADAPTER__INIT;
    p1.name = "trace_id";
    p1.value = "t1";
    p2.name = "pod";
    p2.value = "p-0";
    Logproto__LabelPairAdapter *pairs[] = {&p1, &p2};
    Logproto__Timestamp ts = LOGPROTO__TIMESTAMP__INIT;
    ts.seconds = 1700000000;
    Logproto__EntryAdapter e[2] = {LOGPROTO__ENTRY_ADAPTER__INIT, LOGPROTO__ENTRY_ADAPTER__INIT};
    Logproto__EntryAdapter *ep[] = {&e[0], &e[1]};
    for (int i = 0; i < 2; i++) {
        e[i].timestamp = &ts;
        e[i].line.data = (uint8_t *)"l";
        e[i].line.len = 1;
    }
    e[1].n_structuredmetadata = 2;
    e[1].structuredmetadata = pairs;
    Logproto__StreamAdapter sa = LOGPROTO__STREAM_ADAPTER__INIT;
    Logproto__StreamAdapter *sap = &sa;
    sa.labels = "{app=\"a\"}";
    sa.n_entries = 2;
    sa.entries = ep;
    Logproto__PushRequest req = LOGPROTO__PUSH_REQUEST__INIT;
    req.n_streams = 1;
    req.streams = &sap;
    size_t len = logproto__push_request__get_packed_size(&req);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    logproto__push_request__pack(&req, buf);

    struct cairn_ingest_batch b;
    struct cairn_ingest_limits lim = limits();
    struct cairn_err err;
    char m[256];
    cairn_ingest_batch_init(&b);
    assert_int_equal(cairn_ingest_decode_pb(&b, (const char *)buf, len, &lim, &err), 0);
    assert_int_equal(b.ne, 2);
    assert_int_equal(b.esm[0].len, 0);
    assert_string_equal(meta(&b, 1, m, sizeof m), "trace_id=t1,pod=p-0");
    free(buf);
    cairn_ingest_batch_deinit(&b);
}

/* Loki 3's limits: the entry is refused with its message, the others stay. */
static void metadata_limits(void **state)
{
    (void)state;
    struct cairn_ingest_batch b;
    struct cairn_ingest_limits lim = limits();
    struct cairn_err err;
    size_t bytes;
    cairn_ingest_batch_init(&b);
    const char *body = "{\"streams\":[{\"stream\":{\"app\":\"a\"},\"values\":["
                       "[\"%lld\",\"ok\"],[\"%lld\",\"three\",{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}],"
                       "[\"%lld\",\"big\",{\"k\":\"0123456789\"}]]}]}";
    char doc[512];
    long long now = 1700000000000000000LL;
    snprintf(doc, sizeof doc, body, now, now + 1, now + 2);

    struct {
        int allow;
        size_t size, count, kept;
        const char *msg;
    } cases[] = {
        {1, 0, 0, 3, NULL},
        {1, 0, 2, 2, "has too many structured metadata labels: '3', limit: '2'. Please see "
                     "`limits_config.max_structured_metadata_entries_count`"},
        {1, 10, 0, 2, "has structured metadata too large: '11' bytes, limit: '10' bytes"},
        {0, 0, 0, 1, "includes structured metadata, but this feature is disallowed. Please see "
                     "`limits_config.allow_structured_metadata`"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cairn_ingest_batch_reset(&b);
        lim.allow_structured_metadata = cases[i].allow;
        lim.max_sm_size = cases[i].size;
        lim.max_sm_entries = cases[i].count;
        assert_int_equal(cairn_ingest_decode_json(&b, doc, strlen(doc), &lim, &err), 0);
        size_t kept = cairn_ingest_validate(&b, &lim, now, &bytes);
        assert_int_equal(kept, cases[i].kept);
        if (cases[i].msg) {
            assert_int_equal(b.status, 400);
            assert_non_null(strstr(cairn_buf_cstr(&b.msg), cases[i].msg));
            assert_non_null(strstr(cairn_buf_cstr(&b.msg), "stream '{app=\"a\"}'"));
        } else {
            assert_int_equal(b.status, 0);
        }
        /* the kept entries keep their own metadata after compaction */
        char m[128];
        if (cases[i].kept == 2 && cases[i].count)
            assert_string_equal(meta(&b, 1, m, sizeof m), "k=0123456789");
    }
    cairn_ingest_batch_deinit(&b);
}

/* ---- OTLP ---- */

static void put_varint(struct cairn_buf *o, uint64_t v)
{
    while (v >= 0x80) {
        cairn_buf_append_byte(o, (char)(v | 0x80));
        v >>= 7;
    }
    cairn_buf_append_byte(o, (char)v);
}

static void put_len(struct cairn_buf *o, unsigned field, const void *p, size_t n)
{
    put_varint(o, (uint64_t)field << 3 | 2);
    put_varint(o, n);
    cairn_buf_append(o, p, n);
}

static void put_str(struct cairn_buf *o, unsigned field, const char *s)
{
    put_len(o, field, s, strlen(s));
}

static void put_fixed64(struct cairn_buf *o, unsigned field, uint64_t v)
{
    put_varint(o, (uint64_t)field << 3 | 1);
    for (int i = 0; i < 8; i++)
        cairn_buf_append_byte(o, (char)(v >> (8 * i)));
}

/* KeyValue{key, AnyValue{string_value}} as field `field` of o. */
static void put_kv(struct cairn_buf *o, unsigned field, const char *k, const char *v)
{
    struct cairn_buf kv = {0}, av = {0};
    put_str(&av, 1, v);
    put_str(&kv, 1, k);
    put_len(&kv, 2, av.data, av.len);
    put_len(o, field, kv.data, kv.len);
    cairn_buf_deinit(&kv);
    cairn_buf_deinit(&av);
}

static void build_request(struct cairn_buf *out)
{
    struct cairn_buf res = {0}, scope = {0}, rec = {0}, rec2 = {0}, sl = {0}, rl = {0}, body = {0};
    put_kv(&res, 1, "service.name", "checkout");
    put_kv(&res, 1, "k8s.pod.name", "co-1");
    put_kv(&res, 1, "host.name", "n1");
    put_str(&scope, 1, "lib");
    put_str(&scope, 2, "1.2");
    put_kv(&scope, 3, "scope.attr", "s");
    /* record 1: string body, attributes, ids, severity */
    put_fixed64(&rec, 1, 1700000000000000001ULL);
    put_varint(&rec, 2 << 3 | 0);
    put_varint(&rec, 17);
    put_str(&rec, 3, "ERROR");
    put_str(&body, 1, "payment failed");
    put_len(&rec, 5, body.data, body.len);
    put_kv(&rec, 6, "http.method", "POST");
    put_len(&rec, 9, "\x0a\xf7\x65\x19\x16\xcd\x43\xdd\x84\x48\xeb\x21\x1c\x80\x31\x9c", 16);
    put_len(&rec, 10, "\xb7\xad\x6b\x71\x69\x20\x33\x31", 8);
    /* record 2: an int body, only the observed time */
    cairn_buf_reset(&body);
    put_varint(&body, 3 << 3 | 0);
    put_varint(&body, 42);
    put_fixed64(&rec2, 11, 1700000000000000002ULL);
    put_len(&rec2, 5, body.data, body.len);
    put_len(&sl, 1, scope.data, scope.len);
    put_len(&sl, 2, rec.data, rec.len);
    put_len(&sl, 2, rec2.data, rec2.len);
    /* scope_logs before the resource on the wire: still read resource first */
    put_len(&rl, 2, sl.data, sl.len);
    put_len(&rl, 1, res.data, res.len);
    put_len(out, 1, rl.data, rl.len);
    struct cairn_buf *all[] = {&res, &scope, &rec, &rec2, &sl, &rl, &body};
    for (size_t i = 0; i < 7; i++)
        cairn_buf_deinit(all[i]);
}

static void otlp_protobuf(void **state)
{
    (void)state;
    struct cairn_buf req = {0};
    build_request(&req);
    struct cairn_ingest_batch b;
    struct cairn_ingest_limits lim = limits();
    struct cairn_err err;
    char m[512];
    cairn_ingest_batch_init(&b);
    assert_int_equal(cairn_ingest_decode_otlp_pb(&b, req.data, req.len, &lim, NULL, &err), 0);
    assert_int_equal(b.n, 1);
    assert_int_equal(b.ne, 2);
    assert_int_equal(b.labels[0].n, 2);
    assert_string_equal(label(&b, 0, "service_name"), "checkout");
    assert_string_equal(label(&b, 0, "k8s_pod_name"), "co-1");
    assert_int_equal(b.e[0].ts, 1700000000000000001LL);
    assert_int_equal(b.e[0].len, 14);
    assert_memory_equal(b.e[0].line, "payment failed", 14);
    assert_string_equal(meta(&b, 0, m, sizeof m),
                        "host_name=n1,scope_name=lib,scope_version=1.2,scope_attr=s,"
                        "http_method=POST,trace_id=0af7651916cd43dd8448eb211c80319c,"
                        "span_id=b7ad6b7169203331,severity_text=ERROR,severity_number=17");
    assert_int_equal(b.e[1].ts, 1700000000000000002LL);
    assert_int_equal(b.e[1].len, 2);
    assert_memory_equal(b.e[1].line, "42", 2);
    assert_string_equal(meta(&b, 1, m, sizeof m),
                        "host_name=n1,scope_name=lib,scope_version=1.2,scope_attr=s,"
                        "observed_timestamp=1700000000000000002");

    /* cut anywhere: an error naming the place, or a shorter valid request; never a crash */
    for (size_t n = 0; n < req.len; n++) {
        cairn_ingest_batch_reset(&b);
        cairn_err_clear(&err);
        int rc = cairn_ingest_decode_otlp_pb(&b, req.data, n, &lim, NULL, &err);
        assert_true(rc == 0 || rc == CAIRN_EINVAL);
        if (rc)
            assert_non_null(strstr(err.msg, "error parsing OTLP logs protobuf"));
    }
    cairn_ingest_batch_deinit(&b);
    cairn_buf_deinit(&req);
}

/* The OTLP specification's example JSON shape (examples/logs.json), trimmed. */
static const char spec_json[] =
    "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\",\"value\":"
    "{\"stringValue\":\"my.service\"}}]},\"scopeLogs\":[{\"scope\":{\"name\":\"my.library\","
    "\"version\":\"1.0.0\",\"attributes\":[{\"key\":\"my.scope.attribute\",\"value\":"
    "{\"stringValue\":\"some scope attribute\"}}]},\"logRecords\":[{\"timeUnixNano\":"
    "\"1544712660300000000\",\"observedTimeUnixNano\":\"1544712660300000000\","
    "\"severityNumber\":10,\"severityText\":\"Information\",\"traceId\":"
    "\"5B8EFFF798038103D269B633813FC60C\",\"spanId\":\"EEE19B7EC3C1B174\",\"body\":"
    "{\"stringValue\":\"Example log record\"},\"attributes\":[{\"key\":\"string.attribute\","
    "\"value\":{\"stringValue\":\"some string\"}},{\"key\":\"boolean.attribute\",\"value\":"
    "{\"boolValue\":true}},{\"key\":\"int.attribute\",\"value\":{\"intValue\":\"10\"}},"
    "{\"key\":\"double.attribute\",\"value\":{\"doubleValue\":637.704}},{\"key\":"
    "\"array.attribute\",\"value\":{\"arrayValue\":{\"values\":[{\"stringValue\":\"many\"},"
    "{\"stringValue\":\"values\"}]}}},{\"key\":\"map.attribute\",\"value\":{\"kvlistValue\":"
    "{\"values\":[{\"key\":\"some.map.key\",\"value\":{\"stringValue\":\"some value\"}}]}}}]}]}]}]}";

static void otlp_json(void **state)
{
    (void)state;
    struct cairn_ingest_batch b;
    struct cairn_ingest_limits lim = limits();
    struct cairn_err err;
    char m[1024];
    cairn_ingest_batch_init(&b);
    assert_int_equal(cairn_ingest_decode_otlp_json(&b, spec_json, strlen(spec_json), &lim, NULL, &err), 0);
    assert_int_equal(b.ne, 1);
    assert_int_equal(b.labels[0].n, 1);
    assert_string_equal(label(&b, 0, "service_name"), "my.service");
    assert_int_equal(b.e[0].ts, 1544712660300000000LL);
    assert_memory_equal(b.e[0].line, "Example log record", 18);
    assert_string_equal(meta(&b, 0, m, sizeof m),
                        "scope_name=my.library,scope_version=1.0.0,"
                        "my_scope_attribute=some scope attribute,string_attribute=some string,"
                        "boolean_attribute=true,int_attribute=10,double_attribute=637.704,"
                        "array_attribute=[\"many\",\"values\"],"
                        "map_attribute={\"some.map.key\":\"some value\"},"
                        "trace_id=5b8efff798038103d269b633813fc60c,span_id=eee19b7ec3c1b174,"
                        "severity_text=Information,severity_number=10,"
                        "observed_timestamp=1544712660300000000");
    /* no resource: unknown_service; a bad trace id: 400 */
    const char *nores = "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":"
                        "{\"stringValue\":\"x\"}}]}]}]}";
    cairn_ingest_batch_reset(&b);
    assert_int_equal(cairn_ingest_decode_otlp_json(&b, nores, strlen(nores), &lim, NULL, &err), 0);
    assert_string_equal(label(&b, 0, "service_name"), "unknown_service");
    const char *badid = "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"traceId\":\"zz\"}]}]}]}";
    cairn_ingest_batch_reset(&b);
    assert_int_equal(cairn_ingest_decode_otlp_json(&b, badid, strlen(badid), &lim, NULL, &err),
                     CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "traceId"));
    cairn_ingest_batch_deinit(&b);
}

/* limits_config.otlp_config: rules in order, the first match wins, defaults first
 * unless ignored, index_label only for resources. */
static void otlp_config_rules(void **state)
{
    (void)state;
    struct cairn_buf req = {0};
    build_request(&req);
    const char *host[] = {"host.name"}, *method[] = {"http.method"};
    struct cairn_otlp_rule res[] = {
        {CAIRN_OTLP_INDEX_LABEL, host, 1, NULL},
        {CAIRN_OTLP_DROP, NULL, 0, "k8s\\..*"},
    };
    struct cairn_otlp_rule scope[] = {{CAIRN_OTLP_DROP, NULL, 0, "scope\\..*"}};
    struct cairn_otlp_rule logr[] = {{CAIRN_OTLP_DROP, method, 1, NULL}};
    struct cairn_otlp_config cfg = {0, res, scope, logr, 2, 1, 1};
    struct cairn_ingest_otlp_rules *rules;
    struct cairn_err err;
    char m[512];
    assert_int_equal(cairn_ingest_otlp_rules_create(&cfg, &rules, &err), 0);
    struct cairn_ingest_batch b;
    struct cairn_ingest_limits lim = limits();
    cairn_ingest_batch_init(&b);
    assert_int_equal(cairn_ingest_decode_otlp_pb(&b, req.data, req.len, &lim, rules, &err), 0);
    /* defaults first: k8s.pod.name stays a label despite the drop rule after them */
    assert_string_equal(label(&b, 0, "service_name"), "checkout");
    assert_string_equal(label(&b, 0, "k8s_pod_name"), "co-1");
    assert_string_equal(label(&b, 0, "host_name"), "n1");
    assert_string_equal(meta(&b, 0, m, sizeof m),
                        "scope_name=lib,scope_version=1.2,trace_id=0af7651916cd43dd8448eb211c80319c,"
                        "span_id=b7ad6b7169203331,severity_text=ERROR,severity_number=17");
    cairn_ingest_otlp_rules_destroy(rules);

    /* ignore_defaults: only the rules; k8s.* dropped, service_name unknown_service */
    cfg.ignore_defaults = 1;
    assert_int_equal(cairn_ingest_otlp_rules_create(&cfg, &rules, &err), 0);
    cairn_ingest_batch_reset(&b);
    assert_int_equal(cairn_ingest_decode_otlp_pb(&b, req.data, req.len, &lim, rules, &err), 0);
    assert_int_equal(b.labels[0].n, 2);
    assert_string_equal(label(&b, 0, "host_name"), "n1");
    assert_string_equal(label(&b, 0, "service_name"), "unknown_service");
    assert_non_null(strstr(meta(&b, 0, m, sizeof m), "service_name=checkout"));
    cairn_ingest_otlp_rules_destroy(rules);

    /* refused: index_label on log attributes, a bad regex */
    struct cairn_otlp_rule bad[] = {{CAIRN_OTLP_INDEX_LABEL, method, 1, NULL}};
    struct cairn_otlp_config c2 = {0, NULL, NULL, bad, 0, 0, 1};
    assert_int_equal(cairn_ingest_otlp_rules_create(&c2, &rules, &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "log_attributes[0]: action index_label is valid only"));
    struct cairn_otlp_rule badre[] = {{CAIRN_OTLP_DROP, NULL, 0, "("}};
    struct cairn_otlp_config c3 = {0, badre, NULL, NULL, 1, 0, 0};
    assert_int_equal(cairn_ingest_otlp_rules_create(&c3, &rules, &err), CAIRN_EINVAL);
    assert_non_null(strstr(err.msg, "resource_attributes[0].regex"));
    cairn_ingest_batch_deinit(&b);
    cairn_buf_deinit(&req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_push_metadata),
        cmocka_unit_test(pb_push_metadata),
        cmocka_unit_test(metadata_limits),
        cmocka_unit_test(otlp_protobuf),
        cmocka_unit_test(otlp_json),
        cmocka_unit_test(otlp_config_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
