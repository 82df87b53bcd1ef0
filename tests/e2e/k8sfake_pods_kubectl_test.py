#!/usr/bin/env python3
"""k8sfake_pods_kubectl_test.py -- the fake API server's Pods behave like the real
server's as far as kubectl can tell: list with fieldSelector (spec.nodeName, as
Promtail's DaemonSet asks) and labelSelector (=, !=, in, exists), the Table kubectl
prints, a watch that streams a new pod; and a watch from a compacted resourceVersion
gets the ERROR 410 event. Skipped (exit 0 with a note) without kubectl."""

import json
import os
import shutil
import ssl
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "k8sfake"))
from harness import FakeAPI, gen_certs, kubeconfig, tmpdir, wait_until  # noqa: E402
from pods import make_pod  # noqa: E402


def names(out):
    return sorted(i["metadata"]["name"] for i in json.loads(out)["items"])


def main():
    kubectl = shutil.which("kubectl")
    if not kubectl:
        print("skip: kubectl not installed (deps/debian.txt: kubernetes-client)")
        return
    d = tmpdir("cairn-pods-kubectl-")
    certs = gen_certs(os.path.join(d, "pki"))
    api = FakeAPI("--tls-dir", certs, "--token", "kube-t0ken")
    kc = kubeconfig(os.path.join(d, "kc"), api.url, ca=os.path.join(certs, "ca.crt"),
                    token="kube-t0ken")
    env = dict(os.environ, HOME=d, KUBECACHEDIR=os.path.join(d, "cache"))
    api.pod_put(make_pod("web-1", "shop", node="node-a", labels={"app": "web", "tier": "fe"}))
    api.pod_put(make_pod("web-2", "shop", node="node-b", labels={"app": "web"}))
    api.pod_put(make_pod("db-1", "shop", node="node-a", labels={"app": "db"}))
    api.pod_put(make_pod("eventrouter-5d9", "kube-system", node="node-a",
                         labels={"name": "eventrouter"}))

    def get(*args):
        out = subprocess.run([kubectl, "--kubeconfig", kc, "get", "pods", *args], env=env,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout

    assert names(get("-A", "-o", "json")) == ["db-1", "eventrouter-5d9", "web-1", "web-2"]
    assert names(get("-A", "-o", "json", "--field-selector", "spec.nodeName=node-a")) == \
        ["db-1", "eventrouter-5d9", "web-1"]
    assert names(get("-n", "shop", "-o", "json", "--field-selector",
                     "spec.nodeName=node-a")) == ["db-1", "web-1"]
    assert names(get("-A", "-o", "json", "-l", "app=web")) == ["web-1", "web-2"]
    assert names(get("-A", "-o", "json", "-l", "app!=web,app")) == ["db-1"]
    assert names(get("-A", "-o", "json", "-l", "app in (db,web),tier")) == ["web-1"]
    assert names(get("-A", "-o", "json", "-l", "app=web", "--field-selector",
                     "spec.nodeName=node-b")) == ["web-2"]
    rows = get("-n", "shop").strip().splitlines()
    assert rows[0].split()[:3] == ["NAME", "READY", "STATUS"], rows
    assert len(rows) == 4 and any(r.split()[0] == "db-1" for r in rows), rows

    wpath = os.path.join(d, "watch.txt")
    with open(wpath, "w") as wf:
        w = subprocess.Popen([kubectl, "--kubeconfig", kc, "get", "pods", "-A", "-w", "-o",
                              "name", "--field-selector", "spec.nodeName=node-a"],
                             env=env, stdout=wf, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: open(wpath).read().count("\n") >= 3, "kubectl's list")
            wait_until(lambda: api.stats("pods")["watch_active"] >= 1, "kubectl's watch")
            api.pod_put(make_pod("web-3", "shop", node="node-b", labels={"app": "web"}))
            api.pod_put(make_pod("late-1", "shop", node="node-a"))
            wait_until(lambda: "pod/late-1" in open(wpath).read(), "the watched pod")
            assert w.poll() is None, open(wpath).read()
        finally:
            w.terminate()
            w.wait(timeout=10)
    text = open(wpath).read()
    assert "web-3" not in text and "error" not in text.lower(), text

    # 410: a watch from before a compaction gets an ERROR event with code 410
    rv = api.stats("pods")["rv"]
    api.ctl("compact", resource="pods")
    ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.crt"))
    req = urllib.request.Request(
        "%s/api/v1/pods?watch=1&resourceVersion=%d&timeoutSeconds=5" % (api.url, rv - 2),
        headers={"Authorization": "Bearer kube-t0ken"})
    with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
        ev = json.loads(r.readline())
    assert ev["type"] == "ERROR" and ev["object"]["code"] == 410, ev
    api.stop()
    print("ok kubectl get pods: field and label selectors, table, watch; watch 410")


if __name__ == "__main__":
    main()
