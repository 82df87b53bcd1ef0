#!/bin/sh
# smoke.sh -- run every built fuzz target briefly over its seed corpus.
set -eu
build=$1
secs=${FUZZ_SECONDS:-20}
found=0
for t in "$build"/*_fuzz; do
    [ -x "$t" ] || continue
    found=1
    name=$(basename "$t")
    corpus="tests/fuzz/corpus/$name"
    work=$(mktemp -d)
    [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/ 2>/dev/null || true
    echo "fuzz: $name for ${secs}s"
    "$t" -max_total_time="$secs" -rss_limit_mb=2048 "$work" >"$work.log" 2>&1 || { tail -50 "$work.log"; exit 1; }
    tail -1 "$work.log"
    rm -rf "$work" "$work.log"
done
[ "$found" = 1 ] || echo "fuzz: no targets built"
