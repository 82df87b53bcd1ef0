#!/usr/bin/env bash
# bench_gen_test.sh -- the benchmark corpus generator: same seed gives the same bytes,
# another seed other bytes; it makes the streams and bytes it is asked for; every line
# of every kind is well formed (Events and JSON logs parse as JSON, with the fields
# the benchmarks query); the corpus file agrees with the text output.
set -euo pipefail
BUILD=${CAIRN_BUILD:?CAIRN_BUILD must name the build directory}
GEN=$BUILD/bench_gen
T=$(mktemp -d "${TMPDIR:-/tmp}/bench-gen-test.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

START=1764547200000000000 # 2025-12-01T00:00:00Z

# Determinism: the corpus file and the text form, twice with one seed, once with another.
for emit in bin text; do
    "$GEN" -q --bytes 3M --streams 300 --seed 7 --emit "$emit" -o "$T/a.$emit"
    "$GEN" -q --bytes 3M --streams 300 --seed 7 --emit "$emit" -o "$T/b.$emit"
    "$GEN" -q --bytes 3M --streams 300 --seed 8 --emit "$emit" -o "$T/c.$emit"
    [ "$(sha "$T/a.$emit")" = "$(sha "$T/b.$emit")" ] || fail "$emit: same seed, different bytes"
    [ "$(sha "$T/a.$emit")" != "$(sha "$T/c.$emit")" ] || fail "$emit: different seeds, same bytes"
done
# stdout gives the same text as -o
"$GEN" -q --bytes 3M --streams 300 --seed 7 --emit text >"$T/stdout.text"
[ "$(sha "$T/a.text")" = "$(sha "$T/stdout.text")" ] || fail "text on stdout differs from -o"

# The default stream count over a corpus big enough for every stream to speak, all
# kinds; the analysis checks counts, sizes, order, and the shape of each kind.
"$GEN" -q --bytes 20M --streams 2000 --seed 3 --span 6h --start-ns "$START" \
    --emit text -o "$T/all.text"
"$GEN" -q --bytes 20M --streams 2000 --seed 3 --span 6h --start-ns "$START" -o "$T/all.bin"
"$GEN" -q --bytes 2M --streams 40 --seed 5 --kinds events --emit text -o "$T/events.text"
"$GEN" -q --bytes 1M --streams 30 --seed 5 --kinds json,logfmt --emit lines -o "$T/app.lines"
"$GEN" -q --bytes 1M --streams 30 --seed 5 --kinds json,logfmt --emit text -o "$T/app.text"
"$GEN" -q --bytes 1M --streams 50 --seed 5 --emit cri -o "$T/pods"

python3 - "$T" "$START" <<'EOF'
import json, os, re, struct, sys

tdir, start = sys.argv[1], int(sys.argv[2])
span = 6 * 3600 * 10**9
errors = []
def check(cond, msg):
    if not cond:
        errors.append(msg)

def read_text(path):
    rows = []
    with open(path, 'rb') as f:
        for raw in f:
            labels, ts, line = raw.rstrip(b'\n').split(b'\t', 2)
            rows.append((labels.decode(), int(ts), line))
    return rows

label_re = re.compile(r'^\{([a-z_]+="[^"\\]*")(, [a-z_]+="[^"\\]*")*\}$')

# --- all kinds, 2,000 streams, 20 MB ---
rows = read_text(os.path.join(tdir, 'all.text'))
streams = {r[0] for r in rows}
total = sum(len(r[2]) for r in rows)
check(1900 <= len(streams) <= 2000, f'{len(streams)} streams seen, asked 2000')
check(abs(total - 20_000_000) <= 1_000_000, f'{total} line bytes, asked 20M')
check(all(label_re.match(s) for s in streams), 'a label set is not in canonical form')
for s in streams:
    names = re.findall(r'([a-z_]+)="', s)
    check(names == sorted(names), f'labels not sorted: {s}')
prev = {}
last = start - 1
for labels, ts, line in rows:
    check(ts > last, f'timestamps not strictly increasing at {ts}')
    last = ts
    check(start <= ts < start + span, f'timestamp {ts} outside the span')
    check(b'\n' not in line and b'\t' not in line, 'a line holds a tab or newline')
kinds = {'events': 0, 'json': 0, 'logfmt': 0, 'access': 0}
for labels, ts, line in rows:
    if 'job="events"' in labels:
        kinds['events'] += 1
    elif line.startswith(b'{'):
        kinds['json'] += 1
        d = json.loads(line)
        for k in ('ts', 'level', 'msg', 'caller', 'request_id', 'user_id', 'duration_ms', 'status'):
            check(k in d, f'json log line without {k}: {line[:80]}')
        check(d['level'] in ('debug', 'info', 'warn', 'error'), f'bad level {d["level"]}')
    elif line.startswith(b'ts='):
        kinds['logfmt'] += 1
        check(re.match(rb'^ts=\S+ level=(debug|info|warn|error) caller=\S+ msg="[^"]*" ', line),
              f'bad logfmt line {line[:80]}')
    else:
        kinds['access'] += 1
        check(re.search(rb'"(GET|POST|PUT|DELETE) \S+ HTTP/1.1" \d{3} ', line),
              f'bad access line {line[:80]}')
for k, n in kinds.items():
    check(n > 100, f'only {n} {k} lines')

# the corpus file says the same as the text
with open(os.path.join(tdir, 'all.bin'), 'rb') as f:
    data = f.read()
check(data[:8] == b'CAIRNCB1', 'bad magic')
ver, nstreams, nentries, line_bytes, st, sp, mn, mx, seed, kmask = struct.unpack_from('<IIQQqqqqQI', data, 8)
check((ver, nstreams, nentries, line_bytes) == (1, 2000, len(rows), total),
      f'header {ver} {nstreams} {nentries} {line_bytes} vs text {len(rows)} {total}')
check((st, sp, mn, mx, seed, kmask) == (start, span, rows[0][1], rows[-1][1], 3, 15),
      'header times, seed or kinds wrong')
off = 80
names = []
for i in range(nstreams):
    (n,) = struct.unpack_from('<I', data, off)
    names.append(data[off + 4:off + 4 + n].decode())
    off += 4 + n
check(len(set(names)) == nstreams, 'two streams share a label set')
for i, (labels, ts, line) in enumerate(rows):
    s, n, t = struct.unpack_from('<IIq', data, off)
    check((names[s], t, data[off + 16:off + 16 + n]) == (labels, ts, line), f'entry {i} differs')
    off += 16 + n
    if errors:
        break
check(off == len(data), 'trailing bytes in the corpus file')

# --- events only: eventrouter's shape ---
reasons = {'Scheduled', 'Pulling', 'Pulled', 'Created', 'Started', 'Killing', 'BackOff',
           'Unhealthy', 'FailedScheduling', 'FailedMount', 'SuccessfulCreate',
           'SuccessfulDelete', 'ScalingReplicaSet', 'NodeNotReady', 'OOMKilling', 'Evicted',
           'SandboxChanged'}
rows = read_text(os.path.join(tdir, 'events.text'))
check(len({r[0] for r in rows}) >= 38, 'events: streams missing')
verbs = {}
for labels, ts, line in rows:
    d = json.loads(line)
    verbs[d['verb']] = verbs.get(d['verb'], 0) + 1
    ev = d['event']
    for k in ('metadata', 'involvedObject', 'reason', 'message', 'source', 'firstTimestamp',
              'lastTimestamp', 'count', 'type', 'eventTime', 'reportingComponent',
              'reportingInstance'):
        check(k in ev, f'event without {k}')
    for k in ('name', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp'):
        check(k in ev['metadata'], f'event metadata without {k}')
    for k in ('kind', 'name', 'uid', 'apiVersion'):
        check(k in ev['involvedObject'], f'involvedObject without {k}')
    check(ev['reason'] in reasons, f'unknown reason {ev["reason"]}')
    check(ev['type'] in ('Normal', 'Warning'), 'bad type')
    lab = dict(re.findall(r'([a-z_]+)="([^"]*)"', labels))
    check(lab.get('job') == 'events' and lab.get('reason') == ev['reason'] and
          lab.get('namespace') == ev['metadata']['namespace'] and
          lab.get('kind') == ev['involvedObject']['kind'] and lab.get('type') == ev['type'] and
          lab.get('source') == ev['source']['component'],
          f'stream labels disagree with the event: {labels}')
    if d['verb'] == 'UPDATED':
        old = d['old_event']
        check(old['metadata']['uid'] == ev['metadata']['uid'], 'UPDATED: old_event is another event')
        check(old['count'] + 1 == ev['count'], 'UPDATED: count did not grow by one')
        check(int(old['metadata']['resourceVersion']) < int(ev['metadata']['resourceVersion']),
              'UPDATED: resourceVersion did not grow')
    else:
        check(d['verb'] == 'ADDED' and ev['count'] == 1, 'ADDED with count != 1')
check(verbs.get('ADDED', 0) > 0 and verbs.get('UPDATED', 0) > 0, f'verbs {verbs}')
check(len({json.loads(r[2])['event']['reason'] for r in rows}) == len(reasons),
      'not every reason occurs')

# --- kinds filter and the bare-lines form ---
rows = read_text(os.path.join(tdir, 'app.text'))
with open(os.path.join(tdir, 'app.lines'), 'rb') as f:
    lines = f.read().split(b'\n')
check(lines[-1] == b'' and lines[:-1] == [r[2] for r in rows], '--emit lines differs from text')
check(all(r[2].startswith(b'{') or r[2].startswith(b'ts=') for r in rows),
      '--kinds json,logfmt let another kind through')

# --- CRI tree ---
logs = []
for root, dirs, files in os.walk(os.path.join(tdir, 'pods')):
    logs += [os.path.join(root, f) for f in files]
check(len(logs) >= 20, f'only {len(logs)} CRI files')
cri = re.compile(rb'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) F .+$')
for p in logs:
    rel = os.path.relpath(p, os.path.join(tdir, 'pods')).split(os.sep)
    check(len(rel) == 3 and rel[2] == '0.log' and rel[0].count('_') == 2, f'bad CRI path {rel}')
    with open(p, 'rb') as f:
        for raw in f:
            check(cri.match(raw.rstrip(b'\n')), f'bad CRI line in {p}')
            break
check(any('eventrouter' in p for p in logs), 'no eventrouter pod log')

if errors:
    for e in errors[:20]:
        print('FAIL:', e, file=sys.stderr)
    sys.exit(1)
EOF

# Plain per-container files hold the same lines as the text form.
"$GEN" -q --bytes 1M --streams 50 --seed 5 --emit files -o "$T/files"
"$GEN" -q --bytes 1M --streams 50 --seed 5 --emit text -o "$T/files.text"
[ -s "$T/files/eventrouter.log" ] || fail "--emit files: no eventrouter.log"
[ "$(cat "$T"/files/*.log | sort | sha256sum)" = "$(cut -f3- "$T/files.text" | sort | sha256sum)" ] ||
    fail "--emit files: lines differ from the text form"

# Bad options are refused with a message, not ignored.
if "$GEN" --bytes 1M --kinds bogus -o "$T/x" 2>"$T/err"; then fail "--kinds bogus accepted"; fi
grep -q "kinds" "$T/err" || fail "no message naming --kinds"
if "$GEN" --span 5x -o "$T/x" 2>"$T/err"; then fail "--span 5x accepted"; fi
echo "bench_gen_test: ok"
