# query_auth_test.py -- `cairn query`'s logcli options for auth, TLS and output:
#   - against a real `cairn serve` with auth on: basic (--username/--password and
#     LOKI_USERNAME/LOKI_PASSWORD), bearer (--bearer-token, --bearer-token-file and
#     their LOKI_* variables), --org-id/LOKI_ORG_ID; none or wrong is refused; basic and
#     bearer together is a usage error;
#   - --include-label/--exclude-label, --stats, colour only on a terminal, --no-color;
#   - TLS against an HTTPS stub with its own CA: --ca-cert/LOKI_CA_CERT_PATH, a client
#     certificate (--cert/--key, LOKI_CLIENT_*), --tls-skip-verify/LOKI_TLS_SKIP_VERIFY.
import hashlib
import http.server
import json
import os
import pty
import ssl
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "k8sfake"))
from push_util import BIN, Server, TempDir, check, now_ns  # noqa: E402
from harness import gen_certs  # noqa: E402

AGENT, ADMIN = "agent-token-0123456789abcdef", "admin-secret-fedcba9876543210"
CLEAN = {k: v for k, v in os.environ.items() if not k.startswith("LOKI_") and k != "NO_COLOR"}


def sha(s):
    return hashlib.sha256(s.encode()).hexdigest()


def cq(url, *args, env=None):
    e = dict(CLEAN)
    e.update(env or {})
    return subprocess.run([BIN, "query", "--addr", url, "-q", "--since", "1h"] + list(args),
                          capture_output=True, text=True, timeout=60, env=e)


def lines(r):
    return sorted(line.split("} ", 1)[1] for line in r.stdout.splitlines())


