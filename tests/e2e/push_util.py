# push_util.py -- shared helpers for the push_*/serve_* e2e tests: start `cairn serve`
# on an ephemeral loopback port (waiting for its "ready" log line, not polling), HTTP
# calls with the standard library, and reading a data dir back with storedump_tool.
import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

BIN = os.environ.get("CAIRN_BIN", "cairn")
BUILD = os.environ.get("CAIRN_BUILD", ".")


_live = []  # servers to kill if a test exits early


@atexit.register
def _cleanup():
    for srv in _live:
        if srv.proc and srv.proc.poll() is None:
            srv.proc.kill()
            srv.proc.wait()


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def now_ns():
    return time.time_ns()


def free_port():
    """A loopback port free right now (for servers that cannot take port 0)."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """A `cairn serve` child on 127.0.0.1 with an ephemeral port."""

    def __init__(self, data_dir, *extra):
        self.data_dir = data_dir
        self.extra = list(extra)
        self.proc = None
        self.port = None
        self.log = []

    def start(self, timeout=60):
        args = [BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", self.data_dir] + self.extra
        self.proc = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
        _live.append(self)
        ready = threading.Event()

        def drain():
            for line in self.proc.stderr:
                self.log.append(line)
                if 'msg="ready"' in line and not ready.is_set():
                    for kv in line.split():
                        if kv.startswith("port="):
                            self.port = int(kv[5:])
                    ready.set()
            ready.set()  # exited before ready: wake the waiter

        self.drainer = threading.Thread(target=drain, daemon=True)
        self.drainer.start()
        if not ready.wait(timeout) or self.port is None:
            self.proc.kill()
            self.proc.wait()
            fail("server did not become ready; log:\n" + "".join(self.log))
        if self.port == 0:
            fail("server logged port 0")
        return self

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def stop(self, timeout=60):
        """SIGTERM and wait; returns the exit status."""
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout)
        self.drainer.join(5)
        return rc

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.drainer.join(5)


def request(url, body=None, headers=None, method=None, timeout=60):
    """Returns (status, body text); never raises on HTTP error statuses."""
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")



def query_lines(srv, q, start_ns):
    """A forward query_range from start_ns to now: [(stream labels, line), ...]."""
    qs = urllib.parse.urlencode({"query": q, "start": start_ns, "end": time.time_ns() + 10**9,
                                 "limit": 1000, "direction": "forward"})
    st, body = request(srv.url + "/loki/api/v1/query_range?" + qs)
    check(st == 200, "query %s: %d %s" % (q, st, body))
    data = json.loads(body)["data"]["result"]
    return [(s["stream"], v[1]) for s in data for v in s["values"]]


def wait_for(pred, what, timeout=90.0):
    """Poll pred (a cheap check of something the test caused) until true, or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    fail("timed out waiting for " + what)


def run_main(main, agents, log_lines=60):
    """Run a test's main: on failure print the servers' last log lines; in any case kill
    the agent processes (subprocess.Popen) the test left running."""
    try:
        main()
    except BaseException:
        for srv in _live:
            sys.stderr.write("".join(srv.log[-log_lines:]))
        raise
    finally:
        for a in agents:
            if a.poll() is None:
                a.kill()
                a.wait()

def pb_uvarint(v):
    """A protobuf varint (LEB128) of a non-negative int."""
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_field(num, wt, payload):
    """A protobuf field: its tag, then (wire type 2) the length and payload, or the
    payload as given (a varint or fixed-width value already encoded)."""
    t = pb_uvarint(num << 3 | wt)
    return t + pb_uvarint(len(payload)) + payload if wt == 2 else t + payload


def push_json(base, streams, tenant=None, gzip_it=False, raw=None):
    """streams: list of (labels dict, [(ts_ns, line), ...])."""
    import gzip
    if raw is None:
        doc = {"streams": [{"stream": lab, "values": [[str(ts), line] for ts, line in vals]}
                           for lab, vals in streams]}
        raw = json.dumps(doc).encode()
    headers = {"Content-Type": "application/json"}
    if tenant:
        headers["X-Scope-OrgID"] = tenant
    if gzip_it:
        raw = gzip.compress(raw)
        headers["Content-Encoding"] = "gzip"
    return request(base + "/loki/api/v1/push", raw, headers, "POST")


def push_pb(base, tenant, labels, count, start_ns, prefix):
    """Push through pushpb_tool (protobuf+snappy); returns (status, reply body)."""
    tool = os.path.join(BUILD, "pushpb_tool")
    r = subprocess.run([tool, "push", base + "/loki/api/v1/push", tenant or "", labels,
                        str(count), str(start_ns), prefix],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "pushpb_tool failed: " + r.stderr)
    return int(r.stdout.strip()), r.stderr


def _unescape(b):
    out = bytearray()
    i = 0
    while i < len(b):
        c = b[i]
        if c == 0x5C and i + 1 < len(b):
            out.append({0x5C: 0x5C, ord("t"): 9, ord("n"): 10}.get(b[i + 1], b[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return bytes(out)


def dump(data_dir):
    """Every stored entry as (tenant, labels, ts, line), via the store's own reader.

    storedump_tool prints one entry per line: tenant TAB labels TAB ts TAB line, with
    backslash, tab and newline in the line escaped as \\\\, \\t and \\n."""
    tool = os.path.join(BUILD, "storedump_tool")
    r = subprocess.run([tool, data_dir], capture_output=True, timeout=120)
    check(r.returncode == 0, "storedump_tool failed: " + r.stderr.decode("utf-8", "replace"))
    out = []
    for raw in r.stdout.split(b"\n"):
        if not raw:
            continue
        parts = raw.split(b"\t", 3)
        check(len(parts) == 4, "unexpected storedump line: %r" % raw[:200])
        out.append((parts[0].decode(), parts[1].decode(), int(parts[2]),
                    _unescape(parts[3]).decode("utf-8", "replace")))
    return out


class TempDir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="cairn-e2e-")
        return self.path

    def __exit__(self, *a):
        shutil.rmtree(self.path, ignore_errors=True)
