#!/usr/bin/env python3
"""Turns the raw runs of bench.py into results.json, gnuplot plots and RESULTS.md.

Every number comes from a file under OUT/raw (metrics.py computes them, goals.py
checks the issue 8 goals); a run that is missing or did not finish shows up as
"not run" rather than as a guess, and the Runs table says when, from which
commit and with which guest kernel command line each run was measured.  The
simulation section runs tools/vmrd-sim, which is deterministic.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the system and scenario tables)
import goals  # noqa: E402
import hostinfo  # noqa: E402
import metrics as mx  # noqa: E402
from plots import line_plot  # noqa: E402
from report_text import (GOALS9_TEXT, GOALS_TEXT, METRICS_TEXT, SCENARIO_TEXT,  # noqa: E402
                         SYSTEMS_TEXT)

MIB = mx.MIB
SIM_SUMMARY = re.compile(r"# summary: (.*)")


def fnum(v, digits=1):
    if v is None:
        return "–"
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return str(v)
    return "%.*f" % (digits, v)


def label(s):
    return bench.SYSTEMS[s]["label"]


def short(s):
    return label(s).split(" ", 1)[0]


# --- collecting -------------------------------------------------------------

def curve(vm, t0, key, scale):
    return [(r["time_sec"] - t0, r[key] / scale) for r in vm["timeline"]
            if mx.ok(mx.col(r, key)) and r["time_sec"] >= t0 - 5]


def single_run(name, s, work, run, p, figs):
    vm = mx.load_vm(work)
    m = mx.single_metrics(name, vm, run.get("rc"), p, bench.SYSTEMS[s])
    t0 = mx.phases(vm).get("start", 0)
    i = bench.SYSTEM_ORDER.index(s)
    figs["rss"].append((label(s), i, 1, curve(vm, t0, "qemu_rss_kb", 1024)))
    figs["memtotal"].append((label(s), i, 1, curve(vm, t0, "memtotal_kb", 1024)))
    figs["zones-kernel"] += [
        ("%s kernel zones managed" % short(s), i, 2, curve(vm, t0, "zone_kernel_managed_kb", 1024)),
        ("%s kernel zones free" % short(s), i, 1, curve(vm, t0, "zone_kernel_free_kb", 1024))]
    movable = curve(vm, t0, "zone_movable_managed_kb", 1024)
    if any(v > 0 for _, v in movable):
        figs["zones-movable"] += [
            ("%s Movable managed" % short(s), i, 2, movable),
            ("%s Movable free" % short(s), i, 1, curve(vm, t0, "zone_movable_free_kb", 1024))]
    return m, vm


def overcommit_run(s, work, run, p, figs):
    m, series, vms = mx.overcommit_metrics(work, run, p)
    starts = [mx.phases(v).get("start") for v in vms if "start" in mx.phases(v)]
    t0 = min(starts) if starts else 0
    figs["rss"].append((label(s), bench.SYSTEM_ORDER.index(s), 1,
                        [(t - t0, v / MIB) for t, v in series]))
    before = [v for t, v in series if t <= t0]
    if before:
        m["start_sum_rss_mib"] = before[-1] / MIB
    sizes = mx.guest_size_sum(vms, p, bench.SYSTEMS[s])
    if sizes:
        m["max_sum_guest_mib"] = sizes
    return m, vms[0]


def hostpressure_run(s, work, run, p, figs):
    m, series, vms = mx.hostpressure_metrics(work, run, p)
    figs["rss"].append((label(s), bench.SYSTEM_ORDER.index(s), 1,
                        [(t, v / 100.0) for t, v in series if v is not None]))
    return m, vms[0]


def provenance(run, plan_params, vm):
    """Where a run's numbers come from (the Runs table)."""
    return dict(start=run.get("start"), commit=run.get("commit", "not recorded"),
                wall_sec=round(run.get("wall_sec", 0), 1), rc=run.get("rc"),
                profile=run.get("profile"), loadavg_start=run.get("loadavg_start"),
                loadavg_end=run.get("loadavg_end"),
                cmdline=run.get("cmdline") or vm.get("cmdline"),
                params_match=run.get("params") == plan_params)


