#!/bin/sh
# The vmrd daemon end to end on a fixture root, with the example plugin as
# its backend: it grows when headroom is low, shrinks when calm, answers
# vmrctl, tells systemd READY/WATCHDOG/STOPPING, keeps its configuration on
# a bad SIGHUP, applies a good one, and exits cleanly on SIGTERM; all of it
# under its sandbox (no_new_privs, seccomp, no capabilities).
#   daemon.sh VMRD VMRCTL PLUGIN
set -u
VMRD=$1 VMRCTL=$2 PLUGIN=$3
t=$(mktemp -d)
pid=
notify_pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	[ -n "$notify_pid" ] && kill "$notify_pid" 2>/dev/null
	rm -rf "$t"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	echo "--- vmrd log:"
	cat "$t/log"
	exit 1
}

mkdir -p "$t/root/proc/pressure"
meminfo() { # total_mib available_mib
	cat >"$t/root/proc/meminfo.new" <<EOM
MemTotal:       $(($1 * 1024)) kB
MemFree:        $(($2 * 1024)) kB
MemAvailable:   $(($2 * 1024)) kB
Buffers:               0 kB
Cached:            10240 kB
Active(file):       5120 kB
Inactive(file):     5120 kB
Shmem:                 0 kB
SwapTotal:             0 kB
SwapFree:              0 kB
Committed_AS:     102400 kB
EOM
	mv "$t/root/proc/meminfo.new" "$t/root/proc/meminfo"
}
meminfo 512 40
printf 'oom_kill 0\nallocstall_normal 0\nworkingset_refault_file 0\n' >"$t/root/proc/vmstat"
printf 'some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n' \
	>"$t/root/proc/pressure/memory"

conf() { # headroom
	cat >"$t/vmrd.conf" <<EOC
[vmrd]
backend = plugin
interval = 100ms
fast_interval = 100ms
control = $t/vmrd.sock
mlock = no
oom_score_adj = 0

[policy]
min_headroom = $1
calm_hold = 1s
grow_hold = 1s
shrink_interval = 1s

[reclaim]
enabled = no

[plugin]
path = $PLUGIN
min = 256M
max = 4G
block = 128M
initial = 512M
EOC
}
conf 128M

# A stand-in for systemd's notification socket, recording what vmrd says.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(30)
with open(sys.argv[2], "a") as out:
    while True:
        try:
            msg = s.recv(4096)
        except socket.timeout:
            break
        out.write(msg.decode() + "\n")
        out.flush()
' "$t/notify" "$t/notified" &
notify_pid=$!
wait_for_sock() { n=50; while [ $n -gt 0 ] && [ ! -S "$t/notify" ]; do sleep 0.1; n=$((n - 1)); done; }
wait_for_sock

NOTIFY_SOCKET=$t/notify WATCHDOG_USEC=1000000 "$VMRD" -d -c "$t/vmrd.conf" --root "$t/root" >"$t/log" 2>&1 &
pid=$!

