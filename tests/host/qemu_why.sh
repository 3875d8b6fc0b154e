#!/bin/sh
# `vmrctl host why` against vmrd-host and a real QEMU: the last decisions of
# a VM with their reasons and numbers, as text and JSON, a VM that does not
# exist, and a state file that cannot be written, said once and not after
# every decision.
set -u
. "$(dirname "$0")/qemu_lib.sh"
VMRCTL=${VMRCTL:?VMRCTL must name the vmrctl binary}

printf 'budget = 4G\nconverge_timeout = 1h\n' >"$T/host.conf"
mkdir "$T/statedir"
VM="--vm name=t,qmp=$T/t.qmp,channel=$T/t.guest,virtio-mem=vmem0,min=512M,max=3G"
start_qemu t
start_guest t 3
"$BROKER" -d -c "$T/host.conf" --state "$T/statedir/state" --control "$T/ctl.sock" $VM \
	>>"$T/broker.log" 2>&1 &
BROKER_PID=$!
PIDS="$PIDS $!"
wait_for "control socket" "ctl status >/dev/null"
why() { "$VMRCTL" -s "$T/ctl.sock" host why "$@"; }

why t >"$T/why0" || fail "vmrctl host why"
grep -q '^t (current .*): no decisions yet$' "$T/why0" || fail "before any decision: $(cat "$T/why0")"

echo "hello v=1 block=2097152 current=536870912 agent=why-test" >&3
wait_for "welcome" "grep -q '^welcome' '$T/t.out'"
echo "request seq=1 target=$((1024 * MIB)) urgency=high reason=test" >&3
wait_for "grant 1" "grep -q '^grant seq=1 target=1073741824' '$T/t.out'"
# Back down, then straight up again: a regrow soon after a shrink is held.
echo "request seq=2 target=$((768 * MIB)) urgency=low reason=test" >&3
wait_for "answer 2" "grep -q '^[a-z]* seq=2' '$T/t.out'"
echo "request seq=3 target=$((1536 * MIB)) urgency=high reason=test" >&3
wait_for "answer 3" "grep -q '^[a-z]* seq=3' '$T/t.out'"
why t >"$T/why" || fail "vmrctl host why t"
cat "$T/why"
grep -q '^t (current [0-9]* MiB, target [0-9]* MiB), oldest first:$' "$T/why" || fail "no heading"
grep -Eq '^ +[0-9]+s ago  grant +granted +seq 1  target 1024 MiB \(applied\)  asked 1024  current 512 ' \
	"$T/why" || fail "grant of seq 1 with its numbers"
grep -q "seq 2  target 768 MiB" "$T/why" || fail "the shrink of seq 2"
# What became of seq 3 is the arbiter's business; that it is there with its reason is ours.
line3=$(grep 'seq 3 ' "$T/why")
answer3=$(sed -n 's/^\([a-z]*\) seq=3.*/\1/p' "$T/t.out")
echo "$line3" | grep -q " $answer3 " || fail "seq 3 was answered $answer3, why says: $line3"
if [ "$answer3" = deny ]; then
	reason3=$(sed -n 's/^deny seq=3 reason=\([a-z_]*\).*/\1/p' "$T/t.out")
	echo "$line3" | grep -q " $reason3 " || fail "deny reason $reason3 not in: $line3"
fi
echo "ok: host why t shows the three answers with their reasons and numbers"

"$VMRCTL" -s "$T/ctl.sock" --json host why >"$T/why.json" || fail "--json host why"
python3 - "$T/why.json" <<'PY' || fail "why json: $(cat "$T/why.json")"
import json, sys
d = json.load(open(sys.argv[1]))
seqs = [x["seq"] for x in d if x["action"] in ("grant", "deny")]
assert seqs[:3] == [1, 2, 3], seqs
g = d[0]
assert (g["vm"], g["action"], g["reason"], g["target_bytes"], g["applied"]) == \
    ("t", "grant", "granted", 1024 << 20, True), g
assert all(x["age_usec"] >= 0 for x in d)
PY
echo "ok: --json host why is an array, oldest first"
why nosuch >"$T/nosuch" 2>&1 && fail "unknown VM: exit 0"
[ "$(cat "$T/nosuch")" = "error: no VM named nosuch" ] || fail "unknown VM: $(cat "$T/nosuch")"

# The state directory goes away: one warning, however many decisions follow.
rm -rf "$T/statedir"
for s in 4 5 6 7; do
	echo "request seq=$s target=$(((512 + 128 * s) * MIB)) urgency=critical reason=test" >&3
	wait_for "answer $s" "grep -q '^[a-z]* seq=$s' '$T/t.out'"
done
sleep 1.5
# Each grant changed the target, so each was a write that failed.
grants=$(grep -c '^grant seq=[4-7] ' "$T/t.out")
[ "$grants" -ge 2 ] || fail "only $grants grants after the directory went: nothing to prove"
n=$(grep -c 'cannot write state file' "$T/broker.log")
[ "$n" = 1 ] || fail "state file failure logged $n times"
mkdir "$T/statedir"
# A reload rewrites the state file.
kill -HUP "$BROKER_PID"
wait_for "state written again" "grep -q 'state file .* written again' '$T/broker.log'" 10
[ -s "$T/statedir/state" ] || fail "no state file after it could be written again"
echo "ok: an unwritable state file is said once ($n line for $grants failed writes), and its return once"
echo "PASS"
