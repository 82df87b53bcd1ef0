#!/usr/bin/env bash
# ship_bench.sh -- `cairn ship` benchmarks:
#  1. lines per CPU-second through tail -> json -> labels into a discarding sink
#     (bench_ship_bench: the tailer and the pipeline as the agent builds them),
#     for one file and for 100 files;
#  2. the whole agent tailing 100 files and pushing (protobuf+snappy over HTTP) into
#     a capture endpoint on 127.0.0.1 that discards: its lines per CPU-second and its
#     peak RSS (VmHWM) while doing so.
# usage: bench/ship_bench.sh [BUILD_DIR]   (default build)
set -euo pipefail
BUILD=${1:-build}
BIN=$BUILD/cairn
tmp=$(mktemp -d)
cleanup() {
    [ -n "${ship_pid:-}" ] && kill "$ship_pid" 2>/dev/null || true
    [ -n "${cap_pid:-}" ] && kill "$cap_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

echo "== tail -> json -> labels -> discard"
TMPDIR=$tmp "$BUILD/bench_ship_bench" 1 1000000 2>/dev/null
TMPDIR=$tmp "$BUILD/bench_ship_bench" 100 10000 2>/dev/null

echo "== whole agent: 100 files -> json -> labels -> push (local endpoint that discards)"
files=100
per_file=${SHIP_BENCH_LINES:-20000}
mkdir -p "$tmp/logs"
"$BUILD/ship_capture_tool" /dev/null >"$tmp/cap.port" &
cap_pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/cap.port" ] && break; sleep 0.05; done
port=$(sed -n 's/^port=//p' "$tmp/cap.port")
cat >"$tmp/ship.yaml" <<EOF
server:
  http_listen_port: 0
positions:
  filename: $tmp/positions.yaml
clients:
  - url: http://127.0.0.1:$port/loki/api/v1/push
scrape_configs:
  - job_name: bench
    pipeline_stages:
    - json:
        expressions:
          namespace: event.metadata.namespace
          level:
    - labels:
        namespace:
        level:
    static_configs:
    - labels:
        job: bench
        __path__: $tmp/logs/*.log
EOF
python3 - "$tmp/logs" "$files" "$per_file" <<'EOF'
import sys
d, files, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lv = ["info", "warn", "error", "debug"]
for f in range(files):
    with open(f"{d}/app-{f:03d}.log", "w") as out:
        out.writelines(
            f'{{"verb":"ADDED","level":"{lv[i & 3]}","event":{{"metadata":{{"name":"pod-{i}.17a2b",'
            f'"namespace":"ns-{i % 50}","uid":"0b1c-22"}},"reason":"Scheduled","message":'
            f'"Successfully assigned pod {i} to node-7"}},"ts":{1700000000000 + i}}}\n'
            for i in range(n))
EOF
total=$((files * per_file))
"$BIN" ship --config "$tmp/ship.yaml" --log-level info 2>"$tmp/ship.log" &
ship_pid=$!
# the HTTP port is chosen by the kernel: the agent logs it
hport=""
for _ in $(seq 1 100); do
    hport=$(sed -n 's/.*serving \/ready and \/metrics.* port=\([0-9]*\).*/\1/p' "$tmp/ship.log" | head -1)
    [ -n "$hport" ] && break
    sleep 0.05
done
start=$(date +%s.%N)
while :; do
    sent=$(curl -s "http://127.0.0.1:$hport/metrics" | awk '/^promtail_sent_entries_total/ {print $2}')
    [ "${sent:-0}" -ge "$total" ] && break
    sleep 0.1
done
end=$(date +%s.%N)
read -r utime stime < <(awk '{print $14, $15}' /proc/$ship_pid/stat)
hz=$(getconf CLK_TCK)
hwm=$(awk '/VmHWM/ {print $2}' /proc/$ship_pid/status)
rss=$(awk '/VmRSS/ {print $2}' /proc/$ship_pid/status)
cpu=$(echo "($utime + $stime) / $hz" | bc -l)
printf 'lines=%d files=%d agent_cpu_s=%.2f wall_s=%.2f lines_per_cpu_s=%.0f rss_kb=%s peak_rss_kb=%s\n' \
    "$total" "$files" "$cpu" "$(echo "$end - $start" | bc -l)" "$(echo "$total / $cpu" | bc -l)" "$rss" "$hwm"
kill -TERM $ship_pid
wait $ship_pid || true
ship_pid=""
