# serve_auth_test.py -- optional auth on `cairn serve` (issue 10): credentials from the
# config's auth section, secrets stored as SHA-256 digests, mapped to tenants.
#   - without credentials: 401 with WWW-Authenticate (Basic and Bearer), on queries,
#     pushes and /config; a wrong token or password is 401 too;
#   - a bearer token, or basic auth (the credential's name and secret), is served;
#   - X-Scope-OrgID naming a tenant the credential does not own: 403; without it the
#     credential's first tenant is used; "*" owns every tenant;
#   - /ready and /metrics stay open; a push refused by auth is refused before its body
#     is read (a Content-Length without a body still gets its 401).
#   - auth is off by default (the other e2e tests run without credentials).
import base64
import hashlib
import json
import os
import socket
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import Server, TempDir, check, now_ns, request  # noqa: E402

AGENT, ADMIN = "agent-token-0123456789abcdef", "admin-secret-fedcba9876543210"


def sha(s):
    return hashlib.sha256(s.encode()).hexdigest()


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


def basic(user, pw):
    return {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()}


def push(url, headers, tenant=None, line="x"):
    h = dict(headers)
    if tenant:
        h["X-Scope-OrgID"] = tenant
    h["Content-Type"] = "application/json"
    doc = {"streams": [{"stream": {"job": "auth"}, "values": [[str(now_ns()), line]]}]}
    return request(url + "/loki/api/v1/push", json.dumps(doc).encode(), h, "POST")


def query(url, headers, tenant=None):
    h = dict(headers)
    if tenant:
        h["X-Scope-OrgID"] = tenant
    q = urllib.parse.urlencode({"query": '{job="auth"}', "start": now_ns() - 3600 * 10**9,
                                "end": now_ns() + 10**9})
    return request(url + "/loki/api/v1/query_range?" + q, headers=h)


def lines(body):
    return sorted(v[1] for r in json.loads(body)["data"]["result"] for v in r["values"])


def main():
    with TempDir() as d:
        cfg = os.path.join(d, "auth.yaml")
        with open(cfg, "w") as f:
            f.write("auth:\n  enabled: true\n  credentials:\n"
                    "    agent:\n      secret_sha256: %s\n      tenants: [team-a, team-b]\n"
                    "    admin:\n      secret_sha256: %s\n      tenants: ['*']\n"
                    % (sha(AGENT), sha(ADMIN)))
        srv = Server(os.path.join(d, "data"), "-config.file=" + cfg).start()
        url = srv.url

        # open routes
        st, body = request(url + "/ready")
        check(st == 200, "/ready with auth on: %d %s" % (st, body))
        st, _ = request(url + "/metrics")
        check(st == 200, "/metrics with auth on: %d" % st)

        # 401 without or with wrong credentials, naming the schemes
        import urllib.request
        import urllib.error
        try:
            urllib.request.urlopen(url + "/loki/api/v1/labels", timeout=30)
            check(False, "labels without credentials was served")
        except urllib.error.HTTPError as e:
            check(e.code == 401, "labels without credentials: %d" % e.code)
            schemes = " ".join(e.headers.get_all("WWW-Authenticate") or [])
            check("Basic" in schemes and "Bearer" in schemes,
                  "401 without WWW-Authenticate for Basic and Bearer: %r" % schemes)
        for h in ({}, bearer("nope"), basic("agent", "nope"), basic("admin", AGENT)):
            st, body = push(url, h, "team-a")
            check(st == 401, "push with %r: %d %s" % (h, st, body))
            st, _ = query(url, h, "team-a")
            check(st == 401, "query with %r: %d" % (h, st))
        st, _ = request(url + "/config")
        check(st == 401, "/config without credentials: %d" % st)

        # refused from the header: a body announced but never sent still gets its 401
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
        s.sendall(b"POST /loki/api/v1/push HTTP/1.1\r\nHost: t\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n")
        got = s.recv(4096)
        s.close()
        check(got.startswith(b"HTTP/1.1 401"), "unauthenticated push body was awaited: %r"
              % got[:80])

        # the agent: its tenants, by bearer token or basic auth; 403 for another
        st, body = push(url, bearer(AGENT), "team-a", "a1")
        check(st == 204, "agent push to team-a: %d %s" % (st, body))
        st, body = push(url, basic("agent", AGENT), "team-b", "b1")
        check(st == 204, "agent push to team-b by basic auth: %d %s" % (st, body))
        st, body = push(url, bearer(AGENT), "team-c", "c1")
        check(st == 403 and "team-c" in body, "agent push to team-c: %d %s" % (st, body))
        st, body = query(url, bearer(AGENT), "team-c")
        check(st == 403, "agent query of team-c: %d %s" % (st, body))
        st, body = push(url, bearer(AGENT), None, "a2")  # no tenant: its first, team-a
        check(st == 204, "agent push without a tenant: %d %s" % (st, body))
        st, body = query(url, bearer(AGENT), "team-a")
        check(st == 200 and lines(body) == ["a1", "a2"], "team-a as the agent: %d %s"
              % (st, body[:300]))
        st, body = query(url, basic("agent", AGENT), None)
        check(st == 200 and lines(body) == ["a1", "a2"], "agent's default tenant: %d %s"
              % (st, body[:300]))

        # "*" owns every tenant
        st, body = query(url, bearer(ADMIN), "team-b")
        check(st == 200 and lines(body) == ["b1"], "admin reads team-b: %d %s" % (st, body[:300]))
        st, body = push(url, basic("admin", ADMIN), "team-c", "c2")
        check(st == 204, "admin push to team-c: %d %s" % (st, body))
        st, body = request(url + "/config", headers=bearer(ADMIN))
        check(st == 200 and sha(ADMIN) not in body and "<secret>" in body,
              "/config shows the hashes or is refused: %d" % st)
        check(srv.stop() == 0, "server exit status")

        # a config naming auth without credentials is refused at start
        bad = os.path.join(d, "bad.yaml")
        with open(bad, "w") as f:
            f.write("auth:\n  enabled: true\n  credentials:\n"
                    "    x:\n      secret_sha256: abc\n      tenants: [a]\n")
        import subprocess
        r = subprocess.run([os.environ.get("CAIRN_BIN", "cairn"), "serve", "-config.file=" + bad,
                            "--listen", "127.0.0.1:0", "--data-dir", os.path.join(d, "d2")],
                           capture_output=True, text=True, timeout=30)
        check(r.returncode != 0 and "secret_sha256" in r.stderr,
              "a bad hash was accepted: %d %s" % (r.returncode, r.stderr))
    print("ok")


if __name__ == "__main__":
    main()
