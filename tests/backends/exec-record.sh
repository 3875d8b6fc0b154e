#!/bin/sh
# Test helper for the exec backend: record what the command was given.
# $1: file to write; $2: the target as passed on the command line.
out=$1
printf '%s %s %s %s %s\n' "$2" "$VMRD_TARGET_BYTES" "$VMRD_SEQ" "$VMRD_URGENCY" "$VMRD_REASON" >"$out"
