#!/bin/sh
# A guest that says hello before QEMU has told the broker the VM's size is
# answered once it has: the welcome carries QEMU's numbers, never a guess.
set -u
. "$(dirname "$0")/qemu_lib.sh"

printf 'budget = 4G\n' >"$T/host.conf"
start_guest t 3
start_broker --vm name=t,qmp=$T/t.qmp,channel=$T/t.guest,virtio-mem=vmem0,min=512M,max=3G
wait_for "channel" "[ \"\$(json_vm t channel)\" = true ]"
echo "hello v=1 block=2097152 current=536870912 agent=qemu-test" >&3
wait_for "hello" "[ \"\$(json_vm t hello)\" = true ]"
sleep 1
if grep -q '^welcome' "$T/t.out"; then
	fail "welcome before QEMU answered: $(grep '^welcome' "$T/t.out")"
fi
echo "ok: no welcome while QEMU is away"

start_qemu t
wait_for "welcome" "grep -q '^welcome v=1 min=536870912 max=3221225472 current=536870912 block=2097152' '$T/t.out'"
[ "$(grep -c '^welcome' "$T/t.out")" = 1 ] || fail "more than one welcome: $(cat "$T/t.out")"
echo "ok: welcome after reconcile: $(grep '^welcome' "$T/t.out")"
