"""Numbers of one benchmark run, computed from its raw files only.

load_vm() reads what scripts/guest/run-vm.py left in a work directory
(summary.json with the guest's markers, timeline.csv, console.log);
single_metrics() and overcommit_metrics() turn that into the numbers of the
report.  Nothing here reads the clock, the host or another run: the same
raw directory always gives the same numbers.
"""

import csv
import json
import os
import re

MIB = 1 << 20
KIB_PER_MIB = 1024
# vmrd's default headroom target: max(min_headroom, ratio x MemTotal).
HEADROOM_MIN_MIB = 128
HEADROOM_RATIO = 0.10
# "Above demand": the guest is larger than (demand + headroom) x this.
ABOVE_FACTOR = 1.10
# A guest within this much of its maximum counts as at its maximum (one
# virtio-mem request can leave a block or two unplugged).
AT_MAX_SLACK_MIB = 8
# The kernel zones are "short" while their free pages are within this much
# of their low watermark.
SHORT_MARGIN_MIB = 16

DONE = re.compile(r"backend: request (\d+) done: asked (\d+) MiB, now (\d+) MiB after (\d+) ms")
FAILED = re.compile(r"backend: request (\d+) for (\d+) MiB failed")
START = re.compile(r"backend host: current (\d+) MiB")
GROW = re.compile(r"^vmrd: (vmrd: )?grow: ")
# Text columns of the timeline; every other column is a number.
TEXT_COLUMNS = {"vmrd_decision", "broker_reason"}
WORKLOAD_KINDS = ("memhog", "cachehog", "kmemhog")


def ok(x):
    return x == x  # not NaN


def avg(vals):
    vals = [v for v in vals if v is not None and ok(v)]
    return sum(vals) / len(vals) if vals else None


def percentile(vals, q):
    if not vals:
        return None
    vals = sorted(vals)
    idx = min(len(vals) - 1, max(0, int(round(q / 100.0 * (len(vals) - 1)))))
    return vals[idx]


def bench_size(text):
    t = str(text).strip().upper()
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(t[:-1]) * units[t[-1]] if t[-1] in units else int(t)


def read_timeline(path):
    """timeline.csv as dicts of floats (NaN where a column is empty or
    missing, e.g. the zone columns of a run from before they existed)."""
    rows = []
    try:
        with open(path) as f:
            for r in csv.DictReader(f):
                out = {}
                for k, v in r.items():
                    if k in TEXT_COLUMNS or k is None:
                        continue
                    try:
                        out[k] = float(v or "nan")
                    except ValueError:
                        out[k] = float("nan")
                rows.append(out)
    except OSError:
        pass
    return rows


def col(row, key):
    return row.get(key, float("nan"))


def scan_console(vm, path):
    """vmrd's resize requests from the console: grow latencies, shrinks."""
    cur = None
    try:
        with open(path, errors="replace") as f:
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


def load_vm(work):
    """Markers, timeline and vmrd log facts of one guest."""
    try:
        with open(os.path.join(work, "summary.json")) as f:
            summary = json.load(f)
    except (OSError, ValueError):
        summary = {"markers": [], "status": None, "console_oom_kills": 0}
    vm = dict(markers=summary.get("markers", []), status=summary.get("status"),
              console_oom=summary.get("console_oom_kills", 0), cmdline=summary.get("cmdline"),
              timeline=read_timeline(os.path.join(work, "timeline.csv")),
              grows=[], shrinks=0, failures=0, grow_asked=0, kernel="")
    scan_console(vm, os.path.join(work, "console.log"))
    for m in vm["markers"]:
        if m.get("event") == "boot":
            vm["kernel"] = m.get("kernel", "")
    return vm


def phases(vm):
    """Phase name -> host time of its first marker."""
    out = {}
    for m in vm["markers"]:
        if m.get("event") == "phase":
            out.setdefault(m["name"], m["_time"])
    return out


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


def counter_delta(rows, key):
    vals = [r[key] for r in rows if ok(col(r, key))]
    return int(vals[-1] - vals[0]) if len(vals) > 1 else None


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
        if m.get("event") == "vmrd-metric" and m.get("name") == "vmrd_cpu_seconds_total":
            cpu_ms = float(m["value"]) * 1000.0
        # The name before issue 13 (microseconds), in runs recorded then.
        if m.get("event") == "vmrd-metric" and m.get("name") == "vmrd_cpu_usec_total":
            cpu_ms = int(m["value"]) / 1000.0
        if m.get("event") == "vmrd-metric" and m.get("name") == "vmrd_max_resident_bytes":
            hwm_kb = int(m["value"]) // 1024
    return cpu_ms, hwm_kb


def window(rows, t0, t1):
    return [r for r in rows if t0 <= r["time_sec"] <= t1]


