#!/usr/bin/env python3
# cluster_static_test.py -- two -target=all nodes on a static member list
# (common.ring.kvstore.store: static, no etcd), replication_factor 2: a push to one is
# stored on both (quorum 2) and reads back once from either (each reads its own store in
# place and the other over /internal/read); with one node killed, pushes get 503 naming
# the missing replica while reads still answer (rf/2 = 1 node may be away).
import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import Server, TempDir, check, free_port, now_ns, push_json, request  # noqa: E402


def lines(srv, q, start):
    st, body = request(srv.url + "/loki/api/v1/query_range?" + urllib.parse.urlencode(
        {"query": q, "start": start, "end": now_ns(), "limit": 1000}))
    check(st == 200, "query on %s: %d %s" % (srv.url, st, body))
    return sorted(v[1] for s in json.loads(body)["data"]["result"] for v in s["values"])


def main():
    with TempDir() as tmp:
        ports = [free_port(), free_port()]
        peers = ",".join("127.0.0.1:%d" % p for p in ports)
        nodes = []
        for i, p in enumerate(ports):
            args = ["--listen", "127.0.0.1:%d" % p, "-common.ring.store=static",
                    "-common.replication-factor=2"]
            cfg = os.path.join(tmp, "c%d.yaml" % i)
            with open(cfg, "w") as f:
                f.write("common:\n  ring:\n    kvstore:\n      static: [%s]\n" % peers)
            nodes.append(Server(os.path.join(tmp, "n%d" % i), "--config", cfg, *args).start())
        a, b = nodes
        st, body = request(a.url + "/ring?format=json")
        members = json.loads(body)["members"]
        check(len(members) == 2 and all(m["state"] == "ACTIVE" for m in members), body)
        t0 = now_ns() - 60 * 10**9
        vals = [(t0 + i * 10**6, "line %d" % i) for i in range(50)]
        st, body = push_json(a.url, [({"app": "s"}, vals)])
        check(st == 204, "push with both up: %d %s" % (st, body))
        want = sorted(v for _, v in vals)
        check(lines(a, '{app="s"}', t0 - 1) == want, "node a does not read each line once")
        check(lines(b, '{app="s"}', t0 - 1) == want, "node b does not read each line once")

        b.kill()
        st, body = push_json(a.url, [({"app": "s"}, [(t0 + 10**9, "after")])])
        check(st == 503 and "1 of 2 owners" in body and "127.0.0.1:%d" % ports[1] in body,
              "push with b down: %d %s" % (st, body))
        got = lines(a, '{app="s"}', t0 - 1)
        check(set(want) <= set(got) and len(got) == len(set(got)), "reads with b down: %s" % got[:5])
        a.stop()
    print("ok")


if __name__ == "__main__":
    main()
