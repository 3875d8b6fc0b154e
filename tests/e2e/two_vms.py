#!/usr/bin/env python3
"""End-to-end: two guests under one host budget share it by weight.

Two 384 MiB guests (one vCPU each) run vmrd; one vmrd-host serves both
from a config file with budget 1152 MiB, i.e. 384 MiB above the two
minimums, and weights 2:1.  Both burst at the same time: A to 400 MiB,
B to 300 MiB, at 20 MiB/s, and hold 45 s; with headroom each wants
about 300 MiB more than its minimum, more than the budget holds.  The
arbiter gives each VM its weighted max-min fair share of the budget: a
VM does not grow past its share while the other lacks its own, and a VM
over its share is asked to give memory back and, after the grace
(fair_share_grace, 10 s), cut to its share.  The test polls the broker's "status json" every second.  Asserts: both
guests grew, the broker's sum of targets and the sum of the sizes QEMU
reports never exceeded the budget, and when the budget was full the
memory above the minimums was split by the weights: A's part of it
between 55 % and 78 % (2:1 is 67 %).

Exit 77 (skip) when QEMU, vmrd-host or the kernel package is missing.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import (MIB, Run, broker_status, build_image, check, daemon_args,  # noqa: E402
                    e2e_args, write_host_conf)

BOOT = 384 * MIB
BUDGET = 1152 * MIB
VMS = {"a": ("200", "400M 20 45 0"), "b": ("100", "300M 20 45 0")}

def poll(path, out, stop):
    while not stop.is_set():
        s = broker_status(path, timeout=1.0)
        if s is not None:
            out.append(s)
        stop.wait(1.0)


def main():
    a = e2e_args(broker=True)
    broker = a.broker
    image = build_image(a.source_root, a.build_root)
    w = tempfile.mkdtemp(prefix="vmrd-2vm-")
    conf = os.path.join(w, "host.conf")
    # The split of guest sizes by weight is what is tested: QEMU's own
    # memory (counted by default, issue 9) is left out of this budget.
    write_host_conf(conf, w, BUDGET, [(name, 384 * MIB, 1536 * MIB, weight)
                                      for name, (weight, _) in VMS.items()])

    runs = {}
    for name, (_, sarg) in VMS.items():
        runs[name] = Run(a.source_root, image,
                         ["--mem", "384M", "--maxmem", "1536M", "--cpus", "1", "--scenario",
                          "burst", "--sarg", sarg] + daemon_args(w, None),
                         timeout=200, work=os.path.join(w, name), wait=False)
    log = open(os.path.join(w, "broker.log"), "wb")
    host = subprocess.Popen([broker, "-d", "-c", conf], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    samples, stop = [], threading.Event()
    poller = threading.Thread(target=poll, args=(os.path.join(w, "host.sock"), samples, stop))
    poller.start()
    try:
        for r in runs.values():
            r.wait()
    finally:
        stop.set()
        poller.join()
        host.terminate()
        host.wait(timeout=10)

    ready = [s for s in samples if all(v["reconciled"] for v in s["vms"])]
    check(len(ready) >= 20, "the broker answered status json (%d samples)" % len(ready))
    for name, r in runs.items():
        check(r.event("burst-done") is not None, "guest %s ran its burst" % name)

    def sizes(s):
        return {v["name"]: v["current_bytes"] for v in s["vms"]}

    peak = {n: max(sizes(s)[n] for s in ready) for n in VMS}
    for n in VMS:
        check(peak[n] >= BOOT + 64 * MIB, "guest %s got memory (peak %d MiB)"
              % (n, peak[n] // MIB))
    worst_target = max(s["sum_target_bytes"] for s in ready)
    worst_current = max(sum(sizes(s).values()) for s in ready)
    check(worst_target <= BUDGET and worst_current <= BUDGET,
          "the budget of %d MiB held (targets at most %d, sizes at most %d MiB)"
          % (BUDGET // MIB, worst_target // MIB, worst_current // MIB))
    # The split once the budget is (nearly) used up: the sample with the
    # largest sum of sizes, latest first.
    full = max(reversed(ready), key=lambda s: sum(sizes(s).values()))
    sz = sizes(full)
    extra_a, extra_b = sz["a"] - BOOT, sz["b"] - BOOT
    check(sz["a"] + sz["b"] >= BUDGET - 128 * MIB,
          "the budget was used up (%d of %d MiB)" % ((sz["a"] + sz["b"]) // MIB, BUDGET // MIB))
    share = extra_a / max(1, extra_a + extra_b)
    check(0.55 <= share <= 0.78 and extra_b > 0,
          "the memory above the minimums was split by weight 2:1: a +%d MiB, b +%d MiB"
          " (a has %.0f %%)" % (extra_a // MIB, extra_b // MIB, share * 100))
    for r in runs.values():
        r.cleanup()
    shutil.rmtree(w, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
