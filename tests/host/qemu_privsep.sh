#!/bin/sh
# The guest reader (privilege separation, src/host/privsep.h) with real
# QEMUs on the QMP side and the test playing both guests.  Asserts: the
# reader runs under a seccomp filter with no_new_privs, as nobody when the
# broker is root, and holds no descriptor but its socket, stdio and the
# guest channels (no QMP socket, no file); killed with SIGKILL while both
# guests are connected, its death is logged once with the signal, a new
# one is forked and given the live channels, and both VMs keep their size,
# their grant and their session (they are answered without a new hello);
# with VMRD_PRIVSEP_SELFTEST the reader's open() kills it with SIGSYS;
# a live reader answers the broker's pings for longer than the watchdog's
# limit, and one stuck in a loop (VMRD_PRIVSEP_SELFTEST=hang) is killed
# after 10 s without an answer and replaced.
set -u
. "$(dirname "$0")/qemu_lib.sh"

printf 'budget = 4G\nconverge_timeout = 1h\n' >"$T/host.conf"
VMS="--vm name=a,qmp=$T/a.qmp,channel=$T/a.guest,virtio-mem=vmem0,min=512M,max=3G"
VMS="$VMS --vm name=b,qmp=$T/b.qmp,channel=$T/b.guest,virtio-mem=vmem0,min=512M,max=3G"

# reader_pid: the pid of the newest guest reader the broker logged.
reader_pid() {
	sed -n 's/.*guest reader \(re\)\{0,1\}started (pid \([0-9]*\)).*/\2/p' "$T/broker.log" | tail -n 1
}

# check_sandbox PID: the filter, no_new_privs, nobody, and only the descriptors it needs.
check_sandbox() {
	grep -q '^Seccomp:[[:space:]]*2$' "/proc/$1/status" || fail "reader $1: $(grep Seccomp "/proc/$1/status")"
	grep -q '^NoNewPrivs:[[:space:]]*1$' "/proc/$1/status" || fail "reader $1 without no_new_privs"
	if [ "$(id -u)" = 0 ]; then
		_uid=$(id -u nobody)
		grep -q "^Uid:[[:space:]]*$_uid[[:space:]]" "/proc/$1/status" ||
			fail "reader $1 not nobody: $(grep Uid "/proc/$1/status")"
	fi
	# 0-2, its socket (3), its epoll and the two channels: sockets, no file;
	# the two QMP sockets (or any other) would make the count more than 7.
	_fds=$(ls "/proc/$1/fd" | wc -l)
	[ "$_fds" = 7 ] || fail "reader $1 holds $_fds descriptors: $(ls -l "/proc/$1/fd")"
	for _fd in 3 4 5 6; do
		case "$(readlink "/proc/$1/fd/$_fd")" in
		socket:* | 'anon_inode:[eventpoll]') ;;
		*) fail "reader $1 fd $_fd is $(readlink "/proc/$1/fd/$_fd")" ;;
		esac
	done
}

start_qemu a
start_qemu b
start_guest a 3
start_guest b 4
start_broker $VMS
echo "hello v=1 block=2097152 current=$((512 * MIB)) agent=privsep-test" >&3
echo "hello v=1 block=2097152 current=$((512 * MIB)) agent=privsep-test" >&4
for vm in a b; do wait_for "welcome $vm" "grep -q '^welcome' '$T/$vm.out'"; done
echo "request seq=1 target=$((1024 * MIB)) urgency=high reason=test" >&3
echo "request seq=1 target=$((1536 * MIB)) urgency=high reason=test" >&4
wait_for "grant a" "grep -q '^grant seq=1 target=$((1024 * MIB))' '$T/a.out'"
wait_for "grant b" "grep -q '^grant seq=1 target=$((1536 * MIB))' '$T/b.out'"
wait_for "requested-size a" "[ \"\$(requested_size a)\" = $((512 * MIB)) ]" 10
wait_for "requested-size b" "[ \"\$(requested_size b)\" = $((1024 * MIB)) ]" 10

OLD=$(reader_pid)
[ -n "$OLD" ] && kill -0 "$OLD" || fail "no guest reader running (log: $(grep 'guest reader' "$T/broker.log"))"
check_sandbox "$OLD"
echo "ok: reader $OLD: seccomp filter, no_new_privs, $(grep '^Uid' "/proc/$OLD/status" | tr -s '\t ' ' '), 7 descriptors, no QMP"

