#!/bin/sh
# install.sh -- apt-get install whatever deps/debian.txt lists and dpkg lacks.
set -eu
list="$(dirname "$0")/debian.txt"
missing=""
for p in $(grep -v '^#' "$list" | tr -s ' \n' ' '); do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends $missing
