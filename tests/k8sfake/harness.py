"""harness.py -- helpers for the `cairn events` end-to-end tests: start the fake API
server and the router, write kubeconfigs, read and check the router's output.

Everything runs on 127.0.0.1 with ephemeral ports in a temp dir that is removed at exit;
waits are bounded polls with a deadline, never fixed sleeps."""

import atexit
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, "server.py")
CAIRN = os.environ.get("CAIRN_BIN", os.path.join(HERE, "..", "..", "build", "cairn"))
DEADLINE = float(os.environ.get("CAIRN_E2E_WAIT", "20"))

_procs = []


def tmpdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, d, True)
    return d


def _cleanup():
    for p in _procs:
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(_cleanup)


def wait_until(fn, what, timeout=DEADLINE):
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for " + what + _logs())
        time.sleep(0.02)


_routers = []


def _logs():
    """The routers' logs, for a failure message (the temp dir goes away at exit)."""
    out = []
    for r in _routers:
        try:
            with open(r.err) as f:
                out.append("\n--- %s:\n%s" % (r.err, f.read()[-3000:]))
        except OSError:
            pass
    return "".join(out)


def gen_certs(d):
    subprocess.run([sys.executable, SERVER, "gen-certs", d], check=True)
    return d


class FakeAPI:
    def __init__(self, *args):
        self.p = subprocess.Popen([sys.executable, SERVER, "serve", *args],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        _procs.append(self.p)
        info = json.loads(self.p.stdout.readline())
        self.url = info["url"]
        self.port = info["port"]
        self.control_url = "http://127.0.0.1:%d/control" % info["control_port"]

    def ctl(self, op, **kw):
        kw["op"] = op
        req = urllib.request.Request(self.control_url, data=json.dumps(kw).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    def add(self, n=1, **kw):
        """Add n events; returns their names."""
        return self.ctl("gen", n=n, names=True, **kw)["names"]

    def stats(self, resource="events"):
        return self.ctl("stats", resource=resource)["stats"]

    def pod_put(self, pod):
        """Add or replace a Pod (see pods.make_pod); returns it as stored."""
        return self.ctl("pod_put", pod=pod)["pod"]

    def pod_delete(self, namespace, name):
        return self.ctl("pod_delete", namespace=namespace, name=name)["pod"]

    def stop(self):
        self.p.stdin.close()
        self.p.wait(timeout=10)


def kubeconfig(path, server, ca=None, ca_data=None, token=None, cert=None, key=None,
               cert_data=None, key_data=None, user_extra="", namespace=None, insecure=False):
    def b64(p):
        with open(p, "rb") as f:
            return base64.b64encode(f.read()).decode()

    cl = ["    server: %s" % server]
    if ca:
        cl.append("    certificate-authority: %s" % ca)
    if ca_data:
        cl.append("    certificate-authority-data: %s" % b64(ca_data))
    if insecure:
        cl.append("    insecure-skip-tls-verify: true")
    us = []
    if token:
        us.append("    token: %s" % token)
    if cert:
        us.append("    client-certificate: %s" % cert)
    if key:
        us.append("    client-key: %s" % key)
    if cert_data:
        us.append("    client-certificate-data: %s" % b64(cert_data))
    if key_data:
        us.append("    client-key-data: %s" % b64(key_data))
    if user_extra:
        us.append(user_extra)
    ctx = "    cluster: fake\n    user: me\n"
    if namespace:
        ctx += "    namespace: %s\n" % namespace
    text = ("apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n%s\n"
            "users:\n- name: me\n  user:\n%s\ncontexts:\n- name: test\n  context:\n%s"
            "current-context: test\n") % ("\n".join(cl), "\n".join(us) or "    {}", ctx)
    with open(path, "w") as f:
        f.write(text)
    return path


class Router:
    """`cairn events` writing JSON lines to a file; lines() re-reads it."""

    def __init__(self, d, *args, env=None, name="out"):
        self.out = os.path.join(d, name + ".jsonl")
        self.err = os.path.join(d, name + ".log")
        e = dict(os.environ)
        e.pop("KUBECONFIG", None)
        e.pop("KUBERNETES_SERVICE_HOST", None)
        e["HOME"] = d
        if env:
            e.update(env)
        self.fout = open(self.out, "ab")
        self.ferr = open(self.err, "ab")
        self.p = subprocess.Popen([CAIRN, "events", *args], stdout=self.fout,
                                  stderr=self.ferr, env=e, cwd=d)
        _procs.append(self.p)
        _routers.append(self)

    def lines(self):
        with open(self.out) as f:
            return [json.loads(l) for l in f if l.endswith("\n")]

    def log(self):
        with open(self.err) as f:
            return f.read()

    def wait_lines(self, n, what=None):
        return wait_until(lambda: (lambda ls: ls if len(ls) >= n else None)(self.lines()),
                          what or "%d lines (log: %s)" % (n, self.err))

    def stop(self, sig=signal.SIGTERM):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        rc = self.p.wait(timeout=20)
        self.fout.close()
        self.ferr.close()
        return rc


def check_exactly_once(lines):
    """No (uid, resourceVersion) twice; returns {uid: [rv, ...]} in emission order."""
    seen = set()
    by_uid = {}
    for l in lines:
        ev = l["event"]
        key = (ev["metadata"]["uid"], ev["metadata"]["resourceVersion"])
        assert key not in seen, "emitted twice: %r" % (key,)
        seen.add(key)
        by_uid.setdefault(key[0], []).append(key[1])
    return by_uid


def names(lines):
    return [l["event"]["metadata"]["name"] for l in lines]
