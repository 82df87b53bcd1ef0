# ruler_test.py -- cairn's ruler against the real Alertmanager and Prometheus from
# Debian (prometheus-alertmanager, prometheus), all on 127.0.0.1 ephemeral ports:
# - an alerting rule over pushed events goes pending, fires, reaches Alertmanager's API
#   with its labels and rendered annotations, and resolves when the events stop;
# - a recording rule's samples are queryable in Prometheus (remote write), and while
#   Prometheus is down they wait in the ruler's WAL: none is lost;
# - the rules API round-trips a group as YAML (POST, GET, DELETE; 400 for a log query);
# - a restart in the middle of `for:` keeps the pending alert's activeAt.
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from push_util import Server, TempDir, check, fail, now_ns, push_json, request  # noqa: E402

AM = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
PROM = shutil.which("prometheus")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_until(fn, what, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.2)
    fail("timed out waiting for " + what)


def req(url, *a):
    """request() that answers (0, "") while the peer is not listening yet."""
    try:
        return request(url, *a)
    except OSError:
        return 0, ""


def get_json(url):
    status, body = req(url)
    if status != 200:
        return None
    return json.loads(body)


class Proc:
    def __init__(self, args, log):
        self.args, self.logpath = args, log
        self.start()

    def start(self):
        self.log = open(self.logpath, "a")
        self.p = subprocess.Popen(self.args, stdout=self.log, stderr=self.log)

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(20)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.log.close()


RULES = """groups:
  - name: backoff
    interval: 1s
    rules:
      - alert: BackOffStorm
        expr: sum by (namespace) (count_over_time({job="events", reason="BackOff"}[4s])) > 2
        for: 2s
        labels:
          severity: warning
        annotations:
          summary: "{{ $labels.namespace }} has {{ $value }} BackOff events"
      - record: namespace:backoff:count
        expr: sum by (namespace) (count_over_time({job="events", reason="BackOff"}[4s]))
  - name: slow
    interval: 1s
    rules:
      - alert: OOMKilling
        expr: sum by (namespace) (count_over_time({job="events", reason="OOMKilling"}[10m])) > 0
        for: 1h
"""


