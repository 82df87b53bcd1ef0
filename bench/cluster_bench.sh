#!/usr/bin/env bash
# cluster_bench.sh -- ingest lines/s of a cairn cluster on this machine: 1 write node
# (rf 1), 3 write nodes (rf 1) and 3 write nodes (rf 3), membership in a real etcd on
# loopback. Three bench_push processes (one tenant each, so the streams spread over the
# ring) push the same bench_gen corpus, each to its own write node (all to the one
# node in the 1-node case); lines/s = all lines acknowledged / wall time.
#
#   bash bench/cluster_bench.sh BUILD_DIR      (BENCH_BYTES=100M BENCH_STREAMS=1000)
# Prints one summary line per setup: "cluster nodes=N rf=R lines_per_s=... mb_per_s=...".
set -u
BUILD=${1:-build}
BYTES=${BENCH_BYTES:-100M}
STREAMS=${BENCH_STREAMS:-1000}
CONNS=${BENCH_CONNECTIONS:-2}
WORK=$(mktemp -d /tmp/cairn-cluster-bench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
[ -n "${BENCH_KEEP:-}" ] && trap - EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_of() { # the CPU seconds (user + system) the given processes used so far
    local t=0 p tck; tck=$(getconf CLK_TCK)
    for p in "$@"; do
        t=$(( t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0) ))
    done
    echo "scale=2; $t / $tck" | bc
}
wait_for() { # url, what
    for _ in $(seq 600); do curl -sf "$1" 2>/dev/null | grep -q "$2" && return 0; sleep 0.05; done
    echo "timed out waiting for $1 to show $2" >&2; return 1
}

now=$(date +%s)
"$BUILD/bench_gen" --bytes "$BYTES" --streams "$STREAMS" --seed 7 \
    --start-ns "$(( now - 3600 ))000000000" --span 3000s -o "$WORK/corpus.bin" 2>/dev/null || exit 1

EP=$(free_port); PP=$(free_port)
etcd --name b --data-dir "$WORK/etcd" --listen-client-urls "http://127.0.0.1:$EP" \
    --advertise-client-urls "http://127.0.0.1:$EP" --listen-peer-urls "http://127.0.0.1:$PP" \
    --initial-advertise-peer-urls "http://127.0.0.1:$PP" --initial-cluster "b=http://127.0.0.1:$PP" \
    >"$WORK/etcd.log" 2>&1 &
PIDS+=($!)
wait_for "http://127.0.0.1:$EP/health" true || exit 1

