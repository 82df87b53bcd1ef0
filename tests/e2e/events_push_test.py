#!/usr/bin/env python3
"""events_push_test.py -- `cairn events --output push`: every event reaches a
Loki-compatible receiver once (protobuf+snappy through the shared push client), with
the labels job, namespace, kind, reason, type, source and --label extras; a receiver
that fails at first is retried; a restart does not push anything twice."""

import json
import os
import socket
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "k8sfake"))
from harness import FakeAPI, Router, kubeconfig, tmpdir, wait_until, _procs  # noqa: E402

LOKI = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "k8sfake", "loki.py")


class Loki:
    def __init__(self, *args):
        self.p = subprocess.Popen([sys.executable, LOKI, *args], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE)
        _procs.append(self.p)
        self.port = json.loads(self.p.stdout.readline())["port"]
        self.url = "http://127.0.0.1:%d/loki/api/v1/push" % self.port

    def got(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/" % self.port, timeout=10) as r:
            return json.loads(r.read())

    def entries(self):
        return self.got()["entries"]

    def stop(self):
        self.p.stdin.close()
        self.p.wait(timeout=10)


def labels_of(s):
    """{a="b", c="d"} -> dict (values here have no quotes or commas)."""
    out = {}
    for kv in s.strip("{}").split(", "):
        k, v = kv.split("=", 1)
        out[k] = v.strip('"')
    return out


def key(e):
    ev = json.loads(e["line"])["event"]
    return ev["metadata"]["uid"], ev["metadata"]["resourceVersion"]


def test_push_labels_and_exactly_once():
    d = tmpdir("cairn-ev-push-")
    api = FakeAPI("--bookmark-interval", "0.2")
    loki = Loki("--fail-first", "1")
    kc = kubeconfig(os.path.join(d, "kc"), api.url)
    state = os.path.join(d, "st")
    tok = os.path.join(d, "push-token")
    with open(tok, "w") as f:
        f.write("store-t0ken\n")
    args = ["--kubeconfig", kc, "--state-file", state, "--output", "push", "--push-url",
            loki.url, "--job", "k8s-events", "--tenant", "team-a",
            "--label", "object=involvedObject.name", "--push-bearer-token-file", tok]
    first = api.add(3, namespace="payments", type="Warning", reason="BackOff", kind="Pod",
                    component="kubelet", object="api-1")
    r = Router(d, *args)
    wait_until(lambda: len(loki.entries()) >= 3, "3 pushed entries")
    wait_until(lambda: api.stats()["watch_active"] >= 1, "the watch")
    api.ctl("update", namespace="payments", name=first[0])
    api.add(1, namespace="web", type="Normal", reason="Pulled", kind="Pod", object="web-1")
    wait_until(lambda: len(loki.entries()) >= 5, "5 pushed entries")
    assert r.stop() == 0
    # the push client's counters are on /metrics beside the router's
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    r = Router(d, *args, "--listen", "127.0.0.1:%d" % port, name="metrics")
    url = "http://127.0.0.1:%d/metrics" % port

    def metrics():
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return resp.read().decode()
        except OSError:
            return ""
    text = wait_until(lambda: (lambda t: t if "cairn_events_ready 1" in t else None)(metrics()),
                      "/metrics of the push router")
    assert "cairn_events_sent_entries_total" in text, text
    assert r.stop() == 0 and len(loki.entries()) == 5
    # restart: nothing again; one new event
    r = Router(d, *args, name="out2")
    wait_until(lambda: api.stats()["watch_active"] >= 1, "the watch again")
    api.add(1, namespace="web", type="Normal", reason="Started", kind="Pod", object="web-1")
    wait_until(lambda: len(loki.entries()) >= 6, "6 pushed entries")
    assert r.stop() == 0
    got = loki.got()
    ents = got["entries"]
    assert len(ents) == 6, ents
    assert len({key(e) for e in ents}) == 6, "each (uid, resourceVersion) once"
    assert got["pushes"] >= 3 and got["tenants"] == ["team-a"], got  # a 503 was retried
    assert got["auth"] == ["Bearer store-t0ken"], got["auth"]
    ls = labels_of(ents[0]["labels"])
    assert ls == {"job": "k8s-events", "namespace": "payments", "kind": "Pod",
                  "reason": "BackOff", "type": "Warning", "source": "kubelet",
                  "object": "api-1"}, ls
    verbs = [json.loads(e["line"])["verb"] for e in ents]
    assert verbs.count("UPDATED") == 1 and verbs.count("ADDED") == 5
    upd = [json.loads(e["line"]) for e in ents if json.loads(e["line"])["verb"] == "UPDATED"][0]
    assert upd["event"]["count"] == 2 and upd["old_event"]["count"] == 1
    web = [labels_of(e["labels"]) for e in ents if "web" in e["labels"]]
    assert {w["reason"] for w in web} == {"Pulled", "Started"}
    assert all(w["source"] == "default-scheduler" for w in web)
    api.stop()
    loki.stop()


def test_bad_label_flag_is_named():
    d = tmpdir("cairn-ev-push-flags-")
    api = FakeAPI()
    kc = kubeconfig(os.path.join(d, "kc"), api.url)
    r = Router(d, "--kubeconfig", kc, "--output", "push", "--push-url",
               "http://127.0.0.1:9/loki/api/v1/push", "--label", "9bad=metadata.name")
    assert r.p.wait(timeout=10) != 0
    assert "--label 9bad=metadata.name" in r.log(), r.log()
    r.stop()
    api.stop()


if __name__ == "__main__":
    for name, fn in list(globals().items()):
        if name.startswith("test_"):
            fn()
            print("ok", name, flush=True)
