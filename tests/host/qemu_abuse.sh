#!/bin/sh
# A hostile guest against vmrd-host and a real (paused) QEMU, beside a
# victim VM with its own real QEMU (issue 10, "Why" 6 and 7).  The test
# plays both guests.  Each step asserts a bound, not just survival:
#  - a `done` flood: QMP commands to the hostile VM's QEMU per second, and
#    log bytes per second (185 MB and 1,200 queries/s in 10 s before);
#  - a hello flood: welcomes and log lines (2,000 of each before);
#  - hello with v=2: answered bad_version and the channel closed;
#  - a line with a NUL byte, a slowloris line, a restart at seq 1;
#  - a connect storm (the guest's end closes every connection at once):
#    reconnects per 5 s;
#  and the victim's grants go on throughout (latency printed).
set -u
. "$(dirname "$0")/qemu_lib.sh"

printf 'budget = 8G\noverhead = 0\nconverge_timeout = 1h\nerror_limit = 10\nerror_window = 10s\npenalty = 1s\n' \
	>"$T/host.conf"
start_qemu h
start_qemu v
start_guest h 3
start_guest v 4
start_broker \
	--vm "name=h,qmp=$T/h.qmp,channel=$T/h.guest,virtio-mem=vmem0,min=512M,max=2G" \
	--vm "name=v,qmp=$T/v.qmp,channel=$T/v.guest,virtio-mem=vmem0,min=512M,max=3G"
echo "hello v=1 block=2097152 current=$((512 * MIB)) agent=hostile" >&3
echo "hello v=1 block=2097152 current=$((512 * MIB)) agent=victim" >&4
wait_for "welcomes" "grep -q '^welcome' '$T/h.out' && grep -q '^welcome' '$T/v.out'"
VSEQ=0
# fresh_channel NAME: the broker is connected to NAME's channel and has not had a hello on it.
fresh_channel() {
	wait_for "$1 reconnects" "[ \"\$(json_vm $1 channel)\" = true ] && [ \"\$(json_vm $1 hello)\" = false ]" 15
}
# victim_grant: the victim asks for 2 MiB more; prints the latency of its answer.
victim_grant() {
	VSEQ=$((VSEQ + 1))
	_s=$(date +%s%N)
	echo "request seq=$VSEQ target=$(( (512 + 2 * VSEQ) * MIB )) urgency=high reason=test" >&4
	wait_for "victim answer $VSEQ ($1)" "grep -q '^grant seq=$VSEQ ' '$T/v.out'" 30
	echo "   victim granted in $(( ($(date +%s%N) - _s) / 1000000 )) ms during $1"
}
victim_grant "a quiet time"

# Restart with seq 1: a new session is heard (not stale_seq).
echo "request seq=5 target=$((600 * MIB)) urgency=high reason=test" >&3
wait_for "h seq 5" "grep -q '^\(grant\|deny\) seq=5' '$T/h.out'"
echo "hello v=1 block=2097152 current=$((512 * MIB)) agent=hostile-restarted" >&3
wait_for "h welcome 2" "[ \$(grep -c '^welcome' '$T/h.out') -ge 2 ]"
echo "request seq=1 target=$((620 * MIB)) urgency=high reason=test" >&3
wait_for "h seq 1 after the restart" "grep -q '^\(grant\|deny\) seq=1 ' '$T/h.out'"
grep -q '^deny seq=1 reason=stale_seq' "$T/h.out" && fail "seq 1 after a hello was stale"
echo "ok: restart at seq 1 answered: $(grep '^\(grant\|deny\) seq=1 ' "$T/h.out")"

# A NUL byte in a line: an error, the channel stays.
printf 'report mem_total=1\000 x\n' >&3
wait_for "not_ascii" "grep -q '^error reason=not_ascii' '$T/h.out'"
echo "ok: a NUL byte is answered not_ascii"

# done flood, 10 s.
c0=$(json_vm h hypervisor_commands)
l0=$(wc -c <"$T/broker.log")
(while :; do echo "done seq=1 current=$((512 * MIB))"; done >&3) 2>/dev/null &
FLOOD=$!
PIDS="$PIDS $FLOOD"
sleep 3
victim_grant "the done flood"
sleep 7
kill "$FLOOD"
c1=$(json_vm h hypervisor_commands)
l1=$(wc -c <"$T/broker.log")
lines=$(json_vm h lines)
echo "   done flood: h sent $lines lines so far, throttled $(json_vm h throttled) times"
[ $(( (c1 - c0) / 10 )) -le 5 ] || fail "done flood: $((c1 - c0)) QMP commands in 10 s"
[ $(( (l1 - l0) / 10 )) -le 2000 ] || fail "done flood: $((l1 - l0)) log bytes in 10 s"
echo "ok: done flood: $(( (c1 - c0) )) QMP commands to h's QEMU and $((l1 - l0)) log bytes in 10 s"

