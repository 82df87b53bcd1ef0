#!/usr/bin/env bash
# run.sh -- `make bench`: cairn's benchmarks, one function per benchmark, and a summary.
#
#   bench/run.sh BUILD_DIR          (make bench passes build/; nothing is built here)
#
# The corpus comes from bench_gen into bench/out/ (cached by seed, size, streams, start
# hour and the generator binary's hash). Each benchmark is a function bench_<name>
# that appends rows to the summary with `result BENCH METRIC VALUE TARGET` and returns
# non-zero if it could not run; a failing benchmark is reported and the others still
# run, and the script exits non-zero. To add one, write bench_<name> and add <name> to
# BENCH_ALL below; BENCHMARKS.md lists the helpers.
#
# Settings (environment):
#   BENCH_ONLY          space or comma list of benchmarks to run [all of BENCH_ALL]
#   BENCH_BYTES         corpus line bytes [200M]      BENCH_STREAMS   streams [2000]
#   BENCH_SEED          corpus seed [1]               BENCH_SPAN_S    span seconds [86400]
#   BENCH_CONNECTIONS   pusher connections [4]        BENCH_BATCH_BYTES  batch [1048576]
#   BENCH_FORMAT        protobuf | json | json-gzip [protobuf]
#   BENCH_FSYNC         fsync policy [interval]
#   BENCH_TENANT        X-Scope-OrgID [bench]
#   BENCH_QUERY_REPEAT  timed runs of each query (after one warmup) [5]
#   BENCH_SERVE_ARGS    extra arguments for `cairn serve`
#   BENCH_URL           push to this server instead of starting `cairn serve` (e.g. a
#                       Grafana Loki for comparison; RSS and disk are then not measured)
#   BENCH_KEEP=1        keep the server's data directory (its path is printed)
#   BENCH_CAIRN         the cairn binary [BUILD_DIR/cairn]
#   BENCH_OUT           where corpora are cached [bench/out]
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

BUILD=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "run.sh: no build directory '${1:-build}'" >&2; exit 2; }
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=${BENCH_OUT:-$SRC/bench/out}
CAIRN=${BENCH_CAIRN:-$BUILD/cairn}
GEN=$BUILD/bench_gen
PUSH=$BUILD/bench_push
DISCARD=$BUILD/bench_discard
RSS=$BUILD/bench_rss
QUERY=$BUILD/bench_query

BENCH_ALL="generator pusher ingest query metric needle events ship ship_sd pipeline"
BENCH_ONLY=${BENCH_ONLY:-$BENCH_ALL}
BENCH_BYTES=${BENCH_BYTES:-200M}
BENCH_STREAMS=${BENCH_STREAMS:-2000}
BENCH_SEED=${BENCH_SEED:-1}
BENCH_SPAN_S=${BENCH_SPAN_S:-86400}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-4}
BENCH_BATCH_BYTES=${BENCH_BATCH_BYTES:-1048576}
BENCH_FORMAT=${BENCH_FORMAT:-protobuf}
BENCH_FSYNC=${BENCH_FSYNC:-interval}
BENCH_TENANT=${BENCH_TENANT:-bench}
BENCH_QUERY_REPEAT=${BENCH_QUERY_REPEAT:-5}
BENCH_SERVE_ARGS=${BENCH_SERVE_ARGS:-}
BENCH_URL=${BENCH_URL:-}
BENCH_KEEP=${BENCH_KEEP:-0}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cairn-bench.XXXXXX") || exit 2
RESULTS=()          # bench, metric, value, target rows for the summary (see result)
FAILED=()           # benchmarks that could not run, with the reason
PIDS=()             # processes started here, stopped on exit
CORPUS=""           # set by corpus_ready
INGEST_DATA=""      # the data directory ingest filled (for later benchmarks)

