#!/usr/bin/env python3
"""Turns the raw runs of bench.py into results.json, gnuplot plots and RESULTS.md.

Every number comes from a file under OUT/raw; a run that is missing or did
not finish shows up as "not run" rather than as a guess.  The simulation
section runs tools/vmrd-sim, which is deterministic.
"""

import argparse
import csv
import datetime
import json
import os
import platform
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the system and scenario tables)

MIB = 1 << 20
DONE = re.compile(r"backend: request (\d+) done: asked (\d+) MiB, now (\d+) MiB after (\d+) ms")
FAILED = re.compile(r"backend: request (\d+) for (\d+) MiB failed")
START = re.compile(r"backend host: current (\d+) MiB")
GROW = re.compile(r"^vmrd: (vmrd: )?grow: ")
SIM_SUMMARY = re.compile(r"# summary: (.*)")

SCENARIO_TEXT = {
    "ramp": "Unthrottled ramp: 2 processes allocate {size} each as fast as they can "
            "(about {total} in all) from a {base} base, maximum {max}, no swap, {cpus} vCPUs; "
            "hold {hold} s.",
    "burst": "Burst then idle: 2 processes allocate {size} each, hold {hold} s, free, then "
             "{idle} s idle. The return times measure how fast QEMU's RSS gives back the "
             "burst's excess after the free.",
    "reread": "Page cache: write a {size} file, drop caches, read it cold, stay idle {idle} s, "
              "read it again. A second read much faster than the first means the cache "
              "stayed warm.",
    "creep": "Cache creep: write and read {count} new files of {size} at {rate} MiB/s "
             "(the anonymous working set is small).",
    "sawtooth": "Sawtooth: {cycles} cycles of 2 x {size} allocated, held {hold} s, freed, "
                "{idle} s pause.",
    "overcommit": "Overcommit: three VMs ({base} base, {max} maximum each, {zram} zram swap, "
                  "weights {weights}) under a host budget of {budget}. Each allocates {size} "
                  "alone in turn ({slot} s apart), then all three at once. vmrd-host enforces "
                  "the budget only in (d) and (e); static VMs have no broker. Sums add the three "
                  "runners' once-per-second samples (their clocks start within a fraction of a "
                  "second); *guest size* is base + virtio-mem plugged size (static: the fixed "
                  "size), the quantity vmrd-host budgets, while RSS also holds QEMU's own "
                  "memory (see *sum RSS at start*). *together s* includes the {hold} s hold.",
}


def fnum(v, digits=1):
    if v is None:
        return "–"
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return str(v)
    return "%.*f" % (digits, v)


def percentile(vals, q):
    if not vals:
        return None
    vals = sorted(vals)
    idx = min(len(vals) - 1, max(0, int(round(q / 100.0 * (len(vals) - 1)))))
    return vals[idx]


def read_timeline(path):
    rows = []
    try:
        with open(path) as f:
            for r in csv.DictReader(f):
                out = {}
                for k in ("time_sec", "memtotal_kb", "memavailable_kb", "qemu_rss_kb",
                          "plugged_bytes", "swap_used_kb"):
                    try:
                        out[k] = float(r.get(k) or "nan")
                    except ValueError:
                        out[k] = float("nan")
                rows.append(out)
    except OSError:
        pass
    return rows


def ok(x):
    return x == x  # not NaN


def load_vm(work):
    """Markers, timeline and vmrd log facts of one guest."""
    try:
        with open(os.path.join(work, "summary.json")) as f:
            summary = json.load(f)
    except (OSError, ValueError):
        summary = {"markers": [], "status": None, "console_oom_kills": 0}
    vm = dict(markers=summary.get("markers", []), status=summary.get("status"),
              console_oom=summary.get("console_oom_kills", 0),
              timeline=read_timeline(os.path.join(work, "timeline.csv")),
              grows=[], shrinks=0, failures=0, grow_asked=0, kernel="")
    cur = None
    try:
        with open(os.path.join(work, "console.log"), errors="replace") as f:
            for line in f:
                if not line.startswith("vmrd: "):
                    continue
                if GROW.search(line):
                    vm["grow_asked"] += 1
                m = START.search(line)
                if m and cur is None:
                    cur = int(m.group(1))
                m = DONE.search(line)
                if m:
                    asked, now, ms = int(m.group(2)), int(m.group(3)), int(m.group(4))
                    if cur is None or asked > cur:
                        vm["grows"].append(ms)
                    else:
                        vm["shrinks"] += 1
                    cur = now
                if FAILED.search(line):
                    vm["failures"] += 1
    except OSError:
        pass
    for m in vm["markers"]:
        if m.get("event") == "boot":
            vm["kernel"] = m.get("kernel", "")
    return vm


