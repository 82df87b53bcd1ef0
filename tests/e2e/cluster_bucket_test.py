#!/usr/bin/env python3
# cluster_bucket_test.py -- read nodes read the bucket (docs/SCALING.md): a real
# one-node Ceph (tests/cluster/ceph.sh) and etcd, 2 write nodes (replication_factor 2)
# uploading to one bucket, each under nodes/<id>/, and 1 read node on the same bucket.
# Old data is flushed and uploaded (its local segment files deleted on the write
# nodes), recent data stays on the write nodes; the read node's answers to log and
# metric queries equal a -target=all single node's on local disk fed the same pushes,
# it reads blocks from the bucket for them, and with one write node stopped it still
# answers the same; with both stopped it answers the uploaded data from the bucket
# alone. A backend with a day's retention deletes the expired period from both
# prefixes, a read node started afterwards no longer finds it, and the read node that
# was up all along drops it at its next listing.
import glob
import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_util import Etcd  # noqa: E402
from ceph_util import S3_YAML, ceph, metrics, wait_for  # noqa: E402
from push_util import Server, TempDir, check, now_ns, push_json, request  # noqa: E402

TENANT = "team-b"
DAY = 86400 * 10**9


def query(srv, path, params):
    st, body = request(srv.url + path + "?" + urllib.parse.urlencode(params),
                       headers={"X-Scope-OrgID": TENANT}, timeout=120)
    check(st == 200, "%s %s on %s: %d %s" % (path, params, srv.url, st, body[:300]))
    d = json.loads(body)["data"]
    return d["result"] if isinstance(d, dict) else d


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root (the Ceph daemons)")
        return
    with ceph():
        etcd = Etcd().start()
        try:
            with TempDir() as tmp:
                run(tmp, etcd)
        finally:
            etcd.stop()


