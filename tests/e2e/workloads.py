#!/usr/bin/env python3
"""End-to-end test of the guest workload programs that later tests rely
on: memhog must report an OOM kill of its worker (and the runner must see
the kernel's OOM message), a two-process sawtooth must finish, and the
page-cache workloads must run on the virtio-blk ext4 disk and leave their
file in the page cache.

Exit 77 (skip) when QEMU is missing or the kernel package cannot be had.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import Run, build_image, check, e2e_args  # noqa: E402


def main():
    a = e2e_args()

    image = build_image(a.source_root, a.build_root)
    run = Run(a.source_root, image, ["--scenario", "workloads", "--disk", "512M"])

    check(run.event("disk")["mnt"] == "/mnt/data", "the guest mounted the ext4 disk")

    check(run.event("workload", name="memhog-oom")["exit"] == "2",
          "memhog exits 2 when its worker is OOM-killed")
    oom = run.kind("memhog", status="oom-killed")
    check(int(oom["oom_killed"]) == 1 and int(oom["kernel_oom_kills"]) >= 1,
          "memhog counted the kill and the kernel's oom_kill counter moved")
    check(run.console_oom_kills >= 1, "the runner saw the kernel's OOM message on the console")

    check(run.event("workload", name="memhog-sawtooth")["exit"] == "0",
          "a two-process, two-cycle memhog sawtooth finishes")
    saw = run.kind("memhog", status="ok")
    check(saw["procs"] == "2" and saw["ok"] == "2", "both sawtooth workers finished")

    check(run.event("workload", name="cachehog-reread")["exit"] == "0",
          "cachehog reread finishes")
    reread = run.kind("cachehog-reread")
    check(int(reread["read1_ms"]) >= 0 and int(reread["read2_ms"]) >= 0,
          "both reads of the file succeeded (%s ms, %s ms)"
          % (reread["read1_ms"], reread["read2_ms"]))
    check(int(reread["cached_kb"]) >= 64 * 1024,
          "the 64 MiB file is in the page cache after the re-read (Cached %s kB)"
          % reread["cached_kb"])
    check(run.event("workload", name="cachehog-creep")["exit"] == "0",
          "cachehog creep writes and reads four files")
    check(run.returncode == 0, "the scenario exited 0 (run-vm.py exit %d)" % run.returncode)
    run.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
