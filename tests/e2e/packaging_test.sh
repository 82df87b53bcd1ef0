#!/usr/bin/env bash
# packaging_test.sh -- what `make install` and `make deb` ship, from the cairn already
# built (nothing is rebuilt):
#  - cmake --install into a temporary DESTDIR (what `make install DESTDIR=...` runs) puts
#    bin/cairn, a man page per command, the bash and zsh completions and the examples
#    where they belong;
#  - the man pages lint clean (man --warnings, groff -ww) and name every option the
#    command's --help lists;
#  - the bash completion loads, and completes commands, options, enum values, files
#    and directories when called as readline would (COMP_WORDS); the zsh one completes
#    `cairn qu<TAB>` in a real zsh (zpty);
#  - the package (packaging/deb/build-deb.sh) has the right control fields, conffiles
#    and files, its Depends are what this machine has installed, and `dpkg -i` installs
#    it: into a scratch root (--instdir with its own --admindir, maintainer scripts run
#    chrootless, where DPKG_ROOT makes them touch nothing), so the test machine's own
#    dpkg database is never written; the installed /etc/cairn configs are accepted by
#    the installed binary; `dpkg -r` removes it and keeps the conffiles;
#  - systemd-analyze verify accepts the units (ExecStart pointed at the installed
#    binary, the man pages they cite found), skipped with a reason where it is absent.
set -euo pipefail
BIN=${CAIRN_BIN:?}
BUILD=${CAIRN_BUILD:?}
SRC=${CAIRN_SRC:?}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# ---- install layout ----
inst=$tmp/inst
DESTDIR=$inst cmake --install "$BUILD" --prefix /usr/local >/dev/null
p=$inst/usr/local
[ -x "$p/bin/cairn" ] || fail "no bin/cairn"
"$p/bin/cairn" version | grep -q '^cairn, version ' || fail "installed cairn does not run"
[ -f "$p/share/bash-completion/completions/cairn" ] || fail "no bash completion"
[ -f "$p/share/zsh/vendor-completions/_cairn" ] || fail "no zsh completion"
for f in "$SRC"/examples/*.yaml; do
    [ -f "$p/share/doc/cairn/examples/$(basename "$f")" ] || fail "example $f not installed"
done
# a page for each command whose --help is a usage text (help and version are in cairn(1))
commands=$("$BIN" help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
[ -n "$commands" ] || fail "no commands in cairn help"
[ -f "$p/share/man/man1/cairn.1" ] || fail "no cairn.1"
pages=0
for c in $commands; do
    if "$BIN" "$c" --help 2>/dev/null | sed -n 1p | grep -q "^usage: cairn $c"; then
        [ -f "$p/share/man/man1/cairn-$c.1" ] || fail "no man page for $c"
        pages=$((pages + 1))
    fi
done
[ "$pages" -ge 5 ] || fail "only $pages command pages"
echo "install: ok ($pages command pages)"

# ---- man pages ----
for page in "$p"/share/man/man1/*.1; do
    warn=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$page" 2>&1 >/dev/null)
    [ -z "$warn" ] || fail "man --warnings $(basename "$page"): $warn"
    warn=$(groff -ww -man -z "$page" 2>&1)
    [ -z "$warn" ] || fail "groff -ww $(basename "$page"): $warn"
    text=$(MANWIDTH=200 LC_ALL=C.UTF-8 man -l "$page" 2>/dev/null)
    for s in NAME SYNOPSIS DESCRIPTION "SEE ALSO"; do
        grep -q "^$s" <<<"$text" || fail "$(basename "$page") has no $s"
    done
done
for c in $commands; do
    page=$p/share/man/man1/cairn-$c.1
    [ -f "$page" ] || continue
    text=$(MANWIDTH=200 LC_ALL=C.UTF-8 man -l "$page" 2>/dev/null)
    grep -q '^OPTIONS' <<<"$text" || fail "cairn-$c.1 has no OPTIONS"
    # every option --help lists, by its first spelling
    while read -r opt; do
        grep -qF -- "$opt" <<<"$text" || fail "cairn-$c.1 lacks $opt"
    done < <("$BIN" "$c" --help | sed -n 's/^  \(-[^ ,]*\).*/\1/p')
done
serve=$(MANWIDTH=200 man -l "$p/share/man/man1/cairn-serve.1")
grep -q '^CONFIGURATION FILE' <<<"$serve" || fail "cairn-serve.1: no CONFIGURATION FILE"
grep -q 'storage.data_dir (string' <<<"$serve" || fail "cairn-serve.1: no storage.data_dir key"
query=$(MANWIDTH=200 man -l "$p/share/man/man1/cairn-query.1")
grep -A1 '^ *LOKI_ADDR$' <<<"$query" | grep -q 'default of --addr' ||
    fail "cairn-query.1: ENVIRONMENT lacks LOKI_ADDR"
echo "man pages: ok"

