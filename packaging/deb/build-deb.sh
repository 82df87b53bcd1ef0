#!/bin/sh
# build-deb.sh -- `make deb`: a Debian package of the cairn already built in BUILD_DIR
# (nothing is rebuilt), written to OUT_DIR (default BUILD_DIR):
#   packaging/deb/build-deb.sh BUILD_DIR [OUT_DIR]
# Contents: what `cmake --install --prefix /usr --strip` puts in (usr/bin/cairn, the
# man pages gzipped, bash and zsh completions, examples and docs), /etc/cairn/*.yaml
# as conffiles (packaging/deb/etc/), the systemd units (packaging/systemd/) in
# /lib/systemd/system, and maintainer scripts that only reload systemd (postinst,
# prerm, postrm). Depends comes from dpkg-shlibdeps; the version from `cairn version`.
# $DEB_MAINTAINER sets the Maintainer field. Prints the package's path.
set -eu
build=$(cd "$1" && pwd)
out=$(mkdir -p "${2:-$1}" && cd "${2:-$1}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)

version=$("$build/cairn" version | sed -n '1s/^cairn, version \([^ ]*\).*/\1/p')
[ -n "$version" ] || { echo "build-deb: cannot read the version from $build/cairn" >&2; exit 1; }
arch=$(dpkg --print-architecture)
name=cairn_${version}_$arch
work=$out/deb-work
root=$work/$name
rm -rf "$work"
mkdir -p "$root/DEBIAN"

DESTDIR=$root cmake --install "$build" --prefix /usr --strip >/dev/null
find "$root/usr/share/man" -type f -name '*.1' -exec gzip -9n {} +

install -d -m 0755 "$root/etc/cairn" "$root/lib/systemd/system"
for f in serve ship events; do
    install -m 0644 "$here/etc/$f.yaml" "$root/etc/cairn/$f.yaml"
    echo "/etc/cairn/$f.yaml" >>"$root/DEBIAN/conffiles"
done
install -m 0644 "$src"/packaging/systemd/*.service "$root/lib/systemd/system/"
for s in postinst prerm postrm; do
    install -m 0755 "$here/$s" "$root/DEBIAN/$s"
done

# dpkg-shlibdeps reads debian/control from the current folder: a minimal one
mkdir -p "$work/shlibs/debian"
printf 'Source: cairn\n\nPackage: cairn\nArchitecture: any\n' >"$work/shlibs/debian/control"
depends=$(cd "$work/shlibs" && dpkg-shlibdeps -O -e"$root/usr/bin/cairn" 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@SIZE@|$size|" \
    -e "s|@DEPENDS@|$depends|" \
    -e "s|@MAINTAINER@|${DEB_MAINTAINER:-cairn maintainers <root@localhost>}|" \
    "$here/control.in" >"$root/DEBIAN/control"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print0 | sort -z |
    xargs -0 md5sum | sed 's|  \./|  |') >"$root/DEBIAN/md5sums"

dpkg-deb --root-owner-group -Zxz --build "$root" "$out/$name.deb" >/dev/null
rm -rf "$work"
echo "$out/$name.deb"
