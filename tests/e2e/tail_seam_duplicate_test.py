# tail_seam_duplicate_test.py -- regression: an entry pushed while a new tail read its
# history was sent twice, once in the history and once live (a tail takes pushes from
# the moment it opens). `cairn canary` reconnecting its tail counted these as
# duplicates. With a pusher running flat out, tails are opened one after another with
# history covering the last moments; no (timestamp, line) may come twice in one tail.
# On the code before the fix, 3 runs of 80 tails out of 3 saw 5 to 98 entries twice.
import json
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import Server, TempDir, check, push_json  # noqa: E402

TAILS = 80


def read_frames(s, want_text):
    """Text frames until want_text of them came or the server paused for 0.3 s."""
    buf, out = b"", []
    s.settimeout(0.3)
    while len(out) < want_text:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if not d:
            break
        buf += d
        while len(buf) >= 2:
            n, off = buf[1] & 127, 2
            if n == 126:
                if len(buf) < 4:
                    break
                n, off = struct.unpack(">H", buf[2:4])[0], 4
            elif n == 127:
                if len(buf) < 10:
                    break
                n, off = struct.unpack(">Q", buf[2:10])[0], 10
            if len(buf) < off + n:
                break
            if buf[0] & 15 == 1:
                out.append(buf[off:off + n])
            buf = buf[off + n:]
    return out


def main():
    with TempDir() as d:
        srv = Server(os.path.join(d, "data")).start()
        stop = threading.Event()

        def pusher():
            i = 0
            while not stop.is_set():
                line = "seam %d" % i
                push_json(srv.url, [({"job": "seam"}, [(time.time_ns(), line)])])
                i += 1

        th = threading.Thread(target=pusher)
        th.start()
        dups, entries = [], 0
        try:
            for _ in range(TAILS):
                s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
                q = urllib.parse.urlencode({"query": '{job="seam"}', "limit": 5000,
                                            "start": time.time_ns() - 200 * 10**6})
                s.sendall(("GET /loki/api/v1/tail?%s HTTP/1.1\r\nHost: x\r\n"
                           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Version: 13\r\n"
                           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n" % q).encode())
                head = b""
                while b"\r\n\r\n" not in head:
                    head += s.recv(1)
                check(head.startswith(b"HTTP/1.1 101"), "tail refused: %r" % head)
                seen = set()
                for msg in read_frames(s, 4):  # the history, then live messages
                    for st in json.loads(msg)["streams"]:
                        for ts, line in st["values"]:
                            entries += 1
                            if (ts, line) in seen:
                                dups.append((ts, line))
                            seen.add((ts, line))
                s.close()
        finally:
            stop.set()
            th.join()
        check(entries > TAILS, "the tails saw only %d entries" % entries)
        check(not dups, "%d entries sent twice at the history/live seam, e.g. %s"
              % (len(dups), dups[:3]))
        srv.stop()
    print("ok: %d tails, %d entries, none twice" % (TAILS, entries))


if __name__ == "__main__":
    main()
