#!/bin/sh
# Golden-output test: run a command, compare one of its streams and its
# exit status with what is checked in.
#   golden.sh DIR EXIT STREAM EXPECTED -- command [args...]
# DIR: where to run; EXIT: expected status; STREAM: stdout or stderr;
# EXPECTED: the file with the expected text.  GOLDEN_UPDATE=1 rewrites it.
set -u
dir=$1 want_status=$2 stream=$3 expected=$4
shift 5
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
cd "$dir" || exit 1
"$@" >"$out" 2>"$err"
status=$?
[ "$stream" = stdout ] && got=$out || got=$err
if [ "${GOLDEN_UPDATE:-0}" = 1 ]; then
	cp "$got" "$expected"
	echo "updated $expected"
fi
fail=0
if [ "$status" != "$want_status" ]; then
	echo "exit status $status, expected $want_status"
	echo "--- stderr:"; cat "$err"
	fail=1
fi
if ! diff -u "$expected" "$got"; then
	echo "$stream differs from $expected"
	fail=1
fi
exit $fail