# hello flood: a fresh connection (the flood above may leave lines queued).
# The channel seen up is not enough: a throttled channel is not read, so
# its end of file is seen late; a new one has not said hello yet.
start_guest h 3
fresh_channel h
w0=$(grep -c '^welcome' "$T/h.out")
l0=$(grep -c 'vm h:' "$T/broker.log")
k0=$(json_vm h kicks)
e0=$(json_vm h errors)
p0=$(grep -c 'Broken pipe' "$T/socat-h.log")
i=0
while [ $i -lt 1000 ]; do
	echo "hello v=1 block=2097152 current=$((512 * MIB)) agent=flood"
	i=$((i + 1))
done >&3
# Answered: past the hello budget each hello is an error, and past
# error_limit errors the guest is disconnected; without a budget every
# hello is welcomed and no error comes.
wait_for "hello flood answered" \
	"[ \$(json_vm h kicks) -gt $k0 ] || [ \$(grep -c '^welcome' '$T/h.out') -gt $((w0 + 10)) ]"
w1=$(grep -c '^welcome' "$T/h.out")
l1=$(grep -c 'vm h:' "$T/broker.log")
# At most the burst of 5, and one more if the flood took over 2 s on a busy
# machine (fewer when the disconnect comes before the welcomes are sent).
[ $((w1 - w0)) -le 6 ] || fail "hello flood: $((w1 - w0)) welcomes"
# The errors the broker sent are its count; what reached the guest is
# h.out, unless the guest's socat died of EPIPE writing the rest of the
# flood into the closed channel before it read the answers sent before the
# close (seen in a clean-clone run): then the kick and the count must show it.
e1=$(json_vm h errors)
if ! grep -q '^error reason=rate_limited' "$T/h.out"; then
	[ "$(grep -c 'Broken pipe' "$T/socat-h.log")" -gt "$p0" ] || fail "hello flood: no rate_limited error"
	[ "$(json_vm h kicks)" -gt "$k0" ] && [ $((e1 - e0)) -gt 5 ] ||
		fail "hello flood: no rate_limited error reached the guest, $((e1 - e0)) errors sent"
	echo "   hello flood: the guest's socat exited on EPIPE before reading its answers; $((e1 - e0)) errors sent"
fi
[ $((l1 - l0)) -le 40 ] || fail "hello flood: $((l1 - l0)) log lines"
echo "ok: a flood of hellos got $((w1 - w0)) welcomes and $(grep -c '^error reason=rate_limited' "$T/h.out") rate_limited errors until the guest was disconnected, and made $((l1 - l0)) log lines"
victim_grant "the hello flood's aftermath"

# hello v=2: bad_version, and the host closes the channel.
start_guest h 3
fresh_channel h
echo "hello v=2 block=2097152 current=$((512 * MIB))" >&3
wait_for "bad_version" "grep -q '^error reason=bad_version' '$T/h.out'"
# The log line saying so may be within what the guest's log budget drops:
# the channel's state is what shows it (the test's end never closes it).
wait_for "channel closed after bad_version" "[ \"\$(json_vm h channel)\" = false ]" 5
echo "ok: hello v=2 answered bad_version and the channel closed"

# Slowloris: one byte every 50 ms; it holds nothing but its own line.
start_guest h 3
fresh_channel h
n0=$(json_vm h lines)
(for c in h e l l o ' ' v = 1 ' ' b l o c k = 2 0 9 7 1 5 2 ' ' c u r r e n t = 5 3 6 8 7 0 9 1 2; do
	printf '%s' "$c"; sleep 0.05; done >&3) &
SLOW=$!
PIDS="$PIDS $SLOW"
victim_grant "a slowloris"
wait "$SLOW"
[ "$(json_vm h lines)" = "$n0" ] || fail "slowloris: a line counted before its newline"
echo >&3
wait_for "the slow hello" "[ \"\$(json_vm h lines)\" -gt $n0 ]"
echo "ok: a slowloris line is one line when its newline comes, and holds no one else"

# Connect storm: the guest's end accepts and closes every connection at once.
kill "$(eval echo \$GUEST_PID_h)" 2>/dev/null
python3 -c "
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(64)
n = 0; end = time.monotonic() + 5
s.settimeout(0.2)
while time.monotonic() < end:
    try:
        c, _ = s.accept(); c.close(); n += 1
    except socket.timeout:
        pass
print(n)" "$T/h.guest.storm" >"$T/storm.count" &
STORM=$!
PIDS="$PIDS $STORM"
while [ ! -S "$T/h.guest.storm" ]; do sleep 0.1; done
rm -f "$T/h.guest"
ln -s "$T/h.guest.storm" "$T/h.guest"
wait "$STORM"
n=$(cat "$T/storm.count")
[ "$n" -le 12 ] || fail "connect storm: $n connects in 5 s"
echo "ok: a channel that closes every connection was connected $n times in 5 s"
victim_grant "the connect storm"
kill -0 "$BROKER_PID" || fail "broker died"
echo "PASS"
