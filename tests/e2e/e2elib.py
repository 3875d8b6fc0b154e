"""Shared steps of the end-to-end tests: build the guest image, boot it
with scripts/guest/run-vm.py, and read back the markers and timeline."""

import argparse
import csv
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

SKIP = 77
DECISION = re.compile(r"\b(grow|shrink|hold|reclaim[a-z_]*): ([a-z_]+): current \d+ MiB")


def fail(msg):
    print("FAIL: %s" % msg, flush=True)
    raise SystemExit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok: %s" % msg, flush=True)


# vmrd's configuration inside the guest for the tests with the daemon: the
# backend and the control socket; the policy runs with its defaults, the
# ones vmrd ships with (calm_hold 5 s, shrink steps of up to 512 MiB).
VMRD_CONF = """[vmrd]
backend = host
control = /run/vmrd.sock
"""
MIB = 1 << 20


def daemon_args(work_parent, broker):
    """run-vm.py arguments that start vmrd (with VMRD_CONF) and, if broker
    is given, vmrd-host against the guest."""
    conf = os.path.join(work_parent, "vmrd.conf")
    with open(conf, "w") as f:
        f.write(VMRD_CONF)
    args = ["--daemon", "--vmrd-args", "-c /etc/vmrd.conf", "--add", conf + ":/etc/vmrd.conf"]
    if broker:
        args += ["--broker", broker]
    return args


def find_broker(build_root, given=None):
    """The vmrd-host binary of this build (skip when it was not built)."""
    path = given or os.path.join(build_root, "src/host/vmrd-host")
    if not os.access(path, os.X_OK):
        print("SKIP: vmrd-host was not built (jansson missing?)")
        raise SystemExit(SKIP)
    return path


def write_host_conf(path, work, budget, vms, qmp="qmp-broker.sock"):
    """Writes vmrd-host's configuration for VMs run by Run(): a budget with
    QEMU's own memory left out (overhead = 0), state and control socket in
    work, and per VM (name, min, max, weight or None) its QMP socket qmp
    and channel in work/NAME/, virtio-mem vmem0 and balloon balloon0."""
    with open(path, "w") as f:
        f.write("budget = %d\noverhead = 0\nstate_file = %s/host.state\ncontrol = %s/host.sock\n"
                % (budget, work, work))
        for name, lo, hi, weight in vms:
            f.write("\n[vm %s]\nqmp = %s/%s/%s\nchannel = %s/%s/vmrd-port.sock\n"
                    "virtio_mem = vmem0\nballoon = balloon0\nmin = %d\nmax = %d\n"
                    % (name, work, name, qmp, work, name, lo, hi))
            if weight is not None:
                f.write("weight = %s\n" % weight)


def e2e_args(broker=False, add=None):
    """The arguments every e2e script takes: --source-root, --build-root and,
    with broker, --broker, resolved to the vmrd-host of this build (SKIP
    when it was not built); add(parser) adds the script's own."""
    p = argparse.ArgumentParser()
    p.add_argument("--source-root", required=True)
    p.add_argument("--build-root", required=True)
    if broker:
        p.add_argument("--broker")
    if add:
        add(p)
    a = p.parse_args()
    if broker:
        a.broker = find_broker(a.build_root, a.broker)
    return a


def broker_status(sock_path, timeout=2.0):
    """vmrd-host's "status json" from its control socket, or None when it
    does not answer (not running, restarting)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(sock_path)
            s.sendall(b"status json\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        return json.loads(data)
    except (OSError, ValueError):
        return None


def read_text(path):
    """A file's text so far ('' before it exists): logs still being written."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def vmrd_decisions(console_path):
    """vmrd's decision lines from the console: (action, reason) pairs."""
    out = []
    with open(console_path, errors="replace") as f:
        for line in f:
            m = DECISION.search(line) if line.startswith("vmrd: ") else None
            if m:
                out.append((m.group(1), m.group(2)))
    return out


