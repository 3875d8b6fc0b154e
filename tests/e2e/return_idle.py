#!/usr/bin/env python3
"""End-to-end: memory goes back to the host after a burst.

A 512 MiB guest with vmrd and vmrd-host bursts to 700 MiB at 40 MiB/s,
holds 2 s, frees it and idles.  vmrd's holds are short (e2elib.VMRD_CONF:
calm_hold 5 s, grow_hold 10 s, shrink_interval 2 s, shrink_fraction
100 %), so it shrinks within seconds.  The idle ends 8 s after MemTotal
is back near its boot value (or after 90 s), which leaves the balloon's
free page reporting time to hand the freed pages back.  Asserts: the
plugged size (QMP) came down by at least 75 % of its peak, the QEMU
process RSS fell by at least 200 MiB from its peak, vmrd logged shrink
decisions, and the guest still works afterwards (a final allocation
succeeds and the scenario ends normally).

Exit 77 (skip) when QEMU, vmrd-host or the kernel package is missing.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import (MIB, Run, build_image, check, col, daemon_args,  # noqa: E402
                    find_broker, vmrd_decisions)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--source-root", required=True)
    p.add_argument("--build-root", required=True)
    p.add_argument("--broker")
    a = p.parse_args()

    broker = find_broker(a.build_root, a.broker)
    image = build_image(a.source_root, a.build_root)
    # 430000 kB is about 20 MiB above the boot MemTotal of a 512 MiB guest.
    run = Run(a.source_root, image, ["--mem", "512M", "--maxmem", "2G", "--scenario", "burst",
                                     "--sarg", "700M 40 2 90 430000 8"]
              + daemon_args(image, broker), timeout=180)

    done = run.event("burst-done")
    check(done["status"] == "0", "the burst finished (memhog exit %s)" % done["status"])
    freed_at = done["_time"]
    plugged = col(run.timeline, "plugged_bytes")
    peak_plug = max(plugged)
    check(peak_plug >= 128 * MIB, "vmrd grew the guest first (%d MiB plugged)" % (peak_plug // MIB))
    end_plug = plugged[-1]
    check(end_plug <= peak_plug // 4,
          "the plugged size came down from %d to %d MiB" % (peak_plug // MIB, end_plug // MIB))
    rss = col(run.timeline, "qemu_rss_kb")
    before = col(run.rows_between(0, freed_at), "qemu_rss_kb")
    after = col(run.rows_between(freed_at), "qemu_rss_kb")
    peak_rss, end_rss = max(before), after[-1]
    check(peak_rss - end_rss >= 200 * 1024,
          "QEMU RSS fell from %d to %d MiB" % (peak_rss >> 10, end_rss >> 10))
    shrinks = [r for act, r in vmrd_decisions(run.console) if act == "shrink"]
    check(len(shrinks) >= 1, "vmrd logged %d shrink decisions (%s)" % (len(shrinks),
                                                                      sorted(set(shrinks))))
    back = run.events("returned")
    check(len(back) == 1, "MemTotal came back within the idle time (after %s s)"
          % (back[0]["after_sec"] if back else "-"))
    check(run.event("healthy")["status"] == "0", "the guest still allocates memory afterwards")
    check(run.oom_kills() == 0, "no OOM kill (%d)" % run.oom_kills())
    check(run.returncode == 0, "the scenario exited 0 (run-vm.py exit %d)" % run.returncode)
    print("rss samples: %d, peak %d MiB" % (len(rss), max(rss) >> 10))
    run.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
