#!/bin/sh
# SPDX-License-Identifier: MIT
# scripts/capture-sensors.sh copies a fixture tree faithfully (-r), limits
# the blocks it copies (-b), and refuses to write into kernel directories.
set -eu

script=$1
data=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmrd-capture-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

sh "$script" -r "$data/guest-tree" "$tmp/all" >/dev/null
diff -r "$data/guest-tree" "$tmp/all"

sh "$script" -r "$data/guest-tree" -b 2 "$tmp/some" >/dev/null
got=$(cd "$tmp/some/sys/devices/system/memory" && ls -d memory* | sort -V | tr '\n' ' ')
if [ "$got" != "memory0 memory1 memory38 " ]; then
	echo "FAIL: -b 2 copied: $got" >&2
	exit 1
fi
cmp "$data/guest-tree/proc/zoneinfo" "$tmp/some/proc/zoneinfo"

for bad in /proc/vmrd-capture-test /sys/vmrd-capture-test; do
	if sh "$script" -r "$data/guest-tree" "$bad" 2>/dev/null; then
		echo "FAIL: wrote to $bad" >&2
		exit 1
	fi
	if [ -e "$bad" ]; then
		echo "FAIL: created $bad" >&2
		exit 1
	fi
done
if sh "$script" -b x "$tmp/x" 2>/dev/null; then
	echo "FAIL: accepted -b x" >&2
	exit 1
fi
echo "capture-sensors.sh: ok"
