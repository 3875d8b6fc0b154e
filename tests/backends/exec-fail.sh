#!/bin/sh
# Test helper for the exec backend: a provider that refuses.
echo "exec-fail.sh: no memory for you" >&2
exit 3
