# tail_api_test.py -- Loki's live tail (/loki/api/v1/tail, a WebSocket) on a real
# `cairn serve`: the history first (oldest first, `limit` newest entries), then pushed
# entries as they come, filtered by selector, line filter and parser; Loki's errors
# for bad requests and the concurrency limit; ping/pong and close; a server stop with
# a tail open; and `cairn query --tail` as a client.
import base64
import json
import os
import socket
import struct
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import BIN, Server, TempDir, check, now_ns, push_json, request  # noqa: E402


class WS:
    """A minimal WebSocket client (masked frames, as RFC 6455 wants from clients)."""

    def __init__(self, port, query, tenant=None, **params):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
        q = urllib.parse.urlencode(dict(query=query, **params))
        key = base64.b64encode(os.urandom(16)).decode()
        hdr = "X-Scope-OrgID: %s\r\n" % tenant if tenant else ""
        self.s.sendall(("GET /loki/api/v1/tail?%s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                        "Sec-WebSocket-Version: 13\r\n%s\r\n" % (q, key, hdr)).encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = self.s.recv(4096)
            check(d, "connection closed during the handshake: %r" % buf)
            buf += d
        head, self.buf = buf.split(b"\r\n\r\n", 1)
        self.head = head.decode()
        self.status = int(self.head.split()[1])

    def frame(self):
        def need(n):
            while len(self.buf) < n:
                d = self.s.recv(65536)
                if not d:
                    raise EOFError
                self.buf += d
        need(2)
        op, ln, off = self.buf[0] & 15, self.buf[1] & 127, 2
        if ln == 126:
            need(4)
            ln, off = struct.unpack(">H", self.buf[2:4])[0], 4
        elif ln == 127:
            need(10)
            ln, off = struct.unpack(">Q", self.buf[2:10])[0], 10
        need(off + ln)
        p, self.buf = self.buf[off:off + ln], self.buf[off + ln:]
        return op, p

    def message(self):
        op, p = self.frame()
        check(op == 1, "expected a text frame, got opcode %d" % op)
        return json.loads(p)

    def send(self, op, payload=b""):
        mask = os.urandom(4)
        hdr = bytes([0x80 | op, 0x80 | len(payload)]) + mask
        self.s.sendall(hdr + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def close(self):
        self.s.close()


def open_tail(port, query, **params):
    """A tail, waiting for room: closed tails leave within the server's 200 ms look
    at their sockets."""
    deadline = time.monotonic() + 10
    while True:
        w = WS(port, query, **params)
        if w.status == 101 or time.monotonic() > deadline:
            check(w.status == 101, "tail refused: %s %r" % (w.head, w.buf))
            return w
        w.close()
        time.sleep(0.05)


def entries(msg):
    return [(s["stream"], v[0], v[1]) for s in msg["streams"] for v in s["values"]]


def main():
    with TempDir() as d:
        # (rate limits raised for the slow-client case, which pushes 48 MB quickly)
        srv = Server(os.path.join(d, "data"), "-distributor.ingestion-rate-limit-mb=1000",
                     "-distributor.ingestion-burst-size-mb=1000").start()
        t0 = now_ns()
        hist = [(t0 - 100 + i, "old %d" % i) for i in range(20)]
        status, body = push_json(srv.url, [({"job": "app", "env": "prod"}, hist)])
        check(status == 204, "push: %d %s" % (status, body))

        # 1. The handshake, then the history: the newest `limit`, oldest first.
        ws = WS(srv.port, '{job="app"}', limit=5)
        check(ws.status == 101, ws.head)
        check("sec-websocket-accept" in ws.head.lower(), ws.head)
        got = entries(ws.message())
        check([l for _, _, l in got] == ["old 15", "old 16", "old 17", "old 18", "old 19"],
              "history: %r" % got)
        check(got[0][0] == {"env": "prod", "job": "app"}, "labels %r" % got[0][0])
        check([int(ts) for _, ts, _ in got] == [t0 - 100 + i for i in range(15, 20)], "timestamps")

        # 2. Live: matching streams arrive, others do not; two pushes, two messages.
        push_json(srv.url, [({"job": "app", "env": "prod"}, [(now_ns(), "live 1")]),
                            ({"job": "other"}, [(now_ns(), "not me")])])
        got = entries(ws.message())
        check([l for _, _, l in got] == ["live 1"], "live: %r" % got)
        push_json(srv.url, [({"job": "app", "env": "dev"}, [(now_ns(), "live 2"),
                                                            (now_ns() + 1, "live 3")])])
        got = entries(ws.message())
        check([l for _, _, l in got] == ["live 2", "live 3"], "live 2: %r" % got)
        check(got[0][0]["env"] == "dev", "labels of live 2 %r" % got[0][0])

        # 3. A ping is answered with a pong carrying the same payload.
        ws.send(9, b"hello")
        op, p = ws.frame()
        check(op == 10 and p == b"hello", "pong: %d %r" % (op, p))

        # 4. A close is answered with a close, then the connection ends.
        ws.send(8, b"\x03\xe8")
        op, p = ws.frame()
        check(op == 8, "close answer: %d" % op)
        ws.close()

        # 5. Pipelines: a line filter and a parser with a label filter, per tenant.
        ws = WS(srv.port, '{job="svc"} |= "GET" | json | status >= 500', tenant="t1")
        check(ws.status == 101, ws.head)
        check(entries(ws.message()) == [], "empty history")
        lines = [json.dumps({"method": m, "status": s}) for m, s in
                 [("GET", 200), ("GET", 503), ("POST", 500), ("GET", 500)]]
        ts = now_ns()
        push_json(srv.url, [({"job": "svc"}, [(ts + i, l) for i, l in enumerate(lines)])],
                  tenant="t1")
        push_json(srv.url, [({"job": "svc"}, [(ts, lines[1])])], tenant="t2")  # another tenant
        got = entries(ws.message())
        check([l for _, _, l in got] == [lines[1], lines[3]], "filtered: %r" % got)
        check(got[0][0].get("status") == "503" and got[0][0].get("method") == "GET",
              "parsed labels: %r" % got[0][0])
        ws.close()

        # 6. delay_for: entries of one second come ordered by timestamp.
        ws = WS(srv.port, '{job="late"}', delay_for=1)
        check(ws.status == 101, ws.head)
        ws.message()
        ts = now_ns()
        push_json(srv.url, [({"job": "late"}, [(ts + 5, "second")])])
        push_json(srv.url, [({"job": "late", "x": "y"}, [(ts, "first")])])
        got = []
        while len(got) < 2:
            got += entries(ws.message())
        check([l for _, _, l in got] == ["first", "second"], "delay_for order: %r" % got)
        ws.close()

        # 7. Bad requests, as Loki answers them.
        for params, want in [({"query": 'sum(rate({job="app"}[1m]))'}, "metric"),
                             ({"query": '{job="app"', }, "parse error"),
                             ({"query": '{job="app"}', "delay_for": "6"}, "delay_for can't be greater than 5"),
                             ({"query": '{job="app"}', "limit": "x"}, "limit")]:
            w = WS(srv.port, **params)
            check(w.status == 400, "%r: %s" % (params, w.head))
            w.close()
        status, body = request(srv.url + "/loki/api/v1/tail?query=%7Bjob%3D%22app%22%7D")
        check(status == 400 and "WebSocket" in body, "plain GET: %d %s" % (status, body))

        # 8. At most 10 tails at once (Loki's max_concurrent_tail_requests); a closed one
        # makes room again.
        # (tails closed above leave within the server's 200 ms look at their sockets)
        open_, deadline = [], time.monotonic() + 10
        while len(open_) < 10 and time.monotonic() < deadline:
            w = WS(srv.port, '{job="app"}', limit=1)
            if w.status == 101:
                open_.append(w)
            else:
                w.close()
                time.sleep(0.05)
        check(len(open_) == 10, "ten tails")
        w = WS(srv.port, '{job="app"}')
        check(w.status == 400 and "max concurrent tail requests" in w.buf.decode(),
              "eleventh: %s %r" % (w.head, w.buf))
        w.close()
        open_[0].close()
        deadline = time.monotonic() + 10
        while True:
            w = WS(srv.port, '{job="app"}')
            if w.status == 101 or time.monotonic() > deadline:
                break
            w.close()
            time.sleep(0.1)
        check(w.status == 101, "room after a close: %s" % w.head)
        for x in open_[1:] + [w]:
            x.close()

        # 9. A client that does not read: past 4 MiB queued, entries are dropped and
        # reported as dropped_entries (labels and timestamp) once it reads again.
        ws = open_tail(srv.port, '{job="flood"}')
        ws.message()
        big = "x" * 1000
        for k in range(48):
            ts = now_ns()
            status, body = push_json(srv.url, [({"job": "flood"},
                                                [(ts + i, big) for i in range(1000)])])
            check(status == 204, "flood push: %d %s" % (status, body))
        seen, dropped, deadline = 0, [], time.monotonic() + 60
        while not dropped and time.monotonic() < deadline:
            m = ws.message()
            seen += len(entries(m))
            dropped = m.get("dropped_entries") or []
        check(dropped, "no dropped_entries after %d entries" % seen)
        check(dropped[0]["labels"] == {"job": "flood"} and dropped[0]["timestamp"].isdigit(),
              "dropped entry %r" % dropped[0])
        check(seen < 48000, "all %d entries arrived: nothing was held back" % seen)
        ws.close()

        # 10. cairn query --tail: the history, then live entries, printed as logcli does.
        cli = subprocess.Popen([BIN, "query", "--addr", srv.url, "--tail", "--limit", "2", "-q",
                                "-o", "raw", '{job="app", env="prod"}'],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        hist2 = [cli.stdout.readline().strip() for _ in range(2)]
        check(hist2 == ["old 19", "live 1"], "cli history: %r" % hist2)
        push_json(srv.url, [({"job": "app", "env": "prod"}, [(now_ns(), "from the cli test")])])
        line = cli.stdout.readline().strip()
        check(line == "from the cli test", "cli live line: %r" % line)

        # 11. A server stop with tails open: the clients get a close, the server exits.
        ws = open_tail(srv.port, '{job="app"}', limit=1)
        ws.message()
        t_stop = time.monotonic()
        srv.stop(timeout=30)
        check(time.monotonic() - t_stop < 10, "stop took too long with a tail open")
        op, p = ws.frame()
        check(op == 8 and p[:2] == b"\x03\xe9", "close 1001 on stop: %d %r" % (op, p))
        ws.close()
        rc = cli.wait(timeout=30)
        check(rc == 0, "cairn query --tail exit status %d: %s" % (rc, cli.stderr.read()))
        print("ok: tail history, live, filters, delay_for, limits, ping, close, stop, cli")


if __name__ == "__main__":
    main()
