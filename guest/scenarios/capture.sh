#!/bin/sh
# Copies the kernel's memory files to the console so that the host can
# rebuild them as fixture trees (scripts/guest/capture-to-tree.py).  It
# takes three snapshots: right after boot, after the host has plugged
# memory through virtio-mem, and while memhog holds most of the memory
# (with zram swap, when vmrd.zram was given, so swap and PSI move).
#
# Each snapshot is a tar archive, base64-encoded between
# "VMRD-CAPTURE-BEGIN name=NAME" and "VMRD-CAPTURE-END name=NAME" lines.
# Kernel console messages are silenced meanwhile so they cannot split the
# encoded lines.

snapshot() {
	name=$1
	root=/tmp/capture/$name
	rm -rf "$root"
	mkdir -p "$root/proc/pressure"
	for f in meminfo vmstat zoneinfo pressure/memory; do
		cat "/proc/$f" >"$root/proc/$f"
	done
	# sysfs files report a size of 4096 whatever they hold, so each
	# readable attribute is copied with cat rather than archived as is.
	find /sys/devices/system/memory -type f | sort | while read -r f; do
		case "$f" in */uevent | */power/*) continue ;; esac
		[ -r "$f" ] || continue
		mkdir -p "$root$(dirname "$f")"
		cat "$f" >"$root$f" 2>/dev/null || rm -f "$root$f"
	done
	# Each block links to its NUMA node; keep those links (dangling in the
	# fixture, but their names tell the node) and drop the generic
	# subsystem/driver links.
	find /sys/devices/system/memory -maxdepth 2 -type l -name 'node*' | sort | while read -r l; do
		mkdir -p "$root$(dirname "$l")"
		ln -s "$(readlink "$l")" "$root$l"
	done
	dmesg -n 1
	echo "VMRD-CAPTURE-BEGIN name=$name"
	(cd "$root" && tar -cf - .) | gzip -9 | base64
	echo "VMRD-CAPTURE-END name=$name"
	dmesg -n 7
}

memtotal_kb() { awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo; }

snapshot boot

before=$(memtotal_kb)
echo "VMRD-E2E: event=want-plug mib=256"
i=0
while [ $(($(memtotal_kb) - before)) -lt $((256 * 1024)) ] && [ "$i" -lt 60 ]; do
	sleep 0.5
	i=$((i + 1))
done
snapshot plugged

if [ -x /usr/bin/memhog ]; then
	avail_mib=$(awk '$1 == "MemAvailable:" { print int($2 / 1024) }' /proc/meminfo)
	swap_mib=$(awk '$1 == "SwapFree:" { print int($2 / 1024) }' /proc/meminfo)
	# Asking for a bit more than is available pushes the guest into
	# reclaim and swap without reaching the OOM killer.
	size=$((avail_mib + swap_mib / 3))
	memhog --size "${size}M" --hold 12 >/tmp/memhog.log 2>&1 &
	hog=$!
	sleep 8
	snapshot pressure
	wait "$hog"
	# memhog's last line is itself a marker.
	tail -n 1 /tmp/memhog.log
fi
echo "VMRD-E2E: event=capture-done"
