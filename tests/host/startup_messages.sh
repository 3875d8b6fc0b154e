#!/bin/sh
# vmrd-host's start-up messages for paths it cannot use: a missing or
# unreadable configuration file, a state directory it cannot create or
# write, a control socket directory it cannot write.  Each is one line that
# names the path and the fix, and the exit status says whether a retry can
# help (78 configuration, 73 cannot create).  A missing state directory is
# created.  The permission cases run as nobody when the test runs as root.
#   startup_messages.sh VMRD_HOST
set -u
BROKER=$1
STARTUP_TMP=vmrd-host-paths STARTUP_ONE_LINE=1
. "$(dirname "$0")/../startup_lib.sh"
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
if [ -n "$AS_USER" ]; then
	own() { chown nobody:nogroup "$@"; }
else
	own() { :; }
fi
VM="--vm name=t,qmp=$T/t.qmp,channel=$T/t.ch,virtio-mem=vmem0,min=512M,max=1G"

# The configuration file.
expect "missing config" 78 "$T/none.conf" "no such file" "create it" "-c FILE" "--vm" "--libvirt" -- \
	"$BROKER" -n -c "$T/none.conf"
printf 'budget = 1G\n' >"$T/secret.conf"
# Root's file, unreadable by nobody; or unreadable by its owner when not root.
chmod "$([ -n "$AS_USER" ] && echo 0600 || echo 0000)" "$T/secret.conf"
expect "unreadable config" 78 "$T/secret.conf" "permission denied" "make it readable" -- \
	$AS_USER "$BROKER" -n -c "$T/secret.conf"
"$BROKER" --help | grep -q "default .*vmrd-host.conf" || fail "usage does not name the default config"

# The state directory: created when missing, with its parents.
mkdir "$T/rw" "$T/ro"
chmod 0555 "$T/ro"
own "$T/rw"
$AS_USER "$BROKER" $VM --state "$T/rw/a/b/state" --control "$T/rw/ctl.sock" >"$T/log" 2>&1 &
pid=$!
n=50
while [ $n -gt 0 ] && [ ! -S "$T/rw/ctl.sock" ]; do sleep 0.1; n=$((n - 1)); done
[ -d "$T/rw/a/b" ] || fail "state directory not created: $(cat "$T/log")"
[ "$(stat -c %a "$T/rw/a/b")" = 750 ] || fail "state directory mode $(stat -c %a "$T/rw/a/b")"
kill "$pid"
wait "$pid"
pid=
grep -q '^# vmrd-host state' "$T/rw/a/b/state" || fail "no state written on exit: $(cat "$T/log")"
echo "ok: a missing state directory is created (mode $(stat -c %a "$T/rw/a/b")) and used"

# ...and when it cannot be, or cannot be written: one line, before anything runs.
expect "unwritable state directory" 73 "state directory $T/ro:" "create it writable" "--state PATH" -- \
	$AS_USER "$BROKER" $VM --state "$T/ro/state" --control "$T/rw/c1.sock"
expect "uncreatable state directory" 73 "state directory $T/ro/sub:" "--state PATH" -- \
	$AS_USER "$BROKER" $VM --state "$T/ro/sub/state" --control "$T/rw/c2.sock"
[ ! -e "$T/rw/c1.sock" ] && [ ! -e "$T/rw/c2.sock" ] || fail "the control socket was opened before the state check"

# The control socket.
expect "unwritable control directory" 73 "control socket $T/ro/x/ctl.sock:" "make $T/ro/x exist" \
	"--control PATH" -- $AS_USER "$BROKER" $VM --state "$T/rw/state" --control "$T/ro/x/ctl.sock"

[ "$failed" = 0 ] || exit 1
echo "PASS"
