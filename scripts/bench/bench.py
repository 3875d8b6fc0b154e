#!/usr/bin/env python3
"""Runs the `make bench` matrix: every system on every scenario, real QEMU guests.

Each run boots a guest with scripts/guest/run-vm.py (through qemu-wrap.py
for the static and balloon variants), runs scripts/bench/guest-bench.sh in
it and keeps the runner's outputs under OUT/raw/SCENARIO/SYSTEM/.  The
overcommit scenario boots three guests at once and, for the vmrd systems,
one vmrd-host for all three under a budget.  The hostpressure scenario
boots three guests inside a memory cgroup made for the run (testcg.py), with
vmrd-host's budget = cgroup:/NAME, and presses that cgroup with a workload
of its own.  A run that already has a run.json is skipped, so an
interrupted benchmark resumes where it stopped.
report.py turns the raw directory into results.json, plots and RESULTS.md.

Durations come from a profile (full or quick) and can be overridden with
BENCH_<SCENARIO>_<KEY>=VALUE, e.g. BENCH_BURST_IDLE=60.

Every run.json records what the report needs to say where its numbers come
from: the source commit the guest's vmrd was built from, the start time,
the host's load average before and after, and the guest kernel command
line each VM booted with (run-vm.py's GUEST_MEMHP_ARGS unless --memhp).
"""

import argparse
import concurrent.futures
import csv
import json
import os
import shlex
import subprocess
import sys
import time

import testcg

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "e2e"))
from e2elib import broker_status  # noqa: E402

RUN_VM = os.path.join(TOP, "scripts", "guest", "run-vm.py")
WRAP = os.path.join(HERE, "qemu-wrap.py")
GUEST_SCRIPT = os.path.join(HERE, "guest-bench.sh")

# The five systems.  "static" VMs have no virtio-mem device; the balloon
# variant is the strongest thing QEMU offers without a daemon.
SYSTEMS = {
    "static-max": dict(label="(a) static, max size", static="max", balloon=False),
    "static-base": dict(label="(b) static, base size", static="base", balloon=False),
    "balloon-fpr": dict(label="(c) static max + balloon FPR, deflate-on-oom", static="max",
                        balloon=True, balloon_props="deflate-on-oom=on"),
    "vmrd-psionly": dict(label="(d) vmrd psi-only + vmrd-host", daemon=True, psionly=True,
                         balloon=False),
    "vmrd": dict(label="(e) vmrd default + vmrd-host, FPR on", daemon=True, balloon=True),
}
SYSTEM_ORDER = ["static-max", "static-base", "balloon-fpr", "vmrd-psionly", "vmrd"]

PSIONLY_CONF = "[policy]\nmode = psi-only\n"

