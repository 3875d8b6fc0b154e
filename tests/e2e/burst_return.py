#!/usr/bin/env python3
"""End-to-end: a burst grows the guest in time and its memory comes back
within 30 s of the free.

A 512 MiB guest (maximum 2 GiB) with vmrd and vmrd-host (their default
policies) runs memhog up to 900 MiB at 30 MiB/s (a rate TCG keeps up),
holds it 2 s, frees it and idles until MemTotal is back near its boot
value (then 8 s more, so that QEMU's RSS shows free page reporting and
the unplug), at most 60 s.  Asserts:
- growth: memhog ends ok, nothing is OOM-killed, MemTotal grew by at
  least 400 MiB, vmrd logged grow decisions with grow reasons;
- no overshoot beyond the issue's bound: the peak plugged size is at
  most (peak demand + 128 MiB headroom) x 1.1 + one grow step of 64 MiB;
- return: 90 % of the peak plugged size is unplugged within 30 s of the
  free, and QEMU's RSS fell by at least 200 MiB;
- the guest still allocates memory afterwards;
- vmrd did all of it in its sandbox: after the burst and after the return
  its /proc/PID/status says NoNewPrivs 1, Seccomp 2 (a filter) and only
  CAP_IPC_LOCK effective, the kernel logged no call its filter refused,
  and it logged the sandbox at start.

Exit 77 (skip) when QEMU, vmrd-host or the kernel package is missing.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import (MIB, Run, build_image, check, col, daemon_args, e2e_args,  # noqa: E402
                    vmrd_decisions)

GROW_REASONS = {"low_headroom", "falling_fast", "emergency", "kernel_short", "cache_refaults"}


def check_sandbox(run):
    """vmrd grew and shrank the guest under its sandbox (vmrd.conf(5) [security])."""
    for at in ("grown", "returned"):
        st = run.event("vmrd-sandbox", at=at)
        check(st.get("nonewprivs") == "1" and st.get("seccomp") == "2",
              "vmrd (pid %s) %s: NoNewPrivs %s, Seccomp %s (want 1 and 2)"
              % (st.get("pid"), at, st.get("nonewprivs"), st.get("seccomp")))
        check(st.get("denied") == "none",
              "the kernel logged no system call of vmrd's refused by its filter (%s)"
              % st.get("denied"))
        check(st.get("capeff") == "%016x" % (1 << 14),
              "vmrd %s: CapEff %s is CAP_IPC_LOCK alone" % (at, st.get("capeff")))
    with open(run.console, errors="replace") as f:
        check(any("vmrd: sandbox: no_new_privs; capabilities" in line for line in f),
              "vmrd logged its sandbox at start")


def main():
    a = e2e_args(broker=True)
    broker = a.broker
    image = build_image(a.source_root, a.build_root)
    run = Run(a.source_root, image, ["--mem", "512M", "--maxmem", "2G", "--scenario", "burst",
                                     "--sarg", "900M 30 2 60 +20000 8"]
              + daemon_args(image, broker), timeout=200)

    start = run.event("burst-start")
    done = run.event("burst-done")
    check(done["status"] == "0", "memhog finished its burst (exit %s)" % done["status"])
    check(run.oom_kills() == 0, "no OOM kill (%d)" % run.oom_kills())
    grown = int(done["memtotal_kb"]) - int(start["memtotal_kb"])
    check(grown >= 400 * 1024, "MemTotal grew by %d MiB during the burst" % (grown >> 10))
    grows = [r for act, r in vmrd_decisions(run.console) if act == "grow"]
    check(grows and set(grows) <= GROW_REASONS, "vmrd logged %d grows for %s" % (len(grows),
                                                                              sorted(set(grows))))

    freed_at = done["_time"]
    plugged = col(run.timeline, "plugged_bytes")
    peak_plug = max(plugged)
    demand = [int(r["memtotal_kb"]) - int(r["memavailable_kb"])
              for r in run.rows_between(0, freed_at) if r.get("memavailable_kb")]
    bound = int((max(demand) * 1024 + 128 * MIB) * 1.1) + 64 * MIB
    size = max(col(run.rows_between(0, freed_at + 5), "memtotal_kb")) * 1024
    check(size <= bound, "peak MemTotal %d MiB within (peak demand %d + 128) x 1.1 + 64 MiB = %d MiB"
          % (size // MIB, max(demand) >> 10, bound // MIB))
    back = [float(r["time_sec"]) for r in run.rows_between(freed_at)
            if r.get("plugged_bytes") and int(r["plugged_bytes"]) <= peak_plug // 10]
    check(back and back[0] - freed_at <= 30,
          "90 %% of the %d MiB plugged came back %s s after the free"
          % (peak_plug // MIB, round(back[0] - freed_at, 1) if back else "never"))
    before = col(run.rows_between(0, freed_at), "qemu_rss_kb")
    after = col(run.rows_between(freed_at), "qemu_rss_kb")
    check(max(before) - after[-1] >= 200 * 1024,
          "QEMU RSS fell from %d to %d MiB" % (max(before) >> 10, after[-1] >> 10))
    check(run.event("healthy")["status"] == "0", "the guest still allocates memory afterwards")
    check_sandbox(run)
    check(run.returncode == 0, "the scenario exited 0 (run-vm.py exit %d)" % run.returncode)
    run.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
