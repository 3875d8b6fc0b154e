#!/usr/bin/env python3
"""Soak: N real guests under one vmrd-host for a set time, with random
bursts and faults, checking the invariants all along; the summary goes to
bench/sections/soak.md.

    soak.py --build-root BUILD --broker ASAN_BUILD/src/host/vmrd-host
            [--guests 4] [--minutes 30] [--fault-every 60] [--kill-pct 15]

Each guest (scripts/guest/run-vm.py, 512 MiB boot, 1.5 GiB max, one vCPU)
runs vmrd and scripts/soak-guest.sh: random memhog bursts, and in
KILL_PCT % of them a SIGKILL of vmrd at a random point of the ramp, vmrd
restarted 1 s later.  One vmrd-host (the ASan/UBSan build) serves all of
them under a budget of 1 GiB per guest, so that the guests compete.  Its
QMP connections pass through a relay here, so that a fault can drop one.
Every FAULT_EVERY seconds on average the soak injects one host fault:
SIGKILL of vmrd-host (restarted 1 s later) or a dropped QMP connection.

Invariants, checked on every "status json" (every 2 s) and at the end:
no ASan/UBSan/LSan report in the broker's output; the sum of targets
within the budget once every VM is reconciled (until QEMU answers, the
broker counts a VM at its max or saved size on purpose), and the sum of sizes too once every VM has settled
(target == current); each VM's target and size within [min, max]; every
fault recovered within RECOVERY_BOUND seconds, timed from the fault (for
vmrd, from the soak seeing the guest's marker; it looks every 2 s)
(vmrd-host: it answers with
every VM reconciled and greeted; QMP: that VM's QMP is ready on a new
connection; vmrd: the broker logs that VM's hello again); no OOM kill in a
guest.  Exit 1 when an invariant was violated.
"""
import argparse
import datetime
import os
import random
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
from e2elib import (MIB, broker_status, build_image, daemon_args, read_text,  # noqa: E402
                    write_host_conf)

RECOVERY_BOUND = 60.0
SANITIZER = re.compile(r"ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer")
OOM = re.compile(r"Killed process .*out of memory|Out of memory: Killed process", re.I)


class Relay(threading.Thread):
    """Unix-socket relay from the broker to QEMU's QMP socket; drop() closes
    the pair in use, as a QEMU or network fault would."""

    def __init__(self, listen, target):
        super().__init__(daemon=True)
        self.target, self.pair, self.lock = target, [], threading.Lock()
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(listen)
        self.srv.listen(4)

    def run(self):
        while True:
            try:
                down, _ = self.srv.accept()
            except OSError:
                return
            up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                up.connect(self.target)
            except OSError:
                down.close()
                continue
            with self.lock:
                self.pair = [down, up]
            for a, b in ((down, up), (up, down)):
                threading.Thread(target=self.pump, args=(a, b), daemon=True).start()

    @staticmethod
    def pump(a, b):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def drop(self):
        with self.lock:
            pair, self.pair = self.pair, []
        for s in pair:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return bool(pair)


