# canary_test.py -- `cairn canary` against a real `cairn serve`:
#
# 1. healthy: a canary pushing every 50 ms reads its lines back over the tail; once
#    80 lines came back, nothing is missing, out of order, duplicated or unexpected,
#    spot checks found what they looked for and the metric test counted lines.
# 2. lossy, at the same time: a second canary writes to stdout, through a filter that
#    drops 10 lines out of every 40, into `cairn ship --stdin` and on to the store:
#    the dropped lines are counted missing on the tail, then missing for good after
#    -max-wait, and the spot checks miss some of them.
# 3. the tail alone goes away (a proxy in front of the store cuts it and refuses new
#    ones for a moment, pushes go on): the canary reconnects and asks for the gap, so
#    the lines stored meanwhile come back on the tail, none counted missing on it.
# 4. the store restarts (same port, same data): the tail reconnects, nothing is missing.
import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import BIN, Server, TempDir, check, fail, request  # noqa: E402

DEADLINE = 40  # seconds any one wait may take on a loaded machine before failing

COMMON = ["-interval", "50ms", "-wait", "2s", "-max-wait", "3s", "-pruneinterval", "500ms",
          "-spot-check-query-rate", "1s", "-spot-check-initial-wait", "2s",
          "-spot-check-max", "5s", "-metric-test-interval", "1s", "-metric-test-range", "10s",
          "-port", "0", "-listen-address", "127.0.0.1"]

_procs = []


def cleanup():
    for p in _procs:
        if p.poll() is None:
            p.kill()
            p.wait()


class Canary:
    def __init__(self, args, stdout=None):
        self.proc = subprocess.Popen([BIN, "canary"] + args, stdout=stdout,
                                     stderr=subprocess.PIPE, text=True)
        _procs.append(self.proc)
        self.log = []
        self.port = None
        ready = threading.Event()

        def drain():
            for line in self.proc.stderr:
                self.log.append(line)
                m = re.search(r'msg="started".* port=(\d+)', line)
                if m:
                    self.port = int(m.group(1))
                    ready.set()
            ready.set()

        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(DEADLINE) or not self.port:
            fail("canary did not start; log:\n" + "".join(self.log))

    def metrics(self):
        st, body = request("http://127.0.0.1:%d/metrics" % self.port)
        check(st == 200, "canary /metrics: %d %s" % (st, body))
        out = {}
        for line in body.splitlines():
            if line.startswith("#") or " " not in line:
                continue
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
        return out

    def wait_for(self, what, cond):
        """Poll /metrics until cond(metrics) holds (the canary's own counters are the
        events); fail after DEADLINE with the last metrics and the log."""
        end = time.monotonic() + DEADLINE
        while True:
            m = self.metrics()
            if cond(m):
                return m
            if time.monotonic() > end:
                fail("canary: %s never happened; metrics: %s\nlog:\n%s"
                     % (what, {k: v for k, v in m.items() if not k.endswith("_bucket")},
                        "".join(self.log[-40:])))
            time.sleep(0.2)

    def stop(self):
        self.proc.terminate()
        rc = self.proc.wait(30)
        check(rc == 0, "canary exited %d; log:\n%s" % (rc, "".join(self.log[-20:])))


