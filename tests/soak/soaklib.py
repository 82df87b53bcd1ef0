# soaklib.py -- what every soak scenario shares: `cairn serve` children on 127.0.0.1
# (ready when they log it, logs kept in a file, killed on exit), HTTP with the standard
# library, push bodies in JSON and in protobuf+snappy (encoded here, so a push costs no
# process), and the cleanup registry for processes and mounts.
import http.client
import json
import os
import signal
import subprocess
import threading
import time
import urllib.parse

HOST = "127.0.0.1"  # every request of the suite goes to the loopback address

# ---- cleanup: children and mounts, undone on any exit --------------------------------

_procs = []   # Popen objects still possibly alive
_mounts = []  # mount points still mounted


def register_mount(path):
    _mounts.append(path)


def unmount(path):
    """Unmount now if nothing holds it; otherwise cleanup() retries after killing the
    children (an interrupted scenario may not have reached its own kill)."""
    r = subprocess.run(["umount", path], capture_output=True, text=True)
    if (r.returncode == 0 or "not mounted" in r.stderr) and path in _mounts:
        _mounts.remove(path)


def cleanup():
    """Kill every child we started and unmount every tmpfs we mounted; idempotent."""
    for p in list(_procs):
        if p.poll() is None:
            try:
                p.kill()
                p.wait(10)
            except Exception:
                pass
        _procs.remove(p)
    for m in list(_mounts):
        r = subprocess.run(["umount", m], capture_output=True, text=True)
        if r.returncode != 0 and "not mounted" not in r.stderr:
            subprocess.run(["umount", "-l", m], capture_output=True)  # still busy: lazy
        _mounts.remove(m)


class Deadline:
    """A wall-clock budget: remaining() seconds, expired()."""

    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def remaining(self):
        return max(0.0, self.end - time.monotonic())

    def expired(self):
        return time.monotonic() >= self.end


# ---- the server ---------------------------------------------------------------------

class ServerError(Exception):
    pass


