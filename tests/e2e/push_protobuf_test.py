# push_protobuf_test.py -- push protobuf+snappy bodies (encoded in C with protobuf-c
# and snappy by pushpb_tool, as Promtail sends them) for two tenants, a bad label
# string among them, and read everything back after SIGTERM.
import collections
import gzip
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import (BUILD, Server, TempDir, check, dump, now_ns, push_pb,  # noqa: E402
                       request)


def encode(labels, n, start, prefix):
    r = subprocess.run([os.path.join(BUILD, "pushpb_tool"), "encode", labels, str(n), str(start),
                        prefix], capture_output=True, timeout=60)
    check(r.returncode == 0, "pushpb_tool encode failed")
    return r.stdout


def main():
    with TempDir() as d:
        srv = Server(os.path.join(d, "data")).start()
        t0 = now_ns() - 10 * 10**9
        want = []
        for tenant, labels, n, prefix in [("", '{job="promtail", host="h1"}', 1000, "pb-a-"),
                                          ("", '{job="promtail", host="h2"}', 10, "pb-b-"),
                                          ("tenant-2", '{app="x"}', 500, "pb-c-")]:
            status, body = push_pb(srv.url, tenant, labels, n, t0, prefix)
            check(status == 204, "pb push %s: %d %s" % (labels, status, body))
            canon = "{" + ", ".join(sorted(p.strip() for p in labels[1:-1].split(","))) + "}"
            want += [(tenant or "fake", canon, t0 + i, prefix + str(i)) for i in range(n)]

        # gzip around snappy, as Loki accepts it; and a Content-Type that is neither JSON
        # nor protobuf (urllib sends form-urlencoded): Loki's default is protobuf.
        body = gzip.compress(encode('{job="gz"}', 20, t0, "gz-"))
        status, reply = request(srv.url + "/loki/api/v1/push", body,
                                {"Content-Type": "application/x-protobuf",
                                 "Content-Encoding": "gzip"}, "POST")
        check(status == 204, "gzip'd protobuf: %d %s" % (status, reply))
        want += [("fake", '{job="gz"}', t0 + i, "gz-%d" % i) for i in range(20)]
        status, reply = request(srv.url + "/loki/api/v1/push",
                                encode('{job="notype"}', 5, t0, "nt-"), {}, "POST")
        check(status == 204, "protobuf with another Content-Type: %d %s" % (status, reply))
        want += [("fake", '{job="notype"}', t0 + i, "nt-%d" % i) for i in range(5)]

        status, body = push_pb(srv.url, "", '{job="unterminated', 1, t0, "bad-")
        check(status == 400, "bad labels: %d %s" % (status, body))
        check("Error parsing labels '{job=\"unterminated' with error:" in body, body)
        # malformed protobuf (a stream whose entry claims 16 bytes, 2 are there), snappy
        # block format written by hand: length 6, one literal of 6 bytes
        pb = b"\x0a\x04\x12\x10ab"
        status, reply = request(srv.url + "/loki/api/v1/push", b"\x06\x14" + pb,
                                {"Content-Type": "application/x-protobuf"}, "POST")
        check(status == 400 and "error parsing push request protobuf: stream entry: length 16 "
              "past the end of its message (2 bytes left) at byte 3" in reply,
              "malformed protobuf: %d %s" % (status, reply))
        status, body = push_pb(srv.url, "", "{}", 1, t0, "none-")
        check(status == 400 and "error at least one label pair is required per stream" in body,
              "no labels: %d %s" % (status, body))

        rc = srv.stop()
        check(rc == 0, "SIGTERM exit status %d" % rc)
        got = collections.Counter(dump(srv.data_dir))
        for w in want:
            check(got[w] == 1, "entry %r stored %d times" % (w, got[w]))
        check(sum(got.values()) == len(want), "stored %d, pushed %d" %
              (sum(got.values()), len(want)))
    print("ok")


main()
