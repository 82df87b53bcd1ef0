#!/usr/bin/env bash
# ship_bench.sh -- `cairn ship` benchmarks:
#  1. lines per CPU-second through tail -> json -> labels into a discarding sink
#     (bench_ship_bench: the tailer and the pipeline as the agent builds them),
#     for one file and for 100 files;
#  2. the whole agent tailing 100 files, json -> labels, pushing (protobuf+snappy over
#     HTTP) into (a) a capture endpoint on 127.0.0.1 that discards and (b) a local
#     `cairn serve`: lines per agent CPU-second, lines per wall second until every
#     line is acknowledged, and the agent's peak RSS (VmHWM).
# usage: bench/ship_bench.sh [BUILD_DIR]   (default build; SHIP_BENCH_LINES per file)
set -euo pipefail
BUILD=${1:-build}
BIN=$BUILD/cairn
tmp=$(mktemp -d)
ship_pid=""
cap_pid=""
serve_pid=""
cleanup() {
    for p in $ship_pid $cap_pid $serve_pid; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

. "$(dirname "$0")/agent_lib.sh"

echo "== tail -> json -> labels -> discard"
TMPDIR=$tmp "$BUILD/bench_ship_bench" 1 1000000 2>/dev/null
TMPDIR=$tmp "$BUILD/bench_ship_bench" 100 10000 2>/dev/null

files=100
per_file=${SHIP_BENCH_LINES:-20000}
total=$((files * per_file))
mkdir -p "$tmp/logs"
python3 - "$tmp/logs" "$files" "$per_file" <<'PY'
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
PY

# run_agent URL: the agent over the 100 files until every line is acknowledged
run_agent() {
    rm -f "$tmp/positions.yaml" "$tmp/ship.log"
    cat >"$tmp/ship.yaml" <<EOF
server:
  http_listen_port: 0
positions:
  filename: $tmp/positions.yaml
clients:
  - url: $1
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
    "$BIN" ship --config "$tmp/ship.yaml" --log-level info 2>"$tmp/ship.log" &
    ship_pid=$!
    agent_measure "$ship_pid" "$tmp/ship.log" "$total"
    printf 'lines=%d files=%d agent_cpu_s=%.2f wall_s=%.2f lines_per_cpu_s=%.0f lines_per_s=%.0f peak_rss_kb=%s\n' \
        "$total" "$files" "$agent_cpu" "$agent_wall" "$(echo "$total / $agent_cpu" | bc -l)" \
        "$(echo "$total / $agent_wall" | bc -l)" "$agent_hwm_kb"
    kill -TERM "$ship_pid"
    wait "$ship_pid" || true
    ship_pid=""
}

echo "== whole agent: 100 files -> json -> labels -> push to an endpoint that discards"
"$BUILD/ship_capture_tool" /dev/null >"$tmp/cap.port" &
cap_pid=$!
port=$(wait_line "$tmp/cap.port" 's/^port=//p')
run_agent "http://127.0.0.1:$port/loki/api/v1/push"
kill "$cap_pid"
wait "$cap_pid" 2>/dev/null || true
cap_pid=""

echo "== whole agent: 100 files -> json -> labels -> push into a local cairn serve"
# Loki's default per-tenant limits (4 MB/s, 5000 streams) would make this a test of
# 429 backoff: lift them, the point is the agent's and the store's speed
"$BIN" serve --listen 127.0.0.1:0 --data-dir "$tmp/data" \
    -distributor.ingestion-rate-limit-mb=100000 -distributor.ingestion-burst-size-mb=100000 \
    -ingester.max-global-streams-per-user=0 2>"$tmp/serve.log" &
serve_pid=$!
sport=$(wait_line "$tmp/serve.log" 's/.*msg="ready".* port=\([0-9]*\).*/\1/p')
run_agent "http://127.0.0.1:$sport/loki/api/v1/push"
kill -TERM "$serve_pid"
wait "$serve_pid" 2>/dev/null || true
serve_pid=""
