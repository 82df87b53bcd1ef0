# query_dedupe_test.py -- an agent that retries a push whose answer it never got stores
# the same entries twice (the server died after the WAL write, before its 204); queries
# answer each entry once, as Loki's do. Push, SIGKILL `cairn serve`, restart it on the
# same data dir (WAL replay), push the same batch again, and query: every line once in
# both directions, and counted once by count_over_time. Then the same after a restart
# that flushed the first copy to segment files, where the store's append-time rule
# (the open block only) cannot see it.
import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import Server, TempDir, check, now_ns, push_json, request  # noqa: E402

N = 200


def query(srv, path, **params):
    status, body = request(srv.url + path + "?" + urllib.parse.urlencode(params))
    check(status == 200, "%s %r: %d %s" % (path, params, status, body[:300]))
    return json.loads(body)["data"]


def check_once(srv, batch, start, end, what):
    want = sorted(batch)
    for direction in ("forward", "backward"):
        data = query(srv, "/loki/api/v1/query_range", query='{job="retry"}', start=start,
                     end=end, limit=10 * N, direction=direction)
        got = sorted((int(ts), line) for r in data["result"] for ts, line in r["values"])
        check(got == want, "%s, %s: %d entries for %d pushed (each once); first extra: %r" %
              (what, direction, len(got), len(want),
               [g for g in got if got.count(g) > 1][:1]))
    data = query(srv, "/loki/api/v1/query", query='sum(count_over_time({job="retry"}[1h]))',
                 time=end)
    n = int(float(data["result"][0]["value"][1])) if data["result"] else 0
    check(n == len(batch), "%s: count_over_time %d for %d entries" % (what, n, len(batch)))


def main():
    with TempDir() as d:
        data = os.path.join(d, "data")
        base = now_ns() - 600 * 10**9
        # two lines share each timestamp, and one line repeats at another timestamp:
        # neither is a duplicate
        batch = [(base + (i // 2) * 10**6, "line-%d" % (i % 150)) for i in range(N)]
        start, end = base - 10**9, now_ns() + 10**9

        srv = Server(data).start()
        status, body = push_json(srv.url, [({"job": "retry"}, batch)])
        check(status == 204, "first push: %d %s" % (status, body))
        srv.kill()  # as if the 204 never reached the agent

        srv = Server(data).start()
        status, body = push_json(srv.url, [({"job": "retry"}, batch)])  # the retry
        check(status == 204, "retried push: %d %s" % (status, body))
        check_once(srv, batch, start, end, "retry after SIGKILL")

        # the copies now in segment files (a clean stop flushes the head); a third
        # copy goes to the head, where the append-time rule cannot see the others
        check(srv.stop() == 0, "SIGTERM exit status")
        srv = Server(data).start()
        status, body = push_json(srv.url, [({"job": "retry"}, batch)])
        check(status == 204, "third push: %d %s" % (status, body))
        check_once(srv, batch, start, end, "retry after a flush")
        srv.kill()

        srv = Server(data).start()  # and once more from the WAL and the segments
        check_once(srv, batch, start, end, "after another SIGKILL and replay")
        check(srv.stop() == 0, "SIGTERM exit status")
        print("ok: %d entries pushed three times, answered once" % N)


main()
