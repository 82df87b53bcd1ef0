#!/usr/bin/env bash
# ship_syslog_bench.sh -- `cairn ship`'s syslog source over TCP: N RFC 5424 messages
# (octet counted, 50 host/app pairs, structured data on every one) sent on one
# connection as fast as the agent reads, pushed to an endpoint that discards
# (ship_capture_tool). Reports agent lines per CPU-second until every line is
# acknowledged, lines per wall second and peak RSS, for two configurations:
#  a. relabel_configs mapping __syslog_message_hostname / app_name / severity to labels
#     (the usual setup: every message builds its __syslog_* set and is relabelled);
#  b. no relabel_configs (static labels only: the relabelling path skipped).
# usage: bench/ship_syslog_bench.sh [BUILD_DIR] [LINES]   (default build 1000000)
set -euo pipefail
BUILD=${1:-build}
N=${2:-1000000}
BIN=$BUILD/cairn
tmp=$(mktemp -d)
ship_pid=""
cap_pid=""
cleanup() {
    for p in $ship_pid $cap_pid; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

. "$(dirname "$0")/agent_lib.sh"

python3 - "$tmp/frames" "$N" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
out = bytearray()
for i in range(n):
    m = (b'<%d>1 2026-12-07T20:00:00.%06dZ host-%d app-%d %d ID%d [meta@32473 seq="%d" '
         b'zone="eu-west-1"] GET /api/v1/items/%d 200 %d bytes in 0.%03ds'
         % (8 * 16 + i % 8, i % 1000000, i % 10, i % 5, 1000 + i % 77, i % 9, i, i, i % 4096,
            i % 1000))
    out += b"%d " % len(m) + m
open(path, "wb").write(out)
PY

"$BUILD/ship_capture_tool" /dev/null >"$tmp/cap.port" &
cap_pid=$!
cport=$(wait_line "$tmp/cap.port" 's/^port=//p')

run() { # run NAME RELABEL_YAML
    rm -f "$tmp/ship.log"
    cat >"$tmp/ship.yaml" <<EOF
server:
  http_listen_port: 0
positions:
  filename: $tmp/positions.yaml
clients:
  - url: http://127.0.0.1:$cport/loki/api/v1/push
scrape_configs:
  - job_name: syslog
    syslog:
      listen_address: 127.0.0.1:0
      labels:
        job: syslog
$2
EOF
    "$BIN" ship --config "$tmp/ship.yaml" 2>"$tmp/ship.log" &
    ship_pid=$!
    local hport sport start end wall
    hport=$(wait_line "$tmp/ship.log" 's/.*serving \/ready and \/metrics.* port=\([0-9]*\).*/\1/p')
    sport=$(wait_line "$tmp/ship.log" 's/.*syslog listening.* port=\([0-9]*\).*/\1/p')
    start=$(date +%s.%N)
    python3 - "$tmp/frames" "$sport" <<'PY'
import socket, sys
data = open(sys.argv[1], "rb").read()
with socket.create_connection(("127.0.0.1", int(sys.argv[2]))) as s:
    s.sendall(data)
PY
    wait_sent "$hport" "$N"
    end=$(date +%s.%N)
    agent_stats "$ship_pid"
    wall=$(echo "$end - $start" | bc -l)
    printf '%s: lines=%d agent_cpu_s=%.2f wall_s=%.2f lines_per_cpu_s=%.0f lines_per_s=%.0f peak_rss_kb=%s\n' \
        "$1" "$N" "$agent_cpu" "$wall" "$(echo "$N / $agent_cpu" | bc -l)" \
        "$(echo "$N / $wall" | bc -l)" "$agent_hwm"
    kill -TERM "$ship_pid"
    wait "$ship_pid" || true
    ship_pid=""
}

echo "== syslog TCP -> relabel (host, app, severity) -> push to an endpoint that discards"
run relabel "    relabel_configs:
      - {source_labels: [__syslog_message_hostname], target_label: host}
      - {source_labels: [__syslog_message_app_name], target_label: app}
      - {source_labels: [__syslog_message_severity], target_label: severity}"
echo "== syslog TCP -> static labels only -> push to an endpoint that discards"
run static ""
