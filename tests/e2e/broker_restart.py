#!/usr/bin/env python3
"""End-to-end: vmrd-host killed and restarted mid-ramp loses nothing.

A 512 MiB guest with vmrd ramps memhog to 800 MiB at 20 MiB/s.  17 s into
the ramp the runner SIGKILLs vmrd-host (no chance to save anything more)
and starts it again 2 s later with the same state file and control socket.
Asserts: no OOM kill and memhog finishes; QEMU's plugged size did not
move while the broker was away, and the restarted broker neither lowered
it nor counted it twice: its "reconciled" log line and its first status
both say boot + plugged, the VM's target never falls below what was
plugged before the kill, and at the end its current size equals
boot + plugged and the sum of targets equals the one VM's target; vmrd
got further grants after the restart.

Exit 77 (skip) when QEMU, vmrd-host or the kernel package is missing.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import MIB, Run, build_image, check, col, daemon_args, e2e_args  # noqa: E402

KILL_AFTER, GAP = 17, 2
BOOT = 512 * MIB


def main():
    a = e2e_args(broker=True)
    broker = a.broker
    image = build_image(a.source_root, a.build_root)
    run = Run(a.source_root, image,
              ["--mem", "512M", "--maxmem", "2G", "--scenario", "burst", "--sarg", "800M 20 2 0",
               "--on", "burst-start+%d:broker-kill" % KILL_AFTER,
               "--on", "burst-start+%d:broker-start" % (KILL_AFTER + GAP)]
              + daemon_args(image, broker), timeout=180)

    check(run.event("burst-done")["status"] == "0", "memhog reached 800 MiB and finished")
    check(run.oom_kills() == 0, "no OOM kill (%d)" % run.oom_kills())
    # The runner's clock: the actions ran this long after the marker arrived.
    start = run.event("burst-start")["_time"]
    KILL_SEC, START_SEC = start + KILL_AFTER, start + KILL_AFTER + GAP

    before = col(run.rows_between(0, KILL_SEC), "plugged_bytes")
    away = col(run.rows_between(KILL_SEC, START_SEC), "plugged_bytes")
    after = col(run.rows_between(START_SEC), "plugged_bytes")
    at_kill = before[-1]
    check(at_kill > 0, "vmrd had grown the guest before the kill (%d MiB)" % (at_kill // MIB))
    # A plug QEMU had already been asked for may still finish while the
    # broker is away; nothing may shrink the guest.
    at_start = (away or before)[-1]
    check(all(x <= y for x, y in zip([at_kill] + away, away)),
          "nothing shrank the guest while the broker was away (%s MiB)"
          % [v // MIB for v in [at_kill] + away])
    check(min(after) >= at_start, "the restarted broker did not lower the plugged size"
          " (%d MiB before, at least %d after)" % (at_start // MIB, min(after) // MIB))
    check(max(after) > at_start, "vmrd got grants after the restart (%d -> %d MiB)"
          % (at_start // MIB, max(after) // MIB))

    with open(os.path.join(run.work, "broker.log")) as f:
        log = f.read()
    starts = log.count("started: ")
    check(starts == 2, "the broker was started twice (%d)" % starts)
    second = log[log.rfind("started: "):]
    rec = re.search(r"reconciled: boot (\d+), current (\d+)", log[log.rfind("accounted at"):])
    check(rec and int(rec.group(1)) == BOOT and int(rec.group(2)) == BOOT + at_start,
          "the restarted broker reconciled with QEMU at boot + plugged (%s)"
          % (rec.group(0) if rec else "no reconciled line"))
    check("grant seq" in second, "the restarted broker granted requests")

    restarted = [s for s in run.status if s["_time"] >= START_SEC and s["vms"][0]["reconciled"]]
    check(restarted, "the restarted broker answered status json")
    first = restarted[0]["vms"][0]
    check(first["current_bytes"] == BOOT + at_start and first["target_bytes"] >= BOOT + at_start,
          "its first status: current %d MiB, target %d MiB (plugged %d MiB)"
          % (first["current_bytes"] // MIB, first["target_bytes"] // MIB, at_start // MIB))
    last = run.status[-1]
    vm = last["vms"][0]
    plugged_last = [r for r in run.timeline if r["plugged_bytes"]][-1]
    check(vm["current_bytes"] == BOOT + int(plugged_last["plugged_bytes"]),
          "at the end the broker's current (%d MiB) is boot + plugged (%d MiB)"
          % (vm["current_bytes"] // MIB, int(plugged_last["plugged_bytes"]) // MIB))
    check(last["sum_target_bytes"] == vm["target_bytes"],
          "the sum of targets counts the VM once (%d MiB)" % (last["sum_target_bytes"] // MIB))
    check(run.returncode == 0, "the scenario exited 0 (run-vm.py exit %d)" % run.returncode)
    run.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
