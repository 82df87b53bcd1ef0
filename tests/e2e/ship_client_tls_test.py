# ship_client_tls_test.py -- `cairn ship`'s client against an HTTPS push endpoint with
# its own CA (tests/k8sfake's gen-certs): tls_config.ca_file with basic_auth; a client
# certificate the endpoint requires, with bearer_token_file; a CA it does not know
# (nothing is sent) and the same with insecure_skip_verify (sent). The endpoint
# checks the headers Promtail sends and answers 204, as Loki does.
import base64
import http.server
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "k8sfake"))
from harness import gen_certs  # noqa: E402

BIN = os.environ["CAIRN_BIN"]
N = 50


class Endpoint:
    """An HTTPS push endpoint that records each request's auth headers."""

    def __init__(self, certs, want_client_cert=False):
        self.seen = []
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.seen.append({"auth": self.headers.get("Authorization"),
                                   "tenant": self.headers.get("X-Scope-OrgID"),
                                   "type": self.headers.get("Content-Type"),
                                   "bytes": len(body)})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(certs, "server.crt"), os.path.join(certs, "server.key"))
        if want_client_cert:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(os.path.join(certs, "ca.crt"))
        self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
        self.url = "https://127.0.0.1:%d/loki/api/v1/push" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def stop(self):
        self.srv.shutdown()


def run_agent(d, client_yaml, want_sent, timeout=30):
    """Run the agent over a file of N lines with the given client section; return the
    entries its /metrics says were sent (once want_sent is reached, or after 3 s when
    nothing should be) and its log."""
    logdir = os.path.join(d, "logs")
    os.makedirs(logdir, exist_ok=True)
    with open(os.path.join(logdir, "app.log"), "w") as f:
        for i in range(N):
            f.write("line %d\n" % i)
    cfg = os.path.join(d, "ship.yaml")
    with open(cfg, "w") as f:
        f.write("server:\n  http_listen_port: 0\n"
                "positions:\n  filename: %s/positions.yaml\n"
                "clients:\n%s"
                "scrape_configs:\n  - job_name: app\n    static_configs:\n"
                "      - labels: {job: app, __path__: '%s/*.log'}\n" % (d, client_yaml, logdir))
    err = open(os.path.join(d, "ship.log"), "w+")
    p = subprocess.Popen([BIN, "ship", "--config", cfg, "--log-level", "info"], stderr=err)
    try:
        port = None
        deadline = time.monotonic() + timeout
        while port is None and time.monotonic() < deadline:
            err.seek(0)
            m = re.search(r"serving /ready and /metrics.* port=(\d+)", err.read())
            port = int(m.group(1)) if m else None
            time.sleep(0.05)
        assert port, "the agent did not start: " + open(err.name).read()[-2000:]
        sent = 0
        while time.monotonic() < deadline:
            text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10).read().decode()
            sent = sum(int(float(v)) for v in re.findall(r"^promtail_sent_entries_total(?:\{[^}]*\})? (\S+)", text, re.M))
            if want_sent and sent >= want_sent:
                break
            if not want_sent and time.monotonic() > deadline - timeout + 3:
                break  # long enough to have tried
            time.sleep(0.1)
        return sent, open(err.name).read()
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
        err.close()


def main():
    with tempfile.TemporaryDirectory(prefix="cairn-ship-tls-") as top:
        certs = gen_certs(os.path.join(top, "pki"))
        ca = os.path.join(certs, "ca.crt")

        # 1. ca_file + basic_auth + tenant
        ep = Endpoint(certs)
        d = os.path.join(top, "basic")
        sent, log = run_agent(d, "  - url: %s\n    tenant_id: team-a\n    batchwait: 100ms\n"
                                    "    basic_auth: {username: agent, password: s3cret}\n"
                                    "    tls_config: {ca_file: %s}\n" % (ep.url, ca), N)
        assert sent == N, "basic auth over TLS: sent %d of %d\n%s" % (sent, N, log[-2000:])
        want = "Basic " + base64.b64encode(b"agent:s3cret").decode()
        assert ep.seen and all(r["auth"] == want for r in ep.seen), ep.seen[:2]
        assert all(r["tenant"] == "team-a" and r["type"] == "application/x-protobuf" for r in ep.seen), ep.seen[:2]
        ep.stop()

        # 2. the endpoint requires a client certificate; bearer token from a file
        ep = Endpoint(certs, want_client_cert=True)
        d = os.path.join(top, "cert")
        os.makedirs(d)
        tok = os.path.join(d, "token")
        with open(tok, "w") as f:
            f.write("tok-123\n")
        sent, log = run_agent(d, "  - url: %s\n    batchwait: 100ms\n    bearer_token_file: %s\n"
                                    "    tls_config:\n      ca_file: %s\n      cert_file: %s\n"
                                    "      key_file: %s\n"
                                 % (ep.url, tok, ca, os.path.join(certs, "client.crt"),
                                    os.path.join(certs, "client.key")), N)
        assert sent == N, "client certificate: sent %d of %d\n%s" % (sent, N, log[-2000:])
        assert all(r["auth"] == "Bearer tok-123" for r in ep.seen), ep.seen[:2]
        ep.stop()

        # 3. a CA the agent does not know: nothing is sent (and the error is logged) ...
        ep = Endpoint(certs)
        d = os.path.join(top, "unknown-ca")
        sent, log = run_agent(d, "  - url: %s\n    batchwait: 100ms\n"
                                    "    backoff_config: {min_period: 100ms, max_period: 200ms}\n" % ep.url, 0)
        assert sent == 0 and not ep.seen, "sent %d to an endpoint with an unknown CA" % sent
        assert re.search(r"(?i)certificate|ssl|tls", log), log[-2000:]
        # ... unless told to skip verification
        d = os.path.join(top, "insecure")
        sent, log = run_agent(d, "  - url: %s\n    batchwait: 100ms\n"
                                    "    tls_config: {insecure_skip_verify: true}\n" % ep.url, N)
        assert sent == N, "insecure_skip_verify: sent %d of %d\n%s" % (sent, N, log[-2000:])
        ep.stop()
        print("ok: ca_file + basic auth, client certificate + bearer token file, unknown CA, "
              "insecure_skip_verify")


if __name__ == "__main__":
    main()
