#!/usr/bin/env python3
# ship_serve_test.py -- `cairn ship` into a local `cairn serve`, read back through the
# query API: the blog case (eventrouter lines labelled with their namespace, so that
# {namespace="grafana-com"} finds that namespace's events), a tailed file, and the
# client's metrics on /metrics.
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import BIN, Server, TempDir, check, request, wait_for, run_main  # noqa: E402
from push_util import query_lines as query  # noqa: E402

EVENTS = [
    {"verb": "ADDED", "event": {"metadata": {"name": "grafana-7d9.17a", "namespace": "grafana-com"},
                                "reason": "Scheduled", "message": "Successfully assigned"}},
    {"verb": "UPDATED", "event": {"metadata": {"name": "coredns.1", "namespace": "kube-system"},
                                  "reason": "Pulled"}},
    {"verb": "ADDED", "event": {"metadata": {"name": "grafana-7d9.17b", "namespace": "grafana-com"},
                                "reason": "Started"}},
]


_agents = []  # agents to kill if the test fails early


def main():
    start = time.time_ns() - 10**9
    with TempDir() as d:
        srv = Server(os.path.join(d, "data")).start()
        logdir = os.path.join(d, "logs")
        os.mkdir(logdir)
        cfg = os.path.join(d, "promtail.yaml")
        with open(cfg, "w") as f:
            f.write(f"""server:
  http_listen_port: 0
positions:
  filename: {d}/positions.yaml
clients:
  - url: {srv.url}/loki/api/v1/push
    batchwait: 100ms
scrape_configs:
  - job_name: eventrouter
    pipeline_stages:
    - match:
        selector: '{{name="eventrouter"}}'
        stages:
        - json:
            expressions:
              namespace: event.metadata.namespace
        - labels:
            namespace: ""
    static_configs:
    - targets: [localhost]
      labels:
        name: eventrouter
        __path__: {logdir}/*.log
""")
        # 1. stdin: the blog case, pushed and read back by namespace
        lines = "".join(json.dumps(e) + "\n" for e in EVENTS)
        r = subprocess.run([BIN, "ship", "--config", cfg, "--stdin", "--label", "name=eventrouter",
                            "-server.disable"], input=lines, text=True, capture_output=True,
                           timeout=60)
        check(r.returncode == 0, "ship --stdin failed: " + r.stderr)
        got = query(srv, '{namespace="grafana-com"}', start)
        check(len(got) == 2, "grafana-com events: %r" % got)
        # the scrape config's static labels, as Promtail's stdin target (no __path__)
        check(all(s == {"name": "eventrouter", "namespace": "grafana-com"} for s, _ in got),
              "labels: %r" % got)
        check({json.loads(l)["event"]["metadata"]["name"] for _, l in got} ==
              {"grafana-7d9.17a", "grafana-7d9.17b"}, "lines: %r" % got)
        got = query(srv, '{namespace="kube-system"}', start)
        check(len(got) == 1 and "coredns.1" in got[0][1], "kube-system events: %r" % got)

        # 2. a tailed file, with the agent running; /metrics counts what was sent
        with open(os.path.join(logdir, "events.log"), "w") as f:
            f.write(lines)
        ship = subprocess.Popen([BIN, "ship", "--config", cfg], stderr=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, text=True)
        _agents.append(ship)
        hport = None
        for line in ship.stderr:
            if "serving /ready" in line:
                hport = int(line.split("port=")[1].split()[0])
                break
        check(hport is not None, "agent did not start its HTTP server")

        def tailed():
            return len(query(srv, '{namespace="grafana-com", filename=~".+events.log"}', start)) == 2

        wait_for(tailed, "tailed lines in cairn serve")
        st, ready = request("http://127.0.0.1:%d/ready" % hport)
        check(st == 200, "/ready: %d" % st)
        st, metrics = request("http://127.0.0.1:%d/metrics" % hport)
        check(st == 200 and "promtail_sent_entries_total" in metrics, metrics[:500])
        sent = [l for l in metrics.splitlines() if l.startswith("promtail_sent_entries_total")]
        check(sent and float(sent[0].split()[-1]) == 3, "sent: %r" % sent)
        ship.send_signal(signal.SIGTERM)
        check(ship.wait(timeout=30) == 0, "agent exit status")
        check(os.path.exists(os.path.join(d, "positions.yaml")), "positions file not written")
        srv.stop()
    print("ok")


if __name__ == "__main__":
    run_main(main, _agents)