def collect(out, plan, systems):
    results, runs, plots, kernel = {}, {}, {}, ""
    for name in plan["scenarios"]:
        figs = {"rss": [], "memtotal": [], "zones-kernel": [], "zones-movable": []}
        results[name], runs[name] = {}, {}
        for s in systems:
            work = os.path.join(out, "raw", name, s)
            try:
                with open(os.path.join(work, "run.json")) as f:
                    run = json.load(f)
            except (OSError, ValueError):
                continue
            # The run's own parameters: what it measured, even if the plan
            # changed since (the Runs table flags that).
            p = run.get("params") or plan["params"][name]
            if name == "overcommit":
                m, vm = overcommit_run(s, work, run, p, figs)
            elif name == "hostpressure":
                m, vm = hostpressure_run(s, work, run, p, figs)
            else:
                m, vm = single_run(name, s, work, run, p, figs)
            kernel = kernel or vm["kernel"]
            m["wall_sec"] = round(run.get("wall_sec", 0), 1)
            results[name][s] = m
            runs[name][s] = provenance(run, plan["params"][name], vm)
        plots[name] = figs
    return results, runs, plots, kernel


def draw(out, dest, plan, figs_by_scenario):
    plot_dir = os.path.join(dest, "plots")
    made = {}
    for name, figs in figs_by_scenario.items():
        if name == "overcommit":
            budget = ("budget", mx.bench_size(plan["params"][name]["budget"]) / MIB)
            made[name] = [line_plot(out, plot_dir, name, figs["rss"],
                                    "overcommit: sum of the three QEMU RSS", "MiB", budget)]
            continue
        if name == "hostpressure":
            made[name] = [line_plot(out, plot_dir, name, figs["rss"],
                                    "hostpressure: memory PSI some avg10 of the cgroup, from the "
                                    "start of the workload", "%",
                                    ("host_psi_some", mx.HOST_PSI_THRESHOLD / 100.0))]
            continue
        made[name] = [
            line_plot(out, plot_dir, name, figs["rss"], "%s: QEMU RSS" % name, "QEMU RSS MiB"),
            line_plot(out, plot_dir, name + "-memtotal", figs["memtotal"],
                      "%s: guest MemTotal" % name, "MiB"),
            line_plot(out, plot_dir, name + "-zones-kernel", figs["zones-kernel"],
                      "%s: kernel zones (DMA32 + Normal), managed (dashed) and free" % name,
                      "MiB"),
            line_plot(out, plot_dir, name + "-zones-movable", figs["zones-movable"],
                      "%s: ZONE_MOVABLE, managed (dashed) and free" % name, "MiB")]
    return made


# --- the simulator and the machine ---------------------------------------------

def run_sim(sim):
    """vmrd-sim, default against psi-only, on every built-in scenario."""
    out = {}
    if not sim or not os.access(sim, os.X_OK):
        return out
    names = [l.split()[0] for l in subprocess.run([sim, "-l"], capture_output=True, text=True,
                                                  check=True).stdout.splitlines() if l.strip()]
    for n in names:
        for mode, args in (("default", []), ("psi-only", ["-p"])):
            r = subprocess.run([sim] + args + [n], capture_output=True, text=True)
            m = SIM_SUMMARY.search(r.stdout)
            if m:
                out.setdefault(n, {})[mode] = sim_values(m.group(1).split())
    return out


def sim_values(words):
    vals, i = {}, 0
    while i + 1 < len(words):
        k, v = words[i], words[i + 1]
        unit = words[i + 2] if i + 2 < len(words) and words[i + 2] in ("MiB", "s") else ""
        vals[k] = float(v) if "." in v else int(v)
        i += 3 if unit else 2
    return vals


def machine_info(vms_kernel):
    cpu = hostinfo.cpu_model("")
    qemu = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True,
                          text=True).stdout.splitlines()[0]
    mem = hostinfo.mem_total_mib()
    return dict(cpu=cpu, cores=os.cpu_count(), host_mem_mib=mem, kvm=os.path.exists("/dev/kvm"),
                accel="TCG", host_kernel=platform.release(), qemu=qemu, guest_kernel=vms_kernel)


# --- tables -----------------------------------------------------------------

