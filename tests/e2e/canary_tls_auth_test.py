# canary_tls_auth_test.py -- `cairn canary` with -tls, -ca-file, -user/-pass and
# -tenant-id, through a TLS proxy (tests/k8sfake's CA) in front of a `cairn serve`
# that requires credentials: pushes, the wss tail, the spot-check queries and the
# metric test all authenticate and reach the tenant; nothing is missing.
#
# Then Grafana's loki-canary's own requests, byte for byte as it builds them, against
# the same store: the query_range of its missing-entry and spot checks (selector with
# a trailing space, start/end in ns, limit=1000, no direction), the instant
# count_over_time of its metric test (time in ns), and its tail (query only, history
# by default), each with basic auth and X-Scope-OrgID.
import base64
import hashlib
import json
import os
import socket
import ssl
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "k8sfake"))
from harness import gen_certs  # noqa: E402
from push_util import Server, TempDir, check, fail, request  # noqa: E402
import canary_test  # noqa: E402
from canary_test import Canary, Proxy, received  # noqa: E402

SECRET = "c4n4ry-s3cret"
TENANT = "team-c"


def auth_headers():
    tok = base64.b64encode(("canary:" + SECRET).encode()).decode()
    return {"Authorization": "Basic " + tok, "X-Scope-OrgID": TENANT}


def loki_canary_requests(base, port):
    """What Grafana's loki-canary sends, for its stream {stream="stdout",name="tls"}."""
    sel = '{stream="stdout",name="tls"} '  # its format with an empty -query-append
    now = time.time_ns()
    # query_range: confirmation of missing entries and spot checks
    q = "start=%d&end=%d&query=%s&limit=1000" % (now - 60 * 10**9, now,
                                                 urllib.parse.quote_plus(sel))
    st, body = request(base + "/loki/api/v1/query_range?" + q, headers=auth_headers())
    check(st == 200, "loki-canary's query_range: %d %s" % (st, body[:300]))
    d = json.loads(body)["data"]
    check(d["resultType"] == "streams", "query_range result: %s" % d["resultType"])
    lines = [v[1] for s in d["result"] for v in s["values"]]
    check(len(lines) > 10 and all(len(l.split(" ")) == 2 and l.split(" ")[0].isdigit()
                                  for l in lines), "query_range lines: %r" % lines[:3])
    # query: the metric test
    q = "query=%s&time=%d&limit=1000" % (urllib.parse.quote_plus(
        'count_over_time({stream="stdout",name="tls"}[30s])'), now)
    st, body = request(base + "/loki/api/v1/query?" + q,
                       headers=dict(auth_headers(), **{"Cache-Control": "no-cache"}))
    check(st == 200, "loki-canary's metric query: %d %s" % (st, body[:300]))
    d = json.loads(body)["data"]
    check(d["resultType"] == "vector" and len(d["result"]) == 1 and
          float(d["result"][0]["value"][1]) > 10, "metric test answer: %s" % body[:300])
    # tail: query only (history: Loki's default hour, 100 lines)
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    hdr = "".join("%s: %s\r\n" % kv for kv in auth_headers().items())
    s.sendall(("GET /loki/api/v1/tail?query=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nUser-Agent: loki-canary/3\r\n%s\r\n"
               % (urllib.parse.quote_plus(sel), port, hdr)).encode())
    got = b""
    while b"\r\n\r\n" not in got or b'"values"' not in got:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    check(got.startswith(b"HTTP/1.1 101"), "loki-canary's tail: %r" % got[:300])
    want = base64.b64encode(hashlib.sha1(b"dGhlIHNhbXBsZSBub25jZQ==" +
                                         b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    check(b"Sec-WebSocket-Accept: " + want in got, "tail accept key: %r" % got[:300])
    check(b'"name":"tls"' in got, "tail history has no canary line: %r" % got[:400])


def main():
    with TempDir() as tmp:
        certs = gen_certs(os.path.join(tmp, "pki"))
        cfg = os.path.join(tmp, "auth.yaml")
        with open(cfg, "w") as f:
            f.write("auth:\n  enabled: true\n  credentials:\n"
                    "    canary:\n      secret_sha256: %s\n      tenants: [%s]\n"
                    % (hashlib.sha256(SECRET.encode()).hexdigest(), TENANT))
        srv = Server(os.path.join(tmp, "data"), "-config.file=" + cfg).start()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(certs, "server.crt"), os.path.join(certs, "server.key"))
        proxy = Proxy(srv.port, tls_ctx=ctx)

        c = Canary(["-addr", "127.0.0.1:%d" % proxy.port, "-tls", "-ca-file",
                    os.path.join(certs, "ca.crt"), "-user", "canary", "-pass", SECRET,
                    "-tenant-id", TENANT, "-push", "-labelvalue", "tls",
                    "-spot-check-interval", "500ms"] + canary_test.COMMON)
        m = c.wait_for("40 lines back over wss, a spot check and a metric test",
                       lambda m: received(m) >= 40 and
                       m["loki_canary_spot_check_entries_total"] > 0 and
                       m["loki_canary_metric_test_actual"] > 0)
        for k in ("missing_entries_total", "websocket_missing_entries_total",
                  "duplicate_entries_total", "unexpected_entries_total",
                  "spot_check_missing_entries_total"):
            check(m["loki_canary_" + k] == 0, "tls canary: %s = %s" % (k, m["loki_canary_" + k]))
        check(not any("refused" in l or "failed" in l for l in c.log),
              "tls canary logged failures:\n" + "".join(c.log[-20:]))
        print("tls+auth: sent %d received %d spot checks %d metric test %d" % (
            m["loki_canary_entries_total"], received(m),
            m["loki_canary_spot_check_entries_total"], m["loki_canary_metric_test_actual"]))

        # the store holds the lines under the credential's tenant only
        st, body = request(srv.url + "/loki/api/v1/labels", headers=auth_headers())
        check(st == 200 and '"name"' in body, "labels of %s: %d %s" % (TENANT, st, body))

        loki_canary_requests(srv.url, srv.port)
        c.stop()
        srv.stop()
    print("PASS")


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001
        fail("unexpected error: %r" % e)
    finally:
        canary_test.cleanup()
