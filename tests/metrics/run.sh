#!/bin/sh
# Metrics a Prometheus accepts, from the real daemons:
#   run.sh guest      vmrd's metrics pass promtool check metrics and check_names.py
#   run.sh host       the same for vmrd-host's, with a real QEMU
#   run.sh dashboard  every query of dist/vmrd-grafana.json names a metric that
#                     one of the two daemons really exports
# Environment: VMRD, VMRCTL, PLUGIN, BROKER (the built programs).
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
out=$(mktemp -d /tmp/vmrd-metrics-out.XXXXXX)
trap 'rm -rf "$out"' EXIT

guest() { sh "$here/collect_guest.sh" "$VMRD" "$VMRCTL" "$PLUGIN" "$out/guest.prom" || exit 1; }
host() { BROKER=$BROKER sh "$here/collect_host.sh" "$out/host.prom" || exit $?; }
promtool_check() {
	command -v promtool >/dev/null ||
		{ echo "FAIL: no promtool (Debian's prometheus package; make deps installs it)"; exit 1; }
	promtool check metrics <"$1" || { echo "FAIL: promtool check metrics rejects $1:"; cat "$1"; exit 1; }
	echo "ok: promtool check metrics accepts $(basename "$1")"
	python3 "$here/check_names.py" "$1" || exit 1
}

case $1 in
guest) guest; promtool_check "$out/guest.prom" ;;
host) host; promtool_check "$out/host.prom" ;;
dashboard)
	guest
	host
	python3 "$here/check_dashboard.py" "$src/dist/vmrd-grafana.json" "$out/guest.prom" "$out/host.prom" ||
		exit 1
	;;
*) echo "usage: run.sh guest|host|dashboard"; exit 64 ;;
esac
echo PASS
