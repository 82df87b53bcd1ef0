# drilldown_api_test.py -- the endpoints Grafana's Logs Drilldown calls beside the query
# API, against a real `cairn serve`, in Loki 3's shapes: index/volume (by series, by
# label, targetLabels, limit) and volume_range, detected_labels (ids left out),
# detected_fields (json and logfmt, types, cardinality) and one field's values,
# patterns (templates with counts per step), format_query and status/buildinfo.
import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import Server, TempDir, check, now_ns, push_json, request  # noqa: E402

SEC = 10**9


def get(srv, path, **params):
    status, body = request(srv.url + path + "?" + urllib.parse.urlencode(params))
    return status, body


def ok_json(srv, path, **params):
    status, body = get(srv, path, **params)
    check(status == 200, "%s %r: %d %s" % (path, params, status, body))
    return json.loads(body)


def main():
    with TempDir() as d:
        srv = Server(os.path.join(d, "data")).start()
        t0 = now_ns() - 600 * SEC
        streams = []
        # volumes: web has 10-byte lines, the others 3-byte ones; 60 entries each
        for ns in ("payments", "web", "kube-system"):
            for reason in ("BackOff", "Failed"):
                line = "x" * (10 if ns == "web" else 3)
                streams.append(({"job": "events", "namespace": ns, "reason": reason},
                                [(t0 + i * 10 * SEC, line) for i in range(60)]))
        # fields: JSON lines and logfmt lines
        streams.append(({"app": "api", "pod_uid": "550e8400-e29b-41d4-a716-446655440000",
                         "shard": "7"},
                        [(t0 + i * SEC, json.dumps({"level": ["info", "warn", "error"][i % 3],
                                                     "took": "%dms" % i, "status": 200 + i % 2,
                                                     "lat": i * 0.5, "user": {"id": "u%d" % (i % 7)},
                                                     "ok": i % 2 == 0}))
                         for i in range(30)]))
        streams.append(({"app": "lf"},
                        [(t0 + 5 * SEC, 'level=info msg="hello world" size=10KB')]))
        # patterns: three shapes of line
        pat = []
        for i in range(90):
            k = i % 3
            if k == 0:
                line = "caller=grpc.go:66 level=info method=/Push duration=%dms msg=gRPC" % (i * 7)
            elif k == 1:
                line = "user %d logged in from 10.0.%d.%d" % (i, i % 9, i % 250)
            else:
                line = "GET /api/v1/items/%d 200 %dms" % (i * 13, i % 50)
            pat.append((t0 + i * 5 * SEC, line))
        streams.append(({"app": "pat"}, pat))
        status, body = push_json(srv.url, streams)
        check(status == 204, "push: %d %s" % (status, body))
        rng = {"start": str(t0 - SEC), "end": str(t0 + 700 * SEC)}

        # ---- volume
        v = ok_json(srv, "/loki/api/v1/index/volume", query='{job="events"}', **rng)
        check(v["status"] == "success" and v["data"]["resultType"] == "vector", "shape: %r" % v)
        res = v["data"]["result"]
        check([r["metric"] for r in res] == [{"job": "events"}], "by the matchers: %r" % res)
        check(res[0]["value"][1] == str(2 * 60 * (10 + 3 + 3)), "bytes: %r" % res)
        v = ok_json(srv, "/loki/api/v1/index/volume", query='{job="events", namespace=~".+"}', **rng)
        res = v["data"]["result"]
        check(res[0]["metric"] == {"job": "events", "namespace": "web"} and
              res[0]["value"][1] == "1200" and len(res) == 3, "largest first: %r" % res)
        v = ok_json(srv, "/loki/api/v1/index/volume", query='{job="events"}',
                    targetLabels="reason", limit="1", **rng)
        res = v["data"]["result"]
        check(len(res) == 1 and list(res[0]["metric"]) == ["reason"] and res[0]["value"][1] == "960",
              "targetLabels + limit: %r" % res)
        v = ok_json(srv, "/loki/api/v1/index/volume", query='{job="events"}',
                    aggregateBy="labels", **rng)
        names = sorted(list(r["metric"].items())[0] for r in v["data"]["result"])
        check(names == [("job", ""), ("namespace", ""), ("reason", "")], "by labels: %r" % names)
        v = ok_json(srv, "/loki/api/v1/index/volume_range", query='{namespace="web"}',
                    step="300", **rng)
        check(v["data"]["resultType"] == "matrix", "matrix: %r" % v)
        vals = v["data"]["result"][0]["values"]
        check(sum(int(x[1]) for x in vals) == 1200 and len(vals) >= 2, "range sums up: %r" % vals)
        status, body = get(srv, "/loki/api/v1/index/volume", query='{a="b"} |= "x"', **rng)
        check(status == 400, "a pipeline is refused: %d %s" % (status, body))
        status, body = get(srv, "/loki/api/v1/index/volume", query='{job="events"}',
                           aggregateBy="pods", **rng)
        check(status == 400 and "aggregateBy" in body, "bad aggregateBy: %d %s" % (status, body))

        # ---- detected labels
        dl = ok_json(srv, "/loki/api/v1/detected_labels", query='{app="api"}', **rng)
        check(dl == {"detectedLabels": [{"label": "app", "cardinality": 1}]},
              "uuid and number labels left out: %r" % dl)
        dl = ok_json(srv, "/loki/api/v1/detected_labels", **rng)
        got = {x["label"]: x["cardinality"] for x in dl["detectedLabels"]}
        check(got.get("namespace") == 3 and got.get("reason") == 2 and got.get("app") == 3,
              "all streams: %r" % got)

        # ---- detected fields
        df = ok_json(srv, "/loki/api/v1/detected_fields", query='{app=~"api|lf"}', **rng)
        f = {x["label"]: x for x in df["fields"]}
        check(f["level"]["type"] == "string" and f["level"]["cardinality"] == 3 and
              sorted(f["level"]["parsers"]) == ["json", "logfmt"], "level: %r" % f.get("level"))
        check(f["status"]["type"] == "int" and f["status"]["cardinality"] == 2, "int: %r" % f)
        check(f["lat"]["type"] == "float", "float: %r" % f["lat"])
        check(f["took"]["type"] == "duration", "duration: %r" % f["took"])
        check(f["ok"]["type"] == "boolean", "boolean: %r" % f["ok"])
        check(f["size"]["type"] == "bytes" and f["size"]["parsers"] == ["logfmt"], "bytes: %r" % f)
        check(f["user_id"]["cardinality"] == 7, "nested keys joined by _: %r" % f.get("user_id"))
        check("limit" in df, "limit echoed: %r" % df)
        fv = ok_json(srv, "/loki/api/v1/detected_field/level/values", query='{app="api"}', **rng)
        check(sorted(fv["values"]) == ["error", "info", "warn"], "values: %r" % fv)
        status, _ = get(srv, "/loki/api/v1/detected_fields", query='rate({app="api"}[1m])', **rng)
        check(status == 400, "metric query refused: %d" % status)

        # ---- patterns
        p = ok_json(srv, "/loki/api/v1/patterns", query='{app="pat"}', step="60", **rng)
        pats = {x["pattern"]: sum(s[1] for s in x["samples"]) for x in p["data"]}
        want = {"caller=grpc.go:66 level=info method=/Push duration=<_> msg=gRPC": 30,
                "user <_> logged in from <_>": 30,
                "GET <_> 200 <_>": 30}
        check(pats == want, "patterns: %r" % pats)
        check(all(isinstance(s[0], int) and s[1] > 0 for x in p["data"] for s in x["samples"]),
              "samples are [seconds, count]: %r" % p["data"][0]["samples"])

        # ---- format_query, buildinfo
        fq = ok_json(srv, "/loki/api/v1/format_query", query='sum by(a)(rate({a="b"}|="x"[5m]))')
        check(fq == {"status": "success", "data": 'sum by (a) (rate({a="b"} |= "x"[5m]))'},
              "format_query: %r" % fq)
        status, body = get(srv, "/loki/api/v1/format_query", query="{a=")
        check(status == 400 and "parse error" in body, "bad query: %d %s" % (status, body))
        bi = ok_json(srv, "/loki/api/v1/status/buildinfo")
        check(set(bi) >= {"version", "revision", "branch", "buildUser", "buildDate", "goVersion"}
              and bi["version"].startswith("3."), "buildinfo: %r" % bi)
        srv.stop()
    print("ok")


if __name__ == "__main__":
    main()
