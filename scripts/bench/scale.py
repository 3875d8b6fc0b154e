#!/usr/bin/env python3
"""make bench-scale: how the host side scales with the number of VMs.

1. The arbiter's round time for 10, 100, 1,000 and 10,000 VMs with mixed
   news every round (tools/arbiter_bench.c): median and p99.
2. Grant latency for one VM while N fake guests on unix sockets send
   requests and reports to the real vmrd-host, whose QEMUs are fake QMP
   peers (tools/scale_peers.c): p50 and p99 of request -> answer, as the
   guest sees it.
3. A day of 1,000 simulated VMs in vmrd-fleet, timed.

Writes bench/sections/scale.md (included in bench/RESULTS.md by `make
bench`) and the raw data under BUILD/bench-scale/.  Numbers, never
asserts: a goal that is missed, or a run that cannot be made, is said in
the report with the number or the reason.
"""

import argparse
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hostinfo  # noqa: E402

ARBITER_SIZES = [10, 100, 1000, 10000]
GOAL_ROUND_MS = 10.0
GOAL_GRANT_P99_MS = 10.0
COMMAND = "make bench-scale"
# The CPU-bound parts (arbiter rounds, the simulated day) run at nice 19 on
# this shared machine; the latency runs do not: they use little CPU, and at
# nice 19 under the team's load (11) the 64-channel p99 was 369 ms, against
# 47 ms at normal priority (load 3 to 7); p50 0.2 ms in both.
NICE = ["nice", "-n", "19"]


def machine():
    return hostinfo.summary("a VM, no KVM; the team shares it")


def load():
    return "%.2f" % os.getloadavg()[0]


def arbiter_rounds(build, out):
    exe = os.path.join(build, "tools", "arbiter-bench")
    res = subprocess.run(NICE + [exe] + [str(n) for n in ARBITER_SIZES], capture_output=True,
                         text=True, check=True)
    rows = [json.loads(line) for line in res.stdout.splitlines() if line.strip()]
    with open(os.path.join(out, "arbiter.jsonl"), "w") as f:
        f.write(res.stdout)
    return rows


