# ruler_ui_test.py -- the web UI's Rules page and "Alert from this query" against real
# `cairn serve` instances: one without the ruler (the page says it is off), one with a
# rules directory (a firing alert with its labels and value, a recording rule, a rule
# in error: many-to-many matching), then tests/ui/rules_browser.mjs writes an alert from a metric query in the
# page and POSTs it, and the rule is read back through the rules API. Also checks an
# annotation rendered with Prometheus's template functions (humanize, toUpper).
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import Server, TempDir, check, now_ns, push_json, request  # noqa: E402
from ui_test import node_modules  # noqa: E402

BUILD = os.environ.get("CAIRN_BUILD", ".")

RULES = """groups:
  - name: events
    interval: 1s
    rules:
      - alert: BackOffStorm
        expr: sum by (namespace) (count_over_time({job="events", reason="BackOff"}[5m])) > 1
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.namespace | toUpper }}: {{ humanize $value }} BackOffs, {{ humanizePercentage 0.25 }}"
      - record: events:count5m
        expr: sum(count_over_time({job="events"}[5m]))
      - alert: Broken
        expr: sum by (reason) (count_over_time({job="events"}[5m])) / on() sum by (reason) (count_over_time({job="events"}[5m])) > 0
"""


def wait_until(fn, what, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got:
            return got
        check(time.monotonic() < deadline, "timed out waiting for " + what)
        time.sleep(0.2)


def main():
    ui = node_modules()
    artefacts = os.path.join(os.path.abspath(BUILD), "ui-artefacts")
    os.makedirs(artefacts, exist_ok=True)
    with TempDir() as d:
        off = Server(os.path.join(d, "off")).start()
        st, _ = request(off.url + "/prometheus/api/v1/rules")
        check(st == 404, "ruler off answers 404, got %d" % st)
        rules = os.path.join(d, "rules")
        os.makedirs(os.path.join(rules, "fake"))
        with open(os.path.join(rules, "fake", "events.yaml"), "w") as f:
            f.write(RULES)
        cfg = os.path.join(d, "serve.yaml")
        with open(cfg, "w") as f:
            f.write("ruler:\n  storage:\n    local:\n      directory: %s\n  evaluation_interval: 1s\n"
                    "  poll_interval: 1s\n  enable_api: true\n" % rules)
        srv = Server(os.path.join(d, "on"), "--config", cfg).start()
        t = now_ns()
        st, body = push_json(srv.url, [({"job": "events", "namespace": "payments", "reason": "BackOff"},
                                        [(t - i * 1000, "BackOff %d" % i) for i in range(5)]),
                                       ({"job": "events", "namespace": "payments", "reason": "Pulled"}, [(t, "Pulled")])])
        check(st == 204, "push: %d %s" % (st, body))

        def firing():
            st, body = request(srv.url + "/prometheus/api/v1/alerts")
            al = [a for a in json.loads(body)["data"]["alerts"] if a["labels"].get("alertname") == "BackOffStorm"] if st == 200 else []
            return al if al and al[0]["state"] == "firing" else None
        al = wait_until(firing, "BackOffStorm firing")
        summary = al[0]["annotations"].get("summary")
        check(summary == "PAYMENTS: 5 BackOffs, 25%", "annotation with Prometheus's functions: %r" % summary)

        def broken():
            st, body = request(srv.url + "/prometheus/api/v1/rules")
            rs = [r for g in json.loads(body)["data"]["groups"] for r in g["rules"]] if st == 200 else []
            return [r for r in rs if r["name"] == "Broken" and r["health"] == "err"]
        wait_until(broken, "the broken rule evaluated with an error")

        p = subprocess.run(["node", os.path.join(ui, "rules_browser.mjs"), off.url, srv.url, artefacts],
                           cwd=ui, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=180)
        sys.stdout.write(p.stdout)
        sys.stderr.write(p.stderr[-6000:])
        check(p.returncode == 0, "rules browser checks failed (screenshots in %s)" % artefacts)
        st, body = request(srv.url + "/loki/api/v1/rules/fromui")
        check(st == 200 and "UiMadeAlert" in body and "> 3" in body and "humanize $value" in body,
              "the UI's group through the rules API: %d %s" % (st, body))
        check(srv.stop() == 0, "server exit status; log:\n" + "".join(srv.log[-30:]))
        check(off.stop() == 0, "server (ruler off) exit status")
        print("ok: Rules page and alert from a query (screenshots in %s)" % artefacts)


if __name__ == "__main__":
    main()
