#!/usr/bin/env bash
# bench_push_test.sh -- the pusher delivers every corpus line exactly as generated
# (protobuf+snappy, JSON and gzipped JSON, pre-encoded or not, checked by bench_discard
# --decode), each stream in order however many connections, reports failures with the
# server's status and message; bench_rss reports status and peak RSS; bench_query
# encodes, counts and checks answers; bench/run.sh reports a server that does not
# start, refuses pushes or has no query API as a failed benchmark.
set -euo pipefail
BUILD=${CAIRN_BUILD:?CAIRN_BUILD must name the build directory}
SRC=${CAIRN_SRC:?CAIRN_SRC must name the source directory}
T=$(mktemp -d "${TMPDIR:-/tmp}/bench-push-test.XXXXXX")
DPID=""
cleanup() {
    [ -n "$DPID" ] && kill -KILL "$DPID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
kv() { sed -n "s/.*\\b$2=\\([^ ]*\\).*/\\1/p" "$1" | tail -n 1; }

# start_discard [args]: bench_discard on a free port; sets DPID and PORT.
start_discard() {
    rm -f "$T/port"
    "$BUILD/bench_discard" --port-file "$T/port" "$@" >"$T/discard.out" 2>&1 &
    DPID=$!
    local deadline=$((SECONDS + 20))
    until [ -s "$T/port" ]; do
        kill -0 "$DPID" 2>/dev/null || fail "bench_discard died: $(cat "$T/discard.out")"
        [ $SECONDS -lt $deadline ] || fail "bench_discard did not start"
        sleep 0.05
    done
    PORT=$(cat "$T/port")
}
stop_discard() {
    kill -TERM "$DPID"
    wait "$DPID" || fail "bench_discard exited with $?"
    DPID=""
}

"$BUILD/bench_gen" -q --bytes 3M --streams 200 --seed 11 -o "$T/c.bin"
"$BUILD/bench_gen" -q --bytes 3M --streams 200 --seed 11 --emit text -o "$T/c.text"
LINES=$(wc -l <"$T/c.text")
BYTES=$(cut -f3- "$T/c.text" | awk '{s += length($0)} END {print s}')

# Every line arrives, in each encoding; small batches so there are many requests.
start_discard --decode
runs=0
for args in "--format protobuf" "--format json" "--format json-gzip" "--format protobuf --no-pre-encode" \
            "--format json --no-pre-encode --connections 1"; do
    # shellcheck disable=SC2086
    "$BUILD/bench_push" --url "http://127.0.0.1:$PORT" --batch-bytes 65536 $args "$T/c.bin" \
        >"$T/push.out" || fail "bench_push $args: $(cat "$T/push.out")"
    [ "$(kv "$T/push.out" lines)" = "$LINES" ] || fail "$args: pushed $(kv "$T/push.out" lines) of $LINES lines"
    [ "$(kv "$T/push.out" bytes)" = "$BYTES" ] || fail "$args: pushed $(kv "$T/push.out" bytes) of $BYTES bytes"
    [ "$(kv "$T/push.out" errors)" = 0 ] || fail "$args: errors"
    runs=$((runs + 1))
done
curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null || fail "/ready"
stop_discard
grep -q "^BENCH_DISCARD " "$T/discard.out" || fail "no BENCH_DISCARD line"
[ "$(kv "$T/discard.out" lines)" = $((LINES * runs)) ] || fail "server decoded $(kv "$T/discard.out" lines) lines, want $((LINES * runs))"
[ "$(kv "$T/discard.out" line_bytes)" = $((BYTES * runs)) ] || fail "server decoded $(kv "$T/discard.out" line_bytes) bytes, want $((BYTES * runs))"
[ "$(kv "$T/discard.out" decode_errors)" = 0 ] || fail "server could not decode some pushes"

# Each stream reaches the server in order, even with parallel connections and many
# small batches (one connection per shard of streams); pushing the corpus a second time
# puts every entry but each stream's newest behind (so the count is real).
NSTREAMS=$(cut -f1 "$T/c.text" | sort -u | wc -l)
start_discard --decode
for fmt in protobuf json; do
    "$BUILD/bench_push" --url "http://127.0.0.1:$PORT" --batch-bytes 8192 --format $fmt \
        --connections 4 "$T/c.bin" >"$T/push.out" || fail "ordered push ($fmt): $(cat "$T/push.out")"
    ooo=$(curl -sf "http://127.0.0.1:$PORT/stats" | sed -n 's/.*"out_of_order":\([0-9]*\).*/\1/p')
    [ "$ooo" = 0 ] || fail "$fmt: $ooo entries arrived behind their stream's newest"
done
"$BUILD/bench_push" --url "http://127.0.0.1:$PORT" "$T/c.bin" >"$T/push.out" || fail "second push"
stop_discard
[ "$(kv "$T/discard.out" out_of_order)" = $((LINES - NSTREAMS)) ] ||
    fail "out_of_order $(kv "$T/discard.out" out_of_order), want $((LINES - NSTREAMS))"

# The dry run sends nothing and needs no URL.
"$BUILD/bench_push" --dry-run "$T/c.bin" >"$T/dry.out" || fail "dry run failed"
[ "$(kv "$T/dry.out" lines)" = "$LINES" ] && [ "$(kv "$T/dry.out" requests)" = 0 ] || fail "dry run counts"

# A refusing server: exit status 1, the status and the server's message, and a stop
# after --max-errors instead of pushing everything.
start_discard --status 429
if "$BUILD/bench_push" --url "http://127.0.0.1:$PORT" --batch-bytes 4096 --max-errors 3 \
        "$T/c.bin" >"$T/refused.out"; then
    fail "bench_push succeeded against a server answering 429"
fi
grep -q "first error: HTTP 429: bench_discard: refused" "$T/refused.out" || fail "no 429 message: $(cat "$T/refused.out")"
[ "$(kv "$T/refused.out" lines)" = 0 ] || fail "refused lines counted as pushed"
[ "$(kv "$T/refused.out" requests)" -lt 20 ] || fail "did not stop after --max-errors"
stop_discard

# bench_rss: the command's status and peak RSS; signals reach the command.
if "$BUILD/bench_rss" --out "$T/rss" -- sh -c 'exit 3'; then fail "bench_rss hid exit status 3"; fi
grep -Eq '^maxrss_kb=[1-9][0-9]* status=3 cpu_user_s=[0-9.]+ cpu_sys_s=[0-9.]+$' "$T/rss" || fail "bench_rss output: $(cat "$T/rss")"
"$BUILD/bench_rss" --out "$T/rss" --pid-file "$T/rss.pid" -- sleep 60 &
RPID=$!
for i in $(seq 100); do [ -s "$T/rss.pid" ] && break; sleep 0.05; done
kill -TERM "$RPID"
if wait "$RPID"; then fail "bench_rss: sleep survived SIGTERM"; fi
grep -Eq '^maxrss_kb=[1-9][0-9]* status=143 ' "$T/rss" || fail "bench_rss after SIGTERM: $(cat "$T/rss")"
kill -0 "$(cat "$T/rss.pid")" 2>/dev/null && fail "bench_rss left its command running"

# bench/run.sh against stand-ins for `cairn serve`: one that works (bench_discard behind
# serve's options), one that refuses pushes, one that exits at once.
cat >"$T/cairn" <<EOF
#!/usr/bin/env bash
[ "\$1" = serve ] || exit 2
shift
[ "\${1:-}" = --help ] && { echo "  --fsync POLICY"; exit 0; }
[ -n "\${FAKE_EXIT:-}" ] && { echo "stand-in: failing on purpose" >&2; exit "\$FAKE_EXIT"; }
listen= data=
while [ \$# -gt 0 ]; do
    case "\$1" in
        --listen) listen=\$2; shift 2 ;;
        --data-dir) data=\$2; shift 2 ;;
        --fsync) [ "\$2" = interval ] || exit 3; shift 2 ;;
        *) shift ;;
    esac
