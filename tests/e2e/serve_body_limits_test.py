# serve_body_limits_test.py -- a request body is never read beyond its limit (issue 10):
#   - a push announcing more than the push limit (100 MiB) in Content-Length gets 413
#     at once, before any of the body is sent;
#   - a chunked push that goes past the limit is cut there: 413 and the connection
#     closes, the rest is never read (the server used to read and drop all of it);
#   - a query form body is limited to 1 MiB (it used to get the push limit), by
#     Content-Length and chunked alike;
#   - a body within its limit still works (query by form, push).
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import Server, TempDir, check, now_ns, push_json, request  # noqa: E402

WAIT = 20
PUSH_LIMIT = 100 * 1024 * 1024
FORM_LIMIT = 1024 * 1024


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    return s


def read_reply(s):
    """The status of the reply on s, or None when the server closed (or reset) it
    without one."""
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            b = s.recv(4096)
            if not b:
                break
            data += b
    except ConnectionResetError:
        pass
    return int(data[9:12]) if data.startswith(b"HTTP/1.1 ") else None


def announced_too_big(port, path, n):
    s = connect(port)
    s.sendall(("POST %s HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
               "Content-Length: %d\r\n\r\n" % (path, n)).encode())
    st = read_reply(s)  # nothing of the body was sent: a reply now means unread
    s.close()
    check(st == 413, "%s with Content-Length %d: %r, want 413 before the body" % (path, n, st))


def chunked_too_big(port, path, limit, ctype):
    """Send a chunked body of up to limit + 64 MiB (far more than socket buffers hold);
    the server must stop it near the limit."""
    total = limit + 64 * 1024 * 1024
    s = connect(port)
    s.sendall(("POST %s HTTP/1.1\r\nHost: t\r\nContent-Type: %s\r\n"
               "Transfer-Encoding: chunked\r\n\r\n" % (path, ctype)).encode())
    chunk = b"%x\r\n" % 65536 + b"a" * 65536 + b"\r\n"
    sent = 0
    try:
        while sent < total:
            s.sendall(chunk)
            sent += 65536
        s.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    st = read_reply(s)
    s.close()
    print("%s: chunked body cut after %.1f MiB sent (limit %.1f MiB), reply %r"
          % (path, sent / 2**20, limit / 2**20, st))
    check(sent < total, "%s: the server read a %d-byte chunked body past its %d-byte "
          "limit to its end" % (path, sent, limit))
    check(st in (413, None), "%s: reply %r to an oversized chunked body" % (path, st))


def main():
    with TempDir() as d:
        srv = Server(os.path.join(d, "data")).start()
        port = srv.port
        announced_too_big(port, "/loki/api/v1/push", PUSH_LIMIT + 1)
        announced_too_big(port, "/loki/api/v1/query_range", FORM_LIMIT + 1)
        chunked_too_big(port, "/loki/api/v1/push", PUSH_LIMIT, "application/json")
        chunked_too_big(port, "/loki/api/v1/query", FORM_LIMIT,
                        "application/x-www-form-urlencoded")

        # within the limits, all is as before
        ts = now_ns()
        st, body = push_json(srv.url, [({"job": "b"}, [(ts, "within")])])
        check(st == 204, "push: %d %s" % (st, body))
        form = ("query=%%7Bjob%%3D%%22b%%22%%7D&start=%d&end=%d&pad=" % (ts - 10**9, ts + 10**9))
        form += "x" * (FORM_LIMIT - len(form) - 1)
        st, body = request(srv.url + "/loki/api/v1/query_range", form.encode(),
                           {"Content-Type": "application/x-www-form-urlencoded"}, "POST")
        check(st == 200 and "within" in body, "query by a 1 MiB form: %d %s" % (st, body[:300]))
        check(srv.stop() == 0, "server exit status")
    print("ok")


if __name__ == "__main__":
    main()
