/* ship_stages_test.c -- pipeline stages, stage by stage, with the examples from
 * Promtail's stage documentation as cases: each test loads pipeline_stages from YAML
 * (through the config tables, as `cairn ship` does), runs lines through and checks
 * the line, labels, timestamp, tenant and extracted map that reach the sink. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <stdlib.h>

#include "cairn/ship.h"
#include "cairn/ship_config.h"
#include "cairn/timeutil.h"
#include "ship/ship_build.h"
#include "ship/ship_int.h"

#define MAXOUT 16

struct out {
    char line[512];
    char labels[512];
    char tenant[64];
    char ex[1024]; /* "k=v;k=v;" */
    int64_t ts;
};

struct cap {
    struct out v[MAXOUT];
    size_t n;
};

static int cap_emit(void *ud, const struct cairn_ship_entry *e)
{
    struct cap *c = ud;
    if (c->n >= MAXOUT)
        return 0;
    struct out *o = &c->v[c->n++];
    snprintf(o->line, sizeof o->line, "%.*s", (int)e->line.len, e->line.data ? e->line.data : "");
    struct cairn_buf b = CAIRN_BUF_INIT;
    cairn_labels_format(&e->labels, &b);
    snprintf(o->labels, sizeof o->labels, "%s", cairn_buf_cstr(&b));
    cairn_buf_deinit(&b);
    snprintf(o->tenant, sizeof o->tenant, "%s", cairn_buf_cstr(&e->tenant));
    o->ex[0] = '\0';
    for (size_t i = 0; i < e->n_ex; i++) {
        size_t l = strlen(o->ex);
        snprintf(o->ex + l, sizeof o->ex - l, "%s=%s;", cairn_ship_ex_name(e, i),
                 cairn_ship_ex_value(e, i));
    }
    o->ts = e->ts;
    return 0;
}

struct fixture {
    struct cairn_ship_config cfg;
    struct cairn_cfg c;
    struct cairn_ship_pipeline *pl;
    struct cairn_ship_metrics *metrics;
    struct cap cap;
    struct cairn_ship_sink sink;
    struct cairn_ship_entry e;
    struct cairn_labels ls;
    struct cairn_err err;
};

/* Load `stages` (a YAML list, indented two spaces) as scrape_configs[0]'s stages.
 * Returns 0 or the error of loading/building (err filled). */
static int load(struct fixture *f, const char *stages)
{
    memset(f, 0, sizeof *f);
    char text[8192];
    snprintf(text, sizeof text, "scrape_configs:\n- job_name: t\n  pipeline_stages:\n%s", stages);
    assert_int_equal(cairn_cfg_init(&f->c, &cairn_ship_config_table, &f->cfg, NULL, &f->err), 0);
    int rc = cairn_cfg_load_string(&f->c, "test.yaml", text, strlen(text), &f->err);
    if (rc)
        return rc;
    const struct cairn_ship_scrape *sc = f->cfg.scrape_configs.v;
    f->pl = cairn_ship_pipeline_build(&sc[0].pipeline_stages, "scrape_configs[0].pipeline_stages",
                                      &f->err);
    if (!f->pl)
        return f->err.code ? f->err.code : CAIRN_EINVAL;
    f->metrics = cairn_ship_metrics_create();
    cairn_ship_pipeline_set_metrics(f->pl, f->metrics);
    f->sink = (struct cairn_ship_sink){cap_emit, NULL, &f->cap};
    cairn_ship_entry_init(&f->e);
    cairn_labels_init(&f->ls);
    return 0;
}

static void setup(struct fixture *f, const char *stages)
{
    if (load(f, stages))
        fail_msg("load: %s", f->err.msg);
}

static void teardown(struct fixture *f)
{
    cairn_ship_pipeline_destroy(f->pl);
    cairn_ship_metrics_destroy(f->metrics);
    cairn_ship_entry_deinit(&f->e);
    cairn_labels_deinit(&f->ls);
    cairn_cfg_deinit(&f->c);
}

/* Run one line with labels (text form). */
static void run(struct fixture *f, const char *labels, const char *line)
{
    struct cairn_err err;
    cairn_labels_reset(&f->ls);
    assert_int_equal(cairn_labels_parse(&f->ls, labels, strlen(labels), &err), 0);
    assert_int_equal(cairn_ship_entry_reset(&f->e, &f->ls, 1000, line, strlen(line)), 0);
    assert_int_equal(cairn_ship_pipeline_run(f->pl, &f->e, &f->sink), 0);
}