SINGLE_COLS = [
    ("status", "workload", 0), ("oom_kills", "OOM kills", 0),
    ("psi_some_sec", "PSI some s", 1), ("psi_full_sec", "PSI full s", 1),
    ("completion_sec", "workload s", 1), ("avg_rss_mib", "avg QEMU RSS MiB", 0),
    ("avg_demand_mib", "avg guest demand MiB", 0), ("rss_per_demand", "RSS / demand", 2),
    ("peak_rss_mib", "peak RSS MiB", 0),
]
EXTRA_COLS = {
    "burst": [("return50_sec", "50 % returned s", 0), ("return90_sec", "90 % returned s", 0),
              ("returned_pct", "returned at end %", 0),
              ("size_back90_sec", "90 % of excess size back s", 0)],
    "reread": [("read1_ms", "cold read ms", 0), ("read2_ms", "re-read ms", 0)],
    "hotset": [("hot1_ms", "hot pass 1 ms", 0), ("hot_reread_ms", "hot re-read ms", 0),
               ("hot_ms", "hot passes ms", 0),
               ("hot_reread_disk_mib", "hot re-read disk MiB", 0),
               ("cold_ms", "cold reads ms", 0)],
    "unmovable": [("create_ms", "set-up ms", 0), ("pass1_ms", "pass 1 ms", 0),
                  ("rest_avg_ms", "later passes avg ms", 0), ("pass_ms", "passes ms", 0),
                  ("rest_disk_mib", "later passes disk MiB", 0)],
}
TAIL_COLS = [("grow_ms", "grow p50 / p99 ms", 0), ("resizes", "resizes (grow/shrink)", 0),
             ("vmrd_cpu_ms", "vmrd CPU ms", 0), ("vmrd_maxrss_kib", "vmrd max RSS KiB", 0)]
SIZE_COLS = [
    ("peak_size_mib", "peak size MiB", 0), ("peak_demand_mib", "peak demand MiB", 0),
    ("headroom_mib", "headroom MiB", 0), ("overshoot_mib", "overshoot MiB", 0),
    ("above_sec", "s above (demand + headroom) × 1.1", 0), ("size_gap_mib", "size gap MiB", 0),
    ("at_max_vain_sec", "s at max in vain", 0),
    ("kernel_managed_mib", "kernel zones managed MiB", 0),
    ("kernel_free_min_mib", "kernel free min MiB", 0),
    ("kernel_free_avg_mib", "kernel free avg MiB", 0), ("kernel_short_sec", "s kernel short", 0),
    ("movable_managed_mib", "Movable managed MiB", 0),
    ("movable_free_avg_mib", "Movable free avg MiB", 0),
    ("buffers_max_mib", "max Buffers MiB", 0), ("slab_max_mib", "max slab MiB", 0),
    ("allocstall_kernel", "kernel / movable direct reclaim", 0),
    ("refault_file", "refaults", 0),
]


def cell(m, key, digits):
    if key == "grow_ms":
        if not m.get("grows"):
            return "–"
        return "%s / %s" % (fnum(m["grow_p50_ms"], 0), fnum(m["grow_p99_ms"], 0))
    if key == "resizes":
        if m.get("resizes") is None:
            return "–"
        text = "%d (%d/%d)" % (m["resizes"], m["grows"], m["shrinks"])
        if m.get("grow_decisions", 0) > m["grows"]:
            text += ", %d grows decided" % m["grow_decisions"]
        return text
    if key == "allocstall_kernel":
        if m.get(key) is None:
            return "–"
        return "%s / %s" % (fnum(m[key]), fnum(m.get("allocstall_movable")))
    return fnum(m.get(key), digits)


def md_table(cols, runs, systems):
    lines = ["| system | " + " | ".join(c[1] for c in cols) + " |",
             "|---" * (len(cols) + 1) + "|"]
    for s in systems:
        m = runs.get(s)
        if m is None:
            lines.append("| %s | " % label(s) + " | ".join(["not run"] + [""] * (len(cols) - 1))
                         + " |")
            continue
        lines.append("| %s | " % label(s) + " | ".join(cell(m, k, d) for k, _, d in cols) + " |")
    return lines


