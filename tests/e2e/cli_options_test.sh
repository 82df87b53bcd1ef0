#!/usr/bin/env bash
# cli_options_test.sh -- every subcommand reads its options through the one loader, so
# they take the same forms (--x v, --x=v, -x v) and fail the same way: "cairn CMD:
# unknown option '--x'" with a "did you mean" when one is close, exit 2, no silent
# prefix matching; a bad value names the option and the value. `cairn help CMD`,
# `cairn version` and a mistyped command name.
set -euo pipefail
BIN=${CAIRN_BIN:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: $*"; exit 1; }

# expect RC WANT-IN-STDERR -- ARGS...
expect() {
    local want_rc=$1 want=$2
    shift 3
    set +e
    "$BIN" "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    set -e
    [ "$rc" -eq "$want_rc" ] || fail "cairn $*: exit $rc, want $want_rc: $(cat "$tmp/err")"
    grep -qF -- "$want" "$tmp/err" || fail "cairn $*: stderr lacks [$want]: $(cat "$tmp/err")"
}

for cmd in serve ship events query check; do
    expect 2 "cairn $cmd: unknown option '--bogus' (see --help)" -- $cmd --bogus
    expect 2 "cairn $cmd: unknown option '--bogus'" -- $cmd --bogus=1
    "$BIN" $cmd --help >"$tmp/help" || fail "$cmd --help"
    head -1 "$tmp/help" | grep -q "^usage: cairn $cmd" || fail "$cmd --help: $(head -1 "$tmp/help")"
    "$BIN" help $cmd >"$tmp/help2" || fail "help $cmd"
    cmp -s "$tmp/help" "$tmp/help2" || fail "cairn help $cmd differs from $cmd --help"
done

# a close option is suggested, on every command
expect 2 "unknown option '--lisen' (did you mean --listen?)" -- serve --lisen 127.0.0.1:0
expect 2 "unknown option '--dry-rn' (did you mean --dry-run?)" -- ship --dry-rn
expect 2 "unknown option '--namespce' (did you mean --namespace?)" -- events --namespce x
expect 2 "unknown option '--sinc' (did you mean --since?)" -- query --sinc 1h '{a="b"}'
expect 2 "unknown option '--reapir' (did you mean --repair?)" -- check --reapir "$tmp"
# no prefix matching: getopt would take --sinc for --since, --lim for --limit
expect 2 "unknown option '--lim'" -- query --lim 5 '{a="b"}'
expect 2 "unknown option '--kind-of'" -- events --kind-of Pod

# bad values name the option and the value, in both forms
expect 2 "option --limit: 'x' is not an integer" -- query --limit x '{a="b"}'
expect 2 "option --limit: 'x' is not an integer" -- query --limit=x '{a="b"}'
expect 2 "option --since: 'soon' is not a duration" -- query --since soon '{a="b"}'
expect 2 "option -o: 'yaml' is not one of default, raw, jsonl" -- query -o yaml '{a="b"}'
expect 2 "option --api: 'batch' is not one of" -- events --api batch
expect 2 "output: push needs push.url" -- events --output=push

# the same option in its forms; Loki's single-dash dotted aliases
"$BIN" serve --print-config --data-dir "$tmp/a" | grep -q "$tmp/a" || fail "--data-dir v"
"$BIN" serve --print-config --data-dir="$tmp/b" | grep -q "$tmp/b" || fail "--data-dir=v"
"$BIN" serve --print-config -data-dir "$tmp/c" | grep -q "$tmp/c" || fail "-data-dir v"
"$BIN" serve --print-config -server.http-listen-port=3999 | grep -q "http_listen_port: 3999" ||
    fail "-server.http-listen-port="
"$BIN" events --print-config --namespace a --namespace=b | grep -A2 "namespaces:" | grep -q '\- b' ||
    fail "events repeatable --namespace"
"$BIN" events --print-config -log.level=debug | grep -q "log_level: debug" || fail "-log.level="

# missing or extra words
expect 2 "a LogQL query, 'labels' or 'series' is required" -- query
expect 2 "unexpected argument" -- query '{a="b"}' '{c="d"}'
expect 2 "a DATA_DIR is required" -- check
expect 2 "unexpected argument 'x'" -- events x

# the binary's own words
"$BIN" version | grep -qE '^cairn, version [0-9]+\.[0-9]+\.[0-9]+ \(commit: ([0-9a-f]+|unknown)\)' ||
    fail "version: $("$BIN" version)"
"$BIN" --version | grep -q '^cairn, version' || fail "--version"
expect 2 "unknown command 'serv' (did you mean serve?)" -- serv
expect 2 "unknown command 'frobnicate'" -- frobnicate
expect 2 "unknown command 'nope'" -- help nope
"$BIN" help | grep -q "^  query" || fail "help lists commands"
echo ok
