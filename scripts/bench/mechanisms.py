#!/usr/bin/env python3
"""How much host memory each give-back mechanism really frees (issue 12,
item 5): in real QEMU TCG guests, the drop of QEMU's RSS per MiB the guest
gives up, for balloon inflation with free page reporting (FPR) off and on,
virtio-mem unplug, and a page-cache trim, each after a burst (memory the
guest touched and freed) and after a cache fill.

One guest boot per case (guest/scenarios/giveup.sh): the guest fills
memory, waits SETTLE seconds (FPR reports free blocks after about 2 s),
then gives memory up; the runner inflates the balloon or unplugs
virtio-mem on the guest's "giveup-before" marker.  "Given up" is the fall
of the guest's MemTotal (balloon, unplug) or of its Cached (trim);
"before" and "after" are QEMU's RSS in the last sample before each marker.
A case that cannot be measured says why in the table.  Writes
bench/sections/mechanisms.md, its results as mechanisms.json beside it,
and the plot bench/plots/mechanisms.png.

Beside each measured row it puts the page model's (tools/vmrd-pagemodel,
the same scenario in a model of the guest's page frames).  --from-json
rewrites the section and the plot from mechanisms.json without booting a
guest; --check TOL only compares model and measurement and fails when a
case differs by more than TOL per MiB given up (the test
tools-pagemodel-measured).

    mechanisms.py [--build-root build] [--cases NAME,...] [--out FILE]
                  [--from-json] [--check TOL]
"""

import argparse
import csv
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plots import bar_plot  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MIB_KB = 1024
# How far the model may be from the measurement, per MiB given up, before
# tools-pagemodel-measured fails (the section says so too).
TOLERANCE = 0.10
SIZE = "320M"        # the burst, or the cache fill
GIVE = 256           # MiB the balloon or virtio-mem takes away
SETTLE = 8           # seconds after the fill and after the give-back
BALLOON = ["--mem", "512M", "--maxmem", "512M", "--no-vmem"]
# virtio-mem with 256 MiB plugged at boot (online_movable); FPR off so
# that the unplug is measured alone.
VMEM = ["--mem", "512M", "--maxmem", "1G", "--vmem-initial", "%dM" % GIVE, "--no-fpr"]
DISK = ["--disk", "768M"]
INFLATE = ["--on", "giveup-before:balloon=%dM" % (512 - GIVE)]
UNPLUG = ["--on", "giveup-before:plug=0"]

# name: (mechanism, prep, action, run-vm.py arguments)
CASES = {
    "balloon-nofpr-burst": ("balloon inflate, FPR off", "burst", "balloon",
                            BALLOON + ["--no-fpr"] + INFLATE),
    "balloon-nofpr-cache": ("balloon inflate, FPR off", "cache", "balloon",
                            BALLOON + ["--no-fpr"] + DISK + INFLATE),
    "balloon-fpr-burst": ("balloon inflate, FPR on", "burst", "balloon", BALLOON + INFLATE),
    "balloon-fpr-cache": ("balloon inflate, FPR on", "cache", "balloon",
                          BALLOON + DISK + INFLATE),
    "vmem-burst": ("virtio-mem unplug (FPR off)", "burst", "unplug", VMEM + UNPLUG),
    "vmem-cache": ("virtio-mem unplug (FPR off)", "cache", "unplug", VMEM + DISK + UNPLUG),
    "trim-fpr-cache": ("cache trim, FPR on", "cache", "trim", BALLOON + DISK),
    "trim-nofpr-cache": ("cache trim, FPR off", "cache", "trim", BALLOON + ["--no-fpr"] + DISK),
}


def boot(image, work, prep, action, args):
    drop_kb = 0 if action == "trim" else (GIVE - 6) * MIB_KB
    cmd = [sys.executable, os.path.join(ROOT, "scripts/guest/run-vm.py"), "--image-dir", image,
           "--workdir", work, "--timeout", "300", "--report", "0", "--scenario", "giveup",
           "--sarg", "%s %s %s %d %d" % (prep, SIZE, action, drop_kb, SETTLE)] + args
    rc = subprocess.run(cmd, stdout=subprocess.DEVNULL).returncode
    with open(os.path.join(work, "summary.json")) as f:
        markers = json.load(f)["markers"]
    with open(os.path.join(work, "timeline.csv")) as f:
        rows = [r for r in csv.DictReader(f) if r["qemu_rss_kb"]]
    return rc, markers, rows


def rss_at(rows, t):
    """QEMU's RSS (kB) in the last sample at or before runner time t."""
    before = [int(r["qemu_rss_kb"]) for r in rows if float(r["time_sec"]) <= t]
    return before[-1] if before else None


