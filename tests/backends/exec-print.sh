#!/bin/sh
# Test helper for the exec backend: grant 1 MiB less than asked and say so.
echo "$((VMRD_TARGET_BYTES - 1048576))"
echo "this second line is ignored"