# Scenario parameters.  cpus=1 scenarios may share the two host cores with
# one other run (pairable); the others run alone.
PROFILES = {
    "full": {
        "ramp": dict(base="512M", max="2G", cpus=2, size="700M", procs=2, hold=10, timeout=300),
        "burst": dict(base="512M", max="2G", cpus=1, size="500M", procs=2, hold=10, idle=180,
                      timeout=420, pair=True),
        "reread": dict(base="512M", max="2G", cpus=2, size="1G", idle=60, disk="1400M",
                       timeout=600),
        "creep": dict(base="512M", max="2G", cpus=1, size="64M", count=32, rate=16,
                      disk="2300M", timeout=600, pair=True),
        "sawtooth": dict(base="512M", max="2G", cpus=2, size="350M", procs=2, cycles=5, hold=4,
                         idle=8, timeout=400),
        # The budget leaves room for one VM at its maximum plus the others
        # at their base, so each solo burst fits; three at once do not.
        "overcommit": dict(base="512M", max="1536M", cpus=1, size="1100M", hold=20, slot=30,
                           first=15, zram="768M", budget="3584M", weights="100,200,400",
                           timeout=480),
        # Three guests hold SIZE each; then the cgroup is set to what they hold
        # plus half of what a workload rewriting WRITE MiB needs, and the
        # workload runs PRESS seconds inside it.
        "hostpressure": dict(base="512M", max="1536M", cpus=1, size="700M", rate=50, hold=170,
                             zram="384M", write=512, press=70, weights="100,200,400",
                             systems="static-max,vmrd", timeout=400),
        # About 230 MiB of slab (150k inodes and dentries) and 384 MiB of
        # Buffers: more than the DMA32 zone of a 512 MiB guest holds (440
        # MiB managed; 375 MiB with virtio-mem, whose swiotlb takes 64 MiB),
        # far less than a 2 GiB one.  The 4 GiB disk has the inodes for it.
        "unmovable": dict(base="512M", max="2G", cpus=2, files=150000, raw="384M", passes=4,
                          idle=5, disk="4G", timeout=600),
        # A 900 MiB hot set needs a guest of about 1.1 GiB; the 512 MiB
        # cold file streamed before each pass should not make it grow
        # further, while a static guest caches the cold files until full.
        "hotset": dict(base="512M", max="2G", cpus=2, size="900M", files=9, passes=4,
                       cold="512M", disk="3500M", timeout=720),
    },
    "quick": {
        "ramp": dict(base="512M", max="2G", cpus=2, size="400M", procs=2, hold=2, timeout=180),
        # The idle outlasts the issue 8 goal (90 % of the size back within
        # 30 s), so that a quick run can decide it too.
        "burst": dict(base="512M", max="2G", cpus=1, size="300M", procs=2, hold=2, idle=45,
                      timeout=240, pair=True),
        "reread": dict(base="512M", max="2G", cpus=2, size="256M", idle=10, disk="400M",
                       timeout=300),
        "creep": dict(base="512M", max="2G", cpus=1, size="32M", count=8, rate=32,
                      disk="400M", timeout=300, pair=True),
        "sawtooth": dict(base="512M", max="2G", cpus=2, size="200M", procs=2, cycles=2, hold=2,
                         idle=5, timeout=240),
        # 3G: the three QEMUs' own memory (about 300 MiB each under TCG)
        # counts in the budget (strict mode) beside the three 512 MiB mins.
        "overcommit": dict(base="512M", max="1G", cpus=1, size="500M", hold=3, slot=10,
                           first=8, zram="384M", budget="3G", weights="100,200,400",
                           timeout=300),
        "hostpressure": dict(base="512M", max="1G", cpus=1, size="450M", rate=50, hold=120,
                             zram="256M", write=384, press=50, weights="100,200,400",
                             systems="vmrd", timeout=300),
        # Still more kernel memory than a 512 MiB guest's DMA32 holds.
        "unmovable": dict(base="512M", max="2G", cpus=2, files=120000, raw="384M", passes=3,
                          idle=2, disk="4G", timeout=400),
        "hotset": dict(base="512M", max="2G", cpus=2, size="600M", files=6, passes=3,
                       cold="384M", disk="2200M", timeout=480),
    },
}
# Overcommit runs early: if a long run is cut short, the scenarios that
# matter most are already complete.
SCENARIO_ORDER = ["ramp", "burst", "overcommit", "hostpressure", "unmovable", "hotset", "reread",
                  "creep", "sawtooth"]


def log(msg):
    print("bench: %s" % msg, file=sys.stderr, flush=True)


def scenario_params(profile, name):
    p = dict(PROFILES[profile][name])
    prefix = "BENCH_%s_" % name.upper()
    for k, v in os.environ.items():
        if k.startswith(prefix):
            key = k[len(prefix):].lower()
            p[key] = type(p[key])(v) if key in p and not isinstance(p[key], bool) else v
    return p


def sarg(name, p, slot=0):
    if name == "ramp":
        words = ["ramp", p["size"], p["procs"], p["hold"]]
    elif name == "burst":
        words = ["burst", p["size"], p["procs"], p["hold"], p["idle"]]
    elif name == "reread":
        words = ["reread", p["size"], p["idle"]]
    elif name == "creep":
        words = ["creep", p["size"], p["count"], p["rate"]]
    elif name == "sawtooth":
        words = ["sawtooth", p["size"], p["procs"], p["cycles"], p["hold"], p["idle"]]
    elif name == "unmovable":
        words = ["unmovable", p["files"], p["raw"], p["passes"], p["idle"]]
    elif name == "hotset":
        words = ["hotset", p["size"], p["files"], p["passes"], p["cold"]]
    elif name == "hostpressure":
        words = ["hostpressure", p["size"], p["rate"], p["hold"]]
    else:
        # VM number "slot" bursts alone at uptime first + slot * slot_sec,
        # then all of them together after the last solo slot.
        words = ["overcommit", p["first"] + slot * p["slot"], p["size"], p["hold"],
                 p["first"] + 3 * p["slot"]]
    return " ".join(str(w) for w in words)