def decisions_by_phase(console_path):
    """vmrd's decision lines grouped by the scenario phase they fell in:
    {phase name: [(action, reason, line)]}, in console order ('' before the
    first phase marker)."""
    out, phase = {"": []}, ""
    with open(console_path, errors="replace") as f:
        for line in f:
            if "VMRD-E2E: event=phase " in line:
                m = re.search(r"name=(\S+)", line)
                phase = m.group(1) if m else phase
                out.setdefault(phase, [])
                continue
            m = DECISION.search(line) if line.startswith("vmrd: ") else None
            if m:
                out[phase].append((m.group(1), m.group(2), line.rstrip()))
    return out


def col(rows, name):
    """A timeline column as ints, skipping rows where it is empty."""
    return [int(r[name]) for r in rows if r.get(name, "") != ""]


def build_image(source_root, build_root, vmrd=True):
    """Builds or reuses <build_root>/guest; exits 77 when it cannot be had.
    With vmrd, the static vmrd in the image is rebuilt from the current
    sources first (cached: cheap when nothing changed)."""
    if not shutil.which("qemu-system-x86_64"):
        print("SKIP: qemu-system-x86_64 not installed")
        raise SystemExit(SKIP)
    image = os.path.join(build_root, "guest")
    cmd = [os.path.join(source_root, "scripts/guest/build-image.sh"), "-o", image]
    if vmrd:
        cmd.append("--vmrd")
    r = subprocess.run(cmd, timeout=600)
    if r.returncode == SKIP:
        print("SKIP: the Debian kernel package could not be fetched")
        raise SystemExit(SKIP)
    if r.returncode != 0:
        fail("build-image.sh exited %d" % r.returncode)
    return image


class Run:
    """One guest boot; markers, timeline and exit status after it ended."""

    def __init__(self, source_root, image, args, timeout=150, work=None, wait=True):
        self.work = work or tempfile.mkdtemp(prefix="vmrd-e2e-")
        self.timeout = timeout
        cmd = [sys.executable, os.path.join(source_root, "scripts/guest/run-vm.py"),
               "--image-dir", image, "--workdir", self.work, "--timeout", str(timeout)] + args
        self.proc = subprocess.Popen(cmd)
        if wait:
            self.wait()

    def wait(self):
        """Waits for the guest to end and reads what it left."""
        self.returncode = self.proc.wait(timeout=self.timeout + 60)
        with open(os.path.join(self.work, "summary.json")) as f:
            summary = json.load(f)
        self.markers = summary["markers"]
        self.console_oom_kills = summary["console_oom_kills"]
        with open(os.path.join(self.work, "timeline.csv")) as f:
            self.timeline = list(csv.DictReader(f))
        self.status = []
        path = os.path.join(self.work, "broker-status.jsonl")
        if os.path.exists(path):
            with open(path) as f:
                self.status = [json.loads(line) for line in f if line.strip()]
        self.console = os.path.join(self.work, "console.log")

    def event(self, event, **match):
        """The first marker with event=EVENT whose fields match."""
        for m in self.markers:
            if m.get("event") == event and all(m.get(k) == v for k, v in match.items()):
                return m
        fail("the guest never reported event=%s %s (console: %s/console.log)"
             % (event, match, self.work))

    def kind(self, kind, **match):
        """The first marker line starting with the bare word kind."""
        for m in self.markers:
            if m.get("kind") == kind and all(m.get(k) == v for k, v in match.items()):
                return m
        fail("the guest never printed a %s marker %s (console: %s/console.log)"
             % (kind, match, self.work))

    def events(self, event):
        """Every marker with event=EVENT, in order."""
        return [m for m in self.markers if m.get("event") == event]

    def rows_between(self, t0, t1=1e9):
        """Timeline rows with t0 <= time_sec < t1 (runner time)."""
        return [r for r in self.timeline if t0 <= float(r["time_sec"]) < t1]

    def oom_kills(self):
        """OOM kills seen by the guest's counter or on the console."""
        guest = max(col(self.timeline, "guest_oom_kills") or [0])
        return max(guest, self.console_oom_kills)

    def cleanup(self):
        shutil.rmtree(self.work, ignore_errors=True)
