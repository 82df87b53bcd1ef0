# query_client_test.py -- the `cairn query` client's printing against fixed server
# answers (a stub HTTP server on 127.0.0.1 that records each request): numbers pass
# through exactly as sent, and the metric step/end alignment.
import http.server
import json
import os
import subprocess
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import BIN, check  # noqa: E402

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
    out = cq(stub, 'rate({app="api"}[1m])')
    check("1796653625.134," in out and "8.9e-5," in out and "12345678901234567890" in out,
          "default output keeps the numbers: %r" % out)
    check("8.8999999999999995e-05" not in out and "1.2345678901234567e+19" not in out,
          "float noise: %r" % out)
    doc = json.loads(out)
    check(doc["resultType"] == "matrix", "indented data: %r" % out)
    stub.body = b'{"status":"success","data":["app","env"]}'
    check(cq(stub, "labels").split() == ["app", "env"], "labels bare")


def main():
    stub = Stub()
    numbers(stub)
    stub.srv.shutdown()
    print("ok")


if __name__ == "__main__":
    main()
