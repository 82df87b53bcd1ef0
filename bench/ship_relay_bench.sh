#!/usr/bin/env bash
# ship_relay_bench.sh -- `cairn ship` as a push relay (loki_push_api): pushers
# (pushpb_tool bench: protobuf+snappy, then JSON; logfmt lines, keep-alive, 1,000 lines
# a request) -> the agent's relay -> logfmt -> labels -> its client -> an endpoint that
# discards (ship_capture_tool). Reports lines per agent CPU-second (user + system of
# the agent only, from /proc, over the run until every relayed line was acknowledged)
# and lines per wall second.
# usage: bench/ship_relay_bench.sh [BUILD_DIR] [SECONDS] [THREADS]   (default build 10 2)
set -euo pipefail
BUILD=${1:-build}
SECONDS_RUN=${2:-10}
THREADS=${3:-2}
BIN=$BUILD/cairn
tmp=$(mktemp -d)
ship_pid=""
cap_pid=""
cleanup() {
    for p in $ship_pid $cap_pid; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

. "$(dirname "$0")/agent_lib.sh" # wait_line
metric() { # metric PORT NAME: the sum of a metric's samples
    curl -s "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 ~ "^"n"([{]|$)" {s += $2} END {printf "%.0f\n", s}'
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

"$BUILD/ship_capture_tool" /dev/null >"$tmp/cap.port" &
cap_pid=$!
cport=$(wait_line "$tmp/cap.port" 's/^port=//p')
cat >"$tmp/ship.yaml" <<EOF2
server:
  http_listen_address: 127.0.0.1
  http_listen_port: 0
positions:
  filename: $tmp/positions.yaml
clients:
  - url: http://127.0.0.1:$cport/loki/api/v1/push
scrape_configs:
  - job_name: relay
    loki_push_api:
      server:
        http_listen_address: 127.0.0.1
        http_listen_port: 0
      labels:
        relay: bench
      use_incoming_timestamp: true
    pipeline_stages:
    - logfmt:
        mapping:
          level:
    - labels:
        level:
EOF2
"$BIN" ship --config "$tmp/ship.yaml" 2>"$tmp/ship.log" &
ship_pid=$!
hport=$(wait_line "$tmp/ship.log" 's/.*serving \/ready and \/metrics.* port=\([0-9]*\).*/\1/p')
rport=$(wait_line "$tmp/ship.log" 's/.*relay listening for pushes.* port=\([0-9]*\).*/\1/p')
hz=$(getconf CLK_TCK)

for fmt in pb json; do
    e0=$(metric "$hport" cairn_ship_relay_entries_total)
    c0=$(cpu_ticks "$ship_pid")
    start=$(date +%s.%N)
    out=$("$BUILD/pushpb_tool" bench "http://127.0.0.1:$rport/loki/api/v1/push" "$fmt" \
          "$THREADS" "$SECONDS_RUN" 1000 1)
    e1=$(metric "$hport" cairn_ship_relay_entries_total)
    while [ "$(metric "$hport" promtail_sent_entries_total)" -lt "$e1" ]; do sleep 0.05; done
    end=$(date +%s.%N)
    c1=$(cpu_ticks "$ship_pid")
    lines=$((e1 - e0))
    cpu=$(echo "($c1 - $c0) / $hz" | bc -l)
    wall=$(echo "$end - $start" | bc -l)
    printf 'format=%s pushers=%d lines=%d agent_cpu_s=%.2f wall_s=%.2f lines_per_cpu_s=%.0f lines_per_s=%.0f peak_rss_kb=%s (pushers: %s)\n' \
        "$fmt" "$THREADS" "$lines" "$cpu" "$wall" "$(echo "$lines / $cpu" | bc -l)" \
        "$(echo "$lines / $wall" | bc -l)" "$(awk '/VmHWM/ {print $2}' "/proc/$ship_pid/status")" \
        "$out"
done
kill -TERM "$ship_pid"
wait "$ship_pid" || true
ship_pid=""
