#!/usr/bin/env bash
# examples_test.sh -- every config in examples/ is valid as shipped: agent configs pass
# `cairn ship --check-syntax`, serve configs `cairn serve --print-config` (which refuses
# unknown keys and bad values); the eventrouter pipeline labels events by namespace; the
# README links each example.
set -euo pipefail
BIN=${CAIRN_BIN:?}
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0
for f in "$root"/examples/*.yaml; do
    if grep -q '^scrape_configs:' "$f"; then
        out=$("$BIN" ship --config "$f" --check-syntax)
        [ "$out" = "Valid config file! No syntax issues found" ] || { echo "$f: $out"; exit 1; }
    elif grep -q '^watch:' "$f"; then
        "$BIN" events --config "$f" --print-config >"$tmp/printed.yaml" ||
            { echo "$f: refused"; exit 1; }
        grep -q '^output: push' "$tmp/printed.yaml" || { echo "$f: not applied"; exit 1; }
    else
        "$BIN" serve -config.file="$f" --print-config >"$tmp/printed.yaml" ||
            { echo "$f: refused"; exit 1; }
        grep -q 'retention_period: 744h' "$tmp/printed.yaml" || { echo "$f: not applied"; exit 1; }
    fi
    grep -q "examples/$(basename "$f")" "$root/README.md" || { echo "README misses $f"; exit 1; }
    n=$((n + 1))
done
[ "$n" -ge 4 ] || { echo "only $n examples"; exit 1; }

# The eventrouter example's pipeline, over stdin, printed instead of pushed (the agent's
# own HTTP port off so parallel tests do not collide on 9080).
sed 's/^  http_listen_port: 9080$/  disable: true/' "$root/examples/eventrouter.yaml" >"$tmp/er.yaml"
printf '%s\n' '{"verb":"ADDED","event":{"metadata":{"namespace":"payments"},"reason":"BackOff"}}' |
    "$BIN" ship --config "$tmp/er.yaml" --stdin --dry-run --label name=eventrouter |
    cut -f2 >"$tmp/labels.txt"
[ "$(cat "$tmp/labels.txt")" = '{name="eventrouter", namespace="payments"}' ] ||
    { cat "$tmp/labels.txt"; exit 1; }
# the DaemonSet runs the same config as examples/kubernetes-pods.yaml (no drift)
python3 - "$root" <<'PY'
import sys
root = sys.argv[1]
src = open(root + "/deploy/kubernetes/ship.yaml").read()
a = src.index("  promtail.yaml: |\n") + len("  promtail.yaml: |\n")
b = src.index("\n---\n", a)
cm = [l[4:] for l in src[a:b].split("\n")]
ex = [l for l in open(root + "/examples/kubernetes-pods.yaml").read().rstrip("\n").split("\n")
      if not l.startswith("# ") and l != "#"]
cm = [l for l in cm]
while cm and not cm[-1]:
    cm.pop()
if cm != ex:
    sys.exit("examples/kubernetes-pods.yaml differs from deploy/kubernetes/ship.yaml's config")
PY
echo ok
