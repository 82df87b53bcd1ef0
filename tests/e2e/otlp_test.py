# otlp_test.py -- POST /otlp/v1/logs against a real `cairn serve`: an OTLP/HTTP JSON body
# in the shape of the OTLP specification's example and a protobuf body built here with a
# small wire encoder (gzip too), mapped as Loki 3 maps them (service_name and the other
# default resource attributes as stream labels, the body as the line); the empty
# ExportLogsServiceResponse answers; 400 and 415 for bodies it cannot take; and
# `cairn ship` with clients[].protocol: otlp pushing into this endpoint.
import gzip
import json
import os
import struct
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import BIN, Server, TempDir, check, now_ns, pb_field, pb_uvarint, request  # noqa: E402

SEC = 10**9


# ---- a minimal protobuf encoder (wire format) for the fixture -------------------------
uv = pb_uvarint
fld = pb_field


def s(num, text):
    return fld(num, 2, text.encode() if isinstance(text, str) else text)


def anyv(v):
    if isinstance(v, str):
        return s(1, v)
    if isinstance(v, bool):
        return fld(2, 0, uv(1 if v else 0))
    if isinstance(v, int):
        return fld(3, 0, uv(v))
    if isinstance(v, dict):
        return fld(6, 2, b"".join(fld(1, 2, kv(k, x)) for k, x in v.items()))
    raise TypeError(v)


def kv(k, v):
    return s(1, k) + fld(2, 2, anyv(v))


def log_record(ts, body, attrs, trace_id=None, sev=None):
    m = fld(1, 1, struct.pack("<Q", ts)) + fld(5, 2, anyv(body))
    m += b"".join(fld(6, 2, kv(k, v)) for k, v in attrs.items())
    if sev:
        m += fld(2, 0, uv(sev[0])) + s(3, sev[1])
    if trace_id:
        m += s(9, bytes.fromhex(trace_id))
    return m


def export_request(resource_attrs, scope, records):
    res = b"".join(fld(1, 2, kv(k, v)) for k, v in resource_attrs.items())
    sc = s(1, scope[0]) + s(2, scope[1])
    sl = fld(1, 2, sc) + b"".join(fld(2, 2, r) for r in records)
    rl = fld(1, 2, res) + fld(2, 2, sl)
    return fld(1, 2, rl)


def query(srv, q, start, end):
    """Streams of stream labels only (categorize-labels): metadata rides on the values."""
    st, body = request(srv.url + "/loki/api/v1/query_range?" + urllib.parse.urlencode(
        {"query": q, "start": start, "end": end, "limit": 100, "direction": "forward"}),
        headers={"X-Loki-Response-Encoding-Flags": "categorize-labels"})
    check(st == 200, "query %s: %d %s" % (q, st, body))
    return json.loads(body)["data"]["result"]


def post(srv, body, ctype, gz=False):
    headers = {"Content-Type": ctype}
    if gz:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    return request(srv.url + "/otlp/v1/logs", body, headers, "POST")