def md_overcommit(runs, systems):
    lines = ["| system | sum RSS at start MiB | max sum RSS MiB | avg sum RSS MiB | s over budget"
             " | max sum guest size MiB | OOM kills"
             " | per VM (weight: together s, PSI some s, max swap MiB, status) |",
             "|---|---|---|---|---|---|---|---|"]
    for s in systems:
        m = runs.get(s)
        if m is None:
            lines.append("| %s | not run | | | | | | |" % label(s))
            continue
        vms = "; ".join("w%d: %s, %s, %s, %s" % (v["weight"], fnum(v["together_sec"]),
                                                  fnum(v["psi_some_sec"]), fnum(v["max_swap_mib"], 0),
                                                  v["status"]) for v in m["vms"])
        lines.append("| %s | %s | %s | %s | %s | %s | %d | %s |" % (
            label(s), fnum(m.get("start_sum_rss_mib"), 0), fnum(m.get("max_sum_rss_mib"), 0),
            fnum(m.get("avg_sum_rss_mib"), 0), fnum(m.get("sec_over_budget")),
            fnum(m.get("max_sum_guest_mib"), 0), m["oom_kills"], vms))
    return lines


def md_hostpressure(runs, systems):
    lines = ["| system | cgroup limit MiB | PSI peak % | crossed 10 % at s | relieved after s "
             "| VMs below min | OOM kills | per VM (weight: size before → lowest MiB, min, "
             "max swap MiB, broker reasons, status) |", "|---|---|---|---|---|---|---|---|"]
    for s in systems:
        m = runs.get(s)
        if m is None:
            continue
        vms = "; ".join("w%d: %s → %s, min %s, %s, %s, %s" % (
            v["weight"], fnum(v["before_mib"], 0), fnum(v["lowest_mib"], 0), fnum(v["min_mib"], 0),
            fnum(v["max_swap_mib"], 0), v["reasons"], v["status"]) for v in m["vms"])
        lines.append("| %s | %s | %s | %s | %s | %d | %d | %s |" % (
            label(s), fnum(m.get("limit_mib"), 0), fnum(m.get("peak_psi_pct")),
            fnum(m.get("crossed_sec")), fnum(m.get("relief_sec")), m["below_min"],
            m["oom_kills"], vms))
    return lines


GLANCE_COLS = [
    ("OOM kills, all scenarios", None, 0),
    ("ramp: workload", ("ramp", "status"), 0),
    ("burst: 90 % returned s", ("burst", "return90_sec"), 0),
    ("burst: avg RSS MiB", ("burst", "avg_rss_mib"), 0),
    ("unmovable: later passes ms", ("unmovable", "rest_avg_ms"), 0),
    ("unmovable: later passes disk MiB", ("unmovable", "rest_disk_mib"), 0),
    ("unmovable: PSI some s", ("unmovable", "psi_some_sec"), 1),
    ("hotset: re-read ms", ("hotset", "hot_reread_ms"), 0),
    ("hotset: re-read disk MiB", ("hotset", "hot_reread_disk_mib"), 0),
    ("hotset: avg RSS MiB", ("hotset", "avg_rss_mib"), 0),
    ("re-read ms (cold read ms)", ("reread", "read2_ms"), 0),
    ("creep: avg RSS MiB", ("creep", "avg_rss_mib"), 0),
    ("overcommit: max sum RSS MiB", ("overcommit", "max_sum_rss_mib"), 0),
]