def phases(vm):
    return {m["name"]: m["_time"] for m in vm["markers"] if m.get("event") == "phase"}


def reports(vm):
    return [m for m in vm["markers"] if m.get("kind") == "report"]


def stall_sec(vm, t_start, t_end, key):
    """PSI total stall (kernel's total= counter) between two host times."""
    reps = [r for r in reports(vm) if r.get(key, "").isdigit()]
    if not reps:
        return None
    before = [r for r in reps if r["_time"] <= t_start] or reps[:1]
    after = [r for r in reps if r["_time"] >= t_end] or reps[-1:]
    return (int(after[0][key]) - int(before[-1][key])) / 1e6


def oom_kills(vm):
    guest = max([int(r["oom_kill"]) for r in reports(vm) if r.get("oom_kill", "").isdigit()]
                or [0])
    return max(guest, vm["console_oom"] or 0)


def vmrd_usage(vm):
    cpu_ms = hwm_kb = None
    for m in vm["markers"]:
        if m.get("event") == "vmrd-stats":
            cpu_ms = int(m.get("cpu_ticks") or 0) * 10
            hwm_kb = int(m.get("hwm_kb") or 0)
        if m.get("event") == "vmrd-metric" and m.get("name") == "vmrd_cpu_usec_total":
            cpu_ms = int(m["value"]) / 1000.0
        if m.get("event") == "vmrd-metric" and m.get("name") == "vmrd_max_resident_bytes":
            hwm_kb = int(m["value"]) // 1024
    return cpu_ms, hwm_kb


def window(rows, t0, t1):
    return [r for r in rows if t0 <= r["time_sec"] <= t1]


def avg(vals):
    vals = [v for v in vals if ok(v)]
    return sum(vals) / len(vals) if vals else None


def return_times(rows, t_start, t_freed):
    """Seconds after the free until RSS gave back 50 % and 90 % of the excess."""
    base = [r["qemu_rss_kb"] for r in rows if r["time_sec"] <= t_start and ok(r["qemu_rss_kb"])]
    burst = [r["qemu_rss_kb"] for r in window(rows, t_start, t_freed + 2) if ok(r["qemu_rss_kb"])]
    if not base or not burst:
        return None, None, None
    baseline, peak = base[-1], max(burst)
    excess = peak - baseline
    if excess <= 0:
        return None, None, 0.0
    out = []
    for share in (0.5, 0.9):
        goal = peak - share * excess
        hit = [r["time_sec"] for r in rows
               if r["time_sec"] >= t_freed and ok(r["qemu_rss_kb"]) and r["qemu_rss_kb"] <= goal]
        out.append(hit[0] - t_freed if hit else "never")
    final = [r["qemu_rss_kb"] for r in rows if ok(r["qemu_rss_kb"])][-1]
    returned = 100.0 * (peak - final) / excess
    return out[0], out[1], returned


def unplug_time(rows, t_start, t_freed):
    """Seconds after the free until 90 % of the burst's virtio-mem plug was unplugged.

    Free page reporting lowers RSS without changing the guest's size; this
    separates vmrd's own giving back from the balloon's.
    """
    plug = [r["plugged_bytes"] for r in window(rows, t_start, t_freed + 2) if ok(r["plugged_bytes"])]
    if not plug or max(plug) <= 0:
        return None
    goal = 0.1 * max(plug)
    hit = [r["time_sec"] for r in rows if r["time_sec"] >= t_freed and ok(r["plugged_bytes"])
           and r["plugged_bytes"] <= goal]
    return hit[0] - t_freed if hit else "never"


def workload_results(vm):
    res = [m for m in vm["markers"] if m.get("kind") in ("memhog", "cachehog")]
    return res


