#!/usr/bin/env python3
"""events_kubectl_test.py -- the fake API server behaves like the real one as far as
kubectl can tell: `kubectl get events -A` lists, `kubectl get events -A -w` streams new
events, over TLS with a bearer token. Skipped (exit 0 with a note) without kubectl."""

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "k8sfake"))
from harness import FakeAPI, gen_certs, kubeconfig, tmpdir, wait_until  # noqa: E402


def main():
    kubectl = shutil.which("kubectl")
    if not kubectl:
        print("skip: kubectl not installed (deps/debian.txt: kubernetes-client)")
        return
    d = tmpdir("cairn-ev-kubectl-")
    certs = gen_certs(os.path.join(d, "pki"))
    api = FakeAPI("--tls-dir", certs, "--token", "kube-t0ken")
    kc = kubeconfig(os.path.join(d, "kc"), api.url, ca=os.path.join(certs, "ca.crt"),
                    token="kube-t0ken")
    env = dict(os.environ, HOME=d, KUBECACHEDIR=os.path.join(d, "cache"))
    api.add(2, namespace="payments", reason="BackOff", type="Warning", object="api-7f9")
    api.add(1, namespace="web", reason="Scheduled", object="web-1")

    out = subprocess.run([kubectl, "--kubeconfig", kc, "get", "events", "-A"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = out.stdout.strip().splitlines()
    assert rows[0].split()[:2] == ["NAMESPACE", "LAST"], rows[0]
    assert len(rows) == 4, rows
    assert sum("BackOff" in r and "payments" in r and "pod/api-7f9" in r for r in rows) == 2
    assert any("Scheduled" in r and "web" in r for r in rows)

    out = subprocess.run([kubectl, "--kubeconfig", kc, "get", "events", "-n", "payments",
                          "-o", "name"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert len(out.stdout.split()) == 2 and out.stdout.startswith("event/"), out.stdout

    wpath = os.path.join(d, "watch.txt")
    with open(wpath, "w") as wf:
        w = subprocess.Popen([kubectl, "--kubeconfig", kc, "get", "events", "-A", "-w"],
                             env=env, stdout=wf, stderr=subprocess.STDOUT)
        try:
            # the listed rows first, then the watch is open
            wait_until(lambda: open(wpath).read().count("\n") >= 4, "kubectl's list")
            wait_until(lambda: api.stats()["watch_active"] >= 1, "kubectl's watch")
            api.add(1, namespace="web", reason="Pulled", object="web-2")
            wait_until(lambda: "Pulled" in open(wpath).read(), "the watched event")
            assert w.poll() is None, open(wpath).read()
        finally:
            w.terminate()
            w.wait(timeout=10)
    text = open(wpath).read()
    assert "pod/web-2" in text and "error" not in text.lower(), text
    api.stop()
    print("ok kubectl get events -A and -w")


if __name__ == "__main__":
    main()
