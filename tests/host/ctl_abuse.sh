#!/bin/sh
# The control socket under abuse (issue 10, "Why" 2 and 3), with the real
# vmrd-host and vmrctl (no QEMU needed: the VMs' sockets do not exist).
# Asserts: idle clients, a command with a NUL byte, an over-long command
# and a client that never reads its answer do not keep vmrctl out; with 64
# VMs of 31-character names `metrics` is answered whole; vmrctl exits
# non-zero with a message on an error answer and on a socket that closes
# without one (never by SIGPIPE).
#   ctl_abuse.sh VMRD_HOST VMRCTL
set -u
BROKER=$1
VMRCTL=$2
command -v socat >/dev/null || { echo "SKIP: no socat"; exit 77; }
T=$(mktemp -d /tmp/vmrd-ctl-abuse.XXXXXX)
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
fail() {
	echo "FAIL: $*"
	tail -n 20 "$T/broker.log"
	exit 1
}
S=$T/ctl.sock

i=0
: >"$T/host.conf"
while [ $i -lt 64 ]; do
	name=$(printf 'vm-with-a-long-name-number-%04d' $i)
	printf '[vm %s]\nqmp = %s/q%d\nchannel = %s/c%d\nvirtio_mem = vmem0\nmin = 512M\nmax = 1G\n' \
		"$name" "$T" $i "$T" $i >>"$T/host.conf"
	i=$((i + 1))
done
printf 'budget = 256G\n' | cat - "$T/host.conf" >"$T/host2.conf"
"$BROKER" -c "$T/host2.conf" --state "$T/state" --control "$S" >"$T/broker.log" 2>&1 &
PIDS="$PIDS $!"
n=0
until "$VMRCTL" -s "$S" host status >/dev/null 2>&1; do
	n=$((n + 1)); [ $n -lt 100 ] || fail "no control socket"; sleep 0.1
done

# Why 3: 64 VMs with long names.  The answer is whole, or an error and a non-zero exit.
"$VMRCTL" -s "$S" host metrics >"$T/metrics" 2>"$T/metrics.err"
rc=$?
[ $rc -eq 0 ] || fail "metrics: exit $rc: $(cat "$T/metrics.err")"
grep -q '^error' "$T/metrics" && fail "metrics answered $(head -c 200 "$T/metrics") with exit 0"
grep -q 'vmrd_host_vm_applied_bytes{vm="vm-with-a-long-name-number-0063"}' "$T/metrics" ||
	fail "metrics cut short ($(wc -c <"$T/metrics") bytes)"
echo "ok: metrics of 64 VMs answered whole: $(wc -c <"$T/metrics") bytes"

# An error answer: a non-zero exit and the message on stderr.
"$VMRCTL" -s "$S" host why no-such-vm >"$T/why.out" 2>"$T/why.err"
rc=$?
[ $rc -ne 0 ] || fail "why of an unknown VM: exit 0 ($(cat "$T/why.out"))"
grep -q 'no VM named no-such-vm' "$T/why.err" || fail "why: stderr '$(cat "$T/why.err")'"
echo "ok: an error answer exits $rc: $(cat "$T/why.err")"

# Why 2: idle clients that never send a command.
for k in 1 2 3 4 5 6 7 8 9 10; do
	sleep 30 | socat - UNIX-CONNECT:"$S" >/dev/null 2>&1 &
	PIDS="$PIDS $!"
done
sleep 0.5
s=$(date +%s%N)
"$VMRCTL" -t 10000 -s "$S" host status >"$T/st" 2>"$T/st.err" || fail "status with 10 idle clients: $(cat "$T/st.err")"
echo "ok: status answered in $(( ($(date +%s%N) - s) / 1000000 )) ms beside 10 idle clients"

# A NUL byte, and a command longer than the limit: answered with an error, closed.
printf 'sta\000tus\n' | socat -t 5 - UNIX-CONNECT:"$S" >"$T/nul" 2>/dev/null
grep -q '^error: .*NUL' "$T/nul" || fail "NUL: answered '$(cat "$T/nul")'"
head -c 300 /dev/zero | tr '\0' 'x' | socat -t 5 - UNIX-CONNECT:"$S" >"$T/long" 2>/dev/null
grep -q '^error: .*longer' "$T/long" || fail "long command: answered '$(cat "$T/long")'"
echo "ok: NUL and over-long commands answered: $(cat "$T/nul") / $(cat "$T/long")"

# Clients that ask for metrics and never read the answer.
for k in 1 2 3 4 5 6 7 8; do
	python3 -c "
import socket, time, sys
s = socket.socket(socket.AF_UNIX); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(sys.argv[1]); s.sendall(b'metrics\n'); time.sleep(30)" "$S" &
	PIDS="$PIDS $!"
done
sleep 0.5
"$VMRCTL" -t 10000 -s "$S" host status >/dev/null 2>"$T/st.err" || fail "status beside non-readers: $(cat "$T/st.err")"
echo "ok: status answered beside 8 clients that never read"

# A socket that closes without answering: a message and a non-zero exit, no SIGPIPE.
python3 -c "
import socket, sys, os
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(16)
while True:
    c, _ = s.accept(); c.close()" "$T/closer.sock" &
PIDS="$PIDS $!"
n=0; while [ ! -S "$T/closer.sock" ]; do n=$((n + 1)); [ $n -lt 300 ] || fail "closer"; sleep 0.1; done
"$VMRCTL" -s "$T/closer.sock" host status >"$T/cl.out" 2>"$T/cl.err"
rc=$?
[ $rc -ne 0 ] && [ $rc -lt 128 ] || fail "closed socket: exit $rc (stderr '$(cat "$T/cl.err")')"
[ -s "$T/cl.err" ] || fail "closed socket: exit $rc without a message"
echo "ok: a socket closed without an answer exits $rc: $(cat "$T/cl.err")"
echo PASS