def single_metrics(name, vm, rc):
    ph = phases(vm)
    rows = vm["timeline"]
    if "start" not in ph:
        return dict(status="no start (rc %s)" % rc)
    t0 = ph["start"]
    t1 = ph.get("end", rows[-1]["time_sec"] if rows else t0)
    w = window(rows, t0, t1)
    rss = avg([r["qemu_rss_kb"] for r in w])
    demand = avg([r["memtotal_kb"] - r["memavailable_kb"] for r in w])
    wl = workload_results(vm)
    status = ",".join(sorted({m.get("status", "?") for m in wl})) or "no result (rc %s)" % rc
    out = dict(status=status, rc=rc, oom_kills=oom_kills(vm),
               psi_some_sec=stall_sec(vm, t0, t1, "psi_some_total_usec"),
               psi_full_sec=stall_sec(vm, t0, t1, "psi_full_total_usec"),
               completion_sec=sum(int(m.get("elapsed_ms", 0)) for m in wl) / 1000.0 if wl else None,
               avg_rss_mib=rss / 1024 if rss else None,
               avg_demand_mib=demand / 1024 if demand else None,
               rss_per_demand=rss / demand if rss and demand else None,
               peak_rss_mib=max([r["qemu_rss_kb"] for r in w if ok(r["qemu_rss_kb"])] or [0]) / 1024,
               grow_p50_ms=percentile(vm["grows"], 50), grow_p99_ms=percentile(vm["grows"], 99),
               grows=len(vm["grows"]), shrinks=vm["shrinks"], resize_failures=vm["failures"],
               grow_decisions=vm["grow_asked"])
    out["resizes"] = out["grows"] + out["shrinks"]
    out["vmrd_cpu_ms"], out["vmrd_maxrss_kib"] = vmrd_usage(vm)
    if name == "burst" and "freed" in ph:
        out["return50_sec"], out["return90_sec"], out["returned_pct"] = \
            return_times(rows, t0, ph["freed"])
        out["final_rss_mib"] = [r["qemu_rss_kb"] for r in rows if ok(r["qemu_rss_kb"])][-1] / 1024
        out["unplug90_sec"] = unplug_time(rows, t0, ph["freed"])
    if name == "reread":
        for m in vm["markers"]:
            if m.get("kind") == "cachehog-reread":
                out["read1_ms"] = int(m.get("read1_ms", 0))
                out["read2_ms"] = int(m.get("read2_ms", 0))
    return out


def overcommit_metrics(work, run, params):
    vms = [load_vm(os.path.join(work, "vm%d" % i)) for i in range(3)]
    budget = bench_size(params["budget"])
    sums = {}
    for vm in vms:
        for r in vm["timeline"]:
            if ok(r["qemu_rss_kb"]):
                sums.setdefault(int(r["time_sec"]), []).append(r["qemu_rss_kb"] * 1024)
    series = sorted((t, sum(v)) for t, v in sums.items() if len(v) == 3)
    per_vm = []
    for i, vm in enumerate(vms):
        ph = phases(vm)
        wl = [m for m in vm["markers"] if m.get("kind") == "memhog"]
        t0, t1 = ph.get("start", 0), ph.get("end", 1e9)
        per_vm.append(dict(
            weight=int(str(params["weights"]).split(",")[i]),
            status=",".join(m.get("status", "?") for m in wl) or "no result",
            oom_kills=oom_kills(vm),
            solo_sec=int(wl[0]["elapsed_ms"]) / 1000.0 if len(wl) > 0 else None,
            together_sec=int(wl[1]["elapsed_ms"]) / 1000.0 if len(wl) > 1 else None,
            psi_some_sec=stall_sec(vm, t0, t1, "psi_some_total_usec"),
            psi_full_sec=stall_sec(vm, t0, t1, "psi_full_total_usec"),
            max_swap_mib=max([r["swap_used_kb"] for r in vm["timeline"] if ok(r["swap_used_kb"])]
                             or [0]) / 1024,
            peak_rss_mib=max([r["qemu_rss_kb"] for r in vm["timeline"] if ok(r["qemu_rss_kb"])]
                             or [0]) / 1024,
            grows=len(vm["grows"]), shrinks=vm["shrinks"],
            vmrd_cpu_ms=vmrd_usage(vm)[0], vmrd_maxrss_kib=vmrd_usage(vm)[1]))
    out = dict(status="rc %s" % run.get("rcs"), budget_mib=budget / MIB, vms=per_vm,
               oom_kills=sum(v["oom_kills"] for v in per_vm))
    if series:
        out["max_sum_rss_mib"] = max(s for _, s in series) / MIB
        out["avg_sum_rss_mib"] = sum(s for _, s in series) / len(series) / MIB
        out["sec_over_budget"] = sum(1 for _, s in series if s > budget)
    return out, series, vms


