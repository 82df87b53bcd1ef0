/* api_server_test.c -- the HTTP server in-process on 127.0.0.1 (ephemeral port): not
 * ready (503) until a store is set, then ready; pushes stored and counted; keep-alive
 * requests on one connection; 404/405; listen address parsing. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <snappy-c.h>

#include "cairn/api.h"
#include "push.pb-c.h"
#include "cairn/store.h"
#include "cairn/timeutil.h"
#include "testutil.h"

static int connect_to(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Send one HTTP/1.1 request on fd and read one response (Content-Length framed).
 * Returns the status; the body goes to body (NUL-terminated, truncated to cap). */
static int exchange_n(int fd, const char *method, const char *path, const char *hdrs,
                      const char *req_body, size_t bl, char *body, size_t cap)
{
    char req[4096];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: t\r\n%sContent-Length: %zu\r\n\r\n",
                     method, path, hdrs ? hdrs : "", bl);
    assert_true(n > 0 && (size_t)n < sizeof req);
    assert_int_equal(write(fd, req, (size_t)n), n);
    if (bl)
        assert_int_equal(write(fd, req_body, bl), (ssize_t)bl);
    static char buf[1 << 16];
    size_t got = 0;
    char *hend = NULL;
    long clen = -1;
    for (;;) {
        ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
        assert_true(r > 0);
        got += (size_t)r;
        buf[got] = '\0';
        if (!hend && (hend = strstr(buf, "\r\n\r\n")) != NULL) {
            const char *cl = strcasestr(buf, "Content-Length:");
            clen = cl ? strtol(cl + 15, NULL, 10) : 0; /* none on a 204 */
        }
        if (hend && got >= (size_t)(hend + 4 - buf) + (size_t)clen)
            break;
    }
    int status = atoi(buf + 9);
    size_t blen = (size_t)clen < cap - 1 ? (size_t)clen : cap - 1;
    memcpy(body, hend + 4, blen);
    body[blen] = '\0';
    return status;
}

static int exchange(int fd, const char *method, const char *path, const char *hdrs,
                    const char *req_body, char *body, size_t cap)
{
    return exchange_n(fd, method, path, hdrs, req_body, req_body ? strlen(req_body) : 0, body,
                      cap);
}

/* A protobuf push whose snappy form starts with '{' (uncompressed length 123 is the
 * varint byte 0x7b): under a foreign Content-Type it must still be read as protobuf. */
static size_t brace_body(char *out, size_t cap)
{
    char line[200];
    for (size_t ll = 1; ll < sizeof line; ll++) {
        memset(line, 'z', ll);
        Logproto__Timestamp ts = LOGPROTO__TIMESTAMP__INIT;
        ts.seconds = cairn_now_ns() / 1000000000LL;
        Logproto__EntryAdapter ea = LOGPROTO__ENTRY_ADAPTER__INIT;
        Logproto__EntryAdapter *eap = &ea;
        ea.timestamp = &ts;
        ea.line.data = (uint8_t *)line;
        ea.line.len = ll;
        Logproto__StreamAdapter sa = LOGPROTO__STREAM_ADAPTER__INIT;
        Logproto__StreamAdapter *sap = &sa;
        sa.labels = "{app=\"brace\"}";
        sa.n_entries = 1;
        sa.entries = &eap;
        Logproto__PushRequest req = LOGPROTO__PUSH_REQUEST__INIT;
        req.n_streams = 1;
        req.streams = &sap;
        if (logproto__push_request__get_packed_size(&req) != 123)
            continue;
        uint8_t pb[123];
        logproto__push_request__pack(&req, pb);
        size_t n = cap;
        assert_int_equal(snappy_compress((char *)pb, sizeof pb, out, &n), SNAPPY_OK);
        assert_int_equal(out[0], '{');
        return n;
    }
    fail_msg("no line length gives a 123-byte PushRequest");
    return 0;
}