static const struct out *last(struct fixture *f)
{
    assert_true(f->cap.n > 0);
    return &f->cap.v[f->cap.n - 1];
}

static void has_ex(const struct out *o, const char *kv)
{
    char want[512];
    snprintf(want, sizeof want, "%s;", kv);
    if (!strstr(o->ex, want))
        fail_msg("extracted '%s' missing from '%s'", kv, o->ex);
}

/* ---- the blog case: the match + json + labels, exactly as written ---- */
static void blog_case(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, "  - match:\n"
              "      selector: '{name=\"eventrouter\"}'\n"
              "      stages:\n"
              "      - json:\n"
              "          expressions:\n"
              "            namespace: event.metadata.namespace\n"
              "      - labels:\n"
              "          namespace: \"\"\n");
    run(&f, "{name=\"eventrouter\"}",
        "{\"verb\":\"ADDED\",\"event\":{\"metadata\":{\"name\":\"x\",\"namespace\":\"grafana-com\"}}}");
    assert_string_equal(last(&f)->labels, "{name=\"eventrouter\", namespace=\"grafana-com\"}");
    run(&f, "{name=\"other\"}", "{\"event\":{\"metadata\":{\"namespace\":\"grafana-com\"}}}");
    assert_string_equal(last(&f)->labels, "{name=\"other\"}");
    run(&f, "{name=\"eventrouter\"}", "not json");
    assert_string_equal(last(&f)->labels, "{name=\"eventrouter\"}");
    assert_string_equal(last(&f)->line, "not json");
    teardown(&f);
}

/* ---- json (docs: stages/json) ---- */
static void json_stage(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, "  - json:\n"
              "      expressions:\n"
              "        output: log\n"
              "        stream: stream\n"
              "        timestamp: time\n"
              "        extra:\n"
              "  - json:\n"
              "      expressions:\n"
              "        user:\n"
              "      source: extra\n"
              "  - json:\n"
              "      expressions:\n"
              "        first: 'items[0].name'\n"
              "        dotted: '\"key.with.dots\"'\n"
              "        agent: 'headers[\"User-Agent\"]'\n");
    run(&f, "{job=\"t\"}",
        "{\"log\":\"log message\\n\",\"stream\":\"stderr\",\"time\":\"2019-04-30T02:12:41.8443515Z\","
        "\"extra\":\"{\\\"user\\\":\\\"marco\\\"}\",\"items\":[{\"name\":\"a\"},{\"name\":\"b\"}],"
        "\"key.with.dots\":7,\"headers\":{\"User-Agent\":\"curl\"}}");
    const struct out *o = last(&f);
    has_ex(o, "output=log message\n");
    has_ex(o, "stream=stderr");
    has_ex(o, "timestamp=2019-04-30T02:12:41.8443515Z");
    has_ex(o, "extra={\"user\":\"marco\"}");
    has_ex(o, "user=marco");
    has_ex(o, "first=a");
    has_ex(o, "dotted=7");
    has_ex(o, "agent=curl");
    teardown(&f);
    /* a bad expression is a config error naming the stage */
    assert_int_equal(load(&f, "  - json:\n      expressions:\n        a: 'x..y'\n"), CAIRN_EINVAL);
    assert_non_null(strstr(f.err.msg, "pipeline_stages[0].json"));
    cairn_cfg_deinit(&f.c);
    /* drop_malformed */
    setup(&f, "  - json:\n      expressions:\n        a:\n      drop_malformed: true\n");
    run(&f, "{job=\"t\"}", "{broken");
    assert_int_equal(f.cap.n, 0);
    teardown(&f);
}

/* ---- logfmt (docs: stages/logfmt) ---- */
static void logfmt_stage(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, "  - logfmt:\n"
              "      mapping:\n"
              "        timestamp: time\n"
              "        app:\n"
              "        duration:\n"
              "        unknown:\n"
              "        extra:\n"
              "  - logfmt:\n"
              "      mapping:\n"
              "        user:\n"
              "      source: extra\n");
    run(&f, "{job=\"t\"}", "time=2012-11-01T22:08:41+00:00 app=loki level=WARN duration=125 "
                           "message=\"this is a log line\" extra=\"user=foo\"");
    const struct out *o = last(&f);
    has_ex(o, "timestamp=2012-11-01T22:08:41+00:00");
    has_ex(o, "app=loki");
    has_ex(o, "duration=125");
    has_ex(o, "user=foo");
    assert_null(strstr(o->ex, "unknown="));
    teardown(&f);
}