def bench_size(text):
    t = str(text).strip().upper()
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(t[:-1]) * units[t[-1]] if t[-1] in units else int(t)


def rss_plot(out_dir, plot_dir, name, curves, title, ylabel, budget_mib=None):
    """One PNG with a line per system; curves maps label -> [(t, MiB)]."""
    curves = {k: v for k, v in curves.items() if v}
    if not curves:
        return None
    os.makedirs(plot_dir, exist_ok=True)
    dat = os.path.join(out_dir, "plot-%s.dat" % name)
    with open(dat, "w") as f:
        for label, pts in curves.items():
            f.write("# %s\n" % label)
            for t, v in pts:
                f.write("%.1f %.1f\n" % (t, v))
            f.write("\n\n")
    png = os.path.join(plot_dir, "%s.png" % name)
    colors = ["#7a0177", "#1b9e77", "#56b4e9", "#e69f00", "#d7301f"]
    plots = ["'%s' index %d using 1:2 with lines lw 2 lc rgb '%s' title '%s'"
             % (dat, i, colors[SYSTEM_LABELS.index(label) % 5] if label in SYSTEM_LABELS
                else colors[i % 5], label)
             for i, label in enumerate(curves)]
    if budget_mib:
        plots.append("%f with lines dt 2 lc rgb 'black' title 'budget'" % budget_mib)
    script = "\n".join([
        "set terminal pngcairo size 900,520 font ',10'" if gp_has_cairo() else
        "set terminal png size 900,520",
        "set output '%s'" % png, "set title '%s'" % title,
        "set xlabel 'seconds since the workload started'", "set ylabel '%s'" % ylabel,
        "set key below", "set grid", "set xrange [-5:*]", "set yrange [0:*]",
        "plot " + ", ".join(plots), ""])
    subprocess.run(["gnuplot"], input=script.encode(), check=True)
    return png


_CAIRO = None
SYSTEM_LABELS = [bench.SYSTEMS[s]["label"] for s in bench.SYSTEM_ORDER]


def gp_has_cairo():
    global _CAIRO
    if _CAIRO is None:
        r = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True)
        _CAIRO = "pngcairo" in (r.stdout + r.stderr)
    return _CAIRO


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
            if not m:
                continue
            words = m.group(1).split()
            vals = {}
            i = 0
            while i + 1 < len(words):
                k, v = words[i], words[i + 1]
                unit = words[i + 2] if i + 2 < len(words) and words[i + 2] in ("MiB", "s") else ""
                vals[k] = float(v) if "." in v else int(v)
                i += 3 if unit else 2
            out.setdefault(n, {})[mode] = vals
    return out


def machine_info(vms_kernel):
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    qemu = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True,
                          text=True).stdout.splitlines()[0]
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024
    return dict(cpu=cpu, cores=os.cpu_count(), host_mem_mib=mem, kvm=os.path.exists("/dev/kvm"),
                accel="TCG", host_kernel=platform.release(), qemu=qemu, guest_kernel=vms_kernel)


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
              ("unplug90_sec", "90 % of plug unplugged s", 0)],
    "reread": [("read1_ms", "cold read ms", 0), ("read2_ms", "re-read ms", 0)],
}
TAIL_COLS = [("grow_ms", "grow p50 / p99 ms", 0), ("resizes", "resizes (grow/shrink)", 0),
             ("vmrd_cpu_ms", "vmrd CPU ms", 0), ("vmrd_maxrss_kib", "vmrd max RSS KiB", 0)]


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
    return fnum(m.get(key), digits)


