#!/usr/bin/env python3
"""ship_k8s_sd_test.py -- `cairn ship` as Promtail's DaemonSet runs it: the Promtail Helm
chart's default scrape config, against the fake API server (in-cluster: service
account token and CA, HOSTNAME set as the DaemonSet sets it from spec.nodeName),
pushing into a `cairn serve`.

Checked: pods on this node are tailed with the labels the chart's relabelling gives
(namespace, pod, container, app, job, node_name), init containers too; pods on
another node are not; CRI partial lines are joined; a pod created later is picked up;
a deleted pod's last lines arrive, then its files are released and their positions
dropped; after a 410 and dropped watches a new pod is still found; and the blog's
case: a pod labelled name=eventrouter whose log holds eventrouter JSON, through the
blog's match/json/labels stages, answers {namespace="grafana-com"} with exactly those
events."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "k8sfake"))
from push_util import BIN, Server, TempDir, check, request, wait_for, run_main  # noqa: E402
from push_util import query_lines as query  # noqa: E402
from harness import FakeAPI, gen_certs  # noqa: E402
from pods import make_pod  # noqa: E402

# The Promtail Helm chart's default scrape config: grafana/helm-charts,
# charts/promtail/values.yaml, `config.snippets.scrapeConfigs` (the kubernetes-pods job)
# with `config.snippets.common` and `pipelineStages` as the chart renders them. Only
# the chart's own extension points carry test values: `pipelineStages` gets the blog's
# stages after the chart's `cri: {}`, and `extraRelabelConfigs` moves /var/log/pods
# under a temporary directory and maps pod labels (a common use of that value).
HELM_SCRAPE_CONFIGS = r"""
# See also https://github.com/grafana/loki/blob/master/production/ksonnet/promtail/scrape_config.libsonnet for reference
- job_name: kubernetes-pods
  pipeline_stages:
    - cri: {}
    - match:
        selector: '{name="eventrouter"}'
        stages:
        - json:
            expressions:
              namespace: event.metadata.namespace
        - labels:
            namespace: ""
  kubernetes_sd_configs:
    - role: pod
  relabel_configs:
    - source_labels:
        - __meta_kubernetes_pod_controller_name
      regex: ([0-9a-z-.]+?)(-[0-9a-f]{8,10})?
      action: replace
      target_label: __tmp_controller_name
    - source_labels:
        - __meta_kubernetes_pod_label_app_kubernetes_io_name
        - __meta_kubernetes_pod_label_app
        - __tmp_controller_name
        - __meta_kubernetes_pod_name
      regex: ^;*([^;]+)(;.*)?$
      action: replace
      target_label: app
    - source_labels:
        - __meta_kubernetes_pod_label_app_kubernetes_io_instance
        - __meta_kubernetes_pod_label_instance
      regex: ^;*([^;]+)(;.*)?$
      action: replace
      target_label: instance
    - source_labels:
        - __meta_kubernetes_pod_label_app_kubernetes_io_component
        - __meta_kubernetes_pod_label_component
      regex: ^;*([^;]+)(;.*)?$
      action: replace
      target_label: component
    - action: replace
      source_labels:
      - __meta_kubernetes_pod_node_name
      target_label: node_name
    - action: replace
      source_labels:
      - __meta_kubernetes_namespace
      target_label: namespace
    - action: replace
      replacement: $1
      separator: /
      source_labels:
      - namespace
      - app
      target_label: job
    - action: replace
      source_labels:
      - __meta_kubernetes_pod_name
      target_label: pod
    - action: replace
      source_labels:
      - __meta_kubernetes_pod_container_name
      target_label: container
    - action: replace
      replacement: /var/log/pods/*$1/*.log
      separator: /
      source_labels:
      - __meta_kubernetes_pod_uid
      - __meta_kubernetes_pod_container_name
      target_label: __path__
    - action: replace
      replacement: /var/log/pods/*$1/*.log
      regex: true/(.*)
      separator: /
      source_labels:
      - __meta_kubernetes_pod_annotationpresent_kubernetes_io_config_hash
      - __meta_kubernetes_pod_annotation_kubernetes_io_config_hash
      - __meta_kubernetes_pod_container_name
      target_label: __path__
    - action: replace
      source_labels: [__path__]
      regex: /var/log/pods/(.*)
      replacement: ${LOG_ROOT}/$1
      target_label: __path__
    - action: labelmap
      regex: __meta_kubernetes_pod_label_(name)
"""

# The chart's `config.file` around it, with test values for the port, client and
# positions (the chart's `config.serverPort`, `config.clients`, `config.positions`).
CONFIG = """server:
  log_level: info
  log_format: logfmt
  http_listen_port: 0

clients:
  - url: ${PUSH_URL}
    batchwait: 100ms

positions:
  filename: ${LOG_ROOT}/../positions.yaml
  sync_period: 200ms

scrape_configs:
%s
limits_config:

tracing:
  enabled: false
"""

EVENTS = [
    {"verb": "ADDED", "event": {"metadata": {"name": "grafana-7d9.17a", "namespace": "grafana-com"},
                                "reason": "Scheduled", "message": "Successfully assigned"}},
    {"verb": "UPDATED", "event": {"metadata": {"name": "coredns.1", "namespace": "kube-system"},
                                  "reason": "Pulled"}},
    {"verb": "ADDED", "event": {"metadata": {"name": "grafana-7d9.17b", "namespace": "grafana-com"},
                                "reason": "Started"}},
]


def cri(stream, tag, text):
    """A CRI log line stamped now (the store's query window is around now)."""
    ns = time.time_ns()
    return "%s.%09dZ %s %s %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)),
                                     ns % 10**9, stream, tag, text)


def pod_file(root, pod, container):
    md = pod["metadata"]
    d = os.path.join(root, "%s_%s_%s" % (md["namespace"], md["name"], md["uid"]), container)
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, "0.log")


def write(path, text):
    with open(path, "a") as f:
        f.write(text)


def open_files(pid, root):
    """The agent's open descriptors on files under root."""
    out = []
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            t = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if t.startswith(root + "/"):
            out.append(t)
    return out


def inotify_watches(pid):
    n = 0
    for fd in os.listdir("/proc/%d/fdinfo" % pid):
        try:
            n += sum(l.startswith("inotify wd:") for l in open("/proc/%d/fdinfo/%s" % (pid, fd)))
        except OSError:
            pass
    return n


def metric(port, name):
    st, body = request("http://127.0.0.1:%d/metrics" % port)
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return None


_agents = []


def main():
    start = time.time_ns() - 10**9
    with TempDir() as d:
        srv = Server(os.path.join(d, "data")).start()
        certs = gen_certs(os.path.join(d, "pki"))
        api = FakeAPI("--tls-dir", certs, "--token", "sa-t0ken")
        sa = os.path.join(d, "sa")
        os.mkdir(sa)
        write(os.path.join(sa, "token"), "sa-t0ken\n")
        shutil.copy(os.path.join(certs, "ca.crt"), os.path.join(sa, "ca.crt"))
        write(os.path.join(sa, "namespace"), "logging\n")
        root = os.path.join(d, "pods")
        os.mkdir(root)
        cfg = os.path.join(d, "promtail.yaml")
        write(cfg, CONFIG % HELM_SCRAPE_CONFIGS)
        env = dict(os.environ, HOSTNAME="node-a", KUBERNETES_SERVICE_HOST="127.0.0.1",
                   KUBERNETES_SERVICE_PORT=str(api.port), LOG_ROOT=root,
                   PUSH_URL=srv.url + "/loki/api/v1/push")

        r = subprocess.run([BIN, "ship", "-config.file=" + cfg, "-config.expand-env=true",
                            "--check-syntax"], env=env, capture_output=True, text=True,
                           timeout=60)
        check(r.returncode == 0, "check-syntax: " + r.stdout + r.stderr)

        web = make_pod("web-7d4b9c8f6d-x2x9z", "shop", node="node-a",
                       labels={"app.kubernetes.io/name": "web", "pod-template-hash": "7d4b9c8f6d"},
                       owner=("ReplicaSet", "web-7d4b9c8f6d"),
                       containers=[{"name": "web", "image": "nginx:1.27",
                                    "ports": [{"name": "http", "containerPort": 8080},
                                              {"name": "admin", "containerPort": 9090}]}],
                       init_containers=[{"name": "init-db", "image": "busybox:1.36"}])
        write(pod_file(root, web, "web"), cri("stdout", "F", "web started") +
              cri("stdout", "P", "a long line, ") + cri("stdout", "P", "in three ") +
              cri("stdout", "F", "parts"))
        write(pod_file(root, web, "init-db"), cri("stdout", "F", "schema migrated"))
        other = make_pod("other-1", "shop", node="node-b", labels={"app": "other"})
        write(pod_file(root, other, "other"), cri("stdout", "F", "from another node"))
        er = make_pod("eventrouter-5d9f8c7b6-qq8ts", "kube-system", node="node-a",
                      labels={"name": "eventrouter", "pod-template-hash": "5d9f8c7b6"},
                      owner=("ReplicaSet", "eventrouter-5d9f8c7b6"),
                      containers=[{"name": "eventrouter", "image": "cairn:latest"}])
        write(pod_file(root, er, "eventrouter"),
              "".join(cri("stdout", "F", json.dumps(e)) for e in EVENTS))
        for p in (web, other, er):
            api.pod_put(p)

        ship = subprocess.Popen([BIN, "ship", "-config.file=" + cfg, "-config.expand-env=true",
                                 "--kubernetes.serviceaccount-dir", sa], env=env,
                                stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        _agents.append(ship)
        hport = None
        for line in ship.stderr:
            if "serving /ready" in line:
                hport = int(line.split("port=")[1].split()[0])
                break
        check(hport is not None, "agent did not start its HTTP server")
        log_path = os.path.join(os.environ.get("SHIP_LOG_DIR", d), "ship.log")
        logf = open(log_path, "w")
        import threading
        threading.Thread(target=lambda: shutil.copyfileobj(ship.stderr, logf), daemon=True).start()

        wait_for(lambda: request("http://127.0.0.1:%d/ready" % hport)[0] == 200, "/ready")

        # pods of this node, with the chart's labels; CRI partials joined
        wait_for(lambda: len(query(srv, '{app="web"}', start)) == 3, "the web pod's lines")
        got = query(srv, '{app="web"}', start)
        by_container = {}
        for s, line in got:
            by_container.setdefault(s["container"], []).append(line)
        check(by_container == {"web": ["web started", "a long line, in three parts"],
                               "init-db": ["schema migrated"]}, "web lines: %r" % got)
        s = [s for s, _ in got if s["container"] == "web"][0]
        want = {"app": "web", "namespace": "shop", "pod": "web-7d4b9c8f6d-x2x9z",
                "container": "web", "job": "shop/web", "node_name": "node-a"}
        check(all(s.get(k) == v for k, v in want.items()), "labels: %r" % s)
        check(s.get("filename", "").startswith(root + "/shop_web-7d4b9c8f6d-x2x9z_"), "filename: %r" % s)
        check(not any(k.startswith("__") for k in s), "internal labels leaked: %r" % s)

        # the blog's case: exactly the grafana-com events, from the eventrouter pod
        wait_for(lambda: len(query(srv, '{name="eventrouter"}', start)) == 3, "eventrouter lines")
        got = query(srv, '{namespace="grafana-com"}', start)
        check(sorted(json.loads(l)["event"]["metadata"]["name"] for _, l in got) ==
              ["grafana-7d9.17a", "grafana-7d9.17b"], "grafana-com: %r" % got)
        check(all(s["name"] == "eventrouter" and s["app"] == "eventrouter" and
                  s["container"] == "eventrouter" for s, _ in got), "eventrouter labels: %r" % got)

        # a pod created later is tailed
        late = make_pod("late-1", "shop", node="node-a", labels={"app": "late"})
        write(pod_file(root, late, "late"), cri("stdout", "F", "late hello"))
        api.pod_put(late)
        wait_for(lambda: query(srv, '{pod="late-1"}', start), "the later pod")

        # a deleted pod: its last line arrives, then its files are released and their
        # positions dropped
        pos = os.path.join(d, "positions.yaml")
        wait_for(lambda: os.path.exists(pos) and "x2x9z" in open(pos).read(), "positions")
        check(metric(hport, "promtail_files_active_total") == 4, "4 files open")
        write(pod_file(root, web, "web"), cri("stdout", "F", "last words"))
        api.pod_delete("shop", "web-7d4b9c8f6d-x2x9z")
        wait_for(lambda: any(l == "last words" for _, l in query(srv, '{app="web"}', start)),
                 "the deleted pod's last line")
        wait_for(lambda: metric(hport, "promtail_files_active_total") == 2,
                 "the deleted pod's files closed")
        wait_for(lambda: "x2x9z" not in open(pos).read(), "the deleted pod's positions dropped")
        check(metric(hport, "promtail_targets_active_total") == 2, "2 targets")

        # a compacted history and dropped watches: the agent lists again and goes on
        api.ctl("compact", resource="pods", drop=True)
        late2 = make_pod("late-2", "shop", node="node-a", labels={"app": "late"})
        write(pod_file(root, late2, "late"), cri("stdout", "F", "after the 410"))
        api.pod_put(late2)
        wait_for(lambda: query(srv, '{pod="late-2"}', start), "a pod after the relist")

        # the deleted pod's files are really closed once their grace period is over, and
        # no watch is left on its directories: 3 files, each with its own and its dir's
        wait_for(lambda: not any("x2x9z" in f for f in open_files(ship.pid, root)),
                 "the deleted pod's descriptors closed")
        check(len(open_files(ship.pid, root)) == 3, "open: %r" % open_files(ship.pid, root))
        wait_for(lambda: inotify_watches(ship.pid) == 6,
                 "the deleted pod's watches dropped (%d)" % inotify_watches(ship.pid))

        # the targets pages: labels before and after relabelling, as HTML and JSON
        st, body = request("http://127.0.0.1:%d/api/v1/targets" % hport)
        check(st == 200, "/api/v1/targets: %d" % st)
        data = json.loads(body)["data"]
        act = {t["labels"]["pod"]: t for t in data["activeTargets"]}
        check(sorted(act) == ["eventrouter-5d9f8c7b6-qq8ts", "late-1", "late-2"], "active: %r" % sorted(act))
        t = act["late-2"]
        check(t["scrapePool"] == "kubernetes-pods" and t["labels"]["job"] == "shop/late" and
              t["discoveredLabels"]["__meta_kubernetes_pod_node_name"] == "node-a" and
              t["path"].startswith(root + "/*"), "target: %r" % t)
        st, html = request("http://127.0.0.1:%d/service-discovery" % hport)
        check(st == 200 and "__meta_kubernetes_pod_uid" in html and "late-2" in html, html[:300])
        st, html = request("http://127.0.0.1:%d/targets" % hport)
        check(st == 200 and "kubernetes-pods (3 active" in html, html[:600])

        # never anything from the other node's pod
        check(query(srv, '{pod="other-1"}', start) == [], "other node's pod was shipped")
        st = api.stats("pods")
        check(st["list"] >= 2, "relisted: %r" % st)

        ship.send_signal(signal.SIGTERM)
        check(ship.wait(timeout=30) == 0, "agent exit status")

        # --dry-run prints the discovered targets (and the lines, not pushed)
        out_path = os.path.join(d, "dry.txt")
        with open(out_path, "w") as out:
            dry = subprocess.Popen([BIN, "ship", "-config.file=" + cfg, "-config.expand-env=true",
                                    "--kubernetes.serviceaccount-dir", sa, "--dry-run",
                                    "-server.disable", "--log-level", "warn"], env=env,
                                   stdout=out, stderr=subprocess.DEVNULL)
            _agents.append(dry)
            wait_for(lambda: "after the 410" in open(out_path).read(), "dry-run output")
            dry.send_signal(signal.SIGTERM)
            check(dry.wait(timeout=30) == 0, "dry-run exit status")
        text = open(out_path).read()
        tl = [l for l in text.splitlines() if l.startswith("# target\t")]
        check(any('pod="late-2"' in l and "\tkubernetes-pods\t" in l for l in tl), text[:800])
        check("# targets: 3 active" in text, text[:800])
        api.stop()
        srv.stop()
    print("ok")


if __name__ == "__main__":
    run_main(main, _agents, log_lines=30)
