#!/bin/sh
# One give-back, for measuring how much of it the host gets back
# (scripts/bench/mechanisms.py): the guest fills memory (a burst that
# memhog touches and frees, or SIZE of page cache on the disk), lets free
# page reporting (if any) run, then gives memory up and lets it settle.
# The host does the balloon inflation or virtio-mem unplug when it sees
# the "before" marker; the guest waits until MemTotal fell by DROP_KB (at
# most 60 s), or, with ACTION trim, drops its page cache itself.
#
# Usage: giveup burst|cache SIZE balloon|unplug|trim DROP_KB SETTLE
# Markers: giveup-filled, giveup-before, giveup-after, each with memtotal_kb
# and cached_kb; giveup-after also says reached=0|1.
prep=$1 size=$2 action=$3 drop_kb=$4 settle=$5
kb() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
phase() {
	echo "VMRD-E2E: event=giveup-$1 memtotal_kb=$(kb MemTotal) cached_kb=$(kb Cached) $2"
}

case "$prep" in
burst) memhog --size "$size" --hold 2 || exit 1 ;;
cache) cachehog reread --size "$size" --idle 0 >/dev/null || exit 1 ;;
*) echo "VMRD-E2E: event=giveup-usage"; exit 2 ;;
esac
phase filled
# Free page reporting waits about 2 s before it reports a free block.
sleep "$settle"
start_kb=$(kb MemTotal)
phase before
[ "$action" = trim ] && echo 1 >/proc/sys/vm/drop_caches
waited=0
while [ "$waited" -lt 60 ] && [ "$(kb MemTotal)" -gt $((start_kb - drop_kb)) ]; do
	sleep 1
	waited=$((waited + 1))
done
reached=0
[ "$(kb MemTotal)" -le $((start_kb - drop_kb)) ] && reached=1
sleep "$settle"
phase after "reached=$reached waited_sec=$waited"
