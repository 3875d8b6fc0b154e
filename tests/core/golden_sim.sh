#!/bin/sh
# Run vmrd-sim with the given arguments and compare its output with the
# expected file (the last argument).
set -eu
sim=$1
shift
n=$#
expected=$(eval echo "\${$n}")
args=""
i=1
for a in "$@"; do
	[ "$i" -lt "$n" ] && args="$args $a"
	i=$((i + 1))
done
# shellcheck disable=SC2086
"$sim" $args | diff -u "$expected" -
