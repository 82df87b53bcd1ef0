/* docker_entry_test.c -- the Docker driver's pieces without a daemon: LogEntry wire
 * decoding (hand-made bytes, unknown fields, every truncation, round trips), the
 * json-file local copy's line parser, and the log-opts checks (unknown option refused,
 * labels from templates, compose and swarm labels). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>

#include "cairn/docker.h"
#include "docker/docker_int.h"

/* source="stdout", time_nano=300, line="hi", partial=true,
 * meta {last=true, id="p1", ordinal=2} */
static const unsigned char golden[] = {
    0x0a, 6, 's', 't', 'd', 'o', 'u', 't',
    0x10, 0xac, 0x02,
    0x1a, 2, 'h', 'i',
    0x20, 1,
    0x2a, 8, 0x08, 1, 0x12, 2, 'p', '1', 0x18, 2,
};

static void decode_golden(void **state)
{
    (void)state;
    struct cairn_docker_entry e;
    assert_int_equal(cairn_docker_entry_decode(golden, sizeof golden, &e), 0);
    assert_int_equal(e.source_len, 6);
    assert_memory_equal(e.source, "stdout", 6);
    assert_int_equal(e.time_nano, 300);
    assert_int_equal(e.line_len, 2);
    assert_memory_equal(e.line, "hi", 2);
    assert_true(e.partial);
    assert_true(e.has_meta);
    assert_true(e.meta_last);
    assert_int_equal(e.meta_id_len, 2);
    assert_memory_equal(e.meta_id, "p1", 2);
    assert_int_equal(e.meta_ordinal, 2);
}

static void decode_skips_unknown_fields(void **state)
{
    (void)state;
    unsigned char m[64];
    size_t n = 0;
    m[n++] = 0x48; m[n++] = 0x05;                        /* field 9 varint */
    m[n++] = 0x51; memset(m + n, 7, 8); n += 8;          /* field 10 fixed64 */
    m[n++] = 0x5d; memset(m + n, 7, 4); n += 4;          /* field 11 fixed32 */
    m[n++] = 0x62; m[n++] = 3; memcpy(m + n, "xyz", 3); n += 3; /* field 12 bytes */
    m[n++] = 0x1a; m[n++] = 3; memcpy(m + n, "abc", 3); n += 3; /* line */
    struct cairn_docker_entry e;
    assert_int_equal(cairn_docker_entry_decode(m, n, &e), 0);
    assert_int_equal(e.line_len, 3);
    assert_memory_equal(e.line, "abc", 3);
    assert_int_equal(e.source_len, 0);
    assert_false(e.partial);
    assert_false(e.has_meta);
}

static void decode_refuses_malformed(void **state)
{
    (void)state;
    struct cairn_docker_entry e;
    /* every cut inside a field fails; cuts between fields decode a prefix */
    size_t ends[] = {8, 11, 15, 17, sizeof golden};
    for (size_t cut = 0; cut <= sizeof golden; cut++) {
        int at_end = 0;
        for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++)
            at_end |= cut == ends[i];
        int rc = cairn_docker_entry_decode(golden, cut, &e);
        if (cut == 0 || at_end)
            assert_int_equal(rc, 0);
        else
            assert_int_equal(rc, CAIRN_EINVAL);
    }
    const unsigned char group[] = {0x0b, 0x0c};      /* wire type 3 */
    assert_int_equal(cairn_docker_entry_decode(group, sizeof group, &e), CAIRN_EINVAL);
    const unsigned char zero[] = {0x00, 0x01};       /* field number 0 */
    assert_int_equal(cairn_docker_entry_decode(zero, sizeof zero, &e), CAIRN_EINVAL);
    const unsigned char longlen[] = {0x1a, 0xff, 0xff, 0xff, 0xff, 0x0f, 'a'};
    assert_int_equal(cairn_docker_entry_decode(longlen, sizeof longlen, &e), CAIRN_EINVAL);
    const unsigned char badmeta[] = {0x2a, 2, 0x12, 5}; /* meta's id runs past its end */
    assert_int_equal(cairn_docker_entry_decode(badmeta, sizeof badmeta, &e), CAIRN_EINVAL);
}

