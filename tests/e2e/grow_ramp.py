#!/usr/bin/env python3
"""End-to-end: vmrd grows a guest through vmrd-host without an OOM kill
during a ramp that ends far above the boot size.

A 512 MiB guest runs memhog up to 900 MiB at 30 MiB/s (a rate TCG keeps
up), holds it 2 s and frees it.  vmrd (short holds, e2elib.VMRD_CONF) asks
vmrd-host, which plugs virtio-mem blocks over QMP.  Asserts: memhog ends
ok, the kernel killed nothing, MemTotal grew by at least 400 MiB, QEMU
plugged the memory (peak total at least 900 MiB), and vmrd logged grow
decisions whose reasons are grow reasons.

Exit 77 (skip) when QEMU, vmrd-host or the kernel package is missing.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import (MIB, Run, build_image, check, col, daemon_args,  # noqa: E402
                    find_broker, vmrd_decisions)

GROW_REASONS = {"psi_trigger", "low_headroom", "falling_fast", "emergency"}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--source-root", required=True)
    p.add_argument("--build-root", required=True)
    p.add_argument("--broker")
    a = p.parse_args()

    broker = find_broker(a.build_root, a.broker)
    image = build_image(a.source_root, a.build_root)
    run = Run(a.source_root, image, ["--mem", "512M", "--maxmem", "2G", "--scenario", "burst",
                                     "--sarg", "900M 30 2 0"] + daemon_args(image, broker),
              timeout=150)

    check(run.event("vmrd-started") is not None, "vmrd started in the guest")
    done = run.event("burst-done")
    check(done["status"] == "0", "memhog reached 900 MiB and finished (exit %s)" % done["status"])
    check(run.oom_kills() == 0, "no OOM kill during the ramp (%d)" % run.oom_kills())
    start_kb = int(run.event("burst-start")["memtotal_kb"])
    peak_kb = max(col(run.timeline, "memtotal_kb"))
    check(peak_kb - start_kb >= 400 * 1024,
          "MemTotal grew from %d to %d MiB" % (start_kb >> 10, peak_kb >> 10))
    peak_plug = max(col(run.timeline, "plugged_bytes"))
    check(512 * MIB + peak_plug >= 900 * MIB,
          "QEMU plugged %d MiB (total %d MiB)" % (peak_plug // MIB, 512 + peak_plug // MIB))
    grows = [r for act, r in vmrd_decisions(run.console) if act == "grow"]
    check(len(grows) >= 3, "vmrd logged %d grow decisions" % len(grows))
    check(set(grows) <= GROW_REASONS, "every grow has a grow reason (%s)" % sorted(set(grows)))
    check(run.returncode == 0, "the scenario exited 0 (run-vm.py exit %d)" % run.returncode)
    run.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
