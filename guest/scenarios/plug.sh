#!/bin/sh
# Smoke scenario: asks the host to plug memory (the runner reacts to the
# want-plug marker) and prints MemTotal until it has grown by at least the
# expected amount.  Usage: plug [EXPECT_MIB [TIMEOUT_SEC]].
expect_mib=${1:-256}
timeout_sec=${2:-30}

memtotal_kb() { awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo; }

before=$(memtotal_kb)
echo "VMRD-E2E: event=plug-start memtotal_kb=$before expect_mib=$expect_mib"
echo "VMRD-E2E: event=want-plug mib=$expect_mib"
i=0
while [ "$i" -lt $((timeout_sec * 2)) ]; do
	now=$(memtotal_kb)
	echo "VMRD-E2E: memtotal_kb=$now"
	if [ $((now - before)) -ge $((expect_mib * 1024)) ]; then
		zones=$(awk '/^Node [0-9]+, *zone/ { z = $4 } /^ +present/ && z != "" { printf "%s:%s ", z, $2; z = "" }' /proc/zoneinfo)
		echo "ZONES: $zones"
		echo "VMRD-E2E: event=plugged memtotal_before_kb=$before memtotal_after_kb=$now grown_kb=$((now - before)) zones=\"$zones\""
		# Stay up past the host's next once-per-second QMP sample, which
		# a quick power-off after the plug could otherwise miss.
		sleep 2
		exit 0
	fi
	sleep 0.5
	i=$((i + 1))
done
echo "VMRD-E2E: event=plug-timeout memtotal_before_kb=$before memtotal_after_kb=$(memtotal_kb)"
exit 1
