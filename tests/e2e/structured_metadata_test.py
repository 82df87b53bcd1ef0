# structured_metadata_test.py -- structured metadata (Loki 3) against a real `cairn
# serve`: pushed as the JSON third element and as the protobuf structuredMetadata field
# (snappy-framed here with literal-only blocks: Debian's python3 has no snappy); read
# back merged into the stream labels, and with `X-Loki-Response-Encoding-Flags:
# categorize-labels` in Loki 3's stream / structuredMetadata split; a label filter and
# line_format on it; `sum by (trace_id)`; detected_fields lists it; all of it again after
# a restart (from blocks). Refusals: anything but an object of strings is 400 naming the
# entry; Loki 3's limits (allow_structured_metadata, max_structured_metadata_size,
# max_structured_metadata_entries_count) answer 400 with Loki's messages and keep the
# other entries; the config keys are in limits_config.
import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import Server, TempDir, check, now_ns, pb_field, pb_uvarint, push_json, request  # noqa: E402

SEC = 10**9


def lines(srv, q, start, end):
    st, body = request(srv.url + "/loki/api/v1/query_range?" + urllib.parse.urlencode(
        {"query": q, "start": start, "end": end, "limit": 100, "direction": "forward"}))
    check(st == 200, "query %s: %d %s" % (q, st, body))
    return [v[1] for s in json.loads(body)["data"]["result"] for v in s["values"]]


uv = pb_uvarint


def fld(num, payload):
    return pb_field(num, 2, payload)


def snappy_literal(data):
    """A valid snappy block made of literal elements only."""
    out = bytearray(uv(len(data)))
    for i in range(0, len(data), 65536):
        chunk = data[i:i + 65536]
        n = len(chunk) - 1
        if n < 60:
            out.append(n << 2)
        elif n < 256:
            out += bytes([60 << 2, n])
        else:
            out += bytes([61 << 2, n & 0xFF, n >> 8])
        out += chunk
    return bytes(out)


