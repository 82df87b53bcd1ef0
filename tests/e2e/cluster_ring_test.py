#!/usr/bin/env python3
# cluster_ring_test.py -- 3 write nodes (replication_factor 3) and 1 read node
# registered in a real etcd: pushes to any node read back from the read node; one
# write node SIGKILLed in the middle of a stream of pushes: every line acknowledged
# with 2xx reads back exactly once; the node restarts (WAL replay) and is ACTIVE in
# the ring again; log and metric queries answer the same from the read node as from
# a -target=all single node fed the same pushes.
import json
import os
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_util import Etcd  # noqa: E402
from push_util import Server, TempDir, check, fail, now_ns, push_json, request  # noqa: E402

SECRET = "s3cr3t"
TENANT = "team-a"


def node(etcd, data_dir, target, iid):
    return Server(data_dir, "--target", target, "-common.ring.store=etcd",
                  "-common.ring.etcd.endpoints=" + etcd.endpoint,
                  "-common.ring.instance-id=" + iid, "-common.replication-factor=3",
                  "-common.ring.cluster-secret=" + SECRET,
                  "-common.ring.prefix=test/" + str(os.getpid()) + "/").start()


def ring(srv):
    st, body = request(srv.url + "/ring?format=json")
    check(st == 200, "/ring: %d %s" % (st, body))
    return {m["id"]: m for m in json.loads(body)["members"]}


