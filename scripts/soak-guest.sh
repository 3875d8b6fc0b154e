#!/bin/sh
# Guest side of scripts/soak.py (added to the image as /scenarios/soak).
# For SECONDS seconds: random bursts (memhog of 64-600 MiB at 10-40 MiB/s,
# held 2-10 s) separated by 3-25 s of idle.  In KILL_PCT % of the bursts,
# at a random point of the ramp, vmrd is SIGKILLed, the burst stopped (no
# daemon can grow the guest for it now) and vmrd restarted 1 s later with
# the same command line.
#
# Usage: soak SECONDS KILL_PCT
# Markers: soak-burst (memhog's exit), soak-vmrd-killed, soak-vmrd-restarted,
# soak-end.
seconds=$1 kill_pct=$2
marker() { echo "VMRD-E2E: $*"; }
memtotal_kb() { awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo; }
uptime_sec() { cut -d. -f1 /proc/uptime; }
rand() { echo $(($1 + RANDOM % ($2 - $1 + 1))); }

end=$(($(uptime_sec) + seconds))
n=0 kills=0
while [ "$(uptime_sec)" -lt "$end" ]; do
	n=$((n + 1))
	size=$(rand 64 600) rate=$(rand 10 40) hold=$(rand 2 10)
	memhog --size "${size}M" --rate "$rate" --hold "$hold" --quiet >/dev/null &
	hog=$!
	if [ "$(rand 1 100)" -le "$kill_pct" ]; then
		sleep "$(rand 0 $((size / rate)))"
		pid=$(pidof vmrd)
		if [ -n "$pid" ]; then
			argv=$(tr '\0' ' ' <"/proc/$pid/cmdline")
			kill -KILL "$pid"
			kill "$hog" 2>/dev/null
			wait "$hog"
			kills=$((kills + 1))
			marker "event=soak-vmrd-killed n=$n memtotal_kb=$(memtotal_kb)"
			sleep 1
			# shellcheck disable=SC2086
			$argv 2>&1 &
			marker "event=soak-vmrd-restarted n=$n"
			continue
		fi
		marker "event=soak-vmrd-not-running n=$n"
	fi
	wait "$hog"
	marker "event=soak-burst n=$n size=$size rate=$rate hold=$hold status=$? memtotal_kb=$(memtotal_kb)"
	sleep "$(rand 3 25)"
done
marker "event=soak-end bursts=$n kills=$kills memtotal_kb=$(memtotal_kb)"
