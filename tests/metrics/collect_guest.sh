#!/bin/sh
# The guest daemon's real `vmrctl metrics`, into OUT: vmrd on a copy of a
# captured guest under pressure (tests/data/guest-capture/pressure), with
# the example plugin as its backend, after it has grown at least once (so
# the latency summary and the counters have values).
#   collect_guest.sh VMRD VMRCTL PLUGIN OUT
set -u
VMRD=$1 VMRCTL=$2 PLUGIN=$3 OUT=$4
SRC=$(cd "$(dirname "$0")/../.." && pwd)
t=$(mktemp -d /tmp/vmrd-metrics.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$t"' EXIT
cp -r "$SRC/tests/data/guest-capture/pressure" "$t/root"
cat >"$t/vmrd.conf" <<EOC
[vmrd]
backend = plugin
interval = 100ms
control = $t/vmrd.sock
mlock = no
oom_score_adj = 0
[reclaim]
enabled = no
[plugin]
path = $PLUGIN
min = 256M
max = 2G
block = 128M
initial = 646M
EOC
"$VMRD" -c "$t/vmrd.conf" --root "$t/root" >"$t/log" 2>&1 &
pid=$!
n=100
while [ $n -gt 0 ]; do
	"$VMRCTL" -s "$t/vmrd.sock" metrics >"$OUT" 2>/dev/null &&
		grep -q '^vmrd_grows_total [1-9]' "$OUT" && exit 0
	sleep 0.1
	n=$((n - 1))
done
echo "FAIL: vmrd did not grow or answer metrics:"
cat "$t/log"
exit 1
