#!/usr/bin/env python3
# ship_relay_test.py -- `cairn ship` as a push relay (Promtail's loki_push_api): a real
# `cairn serve` <- `cairn ship` (two relays on ephemeral ports) <- pushes from here,
# JSON (plain and gzip'd) and protobuf+snappy (pushpb_tool, as Promtail sends them) and
# raw lines. Read back through the store's query API: the lines after the stages (json
# + labels, a drop stage), with the pushed labels, the relay's labels and the pushed
# tenant; relabel_configs dropping a stream; use_incoming_timestamp true and false; a
# malformed body answered 400 and an oversized one 413 while the relay keeps working;
# /ready; clean exit.
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import (BIN, Server, TempDir, check, push_json, push_pb,  # noqa: E402
                       request)

_agents = []


def query(srv, q, start_ns, tenant=None):
    qs = urllib.parse.urlencode({"query": q, "start": start_ns, "end": time.time_ns() + 10**9,
                                 "limit": 1000, "direction": "forward"})
    hdr = {"X-Scope-OrgID": tenant} if tenant else {}
    st, body = request(srv.url + "/loki/api/v1/query_range?" + qs, headers=hdr)
    check(st == 200, "query %s: %d %s" % (q, st, body))
    data = json.loads(body)["data"]["result"]
    return sorted(((s["stream"], int(v[0]), v[1]) for s in data for v in s["values"]),
                  key=lambda x: (x[1], x[2]))


def wait_for(fn, n, what, timeout=60.0):
    """Poll fn() until it returns at least n items; returns them."""
    deadline = time.monotonic() + timeout
    got = []
    while time.monotonic() < deadline:
        got = fn()
        if len(got) >= n:
            return got
        time.sleep(0.1)
    check(False, "timed out waiting for %s: have %r" % (what, got))


class Agent:
    """`cairn ship` whose stderr is drained; the relays' ports from its log."""

    def __init__(self, cfg, jobs):
        self.proc = subprocess.Popen([BIN, "ship", "--config", cfg], stderr=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, text=True)
        _agents.append(self)
        self.log = []
        self.ports = {}
        self.http = None
        seen = threading.Event()

        def drain():
            for line in self.proc.stderr:
                self.log.append(line)
                if "relay listening for pushes" in line:
                    kv = dict(p.split("=", 1) for p in line.split() if "=" in p)
                    self.ports[kv["job"]] = int(kv["port"])
                if "serving /ready" in line:
                    self.http = int(line.split("port=")[1].split()[0])
                if len(self.ports) == len(jobs) and self.http:
                    seen.set()
            seen.set()

        self.drainer = threading.Thread(target=drain, daemon=True)
        self.drainer.start()
        seen.wait(60)
        check(len(self.ports) == len(jobs) and self.http,
              "relays did not start:\n" + "".join(self.log))

    def url(self, job):
        return "http://127.0.0.1:%d" % self.ports[job]


