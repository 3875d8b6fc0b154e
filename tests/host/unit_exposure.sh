#!/bin/sh
# vmrd-host.service's exposure as systemd-analyze rates it, offline (issue
# 10: at most 1.5), and the settings the broker cannot work without, so
# that hardening never takes away what a configuration may need:
# AF_UNIX and AF_VSOCK (VMs with cid=), and mlockall (@memlock).
# Usage: unit_exposure.sh UNIT.  Skips (77) without a systemd-analyze that
# has --offline (systemd 250).
set -u
unit=$1
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
systemd-analyze security --help 2>&1 | grep -q -- '--offline' ||
	{ echo "SKIP: systemd-analyze has no --offline"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

out=$(systemd-analyze security --offline=yes --threshold=15 "$unit" 2>&1)
rc=$?
score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
[ -n "$score" ] || fail "no exposure level in: $out"
echo "exposure of $(basename "$unit"): $score"
[ "$rc" -eq 0 ] || fail "exposure $score is over 1.5"

has() { grep -q "$2" "$unit" || fail "$1"; }
has "AF_UNIX allowed (QMP, channels, control socket)" '^RestrictAddressFamilies=.*AF_UNIX'
has "AF_VSOCK allowed (VMs with cid=)" '^RestrictAddressFamilies=.*AF_VSOCK'
has "@memlock allowed (mlockall)" '^SystemCallFilter=.*@memlock'
has "a failed system call is EPERM, not a kill" '^SystemCallErrorNumber=EPERM'
# QEMU's footprint is read from /proc/PID/status of another user's process.
grep -q '^ProtectProc=\(invisible\|ptraceable\|noaccess\)' "$unit" &&
	fail "ProtectProc hides the QEMUs whose memory the budget counts"
echo "PASS"