def host_conf(path, peers_dir, n):
    lines = [
        # Room for every VM at its max: the latency of answers, not of contention.
        "budget = %dG" % (2 * n + 8),
        "overhead = 64M",
        "reserve = 1G",
        # This machine's PSI is raised by other people's tests; host pressure
        # would turn grants into denies, which answer just as fast.
        "host_psi_some = 100",
        "host_psi_full = 100",
    ]
    for i in range(n):
        lines += ["", "[vm vm%d]" % i, "qmp = %s/vm%d.qmp" % (peers_dir, i),
                  "channel = %s/vm%d.guest" % (peers_dir, i), "virtio_mem = vmem0",
                  "min = 1G", "max = 2G"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def cpu_seconds(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def rss_mib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def grant_latency(build, out, n, seconds):
    """One run: n VMs, VM 0 measured.  Returns a dict (with "error" on failure)."""
    d = os.path.join(out, "peers-%d" % n)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    conf = os.path.join(d, "host.conf")
    host_conf(conf, d, n)
    load1 = load()
    peers = subprocess.Popen([os.path.join(build, "tools", "scale-peers"), d, str(n),
                              "-d", str(seconds)],
                             stdout=subprocess.PIPE, stderr=open(os.path.join(d, "peers.log"), "w"),
                             text=True)
    broker = None
    try:
        if peers.stdout.readline().strip() != "ready":
            return {"vms": n, "error": "scale-peers did not start (see %s/peers.log)" % d}
        blog = open(os.path.join(d, "broker.log"), "w")
        broker = subprocess.Popen([os.path.join(build, "src", "host", "vmrd-host"), "-c", conf,
                                   "--state", os.path.join(d, "state"),
                                   "--control", os.path.join(d, "ctl.sock")],
                                  stdout=blog, stderr=subprocess.STDOUT)
        t0 = time.monotonic()
        cpu0 = None
        while peers.poll() is None:
            if broker.poll() is not None:
                break
            if cpu0 is None and time.monotonic() - t0 > 5:
                cpu0, tcpu0 = cpu_seconds(broker.pid), time.monotonic()
            time.sleep(0.5)
        if broker.poll() is not None:
            stop(peers)
            with open(os.path.join(d, "broker.log")) as f:
                lines = [l.strip() for l in f.readlines()]
            # The first complaint says why (a config error repeats per VM).
            first = lines[0] if lines else "no output"
            return {"vms": n, "error": "vmrd-host exited with %d: %s%s" % (
                broker.returncode, first.replace(d + "/", ""),
                " (and %d more lines)" % (len(lines) - 1) if len(lines) > 1 else "")}
        cpu1, tcpu1 = cpu_seconds(broker.pid), time.monotonic()
        rss = rss_mib(broker.pid)
        res = json.loads(peers.stdout.read())
        if cpu0 is not None and cpu1 is not None:
            res["broker_cpu_pct"] = round(100 * (cpu1 - cpu0) / (tcpu1 - tcpu0), 1)
        res["broker_rss_mib"] = rss
        res["seconds"] = seconds
        res["load"] = load1
        res["load_end"] = load()
        return res
    finally:
        if broker:
            stop(broker)
        stop(peers)


def fleet_day(build, out, n):
    exe = os.path.join(build, "tools", "vmrd-fleet")
    args = [exe, "-n", str(n), "-d", "24h", "-i", "2h", "-H", "%dG" % (n * 3)]
    t0 = time.monotonic()
    res = subprocess.run(NICE + args, capture_output=True, text=True)
    wall = time.monotonic() - t0
    with open(os.path.join(out, "fleet-day.txt"), "w") as f:
        f.write(res.stdout + res.stderr)
    if res.returncode != 0:
        return {"vms": n, "error": res.stderr.strip() or "exit %d" % res.returncode,
                "cmd": " ".join(args[1:])}
    return {"vms": n, "wall_s": round(wall, 1), "cmd": " ".join(args[1:]),
            "summary": [l for l in res.stdout.splitlines() if l.startswith("# summary")][0]}


def ms(us):
    # Three decimals below 0.1 ms, so that a 2 us round does not read 0.00.
    return "%.3f" % (us / 1000.0) if us < 100 else "%.2f" % (us / 1000.0)


def md_arbiter(rows):
    L = ["| VMs | rounds | median | p99 | max | CPU median | CPU p99 | grants | denies |"
         " reclaim asks |",
         "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "error" in r:
            L.append("| %d | - | **not run** | | | | | | | %s |" % (r["n"], r["error"]))
            continue
        L.append("| %d | %d | %s ms | %s ms | %s ms | %s ms | %s ms | %d | %d | %d |" % (
            r["n"], r["rounds"], ms(r["median_us"]), ms(r["p99_us"]), ms(r["max_us"]),
            ms(r["cpu_median_us"]), ms(r["cpu_p99_us"]), r["grants"], r["denies"],
            r["reclaims"]))
    big = [r for r in rows if r["n"] == 10000]
    if not big or "error" in big[0]:
        verdict = "**missed**: the 10,000-VM round could not be run (%s)." % (
            big[0]["error"] if big else "not measured")
    else:
        verdict = "**%s**: %s ms median, %s ms p99 wall time for 10,000 VMs (CPU time %s ms, %s ms)." % (
            "met" if big[0]["p99_us"] / 1000.0 < GOAL_ROUND_MS else "missed",
            ms(big[0]["median_us"]), ms(big[0]["p99_us"]), ms(big[0]["cpu_median_us"]),
            ms(big[0]["cpu_p99_us"]))
    return L + ["", "Goal: a round of 10,000 VMs under %d ms (judged on the p99 of wall time): %s" % (
        GOAL_ROUND_MS, verdict)]


def md_latency(runs, target):
    L = ["| channels | measured VM: answers | p50 | p99 | max | all VMs: answers | p50 | p99 |"
         " vmrd-host CPU | vmrd-host RSS | load (1 min) before, after |",
         "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        if "error" in r:
            L.append("| %d | **not run**: %s | | | | | | | | | |" % (r["vms"], r["error"]))
            continue
        m, a = r["measured"], r["all"]
        L.append("| %d | %d | %s ms | %s ms | %s ms | %d | %s ms | %s ms | %s %% | %s MiB | %s, %s |" % (
            r["vms"], m["answers"], ms(m.get("p50_us", 0)), ms(m.get("p99_us", 0)),
            ms(m.get("max_us", 0)), a["answers"], ms(a.get("p50_us", 0)), ms(a.get("p99_us", 0)),
            r.get("broker_cpu_pct", "?"), r.get("broker_rss_mib", "?"), r.get("load", "?"),
            r.get("load_end", "?")))
    big = [r for r in runs if r["vms"] == target]
    if not big or "error" in big[0]:
        verdict = "**missed**: no run with %d channels (%s)." % (
            target, big[0]["error"] if big else "not run")
    else:
        p99 = big[0]["measured"].get("p99_us", 0) / 1000.0
        verdict = "**%s**: p99 %.2f ms with %d channels." % (
            "met" if p99 < GOAL_GRANT_P99_MS else "missed", p99, target)
    return L + ["", "With fewer than 100 answers a p99 is their maximum.", "",
                "Goal: grant p99 under %d ms with %d channels: %s" % (
                    GOAL_GRANT_P99_MS, target, verdict)]


def write_md(dest, args, arb, runs, fleet, started):
    L = ["## Scale", "",
         "Date: %s. Machine: %s. Load average (1 min) at the start: %s." % (
             started, machine(), args.load0),
         "Regenerate: `%s` (raw data in `%s/bench-scale/`)." % (COMMAND, os.path.basename(args.build)),
         "",
         "### Arbiter round time", "",
         "One `arbiter_evaluate()` over N VMs under a budget that makes them contend (the sum of "
         "the minimums and 40 %% of the room above them); every round about 10 %% of the VMs ask "
         "(grow 60 %%, shrink 40 %%, urgency low to critical), 20 %% report (a tenth of those under "
         "pressure), QEMU confirms every target and the guests move half way to it "
         "(`tools/arbiter_bench.c`). Only the call is timed, after %d warm-up rounds, as wall time "
         "and as the thread's CPU time (which the other work on this shared machine inflates "
         "less); it runs at nice 19." % 20, ""]
    L += md_arbiter(arb)
    L += ["", "### Grant latency under load", "",
          "The real vmrd-host with N VMs whose QEMUs are fake QMP peers and whose guests are fake "
          "agents on unix sockets, all in one process (`tools/scale_peers.c`, a load generator, "
          "not a test of QEMU: the real-QEMU tests are in tests/host). Every guest reports every "
          "5 s (vmrd's `report_interval`) and asks every 30 s on average (uniformly spread), "
          "128 MiB up or down; VM 0 asks every second (up with urgency high, down with low), and "
          "its request-to-answer time as the guest sees it is the measured latency. The budget "
          "has room for every VM at its max, so answers are grants or holds "
          "(`oscillation_hold`, `rate_limited`), and host pressure is off (this machine's PSI is "
          "raised by other people's work). %d s after every guest was welcomed, %s. They use "
          "little CPU; an earlier run at nice 19 under load 11 had a 64-channel p99 of 369 ms, "
          "against 47 ms at normal priority under load 3 to 7. The load column is the "
          "machine's 1-minute load average when the run started and ended: on 2 cores, a load "
          "far above 2 means the broker waits for a CPU, and the p99 measures that wait more "
          "than the broker." % (args.seconds, "at nice %d, because other work was running"
                                % os.nice(0) if os.nice(0) > 0 else "at normal priority"),
          "",
          "Two waits on the broker's loop were removed for this run (issue 12), both measured "
          "here on 2026-12-02: the state file's fsyncs (18-31 ms per write, one write per "
          "change of target) now run on a worker thread, and the footprint round (1,000 reads "
          "of `/proc/PID/status`, 50-80 ms at once) is spread over its second. With 1,000 "
          "channels the rest of the broker's CPU goes to per-turn passes over every VM "
          "(collecting news, backlog) and to the arbiter round after each request.", ""]
    L += md_latency(runs, args.vms)
    L += ["", "### A simulated day", ""]
    if "error" in fleet:
        L.append("`vmrd-fleet %s`: **not run**: %s." % (fleet["cmd"], fleet["error"]))
    else:
        L += ["`vmrd-fleet %s` (24 h of %d VMs, one-second steps, the default mix) took "
              "**%.1f s** of wall time here." % (fleet["cmd"], fleet["vms"], fleet["wall_s"]),
              "", "```", fleet["summary"], "```"]
    L.append("")
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with open(dest, "w") as f:
        f.write("\n".join(L))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--dest", default="bench/sections/scale.md")
    ap.add_argument("--vms", type=int, default=1000, help="channels of the latency run")
    ap.add_argument("--seconds", type=int, default=120, help="measured time of a latency run")
    ap.add_argument("--fleet-vms", type=int, default=1000)
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    out = os.path.join(args.build, "bench-scale")
    os.makedirs(out, exist_ok=True)
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    args.load0 = load()
    print("bench-scale: arbiter rounds", flush=True)
    arb = arbiter_rounds(args.build, out)
    runs = []
    # 64 was vmrd-host's VM limit until issue 12: the earlier runs' size, for comparison.
    for n in sorted({64, args.vms}):
        print("bench-scale: grant latency with %d channels" % n, flush=True)
        runs.append(grant_latency(args.build, out, n, args.seconds))
    print("bench-scale: a day of %d VMs in vmrd-fleet" % args.fleet_vms, flush=True)
    fleet = fleet_day(args.build, out, args.fleet_vms)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump({"date": started, "arbiter": arb, "latency": runs, "fleet": fleet}, f, indent=1)
    write_md(args.dest, args, arb, runs, fleet, started)
    print("bench-scale: report in %s" % args.dest)


if __name__ == "__main__":
    sys.exit(main())
