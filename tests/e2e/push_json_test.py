# push_json_test.py -- push JSON and gzip'd JSON to `cairn serve`, check /ready,
# /metrics and /config, stop with SIGTERM (exit 0), and read every line back from the
# data dir with the store's reader: each pushed line is there exactly once.
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import Server, TempDir, check, dump, now_ns, push_json, request  # noqa: E402


def main():
    with TempDir() as d:
        srv = Server(os.path.join(d, "data")).start()
        status, body = request(srv.url + "/ready")
        check(status == 200 and body.strip() == "ready", "ready: %d %r" % (status, body))

        t0 = now_ns() - 5 * 10**9
        want = []  # (tenant, labels text, ts, line)
        # Plain JSON: two streams, lines with quotes, backslashes and non-ASCII.
        streams = []
        for s, app in enumerate(["api", "web"]):
            vals = [(t0 + i * 1000 + s, 'json %s %d "quoted" back\\slash caf\u00e9' % (app, i))
                    for i in range(200)]
            streams.append(({"app": app, "env": "prod"}, vals))
            want += [("fake", '{app="%s", env="prod"}' % app, ts, line) for ts, line in vals]
        status, body = push_json(srv.url, streams)
        check(status == 204, "json push: %d %s" % (status, body))

        # gzip'd JSON for another tenant.
        vals = [(t0 + 500000 + i, "gzip line %d" % i) for i in range(300)]
        status, body = push_json(srv.url, [({"job": "gz"}, vals)], tenant="team-a", gzip_it=True)
        check(status == 204, "gzip push: %d %s" % (status, body))
        want += [("team-a", '{job="gz"}', ts, line) for ts, line in vals]

        # A value with structured metadata (third element) is accepted.
        raw = ('{"streams":[{"stream":{"job":"meta"},"values":[["%d","with metadata",'
               '{"trace_id":"0242ac120002"}]]}]}' % (t0 + 900000)).encode()
        status, body = push_json(srv.url, None, raw=raw)
        check(status == 204, "structured metadata push: %d %s" % (status, body))
        want.append(("fake", '{job="meta"}', t0 + 900000, "with metadata"))

        status, metrics = request(srv.url + "/metrics")
        check(status == 200, "metrics status %d" % status)
        check('cairn_ingested_lines_total{tenant="fake"} 401' in metrics,
              "fake tenant line count in metrics:\n" + metrics[:2000])
        check('cairn_ingested_lines_total{tenant="team-a"} 300' in metrics, "team-a count")
        check('cairn_request_duration_seconds_bucket{route="loki_api_v1_push",status_code="204",'
              'le="+Inf"} 3' in metrics, "push histogram")
        for name in ["cairn_active_streams", "cairn_wal_bytes_total", "cairn_wal_fsyncs_total",
                     "cairn_chunks_flushed_total", "cairn_chunk_bytes_flushed_total"]:
            check("\n" + name + " " in metrics, "metric %s missing" % name)
        status, cfg = request(srv.url + "/config")
        check(status == 200 and "http_listen_port:" in cfg and "data_dir:" in cfg and
              "limits_config:" in cfg, "config: " + cfg[:500])

        rc = srv.stop()
        check(rc == 0, "SIGTERM exit status %d; log:\n%s" % (rc, "".join(srv.log)))

        got = collections.Counter(dump(srv.data_dir))
        for w in want:
            check(got[w] == 1, "entry %r stored %d times" % (w, got[w]))
        check(sum(got.values()) == len(want), "stored %d entries, pushed %d" %
              (sum(got.values()), len(want)))
    print("ok")


main()
