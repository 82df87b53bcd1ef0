#!/usr/bin/env bash
# deploy_kustomize_test.sh -- deploy/kubernetes builds with kustomize (kubectl's, no
# cluster needed) into the pieces the issue names (the ship DaemonSet with its RBAC and
# config, the serve StatefulSet, the event router), and the agent's configuration in
# the ConfigMap (the Promtail Helm chart's default) passes `cairn ship --check-syntax`.
# kustomize is skipped without kubectl.
set -euo pipefail
BIN=${CAIRN_BIN:?}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# the ConfigMap's promtail.yaml: the block scalar under `promtail.yaml: |`, dedented
python3 - "$SRC/deploy/kubernetes/ship.yaml" >"$tmp/promtail.yaml" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
i = lines.index("  promtail.yaml: |") + 1
out = []
while i < len(lines) and (lines[i].startswith("    ") or lines[i] == ""):
    out.append(lines[i][4:])
    i += 1
print("\n".join(out))
PY
grep -q "kubernetes_sd_configs" "$tmp/promtail.yaml"
out=$("$BIN" ship --config "$tmp/promtail.yaml" --check-syntax)
[ "$out" = "Valid config file! No syntax issues found" ] || { echo "check-syntax: $out"; exit 1; }

if command -v kubectl >/dev/null; then
    kubectl kustomize "$SRC/deploy/kubernetes" >"$tmp/all.yaml"
    for k in "kind: DaemonSet" "kind: StatefulSet" "kind: Deployment" "kind: ConfigMap" \
             "name: cairn-ship" "fieldPath: spec.nodeName" "path: /var/log/pods"; do
        grep -q "$k" "$tmp/all.yaml" || { echo "missing: $k"; exit 1; }
    done
    # the agent may list and watch pods and nodes
    grep -A3 'resources: \["pods", "nodes"\]' "$SRC/deploy/kubernetes/ship.yaml" |
        grep -q 'verbs: \["get", "list", "watch"\]'
else
    echo "note: kubectl not installed, kustomize build skipped"
fi
echo ok
