#!/usr/bin/env python3
"""ruler_bench.py -- the ruler's cost: 1,000 alerting rules (10 groups of 100) over 200
streams, evaluated every interval; server CPU per evaluation round.

    python3 bench/ruler_bench.py BUILD_DIR [ROUNDS]        (ROUNDS default 6)

Environment: BENCH_CAIRN (the binary [BUILD_DIR/cairn]); BENCH_RULER_INTERVAL (the
groups' interval in seconds [10]; the issue's "per minute" is 60: CPU per round does
not depend on it, only the wait does); BENCH_RULER_LINES (lines per stream [150]);
BENCH_RULER_ANNOTATIONS (0: rules without the annotation, to see what rendering costs [1]).

Data: 200 streams {job="bench", namespace="ns-0".."ns-19", pod="p-0".."p-9"}, lines
spread over the last 5 minutes, one in ten containing "error". Rules, per group of 100:
80 per-namespace `sum by (pod) (count_over_time({job="bench", namespace="ns-K"} |= "error"
[5m])) > T` (T from 0 to 19, so about half of them have pending alerts, each with a
templated annotation using humanize), 10 `sum by (namespace) (rate({job="bench"}[5m])) > X`
over all 200 streams, 10 `count_over_time` over one stream. `for: 1h` keeps the alerts
pending (no Alertmanager is configured).

Measured: the server's utime+stime (/proc) over ROUNDS whole rounds (the window starts
when every group has been evaluated since the last check and lasts ROUNDS intervals; it
includes the server's idle work, which is small), and the sum of the groups'
evaluationTime from /prometheus/api/v1/rules (wall time in the evaluator per round).
Prints: BENCH_RULER rules=N streams=S lines=L rounds=R cpu_s_per_round=C
        eval_wall_s_per_round=W pending_alerts=A errors=E
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 6
CAIRN = os.environ.get("BENCH_CAIRN", os.path.join(BUILD, "cairn"))
INTERVAL = int(os.environ.get("BENCH_RULER_INTERVAL", "10"))
LINES = int(os.environ.get("BENCH_RULER_LINES", "150"))
ANNOTATIONS = os.environ.get("BENCH_RULER_ANNOTATIONS", "1") != "0"
TICK = os.sysconf("SC_CLK_TCK")


def rules_yaml(g):
    out = ["groups:", "  - name: bench-%d" % g, "    interval: %ds" % INTERVAL, "    rules:"]
    for i in range(100):
        k = i % 10
        if k < 8:
            ns = (g * 100 + i) % 20
            expr = 'sum by (pod) (count_over_time({job="bench", namespace="ns-%d"} |= "error" [5m])) > %d' % (ns, i % 20)
        elif k == 8:
            expr = 'sum by (namespace) (rate({job="bench"}[5m])) > %g' % (i / 100.0)
        else:
            expr = 'count_over_time({job="bench", namespace="ns-%d", pod="p-%d"}[5m]) > 1' % (i % 20, g)
        out += ["      - alert: Bench_%d_%d" % (g, i), "        expr: %s" % json.dumps(expr), "        for: 1h"]
        if ANNOTATIONS:
            out += ["        annotations:", '          summary: "{{ $labels.pod }}: {{ humanize $value }} errors"']
    return "\n".join(out) + "\n"


def post(url, body):
    r = urllib.request.Request(url, body, {"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(r, timeout=60) as resp:
        return resp.status


def get_json(url):
    with urllib.request.urlopen(url, timeout=60) as resp:
        return json.load(resp)


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def main():
    d = tempfile.mkdtemp(prefix="cairn-ruler-bench-")
    proc = None
    try:
        rules = os.path.join(d, "rules", "fake")
        os.makedirs(rules)
        for g in range(10):
            with open(os.path.join(rules, "bench-%d.yaml" % g), "w") as f:
                f.write(rules_yaml(g))
        cfg = os.path.join(d, "serve.yaml")
        with open(cfg, "w") as f:
            f.write("ruler:\n  storage:\n    local:\n      directory: %s\n  poll_interval: 1h\n"
                    % os.path.join(d, "rules"))
        proc = subprocess.Popen([CAIRN, "serve", "--listen", "127.0.0.1:0", "--data-dir", os.path.join(d, "data"),
                                 "--config", cfg], stderr=subprocess.PIPE, text=True)
        port = [None]
        ready = threading.Event()

        def drain():
            for line in proc.stderr:
                if 'msg="ready"' in line and not ready.is_set():
                    for kv in line.split():
                        if kv.startswith("port="):
                            port[0] = int(kv[5:])
                    ready.set()
            ready.set()
        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(60) or not port[0]:
            sys.exit("cairn serve did not start")
        base = "http://127.0.0.1:%d" % port[0]
        now = time.time_ns()
        total = 0
        for ns in range(20):
            streams = []
            for pod in range(10):
                vals = [[str(now - (LINES - j) * (300 * 10**9 // LINES)),
                         "level=%s msg=\"request %d\"" % ("error" if j % 10 == 0 else "info", j)] for j in range(LINES)]
                total += len(vals)
                streams.append({"stream": {"job": "bench", "namespace": "ns-%d" % ns, "pod": "p-%d" % pod}, "values": vals})
            st = post(base + "/loki/api/v1/push", json.dumps({"streams": streams}).encode())
            if st != 204:
                sys.exit("push: %d" % st)

        def evals():
            gs = get_json(base + "/prometheus/api/v1/rules")["data"]["groups"]
            return gs

        # wait for a round in which every group has run after the push
        t_push = time.time()
        while True:
            gs = evals()
            done = [g for g in gs if g["lastEvaluation"] > time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t_push))]
            if len(gs) == 10 and len(done) == 10:
                break
            time.sleep(0.5)
        nrules = sum(len(g["rules"]) for g in gs)
        # start just after a round: the window covers ROUNDS whole rounds
        time.sleep(INTERVAL - (time.time() % INTERVAL) + INTERVAL / 2)
        c0, w0 = cpu_s(proc.pid), time.time()
        walls = []
        for _ in range(ROUNDS):
            time.sleep(INTERVAL)
            walls.append(sum(g["evaluationTime"] for g in evals()))
        c1 = cpu_s(proc.pid)
        gs = evals()
        pending = sum(len(r.get("alerts", [])) for g in gs for r in g["rules"])
        errors = sum(1 for g in gs for r in g["rules"] if r["health"] != "ok")
        print("BENCH_RULER rules=%d streams=200 lines=%d rounds=%d interval_s=%d window_s=%.1f cpu_s_per_round=%.4f "
              "eval_wall_s_per_round=%.4f pending_alerts=%d errors=%d annotations=%d"
              % (nrules, total, ROUNDS, INTERVAL, time.time() - w0, (c1 - c0) / ROUNDS,
                 sum(walls) / len(walls), pending, errors, ANNOTATIONS))
    finally:
        if proc:
            proc.terminate()
            proc.wait(60)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