def md_single(name, runs, systems):
    cols = SINGLE_COLS + EXTRA_COLS.get(name, []) + TAIL_COLS
    lines = ["| system | " + " | ".join(c[1] for c in cols) + " |",
             "|---" * (len(cols) + 1) + "|"]
    for s in systems:
        m = runs.get(s)
        if m is None:
            lines.append("| %s | " % bench.SYSTEMS[s]["label"] + " | ".join(
                ["not run"] + [""] * (len(cols) - 1)) + " |")
            continue
        lines.append("| %s | " % bench.SYSTEMS[s]["label"] +
                     " | ".join(cell(m, k, d) for k, _, d in cols) + " |")
    return lines


def md_overcommit(runs, systems):
    lines = ["| system | sum RSS at start MiB | max sum RSS MiB | avg sum RSS MiB | s over budget"
             " | max sum guest size MiB | OOM kills"
             " | per VM (weight: together s, PSI some s, max swap MiB, status) |",
             "|---|---|---|---|---|---|---|---|"]
    for s in systems:
        m = runs.get(s)
        if m is None:
            lines.append("| %s | not run | | | | | | |" % bench.SYSTEMS[s]["label"])
            continue
        vms = "; ".join("w%d: %s, %s, %s, %s" % (v["weight"], fnum(v["together_sec"]),
                                                  fnum(v["psi_some_sec"]), fnum(v["max_swap_mib"], 0),
                                                  v["status"]) for v in m["vms"])
        lines.append("| %s | %s | %s | %s | %s | %s | %d | %s |" % (
            bench.SYSTEMS[s]["label"], fnum(m.get("start_sum_rss_mib"), 0),
            fnum(m.get("max_sum_rss_mib"), 0),
            fnum(m.get("avg_sum_rss_mib"), 0), fnum(m.get("sec_over_budget")),
            fnum(m.get("max_sum_guest_mib"), 0), m["oom_kills"], vms))
    return lines


