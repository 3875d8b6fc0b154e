#!/usr/bin/env python3
"""The vmrd demo: one VM, a memory burst, and the memory coming back.

Boots a 512 MiB guest under QEMU (TCG) with vmrd inside and vmrd-host on
the host, runs a burst-then-idle scenario (memhog ramps to SIZE at RATE
MiB/s, holds, frees, the guest idles), prints a live line per second,
then a summary table and a gnuplot PNG of guest size, demand and QEMU's
RSS over time.

Usage: demo.py --build BUILD [--size 1200M] [--rate 40] [--hold 10]
Outputs in BUILD/demo: demo.png, demo.dat, console.log, timeline.csv,
broker.log (the run's work directory).
"""

import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import time

BOOT_MIB = 512
# Short holds so that the memory comes back within the demo's minutes;
# the shipped defaults wait 30 s calm and 1 min after a grow.
VMRD_CONF = """[vmrd]
backend = host
control = /run/vmrd.sock

[policy]
calm_hold = 5s
grow_hold = 10s
shrink_interval = 2s
shrink_fraction = 100%
"""
ALLOC = re.compile(r"^memhog: worker=0 .*allocated_mib=(\d+)")
HEADER = ("  time  size MiB  used  avail  psi some  QEMU RSS  plugged  demand"
          "  last vmrd decision")


def num(row, key, div=1):
    v = row.get(key, "")
    return int(v) // div if v not in ("", None) else None


class Demo:
    def __init__(self, work):
        self.work = work
        self.demand = 0
        self.freed_at = None
        self.burst_at = None
        self.pos = 0
        self.partial = b""
        self.rows = []

    def read_console(self, t):
        """Follows console.log for memhog's progress and the markers."""
        try:
            with open(os.path.join(self.work, "console.log"), "rb") as f:
                f.seek(self.pos)
                data = f.read()
                self.pos += len(data)
        except OSError:
            return
        *lines, self.partial = (self.partial + data).split(b"\n")
        for raw in lines:
            line = raw.decode("utf-8", "replace").strip()
            m = ALLOC.match(line)
            if m:
                self.demand = int(m.group(1))
            elif "event=burst-start" in line:
                self.burst_at = t
            elif "event=burst-done" in line or "memhog status=" in line:
                if self.freed_at is None:
                    self.freed_at = t
                self.demand = 0

    def read_timeline(self):
        try:
            with open(os.path.join(self.work, "timeline.csv")) as f:
                rows = list(csv.DictReader(f))
        except OSError:
            return []
        new = rows[len(self.rows):]
        for r in new:
            r["demand_mib"] = self.demand
        self.rows.extend(new)
        return new


def live_line(r):
    plugged = num(r, "plugged_bytes", 1 << 20)
    size = BOOT_MIB + plugged if plugged is not None else None
    total, avail = num(r, "memtotal_kb", 1024), num(r, "memavailable_kb", 1024)
    used = total - avail if total is not None and avail is not None else None

    def f(v, w):
        return ("%*d" % (w, v)) if v is not None else " " * (w - 1) + "-"
    psi = r.get("psi_some_avg10") or "-"
    return "%5.0fs  %8s  %4s  %5s  %7s%%  %8s  %7s  %6s  %s" % (
        float(r["time_sec"]), f(size, 8), f(used, 4), f(avail, 5), psi,
        f(num(r, "qemu_rss_kb", 1024), 8), f(plugged, 7), f(r["demand_mib"], 6),
        r.get("vmrd_decision", "") or "")


def first_time(rows, t0, pred):
    for r in rows:
        if float(r["time_sec"]) >= t0 and pred(r):
            return float(r["time_sec"])
    return None


