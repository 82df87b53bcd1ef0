#!/usr/bin/env python3
# objstore_bench.py -- object storage on a real one-node Ceph (tests/cluster/ceph.sh):
# upload throughput of closed periods, and one query cold from Ceph (empty cache),
# warm (cache filled) and from local disk (the same data on a store without an object
# store). Usage: bench/objstore_bench.py BUILD_DIR [MB]. Prints a table; no assertion.
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
os.environ.setdefault("CAIRN_BIN", os.path.join(os.path.abspath(sys.argv[1]), "cairn"))
from push_util import Server, push_json, request  # noqa: E402

CEPH = os.path.join(HERE, "..", "tests", "cluster", "ceph.sh")
DAY = 86400 * 10**9


def metric(base, name):
    _, body = request(base + "/metrics")
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def push(base, t0, mb):
    import random
    rnd = random.Random(1)
    words = ["%08x" % rnd.getrandbits(32) for _ in range(4096)]
    n = int(mb * 1e6 / 220)
    streams = 50
    per = 1000
    i = 0
    while i < n:
        batch = []
        for s in range(streams):
            vals = [(t0 + (i + k) * 1000 + s, "%s %d %d" % (" ".join(rnd.choice(words) for _ in range(22)), s, i + k)) for k in range(per // streams)]
            batch.append(({"app": "bench", "s": str(s)}, vals))
        st, body = push_json(base, batch)
        assert st == 204, (st, body)
        i += per
    return n


def timed_query(base, t0, q):
    qs = urllib.parse.urlencode({"query": q, "start": str(t0 - 10**9), "end": str(t0 + 3600 * 10**9),
                                 "limit": "1000", "step": "60"})
    t = time.time()
    st, body = request(base + "/loki/api/v1/query_range?" + qs, timeout=300)
    assert st == 200, (st, body[:200])
    return time.time() - t


def main():
    mb = float(sys.argv[2]) if len(sys.argv) > 2 else 100
    r = subprocess.run(["bash", CEPH, "start"], capture_output=True, text=True, check=True)
    cdir = r.stdout.strip().splitlines()[-1]
    env = dict(l.split("=", 1) for l in open(os.path.join(cdir, "env")).read().split())
    os.environ.update({k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")})
    tmp = tempfile.mkdtemp(prefix="cairn-objbench-")
    try:
        cfg = os.path.join(tmp, "c.yaml")
        open(cfg, "w").write("storage_config:\n  aws:\n    endpoint: %s\n    bucketnames: cairn\n"
                             "    s3forcepathstyle: true\n" % env["S3_ENDPOINT"])
        t0 = time.time_ns() - 2 * DAY
        queries = ['sum(count_over_time({app="bench"}[1m]))', '{app="bench"} |= "999"']
        res = {"ceph_ready_s": float(env["CEPH_READY_S"])}
        # local disk reference
        srv = Server(os.path.join(tmp, "local")).start()
        n = push(srv.url, t0, mb)
        request(srv.url + "/flush", b"", method="POST")
        timed_query(srv.url, t0, queries[0])
        res["local"] = [timed_query(srv.url, t0, q) for q in queries]
        srv.stop()
        # object storage
        data = os.path.join(tmp, "s3")
        srv = Server(data, "--config", cfg).start()
        push(srv.url, t0, mb)
        t = time.time()
        request(srv.url + "/flush", b"", method="POST")
        while metric(srv.url, "cairn_objstore_uploads_total") < 1 or \
                metric(srv.url, "cairn_objstore_upload_queue") > 0:
            time.sleep(0.1)
        up_s = time.time() - t
        up_bytes = metric(srv.url, "cairn_objstore_upload_bytes_total")
        res["upload_MB_s"] = up_bytes / 1e6 / up_s
        res["upload_MB"] = up_bytes / 1e6
        srv.stop()
        res["cold"], res["warm"], res["ranged_gets"] = [], [], []
        for q in queries:  # each query cold: a restart empties the cache
            srv = Server(data, "--config", cfg).start()
            res["cold"].append(timed_query(srv.url, t0, q))
            res["ranged_gets"].append(metric(srv.url, "cairn_cache_misses_total"))
            res["warm"].append(timed_query(srv.url, t0, q))
            srv.stop()
        print("entries %d (%.0f MB raw)" % (n, mb))
        print(json.dumps(res, indent=1))
        print("| query | local disk | Ceph cold | Ceph warm |")
        for i, q in enumerate(queries):
            print("| `%s` | %.3f s | %.3f s | %.3f s |" % (q, res["local"][i], res["cold"][i], res["warm"][i]))
    finally:
        subprocess.run(["bash", CEPH, "stop", cdir])
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