kill -9 "$OLD"
wait_for "the death logged" "grep -q 'guest reader (pid $OLD) killed by signal 9 (SIGKILL)' '$T/broker.log'"
wait_for "a new reader" "[ \"\$(reader_pid)\" != $OLD ] && kill -0 \"\$(reader_pid)\""
NEW=$(reader_pid)
[ "$(grep -c "guest reader (pid $OLD)" "$T/broker.log")" = 1 ] || fail "death of $OLD not logged exactly once"
kill -0 "$BROKER_PID" || fail "broker died with its reader"
check_sandbox "$NEW"
echo "ok: $(grep "guest reader (pid $OLD)" "$T/broker.log" | sed 's/^.*guest reader/guest reader/')"
# The restart is counted where operators look, not only in the log.
ctl metrics | grep -q '^vmrd_host_guest_reader_restarts_total 1$' ||
	fail "metrics: $(ctl metrics | grep guest_reader)"
ctl metrics | grep -q '^vmrd_host_guest_reader_up 1$' || fail "metrics: reader not up"
ctl status | grep -q "^guest reader: pid $NEW, restarts 1$" ||
	fail "status: $(ctl status | grep 'guest reader')"
echo "ok: status and metrics count the restart"

# Nothing of either VM was lost: target, QEMU's size, the session.
for vm in a b; do
	[ "$(json_vm $vm hello)" = true ] || fail "$vm lost its hello"
	[ "$(json_vm $vm channel)" = true ] || fail "$vm lost its channel"
done
[ "$(json_vm a target_bytes)" = $((1024 * MIB)) ] || fail "a target $(json_vm a target_bytes)"
[ "$(json_vm b target_bytes)" = $((1536 * MIB)) ] || fail "b target $(json_vm b target_bytes)"
[ "$(requested_size a)" = $((512 * MIB)) ] || fail "a requested-size $(requested_size a)"
[ "$(requested_size b)" = $((1024 * MIB)) ] || fail "b requested-size $(requested_size b)"
# The new reader reads the same channels: requests are granted without a new hello, garbage answered.
echo "request seq=2 target=$((1280 * MIB)) urgency=high reason=test" >&3
echo "frobnicate now" >&4
wait_for "grant a after the restart" "grep -q '^grant seq=2 target=$((1280 * MIB))' '$T/a.out'"
wait_for "b answered after the restart" "grep -q '^error reason=bad_verb' '$T/b.out'"
wait_for "requested-size a after the restart" "[ \"\$(requested_size a)\" = $((768 * MIB)) ]" 10
grep -q '^error reason=no_hello' "$T/a.out" "$T/b.out" && fail "a session was lost with the reader"
echo "ok: after the restart a is granted $(json_vm a target_bytes), b keeps $(json_vm b target_bytes)"

# The watchdog leaves a working reader alone: past its 10 s limit, the same reader.
sleep 12
[ "$(reader_pid)" = "$NEW" ] || fail "reader $NEW replaced while working: $(grep 'guest reader' "$T/broker.log" | tail -n 2)"
grep -q 'answered no ping' "$T/broker.log" && fail "a working reader was taken for stuck"
echo "ok: reader $NEW answered every ping for 12 s"

# The filter is real: an open() in the reader kills it with SIGSYS, the broker lives on.
kill "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null
start_guest a 3
start_guest b 4
export VMRD_PRIVSEP_SELFTEST=1
start_broker $VMS
unset VMRD_PRIVSEP_SELFTEST
wait_for "SIGSYS" "grep -q 'guest reader (pid [0-9]*) killed by signal 31 (SIGSYS' '$T/broker.log'"
ctl status >/dev/null || fail "broker not answering after its reader's SIGSYS"
grep -q 'self-test: open() was allowed' "$T/broker.log" && fail "open() was allowed in the reader"
echo "ok: $(grep -m 1 'SIGSYS' "$T/broker.log" | sed 's/^.*guest reader/guest reader/')"

# A reader stuck in a loop (alive, so no signal tells) is found by the watchdog and replaced.
kill "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null
start_guest a 3
start_guest b 4
export VMRD_PRIVSEP_SELFTEST=hang
start_broker $VMS
unset VMRD_PRIVSEP_SELFTEST
STUCK=$(reader_pid)
wait_for "the stuck reader replaced" \
	"grep -q 'guest reader (pid $STUCK) killed by signal 9 (SIGKILL), killed by vmrd-host: it answered no ping for' '$T/broker.log'" 30
ms=$(sed -n "s/.*guest reader (pid $STUCK) .*it answered no ping for \([0-9]*\) ms.*/\1/p" "$T/broker.log")
[ "$ms" -ge 10000 ] || fail "stuck reader killed after $ms ms without an answer, before the limit"
wait_for "a reader after the stuck one" "[ \"\$(reader_pid)\" != $STUCK ]"
ctl metrics | grep -q '^vmrd_host_guest_reader_restarts_total [1-9]' || fail "the stuck reader's restart not counted"
echo "ok: $(grep "guest reader (pid $STUCK)" "$T/broker.log" | sed 's/^.*guest reader/guest reader/')"
echo "PASS"
