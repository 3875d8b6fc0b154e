#!/usr/bin/env python3
"""QEMU wrapper for `make bench`: turns run-vm.py's VM into a benchmark variant.

run-vm.py always builds a VM with a virtio-mem device and a free page
reporting balloon.  The benchmark also needs plain static VMs and a balloon
with deflate-on-oom, so run-vm.py is pointed at this wrapper (--qemu), which
edits the argument list and execs the real QEMU under the same PID (the
runner measures that PID's RSS).  Environment:
  BENCH_NO_VMEM=1        drop the virtio-mem device and its memory backend
  BENCH_BALLOON_PROPS=.. append properties to the virtio-balloon device
  BENCH_TB_SIZE=MIB      TCG translation cache size (-accel tcg,tb-size=)
  BENCH_CGROUP=NAME      join that memory cgroup first (made by testcg.py), so that
                         QEMU runs under its limit (vmrd-host's budget = cgroup:/NAME)
  BENCH_QEMU=path        the real QEMU (default qemu-system-x86_64)
"""
import os
import sys

argv = sys.argv[1:]
out = []
i = 0
no_vmem = os.environ.get("BENCH_NO_VMEM") == "1"
props = os.environ.get("BENCH_BALLOON_PROPS", "")
tb = os.environ.get("BENCH_TB_SIZE", "")
while i < len(argv):
    opt = argv[i]
    val = argv[i + 1] if i + 1 < len(argv) else None
    if no_vmem and opt == "-object" and val and val.startswith("memory-backend-ram,id=vmemdev0"):
        i += 2
        continue
    if no_vmem and opt == "-device" and val and val.startswith("virtio-mem-pci"):
        i += 2
        continue
    if props and opt == "-device" and val and val.startswith("virtio-balloon-pci"):
        out += [opt, val + "," + props]
        i += 2
        continue
    if tb and opt == "-machine" and val and "accel=tcg" in val:
        out += [opt, val.replace(",accel=tcg", ""), "-accel", "tcg,tb-size=%s" % tb]
        i += 2
        continue
    out.append(opt)
    i += 1
if os.environ.get("BENCH_CGROUP"):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import testcg  # noqa: E402
    testcg.Cgroup(os.environ["BENCH_CGROUP"]).join(os.getpid())
qemu = os.environ.get("BENCH_QEMU", "qemu-system-x86_64")
os.execvp(qemu, [qemu] + out)
