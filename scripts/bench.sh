#!/bin/sh
# make bench: the five systems side by side on real QEMU guests, then the
# report (bench/RESULTS.md, bench/results.json, bench/plots/*.png).
#
#   scripts/bench.sh [BUILD]      full run, about an hour under TCG
#   QUICK=1 scripts/bench.sh      short smoke run of three systems; its report
#                                 stays in BUILD/bench-quick/, bench/ is left alone
#
# BENCH_SYSTEMS and BENCH_SCENARIOS (comma lists) narrow the matrix;
# BENCH_<SCENARIO>_<KEY>=VALUE overrides one parameter (see bench.py).
# BENCH_MEMHP="..." boots every guest with these memory-hotplug kernel
# arguments instead of run-vm.py's GUEST_MEMHP_ARGS (the default for the
# e2e tests and the demo too); each run records its command line.
# Finished runs are kept in BUILD/bench/raw and skipped when the command is
# run again; BENCH_FORCE=1 runs everything anew.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-build}" && pwd)
image="$build/guest"

# Always through build-image.sh: it rebuilds the static vmrd from the
# current tree and reuses everything that did not change, so a benchmark
# never measures a stale daemon.
"$top/scripts/guest/build-image.sh" -o "$image" --vmrd || {
	status=$?
	echo "bench: no guest image (build-image.sh exited $status)" >&2
	exit "$status"
}

if [ "${QUICK:-${BENCH_QUICK:-0}}" = 1 ]; then
	profile=quick
	# Three systems cover every harness path (static, balloon, vmrd with
	# its broker) in a few minutes.
	: "${BENCH_SYSTEMS:=static-max,balloon-fpr,vmrd}"
	out="$build/bench-quick"
	dest="$out/report"
else
	profile=full
	out="$build/bench"
	dest="$top/bench"
fi
mkdir -p "$out" "$dest"

set -- --out "$out" --image-dir "$image" --broker "$build/src/host/vmrd-host" \
	--profile "$profile"
[ -n "${BENCH_SYSTEMS:-}" ] && set -- "$@" --systems "$BENCH_SYSTEMS"
[ -n "${BENCH_SCENARIOS:-}" ] && set -- "$@" --scenarios "$BENCH_SCENARIOS"
[ "${BENCH_FORCE:-0}" = 1 ] && set -- "$@" --force
[ -n "${BENCH_MEMHP:-}" ] && set -- "$@" --memhp "$BENCH_MEMHP"

python3 "$top/scripts/bench/bench.py" "$@"
python3 "$top/scripts/bench/report.py" --out "$out" --dest "$dest" \
	--sim "$build/tools/vmrd-sim"
echo "bench: report in $dest/RESULTS.md"
