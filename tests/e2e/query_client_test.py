# query_client_test.py -- the `cairn query` client's printing against fixed server
# answers (a stub HTTP server on 127.0.0.1 that records each request): numbers pass
# through exactly as sent, and the metric step/end alignment.
import fcntl
import http.server
import json
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import BIN, Server, TempDir, check, now_ns, push_json  # noqa: E402

MATRIX = (b'{"status":"success","data":{"resultType":"matrix","result":['
          b'{"metric":{"app":"api"},"values":[[1796653625.134,"8.9e-5"],[1796653626,"1e300"]]}],'
          b'"stats":{"summary":{"execTime":8.9e-5,"bytesProcessedPerSecond":12345678901234567890}}}}')


class Stub:
    """Answers every GET with self.body and records the query parameters."""

    def __init__(self):
        self.body = b"{}"
        self.requests = []
        stub = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                u = urllib.parse.urlparse(self.path)
                stub.requests.append((u.path, urllib.parse.parse_qs(u.query), dict(self.headers)))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(stub.body)))
                self.end_headers()
                self.wfile.write(stub.body)

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()


def cq(stub, *args):
    r = subprocess.run([BIN, "query", "--addr", stub.url, "-q"] + list(args),
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, "cairn query %r: rc %d %s" % (args, r.returncode, r.stderr))
    return r.stdout


def numbers(stub):
    stub.body = MATRIX
    out = cq(stub, "-o", "jsonl", 'rate({app="api"}[1m])')
    lines = out.splitlines()
    check(len(lines) == 1, "one series a line: %r" % out)
    check('[1796653625.134,"8.9e-5"]' in lines[0], "timestamp verbatim: %r" % lines[0])
    check("1796653625.1340001" not in out, "float noise: %r" % out)
    check(json.loads(lines[0])["metric"] == {"app": "api"}, "valid JSON: %r" % lines[0])
    out = cq(stub, "-o", "raw", 'rate({app="api"}[1m])')
    check("1796653625.134," in out and "8.9e-5," in out and "12345678901234567890" in out,
          "default output keeps the numbers: %r" % out)
    check("8.8999999999999995e-05" not in out and "1.2345678901234567e+19" not in out,
          "float noise: %r" % out)
    doc = json.loads(out)
    check(doc["resultType"] == "matrix", "indented data: %r" % out)
    stub.body = b'{"status":"success","data":["app","env"]}'
    check(cq(stub, "labels").split() == ["app", "env"], "labels bare")
VECTOR = (b'{"status":"success","data":{"resultType":"vector","result":['
          b'{"metric":{"namespace":"payments","reason":"BackOff"},"value":[1796653625.134,"12"]},'
          b'{"metric":{"namespace":"web-frontend"},"value":[1796653625.134,"8.9e-5"]}]}}')
SPARK = (b'{"status":"success","data":{"resultType":"matrix","result":['
         b'{"metric":{"app":"api"},"values":[[1000,"1"],[1060,"2"],[1120,"4"],[1180,"8"]]},'
         b'{"metric":{"app":"db"},"values":[[1060,"5"],[1180,"5"]]}]}}')


