/* ship_syslog_test.c -- the syslog source: RFC 5424 messages (every header field,
 * fractions and offsets, structured data with escapes, BOM), RFC 3164 dialects,
 * malformed ones, RFC 6587 framing decided per frame, and a listener on loopback
 * (labels after relabelling, a bad octet count closing only its connection, idle
 * connections closed, UDP datagrams). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cairn/ship_config.h"
#include "cairn/timeutil.h"
#include "ship/src_syslog.h"


static int parse(const char *s, struct cairn_syslog_msg *m)
{
    return cairn_syslog_parse(s, strlen(s), CAIRN_SYSLOG_AUTO, m, NULL);
}

static int64_t ts_of(const struct cairn_syslog_msg *m)
{
    int64_t ns = -1;
    assert_int_equal(cairn_syslog_time(m, &ns), 0);
    return ns;
}

static void field_eq(struct cairn_syslog_field f, const char *want)
{
    if (!want) {
        assert_null(f.p);
        return;
    }
    assert_non_null(f.p);
    assert_int_equal(f.len, strlen(want));
    assert_memory_equal(f.p, want, f.len);
}

static void rfc5424_full(void **state)
{
    (void)state;
    struct cairn_syslog_msg m;
    /* RFC 5424 section 6.5, example 1 (with the BOM) */
    const char *s = "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
                    "\xEF\xBB\xBF'su root' failed for lonvick on /dev/pts/8";
    assert_int_equal(parse(s, &m), 0);
    assert_int_equal(m.rfc, 5424);
    assert_int_equal(m.facility, 4);
    assert_int_equal(m.severity, 2);
    assert_string_equal(cairn_syslog_severity_name(m.severity), "critical");
    assert_string_equal(cairn_syslog_facility_name(m.facility), "auth");
    assert_non_null(m.ts.p);
    assert_int_equal(ts_of(&m), 1065910455003000000LL);
    field_eq(m.host, "mymachine.example.com");
    field_eq(m.app, "su");
    field_eq(m.procid, NULL);
    field_eq(m.msgid, "ID47");
    field_eq(m.sd, NULL);
    field_eq(m.msg, "'su root' failed for lonvick on /dev/pts/8");

    /* example 2: an offset and microseconds */
    s = "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time";
    assert_int_equal(parse(s, &m), 0);
    assert_int_equal(m.facility, 20);
    assert_int_equal(m.severity, 5);
    assert_string_equal(cairn_syslog_facility_name(20), "local4");
    assert_string_equal(cairn_syslog_severity_name(5), "notice");
    assert_int_equal(ts_of(&m), 1061727255000003000LL);
    field_eq(m.procid, "8710");
    field_eq(m.msg, "%% It's time");

    /* nanoseconds are accepted too; no MSG at all is absent, not empty */
    assert_int_equal(parse("<13>1 2003-10-11T22:14:15.123456789+00:00 h a p m -", &m), 0);
    assert_int_equal(ts_of(&m), 1065910455123456789LL);
    field_eq(m.msg, NULL);
    assert_int_equal(parse("<0>1 - - - - - - ", &m), 0);
    assert_int_equal(m.facility, 0);
    assert_string_equal(cairn_syslog_facility_name(0), "kern");
    assert_string_equal(cairn_syslog_severity_name(0), "emergency");
    assert_null(m.ts.p);
    field_eq(m.host, NULL);
    field_eq(m.msg, "");
    /* a trailing LF is the framing's, not the message's */
    assert_int_equal(parse("<14>1 - h a - - - line\r\n", &m), 0);
    field_eq(m.msg, "line");
}