def md_glance(results, systems):
    cols = [("OOM kills, all scenarios", None),
            ("ramp: workload", ("ramp", "status")),
            ("ramp: avg RSS MiB", ("ramp", "avg_rss_mib")),
            ("burst: 90 % returned s", ("burst", "return90_sec")),
            ("burst: avg RSS MiB", ("burst", "avg_rss_mib")),
            ("re-read ms (cold read ms)", ("reread", "read2_ms")),
            ("creep: avg RSS MiB", ("creep", "avg_rss_mib")),
            ("sawtooth: PSI some s", ("sawtooth", "psi_some_sec")),
            ("overcommit: max sum RSS MiB", ("overcommit", "max_sum_rss_mib")),
            ("overcommit: OOM kills", ("overcommit", "oom_kills"))]
    lines = ["| system | " + " | ".join(c[0] for c in cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for s in systems:
        row = []
        for _, key in cols:
            if key is None:
                got = [r[s]["oom_kills"] for r in results.values() if s in r]
                row.append(str(sum(got)) if got else "not run")
                continue
            m = results.get(key[0], {}).get(s)
            if m is None:
                row.append("not run")
            elif key[1] == "read2_ms":
                row.append("%s (%s)" % (fnum(m.get("read2_ms"), 0), fnum(m.get("read1_ms"), 0)))
            else:
                row.append(fnum(m.get(key[1]), 1 if "psi" in key[1] else 0))
        lines.append("| %s | " % bench.SYSTEMS[s]["label"] + " | ".join(row) + " |")
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


def params_text(name, p):
    q = dict(p)
    if name == "ramp":
        q["total"] = "%d MiB" % (2 * bench_size(p["size"]) // MIB)
    return SCENARIO_TEXT[name].format(**q)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="bench.py output directory")
    ap.add_argument("--dest", required=True, help="where RESULTS.md, results.json, plots/ go")
    ap.add_argument("--sim", help="vmrd-sim binary for the simulation section")
    a = ap.parse_args()
    with open(os.path.join(a.out, "plan.json")) as f:
        plan = json.load(f)
    systems = [s for s in bench.SYSTEM_ORDER if s in plan["systems"]] or bench.SYSTEM_ORDER
    results, kernel = {}, ""
    plot_dir = os.path.join(a.dest, "plots")
    plots = {}
    for name in plan["scenarios"]:
        p = plan["params"][name]
        runs, curves, sum_curves, size_curves = {}, {}, {}, {}
        for s in systems:
            work = os.path.join(a.out, "raw", name, s)
            try:
                with open(os.path.join(work, "run.json")) as f:
                    run = json.load(f)
            except (OSError, ValueError):
                continue
            if name == "overcommit":
                m, series, vms = overcommit_metrics(work, run, p)
                kernel = kernel or next((v["kernel"] for v in vms if v["kernel"]), "")
                starts = [phases(v).get("start") for v in vms if "start" in phases(v)]
                t0 = min(starts) if starts else 0
                sum_curves[bench.SYSTEMS[s]["label"]] = [(t - t0, v / MIB) for t, v in series]
                before = [v for t, v in series if t <= t0]
                if before:
                    m["start_sum_rss_mib"] = before[-1] / MIB
                sizes = guest_size_sum(vms, p, bench.SYSTEMS[s])
                if sizes:
                    m["max_sum_guest_mib"] = sizes
            else:
                vm = load_vm(work)
                kernel = kernel or vm["kernel"]
                m = single_metrics(name, vm, run.get("rc"))
                t0 = phases(vm).get("start", 0)
                curves[bench.SYSTEMS[s]["label"]] = [
                    (r["time_sec"] - t0, r["qemu_rss_kb"] / 1024) for r in vm["timeline"]
                    if ok(r["qemu_rss_kb"]) and r["time_sec"] >= t0 - 5]
                size_curves[bench.SYSTEMS[s]["label"]] = [
                    (r["time_sec"] - t0, r["memtotal_kb"] / 1024) for r in vm["timeline"]
                    if ok(r["memtotal_kb"]) and r["time_sec"] >= t0 - 5]
            m["wall_sec"] = round(run.get("wall_sec", 0), 1)
            runs[s] = m
        results[name] = runs
        if name == "overcommit":
            plots[name] = rss_plot(a.out, plot_dir, name, sum_curves,
                                   "overcommit: sum of the three QEMU RSS",
                                   "MiB", bench_size(p["budget"]) / MIB)
        else:
            plots[name] = rss_plot(a.out, plot_dir, name, curves, "%s: QEMU RSS" % name,
                                   "QEMU RSS MiB")
            plots[name + "-memtotal"] = rss_plot(a.out, plot_dir, name + "-memtotal", size_curves,
                                                 "%s: guest MemTotal" % name, "MiB")
    sim = run_sim(a.sim)
    meta = machine_info(kernel)
    meta["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    meta["profile"] = plan["profile"]
    with open(os.path.join(a.dest, "results.json"), "w") as f:
        json.dump(dict(meta=meta, params=plan["params"], systems={
            s: bench.SYSTEMS[s]["label"] for s in systems}, runs=results, sim=sim), f, indent=1,
            sort_keys=True)
    write_markdown(a.dest, meta, plan, systems, results, plots, sim)
    return 0


def guest_size_sum(vms, p, system):
    """Largest sum of the three guests' sizes (base + plugged) over time."""
    if system.get("static"):
        return 3 * bench_size(p[system["static"]]) / MIB
    sums = {}
    for vm in vms:
        for r in vm["timeline"]:
            if ok(r["plugged_bytes"]):
                sums.setdefault(int(r["time_sec"]), []).append(
                    bench_size(p["base"]) + r["plugged_bytes"])
    vals = [sum(v) for v in sums.values() if len(v) == 3]
    return max(vals) / MIB if vals else None


def write_markdown(dest, meta, plan, systems, results, plots, sim):
    L = ["# vmrd benchmark results", "",
         "Generated by `make bench` (scripts/bench.sh → scripts/bench/bench.py and report.py) "
         "on %s, profile **%s**. Every number below was measured in this run; a cell that "
         "says \"not run\" has no measurement. Raw per-run files (timeline CSV, console, "
         "markers) stay in the build directory under `bench/raw/`." % (meta["date"],
                                                                      meta["profile"]), "",
         "## Machine", "",
         "- Host: %s, %d cores, %d MiB RAM, kernel %s; no /dev/kvm: every guest runs under "
         "QEMU **TCG** (software emulation), so absolute times are many times slower than "
         "with KVM. Compare systems with each other, not with real hardware." % (
             meta["cpu"] or "unknown CPU", meta["cores"], meta["host_mem_mib"],
             meta["host_kernel"]),
         "- %s" % meta["qemu"],
         "- Guest kernel: Debian %s (the same image for every run), busybox, static vmrd." %
         (meta["guest_kernel"] or "6.1"), "",
         "## Systems", "",
         "- **(a) static, max size**: a plain VM with all memory from boot (`-m MAX`), no "
         "balloon, no daemon.",
         "- **(b) static, base size**: the same at the base size.",
         "- **(c) static max + balloon FPR, deflate-on-oom**: the strongest thing a user can "
         "switch on in QEMU today: `virtio-balloon-pci,free-page-reporting=on,"
         "deflate-on-oom=on`. Free page reporting returns freed anonymous memory, but not "
         "page cache, and the host has no say.",
         "- **(d) vmrd psi-only + vmrd-host**: the original naive design (`[policy] mode = "
         "psi-only`: one 4 MiB step per PSI event, release after 10 s without events); "
         "virtio-mem, no balloon.",
         "- **(e) vmrd default + vmrd-host, FPR on**: vmrd with its default policy and the "
         "free-page-reporting balloon, as we recommend deploying it.", "",
         "At the same 512 MiB base, the virtio-mem guests (d, e) start with about 65 MiB less "
         "MemTotal than (b): their hotpluggable range lies above 4 GiB, so the guest kernel "
         "maps a 64 MiB swiotlb bounce buffer (seen as \"software IO TLB: mapped ... (64MB)\" "
         "in a boot log at loglevel 7).", "",
         "## Metrics", "",
         "- *OOM kills*: the guest's `oom_kill` counter (or the console's kill lines, "
         "whichever is larger).",
         "- *PSI some/full s*: growth of `total=` in the guest's /proc/pressure/memory "
         "between the workload's start and end markers.",
         "- *workload s*: the workload's own elapsed time (memhog/cachehog).",
         "- *avg QEMU RSS* and *avg guest demand* (MemTotal − MemAvailable) are averaged over "
         "the scenario from its start marker to its end marker, sampled once per second; "
         "*RSS / demand* is their ratio (1.0 would be a host that holds exactly what the "
         "guest uses; QEMU under TCG itself adds roughly 100–200 MiB of RSS).",
         "- *50 % / 90 % returned*: seconds after the burst was freed until QEMU's RSS fell by "
         "half / nine tenths of the burst's excess over the RSS before the burst; \"never\" "
         "means not within the idle period.",
         "- *90 % of plug unplugged*: seconds after the free until the virtio-mem plugged "
         "size fell to a tenth of its peak (vmrd's own giving back, apart from the balloon's "
         "free page reporting).",
         "- *grow p50 / p99*: vmrd's own measure from sending a grow request to seeing "
         "MemTotal reach it (the host backend confirms grants by MemTotal).",
         "- *resizes*: completed vmrd resize requests (grows/shrinks); \"N grows decided\" "
         "when vmrd decided more grows than completed (a grow still outstanding, or one "
         "decided while another was in flight).",
         "- *vmrd CPU / max RSS*: `vmrctl metrics` (`vmrd_cpu_usec_total`, "
         "`vmrd_max_resident_bytes`) at the end of the scenario.", ""]
    L += ["## At a glance", "", "Picked from the tables below.", ""] + md_glance(results, systems)
    L += ["", "Reproduce: `make bench` (full, about an hour) or `make bench QUICK=1` (smoke run, "
          "report under the build directory).", ""]
    for name in plan["scenarios"]:
        L += ["## Scenario: %s" % name, "", params_text(name, plan["params"][name]), ""]
        if name == "overcommit":
            L += md_overcommit(results.get(name, {}), systems)
        else:
            L += md_single(name, results.get(name, {}), systems)
        for key in (name, name + "-memtotal"):
            if plots.get(key):
                L += ["", "![%s](plots/%s.png)" % (key, key)]
        L.append("")
    L += ["## Simulation (tools/vmrd-sim, deterministic, not a measurement of real VMs)", "",
          "The same policy code in a closed-loop simulator, default mode against psi-only, "
          "on every built-in scenario (`vmrd-sim -l`). *stall* is simulated stall seconds, "
          "sizes in MiB.", ""]
    L += md_sim(sim) if sim else ["not run (vmrd-sim not built)"]
    L.append("")
    with open(os.path.join(dest, "RESULTS.md"), "w") as f:
        f.write("\n".join(L))


if __name__ == "__main__":
    sys.exit(main())
