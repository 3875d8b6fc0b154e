#!/bin/sh
# An interactive shell on the serial console for debugging; the guest
# powers off when it exits.  Use with run-vm.py --interactive.
echo "VMRD-E2E: event=shell"
exec setsid cttyhack sh -l
