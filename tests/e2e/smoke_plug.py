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

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import Run, build_image, check, e2e_args  # noqa: E402

PLUG_MIB = 256


def main():
    a = e2e_args()

    image = build_image(a.source_root, a.build_root)
    run = Run(a.source_root, image,
              ["--scenario", "plug", "--sarg", "%d 30" % PLUG_MIB,
               "--on", "want-plug:plug=%dM" % PLUG_MIB])

    dev = run.event("devices")
    check(int(dev["virtio_mem"]) == 1, "the guest bound virtio_mem to one device")
    check(int(dev["virtio_balloon"]) == 1, "the guest bound virtio_balloon to one device")
    port = run.event("port")
    check(port["dev"].startswith("/dev/vport"),
          "the guest found the org.vmrd.0 port (%s)" % port["dev"])
    check(run.event("zones")["movable"] == "1", "the guest kernel has a Movable zone")
    check(run.event("psi")["available"] == "1", "/proc/pressure/memory exists in the guest")

    plugged = run.event("plugged")
    grown_kb = int(plugged["grown_kb"])
    check(grown_kb >= PLUG_MIB * 1024,
          "MemTotal grew by %d KiB after plugging %d MiB" % (grown_kb, PLUG_MIB))
    movable = [z for z in plugged["zones"].split() if z.startswith("Movable:")]
    check(movable and int(movable[0].split(":")[1]) >= PLUG_MIB * 256,
          "the plugged memory is in ZONE_MOVABLE (%s)" % (movable or "none"))
    check(any(r["plugged_bytes"] == str(PLUG_MIB << 20) for r in run.timeline),
          "QMP query-memory-devices reports %d MiB plugged" % PLUG_MIB)
    check(run.returncode == 0, "the scenario exited 0 (run-vm.py exit %d)" % run.returncode)
    run.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