def run(tmp, etcd):
    cfg = os.path.join(tmp, "cairn.yaml")
    with open(cfg, "w") as f:
        f.write("common:\n  replication_factor: 2\n" + S3_YAML)

    def node(name, target, *extra):
        return Server(os.path.join(tmp, name), "--config", cfg, "-config.expand-env=true",
                      "--target", target, *extra, "-common.ring.store=etcd",
                      "-common.ring.etcd.endpoints=" + etcd.endpoint,
                      "-common.ring.instance-id=" + name,
                      "-common.ring.prefix=bucket/" + str(os.getpid()) + "/").start()

    w = [node("w0", "write"), node("w1", "write")]
    ref = Server(os.path.join(tmp, "ref")).start()  # -target=all on local disk, alone

    def ring_ok():
        st, body = request(w[0].url + "/ring?format=json")
        m = {x["id"]: x for x in json.loads(body)["members"]} if st == 200 else {}
        return all(m.get(i, {}).get("state") == "ACTIVE" for i in ("w0", "w1"))
    wait_for("2 ACTIVE write nodes", ring_ok, 30)

    # old data (a period of its own, two days back) to be uploaded; recent data stays
    t_old = now_ns() - 2 * DAY
    t_new = now_ns() - 600 * 10**9
    for k, (t, phase) in enumerate(((t_old, "old"), (t_new, "new"))):
        streams = []
        for a, app in enumerate(("api", "db", "web")):
            vals = []
            for j in range(60):
                lvl = "error" if j % 7 == 0 else "info"
                vals.append((t + (a * 1000 + j) * 10**8,
                             json.dumps({"level": lvl, "n": j, "app": app, "phase": phase})))
            streams.append(({"app": app, "phase": phase, "all": "yes"}, vals))
        for dst in (w[k % 2], ref):
            st, body = push_json(dst.url, streams, tenant=TENANT)
            check(st == 204, "push to %s: %d %s" % (dst.url, st, body))
    for s in w:
        st, _ = request(s.url + "/flush", b"", method="POST")
        check(st == 204, "flush: %d" % st)

    def uploaded(s):
        segs = glob.glob(os.path.join(s.data_dir, "tenants", TENANT, "*", "seg-*.cseg"))
        old = [p for p in segs if int(os.path.basename(os.path.dirname(p))) < t_old + DAY]
        return not old and metrics(s.url).get("cairn_objstore_uploads_total", 0) >= 1
    for s in w:
        wait_for("the upload of %s" % s.url, lambda: uploaded(s))

    # the read node starts after the upload: its first listing finds both prefixes
    rd = node("r0", "read")
    wait_for("the read node in the ring", lambda: request(rd.url + "/ready")[0] == 200, 30)

    end = now_ns()
    span = {"start": str(t_old - 3600 * 10**9), "end": str(end)}
    old = {"start": str(t_old - 600 * 10**9), "end": str(t_old + 600 * 10**9)}
    qs = [
        ("/loki/api/v1/query_range", dict(old, query='{phase="old"}', limit=1000)),
        ("/loki/api/v1/query_range", dict(span, query='{all="yes"} |= "error"', limit=1000,
                                          direction="forward")),
        ("/loki/api/v1/query_range", dict(span, query='{all="yes"} | json | n > 50', limit=70)),
        ("/loki/api/v1/query_range", dict(old, query='sum by (app) (count_over_time({phase="old"}[1m]))',
                                          step="30s")),
        ("/loki/api/v1/query_range", dict(span, query='sum by (phase) (bytes_over_time({all="yes"}[1h]))',
                                          step="3600s")),
        ("/loki/api/v1/query_range",
         dict(old, query='sum by (app) (sum_over_time({phase="old"} | json | unwrap n [5m]))',
              step="60s")),
        ("/loki/api/v1/query", {"query": 'sum(count_over_time({all="yes"} | json | level="error" [3d]))',
                                "time": str(end)}),
        ("/loki/api/v1/series", dict(span, **{"match[]": '{all="yes"}'})),
    ]

    def compare(what):
        for path, params in qs:
            a, b = query(rd, path, params), query(ref, path, params)
            check(a, "%s %s: empty answer proves nothing" % (path, params.get("query")))
            if path.endswith("series"):
                a, b = sorted(map(json.dumps, a)), sorted(map(json.dumps, b))
            check(a == b, "%s: %s %s: read node and single node differ:\n%s\n%s" %
                  (what, path, params.get("query"), json.dumps(a)[:600], json.dumps(b)[:600]))

    compare("both write nodes up")
    m = metrics(rd.url)
    print("read node: %d bytes read from the bucket" % m.get("cairn_objstore_bytes_read_total", 0))
    check(m.get("cairn_objstore_bytes_read_total", 0) > 0, "the read node read nothing from the bucket")
    check(any("write node found in the bucket" in ln and "node=w0" in ln for ln in rd.log) and
          any("write node found in the bucket" in ln and "node=w1" in ln for ln in rd.log),
          "the read node did not find both prefixes:\n" + "".join(rd.log[-20:]))

    check(w[1].stop() == 0, "w1 did not stop cleanly")
    compare("w1 stopped")

    # every write node gone: the uploaded data still reads back, from the bucket alone
    check(w[0].stop() == 0, "w0 did not stop cleanly")

    def no_writers():  # the leases are revoked on a clean stop; rd reads etcd each second
        st, body = request(rd.url + "/ring?format=json")
        return st == 200 and not any(x["id"] in ("w0", "w1") for x in json.loads(body)["members"])
    wait_for("the write nodes gone from the read node's ring", no_writers, 30)
    old_qs = [(p, q) for p, q in qs if q.get("start") == old["start"]]
    for path, params in old_qs:
        a, b = query(rd, path, params), query(ref, path, params)
        check(a and a == b, "no write node: %s %s: read node and single node differ:\n%s\n%s" %
              (path, params["query"], json.dumps(a)[:600], json.dumps(b)[:600]))

    # a backend with a day's retention deletes the expired period from every prefix; a
    # read node started afterwards finds nothing there
    be = node("b0", "backend", "-retention=24h")
    wait_for("the backend's deletions", lambda: sum(
        "period objects deleted" in ln and TENANT in ln for ln in be.log) >= 2, 60)
    rd2 = node("r1", "read")
    got = query(rd2, "/loki/api/v1/query_range", dict(old, query='{phase="old"}', limit=1000))
    check(got == [], "expired period still read from the bucket: %s" % json.dumps(got)[:300])

    # the read node that was up all along drops the period at its next listing (at most
    # 10 s after its last one, done by a query)
    def old_gone():
        st, body = request(rd.url + "/loki/api/v1/query_range?" + urllib.parse.urlencode(
            dict(old, query='{phase="old"}', limit=1000)), headers={"X-Scope-OrgID": TENANT})
        return st == 200 and json.loads(body)["data"]["result"] == []
    wait_for("the read node to drop the deleted period", old_gone, 40)
    check(any("period gone from the bucket" in ln for ln in rd.log), "no period dropped by rd")
    for s in (rd, rd2, be, ref):
        check(s.stop() == 0, "%s did not stop cleanly:\n%s" % (s.url, "".join(s.log[-20:])))
    print("ok")


if __name__ == "__main__":
    main()