done
mkdir -p "\$data/wal" && head -c 3000 /dev/zero >"\$data/wal/0001" && head -c 1000 /dev/zero >"\$data/seg-0001"
exec "$BUILD/bench_discard" --listen "\$listen" --status "\${FAKE_STATUS:-204}"
EOF
chmod +x "$T/cairn"
export BENCH_CAIRN="$T/cairn" BENCH_OUT="$T/out" BENCH_BYTES=2M BENCH_STREAMS=100

BENCH_ONLY=generator,pusher,ingest bash "$SRC/bench/run.sh" "$BUILD" >"$T/run.out" 2>"$T/run.err" ||
    fail "run.sh failed with a working server: $(cat "$T/run.out" "$T/run.err")"
for row in "generator +corpus MB/s" "pusher +to a discarding server: lines/s" "ingest +lines/s " \
           "ingest +MB/s of raw line bytes" "ingest +server peak RSS MB" "ingest +disk bytes / raw bytes \(all\)" \
           "ingest +server CPU s during the push +[0-9.]+" "ingest +lines per server CPU-second"; do
    grep -Eq "^$row" "$T/run.out" || fail "no '$row' row in: $(cat "$T/run.out")"
done
ls "$T/out"/corpus-*.bin >/dev/null || fail "corpus not cached in BENCH_OUT"
rss=$(sed -n 's/^ingest \+server peak RSS MB (incl. shutdown) \+\([0-9.]*\).*/\1/p' "$T/run.out")
awk -v r="${rss:-0}" 'BEGIN { exit !(r >= 1 && r < 1000) }' || fail "implausible server RSS '$rss' MB"
# the stand-in writes 1000 bytes outside its WAL: that is what the ratio must count
grep -Eq "^ingest +disk bytes / raw bytes \(without WAL\) +0\.0" "$T/run.out" || fail "disk ratio row: $(cat "$T/run.out")"
grep -q "1000 without WAL" "$T/run.err" || fail "WAL not told apart: $(cat "$T/run.err")"