class Proxy:
    """TCP proxy to the store that can cut the tail WebSockets and refuse new ones
    while pushes and queries pass; with tls_ctx it terminates TLS first."""

    def __init__(self, upstream_port, tls_ctx=None):
        self.up = upstream_port
        self.tls_ctx = tls_ctx
        self.block_tail = False
        self.tails = []
        self.lock = threading.Lock()
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    @staticmethod
    def pump(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass
        for x in (a, b):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def serve(self, c):
        try:
            if self.tls_ctx:
                c = self.tls_ctx.wrap_socket(c, server_side=True)
            first = c.recv(65536)
        except OSError:  # ssl.SSLError included
            c.close()
            return
        is_tail = first.startswith(b"GET /loki/api/v1/tail")
        if not first or (is_tail and self.block_tail):
            c.close()
            return
        try:
            u = socket.create_connection(("127.0.0.1", self.up))
            u.sendall(first)
        except OSError:  # the store is down (restarting)
            c.close()
            return
        if is_tail:
            with self.lock:
                self.tails.append((c, u))
        threading.Thread(target=self.pump, args=(u, c), daemon=True).start()
        self.pump(c, u)

    def cut_tails(self):
        with self.lock:
            for c, u in self.tails:
                for x in (c, u):
                    try:
                        x.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
            self.tails = []


def received(m):
    return m["loki_canary_response_latency_seconds_count"]


def dropper(src, dst):
    """Copy canary lines from src to dst, dropping lines 20..29 of every 40."""
    i = 0
    for line in src:
        if i % 40 < 20 or i % 40 >= 30:
            dst.write(line)
            dst.flush()
        i += 1
    dst.close()


def main():
    with TempDir() as tmp:
        srv = Server(os.path.join(tmp, "data")).start()
        port = srv.port
        addr = "127.0.0.1:%d" % port

        proxy = Proxy(port)
        healthy = Canary(["-addr", "127.0.0.1:%d" % proxy.port, "-push", "-labelvalue",
                          "healthy", "-spot-check-interval", "500ms"] + COMMON +
                         # roomy on a loaded machine; lines queued in the pusher while
                         # the store restarts are retried every 0.5 s
                         ["-wait", "5s", "-max-wait", "10s", "-write-max-backoff", "500ms"])

        lossy = Canary(["-addr", addr, "-labelvalue", "lossy",
                        "-spot-check-interval", "200ms"] + COMMON, stdout=subprocess.PIPE)
        ship = subprocess.Popen([BIN, "ship", "--stdin", "--client.url",
                                 srv.url + "/loki/api/v1/push", "--label", "name=lossy",
                                 "--label", "stream=stdout",
                                 "-positions.file=" + os.path.join(tmp, "positions.yaml")],
                                stdin=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        _procs.append(ship)
        threading.Thread(target=dropper, args=(lossy.proc.stdout, ship.stdin),
                         daemon=True).start()

        # 1. healthy: 80 lines back through the tail, the checks ran
        m = healthy.wait_for("80 lines back, a spot check and a metric test",
                             lambda m: received(m) >= 80 and
                             m["loki_canary_spot_check_entries_total"] > 0 and
                             m["loki_canary_metric_test_actual"] > 0)
        check(m["loki_canary_entries_total"] >= received(m), "more received than sent: %s" % m)
        for k in ("missing_entries_total", "out_of_order_entries_total",
                  "duplicate_entries_total", "unexpected_entries_total",
                  "spot_check_missing_entries_total"):
            check(m["loki_canary_" + k] == 0, "healthy canary: %s = %s" % (k, m["loki_canary_" + k]))
        print("healthy: sent %d received %d spot checks %d metric test %d/%.1f" % (
            m["loki_canary_entries_total"], received(m), m["loki_canary_spot_check_entries_total"],
            m["loki_canary_metric_test_actual"], m["loki_canary_metric_test_expected"]))

        # 2. lossy: dropped lines missing on the tail, then missing for good, spot misses
        m = lossy.wait_for("20 lines missing after max-wait and a spot-check miss",
                           lambda m: m["loki_canary_missing_entries_total"] >= 20 and
                           m["loki_canary_spot_check_missing_entries_total"] > 0)
        check(m["loki_canary_websocket_missing_entries_total"] >=
              m["loki_canary_missing_entries_total"], "websocket missing < missing: %s" % m)
        check(m["loki_canary_duplicate_entries_total"] == 0, "lossy: duplicates %s" % m)
        # the missing ones are the dropped ones: at most a quarter of what was written
        check(m["loki_canary_missing_entries_total"] <= m["loki_canary_entries_total"] / 4 + 10,
              "lossy: more missing than dropped: %s" % m)
        print("lossy: sent %d received %d websocket-missing %d missing %d spot-missing %d" % (
            m["loki_canary_entries_total"], received(m),
            m["loki_canary_websocket_missing_entries_total"],
            m["loki_canary_missing_entries_total"],
            m["loki_canary_spot_check_missing_entries_total"]))
        lossy.stop()
        ship.wait(30)

        # 3. the tail alone is cut for a moment shorter than -wait; pushes go on
        ws0 = healthy.metrics()["loki_canary_websocket_missing_entries_total"]
        proxy.block_tail = True
        proxy.cut_tails()
        healthy.wait_for("the tail cut", lambda m: any(
            "reconnecting" in l or "failed to connect" in l for l in healthy.log))
        time.sleep(0.8)  # the outage: lines are stored, the tail cannot come back
        mark = healthy.metrics()["loki_canary_entries_total"]
        proxy.block_tail = False
        # 7 s of lines later every line of the gap is older than -wait (5 s): had the
        # tail not asked for them, they would be counted missing on it by now
        m = healthy.wait_for("140 more lines back after the tail's outage",
                             lambda m: received(m) >= mark + 140 and
                             m["loki_canary_ws_reconnects_total"] >= 1)
        check(m["loki_canary_websocket_missing_entries_total"] == ws0,
              "lines of the tail's gap were not fetched on reconnection: %s" % m)
        for k in ("missing_entries_total", "duplicate_entries_total",
                  "unexpected_entries_total"):
            check(m["loki_canary_" + k] == 0, "after the tail's gap: %s = %s" % (k, m["loki_canary_" + k]))
        print("tail gap: sent %d received %d reconnects %d websocket-missing %d" % (
            m["loki_canary_entries_total"], received(m), m["loki_canary_ws_reconnects_total"],
            m["loki_canary_websocket_missing_entries_total"]))

        # 4. the store restarts; the tail comes back and fetches the gap
        check(srv.stop() == 0, "serve did not stop cleanly")
        time.sleep(0.5)  # the store is down a moment: lines queue in the canary's pusher
        srv = Server(os.path.join(tmp, "data"), "--listen", addr).start()
        check(srv.port == port, "serve restarted on port %s, not %d" % (srv.port, port))
        mark = healthy.metrics()["loki_canary_entries_total"]
        m = healthy.wait_for("every line written across the restart back on the tail",
                             lambda m: received(m) >= mark + 20 and
                             m["loki_canary_ws_reconnects_total"] >= 2)
        for k in ("missing_entries_total", "duplicate_entries_total",
                  "unexpected_entries_total"):
            check(m["loki_canary_" + k] == 0, "after restart: %s = %s" % (k, m["loki_canary_" + k]))
        print("restart: sent %d received %d reconnects %d websocket-missing %d missing %d" % (
            m["loki_canary_entries_total"], received(m), m["loki_canary_ws_reconnects_total"],
            m["loki_canary_websocket_missing_entries_total"],
            m["loki_canary_missing_entries_total"]))
        healthy.stop()
        srv.stop()
    print("PASS")


if __name__ == "__main__":
    try:
        main()
    finally:
        cleanup()