cleanup() {
    for p in "${PIDS[@]}"; do
        kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
    done
    if [ "$BENCH_KEEP" = 1 ]; then
        echo "run.sh: kept $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '%s\n' "run.sh: $*" >&2; }
SEP=$'\x1f'         # between the fields of a RESULTS row (metrics may hold '|')
result() { RESULTS+=("$1$SEP$2$SEP$3$SEP$4"); }
fail() { FAILED+=("$1: $2"); say "FAILED $1: $2"; }
# key=value from the BENCH_* line of a tool's output file
kv() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" "$1" | tail -n 1; }
fmt_int() { printf '%.0f' "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
# CPU seconds (user + system) a live process has used, from /proc/PID/stat.
proc_cpu_s() {
    local tck
    tck=$(getconf CLK_TCK)
    # fields after the ")" of the command name: utime is the 12th, stime the 13th
    sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk -v t="$tck" '{printf "%.2f", ($12 + $13) / t}'
}
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# Wait for an HTTP 200 from $1 while process $2 lives, up to $3 seconds.
wait_http() {
    local url=$1 pid=$2 deadline=$((SECONDS + $3))
    while [ $SECONDS -lt $deadline ]; do
        kill -0 "$pid" 2>/dev/null || return 2
        curl -sf -o /dev/null --max-time 1 "$url" && return 0
        sleep 0.1
    done
    return 1
}

# ---- the corpus ----

corpus_ready() {
    [ -n "$CORPUS" ] && return 0
    local now start
    now=$(date +%s)
    # aligned to the hour so a cached corpus is reused within the hour, and recent
    # enough that a server's max-age check (7 days by default) accepts it
    start=$(( (now - BENCH_SPAN_S) / 3600 * 3600 ))
    # the generator's own hash: a changed generator never reuses an older corpus
    local genhash
    genhash=$(sha256sum "$GEN" | cut -c1-10)
    local name="corpus-s${BENCH_SEED}-b${BENCH_BYTES}-n${BENCH_STREAMS}-span${BENCH_SPAN_S}-t${start}-g${genhash}.bin"
    mkdir -p "$OUT" || return 1
    CORPUS=$OUT/$name
    if [ -s "$CORPUS" ]; then
        say "corpus $CORPUS (cached)"
        return 0
    fi
    # older corpora of the same settings are stale (start hour or generator changed)
    rm -f "$OUT"/corpus-s"${BENCH_SEED}"-b"${BENCH_BYTES}"-n"${BENCH_STREAMS}"-span"${BENCH_SPAN_S}"-t*.bin
    say "generating $CORPUS"
    if ! "$GEN" --bytes "$BENCH_BYTES" --streams "$BENCH_STREAMS" --seed "$BENCH_SEED" \
            --start-ns "${start}000000000" --span "${BENCH_SPAN_S}s" \
            -o "$CORPUS.tmp" 2>"$WORK/gen.log"; then
        cat "$WORK/gen.log" >&2
        rm -f "$CORPUS.tmp"
        CORPUS=""
        return 1
    fi
    cat "$WORK/gen.log" >&2
    mv "$CORPUS.tmp" "$CORPUS"
}

# ---- cairn serve ----

SERVER_PID=""
SERVER_REAL_PID=""
SERVER_PORT=""
SERVER_LOG=""
SERVER_RSS_FILE=""
SERVER_HWM_FILE=""
SAMPLER_PID=""

# Options of `cairn serve` this script sets, if the server lists them in --help.
serve_args() {
    local help
    help=$("$CAIRN" serve --help 2>&1)
    local a=()
    case "$help" in *--fsync*) a+=(--fsync "$BENCH_FSYNC") ;; esac
    # a benchmark must not be throttled by the per-tenant defaults (4 MB/s, 5000
    # streams); Loki's own flag names first, as the config module lists them
    case "$help" in
        *distributor.ingestion-rate-limit-mb*) a+=(-distributor.ingestion-rate-limit-mb=100000) ;;
        *--ingestion-rate-mb*) a+=(--ingestion-rate-mb 100000) ;;
    esac
    case "$help" in
        *distributor.ingestion-burst-size-mb*) a+=(-distributor.ingestion-burst-size-mb=100000) ;;
        *--ingestion-burst-size-mb*) a+=(--ingestion-burst-size-mb 100000) ;;
    esac
    case "$help" in
        *ingester.max-global-streams-per-user*) a+=(-ingester.max-global-streams-per-user=1000000) ;;
    esac
    [ ${#a[@]} -eq 0 ] || printf '%s\n' "${a[@]}"
}

# server_start DATA_DIR: start `cairn serve` on a free loopback port, wait for /ready.
# It runs under bench_rss, which passes signals on and records the peak RSS at exit;
# SERVER_PID is the wrapper's, SERVER_REAL_PID the server's own.
server_start() {
    local data=$1
    [ -x "$CAIRN" ] || { say "no $CAIRN"; return 1; }
    SERVER_PORT=$(free_port) || return 1
    SERVER_LOG=$WORK/serve.$SERVER_PORT.log
    SERVER_RSS_FILE=$WORK/rss.$SERVER_PORT
    local extra=() pidf=$WORK/pid.$SERVER_PORT
    mapfile -t extra < <(serve_args)
    # shellcheck disable=SC2086
    "$RSS" --out "$SERVER_RSS_FILE" --pid-file "$pidf" -- \
        "$CAIRN" serve --listen "127.0.0.1:$SERVER_PORT" --data-dir "$data" "${extra[@]}" \
        $BENCH_SERVE_ARGS >"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    say "cairn serve on 127.0.0.1:$SERVER_PORT ${extra[*]} $BENCH_SERVE_ARGS"
    wait_http "http://127.0.0.1:$SERVER_PORT/ready" "$SERVER_PID" 60
    local rc=$?
    if [ $rc -ne 0 ]; then
        if [ $rc -eq 2 ]; then
            wait "$SERVER_PID"
            say "cairn serve exited with status $? before it was ready; its log ends:"
        else
            say "cairn serve did not answer /ready within 60 s; its log ends:"
            kill -KILL "$(cat "$pidf" 2>/dev/null)" "$SERVER_PID" 2>/dev/null
            wait "$SERVER_PID" 2>/dev/null
        fi
        tail -n 15 "$SERVER_LOG" | sed 's/^/    /' >&2
        SERVER_PID=""
        return 1
    fi
    SERVER_REAL_PID=$(cat "$pidf")
    PIDS+=("$SERVER_REAL_PID")
    # a cross-check of the peak: VmHWM from /proc while the server runs
    SERVER_HWM_FILE=$WORK/hwm.$SERVER_PORT
    ( while kill -0 "$SERVER_REAL_PID" 2>/dev/null; do
          awk '/^VmHWM:/ {print $2}' "/proc/$SERVER_REAL_PID/status" 2>/dev/null >"$SERVER_HWM_FILE.t" &&
              [ -s "$SERVER_HWM_FILE.t" ] && mv "$SERVER_HWM_FILE.t" "$SERVER_HWM_FILE"
          sleep 0.1
      done ) &
    SAMPLER_PID=$!
    PIDS+=("$SAMPLER_PID")
}

# server_stop: SIGTERM (the server flushes its heads), wait up to 120 s, then SIGKILL.
# Sets SERVER_HWM_KB to the peak RSS in KiB (at exit, from wait4). Not in a subshell:
# it waits for its child.
SERVER_HWM_KB=0
server_stop() {
    [ -n "$SERVER_PID" ] || return 1
    kill -TERM "$SERVER_PID" 2>/dev/null
    local deadline=$((SECONDS + 120)) rc=0
    while kill -0 "$SERVER_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        say "cairn serve did not exit within 120 s of SIGTERM; killing it"
        kill -KILL "$SERVER_REAL_PID" 2>/dev/null
        rc=1
    fi
    wait "$SERVER_PID" 2>/dev/null
    local st=$?
    [ $rc -eq 0 ] && [ $st -ne 0 ] && { say "cairn serve exited with status $st after SIGTERM"; rc=1; }
    wait "$SAMPLER_PID" 2>/dev/null
    SERVER_HWM_KB=$(sed -n 's/^maxrss_kb=\([0-9]*\).*/\1/p' "$SERVER_RSS_FILE" 2>/dev/null)
    SERVER_HWM_KB=${SERVER_HWM_KB:-0}
    say "cairn serve peak RSS ${SERVER_HWM_KB} KiB at exit (last VmHWM sample while running: $(cat "$SERVER_HWM_FILE" 2>/dev/null || echo none) KiB)"
    SERVER_PID=""
    return $rc
}

# ---- benchmarks ----

# The generator's own speed (not a target; tells how long a corpus takes).
bench_generator() {
    "$GEN" --bytes "$BENCH_BYTES" --streams "$BENCH_STREAMS" --seed "$BENCH_SEED" \
        -o /dev/null 2>"$WORK/gen-speed.log" || { fail generator "bench_gen failed"; return 1; }
    local mbs
    mbs=$(sed -n 's/.* s: \([0-9.]*\) MB\/s.*/\1/p' "$WORK/gen-speed.log" | head -n 1)
    result generator "corpus MB/s (one thread)" "$mbs" "-"
}

# The pusher's ceiling: encoding alone, and pushing to a server that discards.
bench_pusher() {
    corpus_ready || { fail pusher "no corpus"; return 1; }
    local log=$WORK/pusher-dry.log
    "$PUSH" --dry-run --connections "$BENCH_CONNECTIONS" --batch-bytes "$BENCH_BATCH_BYTES" \
        --format "$BENCH_FORMAT" "$CORPUS" >"$log" 2>&1 || { cat "$log" >&2; fail pusher "dry run failed"; return 1; }
    local enc_s lines bytes
    enc_s=$(kv "$log" encode_s); lines=$(kv "$log" lines); bytes=$(kv "$log" bytes)
    result pusher "encode MB/s of lines" "$(awk -v b="$bytes" -v s="$enc_s" 'BEGIN{printf "%.1f", b/1e6/s}')" "-"
    result pusher "encode lines/s ($BENCH_CONNECTIONS threads)" "$(fmt_int "$(awk -v l="$lines" -v s="$enc_s" 'BEGIN{printf "%.0f", l/s}')")" "-"
    local portf=$WORK/discard.port
    "$DISCARD" --port-file "$portf" >"$WORK/discard.log" 2>&1 &
    local dpid=$!
    PIDS+=("$dpid")
    local i
    for i in $(seq 100); do [ -s "$portf" ] && break; sleep 0.05; done
    if ! wait_http "http://127.0.0.1:$(cat "$portf" 2>/dev/null)/ready" "$dpid" 10; then
        fail pusher "bench_discard did not start"; return 1
    fi
    log=$WORK/pusher-discard.log
    "$PUSH" --url "http://127.0.0.1:$(cat "$portf")" --connections "$BENCH_CONNECTIONS" \
        --batch-bytes "$BENCH_BATCH_BYTES" --format "$BENCH_FORMAT" --tenant "$BENCH_TENANT" \
        "$CORPUS" >"$log" 2>&1
    local rc=$?
    kill -TERM "$dpid"; wait "$dpid" 2>/dev/null
    [ $rc -eq 0 ] || { cat "$log" >&2; fail pusher "push to the discard server failed"; return 1; }
    result pusher "to a discarding server: lines/s" "$(fmt_int "$(kv "$log" lines_per_s)")" "-"
    result pusher "to a discarding server: MB/s" "$(kv "$log" mb_per_s)" "-"
}

# Issue 2: push the corpus into a fresh `cairn serve`; lines/s, MB/s, peak RSS, disk.
bench_ingest() {
    corpus_ready || { fail ingest "no corpus"; return 1; }
    local url data="" hwm=""
    if [ -n "$BENCH_URL" ]; then
        url=$BENCH_URL
        say "ingest: pushing to external server $url"
    else
        data=$WORK/data-ingest
        mkdir -p "$data"
        server_start "$data" || { fail ingest "cairn serve did not start (see above)"; return 1; }
        url=http://127.0.0.1:$SERVER_PORT
    fi
    local log=$WORK/ingest-push.log cpu0=""
    [ -n "$data" ] && cpu0=$(proc_cpu_s "$SERVER_REAL_PID")
    "$PUSH" --url "$url" --connections "$BENCH_CONNECTIONS" --batch-bytes "$BENCH_BATCH_BYTES" \
        --format "$BENCH_FORMAT" --tenant "$BENCH_TENANT" "$CORPUS" >"$log" 2>&1
    local prc=$? cpu1=""
    [ -n "$data" ] && cpu1=$(proc_cpu_s "$SERVER_REAL_PID")
    sed 's/^/    /' "$log" >&2
    if [ -z "$BENCH_URL" ]; then
        server_stop || say "ingest: the server did not stop cleanly (see above)"
        hwm=$SERVER_HWM_KB
    fi
    if [ $prc -ne 0 ]; then
        local first
        first=$(sed -n 's/^bench_push: first error: //p' "$log")
        fail ingest "the push failed: ${first:-see the pusher output above}"
        return 1
    fi
    local lines bytes
    lines=$(kv "$log" lines); bytes=$(kv "$log" bytes)
    local who=""
    [ -n "$BENCH_URL" ] && who=" ($BENCH_URL)"
    result ingest "lines/s$who" "$(fmt_int "$(kv "$log" lines_per_s)")" ">= 1,000,000"
    result ingest "MB/s of raw line bytes$who" "$(kv "$log" mb_per_s)" ">= 280"
    result ingest "push latency p50 / p99 ms$who" "$(kv "$log" p50_ms) / $(kv "$log" p99_ms)" "-"
    [ -n "$BENCH_URL" ] && return 0
    if [ -n "$cpu0" ] && [ -n "$cpu1" ]; then
        local cpu
        cpu=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN{printf "%.2f", b - a}')
        result ingest "server CPU s during the push" "$cpu" "-"
        result ingest "lines per server CPU-second" "$(fmt_int "$(awk -v l="$lines" -v c="$cpu" 'BEGIN{printf "%.0f", (c > 0 ? l / c : 0)}')")" "-"
    fi
    result ingest "server peak RSS MB (incl. shutdown)" "$(awk -v k="${hwm:-0}" 'BEGIN{printf "%.1f", k/1024}')" "<= 150"
    local total nowal
    total=$(du -sb "$data" | cut -f1)
    # the WAL is whatever has "wal" in its path inside the data directory
    nowal=$(cd "$data" && find . -type f ! -ipath '*wal*' -printf '%s\n' | awk '{s+=$1} END{print s+0}')
    result ingest "disk bytes / raw bytes (all)" "$(awk -v d="$total" -v b="$bytes" 'BEGIN{printf "%.3f", d/b}')" "<= 0.20"
    result ingest "disk bytes / raw bytes (without WAL)" "$(awk -v d="$nowal" -v b="$bytes" 'BEGIN{printf "%.3f", d/b}')" "-"
    say "ingest: $lines lines, $bytes line bytes; data dir $total bytes, $nowal without WAL"
    INGEST_DATA=$data
}

# ---- queries (issues 3 and 4) over the data ingest left ----

# corpus_info: sets C_MIN, C_MAX (first and last timestamp), C_BYTES (line bytes) and
# C_EVENTS_BYTES (line bytes of the {job="events"} streams) from the corpus.
corpus_info() {
    [ -n "${C_BYTES:-}" ] && return 0
    local out
    out=$(python3 - "$CORPUS" <<'PY'
import struct, sys
with open(sys.argv[1], 'rb') as f:
    d = f.read()
ns, ne, lb = struct.unpack_from('<IQQ', d, 12)
mn, mx = struct.unpack_from('<qq', d, 48)
off, events = 80, set()
for i in range(ns):
    (n,) = struct.unpack_from('<I', d, off)
    if b'job="events"' in d[off + 4:off + 4 + n]:
        events.add(i)
    off += 4 + n
ev = 0
while off < len(d):
    s, n = struct.unpack_from('<II', d, off)
    if s in events:
        ev += n
    off += 16 + n
print(mn, mx, lb, ev)
PY
) || return 1
    read -r C_MIN C_MAX C_BYTES C_EVENTS_BYTES <<<"$out"
}

# query_server: a server on the data ingest left (running the ingest benchmark first if
# it has not run), restarted so the queries read what it flushed. Sets QURL.
query_server() {
    if [ -n "$BENCH_URL" ]; then
        QURL=$BENCH_URL
        return 0
    fi
    if [ -z "$INGEST_DATA" ]; then
        say "no ingested data yet: running the ingest benchmark first"
        bench_ingest || return 1
    fi
    server_start "$INGEST_DATA" || return 1
    QURL=http://127.0.0.1:$SERVER_PORT
}

# run_query LOG ARGS...: bench_query against the server, with the server's CPU time per
# request. Sets Q_P50 (ms), Q_SERVER_BYTES (the bytes the server says it processed,
# -1 if it does not say) and Q_CPU (server CPU seconds per request, empty if unknown).
run_query() {
    local log=$1 cpu0="" cpu1=""
    shift
    [ -n "$SERVER_PID" ] && cpu0=$(proc_cpu_s "$SERVER_REAL_PID")
    "$QUERY" --url "$QURL" --tenant "$BENCH_TENANT" --repeat "$BENCH_QUERY_REPEAT" --warmup 1 \
        "$@" >"$log" 2>&1
    local rc=$?
    [ -n "$SERVER_PID" ] && cpu1=$(proc_cpu_s "$SERVER_REAL_PID")
    cut -c1-400 "$log" | sed 's/^/    /' >&2
    [ $rc -eq 0 ] || return 1
    Q_P50=$(kv "$log" p50_ms)
    Q_SERVER_BYTES=$(kv "$log" server_bytes)
    Q_CPU=""
    if [ -n "$cpu0" ] && [ -n "$cpu1" ]; then
        Q_CPU=$(awk -v a="$cpu0" -v b="$cpu1" -v n="$BENCH_QUERY_REPEAT" 'BEGIN{printf "%.4f", (b - a) / (n + 1)}')
    fi
    return 0
}

# rate BYTES SECONDS UNIT: bytes per second in MB or GB ("-" if unknown).
rate() {
    awk -v b="$1" -v t="$2" -v u="$3" 'BEGIN {
        if (b < 0 || t <= 0) { print "-"; exit }
        printf "%.2f", b / t / (u == "GB" ? 1e9 : 1e6) }'
}