def measure(image, name, work):
    mech, prep, action, args = CASES[name]
    rc, markers, rows = boot(image, work, prep, action, args)
    m = {k: next((x for x in markers if x.get("event") == "giveup-" + k), None)
         for k in ("filled", "before", "after")}
    out = {"case": name, "mechanism": mech, "prep": prep, "exit": rc}
    if rc != 0 or None in m.values():
        out["missing"] = "guest exit %d, markers %s (%s)" % (
            rc, [k for k, v in m.items() if v], work)
        return out
    key = "cached_kb" if action == "trim" else "memtotal_kb"
    given = int(m["before"][key]) - int(m["after"][key])
    out.update(given_mib=given / MIB_KB, reached=m["after"].get("reached") == "1",
               peak_mib=max(int(r["qemu_rss_kb"]) for r in rows
                            if float(r["time_sec"]) <= m["filled"]["_time"]) / MIB_KB,
               before_mib=rss_at(rows, m["before"]["_time"]) / MIB_KB,
               after_mib=rss_at(rows, m["after"]["_time"]) / MIB_KB)
    out["drop_mib"] = out["before_mib"] - out["after_mib"]
    return out


def per_mib(r):
    """The measured RSS drop per MiB given up, or None."""
    if "missing" in r or r["given_mib"] <= 0:
        return None
    return r["drop_mib"] / r["given_mib"]


def model_text(model, r):
    m = model.get(r["case"])
    return "%.2f" % (round(m["per_mib"], 2) + 0.0) if m else "not run"


def cell(r, model):
    if "missing" in r:
        return "| %s | %s | not measured: %s | | | | | | %s |" % (
            r["mechanism"], r["prep"], r["missing"], model_text(model, r))
    per = "%.2f" % (round(per_mib(r), 2) + 0.0) if r["given_mib"] > 0 \
        else "not measured (nothing given up)"
    note = "" if r["reached"] else " (the give-back did not finish in 60 s)"
    return "| %s | %s | %d%s | %d | %d → %d | %d | %s | %d | %s |" % (
        r["mechanism"], r["prep"], round(r["given_mib"]), note, round(r["peak_mib"]),
        round(r["before_mib"]), round(r["after_mib"]), round(r["drop_mib"]), per,
        round(r["peak_mib"] - r["after_mib"]), model_text(model, r))


def run_model(binary):
    """The page model's rows by case name ({} when vmrd-pagemodel is not built)."""
    if not os.access(binary, os.X_OK):
        return {}
    out = subprocess.run([binary, "--tsv"], capture_output=True, text=True, check=True).stdout
    rows = {}
    for line in out.splitlines():
        case, mech, prep, given, peak, before, after, per = line.split("\t")
        rows[case] = {"given_mib": int(given), "peak_mib": int(peak), "before_mib": int(before),
                      "after_mib": int(after), "per_mib": float(per)}
    return rows


def compare(results, model, tolerance):
    """Side by side, one line per case; the cases off by more than tolerance."""
    bad = []
    print("%-20s %-6s %8s %8s %6s" % ("case", "after", "measured", "model", "diff"))
    for r in results:
        meas, m = per_mib(r), model.get(r["case"])
        if meas is None or m is None:
            print("%-20s %-6s %8s %8s" % (r["case"], r["prep"], "missing" if meas is None
                                          else "%.2f" % meas, "missing" if m is None else ""))
            bad.append(r["case"])
            continue
        diff = m["per_mib"] - meas
        print("%-20s %-6s %8.2f %8.2f %+6.2f%s" % (r["case"], r["prep"], meas, m["per_mib"], diff,
                                                   "  OFF" if abs(diff) > tolerance else ""))
        if abs(diff) > tolerance:
            bad.append(r["case"])
    return bad


def plot(results, model, plot_dir, work):
    groups = ["%s, %s" % (r["mechanism"], r["prep"]) for r in results]
    return bar_plot(work, plot_dir, "mechanisms", groups,
                    [("measured (QEMU TCG)", 0, [per_mib(r) for r in results]),
                     ("page model (vmrd-pagemodel)", 1,
                      [model[r["case"]]["per_mib"] if r["case"] in model else None
                       for r in results])],
                    "Host memory back per MiB the guest gives up", "QEMU RSS drop / MiB given up",
                    ymax=1.1)


