#!/bin/sh
# build-plugin.sh -- build the cairn Docker logging plugin and register it with the
# local docker: the rootfs from deploy/docker/Dockerfile, exported next to config.json,
# then `docker plugin create`. Run from anywhere; needs docker and root (or the docker
# group). usage: deploy/docker/build-plugin.sh [PLUGIN_NAME]   (default cairn/docker-driver:latest)
# Then: docker plugin enable NAME; docker run --log-driver NAME --log-opt loki-url=... IMAGE
set -eu
name=${1:-cairn/docker-driver:latest}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"; docker rm -f cairn-plugin-rootfs >/dev/null 2>&1 || true' EXIT

docker build -f "$here/Dockerfile" -t cairn-docker-driver-rootfs "$root"
mkdir -p "$work/plugin/rootfs"
docker create --name cairn-plugin-rootfs cairn-docker-driver-rootfs >/dev/null
docker export cairn-plugin-rootfs | tar -x -C "$work/plugin/rootfs"
cp "$here/config.json" "$work/plugin/config.json"
docker plugin rm -f "$name" >/dev/null 2>&1 || true
docker plugin create "$name" "$work/plugin"
echo "created $name: docker plugin enable $name"
