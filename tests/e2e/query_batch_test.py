# query_batch_test.py -- `cairn query --limit N --batch B` against a real `cairn serve`:
# pages of B entries, no duplicate and no loss at page boundaries even when several
# entries (in one stream and across streams) share the boundary timestamp.
import collections
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import BIN, Server, TempDir, check, now_ns, push_json  # noqa: E402


def run(srv, *args):
    r = subprocess.run([BIN, "query", "--addr", srv.url, "-o", "jsonl", "--since", "1h"] +
                       list(args), capture_output=True, text=True, timeout=60)
    requests = [line for line in r.stderr.splitlines() if "/loki/api/v1/query_range" in line]
    return r, requests


def ts_ns(rfc3339):
    """Nanoseconds of an RFC3339 time ending in Z: the fraction drops trailing zeros,
    so the strings do not sort as times."""
    whole, _, frac = rfc3339.rstrip("Z").partition(".")
    return (whole, int((frac + "000000000")[:9]))


def entries(out):
    rows = [json.loads(line) for line in out.splitlines()]
    return [(ts_ns(row["timestamp"]), row["labels"], row["line"]) for row in rows]


def main():
    with TempDir() as d:
        srv = Server(os.path.join(d, "data")).start()
        t = now_ns() - 60 * 10**9
        # Stream a: 3 entries at each of t, t+1, t+2 and one at t+3; stream b: 2 at t+1
        # and 2 at t+2. 14 entries; pages of 4 split the timestamp groups (5 at t+1 and
        # at t+2: more than a page).
        a = [(t + k, "a%d-%d" % (k, j)) for k in range(3) for j in range(3)] + [(t + 3, "a3-0")]
        b = [(t + k, "b%d-%d" % (k, j)) for k in (1, 2) for j in range(2)]
        status, body = push_json(srv.url, [({"app": "pg", "s": "a"}, a), ({"app": "pg", "s": "b"}, b)])
        check(status == 204, "push: %d %s" % (status, body))
        total = len(a) + len(b)

        # The same query in one request: the reference.
        r, reqs = run(srv, "--limit", "1000", '{app="pg"}')
        check(r.returncode == 0 and len(reqs) == 1, "one request: %s" % r.stderr)
        ref = entries(r.stdout)
        check(len(ref) == total, "reference has %d of %d" % (len(ref), total))

        for direction in ([], ["--forward"]):
            r, reqs = run(srv, "--limit", "1000", "--batch", "4", *direction, '{app="pg"}')
            check(r.returncode == 0, "batched %r: %s" % (direction, r.stderr))
            got = entries(r.stdout)
            dups = [e for e, n in collections.Counter(got).items() if n > 1]
            check(not dups, "duplicates %r: %r" % (direction, dups))
            check(sorted(got) == sorted(ref), "lost or extra entries %r: %d of %d" %
                  (direction, len(got), total))
            ts = [e[0] for e in got]
            check(ts == sorted(ts, reverse=not direction), "order %r: %r" % (direction, ts))
            check(len(reqs) >= 3, "at least 3 pages: %d" % len(reqs))
            print("%s: %d entries in %d requests" % (direction or "backward", len(got), len(reqs)))

        # --limit counts entries across pages: the newest 7, in 2+ pages.
        r, reqs = run(srv, "--limit", "7", "--batch", "3", '{app="pg"}')
        got = entries(r.stdout)
        check(r.returncode == 0 and len(got) == 7 and len(set(got)) == 7, "limit 7: %r" % got)
        check(len(reqs) >= 3, "limit 7 by 3: %d pages" % len(reqs))
        check(sorted(e[0] for e in got) == sorted(e[0] for e in ref)[-7:], "newest 7: %r" % got)

        # Pages smaller than a timestamp group (5 entries at t+2): still all, once.
        r, reqs = run(srv, "--limit", "1000", "--batch", "2", '{app="pg"}')
        got = entries(r.stdout)
        check(r.returncode == 0 and sorted(got) == sorted(ref), "batch 2: %d %s %r" %
              (r.returncode, r.stderr, got))
        # Two streams that differ only in a label left out of the output, with the same
        # lines at the same timestamps: still two entries each, the identity at the
        # boundary is the whole label set, not the printed one.
        same = [(t + 5, "same-%d" % j) for j in range(3)]
        status, body = push_json(srv.url, [({"app": "pg2", "pod": "1"}, same),
                                           ({"app": "pg2", "pod": "2"}, same)])
        check(status == 204, "push: %d %s" % (status, body))
        r, reqs = run(srv, "--limit", "1000", "--batch", "2", "--exclude-label", "pod",
                      '{app="pg2"}')
        got = entries(r.stdout)
        check(r.returncode == 0 and len(got) == 6 and len(reqs) >= 3,
              "excluded label at the boundary: %d %d %s %r" % (r.returncode, len(reqs),
                                                               r.stderr, got))
        srv.stop()
    print("ok")


if __name__ == "__main__":
    main()