def host_size_mib(row, boot_mib):
    """The guest's size as the host sees it: boot memory less what the
    balloon took (QMP 'actual'), plus what virtio-mem plugged."""
    size = boot_mib
    if ok(col(row, "balloon_actual_bytes")):
        size = row["balloon_actual_bytes"] / MIB
    if ok(col(row, "plugged_bytes")):
        size += row["plugged_bytes"] / MIB
    return size


def headroom_mib(memtotal_mib):
    return max(HEADROOM_MIN_MIB, HEADROOM_RATIO * memtotal_mib)


def demand_mib(row):
    return (row["memtotal_kb"] - row["memavailable_kb"]) / KIB_PER_MIB


def duration_where(rows, pred):
    """Seconds (sum of sample intervals) in which pred(row) holds."""
    total = 0.0
    for a, b in zip(rows, rows[1:]):
        if pred(a):
            total += b["time_sec"] - a["time_sec"]
    return total


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


def size_back_time(rows, boot_mib, t_start, t_freed, share=0.9):
    """Seconds after the free until the guest's host-side size (plugged
    memory and balloon, not RSS) gave back share of the burst's excess over
    its size at the start; 0 when the size did not grow."""
    before = [host_size_mib(r, boot_mib) for r in rows if r["time_sec"] <= t_start]
    during = [host_size_mib(r, boot_mib) for r in window(rows, t_start, t_freed + 2)]
    if not before or not during:
        return None
    if max(during) - before[-1] < 1:
        return 0.0
    goal = max(during) - share * (max(during) - before[-1])
    hit = [r["time_sec"] for r in rows
           if r["time_sec"] >= t_freed and host_size_mib(r, boot_mib) <= goal]
    return hit[0] - t_freed if hit else "never"