static void encode_round_trip(void **state)
{
    (void)state;
    struct cairn_docker_entry in = {.source = "stderr", .source_len = 6,
                                    .time_nano = 1765130000123456789LL, .line = "a\0b",
                                    .line_len = 3, .partial = 1, .has_meta = 1,
                                    .meta_last = 0, .meta_id = "id-7", .meta_id_len = 4,
                                    .meta_ordinal = -3};
    struct cairn_buf b = CAIRN_BUF_INIT;
    assert_int_equal(cairn_docker_entry_encode(&in, &b), 0);
    const unsigned char *p = (const unsigned char *)b.data;
    uint32_t len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    assert_int_equal(len + 4, b.len);
    struct cairn_docker_entry out;
    assert_int_equal(cairn_docker_entry_decode(p + 4, len, &out), 0);
    assert_int_equal(out.time_nano, in.time_nano);
    assert_int_equal(out.line_len, 3);
    assert_memory_equal(out.line, "a\0b", 3);
    assert_memory_equal(out.source, "stderr", 6);
    assert_true(out.partial && out.has_meta && !out.meta_last);
    assert_int_equal(out.meta_ordinal, -3);
    assert_memory_equal(out.meta_id, "id-7", 4);
    /* the golden message encodes to the same bytes */
    struct cairn_docker_entry g;
    assert_int_equal(cairn_docker_entry_decode(golden, sizeof golden, &g), 0);
    cairn_buf_reset(&b);
    assert_int_equal(cairn_docker_entry_encode(&g, &b), 0);
    assert_int_equal(b.len, sizeof golden + 4);
    assert_memory_equal(b.data + 4, golden, sizeof golden);
    cairn_buf_deinit(&b);
}

static void local_copy_line(void **state)
{
    (void)state;
    struct cairn_buf sc = CAIRN_BUF_INIT;
    struct cairn_docker_entry e;
    const char *l = "{\"log\":\"say \\\"hi\\\"\\n\",\"stream\":\"stderr\","
                    "\"attrs\":{\"a\":[1,2]},\"time\":\"2026-12-07T19:00:00.000000042Z\"}";
    assert_int_equal(cairn__docker_local_parse(l, strlen(l), &sc, &e), 0);
    assert_int_equal(e.line_len, 8);
    assert_memory_equal(e.line, "say \"hi\"", 8);
    assert_memory_equal(e.source, "stderr", 6);
    assert_int_equal(e.time_nano % 1000000000LL, 42);
    assert_false(e.partial);
    const char *bad = "{\"log\":\"x\\n\",\"stream\":\"stdout\"}"; /* no time */
    assert_int_equal(cairn__docker_local_parse(bad, strlen(bad), &sc, &e), CAIRN_EINVAL);
    assert_int_equal(cairn__docker_local_parse("[1]", 3, &sc, &e), CAIRN_EINVAL);
    const char *far = "{\"log\":\"x\\n\",\"stream\":\"stdout\",\"time\":\"4048-12-07T19:00:00Z\"}";
    assert_int_equal(cairn__docker_local_parse(far, strlen(far), &sc, &e), CAIRN_EINVAL);
    cairn_buf_deinit(&sc);
}

static json_t *info_with(const char *config_json)
{
    json_error_t je;
    char doc[2048];
    snprintf(doc, sizeof doc,
             "{\"ContainerID\":\"0123456789abcdef0123\",\"ContainerName\":\"/api\","
             "\"ContainerImageID\":\"sha256:feedfacecafebeef00\",\"ContainerImageName\":\"img:1\","
             "\"ContainerLabels\":{\"com.docker.stack.namespace\":\"st\","
             "\"com.docker.swarm.service.name\":\"st_api\",\"team.name\":\"core\",\"9lives\":\"x\"},"
             "\"ContainerEnv\":[\"A=1\"],\"Config\":%s}", config_json);
    json_t *j = json_loads(doc, 0, &je);
    assert_non_null(j);
    return j;
}

static const char *label(const struct cairn_labels *ls, const char *name)
{
    const struct cairn_label *l = cairn_labels_get(ls, name, strlen(name));
    return l ? l->value : NULL;
}

