# query_api_test.py -- push through the HTTP API, then read back through Loki's query
# API (query_range, query, labels, label values, series, index/stats) and the
# `cairn query` client, checking the JSON field by field as Grafana and logcli read it.
import json
import os
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import BIN, Server, TempDir, check, now_ns, push_json, request  # noqa: E402

N = 300


def get(srv, path, tenant=None, **params):
    q = urllib.parse.urlencode(params, doseq=True)
    headers = {"X-Scope-OrgID": tenant} if tenant else {}
    status, body = request(srv.url + path + "?" + q, headers=headers)
    return status, body


def get_json(srv, path, **params):
    status, body = get(srv, path, **params)
    check(status == 200, "%s %r: %d %s" % (path, params, status, body[:500]))
    doc = json.loads(body)
    check(doc.get("status") == "success", "status field: %r" % doc.get("status"))
    return doc["data"]


def main():
    with TempDir() as d:
        srv = Server(os.path.join(d, "data")).start()
        t0 = now_ns() - 600 * 10**9
        api_vals, web_vals = [], []
        for i in range(N):
            level = "error" if i % 3 == 0 else "info"
            api_vals.append((t0 + i * 10**6, json.dumps(
                {"level": level, "msg": "request %d" % i, "status": 500 if level == "error" else 200,
                 "dur": "%dms" % (i % 50), "req": {"id": "r%d" % i}})))
            web_vals.append((t0 + i * 10**6 + 1, 'level=%s msg="page %d" bytes=%dKB' % (level, i, i % 7)))
        status, body = push_json(srv.url, [({"app": "api", "env": "prod"}, api_vals),
                                           ({"app": "web", "env": "dev"}, web_vals)])
        check(status == 204, "push: %d %s" % (status, body))
        start, end = str(t0 - 10**9), str(t0 + 3600 * 10**9)

        # 1. A selector, backward (the default): one stream, newest first, every field.
        data = get_json(srv, "/loki/api/v1/query_range", query='{app="api"}', start=start,
                        end=end, limit=1000)
        check(data["resultType"] == "streams", "resultType %r" % data["resultType"])
        res = data["result"]
        check(len(res) == 1, "streams: %d" % len(res))
        check(res[0]["stream"] == {"app": "api", "env": "prod"}, "labels %r" % res[0]["stream"])
        vals = res[0]["values"]
        check(len(vals) == N, "values: %d" % len(vals))
        check(all(isinstance(v[0], str) and isinstance(v[1], str) for v in vals), "value types")
        check([int(v[0]) for v in vals] == sorted((ts for ts, _ in api_vals), reverse=True),
              "backward order")
        check(vals[0][1] == api_vals[-1][1], "newest line first")
        check("stats" in data and "summary" in data["stats"], "stats.summary present")

        # 2. Forward with a limit: the oldest entries.
        data = get_json(srv, "/loki/api/v1/query_range", query='{app="api"}', start=start,
                        end=end, limit=5, direction="forward")
        vals = data["result"][0]["values"]
        check([v[1] for v in vals] == [line for _, line in api_vals[:5]], "forward limit 5")

        # 3. A line filter over both streams; limit counts entries across streams.
        data = get_json(srv, "/loki/api/v1/query_range", query='{env=~"prod|dev"} |= "error"',
                        start=start, end=end, limit=1000)
        got = sum(len(s["values"]) for s in data["result"])
        check(got == 2 * len([i for i in range(N) if i % 3 == 0]), "filtered count %d" % got)
        data = get_json(srv, "/loki/api/v1/query_range", query='{env=~"prod|dev"}', start=start,
                        end=end, limit=7)
        check(sum(len(s["values"]) for s in data["result"]) == 7, "limit across streams")

        # 4. json parser + label filter: parsed labels join the stream labels.
        data = get_json(srv, "/loki/api/v1/query_range",
                        query='{app="api"} | json | level="error" | status >= 500',
                        start=start, end=end, limit=1000)
        total = sum(len(s["values"]) for s in data["result"])
        check(total == len([i for i in range(N) if i % 3 == 0]), "json filter count %d" % total)
        lab = data["result"][0]["stream"]
        check(lab.get("level") == "error" and lab.get("status") == "500" and "req_id" in lab,
              "parsed labels %r" % lab)

        # 5. line_format projection.
        data = get_json(srv, "/loki/api/v1/query_range",
                        query='{app="api"} | json | line_format "{{.msg}} took {{.dur}}"',
                        start=start, end=end, limit=3, direction="forward")
        lines = sorted(v[1] for s in data["result"] for v in s["values"])
        check(lines == ["request 0 took 0ms", "request 1 took 1ms", "request 2 took 2ms"],
              "line_format %r" % lines)

        # 6. logfmt with a bytes label filter.
        data = get_json(srv, "/loki/api/v1/query_range",
                        query='{app="web"} | logfmt | bytes > 5KB', start=start, end=end,
                        limit=1000)
        total = sum(len(s["values"]) for s in data["result"])
        check(total == len([i for i in range(N) if i % 7 == 6]), "logfmt bytes filter %d" % total)

        # 7. labels, label values, series, index stats.
        names = get_json(srv, "/loki/api/v1/labels", start=start, end=end)
        check(names == ["app", "env"], "labels %r" % names)
        vals = get_json(srv, "/loki/api/v1/label/app/values", start=start, end=end)
        check(vals == ["api", "web"], "label values %r" % vals)
        vals = get_json(srv, "/loki/api/v1/label/app/values", start=start, end=end,
                        query='{env="dev"}')
        check(vals == ["web"], "label values narrowed %r" % vals)
        series = get_json(srv, "/loki/api/v1/series", start=start, end=end,
                          **{"match[]": ['{env="prod"}', '{app="web"}']})
        check(sorted(json.dumps(s, sort_keys=True) for s in series) ==
              sorted([json.dumps({"app": "api", "env": "prod"}, sort_keys=True),
                      json.dumps({"app": "web", "env": "dev"}, sort_keys=True)]),
              "series %r" % series)
        status, body = get(srv, "/loki/api/v1/index/stats", query='{app="api"}', start=start, end=end)
        check(status == 200, "index stats %d %s" % (status, body))
        st = json.loads(body)
        check(st["streams"] == 1 and st["entries"] == N and st["bytes"] ==
              sum(len(l.encode()) for _, l in api_vals), "index stats %r" % st)

        # 8. POST with a form body, as Grafana may send.
        form = urllib.parse.urlencode({"query": '{app="web"}', "start": start, "end": end,
                                       "limit": "2"}).encode()
        status, body = request(srv.url + "/loki/api/v1/query_range", form,
                               {"Content-Type": "application/x-www-form-urlencoded"}, "POST")
        check(status == 200 and len(json.loads(body)["data"]["result"][0]["values"]) == 2,
              "POST form query: %d %s" % (status, body[:300]))

        # 9. Tenants are isolated.
        status, body = get(srv, "/loki/api/v1/query_range", tenant="other", query='{app="api"}',
                           start=start, end=end)
        check(status == 200 and json.loads(body)["data"]["result"] == [], "tenant isolation")

        # 10. User errors: 400 with Loki's wording.
        status, body = get(srv, "/loki/api/v1/query_range", query='{app="api"', start=start, end=end)
        check(status == 400 and "parse error at line 1, col" in body, "syntax error: %d %s" % (status, body))
        status, body = get(srv, "/loki/api/v1/query_range", query='{app=~".*"}', start=start, end=end)
        check(status == 400 and "queries require at least one regexp or equality matcher" in body,
              "empty matcher: %d %s" % (status, body))
        status, body = get(srv, "/loki/api/v1/query_range", query='{app="api"}', limit=6000)
        check(status == 400 and "max entries limit per query exceeded" in body, "limit: %s" % body)
        status, body = get(srv, "/loki/api/v1/query_range", query='{app="api"}', start="yesterday")
        check(status == 400 and 'invalid parameter "start"' in body, "bad start: %s" % body)

        # 11. The command-line client against the same server.
        r = subprocess.run([BIN, "query", "--addr", srv.url, "-q", "-o", "raw", "--limit", "3",
                            "--from", start, "--to", end, '{app="api"} | json | line_format "{{.msg}}"'],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "cairn query failed: %s" % r.stderr)
        check(r.stdout.splitlines() == ["request 299", "request 298", "request 297"],
              "cairn query output %r" % r.stdout)
        r = subprocess.run([BIN, "query", "--addr", srv.url, "-q", "--from", start, "--to", end,
                            "labels", "app"], capture_output=True, text=True, timeout=60)
        check(r.returncode == 0 and r.stdout.split() == ["api", "web"], "cairn query labels %r" % r.stdout)

        check(srv.stop() == 0, "SIGTERM exit")
    print("ok")


main()
