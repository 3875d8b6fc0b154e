#!/usr/bin/env python3
"""End-to-end: the AF_VSOCK code of both ends, over vsock_loopback inside a
guest kernel (this machine has no /dev/vhost-vsock, so no QEMU guest with
vhost-vsock-pci can be run here).

In the guest, the virtio vsock transport (loaded by the image, with no
device behind it) is removed and vsock_loopback loaded, so that a
connection to the host's CID 2 loops back inside the guest.  There,
vsock-peer (vmrd-host's vsock.c listener and CID map, and its vm.c guest
link, linked statically) listens on port 5571 with CID 1 (the loopback's
own) mapped to a VM, and the guest's real vmrd (backend host,
vsock_port = 5571, src/backends/host_link.c) connects to CID 2 as on a
real host.  Asserts: the peer took the connection for the mapped CID, the
hello came, the welcome was answered and a report followed.

Exit 77 (skip) when QEMU or the kernel package is missing.
"""

import glob
import lzma
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import Run, build_image, check, e2e_args  # noqa: E402

PORT = 5571
SCRIPT = """#!/bin/sh
marker() { echo "VMRD-E2E: $*"; }
# No virtio-vsock device: without its transport, CID 2 goes to the loopback.
rmmod vmw_vsock_virtio_transport || marker "event=rmmod-failed"
insmod /lib/modules/vsock_loopback.ko || marker "event=insmod-failed module=vsock_loopback"
marker "event=vsock-modules loaded=\\"$(grep -o '^vsock[a-z_]*\\|^vmw_vsock[a-z_]*' /proc/modules | tr '\\n' ' ')\\""
/usr/bin/vsock-peer %(port)d 1 40 &
peer=$!
sleep 0.5
/usr/bin/vmrd -c /etc/vmrd-vsock.conf 2>&1 &
vmrd=$!
wait $peer
status=$?
kill $vmrd
exit $status
"""
CONF = """[vmrd]
backend = host
control = /run/vmrd.sock
report_interval = 1s

[backend]
vsock_port = %d
""" % PORT


def main():
    a = e2e_args(add=lambda p: p.add_argument("--peer", required=True))

    image = build_image(a.source_root, a.build_root)
    mods = glob.glob(os.path.join(image, "kernel/lib/modules/*/kernel/net/vmw_vsock/vsock_loopback.ko*"))
    check(len(mods) == 1, "the guest kernel has vsock_loopback (%s)" % (mods[0] if mods else "none"))
    work = tempfile.mkdtemp(prefix="vmrd-vsock-")
    mod = os.path.join(work, "vsock_loopback.ko")
    with open(mods[0], "rb") as f:
        data = f.read()
    with open(mod, "wb") as f:
        f.write(lzma.decompress(data) if mods[0].endswith(".xz") else data)
    script = os.path.join(work, "vsock-test")
    with open(script, "w") as f:
        f.write(SCRIPT % {"port": PORT})
    os.chmod(script, 0o755)
    conf = os.path.join(work, "vmrd-vsock.conf")
    with open(conf, "w") as f:
        f.write(CONF)
    run = Run(a.source_root, image,
              ["--mem", "512M", "--maxmem", "1G", "--scenario", "run", "--sarg", "/usr/bin/vsock-test",
               "--add", a.peer + ":/usr/bin/vsock-peer", "--add", script + ":/usr/bin/vsock-test",
               "--add", mod + ":/lib/modules/vsock_loopback.ko",
               "--add", conf + ":/etc/vmrd-vsock.conf"], timeout=120)
    mods = run.event("vsock-modules")["loaded"]
    check("vsock_loopback" in mods and "vmw_vsock_virtio_transport " not in mods + " ",
          "the guest runs vsock_loopback without the virtio transport (%s)" % mods.strip())
    listening = [m for m in run.markers if m.get("kind") == "vsock-peer" and m.get("status") == "listening"]
    check(listening, "vsock-peer listens on AF_VSOCK port %d" % PORT)
    res = [m for m in run.markers if m.get("kind") == "vsock-peer" and m.get("status") != "listening"]
    check(res and res[-1].get("status") == "ok",
          "the peer CID 1 was mapped to the VM, hello, welcome and a report went through (%s)"
          % (res[-1] if res else "no result"))
    check(res[-1].get("agent", "").startswith("vmrd"), "the agent was vmrd (%s)" % res[-1].get("agent"))
    check(run.returncode == 0, "the scenario exited 0 (run-vm.py exit %d)" % run.returncode)
    run.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
