#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Copy the files the vmrd sensors read (PSI, meminfo, vmstat, zoneinfo and
# the memory block directory) from a root into a fixture tree laid out the
# same way (DEST/proc/..., DEST/sys/...), so that the *_read(rootfd, ...)
# adapters and the golden tests can be pointed at it.
#
# It only reads below ROOT; everything it writes goes below DEST.  Run it
# inside a QEMU guest to capture that guest's view.
#
# usage: capture-sensors.sh [-r ROOT] [-b MAX_BLOCKS] DEST
#   -r ROOT        root to read from (default /)
#   -b MAX_BLOCKS  copy at most this many memoryN directories, lowest ids
#                  first, plus the highest one (default: all)
set -eu

root=/
max_blocks=
while getopts r:b:h opt; do
	case $opt in
	r) root=$OPTARG ;;
	b) max_blocks=$OPTARG ;;
	*)
		echo "usage: capture-sensors.sh [-r ROOT] [-b MAX_BLOCKS] DEST" >&2
		exit 64
		;;
	esac
done
shift $((OPTIND - 1))
if [ $# -ne 1 ]; then
	echo "usage: capture-sensors.sh [-r ROOT] [-b MAX_BLOCKS] DEST" >&2
	exit 64
fi
dest=$1
case $max_blocks in
'' | *[!0-9]*) [ -z "$max_blocks" ] || { echo "capture-sensors: -b wants a number" >&2; exit 64; } ;;
esac

# The destination must never be a live kernel interface: this script is
# meant to be harmless on any machine, including the one it runs on.  Check
# the name as given before creating anything, then the resolved directory.
refuse_kernel_dir() {
	case $1 in
	/proc | /proc/* | /sys | /sys/* | /dev | /dev/*)
		echo "capture-sensors: refusing to write below $1" >&2
		exit 64
		;;
	esac
}
refuse_kernel_dir "$dest"
mkdir -p "$dest"
dest_abs=$(cd "$dest" && pwd -P)
refuse_kernel_dir "$dest_abs"

copied=0

# copy RELPATH: copy ROOT/RELPATH to DEST/RELPATH if it is readable.  Kernel
# files report size 0 or 4096 whatever their content, so read them with cat
# rather than cp.
copy() {
	src=$root/$1
	[ -r "$src" ] || return 0
	mkdir -p "$dest_abs/$(dirname "$1")"
	if cat "$src" >"$dest_abs/$1.tmp" 2>/dev/null; then
		mv "$dest_abs/$1.tmp" "$dest_abs/$1"
		copied=$((copied + 1))
	else
		# Some attributes refuse to be read in some states; skip them.
		rm -f "$dest_abs/$1.tmp"
	fi
}

for f in proc/meminfo proc/vmstat proc/zoneinfo \
	proc/pressure/memory proc/pressure/cpu proc/pressure/io; do
	copy "$f"
done

mem=sys/devices/system/memory
copy $mem/block_size_bytes
copy $mem/auto_online_blocks

if [ -d "$root/$mem" ]; then
	# Numeric order, so that -b keeps the boot blocks.
	ids=$(cd "$root/$mem" && for d in memory[0-9]*; do
		[ -d "$d" ] && echo "${d#memory}"
	done | sort -n)
	last=$(echo "$ids" | tail -n 1)
	n=0
	for id in $ids; do
		n=$((n + 1))
		if [ -n "$max_blocks" ] && [ "$n" -gt "$max_blocks" ] && [ "$id" != "$last" ]; then
			continue
		fi
		for a in state valid_zones removable phys_index; do
			copy "$mem/memory$id/$a"
		done
	done
fi

echo "capture-sensors: copied $copied files from $root to $dest_abs"