def tables(stub):
    """Metric results for people by default: a vector as an aligned table (labels as
    columns, values verbatim), a matrix as a sparkline per series with min/max/last, or
    with --wide a row per step; -o raw keeps the JSON."""
    stub.body = VECTOR
    rows = cq(stub, "--instant", 'sum by (namespace, reason) (rate({a="b"}[1m]))').splitlines()
    check(rows[0].split() == ["namespace", "reason", "VALUE"], "header: %r" % rows)
    check(rows[1].split() == ["payments", "BackOff", "12"], "row: %r" % rows)
    check(rows[2].split() == ["web-frontend", "8.9e-5"], "missing label blank: %r" % rows)
    check(rows[1].index("BackOff") == rows[0].index("reason")
          and rows[1].index("12") == rows[0].index("VALUE") == rows[2].index("8.9e-5"),
          "aligned: %r" % rows)
    rows = cq(stub, "--instant", "--exclude-label", "reason", 'x').splitlines()
    check(rows[0].split() == ["namespace", "VALUE"], "--exclude-label: %r" % rows)
    stub.body = SPARK
    rows = cq(stub, 'rate({a="b"}[1m])').splitlines()
    check(rows[0].startswith("2 series, 4 steps from 1970-01-01T00:16:40Z"), "summary: %r" % rows)
    api = rows[1]
    check(api.startswith('{app="api"}') and "\u2581" in api and "\u2588" in api
          and api.endswith("min 1 max 8  last 8"), "sparkline: %r" % api)
    col = len('{app="api"}') + 2  # labels padded to the widest, then two spaces
    spark = api[col:col + 4]
    check(len(spark) == 4 and spark[0] == "\u2581" and spark[3] == "\u2588", "bars: %r" % spark)
    db = rows[2]
    check(db[col:col + 4] == " \u2581 \u2581" and db.endswith("last 5"),
          "gaps blank, flat series low: %r" % db)
    rows = cq(stub, "--wide", 'rate({a="b"}[1m])').splitlines()
    check(rows[0].split() == ["TIME", '{app="api"}', '{app="db"}'], "wide header: %r" % rows)
    check(rows[1].split() == ["1970-01-01T00:16:40Z", "1"], "wide row: %r" % rows)
    check(rows[2].split() == ["1970-01-01T00:17:40Z", "2", "5"], "wide row: %r" % rows)
    check(len(rows) == 5, "a row per step: %r" % rows)
    stub.body = b'{"status":"success","data":{"resultType":"scalar","result":[1000,"3"]}}'
    check(cq(stub, "--instant", "vector(3)") == "3\n", "scalar")


def step_alignment(stub):
    """The request's end is an evaluation point: (end - start) is a whole number of
    steps, start no later than now - since, and less than a step earlier."""
    stub.body = b'{"status":"success","data":{"resultType":"matrix","result":[]}}'
    for args, want_step in (([], 86), (["--step", "1m"], 60), (["--step", "7"], 7)):
        stub.requests.clear()
        cq(stub, "--since", "6h", *args, 'count_over_time({app="api"}[1m])')
        _, q, _ = stub.requests[-1]
        start, end, step = int(q["start"][0]), int(q["end"][0]), q["step"][0]
        check(int(step) == want_step, "step %r for %r" % (step, args))
        st = want_step * 10**9
        check((end - start) % st == 0, "end on a step: %d %d %d" % (start, end, st))
        check(end - start >= 6 * 3600 * 10**9 and end - start < 6 * 3600 * 10**9 + st,
              "start moved back by less than a step: %d" % (end - start))
    # Log queries keep the range as asked.
    stub.body = b'{"status":"success","data":{"resultType":"streams","result":[]}}'
    stub.requests.clear()
    cq(stub, "--since", "6h", '{app="api"}')
    _, q, _ = stub.requests[-1]
    check(int(q["end"][0]) - int(q["start"][0]) == 6 * 3600 * 10**9 and "step" not in q,
          "log query range untouched: %r" % q)


def metric_after_push():
    """Against a real server: a count over the last minute right after a push, with
    --since 6h, shows the entry (the default step used to end 14 s before now)."""
    with TempDir() as d:
        srv = Server(os.path.join(d, "data")).start()
        status, body = push_json(srv.url, [({"app": "fresh"}, [(now_ns(), "hello")])])
        check(status == 204, "push: %d %s" % (status, body))
        r = subprocess.run([BIN, "query", "--addr", srv.url, "-q", "-o", "jsonl", "--since", "6h",
                            'count_over_time({app="fresh"}[1m])'],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "cairn query: %s" % r.stderr)
        lines = r.stdout.splitlines()
        check(len(lines) == 1, "one series: %r" % r.stdout)
        vals = json.loads(lines[0])["values"]
        check(vals and vals[-1][1] == "1", "last point counts the push: %r" % vals[-3:])
        # -o jsonl asks for categorized labels: structured metadata and parsed labels
        # are their own members, the stream's labels stay the stream's
        t = now_ns()
        doc = {"streams": [{"stream": {"app": "sm"}, "values": [
            [str(t), "k=v", {"trace_id": "0af7651916cd43dd"}], [str(t + 1), "k=w"]]}]}
        status, body = push_json(srv.url, None, raw=json.dumps(doc).encode())
        check(status == 204, "push with metadata: %d %s" % (status, body))
        r = subprocess.run([BIN, "query", "--addr", srv.url, "-q", "-o", "jsonl", "--since", "1h",
                            "--forward", '{app="sm"} | logfmt'],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0, "cairn query -o jsonl: %s" % r.stderr)
        got = [json.loads(x) for x in r.stdout.splitlines()]
        check([(g["labels"], g["line"], g.get("structuredMetadata"), g.get("parsed"))
               for g in got] ==
              [('{app="sm"}', "k=v", {"trace_id": "0af7651916cd43dd"}, {"k": "v"}),
               ('{app="sm"}', "k=w", None, {"k": "w"})], "jsonl with metadata: %r" % got)
        srv.stop()