def main():
    start = time.time_ns() - 3 * 3600 * 10**9
    with TempDir() as d:
        srv = Server(os.path.join(d, "data")).start()
        cfg = os.path.join(d, "ship.yaml")
        with open(cfg, "w") as f:
            f.write(f"""server:
  http_listen_address: 127.0.0.1
  http_listen_port: 0
positions:
  filename: {d}/positions.yaml
clients:
  - url: {srv.url}/loki/api/v1/push
    batchwait: 50ms
scrape_configs:
  - job_name: relay
    loki_push_api:
      server:
        http_listen_address: 127.0.0.1
        http_listen_port: 0
        grpc_listen_port: 0
      labels:
        via: relay
      use_incoming_timestamp: true
    relabel_configs:
      - source_labels: [app]
        regex: dropme
        action: drop
      - source_labels: [app]
        target_label: application
    pipeline_stages:
      - json:
          expressions:
            level: level
      - labels:
          level:
      - drop:
          source: level
          value: debug
  - job_name: relay-now
    loki_push_api:
      server:
        http_listen_address: 127.0.0.1
        http_listen_port: 0
      labels:
        via: now
      max_message_size: 64KiB
""")
        agent = Agent(cfg, ["relay", "relay-now"])
        relay = agent.url("relay")
        st, body = request(relay + "/ready")
        check(st == 200 and "ready" in body, "/ready: %d %s" % (st, body))

        # 1. JSON: the stages run (json + labels; level=debug dropped), the relay's and
        #    the relabelled labels are added, the pushed timestamps and tenant kept
        t0 = time.time_ns() - 3600 * 10**9  # an hour old: clearly not the receipt time
        lines = [json.dumps({"level": lv, "msg": "m%d" % i})
                 for i, lv in enumerate(["info", "debug", "error", "debug", "info"])]
        st, body = push_json(relay, [({"app": "web", "env": "prod"},
                                      [(t0 + i, l) for i, l in enumerate(lines)]),
                                     ({"app": "dropme"}, [(t0, "relabelled away")])],
                             tenant="team-a")
        check(st == 204, "JSON push: %d %s" % (st, body))
        got = wait_for(lambda: query(srv, '{via="relay", app="web"}', start, "team-a"), 3,
                       "the JSON push in the store")
        want = [(i, l) for i, l in enumerate(lines) if '"debug"' not in l]
        check([(ts - t0, line) for _, ts, line in got] == want, "lines after stages: %r" % got)
        for labels, _, line in got:
            lv = json.loads(line)["level"]
            check(labels == {"app": "web", "env": "prod", "via": "relay", "application": "web",
                             "level": lv}, "labels: %r" % labels)
        check(query(srv, '{via="relay"}', start) == [], "tenant team-a's lines under fake")
        check(query(srv, '{app="dropme"}', start, "team-a") == [], "relabel drop")

        # 2. gzip'd JSON, a pushed label the relay's labels replace
        st, body = push_json(relay, [({"app": "gz", "via": "client"}, [(t0, "gz line")])],
                             tenant="team-a", gzip_it=True)
        check(st == 204, "gzip'd JSON push: %d %s" % (st, body))
        got = wait_for(lambda: query(srv, '{app="gz"}', start, "team-a"), 1, "the gzip'd push")
        check(got == [({"app": "gz", "via": "relay", "application": "gz"}, t0, "gz line")],
              "gzip'd push: %r" % got)

        # 3. protobuf+snappy, as Promtail pushes, for another tenant
        st, body = push_pb(relay, "team-b", '{job="pb", app="x"}', 50, t0, "pb-")
        check(st == 204, "protobuf push: %d %s" % (st, body))
        got = wait_for(lambda: query(srv, '{job="pb"}', start, "team-b"), 50, "the protobuf push")
        check([(ts - t0, line) for _, ts, line in got] == [(i, "pb-%d" % i) for i in range(50)],
              "protobuf lines: %r" % got[:3])
        check(got[0][0] == {"job": "pb", "app": "x", "application": "x", "via": "relay"},
              "protobuf labels: %r" % got[0][0])

        # 4. malformed bodies: 400 with the decoder's message, the relay keeps going
        st, body = request(relay + "/loki/api/v1/push", b'{"streams": [', 
                           {"Content-Type": "application/json"}, "POST")
        check(st == 400 and "error parsing push request JSON" in body, "bad JSON: %d %s" % (st, body))
        st, body = request(relay + "/loki/api/v1/push", b"\x06\x14\x0a\x04\x12\x10ab",
                           {"Content-Type": "application/x-protobuf"}, "POST")
        check(st == 400 and "error parsing push request protobuf" in body,
              "bad protobuf: %d %s" % (st, body))
        st, body = push_json(relay, [({"app": "ok2"}, [(t0, "good stream")]),
                                     ({"app": "x", "app ": "y"}, [(t0, "bad labels")])])
        check(st == 400, "a bad label name: %d %s" % (st, body))
        st, body = push_json(relay, [({"app": "x"}, [(t0, "x")])], tenant="a/b")
        check(st == 400 and "X-Scope-OrgID" in body, "bad tenant: %d %s" % (st, body))
        st, body = request(relay + "/ready")
        check(st == 200, "/ready after bad pushes: %d" % st)
        got = wait_for(lambda: query(srv, '{app="ok2"}', start), 1, "the good stream of a bad push")
        check(got[0][2] == "good stream", "good stream: %r" % got)

        # 5. use_incoming_timestamp false: the time of receipt, not the pushed one
        before = time.time_ns()
        st, body = push_json(agent.url("relay-now"), [({"app": "now"}, [(t0, "stamped")])])
        check(st == 204, "push to relay-now: %d %s" % (st, body))
        got = wait_for(lambda: query(srv, '{via="now"}', start), 1, "relay-now's line")
        check(len(got) == 1 and got[0][1] >= before and got[0][0] == {"app": "now", "via": "now"},
              "receipt time: %r (pushed %d, sent after %d)" % (got, t0, before))

        # 6. structured metadata pushed to the relay goes on with its entry (the agent's
        #    client sends EntryAdapter.structuredMetadata): metadata, not a stream label
        doc = {"streams": [{"stream": {"app": "smr"},
                            "values": [[str(t0), "with metadata", {"trace_id": "0af7651916cd43dd"}],
                                       [str(t0 + 1), "without"]]}]}
        st, body = push_json(agent.url("relay-now"), None, raw=json.dumps(doc).encode())
        check(st == 204, "push with metadata to the relay: %d %s" % (st, body))
        got = wait_for(lambda: query(srv, '{app="smr"}', start), 2, "the metadata push")
        check(sorted((json.dumps(lab, sort_keys=True), line) for lab, _, line in got) ==
              [(json.dumps({"app": "smr", "trace_id": "0af7651916cd43dd", "via": "now"},
                           sort_keys=True), "with metadata"),
               (json.dumps({"app": "smr", "via": "now"}, sort_keys=True), "without")],
              "metadata through the relay: %r" % got)
        st, body = request(srv.url + "/loki/api/v1/series?" + urllib.parse.urlencode(
            {"match[]": '{app="smr"}', "start": start}))
        check(st == 200 and json.loads(body)["data"] == [{"app": "smr", "via": "now"}],
              "one stream, trace_id not a stream label: %d %s" % (st, body))

        # a body past max_message_size: 413, and the relay goes on
        st, body = push_json(agent.url("relay-now"), [({"app": "big"}, [(t0, "x" * 70000)])])
        check(st == 413 and "too large" in body, "body past max_message_size: %d %s" % (st, body))
        st, body = request(agent.url("relay-now") + "/ready")
        check(st == 200, "/ready after 413: %d" % st)

        # 6. raw lines: the relay's labels, the pushed tenant, empty lines skipped
        st, body = request(relay + "/promtail/api/v1/raw", b"raw one\r\n\nraw two\nraw three",
                           {"X-Scope-OrgID": "team-c"}, "POST")
        check(st == 204, "raw push: %d %s" % (st, body))
        got = wait_for(lambda: query(srv, '{via="relay"}', start, "team-c"), 3, "the raw lines")
        check(sorted(line for _, _, line in got) == ["raw one", "raw three", "raw two"] and
              all(lab == {"via": "relay"} for lab, _, _ in got), "raw lines: %r" % got)

        # 7. the relay's counters, and a clean stop
        st, metrics = request("http://127.0.0.1:%d/metrics" % agent.http)
        check(st == 200, "/metrics: %d" % st)
        check('cairn_ship_relay_dropped_streams_total{job="relay"} 1' in metrics, metrics)
        check('logentry_dropped_lines_total{job="relay",reason="drop_stage"} 2' in metrics,
              metrics)
        check('cairn_ship_relay_requests_total{job="relay",status="400"} 4' in metrics, metrics)
        check(any("grpc_listen_port" in l for l in agent.log) is False,
              "grpc_listen_port 0 should not warn")
        agent.proc.send_signal(signal.SIGTERM)
        check(agent.proc.wait(timeout=30) == 0, "agent exit status:\n" + "".join(agent.log))
        srv.stop()
    print("ok")


if __name__ == "__main__":
    try:
        main()
    except BaseException:
        import push_util
        for srv in push_util._live:
            sys.stderr.write("".join(srv.log[-60:]))
        for a in _agents:
            sys.stderr.write("".join(a.log[-60:]))
        raise
    finally:
        for a in _agents:
            if a.proc.poll() is None:
                a.proc.kill()
                a.proc.wait()
