#!/bin/sh
# Guest side of midresize_kill.py (added to the image as /scenarios/midresize).
# Phase 1: memhog ramps to SIZE at RATE MiB/s; the host kills vmrd-host at
# its first grow grant of the ramp and restarts it; the guest then idles
# IDLE seconds (the restarted broker must grant the shrink).  Phase 2: the
# same ramp again; at the first rise of MemTotal (a grant being applied)
# or of the number of memory blocks (a grant being applied) the scenario
# SIGKILLs vmrd and stops that ramp (nobody could grow the guest for it
# now), restarts vmrd 2 s later with the same command line, and a third
# ramp must be served by the new vmrd.
#
# Usage: midresize SIZE RATE IDLE
# Markers: ramp1-start, ramp1-done, idle1-done, vmrd-killed, vmrd-restarted,
# ramp3-done, idle3-done.
blocks() { set -- /sys/devices/system/memory/memory*; echo $#; }
size=$1 rate=$2 idle=$3
marker() { echo "VMRD-E2E: $*"; }
memtotal_kb() { awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo; }
ramp_sec=$((${size%M} / rate))

marker "event=ramp1-start memtotal_kb=$(memtotal_kb)"
memhog --size "$size" --rate "$rate" --hold 8
marker "event=ramp1-done status=$? memtotal_kb=$(memtotal_kb)"
sleep "$idle"
marker "event=idle1-done memtotal_kb=$(memtotal_kb)"

base=$(memtotal_kb) base_blocks=$(blocks)
memhog --size "$size" --rate "$rate" --hold 4 &
hog=$!
# Poll every 20 ms for up to the ramp's length plus 10 s: a new memory
# block shows a plug before MemTotal does.
n=0
while [ "$(blocks)" = "$base_blocks" ] && [ "$(memtotal_kb)" -le "$base" ] &&
	[ "$n" -lt $(((ramp_sec + 10) * 50)) ]; do
	sleep 0.02
	n=$((n + 1))
done
pid=$(pidof vmrd)
[ -n "$pid" ] || { marker "event=vmrd-not-running"; exit 1; }
argv=$(tr '\0' ' ' <"/proc/$pid/cmdline")
kill -KILL "$pid"
grew_kb=$(($(memtotal_kb) - base)) now_blocks=$(blocks)
kill "$hog"
wait "$hog"
sleep 0.2
alive=0
pidof vmrd >/dev/null && alive=1
marker "event=vmrd-killed alive=$alive base_kb=$base grew_kb=$grew_kb blocks=$base_blocks-$now_blocks memtotal_kb=$(memtotal_kb)"
sleep 2
# shellcheck disable=SC2086
$argv 2>&1 &
marker "event=vmrd-restarted pid=$! memtotal_kb=$(memtotal_kb)"
sleep 4
memhog --size "$size" --rate "$rate" --hold 4
s3=$?
marker "event=ramp3-done status=$s3 memtotal_kb=$(memtotal_kb)"
sleep "$idle"
marker "event=idle3-done memtotal_kb=$(memtotal_kb)"
[ "$alive" = 0 ] && [ "$s3" = 0 ]
