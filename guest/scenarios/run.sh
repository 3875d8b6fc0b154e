#!/bin/sh
# Runs the command given in vmrd.sarg="..." and reports its status, e.g.
# vmrd.scenario=run vmrd.sarg="memhog --size 300M --hold 5".
[ $# -gt 0 ] || { echo "VMRD-E2E: event=run-usage"; exit 2; }
"$@"
status=$?
echo "VMRD-E2E: event=run-exit status=$status cmd=\"$*\""
exit $status
