#!/bin/sh
# vmrd-host against a real QEMU: a guest request becomes a virtio-mem
# requested-size; a restarted broker (even killed with SIGKILL) loses and
# double-counts nothing; a killed QEMU is reported and reconnected.
set -u
. "$(dirname "$0")/qemu_lib.sh"

# No guest driver plugs memory, so convergence must not cut grants back.
printf 'budget = 4G\nconverge_timeout = 1h\n' >"$T/host.conf"
VM="--vm name=t,qmp=$T/t.qmp,channel=$T/t.guest,virtio-mem=vmem0,min=512M,max=3G,weight=100"

start_qemu t
start_guest t 3
start_broker $VM

echo "hello v=1 block=2097152 current=536870912 agent=qemu-test" >&3
wait_for "welcome" "grep -q '^welcome v=1 min=536870912 max=3221225472 current=536870912 block=2097152' '$T/t.out'"

echo "request seq=1 target=$((1024 * MIB)) urgency=high reason=test" >&3
wait_for "grant 1" "grep -q '^grant seq=1 target=1073741824' '$T/t.out'"
wait_for "requested-size 512M" "[ \"\$(requested_size t)\" = $((512 * MIB)) ]" 10
echo "ok: grant of 1 GiB set requested-size to $(requested_size t)"

# Garbage gets an error with a reason, and the connection stays up below the limit.
echo "frobnicate now" >&3
wait_for "error reply" "grep -q '^error reason=bad_verb' '$T/t.out'"
echo "ok: garbage answered with $(grep '^error' "$T/t.out" | head -n 1)"
# A host verb from the guest is valid syntax but the wrong direction.
echo "grant seq=9 target=$((4096 * MIB)) current=$((512 * MIB))" >&3
wait_for "unexpected verb" "grep -q '^error reason=unexpected_verb' '$T/t.out'"
[ "$(requested_size t)" = $((512 * MIB)) ] || { echo "FAIL: a guest's grant changed requested-size"; exit 1; }

# SIGKILL: no chance to save on exit; the state file must already be right.
kill -9 "$BROKER_PID"
grep -q "^vm t target=1073741824$" "$T/state" || fail "state file: $(cat "$T/state")"
start_broker $VM
wait_for "reconcile after restart" "[ \"\$(json_vm t reconciled)\" = true ]"
[ "$(json_vm t target_bytes)" = $((1024 * MIB)) ] || fail "target after restart: $(json_vm t target_bytes)"
[ "$(requested_size t)" = $((512 * MIB)) ] || fail "requested-size after restart: $(requested_size t)"
echo "ok: restarted broker keeps target $(json_vm t target_bytes), QEMU still at $(requested_size t)"

# The guest channel reconnects (socat served one connection: serve again).
start_guest t 3
wait_for "channel reconnect" "[ \"\$(json_vm t channel)\" = true ]"
echo "hello v=1 block=2097152 current=536870912 agent=qemu-test" >&3
wait_for "hello after restart" "[ \"\$(json_vm t hello)\" = true ]"

# Kill QEMU: the broker survives, says so, and reconnects to a new QEMU.
eval "kill -9 \$QEMU_t"
wait_for "QMP down in status" "[ \"\$(json_vm t qmp)\" = down ]"
kill -0 "$BROKER_PID" || fail "broker died with QEMU"
echo "ok: QEMU killed, status says qmp=$(json_vm t qmp)"
rm -f "$T/t.qmp" "$T/t.testqmp"
start_qemu t
wait_for "QMP reconnect" "[ \"\$(json_vm t qmp)\" = ready ] && [ \"\$(json_vm t reconciled)\" = true ]" 30
[ "$(json_vm t qmp_connects)" -ge 2 ] || fail "qmp_connects $(json_vm t qmp_connects)"
echo "ok: reconnected to the new QEMU (connects $(json_vm t qmp_connects), target $(json_vm t target_bytes))"

# The fresh QEMU starts at requested-size 0; the next grant is applied to it.
echo "request seq=2 target=$((1536 * MIB)) urgency=critical reason=test" >&3
wait_for "grant 2" "grep -q '^grant seq=2 target=1610612736' '$T/t.out'"
wait_for "requested-size 1G" "[ \"\$(requested_size t)\" = $((1024 * MIB)) ]" 10
echo "ok: grant after QEMU restart set requested-size to $(requested_size t)"

grep -q 'vm t: grant seq 1 target 1073741824 reason' "$T/broker.log" || fail "no decision log line"
ctl metrics | grep -q '^vmrd_host_vm_target_bytes{vm="t"} 1610612736$' || fail "metrics"
# vmrctl, the tool people use, shows the same through its "host" commands.
"$VMRCTL" -s "$T/ctl.sock" host status >"$T/vmrctl.out" || fail "vmrctl host status"
grep -q '^t ' "$T/vmrctl.out" || fail "vmrctl host status has no row for t: $(cat "$T/vmrctl.out")"
"$VMRCTL" -s "$T/ctl.sock" --json host status | python3 -c 'import json,sys; json.load(sys.stdin)' ||
	fail "vmrctl --json host status is not JSON"
# SIGHUP: a VM added to the file appears, a bad file changes nothing, removal works.
cp "$T/host.conf" "$T/host.conf.orig"
printf '[vm u]\nqmp = %s\nchannel = %s\nvirtio_mem = vmem0\nmin = 512M\nmax = 1G\n' \
	"$T/u.qmp" "$T/u.guest" >>"$T/host.conf"
kill -HUP "$BROKER_PID"
wait_for "vm u added" "[ \"\$(json_vm u name)\" = u ]"
echo "budget = nonsense" >>"$T/host.conf"
kill -HUP "$BROKER_PID"
wait_for "bad reload refused" "grep -q 'keeping the old one' '$T/broker.log'"
[ "$(json_vm u name)" = u ] || fail "bad reload changed the VMs"
cp "$T/host.conf.orig" "$T/host.conf"
kill -HUP "$BROKER_PID"
wait_for "vm u removed" "[ -z \"\$(json_vm u name)\" ]"
[ "$(json_vm t target_bytes)" = 1610612736 ] || fail "reload lost t's target"
echo "ok: SIGHUP added and removed a VM, refused a bad file, kept t at $(json_vm t target_bytes)"
echo "PASS"