class Server:
    """A `cairn serve` child on 127.0.0.1 with an ephemeral port, its stderr in a file.

    env: extra environment (LD_PRELOAD for the fault shim). start() waits for the
    `ready` log line (which comes after WAL replay) and raises ServerError if the
    process exits or stays silent past the timeout."""

    def __init__(self, binary, data_dir, log_path, args=(), env=None):
        self.binary = binary
        self.data_dir = data_dir
        self.log_path = log_path
        self.args = list(args)
        self.env = env
        self.proc = None
        self.port = None
        self.replay_ms = None
        self.errors = 0  # level=error lines seen

    def start(self, timeout=120, kill_after=None):
        """kill_after: SIGKILL the process that many seconds after it was spawned
        (ready or not, typically in the middle of WAL replay) and return."""
        argv = [self.binary, "serve", "--listen", HOST + ":0", "--data-dir",
                self.data_dir] + self.args
        env = dict(os.environ, **(self.env or {}))
        logf = open(self.log_path, "a")
        logf.write("---- start %s\n" % " ".join(argv))
        logf.flush()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=subprocess.PIPE, text=True, errors="replace",
                                     env=env)
        _procs.append(self.proc)
        ready = threading.Event()
        self.port = None

        def drain(proc=self.proc):
            for line in proc.stderr:
                logf.write(line)
                if "level=error" in line:
                    self.errors += 1
                if not ready.is_set() and 'msg="ready"' in line:
                    for kv in line.split():
                        if kv.startswith("port="):
                            self.port = int(kv[5:])
                        elif kv.startswith("replay_ms="):
                            self.replay_ms = int(kv[10:])
                    ready.set()
            ready.set()
            logf.close()

        self.drainer = threading.Thread(target=drain, daemon=True)
        self.drainer.start()
        if kill_after is not None:
            time.sleep(kill_after)
            self.kill()
            return self
        ready.wait(timeout)
        if self.port is None:
            alive = self.proc.poll() is None
            self.kill()
            raise ServerError("server %s ready within %ds (see %s)" %
                              ("not" if alive else "exited before being", timeout,
                               self.log_path))
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL and reap."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.drainer.join(10)
        if self.proc in _procs:
            _procs.remove(self.proc)

    def stop(self, timeout=120):
        """SIGTERM and wait (SIGKILL past the timeout); returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            rc = None
        self.drainer.join(10)
        if self.proc in _procs:
            _procs.remove(self.proc)
        return rc


# ---- HTTP ---------------------------------------------------------------------------

def request(port, method, path, body=None, headers=None, timeout=30, conn=None):
    """One request to 127.0.0.1:port. Returns (status, body bytes, headers dict); raises
    OSError / http.client.HTTPException when there is no answer. A given conn is reused
    (keep-alive) and must be dropped by the caller after an exception."""
    own = conn is None
    c = conn or http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return r.status, data, {k.lower(): v for k, v in r.getheaders()}
    finally:
        if own:
            c.close()


def get(port, path, params=None, timeout=60):
    if params:
        path += "?" + urllib.parse.urlencode(params)
    return request(port, "GET", path, timeout=timeout)


def ready(port, timeout=5):
    try:
        return get(port, "/ready", timeout=timeout)[0]
    except (OSError, http.client.HTTPException):
        return None


# ---- push bodies --------------------------------------------------------------------

def labels_text(labels):
    return "{" + ", ".join('%s="%s"' % (k, v) for k, v in sorted(labels.items())) + "}"


def body_json(labels, entries):
    """entries: [(ts_ns, line)]. Returns (body, content type)."""
    doc = {"streams": [{"stream": labels,
                        "values": [[str(ts), line] for ts, line in entries]}]}
    return json.dumps(doc).encode(), "application/json"


def _uvarint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(num, wire, payload):
    key = _uvarint((num << 3) | wire)
    if wire == 2:
        return key + _uvarint(len(payload)) + payload
    return key + payload


def _pb_push_request(labels, entries):
    """Loki's PushRequest with one StreamAdapter (proto/push.proto)."""
    ents = bytearray()
    for ts, line in entries:
        tsmsg = _field(1, 0, _uvarint(ts // 10**9)) + _field(2, 0, _uvarint(ts % 10**9))
        ent = _field(1, 2, tsmsg) + _field(2, 2, line.encode())
        ents += _field(2, 2, ent)
    stream = _field(1, 2, labels_text(labels).encode()) + bytes(ents)
    return _field(1, 2, stream)


def snappy_compress(data):
    """Snappy block format (the framing-less one Loki uses): a greedy matcher emitting
    literals and copies with 2-byte offsets. Written from the format description; small
    and slow, but it gives the server's decoder real copies to follow."""
    out = bytearray(_uvarint(len(data)))
    n = len(data)
    table = {}
    lit_start = 0
    i = 0

    def literal(a, b):
        while a < b:
            m = min(b - a, 65536)
            k = m - 1
            if k < 60:
                out.append(k << 2)
            elif k < 256:
                out.append(60 << 2)
                out.append(k)
            else:
                out.append(61 << 2)
                out.extend(k.to_bytes(2, "little"))
            out.extend(data[a:a + m])
            a += m

    while i + 4 <= n:
        key = data[i:i + 4]
        cand = table.get(key)
        table[key] = i
        if cand is not None and i - cand < 65536:
            ln = 4
            while i + ln < n and ln < 64 and data[cand + ln] == data[i + ln]:
                ln += 1
            literal(lit_start, i)
            off = i - cand
            out.append(((ln - 1) << 2) | 2)
            out += off.to_bytes(2, "little")
            i += ln
            lit_start = i
        else:
            i += 1
    literal(lit_start, n)
    return bytes(out)


def body_pb(labels, entries):
    return snappy_compress(_pb_push_request(labels, entries)), "application/x-protobuf"


def push(port, body, ctype, tenant=None, conn=None, timeout=30):
    """POST a push body; returns (status, reply text, headers) or raises as request()."""
    h = {"Content-Type": ctype}
    if tenant:
        h["X-Scope-OrgID"] = tenant
    st, data, hd = request(port, "POST", "/loki/api/v1/push", body, h, timeout, conn)
    return st, data.decode("utf-8", "replace"), hd


# ---- reading back -------------------------------------------------------------------

class QueryError(Exception):
    def __init__(self, status, text):
        super().__init__("query answered %s: %s" % (status, text[:200]))
        self.status = status


def query_all(port, selector, start_ns, end_ns, tenant=None, page=5000, max_pages=2000,
              timeout=60):
    """Every entry of a log query in [start_ns, end_ns), forward, page by page. Relies on
    the suite's timestamps being unique across all its streams (Ledger.alloc_ts), so
    the next page starts one nanosecond after the last entry seen. Returns a list of
    (labels dict, ts, line); raises QueryError on a non-200 answer."""
    out = []
    start = start_ns
    for _ in range(max_pages):
        params = {"query": selector, "start": str(start), "end": str(end_ns),
                  "limit": str(page), "direction": "forward"}
        path = "/loki/api/v1/query_range?" + urllib.parse.urlencode(params)
        h = {"X-Scope-OrgID": tenant} if tenant else {}
        st, data, _ = request(port, "GET", path, headers=h, timeout=timeout)
        if st != 200:
            raise QueryError(st, data.decode("utf-8", "replace"))
        doc = json.loads(data)
        got = []
        for s in doc["data"]["result"]:
            for ts, line in s["values"]:
                got.append((s["stream"], int(ts), line))
        out.extend(got)
        if len(got) < page:
            return out
        start = max(ts for _, ts, _ in got) + 1
    raise QueryError("-", "more than %d pages" % max_pages)
