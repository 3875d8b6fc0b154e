#!/usr/bin/env python3
"""End-to-end: vmrd-host takes a guest below its boot memory with the
balloon (free page reporting on) and gives it back, as the guest's vmrd
asks.

A 512 MiB guest with vmrd and vmrd-host (min 256 MiB) runs the "balloon"
scenario: it idles until vmrd has given memory back, bursts (memhog) so
that vmrd asks for it again, frees it and idles until it is small again.
Without --vmem the VM has no virtio-mem device (max 512 MiB: the balloon
does everything); with --vmem it has both (max 1 GiB): below the boot
memory the balloon, above it virtio-mem.  Asserts:
- the guest went below its boot memory by at least 128 MiB, came back
  up by at least 96 MiB (with --vmem: above the boot memory, through
  virtio-mem, with the balloon empty) and went below again;
- every grant was carried out: the guest said done at the granted size,
  and QEMU's balloon reached each target below the boot memory
  (BALLOON_CHANGE in the broker's log), with no QMP command refused;
- the guest's MemTotal follows the balloon page for page: wherever the
  balloon stood still, boot memory - MemTotal is the same as at boot;
- QEMU's own answer (query-balloon, once a second) stayed within
  [min, boot], and nothing was OOM-killed.

Exit 77 (skip) when QEMU, vmrd-host or the kernel package is missing.
"""

import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import MIB, Run, build_image, check, col, daemon_args, e2e_args  # noqa: E402

BOOT = 512 * MIB
MIN = 256 * MIB
# Host pressure is this machine's, not the guest's: the test turns it off.
HOST_CONF = """budget = 8G
overhead = 0
reserve = 0
host_psi_some = 100%
host_psi_full = 100%
"""
BROKER_ARGS = ("-d -c %s --control @WORKDIR@/host.sock"
               " --state @WORKDIR@/host.state --vm name=e2e,qmp=@QMP@,channel=@PORT@,"
               "virtio-mem=vmem0,balloon=balloon0,min=256M,max=@MAXMEM@")
GRANT = re.compile(r"vm e2e: grant seq (\d+) target (\d+) ")
DONE = re.compile(r"vm e2e: done seq (\d+) current (\d+)")
BALLOON = re.compile(r"vm e2e: BALLOON_CHANGE, current \d+ \(balloon (\d+),")


def broker_log(work):
    """The broker's grants in order, each with the sizes QEMU's balloon
    reported before the next grant, the guests' done lines and failures."""
    grants, done, failed = [], {}, []
    with open(os.path.join(work, "broker.log"), errors="replace") as f:
        for line in f:
            if m := GRANT.search(line):
                grants.append({"seq": m[1], "target": int(m[2]), "balloon": []})
            elif m := DONE.search(line):
                done[m[1]] = int(m[2])
            elif (m := BALLOON.search(line)) and grants:
                grants[-1]["balloon"].append(int(m[1]))
            elif " failed: " in line or "not applied" in line:
                failed.append(line.strip())
    return grants, done, failed