def vm_command(a, system, name, p, work, slot=0, broker=True):
    """run-vm.py argv and environment for one guest of one run."""
    s = SYSTEMS[system]
    env = dict(os.environ)
    env["BENCH_QEMU"] = a.qemu
    size = {"max": p["max"], "base": p["base"]}.get(s.get("static"))
    argv = [sys.executable, RUN_VM, "--image-dir", a.image_dir, "--workdir", work,
            "--qemu", WRAP, "--cpus", str(p["cpus"]), "--scenario", "bench",
            "--add", "%s:/scenarios/bench" % GUEST_SCRIPT,
            "--sarg", sarg(name, p, slot), "--timeout", str(p["timeout"])]
    if size:
        env["BENCH_NO_VMEM"] = "1"
        argv += ["--mem", size, "--maxmem", size]
    else:
        argv += ["--mem", p["base"], "--maxmem", p["max"]]
    if not s["balloon"]:
        argv.append("--no-balloon")
    elif s.get("balloon_props"):
        env["BENCH_BALLOON_PROPS"] = s["balloon_props"]
    if s.get("daemon"):
        vargs = "-d"
        if s.get("psionly"):
            conf = os.path.join(work, "psionly.conf")
            with open(conf, "w") as f:
                f.write(PSIONLY_CONF)
            argv += ["--add", "%s:/etc/vmrd/psionly.conf" % conf]
            vargs += " -c /etc/vmrd/psionly.conf"
        argv += ["--daemon", "--vmrd-args=" + vargs]
        if broker:
            argv += ["--broker", a.broker]
    if "disk" in p:
        argv += ["--disk", p["disk"]]
    if name in ("overcommit", "hostpressure"):
        argv += ["--zram", p["zram"]]
    if a.memhp:
        argv += ["--memhp", a.memhp]
    return argv, env


def source_commit():
    """The commit the benchmark's vmrd is built from, "-dirty" when the
    tree has changes (build-image.sh builds the working tree)."""
    r = subprocess.run(["git", "-C", TOP, "describe", "--always", "--dirty", "--abbrev=12"],
                       capture_output=True, text=True)
    return r.stdout.strip() or "unknown"


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def guest_cmdline(work):
    """The kernel command line run-vm.py booted the guest with."""
    try:
        with open(os.path.join(work, "summary.json")) as f:
            return json.load(f).get("cmdline")
    except (OSError, ValueError):
        return None


def provenance(a, t0, load0):
    return dict(start=t0, wall_sec=time.time() - t0, commit=a.commit, profile=a.profile,
                loadavg_start=load0, loadavg_end=loadavg())


def write_json(path, obj):
    with open(path + ".tmp", "w") as f:
        json.dump(obj, f, indent=1)
    os.replace(path + ".tmp", path)


