"""Shared steps of the end-to-end tests: build the guest image, boot it
with scripts/guest/run-vm.py, and read back the markers and timeline."""

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77


def fail(msg):
    print("FAIL: %s" % msg, flush=True)
    raise SystemExit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok: %s" % msg, flush=True)


def build_image(source_root, build_root):
    """Builds or reuses <build_root>/guest; exits 77 when it cannot be had."""
    if not shutil.which("qemu-system-x86_64"):
        print("SKIP: qemu-system-x86_64 not installed")
        raise SystemExit(SKIP)
    image = os.path.join(build_root, "guest")
    r = subprocess.run([os.path.join(source_root, "scripts/guest/build-image.sh"), "-o", image],
                       timeout=600)
    if r.returncode == SKIP:
        print("SKIP: the Debian kernel package could not be fetched")
        raise SystemExit(SKIP)
    if r.returncode != 0:
        fail("build-image.sh exited %d" % r.returncode)
    return image


class Run:
    """One guest boot; markers, timeline and exit status after it ended."""

    def __init__(self, source_root, image, args, timeout=150):
        self.work = tempfile.mkdtemp(prefix="vmrd-e2e-")
        cmd = [sys.executable, os.path.join(source_root, "scripts/guest/run-vm.py"),
               "--image-dir", image, "--workdir", self.work, "--timeout", str(timeout)] + args
        self.returncode = subprocess.run(cmd, timeout=timeout + 60).returncode
        with open(os.path.join(self.work, "summary.json")) as f:
            summary = json.load(f)
        self.markers = summary["markers"]
        self.console_oom_kills = summary["console_oom_kills"]
        with open(os.path.join(self.work, "timeline.csv")) as f:
            self.timeline = list(csv.DictReader(f))

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

    def cleanup(self):
        shutil.rmtree(self.work, ignore_errors=True)
