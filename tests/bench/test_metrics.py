#!/usr/bin/env python3
"""Unit test of the benchmark's numbers (scripts/bench/metrics.py, goals.py).

A synthetic burst, written as run-vm.py writes its files (summary.json with
markers, timeline.csv), goes through the same loader and metrics as a real
run; the expected values are worked out by hand in the comments.  The
goals table is then checked to follow the numbers both ways.
"""

import csv
import json
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "scripts", "bench"))
import bench  # noqa: E402
import goals  # noqa: E402
import metrics as mx  # noqa: E402

MIB_KB = 1024
PARAMS = dict(base="512M", max="2G")


def burst_rows(static):
    """One sample a second for 80 s.  Start marker at 10 s, free at 30 s.

    vmrd guest: MemTotal 390 MiB at boot; 1024 MiB plugged from 12 s to 34 s,
    512 MiB from 35 s, 64 MiB from 40 s, none from 45 s.  Static guest:
    MemTotal 1965 MiB throughout.  Demand (MemTotal - MemAvailable) is
    300 MiB, and 1000 MiB from 12 s to 29 s.  RSS: 500 MiB (static 600)
    before 12 s, 1500 MiB from 12 s to 31 s, 600 MiB after.
    """
    rows = []
    for t in range(81):
        plugged = 0
        if 12 <= t < 35:
            plugged = 1024
        elif 35 <= t < 40:
            plugged = 512
        elif 40 <= t < 45:
            plugged = 64
        total = 1965 if static else 390 + plugged
        demand = 1000 if 12 <= t < 30 else 300
        rss = (600 if static else 500) if t < 12 else 1500 if t < 32 else 600
        row = dict(time_sec=t, memtotal_kb=total * MIB_KB,
                   memavailable_kb=(total - demand) * MIB_KB, qemu_rss_kb=rss * MIB_KB,
                   balloon_actual_bytes=(2048 if static else 512) << 20,
                   zone_kernel_managed_kb=(1950 if static else 375) * MIB_KB,
                   zone_kernel_free_kb=200 * MIB_KB, zone_kernel_low_kb=3 * MIB_KB,
                   zone_movable_managed_kb=0 if static else plugged * MIB_KB,
                   zone_movable_free_kb=0 if static else plugged // 2 * MIB_KB,
                   buffers_kb=0, slab_reclaimable_kb=10 * MIB_KB, slab_unreclaimable_kb=0,
                   allocstall_normal=t // 20, allocstall_movable=0,
                   workingset_refault_file=0)
        if not static:
            row["plugged_bytes"] = plugged << 20
        rows.append(row)
    return rows


def markers(extra=()):
    out = [dict(event="phase", name="start", _time=10.0),
           dict(event="phase", name="freed", _time=30.0),
           dict(event="phase", name="end", _time=70.0),
           dict(kind="report", psi_some_total_usec="0", psi_full_total_usec="0", oom_kill="0",
                _time=5.0),
           dict(kind="report", psi_some_total_usec="2000000", psi_full_total_usec="500000",
                oom_kill="0", _time=75.0),
           dict(kind="memhog", status="ok", elapsed_ms="16000", _time=31.0)]
    return out + list(extra)