def main():
    if not AM or not PROM:
        fail("prometheus-alertmanager and prometheus are needed (deps/debian.txt)")
    with TempDir() as d:
        am_port, prom_port = free_port(), free_port()
        with open(os.path.join(d, "am.yml"), "w") as f:
            f.write("route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n")
        with open(os.path.join(d, "prom.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1h\n")
        am = Proc([AM, "--web.listen-address=127.0.0.1:%d" % am_port, "--cluster.listen-address=",
                   "--storage.path=" + os.path.join(d, "am"), "--config.file=" + os.path.join(d, "am.yml")],
                  os.path.join(d, "am.log"))
        prom_args = [PROM, "--web.listen-address=127.0.0.1:%d" % prom_port,
                     "--storage.tsdb.path=" + os.path.join(d, "prom"),
                     "--config.file=" + os.path.join(d, "prom.yml"), "--web.enable-remote-write-receiver"]
        prom = Proc(prom_args, os.path.join(d, "prom.log"))
        am_url, prom_url = "http://127.0.0.1:%d" % am_port, "http://127.0.0.1:%d" % prom_port
        wait_until(lambda: req(am_url + "/-/ready")[0] == 200, "alertmanager ready")
        wait_until(lambda: req(prom_url + "/-/ready")[0] == 200, "prometheus ready")
        rules = os.path.join(d, "rules")
        os.makedirs(os.path.join(rules, "fake"))
        with open(os.path.join(rules, "fake", "events.yaml"), "w") as f:
            f.write(RULES)
        cfg = os.path.join(d, "serve.yaml")
        with open(cfg, "w") as f:
            f.write("""ruler:
  storage:
    local:
      directory: %s
  evaluation_interval: 1s
  poll_interval: 1s
  resend_delay: 30s
  alertmanager_url: %s
  external_labels:
    cluster: test
  remote_write:
    enabled: true
    client:
      url: %s/api/v1/write
""" % (rules, am_url, prom_url))
        data = os.path.join(d, "data")
        srv = Server(data, "--config", cfg).start()

        def push(n, reason="BackOff"):
            t = now_ns()
            st, body = push_json(srv.url, [({"job": "events", "namespace": "payments", "reason": reason},
                                            [(t - i * 1000, "%s %d" % (reason, i)) for i in range(n)])])
            check(st == 204, "push: %d %s" % (st, body))

        # ---- an alert fires, with labels and annotations, in Alertmanager
        push(5)
        pending = wait_until(lambda: [a for a in (get_json(srv.url + "/prometheus/api/v1/alerts")
                                                  or {"data": {"alerts": []}})["data"]["alerts"]
                                      if a["labels"].get("alertname") == "BackOffStorm"],
                             "the alert in the ruler")
        check(pending[0]["state"] in ("pending", "firing"), "state: %r" % pending)

        def am_alert():
            got = get_json(am_url + "/api/v2/alerts") or []
            return [a for a in got if a["labels"].get("alertname") == "BackOffStorm"]
        fired = wait_until(am_alert, "the alert in Alertmanager")
        a = fired[0]
        check(a["labels"] == {"alertname": "BackOffStorm", "namespace": "payments",
                              "severity": "warning", "cluster": "test"}, "labels: %r" % a["labels"])
        check(a["annotations"]["summary"] == "payments has 5 BackOff events",
              "annotation rendered: %r" % a["annotations"])
        # ---- and resolves when the events stop (the 4s window empties)
        # (Alertmanager's API lists active alerts only: a resolved one is gone from it.
        # A firing alert was sent with endsAt two minutes ahead (4 x resend_delay), so
        # it leaves that list this soon only because the ruler sent it resolved.)
        def resolved():
            now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
            return all(x["endsAt"] < now for x in am_alert()) and not [
                x for x in get_json(srv.url + "/prometheus/api/v1/alerts")["data"]["alerts"]
                if x["labels"].get("alertname") == "BackOffStorm"]
        wait_until(resolved, "the alert resolved in Alertmanager", timeout=30)

        # ---- recording rule: samples in Prometheus
        def recorded():
            r = get_json(prom_url + "/api/v1/query?" + urllib.parse.urlencode(
                {"query": 'namespace:backoff:count{namespace="payments",cluster="test"}[5m]'}))
            res = r and r["data"]["result"]
            return res and res[0]["values"]
        wait_until(recorded, "recorded samples in Prometheus")
        # Prometheus down: samples queue in the WAL, then all arrive
        prom.stop()
        push(4)
        t_down = time.time()
        time.sleep(4)
        prom.start()
        wait_until(lambda: req(prom_url + "/-/ready")[0] == 200, "prometheus back")

        def caught_up():
            vals = recorded() or []
            during = [v for v in vals if t_down <= float(v[0]) <= t_down + 3.5]
            return len(during) >= 3 and during
        wait_until(caught_up, "samples recorded while Prometheus was down", timeout=40)

        # ---- rules API round trip
        group = ('name: oom\nrules:\n  - alert: OOMKilled\n    expr: sum(count_over_time({job="events"}[5m])) > 100\n'
                 '    for: 5m\n    labels:\n      severity: page\n    annotations:\n      summary: too many\n')
        st, body = request(srv.url + "/loki/api/v1/rules/k8s", group.encode(),
                           {"Content-Type": "application/yaml"}, "POST")
        check(st == 202, "POST group: %d %s" % (st, body))
        st, body = request(srv.url + "/loki/api/v1/rules/k8s/oom")
        check(st == 200 and "alert: \"OOMKilled\"" in body and "for: 5m" in body and
              "severity" in body, "GET group: %d %s" % (st, body))
        st, body = request(srv.url + "/loki/api/v1/rules")
        check(st == 200 and '"k8s":' in body and '"events":' in body, "GET all: %s" % body)
        st, body = request(srv.url + "/loki/api/v1/rules/k8s", b'name: bad\nrules:\n  - alert: X\n    expr: "{a=\\"b\\"}"\n',
                           {"Content-Type": "application/yaml"}, "POST")
        check(st == 400 and "log query" in body, "a log query refused: %d %s" % (st, body))
        wait_until(lambda: any(g["name"] == "oom" for g in
                               get_json(srv.url + "/prometheus/api/v1/rules")["data"]["groups"]),
                   "the posted group evaluated")
        st, _ = request(srv.url + "/loki/api/v1/rules/k8s/oom", None, None, "DELETE")
        check(st == 202, "DELETE: %d" % st)
        check(request(srv.url + "/loki/api/v1/rules/k8s")[0] == 404, "deleted")

        # ---- restart in the middle of for: the pending alert keeps its activeAt
        push(1, "OOMKilling")

        def oom():
            al = get_json(srv.url + "/prometheus/api/v1/alerts")["data"]["alerts"]
            return [x for x in al if x["labels"].get("alertname") == "OOMKilling"]
        before = wait_until(oom, "OOMKilling pending")
        check(before[0]["state"] == "pending", "pending: %r" % before)
        check(srv.stop() == 0, "clean stop")
        srv = Server(data, "--config", cfg).start()
        after = wait_until(oom, "OOMKilling after restart")
        check(after[0]["state"] == "pending" and after[0]["activeAt"] == before[0]["activeAt"],
              "activeAt kept across restart: %r vs %r" % (before, after))
        # ---- the shipped rules for Kubernetes events load and evaluate
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples",
                           "rules", "kubernetes-events.yaml")
        shutil.copy(src, os.path.join(rules, "fake", "kubernetes-events.yaml"))

        def shipped():
            gs = get_json(srv.url + "/prometheus/api/v1/rules")["data"]["groups"]
            rs = [r for g in gs if g["file"] == "kubernetes-events" for r in g["rules"]]
            return len(rs) == 7 and all(r["health"] == "ok" for r in rs) and rs
        wait_until(shipped, "examples/rules/kubernetes-events.yaml evaluated without errors")
        srv.stop()
        am.stop()
        prom.stop()
    print("ok")


if __name__ == "__main__":
    main()
