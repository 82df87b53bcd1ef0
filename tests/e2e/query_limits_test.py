# query_limits_test.py -- issue 10, finding 1 through the HTTP API: a query over a
# high-cardinality parsed label fails with a 400 naming the limit it hit (the series
# limit, or the memory budget for inner series that are not outputs), the server
# keeps answering afterwards with the same numbers as before, and a tenant over its
# query concurrency gets Loki's 429 "too many outstanding requests".
import json
import os
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import Server, TempDir, check, now_ns, push_json, request  # noqa: E402

N = 20000  # lines, each with its own id


def query(srv, q, start, end, tenant=None):
    params = urllib.parse.urlencode({"query": q, "start": str(start), "end": str(end)})
    headers = {"X-Scope-OrgID": tenant} if tenant else {}
    return request(srv.url + "/loki/api/v1/query_range?" + params, headers=headers)


def load(srv, t0, tenant=None):
    for b in range(0, N, 5000):
        vals = [(t0 + i * 10**8, 'level=info id=%06d msg="hello"' % i) for i in range(b, b + 5000)]
        status, body = push_json(srv.url, [({"job": "q"}, vals)], tenant=tenant)
        check(status == 204, "push: %d %s" % (status, body))


def main():
    with TempDir() as d:
        # the default memory budget here: with a tiny one, which of the two limits
        # trips first in finding 1 depends on how the query's threads interleave
        srv = Server(os.path.join(d, "data")).start()
        t0 = now_ns() - 3000 * 10**9
        load(srv, t0)
        start, end = t0 - 10**9, t0 + 3600 * 10**9

        # 1. Finding 1: one series per id under a root sum; max_query_series (500)
        #    trips while the series are created, with Loki's message.
        status, body = query(srv, 'sum by (id)(count_over_time({job="q"} | logfmt [1h]))', start, end)
        check(status == 400, "finding-1 query: %d %s" % (status, body[:300]))
        check("maximum number of series (500) reached for a single query" in body, body[:300])
        srv.stop()
        srv = Server(os.path.join(d, "data"), "-querier.max-query-memory=1MiB").start()

        # 2. Inner series that are not outputs (max by over every label set): the
        #    memory budget stops the query, and the message names the limit.
        status, body = query(srv, 'max by (level)(count_over_time({job="q"} | logfmt [1h]))', start, end)
        check(status == 400, "budget query: %d %s" % (status, body[:300]))
        check("query memory limit exceeded" in body and "limits_config.max_query_memory" in body,
              body[:300])

        # 3. The server still answers, and a query within the limits gives its numbers.
        status, _ = request(srv.url + "/ready")
        check(status == 200, "ready after the refused queries: %d" % status)
        status, body = query(srv, 'sum(count_over_time({job="q"}[1h]))', start, end)
        check(status == 200, "small query: %d %s" % (status, body[:300]))
        vals = json.loads(body)["data"]["result"][0]["values"]
        check(max(int(v[1]) for v in vals) == N, "count over the hour: %r" % vals[-1])
        srv.stop()

        # 4. Per-tenant admission: one query of a tenant at a time and none queued;
        #    concurrent queries of that tenant get 429 with Loki's wording, and every
        #    other answer is a normal 200 (rounds until an overlap is seen).
        srv = Server(os.path.join(d, "data2"), "-querier.max-concurrent-queries-per-tenant=1",
                     "-query-scheduler.max-outstanding-requests-per-tenant=0").start()
        load(srv, t0, tenant="busy")
        got = []

        def one():
            got.append(query(srv, 'sum by (level)(count_over_time({job="q"} | logfmt [1h]))',
                             start, end, tenant="busy"))

        for _ in range(50):
            ths = [threading.Thread(target=one) for _ in range(8)]
            for t in ths:
                t.start()
            for t in ths:
                t.join()
            if any(s == 429 for s, _ in got):
                break
        refused = [b for s, b in got if s == 429]
        check(refused, "no 429 in %d concurrent queries of one tenant" % len(got))
        check(all("too many outstanding requests" in b for b in refused), refused[0][:200])
        check(all(s in (200, 429) for s, _ in got), "statuses %r" % sorted({s for s, _ in got}))
        # an other tenant is not held back by the busy one's limit
        status, _ = query(srv, 'sum(count_over_time({job="q"}[1h]))', start, end, tenant="other")
        check(status == 200, "other tenant: %d" % status)
        srv.stop()
    print("query_limits_test: ok")


if __name__ == "__main__":
    main()