static void rfc5424_structured_data(void **state)
{
    (void)state;
    struct cairn_syslog_msg m;
    const char *s = "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
                    "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]"
                    "[examplePriority@32473 class=\"high\"][empty@1]"
                    "[esc@1 v=\"a\\\"b\\\\c\\]d\\xe\"] An application event";
    assert_int_equal(parse(s, &m), 0);
    field_eq(m.msg, "An application event");
    assert_non_null(m.sd.p);
    struct cairn_syslog_sd_iter it;
    struct cairn_syslog_field id, name;
    struct cairn_buf v = CAIRN_BUF_INIT;
    static const char *const want[][3] = {
        {"exampleSDID@32473", "iut", "3"},
        {"exampleSDID@32473", "eventSource", "Application"},
        {"exampleSDID@32473", "eventID", "1011"},
        {"examplePriority@32473", "class", "high"},
        {"esc@1", "v", "a\"b\\c]d\\xe"}, /* \" \\ \] unescaped; \x kept as it is */
    };
    cairn_syslog_sd_begin(&it, &m);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_int_equal(cairn_syslog_sd_next(&it, &id, &name, &v), 1);
        field_eq(id, want[i][0]);
        field_eq(name, want[i][1]);
        assert_string_equal(v.data, want[i][2]);
    }
    assert_int_equal(cairn_syslog_sd_next(&it, &id, &name, &v), 0);
    cairn_buf_deinit(&v);

    /* SD with no MSG after it */
    assert_int_equal(parse("<13>1 - h a - - [x@1 k=\"v\"]", &m), 0);
    field_eq(m.sd, "[x@1 k=\"v\"]");
    field_eq(m.msg, NULL);
}

static void rfc3164_forms(void **state)
{
    (void)state;
    struct cairn_syslog_msg m;
    assert_int_equal(parse("<34>Oct 11 22:14:15 mymachine su[123]: 'su root' failed", &m), 0);
    assert_int_equal(m.rfc, 3164);
    assert_int_equal(m.facility, 4);
    assert_int_equal(m.severity, 2);
    field_eq(m.host, "mymachine");
    field_eq(m.app, "su");
    field_eq(m.procid, "123");
    field_eq(m.msg, "'su root' failed");
    assert_non_null(m.ts.p);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    struct tm want = {.tm_year = tm.tm_year, .tm_mon = 9, .tm_mday = 11, .tm_hour = 22,
                      .tm_min = 14, .tm_sec = 15};
    assert_int_equal(ts_of(&m), (int64_t)timegm(&want) * 1000000000LL);

    /* a space-padded day, a tag without pid */
    assert_int_equal(parse("<13>Feb  5 17:32:18 10.0.0.99 myapp: Use the BFG!", &m), 0);
    field_eq(m.host, "10.0.0.99");
    field_eq(m.app, "myapp");
    field_eq(m.procid, NULL);
    field_eq(m.msg, "Use the BFG!");

    /* no hostname: the first word is the tag */
    assert_int_equal(parse("<13>Feb  5 17:32:18 cron[9]: job done", &m), 0);
    field_eq(m.host, NULL);
    field_eq(m.app, "cron");
    field_eq(m.procid, "9");
    field_eq(m.msg, "job done");

    /* no time: tag and message only */
    assert_int_equal(parse("<30>kernel: oops", &m), 0);
    assert_null(m.ts.p);
    field_eq(m.app, "kernel");
    field_eq(m.msg, "oops");

    /* no tag: everything after the host is the message */
    assert_int_equal(parse("<13>Feb  5 17:32:18 host just words here", &m), 0);
    field_eq(m.host, "host");
    field_eq(m.app, NULL);
    field_eq(m.msg, "just words here");

    /* an RFC 3339 time instead of the BSD one (rsyslog's forwarding formats) */
    assert_int_equal(parse("<13>2003-10-11T22:14:15.5Z box app[1]: hi", &m), 0);
    assert_int_equal(ts_of(&m), 1065910455500000000LL);
    field_eq(m.host, "box");
    field_eq(m.app, "app");

    /* syslog_format forces one or the other */
    const char *s = "<13>1 - h a - - - x";
    assert_int_equal(cairn_syslog_parse(s, strlen(s), CAIRN_SYSLOG_RFC3164, &m, NULL), 0);
    assert_int_equal(m.rfc, 3164);
    s = "<13>Oct 11 22:14:15 h a: x";
    assert_int_equal(cairn_syslog_parse(s, strlen(s), CAIRN_SYSLOG_RFC5424, &m, NULL),
                     CAIRN_EINVAL);
}