/* ---- regex (docs: stages/regex) ---- */
static void regex_stage(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, "  - regex:\n"
              "      expression: \"^(?s)(?P<time>\\\\S+?) (?P<stream>stdout|stderr) (?P<flags>\\\\S+?) "
              "(?P<content>.*)$\"\n"
              "  - regex:\n"
              "      expression: \"^(?P<year>\\\\d+)\"\n"
              "      source: time\n");
    run(&f, "{job=\"t\"}", "2019-01-01T01:00:00.000000001Z stderr P i'm a log message!");
    const struct out *o = last(&f);
    has_ex(o, "time=2019-01-01T01:00:00.000000001Z");
    has_ex(o, "stream=stderr");
    has_ex(o, "flags=P");
    has_ex(o, "content=i'm a log message!");
    has_ex(o, "year=2019");
    teardown(&f);
    assert_int_equal(load(&f, "  - regex:\n      expression: 'no groups'\n"), CAIRN_EINVAL);
    assert_non_null(strstr(f.err.msg, "named capture group"));
    cairn_cfg_deinit(&f.c);
}

/* ---- replace (docs: stages/replace) ---- */
static void replace_stage(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, "  - replace:\n"
              "      expression: \"password (\\\\S+)\"\n"
              "      replace: \"****\"\n");
    run(&f, "{job=\"t\"}", "2019-01-01T01:00:00.000000001Z stderr P i'm a log message who has "
                           "sensitive information with password xyz!");
    assert_string_equal(last(&f)->line, "2019-01-01T01:00:00.000000001Z stderr P i'm a log "
                                        "message who has sensitive information with password ****");
    teardown(&f);
    setup(&f, "  - replace:\n"
              "      expression: \"^(?P<ip>\\\\S+) (?P<identd>\\\\S+) (?P<user>\\\\S+) "
              "\\\\[(?P<timestamp>[\\\\w:/]+\\\\s[+\\\\-]\\\\d{4})\\\\] \\\"(?P<action>\\\\S+)"
              "\\\\s?(?P<path>\\\\S+)?\\\\s?(?P<protocol>\\\\S+)?\\\" (?P<status>\\\\d{3}|-) "
              "(\\\\d+|-)\\\\s?\\\"?(?P<referer>[^\\\"]*)\\\"?\\\\s?\\\"?(?P<useragent>[^\\\"]*)?\\\"?$\"\n"
              "      replace: '{{ if eq .Value \"200\" }}{{ Replace .Value \"200\" \"HttpStatusOk\" -1 }}"
              "{{ else }}{{ .Value | ToUpper }}{{ end }}'\n");
    run(&f, "{job=\"t\"}", "11.11.11.11 - frank [25/Jan/2000:14:00:01 -0500] \"GET /1986.js "
                           "HTTP/1.1\" 200 932 \"-\" \"Mozilla/5.0 (Windows; U; Windows NT 5.1; "
                           "de; rv:1.9.1.7) Gecko/20091221 Firefox/3.5.7 GTB6\"");
    assert_string_equal(last(&f)->line,
                        "11.11.11.11 - FRANK [25/JAN/2000:14:00:01 -0500] \"GET /1986.JS "
                        "HTTP/1.1\" HttpStatusOk 932 \"-\" \"MOZILLA/5.0 (WINDOWS; U; WINDOWS NT "
                        "5.1; DE; RV:1.9.1.7) GECKO/20091221 FIREFOX/3.5.7 GTB6\"");
    has_ex(last(&f), "user=frank");
    has_ex(last(&f), "status=200");
    teardown(&f);
}

