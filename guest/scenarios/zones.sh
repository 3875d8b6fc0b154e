#!/bin/sh
# Issue 8 in one boot, with vmrd and vmrd-host running:
#  1. stream: new files written and read once (cachehog creep) - page cache
#     that is never used again, which must not grow the guest;
#  2. unmovable: many small files and a raw block-device read (kmemhog) -
#     slab and buffers that only the kernel zones can hold, which must grow
#     the kernel zones (not ZONE_MOVABLE, and not up to the maximum).
#
# Usage: zones CREEP_SIZE CREEP_COUNT CREEP_RATE FILES RAW PASSES
# Markers: phase name=stream|stream-done|unmovable|unmovable-done.
phase() { echo "VMRD-E2E: event=phase name=$1 memtotal_kb=$(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo)"; }

phase stream
cachehog creep --size "$1" --count "$2" --rate "$3" --dir /mnt/data || exit 1
rm -f /mnt/data/cachehog.creep.*
phase stream-done
phase unmovable
kmemhog --files "$4" --raw "$5" --passes "$6" --drop || exit 1
phase unmovable-done
