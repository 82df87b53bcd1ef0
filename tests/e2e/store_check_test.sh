#!/usr/bin/env bash
# store_check_test.sh -- `cairn check` on a data directory written by the store
# (bench_store_ingest as the writer): clean exits 0; a flipped byte in a segment file
# exits 1 naming the file; --repair is refused (exit 2) while the directory is locked,
# then mends it (exit 0) and a second check is clean; every entry outside the damaged
# block is still there.
set -euo pipefail
B=${CAIRN_BUILD:?}
CAIRN=${CAIRN_BIN:?}
dir=$(mktemp -d /tmp/cairn-check-XXXXXX)
trap 'rm -rf "$dir"' EXIT
"$B/bench_store_ingest" --mb 2 --streams 20 --dir "$dir/data" >/dev/null
"$B/storedump_tool" "$dir/data" > "$dir/before"
"$CAIRN" check "$dir/data" > "$dir/out" || { cat "$dir/out"; echo "clean store: check failed"; exit 1; }
grep -q ": 0 damaged" "$dir/out"
seg=$(find "$dir/data/tenants" -name 'seg-*.cseg' | sort | head -1)
size=$(stat -c %s "$seg")
# flip one byte in the middle of the file
python3 - "$seg" "$size" <<'PY'
import sys
path, size = sys.argv[1], int(sys.argv[2])
with open(path, 'r+b') as f:
    f.seek(size // 2)
    b = f.read(1)
    f.seek(size // 2)
    f.write(bytes([b[0] ^ 0x5a]))
PY
set +e
"$CAIRN" check "$dir/data" > "$dir/out"; rc=$?
set -e
[ "$rc" -eq 1 ] || { cat "$dir/out"; echo "damaged store: check exited $rc, want 1"; exit 1; }
grep -q "^DAMAGED: $seg" "$dir/out" || { cat "$dir/out"; echo "damage not reported"; exit 1; }
# repair refused while another process holds the directory
set +e
flock "$dir/data/cairn.lock" "$CAIRN" check --repair "$dir/data" > "$dir/out" 2>&1; rc=$?
set -e
[ "$rc" -eq 2 ] || { cat "$dir/out"; echo "repair under lock exited $rc, want 2"; exit 1; }
"$CAIRN" check --repair "$dir/data" > "$dir/out" || { cat "$dir/out"; echo "repair failed"; exit 1; }
grep -q "^repaired: $seg" "$dir/out"
"$CAIRN" check "$dir/data" > "$dir/out" || { cat "$dir/out"; echo "not clean after repair"; exit 1; }
ls "$dir/data/quarantine" | grep -q "seg-" # the original is kept
"$B/storedump_tool" "$dir/data" > "$dir/after"
before=$(wc -l < "$dir/before")
after=$(wc -l < "$dir/after")
# what is left is what was there, minus one block (at most a few hundred entries)
[ "$(comm -13 "$dir/before" "$dir/after" | wc -l)" -eq 0 ] || { echo "entries appeared"; exit 1; }
[ "$after" -lt "$before" ] && [ $((before - after)) -lt 2000 ] || { echo "before $before after $after"; exit 1; }
echo "ok: $before entries, $((before - after)) lost with the damaged block"