/* ---- template (docs: stages/template) ---- */
static void template_stage(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, "  - logfmt:\n      mapping:\n        app:\n        level:\n"
              "  - template:\n      source: new_key\n      template: 'hello world!'\n"
              "  - template:\n      source: app\n      template: '{{ .Value }}_{{ .level }}'\n"
              "  - template:\n      source: output_msg\n"
              "      template: '{{ .level }} for app {{ ToUpper .app }}'\n"
              "  - template:\n      source: level\n      template: '{{ ToLower .Value }}'\n");
    run(&f, "{job=\"t\"}", "app=loki level=WARN");
    const struct out *o = last(&f);
    has_ex(o, "new_key=hello world!");
    has_ex(o, "app=loki_WARN");
    has_ex(o, "output_msg=WARN for app LOKI_WARN");
    has_ex(o, "level=warn");
    teardown(&f);
}

/* ---- labels, static_labels, labeldrop, labelallow, output (docs) ---- */
static void label_stages(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, "  - json:\n      expressions:\n        user:\n        message:\n"
              "  - labels:\n      user:\n"
              "  - output:\n      source: message\n"
              "  - static_labels:\n      custom_label: custom_value\n");
    run(&f, "{job=\"t\"}", "{\"user\": \"alexis\", \"message\": \"hello, world!\"}");
    assert_string_equal(last(&f)->line, "hello, world!");
    assert_string_equal(last(&f)->labels,
                        "{custom_label=\"custom_value\", job=\"t\", user=\"alexis\"}");
    teardown(&f);
    setup(&f, "  - labeldrop:\n    - kubernetes_pod_name\n");
    run(&f, "{app=\"a\", kubernetes_pod_name=\"p\"}", "x");
    assert_string_equal(last(&f)->labels, "{app=\"a\"}");
    teardown(&f);
    setup(&f, "  - labelallow:\n    - kubernetes_pod_name\n    - kubernetes_container_name\n");
    run(&f, "{app=\"a\", kubernetes_container_name=\"c\", kubernetes_pod_name=\"p\", z=\"1\"}", "x");
    assert_string_equal(last(&f)->labels,
                        "{kubernetes_container_name=\"c\", kubernetes_pod_name=\"p\"}");
    teardown(&f);
}

/* ---- timestamp (docs: stages/timestamp) ---- */
static void timestamp_stage(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, "  - regex:\n      expression: '^(?P<time>\\S+) '\n"
              "  - timestamp:\n      source: time\n      format: RFC3339Nano\n"
              "      fallback_formats: [UnixMs]\n");
    run(&f, "{job=\"t\"}", "2019-01-01T01:00:00.000000001Z hello");
    assert_int_equal(last(&f)->ts, 1546304400000000001LL);
    run(&f, "{job=\"t\"}", "1562708916414 hello");
    assert_int_equal(last(&f)->ts, 1562708916414000000LL);
    /* fudge: the stream's last good time + 1ns */
    run(&f, "{job=\"t\"}", "garbage hello");
    assert_int_equal(last(&f)->ts, 1562708916414000001LL);
    teardown(&f);
    setup(&f, "  - regex:\n      expression: '^(?P<time>\\S+) '\n"
              "  - timestamp:\n      source: time\n      format: RFC3339\n"
              "      action_on_failure: skip\n");
    run(&f, "{job=\"t\"}", "garbage hello");
    assert_int_equal(last(&f)->ts, 1000); /* unchanged */
    teardown(&f);
}