def main():
    with TempDir() as d:
        srv = Server(os.path.join(d, "data")).start()
        t0 = now_ns() - 60 * SEC
        # JSON, the OTLP specification's example shape
        doc = {"resourceLogs": [{
            "resource": {"attributes": [
                {"key": "service.name", "value": {"stringValue": "my.service"}},
                {"key": "k8s.namespace.name", "value": {"stringValue": "shop"}},
                {"key": "host.name", "value": {"stringValue": "node-1"}}]},
            "scopeLogs": [{
                "scope": {"name": "my.library", "version": "1.0.0",
                          "attributes": [{"key": "my.scope.attribute",
                                          "value": {"stringValue": "some scope attribute"}}]},
                "logRecords": [
                    {"timeUnixNano": str(t0), "observedTimeUnixNano": str(t0),
                     "severityNumber": 10, "severityText": "Information",
                     "traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "EEE19B7EC3C1B174",
                     "body": {"stringValue": "Example log record"},
                     "attributes": [
                         {"key": "string.attribute", "value": {"stringValue": "some string"}},
                         {"key": "boolean.attribute", "value": {"boolValue": True}},
                         {"key": "int.attribute", "value": {"intValue": "10"}},
                         {"key": "double.attribute", "value": {"doubleValue": 637.704}},
                         {"key": "array.attribute", "value": {"arrayValue": {"values": [
                             {"stringValue": "many"}, {"stringValue": "values"}]}}},
                         {"key": "map.attribute", "value": {"kvlistValue": {"values": [
                             {"key": "some.map.key", "value": {"stringValue": "some value"}}]}}}]},
                    {"timeUnixNano": str(t0 + SEC),
                     "body": {"kvlistValue": {"values": [
                         {"key": "msg", "value": {"stringValue": "structured"}},
                         {"key": "n", "value": {"intValue": 3}}]}}}]}]}]}
        st, body = post(srv, json.dumps(doc).encode(), "application/json")
        check(st == 200 and body == "{}", "JSON export: %d %r" % (st, body))
        res = query(srv, '{service_name="my.service"}', t0 - SEC, t0 + 10 * SEC)
        check(len(res) == 1, "one stream for the resource: %r" % res)
        check(res[0]["stream"].get("k8s_namespace_name") == "shop",
              "default resource attribute as label: %r" % res[0]["stream"])
        check("host_name" not in res[0]["stream"],
              "other resource attributes are not labels: %r" % res[0]["stream"])
        lines = [v[1] for v in res[0]["values"]]
        check(lines[0] == "Example log record", "string body as the line: %r" % lines)
        check(json.loads(lines[1]) == {"msg": "structured", "n": 3},
              "a map body as JSON: %r" % lines[1])
        check(res[0]["values"][0][0] == str(t0), "timeUnixNano as the timestamp")
        # the rest as structured metadata, Loki 3's names
        sm = res[0]["values"][0][2]["structuredMetadata"]
        want = {"host_name": "node-1", "scope_name": "my.library", "scope_version": "1.0.0",
                "my_scope_attribute": "some scope attribute", "string_attribute": "some string",
                "boolean_attribute": "true", "int_attribute": "10",
                "double_attribute": "637.704", "array_attribute": '["many","values"]',
                "map_attribute": '{"some.map.key":"some value"}',
                "trace_id": "5b8efff798038103d269b633813fc60c", "span_id": "eee19b7ec3c1b174",
                "severity_text": "Information", "severity_number": "10",
                "observed_timestamp": str(t0)}
        check(sm == want, "structured metadata: %r" % sm)
        got = [v[1] for v in query(srv, '{service_name="my.service"} | severity_text="Information"',
                                   t0 - SEC, t0 + 10 * SEC)[0]["values"]]
        check(got == ["Example log record"], "filter on OTLP metadata: %r" % got)

        # protobuf, gzip, no service.name: unknown_service
        recs = [log_record(t0 + i * SEC, "pb line %d" % i, {"user.id": "u%d" % i},
                           trace_id="0af7651916cd43dd8448eb211c80319c", sev=(9, "INFO"))
                for i in range(3)]
        req = export_request({"k8s.pod.name": "api-0", "process.pid": 42}, ("lib", "2"), recs)
        st, body = post(srv, req, "application/x-protobuf", gz=True)
        check(st == 200 and body == "", "protobuf export: %d %r" % (st, body))
        res = query(srv, '{service_name="unknown_service", k8s_pod_name="api-0"}', t0 - SEC,
                    t0 + 10 * SEC)
        check(len(res) == 1 and [v[1] for v in res[0]["values"]] ==
              ["pb line 0", "pb line 1", "pb line 2"], "protobuf records: %r" % res)

        # refusals
        st, body = post(srv, b"\x0a\x05\x0a", "application/x-protobuf")
        check(st == 400 and "OTLP logs protobuf" in body, "truncated protobuf: %d %s" % (st, body))
        st, body = post(srv, b"{", "application/json")
        check(st == 400 and "OTLP logs JSON" in body, "bad JSON: %d %s" % (st, body))
        st, body = post(srv, b"x", "text/plain")
        check(st == 415, "other content types: %d %s" % (st, body))

        # `cairn ship` with clients[].protocol: otlp into this server's OTLP endpoint
        cfg = os.path.join(d, "ship.yaml")
        with open(cfg, "w") as f:
            f.write("server:\n  disable: true\npositions:\n  filename: %s/pos.yaml\n"
                    "clients:\n  - url: %s/otlp/v1/logs\n    protocol: otlp\n"
                    "    batchwait: 100ms\n" % (d, srv.url))
        lines = "".join("shipped %d\n" % i for i in range(5))
        r = subprocess.run([BIN, "ship", "--config", cfg, "--stdin", "--label",
                            "service_name=web", "--label", "job=agent"], input=lines, text=True,
                           capture_output=True, timeout=60)
        check(r.returncode == 0, "ship --stdin failed: " + r.stderr)
        res = query(srv, '{service_name="web"}', now_ns() - 3600 * SEC, now_ns() + SEC)
        check(len(res) == 1 and [v[1] for v in res[0]["values"]] ==
              ["shipped %d" % i for i in range(5)], "shipped over OTLP: %r" % res)
        # job is no default index attribute: structured metadata, not a label (Loki's map)
        check(res[0]["stream"] == {"service_name": "web"}, "labels: %r" % res[0]["stream"])
        check(res[0]["values"][0][2]["structuredMetadata"].get("job") == "agent",
              "job as metadata: %r" % res[0]["values"][0])
        # the structured_metadata stage (Promtail's): extracted values go out as the
        # records' attributes, so they arrive as structured metadata, not labels
        with open(cfg, "w") as f:
            f.write("server:\n  disable: true\npositions:\n  filename: %s/pos.yaml\n"
                    "clients:\n  - url: %s/otlp/v1/logs\n    protocol: otlp\n"
                    "    batchwait: 100ms\n"
                    "scrape_configs:\n  - job_name: sm\n"
                    "    static_configs:\n      - labels:\n          service_name: web2\n"
                    "    pipeline_stages:\n      - logfmt:\n          mapping:\n"
                    "            trace_id:\n            user: usr\n"
                    "      - structured_metadata:\n          trace_id:\n"
                    "          user_id: user\n" % (d, srv.url))
        lines = "".join("trace_id=t%d usr=u%d msg=x\n" % (i, i % 2) for i in range(3))
        lines += "no fields here\n"
        r = subprocess.run([BIN, "ship", "--config", cfg, "--stdin"], input=lines, text=True,
                           capture_output=True, timeout=60)
        check(r.returncode == 0, "ship --stdin with structured_metadata failed: " + r.stderr)
        res = query(srv, '{service_name="web2"}', now_ns() - 3600 * SEC, now_ns() + SEC)
        check(len(res) == 1 and res[0]["stream"] == {"service_name": "web2"},
              "one stream, metadata not labels: %r" % res)
        got = [(v[1], v[2]["structuredMetadata"] if len(v) > 2 else {}) for v in res[0]["values"]]
        check(got == [("trace_id=t%d usr=u%d msg=x" % (i, i % 2),
                       {"trace_id": "t%d" % i, "user_id": "u%d" % (i % 2)}) for i in range(3)] +
              [("no fields here", {})], "structured_metadata stage over OTLP: %r" % got)
        srv.stop()

        # limits_config.otlp_config, as Loki's: host.name indexed, k8s.* and a log
        # attribute dropped (defaults ignored); a bad rule refuses to start
        cfg = os.path.join(d, "serve.yaml")
        with open(cfg, "w") as f:
            f.write("limits_config:\n  otlp_config:\n    resource_attributes:\n"
                    "      ignore_defaults: true\n      attributes_config:\n"
                    "        - action: index_label\n          attributes: [service.name, host.name]\n"
                    "        - action: drop\n          regex: 'k8s\\..*'\n"
                    "    log_attributes:\n      - action: drop\n"
                    "        attributes: [string.attribute]\n")
        srv = Server(os.path.join(d, "data3"), "-config.file=" + cfg).start()
        st, body = post(srv, json.dumps(doc).encode(), "application/json")
        check(st == 200, "JSON export with otlp_config: %d %s" % (st, body))
        res = query(srv, '{host_name="node-1"}', t0 - SEC, t0 + 10 * SEC)
        check(len(res) == 1 and res[0]["stream"] == {"host_name": "node-1",
                                                      "service_name": "my.service"},
              "otlp_config labels: %r" % res)
        sm = res[0]["values"][0][2]["structuredMetadata"]
        check("string_attribute" not in sm and "k8s_namespace_name" not in sm and
              sm.get("int_attribute") == "10", "otlp_config metadata: %r" % sm)
        st, conf = request(srv.url + "/config")
        check("ignore_defaults: true" in conf and "index_label" in conf, conf[-1500:])
        srv.stop()
        with open(cfg, "w") as f:
            f.write("limits_config:\n  otlp_config:\n    log_attributes:\n"
                    "      - action: index_label\n        attributes: [a]\n")
        r = subprocess.run([BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir",
                            os.path.join(d, "data4"), "-config.file=" + cfg],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode != 0 and "index_label is valid only for resource_attributes" in r.stderr,
              "bad otlp_config: %d %s" % (r.returncode, r.stderr[-500:]))
    print("ok")


if __name__ == "__main__":
    main()
