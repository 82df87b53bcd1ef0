#!/bin/sh
# local-run.sh -- what `make run` starts: `cairn serve` on LISTEN with its data in
# DATA_DIR and, when a Kubernetes cluster is configured (in-cluster, $KUBECONFIG or
# ~/.kube/config), `cairn events` pushing that cluster's Events into it: cairn's main
# job on the local store. Ctrl-C stops both.
#   deploy/local-run.sh BUILD_DIR LISTEN DATA_DIR
set -eu
bin=$1/cairn
listen=$2
data=$3
mkdir -p "$data"
echo "cairn serve: web UI at http://$listen/, push to http://$listen/loki/api/v1/push," \
     "point Grafana's Loki data source at http://$listen, data in $data"
"$bin" serve --listen "$listen" --data-dir "$data" &
serve=$!
events=""
trap 'kill $serve $events 2>/dev/null || true' INT TERM
if [ -n "${KUBERNETES_SERVICE_HOST:-}" ] || [ -n "${KUBECONFIG:-}" ] || [ -f "$HOME/.kube/config" ]; then
    # the router pushes once the store answers (it would retry anyway, noisily)
    i=0
    until curl -sf "http://$listen/ready" >/dev/null 2>&1; do
        i=$((i + 1))
        if [ $i -gt 300 ] || ! kill -0 $serve 2>/dev/null; then break; fi
        sleep 0.1
    done
    echo "cairn events: this cluster's Events go into the store (labels namespace, kind, reason, type, ...)"
    "$bin" events --output push --push-url "http://$listen/loki/api/v1/push" \
        --state-file "$data/events.state" &
    events=$!
else
    echo "cairn events: no Kubernetes cluster configured (\$KUBECONFIG, ~/.kube/config), so only" \
         "the store runs; start the router with:" \
         "$bin events --output push --push-url http://$listen/loki/api/v1/push"
fi
rc=0
wait $serve || rc=$?
[ -z "$events" ] || { kill $events 2>/dev/null || true; wait $events 2>/dev/null || true; }
exit $rc