/* ---- match (docs: stages/match) ---- */
static void match_stage(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, "  - json:\n      expressions:\n        app:\n"
              "  - labels:\n      app:\n"
              "  - match:\n      selector: '{app=\"loki\"}'\n      stages:\n"
              "      - json:\n          expressions:\n            msg: message\n"
              "  - match:\n      pipeline_name: app2\n      selector: '{app=\"pokey\"}'\n"
              "      action: keep\n      stages:\n"
              "      - json:\n          expressions:\n            msg: msg\n"
              "  - match:\n      selector: '{app=\"promtail\"} |~ \".*noisy error.*\"'\n"
              "      action: drop\n      drop_counter_reason: promtail_noisy_error\n"
              "  - output:\n      source: msg\n");
    run(&f, "{job=\"t\"}", "{ \"time\":\"2012-11-01T22:08:41+00:00\", \"app\":\"loki\", "
                           "\"component\": [\"parser\",\"type\"], \"level\" : \"WARN\", "
                           "\"message\" : \"app1 log line\" }");
    run(&f, "{job=\"t\"}", "{ \"time\":\"2012-11-01T22:08:41+00:00\", \"app\":\"promtail\", "
                           "\"component\": [\"parser\",\"type\"], \"level\" : \"ERROR\", "
                           "\"message\" : \"foo noisy error\" }");
    run(&f, "{job=\"t\"}", "{ \"time\":\"2012-11-01T22:08:41+00:00\", \"app\":\"pokey\", "
                           "\"component\": [\"parser\",\"type\"], \"level\" : \"ERROR\", "
                           "\"msg\" : \"app2 log line\" }");
    assert_int_equal(f.cap.n, 2);
    assert_string_equal(f.cap.v[0].line, "app1 log line");
    assert_string_equal(f.cap.v[1].line, "app2 log line");
    struct cairn_buf m = CAIRN_BUF_INIT;
    assert_int_equal(cairn_ship_pipeline_drops_write(f.pl, "t", &m), 0);
    assert_non_null(strstr(m.data, "reason=\"promtail_noisy_error\"} 1"));
    cairn_buf_deinit(&m);
    teardown(&f);
    /* line filters of every kind, and a selector error */
    setup(&f, "  - match:\n      selector: '{a=\"1\"} |= \"x\" != \"y\" !~ \"z+\"'\n"
              "      action: drop\n");
    run(&f, "{a=\"1\"}", "x");    /* dropped */
    run(&f, "{a=\"1\"}", "x y");  /* kept: has y */
    run(&f, "{a=\"1\"}", "x zz"); /* kept: matches z+ */
    run(&f, "{a=\"2\"}", "x");    /* kept: other stream */
    assert_int_equal(f.cap.n, 3);
    teardown(&f);
    assert_int_equal(load(&f, "  - match:\n      selector: '{a=\"1\"'\n"), CAIRN_EINVAL);
    assert_non_null(strstr(f.err.msg, "parse error"));
    cairn_cfg_deinit(&f.c);
}

/* ---- drop (docs: stages/drop) ---- */
static void drop_stage(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, "  - json:\n      expressions:\n        level:\n        msg:\n"
              "  - drop:\n      source: level\n      expression: '(error|ERROR)'\n"
              "  - drop:\n      expression: '.*debug.*'\n"
              "  - drop:\n      longer_than: 60\n      drop_counter_reason: line_too_long\n");
    run(&f, "{job=\"t\"}", "{\"level\":\"error\",\"msg\":\"a\"}");       /* dropped */
    run(&f, "{job=\"t\"}", "{\"level\":\"info\",\"msg\":\"a debug b\"}"); /* dropped */
    run(&f, "{job=\"t\"}", "{\"level\":\"info\",\"msg\":\"ok\"}");        /* kept */
    run(&f, "{job=\"t\"}", "{\"level\":\"info\",\"msg\":\"0123456789012345678901234567890123456789\"}");
    assert_int_equal(f.cap.n, 1);
    assert_string_equal(f.cap.v[0].line, "{\"level\":\"info\",\"msg\":\"ok\"}");
    teardown(&f);
    /* source only: drop when present; value: exact; a list of sources */
    setup(&f, "  - logfmt:\n      mapping:\n        level:\n        app:\n"
              "  - drop:\n      source: [level, app]\n      separator: '|'\n      value: 'debug|x'\n");
    run(&f, "{job=\"t\"}", "level=debug app=x"); /* dropped */
    run(&f, "{job=\"t\"}", "level=debug app=y");
    run(&f, "{job=\"t\"}", "level=debug");
    assert_int_equal(f.cap.n, 2);
    teardown(&f);
    setup(&f, "  - drop:\n      older_than: 1h\n");
    run(&f, "{job=\"t\"}", "ancient"); /* ts 1000 ns after the epoch */
    assert_int_equal(f.cap.n, 0);
    teardown(&f);
    assert_int_equal(load(&f, "  - drop:\n      value: x\n"), CAIRN_EINVAL);
    assert_non_null(strstr(f.err.msg, "value requires source"));
    cairn_cfg_deinit(&f.c);
}

/* ---- limit (docs: stages/limit), with a rate so slow that only the burst passes ---- */
static void limit_stage(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, "  - limit:\n      rate: 0.0001\n      burst: 10\n      drop: true\n");
    for (int i = 0; i < 25; i++)
        run(&f, "{job=\"t\"}", "line");
    assert_int_equal(f.cap.n, 10);
    teardown(&f);
    setup(&f, "  - limit:\n      rate: 0.0001\n      burst: 1\n      drop: true\n"
              "      by_label_name: app\n");
    run(&f, "{app=\"a\"}", "1");
    run(&f, "{app=\"a\"}", "2"); /* over a's limit */
    run(&f, "{app=\"b\"}", "3");
    run(&f, "{job=\"x\"}", "4"); /* no app label: not limited */
    run(&f, "{job=\"x\"}", "5");
    assert_int_equal(f.cap.n, 4);
    teardown(&f);
}