static void malformed(void **state)
{
    (void)state;
    struct cairn_syslog_msg m;
    static const char *const bad[] = {
        "", "x", "<>1 - - - - - -", "<192>1 - - - - - - x", "<1234>1 - - - - - - x",
        "<13", "13>1 - - - - - -", "<-1>1 - - - - - -",
        "<13>01 - - - - - - x",                     /* VERSION with a leading zero */
        "<13>1 2003-13-11T22:14:15Z h a p m - x",   /* month 13 */
        "<13>1 2003-10-11 22:14:15Z h a p m - x",   /* no T: the date alone is the time */
        "<13>1 2003-10-11T22:14:15 h a p m - x",    /* no zone */
        "<13>1 2003-10-11T22:14:15.1234567890Z h a p m - x", /* 10 fraction digits */
        "<13>1 2003-10-11T22:14:15+24:00 h a p m - x",       /* offset out of range */
        "<13>1 2003-10-11T22:14:15.Z h a p m - x",           /* empty fraction */
        "<13>1 - h a p m",                          /* header cut short */
        "<13>1 - h aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa p m - x", /* APP-NAME 49 */
        "<13>1 - h a p mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm - x", /* MSGID 33 */
        "<13>1 - h a p m [x k=\"v\" x",             /* SD element not closed */
        "<13>1 - h a p m [x k=v] x",                /* value not quoted */
        "<13>1 - h a p m [x k=\"v] x",              /* quote not closed */
        "<13>1 - h a p m [] x",                     /* no SD-ID */
        "<13>1 - h a p m x",                        /* SD neither - nor [ */
        "<13>1 - h a p m -x",                       /* no SP after SD */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *why = NULL;
        int rc = cairn_syslog_parse(bad[i], strlen(bad[i]), CAIRN_SYSLOG_AUTO, &m, &why);
        if (rc != CAIRN_EINVAL)
            fail_msg("accepted: %s", bad[i]);
        assert_non_null(why);
    }
}

/* Feed bytes in pieces of `step` and collect what the framer gives. */
static int frames(const char *in, size_t step, size_t max, char out[][64], int *n_over)
{
    struct cairn_syslog_framer fr = {.max = max};
    char buf[256];
    size_t len = 0, total = strlen(in), fed = 0;
    int n = 0;
    *n_over = 0;
    while (fed < total || len) {
        size_t k = total - fed < step ? total - fed : step;
        memcpy(buf + len, in + fed, k);
        len += k;
        fed += k;
        size_t off = 0;
        for (;;) {
            const char *f;
            size_t fl, used;
            int rc = cairn_syslog_frame_next(&fr, buf + off, len - off, &f, &fl, &used);
            off += used;
            if (rc == CAIRN_FRAME_OK) {
                snprintf(out[n++], 64, "%.*s", (int)fl, f);
            } else if (rc == CAIRN_FRAME_OVERSIZE) {
                (*n_over)++;
            } else if (rc == CAIRN_FRAME_BAD) {
                return -1 - n;
            } else {
                break;
            }
        }
        memmove(buf, buf + off, len - off);
        len -= off;
        if (fed == total && k == 0)
            break;
    }
    return n;
}

static void framing(void **state)
{
    (void)state;
    char out[16][64];
    int over;
    /* octet counted and LF framed mixed, decided per frame, in any read sizes */
    const char *in = "11 <13>1 - - -\n<14>b\n\n5 <1>cd10 <2>0123456";
    for (size_t step = 1; step <= 40; step++) {
        int n = frames(in, step, 64, out, &over);
        assert_int_equal(n, 4);
        assert_string_equal(out[0], "<13>1 - - -");
        assert_string_equal(out[1], "<14>b");
        assert_string_equal(out[2], "<1>cd");
        assert_string_equal(out[3], "<2>0123456");
        assert_int_equal(over, 0);
    }
    /* oversize: an octet count over max is skipped without losing the framing; an LF
     * line over max is skipped up to its LF */
    in = "20 <1>xxxxxxxxxxxxxxxxx4 <2>a<3>yyyyyyyyyyyyyyyyyyyyyy\n<4>z\n";
    for (size_t step = 1; step <= 8; step++) {
        int n = frames(in, step, 10, out, &over);
        assert_int_equal(n, 2);
        assert_string_equal(out[0], "<2>a");
        assert_string_equal(out[1], "<4>z");
        assert_int_equal(over, 2);
    }
    /* a bad count loses the framing */
    assert_int_equal(frames("5 <1>a\n12x <1>abc", 64, 64, out, &over), -2);
    assert_int_equal(frames("01 x", 64, 64, out, &over), -1);
    assert_int_equal(frames("12345678901 x", 64, 64, out, &over), -1);
}

