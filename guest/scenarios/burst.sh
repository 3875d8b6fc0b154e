#!/bin/sh
# Burst, then idle: memhog allocates SIZE at RATE MiB/s, holds it HOLD
# seconds and frees it; the guest then idles up to IDLE seconds so that
# vmrd can give the memory back.  The idle ends early, SETTLE seconds after
# MemTotal fell to RETURN_KB or below (0: never early), which leaves the
# host time to see free page reporting and the unplug in QEMU's RSS.  A
# last small allocation shows the guest is still healthy.
#
# Usage: burst SIZE RATE HOLD IDLE [RETURN_KB [SETTLE]]
# RETURN_KB may be +N: N kB above MemTotal at the start.
# Markers: burst-start, burst-done (memhog's exit), idle-done, healthy, and
# vmrd-sandbox after the burst and after the idle (vmrd's NoNewPrivs,
# Seccomp and CapEff from /proc/PID/status, the system calls its filter
# refused from the kernel log).
size=$1 rate=$2 hold=$3 idle=$4 return_kb=${5:-0} settle=${6:-5}
marker() { echo "VMRD-E2E: $*"; }
memtotal_kb() { awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo; }
vmrd_sandbox() {
	pid=$(pidof vmrd) || { marker "event=vmrd-sandbox at=$1 pid=none"; return; }
	# The kernel logs each call the filter refused (audit type 1326).
	denied=$(dmesg | grep 'type=1326' | grep 'comm="vmrd"' | sed -n 's/.* syscall=\([0-9]*\).*/\1/p' |
		sort -u | tr '\n' ',')
	marker "event=vmrd-sandbox at=$1 pid=$pid denied=${denied:-none} $(awk '
		$1 ~ /^(NoNewPrivs|Seccomp|CapEff):$/ { sub(":", "", $1); printf "%s=%s ", tolower($1), $2 }
	' "/proc/$pid/status")"
}

start_kb=$(memtotal_kb)
case "$return_kb" in
+*) return_kb=$((start_kb + ${return_kb#+})) ;;
esac
marker "event=burst-start size=$size rate=$rate hold=$hold memtotal_kb=$start_kb"
memhog --size "$size" --rate "$rate" --hold "$hold"
status=$?
marker "event=burst-done status=$status memtotal_kb=$(memtotal_kb)"
vmrd_sandbox grown

waited=0
while [ "$waited" -lt "$idle" ]; do
	if [ "$return_kb" -gt 0 ] && [ "$(memtotal_kb)" -le "$return_kb" ]; then
		marker "event=returned after_sec=$waited memtotal_kb=$(memtotal_kb)"
		sleep "$settle"
		break
	fi
	sleep 1
	waited=$((waited + 1))
done
marker "event=idle-done waited_sec=$waited memtotal_kb=$(memtotal_kb)"
vmrd_sandbox returned

# The guest must still work after giving memory back: allocate and free a
# little, and say so.
memhog --size 64M --quiet >/dev/null
health=$?
marker "event=healthy status=$health memtotal_kb=$(memtotal_kb)"
[ "$status" = 0 ] && [ "$health" = 0 ]