def wait_ring(srv, want, what, timeout=30):
    """Poll /ring until want(members) holds (the ring refreshes every second)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = ring(srv)
        if want(m):
            return m
        time.sleep(0.1)
    fail("ring never showed %s: %s" % (what, ring(srv)))


def query(srv, path, **params):
    st, body = request(srv.url + path + "?" + urllib.parse.urlencode(params),
                       headers={"X-Scope-OrgID": TENANT})
    check(st == 200, "%s %s: %d %s" % (path, params, st, body))
    d = json.loads(body)["data"]
    return d["result"] if isinstance(d, dict) else d


def lines_of(result):
    return [v[1] for s in result for v in s["values"]]


def main():
    etcd = Etcd().start()
    with TempDir() as tmp:
        w = [node(etcd, os.path.join(tmp, "w%d" % i), "write", "w%d" % i) for i in range(3)]
        rd = node(etcd, os.path.join(tmp, "r"), "read", "r0")
        ref = Server(os.path.join(tmp, "ref")).start()  # -target=all, alone
        for s in w + [rd]:  # every node's view (each reads etcd back every second)
            wait_ring(s, lambda m: all(m.get("w%d" % i, {}).get("state") == "ACTIVE"
                                       for i in range(3)) and "r0" in m, "3 ACTIVE writers")
        m = ring(rd)
        check(m["r0"]["tokens"] == 0 and m["w0"]["tokens"] == 128, "tokens: %s" % m)
        check(abs(sum(x["ownership"] for x in m.values()) - 1) < 1e-3, "ownership: %s" % m)
        st, body = request(rd.url + "/services")
        check(st == 200 and "querier => Running" in body and "ingester" not in body, body)
        st, body = request(w[0].url + "/ring")
        check(st == 200 and "<table" in body and "<td>w0<" in body, "/ring html: " + body[:200])
        st, body = request(w[0].url + "/internal/push", b"", {"Content-Type": "application/x-protobuf"},
                           "POST")
        check(st == 403, "internal push without the secret: %d %s" % (st, body))

        # 1. pushes to any node (the read node too) read back from the read node; the
        #    same pushes go to the single node for the comparison of step 4
        t0 = now_ns() - 600 * 10**9
        apps = ["api", "db", "web", "cache"]
        for k, target in enumerate(w + [rd]):
            streams = []
            for a, app in enumerate(apps):
                vals = []
                for j in range(25):
                    ts = t0 + (k * 1000 + a * 100 + j) * 10**8
                    lvl = "error" if j % 5 == 0 else "info"
                    vals.append((ts, json.dumps({"level": lvl, "n": j, "via": k, "app": app})))
                streams.append(({"app": app, "phase": "cmp", "lvl": "x%d" % (a % 2)}, vals))
            for dst in (target, ref):
                st, body = push_json(dst.url, streams, tenant=TENANT)
                check(st == 204, "push to %s: %d %s" % (dst.url, st, body))
        got = lines_of(query(rd, "/loki/api/v1/query_range", query='{phase="cmp"}',
                             start=t0 - 10**9, end=now_ns(), limit=5000))
        check(len(got) == 4 * 4 * 25 and len(set(got)) == len(got),
              "read node: %d lines, %d distinct (want 400)" % (len(got), len(set(got))))

        # 2. a stream of pushes to every write node; w2 SIGKILLed in the middle
        acked, lock = [], threading.Lock()
        stop = threading.Event()
        killed = threading.Event()
        t1 = now_ns() - 300 * 10**9

        def pusher(idx):
            n = 0
            while not stop.is_set() and n < 400:
                tgt = w[(idx + n) % 3]
                line = "p%d-%d" % (idx, n)
                ts = t1 + (idx * 100000 + n) * 10**6
                try:
                    st, _ = push_json(tgt.url, [({"phase": "kill", "pusher": str(idx)}, [(ts, line)])],
                                      tenant=TENANT)
                except OSError:
                    st = 0
                if 200 <= st < 300:
                    with lock:
                        acked.append(line)
                n += 1
                if idx == 0 and n == 120:
                    w[2].kill()  # SIGKILL
                    killed.set()

        threads = [threading.Thread(target=pusher, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        check(killed.is_set(), "the kill never happened")
        check(len(acked) > 600, "too few pushes acknowledged with a node down: %d" % len(acked))
        print("pushes acknowledged: %d of 1200 (those to the killed node failed)" % len(acked))

        def count_kill_lines():
            res = query(rd, "/loki/api/v1/query_range", query='{phase="kill"}',
                        start=t1 - 10**9, end=now_ns(), limit=5000, direction="forward")
            counts = {}
            for ln in lines_of(res):
                counts[ln] = counts.get(ln, 0) + 1
            return counts

        counts = count_kill_lines()  # with w2 still down (or its lease still live)
        for ln in acked:
            check(counts.get(ln) == 1, "acked line %s read back %s times (w2 down)" % (ln, counts.get(ln)))

        # 3. w2 restarts on its data dir (WAL replay) and rejoins the ring as ACTIVE
        w[2] = node(etcd, os.path.join(tmp, "w2"), "write", "w2")
        check(any("replay" in ln for ln in w[2].log), "no replay logged")
        for s in w + [rd]:
            wait_ring(s, lambda m: m.get("w2", {}).get("state") == "ACTIVE" and
                      m["w2"]["addr"].endswith(":%d" % w[2].port), "w2 ACTIVE again")
        counts = count_kill_lines()
        for ln in acked:
            check(counts.get(ln) == 1, "acked line %s read back %s times" % (ln, counts.get(ln)))
        dup = [ln for ln, c in counts.items() if c != 1]
        check(not dup, "lines read back more than once: %s" % dup[:5])

        # 4. the same answers as a single node on the same pushes
        end = now_ns()
        qs = [
            ("/loki/api/v1/query_range", {"query": '{phase="cmp"}', "limit": 37}),
            ("/loki/api/v1/query_range", {"query": '{phase="cmp", app=~"a.*|db"} |= "error"',
                                           "limit": 1000, "direction": "forward"}),
            ("/loki/api/v1/query_range", {"query": '{phase="cmp"} | json | n > 20', "limit": 1000}),
            ("/loki/api/v1/query_range", {"query": 'sum by (app) (count_over_time({phase="cmp"}[1m]))',
                                           "step": "30s"}),
            ("/loki/api/v1/query_range", {"query": 'rate({phase="cmp"} |= "error" [2m])', "step": "60s"}),
            ("/loki/api/v1/query_range",
             {"query": 'sum by (lvl) (bytes_over_time({phase="cmp"}[5m] offset 1m))', "step": "45s"}),
            ("/loki/api/v1/query_range",
             {"query": 'topk(2, sum by (app) (sum_over_time({phase="cmp"} | json | unwrap n [3m])))',
              "step": "90s"}),
            ("/loki/api/v1/query", {"query": 'count(count_over_time({phase="cmp"}[10m]))',
                                     "time": str(t0 + 300 * 10**9)}),
            ("/loki/api/v1/query", {"query": 'sum(count_over_time({phase="cmp"} | json | level="error" [15m]))',
                                     "time": str(end)}),
        ]
        for path, params in qs:
            p = dict(params)
            if "range" in path:
                p.update(start=str(t0 - 60 * 10**9), end=str(end))
            a, b = query(rd, path, **p), query(ref, path, **p)
            check(a == b, "%s %s: read node and single node differ:\n%s\n%s" %
                  (path, params["query"], json.dumps(a)[:600], json.dumps(b)[:600]))
            check(a, "%s %s: empty answer proves nothing" % (path, params["query"]))
        # Grafana's exploration routes (issue 17) read the cluster the same way
        for path, params in (("/loki/api/v1/index/volume", {"query": '{phase="cmp"}'}),
                             ("/loki/api/v1/index/volume_range",
                              {"query": '{phase="cmp"}', "aggregateBy": "labels", "step": "60s"}),
                             ("/loki/api/v1/detected_labels", {"query": '{phase="cmp"}'}),
                             ("/loki/api/v1/detected_fields", {"query": '{phase="cmp"}'}),
                             ("/loki/api/v1/patterns", {"query": '{phase="cmp"}', "step": "60s"})):
            p = dict(params, start=str(t0 - 60 * 10**9), end=str(end))
            url = path + "?" + urllib.parse.urlencode(p)
            (sa, a), (sb, b) = [request(x.url + url, headers={"X-Scope-OrgID": TENANT})
                                for x in (rd, ref)]
            check(sa == 200 and sb == 200, "%s: %d %s / %d %s" % (path, sa, a[:300], sb, b[:300]))
            a, b = json.loads(a), json.loads(b)
            for d in (a, b):
                if isinstance(d.get("data"), dict):
                    d["data"].pop("stats", None)
            check(a == b, "%s: read node and single node differ:\n%s\n%s" %
                  (path, json.dumps(a)[:600], json.dumps(b)[:600]))
        a = query(rd, "/loki/api/v1/series", **{"match[]": '{phase="cmp"}', "start": t0 - 10**9,
                                                  "end": end})
        check(len(a) == 4, "series from the read node: %s" % a)
        a = query(rd, "/loki/api/v1/label/app/values", start=t0 - 10**9, end=end)
        check(sorted(a) == sorted(apps), "label values from the read node: %s" % a)

        # 5. a clean leave removes the node from the ring at once (lease revoked)
        check(w[0].stop() == 0, "w0 did not stop cleanly")
        wait_ring(rd, lambda m: "w0" not in m, "w0 gone", timeout=5)
        for s in (w[1], w[2], rd, ref):
            check(s.stop() == 0, "%s did not stop cleanly (exit status; a sanitizer build "
                  "exits non-zero on a leak):\n%s" % (s.url, "".join(s.log[-20:])))
    etcd.stop()
    print("ok")


if __name__ == "__main__":
    main()
