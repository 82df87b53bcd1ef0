# ui_test.py -- the web UI served by a real `cairn serve`: its files come from the
# binary with the right types (also under /ui/), API routes are untouched, and the
# page itself is driven in headless Chromium by tests/ui/browser.mjs (playwright-core
# from npm, Debian's /usr/bin/chromium) against pushed JSON logs and Kubernetes
# events: columns, lines as text, absolute ranges, a failed query, drag zoom, load
# older, click-to-filter, live over the tail WebSocket, the Events view, a metric
# chart, and the paint/scroll numbers. Screenshots go to <build>/ui-artefacts/.
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import Server, TempDir, check, now_ns, push_json, request  # noqa: E402

SRC = os.environ.get("CAIRN_SRC", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
BUILD = os.environ.get("CAIRN_BUILD", ".")


def node_modules():
    """playwright-core from npm, installed from tests/ui/package-lock.json when missing."""
    ui = os.path.join(SRC, "tests", "ui")
    if not os.path.isdir(os.path.join(ui, "node_modules", "playwright-core")):
        p = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=ui,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
        check(p.returncode == 0, "npm ci in tests/ui failed:\n" + p.stdout[-3000:])
    return ui


def event_line(uid, reason, kind, name, typ, first_ms, last_ms, count, verb="ADDED"):
    iso = lambda ms: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))  # noqa: E731
    return json.dumps({"verb": verb, "event": {
        "kind": "Event", "apiVersion": "v1",
        "metadata": {"name": "%s.%s" % (name, uid), "namespace": "web", "uid": uid},
        "involvedObject": {"kind": kind, "name": name, "namespace": "web"},
        "reason": reason, "message": "%s of %s" % (reason, name), "type": typ, "count": count,
        "firstTimestamp": iso(first_ms), "lastTimestamp": iso(last_ms),
        "source": {"component": "kubelet"}}})