wait_for() { # seconds, command...
	n=$(($1 * 10))
	shift
	while [ $n -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

wait_for 10 test -S "$t/vmrd.sock" || fail "no control socket"
wait_for 5 grep -q '^READY=1' "$t/notified" || fail "no READY=1 on NOTIFY_SOCKET"
wait_for 5 grep -q '^WATCHDOG=1' "$t/notified" || fail "no WATCHDOG=1 on NOTIFY_SOCKET"
"$VMRCTL" -s "$t/vmrd.sock" status >"$t/status" || fail "vmrctl status"
grep -q 'backend *plugin (up)' "$t/status" || fail "status does not show the plugin up: $(cat "$t/status")"

wait_for 10 sh -c "'$VMRCTL' -s '$t/vmrd.sock' why | grep -q 'grow .*low_headroom'" ||
	fail "no grow on low headroom: $("$VMRCTL" -s "$t/vmrd.sock" why)"
"$VMRCTL" -s "$t/vmrd.sock" metrics >"$t/metrics" || fail "vmrctl metrics"
grows=$(sed -n 's/^vmrd_grows_total //p' "$t/metrics")
[ "${grows:-0}" -ge 1 ] || fail "vmrd_grows_total is '${grows}'"
"$VMRCTL" -s "$t/vmrd.sock" --json status | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["backend_up"] is True, d' ||
	fail "status json"

# The sandbox ([security] sandbox = yes, mlock = no): no_new_privs, a
# seccomp filter, no capabilities left; and it kept working (it grew).
st=/proc/$pid/status
grep -q '^NoNewPrivs:[[:space:]]*1$' "$st" || fail "no_new_privs not set: $(grep NoNewPrivs "$st")"
grep -q '^Seccomp:[[:space:]]*2$' "$st" || fail "no seccomp filter: $(grep Seccomp: "$st")"
grep -q '^CapEff:[[:space:]]*0*$' "$st" || fail "capabilities left: $(grep CapEff "$st")"
grep -q '^CapBnd:[[:space:]]*0*$' "$st" || fail "bounding set left: $(grep CapBnd "$st")"
grep -q 'sandbox: no_new_privs; capabilities .* -> 0x0; seccomp allows [0-9]* system calls' "$t/log" ||
	fail "the sandbox was not logged"

# Under a service manager that kept only CAP_IPC_LOCK in the bounding set
# (vmrd.service), vmrd cannot drop that one from it (no CAP_SETPCAP): it
# says so and still takes the rest of the sandbox, the filter included.
if [ "$(id -u)" -eq 0 ]; then
	setpriv --bounding-set=-all,+ipc_lock "$VMRD" -d -c "$t/vmrd.conf" --root "$t/root" \
		--control "$t/vmrd2.sock" >"$t/log2" 2>&1 &
	pid2=$!
	wait_for 10 test -S "$t/vmrd2.sock" || { cat "$t/log2"; fail "bounded vmrd: no control socket"; }
	st2=/proc/$pid2/status
	seccomp2=$(grep '^Seccomp:' "$st2")
	capeff2=$(grep '^CapEff:' "$st2")
	kill -TERM "$pid2"
	wait "$pid2"
	echo "$seccomp2" | grep -q '2$' || { cat "$t/log2"; fail "bounded vmrd: no seccomp filter: $seccomp2"; }
	echo "$capeff2" | grep -q ':[[:space:]]*0*$' || fail "bounded vmrd: capabilities left: $capeff2"
	grep -q 'sandbox: not every capability could be dropped' "$t/log2" ||
		{ cat "$t/log2"; fail "bounded vmrd: the kept capability was not logged"; }
	grep -q 'seccomp allows [0-9]* system calls' "$t/log2" || fail "bounded vmrd: no filter logged"
else
	echo "not root: the bounded-capability run is left out"
fi

# Plenty of memory and no pressure: after the holds, it gives memory back.
meminfo 4096 3500
wait_for 20 sh -c "'$VMRCTL' -s '$t/vmrd.sock' why | grep -q 'shrink .*surplus'" ||
	fail "no shrink when calm: $("$VMRCTL" -s "$t/vmrd.sock" why)"

# A broken configuration on SIGHUP is refused and the daemon keeps running.
cp "$t/vmrd.conf" "$t/vmrd.conf.good"
echo "bogus line" >>"$t/vmrd.conf"
kill -HUP "$pid"
wait_for 5 grep -q 'keeping the running configuration' "$t/log" || fail "bad reload not refused"
kill -0 "$pid" || fail "daemon died on a bad reload"
conf 256M
kill -HUP "$pid"
wait_for 5 grep -q 'reload: .* applied' "$t/log" || fail "good reload not applied"

kill -TERM "$pid"
wait_for 5 sh -c "! kill -0 $pid" || fail "daemon did not exit on SIGTERM"
wait "$pid"
status=$?
pid=
[ "$status" -eq 0 ] || fail "exit status $status"
[ ! -e "$t/vmrd.sock" ] || fail "control socket left behind"
grep -q '^STOPPING=1' "$t/notified" || fail "no STOPPING=1 on NOTIFY_SOCKET"
echo "ok: grew ($grows), shrank, reloaded, exited"
