# store_damage_test.py -- a server over damaged files keeps serving what is intact:
# a flipped byte in the WAL loses one push, not the rest of the file; a flipped byte
# in a segment block loses that block and queries still answer 200; a bad segment
# header and a garbage WAL file do not stop the server from starting (the files go to
# DATA_DIR/quarantine/). The damage shows in /metrics.
import glob
import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import Server, TempDir, check, now_ns, push_json, request  # noqa: E402

PUSHES, LINES = 150, 10
TOTAL = PUSHES * LINES


def flip(path, off):
    with open(path, "r+b") as f:
        f.seek(off)
        b = f.read(1)
        f.seek(off)
        f.write(bytes([b[0] ^ 0x5A]))


def count(srv, t0):
    q = urllib.parse.urlencode({"query": '{job="dmg"}', "start": str(t0 - 10**9),
                                "end": str(t0 + 3600 * 10**9), "limit": "5000"})
    status, body = request(srv.url + "/loki/api/v1/query_range?" + q)
    check(status == 200, "query: %d %s" % (status, body[:300]))
    doc = json.loads(body)
    seen = set()
    for s in doc["data"]["result"]:
        for ts, line in s["values"]:
            check(line not in seen, "duplicate " + line)
            seen.add(line)
    return len(seen)


def metric(srv, name):
    status, body = request(srv.url + "/metrics")
    check(status == 200, "metrics: %d" % status)
    for line in body.splitlines():
        if line.startswith(name + " "):
            return int(float(line.split()[1]))
    return None


def server(data, small_blocks=True):
    # small blocks: a damaged one costs little; the first run keeps every entry in
    # the head (and so only in the WAL) until it is killed
    return Server(data, "-ingester.chunks-block-size=%s" % ("4KiB" if small_blocks else "1MiB")).start()


def main():
    with TempDir() as d:
        data = os.path.join(d, "data")
        srv = server(data, small_blocks=False)
        t0 = now_ns() - 600 * 10**9
        for p in range(PUSHES):
            vals = [(t0 + (p * LINES + i) * 10**6, "push %d line %d level=info" % (p, i))
                    for i in range(LINES)]
            status, body = push_json(srv.url, [({"job": "dmg"}, vals)])
            check(status == 204, "push: %d %s" % (status, body))
        srv.kill()  # the entries stay in the WAL

        # 1. A flipped byte in the middle of the WAL costs one push.
        wals = sorted(glob.glob(os.path.join(data, "wal", "*.wal")))
        check(wals, "no WAL file")
        size = os.path.getsize(wals[-1])
        flip(wals[-1], size // 2)
        srv = server(data)
        n = count(srv, t0)
        check(n == TOTAL - LINES, "after a WAL byte flip: %d of %d lines" % (n, TOTAL))
        check(metric(srv, "cairn_store_corrupt_records_skipped_total") == 1, "records metric")
        check(srv.stop() == 0, "stop")
        after_wal = n

        # 2. A flipped byte in a segment block costs that block; queries answer 200.
        segs = sorted(glob.glob(os.path.join(data, "tenants", "fake", "*", "seg-*.cseg")))
        check(segs, "no segment file")
        flip(segs[0], os.path.getsize(segs[0]) // 2)
        srv = server(data)
        n = count(srv, t0)
        check(after_wal - 300 < n < after_wal, "after a block byte flip: %d of %d" % (n, after_wal))
        check(count(srv, t0) == n, "a second query differs")
        check(metric(srv, "cairn_store_corrupt_blocks_skipped_total") >= 1, "blocks metric")
        check(srv.stop() == 0, "stop")
        after_seg = n

        # 3. A bad segment header and a garbage WAL file: the server starts.
        flip(segs[0], 1)
        with open(os.path.join(data, "wal", "00000000000000ff.wal"), "wb") as f:
            f.write(b"this is not a WAL file at all, only garbage bytes\n" * 4)
        srv = server(data)
        n = count(srv, t0)
        check(n == after_seg, "after bad headers: %d of %d" % (n, after_seg))
        check(metric(srv, "cairn_store_files_quarantined_total") >= 2, "quarantine metric")
        check(srv.stop() == 0, "stop")
        q = os.listdir(os.path.join(data, "quarantine"))
        check(any("seg-" in x for x in q) and any(".wal" in x for x in q), "quarantine: %r" % q)
        print("ok: %d lines, %d after a WAL flip, %d after a block flip" % (TOTAL, after_wal, after_seg))


main()
