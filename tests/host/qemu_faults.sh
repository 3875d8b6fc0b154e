#!/bin/sh
# Fault injection with a fake QMP peer (tests/host/fake_qmp.py) for what a
# real QEMU cannot be made to do: a guest that never carries out a granted
# shrink ("lag"), and a QEMU that refuses the new size ("error").  A third
# VM is a real QEMU, and it is the one asking for the memory.  Asserts:
# a shrink not confirmed or not carried out frees no budget (the real VM
# gets only what is really free); a refused resize is rolled back (QEMU's
# size still counts) and retried with backoff; once the faults end, the
# room goes to the VM that asked.
set -u
. "$(dirname "$0")/qemu_lib.sh"

printf 'budget = 4G\noverhead = 0\nconverge_timeout = 1h\n' >"$T/host.conf"
start_fake lag lag
start_fake err ok
start_qemu t
start_guest lag 3
start_guest err 4
start_guest t 5
VMS="--vm name=lag,qmp=$T/lag.qmp,channel=$T/lag.guest,virtio-mem=vmem0,min=512M,max=2560M"
VMS="$VMS --vm name=err,qmp=$T/err.qmp,channel=$T/err.guest,virtio-mem=vmem0,min=512M,max=2560M"
VMS="$VMS --vm name=t,qmp=$T/t.qmp,channel=$T/t.guest,virtio-mem=vmem0,min=512M,max=3G"
start_broker $VMS

echo "hello v=1 block=2097152 current=$((1536 * MIB)) agent=fault-test" >&3
echo "hello v=1 block=2097152 current=$((1536 * MIB)) agent=fault-test" >&4
echo "hello v=1 block=2097152 current=$((512 * MIB)) agent=fault-test" >&5
for vm in lag err t; do wait_for "welcome $vm" "grep -q '^welcome' '$T/$vm.out'"; done

# lag: the shrink is granted and QEMU takes it, but the guest never unplugs.
echo "request seq=1 target=$((512 * MIB)) urgency=low reason=test" >&3
wait_for "lag: grant" "grep -q '^grant seq=1 target=$((512 * MIB))' '$T/lag.out'"
wait_for "lag: applied" "[ \"\$(json_vm lag applied_bytes)\" = $((512 * MIB)) ]"
# err: the shrink is granted, QEMU refuses it.
echo error >"$T/err.mode"
echo "request seq=1 target=$((512 * MIB)) urgency=low reason=test" >&4
wait_for "err: grant" "grep -q '^grant seq=1 target=$((512 * MIB))' '$T/err.out'"
wait_for "err: refusal logged" "grep -q 'vm err: resize to $((512 * MIB)) not applied' '$T/broker.log'"
[ "$(json_vm lag accounted_bytes)" = $((1536 * MIB)) ] || fail "lag accounted $(json_vm lag accounted_bytes)"
[ "$(json_vm err applied_bytes)" = $((1536 * MIB)) ] || fail "err applied $(json_vm err applied_bytes)"
[ "$(json_vm err accounted_bytes)" = $((1536 * MIB)) ] || fail "err accounted $(json_vm err accounted_bytes)"
echo "ok: lag counts $(json_vm lag accounted_bytes) (applied $(json_vm lag applied_bytes)), err rolled back to applied $(json_vm err applied_bytes)"

# t asks for 2 GiB more: only the 512 MiB really free may be granted.
echo "request seq=1 target=$((2560 * MIB)) urgency=high reason=test" >&5
wait_for "t: answer" "grep -q '^\(grant\|deny\) seq=1' '$T/t.out'"
grep -q "^grant seq=1 target=$((1024 * MIB)) " "$T/t.out" || fail "t: $(grep 'seq=1' "$T/t.out")"
wait_for "t: requested-size 512M" "[ \"\$(requested_size t)\" = $((512 * MIB)) ]" 10
sleep 1
[ "$(requested_size t)" = $((512 * MIB)) ] || fail "t got more: requested-size $(requested_size t)"
echo "ok: t was granted only the free 512 MiB (requested-size $(requested_size t)), not the room of unfinished shrinks"

# The refused resize is retried, with growing gaps.
wait_for "err: retried" "[ \$(grep -c '^cmd qom-set .*mode=error' '$T/fake-err.log') -ge 3 ]" 15
echo "ok: err's resize retried $(grep -c '^cmd qom-set' "$T/fake-err.log") times while refused"

# The faults end: err's retry goes through, lag's guest catches up; the room is t's.
echo ok >"$T/err.mode"
echo ok >"$T/lag.mode"
wait_for "err: applied after the retry" "[ \"\$(json_vm err applied_bytes)\" = $((512 * MIB)) ]" 15
echo "done seq=1 current=$((512 * MIB))" >&3
echo "done seq=1 current=$((512 * MIB))" >&4
wait_for "sizes caught up" "[ \"\$(json_vm lag current_bytes)\" = $((512 * MIB)) ] && [ \"\$(json_vm err current_bytes)\" = $((512 * MIB)) ]"
echo "request seq=2 target=$((2560 * MIB)) urgency=high reason=test" >&5
wait_for "t: grant 2" "grep -q '^grant seq=2 target=$((2560 * MIB))' '$T/t.out'"
wait_for "t: requested-size 2G" "[ \"\$(requested_size t)\" = $((2048 * MIB)) ]" 10
echo "ok: once given up, the memory went to t (requested-size $(requested_size t))"
echo "PASS"
