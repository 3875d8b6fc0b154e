#!/bin/sh
# The broker's real `metrics`, into OUT: vmrd-host with one VM in a real
# QEMU (paused TCG, tests/host/qemu_lib.sh), the test playing the guest,
# after a request was granted and applied to the virtio-mem device.
#   BROKER=... collect_host.sh OUT
set -u
OUT=$1
. "$(dirname "$0")/../host/qemu_lib.sh"

printf 'budget = 4G\nconverge_timeout = 1h\n' >"$T/host.conf"
start_qemu t
start_guest t 3
start_broker --vm "name=t,qmp=$T/t.qmp,channel=$T/t.guest,virtio-mem=vmem0,min=512M,max=3G"
echo "hello v=1 block=2097152 current=536870912 agent=metrics-test" >&3
wait_for "welcome" "grep -q '^welcome' '$T/t.out'"
echo "report mem_total=536870912 mem_available=134217728 psi_some_avg10=1250 psi_full_avg10=80" >&3
echo "request seq=1 target=$((1024 * MIB)) urgency=high reason=test" >&3
wait_for "grant" "grep -q '^grant seq=1' '$T/t.out'"
wait_for "requested-size 512M" "[ \"\$(requested_size t)\" = $((512 * MIB)) ]" 10
ctl metrics >"$OUT" || fail "metrics"
[ -s "$OUT" ] || fail "empty metrics"
