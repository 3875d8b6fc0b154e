#!/usr/bin/env python3
"""End-to-end: host pressure in the budget's cgroup is relieved by cutting a
real guest, never below its min.

A guest (512 MiB boot, 512 MiB of virtio-mem plugged from the start, max
1536 MiB, min 512 MiB) runs under QEMU TCG inside a memory cgroup made for
the test, and vmrd-host's budget is that cgroup (budget = cgroup:/NAME).
The guest has no agent: it cannot be asked, only cut.  It fills its page
cache (500 MiB written to its disk), then idles.  The test then sets the
cgroup's limit to what QEMU holds plus half of what a workload needs, and
starts that workload inside the cgroup only: a process that rewrites a
400 MiB file in a loop, so that its dirty page cache does not fit and
reclaim stalls (memory PSI of the cgroup).  The workload has oom_score_adj
1000, so that an OOM kill in the cgroup takes it, not QEMU.  With a
cgroup v2 memory controller the limit is memory.high (memory.max is set
512 MiB above it); with the v1 controller of a hybrid host it is
memory.limit_in_bytes and the pressure comes from the unified tree.

Asserts: the workload raised the cgroup's PSI some avg10 to the host
pressure threshold (10 %); vmrd-host cut the guest with reason
host_pressure; the guest's target and size never went below its min; the
PSI fell back below the threshold within 60 s of crossing it; the guest
had no OOM kill and its scenario ended normally.

Exit 77 (skip) without QEMU, vmrd-host, the kernel package, root, or a
memory cgroup controller.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import MIB, SKIP, Run, build_image, check, e2e_args, fail  # noqa: E402

THRESHOLD = 1000          # host_psi_some's default, hundredths of a percent
WORKLOAD_MIB = 400
RELIEF_LIMIT_SEC = 60
MIN = 512 * MIB

FILL = """#!/bin/sh
# Fill the page cache with a file on the data disk, then idle.
dd if=/dev/zero of=/mnt/data/fill bs=1M count=$1 2>/dev/null
sync
echo "VMRD-E2E: event=filled"
sleep $2
echo "VMRD-E2E: event=idle-done"
"""

WORKLOAD = """echo 1000 > /proc/self/oom_score_adj
end=$(($(date +%s) + {secs}))
while [ "$(date +%s)" -lt "$end" ]; do
	dd if=/dev/zero of={path} bs=1M count={mib} conv=notrunc status=none