def auth(d):
    cfg = os.path.join(d, "auth.yaml")
    with open(cfg, "w") as f:
        f.write("auth:\n  enabled: true\n  credentials:\n"
                "    agent:\n      secret_sha256: %s\n      tenants: [team-a, team-b]\n"
                "    admin:\n      secret_sha256: %s\n      tenants: ['*']\n"
                % (sha(AGENT), sha(ADMIN)))
    srv = Server(os.path.join(d, "data"), "-config.file=" + cfg).start()
    t = now_ns() - 10 * 10**9
    import urllib.request
    for tenant, line in (("team-a", "level=error msg=a"), ("team-b", "msg=b")):
        doc = {"streams": [{"stream": {"app": "au", "env": "prod", "pod": "p1"},
                            "values": [[str(t), line]]}]}
        req = urllib.request.Request(srv.url + "/loki/api/v1/push", json.dumps(doc).encode(),
                                     {"Content-Type": "application/json",
                                      "Authorization": "Bearer " + ADMIN,
                                      "X-Scope-OrgID": tenant}, method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:
            check(resp.status == 204, "push %s: %d" % (tenant, resp.status))
    q = '{app="au"}'
    tok = os.path.join(d, "token")
    with open(tok, "w") as f:
        f.write(AGENT + "\n")

    r = cq(srv.url, q)
    check(r.returncode != 0 and "401" in r.stderr, "no credentials: %d %s" % (r.returncode, r.stderr))
    r = cq(srv.url, "--bearer-token", "nope", q)
    check(r.returncode != 0 and "401" in r.stderr, "wrong token: %s" % r.stderr)
    r = cq(srv.url, "--username", "agent", "--password", "nope", q)
    check(r.returncode != 0 and "401" in r.stderr, "wrong password: %s" % r.stderr)
    ok = [
        (["--bearer-token", AGENT], {}),
        ([], {"LOKI_BEARER_TOKEN": AGENT}),
        (["--bearer-token-file", tok], {}),
        ([], {"LOKI_BEARER_TOKEN_FILE": tok}),
        (["--username", "agent", "--password", AGENT], {}),
        ([], {"LOKI_USERNAME": "agent", "LOKI_PASSWORD": AGENT}),
    ]
    for args, env in ok:
        r = cq(srv.url, *args, q, env=env)
        check(r.returncode == 0 and lines(r) == ["level=error msg=a"],
              "%r %r: %d %s %r" % (args, env, r.returncode, r.stderr, r.stdout))
    r = cq(srv.url, "--bearer-token", AGENT, "--org-id", "team-b", q)
    check(r.returncode == 0 and lines(r) == ["msg=b"], "--org-id team-b: %r" % r.stdout)
    r = cq(srv.url, "--bearer-token", AGENT, q, env={"LOKI_ORG_ID": "team-b"})
    check(r.returncode == 0 and lines(r) == ["msg=b"], "LOKI_ORG_ID: %r" % r.stdout)
    r = cq(srv.url, "--bearer-token", AGENT, "--username", "agent", "--password", AGENT, q)
    check(r.returncode == 2 and "at most one" in r.stderr, "basic and bearer: %s" % r.stderr)
    # --tail (a WebSocket upgrade made by hand) carries the credentials too: it prints
    # the entry already there; refused, it would exit with nothing
    for args in (["--bearer-token", AGENT], ["--username", "agent", "--password", AGENT]):
        e = dict(CLEAN)
        p = subprocess.Popen([BIN, "query", "--addr", srv.url, "-q", "--tail"] + args + [q],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
        first = p.stdout.readline()
        p.kill()
        err = p.communicate()[1]
        check(first.rstrip().endswith("level=error msg=a"), "tail %r: %r %s" % (args, first, err))
    p = subprocess.Popen([BIN, "query", "--addr", srv.url, "-q", "--tail", q],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(CLEAN))
    out, err = p.communicate(timeout=60)
    check(p.returncode != 0 and "401" in err, "tail without credentials: %s" % err)

    # labels shown
    r = cq(srv.url, "--bearer-token", AGENT, "--include-label", "app", q)
    check(r.returncode == 0 and ' {app="au"} ' in r.stdout, "include-label: %r" % r.stdout)
    r = cq(srv.url, "--bearer-token", AGENT, "--exclude-label", "pod", "--exclude-label", "env", q)
    check(' {app="au"} ' in r.stdout, "exclude-label: %r" % r.stdout)
    r = cq(srv.url, "--bearer-token", AGENT, q)
    check('pod="p1"' in r.stdout, "all labels by default: %r" % r.stdout)
    # --stats
    r = cq(srv.url, "--bearer-token", AGENT, "--stats", q)
    check(r.returncode == 0 and "summary" in r.stderr, "--stats: %r" % r.stderr)
    # colour: only on a terminal, and not with --no-color
    check("\x1b[" not in r.stdout, "colour into a pipe: %r" % r.stdout)
    for extra, want in (([], True), (["--no-color"], False)):
        out = on_tty([BIN, "query", "--addr", srv.url, "-q", "--bearer-token", AGENT] + extra + [q])
        check(("\x1b[31m" in out) == want, "colour %r: %r" % (extra, out))
    srv.stop()


def on_tty(args):
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdout=slave, stderr=subprocess.DEVNULL, env=CLEAN)
    os.close(slave)
    data = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    os.close(master)
    check(proc.wait(60) == 0, "tty run failed")
    return data.decode()


class TLSStub:
    BODY = b'{"status":"success","data":["app"]}'

    def __init__(self, certs, want_client_cert):
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(len(outer.BODY)))
                self.end_headers()
                self.wfile.write(outer.BODY)

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(certs, "server.crt"), os.path.join(certs, "server.key"))
        if want_client_cert:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(os.path.join(certs, "ca.crt"))
        self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
        self.url = "https://127.0.0.1:%d" % self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()


def tls(d):
    certs = gen_certs(os.path.join(d, "certs"))
    ca = os.path.join(certs, "ca.crt")
    crt, key = os.path.join(certs, "client.crt"), os.path.join(certs, "client.key")
    s = TLSStub(certs, False)
    r = cq(s.url, "labels")
    check(r.returncode != 0, "unknown CA accepted: %r" % r.stdout)
    for args, env in ((["--ca-cert", ca], {}), ([], {"LOKI_CA_CERT_PATH": ca}),
                      (["--tls-skip-verify"], {}), ([], {"LOKI_TLS_SKIP_VERIFY": "true"})):
        r = cq(s.url, *args, "labels", env=env)
        check(r.returncode == 0 and r.stdout.split() == ["app"], "%r %r: %s" % (args, env, r.stderr))
    s.srv.shutdown()
    s = TLSStub(certs, True)
    r = cq(s.url, "--ca-cert", ca, "labels")
    check(r.returncode != 0, "no client certificate accepted")
    for args, env in ((["--ca-cert", ca, "--cert", crt, "--key", key], {}),
                      ([], {"LOKI_CA_CERT_PATH": ca, "LOKI_CLIENT_CERT_PATH": crt,
                            "LOKI_CLIENT_KEY_PATH": key})):
        r = cq(s.url, *args, "labels", env=env)
        check(r.returncode == 0 and r.stdout.split() == ["app"], "client cert %r: %s" % (env, r.stderr))
    s.srv.shutdown()


def main():
    with TempDir() as d:
        auth(d)
        tls(d)
    print("ok")


if __name__ == "__main__":
    main()
