# cluster_util.py -- a real single-member etcd (Debian's etcd-server) on loopback
# ephemeral ports with a temporary data dir, for the cluster e2e tests: started in
# about a second, waited for on its "ready to serve client requests" log line.
import os
import shutil
import subprocess
import tempfile
import threading

from push_util import _live, fail, free_port


class Etcd:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="cairn-etcd-")
        self.client = free_port()
        self.peer = free_port()
        self.proc = None
        self.log = []

    @property
    def endpoint(self):
        return "127.0.0.1:%d" % self.client

    def start(self, timeout=30):
        exe = shutil.which("etcd") or "/usr/bin/etcd"
        if not os.path.exists(exe):
            fail("etcd not found: install etcd-server (deps/debian.txt)")
        c, p = "http://127.0.0.1:%d" % self.client, "http://127.0.0.1:%d" % self.peer
        args = [exe, "--name", "t", "--data-dir", os.path.join(self.dir, "d"),
                "--listen-client-urls", c, "--advertise-client-urls", c,
                "--listen-peer-urls", p, "--initial-advertise-peer-urls", p,
                "--initial-cluster", "t=" + p]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        _live.append(self)
        ready = threading.Event()

        def drain():
            for line in self.proc.stderr:
                self.log.append(line)
                if "ready to serve client requests" in line:
                    ready.set()
            ready.set()

        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(timeout) or self.proc.poll() is not None:
            self.stop()
            fail("etcd did not start; log:\n" + "".join(self.log[-30:]))
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)
        shutil.rmtree(self.dir, ignore_errors=True)

    def call(self, path, doc):
        """POST a JSON request to etcd's v3 gateway; returns the decoded reply."""
        import json
        import urllib.request
        req = urllib.request.Request("http://%s%s" % (self.endpoint, path),
                                     data=json.dumps(doc).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())