done
"""


def import_testcg(source_root):
    sys.path.insert(0, os.path.join(source_root, "scripts", "bench"))
    import testcg
    return testcg


def anon_bytes(cg):
    """What the cgroup holds that reclaim cannot take (no swap): anonymous memory."""
    with open(os.path.join(cg.mem, "memory.stat")) as f:
        for line in f:
            k, v = line.split()
            if k in ("anon", "rss"):  # v2, v1
                return int(v)
    return 0


def statuses(work):
    path = os.path.join(work, "broker-status.jsonl")
    try:
        with open(path) as f:
            return [json.loads(x) for x in f if x.strip()]
    except (OSError, ValueError):
        return []


def main():
    a = e2e_args(broker=True)
    broker = a.broker
    testcg = import_testcg(a.source_root)
    if os.geteuid() != 0 or not testcg.layout():
        print("SKIP: cannot make a memory cgroup (root and a memory controller needed)")
        return SKIP
    image = build_image(a.source_root, a.build_root)
    # The workload's file must be on a disk: its page cache is what presses.
    w = tempfile.mkdtemp(prefix="vmrd-hostpressure-", dir=a.build_root)
    cg = testcg.Cgroup("vmrd-e2e-pressure-%d" % os.getpid())
    cg.create(4096 * MIB)
    try:
        return run(a, broker, image, w, cg, testcg)
    finally:
        for p_ in cg.pids():
            try:
                os.kill(p_, 9)
            except OSError:
                pass
        time.sleep(0.5)
        cg.destroy()
        shutil.rmtree(w, ignore_errors=True)


def run(a, broker, image, w, cg, testcg):
    fill = os.path.join(w, "fill.sh")
    with open(fill, "w") as f:
        f.write(FILL)
    os.chmod(fill, 0o755)
    conf = os.path.join(w, "host.conf")
    with open(conf, "w") as f:
        f.write("budget = cgroup:%s\n" % cg.path)
    broker_args = ("-d -c %s --control @WORKDIR@/host.sock --state @WORKDIR@/host.state "
                   "--vm name=e2e,qmp=@QMP@,channel=@PORT@,virtio-mem=vmem0,min=512M,max=1536M"
                   % conf)
    os.environ["BENCH_CGROUP"] = cg.name
    vm = Run(a.source_root, image,
             ["--qemu", os.path.join(a.source_root, "scripts/bench/qemu-wrap.py"),
              "--mem", "512M", "--maxmem", "1536M", "--vmem-initial", "512M", "--cpus", "1",
              "--no-balloon", "--disk", "640M", "--scenario", "fill",
              "--add", fill + ":/scenarios/fill", "--sarg", "500 110",
              "--broker", broker, "--broker-args", broker_args],
             timeout=220, work=os.path.join(w, "vm"), wait=False)
    console = os.path.join(vm.work, "console.log")
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        if os.path.exists(console) and "event=filled" in open(console, errors="replace").read():
            break
        if vm.proc.poll() is not None:
            fail("the guest ended before filling its cache")
        time.sleep(1)
    else:
        fail("the guest never filled its cache")
    # The guest's disk writes sit in the host page cache (cache=unsafe): write them out,
    # so the pressure below is the workload's.
    subprocess.run(["sync"], check=False)
    limit = anon_bytes(cg) + WORKLOAD_MIB * MIB // 2
    if cg.kind == "v2":
        cg.set_limit(limit + 512 * MIB, high=limit)
    else:
        cg.set_limit(limit)
    print("cgroup %s: limit %d MiB (QEMU holds %d MiB anon)" % (cg.path, limit // MIB,
                                                               anon_bytes(cg) // MIB), flush=True)
    time.sleep(3)
    work_file = os.path.join(w, "workload.bin")
    script = WORKLOAD.format(secs=RELIEF_LIMIT_SEC + 40, path=work_file, mib=WORKLOAD_MIB)
    writer = subprocess.Popen([sys.executable, os.path.join(a.source_root, "scripts/bench/testcg.py"),
                               "exec", cg.name, "--", "sh", "-c", script])
    t0 = time.monotonic()
    psi, crossed, relieved = [], None, None
    while time.monotonic() - t0 < RELIEF_LIMIT_SEC + 30:
        v = cg.psi_some_avg10() or 0
        t = time.monotonic() - t0
        psi.append((round(t, 1), v))
        if crossed is None and v >= THRESHOLD:
            crossed = t
        if crossed is not None and v < THRESHOLD:
            relieved = t
            break
        time.sleep(1)
    writer.kill()
    writer.wait()
    print("cgroup PSI some avg10 (s, %%): %s" % ", ".join("%g:%.1f" % (t, v / 100) for t, v in psi),
          flush=True)
    vm.wait()

    check(crossed is not None, "the workload pressed the cgroup: PSI some avg10 up to %.1f %%"
          % (max(v for _, v in psi) / 100))
    blog = open(os.path.join(vm.work, "broker.log"), errors="replace").read()
    cuts = [line for line in blog.splitlines() if "reason host_pressure" in line]
    check(len(cuts) > 0, "vmrd-host cut the guest for host pressure (%d cuts, first: %s)"
          % (len(cuts), cuts[0].split("vmrd-host: ")[-1] if cuts else "none"))
    st = [s for s in statuses(vm.work) if s.get("vms") and s["vms"][0]["reconciled"]]
    low_t = min(s["vms"][0]["target_bytes"] for s in st)
    low_c = min(s["vms"][0]["current_bytes"] for s in st)
    check(low_t >= MIN and low_c >= MIN, "never below min: lowest target %d MiB, size %d MiB"
          % (low_t // MIB, low_c // MIB))
    check(relieved is not None and relieved - crossed <= RELIEF_LIMIT_SEC,
          "the pressure was relieved %s s after it crossed 10 %%"
          % ("%.0f" % (relieved - crossed) if relieved is not None else "never"))
    check(vm.oom_kills() == 0, "no OOM kill in the guest (%d)" % vm.oom_kills())
    check(vm.returncode == 0 and vm.event("idle-done") is not None,
          "the guest's scenario ended normally (run-vm.py exit %d)" % vm.returncode)
    return 0


if __name__ == "__main__":
    sys.exit(main())
