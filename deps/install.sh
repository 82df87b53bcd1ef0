#!/bin/sh
# install.sh -- apt-get install whatever deps/debian.txt lists and dpkg lacks.
set -eu
list="$(dirname "$0")/debian.txt"
missing=""
# An entry "a|b" is satisfied by either package (installs a when neither is there).
for entry in $(grep -v '^#' "$list" | tr -s ' \n' ' '); do
    ok=""
    for p in $(echo "$entry" | tr '|' ' '); do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' && ok=1
    done
    [ -n "$ok" ] || missing="$missing ${entry%%|*}"
done
# npm (the web UI's browser test): Debian's package unless an npm command is there
# (NodeSource's nodejs has its own, and conflicts with Debian's npm package).
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends $missing