/* ---- a listener on loopback ---- */

#define MAXE 64
struct capture {
    pthread_mutex_t mu;
    char lines[MAXE][128];
    char labels[MAXE][512];
    int64_t ts[MAXE];
    int n;
};

static int cap_emit(void *ud, const struct cairn_ship_entry *e)
{
    struct capture *c = ud;
    struct cairn_buf b = CAIRN_BUF_INIT;
    cairn_labels_format(&e->labels, &b);
    pthread_mutex_lock(&c->mu);
    if (c->n < MAXE) {
        snprintf(c->lines[c->n], 128, "%.*s", (int)e->line.len, e->line.data);
        snprintf(c->labels[c->n], 512, "%s", b.data ? b.data : "");
        c->ts[c->n] = e->ts;
        c->n++;
    }
    pthread_mutex_unlock(&c->mu);
    cairn_buf_deinit(&b);
    return 0;
}

static int cap_count(struct capture *c)
{
    pthread_mutex_lock(&c->mu);
    int n = c->n;
    pthread_mutex_unlock(&c->mu);
    return n;
}

static void wait_count(struct capture *c, int n)
{
    for (int i = 0; i < 1000 && cap_count(c) < n; i++)
        usleep(10000);
    assert_int_equal(cap_count(c), n);
}

static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* 1 when the peer closed fd (waits up to 10 s). */
static int closed_by_peer(int fd)
{
    struct pollfd pf = {.fd = fd, .events = POLLIN};
    if (poll(&pf, 1, 10000) != 1)
        return 0;
    char b;
    return recv(fd, &b, 1, 0) == 0;
}

static int metric(struct cairn_syslog_set *s, const char *line_prefix)
{
    struct cairn_buf b = CAIRN_BUF_INIT;
    assert_int_equal(cairn_syslog_metrics_write(s, &b), 0);
    const char *p = strstr(b.data, line_prefix);
    int v = p ? atoi(p + strlen(line_prefix)) : -1;
    cairn_buf_deinit(&b);
    return v;
}

/* A loaded config and its started listeners. */
struct rig {
    struct cairn_ship_config cfg;
    struct cairn_cfg c;
    struct cairn_ship_sink sink;
    struct cairn_syslog_set *s;
};

static void rig_start(struct rig *r, const char *yaml, struct cairn_ship_sink sink)
{
    struct cairn_err err;
    memset(r, 0, sizeof *r);
    r->sink = sink;
    assert_int_equal(cairn_cfg_init(&r->c, &cairn_ship_config_table, &r->cfg, NULL, &err), 0);
    if (cairn_cfg_load_string(&r->c, "t.yaml", yaml, strlen(yaml), &err) ||
        cairn_cfg_check(&r->c, &err))
        fail_msg("%s", err.msg);
    if (!(r->s = cairn_syslog_create(&r->cfg, &r->sink, NULL, &err)))
        fail_msg("%s", err.msg);
    assert_int_equal(cairn_syslog_start(r->s), 0);
}

static void rig_stop(struct rig *r)
{
    cairn_syslog_destroy(r->s);
    cairn_cfg_deinit(&r->c);
}

