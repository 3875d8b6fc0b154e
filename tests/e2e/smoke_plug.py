#!/usr/bin/env python3
"""End-to-end smoke test: a real guest sees the hotplug hardware and memory
plugged through virtio-mem shows up in its MemTotal.

It builds (or reuses) the guest image, boots it under QEMU TCG without
vmrd, and runs the "plug" scenario: the guest reports its devices, zones
and the org.vmrd.0 port, then asks for memory; the runner answers by
setting the virtio-mem device's requested-size to 256 MiB over QMP, and
the guest prints MemTotal until it has grown.

Exit 77 (skip) when QEMU is missing or the Debian kernel package cannot be
fetched; any failed expectation exits 1 with the reason.
"""

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile

PLUG_MIB = 256
SKIP = 77


def fail(msg):
    print("FAIL: %s" % msg, flush=True)
    sys.exit(1)


def first(markers, event):
    for m in markers:
        if m.get("event") == event:
            return m
    fail("the guest never reported event=%s" % event)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok: %s" % msg, flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--source-root", required=True)
    p.add_argument("--build-root", required=True)
    a = p.parse_args()

    if not shutil.which("qemu-system-x86_64"):
        print("SKIP: qemu-system-x86_64 not installed")
        return SKIP
    image = os.path.join(a.build_root, "guest")
    build = subprocess.run([os.path.join(a.source_root, "scripts/guest/build-image.sh"),
                            "-o", image], timeout=600)
    if build.returncode == SKIP:
        print("SKIP: the Debian kernel package could not be fetched")
        return SKIP
    if build.returncode != 0:
        fail("build-image.sh exited %d" % build.returncode)

    work = tempfile.mkdtemp(prefix="vmrd-e2e-smoke-")
    try:
        run = subprocess.run(
            [sys.executable, os.path.join(a.source_root, "scripts/guest/run-vm.py"),
             "--image-dir", image, "--workdir", work, "--scenario", "plug",
             "--sarg", "%d 30" % PLUG_MIB, "--on", "want-plug:plug=%dM" % PLUG_MIB,
             "--timeout", "150"], timeout=200)
        with open(os.path.join(work, "summary.json")) as f:
            markers = json.load(f)["markers"]
        with open(os.path.join(work, "timeline.csv")) as f:
            timeline = list(csv.DictReader(f))

        dev = first(markers, "devices")
        check(int(dev["virtio_mem"]) == 1, "the guest bound virtio_mem to one device")
        check(int(dev["virtio_balloon"]) == 1, "the guest bound virtio_balloon to one device")
        port = first(markers, "port")
        check(port["dev"].startswith("/dev/vport"),
              "the guest found the org.vmrd.0 port (%s)" % port["dev"])
        zones = first(markers, "zones")
        check(zones["movable"] == "1", "the guest kernel has a Movable zone")
        psi = first(markers, "psi")
        check(psi["available"] == "1", "/proc/pressure/memory exists in the guest")

        plugged = first(markers, "plugged")
        grown_kb = int(plugged["grown_kb"])
        check(grown_kb >= PLUG_MIB * 1024,
              "MemTotal grew by %d KiB after plugging %d MiB" % (grown_kb, PLUG_MIB))
        movable = [z for z in plugged["zones"].split() if z.startswith("Movable:")]
        check(movable and int(movable[0].split(":")[1]) >= PLUG_MIB * 256,
              "the plugged memory is in ZONE_MOVABLE (%s)" % (movable or "none"))
        check(any(r["plugged_bytes"] == str(PLUG_MIB << 20) for r in timeline),
              "QMP query-memory-devices reports %d MiB plugged" % PLUG_MIB)
        check(run.returncode == 0, "the scenario exited 0 (run-vm.py exit %d)" % run.returncode)
    except Exception:
        print("console log kept in %s" % work)
        raise
    except SystemExit as e:
        if e.code:
            print("console log kept in %s" % work)
            raise
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