run() { # nodes rf
    local n=$1 rf=$2 ports=() i
    local prefix="bench/$n-$rf/"
    for i in $(seq "$n"); do
        local port; port=$(free_port); ports+=("$port")
        "$BUILD/cairn" serve --target write --listen "127.0.0.1:$port" --data-dir "$WORK/d-$n-$rf-$i" \
            -common.ring.store=etcd "-common.ring.etcd.endpoints=127.0.0.1:$EP" \
            "-common.ring.instance-id=w$i" "-common.replication-factor=$rf" \
            "-common.ring.prefix=$prefix" -distributor.ingestion-rate-limit-mb=100000 \
            -distributor.ingestion-burst-size-mb=100000 \
            -ingester.max-global-streams-per-user=1000000 >"$WORK/serve-$n-$rf-$i.log" 2>&1 &
        PIDS+=($!)
    done
    for port in "${ports[@]}"; do
        wait_for "http://127.0.0.1:$port/ring?format=json" "$(printf '"state":"ACTIVE"%.0s' 1)" || return 1
        for _ in $(seq 100); do
            [ "$(curl -s "http://127.0.0.1:$port/ring?format=json" | grep -o '"state":"ACTIVE"' | wc -l)" -ge "$n" ] && break
            sleep 0.05
        done
    done
    local k logs=() cpu0
    cpu0=$(cpu_of "${PIDS[@]: -$n}")
    for k in 0 1 2; do
        local port=${ports[$(( k % n ))]}
        "$BUILD/bench_push" --url "http://127.0.0.1:$port" --connections "$CONNS" \
            --tenant "t$k" "$WORK/corpus.bin" >"$WORK/push-$n-$rf-$k.log" 2>&1 &
        logs+=($!)
    done
    local ok=1
    for p in "${logs[@]}"; do wait "$p" || ok=0; done
    local cpu1; cpu1=$(cpu_of "${PIDS[@]: -$n}")
    [ $ok = 1 ] || { echo "cluster nodes=$n rf=$rf FAILED (see $WORK)"; tail -3 "$WORK"/push-$n-$rf-*.log >&2; return 1; }
    local lines bytes
    lines=$(cat "$WORK"/push-$n-$rf-*.log | sed -n 's/.*BENCH_PUSH lines=\([0-9]*\).*/\1/p' | paste -sd+ | bc)
    bytes=$(cat "$WORK"/push-$n-$rf-*.log | sed -n 's/.*BENCH_PUSH lines=[0-9]* bytes=\([0-9]*\).*/\1/p' | paste -sd+ | bc)
    # the pushers' own clocks (encoding happens before them): the slowest one's
    local secs
    secs=$(cat "$WORK"/push-$n-$rf-*.log | sed -n 's/.*BENCH_PUSH.* elapsed_s=\([0-9.]*\).*/\1/p' | sort -g | tail -n 1)
    awk -v n="$n" -v rf="$rf" -v l="$lines" -v b="$bytes" -v t="$secs" -v c="$(echo "$cpu1 - $cpu0" | bc)" \
        'BEGIN{printf "cluster nodes=%d rf=%d lines=%d seconds=%.2f lines_per_s=%.0f mb_per_s=%.1f server_cpu_s=%.2f lines_per_cpu_s=%.0f\n", n, rf, l, t, l/t, b/1e6/t, c, l/c}'
    [ "${3:-}" = read ] && read_node "$n" "$rf" "$prefix"
    for i in $(seq "$n"); do kill "${PIDS[-$i]}" 2>/dev/null; done
    wait "${PIDS[@]: -$n}" 2>/dev/null
}

# A read node over what the run left: one tenant's whole corpus through count_over_time
# (every entry of every stream moves from each of the rf replicas to the read node).
read_node() { # nodes rf prefix
    local port; port=$(free_port)
    "$BUILD/cairn" serve --target read --listen "127.0.0.1:$port" --data-dir "$WORK/r-$1-$2" \
        -common.ring.store=etcd "-common.ring.etcd.endpoints=127.0.0.1:$EP" \
        -common.ring.instance-id=r1 "-common.replication-factor=$2" "-common.ring.prefix=$3" \
        -querier.max-query-memory=2GB >"$WORK/read-$1-$2.log" 2>&1 &
    local rpid=$!
    PIDS+=($rpid)
    wait_for "http://127.0.0.1:$port/ring?format=json" '"id":"w1"' || return 1
    local q='sum(count_over_time({job=~".+"}[1h]))' i t best=""
    for i in 1 2 3; do
        t=$(curl -s -o "$WORK/q.json" -w '%{time_total}' -H 'X-Scope-OrgID: t0' -G \
            "http://127.0.0.1:$port/loki/api/v1/query" --data-urlencode "query=$q" \
            --data-urlencode "time=$(date +%s)")
        grep -q '"status":"success"' "$WORK/q.json" || { echo "read query failed: $(head -c 300 "$WORK/q.json")"; break; }
        best=$(echo "$t $best" | tr ' ' '\n' | grep . | sort -g | head -n 1)
    done
    local lines; lines=$(grep -o '"value":\[[0-9.]*,"[0-9]*"' "$WORK/q.json" | sed 's/.*,"//; s/"//')
    awk -v n="$1" -v rf="$2" -v l="${lines:-0}" -v t="${best:-0}" -v b="${BYTES%M}" \
        'BEGIN{printf "read node over %d write nodes rf=%d: count_over_time of one tenant (%d lines, %s MB raw) best of 3: %.2f s, %.0f lines/s, %.1f MB/s raw\n", n, rf, l, b, t, (t>0?l/t:0), (t>0?b/t:0)}'
    [ -n "${BENCH_PAUSE:-}" ] && { echo "read node on $port, writers: ${ports[*]:-}"; sleep "$BENCH_PAUSE"; }
    kill "$rpid" 2>/dev/null
    wait "$rpid" 2>/dev/null
}

echo "# $(date -u +%F) $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null) nproc=$(nproc) corpus=$BYTES streams=$STREAMS x3 tenants"
run 1 1
run 3 1
run 3 3 read