def write_run(work, rows, marks):
    os.makedirs(work, exist_ok=True)
    fields = sorted({k for r in rows for k in r})
    with open(os.path.join(work, "timeline.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(work, "summary.json"), "w") as f:
        json.dump(dict(status=0, console_oom_kills=0, cmdline="console=ttyS0", markers=marks), f)


class BurstMetrics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.m = {}
        for system, static in (("vmrd", False), ("balloon-fpr", True)):
            work = os.path.join(cls.tmp.name, system)
            write_run(work, burst_rows(static), markers())
            vm = mx.load_vm(work)
            cls.m[system] = mx.single_metrics("burst", vm, 0, PARAMS, bench.SYSTEMS[system])

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_peak_size_demand_headroom_and_overshoot(self):
        e = self.m["vmrd"]
        self.assertAlmostEqual(e["peak_size_mib"], 1414)
        self.assertAlmostEqual(e["peak_demand_mib"], 1000)
        # max(128, 10 % of 1414)
        self.assertAlmostEqual(e["headroom_mib"], 141.4)
        self.assertAlmostEqual(e["overshoot_mib"], 1414 - 1000 - 141.4)
        self.assertAlmostEqual(e["size_bound_mib"], (1000 + 141.4) * 1.1)

    def test_seconds_above_demand_plus_headroom(self):
        # Above from 12 s to 39 s: 1414 > 1255.5 while the burst is held,
        # 1414 and 902 > (300 + 128) x 1.1 = 470.8 after it; 454 and 390
        # are not.
        self.assertAlmostEqual(self.m["vmrd"]["above_sec"], 28)

    def test_size_back_after_the_free(self):
        # Host size 512 before, 1536 at the peak; 90 % back is 614.4 MiB,
        # first reached at 40 s (512 + 64), 10 s after the free at 30 s.
        self.assertAlmostEqual(self.m["vmrd"]["size_back90_sec"], 10)
        self.assertNotIn("size_back90_sec", self.m["balloon-fpr"])

    def test_size_gap_and_not_at_max(self):
        self.assertAlmostEqual(self.m["vmrd"]["size_gap_mib"], 512 - 390)
        self.assertAlmostEqual(self.m["balloon-fpr"]["size_gap_mib"], 2048 - 1965)
        self.assertEqual(self.m["vmrd"]["at_max_vain_sec"], 0)
        self.assertNotIn("at_max_vain_sec", self.m["balloon-fpr"])

    def test_average_rss_and_psi_over_the_window(self):
        # Window 10..70 s: 2 x 500 + 20 x 1500 + 39 x 600, over 61 samples.
        self.assertAlmostEqual(self.m["vmrd"]["avg_rss_mib"], 54400 / 61)
        self.assertAlmostEqual(self.m["balloon-fpr"]["avg_rss_mib"], 54600 / 61)
        self.assertAlmostEqual(self.m["vmrd"]["psi_some_sec"], 2.0)

    def test_zones(self):
        e = self.m["vmrd"]
        self.assertAlmostEqual(e["kernel_managed_mib"], 375)
        self.assertEqual(e["kernel_short_sec"], 0)
        self.assertAlmostEqual(e["movable_managed_mib"], 1024)
        # allocstall_normal is t // 20: 0 at 10 s, 3 at 70 s.
        self.assertEqual(e["allocstall_kernel"], 3)

    def test_goals_follow_the_numbers(self):
        got = goals.evaluate({"burst": self.m})
        self.assertEqual(goal(got, "0 OOM kills")["result"], "pass")
        self.assertEqual(goal(got, "burst: avg QEMU RSS")["result"], "pass")
        self.assertEqual(goal(got, "burst: peak size")["result"], "miss")
        self.assertEqual(goal(got, "burst: 90 %")["result"], "pass")
        self.assertEqual(goal(got, "hotset: hot re-read")["result"], "not run")


def goal(rows, prefix):
    return next(g for g in rows if g["goal"].startswith(prefix))


class Goals(unittest.TestCase):
    def psi_goal(self, e, c):
        res = {"unmovable": {"vmrd": {"psi_some_sec": e}, "balloon-fpr": {"psi_some_sec": c}}}
        return goal(goals.evaluate(res), "unmovable: PSI")

    def test_relative_bound(self):
        self.assertEqual(self.psi_goal(1.1, 1.0)["result"], "pass")
        self.assertEqual(self.psi_goal(1.2, 1.0)["result"], "miss")
        self.assertEqual(self.psi_goal(0.0, 0.0)["result"], "pass")
        self.assertEqual(self.psi_goal(0.1, 0.0)["result"], "miss")

    def test_a_return_that_never_came_misses(self):
        res = {"burst": {"vmrd": {"size_back90_sec": "never"}, "balloon-fpr": {}}}
        self.assertEqual(goal(goals.evaluate(res), "burst: 90 %")["result"], "miss")


class PassesWindow(unittest.TestCase):
    def test_hotset_is_measured_from_its_passes_marker(self):
        with tempfile.TemporaryDirectory() as tmp:
            marks = markers([dict(event="phase", name="passes", _time=40.0),
                             dict(kind="cachehog-hotset", hot1_ms="9000", hot_reread_ms="3000",
                                  cold_ms="7000", hot_ms="9000,3000,3000", _time=69.0)])
            write_run(tmp, burst_rows(False), marks)
            m = mx.single_metrics("hotset", mx.load_vm(tmp), 0, PARAMS, bench.SYSTEMS["vmrd"])
        # Window 40..70 s: 64 MiB plugged until 44 s, none after; RSS
        # 600 MiB throughout.
        self.assertAlmostEqual(m["avg_rss_mib"], 600)
        self.assertAlmostEqual(m["peak_size_mib"], 390 + 64)
        self.assertEqual(m["hot_reread_ms"], 3000)
        self.assertEqual(m["hot_ms"], "9000,3000,3000")



class Issue9(unittest.TestCase):
    """The numbers of the hostpressure scenario and the issue 9 goals."""

    def test_relief_counts_from_the_crossing(self):
        # PSI (hundredths of a percent) once a second: crosses 10 % at 3 s,
        # below it again at 9 s.
        series = [(0, 0), (1, 400), (2, 900), (3, 1200), (5, 2500), (7, 1400), (9, 990),
                  (11, 300)]
        self.assertEqual(mx.relief(series), (3, 6, 2500))
        self.assertEqual(mx.relief([(0, 0), (1, 1500), (2, 1800)]), (1, "never", 1800))
        self.assertEqual(mx.relief([(0, 0), (1, 500)]), (None, None, 500))

    def test_goals_follow_the_numbers(self):
        vms = [dict(weight=100, psi_some_sec=9.0, max_swap_mib=170),
               dict(weight=200, psi_some_sec=7.0, max_swap_mib=168),
               dict(weight=400, psi_some_sec=6.0, max_swap_mib=165)]
        res = {"overcommit": {"vmrd": dict(sec_over_budget=0, oom_kills=0, vms=vms)},
               "hostpressure": {"vmrd": dict(relief_sec=29.6, below_min=0)}}
        self.assertEqual([g["result"] for g in goals.evaluate9(res)], ["pass"] * 6)
        vms[2]["max_swap_mib"] = 200   # the heaviest lacks most: the order is missed
        res["hostpressure"]["vmrd"]["relief_sec"] = "never"
        res["overcommit"]["vmrd"]["sec_over_budget"] = 3
        got = [g["result"] for g in goals.evaluate9(res)]
        self.assertEqual(got, ["miss", "pass", "pass", "miss", "miss", "pass"])
        self.assertEqual([g["result"] for g in goals.evaluate9({})], ["not run"] * 6)


class ConsoleLines(unittest.TestCase):
    """run-vm.py reads the guest's console, where two writers can share a line."""

    def runner(self):
        import importlib.util
        import time
        import types
        path = os.path.join(HERE, "..", "..", "scripts", "guest", "run-vm.py")
        spec = importlib.util.spec_from_file_location("run_vm", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        a = types.SimpleNamespace(verbose=False, interactive=False, on=[], at=[])
        r = mod.Runner(a, tempfile.mkdtemp())
        r.t0 = time.monotonic()
        return r

    def test_a_marker_inside_a_line_is_a_record_of_its_own(self):
        r = self.runner()
        r.on_line("VMRD-E2E: report uptime=2.81 memtotal_kb=466148 oom_kill=0"
                  "VMRD-E2E: event=burst-start size=800M rate=20")
        kinds = [(m.get("kind"), m.get("event")) for m in r.markers]
        self.assertEqual(kinds, [("report", None), (None, "burst-start")])
        self.assertEqual(r.last_report["oom_kill"], "0")
        self.assertEqual(r.markers[1]["size"], "800M")

    def test_other_output_inside_a_report_drops_only_that_report(self):
        r = self.runner()
        r.on_line("VMRD-E2E: report uptime=3 oom_kill=0memhog: allocated 100M")
        self.assertEqual(r.markers, [])


if __name__ == "__main__":
    unittest.main()
