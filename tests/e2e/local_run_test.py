# local_run_test.py -- what `make run` starts (deploy/local-run.sh): with a cluster
# configured ($KUBECONFIG, here the fake API server), `cairn serve` and `cairn events`
# pushing into it, so the cluster's Events can be queried by namespace and reason;
# without one, the store alone, with a hint. SIGTERM stops everything.
import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "k8sfake"))
from harness import FakeAPI, kubeconfig, tmpdir, wait_until  # noqa: E402
from push_util import free_port  # noqa: E402

SRC = os.environ["CAIRN_SRC"]
BUILD = os.environ["CAIRN_BUILD"]


def start(env, data):
    listen = "127.0.0.1:%d" % free_port()
    out = open(os.path.join(data + ".out"), "w+")
    p = subprocess.Popen(["sh", os.path.join(SRC, "deploy", "local-run.sh"), BUILD, listen, data],
                         stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    return p, "http://" + listen, out


def query(base, q):
    now = time.time_ns()
    url = base + "/loki/api/v1/query_range?" + urllib.parse.urlencode(
        {"query": q, "start": now - 3600 * 10**9, "end": now + 10**9, "limit": 1000})
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.loads(r.read())["data"]["result"]
    except OSError:
        return None


def stop(p):
    p.send_signal(signal.SIGTERM)
    rc = p.wait(timeout=30)
    assert rc in (0, -signal.SIGTERM, 128 + signal.SIGTERM), "exit status %d" % rc


def main():
    d = tmpdir("cairn-local-run-")
    # 1. a cluster is configured: its Events reach the local store
    api = FakeAPI()
    kc = kubeconfig(os.path.join(d, "kc"), api.url)
    api.add(3, namespace="payments", reason="BackOff")
    api.add(2, namespace="web", reason="Scheduled")
    env = dict(os.environ, KUBECONFIG=kc, HOME=d)
    p, base, out = start(env, os.path.join(d, "data1"))
    try:
        res = wait_until(lambda: (query(base, '{namespace="payments", reason="BackOff"}') or None),
                         "the cluster's events in the store", 60)
        assert sum(len(s["values"]) for s in res) == 3, res
        wait_until(lambda: query(base, '{namespace="web"}'), "the other namespace", 30)
    finally:
        stop(p)
        api.stop()
    out.seek(0)
    text = out.read()
    assert "cairn events: this cluster's Events go into the store" in text, text[-2000:]
    assert os.path.exists(os.path.join(d, "data1", "events.state")), "no router state file"

    # 2. no cluster: only the store, and a hint how to start the router
    env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")}
    env["HOME"] = os.path.join(d, "nohome")
    p, base, out = start(env, os.path.join(d, "data2"))
    try:
        wait_until(lambda: query(base, '{job="x"}') is not None, "the store", 30)
    finally:
        stop(p)
    out.seek(0)
    text = out.read()
    assert "no Kubernetes cluster configured" in text and "--output push" in text, text[-2000:]
    print("ok: make run with a cluster (events stored, queryable by namespace and reason) and without")


if __name__ == "__main__":
    main()
