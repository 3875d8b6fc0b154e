#!/usr/bin/env python3
"""End-to-end: vmrd grows the zone that helps, and only for demand.

A 512 MiB guest (maximum 2 GiB) with vmrd and vmrd-host starts with
256 MiB plugged, which lands in ZONE_MOVABLE and sits free.  Two phases
(guest/scenarios/zones.sh):

1. stream: 512 MiB of new files written and read once, more than the
   guest holds.  Page cache that is never used again: vmrd must not grow
   for it (no grow decision in the phase).
2. unmovable: 80,000 files walked and 320 MiB of the raw disk read, twice
   (kmemhog): slab and block-device buffers, which only the kernel zones
   can hold, so the free ZONE_MOVABLE memory cannot help.  vmrd must grow
   the kernel zones (a grow "in the kernel zones", and the guest's kernel
   zones larger afterwards), never up to its maximum, and nothing may be
   OOM-killed; the second pass finds most of its files and blocks cached
   (it reads at most a quarter of the raw size from disk again).

Exit 77 (skip) when QEMU, vmrd-host or the kernel package is missing.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import (MIB, Run, build_image, check, col, daemon_args,  # noqa: E402
                    decisions_by_phase, e2e_args)


def main():
    a = e2e_args(broker=True)
    broker = a.broker
    image = build_image(a.source_root, a.build_root)
    run = Run(a.source_root, image,
              ["--mem", "512M", "--maxmem", "2G", "--vmem-initial", "256M", "--disk", "1600M",
               "--scenario", "zones", "--sarg", "32M 16 64 80000 320M 2"]
              + daemon_args(image, broker), timeout=240)

    check(run.returncode == 0, "the scenario ran to its end (run-vm.py exit %d)" % run.returncode)
    check(run.oom_kills() == 0, "no OOM kill (%d)" % run.oom_kills())
    phases = decisions_by_phase(run.console)
    stream_grows = [d for d in phases.get("stream", []) if d[0] == "grow"]
    check(not stream_grows, "no grow while files were streamed once (%s)"
          % (stream_grows[0][2] if stream_grows else "none"))

    # kmemhog marks its own "passes" phase inside ours.
    unmov = phases.get("unmovable", []) + phases.get("passes", [])
    kernel_grows = [d for d in unmov if d[0] == "grow" and "in the kernel zones" in d[2]]
    check(len(kernel_grows) >= 1, "vmrd grew the kernel zones for slab and buffers (%d grows: %s)"
          % (len(kernel_grows), sorted({d[1] for d in kernel_grows})))
    # At the very start the kernel zones may still hold the streamed files'
    # page cache: a first emergency step can rightly give it ZONE_MOVABLE to
    # go to (a spill; seen once in three CI runs).  After vmrd has seen that
    # slab and buffers are the demand, ZONE_MOVABLE must never grow again.
    grows = [d for d in unmov if d[0] == "grow"]
    first_kernel = next(i for i, d in enumerate(grows) if "in the kernel zones" in d[2]) \
        if kernel_grows else len(grows)
    movable_grows = [d for d in grows if "in the kernel zones" not in d[2]]
    late = [d for d in grows[first_kernel:] if "in the kernel zones" not in d[2]]
    check(len(movable_grows) <= 1 and not late,
          "ZONE_MOVABLE, whose memory could not help, grew at most once and never after the "
          "first kernel-zone grow (%d grows, %d after it: %s)"
          % (len(movable_grows), len(late), movable_grows[-1][2] if movable_grows else "none"))
    at_max = [d for d in unmov if d[1] == "at_max"]
    check(not at_max, "it never sat at its maximum (%d at_max holds)" % len(at_max))

    kernel = col(run.timeline, "zone_kernel_managed_kb")
    check(len(kernel) > 0 and max(kernel) - kernel[0] >= 128 * 1024,
          "the guest's kernel zones grew from %d to %d MiB"
          % ((kernel[0] >> 10) if kernel else 0, (max(kernel) >> 10) if kernel else 0))
    sizes = col(run.timeline, "plugged_bytes")
    check(max(sizes) < 1536 * MIB, "the plugged size stayed below the maximum (peak %d MiB)"
          % (max(sizes) // MIB))
    passes = run.kind("kmemhog-passes")
    check(int(passes["rest_disk_mib"]) * 4 <= int(passes["raw_mib"]),
          "the second pass found most of its files and blocks cached (%s MiB read from disk "
          "again, of %s MiB)" % (passes["rest_disk_mib"], passes["raw_mib"]))
    run.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
