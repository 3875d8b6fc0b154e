#!/bin/sh
# Recovery without a person (issue 10, "Why" 1 and the QMP half of 6): QEMUs
# that answer late, never, or close on every command, played by the fake
# QMP peer (fault injection), beside a real QEMU whose guest keeps asking.
# Asserts: a reconciliation that timed out is retried until it works (the
# guest gets its welcome); reconnects back off and keep backing off while
# no command succeeds (a bound on connects per 15 s); a VM whose QEMU is
# gone (exit) is reported in status and logged once, keeps its size, and comes
# back by itself; the real VM's grants go on meanwhile.
set -u
. "$(dirname "$0")/qemu_lib.sh"

printf 'budget = 12G\noverhead = 0\nconverge_timeout = 1h\n' >"$T/host.conf"
start_fake slow slow
start_fake close close
start_fake hang hang
start_fake exit ok
start_qemu t
start_guest slow 3
start_guest t 4
VMS=""
for vm in slow close hang exit; do
	VMS="$VMS --vm name=$vm,qmp=$T/$vm.qmp,channel=$T/$vm.guest,virtio-mem=vmem0,min=512M,max=2560M"
done
start_broker $VMS --vm "name=t,qmp=$T/t.qmp,channel=$T/t.guest,virtio-mem=vmem0,min=512M,max=3G"
t0=$(date +%s)
echo "hello v=1 block=2097152 current=$((1536 * MIB)) agent=recovery-test" >&3
echo "hello v=1 block=2097152 current=$((512 * MIB)) agent=recovery-test" >&4
wait_for "welcome t" "grep -q '^welcome' '$T/t.out'"
echo "request seq=1 target=$((1024 * MIB)) urgency=high reason=test" >&4
wait_for "grant t" "grep -q '^grant seq=1' '$T/t.out'"
wait_for "exit reconciled" "[ \"\$(json_vm exit reconciled)\" = true ]"
exit_target=$(json_vm exit target_bytes)

# 1. slow answers every query 7 s late: the timeout must not leave it wedged.
wait_for "a QMP timeout of slow" "grep -q 'vm slow: .*timeout' '$T/broker.log'" 20
echo ok >"$T/slow.mode"
wait_for "welcome slow after the fault (Why 1)" "grep -q '^welcome' '$T/slow.out'" 30
[ "$(json_vm slow reconciled)" = true ] || fail "slow not reconciled"
echo "ok: slow reconciled and welcomed $(( $(date +%s) - t0 )) s after start, after $(count 'cmd query-memory-size-summary' "$T/fake-slow.log") summaries asked"

# 2. close drops every command: connects back off and do not reset (Why 6).
sleep $(( 15 - ($(date +%s) - t0) > 0 ? 15 - ($(date +%s) - t0) : 0 ))
n_close=$(count 'cmd qmp_capabilities' "$T/fake-close.log")
[ "$n_close" -le 10 ] || fail "close: $n_close connects in 15 s (the backoff resets)"
echo "ok: a QEMU that closes on every command got $n_close connects in $(( $(date +%s) - t0 )) s"

# 3. hang never answers: each command times out, the connection is dropped and made again.
n_hang=$(count 'cmd qmp_capabilities' "$T/fake-hang.log")
[ "$n_hang" -ge 2 ] || fail "hang: $n_hang connects: a command that timed out kept the connection"
[ "$n_hang" -le 6 ] || fail "hang: $n_hang connects in 15 s"
echo ok >"$T/hang.mode"
echo ok >"$T/close.mode"
wait_for "hang and close recover" "[ \"\$(json_vm hang reconciled)\" = true ] && [ \"\$(json_vm close reconciled)\" = true ]" 20
echo "ok: hang ($n_hang connects while hanging) and close recovered by themselves"

# 4. exit: its QEMU exits; reported in status and logged once, its size
# kept, and back by itself when QEMU is.
# (The debug lines of its guest channel retrying are not about QEMU.)
qemu_lines() { grep 'vm exit:' "$T/broker.log" | grep -vc ': channel '; }
before=$(qemu_lines)
kill "$FAKE_exit"
wait_for "exit reported down" "[ \"\$(json_vm exit qmp)\" = down ]" 10
sleep 8
[ "$(json_vm exit target_bytes)" = "$exit_target" ] || fail "exit: target $(json_vm exit target_bytes), was $exit_target"
n_log=$(( $(qemu_lines) - before ))
[ "$n_log" -ge 1 ] && [ "$n_log" -le 3 ] || fail "exit: $n_log log lines in 8 s after its QEMU exited: $(grep 'vm exit:' "$T/broker.log" | tail -n 5)"
err=$(json_vm exit qmp_error)
[ -n "$err" ] || fail "exit: no qmp_error in status"
start_fake exit ok
wait_for "exit back" "[ \"\$(json_vm exit reconciled)\" = true ]" 15
echo "ok: exit reported (qmp_error '$err', $n_log log lines in 8 s), target kept at $exit_target, back by itself"

# The real VM was never held up.
s=$(date +%s%N)
echo "request seq=2 target=$((2048 * MIB)) urgency=high reason=test" >&4
wait_for "grant t 2" "grep -q '^grant seq=2' '$T/t.out'" 30
echo "ok: t granted in $(( ($(date +%s%N) - s) / 1000000 )) ms after the faults"
kill -0 "$BROKER_PID" || fail "broker died"
echo "PASS"
