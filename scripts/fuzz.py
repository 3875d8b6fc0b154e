#!/usr/bin/env python3
"""Run every libFuzzer target of a -Dfuzz=true build, one at a time, and
write a summary (target, executions, exec/s, coverage, crashes) to
bench/sections/fuzz.md.

    fuzz.py BUILDDIR [--seconds S] [--runs N] [--targets a,b] [--until HH:MM]
            [--out FILE]

Each target runs until it has executed N inputs (--runs) or for S seconds
(--seconds, 0: no limit), whichever comes first, under `nice -n 19`; with
--until, no target runs past that UTC time of day (the rest are left for a
later call).  Each target starts from its
corpus in the repository and a working corpus in BUILDDIR/fuzz/corpus.
While /work/wt/QUIET exists (someone is measuring) a running fuzzer is
stopped with SIGINT and resumed from its working corpus afterwards; the
executions of all its pieces are added up.  When a target is done, the
inputs of its working corpus that add coverage are merged into the
repository's corpus (libFuzzer -merge=1), which `make check` replays.  A
crash stops that target; its input is kept in BUILDDIR/fuzz/artifacts.

Each target's result is kept in BUILDDIR/fuzz/results.json, so that calls
for a few targets at a time (the long runs to 10^7 inputs do not fit in
one sitting) add up to one summary of every target's latest run.
"""
import argparse
import datetime
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench"))
import hostinfo  # noqa: E402

QUIET = "/work/wt/QUIET"


def targets(builddir):
    """(name, corpus) per line of BUILDDIR/fuzz-targets.txt (meson writes it)."""
    with open(os.path.join(builddir, "fuzz-targets.txt")) as f:
        return [tuple(line.split(None, 1)) for line in f.read().splitlines() if line.strip()]


def wait_quiet(log):
    said = False
    while os.path.exists(QUIET):
        if not said:
            print("fuzz: %s exists; waiting" % QUIET, file=sys.stderr, flush=True)
            log.write("# paused: %s exists\n" % QUIET)
            said = True
        time.sleep(30)


def parse_stats(text):
    stats = {}
    for key in ("number_of_executed_units", "average_exec_per_sec", "new_units_added"):
        m = re.search(r"stat::%s:\s+(\d+)" % key, text)
        stats[key] = int(m.group(1)) if m else 0
    cov = re.findall(r"cov: (\d+) ft: (\d+)", text)
    stats["cov"], stats["ft"] = (int(cov[-1][0]), int(cov[-1][1])) if cov else (0, 0)
    m = re.search(r"Test unit written to (\S+)", text)
    stats["artifact"] = m.group(1) if m else None
    return stats