static const char CFG[] =
    "scrape_configs:\n"
    "  - job_name: tcp\n"
    "    syslog:\n"
    "      listen_address: 127.0.0.1:0\n"
    "      idle_timeout: 1s\n"
    "      use_incoming_timestamp: true\n"
    "      label_structured_data: true\n"
    "      labels: {job: tcp}\n"
    "    relabel_configs:\n"
    "      - {source_labels: [__syslog_message_hostname], target_label: host}\n"
    "      - {source_labels: [__syslog_message_app_name], target_label: app}\n"
    "      - {source_labels: [__syslog_message_severity], target_label: level}\n"
    "      - {source_labels: [__syslog_message_facility], target_label: facility}\n"
    "      - {source_labels: [__syslog_connection_ip_address], target_label: ip}\n"
    "      - {source_labels: [__syslog_message_sd_ex_1_k], target_label: sdk}\n"
    "      - {source_labels: [__syslog_connection_hostname], target_label: peer}\n"
    "      - {source_labels: [__syslog_message_app_name], regex: drop-me, action: drop}\n"
    "  - job_name: udp\n"
    "    syslog:\n"
    "      listen_address: 127.0.0.1:0\n"
    "      listen_protocol: udp\n"
    "      use_rfc5424_message: true\n"
    "      labels: {job: udp}\n";

static void listener(void **state)
{
    (void)state;
    struct capture cap = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct rig r;
    rig_start(&r, CFG, (struct cairn_ship_sink){cap_emit, NULL, &cap});
    struct cairn_syslog_set *s = r.s;
    assert_int_equal(cairn_syslog_count(s), 2);
    int tport = cairn_syslog_port(s, 0), uport = cairn_syslog_port(s, 1);
    assert_true(tport > 0 && uport > 0);

    int fd = tcp_connect(tport);
    const char *msgs = "<165>1 2003-10-11T22:14:15.003Z web1 nginx 42 - [ex@1 k=\"v\\]\"] GET /\n"
                       "29 <34>Oct 11 22:14:15 db su: hi"
                       "<13>1 - h drop-me - - - dropped\n"
                       "<999>bad pri\n";
    assert_int_equal(send(fd, msgs, strlen(msgs), 0), (ssize_t)strlen(msgs));
    wait_count(&cap, 2);
    assert_string_equal(cap.lines[0], "GET /");
    assert_int_equal(cap.ts[0], 1065910455003000000LL); /* use_incoming_timestamp */
    /* the peer's name as the resolver gives it (localhost in /etc/hosts), if any */
    char want[600], peer[300] = "";
    struct sockaddr_in lo = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &lo.sin_addr);
    char host[256];
    if (getnameinfo((struct sockaddr *)&lo, sizeof lo, host, sizeof host, NULL, 0,
                    NI_NAMEREQD) == 0)
        snprintf(peer, sizeof peer, "peer=\"%s\", ", host);
    snprintf(want, sizeof want, "{app=\"nginx\", facility=\"local4\", host=\"web1\", "
             "ip=\"127.0.0.1\", job=\"tcp\", level=\"notice\", %ssdk=\"v]\"}", peer);
    assert_string_equal(cap.labels[0], want);
    assert_string_equal(cap.lines[1], "hi");
    snprintf(want, sizeof want, "{app=\"su\", facility=\"auth\", host=\"db\", "
             "ip=\"127.0.0.1\", job=\"tcp\", level=\"critical\"%s%.*s}", *peer ? ", " : "",
             *peer ? (int)strlen(peer) - 2 : 0, peer);
    assert_string_equal(cap.labels[1], want);

    /* a bad octet count closes that connection only */
    int fd2 = tcp_connect(tport);
    assert_int_equal(send(fd2, "9x <13>", 7, 0), 7);
    assert_true(closed_by_peer(fd2));
    close(fd2);
    const char *more = "<14>1 - h app - - - still here\n";
    assert_int_equal(send(fd, more, strlen(more), 0), (ssize_t)strlen(more));
    wait_count(&cap, 3);
    assert_string_equal(cap.lines[2], "still here");
    assert_int_equal(metric(s, "cairn_ship_syslog_malformed_total{job=\"tcp\",reason=\"parse\"} "),
                     1);
    assert_int_equal(metric(s, "cairn_ship_syslog_malformed_total{job=\"tcp\",reason=\"octet_count\"} "),
                     1);
    assert_int_equal(metric(s, "cairn_ship_syslog_dropped_total{job=\"tcp\",reason=\"relabel\"} "), 1);
    assert_int_equal(metric(s, "\npromtail_syslog_target_entries_total "), 3);

    /* idle_timeout: 1s closes the silent connection */
    assert_true(closed_by_peer(fd));
    close(fd);
    assert_int_equal(metric(s, "cairn_ship_syslog_connections_idle_closed_total{job=\"tcp\"} "), 1);

    /* UDP: one message per datagram, the whole message as the line */
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)uport)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    const char *d = "<13>1 - h a - - - by udp\n";
    assert_int_equal(sendto(u, d, strlen(d), 0, (struct sockaddr *)&sa, sizeof sa),
                     (ssize_t)strlen(d));
    close(u);
    wait_count(&cap, 4);
    assert_string_equal(cap.lines[3], "<13>1 - h a - - - by udp");
    assert_string_equal(cap.labels[3], "{job=\"udp\"}");

    rig_stop(&r);
}