class Soak:
    def __init__(self, a, w):
        self.a, self.w = a, w
        self.names = ["vm%d" % i for i in range(a.guests)]
        self.budget = a.guests * 1024 * MIB
        self.conf = os.path.join(w, "host.conf")
        # QMP goes through the soak's relay, which drops connections on purpose.
        write_host_conf(self.conf, w, self.budget, [(n, 512 * MIB, 1536 * MIB, None)
                                                    for n in self.names], qmp="qmp-relay.sock")
        self.log_path = os.path.join(w, "broker.log")
        self.broker = None
        self.violations, self.recoveries, self.pending = [], [], []
        self.counts = {"status polls": 0, "settled polls": 0, "broker kills": 0,
                       "QMP drops": 0, "vmrd kills (guest)": 0, "bursts": 0}
        self.seen_guest = {n: 0 for n in self.names}
        self.log_mark = 0

    def violate(self, msg):
        print("soak: VIOLATION: %s" % msg, file=sys.stderr, flush=True)
        if len(self.violations) < 50:
            self.violations.append("%.0f s: %s" % (time.monotonic() - self.t0, msg))

    def start_broker(self):
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1",
                   UBSAN_OPTIONS="print_stacktrace=1")
        out = open(self.log_path, "ab")
        self.broker = subprocess.Popen([self.a.broker, "-d", "-c", self.conf], stdout=out,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       env=env)

    def fault(self):
        """One host fault, never while another is still recovering (a
        restarted broker counts QMP connections from 0 again)."""
        now = time.monotonic()
        if any(p[0] != "vmrd SIGKILL" for p in self.pending):
            return
        if random.random() < 0.5:
            self.broker.kill()
            self.broker.wait()
            self.counts["broker kills"] += 1
            time.sleep(1.0)
            self.start_broker()
            self.pending.append(("vmrd-host SIGKILL", now, None, 0))
        else:
            name = random.choice(self.names)
            st = broker_status(os.path.join(self.w, "host.sock"))
            vm = next((v for v in (st or {}).get("vms", []) if v["name"] == name), None)
            if vm and self.relays[name].drop():
                self.counts["QMP drops"] += 1
                self.pending.append(("QMP drop", now, name, vm["qmp_connects"]))

    def check_status(self, st):
        self.counts["status polls"] += 1
        # Until QEMU answers, a VM counts at its max (or saved size) on purpose.
        if all(v["reconciled"] for v in st["vms"]) and st["sum_target_bytes"] > self.budget:
            self.violate("sum of targets %d MiB above the budget %d MiB"
                         % (st["sum_target_bytes"] // MIB, self.budget // MIB))
        vms = [v for v in st["vms"] if v["reconciled"]]
        for v in vms:
            for key in ("target_bytes", "current_bytes"):
                if not v["min_bytes"] <= v[key] <= v["max_bytes"]:
                    self.violate("%s: %s %d MiB outside [%d, %d] MiB" % (
                        v["name"], key, v[key] // MIB, v["min_bytes"] // MIB,
                        v["max_bytes"] // MIB))
        if len(vms) == len(self.names) and all(v["target_bytes"] == v["current_bytes"]
                                               for v in vms):
            self.counts["settled polls"] += 1
            total = sum(v["current_bytes"] for v in vms)
            if total > self.budget:
                self.violate("settled sizes sum to %d MiB, above the budget %d MiB"
                             % (total // MIB, self.budget // MIB))

    def recovered(self, kind, name, connects, st, log):
        if kind == "vmrd-host SIGKILL":
            return st is not None and len(st["vms"]) == len(self.names) and \
                all(v["reconciled"] and v["hello"] for v in st["vms"])
        vm = next((v for v in (st or {}).get("vms", []) if v["name"] == name), None)
        if kind == "QMP drop":
            return vm is not None and vm["qmp"] == "ready" and vm["qmp_connects"] > connects
        return 'vm %s: hello agent "vmrd"' % name in log[connects:]

    def watch_guests(self):
        """Counts the guests' new markers.  A vmrd killed since the last
        look restarts 1 s after its marker, so its hello comes after the
        broker.log length taken right after that last look."""
        mark = self.log_mark
        for n in self.names:
            text = read_text(os.path.join(self.w, n, "console.log"))
            new, self.seen_guest[n] = text[self.seen_guest[n]:], len(text)
            self.counts["bursts"] += new.count("event=soak-burst ")
            for _ in range(new.count("event=soak-vmrd-killed ")):
                self.counts["vmrd kills (guest)"] += 1
                self.pending.append(("vmrd SIGKILL", time.monotonic(), n, mark))
        self.log_mark = len(read_text(self.log_path))

    def step(self):
        st = broker_status(os.path.join(self.w, "host.sock"))
        if st:
            self.check_status(st)
        self.watch_guests()
        log = read_text(self.log_path)
        now = time.monotonic()
        for p in list(self.pending):
            kind, t, name, connects = p
            if self.recovered(kind, name, connects, st, log):
                self.recoveries.append((kind, now - t))
                self.pending.remove(p)
            elif now - t > RECOVERY_BOUND:
                self.violate("%s%s not recovered within %.0f s" % (
                    kind, " of " + name if name else "", RECOVERY_BOUND))
                self.pending.remove(p)

    def run(self):
        a = self.a
        image = build_image(SRC, a.build_root)
        seconds = int(a.minutes * 60)
        self.runs, self.relays = {}, {}
        runvm = os.path.join(SRC, "scripts/guest/run-vm.py")
        for n in self.names:
            work = os.path.join(self.w, n)
            os.makedirs(work)
            args = [sys.executable, runvm, "--image-dir", image, "--workdir", work,
                    "--timeout", str(seconds + 180), "--mem", "512M", "--maxmem", "1536M",
                    "--cpus", "1", "--scenario", "soak", "--sarg", "%d %d" % (seconds, a.kill_pct),
                    "--add", os.path.join(HERE, "soak-guest.sh") + ":/scenarios/soak"]
            args += daemon_args(self.w, None)
            self.runs[n] = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL)
            self.relays[n] = Relay(os.path.join(work, "qmp-relay.sock"),
                                   os.path.join(work, "qmp-broker.sock"))
            self.relays[n].start()
        self.t0 = time.monotonic()
        self.start_broker()
        next_fault = self.t0 + random.expovariate(1.0 / a.fault_every) + 60
        end = self.t0 + seconds
        while any(r.poll() is None for r in self.runs.values()):
            now = time.monotonic()
            if next_fault < now < end - 30:
                self.fault()
                next_fault = now + random.expovariate(1.0 / a.fault_every)
            self.step()
            time.sleep(2.0)
        self.wall = time.monotonic() - self.t0
        self.broker.send_signal(signal.SIGTERM)
        try:
            self.broker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.broker.kill()
            self.violate("vmrd-host did not exit within 30 s of SIGTERM")
        for kind, t, name, _ in self.pending:
            self.violate("%s%s never recovered" % (kind, " of " + name if name else ""))
        self.finish()

    def finish(self):
        log = read_text(self.log_path)
        for m in SANITIZER.finditer(log):
            line = log[m.start():log.find("\n", m.start())]
            self.violate("sanitizer: %s" % line[:200])
        self.ooms, self.ends = {}, {}
        for n in self.names:
            text = read_text(os.path.join(self.w, n, "console.log"))
            self.ooms[n] = len(OOM.findall(text))
            if self.ooms[n]:
                self.violate("%s: %d OOM kill(s) in the guest" % (n, self.ooms[n]))
            self.ends[n] = "event=soak-end" in text
            if not self.ends[n]:
                self.violate("%s: the guest's soak did not run to its end (exit %s)"
                             % (n, self.runs[n].returncode))
        self.starts = log.count("started: ")


def head_commit():
    return subprocess.run(["git", "-C", SRC, "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True).stdout.strip()


def write_report(s, a, started, commit, command):
    rec = {}
    for kind, secs in s.recoveries:
        rec.setdefault(kind, []).append(secs)
    lines = [
        "## Soak",
        "",
        "Real guests under one ASan/UBSan vmrd-host for a set time, with random bursts "
        "and faults (scripts/soak.py; `make soak`, not in `make check`).  The guests run "
        "the image's static vmrd, not an ASan build: the guest image is a static busybox "
        "initramfs without the shared libraries an ASan binary needs.",
        "",
        "- Date: %s" % started.strftime("%Y-%m-%d %H:%M UTC"),
        "- Commit: %s" % commit,
        "- Command: `%s`" % command,
        "- Guests: %d (512 MiB boot, 1.5 GiB max, 1 vCPU each), budget %d MiB; "
        "planned %g min, ran %.1f min" % (a.guests, s.budget // MIB, a.minutes, s.wall / 60),
        "- Faults: a host fault every %d s on average (half SIGKILL of vmrd-host, half a "
        "dropped QMP connection), and a SIGKILL of vmrd in %d %% of the guests' bursts"
        % (a.fault_every, a.kill_pct),
        "",
        "| count | value |",
        "|---|---:|",
    ]
    lines += ["| %s | %d |" % (k, v) for k, v in s.counts.items()]
    lines += ["| vmrd-host starts | %d |" % s.starts,
              "| OOM kills in guests | %d |" % sum(s.ooms.values()),
              "| invariant violations | %d |" % len(s.violations), "",
              "| fault | recovered | median s | max s |", "|---|---:|---:|---:|"]
    for kind, v in sorted(rec.items()):
        v.sort()
        lines.append("| %s | %d | %.1f | %.1f |" % (kind, len(v), v[len(v) // 2], v[-1]))
    lines += ["", "Recovery bound: %.0f s.  Violations:" % RECOVERY_BOUND, ""]
    lines += ["- %s" % v for v in s.violations] or ["- none"]
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-root", required=True)
    ap.add_argument("--broker", required=True, help="vmrd-host (the ASan build)")
    ap.add_argument("--guests", type=int, default=4)
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--fault-every", type=int, default=60, help="mean seconds between host faults")
    ap.add_argument("--kill-pct", type=int, default=15, help="%% of bursts that kill vmrd")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--out", default=os.path.join(SRC, "bench", "sections", "soak.md"))
    ap.add_argument("--command", default=" ".join(shlex.quote(x) for x in sys.argv))
    a = ap.parse_args()
    random.seed(a.seed)
    a.broker = os.path.abspath(a.broker)
    started = datetime.datetime.now(datetime.timezone.utc)
    commit = head_commit()  # at the start: the tree may move during a long run
    w = tempfile.mkdtemp(prefix="vmrd-soak-")
    print("soak: %d guests, %g min, work directory %s" % (a.guests, a.minutes, w), flush=True)
    s = Soak(a, w)
    try:
        s.run()
    finally:
        for r in getattr(s, "runs", {}).values():
            if r.poll() is None:
                r.terminate()
        if s.broker and s.broker.poll() is None:
            s.broker.kill()
    write_report(s, a, started, commit, a.command)
    print("soak: %d violations; summary in %s" % (len(s.violations), a.out), flush=True)
    return 1 if s.violations else 0


if __name__ == "__main__":
    sys.exit(main())