# query_result BENCH NAME BASIS_BYTES UNIT TARGET: rows for one query: p50 latency, and
# BASIS_BYTES per second of wall time and per server CPU-second.
query_result() {
    local b=$1 name=$2 basis=$3 unit=$4 target=$5
    result "$b" "$name: p50 ms" "$Q_P50" "-"
    result "$b" "$name: $unit/s" "$(rate "$basis" "$(awk -v m="$Q_P50" 'BEGIN{print m / 1000}')" "$unit")" "$target"
    [ -z "$Q_CPU" ] || result "$b" "$name: $unit/s per server CPU-s" "$(rate "$basis" "$Q_CPU" "$unit")" "-"
}

# query_fail BENCH NAME LOG: a query that did not answer well.
query_fail() {
    fail "$1" "$2: $(sed -n 's/^bench_query: //p' "$3" | head -n 1 | cut -c1-300)"
}

# Issue 3: log queries over the whole corpus, newest first, limit 1000.
bench_query() {
    corpus_ready || { fail query "no corpus"; return 1; }
    corpus_info || { fail query "cannot read the corpus header"; return 1; }
    query_server || { fail query "no server with the corpus (see above)"; return 1; }
    local range=(start="$C_MIN" end="$((C_MAX + 1))" limit=1000) log=$WORK/query.log bad=0
    # a selector alone: how soon the newest 1000 lines of one namespace come back
    if run_query "$log" 'query={namespace="payments"}' "${range[@]}"; then
        result query 'selector {namespace="payments"}, limit 1000: p50 ms' "$Q_P50" "<= 20"
    else query_fail query selector "$log"; bad=1; fi
    # a rare literal over everything: every line is read (about 6 match)
    if run_query "$log" 'query={job=~".+"} |= "needle"' "${range[@]}"; then
        query_result query '|= "needle" over all' "$C_BYTES" GB ">= 1.5"
    else query_fail query needle "$log"; bad=1; fi
    # the json parser: limit 1000 may stop early, so the basis is what the server
    # reports it processed (Loki's stats.summary.totalBytesProcessed), if it does
    if run_query "$log" 'query={job=~".+"} | json | level="error"' "${range[@]}"; then
        query_result query '| json | level="error" (bytes processed)' "$Q_SERVER_BYTES" MB ">= 500"
    else query_fail query json "$log"; bad=1; fi
    if run_query "$log" 'query={job=~".+"} | json | line_format "{{.level}} {{.msg}} {{.request_id}}"' "${range[@]}"; then
        query_result query 'line_format of 3 JSON keys (bytes processed)' "$Q_SERVER_BYTES" MB "-"
    else query_fail query line_format "$log"; bad=1; fi
    if [ -z "$BENCH_URL" ]; then server_stop || say "query: the server did not stop cleanly"; fi
    return $bad
}