def push_pb(srv, labels, entries):
    """entries: (ts_ns, line, {metadata})"""
    es = b""
    for ts, line, md in entries:
        tsm = uv(1 << 3) + uv(ts // 10**9) + uv(2 << 3) + uv(ts % 10**9)
        e = fld(1, tsm) + fld(2, line.encode())
        for k, v in md.items():
            e += fld(3, fld(1, k.encode()) + fld(2, v.encode()))
        es += fld(2, e)
    body = fld(1, fld(1, labels.encode()) + es)
    return request(srv.url + "/loki/api/v1/push", snappy_literal(body),
                   {"Content-Type": "application/x-protobuf"}, "POST")


def query(srv, q, start, end, categorize=False, **extra):
    params = {"query": q, "start": start, "end": end, "limit": 100, "direction": "forward"}
    params.update(extra)
    h = {"X-Loki-Response-Encoding-Flags": "categorize-labels"} if categorize else {}
    st, body = request(srv.url + "/loki/api/v1/query_range?" + urllib.parse.urlencode(params),
                       headers=h)
    check(st == 200, "query %s: %d %s" % (q, st, body))
    return json.loads(body)["data"]


def reads(srv, t0):
    """Everything the stored metadata must answer, from the head or from blocks."""
    res = query(srv, '{app="sm"}', t0 - SEC, t0 + SEC)["result"]
    got = {json.dumps(s["stream"], sort_keys=True): [v[1] for v in s["values"]] for s in res}
    want = {json.dumps({"app": "sm"}): ["plain", "null metadata", "k=v"],
            json.dumps({"app": "sm", "trace_id": "0af7651916cd43dd"}, sort_keys=True):
                ["traced", "k=w"],
            json.dumps({"app": "sm", "trace_id": "abc", "user": "u1"}, sort_keys=True): ["two"]}
    check(got == want, "merged into stream labels: %r" % got)
    data = query(srv, '{app="sm"}', t0 - SEC, t0 + SEC, categorize=True)
    check(data.get("encodingFlags") == ["categorize-labels"], "encodingFlags: %r" % data)
    check(len(data["result"]) == 1 and data["result"][0]["stream"] == {"app": "sm"},
          "categorized: one stream of stream labels: %r" % data["result"])
    vals = {v[1]: v[2] if len(v) > 2 else None for v in data["result"][0]["values"]}
    check(vals["plain"] is None and vals["two"] == {"structuredMetadata": {"trace_id": "abc",
                                                                           "user": "u1"}} and
          vals["k=w"] == {"structuredMetadata": {"trace_id": "0af7651916cd43dd"}},
          "categorized values: %r" % vals)
    data = query(srv, '{app="sm"} |= "k=" | logfmt', t0 - SEC, t0 + SEC, categorize=True)
    vals = {v[1]: v[2] if len(v) > 2 else None for v in data["result"][0]["values"]}
    check(vals["k=v"] == {"parsed": {"k": "v"}} and
          vals["k=w"] == {"structuredMetadata": {"trace_id": "0af7651916cd43dd"},
                                "parsed": {"k": "w"}}, "parsed apart: %r" % vals)
    got = lines(srv, '{app="sm"} | trace_id="0af7651916cd43dd"', t0 - SEC, t0 + SEC)
    check(got == ["traced", "k=w"], "label filter on metadata: %r" % got)
    got = lines(srv, '{app="sm"} | user!="" | line_format "{{.user}}: {{.trace_id}}"',
                t0 - SEC, t0 + SEC)
    check(got == ["u1: abc"], "line_format with metadata: %r" % got)
    st, body = request(srv.url + "/loki/api/v1/query?" + urllib.parse.urlencode(
        {"query": 'sum by (trace_id) (count_over_time({app="sm"}[1h]))', "time": t0 + SEC}))
    check(st == 200, "instant query: %d %s" % (st, body))
    got = {s["metric"].get("trace_id", ""): s["value"][1]
           for s in json.loads(body)["data"]["result"]}
    check(got == {"": "3", "0af7651916cd43dd": "2", "abc": "1"}, "sum by (trace_id): %r" % got)
    # no `by` naming metadata: Loki 3 splits range-aggregation series by the entry's
    # whole label set, structured metadata included, with stages or without
    want = {json.dumps({"app": "sm"}): "3",
            json.dumps({"app": "sm", "trace_id": "0af7651916cd43dd"}, sort_keys=True): "2",
            json.dumps({"app": "sm", "trace_id": "abc", "user": "u1"}, sort_keys=True): "1"}
    for q in ('count_over_time({app="sm"}[1h])', 'count_over_time({app="sm"} |= ""[1h])'):
        got = {json.dumps(s["metric"], sort_keys=True): s["value"][1] for s in instant(srv, q, t0)}
        check(got == want, "%s: series split by metadata: %r" % (q, got))
    for q, v in (('max by (app) (count_over_time({app="sm"}[1h]))', "3"),
                 ('sum by (app) (count_over_time({app="sm"}[1h]))', "6"),
                 ('count(count_over_time({app="sm"}[1h]))', "3")):
        got = [s["value"][1] for s in instant(srv, q, t0)]
        check(got == [v], "%s: %r" % (q, got))
    data = query(srv, 'count_over_time({app="sm"}[1h])', t0, t0 + SEC, step=1)
    check(len(data["result"]) == 3, "range query: %r" % data)
    st, body = request(srv.url + "/loki/api/v1/detected_fields?" + urllib.parse.urlencode(
        {"query": '{app="sm"}', "start": t0 - SEC, "end": t0 + SEC}))
    fields = {f["label"]: f for f in json.loads(body)["fields"]}
    check(st == 200 and fields.get("trace_id", {}).get("cardinality") == 2 and
          fields["trace_id"]["parsers"] is None and "user" in fields,
          "detected_fields: %s" % body)


def instant(srv, q, t0):
    st, body = request(srv.url + "/loki/api/v1/query?" + urllib.parse.urlencode(
        {"query": q, "time": t0 + SEC}))
    check(st == 200, "instant query %s: %d %s" % (q, st, body))
    return json.loads(body)["data"]["result"]


def push(srv, values):
    doc = {"streams": [{"stream": {"app": "sm"}, "values": values}]}
    return push_json(srv.url, None, raw=json.dumps(doc).encode())


def main():
    with TempDir() as d:
        srv = Server(os.path.join(d, "data"), "-limits.max-structured-metadata-entries-count=2",
                     "-limits.max-structured-metadata-size=40").start()
        t0 = now_ns() - 60 * SEC
        st, body = push(srv, [[str(t0), "plain"],
                              [str(t0 + 1), "traced", {"trace_id": "0af7651916cd43dd"}],
                              [str(t0 + 2), "two", {"trace_id": "abc", "user": "u1"}],
                              [str(t0 + 3), "null metadata", None]])
        check(st == 204, "push with metadata: %d %s" % (st, body))
        st, body = push_pb(srv, '{app="sm"}', [(t0 + 4, "k=v", {}),
                                               (t0 + 5, "k=w",
                                                {"trace_id": "0af7651916cd43dd"})])
        check(st == 204, "protobuf push with metadata: %d %s" % (st, body))

        reads(srv, t0)
        # after a restart: the same from blocks (flushed at SIGTERM)
        check(srv.stop() == 0, "clean stop")
        srv = Server(os.path.join(d, "data"), "-limits.max-structured-metadata-entries-count=2",
                     "-limits.max-structured-metadata-size=40").start()
        reads(srv, t0)

        # not an object of strings: the whole push is refused, naming the entry
        st, body = push(srv, [[str(t0 + 10), "x"], [str(t0 + 11), "y", {"n": 5}]])
        check(st == 400 and "entry 1 of stream 0" in body and "'n' must be a string" in body,
              "a number in metadata: %d %s" % (st, body))

        # Loki's limits: the entry is refused with Loki's message, the others stored
        st, body = push(srv, [[str(t0 + 20), "ok"],
                              [str(t0 + 21), "three", {"a": "1", "b": "2", "c": "3"}],
                              [str(t0 + 22), "big", {"k": "v" * 64}]])
        check(st == 400, "limits: %d %s" % (st, body))
        check("has too many structured metadata labels: '3', limit: '2'" in body and
              "`limits_config.max_structured_metadata_entries_count`" in body, body)
        check("has structured metadata too large: '65' bytes, limit: '40' bytes" in body and
              "`limits_config.max_structured_metadata_size`" in body, body)
        got = lines(srv, '{app="sm"}', t0 + 19, t0 + SEC)
        check("ok" in got and "three" not in got and "big" not in got, "kept: %r" % got)
        st, cfg = request(srv.url + "/config")
        check(st == 200 and "max_structured_metadata_entries_count: 2" in cfg and
              "allow_structured_metadata: true" in cfg, "/config: %s" % cfg[:2000])
        srv.stop()

        # allow_structured_metadata: false refuses entries that carry any
        srv = Server(os.path.join(d, "data2"), "-validation.allow-structured-metadata=false").start()
        st, body = push(srv, [[str(t0), "plain"], [str(t0 + 1), "traced", {"trace_id": "x"}]])
        check(st == 400 and "includes structured metadata, but this feature is disallowed" in body,
              "disallowed: %d %s" % (st, body))
        check(lines(srv, '{app="sm"}', t0 - SEC, t0 + SEC) == ["plain"], "plain kept")
        srv.stop()
    print("ok")


if __name__ == "__main__":
    main()
