# Shared helpers of the vmrd-host QEMU tests (sourced, POSIX sh + socat).
# No guest kernel is needed: QEMU runs paused (-S) and still accepts
# virtio-mem requested-size changes; the test itself plays the guest by
# serving the channel socket vmrd-host connects to.

BROKER=${BROKER:?BROKER must name the vmrd-host binary}
command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: no qemu-system-x86_64"; exit 77; }
command -v socat >/dev/null || { echo "SKIP: no socat"; exit 77; }

T=$(mktemp -d /tmp/vmrd-host-test.XXXXXX)
PIDS=""

cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	sleep 0.2
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT INT TERM

fail() {
	echo "FAIL: $*"
	for f in "$T"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }; done
	exit 1
}

# start_qemu NAME: a q35 VM with 512 MiB boot memory and an empty virtio-mem.
# QEMU_WRAP, when set, is a command QEMU is started through (e.g. one that
# puts it in a cgroup and execs it under the same pid).
start_qemu() {
	${QEMU_WRAP:-} qemu-system-x86_64 -M q35 -accel tcg -nographic -nodefaults \
		-m 512M,maxmem=4G -object memory-backend-ram,id=mem0,size=3584M \
		-device virtio-mem-pci,id=vmem0,memdev=mem0,block-size=2M,requested-size=0 \
		-device virtio-balloon-pci,id=balloon0 -device virtio-serial-pci \
		-chardev socket,id=ch0,path="$T/$1.vport",server=on,wait=off \
		-device virtserialport,chardev=ch0,name=org.vmrd.0 \
		-qmp unix:"$T/$1.qmp",server=on,wait=off \
		-qmp unix:"$T/$1.testqmp",server=on,wait=off -S >"$T/qemu-$1.log" 2>&1 &
	eval "QEMU_$1=$!"
	PIDS="$PIDS $!"
	wait_for "QEMU $1 QMP socket" "[ -S '$T/$1.testqmp' ]"
}

# wait_for WHAT CONDITION [SECONDS]: poll a shell condition every 100 ms.
wait_for() {
	_n=$(( ${3:-30} * 10 ))
	while ! eval "$2" 2>/dev/null; do
		_n=$((_n - 1))
		[ $_n -gt 0 ] || fail "timed out waiting for $1"
		sleep 0.1
	done
}

# requested_size NAME: virtio-mem requested-size, asked on the test's own QMP socket.
requested_size() {
	printf '%s\n%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-memory-devices"}' |
		socat -t 2 - UNIX-CONNECT:"$T/$1.testqmp" |
		sed -n 's/.*"requested-size": \([0-9]*\).*/\1/p' | head -n 1
}

# start_guest NAME FD: serve NAME's channel socket; lines written to FD go
# to the broker, the broker's messages are appended to $T/NAME.out.
start_guest() {
	# A previous server for this name unlinks the socket path when it exits,
	# which would remove the new server's socket: let it finish first.
	eval "_old=\${GUEST_PID_$1:-}"
	if [ -n "$_old" ]; then
		kill "$_old" 2>/dev/null
		wait "$_old" 2>/dev/null
	fi
	rm -f "$T/$1.in"
	mkfifo "$T/$1.in"
	# Opened read-write so neither side blocks on the open.
	eval "exec $2<>\"\$T/\$1.in\""
	socat UNIX-LISTEN:"$T/$1.guest",unlink-early STDIO <"$T/$1.in" >>"$T/$1.out" 2>>"$T/socat-$1.log" &
	PIDS="$PIDS $!"
	eval "GUEST_PID_$1=$!"
	wait_for "guest socket $1" "[ -S '$T/$1.guest' ]"
}

ctl() {
	echo "$1" | socat -t 2 - UNIX-CONNECT:"$T/ctl.sock"
}

# json_vm NAME KEY: a value from `status json` for one VM (keys are stable and flat).
json_vm() {
	ctl "status json" | sed 's/},{/}\n{/g' | grep "\"name\":\"$1\"" |
		sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p"
}

start_broker() {
	"$BROKER" -d -c "$T/host.conf" --state "$T/state" --control "$T/ctl.sock" "$@" \
		>>"$T/broker.log" 2>&1 &
	BROKER_PID=$!
	PIDS="$PIDS $!"
	wait_for "control socket" "ctl status >/dev/null"
}

MIB=1048576

# start_fake NAME MODE [BOOT]: a fake QMP peer (tests/host/fake_qmp.py, fault
# injection only) on $T/NAME.qmp; its mode is switched by writing $T/NAME.mode.
start_fake() {
	echo "$2" >"$T/$1.mode"
	python3 "$(dirname "$0")/fake_qmp.py" "$T/$1.qmp" "$T/$1.mode" --boot $((${3:-512} * MIB)) \
		--size $((1024 * MIB)) --max $((2048 * MIB)) >"$T/fake-$1.log" 2>&1 &
	eval "FAKE_$1=$!"
	PIDS="$PIDS $!"
	wait_for "fake QMP $1" "[ -S '$T/$1.qmp' ]"
}

# count PATTERN FILE: lines of FILE matching PATTERN (0 when none or no file).
count() {
	grep -c "$1" "$2" 2>/dev/null || true
}
