#!/bin/sh
# Exercises the workload programs themselves so that the tests built on
# them can trust their reports: an allocation beyond memory must end in a
# reported OOM kill, a sawtooth in two processes must finish, and both
# page-cache workloads must run on the disk.  The host test reads the
# markers; this script only runs the programs.
total_mib=$(awk '$1 == "MemTotal:" { print int($2 / 1024) }' /proc/meminfo)

memhog --size "$((total_mib + 64))M" --quiet
echo "VMRD-E2E: event=workload name=memhog-oom exit=$?"

memhog --size 48M --procs 2 --cycles 2 --rate 100 --hold 1 --idle 1
echo "VMRD-E2E: event=workload name=memhog-sawtooth exit=$?"

if [ -d /mnt/data ]; then
	cachehog reread --size 64M --idle 1 --drop
	echo "VMRD-E2E: event=workload name=cachehog-reread exit=$?"
	cachehog creep --size 16M --count 4 --rate 200
	echo "VMRD-E2E: event=workload name=cachehog-creep exit=$?"
fi
exit 0
