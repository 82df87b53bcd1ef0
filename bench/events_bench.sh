#!/usr/bin/env bash
# events_bench.sh -- `cairn events` throughput from the fake API server to stdout, and
# its peak RSS with that many events live (in the seen table and the old_event cache).
#
#   bench/events_bench.sh BUILD_DIR [EVENTS]      (EVENTS default 100000)
#
# Environment: BENCH_CAIRN (the cairn binary [BUILD_DIR/cairn]); BENCH_SERVE_CAIRN (a
# cairn with `serve` for the push run [BENCH_CAIRN]; the push run is skipped when that
# binary has no serve).
#
# Runs (stdout goes to /dev/null); list, watch and push end by themselves with
# --max-events:
#   list   a fresh router lists EVENTS events in pages of 500 and emits them;
#   watch  a router that saved its state on an empty server is restarted after EVENTS
#          events happened: it resumes the watch from its resourceVersion and the
#          server streams them all.
#   push   as list, but --output push into a local `cairn serve` (protobuf+snappy
#          through the shared push client; the store's per-tenant rate limit raised);
#          the run ends when the last batch is acknowledged, then a count_over_time
#          query checks every event is stored once.
#   steady a router that keeps running (watching) gets EVENTS events; once it has
#          emitted them all and is idle, its VmRSS: the issue's steady-state figure
#          (BENCH_EVENTS mode=steady events=N rss_kb=K hwm_kb=K).
# The fake server serializes each event once, when it is made, so what is measured is
# the router (plus the server's socket writes), not Python's JSON encoder.
# Prints one line per run:
#   BENCH_EVENTS mode=list events=N seconds=S events_per_s=R router_cpu_s=C
#                events_per_cpu_s=E max_rss_kb=K
# events_per_s is end to end (the Python server is often the slower side);
# events_per_cpu_s is what the router itself costs.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -euo pipefail

BUILD=$(cd "${1:-build}" && pwd)
N=${2:-100000}
SRC=$(cd "$(dirname "$0")/.." && pwd)
CAIRN=${BENCH_CAIRN:-$BUILD/cairn}
SERVE_CAIRN=${BENCH_SERVE_CAIRN:-$CAIRN}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cairn-events-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

python3 - "$SRC" "$CAIRN" "$WORK" "$N" "$SERVE_CAIRN" <<'EOF'
import json, os, socket, subprocess, sys, time, urllib.parse, urllib.request
src, cairn, work, n, serve_cairn = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
sys.path.insert(0, os.path.join(src, "tests", "k8sfake"))
from harness import FakeAPI, kubeconfig, wait_until

def run(tag, kc, state, *extra):
    tfile = os.path.join(work, tag + ".time")
    t0 = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-f", "%U %S %M", "-o", tfile, cairn, "events",
                        "--kubeconfig", kc, "--state-file", state, "--max-events", str(n),
                        "--log-level", "warn", *extra],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                       env=dict(os.environ, HOME=work))
    secs = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit("events_bench: %s run failed: %s" % (tag, p.stderr[-2000:]))
    user, sys_, rss = open(tfile).read().strip().splitlines()[-1].split()
    cpu = float(user) + float(sys_)
    print("BENCH_EVENTS mode=%s events=%d seconds=%.3f events_per_s=%.0f router_cpu_s=%.2f "
          "events_per_cpu_s=%.0f max_rss_kb=%s"
          % (tag, n, secs, n / secs, cpu, n / max(cpu, 0.001), rss), flush=True)

