# push_bomb_test.py -- decompression bombs against a real `cairn serve` (finding 2 of
# issue 10): a 1 MB gzip body inflating to 1 GiB gets its 413 without the server
# holding the GiB; six at once stay within the process-wide decoding budget (peak RSS,
# VmHWM, well under what six caps would cost: a memory bound, not a timing one); a
# snappy body whose declared length its data does not yield is refused; the server
# then still takes an ordinary push.
import os
import socket
import sys
import threading
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import BIN, Server, TempDir, check, now_ns, push_json, request  # noqa: E402

MIB = 1 << 20
# The server's peak RSS after six concurrent 1 GiB bombs: main reached 6.3 GB; the
# decoding budget (200 MiB) plus the rest of the process stays far below this.
HWM_LIMIT_KB = 400 * 1024


def sanitized():
    """AddressSanitizer's shadow memory and quarantine add a few hundred MiB."""
    import shutil
    path = shutil.which(BIN) or BIN
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def gzip_bomb(mib):
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    zero = bytes(MIB)
    parts = [z.compress(zero) for _ in range(mib)]
    parts.append(z.flush())
    return b"".join(parts)


def post(port, body, headers, out, i):
    """Raw HTTP/1.1 POST (a fresh connection each); stores (status, head+body).
    The reply is read up to its Content-Length or the server's close: the request
    side stays open, as HTTP clients leave it (libmicrohttpd takes a client's
    half-close for an abort)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=120)
    hdr = "".join("%s: %s\r\n" % kv for kv in headers.items())
    s.sendall(("POST /loki/api/v1/push HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
               "Content-Length: %d\r\n%s\r\n" % (len(body), hdr)).encode() + body)
    reply = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        reply += d
        head, sep, rest = reply.partition(b"\r\n\r\n")
        if sep:
            lens = [l.split(b":", 1)[1].strip() for l in head.split(b"\r\n")
                    if l.lower().startswith(b"content-length:")]
            if lens and len(rest) >= int(lens[0]):
                break
    s.close()
    text = reply.decode("utf-8", "replace")
    out[i] = (int(text.split()[1]) if text.startswith("HTTP/") else 0, text)


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    global HWM_LIMIT_KB
    if sanitized():
        HWM_LIMIT_KB = 1024 * 1024  # still a sixth of what main reached
    bomb = gzip_bomb(1024)
    check(len(bomb) < 2 * MIB, "bomb is %d bytes" % len(bomb))
    gz = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    with TempDir() as d:
        srv = Server(os.path.join(d, "data")).start()
        pid = srv.proc.pid

        # one bomb: 413 at the 100 MiB cap
        out = [None]
        post(srv.port, bomb, gz, out, 0)
        check(out[0][0] == 413, "one bomb: want 413: %s" % out[0][1][:300])
        check("more than 104857600 bytes decompressed" in out[0][1], out[0][1][:300])

        # six at once: each 413 (at the cap) or 503 with Retry-After (budget full)
        out = [None] * 6
        ts = [threading.Thread(target=post, args=(srv.port, bomb, gz, out, i)) for i in range(6)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        for st, text in out:
            check(st in (413, 503), "concurrent bomb: want 413 or 503: %s" % text[:300])
            if st == 503:
                check("Retry-After: 1" in text, "503 without Retry-After: %s" % text[:300])
        hwm = vm_hwm_kb(pid)
        print("VmHWM after 7 bombs: %d MiB; answers %s" % (hwm // 1024, [o[0] for o in out]))
        check(hwm < HWM_LIMIT_KB, "peak RSS %d KiB, limit %d KiB" % (hwm, HWM_LIMIT_KB))

        # snappy declaring 99 MiB that its 3 bytes cannot yield: 400, nothing allocated
        lie = b"\x80\x80\xc0\x31" + b"\x08abc"
        out = [None]
        post(srv.port, lie, {"Content-Type": "application/x-protobuf"}, out, 0)
        check(out[0][0] == 400, "lying snappy: want 400: %s" % out[0][1][:300])
        check("corrupt snappy data" in out[0][1], out[0][1][:300])
        # declaring more than the cap: 413 from the header alone
        big = b"\x80\x80\x80\x80\x02" + b"\x08abc"
        post(srv.port, big, {"Content-Type": "application/x-protobuf"}, out, 0)
        check(out[0][0] == 413, "snappy over the cap: want 413: %s" % out[0][1][:300])
        check(vm_hwm_kb(pid) < HWM_LIMIT_KB, "peak RSS grew past the limit")

        # still serving: an ordinary gzip push is stored
        st, body = push_json(srv.url, [({"app": "after"}, [(now_ns(), "still here")])],
                             gzip_it=True)
        check(st == 204, "push after the bombs: %d %s" % (st, body))
        st, body = request(srv.url + "/ready")
        check(st == 200, "not ready after the bombs: %s" % body)
        check(srv.stop() == 0, "server exit status")
    print("ok")


if __name__ == "__main__":
    main()
