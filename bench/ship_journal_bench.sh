#!/usr/bin/env bash
# ship_journal_bench.sh -- `cairn ship` reading the systemd journal (issue 13): a
# journal directory of N entries shaped like journald's (about 20 fields each, 20
# units, from export format by systemd-journal-remote), read by the whole agent with
# relabel_configs (unit, level, host) and pushed to an endpoint that discards
# (ship_capture_tool): lines per agent CPU-second until every line is acknowledged,
# lines per wall second, peak RSS (most of it the journal files sd-journal maps, which
# are file pages; RssAnon is the agent's own memory). Then the same with json: true (every field in the
# line).
# usage: bench/ship_journal_bench.sh [BUILD_DIR] [ENTRIES]   (defaults: build 200000)
set -euo pipefail
BUILD=${1:-build}
N=${2:-200000}
BIN=$BUILD/cairn
REMOTE=/lib/systemd/systemd-journal-remote
tmp=$(mktemp -d)
ship_pid=""
cap_pid=""
cleanup() {
    for p in $ship_pid $cap_pid; do kill "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

. "$(dirname "$0")/agent_lib.sh"

mkdir -p "$tmp/journal"
python3 - "$N" <<'PY' | "$REMOTE" --output="$tmp/journal/bench.journal" - 2>/dev/null
import sys, time
n = int(sys.argv[1])
now = time.time_ns() // 1000
start = now - 30 * 60 * 10**6          # all within max_age (1 h)
step = max(1, (20 * 60 * 10**6) // n)  # spread over 20 minutes
out = sys.stdout.buffer
boot, machine = "4a1f0c2e9b7d4e6f8a3b5c7d9e1f2a3b", "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
for i in range(n):
    u = i % 20
    ts = start + i * step
    pid = 1000 + u
    fields = [
        ("__REALTIME_TIMESTAMP", ts), ("__MONOTONIC_TIMESTAMP", ts - start + 10**9),
        ("_BOOT_ID", boot), ("_MACHINE_ID", machine), ("_HOSTNAME", "node-7"),
        ("_TRANSPORT", "stdout"), ("PRIORITY", 6 if i % 10 else 3), ("SYSLOG_FACILITY", 3),
        ("SYSLOG_IDENTIFIER", f"svc{u}"), ("_PID", pid), ("_UID", 0), ("_GID", 0),
        ("_COMM", f"svc{u}"), ("_EXE", f"/usr/bin/svc{u}"),
        ("_CMDLINE", f"/usr/bin/svc{u} --config /etc/svc{u}.conf"),
        ("_CAP_EFFECTIVE", "1ffffffffff"), ("_SYSTEMD_CGROUP", f"/system.slice/svc{u}.service"),
        ("_SYSTEMD_UNIT", f"svc{u}.service"), ("_SYSTEMD_SLICE", "system.slice"),
        ("_SYSTEMD_INVOCATION_ID", f"{u:032x}"), ("_STREAM_ID", f"{u + 7:032x}"),
        ("MESSAGE", f"request {i} handled in {i % 97} ms status=200 path=/api/v1/items/{i % 1000}"),
    ]
    out.write("".join(f"{k}={v}\n" for k, v in fields).encode() + b"\n")
PY
du -sh "$tmp/journal" | awk '{print "journal_dir_size=" $1}'

# run_agent JSON(true|false): the agent over the journal until every entry is acked
run_agent() {
    rm -f "$tmp/positions.yaml" "$tmp/ship.log"
    cat >"$tmp/ship.yaml" <<EOF
server:
  http_listen_port: 0
positions:
  filename: $tmp/positions.yaml
clients:
  - url: http://127.0.0.1:$port/loki/api/v1/push
scrape_configs:
  - job_name: journal
    journal:
      path: $tmp/journal
      max_age: 1h
      json: $1
      labels:
        job: systemd-journal
    relabel_configs:
      - source_labels: [__journal__systemd_unit]
        target_label: unit
      - source_labels: [__journal_priority_keyword]
        target_label: level
      - source_labels: [__journal__hostname]
        target_label: host
EOF
    "$BIN" ship --config "$tmp/ship.yaml" --log-level info 2>"$tmp/ship.log" &
    ship_pid=$!
    agent_measure "$ship_pid" "$tmp/ship.log" "$N"
    printf 'json=%s lines=%d agent_cpu_s=%.2f wall_s=%.2f lines_per_cpu_s=%.0f lines_per_s=%.0f peak_rss_kb=%s rss_anon_kb=%s\n' \
        "$1" "$N" "$agent_cpu" "$agent_wall" "$(echo "$N / $agent_cpu" | bc -l)" \
        "$(echo "$N / $agent_wall" | bc -l)" "$agent_hwm_kb" "$agent_anon_kb"
    kill -TERM "$ship_pid"
    wait "$ship_pid" || true
    ship_pid=""
}

"$BUILD/ship_capture_tool" /dev/null >"$tmp/cap.port" &
cap_pid=$!
port=$(wait_line "$tmp/cap.port" 's/^port=//p')
echo "== whole agent: journal -> relabel -> push to an endpoint that discards"
run_agent false
echo "== the same, json: true"
run_agent true
