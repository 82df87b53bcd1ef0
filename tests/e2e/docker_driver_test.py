# docker_driver_test.py -- `cairn docker-driver` driven the way the Docker daemon drives
# a logging plugin: HTTP over its unix socket (Activate, Capabilities, StartLogging with
# a FIFO made here, StopLogging, ReadLogs), LogEntry frames written into the FIFO,
# partial entries included; the lines must reach a real `cairn serve` with the
# container's labels, and ReadLogs must give them back (all, Tail, Since, Follow). An
# unknown log-opt is refused; a corrupt length prefix closes that one stream, logged,
# and the driver goes on. Also checks deploy/docker/config.json.
import atexit
import http.client
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import BIN, Server, TempDir, check, fail, request  # noqa: E402

SRC = os.environ.get("CAIRN_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))


# ---- LogEntry (docker's entry.proto wire format), written by hand ----

def uvarint(v):
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


def ldf(num, data):
    return uvarint(num << 3 | 2) + uvarint(len(data)) + data


def entry(line, ts, source="stdout", partial=False, last=None, pid=None, ordinal=None):
    m = ldf(1, source.encode()) + uvarint(2 << 3) + uvarint(ts) + ldf(3, line.encode())
    if partial:
        m += uvarint(4 << 3) + uvarint(1)
    if last is not None or pid is not None:
        meta = b""
        if last:
            meta += uvarint(1 << 3) + uvarint(1)
        if pid:
            meta += ldf(2, pid.encode())
        if ordinal:
            meta += uvarint(3 << 3) + uvarint(ordinal)
        m += ldf(5, meta)
    return struct.pack(">I", len(m)) + m


def decode_frames(data):
    """[(source, ts, line, partial)] from length-prefixed LogEntry messages."""
    out = []
    i = 0
    while i + 4 <= len(data):
        n = struct.unpack(">I", data[i:i + 4])[0]
        msg = data[i + 4:i + 4 + n]
        check(len(msg) == n, "truncated frame in ReadLogs")
        i += 4 + n
        f = {1: b"", 2: 0, 3: b"", 4: 0}
        j = 0
        while j < len(msg):
            key, j = _getv(msg, j)
            num, wt = key >> 3, key & 7
            if wt == 0:
                v, j = _getv(msg, j)
                f[num] = v
            elif wt == 2:
                ln, j = _getv(msg, j)
                f[num] = msg[j:j + ln]
                j += ln
            else:
                fail("unexpected wire type %d" % wt)
        out.append((f[1].decode(), f[2], f[3].decode(), bool(f[4])))
    check(i == len(data), "trailing bytes in ReadLogs")
    return out


def _getv(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << s
        s += 7
        if not c & 0x80:
            return v, i


# ---- the Docker side of the plugin protocol ----

class UnixConn(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.path)
        self.sock = s


def call(sock, endpoint, body=None):
    c = UnixConn(sock)
    c.request("POST", endpoint, json.dumps(body if body is not None else {}),
              {"Content-Type": "application/vnd.docker.plugins.v1.2+json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    check(r.status == 200, "%s: HTTP %d %r" % (endpoint, r.status, data))
    return json.loads(data)


def read_logs(sock, info, **cfg):
    c = UnixConn(sock)
    conf = {"Since": "0001-01-01T00:00:00Z", "Until": "0001-01-01T00:00:00Z", "Tail": -1,
            "Follow": False}
    conf.update(cfg)
    c.request("POST", "/LogDriver.ReadLogs", json.dumps({"Info": info, "Config": conf}))
    r = c.getresponse()
    data = r.read()
    c.close()
    check(r.status == 200, "ReadLogs: HTTP %d %r" % (r.status, data))
    return decode_frames(data)


def rfc3339(ns):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + ".%09dZ" % (ns % 10**9)


class Driver:
    def __init__(self, tmp):
        self.sock = os.path.join(tmp, "cairn.sock")
        self.data = os.path.join(tmp, "logs")
        self.log = []
        self.cv = threading.Condition()
        self.proc = subprocess.Popen([BIN, "docker-driver", "--socket", self.sock, "--data-dir",
                                      self.data, "--hostname", "testhost"],
                                     stderr=subprocess.PIPE, text=True)
        atexit.register(lambda: self.proc.poll() is None and self.proc.kill())
        threading.Thread(target=self._drain, daemon=True).start()
        self.wait_log('msg="ready"')

    def _drain(self):
        for line in self.proc.stderr:
            with self.cv:
                self.log.append(line)
                self.cv.notify_all()
        with self.cv:
            self.log.append("<exited>")
            self.cv.notify_all()

    def wait_log(self, text, timeout=30):
        with self.cv:
            ok = self.cv.wait_for(lambda: any(text in ln for ln in self.log) or
                                  "<exited>" in self.log, timeout)
            if not ok or not any(text in ln for ln in self.log):
                fail("driver never logged %r; log:\n%s" % (text, "".join(self.log)))


def container(cid, name, fifo, config, labels=None):
    return {"File": fifo,
            "Info": {"ContainerID": cid, "ContainerName": name, "ContainerEntrypoint": "/app",
                     "ContainerArgs": [], "ContainerImageID": "sha256:" + "f" * 64,
                     "ContainerImageName": "example/app:1", "ContainerCreated":
                     "2026-12-07T19:00:00Z", "ContainerEnv": ["APP_ENV=prod", "X=1"],
                     "ContainerLabels": labels or {}, "LogPath": "", "DaemonName": "docker",
                     "Config": config}}


def query(base, q, start, end):
    qs = urllib.parse.urlencode({"query": q, "start": str(start), "end": str(end),
                                 "limit": "1000", "direction": "forward"})
    st, body = request(base + "/loki/api/v1/query_range?" + qs)
    check(st == 200, "query %s: HTTP %d %s" % (q, st, body))
    return json.loads(body)["data"]["result"]


def check_plugin_config():
    with open(os.path.join(SRC, "deploy", "docker", "config.json")) as f:
        cfg = json.load(f)
    check(cfg["interface"]["socket"] == "cairn.sock", "config.json: interface.socket")
    check("docker.logdriver/1.0" in cfg["interface"]["types"], "config.json: interface.types")
    check(cfg["network"]["type"] == "host", "config.json: network.type")
    check(cfg["entrypoint"][0].endswith("cairn") and "docker-driver" in cfg["entrypoint"],
          "config.json: entrypoint")
    sock = [a for a in cfg["entrypoint"] if a.startswith("--socket")]
    check(sock and sock[0].endswith("=/run/docker/plugins/" + cfg["interface"]["socket"]),
          "config.json: --socket is where docker looks for interface.socket")
    for m in cfg.get("mounts", []):
        check(m["destination"].startswith("/") and m["type"] in ("bind", "none"),
              "config.json: mount %r" % m)
    with open(os.path.join(SRC, "deploy", "docker", "Dockerfile")) as f:
        check("/usr/bin/cairn" in f.read(), "Dockerfile installs the entrypoint's binary")


def main():
    check_plugin_config()
    with TempDir() as tmp:
        srv = Server(os.path.join(tmp, "store")).start()
        push_url = srv.url + "/loki/api/v1/push"
        d = Driver(tmp)
        sock = d.sock

        check(call(sock, "/Plugin.Activate") == {"Implements": ["LogDriver"]}, "Activate")
        check(call(sock, "/LogDriver.Capabilities") == {"Cap": {"ReadLogs": True}},
              "Capabilities")

        # an unknown option is refused, naming it
        fifo0 = os.path.join(tmp, "fifo0")
        os.mkfifo(fifo0)
        r = call(sock, "/LogDriver.StartLogging",
                 container("c" * 64, "/bad", fifo0, {"loki-url": push_url, "loki-bogus": "1"}))
        check("loki-bogus" in r.get("Err", ""), "unknown option not refused: %r" % r)
        r = call(sock, "/LogDriver.StartLogging",
                 container("c" * 64, "/bad", fifo0, {"loki-url": push_url, "max-size": "huge"}))
        check("max-size" in r.get("Err", ""), "bad max-size not refused: %r" % r)
        r = call(sock, "/LogDriver.StartLogging",
                 container("c" * 64, "/bad", fifo0 + "-missing", {"loki-url": push_url}))
        check("fifo0-missing" in r.get("Err", ""), "missing FIFO not refused: %r" % r)

        # container A: labels from templates, compose, a pipeline stage; a rotated copy
        cid = "a" * 64
        fifo = os.path.join(tmp, "fifo-a")
        os.mkfifo(fifo)
        stages = "- regex:\n    expression: 'level=(?P<level>\\w+)'\n- labels:\n    level:\n"
        req = container(cid, "/web-1", fifo, {
            "loki-url": push_url,
            "loki-external-labels": "container_name={{.Name}},cid={{.ID}},job=docker",
            "loki-batch-wait": "100ms", "loki-pipeline-stages": stages,
            "keep-file": "true", "max-size": "4k", "max-file": "20", "mode": "blocking",
            "env": "APP_ENV"}, {"com.docker.compose.project": "shop",
                                "com.docker.compose.service": "web"})
        r = call(sock, "/LogDriver.StartLogging", req)
        check(r == {"Err": ""}, "StartLogging: %r" % r)
        w = open(fifo, "wb", buffering=0)
        t0 = time.time_ns() - 10**9
        want = []
        for i in range(60):
            line = "request %03d level=%s" % (i, "info" if i % 3 else "warn")
            w.write(entry(line, t0 + i * 1000, "stdout" if i % 2 else "stderr"))
            want.append((t0 + i * 1000, line))
        # a long line split by docker: meta partials, then an old-style partial pair
        ts = t0 + 100000
        w.write(entry("part-one ", ts, partial=True, pid="p1", ordinal=1) +
                entry("part-two ", ts + 1, partial=True, pid="p1", ordinal=2) +
                entry("part-three level=info", ts + 2, partial=True, last=True, pid="p1",
                      ordinal=3))
        want.append((ts, "part-one part-two part-three level=info"))
        w.write(entry("old-a ", ts + 10, partial=True) + entry("old-b level=info", ts + 11))
        want.append((ts + 10, "old-a old-b level=info"))

        # ReadLogs while the container runs: everything, across rotated files
        info = req["Info"]
        deadline = time.time() + 30
        got = []
        while time.time() < deadline:  # the driver reads the FIFO on its own thread
            got = read_logs(sock, info)
            if len(got) >= len(want):
                break
            time.sleep(0.02)  # not there yet: look again (bounded by the deadline)
        check([(t, ln) for _, t, ln, _ in got] == want,
              "ReadLogs: %d entries, want %d: %r" % (len(got), len(want), got[:3]))
        check(got[0][0] == "stderr" and got[1][0] == "stdout", "ReadLogs sources")
        check(os.path.exists(os.path.join(d.data, cid, "json.log.1")), "no rotation at 4k")
        got = read_logs(sock, info, Tail=5)
        check([ln for _, _, ln, _ in got] == [ln for _, ln in want[-5:]], "Tail=5: %r" % got)
        got = read_logs(sock, info, Since=rfc3339(t0 + 40 * 1000))
        check([ln for _, _, ln, _ in got] == [ln for _, ln in want[40:]], "Since: %r" % got[:2])

        # Follow: Tail 0 then a new line while the client waits
        fc = UnixConn(sock)
        conf = {"Tail": 0, "Follow": True, "Since": "0001-01-01T00:00:00Z"}
        fc.request("POST", "/LogDriver.ReadLogs", json.dumps({"Info": info, "Config": conf}))
        fr = fc.getresponse()
        check(fr.status == 200, "follow: HTTP %d" % fr.status)
        w.write(entry("followed level=info", t0 + 200000))
        want.append((t0 + 200000, "followed level=info"))
        head = fr.read(4)
        n = struct.unpack(">I", head)[0]
        got = decode_frames(head + fr.read(n))
        check([ln for _, _, ln, _ in got] == ["followed level=info"], "follow: %r" % got)
        # enough to rotate the 4k copy a few times while the follower reads
        more = [(t0 + 300000 + i, "follow %03d level=info %s" % (i, "x" * 60)) for i in range(100)]
        for t, ln in more:
            w.write(entry(ln, t))
        want += more
        got = []
        while len(got) < len(more):
            head = fr.read(4)
            check(len(head) == 4, "follow ended early after %d" % len(got))
            n = struct.unpack(">I", head)[0]
            got += decode_frames(head + fr.read(n))
        check([(t, ln) for _, t, ln, _ in got] == more, "follow across rotations: %r" %
              [ln[:10] for _, _, ln, _ in got][:5])
        fc.close()

        w.close()
        r = call(sock, "/LogDriver.StopLogging", {"File": fifo})
        check(r == {"Err": ""}, "StopLogging: %r" % r)

        # the lines reached the store with the container's labels
        res = query(srv.url, '{container_name="web-1"}', t0 - 10**9, time.time_ns() + 10**9)
        lines = sorted((int(v[0]), v[1]) for s in res for v in s["values"])
        check(lines == sorted(want), "store has %d lines, want %d" % (len(lines), len(want)))
        for s in res:
            lab = s["stream"]
            for k, v in (("host", "testhost"), ("compose_project", "shop"),
                         ("compose_service", "web"), ("cid", cid[:12]), ("job", "docker"),
                         ("APP_ENV", "prod"),
                         ("filename", os.path.join(d.data, cid, "json.log"))):
                check(lab.get(k) == v, "label %s=%r in %r" % (k, v, lab))
            check(lab.get("level") in ("info", "warn"), "pipeline label level: %r" % lab)
        check(len(res) == 2, "streams by level: %r" % [s["stream"] for s in res])

        # keep-file: docker logs still works after the container stopped
        got = read_logs(sock, info)
        check([(t, ln) for _, t, ln, _ in got] == want, "ReadLogs after stop: %d of %d" %
              (len(got), len(want)))
        check(os.path.exists(os.path.join(d.data, cid, "json.log.4")), "rotations while following")

        # container B: a corrupt length prefix closes its stream, logged; the driver lives
        fifo_b = os.path.join(tmp, "fifo-b")
        os.mkfifo(fifo_b)
        stage_file = os.path.join(tmp, "stages.yaml")
        with open(stage_file, "w") as f:
            f.write("pipeline_stages:\n- static_labels:\n    from_file: \"yes\"\n")
        req_b = container("b" * 64, "/broken", fifo_b, {"loki-url": push_url,
                                                         "loki-batch-wait": "100ms",
                                                         "loki-pipeline-stage-file": stage_file})
        check(call(sock, "/LogDriver.StartLogging", req_b) == {"Err": ""}, "StartLogging B")
        wb = open(fifo_b, "wb", buffering=0)
        wb.write(entry("before corruption", time.time_ns()))
        wb.write(b"\xff\xff\xff\xf0garbage")
        d.wait_log("corrupt log stream")
        check(d.proc.poll() is None, "driver died on a corrupt stream")
        try:
            wb.close()
        except BrokenPipeError:
            pass
        check(call(sock, "/Plugin.Activate") == {"Implements": ["LogDriver"]}, "alive")
        check(call(sock, "/LogDriver.StopLogging", {"File": fifo_b}) == {"Err": ""}, "Stop B")
        res = query(srv.url, '{container_name="broken"}', t0 - 10**9, time.time_ns() + 10**9)
        check([v[1] for s in res for v in s["values"]] == ["before corruption"],
              "B's good line: %r" % res)
        check(res[0]["stream"].get("from_file") == "yes", "stage file: %r" % res[0]["stream"])
        # without keep-file the local copy goes with the container
        check(not os.path.exists(os.path.join(d.data, "b" * 64)), "B's copy not removed")
        c = UnixConn(sock)
        c.request("POST", "/LogDriver.ReadLogs", json.dumps({"Info": req_b["Info"],
                                                             "Config": {"Tail": -1}}))
        r = c.getresponse()
        body = json.loads(r.read())
        c.close()
        check(r.status == 404 and "keep-file" in body["Err"], "ReadLogs of B: %r" % body)

        d.proc.terminate()
        check(d.proc.wait(30) == 0, "driver exit status")
        check(not os.path.exists(sock), "socket left behind")
        srv.stop()
    print("ok")


if __name__ == "__main__":
    main()
