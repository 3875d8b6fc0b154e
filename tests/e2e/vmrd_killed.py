#!/usr/bin/env python3
"""End-to-end: SIGKILL of vmrd leaves the guest's memory as it was.

A 512 MiB guest with vmrd and vmrd-host ramps memhog to 700 MiB at
40 MiB/s; right after the ramp the guest SIGKILLs vmrd (scenario
killvmrd), memhog frees its memory, and the guest idles 25 s: longer than
the 5 s calm hold, 10 s grow hold and 2 s shrink interval after which a
live vmrd would have shrunk (burst_return shows it does).  Asserts: vmrd
was gone after the kill, the guest had grown, MemTotal after the idle
equals MemTotal at the kill, QEMU's plugged size and the broker's target
did not change from the kill to the end, and no OOM kill.

Exit 77 (skip) when QEMU, vmrd-host or the kernel package is missing.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import MIB, Run, build_image, check, col, daemon_args, e2e_args  # noqa: E402


def main():
    a = e2e_args(broker=True)
    broker = a.broker
    image = build_image(a.source_root, a.build_root)
    run = Run(a.source_root, image, ["--mem", "512M", "--maxmem", "2G", "--scenario", "killvmrd",
                                     "--sarg", "700M 40 25"] + daemon_args(image, broker),
              timeout=150)

    killed = run.event("vmrd-killed")
    check(killed["alive"] == "0", "vmrd was gone after SIGKILL (pids %s)" % killed["pids"])
    check(run.event("hog-done")["status"] == "0", "memhog finished its ramp")
    boot_kb = int(run.event("ready") and run.kind("report")["memtotal_kb"])
    kill_kb = int(killed["memtotal_kb"])
    check(kill_kb - boot_kb >= 128 * 1024,
          "vmrd had grown the guest before the kill (MemTotal %d -> %d MiB)"
          % (boot_kb >> 10, kill_kb >> 10))
    after_kb = int(run.event("after-wait")["memtotal_kb"])
    check(after_kb == kill_kb, "MemTotal unchanged 25 s after the kill (%d -> %d kB)"
          % (kill_kb, after_kb))
    t = killed["_time"]
    plugged = col(run.rows_between(t), "plugged_bytes")
    check(plugged and all(v == plugged[0] for v in plugged),
          "QEMU's plugged size unchanged from the kill to the end (%s MiB)"
          % sorted({v // MIB for v in plugged}))
    targets = col(run.rows_between(t), "broker_target_bytes")
    check(targets and all(v == targets[0] for v in targets),
          "the broker's target unchanged (%s MiB)" % sorted({v // MIB for v in targets}))
    check(run.oom_kills() == 0, "no OOM kill (%d)" % run.oom_kills())
    check(run.returncode == 0, "the scenario exited 0 (run-vm.py exit %d)" % run.returncode)
    run.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
