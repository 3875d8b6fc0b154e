#!/bin/sh
# vmrd's start-up messages for paths it cannot use: a missing or
# unreadable configuration file (78: a restart cannot help) and a control
# socket it cannot bind (73).  Each is one line naming the path and the
# fix.  An empty control key runs without a socket.  The permission case
# runs as nobody when the test runs as root.
#   startup_messages.sh VMRD TREE
set -u
VMRD=$1 TREE=$2
STARTUP_TMP=vmrd-paths
. "$(dirname "$0")/../startup_lib.sh"
cleanup() { rm -rf "$T"; }
trap cleanup EXIT

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
