#!/bin/sh
# One guest sends garbage (and is disconnected for it), then floods the
# broker with valid lines; another VM must still get its grant.  Latency is
# printed, not asserted: the only time limit is a generous timeout.
set -u
. "$(dirname "$0")/qemu_lib.sh"

printf 'budget = 6G\nconverge_timeout = 1h\nerror_limit = 10\nerror_window = 10s\npenalty = 1s\n' \
	>"$T/host.conf"
start_qemu a
start_qemu b
start_guest b 4
start_guest a 3
start_broker \
	--vm "name=a,qmp=$T/a.qmp,channel=$T/a.guest,virtio-mem=vmem0,min=512M,max=2G" \
	--vm "name=b,qmp=$T/b.qmp,channel=$T/b.guest,virtio-mem=vmem0,min=512M,max=2G"
wait_for "both channels" "[ \"\$(json_vm a channel)\" = true ] && [ \"\$(json_vm b channel)\" = true ]"

# Garbage: binary junk, over-long lines, unknown verbs.  More than
# error_limit bad lines within the window disconnects the guest.  It is
# kept under the 64 KiB a pipe holds: the fifo has no reader after the kick.
i=0
while [ $i -lt 15 ]; do
	printf 'garbage \001\002\003 %d\n' $i
	head -c 3000 /dev/zero | tr '\0' 'x'; echo
	echo "grant seq=1 target=1 current=1"
	i=$((i + 1))
done >&3
wait_for "kick of a" "[ \"\$(json_vm a kicks)\" -ge 1 ]"
grep -q '^error reason=' "$T/a.out" || fail "no error replies"
echo "ok: a kicked after $(json_vm a errors) errors; log: $(grep 'bad lines within' "$T/broker.log" | head -n 1)"

# Flood: valid but endless reports, from a fresh connection.
start_guest a 3
wait_for "a reconnects after the penalty" "[ \"\$(json_vm a channel)\" = true ]"
echo "hello v=1 block=2097152 current=536870912 agent=flood" >&3
(
	r="report mem_total=536870912 mem_available=268435456 psi_some_avg10=100 psi_full_avg10=0"
	while :; do
		for n in 1 2 3 4 5 6 7 8 9 10; do echo "$r"; done
	done >&3
) 2>/dev/null &
FLOOD=$!
PIDS="$PIDS $FLOOD"
wait_for "flood under way (read at its line budget)" "[ \"\$(json_vm a lines)\" -ge 1000 ]" 60

echo "hello v=1 block=2097152 current=536870912 agent=victim" >&4
wait_for "welcome b" "grep -q '^welcome' '$T/b.out'"
start_ns=$(date +%s%N)
echo "request seq=1 target=$((1024 * MIB)) urgency=high reason=test" >&4
wait_for "grant b despite the flood" "grep -q '^grant seq=1 target=1073741824' '$T/b.out'" 60
end_ns=$(date +%s%N)
wait_for "requested-size of b" "[ \"\$(requested_size b)\" = $((512 * MIB)) ]" 30
lines=$(json_vm a lines)
kill "$FLOOD" 2>/dev/null
echo "ok: b granted in $(( (end_ns - start_ns) / 1000000 )) ms while a had sent $lines lines"
kill -0 "$BROKER_PID" || fail "broker died"
echo "PASS"