# Issue 4: metric queries over the whole span at step 1m on the events streams; the
# basis is the raw bytes of the lines they cover.
bench_metric() {
    corpus_ready || { fail metric "no corpus"; return 1; }
    corpus_info || { fail metric "cannot read the corpus header"; return 1; }
    query_server || { fail metric "no server with the corpus (see above)"; return 1; }
    local range=(start="$C_MIN" end="$((C_MAX + 1))" step=60) log=$WORK/metric.log bad=0
    if run_query "$log" 'query=sum by (namespace) (count_over_time({job="events"}[5m]))' "${range[@]}"; then
        query_result metric 'sum by (namespace) (count_over_time({job="events"}[5m]))' "$C_EVENTS_BYTES" GB ">= 5"
    else query_fail metric count_over_time "$log"; bad=1; fi
    if run_query "$log" 'query=topk(10, sum by (reason) (rate({job="events"} | json [1m])))' "${range[@]}"; then
        query_result metric 'topk(10, sum by (reason) (rate({job="events"} | json [1m])))' "$C_EVENTS_BYTES" MB ">= 400"
    else query_fail metric topk "$log"; bad=1; fi
    if [ -z "$BENCH_URL" ]; then server_stop || say "metric: the server did not stop cleanly"; fi
    return $bad
}