/* ---- pack, decolorize, tenant (docs) ---- */
static void pack_decolorize_tenant(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, "  - pack:\n      labels:\n        - pod\n        - container\n"
              "      ingest_timestamp: false\n");
    run(&f, "{cluster=\"us-central1\", container=\"myapp\", job=\"myjob\", namespace=\"myns\", "
            "pod=\"myapp-abcd\"}", "something happened");
    assert_string_equal(last(&f)->line, "{\"container\":\"myapp\",\"pod\":\"myapp-abcd\","
                                        "\"_entry\":\"something happened\"}");
    assert_string_equal(last(&f)->labels,
                        "{cluster=\"us-central1\", job=\"myjob\", namespace=\"myns\"}");
    assert_int_equal(last(&f)->ts, 1000);
    teardown(&f);
    setup(&f, "  - decolorize: {}\n");
    run(&f, "{job=\"t\"}", "\x1b[0;32mINFO\x1b[0m [\x1b[1mmain\x1b[0m] started");
    assert_string_equal(last(&f)->line, "INFO [main] started");
    teardown(&f);
    setup(&f, "  - json:\n      expressions:\n        customer_id:\n"
              "  - tenant:\n      source: customer_id\n");
    run(&f, "{job=\"t\"}", "{\"customer_id\":\"1\",\"log\":\"x\"}");
    assert_string_equal(last(&f)->tenant, "1");
    run(&f, "{job=\"t\"}", "{\"log\":\"no tenant\"}");
    assert_string_equal(last(&f)->tenant, "");
    teardown(&f);
    setup(&f, "  - tenant:\n      value: team-a\n");
    run(&f, "{job=\"t\"}", "x");
    assert_string_equal(last(&f)->tenant, "team-a");
    teardown(&f);
}

/* ---- cri and docker (docs: stages/cri, stages/docker) ---- */
static void cri_docker(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, "  - cri: {}\n");
    run(&f, "{job=\"t\"}", "2019-04-30T02:12:41.8443515Z stdout F message");
    assert_string_equal(last(&f)->line, "message");
    assert_string_equal(last(&f)->labels, "{job=\"t\", stream=\"stdout\"}");
    assert_int_equal(last(&f)->ts, 1556590361844351500LL);
    /* partial lines are joined */
    run(&f, "{job=\"t\"}", "2019-04-30T02:12:42Z stderr P part one, ");
    run(&f, "{job=\"t\"}", "2019-04-30T02:12:42Z stderr P part two, ");
    assert_int_equal(f.cap.n, 1);
    run(&f, "{job=\"t\"}", "2019-04-30T02:12:43Z stderr F the end");
    assert_int_equal(f.cap.n, 2);
    assert_string_equal(last(&f)->line, "part one, part two, the end");
    teardown(&f);
    setup(&f, "  - docker: {}\n");
    run(&f, "{job=\"t\"}", "{\"log\":\"log message\\n\",\"stream\":\"stderr\","
                           "\"time\":\"2019-04-30T02:12:41.8443515Z\"}");
    assert_string_equal(last(&f)->line, "log message");
    assert_string_equal(last(&f)->labels, "{job=\"t\", stream=\"stderr\"}");
    assert_int_equal(last(&f)->ts, 1556590361844351500LL);
    teardown(&f);
}

