#!/bin/sh
# Golden test of `vmrd-host -n`: every tests/data/host/config/*.conf with a
# matching .err must fail with EX_CONFIG (78) and print exactly those
# "file:line: message" lines; the others must pass.
set -u
BROKER=${1:?usage: golden_config.sh VMRD_HOST DATA_DIR}
DATA=${2:?usage: golden_config.sh VMRD_HOST DATA_DIR}
cd "$DATA" || exit 1
status=0
for conf in *.conf; do
	base=${conf%.conf}
	out=$("$BROKER" -n -c "$conf" 2>&1 >/dev/null)
	rc=$?
	if [ -f "$base.err" ]; then
		if [ $rc -ne 78 ]; then
			echo "FAIL $conf: exit $rc, want 78"; status=1
		elif ! printf '%s\n' "$out" | diff -u "$base.err" -; then
			echo "FAIL $conf: messages differ"; status=1
		else
			echo "ok $conf"
		fi
	elif [ $rc -ne 0 ]; then
		echo "FAIL $conf: exit $rc, want 0: $out"; status=1
	else
		echo "ok $conf"
	fi
done
exit $status
