# push_errors_test.py -- every refusal of the push API with its status and Loki's
# message: bad labels (400), line too long, too old, too new (400), body too large
# (413), tenant rate limit and active stream limit (429), a partly bad batch (400,
# good streams kept), out-of-order entries the store refuses (400), bad tenant (400).
import collections
import json
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import (Server, TempDir, check, dump, now_ns, push_json,  # noqa: E402
                       push_pb, request)

HOUR = 3600 * 10**9


def expect(res, status, *needles):
    got_status, body = res
    check(got_status == status, "want %d, got %d: %s" % (status, got_status, body[:500]))
    for n in needles:
        check(n in body, "reply lacks %r:\n%s" % (n, body[:1500]))
    return body


def main():
    with TempDir() as d:
        srv = Server(os.path.join(d, "data"), "-distributor.ingestion-rate-limit-mb=1",
                     "-distributor.ingestion-burst-size-mb=2",
                     "-ingester.max-global-streams-per-user=3").start()
        u = srv.url
        now = now_ns()
        kept = []

        # --- labels (400) ---
        expect(push_json(u, [({}, [(now, "x")])]), 400,
               "error at least one label pair is required per stream")
        raw = '{"streams":[{"stream":{"a":"1","a":"2"},"values":[["%d","x"]]}]}' % now
        expect(push_json(u, None, raw=raw.encode()), 400, "has duplicate label name: 'a'")
        many = {"l%02d" % i: "v" for i in range(16)}
        expect(push_json(u, [(many, [(now, "x")])]), 400, "has 16 label names; limit 15")
        expect(push_json(u, [({"n" * 1025: "v"}, [(now, "x")])]), 400,
               "has label name too long: 'nnnn")
        expect(push_json(u, [({"n": "v" * 2049}, [(now, "x")])]), 400,
               "has label value too long: 'vvvv")
        expect(push_json(u, [({"1abc": "v"}, [(now, "x")])]), 400, "invalid label name: '1abc'")
        expect(push_pb(u, "", '{a="b",', 1, now, "p"), 400, "Error parsing labels '{a=\"b\",'")
        expect(push_json(u, None, raw=b'{"streams":[{"stream":{"a":"b"},"values":[["1"]]'), 400,
               "error parsing push request JSON")

        # --- entries (400): too long, too old, too new ---
        expect(push_json(u, [({"app": "good"}, [(now, "y" * (300 * 1024))])]), 400,
               "Max entry size '262144' bytes exceeded for stream '{app=\"good\"}' while "
               "adding an entry with length '307200' bytes")
        expect(push_json(u, [({"app": "good"}, [(now - 200 * HOUR, "old")])]), 400,
               "entry for stream '{app=\"good\"}' has timestamp too old: ",
               "oldest acceptable timestamp is: ")
        expect(push_json(u, [({"app": "good"}, [(now + HOUR, "new")])]), 400,
               "entry for stream '{app=\"good\"}' has timestamp too new: ")

        # --- a partly bad batch keeps its good stream and entries, names the bad ones ---
        body = expect(push_json(u, [({"app": "good"}, [(now, "kept-1"), (now + 2 * HOUR, "nope"),
                                                        (now + 1, "kept-2")]),
                                    ({}, [(now, "no labels")])]), 400,
                      "has timestamp too new", "error at least one label pair is required")
        kept += [("fake", '{app="good"}', now, "kept-1"), ("fake", '{app="good"}', now + 1, "kept-2")]

        # --- out of order beyond the store's window: refused by the store, reported ---
        expect(push_json(u, [({"app": "good"}, [(now - 2 * HOUR, "late")])]), 400,
               "total ignored: 1 out of 1 for stream: {app=\"good\"}")

        # --- tenant ID ---
        expect(push_json(u, [({"a": "b"}, [(now, "x")])], tenant="../etc"), 400,
               "invalid tenant ID '../etc'")

        # --- 413: body over the 100 MiB limit, answered from the headers alone ---
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
        s.sendall(b"POST /loki/api/v1/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                  b"\r\nContent-Length: 104857601\r\n\r\n")
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
        s.close()
        text = reply.decode("utf-8", "replace")
        check(text.startswith("HTTP/1.1 413"), "413 expected: " + text[:300])
        check("request body too large: 104857601 bytes, limit: 104857600 bytes" in text, text)

        # --- 429: tenant ingestion rate (burst 2 MB) ---
        big = [(now + i, "r" * 1000 + str(i)) for i in range(3000)]
        expect(push_json(u, [({"app": "rate"}, big)], tenant="rate"), 429,
               "Ingestion rate limit exceeded for user rate (limit: 1048576 bytes/sec) while "
               "attempting to ingest '3000' lines totaling '", "reduce log volume")

        # --- 429: active stream limit (3 per tenant): first three kept, the rest refused ---
        streams = [({"app": "s%d" % i}, [(now, "stream %d" % i)]) for i in range(5)]
        expect(push_json(u, streams, tenant="limited"), 429,
               "Maximum active stream limit exceeded when trying to create stream {app=\"s3\"}",
               "user: 'limited'")
        kept += [("limited", '{app="s%d"}' % i, now, "stream %d" % i) for i in range(3)]
        # an existing stream still takes data at the limit
        expect(push_json(u, [({"app": "s0"}, [(now + 1, "again")])], tenant="limited"), 204)
        kept.append(("limited", '{app="s0"}', now + 1, "again"))

        # --- other routes ---
        expect(request(u + "/nope"), 404, "404 page not found")
        expect(request(u + "/loki/api/v1/push"), 405)

        status, metrics = request(u + "/metrics")
        check('route="loki_api_v1_push",status_code="400"' in metrics, "400 histogram")
        check('route="loki_api_v1_push",status_code="429"' in metrics, "429 histogram")

        check(srv.stop() == 0, "SIGTERM exit status")
        got = collections.Counter(dump(srv.data_dir))
        for k in kept:
            check(got[k] == 1, "kept entry %r stored %d times" % (k, got[k]))
        check(sum(got.values()) == len(kept), "stored %d entries, expected %d: %r" %
              (sum(got.values()), len(kept), list(got)[:20]))
    print("ok")


main()