if FAKE_STATUS=404 BENCH_ONLY=ingest bash "$SRC/bench/run.sh" "$BUILD" >"$T/run.out" 2>"$T/run.err"; then
    fail "run.sh succeeded although every push got 404"
fi
grep -q "^ingest .*FAILED: the push failed: HTTP 404" "$T/run.out" || fail "404 not reported: $(cat "$T/run.out")"

# the stand-in has no query API: the query benchmark says so and fails, after ingest
if BENCH_ONLY=query bash "$SRC/bench/run.sh" "$BUILD" >"$T/run.out" 2>"$T/run.err"; then
    fail "run.sh query succeeded against a server without a query API"
fi
grep -Eq "^ingest +lines/s" "$T/run.out" || fail "query did not ingest first: $(cat "$T/run.out")"
grep -q "^query .*FAILED: selector: GET .*HTTP 404" "$T/run.out" || fail "query 404 not reported: $(cat "$T/run.out")"

if FAKE_EXIT=3 BENCH_ONLY=ingest bash "$SRC/bench/run.sh" "$BUILD" >"$T/run.out" 2>"$T/run.err"; then
    fail "run.sh succeeded although the server exited"
fi
grep -q "^ingest .*FAILED: cairn serve did not start" "$T/run.out" || fail "dead server not reported: $(cat "$T/run.out")"
grep -q "exited with status 3" "$T/run.err" || fail "exit status not reported: $(cat "$T/run.err")"
grep -q "failing on purpose" "$T/run.err" || fail "server log not shown: $(cat "$T/run.err")"
# bench_query against a canned Loki: it URL-encodes the query, counts what the answer
# holds, and fails on an error answer.
cat >"$T/loki.py" <<'PY'
import http.server, json, sys, urllib.parse
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        if u.path != '/loki/api/v1/query_range' or self.headers.get('X-Scope-OrgID') != 'bench':
            self.send_response(404); self.end_headers(); return
        if q.get('query') == ['{job=~".+"} |= "needle"']:
            body = {'status': 'success', 'data': {'resultType': 'streams', 'result': [
                {'stream': {'a': 'b'}, 'values': [['1', 'x'], ['2', 'needle']]},
                {'stream': {'a': 'c'}, 'values': [['3', 'y']]}],
                'stats': {'summary': {'totalBytesProcessed': 12345}}}}
            code = 200
        else:
            body = {'status': 'error', 'error': 'parse error at line 1, col 1'}
            code = 400
        b = json.dumps(body).encode()
        self.send_response(code)
        self.send_header('Content-Length', str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(('127.0.0.1', 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
PY
python3 "$T/loki.py" >"$T/loki.port" &
LPID=$!
for i in $(seq 100); do [ -s "$T/loki.port" ] && break; sleep 0.05; done
LPORT=$(cat "$T/loki.port")
"$BUILD/bench_query" --url "http://127.0.0.1:$LPORT" --repeat 3 'query={job=~".+"} |= "needle"' \
    start=1 end=4 limit=1000 >"$T/q.out" || { kill "$LPID"; fail "bench_query: $(cat "$T/q.out")"; }
for want in status=200 ok=1 runs=3 result_type=streams results=2 values=3 server_bytes=12345; do
    grep -q "^BENCH_QUERY .*\b$want\b" "$T/q.out" || { kill "$LPID"; fail "bench_query: no $want in $(cat "$T/q.out")"; }
done
if "$BUILD/bench_query" --url "http://127.0.0.1:$LPORT" 'query={' >"$T/q.out"; then
    kill "$LPID"; fail "bench_query accepted an error answer"
fi
grep -q "HTTP 400: .*parse error at line 1" "$T/q.out" || { kill "$LPID"; fail "bench_query error: $(cat "$T/q.out")"; }
kill "$LPID"; wait "$LPID" 2>/dev/null || true

# The real server, once `cairn serve` is more than a placeholder: a small `make bench`
# ingest must push everything and report every row.
unset BENCH_CAIRN
if [ -n "${CAIRN_BIN:-}" ] && "$CAIRN_BIN" serve --help >/dev/null 2>&1; then
    BENCH_CAIRN=$CAIRN_BIN BENCH_ONLY=ingest bash "$SRC/bench/run.sh" "$BUILD" >"$T/run.out" 2>"$T/run.err" ||
        fail "run.sh against cairn serve: $(cat "$T/run.out"; tail -n 30 "$T/run.err")"
    for row in "ingest +lines/s " "ingest +server peak RSS MB" "ingest +disk bytes / raw bytes \(all\)"; do
        grep -Eq "^$row" "$T/run.out" || fail "cairn serve: no '$row' row in: $(cat "$T/run.out")"
    done
else
    echo "bench_push_test: cairn serve is not built yet; the real-server ingest was not run"
fi
echo "bench_push_test: ok"