# list: n events already there, a router without state lists and emits them
api = FakeAPI()
kc = kubeconfig(os.path.join(work, "kc"), api.url)
for i in range(0, n, 20000):
    api.ctl("gen", n=min(20000, n - i), namespace="ns-%d" % (i // 20000),
            reason="BackOff", type="Warning")
run("list", kc, os.path.join(work, "list.state"))
api.stop()

# watch: resume from the resourceVersion of an empty server; n events stream in
api = FakeAPI()
kc = kubeconfig(os.path.join(work, "kc2"), api.url)
state = os.path.join(work, "watch.state")
p = subprocess.Popen([cairn, "events", "--kubeconfig", kc, "--state-file", state,
                      "--log-level", "warn"], stdout=subprocess.DEVNULL,
                     env=dict(os.environ, HOME=work))
wait_until(lambda: api.stats()["watch_active"] >= 1, "the first watch")
p.terminate()
p.wait()
for i in range(0, n, 20000):
    api.ctl("gen", n=min(20000, n - i), namespace="ns-%d" % (i // 20000),
            reason="Pulled", type="Normal")
run("watch", kc, state)
api.stop()

# steady: the issue's figure is steady-state RSS with n events live. A router that
# keeps running has emitted n events and is idle: its VmRSS then (peak RSS, above,
# also counts the moment the seen table doubles, when old and new tables coexist).
api = FakeAPI()
kc = kubeconfig(os.path.join(work, "kc4"), api.url)
s = socket.socket()
s.bind(("127.0.0.1", 0))
mport = s.getsockname()[1]
s.close()
p = subprocess.Popen([cairn, "events", "--kubeconfig", kc, "--state-file",
                      os.path.join(work, "steady.state"), "--listen", "127.0.0.1:%d" % mport,
                      "--log-level", "warn"], stdout=subprocess.DEVNULL,
                     env=dict(os.environ, HOME=work))
def emitted():
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=2) as r:
            text = r.read().decode()
    except OSError:
        return 0
    return sum(int(float(l.rsplit(" ", 1)[1])) for l in text.splitlines()
               if l.startswith("cairn_events_emitted_total"))
wait_until(lambda: api.stats()["watch_active"] >= 1, "the steady router's watch")
for i in range(0, n, 20000):
    api.ctl("gen", n=min(20000, n - i), namespace="ns-%d" % (i // 20000),
            reason="Pulled", type="Normal")
wait_until(lambda: emitted() >= n, "the steady router to emit every event", 120)
time.sleep(1.0)
with open("/proc/%d/status" % p.pid) as f:
    st = dict(l.split(":", 1) for l in f if ":" in l)
print("BENCH_EVENTS mode=steady events=%d rss_kb=%s hwm_kb=%s"
      % (n, st["VmRSS"].split()[0], st["VmHWM"].split()[0]), flush=True)
p.terminate()
p.wait()
api.stop()

# push: n listed events into a local cairn serve
has_serve = subprocess.run([serve_cairn, "serve", "--help"], capture_output=True).returncode == 0
if not has_serve:
    print("BENCH_EVENTS mode=push skipped=no_cairn_serve", flush=True)
    sys.exit(0)
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
data = os.path.join(work, "data")
# Loki's default per-tenant rate limit (4 MB/s of lines) would cap this at ~6,000
# events/s: the benchmark measures the router and the store, not the limit.
srv = subprocess.Popen([serve_cairn, "serve", "--data-dir", data,
                        "-server.http-listen-port=%d" % port, "--log-level", "warn",
                        "-distributor.ingestion-rate-limit-mb=1024",
                        "-distributor.ingestion-burst-size-mb=1024"],
                       stdout=subprocess.DEVNULL, env=dict(os.environ, HOME=work))
base = "http://127.0.0.1:%d" % port
def ready():
    try:
        return urllib.request.urlopen(base + "/ready", timeout=2).status == 200
    except OSError:
        return False
try:
    wait_until(ready, "cairn serve", 60)
    api = FakeAPI()
    kc = kubeconfig(os.path.join(work, "kc3"), api.url)
    for i in range(0, n, 20000):
        api.ctl("gen", n=min(20000, n - i), namespace="ns-%d" % (i // 20000),
                reason="BackOff", type="Warning")
    run("push", kc, os.path.join(work, "push.state"), "--output", "push",
        "--push-url", base + "/loki/api/v1/push")
    q = urllib.parse.urlencode({"query": 'sum(count_over_time({job="events"}[1h]))'})
    with urllib.request.urlopen(base + "/loki/api/v1/query?" + q, timeout=60) as r:
        res = json.loads(r.read())["data"]["result"]
    stored = int(float(res[0]["value"][1])) if res else 0
    with open("/proc/%d/stat" % srv.pid) as f:
        st = f.read().rsplit(")", 1)[1].split()
    serve_cpu = (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")
    print("BENCH_EVENTS mode=push_check stored=%d expected=%d serve_cpu_s=%.2f"
          % (stored, n, serve_cpu), flush=True)
    api.stop()
finally:
    srv.terminate()
    srv.wait()
EOF
