#!/usr/bin/env bash
# storedump_test.sh -- the e2e dump tool reads back a data directory written by the
# store (bench_store_ingest as the writer): every line is there, once, sorted.
set -euo pipefail
B=${CAIRN_BUILD:?}
dir=$(mktemp -d /tmp/cairn-storedump-XXXXXX)
trap 'rm -rf "$dir"' EXIT
out=$("$B/bench_store_ingest" --mb 2 --streams 50 --dir "$dir/data")
lines=$(echo "$out" | sed -n 's/^store_ingest: \([0-9]*\) lines.*/\1/p')
"$B/storedump_tool" "$dir/data" > "$dir/dump"
got=$(wc -l < "$dir/dump")
[ "$got" -eq "$lines" ] || { echo "dumped $got entries, wrote $lines"; exit 1; }
LC_ALL=C sort -c "$dir/dump"
[ "$(LC_ALL=C sort -u "$dir/dump" | wc -l)" -eq "$lines" ] || { echo "duplicates"; exit 1; }
# 50 streams, one tenant, 4 kinds of jobs
[ "$(cut -f2 "$dir/dump" | sort -u | wc -l)" -eq 50 ]
[ "$(cut -f1 "$dir/dump" | sort -u)" = "fake" ]
echo "ok: $got entries"
