#!/bin/sh
# Test helper for the exec backend: never finishes.  The child's pid goes
# to $1 so the test can check the timeout killed the whole process group.
sleep 30 &
echo $! >"$1"
wait
