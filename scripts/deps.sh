#!/bin/sh
# Installs the Debian 12 packages vmrd needs to build and test, when they
# are missing.  Run as root it uses apt-get; otherwise it only lists them.
set -eu

PKGS="build-essential meson ninja-build pkg-config python3 clang llvm
libinih-dev libjansson-dev libcmocka-dev
mandoc qemu-system-x86 qemu-utils busybox-static cpio gnuplot-nox socat e2fsprogs"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing" >&2
	echo "deps: run 'sudo make deps' (or apt-get install them) first" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