# ---- bash completion ----
comp=$p/share/bash-completion/completions/cairn
bash -c "source '$comp' && complete -p cairn" | grep -q -- '-F _cairn cairn' ||
    fail "bash completion does not register"
mkdir -p "$tmp/files/subdir"
touch "$tmp/files/conf.yaml"
complete_bash() { # WORD... (the last is the one being completed): prints the candidates
    bash -c 'source "$1"; shift
             COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
             _cairn cairn "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
             printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$comp" "$@"
}
expect() { # WANT WORD...
    local want=$1 got
    shift
    got=$(complete_bash "$@" | paste -sd' ')
    [ "$got" = "$want" ] || fail "bash: cairn ${*:2}<TAB>: got '$got', want '$want'"
}
expect "query" cairn qu
expect "serve ship" cairn help s
expect "--fields" cairn query --fie
expect "events.k8s.io events.k8s.io/v1" cairn events --api ev
expect "--api=events.k8s.io --api=events.k8s.io/v1" cairn events --api=ev
expect "events.k8s.io events.k8s.io/v1" cairn events --api = ev
expect "jsonl" cairn query -o j
expect "warn" cairn serve --log-level w
expect "-log.level=" cairn serve -log.l
expect "$tmp/files/subdir" cairn serve --data-dir "$tmp/files/"
expect "$tmp/files/conf.yaml $tmp/files/subdir" cairn ship --config "$tmp/files/"
expect "$tmp/files/subdir" cairn check "$tmp/files/"
expect "labels series" cairn query ""
expect "" cairn serve --listen ""
# every command's first option is offered after a dash
for c in $commands; do
    [ -f "$p/share/man/man1/cairn-$c.1" ] || continue
    complete_bash cairn "$c" - | grep -qx -- '--config' || fail "bash: cairn $c -<TAB> lacks --config"
done
echo "bash completion: ok"