def size_gap_mib(rows, boot_mib):
    """Host-side size less MemTotal, the median over the run: MemTotal comes
    from the guest's last report and lags a resize by a second or more, so
    single samples taken during a grow or shrink are off either way."""
    gaps = sorted(host_size_mib(r, boot_mib) - r["memtotal_kb"] / KIB_PER_MIB
                  for r in rows if ok(col(r, "memtotal_kb")))
    return gaps[len(gaps) // 2] if gaps else None


def size_metrics(w, boot_mib, max_mib, has_vmem):
    """Guest size against demand over the measured window w.

    The size here is MemTotal, the size the guest itself sees and the one
    vmrd's headroom target is about; the host-side size (base + plugged,
    less balloon) is larger by a fixed amount (kernel, swiotlb) that the
    report shows as *size gap*.
    """
    rows = [r for r in w if ok(col(r, "memtotal_kb")) and ok(col(r, "memavailable_kb"))]
    if not rows:
        return {}
    peak_total = max(r["memtotal_kb"] for r in rows) / KIB_PER_MIB
    peak_demand = max(demand_mib(r) for r in rows)
    head = headroom_mib(peak_total)

    def above(r):
        total = r["memtotal_kb"] / KIB_PER_MIB
        return total > (demand_mib(r) + headroom_mib(total)) * ABOVE_FACTOR

    out = dict(peak_size_mib=peak_total, peak_demand_mib=peak_demand, headroom_mib=head,
               overshoot_mib=peak_total - peak_demand - head,
               size_bound_mib=(peak_demand + head) * ABOVE_FACTOR,
               above_sec=duration_where(rows, above),
               peak_host_size_mib=max(host_size_mib(r, boot_mib) for r in w))
    if has_vmem:
        out["at_max_vain_sec"] = duration_where(rows, lambda r: at_max_in_vain(r, max_mib))
    return out


def at_max_in_vain(row, max_mib):
    """At its maximum size while ZONE_MOVABLE still has more than the
    minimum headroom free: the last grows bought memory nothing used."""
    plugged = col(row, "plugged_bytes")
    free = col(row, "zone_movable_free_kb")
    if not ok(plugged) or not ok(free):
        return False
    return (plugged / MIB >= max_mib - AT_MAX_SLACK_MIB
            and free / KIB_PER_MIB > HEADROOM_MIN_MIB)


def zone_metrics(w):
    """Kernel zones (DMA32 + Normal) against Movable over the window."""
    rows = [r for r in w if ok(col(r, "zone_kernel_free_kb"))]
    if not rows:
        return {}

    def mib(key, f):
        vals = [r[key] / KIB_PER_MIB for r in rows if ok(col(r, key))]
        return f(vals) if vals else None

    # kswapd wakes below the low watermark and reclaims a little past high;
    # free pages that stay within a few MiB of low mean the zones are being
    # reclaimed all the time.
    short = duration_where(rows, lambda r: r["zone_kernel_free_kb"] <
                           r["zone_kernel_low_kb"] + SHORT_MARGIN_MIB * KIB_PER_MIB)
    return dict(kernel_managed_mib=mib("zone_kernel_managed_kb", max),
                kernel_free_min_mib=mib("zone_kernel_free_kb", min),
                kernel_free_avg_mib=mib("zone_kernel_free_kb", avg),
                kernel_short_sec=short,
                movable_managed_mib=mib("zone_movable_managed_kb", max),
                movable_free_avg_mib=mib("zone_movable_free_kb", avg),
                buffers_max_mib=mib("buffers_kb", max),
                slab_max_mib=max((r["slab_reclaimable_kb"] + r["slab_unreclaimable_kb"])
                                 / KIB_PER_MIB for r in rows),
                allocstall_kernel=counter_delta(rows, "allocstall_normal"),
                allocstall_movable=counter_delta(rows, "allocstall_movable"),
                refault_file=counter_delta(rows, "workingset_refault_file"))


def workload_results(vm):
    return [m for m in vm["markers"] if m.get("kind") in WORKLOAD_KINDS]


def marker_ints(vm, kind, keys):
    out = {}
    for m in vm["markers"]:
        if m.get("kind") == kind:
            for src, dst in keys.items():
                if str(m.get(src, "")).isdigit():
                    out[dst] = int(m[src])
            for src in ("pass_ms", "hot_ms", "cold_each_ms"):
                if src in m:
                    out[src] = m[src]
    return out


WORKLOAD_NUMBERS = {
    "reread": ("cachehog-reread", {"read1_ms": "read1_ms", "read2_ms": "read2_ms"}),
    "hotset": ("cachehog-hotset", {"hot1_ms": "hot1_ms", "hot_reread_ms": "hot_reread_ms",
                                   "hot_reread_disk_mib": "hot_reread_disk_mib",
                                   "cold_ms": "cold_ms"}),
    "unmovable": ("kmemhog-passes", {"create_ms": "create_ms", "pass1_ms": "pass1_ms",
                                     "rest_avg_ms": "rest_avg_ms",
                                     "rest_disk_mib": "rest_disk_mib"}),
}


def measured_window(vm, rows):
    """(t0, t1) host seconds of the measured part: from the workload's own
    "passes" marker when it has a set-up phase, else from "start", to "end"."""
    ph = phases(vm)
    t0 = ph.get("passes", ph["start"])
    t1 = ph.get("end", rows[-1]["time_sec"] if rows else t0)
    return t0, t1


def base_metrics(vm, rc, w, t0, t1):
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
    return out


def single_metrics(name, vm, rc, p, system):
    """Every number of a one-VM scenario run; system is bench.SYSTEMS[s]."""
    ph = phases(vm)
    rows = vm["timeline"]
    if "start" not in ph:
        return dict(status="no start (rc %s)" % rc)
    t0, t1 = measured_window(vm, rows)
    w = window(rows, t0, t1)
    out = base_metrics(vm, rc, w, t0, t1)
    boot_mib = bench_size(p[system["static"]] if system.get("static") else p["base"]) / MIB
    vmem_max = (bench_size(p["max"]) - bench_size(p["base"])) / MIB
    out.update(size_metrics(w, boot_mib, vmem_max, not system.get("static")))
    out["size_gap_mib"] = size_gap_mib(rows, boot_mib)
    out.update(zone_metrics(w))
    if name == "burst" and "freed" in ph:
        out["return50_sec"], out["return90_sec"], out["returned_pct"] = \
            return_times(rows, t0, ph["freed"])
        out["final_rss_mib"] = [r["qemu_rss_kb"] for r in rows if ok(r["qemu_rss_kb"])][-1] / 1024
        if not system.get("static"):
            out["size_back90_sec"] = size_back_time(rows, boot_mib, t0, ph["freed"])
    if name in WORKLOAD_NUMBERS:
        kind, keys = WORKLOAD_NUMBERS[name]
        out.update(marker_ints(vm, kind, keys))
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
    per_vm = [overcommit_vm(vm, i, params) for i, vm in enumerate(vms)]
    out = dict(status="rc %s" % run.get("rcs"), budget_mib=budget / MIB, vms=per_vm,
               oom_kills=sum(v["oom_kills"] for v in per_vm))
    if series:
        out["max_sum_rss_mib"] = max(s for _, s in series) / MIB
        out["avg_sum_rss_mib"] = sum(s for _, s in series) / len(series) / MIB
        out["sec_over_budget"] = sum(1 for _, s in series if s > budget)
    return out, series, vms


def overcommit_vm(vm, i, params):
    ph = phases(vm)
    wl = [m for m in vm["markers"] if m.get("kind") == "memhog"]
    t0, t1 = ph.get("start", 0), ph.get("end", 1e9)
    tl = vm["timeline"]
    return dict(
        weight=int(str(params["weights"]).split(",")[i]),
        status=",".join(m.get("status", "?") for m in wl) or "no result",
        oom_kills=oom_kills(vm),
        solo_sec=int(wl[0]["elapsed_ms"]) / 1000.0 if len(wl) > 0 else None,
        together_sec=int(wl[1]["elapsed_ms"]) / 1000.0 if len(wl) > 1 else None,
        psi_some_sec=stall_sec(vm, t0, t1, "psi_some_total_usec"),
        psi_full_sec=stall_sec(vm, t0, t1, "psi_full_total_usec"),
        max_swap_mib=max([r["swap_used_kb"] for r in tl if ok(r["swap_used_kb"])] or [0]) / 1024,
        peak_rss_mib=max([r["qemu_rss_kb"] for r in tl if ok(r["qemu_rss_kb"])] or [0]) / 1024,
        grows=len(vm["grows"]), shrinks=vm["shrinks"],
        vmrd_cpu_ms=vmrd_usage(vm)[0], vmrd_maxrss_kib=vmrd_usage(vm)[1])


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


# --- hostpressure -------------------------------------------------------------

# vmrd-host's host_psi_some default (10 %), in hundredths of a percent.
HOST_PSI_THRESHOLD = 1000


def read_pressure(path):
    """pressure.csv (bench.py press()): one row per VM and second; {t: (psi, {vm: row})}."""
    by_t = {}
    try:
        with open(path) as f:
            for r in csv.DictReader(f):
                t = float(r["t_sec"])
                psi = int(r["cgroup_psi_some_centi"]) if r["cgroup_psi_some_centi"] not in (
                    "", "None") else None
                entry = by_t.setdefault(t, (psi, {}))
                if r["vm"]:
                    entry[1][r["vm"]] = r
    except (OSError, KeyError, ValueError):
        pass
    return dict(sorted(by_t.items()))


def relief(series, threshold=HOST_PSI_THRESHOLD):
    """(first second PSI reached the threshold, seconds until it was below it again or
    "never", peak PSI) of [(t, psi)]."""
    crossed = next((t for t, v in series if v is not None and v >= threshold), None)
    if crossed is None:
        return None, None, max([v for _, v in series if v is not None] or [0])
    back = next((t for t, v in series if t > crossed and v is not None and v < threshold), None)
    return crossed, (back - crossed if back is not None else "never"), max(
        v for _, v in series if v is not None)


def hostpressure_metrics(work, run, params):
    vms = [load_vm(os.path.join(work, "vm%d" % i)) for i in range(3)]
    samples = read_pressure(os.path.join(work, "pressure.csv"))
    series = [(t, psi) for t, (psi, _) in samples.items()]
    crossed, relief_sec, peak = relief(series)
    weights = [int(w) for w in str(params["weights"]).split(",")]
    per_vm, below = [], 0
    for i, vm in enumerate(vms):
        rows = [v["vm%d" % i] for _, (_, v) in samples.items() if "vm%d" % i in v]
        cur = [int(r["current_bytes"]) for r in rows if r["current_bytes"].isdigit()]
        tgt = [int(r["target_bytes"]) for r in rows if r["target_bytes"].isdigit()]
        mins = [int(r["min_bytes"]) for r in rows if r["min_bytes"].isdigit()]
        low = min(cur + tgt) if cur or tgt else None
        if low is not None and mins and low < mins[0]:
            below += 1
        reasons = sorted({r["last_reason"] for r in rows if r["last_reason"] not in ("", "none")})
        tl = vm["timeline"]
        per_vm.append(dict(
            weight=weights[i], oom_kills=oom_kills(vm),
            before_mib=cur[0] / MIB if cur else None, lowest_mib=low / MIB if low else None,
            min_mib=mins[0] / MIB if mins else None, reasons=",".join(reasons) or "–",
            max_swap_mib=max([r["swap_used_kb"] for r in tl if ok(r["swap_used_kb"])] or [0])
            / 1024,
            status=",".join(m.get("status", "?") for m in vm["markers"]
                            if m.get("kind") == "memhog") or "no result"))
    out = dict(status="rc %s" % run.get("rcs"), vms=per_vm,
               oom_kills=sum(v["oom_kills"] for v in per_vm), peak_psi_pct=peak / 100.0,
               crossed_sec=crossed, relief_sec=relief_sec, below_min=below,
               limit_mib=(run.get("limit_bytes") or 0) / MIB or None)
    if not samples:
        out["status"] = "not pressed (rc %s)" % run.get("rcs")
    return out, series, vms