/* A sink that blocks while `hold` is set, as the push client does on a full queue. */
struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int hold, blocked;
    long n;
};

static int gate_emit(void *ud, const struct cairn_ship_entry *e)
{
    (void)e;
    struct gate *g = ud;
    pthread_mutex_lock(&g->mu);
    while (g->hold) {
        g->blocked = 1;
        pthread_cond_broadcast(&g->cv);
        pthread_cond_wait(&g->cv, &g->mu);
    }
    g->n++;
    pthread_mutex_unlock(&g->mu);
    return 0;
}

static const char BP_CFG[] = "scrape_configs:\n"
                             "  - job_name: bp\n"
                             "    syslog:\n"
                             "      listen_address: 127.0.0.1:0\n"
                             "      labels: {job: bp}\n";

/* While the sink blocks, the listener reads nothing more: the sender's socket fills up
 * and its writes stop (no unbounded buffering in the agent); released, every message
 * written arrives. */
static void tcp_back_pressure(void **state)
{
    (void)state;
    struct gate g = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .hold = 1};
    struct rig r;
    rig_start(&r, BP_CFG, (struct cairn_ship_sink){gate_emit, NULL, &g});
    struct cairn_syslog_set *s = r.s;
    int fd = tcp_connect(cairn_syslog_port(s, 0));
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    const char msg[] = "<13>1 - h a - - - 0123456789012345678901234567890123456789\n";
    long sent = 0;
    size_t total = 0, off = 0, ml = sizeof msg - 1;
    /* write until the kernel refuses: bounded, or the agent buffers without limit */
    for (;;) {
        ssize_t n = send(fd, msg + off, ml - off, MSG_DONTWAIT);
        if (n < 0) {
            assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
            /* the listener may still be draining the first bytes: wait until it is
             * blocked in the sink, then the socket must stay full */
            pthread_mutex_lock(&g.mu);
            int blocked = g.blocked;
            pthread_mutex_unlock(&g.mu);
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            if (blocked && poll(&pf, 1, 200) == 0)
                break;
            continue;
        }
        off += (size_t)n;
        total += (size_t)n;
        if (off == ml)
            sent++, off = 0;
        assert_true(total < (64u << 20));
    }
    pthread_mutex_lock(&g.mu);
    assert_int_equal(g.n, 0);
    g.hold = 0;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    if (off) { /* finish the message cut by the full socket */
        assert_int_equal(send(fd, msg + off, ml - off, 0), (ssize_t)(ml - off));
        sent++;
    }
    close(fd);
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&g.mu);
        long n = g.n;
        pthread_mutex_unlock(&g.mu);
        if (n == sent)
            break;
        usleep(10000);
    }
    assert_int_equal(g.n, sent);
    rig_stop(&r);
}

static const char UDP_CFG[] = "scrape_configs:\n"
                              "  - job_name: u\n"
                              "    syslog:\n"
                              "      listen_address: 127.0.0.1:0\n"
                              "      listen_protocol: udp\n"
                              "      max_message_length: 1MiB\n" /* 4 MiB: 16 slots (the least) */
                              "      labels: {job: u}\n";

