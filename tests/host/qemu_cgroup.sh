#!/bin/sh
# vmrd-host's budget from a real cgroup: two paused QEMUs in a memory cgroup
# made for the test (cgroup v2 memory.max, or the v1 memory controller of a
# hybrid host), and budget = cgroup:/NAME.  Asserts: the budget is the
# cgroup's limit; each VM's RSS is read from its QEMU, found by the peer
# credentials of its QMP socket, and its own memory (smaps: RSS outside the
# guest RAM mappings) counts though its guest has touched none; growth stays
# within the limit less both overheads; lowering
# the limit at run time cuts the targets, and QEMU's requested-size follows.
# Skips (77) without root or a memory controller.
set -u
. "$(dirname "$0")/qemu_lib.sh"
TESTCG="$(dirname "$0")/../../scripts/bench/testcg.py"
python3 "$TESTCG" check || { echo "SKIP: cannot make a memory cgroup (root and a memory controller needed)"; exit 77; }
CG=vmrd-test-cgroup-$$
python3 "$TESTCG" create "$CG" 2G || fail "cannot create cgroup $CG"
trap 'cleanup; python3 "$TESTCG" destroy "$CG"' EXIT INT TERM
QEMU_WRAP="python3 $TESTCG exec $CG --"

printf 'budget = cgroup:/%s\nconverge_timeout = 1h\n' "$CG" >"$T/host.conf"
start_qemu a
start_qemu b
start_guest a 3
VMS="--vm name=a,qmp=$T/a.qmp,channel=$T/a.guest,virtio-mem=vmem0,min=512M,max=3G"
VMS="$VMS --vm name=b,qmp=$T/b.qmp,channel=$T/b.guest,virtio-mem=vmem0,min=512M,max=3G"
"$BROKER" -n -c "$T/host.conf" $VMS >"$T/check.out" 2>&1 || fail "vmrd-host -n: $(cat "$T/check.out")"
start_broker $VMS
wait_for "both reconciled" "[ \"\$(json_vm a reconciled)\" = true ] && [ \"\$(json_vm b reconciled)\" = true ]"

host_json() {
	ctl "status json" | sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p"
}
[ "$(host_json budget_bytes)" = $((2048 * MIB)) ] || fail "budget $(host_json budget_bytes)"
[ "$(host_json budget_source)" = "cgroup:/$CG" ] || fail "budget source $(host_json budget_source)"
wait_for "RSS of both QEMUs" "[ \"\$(json_vm a rss_bytes)\" -gt 0 ] && [ \"\$(json_vm b rss_bytes)\" -gt 0 ]" 10
grep -q "vm a: QMP connected to .* (QEMU pid $QEMU_a)" "$T/broker.log" || fail "QEMU's pid not found by SO_PEERCRED"
echo "ok: budget $(host_json budget_bytes) from cgroup:/$CG; QEMU RSS a $(json_vm a rss_bytes), b $(json_vm b rss_bytes)"

echo "hello v=1 block=2097152 current=$((512 * MIB)) agent=cgroup-test" >&3
wait_for "welcome" "grep -q '^welcome' '$T/a.out'"
echo "request seq=1 target=$((3072 * MIB)) urgency=high reason=test" >&3
wait_for "grant" "grep -q '^grant seq=1' '$T/a.out'"
# Each paused QEMU holds its own memory (heap, libraries) and none of its
# guest's: the budget counts that overhead although RSS is below the size.
OVH_A=$(json_vm a overhead_bytes) OVH_B=$(json_vm b overhead_bytes)
[ "$OVH_A" -gt 0 ] && [ "$OVH_B" -gt 0 ] || fail "QEMU's own memory not counted: overheads $OVH_A $OVH_B"
[ "$OVH_A" -le "$(json_vm a rss_bytes)" ] || fail "overhead $OVH_A above RSS $(json_vm a rss_bytes)"
# 2 GiB of cgroup less b's 512 MiB and both overheads is a's, in 2 MiB blocks.
within_room() { # target room
	[ "$1" -le "$2" ] && [ "$1" -gt $(($2 - 4 * MIB)) ]
}
GRANT=$(sed -n 's/^grant seq=1 target=\([0-9]*\) .*/\1/p' "$T/a.out")
within_room "$GRANT" $((2048 * MIB - 512 * MIB - OVH_A - OVH_B)) ||
	fail "grant $GRANT, room $((2048 * MIB - 512 * MIB - OVH_A - OVH_B))"
wait_for "requested-size follows" "[ \"\$(requested_size a)\" = $((GRANT - 512 * MIB)) ]" 10
echo "ok: a grew to the cgroup's limit less both QEMUs' own $(((OVH_A + OVH_B) / MIB)) MiB: $(grep '^grant seq=1' "$T/a.out")"

# The limit is lowered under the broker: the budget follows, a is cut.
python3 "$TESTCG" limit "$CG" 1536M || fail "cannot lower the limit"
wait_for "budget follows" "[ \"\$(host_json budget_bytes)\" = $((1536 * MIB)) ]" 10
wait_for "a cut" "[ \"\$(json_vm a target_bytes)\" -lt $((1024 * MIB)) ]" 10
CUT=$(json_vm a target_bytes) OVH=$(($(json_vm a overhead_bytes) + $(json_vm b overhead_bytes)))
within_room "$CUT" $((1536 * MIB - 512 * MIB - OVH)) || fail "cut to $CUT, room $((1536 * MIB - 512 * MIB - OVH))"
wait_for "QEMU follows" "[ \"\$(requested_size a)\" = $((CUT - 512 * MIB)) ]" 10
grep -q "vm a: .*target $CUT reason budget" "$T/broker.log" || fail "no budget cut logged"
grep -q "^reclaim target=$CUT urgency=high" "$T/a.out" || fail "a was not asked to reclaim"
[ "$(json_vm b target_bytes)" = $((512 * MIB)) ] || fail "b target $(json_vm b target_bytes)"
echo "ok: limit lowered to 1536 MiB: budget $(host_json budget_bytes), a cut to $CUT (requested-size $(requested_size a)), b kept its min"
echo "PASS"
