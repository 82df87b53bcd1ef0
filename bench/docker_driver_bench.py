#!/usr/bin/env python3
# docker_driver_bench.py -- `cairn docker-driver` throughput: LogEntry frames written
# into a container's FIFO as the Docker daemon writes them, pushed to bench_discard
# (which acknowledges and keeps nothing), so the driver's own cost is measured: lines
# per driver CPU-second (utime + stime from /proc, after StopLogging has flushed
# everything) for three setups: the default (local copy kept), no-file, and a
# regex + labels pipeline with the local copy.
# usage: bench/docker_driver_bench.py BUILD_DIR [LINES]   (default 500000)
import http.client
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
LINES = int(sys.argv[2]) if len(sys.argv) > 2 else 500000
HZ = os.sysconf("SC_CLK_TCK")


def uv(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def frame(line, ts):
    m = b"\x0a\x06stdout" + b"\x10" + uv(ts) + b"\x1a" + uv(len(line)) + line
    return struct.pack(">I", len(m)) + m


class UnixConn(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=600)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def call(sock, ep, body):
    c = UnixConn(sock)
    c.request("POST", ep, json.dumps(body))
    r = json.loads(c.getresponse().read())
    c.close()
    return r


def cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        st = f.read().rsplit(")", 1)[1].split()
    return (int(st[11]) + int(st[12])) / HZ


def run(tmp, push_url, name, opts, payload):
    sock = os.path.join(tmp, "d-%s.sock" % name)
    drv = subprocess.Popen([os.path.join(BUILD, "cairn"), "docker-driver", "--socket", sock,
                            "--data-dir", os.path.join(tmp, "logs-" + name), "--log-level",
                            "warn"], stderr=subprocess.DEVNULL)
    for _ in range(500):
        if os.path.exists(sock):
            break
        time.sleep(0.01)
    fifo = os.path.join(tmp, "fifo-" + name)
    os.mkfifo(fifo)
    cfg = {"loki-url": push_url}
    cfg.update(opts)
    info = {"ContainerID": "b" * 64, "ContainerName": "/bench", "Config": cfg,
            "ContainerLabels": {"com.docker.compose.project": "p"}}
    r = call(sock, "/LogDriver.StartLogging", {"File": fifo, "Info": info})
    assert r.get("Err") == "", r
    c0 = cpu(drv.pid)
    t0 = time.time()
    with open(fifo, "wb") as w:
        w.write(payload)
    call(sock, "/LogDriver.StopLogging", {"File": fifo})
    wall = time.time() - t0
    c1 = cpu(drv.pid)
    drv.terminate()
    drv.wait()
    used = c1 - c0
    print("DOCKER_BENCH setup=%s lines=%d driver_cpu_s=%.2f lines_per_cpu_s=%d wall_s=%.2f" %
          (name, LINES, used, LINES / used if used else 0, wall), flush=True)


def main():
    tmp = tempfile.mkdtemp(prefix="cairn-docker-bench-")
    sink = subprocess.Popen([os.path.join(BUILD, "bench_discard"), "--port-file",
                             os.path.join(tmp, "port"), "--decode"], stdout=subprocess.PIPE, text=True)
    try:
        sink.stdout.readline()  # "listening ..."
        port = int(open(os.path.join(tmp, "port")).read())
        url = "http://127.0.0.1:%d/loki/api/v1/push" % port
        ts = time.time_ns() - 3600 * 10**9
        lv = (b"info", b"warn", b"error", b"debug")
        payload = b"".join(
            frame(b"ts=2026-12-07T19:00:00Z level=%s msg=\"request served\" path=/api/v1/items/%d "
                  b"status=200 duration=%dms" % (lv[i & 3], i, i % 997), ts + i)
            for i in range(LINES))
        print("payload %d lines, %.1f MB" % (LINES, len(payload) / 1e6), flush=True)
        run(tmp, url, "default", {}, payload)
        run(tmp, url, "no-file", {"no-file": "true"}, payload)
        stages = "- regex:\n    expression: 'level=(?P<level>\\w+)'\n- labels:\n    level:\n"
        run(tmp, url, "stages", {"loki-pipeline-stages": stages}, payload)
    finally:
        sink.terminate()
        print(sink.stdout.read().strip(), flush=True)  # BENCH_DISCARD: lines received
        sink.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