MODEL_TEXT = (
    "*Model*: the same scenario in the page model (tools/pagemodel.c, `vmrd-pagemodel`): "
    "the guest's 4 KiB frames, each with a host-populated bit; allocation reuses the most "
    "recently freed frame first (never-touched ones last) and prefers ZONE_MOVABLE; the "
    "balloon takes 4 KiB pages, reclaiming the oldest page cache when nothing is free; free "
    "page reporting discards free 2 MiB blocks after 2 s; virtio-mem unplugs whole 2 MiB "
    "blocks from the top, dropping the page cache in them and migrating the rest. Two of its "
    "parameters are fitted to this table: 120 MiB in use after boot (the never-touched "
    "memory left after a cache fill is what the balloon takes first, for nothing: 0.72) and "
    "four 2 MiB blocks pinned by a kernel page (what a trim cannot report: 0.97); the other "
    "rows follow from the mechanisms. `meson test -C build tools-pagemodel-measured` fails "
    "when a case of the model is more than %.2f per MiB away from the measured one "
    "(read from mechanisms.json). `vmrd-fleet --giveback CASE` makes every shrink in the "
    "fleet simulator free the model's share for that case instead of all of it, and "
    "vmrd-host's `balloon_efficiency` and `virtio_mem_efficiency` keys default to the cache "
    "rows (0.72 and 0.99): a VM with both devices gives back through virtio-mem first.")


def measured_date(path):
    """The date line of the section that is there now (the measurement's, for --from-json)."""
    try:
        with open(path) as f:
            m = re.search(r"^Date: (.*?) UTC", f.read(), re.M)
        return m.group(1) if m else None
    except OSError:
        return None


def report(results, command, model, date, png, regen):
    lines = [
        "## How much the host gets back per mechanism",
        "",
        "Command: `%s` (measures, about 20 minutes); `%s` rewrites this section, the model "
        "column and the plot from mechanisms.json without booting a guest.  " % (command, regen),
        "Date: %s UTC, QEMU TCG on this 2-core host, one guest at a time." % date,
        "",
        "Each row is one boot of a 512 MiB guest (guest/scenarios/giveup.sh): a burst (memhog "
        "touches %s and frees it) or a cache fill (%s file written and read on the virtio-blk "
        "disk), %d s to settle, then the give-back: the balloon inflated by %d MiB, virtio-mem "
        "(%d MiB plugged at boot) unplugged, or `drop_caches`; %d s to settle. *Given up*: the "
        "fall of the guest's MemTotal (Cached for a trim). *QEMU RSS*: the peak while filled, "
        "then the last sample before and after the give-back. *Per MiB*: RSS drop / given up. "
        "*From peak*: peak − after, what the host got back since the fill, by free page "
        "reporting (before the give-back) and the give-back together."
        % (SIZE, SIZE, SETTLE, GIVE, GIVE, SETTLE),
        "",
        MODEL_TEXT % TOLERANCE,
        "",
        "| mechanism | after | given up (MiB) | RSS peak (MiB) | RSS before → after (MiB) "
        "| RSS drop (MiB) | per MiB given up | from peak (MiB) | model per MiB |",
        "|---|---|---|---|---|---|---|---|---|",
    ] + [cell(r, model) for r in results] + [""]
    if png:
        lines += ["![RSS drop per MiB given up, measured and modelled](plots/mechanisms.png)",
                  "", "(bench/plots/mechanisms.png)", ""]
    else:
        lines += ["No plot: gnuplot or the results were missing.", ""]
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build-root", default=os.path.join(ROOT, "build"))
    p.add_argument("--cases", default=",".join(CASES))
    p.add_argument("--out", default=os.path.join(ROOT, "bench/sections/mechanisms.md"))
    p.add_argument("--command", default="make bench-mechanisms")
    p.add_argument("--from-json", action="store_true",
                   help="no guest: rewrite the section and the plot from the json beside --out")
    p.add_argument("--check", type=float, metavar="TOL",
                   help="only compare the model with the json; exit 1 past TOL per MiB")
    a = p.parse_args()
    image = os.path.join(a.build_root, "guest")
    json_path = os.path.splitext(a.out)[0] + ".json"
    model = run_model(os.path.join(a.build_root, "tools", "vmrd-pagemodel"))
    if a.from_json or a.check is not None:
        with open(json_path) as f:
            results = json.load(f)
        date = measured_date(a.out) or "unknown (not in the old section)"
    else:
        results = []
        for name in a.cases.split(","):
            work = tempfile.mkdtemp(prefix="vmrd-mech-%s-" % name)
            r = measure(image, name, work)
            print(json.dumps(r), flush=True)
            results.append(r)
        date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    if a.check is not None:
        bad = compare(results, model, a.check)
        if bad:
            print("model and measurement differ by more than %.2f per MiB (or are missing): %s"
                  % (a.check, ", ".join(bad)))
            return 1
        return 0
    compare(results, model, TOLERANCE)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vmrd-mech-plot-") as work:
        png = plot(results, model, os.path.join(os.path.dirname(os.path.dirname(a.out)), "plots"),
                   work)
    with open(a.out, "w") as f:
        f.write(report(results, a.command, model, date, png, "make bench-mechanisms-report"))
    if not a.from_json:
        with open(json_path, "w") as f:
            json.dump(results, f, indent=1)
    print("wrote %s%s" % (a.out, " and " + png if png else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