# ---- zsh completion ----
zcomp=$p/share/zsh/vendor-completions/_cairn
head -1 "$zcomp" | grep -qx '#compdef cairn' || fail "_cairn: no #compdef line"
if command -v zsh >/dev/null; then
    zsh -n "$zcomp" || fail "_cairn: zsh syntax"
    # a real interactive zsh in a pseudo-terminal; print the line after <TAB>
    got=$(timeout 20 zsh -f -c '
        zmodload zsh/zpty
        zpty z "zsh -f -i"
        zpty -w z "PS1=\"%% \"; fpath=($1 \$fpath); autoload -Uz compinit; compinit -u -D; print READY"
        zpty -r z line "*READY*"
        for w in "cairn qu" "cairn events --api core" "cairn check --rep" "cairn serve --data-d" \
                 "cairn ship --no-dry" "cairn query -o js" "cairn help que"; do
            zpty -w -n z "$w"$'"'"'\t'"'"'
            zpty -w z $'"'"'\C-aprint -r -- GOT \C-e END'"'"'
            out=
            zpty -r z out "*END*GOT*END*" || { print timeout; exit 1 }
            print -r -- "${${${out##*GOT }%%END*}% #}"
        done
        zpty -d z' _ "$(dirname "$zcomp")" | tr -d '\r' | sed 's/ *$//') || fail "zsh: $got"
    want=$'cairn query\ncairn events --api core\ncairn check --repair\ncairn serve --data-dir'
    want+=$'\ncairn ship --no-dry-run\ncairn query -o jsonl\ncairn help query'
    [ "$got" = "$want" ] || fail "zsh completion: got '$got', want '$want'"
    echo "zsh completion: ok"
else
    echo "zsh completion: SKIPPED the zsh run: zsh is not installed (deps/debian.txt lists it)"
fi

# ---- the Debian package ----
deb=$(sh "$SRC/packaging/deb/build-deb.sh" "$BUILD" "$tmp/deb")
[ -f "$deb" ] || fail "no package built"
info=$(dpkg-deb -I "$deb")
for field in "Package: cairn" "Architecture: $(dpkg --print-architecture)" \
             "Version: $("$BIN" version | sed -n '1s/^cairn, version \([^ ]*\).*/\1/p')"; do
    grep -q "^ $field$" <<<"$info" || fail "control lacks '$field'"
done
depends=$(dpkg-deb -f "$deb" Depends)
grep -q 'libc6 (>= ' <<<"$depends" || fail "Depends without libc6: $depends"
# each dependency is a package this machine, which built and runs cairn, has installed
for dep in $(tr ',' '\n' <<<"$depends" | sed 's/(.*//; s/|.*//' | tr -d ' '); do
    dpkg-query -W -f='${Status}' "$dep" 2>/dev/null | grep -q 'install ok installed' ||
        fail "Depends names $dep, not installed here"
done
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles >"$tmp/conffiles"
[ "$(sort "$tmp/conffiles" | paste -sd' ')" = \
  "/etc/cairn/events.yaml /etc/cairn/serve.yaml /etc/cairn/ship.yaml" ] ||
    fail "conffiles: $(cat "$tmp/conffiles")"
listing=$(dpkg-deb -c "$deb")
files=$(awk '{print $6}' <<<"$listing")
for f in ./usr/bin/cairn ./usr/share/man/man1/cairn.1.gz ./usr/share/man/man1/cairn-serve.1.gz \
         ./usr/share/bash-completion/completions/cairn ./usr/share/zsh/vendor-completions/_cairn \
         ./usr/share/doc/cairn/examples/promtail.yaml ./etc/cairn/serve.yaml \
         ./lib/systemd/system/cairn-serve.service ./lib/systemd/system/cairn-ship.service \
         ./lib/systemd/system/cairn-events.service; do
    grep -qx -- "$f" <<<"$files" || fail "package lacks $f"
done
grep -q '^-rwxr-xr-x root/root .* \./usr/bin/cairn$' <<<"$listing" ||
    fail "usr/bin/cairn not root-owned 0755"

root=$tmp/root
admin=$tmp/admin
mkdir -p "$root" "$admin/info" "$admin/updates"
: >"$admin/status"
dpkgx() { dpkg --instdir="$root" --admindir="$admin" --force-not-root --force-script-chrootless \
               --log=/dev/null "$@"; }
# --force-depends: the scratch database knows none of the libraries (checked above)
dpkgx --force-depends -i "$deb" >"$tmp/dpkg.out" 2>&1 || { cat "$tmp/dpkg.out"; fail "dpkg -i"; }
dpkg-query --admindir="$admin" -W -f='${Status}' cairn | grep -qx 'install ok installed' ||
    fail "dpkg -i: not installed"
"$root/usr/bin/cairn" version | grep -q '^cairn, version ' || fail "the packaged binary does not run"
"$root/usr/bin/cairn" serve -config.file="$root/etc/cairn/serve.yaml" --print-config |
    grep -q 'data_dir: /var/lib/cairn/data' || fail "/etc/cairn/serve.yaml refused"
[ "$("$root/usr/bin/cairn" ship --config "$root/etc/cairn/ship.yaml" --check-syntax)" = \
  "Valid config file! No syntax issues found" ] || fail "/etc/cairn/ship.yaml refused"
"$root/usr/bin/cairn" events --config "$root/etc/cairn/events.yaml" --print-config |
    grep -q '^state_file: /var/lib/cairn/events.state' || fail "/etc/cairn/events.yaml refused"
echo "deb: ok ($(basename "$deb"), $(tr "," "\n" <<<"$depends" | wc -l) dependencies)"

# ---- systemd units ----
units=$root/lib/systemd/system
for u in serve ship events; do
    f=$units/cairn-$u.service
    for d in DynamicUser=yes StateDirectory=cairn ProtectSystem=strict ProtectHome=yes \
             PrivateTmp=yes NoNewPrivileges=yes ProtectKernelTunables=yes \
             ProtectKernelModules=yes ProtectKernelLogs=yes SystemCallFilter=@system-service \
             CapabilityBoundingSet= RestrictAddressFamilies=; do
        grep -q "^$d" "$f" || fail "cairn-$u.service lacks $d"
    done
done
grep -q '^LimitNOFILE=' "$units/cairn-serve.service" || fail "serve: no LimitNOFILE"
grep -q '^SupplementaryGroups=adm systemd-journal' "$units/cairn-ship.service" ||
    fail "ship: not in adm/systemd-journal"
grep -q '^LoadCredential=kubeconfig:/etc/cairn/kubeconfig' "$units/cairn-events.service" ||
    fail "events: no kubeconfig from /etc/cairn"
if command -v systemd-analyze >/dev/null; then
    mkdir -p "$tmp/units" "$tmp/man"
    ln -s "$root/usr/share/man/man1" "$tmp/man/man1"
    for f in "$units"/*.service; do
        sed "s|/usr/bin/cairn|$root/usr/bin/cairn|" "$f" >"$tmp/units/$(basename "$f")"
    done
    out=$(MANPATH=$tmp/man systemd-analyze verify --man=yes "$tmp"/units/*.service 2>&1) ||
        fail "systemd-analyze verify: $out"
    [ -z "$out" ] || fail "systemd-analyze verify: $out"
    echo "systemd units: ok (systemd-analyze verify)"
else
    echo "systemd units: SKIPPED systemd-analyze verify: systemd-analyze is not installed"
fi

dpkgx -r cairn >"$tmp/dpkg.out" 2>&1 || { cat "$tmp/dpkg.out"; fail "dpkg -r"; }
[ ! -e "$root/usr/bin/cairn" ] || fail "dpkg -r left usr/bin/cairn"
[ -f "$root/etc/cairn/serve.yaml" ] || fail "dpkg -r removed a conffile"
echo ok
