#!/bin/sh
# Installs the Debian 12 packages vmrd needs to build, test and package,
# when they are missing.  Run as root it uses apt-get and prints one line per
# group it installs; apt's whole output goes to the log (DEPS_LOG, default
# build/deps.log).  Not as root it only lists what is missing.
set -eu
srcdir=$(cd "$(dirname "$0")/.." && pwd)
log=${DEPS_LOG:-$srcdir/build/deps.log}

groups="build test metrics guest libvirt package"
# The programs and the libraries they link.
pkgs_build="build-essential meson ninja-build pkg-config python3 libinih-dev libjansson-dev
	libvirt-dev libxml2-dev libcurl4-openssl-dev libseccomp-dev"
# Unit tests, fuzz targets (clang), man page lint.
pkgs_test="libcmocka-dev clang llvm mandoc"
# promtool checks both daemons' metrics; bookworm ships it only in the
# prometheus package.  Where systemd runs, installing it also starts a
# Prometheus server: `systemctl disable --now prometheus` if unwanted.
pkgs_metrics="prometheus"
# The QEMU guests of the end-to-end tests, the demo and the benchmark.
pkgs_guest="qemu-system-x86 qemu-utils busybox-static cpio e2fsprogs socat gnuplot-nox"
# The libvirt end-to-end test starts its own libvirtd with the QEMU driver.
pkgs_libvirt="libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients"
# make deb and its test: debhelper, lintian, and systemd for
# systemd-analyze, systemd-sysusers and systemd-tmpfiles.
pkgs_package="debhelper dpkg-dev lintian systemd"

missing_in() {
	eval "set -- \$pkgs_$1"
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			printf ' %s' "$p"
	done
}

todo=""
for g in $groups; do
	[ -n "$(missing_in "$g")" ] && todo="$todo $g"
done
[ -z "$todo" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	for g in $todo; do
		echo "deps: missing ($g):$(missing_in "$g")" >&2
	done
	echo "deps: run 'sudo make deps' (or apt-get install them) first" >&2
	exit 1
fi

mkdir -p "$(dirname "$log")"
: >"$log"
export DEBIAN_FRONTEND=noninteractive
fail() {
	tail -n 20 "$log" >&2
	echo "deps: $1 failed; apt's full output: $log" >&2
	exit 1
}
echo "deps: apt-get update (log: $log)"
apt-get update -q >>"$log" 2>&1 || fail "apt-get update"
for g in $todo; do
	pkgs=$(missing_in "$g")
	echo "deps: installing $g:$pkgs"
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $pkgs >>"$log" 2>&1 ||
		fail "installing$pkgs"
done