LONG = "Back-off restarting\nfailed container " + "x" * 200


def stream_body(lines):
    vals = [[str(1796653625000000000 + i), line] for i, line in enumerate(lines)]
    return json.dumps({"status": "success", "data": {"resultType": "streams", "result": [
        {"stream": {"app": "k"}, "values": vals}]}}).encode()


def fields(stub):
    """--fields: nested JSON paths, arrays by index, logfmt keys, missing keys blank,
    aligned columns; not cut when stdout is not a terminal, cut on one unless --wide."""
    stub.body = stream_body([
        json.dumps({"event": {"reason": "BackOff", "involvedObject": {"name": "web-1"},
                              "message": LONG}, "items": [{"id": 7}, {"id": 8}]}),
        json.dumps({"event": {"reason": "Scheduled", "message": "ok"}}),
        'level=info event.reason=Pulled msg="pulled image \\"nginx\\""',
    ])
    spec = "event.reason,event.involvedObject.name,items[1].id,event.message,msg"
    out = cq(stub, "--forward", "--fields", spec, '{app="k"}')
    rows = out.splitlines()
    check(len(rows) == 4, "header and 3 rows: %r" % out)
    check(rows[0].split() == ["TIME"] + spec.split(","), "header %r" % rows[0])
    col = [rows[0].index(name) for name in spec.split(",")]
    r1 = rows[1]
    check(r1[col[0]:].startswith("BackOff ") and r1[col[1]:].startswith("web-1 ") and
          r1[col[2]:].startswith("8 "), "nested and indexed values aligned: %r" % r1)
    check(r1[col[3]:].rstrip() == LONG.replace("\n", " "), "no cut off a terminal: %r" % r1)
    r2 = rows[2]
    check(r2[col[0]:].startswith("Scheduled ") and r2[col[1]:col[3]].strip() == "" and
          r2[col[3]:].rstrip() == "ok", "missing keys blank: %r" % r2)
    r3 = rows[3]
    check(r3[col[0]:].startswith("Pulled ") and r3[col[4]:] == 'pulled image "nginx"',
          "logfmt keys, quoted value unescaped: %r" % r3)
    out = cq(stub, "--forward", "-o", "raw", "--fields", "event.reason,items", '{app="k"}')
    check(out.splitlines() == ["BackOff       [{\"id\":7},{\"id\":8}]", "Scheduled", "Pulled"],
          "raw: no time, no header, arrays as JSON: %r" % out)
    for wide, want_cut in ((False, True), (True, False)):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        args = [BIN, "query", "--addr", stub.url, "-q", "--forward", "--fields",
                "event.reason,event.message", '{app="k"}'] + (["--wide"] if wide else [])
        proc = subprocess.Popen(args, stdout=slave, stderr=subprocess.DEVNULL)
        os.close(slave)
        data = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            data += chunk
        os.close(master)
        check(proc.wait(60) == 0, "tty run failed")
        lines = data.decode().replace("\r", "").splitlines()
        longest = max(len(line) for line in lines)
        if want_cut:
            check(longest <= 80 and lines[1].endswith("..."), "cut to 80 columns: %r" % lines)
        else:
            check(longest > 200, "--wide keeps the whole value: %r" % lines)


def main():
    stub = Stub()
    numbers(stub)
    tables(stub)
    step_alignment(stub)
    fields(stub)
    stub.srv.shutdown()
    metric_after_push()
    print("ok")



if __name__ == "__main__":
    main()