/* ---- multiline (docs: stages/multiline) ---- */
static void multiline_stage(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, "  - multiline:\n"
              "      firstline: '^\\[\\d{4}-\\d{2}-\\d{2} \\d{1,2}:\\d{2}:\\d{2}\\]'\n"
              "      max_wait_time: 3s\n      max_lines: 3\n");
    run(&f, "{job=\"t\"}", "[2023-01-18 17:41:21] \"GET /hello HTTP/1.1\" 200 -");
    run(&f, "{job=\"t\"}", "[2023-01-18 17:42:21] Hello");
    assert_int_equal(f.cap.n, 1);
    assert_string_equal(last(&f)->line, "[2023-01-18 17:41:21] \"GET /hello HTTP/1.1\" 200 -");
    run(&f, "{job=\"t\"}", "Traceback (most recent call last):");
    run(&f, "{job=\"t\"}", "  File \"app.py\", line 1");
    /* max_lines reached: the block goes out */
    assert_int_equal(f.cap.n, 2);
    assert_string_equal(last(&f)->line, "[2023-01-18 17:42:21] Hello\nTraceback (most recent "
                                        "call last):\n  File \"app.py\", line 1");
    run(&f, "{job=\"t\"}", "[2023-01-18 17:43:21] next");
    assert_int_equal(f.cap.n, 2);
    /* shutdown flushes what is held */
    assert_int_equal(cairn_ship_pipeline_tick(f.pl, INT64_MAX, &f.sink), 0);
    assert_int_equal(f.cap.n, 3);
    assert_string_equal(last(&f)->line, "[2023-01-18 17:43:21] next");
    teardown(&f);
}

/* ---- metrics (docs: stages/metrics) ---- */
static void metrics_stage(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, "  - logfmt:\n      mapping:\n        level:\n        duration:\n"
              "  - metrics:\n"
              "      log_lines_total:\n"
              "        type: Counter\n"
              "        description: total number of log lines\n"
              "        prefix: my_promtail_custom_\n"
              "        config:\n          match_all: true\n          action: inc\n"
              "      log_bytes_total:\n"
              "        type: Counter\n"
              "        prefix: my_promtail_custom_\n"
              "        config:\n          match_all: true\n          count_entry_bytes: true\n"
              "          action: add\n"
              "      error_lines:\n"
              "        type: Counter\n"
              "        source: level\n"
              "        config:\n          value: error\n          action: inc\n"
              "      duration_seconds:\n"
              "        type: Histogram\n"
              "        source: duration\n"
              "        config:\n          buckets: [0.1, 1, 10]\n");
    run(&f, "{job=\"t\"}", "level=error duration=0.5");
    run(&f, "{job=\"t\"}", "level=info duration=5");
    struct cairn_buf m = CAIRN_BUF_INIT;
    assert_int_equal(cairn_ship_metrics_write(f.metrics, &m), 0);
    assert_non_null(strstr(m.data, "my_promtail_custom_log_lines_total{job=\"t\"} 2\n"));
    assert_non_null(strstr(m.data, "my_promtail_custom_log_bytes_total{job=\"t\"} 45\n"));
    assert_non_null(strstr(m.data, "promtail_custom_error_lines{job=\"t\"} 1\n"));
    assert_non_null(strstr(m.data, "promtail_custom_duration_seconds_bucket{job=\"t\",le=\"1\"} 1\n"));
    assert_non_null(strstr(m.data, "promtail_custom_duration_seconds_count{job=\"t\"} 2\n"));
    cairn_buf_deinit(&m);
    teardown(&f);
}

/* ---- config errors name the key and the line ---- */
static void unknown_stage_key_is_an_error(void **state)
{
    (void)state;
    struct fixture f;
    assert_int_equal(load(&f, "  - json:\n      expresions:\n        a:\n"), CAIRN_EINVAL);
    assert_non_null(strstr(f.err.msg, "test.yaml:5"));
    assert_non_null(strstr(f.err.msg, "expresions"));
    cairn_cfg_deinit(&f.c);
    assert_int_equal(load(&f, "  - geoip:\n      db: x\n"), CAIRN_EINVAL);
    assert_non_null(strstr(f.err.msg, "unknown kind 'geoip'"));
    cairn_cfg_deinit(&f.c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blog_case),
        cmocka_unit_test(json_stage),
        cmocka_unit_test(logfmt_stage),
        cmocka_unit_test(regex_stage),
        cmocka_unit_test(replace_stage),
        cmocka_unit_test(template_stage),
        cmocka_unit_test(label_stages),
        cmocka_unit_test(timestamp_stage),
        cmocka_unit_test(match_stage),
        cmocka_unit_test(drop_stage),
        cmocka_unit_test(limit_stage),
        cmocka_unit_test(pack_decolorize_tenant),
        cmocka_unit_test(cri_docker),
        cmocka_unit_test(multiline_stage),
        cmocka_unit_test(metrics_stage),
        cmocka_unit_test(unknown_stage_key_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
