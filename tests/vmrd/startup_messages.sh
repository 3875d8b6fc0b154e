#!/bin/sh
# vmrd's start-up messages for paths it cannot use: a missing or
# unreadable configuration file (78: a restart cannot help) and a control
# socket it cannot bind (73).  Each is one line naming the path and the
# fix.  An empty control key runs without a socket.  The permission case
# runs as nobody when the test runs as root.
#   startup_messages.sh VMRD TREE
set -u
VMRD=$1 TREE=$2
T=$(mktemp -d /tmp/vmrd-paths.XXXXXX)
chmod 0755 "$T"
cleanup() { rm -rf "$T"; }
trap cleanup EXIT
failed=0
fail() { echo "FAIL: $*"; failed=1; }
if [ "$(id -u)" -eq 0 ]; then
	AS_USER="setpriv --reuid=nobody --regid=nogroup --clear-groups"
else
	AS_USER=
fi

# expect NAME STATUS PATTERN... -- COMMAND: the status, and one stderr line with every pattern.
expect() {
	name=$1 want=$2
	shift 2
	pats=
	while [ "$1" != -- ]; do pats="$pats
$1"; shift; done
	shift
	timeout 10 "$@" >"$T/out" 2>"$T/all" </dev/null
	st=$?
	[ "$st" = "$want" ] || fail "$name: exit status $st, want $want: $(cat "$T/all")"
	# Earlier lines are the daemon's start (PSI, reclaim); the last one says why it stops.
	tail -n 1 "$T/all" >"$T/err"
	echo "$pats" | while IFS= read -r p; do
		[ -z "$p" ] && continue
		grep -qF -- "$p" "$T/err" || echo "$name: no '$p' in: $(cat "$T/err")"
	done >"$T/missing"
	[ -s "$T/missing" ] && fail "$(cat "$T/missing")"
	echo "ok: $name: $(cat "$T/err")"
}

expect "missing config" 78 "$T/none.conf" "no such file" "create it" "-c FILE" "--print-defaults" -- \
	"$VMRD" -n -c "$T/none.conf"
printf '[vmrd]\nmlock = no\n' >"$T/secret.conf"
chmod "$([ -n "$AS_USER" ] && echo 0600 || echo 0000)" "$T/secret.conf"
expect "unreadable config" 78 "$T/secret.conf" "permission denied" "make it readable" -- \
	$AS_USER "$VMRD" -n -c "$T/secret.conf"

printf '[vmrd]\nmlock = no\noom_score_adj = 0\n[reclaim]\nenabled = no\n' >"$T/vmrd.conf"
expect "unbindable control socket" 73 "control socket $T/no/such/dir/vmrd.sock" "cannot listen" \
	"set control to nothing" -- \
	"$VMRD" -c "$T/vmrd.conf" --root "$TREE" --backend sysfs --dry-run --control "$T/no/such/dir/vmrd.sock"

# No socket at all: the daemon runs (and is stopped by timeout, status 124).
printf '[vmrd]\ncontrol =\nmlock = no\noom_score_adj = 0\n[reclaim]\nenabled = no\n' >"$T/none.conf"
timeout 2 "$VMRD" -c "$T/none.conf" --root "$TREE" --backend sysfs --dry-run >/dev/null 2>"$T/err"
st=$?
[ "$st" = 124 ] || fail "control = (empty): exit status $st, want a running daemon: $(cat "$T/err")"
grep -q "control socket" "$T/err" && fail "control = (empty) still talks of a socket: $(cat "$T/err")"
[ "$st" = 124 ] && echo "ok: control = (empty) runs without a socket"
exit $failed
