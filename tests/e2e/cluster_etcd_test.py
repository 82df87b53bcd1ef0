#!/usr/bin/env python3
# cluster_etcd_test.py -- the ring's etcd client against a real etcd with
# authentication on (user and password from the config, a token per session) and a
# lease that expires: etcd frozen (SIGSTOP) past the lease TTL, the node finds its lease
# gone at the next keepalive, takes a new one and registers again (ACTIVE, counted in
# cairn_ring_lease_renewals_total), and pushes go on being acknowledged.
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster_util import Etcd  # noqa: E402
from push_util import Server, TempDir, check, fail, now_ns, push_json, request  # noqa: E402


def metric(srv, name):
    st, body = request(srv.url + "/metrics")
    check(st == 200, "/metrics: %d" % st)
    for ln in body.splitlines():
        if ln.startswith(name + " "):
            return float(ln.split()[1])
    fail("no %s in /metrics" % name)


def main():
    etcd = Etcd().start()
    for path, doc in (("/v3/auth/role/add", {"name": "root"}),
                      ("/v3/auth/user/add", {"name": "root", "password": "pw"}),
                      ("/v3/auth/user/grant", {"user": "root", "role": "root"}),
                      ("/v3/auth/enable", {})):
        etcd.call(path, doc)
    with TempDir() as tmp:
        cfg = os.path.join(tmp, "c.yaml")
        with open(cfg, "w") as f:
            f.write("common:\n  ring:\n    heartbeat_period: 300ms\n    heartbeat_timeout: 2s\n"
                    "    kvstore:\n      store: etcd\n      etcd:\n        endpoints: [%s]\n"
                    "        username: root\n        password: ${ETCD_PW}\n" % etcd.endpoint)
        os.environ["ETCD_PW"] = "pw"
        srv = Server(os.path.join(tmp, "w"), "--target", "write", "--config", cfg,
                     "-config.expand-env=true", "-common.ring.instance-id=w").start()
        st, body = request(srv.url + "/ring?format=json")
        check(st == 200 and '"state":"ACTIVE"' in body, "ring with etcd auth: %s" % body)
        # without credentials etcd refuses: the node really went through auth
        try:
            etcd.call("/v3/kv/range", {"key": "YQ=="})
            fail("etcd answered without a token: auth is not on")
        except Exception:
            pass

        check(metric(srv, "cairn_ring_lease_renewals_total") == 0, "renewed too early")
        etcd.proc.send_signal(signal.SIGSTOP)
        time.sleep(3)  # past the 2 s TTL: the deliberate outage, not a wait for an event
        etcd.proc.send_signal(signal.SIGCONT)
        deadline = time.monotonic() + 30
        while metric(srv, "cairn_ring_lease_renewals_total") < 1:
            if time.monotonic() > deadline:
                fail("the lease never expired or was never renewed:\n" + "".join(srv.log[-20:]))
            time.sleep(0.1)
        deadline = time.monotonic() + 30
        while True:
            st, body = request(srv.url + "/ring?format=json")
            members = json.loads(body)["members"]
            if [m["id"] for m in members] == ["w"] and members[0]["state"] == "ACTIVE":
                break
            if time.monotonic() > deadline:
                fail("not registered again: %s" % body)
            time.sleep(0.1)
        st, body = push_json(srv.url, [({"app": "e"}, [(now_ns(), "after the outage")])])
        check(st == 204, "push after re-registering: %d %s" % (st, body))
        check(srv.stop() == 0, "did not stop cleanly")
    etcd.stop()
    print("ok")


if __name__ == "__main__":
    main()