def md_glance(results, systems):
    cols = [c for c in GLANCE_COLS if c[1] is None or c[1][0] in results]
    lines = ["| system | " + " | ".join(c[0] for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for s in systems:
        row = []
        for _, key, digits in cols:
            if key is None:
                got = [r[s]["oom_kills"] for r in results.values()
                       if r.get(s, {}).get("oom_kills") is not None]
                row.append(str(sum(got)) if got else "not run")
                continue
            m = results[key[0]].get(s)
            if m is None:
                row.append("not run")
            elif key[1] == "read2_ms":
                row.append("%s (%s)" % (fnum(m.get("read2_ms"), 0), fnum(m.get("read1_ms"), 0)))
            else:
                row.append(fnum(m.get(key[1]), digits))
        lines.append("| %s | " % label(s) + " | ".join(row) + " |")
    return lines


def md_goals(rows):
    lines = ["| goal | (c) | (e) | bound for (e) | result |", "|---|---|---|---|---|"]
    for g in rows:
        digits = 1 if g["unit"] == "s" else 0
        lines.append("| %s | %s | %s | %s | **%s** |" % (
            g["goal"], fnum(g["c"], digits), fnum(g["e"], digits),
            "–" if g["bound"] is None else "%s %s" % (fnum(g["bound"], digits), g["unit"]),
            g["result"]))
    return lines


def md_sim(sim):
    keys = ["grows", "shrinks", "trims", "oom_kills", "min_avail", "max_current", "final",
            "stall", "max_pingpong"]
    lines = ["| scenario | mode | " + " | ".join(keys) + " |", "|---" * (len(keys) + 2) + "|"]
    for n, modes in sim.items():
        for mode in ("default", "psi-only"):
            v = modes.get(mode)
            if v:
                lines.append("| %s | %s | " % (n, mode) +
                             " | ".join(fnum(v.get(k), 2) for k in keys) + " |")
    return lines


def kernel_args(cmdline):
    """The command line without the vmrd.* arguments guest/init reads (they
    name the scenario, not the kernel's configuration)."""
    if not cmdline:
        return None
    return " ".join(w for w in shlex.split(cmdline) if not w.startswith("vmrd."))


def md_runs(runs, systems):
    lines = ["| scenario | system | started (UTC) | commit | wall s | rc | host load before → "
             "after | parameters |", "|---|---|---|---|---|---|---|---|"]
    for name, by_sys in runs.items():
        for s in systems:
            r = by_sys.get(s)
            if r is None:
                continue
            when = (datetime.datetime.fromtimestamp(r["start"], datetime.timezone.utc)
                    .strftime("%Y-%m-%d %H:%M") if r["start"] else "not recorded")
            load = ("%.1f → %.1f" % (r["loadavg_start"][0], r["loadavg_end"][0])
                    if r["loadavg_start"] and r["loadavg_end"] else "–")
            lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                name, short(s), when, r["commit"], fnum(r["wall_sec"], 0), r["rc"], load,
                "as planned" if r["params_match"] else "**differ from the plan**"))
    return lines


def md_cmdlines(runs):
    seen = {}
    for name, by_sys in runs.items():
        for s, r in by_sys.items():
            seen.setdefault(kernel_args(r["cmdline"]) or "not recorded", []).append(
                "%s/%s" % (name, short(s)))
    if len(seen) == 1:
        return ["Every run booted its guest with `%s` (plus the `vmrd.*` arguments that "
                "name the scenario; full lines in results.json)." % next(iter(seen))]
    return ["The runs used different guest kernel command lines:", ""] + [
        "- `%s`: %s" % (k, ", ".join(v)) for k, v in seen.items()]


# --- the document -------------------------------------------------------------