def check_grants(work):
    grants, done, failed = broker_log(work)
    check(len(grants) >= 3, "the broker granted %d resizes" % len(grants))
    check(not failed, "QEMU refused no resize command (%s)" % (failed[:2] or "none"))
    for g in grants:
        check(done.get(g["seq"]) == g["target"],
              "grant %s to %d MiB: the guest said done at %s MiB" % (
                  g["seq"], g["target"] // MIB,
                  done[g["seq"]] // MIB if g["seq"] in done else "never"))
        # A size above the boot memory is virtio-mem's: the balloon is empty then.
        want = min(g["target"], BOOT)
        if want < BOOT or g["balloon"]:
            check(want in g["balloon"], "QEMU's balloon reached %d MiB (events: %s)"
                  % (want // MIB, [b // MIB for b in g["balloon"]][-4:]))


def check_memtotal_follows(run):
    """Where query-balloon and MemTotal stood still, their gap is the boot one.
    MemTotal is the guest's last report, which under TCG may be the same one
    in two samples (measured: one report read at 76 s and 77 s, still 2 MiB
    above a balloon that had moved before the first read): a pair is two
    reports in a row, each with the balloon as QEMU said when it was read."""
    rows, seen = [], set()
    for r in run.timeline:
        if r.get("balloon_actual_bytes") and r.get("memtotal_kb") \
                and r.get("guest_uptime_sec") not in seen:
            seen.add(r.get("guest_uptime_sec"))
            rows.append(r)
    gap0 = BOOT - int(rows[0]["memtotal_kb"]) * 1024
    steady = [(int(a["balloon_actual_bytes"]), int(a["memtotal_kb"]) * 1024)
              for a, b in zip(rows, rows[1:])
              if a["balloon_actual_bytes"] == b["balloon_actual_bytes"]
              and a["memtotal_kb"] == b["memtotal_kb"] and a.get("plugged_bytes", "") in ("", "0")]
    below = [(act, mt) for act, mt in steady if act < BOOT]
    check(len(below) >= 3, "%d steady samples below the boot memory" % len(below))
    off = [act - mt - gap0 for act, mt in below]
    check(max(abs(x) for x in off) <= 1 * MIB,
          "MemTotal followed the balloon page for page (boot gap %d MiB, off by at most %d KiB)"
          % (gap0 // MIB, max(abs(x) for x in off) // 1024))


def check_sizes(run, vmem):
    actual = col(run.timeline, "balloon_actual_bytes")
    check(min(actual) >= MIN and max(actual) <= BOOT,
          "query-balloon stayed within [min, boot]: %d..%d MiB"
          % (min(actual) // MIB, max(actual) // MIB))
    shrunk, burst = run.event("phase", name="shrunk"), run.event("phase", name="burst-done")
    again = run.event("phase", name="shrunk-again")
    mt0 = int(run.timeline[[r.get("memtotal_kb", "") != "" for r in run.timeline].index(True)]
              ["memtotal_kb"])
    low = int(shrunk["memtotal_kb"])
    check(mt0 - low >= 128 * 1024, "the guest went below its boot memory: MemTotal %d -> %d MiB"
          % (mt0 >> 10, low >> 10))
    during = run.rows_between(shrunk["_time"], burst["_time"] + 2)
    peak = max(col(during, "memtotal_kb"))
    check(peak - low >= 96 * 1024, "the burst grew it back: MemTotal %d -> %d MiB"
          % (low >> 10, peak >> 10))
    if vmem:
        top = [r for r in during if r.get("plugged_bytes") and int(r["plugged_bytes"]) > 0]
        check(top and max(int(r["plugged_bytes"]) for r in top) >= 64 * MIB,
              "above the boot memory through virtio-mem (%d MiB plugged)"
              % (max(int(r["plugged_bytes"]) for r in top) // MIB if top else 0))
        check(all(int(r["balloon_actual_bytes"]) == BOOT for r in top
                  if int(r["plugged_bytes"]) >= 64 * MIB),
              "the balloon was empty while virtio-mem memory was plugged")
        end = col(run.rows_between(again["_time"] - 1), "plugged_bytes")
        check(end and end[0] == 0, "virtio-mem gave back all it had plugged")
    check(peak - int(again["memtotal_kb"]) >= 96 * 1024 and again["reached"] == "1",
          "and below it again after the free: MemTotal %d MiB" % (int(again["memtotal_kb"]) >> 10))


def check_giveback(run, vmem):
    """vmrd-host counted what the guest gave up through each device, and
    the host's gain (the fall of QEMU's RSS) is never more than that."""
    vm = run.status[-1]["vms"][0] if run.status else {}
    gave, back = vm.get("gave_up_balloon_bytes", 0), vm.get("got_back_balloon_bytes", 0)
    check(gave >= 128 * MIB and back <= gave,
          "status: the balloon gave up %d MiB, the host got back %d MiB" % (gave // MIB, back // MIB))
    if vmem:
        gave, back = vm.get("gave_up_virtio_mem_bytes", 0), vm.get("got_back_virtio_mem_bytes", 0)
        check(gave >= 64 * MIB and back <= gave,
              "status: virtio-mem gave up %d MiB, the host got back %d MiB"
              % (gave // MIB, back // MIB))


def main():
    a = e2e_args(broker=True, add=lambda p: p.add_argument(
        "--vmem", action="store_true", help="virtio-mem as well (max 1 GiB)"))
    broker = a.broker
    image = build_image(a.source_root, a.build_root)
    w = tempfile.mkdtemp(prefix="vmrd-balloon-")
    conf = os.path.join(w, "host.conf")
    with open(conf, "w") as f:
        f.write(HOST_CONF)
    maxmem = "1G" if a.vmem else "512M"
    burst = "420M" if a.vmem else "300M"
    run = Run(a.source_root, image,
              ["--mem", "512M", "--maxmem", maxmem, "--scenario", "balloon",
               "--sarg", "-98304 60 %s 25 3" % burst, "--broker-args", BROKER_ARGS % conf]
              + ([] if a.vmem else ["--no-vmem"]) + daemon_args(w, broker),
              timeout=170, work=os.path.join(w, "vm"))

    dev = run.event("devices")
    check(dev["virtio_mem"] == ("1" if a.vmem else "0") and dev["virtio_balloon"] == "1",
          "the guest has virtio-mem %s and a balloon" % dev["virtio_mem"])
    check(run.returncode == 0, "the scenario exited 0 (run-vm.py exit %d; console: %s)"
          % (run.returncode, run.console))
    check_sizes(run, a.vmem)
    check_grants(run.work)
    check_memtotal_follows(run)
    check_giveback(run, a.vmem)
    check(run.oom_kills() == 0, "no OOM kill (%d)" % run.oom_kills())
    check(run.event("healthy")["status"] == "0", "the guest still allocates memory afterwards")
    shutil.rmtree(w, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