def run_piece(exe, args, log):
    """One libFuzzer process; SIGINT when QUIET appears.  (exit code, output, seconds)."""
    start = time.monotonic()
    p = subprocess.Popen(["nice", "-n", "19", exe] + args, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    out = []
    os.set_blocking(p.stdout.fileno(), False)
    interrupted = False

    def take():
        chunk = p.stdout.read()
        if chunk:
            text = chunk.decode(errors="replace")
            out.append(text)
            log.write(text)
            log.flush()
    while p.poll() is None:
        time.sleep(2)
        take()
        if not interrupted and os.path.exists(QUIET):
            p.send_signal(signal.SIGINT)
            interrupted = True
    take()
    return p.returncode, "".join(out), time.monotonic() - start


def fuzz_one(exe, corpus, work, artifacts, runs, seconds, deadline, log):
    total = {"execs": 0, "seconds": 0.0, "cov": 0, "ft": 0, "new": 0, "crash": None}
    while True:
        wait_quiet(log)
        left_runs = runs - total["execs"] if runs else 0
        left_secs = int(seconds - total["seconds"]) if seconds else 0
        if deadline:
            to_deadline = int(deadline - time.time())
            if to_deadline <= 0:
                total["stopped"] = "its --until time"
                break
            left_secs = min(left_secs, to_deadline) if left_secs else to_deadline
        if (runs and left_runs <= 0) or (seconds and left_secs <= 0):
            break
        args = ["-print_final_stats=1", "-timeout=10", "-rss_limit_mb=2048",
                "-artifact_prefix=" + artifacts + "/", work, corpus]
        if left_runs:
            args.insert(0, "-runs=%d" % left_runs)
        if left_secs:
            args.insert(0, "-max_total_time=%d" % left_secs)
        code, text, secs = run_piece(exe, args, log)
        st = parse_stats(text)
        total["execs"] += st["number_of_executed_units"]
        total["seconds"] += secs
        total["new"] += st["new_units_added"]
        if st["cov"]:
            total["cov"], total["ft"] = st["cov"], st["ft"]
        # 0: done; 72: libFuzzer's exit code after SIGINT (QUIET), resumed above.
        if code not in (0, 72) or st["artifact"]:
            total["crash"] = st["artifact"] or "exit %d" % code
            break
        if code == 0:
            if deadline and runs and total["execs"] < runs and time.time() >= deadline - 2:
                total["stopped"] = "its --until time"
            break
    return total


def merge(exe, corpus, work, log):
    """Add the working corpus's inputs that bring new coverage to the repository's."""
    wait_quiet(log)
    before = len(os.listdir(corpus))
    subprocess.run(["nice", "-n", "19", exe, "-merge=1", corpus, work], stdout=log,
                   stderr=subprocess.STDOUT, check=False)
    return len(os.listdir(corpus)) - before


def machine():
    return hostinfo.summary("shared by the team; fuzzers at nice 19")


def load_results(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def write_summary(path, order, results, runs):
    lines = [
        "## Fuzzing",
        "",
        "Every parser's libFuzzer target (ASan and UBSan, coverage from every library "
        "of the build), one at a time, each until it has run the number of inputs asked "
        "for or its time is up.  The corpora in tests/*/corpus replay in `make check`.",
        "Each row is that target's latest run, with the date and command it ran by.",
        "",
        "- Machine: %s" % machine(),
        "",
        "| target | executions | %s | exec/s | coverage (edges / features) | corpus added "
        "| time | crashes | date | commit | command |" % ("≥ %d" % runs if runs else "goal"),
        "|---|---:|---|---:|---|---:|---:|---|---|---|---|",
    ]
    short = []
    for name in order:
        t = results.get(name)
        if not t:
            lines.append("| %s | not run | | | | | | | | | |" % name)
            short.append("- %s: not run to the goal yet (no time left before the --until "
                         "of the calls so far)." % name)
            continue
        rate = int(t["execs"] / t["seconds"]) if t["seconds"] else 0
        reached = "yes" if runs and t["execs"] >= runs else ("no" if runs else "")
        lines.append("| %s | %d | %s | %d | %d / %d | %d | %d s | %s | %s | %s | `%s` |" % (
            name, t["execs"], reached, rate, t["cov"], t["ft"], t["merged"],
            int(t["seconds"]), t["crash"] or "none", t["date"], t.get("commit", "?"),
            t["command"]))
        if runs and t["execs"] < runs and not t["crash"]:
            why = t.get("stopped") or ("its --seconds" if rate else "no executions")
            left = "; the rest would take about %.1f min more at that rate" % (
                (runs - t["execs"]) / rate / 60) if rate else ""
            short.append("- %s: %d executions at %d/s, stopped by %s%s." % (
                name, t["execs"], rate, why, left))
    if short:
        lines += ["", "Below the goal, and why:", ""] + short
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("builddir")
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--runs", type=int, default=0)
    ap.add_argument("--targets", default="")
    ap.add_argument("--until", default="", help="UTC time of day (HH:MM) to stop by")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "bench",
                                                  "sections", "fuzz.md"))
    ap.add_argument("--command", default=" ".join(shlex.quote(a) for a in sys.argv))
    a = ap.parse_args()

    want = set(filter(None, a.targets.split(",")))
    todo = [(n, c) for n, c in targets(a.builddir) if not want or n in want]
    if want - {n for n, _ in todo}:
        sys.exit("fuzz: no such target: %s" % ", ".join(sorted(want - {n for n, _ in todo})))
    base = os.path.join(a.builddir, "fuzz")
    artifacts = os.path.join(base, "artifacts")
    os.makedirs(artifacts, exist_ok=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    deadline = 0
    if a.until:
        h, m = map(int, a.until.split(":"))
        end = started.replace(hour=h, minute=m, second=0, microsecond=0)
        deadline = end.timestamp() if end > started else started.timestamp()
    commit = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(__file__)),
                             "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or "?"
    results_path = os.path.join(base, "results.json")
    results = load_results(results_path)
    crashed = False
    for name, corpus in todo:
        if deadline and time.time() >= deadline:
            print("fuzz: %s: not run, past %s UTC" % (name, a.until), file=sys.stderr)
            continue
        exe = os.path.join(a.builddir, "libfuzzer-" + name)
        work = os.path.join(base, "corpus", name)
        os.makedirs(work, exist_ok=True)
        print("fuzz: %s" % name, file=sys.stderr, flush=True)
        with open(os.path.join(base, name + ".log"), "w") as log:
            t = fuzz_one(exe, corpus, work, artifacts, a.runs, a.seconds, deadline, log)
            t["merged"] = merge(exe, corpus, work, log) if not t["crash"] else 0
        crashed = crashed or bool(t["crash"])
        print("fuzz: %s: %d executions in %d s, cov %d, %s" % (
            name, t["execs"], t["seconds"], t["cov"], t["crash"] or "no crash"),
            file=sys.stderr, flush=True)
        t["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        t["command"] = a.command
        t["commit"] = commit
        results[name] = t
        with open(results_path, "w") as f:
            json.dump(results, f, indent=1)
        write_summary(a.out, [n for n, _ in targets(a.builddir)], results, a.runs)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
