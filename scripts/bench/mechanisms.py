#!/usr/bin/env python3
"""How much host memory each give-back mechanism really frees (issue 12,
item 5): in real QEMU TCG guests, the drop of QEMU's RSS per MiB the guest
gives up, for balloon inflation with free page reporting (FPR) off and on,
virtio-mem unplug, and a page-cache trim, each after a burst (memory the
guest touched and freed) and after a cache fill.

One guest boot per case (guest/scenarios/giveup.sh): the guest fills
memory, waits SETTLE seconds (FPR reports free blocks after about 2 s),
then gives memory up; the runner inflates the balloon or unplugs
virtio-mem on the guest's "giveup-before" marker.  "Given up" is the fall
of the guest's MemTotal (balloon, unplug) or of its Cached (trim);
"before" and "after" are QEMU's RSS in the last sample before each marker.
A case that cannot be measured says why in the table.  Writes
bench/sections/mechanisms.md.

    mechanisms.py [--build-root build] [--cases NAME,...] [--out FILE]
"""

import argparse
import csv
import datetime
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MIB_KB = 1024
SIZE = "320M"        # the burst, or the cache fill
GIVE = 256           # MiB the balloon or virtio-mem takes away
SETTLE = 8           # seconds after the fill and after the give-back
BALLOON = ["--mem", "512M", "--maxmem", "512M", "--no-vmem"]
# virtio-mem with 256 MiB plugged at boot (online_movable); FPR off so
# that the unplug is measured alone.
VMEM = ["--mem", "512M", "--maxmem", "1G", "--vmem-initial", "%dM" % GIVE, "--no-fpr"]
DISK = ["--disk", "768M"]
INFLATE = ["--on", "giveup-before:balloon=%dM" % (512 - GIVE)]
UNPLUG = ["--on", "giveup-before:plug=0"]

# name: (mechanism, prep, action, run-vm.py arguments)
CASES = {
    "balloon-nofpr-burst": ("balloon inflate, FPR off", "burst", "balloon",
                            BALLOON + ["--no-fpr"] + INFLATE),
    "balloon-nofpr-cache": ("balloon inflate, FPR off", "cache", "balloon",
                            BALLOON + ["--no-fpr"] + DISK + INFLATE),
    "balloon-fpr-burst": ("balloon inflate, FPR on", "burst", "balloon", BALLOON + INFLATE),
    "balloon-fpr-cache": ("balloon inflate, FPR on", "cache", "balloon",
                          BALLOON + DISK + INFLATE),
    "vmem-burst": ("virtio-mem unplug (FPR off)", "burst", "unplug", VMEM + UNPLUG),
    "vmem-cache": ("virtio-mem unplug (FPR off)", "cache", "unplug", VMEM + DISK + UNPLUG),
    "trim-fpr-cache": ("cache trim, FPR on", "cache", "trim", BALLOON + DISK),
    "trim-nofpr-cache": ("cache trim, FPR off", "cache", "trim", BALLOON + ["--no-fpr"] + DISK),
}


def boot(image, work, prep, action, args):
    drop_kb = 0 if action == "trim" else (GIVE - 6) * MIB_KB
    cmd = [sys.executable, os.path.join(ROOT, "scripts/guest/run-vm.py"), "--image-dir", image,
           "--workdir", work, "--timeout", "300", "--report", "0", "--scenario", "giveup",
           "--sarg", "%s %s %s %d %d" % (prep, SIZE, action, drop_kb, SETTLE)] + args
    rc = subprocess.run(cmd, stdout=subprocess.DEVNULL).returncode
    with open(os.path.join(work, "summary.json")) as f:
        markers = json.load(f)["markers"]
    with open(os.path.join(work, "timeline.csv")) as f:
        rows = [r for r in csv.DictReader(f) if r["qemu_rss_kb"]]
    return rc, markers, rows


def rss_at(rows, t):
    """QEMU's RSS (kB) in the last sample at or before runner time t."""
    before = [int(r["qemu_rss_kb"]) for r in rows if float(r["time_sec"]) <= t]
    return before[-1] if before else None