/* UDP cannot push back: while the sink blocks, the bounded queue fills (16 slots here,
 * the one being emitted included) and every other datagram is dropped and counted. */
static void udp_queue_full(void **state)
{
    (void)state;
    struct gate g = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .hold = 1};
    struct rig r;
    rig_start(&r, UDP_CFG, (struct cairn_ship_sink){gate_emit, NULL, &g});
    struct cairn_syslog_set *s = r.s;
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)cairn_syslog_port(s, 0))};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    const char d[] = "<13>1 - h a - - - datagram";
    for (int i = 0; i < 200; i++)
        assert_int_equal(sendto(u, d, sizeof d - 1, 0, (struct sockaddr *)&sa, sizeof sa),
                         (ssize_t)(sizeof d - 1));
    close(u);
    int dropped = 0;
    for (int i = 0; i < 1000 && dropped < 184; i++) {
        dropped = metric(s, "cairn_ship_syslog_dropped_total{job=\"u\",reason=\"queue_full\"} ") +
                  metric(s, "cairn_ship_syslog_dropped_total{job=\"u\",reason=\"kernel\"} ");
        if (dropped < 184)
            usleep(10000);
    }
    assert_int_equal(dropped, 184);
    pthread_mutex_lock(&g.mu);
    g.hold = 0;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    for (int i = 0; i < 1000 && metric(s, "\npromtail_syslog_target_entries_total ") < 16; i++)
        usleep(10000);
    assert_int_equal(metric(s, "\npromtail_syslog_target_entries_total "), 16);
    assert_int_equal(g.n, 16);
    rig_stop(&r);
}

static const char MAXC_CFG[] = "scrape_configs:\n"
                               "  - job_name: m\n"
                               "    syslog:\n"
                               "      listen_address: 127.0.0.1:0\n"
                               "      max_connections: 1\n"
                               "      labels: {job: m}\n";

/* Past max_connections a connection is closed at once and counted; the first works. */
static void tcp_max_connections(void **state)
{
    (void)state;
    struct capture cap = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct rig r;
    rig_start(&r, MAXC_CFG, (struct cairn_ship_sink){cap_emit, NULL, &cap});
    struct cairn_syslog_set *s = r.s;
    int a = tcp_connect(cairn_syslog_port(s, 0));
    const char m1[] = "<13>1 - h a - - - first\n";
    assert_int_equal(send(a, m1, sizeof m1 - 1, 0), (ssize_t)(sizeof m1 - 1));
    wait_count(&cap, 1); /* a is accepted before b connects */
    int b = tcp_connect(cairn_syslog_port(s, 0));
    assert_true(closed_by_peer(b));
    close(b);
    assert_int_equal(metric(s, "cairn_ship_syslog_connections_rejected_total{job=\"m\"} "), 1);
    assert_int_equal(metric(s, "cairn_ship_syslog_connections_open{job=\"m\"} "), 1);
    close(a);
    rig_stop(&r);
}

static const char CACHE_CFG[] =
    "scrape_configs:\n"
    "  - job_name: c\n"
    "    syslog:\n"
    "      listen_address: 127.0.0.1:0\n"
    "      labels: {job: c}\n"
    "    relabel_configs:\n"
    "      - {source_labels: [__syslog_message_hostname], target_label: host}\n"
    "      - {source_labels: [__syslog_message_app_name], regex: x, action: drop}\n"
    "      - {source_labels: [__syslog_message_proc_id], target_label: pid}\n";

/* Relabelling results are cached by the labels the rules read: repeats (kept or
 * dropped) give what the first one gave, and a label that differs is a new result. */
