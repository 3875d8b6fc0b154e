# shellcheck shell=sh
# What tests/vmrd/startup_messages.sh and tests/host/startup_messages.sh
# share: a scratch directory $T, fail() and $failed, $AS_USER (nobody when
# the test runs as root, so that permission cases bite) and expect().
# Source it after `set -u`; STARTUP_TMP names the scratch directory.
T=$(mktemp -d "/tmp/${STARTUP_TMP:-vmrd-startup}.XXXXXX")
chmod 0755 "$T"
failed=0
fail() { echo "FAIL: $*"; failed=1; }
# A command, not a function, so that "$AS_USER" prog & leaves $! the program's pid.
if [ "$(id -u)" -eq 0 ]; then
	AS_USER="setpriv --reuid=nobody --regid=nogroup --clear-groups"
else
	AS_USER=
fi

# expect NAME STATUS PATTERN... -- COMMAND: the exit status, and every
# pattern in the last line of stderr (the line that says why it stops).
# STARTUP_ONE_LINE=1: stderr must be that one line and nothing else.
expect() {
	name=$1 want=$2
	shift 2
	pats=
	while [ "$1" != -- ]; do pats="$pats
$1"; shift; done
	shift
	# A daemon that starts instead of refusing is stopped, and fails the case.
	timeout 10 "$@" >"$T/out" 2>"$T/all" </dev/null
	st=$?
	[ "$st" = "$want" ] || fail "$name: exit status $st, want $want: $(cat "$T/all")"
	if [ "${STARTUP_ONE_LINE:-0}" = 1 ] && [ "$(wc -l <"$T/all")" -ne 1 ]; then
		fail "$name: want one line, got: $(cat "$T/all")"
	fi
	tail -n 1 "$T/all" >"$T/err"
	echo "$pats" | while IFS= read -r p; do
		[ -z "$p" ] && continue
		grep -qF -- "$p" "$T/err" || echo "$name: no '$p' in: $(cat "$T/err")"
	done >"$T/missing"
	[ -s "$T/missing" ] && fail "$(cat "$T/missing")"
	echo "ok: $name: $(cat "$T/err")"
}
