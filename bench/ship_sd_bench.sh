#!/usr/bin/env bash
# ship_sd_bench.sh -- `cairn ship` with Kubernetes discovery: memory with 200 pods (400
# files) on its node, and across a pod churn (10 pods created and 10 deleted every
# second for CHURN_S seconds). Issue 12's figures: <= 40 MB RSS; the churn leaks
# nothing (RSS flat, files closed).
#
#   bench/ship_sd_bench.sh BUILD_DIR [PODS] [CHURN_S]     (defaults 200, 60)
#
# The fake API server of tests/k8sfake serves the pods (plus as many on another node,
# which the agent must not list); each pod has 2 containers whose CRI log files hold
# a few lines. The agent pushes to bench_discard. Prints:
#   BENCH_SHIP_SD phase=steady pods=N files=F rss_kb=K hwm_kb=K fds=D
#   BENCH_SHIP_SD phase=churn seconds=S created=C deleted=D rss_kb=K hwm_kb=K fds=D
#                 rss_min_kb=.. rss_max_kb=.. (sampled every second during the churn)
#                 agent_cpu_s=.. (the agent's CPU time during the churn)
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -euo pipefail

BUILD=$(cd "${1:-build}" && pwd)
PODS=${2:-200}
CHURN=${3:-60}
SRC=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cairn-ship-sd-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

python3 - "$SRC" "$BUILD" "$WORK" "$PODS" "$CHURN" <<'PY'
import os, subprocess, sys, time, urllib.request
src, build, work, npods, churn = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
sys.path.insert(0, os.path.join(src, "tests", "k8sfake"))
from harness import FakeAPI
from pods import make_pod

def status(pid):
    out = {}
    for line in open("/proc/%d/status" % pid):
        k, v = line.split(":", 1)
        if k in ("VmRSS", "VmHWM"):
            out[k] = int(v.split()[0])
    out["fds"] = len(os.listdir("/proc/%d/fd" % pid))
    return out

def cpu_s(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

def metric(port, name):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=30) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
    return None

def wait(pred, what, timeout=300):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.2)
    sys.exit("ship_sd_bench: timed out waiting for " + what)

root = os.path.join(work, "pods")
os.mkdir(root)
api = FakeAPI("--token", "t0ken")
disc = subprocess.Popen([os.path.join(build, "bench_discard"), "--port-file",
                         os.path.join(work, "port")], stdout=subprocess.DEVNULL)
wait(lambda: os.path.exists(os.path.join(work, "port")) and open(os.path.join(work, "port")).read().strip(), "bench_discard")
dport = int(open(os.path.join(work, "port")).read())
cfg = os.path.join(work, "ship.yaml")
open(cfg, "w").write("""server: {http_listen_port: 0}
positions: {filename: %s/positions.yaml, sync_period: 1s}
clients: [{url: "http://127.0.0.1:%d/loki/api/v1/push"}]
scrape_configs:
- job_name: kubernetes-pods
  pipeline_stages: [{cri: {}}]
  kubernetes_sd_configs:
  - role: pod
    api_server: %s
    bearer_token: t0ken
  relabel_configs:
  - {source_labels: [__meta_kubernetes_namespace], target_label: namespace}
  - {source_labels: [__meta_kubernetes_pod_name], target_label: pod}
  - {source_labels: [__meta_kubernetes_pod_container_name], target_label: container}
  - {source_labels: [__meta_kubernetes_pod_label_app], target_label: app}
  - source_labels: [__meta_kubernetes_pod_uid, __meta_kubernetes_pod_container_name]
    separator: /
    replacement: %s/*$1/*.log
    target_label: __path__
""" % (work, dport, api.url, root))

seq = [0]
def new_pod(node="node-a"):
    seq[0] += 1
    name = "app-%05d" % seq[0]
    p = make_pod(name, "ns%d" % (seq[0] % 20), node=node,
                 labels={"app": "app%d" % (seq[0] % 50), "pod-template-hash": "abcdef0123"},
                 annotations={"kubernetes.io/config.seen": "2026-12-07T10:00:00Z",
                              "prometheus.io/scrape": "true"},
                 containers=[{"name": "main", "image": "busybox:1.36",
                              "ports": [{"containerPort": 8080}]},
                             {"name": "sidecar", "image": "envoy:1.30"}])
    md = p["metadata"]
    for c in ("main", "sidecar"):
        d = os.path.join(root, "%s_%s_%s" % (md["namespace"], name, md["uid"]), c)
        os.makedirs(d)
        with open(os.path.join(d, "0.log"), "w") as f:
            for i in range(5):
                f.write("2026-12-07T10:00:00.%09dZ stdout F line %d of %s/%s\n" % (i, i, name, c))
    api.pod_put(p)
    return md["namespace"], name

live = [new_pod() for _ in range(npods)]
for _ in range(npods):
    new_pod("node-b")
ship = subprocess.Popen([os.path.join(build, "cairn"), "ship", "-config.file=" + cfg,
                         ], env=dict(os.environ, HOSTNAME="node-a"),
                        stderr=subprocess.PIPE, text=True)
port = None
for line in ship.stderr:
    if "serving /ready" in line:
        port = int(line.split("port=")[1].split()[0])
        break
subprocess.Popen(["cat"], stdin=ship.stderr, stdout=subprocess.DEVNULL)
wait(lambda: metric(port, "promtail_files_active_total") == 2 * npods, "all files open")
time.sleep(2)
s = status(ship.pid)
print("BENCH_SHIP_SD phase=steady pods=%d files=%d rss_kb=%d hwm_kb=%d fds=%d" %
      (npods, 2 * npods, s["VmRSS"], s["VmHWM"], s["fds"]), flush=True)
fds0 = s["fds"]
cpu0 = cpu_s(ship.pid)
rss = []
created = deleted = 0
t0 = time.monotonic()
for sec in range(churn):
    for _ in range(10):
        ns, name = live.pop(0)
        api.pod_delete(ns, name)
        deleted += 1
        live.append(new_pod())
        created += 1
    rss.append(status(ship.pid)["VmRSS"])
    left = t0 + sec + 1 - time.monotonic()
    if left > 0:
        time.sleep(left)
cpu_churn = cpu_s(ship.pid) - cpu0
# deleted pods' files close after the rotation grace period
wait(lambda: metric(port, "promtail_files_active_total") == 2 * npods and
     metric(port, "promtail_targets_active_total") == 2 * npods, "the churn to settle")
time.sleep(6)
s = status(ship.pid)
print("BENCH_SHIP_SD phase=churn seconds=%d created=%d deleted=%d rss_kb=%d hwm_kb=%d fds=%d "
      "fds_before=%d rss_min_kb=%d rss_max_kb=%d rss_first10s_kb=%d rss_last10s_kb=%d "
      "agent_cpu_s=%.2f" %
      (churn, created, deleted, s["VmRSS"], s["VmHWM"], s["fds"], fds0, min(rss), max(rss),
       max(rss[:10]), max(rss[-10:]), cpu_churn), flush=True)
ship.terminate()
ship.wait(timeout=60)
disc.terminate()
api.stop()
PY
