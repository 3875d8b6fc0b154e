#!/bin/sh
# A unit's exposure as systemd-analyze rates it, offline (issue 10: at most
# 1.5), and the settings its daemon cannot work without, so that hardening
# never takes away what a configuration may need.
#   vmrd-host.service: AF_UNIX and AF_VSOCK (VMs with cid=), mlockall
#     (@memlock), and the QEMUs' /proc entries (the budget reads them).
#   vmrd.service: the host link (virtio-serial port, AF_VSOCK), mlockall
#     (@memlock and CAP_IPC_LOCK), writable memory blocks and memory.reclaim,
#     /proc's system-wide files, and seccomp() for its own filter.
# Usage: unit_exposure.sh UNIT [BOUND], BOUND in tenths (default 15).
# Skips (77) without a systemd-analyze that has --offline (systemd 250).
set -u
unit=$1
bound=${2:-15}
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
systemd-analyze security --help 2>&1 | grep -q -- '--offline' ||
	{ echo "SKIP: systemd-analyze has no --offline"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

out=$(systemd-analyze security --offline=yes --threshold="$bound" "$unit" 2>&1)
rc=$?
score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
[ -n "$score" ] || fail "no exposure level in: $out"
echo "exposure of $(basename "$unit"): $score (bound $bound tenths)"
[ "$rc" -eq 0 ] || fail "exposure $score is over the bound"

has() { grep -q "$2" "$unit" || fail "$1"; }
hasnt() { grep -q "$2" "$unit" && fail "$1"; return 0; }
has "AF_UNIX allowed (QMP, channels, control socket)" '^RestrictAddressFamilies=.*AF_UNIX'
has "AF_VSOCK allowed (vsock links)" '^RestrictAddressFamilies=.*AF_VSOCK'
has "@memlock allowed (mlockall)" '^SystemCallFilter=.*@memlock'
has "a failed system call is EPERM, not a kill" '^SystemCallErrorNumber=EPERM'
case $(basename "$unit") in
vmrd-host.service)
	# QEMU's footprint is read from /proc/PID/status of another user's process.
	hasnt "ProtectProc hides the QEMUs whose memory the budget counts" \
		'^ProtectProc=\(invisible\|ptraceable\|noaccess\)'
	;;
vmrd.service)
	has "memory blocks writable (sysfs backend, auto_online_blocks)" \
		'^ReadWritePaths=.*/sys/devices/system/memory\( \|$\)'
	has "the root cgroup's memory.reclaim writable (trimmer)" \
		'^ReadWritePaths=.*/sys/fs/cgroup/memory.reclaim'
	has "the virtio-serial port allowed (host link)" '^DeviceAllow=char-virtio-portsdev rw'
	has "CAP_IPC_LOCK kept (mlockall with MCL_FUTURE)" '^CapabilityBoundingSet=.*CAP_IPC_LOCK'
	has "seccomp() allowed (vmrd's own filter)" '^SystemCallFilter=.*[ =]seccomp'
	# A private /dev never shows a port udev creates after start; a
	# user namespace voids CAP_IPC_LOCK; subset=pid hides /proc/meminfo.
	hasnt "PrivateDevices hides the virtio-serial port" '^PrivateDevices=yes'
	hasnt "PrivateUsers voids CAP_IPC_LOCK" '^PrivateUsers=yes'
	hasnt "ProcSubset=pid hides /proc/meminfo, vmstat, zoneinfo, pressure" '^ProcSubset=pid'
	;;
esac
echo "PASS"
