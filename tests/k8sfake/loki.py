#!/usr/bin/env python3
"""loki.py -- a minimal Loki push receiver for the `cairn events --output push` tests
(Python 3 stdlib only): POST /loki/api/v1/push with snappy-compressed protobuf
(logproto.PushRequest) or JSON; GET / returns what arrived as JSON
{"entries": [{"labels": "{...}", "ts": ns, "line": "..."}, ...], "pushes": N,
"tenants": [...], "auth": [Authorization headers seen]}. `--fail-first N` answers the
first N pushes with 503 (the client must retry). Prints {"port": N} on start."""

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def snappy_decode(b):
    """Snappy block format: varint length, then literals and copies."""
    pos, n, shift = 0, 0, 0
    while True:
        c = b[pos]
        pos += 1
        n |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            break
    out = bytearray()
    while pos < len(b):
        tag = b[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:
            ln = tag >> 2
            if ln >= 60:
                nb = ln - 59
                ln = int.from_bytes(b[pos:pos + nb], "little")
                pos += nb
            ln += 1
            out += b[pos:pos + ln]
            pos += ln
            continue
        if kind == 1:
            ln = ((tag >> 2) & 7) + 4
            off = ((tag >> 5) << 8) | b[pos]
            pos += 1
        elif kind == 2:
            ln = (tag >> 2) + 1
            off = int.from_bytes(b[pos:pos + 2], "little")
            pos += 2
        else:
            ln = (tag >> 2) + 1
            off = int.from_bytes(b[pos:pos + 4], "little")
            pos += 4
        for _ in range(ln):
            out.append(out[-off])
    assert len(out) == n, "snappy: length mismatch"
    return bytes(out)


def pb_fields(b):
    """(field number, wire type, value) of a protobuf message; values of length-
    delimited fields are bytes, varints ints."""
    pos = 0
    while pos < len(b):
        key, pos = varint(b, pos)
        f, wt = key >> 3, key & 7
        if wt == 0:
            v, pos = varint(b, pos)
        elif wt == 2:
            ln, pos = varint(b, pos)
            v = b[pos:pos + ln]
            pos += ln
        elif wt == 1:
            v = b[pos:pos + 8]
            pos += 8
        elif wt == 5:
            v = b[pos:pos + 4]
            pos += 4
        else:
            raise ValueError("wire type %d" % wt)
        yield f, wt, v


def varint(b, pos):
    n, shift = 0, 0
    while True:
        c = b[pos]
        pos += 1
        n |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return n, pos


def decode_push(body):
    out = []
    for f, _, stream in pb_fields(body):
        if f != 1:
            continue
        labels, entries = "", []
        for sf, _, sv in pb_fields(stream):
            if sf == 1:
                labels = sv.decode()
            elif sf == 2:
                ts, line = 0, b""
                for ef, _, ev in pb_fields(sv):
                    if ef == 1:
                        secs = nanos = 0
                        for tf, _, tv in pb_fields(ev):
                            if tf == 1:
                                secs = tv
                            elif tf == 2:
                                nanos = tv
                        ts = secs * 1000000000 + nanos
                    elif ef == 2:
                        line = ev
                entries.append((ts, line.decode()))
        for ts, line in entries:
            out.append({"labels": labels, "ts": ts, "line": line})
    return out


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, body, ctype="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        srv = self.server
        with srv.lock:
            srv.pushes += 1
            if srv.pushes <= srv.fail_first:
                self.reply(503, b"try later", "text/plain")
                return
        if "json" in self.headers.get("Content-Type", ""):
            doc = json.loads(body)
            got = [{"labels": "{%s}" % ", ".join('%s="%s"' % kv for kv in
                                                 sorted(s["stream"].items())),
                    "ts": int(v[0]), "line": v[1]} for s in doc["streams"] for v in s["values"]]
        else:
            got = decode_push(snappy_decode(body))
        with srv.lock:
            srv.entries += got
            srv.tenants.add(self.headers.get("X-Scope-OrgID", ""))
            srv.auth.add(self.headers.get("Authorization", ""))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        srv = self.server
        with srv.lock:
            body = json.dumps({"entries": srv.entries, "pushes": srv.pushes,
                               "tenants": sorted(srv.tenants),
                               "auth": sorted(srv.auth)}).encode()
        self.reply(200, body)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--fail-first", type=int, default=0)
    a = p.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    srv.daemon_threads = True
    srv.lock = threading.Lock()
    srv.entries, srv.pushes, srv.fail_first, srv.tenants = [], 0, a.fail_first, set()
    srv.auth = set()
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    print(json.dumps({"port": srv.server_address[1]}), flush=True)
    while sys.stdin.read(4096):
        pass


if __name__ == "__main__":
    main()