# Issue 17: needle search. A 16-hex-digit id that occurs once in the corpus, found by
# `{job=~".+"} |= "<id>"` over the whole span (24 h), with the block filters consulted
# and with the server started with --no-block-filters on the same data; the ingest CPU
# with and without building them; the filters' size per raw byte.
# needle_ingest DATA [SERVE ARGS...]: push the corpus into a fresh server on DATA;
# sets NI_CPU (server CPU seconds during the push).
needle_ingest() {
    local data=$1 log=$WORK/needle-push.log cpu0 cpu1
    shift
    mkdir -p "$data"
    local BENCH_SERVE_ARGS="$BENCH_SERVE_ARGS $*"
    server_start "$data" || return 1
    cpu0=$(proc_cpu_s "$SERVER_REAL_PID")
    "$PUSH" --url "http://127.0.0.1:$SERVER_PORT" --connections "$BENCH_CONNECTIONS" \
        --batch-bytes "$BENCH_BATCH_BYTES" --format "$BENCH_FORMAT" --tenant "$BENCH_TENANT" \
        "$CORPUS" >"$log" 2>&1
    local prc=$?
    cpu1=$(proc_cpu_s "$SERVER_REAL_PID")
    server_stop || say "needle: the server did not stop cleanly"
    [ $prc -eq 0 ] || { sed 's/^/    /' "$log" >&2; return 1; }
    NI_CPU=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN{printf "%.2f", b - a}')
}