def run_single(a, name, system, p):
    work = os.path.join(a.out, "raw", name, system)
    os.makedirs(work, exist_ok=True)
    argv, env = vm_command(a, system, name, p, work)
    log("start %s/%s" % (name, system))
    t0, load0 = time.time(), loadavg()
    with open(os.path.join(work, "runner.log"), "w") as out:
        rc = subprocess.call(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    run = dict(scenario=name, system=system, params=p, rc=rc, cmdline=guest_cmdline(work),
               argv=[shlex.quote(x) for x in argv], **provenance(a, t0, load0))
    write_json(os.path.join(work, "run.json"), run)
    log("done  %s/%s rc=%d in %.0f s" % (name, system, rc, run["wall_sec"]))


def wait_paths(paths, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(os.path.exists(x) for x in paths):
            return True
        time.sleep(0.1)
    return False


def start_vms(a, system, name, p, work, extra_env=None):
    """Three guests at once, vm0..vm2 under work; (Popen, log, argv) each."""
    procs = []
    for i in range(3):
        vw = os.path.join(work, "vm%d" % i)
        os.makedirs(vw, exist_ok=True)
        argv, env = vm_command(a, system, name, p, vw, slot=i, broker=False)
        env.update(extra_env or {})
        out = open(os.path.join(vw, "runner.log"), "w")
        procs.append((subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT),
                      out, argv))
    return procs


def start_broker(a, system, p, work, budget_lines):
    """One vmrd-host for the three guests of work (their sockets must appear first)."""
    s = SYSTEMS[system]
    weights = [int(w) for w in str(p["weights"]).split(",")]
    socks = []
    for i in range(3):
        vw = os.path.join(work, "vm%d" % i)
        socks += [os.path.join(vw, "qmp-broker.sock"), os.path.join(vw, "vmrd-port.sock")]
    wait_paths(socks, 30)
    conf = os.path.join(work, "host.conf")
    with open(conf, "w") as f:
        f.write(budget_lines)
    bargv = [a.broker, "-d", "-c", conf, "--control", os.path.join(work, "host.sock"),
             "--state", os.path.join(work, "host.state")]
    for i in range(3):
        vw = os.path.join(work, "vm%d" % i)
        vm = ("name=vm%d,qmp=%s,channel=%s,virtio-mem=vmem0,min=%s,max=%s,weight=%d"
              % (i, os.path.join(vw, "qmp-broker.sock"), os.path.join(vw, "vmrd-port.sock"),
                 p["base"], p["max"], weights[i]))
        if s["balloon"]:
            vm += ",balloon=balloon0"
        bargv += ["--vm", vm]
    blog = open(os.path.join(work, "broker.log"), "w")
    return subprocess.Popen(bargv, stdout=blog, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def stop(proc):
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def finish_three(a, name, system, p, work, procs, t0, load0, **extra):
    rcs = []
    for proc, out, _ in procs:
        rcs.append(proc.wait())
        out.close()
    run = dict(scenario=name, system=system, params=p, rc=max(rcs), rcs=rcs,
               cmdline=guest_cmdline(os.path.join(work, "vm0")),
               argv=[[shlex.quote(x) for x in pr[2]] for pr in procs],
               **provenance(a, t0, load0), **extra)
    write_json(os.path.join(work, "run.json"), run)
    log("done  %s/%s rcs=%s in %.0f s" % (name, system, rcs, run["wall_sec"]))


def run_overcommit(a, system, p):
    """Three guests at once; with vmrd, one vmrd-host for all of them."""
    name = "overcommit"
    work = os.path.join(a.out, "raw", name, system)
    os.makedirs(work, exist_ok=True)
    t0, load0 = time.time(), loadavg()
    procs = start_vms(a, system, name, p, work)
    broker = None
    if SYSTEMS[system].get("daemon"):
        # strict, the default: sizes and QEMU's own memory within the budget.
        broker = start_broker(a, system, p, work,
                              "budget = %s\nbudget_mode = strict\n" % p["budget"])
    try:
        finish_three(a, name, system, p, work, procs, t0, load0)
    finally:
        stop(broker)


def held(work):
    """Every guest printed its "held" phase marker."""
    for i in range(3):
        try:
            with open(os.path.join(work, "vm%d" % i, "console.log"), errors="replace") as f:
                if "name=held" not in f.read():
                    return False
        except OSError:
            return False
    return True


def anon_bytes(cg):
    with open(os.path.join(cg.mem, "memory.stat")) as f:
        for line in f:
            k, v = line.split()
            if k in ("anon", "rss"):  # cgroup v2, v1
                return int(v)
    return 0


# The workload that presses the cgroup: it rewrites one file in a loop, so its
# dirty page cache needs room the limit does not leave, and reclaim stalls.
# oom_score_adj 1000: an OOM kill in the cgroup takes it, never a QEMU.
PRESS = """echo 1000 > /proc/self/oom_score_adj
end=$(($(date +%s) + {secs}))
while [ "$(date +%s)" -lt "$end" ]; do
	dd if=/dev/zero of={path} bs=1M count={mib} conv=notrunc status=none
done
"""


def press(cg, work, p, samples_path):
    """Limit the cgroup to what the guests hold + WRITE/2, run the workload in it
    PRESS seconds, and sample its PSI and the broker's view every second."""
    subprocess.run(["sync"], check=False)
    path = os.path.join(work, "press.bin")
    # A file from an earlier run would still be cached, charged to another cgroup.
    if os.path.exists(path):
        os.unlink(path)
    script = PRESS.format(secs=p["press"], path=path, mib=p["write"])
    # 32 MiB more than half of what the workload needs: a guest still settling
    # must not make QEMU meet the limit before the workload does.
    limit = anon_bytes(cg) + int(p["write"]) * (1 << 20) // 2 + (32 << 20)
    if cg.kind == "v2":
        cg.set_limit(limit + (512 << 20), high=limit)
    else:
        cg.set_limit(limit)
    writer = subprocess.Popen([sys.executable, os.path.join(HERE, "testcg.py"), "exec", cg.name,
                               "--", "sh", "-c", script])
    log("hostpressure: cgroup %s limited to %d MiB" % (cg.path, limit >> 20))
    t0 = time.monotonic()
    with open(samples_path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["t_sec", "cgroup_psi_some_centi", "cgroup_usage_bytes", "limit_bytes",
                      "host_pressure", "vm", "target_bytes", "current_bytes", "rss_bytes",
                      "min_bytes", "weight", "last_reason", "reclaim_reason"])
        while time.monotonic() - t0 < p["press"] + 30:
            t = round(time.monotonic() - t0, 1)
            psi, use = cg.psi_some_avg10(), cg.usage()
            st = broker_status(os.path.join(work, "host.sock"), timeout=1.0) or {"vms": []}
            for v in st["vms"] or [{}]:
                out.writerow([t, psi, use, limit, st.get("host_pressure", ""), v.get("name", ""),
                              v.get("target_bytes", ""), v.get("current_bytes", ""),
                              v.get("rss_bytes", ""), v.get("min_bytes", ""),
                              v.get("weight", ""), v.get("last_reason", ""),
                              v.get("reclaim_reason", "")])
            f.flush()
            time.sleep(1)
    writer.wait()
    return limit


def run_hostpressure(a, system, p):
    """Three guests in a memory cgroup; with vmrd, vmrd-host's budget is that cgroup."""
    name = "hostpressure"
    work = os.path.join(a.out, "raw", name, system)
    os.makedirs(work, exist_ok=True)
    cg = testcg.Cgroup("vmrd-bench-%d" % os.getpid())
    cg.create(64 << 30)
    t0, load0 = time.time(), loadavg()
    procs = start_vms(a, system, name, p, work, {"BENCH_CGROUP": cg.name})
    broker, limit = None, None
    try:
        if SYSTEMS[system].get("daemon"):
            broker = start_broker(a, system, p, work, "budget = cgroup:%s\n" % cg.path)
        deadline = time.monotonic() + p["timeout"]
        while not held(work) and time.monotonic() < deadline and \
                all(pr.poll() is None for pr, _, _ in procs):
            time.sleep(1)
        if held(work):
            limit = press(cg, work, p, os.path.join(work, "pressure.csv"))
        finish_three(a, name, system, p, work, procs, t0, load0, limit_bytes=limit,
                     cgroup_kind=cg.kind)
    finally:
        stop(broker)
        for pid in cg.pids():
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        cg.destroy()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output directory (raw runs under OUT/raw)")
    ap.add_argument("--image-dir", required=True)
    ap.add_argument("--broker", required=True, help="vmrd-host binary")
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--profile", choices=sorted(PROFILES), default="full")
    ap.add_argument("--systems", default=",".join(SYSTEM_ORDER))
    ap.add_argument("--scenarios", default=",".join(SCENARIO_ORDER))
    ap.add_argument("--jobs", type=int, default=2, help="pairable runs at once")
    ap.add_argument("--force", action="store_true", help="rerun runs that already have results")
    ap.add_argument("--memhp", help="guest memory-hotplug kernel arguments (default: "
                    "run-vm.py's GUEST_MEMHP_ARGS)")
    a = ap.parse_args()
    a.commit = source_commit()
    a.out = os.path.abspath(a.out)
    a.broker = os.path.abspath(a.broker)
    systems = [x for x in a.systems.split(",") if x]
    scenarios = [x for x in a.scenarios.split(",") if x]
    for x in systems:
        if x not in SYSTEMS:
            ap.error("unknown system %s" % x)
    for x in scenarios:
        if x not in PROFILES[a.profile]:
            ap.error("unknown scenario %s" % x)
    os.makedirs(a.out, exist_ok=True)
    write_json(os.path.join(a.out, "plan.json"),
               dict(profile=a.profile, systems=systems, scenarios=scenarios, commit=a.commit,
                    memhp=a.memhp, params={n: scenario_params(a.profile, n) for n in scenarios}))

    def pending(name, system):
        done = os.path.exists(os.path.join(a.out, "raw", name, system, "run.json"))
        return a.force or not done

    # Scenario by scenario, so that a cut-short run leaves whole scenarios;
    # the runs of a pairable (1 vCPU) scenario share the two host cores.
    for name in [n for n in SCENARIO_ORDER if n in scenarios]:
        p = scenario_params(a.profile, name)
        todo = []
        for system in systems:
            if pending(name, system):
                todo.append(system)
            else:
                log("skip  %s/%s (has results)" % (name, system))
        if name == "overcommit":
            for system in todo:
                run_overcommit(a, system, p)
            continue
        if name == "hostpressure":
            if os.geteuid() != 0 or not testcg.layout():
                log("skip  hostpressure (no memory cgroup: root and a memory controller needed)")
                continue
            for system in [x for x in todo if x in str(p["systems"]).split(",")]:
                run_hostpressure(a, system, p)
            continue
        jobs = max(1, a.jobs) if p.get("pair") else 1
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
            for f in [ex.submit(run_single, a, name, s, p) for s in todo]:
                f.result()
    return 0


if __name__ == "__main__":
    sys.exit(main())
