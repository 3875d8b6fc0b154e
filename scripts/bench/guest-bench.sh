#!/bin/sh
# Guest side of `make bench`: runs one benchmark workload inside a test guest
# and brackets it with phase markers, so that the host can cut its timeline
# into phases.  Installed as /scenarios/bench by scripts/bench/bench.py and
# started by guest/init with vmrd.sarg="WORKLOAD ARGS...".
#
#   ramp SIZE PROCS HOLD              memhog unthrottled, SIZE per process
#   burst SIZE PROCS HOLD IDLE        memhog, then IDLE seconds doing nothing
#   reread SIZE IDLE                  cachehog reread --drop (cold, idle, again)
#   creep SIZE COUNT RATE             cachehog creep (new files, steady growth)
#   sawtooth SIZE PROCS CYCLES HOLD IDLE
#   unmovable FILES RAW PASSES IDLE   kmemhog: FILES empty files (slab) and
#                                     the data disk's last RAW bytes read raw
#                                     (Buffers), cold first, PASSES passes
#   hotset SIZE FILES PASSES COLD     cachehog hotset: PASSES times a COLD
#                                     file streamed, then a SIZE hot set in
#                                     FILES files read
#
# unmovable and hotset print their own "passes" phase marker after their
# set-up (files written or created, caches dropped).
#   overcommit START SIZE HOLD TOGETHER_AT
#       waits until uptime START, bursts alone, then bursts again at uptime
#       TOGETHER_AT with every other VM of the run.
#   hostpressure SIZE RATE HOLD
#       memhog allocates SIZE at RATE MiB/s and holds it HOLD seconds; the
#       "held" phase marker says it is all allocated (the host then presses
#       the cgroup the VMs run in).
#
# At the end it reports vmrd's own CPU time and peak RSS when vmrd runs.

phase() {
	echo "VMRD-E2E: event=phase name=$1 uptime=$(cut -d' ' -f1 /proc/uptime)"
}

# Sleeps until the guest uptime reaches $1 seconds; the overcommit VMs boot
# together, so uptime is a shared clock that needs no host round trip.
wait_uptime() {
	while [ "$(cut -d. -f1 /proc/uptime)" -lt "$1" ]; do
		sleep 0.5
	done
}

vmrd_stats() {
	pid=$(pidof vmrd | cut -d' ' -f1)
	[ -n "$pid" ] || return 0
	# utime and stime are fields 14 and 15, in USER_HZ (100) ticks; the
	# command name has no spaces, so plain field splitting is safe.
	ticks=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
	hwm=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/$pid/status")
	rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$pid/status")
	echo "VMRD-E2E: event=vmrd-stats cpu_ticks=$ticks hwm_kb=$hwm rss_kb=$rss"
	vmrctl metrics 2>/dev/null | grep -E '^vmrd_(cpu_seconds_total|max_resident_bytes) ' |
		while read -r k v; do echo "VMRD-E2E: event=vmrd-metric name=$k value=$v"; done
}

workload=$1
shift
status=0
phase start
case "$workload" in
ramp)
	memhog --size "$1" --procs "$2" --hold "$3" || status=$?
	;;
burst)
	memhog --size "$1" --procs "$2" --hold "$3" || status=$?
	phase freed
	sleep "$4"
	;;
reread)
	cachehog reread --size "$1" --idle "$2" --drop || status=$?
	;;
creep)
	cachehog creep --size "$1" --count "$2" --rate "$3" || status=$?
	;;
sawtooth)
	memhog --size "$1" --procs "$2" --cycles "$3" --hold "$4" --idle "$5" || status=$?
	;;
unmovable)
	kmemhog --files "$1" --raw "$2" --passes "$3" --idle "$4" --drop || status=$?
	;;
hotset)
	cachehog hotset --size "$1" --count "$2" --passes "$3" --cold "$4" || status=$?
	;;
overcommit)
	wait_uptime "$1"
	phase solo
	memhog --size "$2" --hold "$3" || status=$?
	phase solo-freed
	wait_uptime "$4"
	phase together
	memhog --size "$2" --hold "$3" || status=$?
	phase together-freed
	sleep 10
	;;
hostpressure)
	# memhog says alloc_ms= once all of it is allocated; its own marker
	# carries its status.
	memhog --size "$1" --rate "$2" --hold "$3" | while read -r line; do
		echo "$line"
		case "$line" in *alloc_ms=*) phase held ;; esac
	done
	phase freed
	;;
*)
	echo "VMRD-E2E: event=bench-usage workload=\"$workload\""
	status=2
	;;
esac
phase end
vmrd_stats
exit "$status"