def params_text(name, p):
    q = dict(p)
    if name == "ramp":
        q["total"] = "%d MiB" % (2 * mx.bench_size(p["size"]) // MIB)
    if name == "unmovable":
        q["dirs"] = max(1, int(p["files"]) // 1000)
    return SCENARIO_TEXT[name].format(**q)


def md_head(meta):
    return [
        "# vmrd benchmark results", "",
        "Generated by `make bench` (scripts/bench.sh → scripts/bench/bench.py and report.py) "
        "on %s, profile **%s**. Every number below was computed by report.py from the raw "
        "files of the runs listed under *Runs* (when each ran, from which commit, under which "
        "host load); nothing is edited by hand. A cell that says \"not run\" has no "
        "measurement. Raw per-run files (timeline CSV, console, markers) stay in the build "
        "directory under `bench/raw/`." % (meta["date"], meta["profile"]), "",
        "## Machine", "",
        "- Host: %s, %d cores, %d MiB RAM, kernel %s; no /dev/kvm: every guest runs under "
        "QEMU **TCG** (software emulation), so absolute times are many times slower than "
        "with KVM. Compare systems with each other, not with real hardware." % (
            meta["cpu"] or "unknown CPU", meta["cores"], meta["host_mem_mib"],
            meta["host_kernel"]),
        "- %s" % meta["qemu"],
        "- Guest kernel: Debian %s (the same image for every run), busybox, static vmrd." %
        (meta["guest_kernel"] or "6.1"), ""]


def md_scenario(name, p, res, systems, made):
    L = ["## Scenario: %s" % name, "", params_text(name, p), ""]
    if name == "overcommit":
        L += md_overcommit(res, systems)
    elif name == "hostpressure":
        L += md_hostpressure(res, systems)
    else:
        L += md_table(SINGLE_COLS + EXTRA_COLS.get(name, []) + TAIL_COLS, res, systems)
        L += ["", "Size and zones over the measured window:", ""]
        L += md_table(SIZE_COLS, res, systems)
    for png in made.get(name, []):
        if png:
            key = os.path.splitext(os.path.basename(png))[0]
            L += ["", "![%s](plots/%s.png)" % (key, key)]
    L.append("")
    return L


def md_sections(dest):
    """The other benchmarks' own reports (bench/sections/*.md, each written by
    its make target with the command that regenerates it), in name order:
    `make bench` keeps them, it does not measure them again."""
    d = os.path.join(dest, "sections")
    names = sorted(n for n in os.listdir(d) if n.endswith(".md")) if os.path.isdir(d) else []
    L = []
    for n in names:
        with open(os.path.join(d, n)) as f:
            L += [""] + f.read().rstrip("\n").split("\n")
    return L


def write_markdown(dest, meta, plan, systems, results, runs, made, sim):
    L = md_head(meta)
    L += ["## Systems", ""] + SYSTEMS_TEXT + [""]
    L += ["## Guest kernel command line", "",
          "One place sets how the guest kernel onlines hot-plugged memory for the benchmark, "
          "the e2e tests and the demo: `GUEST_MEMHP_ARGS` in scripts/guest/run-vm.py "
          "(`BENCH_MEMHP=...` overrides it for a benchmark run).", ""]
    L += md_cmdlines(runs) + [""]
    L += ["## Metrics", ""] + METRICS_TEXT + [""]
    L += ["## At a glance", "", "Picked from the tables below.", ""] + md_glance(results, systems)
    L += ["", "Reproduce: `make bench` (full, about an hour) or `make bench QUICK=1` (smoke run, "
          "report under the build directory).", ""]
    L += ["## Issue 8 goals", "", GOALS_TEXT, ""] + md_goals(goals.evaluate(results)) + [""]
    L += ["## Issue 9 goals", "", GOALS9_TEXT, ""] + md_goals(goals.evaluate9(results)) + [""]
    for name in plan["scenarios"]:
        L += md_scenario(name, plan["params"][name], results.get(name, {}), systems, made)
    L += ["## Simulation (tools/vmrd-sim, deterministic, not a measurement of real VMs)", "",
          "The same policy code in a closed-loop simulator, default mode against psi-only, "
          "on every built-in scenario (`vmrd-sim -l`). *stall* is simulated stall seconds, "
          "sizes in MiB.", ""]
    L += md_sim(sim) if sim else ["not run (vmrd-sim not built)"]
    L += md_sections(dest)
    L += ["", "## Runs", "",
          "Where each table row comes from. *commit* is the source tree the guest's vmrd "
          "was built from (`-dirty`: with uncommitted changes); *host load* is the host's "
          "1-minute load average before and after the run (2 cores; others' work shares "
          "them and slows TCG guests).", ""] + md_runs(runs, systems)
    L.append("")
    with open(os.path.join(dest, "RESULTS.md"), "w") as f:
        f.write("\n".join(L))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="bench.py output directory")
    ap.add_argument("--dest", required=True, help="where RESULTS.md, results.json, plots/ go")
    ap.add_argument("--sim", help="vmrd-sim binary for the simulation section")
    ap.add_argument("--date", help="report date (default: now, UTC)")
    a = ap.parse_args()
    with open(os.path.join(a.out, "plan.json")) as f:
        plan = json.load(f)
    systems = [s for s in bench.SYSTEM_ORDER if s in plan["systems"]] or bench.SYSTEM_ORDER
    results, runs, figs, kernel = collect(a.out, plan, systems)
    made = draw(a.out, a.dest, plan, figs)
    sim = run_sim(a.sim)
    meta = machine_info(kernel)
    meta["date"] = a.date or datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M UTC")
    meta["profile"] = plan["profile"]
    with open(os.path.join(a.dest, "results.json"), "w") as f:
        json.dump(dict(meta=meta, params=plan["params"], systems={
            s: label(s) for s in systems}, runs=results, provenance=runs,
            goals=goals.evaluate(results), goals9=goals.evaluate9(results), sim=sim), f,
            indent=1, sort_keys=True)
    write_markdown(a.dest, meta, plan, systems, results, runs, made, sim)
    return 0


if __name__ == "__main__":
    sys.exit(main())
