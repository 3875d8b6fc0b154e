#!/bin/sh
# make demo: builds the guest image with the current vmrd, then boots one
# VM with vmrd and vmrd-host and shows a memory burst and its return live
# (scripts/demo.py).  The Makefile has already run deps and the build.
# Usage: scripts/demo.sh [BUILD]
set -eu
build=${1:-build}
srcdir=$(cd "$(dirname "$0")/.." && pwd)
cd "$srcdir"
[ -x "$build/src/host/vmrd-host" ] || {
	echo "demo: $build/src/host/vmrd-host is missing; run 'make build' (needs libjansson-dev)" >&2
	exit 1
}
echo "demo: building the guest image (Debian kernel, busybox, static vmrd) in $build/guest"
./scripts/guest/build-image.sh -o "$build/guest" --vmrd
exec python3 ./scripts/demo.py --build "$build"
