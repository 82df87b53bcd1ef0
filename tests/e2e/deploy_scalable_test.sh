#!/usr/bin/env bash
# deploy_scalable_test.sh -- deploy/kubernetes/scalable: the shared config in the
# ConfigMap loads for each target with the pods' environment expanded
# (-config.expand-env), and kustomize builds the three targets (kubectl's kustomize, no
# cluster needed; skipped without kubectl).
set -euo pipefail
BIN=${CAIRN_BIN:?}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
DIR=$SRC/deploy/kubernetes/scalable
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

python3 - "$DIR/config.yaml" >"$tmp/cairn.yaml" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
i = lines.index("  cairn.yaml: |") + 1
out = []
while i < len(lines) and (lines[i].startswith("    ") or lines[i] == ""):
    out.append(lines[i][4:])
    i += 1
print("\n".join(out))
PY
for t in write read backend; do
    out=$(POD_NAME=cairn-$t-0 POD_IP=10.1.2.3 CAIRN_CLUSTER_SECRET=s \
        "$BIN" serve -target=$t -config.file="$tmp/cairn.yaml" -config.expand-env=true --print-config)
    for k in "target: $t" "instance_id: cairn-$t-0" "instance_addr: \"10.1.2.3:3100\"" \
             "store: etcd" "replication_factor: 3"; do
        grep -qF "$k" <<<"$out" || { echo "$t: missing '$k' in:"; echo "$out"; exit 1; }
    done
done
for f in write read backend; do
    grep -q -- "-target=$f" "$DIR/$f.yaml" || { echo "$f.yaml does not run -target=$f"; exit 1; }
done
if command -v kubectl >/dev/null; then
    kubectl kustomize "$DIR" >"$tmp/all.yaml"
    for k in "name: cairn-write" "name: cairn-read" "name: cairn-backend" "kind: Deployment" \
             "volumeClaimTemplates" "secretKeyRef"; do
        grep -q "$k" "$tmp/all.yaml" || { echo "missing: $k"; exit 1; }
    done
else
    echo "note: kubectl not installed, kustomize build skipped"
fi
echo ok