def measure(image, name, work):
    mech, prep, action, args = CASES[name]
    rc, markers, rows = boot(image, work, prep, action, args)
    m = {k: next((x for x in markers if x.get("event") == "giveup-" + k), None)
         for k in ("filled", "before", "after")}
    out = {"case": name, "mechanism": mech, "prep": prep, "exit": rc}
    if rc != 0 or None in m.values():
        out["missing"] = "guest exit %d, markers %s (%s)" % (
            rc, [k for k, v in m.items() if v], work)
        return out
    key = "cached_kb" if action == "trim" else "memtotal_kb"
    given = int(m["before"][key]) - int(m["after"][key])
    out.update(given_mib=given / MIB_KB, reached=m["after"].get("reached") == "1",
               peak_mib=max(int(r["qemu_rss_kb"]) for r in rows
                            if float(r["time_sec"]) <= m["filled"]["_time"]) / MIB_KB,
               before_mib=rss_at(rows, m["before"]["_time"]) / MIB_KB,
               after_mib=rss_at(rows, m["after"]["_time"]) / MIB_KB)
    out["drop_mib"] = out["before_mib"] - out["after_mib"]
    return out


def cell(r):
    if "missing" in r:
        return "| %s | %s | not measured: %s | | | | | |" % (r["mechanism"], r["prep"], r["missing"])
    per = "%.2f" % (round(r["drop_mib"] / r["given_mib"], 2) + 0.0) if r["given_mib"] > 0 \
        else "not measured (nothing given up)"
    note = "" if r["reached"] else " (the give-back did not finish in 60 s)"
    return "| %s | %s | %d%s | %d | %d → %d | %d | %s | %d |" % (
        r["mechanism"], r["prep"], round(r["given_mib"]), note, round(r["peak_mib"]),
        round(r["before_mib"]), round(r["after_mib"]), round(r["drop_mib"]), per,
        round(r["peak_mib"] - r["after_mib"]))


def report(results, command):
    lines = [
        "## How much the host gets back per mechanism",
        "",
        "Command: `%s`  " % command,
        "Date: %s UTC, QEMU TCG on this 2-core host, one guest at a time." %
        datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "",
        "Each row is one boot of a 512 MiB guest (guest/scenarios/giveup.sh): a burst (memhog "
        "touches %s and frees it) or a cache fill (%s file written and read on the virtio-blk "
        "disk), %d s to settle, then the give-back: the balloon inflated by %d MiB, virtio-mem "
        "(%d MiB plugged at boot) unplugged, or `drop_caches`; %d s to settle. *Given up*: the "
        "fall of the guest's MemTotal (Cached for a trim). *QEMU RSS*: the peak while filled, "
        "then the last sample before and after the give-back. *Per MiB*: RSS drop / given up. "
        "*From peak*: peak − after, what the host got back since the fill, by free page "
        "reporting (before the give-back) and the give-back together."
        % (SIZE, SIZE, SETTLE, GIVE, GIVE, SETTLE),
        "",
        "| mechanism | after | given up (MiB) | RSS peak (MiB) | RSS before → after (MiB) "
        "| RSS drop (MiB) | per MiB given up | from peak (MiB) |",
        "|---|---|---|---|---|---|---|---|",
    ] + [cell(r) for r in results] + [""]
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build-root", default=os.path.join(ROOT, "build"))
    p.add_argument("--cases", default=",".join(CASES))
    p.add_argument("--out", default=os.path.join(ROOT, "bench/sections/mechanisms.md"))
    p.add_argument("--command", default="make bench-mechanisms")
    a = p.parse_args()
    image = os.path.join(a.build_root, "guest")
    results = []
    for name in a.cases.split(","):
        work = tempfile.mkdtemp(prefix="vmrd-mech-%s-" % name)
        r = measure(image, name, work)
        print(json.dumps(r), flush=True)
        results.append(r)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        f.write(report(results, a.command))
    with open(os.path.splitext(a.out)[0] + ".json", "w") as f:
        json.dump(results, f, indent=1)
    print("wrote %s" % a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