def summary(d, oom):
    rows = [r for r in d.rows if r.get("plugged_bytes")]
    size = [(float(r["time_sec"]), BOOT_MIB + int(r["plugged_bytes"]) // (1 << 20)) for r in rows]
    rss = [(float(r["time_sec"]), int(r["qemu_rss_kb"]) // 1024) for r in d.rows
           if r.get("qemu_rss_kb")]
    peak_t, peak = max(size, key=lambda x: x[1])
    excess = peak - BOOT_MIB
    burst = d.burst_at or 0.0
    freed = d.freed_at or peak_t

    def back(frac):
        t = first_time(rows, freed, lambda r: BOOT_MIB + int(r["plugged_bytes"]) // (1 << 20)
                       <= peak - frac * excess)
        return "%.0f s" % (t - freed) if t is not None and excess > 0 else "not within the run"
    rss_before = [v for t, v in rss if t <= burst] or [rss[0][1]]
    lines = [
        ("boot size", "%d MiB" % BOOT_MIB),
        ("peak size", "%d MiB (+%d MiB)" % (peak, excess)),
        ("peak demand (memhog)", "%d MiB" % max(r["demand_mib"] for r in d.rows)),
        ("time to grow (burst start -> peak size)", "%.0f s" % (peak_t - burst)),
        ("OOM kills", "%d" % oom),
        ("time to return 50 % of the excess", back(0.5)),
        ("time to return 90 % of the excess", back(0.9)),
        ("final size", "%d MiB" % size[-1][1]),
        ("QEMU RSS before / peak / after", "%d / %d / %d MiB"
         % (rss_before[-1], max(v for _, v in rss), rss[-1][1])),
    ]
    w = max(len(k) for k, _ in lines)
    print("\n" + "-" * (w + 24))
    for k, v in lines:
        print("%-*s  %s" % (w, k, v))
    print("-" * (w + 24))


def plot(d, out_dir):
    dat = os.path.join(out_dir, "demo.dat")
    with open(dat, "w") as f:
        f.write("# time_sec size_mib demand_mib qemu_rss_mib memtotal_mib\n")
        for r in d.rows:
            plugged = num(r, "plugged_bytes", 1 << 20)
            f.write("%s %s %d %s %s\n" % (
                r["time_sec"], BOOT_MIB + plugged if plugged is not None else "NaN",
                r["demand_mib"], num(r, "qemu_rss_kb", 1024) or "NaN",
                num(r, "memtotal_kb", 1024) or "NaN"))
    png = os.path.join(out_dir, "demo.png")
    script = """set terminal pngcairo size 1100,600 font ",11"
set output '%s'
set title "vmrd demo: a 512 MiB guest bursts, vmrd grows it, then gives the memory back"
set xlabel "time (s)"
set ylabel "MiB"
set key top right
set grid
set datafile missing "NaN"
plot '%s' using 1:2 with lines lw 3 lc rgb "#1f77b4" title "guest size (boot + virtio-mem plugged)", \\
     '' using 1:3 with lines lw 2 lc rgb "#d62728" title "demand (memhog allocated)", \\
     '' using 1:4 with lines lw 2 dt 2 lc rgb "#2ca02c" title "QEMU RSS on the host", \\
     '' using 1:5 with lines lw 1 lc rgb "#7f7f7f" title "guest MemTotal"
""" % (png, dat)
    if not shutil.which("gnuplot"):
        print("demo: gnuplot not installed; data in %s" % dat)
        return
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    if r.returncode != 0 or not os.path.exists(png):
        # pngcairo is not in every gnuplot build; the plain png terminal is.
        script = script.replace('pngcairo size 1100,600 font ",11"', "png size 1100,600")
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
    print("plot: %s" % png)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default="build")
    p.add_argument("--size", default="1200M")
    p.add_argument("--rate", default="40")
    p.add_argument("--hold", default="10")
    p.add_argument("--idle", default="120")
    a = p.parse_args()

    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    build = os.path.abspath(a.build)
    out_dir = os.path.join(build, "demo")
    os.makedirs(out_dir, exist_ok=True)
    for name in ("timeline.csv", "summary.json"):
        if os.path.exists(os.path.join(out_dir, name)):
            os.unlink(os.path.join(out_dir, name))
    conf = os.path.join(out_dir, "vmrd.conf")
    with open(conf, "w") as f:
        f.write(VMRD_CONF)
    # The idle ends 5 s after MemTotal is within ~20 MiB of its boot value.
    cmd = [sys.executable, os.path.join(src, "scripts/guest/run-vm.py"),
           "--image-dir", os.path.join(build, "guest"), "--workdir", out_dir,
           "--mem", "%dM" % BOOT_MIB, "--maxmem", "2G", "--timeout", "300",
           "--daemon", "--vmrd-args", "-c /etc/vmrd.conf", "--add", conf + ":/etc/vmrd.conf",
           "--broker", os.path.join(build, "src/host/vmrd-host"),
           "--scenario", "burst",
           "--sarg", "%s %s %s %s 430000 5" % (a.size, a.rate, a.hold, a.idle)]
    print("demo: booting a %d MiB guest under QEMU TCG with vmrd and vmrd-host;"
          " burst to %s at %s MiB/s, hold %s s, free, idle" % (BOOT_MIB, a.size, a.rate, a.hold))
    print("demo: work directory %s\n" % out_dir)
    print(HEADER)
    d = Demo(out_dir)
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    while True:
        done = proc.poll() is not None
        d.read_console(time.monotonic() - t0)
        for r in d.read_timeline():
            print(live_line(r), flush=True)
        if done:
            break
        time.sleep(0.25)
    oom = 0
    for r in d.rows:
        for k in ("guest_oom_kills", "console_oom_kills"):
            if r.get(k):
                oom = max(oom, int(r[k]))
    if not d.rows:
        print("demo: the VM produced no timeline (see %s/qemu.log)" % out_dir)
        return 1
    summary(d, oom)
    plot(d, out_dir)
    if proc.returncode != 0:
        print("demo: the guest scenario ended with status %d (see %s/console.log)"
              % (proc.returncode, out_dir))
    return 0 if proc.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