static void options_labels(void **state)
{
    (void)state;
    json_t *j = info_with("{\"loki-url\":\"http://127.0.0.1:1/loki/api/v1/push\","
                          "\"loki-external-labels\":\"job=x,img={{.ImageName}},id={{.ID}},"
                          "iid={{.ImageID}}\",\"labels\":\"team.name\"}");
    struct cairn__docker_info info;
    cairn__docker_info_read(j, &info);
    struct cairn__docker_setup s;
    struct cairn_err err;
    cairn_err_clear(&err);
    assert_int_equal(cairn__docker_setup_init(&s, &info, "h1", "/f/json.log", &err), 0);
    assert_string_equal(label(&s.labels, "job"), "x");
    assert_string_equal(label(&s.labels, "img"), "img:1");
    assert_string_equal(label(&s.labels, "id"), "0123456789ab");
    assert_string_equal(label(&s.labels, "iid"), "feedfacecafe");
    assert_string_equal(label(&s.labels, "swarm_stack"), "st");
    assert_string_equal(label(&s.labels, "swarm_service"), "st_api");
    assert_string_equal(label(&s.labels, "team_name"), "core");
    assert_string_equal(label(&s.labels, "host"), "h1");
    assert_string_equal(label(&s.labels, "filename"), "/f/json.log");
    /* loki-external-labels set: Loki's default container_name={{.Name}} is replaced */
    assert_null(label(&s.labels, "container_name"));
    assert_int_equal(s.opts.max_file, 1);
    assert_int_equal(s.opts.retries, 10);
    cairn__docker_setup_deinit(&s);
    json_decref(j);

    j = info_with("{\"loki-url\":\"http://x/\",\"max-size\":\"10m\",\"max-file\":\"3\","
                  "\"loki-relabel-config\":\"- action: labeldrop\\n  regex: swarm_.*\\n\"}");
    cairn__docker_info_read(j, &info);
    assert_int_equal(cairn__docker_setup_init(&s, &info, "h1", "/f", &err), 0);
    assert_string_equal(label(&s.labels, "container_name"), "api");
    assert_null(label(&s.labels, "swarm_stack"));
    assert_int_equal(s.opts.max_size_bytes, 10u * 1024 * 1024);
    assert_int_equal(s.opts.max_file, 3);
    cairn__docker_setup_deinit(&s);
    json_decref(j);
}

static void options_refused(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"{\"loki-url\":\"http://x/\",\"loki-nope\":\"1\"}", "loki-nope"},
        {"{\"loki-url\":\"http://x/\",\"a.b\":\"1\"}", "a.b"},
        {"{\"loki-batch-wait\":\"1s\"}", "loki-url"},
        {"{\"loki-url\":\"http://x/\",\"loki-retries\":\"many\"}", "loki-retries"},
        {"{\"loki-url\":\"http://x/\",\"max-file\":\"0\"}", "max-file"},
        {"{\"loki-url\":\"http://x/\",\"loki-external-labels\":\"novalue\"}", "novalue"},
        {"{\"loki-url\":\"http://x/\",\"loki-external-labels\":\"a={{.Nope\"}", "template"},
        {"{\"loki-url\":\"http://x/\",\"labels\":\"9lives\"}", "9lives"},
        {"{\"loki-url\":\"http://x/\",\"loki-pipeline-stages\":\"- nosuchstage: {}\"}",
         "nosuchstage"},
        {"{\"loki-url\":\"http://x/\",\"loki-pipeline-stages\":\"- docker: {}\","
         "\"loki-pipeline-stage-file\":\"/x\"}", "exclusive"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = info_with(bad[i][0]);
        struct cairn__docker_info info;
        cairn__docker_info_read(j, &info);
        struct cairn__docker_setup s;
        struct cairn_err err;
        cairn_err_clear(&err);
        assert_int_not_equal(cairn__docker_setup_init(&s, &info, "h", "/f", &err), 0);
        if (!strstr(err.msg, bad[i][1]))
            fail_msg("case %zu: '%s' does not name '%s'", i, err.msg, bad[i][1]);
        json_decref(j);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decode_golden),
        cmocka_unit_test(decode_skips_unknown_fields),
        cmocka_unit_test(decode_refuses_malformed),
        cmocka_unit_test(encode_round_trip),
        cmocka_unit_test(local_copy_line),
        cmocka_unit_test(options_labels),
        cmocka_unit_test(options_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
