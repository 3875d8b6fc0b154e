#!/bin/sh
# make deb: builds the Debian packages (vmrd, vmrd-host, vmrctl,
# libvmrd-dev) with dpkg-buildpackage and checks them with lintian.
# The build runs in a copy of the working tree (tracked and new files, not
# ignored ones), so the tree itself is not touched and uncommitted changes
# are packaged as they are.  The packages, the build log and lintian's
# report end up in OUT.
# Usage: scripts/deb.sh [OUT]     (default build/deb)
set -eu
srcdir=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-build/deb}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# debian/changelog and meson.build must name the same version.
meson_version=$(sed -n "s/^  version: '\([^']*\)',\$/\1/p" "$srcdir/meson.build")
deb_version=$(dpkg-parsechangelog -l "$srcdir/debian/changelog" -S Version)
if [ "$meson_version" != "$deb_version" ]; then
	echo "deb: debian/changelog says $deb_version, meson.build $meson_version" >&2
	exit 1
fi

rm -rf "$out/src" "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo
mkdir "$out/src"
git -C "$srcdir" ls-files -z --cached --others --exclude-standard >"$out/files"
# A tracked file deleted in the working tree is not an error: it is gone.
(cd "$srcdir" && tar --null --ignore-failed-read -T "$out/files" -cf - 2>/dev/null) |
	tar -xf - -C "$out/src"
rm "$out/files"

echo "deb: dpkg-buildpackage -b -us -uc (log: $out/build.log)"
if ! (cd "$out/src" && dpkg-buildpackage -b -us -uc) >"$out/build.log" 2>&1; then
	tail -n 30 "$out/build.log" >&2
	echo "deb: the package build failed; full log: $out/build.log" >&2
	exit 1
fi
rm -rf "$out/src"

# Errors and warnings fail; overrides, if ever needed, live in
# debian/*.lintian-overrides with the reason next to them.
changes=$(ls "$out"/vmrd_*.changes)
if ! lintian --fail-on error,warning --display-info "$changes" >"$out/lintian.log" 2>&1; then
	cat "$out/lintian.log" >&2
	echo "deb: lintian found errors or warnings (above)" >&2
	exit 1
fi
grep -E '^[EWI]:' "$out/lintian.log" || true
echo "deb: lintian: no errors or warnings"
for f in "$out"/*.deb; do
	echo "deb: $f"
done
