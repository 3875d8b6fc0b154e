#!/bin/sh
# Below and back above: the guest idles until vmrd has given memory back
# (MemTotal at or below LOW_KB and still, at most WAIT seconds), then memhog
# allocates SIZE at RATE MiB/s and holds it HOLD seconds, so that vmrd asks
# for it again; after the free the guest idles until it is back at or below
# LOW_KB (at most WAIT seconds).  A last small allocation shows that the
# guest still works.  With a balloon, the host makes all of it by inflating
# and deflating; with virtio-mem as well, the burst may go above the boot
# memory.
#
# Usage: balloon LOW_KB WAIT SIZE RATE HOLD
# LOW_KB may be -N: N kB below MemTotal at the start.
# Markers: phase name=shrunk|burst|burst-done|shrunk-again (each with
# memtotal_kb and, for the waits, reached=0|1 and after_sec), healthy.
low_kb=$1 wait=$2 size=$3 rate=$4 hold=$5
memtotal_kb() { awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo; }
phase() { echo "VMRD-E2E: event=phase name=$1 memtotal_kb=$(memtotal_kb) $2"; }
case "$low_kb" in
-*) low_kb=$(($(memtotal_kb) - ${low_kb#-})) ;;
esac

# Waits until MemTotal is at or below low_kb and has not moved for 2 s (the
# give-back is over); says whether it got there.
wait_low() {
	waited=0 last=0 still=0
	while [ "$waited" -lt "$wait" ]; do
		now=$(memtotal_kb)
		if [ "$now" = "$last" ]; then still=$((still + 1)); else still=0; fi
		last=$now
		[ "$now" -le "$low_kb" ] && [ "$still" -ge 2 ] && break
		sleep 1
		waited=$((waited + 1))
	done
	reached=0
	[ "$(memtotal_kb)" -le "$low_kb" ] && reached=1
	phase "$1" "reached=$reached after_sec=$waited"
	[ "$reached" = 1 ]
}

wait_low shrunk || exit 1
phase burst "size=$size"
memhog --size "$size" --rate "$rate" --hold "$hold"
status=$?
phase burst-done "status=$status"
[ "$status" = 0 ] || exit 1
wait_low shrunk-again || exit 1
memhog --size 64M --quiet >/dev/null
health=$?
echo "VMRD-E2E: event=healthy status=$health memtotal_kb=$(memtotal_kb)"
[ "$health" = 0 ]
