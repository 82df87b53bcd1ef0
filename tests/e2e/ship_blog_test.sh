#!/usr/bin/env bash
# ship_blog_test.sh -- the blog case exactly as the issue writes it: eventrouter lines
# get a namespace label from event.metadata.namespace (--dry-run output over stdin and
# over a tailed file), and a Promtail config passes --check-syntax; config mistakes
# name the key and the line.
set -euo pipefail
BIN=${CAIRN_BIN:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/promtail.yaml" <<EOF
server:
  disable: true
positions:
  filename: $tmp/positions.yaml
clients:
  - url: http://127.0.0.1:9/loki/api/v1/push
scrape_configs:
  - job_name: eventrouter
    pipeline_stages:
    - match:
        selector: '{name="eventrouter"}'
        stages:
        - json:
            expressions:
              namespace: event.metadata.namespace
        - labels:
            namespace: ""
    static_configs:
    - targets: [localhost]
      labels:
        name: eventrouter
        __path__: $tmp/events.log
EOF

cat >"$tmp/events.log" <<'EOF'
{"verb":"ADDED","event":{"metadata":{"name":"grafana-7d9.17a","namespace":"grafana-com"},"reason":"Scheduled"}}
{"verb":"UPDATED","event":{"metadata":{"name":"coredns.1","namespace":"kube-system"},"reason":"Pulled"}}
{"verb":"ADDED","event":{"metadata":{"name":"nameless"},"reason":"NoNamespace"}}
EOF

out=$("$BIN" ship --config "$tmp/promtail.yaml" --check-syntax)
[ "$out" = "Valid config file! No syntax issues found" ] || { echo "check-syntax: $out"; exit 1; }

# stdin through the first scrape config's stages with its static labels (as Promtail's
# stdin target: __path__ is not needed and not sent), printed instead of pushed
"$BIN" ship -config.file="$tmp/promtail.yaml" --stdin --dry-run \
    <"$tmp/events.log" | cut -f2 >"$tmp/labels.txt"
cat >"$tmp/want.txt" <<'EOF'
{name="eventrouter", namespace="grafana-com"}
{name="eventrouter", namespace="kube-system"}
{name="eventrouter"}
EOF
diff -u "$tmp/want.txt" "$tmp/labels.txt"

# lines of other streams keep their labels
"$BIN" ship --config "$tmp/promtail.yaml" --stdin --dry-run --label name=other \
    <"$tmp/events.log" | cut -f2 | sort -u >"$tmp/other.txt"
[ "$(cat "$tmp/other.txt")" = '{name="other"}' ] || { cat "$tmp/other.txt"; exit 1; }

# the tailed file, as the agent runs it: wait for three lines, then stop it
"$BIN" ship --config "$tmp/promtail.yaml" --dry-run --log-level warn >"$tmp/tail.txt" &
pid=$!
for _ in $(seq 1 200); do
    [ "$(wc -l <"$tmp/tail.txt")" -ge 3 ] && break
    sleep 0.05
done
kill -TERM $pid
wait $pid
grep -c 'namespace="grafana-com"' "$tmp/tail.txt" | grep -qx 1
grep -F "filename=\"$tmp/events.log\", name=\"eventrouter\", namespace=\"kube-system\"}" \
    "$tmp/tail.txt" >/dev/null
[ "$(cut -f3 "$tmp/tail.txt" | head -1)" = "$(head -1 "$tmp/events.log")" ]

# a mistyped key is an error naming the key and its line
printf 'clients:\n  - url: http://x\n    batchwiat: 1s\n' >"$tmp/bad.yaml"
if "$BIN" ship --config "$tmp/bad.yaml" --check-syntax 2>"$tmp/err.txt"; then
    echo "bad config accepted"; exit 1
fi
grep -q "bad.yaml:3:5: unknown key 'clients\[0\].batchwiat'" "$tmp/err.txt" || { cat "$tmp/err.txt"; exit 1; }
echo ok