bench_needle() {
    corpus_ready || { fail needle "no corpus"; return 1; }
    corpus_info || { fail needle "cannot read the corpus header"; return 1; }
    [ -n "$BENCH_URL" ] && { fail needle "needs its own servers (BENCH_URL is set)"; return 1; }
    local id
    id=$(python3 - "$CORPUS" <<'PY'
import re, sys
d = open(sys.argv[1], 'rb').read()
# candidates from the middle of the corpus outward; the first found exactly once
for m in re.compile(rb'[0-9a-f]{16}').finditer(d, len(d) // 2):
    if d.count(m.group(0)) == 1:
        print(m.group(0).decode())
        break
PY
)
    [ -n "$id" ] || { fail needle "no 16-hex-digit id occurs once in the corpus"; return 1; }
    say "needle: id $id"
    local off=$WORK/data-needle-off on=$WORK/data-needle-on cpu_off cpu_on
    needle_ingest "$off" --no-block-filters || { fail needle "ingest without filters failed"; return 1; }
    cpu_off=$NI_CPU
    needle_ingest "$on" || { fail needle "ingest with filters failed"; return 1; }
    cpu_on=$NI_CPU
    rm -rf "$off"
    local fbytes
    fbytes=$(find "$on" -name '*.cflt' -printf '%s\n' | awk '{s+=$1} END{print s+0}')
    result needle "filter bytes / raw line bytes" "$(awk -v f="$fbytes" -v b="$C_BYTES" 'BEGIN{printf "%.4f", f/b}')" "<= 0.02"
    result needle "ingest server CPU s, filters off / on" "$cpu_off / $cpu_on" "-"
    result needle "ingest CPU cost of the filters" "$(awk -v a="$cpu_off" -v b="$cpu_on" 'BEGIN{printf "%+.1f%%", (a > 0 ? (b - a) / a * 100 : 0)}')" "<= 10%"
    local range=(start="$C_MIN" end="$((C_MAX + 1))" limit=1000) log=$WORK/needle.log bad=0
    local q="query={job=~\".+\"} |= \"$id\"" p50_on="" p50_off=""
    server_start "$on" || { fail needle "cairn serve did not start"; return 1; }
    QURL=http://127.0.0.1:$SERVER_PORT
    # the first query after start reads the sidecars into the store's cache; the
    # timed runs below find them there
    if BENCH_QUERY_REPEAT=1 run_query "$log" --warmup 0 "$q" "${range[@]}"; then
        result needle "the same, first query after start (sidecars read): ms" "$Q_P50" "-"
    else query_fail needle "filters on, first query" "$log"; bad=1; fi
    if run_query "$log" "$q" "${range[@]}"; then
        p50_on=$Q_P50
        grep -q ' 1 values' "$log" || say "needle: expected exactly one entry (see above)"
        result needle "|= \"<16-hex id>\" over 24 h, filters on: p50 ms" "$p50_on" "<= 20"
        local skipped
        skipped=$(curl -s "$QURL/metrics" | sed -n 's/^cairn_blocks_filtered_total \([0-9]*\).*/\1/p')
        result needle "blocks skipped by filter (all runs)" "${skipped:-?}" "-"
    else query_fail needle "filters on" "$log"; bad=1; fi
    server_stop || say "needle: the server did not stop cleanly"
    local BENCH_SERVE_ARGS="$BENCH_SERVE_ARGS --no-block-filters"
    server_start "$on" || { fail needle "cairn serve did not start"; return 1; }
    QURL=http://127.0.0.1:$SERVER_PORT
    if run_query "$log" "$q" "${range[@]}"; then
        p50_off=$Q_P50
        result needle "the same, filters off: p50 ms" "$p50_off" "-"
    else query_fail needle "filters off" "$log"; bad=1; fi
    server_stop || say "needle: the server did not stop cleanly"
    if [ -n "$p50_on" ] && [ -n "$p50_off" ]; then
        result needle "speed-up with filters" "$(awk -v a="$p50_off" -v b="$p50_on" 'BEGIN{printf "%.1fx", (b > 0 ? a / b : 0)}')" ">= 20x"
    fi
    return $bad
}

# ---- the event router and the agent (issues 5 and 6), through their own drivers ----

# line_kv LOG PATTERN KEY: KEY=value from the last line of LOG matching PATTERN.
line_kv() {
    grep -E "$2" "$1" | tail -n 1 | sed -n "s/.*\\b$3=\\([^ ]*\\).*/\\1/p"
}

# Issue 5: `cairn events` from a fake API server to stdout and into `cairn serve`
# (bench/events_bench.sh: its fake server and runs, summarised here).
bench_events() {
    local drv=$SRC/bench/events_bench.sh log=$WORK/events.log
    [ -f "$drv" ] || { fail events "no $drv"; return 1; }
    BENCH_CAIRN=$CAIRN bash "$drv" "$BUILD" >"$log" 2>&1
    local rc=$?
    sed 's/^/    /' "$log" >&2
    if ! grep -q "^BENCH_EVENTS mode=list " "$log"; then
        fail events "events_bench.sh failed with status $rc (see above)"
        return 1
    fi
    local m
    for m in list watch; do
        result events "$m -> stdout: events/s" "$(fmt_int "$(line_kv "$log" "^BENCH_EVENTS mode=$m " events_per_s)")" ">= 20,000"
        result events "$m -> stdout: events per router CPU-s" "$(fmt_int "$(line_kv "$log" "^BENCH_EVENTS mode=$m " events_per_cpu_s)")" "-"
        result events "$m: router peak RSS MB, 100,000 events" "$(awk -v k="$(line_kv "$log" "^BENCH_EVENTS mode=$m " max_rss_kb)" 'BEGIN{printf "%.1f", k / 1024}')" "-"
    done
    if grep -q "^BENCH_EVENTS mode=steady " "$log"; then
        result events "steady-state RSS MB, 100,000 events live (router idle after emitting them)" "$(awk -v k="$(line_kv "$log" "^BENCH_EVENTS mode=steady " rss_kb)" 'BEGIN{printf "%.1f", k / 1024}')" "<= 16"
    fi
    if grep -q "^BENCH_EVENTS mode=push " "$log"; then
        result events "push -> cairn serve: events/s" "$(fmt_int "$(line_kv "$log" "^BENCH_EVENTS mode=push " events_per_s)")" ">= 10,000"
        result events "push: router peak RSS MB" "$(awk -v k="$(line_kv "$log" "^BENCH_EVENTS mode=push " max_rss_kb)" 'BEGIN{printf "%.1f", k / 1024}')" "-"
        local stored expected
        stored=$(line_kv "$log" "^BENCH_EVENTS mode=push_check " stored)
        expected=$(line_kv "$log" "^BENCH_EVENTS mode=push_check " expected)
        [ -n "$stored" ] && [ "$stored" = "$expected" ] ||
            { fail events "push: $stored of $expected events stored"; return 1; }
    fi
    [ $rc -eq 0 ] || { fail events "events_bench.sh exited with status $rc"; return 1; }
}

# Issue 6: `cairn ship`, tail -> json -> labels into a discarding sink, and the whole
# agent pushing over HTTP (bench/ship_bench.sh, summarised here).
bench_ship() {
    local drv=$SRC/bench/ship_bench.sh log=$WORK/ship.log
    [ -f "$drv" ] || { fail ship "no $drv"; return 1; }
    bash "$drv" "$BUILD" >"$log" 2>&1
    local rc=$?
    sed 's/^/    /' "$log" >&2
    if [ $rc -ne 0 ] || ! grep -q "agent_cpu_s=" "$log"; then
        fail ship "ship_bench.sh failed with status $rc (see above)"
        return 1
    fi
    local f
    for f in 1 100; do
        result ship "tail->json->labels->discard, $f file(s): lines per CPU-s" \
            "$(fmt_int "$(line_kv "$log" "^lines=[0-9]+ files=$f bytes=" lines_per_cpu_s)")" ">= 1,000,000"
    done
    result ship "whole agent, 100 files -> push: lines per CPU-s" \
        "$(fmt_int "$(line_kv "$log" "agent_cpu_s=" lines_per_cpu_s)")" "-"
    result ship "whole agent, 100 files: peak RSS MB" \
        "$(awk -v k="$(line_kv "$log" "agent_cpu_s=" peak_rss_kb)" 'BEGIN{printf "%.1f", k / 1024}')" "<= 30"
}

# Issue 12: `cairn ship` with Kubernetes discovery, 200 pods (400 files) on its node and
# a churn of 10 pods/s for a minute (bench/ship_sd_bench.sh, summarised here).
bench_ship_sd() {
    local drv=$SRC/bench/ship_sd_bench.sh log=$WORK/ship_sd.log
    [ -f "$drv" ] || { fail ship_sd "no $drv"; return 1; }
    bash "$drv" "$BUILD" >"$log" 2>&1
    local rc=$?
    sed 's/^/    /' "$log" >&2
    if [ $rc -ne 0 ] || ! grep -q "phase=churn" "$log"; then
        fail ship_sd "ship_sd_bench.sh failed with status $rc (see above)"
        return 1
    fi
    local mb='{printf "%.1f", $1 / 1024}'
    result ship_sd "200 pods, 400 files: RSS MB" \
        "$(line_kv "$log" "phase=steady" rss_kb | awk "$mb")" "<= 40"
    result ship_sd "after 600 pods created and deleted in 60 s: RSS MB (during: min-max)" \
        "$(line_kv "$log" "phase=churn" rss_kb | awk "$mb") ($(line_kv "$log" "phase=churn" rss_min_kb | awk "$mb")-$(line_kv "$log" "phase=churn" rss_max_kb | awk "$mb"))" "flat"
    result ship_sd "open fds before / after the churn" \
        "$(line_kv "$log" "phase=churn" fds_before) / $(line_kv "$log" "phase=churn" fds)" "equal"
}

# The LogQL pipeline alone, in process, one thread, over generated JSON and logfmt
# lines (bench/logql_pipeline.c): MB of raw line bytes per CPU-second of the thread.
bench_pipeline() {
    local tool=$BUILD/bench_logql_pipeline log=$WORK/pipeline.log
    [ -x "$tool" ] || { fail pipeline "missing $tool"; return 1; }
    "$tool" 300000 >"$log" 2>&1 || { fail pipeline "bench_logql_pipeline failed"; return 1; }
    while IFS= read -r line; do
        local name=${line:0:34} rate
        rate=$(sed -n 's/.* \([0-9.]*\) MB\/CPU-s.*/\1/p' <<<"$line")
        [ -n "$rate" ] || continue
        result pipeline "${name%"${name##*[! ]}"} (1 thread)" "$rate MB/CPU-s" "-"
    done <"$log"
}

# ---- main ----

for tool in "$GEN" "$PUSH" "$DISCARD" "$RSS" "$QUERY"; do
    [ -x "$tool" ] || { say "missing $tool (run make build first)"; exit 2; }
done
COMMIT=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git -C "$SRC" status --porcelain --untracked-files=no 2>/dev/null | head -n 1)
[ -n "$DIRTY" ] && COMMIT="$COMMIT+dirty"
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
MEM=$(awk '/^MemTotal:/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)
say "$(date -u +%Y-%m-%dT%H:%M:%SZ) commit $COMMIT, $(nproc) CPUs ($CPU), $MEM"
say "corpus ${BENCH_BYTES} over ${BENCH_STREAMS} streams, seed ${BENCH_SEED}; pusher ${BENCH_CONNECTIONS} connections, ${BENCH_BATCH_BYTES}-byte batches, ${BENCH_FORMAT}; fsync ${BENCH_FSYNC}"

for b in ${BENCH_ONLY//,/ }; do
    if ! declare -F "bench_$b" >/dev/null; then
        fail "$b" "no such benchmark (have: $BENCH_ALL)"
        continue
    fi
    say "== $b"
    "bench_$b"
done

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
echo
echo "cairn benchmarks  $(date -u +%Y-%m-%d)  commit $COMMIT  $(nproc) CPUs  $MEM  load $LOAD"
printf '%-10s %-50s %14s  %s\n' benchmark metric value target
printf '%-10s %-50s %14s  %s\n' --------- ------ ----- ------
for row in "${RESULTS[@]}"; do
    IFS=$SEP read -r b m v t <<<"$row"
    printf '%-10s %-50s %14s  %s\n' "$b" "$m" "$v" "$t"
done
for f in "${FAILED[@]}"; do
    printf '%-10s %s\n' "${f%%:*}" "FAILED:${f#*:}"
done
# the same rows in the shape of BENCHMARKS.md's results table, ready to paste
echo
echo "rows for BENCHMARKS.md:"
for row in "${RESULTS[@]}"; do
    IFS=$SEP read -r b m v t <<<"$row"
    echo "| $(date -u +%Y-%m-%d) | $COMMIT | $b | ${m//|/\\|} | $v | $t | load $LOAD |"
done
for f in "${FAILED[@]}"; do
    f=${f//|/\\|}
    echo "| $(date -u +%Y-%m-%d) | $COMMIT | ${f%%:*} | - | FAILED:${f#*:} | - | load $LOAD |"
done
[ ${#FAILED[@]} -eq 0 ]
