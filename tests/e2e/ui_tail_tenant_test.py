# ui_tail_tenant_test.py -- the web UI's live view opens the tail WebSocket from a
# browser, which cannot set X-Scope-OrgID: the tail takes its tenant from the `tenant`
# query parameter instead (only when the header is absent; the header wins), and the
# tenant checks apply to it as to the header.
import base64
import os
import socket
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import Server, TempDir, check, now_ns, push_json  # noqa: E402
from tail_api_test import WS  # noqa: E402


def tail(port, query, start, tenant_param=None, header=None):
    """A WS (tail_api_test's client) opened with ?tenant= and/or the header."""
    params = {"query": query, "start": str(start)}
    if tenant_param is not None:
        params["tenant"] = tenant_param
    w = WS.__new__(WS)
    w.s = socket.create_connection(("127.0.0.1", port), timeout=30)
    key = base64.b64encode(os.urandom(16)).decode()
    hdr = "X-Scope-OrgID: %s\r\n" % header if header else ""
    w.s.sendall(("GET /loki/api/v1/tail?%s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s\r\n"
                 % (urllib.parse.urlencode(params), key, hdr)).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = w.s.recv(4096)
        check(d, "closed during the handshake: %r" % buf)
        buf += d
    head, w.buf = buf.split(b"\r\n\r\n", 1)
    w.head = head.decode()
    w.status = int(w.head.split()[1])
    return w


def lines_until(w, want):
    """Lines of the messages read until `want` arrives."""
    seen = []
    while want not in seen:
        for s in w.message().get("streams", []):
            seen += [v[1] for v in s["values"]]
    return seen


def main():
    with TempDir() as d:
        srv = Server(os.path.join(d, "data")).start()
        t0 = now_ns()
        for tenant, line in (("team-a", "a1"), (None, "f1")):
            st, body = push_json(srv.url, [({"job": "t"}, [(t0 + 1, line)])], tenant=tenant)
            check(st == 204, "push %s: %d %s" % (tenant, st, body))

        # the parameter names the tenant: its history, and what is pushed to it next
        w = tail(srv.port, '{job="t"}', t0, tenant_param="team-a")
        check(w.status == 101, "tail with ?tenant: %s" % w.head)
        seen = lines_until(w, "a1")
        check("f1" not in seen, "another tenant's line: %r" % seen)
        st, _ = push_json(srv.url, [({"job": "t"}, [(now_ns(), "f2")])])
        st, _ = push_json(srv.url, [({"job": "t"}, [(now_ns(), "a2")])], tenant="team-a")
        check(st == 204, "push a2")
        seen = lines_until(w, "a2")
        check("f2" not in seen, "another tenant's live line: %r" % seen)
        w.close()

        # the header wins over the parameter
        w = tail(srv.port, '{job="t"}', t0, tenant_param="team-a", header="fake")
        check(w.status == 101, "tail with both: %s" % w.head)
        seen = lines_until(w, "f1")
        check("a1" not in seen, "the parameter overrode the header: %r" % seen)
        w.close()

        # the tenant checks apply to the parameter
        w = tail(srv.port, '{job="t"}', t0, tenant_param="a|b")
        check(w.status == 400 and "invalid tenant ID" in w.buf.decode(errors="replace") + w.head,
              "a bad tenant parameter: %s %r" % (w.head, w.buf))
        w.close()
        check(srv.stop() == 0, "server exit")
        print("ok: the tail takes its tenant from ?tenant= when no header names one")


if __name__ == "__main__":
    main()
