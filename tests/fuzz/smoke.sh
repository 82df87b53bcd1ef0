#!/bin/sh
# smoke.sh -- run every built fuzz target briefly over its seed corpus. The seed and
# the run count are fixed so CI is repeatable (a finding fails every run, not one in
# ten); long fuzzing is a developer's job: FUZZ_RUNS=-1 FUZZ_SECONDS=600 sh smoke.sh DIR
set -eu
build=$1
secs=${FUZZ_SECONDS:-30}
runs=${FUZZ_RUNS:-200000}
seed=${FUZZ_SEED:-1}
found=0
for t in "$build"/*_fuzz; do
    [ -x "$t" ] || continue
    found=1
    name=$(basename "$t")
    corpus="tests/fuzz/corpus/$name"
    work=$(mktemp -d)
    [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/ 2>/dev/null || true
    echo "fuzz: $name: seed $seed, $runs runs, at most ${secs}s"
    "$t" -seed="$seed" -runs="$runs" -max_total_time="$secs" -rss_limit_mb=2048 "$work" >"$work.log" 2>&1 || { tail -50 "$work.log"; exit 1; }
    tail -1 "$work.log"
    rm -rf "$work" "$work.log"
done
[ "$found" = 1 ] || echo "fuzz: no targets built"