def main():
    check(shutil.which("node") and shutil.which("npm"), "node/npm missing (deps/debian.txt)")
    check(os.path.exists("/usr/bin/chromium"), "no /usr/bin/chromium (deps/debian.txt)")
    ui = node_modules()
    artefacts = os.path.join(os.path.abspath(BUILD), "ui-artefacts")
    os.makedirs(artefacts, exist_ok=True)
    with TempDir() as d:
        srv = Server(os.path.join(d, "data")).start()
        base = srv.url

        # 1. The files, from the binary.
        for path, ctype in [("/", "text/html"), ("/app.js", "text/javascript"),
                            ("/logic.mjs", "text/javascript"), ("/app.css", "text/css"),
                            ("/events.mjs", "text/javascript"),
                            ("/ui/", "text/html"), ("/ui/app.js", "text/javascript")]:
            r = urllib.request.urlopen(base + path, timeout=30)
            check(r.status == 200 and r.headers["Content-Type"].startswith(ctype),
                  "%s: %d %s" % (path, r.status, r.headers["Content-Type"]))
            check(r.headers["Cache-Control"] == "no-cache", "%s cache header" % path)
        status, body = request(base + "/nothing-here")
        check(status == 404, "unknown path: %d" % status)
        status, body = request(base + "/loki/api/v1/labels")
        check(status == 200 and json.loads(body)["status"] == "success", "API route: %s" % body)

        # 2. The data: three kinds of lines; JSON app logs over the last 3 hours; events;
        # 20,000 bulk lines for the speed numbers.
        t = now_ns()
        web = [(t, json.dumps({"level": "error", "req": {"id": 42}, "msg": "<b>boom</b>"})),
               (t + 1, "level=info msg=ok dur=5ms"),
               (t + 2, "plain text <i>line</i>")]
        status, body = push_json(base, [({"job": "web", "env": "prod"}, web)])
        check(status == 204, "push: %d %s" % (status, body))
        now_ms = t // 1000000
        app, errors = [], 0
        for i in range(300):
            ms = now_ms - 170 * 60000 + i * 32000
            st = 500 if i % 7 == 0 else 200
            errors += st == 500
            lvl = "error" if st == 500 else ("warn" if i % 5 == 0 else "info")
            app.append((ms * 1000000, json.dumps({"level": lvl, "msg": "request %d" % i, "http": {"status": st}, "i": i})))
        status, body = push_json(base, [({"job": "app", "namespace": "web", "pod": "api-1"}, app)])
        check(status == 204, "push app: %d %s" % (status, body))
        w_from, w_to = now_ms - 120 * 60000, now_ms - 90 * 60000
        inside = sum(1 for ts, _ in app if w_from * 1000000 <= ts < w_to * 1000000)
        ev_t = now_ms - 20 * 60000
        evs = [
            ({"job": "events", "namespace": "web", "kind": "Pod", "reason": "Scheduled", "type": "Normal", "source": "kubelet"},
             [(ev_t * 1000000, event_line("u1", "Scheduled", "Pod", "api-1", "Normal", ev_t, ev_t, 1))]),
            ({"job": "events", "namespace": "web", "kind": "Pod", "reason": "Pulling", "type": "Normal", "source": "kubelet"},
             [((ev_t + 1000) * 1000000, event_line("u2", "Pulling", "Pod", "api-1", "Normal", ev_t + 1000, ev_t + 1000, 1))]),
            ({"job": "events", "namespace": "web", "kind": "Pod", "reason": "BackOff", "type": "Warning", "source": "kubelet"},
             [((ev_t + 60000) * 1000000, event_line("u3", "BackOff", "Pod", "api-1", "Warning", ev_t + 5000, ev_t + 60000, 2)),
              ((ev_t + 120000) * 1000000, event_line("u3", "BackOff", "Pod", "api-1", "Warning", ev_t + 5000, ev_t + 120000, 5, "UPDATED"))]),
            ({"job": "events", "namespace": "web", "kind": "Deployment", "reason": "ScalingReplicaSet", "type": "Normal", "source": "deployment-controller"},
             [(ev_t * 1000000, event_line("u4", "ScalingReplicaSet", "Deployment", "api", "Normal", ev_t, ev_t, 1))]),
        ]
        status, body = push_json(base, evs)
        check(status == 204, "push events: %d %s" % (status, body))
        for chunk in range(4):
            lines = []
            for j in range(5000):
                i = chunk * 5000 + j
                ms = now_ms - 100 * 60000 + i * 280
                lines.append((ms * 1000000 + j % 1000, json.dumps(
                    {"a": "alpha-%d" % (i % 97), "b": i, "c": "x" * (i % 40), "d": {"k": i % 3}, "e": "more"})))
            status, body = push_json(base, [({"job": "bulk"}, lines)])
            check(status == 204, "push bulk: %d %s" % (status, body))

        # 3. Every filter the UI builds from a field parses on the server and keeps the
        # line it came from: nested keys, arrays, odd characters, logfmt, labels.
        odd = {"event": {"reason": "BackOff", "involved-object": {"kind": "Pod"}}, "tags": ["a", "b"],
               "k": {"l": [{"m": 1}]}, "1st": "x", "q": 'say "hi"\\n', "n": 5}
        st, body = push_json(base, [({"job": "odd"}, [(t, json.dumps(odd)), (t + 1, "level=warn msg=\"x y\" dur=5ms")])])
        check(st == 204, "push odd: %d %s" % (st, body))
        script = """
import { parseLine, addFieldFilter } from "%s";
const q = '{job="odd"}';
const out = [];
for (const line of process.argv.slice(1)) {
  const p = parseLine(line);
  for (const [k, v] of Object.entries(p.fields)) {
    out.push([addFieldFilter(q, k, v, "=", p.kind), 1]);
    out.push([addFieldFilter(q + " | json", k, v, "!=", p.kind), 1]);
  }
}
out.push([addFieldFilter(q, "job", "odd", "=", "label"), 2]);
console.log(JSON.stringify(out));
""" % os.path.join(SRC, "src", "ui", "assets", "logic.mjs")
        p = subprocess.run(["node", "--input-type=module", "-e", script, json.dumps(odd), "level=warn msg=\"x y\" dur=5ms"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
        check(p.returncode == 0, "node: %s" % p.stderr)
        filters = json.loads(p.stdout)
        check(len(filters) >= 16, "filters: %r" % filters)
        for q, want in filters:
            st, body = request(base + "/loki/api/v1/query_range?" + urllib.parse.urlencode(
                {"query": q, "start": t - 10**9, "end": t + 10**9, "limit": 10}))
            check(st == 200, "the UI's filter does not parse: %s -> %d %s" % (q, st, body))
            n = sum(len(s["values"]) for s in json.loads(body)["data"]["result"])
            check(n == want if "!=" not in q else n == 1, "%s kept %d lines, want %d" % (q, n, want))

        data = {"window": {"from": w_from, "to": w_to, "inside": inside}, "errors": errors}
        p = subprocess.run(["node", os.path.join(ui, "browser.mjs"), base, artefacts, json.dumps(data)],
                           cwd=ui, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=280)
        sys.stdout.write(p.stdout)
        sys.stderr.write(p.stderr[-6000:])
        check(p.returncode == 0, "browser checks failed (screenshots in %s)" % artefacts)
        check(srv.stop() == 0, "server exit status; log:\n" + "".join(srv.log[-30:]))
        print("ok: files, and the page in Chromium (screenshots in %s)" % artefacts)


if __name__ == "__main__":
    main()
