#!/bin/sh
# vmrd killed mid-run: memhog ramps to SIZE at RATE MiB/s so that vmrd
# grows the guest, then vmrd is SIGKILLed while the guest still holds the
# grown size.  The guest then frees the memory and idles WAIT seconds, long
# enough for a live vmrd to have given memory back; MemTotal must not move.
#
# Usage: killvmrd SIZE RATE WAIT
# Markers: vmrd-killed (MemTotal then), after-wait (MemTotal after WAIT).
size=$1 rate=$2 wait=$3
marker() { echo "VMRD-E2E: $*"; }
memtotal_kb() { awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo; }

memhog --size "$size" --rate "$rate" --hold 6 &
hog=$!
# Kill vmrd once the ramp is done, while memhog still holds its memory.
sleep $((${size%M} / rate + 2))
pids=$(pidof vmrd)
[ -n "$pids" ] || { marker "event=vmrd-not-running"; exit 1; }
# shellcheck disable=SC2086
kill -KILL $pids
sleep 1
alive=0
pidof vmrd >/dev/null && alive=1
marker "event=vmrd-killed pids=\"$pids\" alive=$alive memtotal_kb=$(memtotal_kb)"
wait "$hog"
hog_status=$?
marker "event=hog-done status=$hog_status memtotal_kb=$(memtotal_kb)"
sleep "$wait"
marker "event=after-wait memtotal_kb=$(memtotal_kb)"
[ "$alive" = 0 ] && [ "$hog_status" = 0 ]