static void relabel_cache(void **state)
{
    (void)state;
    struct capture cap = {.mu = PTHREAD_MUTEX_INITIALIZER};
    struct rig r;
    rig_start(&r, CACHE_CFG, (struct cairn_ship_sink){cap_emit, NULL, &cap});
    struct cairn_syslog_set *s = r.s;
    int fd = tcp_connect(cairn_syslog_port(s, 0));
    const char *in = "<13>1 - h1 a 1 - - one\n<13>1 - h1 a 1 - - two\n<13>1 - h2 a 1 - - three\n"
                     "<13>1 - h1 x 1 - - dropped\n<13>1 - h1 x 1 - - dropped again\n"
                     "<13>1 - h1 a - - - no pid\n<13>1 - h1 a 1 - - four\n";
    assert_int_equal(send(fd, in, strlen(in), 0), (ssize_t)strlen(in));
    wait_count(&cap, 5);
    static const char *const want[][2] = {
        {"one", "{host=\"h1\", job=\"c\", pid=\"1\"}"},
        {"two", "{host=\"h1\", job=\"c\", pid=\"1\"}"},
        {"three", "{host=\"h2\", job=\"c\", pid=\"1\"}"},
        {"no pid", "{host=\"h1\", job=\"c\"}"},
        {"four", "{host=\"h1\", job=\"c\", pid=\"1\"}"},
    };
    for (int i = 0; i < 5; i++) {
        assert_string_equal(cap.lines[i], want[i][0]);
        assert_string_equal(cap.labels[i], want[i][1]);
    }
    assert_int_equal(metric(s, "cairn_ship_syslog_dropped_total{job=\"c\",reason=\"relabel\"} "), 2);
    close(fd);
    rig_stop(&r);
}

/* The `syslog:` block's checks name the key; no block at all is no listener. */
static void config_errors(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *want;
    } cases[] = {
        {"    syslog: {listen_protocol: udp}\n", "scrape_configs[0].syslog.listen_address: required"},
        {"    syslog: {listen_address: 'localhost'}\n", "is not host:port"},
        {"    syslog: {listen_address: ':1514', labels: {bad-name: x}}\n",
         "scrape_configs[0].syslog.labels: 'bad-name' is not a valid label name"},
        {"    syslog: {listen_address: ':1514', listen_protocol: udp, tls_config: {cert_file: c, key_file: k}}\n",
         "TLS needs listen_protocol tcp"},
        {"    syslog: {listen_address: ':1514', tls_config: {ca_file: c}}\n",
         "cert_file and key_file are required"},
        {"    syslog: {listen_address: ':1514', listen_protocol: sctp}\n", "listen_protocol"},
        {"    syslog: {listen_address: ':1514', max_message_length: 2MiB}\n", "max_message_length"},
        {"    syslog: {listen_adress: ':1514'}\n", "unknown key"},
        {"    static_configs: []\n", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char yaml[512];
        int n = snprintf(yaml, sizeof yaml, "scrape_configs:\n  - job_name: s\n%s", cases[i].yaml);
        struct cairn_ship_config cfg;
        struct cairn_cfg c = {0};
        struct cairn_err err;
        assert_int_equal(cairn_cfg_init(&c, &cairn_ship_config_table, &cfg, NULL, &err), 0);
        int rc = cairn_cfg_load_string(&c, "t.yaml", yaml, (size_t)n, &err);
        if (!rc)
            rc = cairn_cfg_check(&c, &err);
        if (!cases[i].want) {
            assert_int_equal(rc, 0);
            struct cairn_ship_sink sink = {cap_emit, NULL, NULL};
            struct cairn_syslog_set *s = cairn_syslog_create(&cfg, &sink, NULL, &err);
            assert_non_null(s);
            assert_int_equal(cairn_syslog_count(s), 0);
            cairn_syslog_destroy(s);
        } else if (rc == 0 || !strstr(err.msg, cases[i].want)) {
            fail_msg("%s: got rc %d '%s', want '%s'", cases[i].yaml, rc, err.msg, cases[i].want);
        }
        cairn_cfg_deinit(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc5424_full),
        cmocka_unit_test(rfc5424_structured_data),
        cmocka_unit_test(rfc3164_forms),
        cmocka_unit_test(malformed),
        cmocka_unit_test(framing),
        cmocka_unit_test(config_errors),
        cmocka_unit_test(listener),
        cmocka_unit_test(relabel_cache),
        cmocka_unit_test(tcp_back_pressure),
        cmocka_unit_test(udp_queue_full),
        cmocka_unit_test(tcp_max_connections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
