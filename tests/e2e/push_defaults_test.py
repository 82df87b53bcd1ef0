# push_defaults_test.py -- a fresh `cairn serve` with no options (finding 8 of issue
# 10): no per-tenant ingestion rate limit and no active-stream limit, so one agent
# pushing in bulk meets no 429 (main throttled to Loki's 4 MB/s with a 6 MB burst and
# 5000 streams); the limits still exist and Loki's values are one config line away;
# the limits that protect the process stay on (413 past the body limit).
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import Server, TempDir, check, now_ns, push_json, request  # noqa: E402

MB = 1 << 20


def main():
    with TempDir() as d:
        srv = Server(os.path.join(d, "data")).start()
        u = srv.url
        t = now_ns()
        line = "x" * (200 * 1024)
        # 40 MB from one tenant, back to back: 8 MB per push (past Loki's 6 MB burst in
        # a single request, so main refused each of them whatever the timing)
        for i in range(5):
            vals = [(t + i * 1000 + k, line) for k in range(40)]
            st, body = push_json(u, [({"job": "bulk"}, vals)], gzip_it=True)
            check(st == 204, "bulk push %d: %d %s" % (i, st, body[:300]))
        # 6000 streams in one tenant (past Loki's 5000)
        streams = [({"job": "many", "n": str(k)}, [(t, "s")]) for k in range(6000)]
        st, body = push_json(u, streams)
        check(st == 204, "6000 streams: %d %s" % (st, body[:300]))
        st, cfg = request(u + "/config")
        check(st == 200 and "ingestion_rate_mb: 0" in cfg and
              "max_global_streams_per_user: 0" in cfg, "config dump:\n" + cfg)
        check(srv.stop() == 0, "server exit status")

        # Loki's limits, one line of config away
        conf = os.path.join(d, "loki-limits.yaml")
        with open(conf, "w") as f:
            f.write("limits_config: {ingestion_rate_mb: 4, max_global_streams_per_user: 5000}\n")
        srv = Server(os.path.join(d, "data2"), "--config.file", conf).start()
        vals = [(t + k, line) for k in range(40)]
        st, body = push_json(srv.url, [({"job": "bulk"}, vals)], gzip_it=True)
        check(st == 429 and "Ingestion rate limit exceeded" in body, "%d %s" % (st, body[:300]))
        check(srv.stop() == 0, "server exit status")
    print("ok")


if __name__ == "__main__":
    main()