static void ready_only_with_a_store(void **state)
{
    (void)state;
    char *dir = test_mkdtemp("api-server");
    assert_non_null(dir);
    struct cairn_api_config cfg;
    cairn_api_config_default(&cfg);
    cfg.listen = "127.0.0.1:0";
    struct cairn_err err;
    struct cairn_api *api = cairn_api_create(&cfg, &err);
    assert_non_null(api);
    unsigned port = cairn_api_port(api);
    assert_true(port > 0);

    char body[8192], push[512];
    int fd = connect_to(port);
    assert_int_equal(exchange(fd, "GET", "/ready", NULL, NULL, body, sizeof body), 503);
    snprintf(push, sizeof push,
             "{\"streams\":[{\"stream\":{\"app\":\"a\"},\"values\":[[\"%lld\",\"hello\"]]}]}",
             (long long)cairn_now_ns());
    assert_int_equal(exchange(fd, "POST", "/loki/api/v1/push", "Content-Type: application/json\r\n",
                              push, body, sizeof body), 503);
    assert_non_null(strstr(body, "not ready"));

    struct cairn_store_config sc;
    cairn_store_config_default(&sc);
    sc.data_dir = dir;
    sc.fsync = CAIRN_FSYNC_NEVER;
    struct cairn_store *st = cairn_store_open(&sc, &err);
    assert_non_null(st);
    cairn_api_set_store(api, st);

    /* Same keep-alive connection from here on. */
    assert_int_equal(exchange(fd, "GET", "/ready", NULL, NULL, body, sizeof body), 200);
    assert_string_equal(body, "ready\n");
    assert_int_equal(exchange(fd, "POST", "/loki/api/v1/push",
                              "Content-Type: application/json\r\nX-Scope-OrgID: t1\r\n", push,
                              body, sizeof body), 204);
    char pbb[256];
    size_t pbn = brace_body(pbb, sizeof pbb);
    assert_int_equal(exchange_n(fd, "POST", "/loki/api/v1/push",
                                "Content-Type: application/x-www-form-urlencoded\r\n"
                                "X-Scope-OrgID: t1\r\n", pbb, pbn, body, sizeof body), 204);
    assert_int_equal(exchange(fd, "GET", "/metrics", NULL, NULL, body, sizeof body), 200);
    assert_non_null(strstr(body, "cairn_ingested_lines_total{tenant=\"t1\"} 2\n"));
    assert_non_null(strstr(body, "cairn_active_streams 2\n"));
    assert_int_equal(exchange(fd, "GET", "/nope", NULL, NULL, body, sizeof body), 404);
    assert_int_equal(exchange(fd, "DELETE", "/ready", NULL, NULL, body, sizeof body), 405);
    assert_int_equal(exchange(fd, "GET", "/config", NULL, NULL, body, sizeof body), 404);
    close(fd);

    cairn_api_stop(api);
    cairn_api_set_store(api, NULL);
    cairn_store_close(st);
    cairn_api_destroy(api);
    cairn_api_destroy(NULL);
    test_rmdir_r(dir);
    free(dir);
}

static void listen_addresses(void **state)
{
    (void)state;
    char host[64];
    unsigned port;
    assert_int_equal(cairn_api_parse_listen("127.0.0.1:3100", host, sizeof host, &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 3100);
    assert_int_equal(cairn_api_parse_listen(":0", host, sizeof host, &port), 0);
    assert_string_equal(host, "");
    assert_int_equal(cairn_api_parse_listen("[::1]:80", host, sizeof host, &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(cairn_api_parse_listen("localhost", host, sizeof host, &port), CAIRN_EINVAL);
    assert_int_equal(cairn_api_parse_listen("h:99999", host, sizeof host, &port), CAIRN_EINVAL);
    assert_int_equal(cairn_api_parse_listen("h:", host, sizeof host, &port), CAIRN_EINVAL);
    struct cairn_api_config cfg;
    cairn_api_config_default(&cfg);
    cfg.listen = "no-port";
    struct cairn_err err;
    assert_null(cairn_api_create(&cfg, &err));
    assert_non_null(strstr(err.msg, "no-port"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ready_only_with_a_store),
        cmocka_unit_test(listen_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
