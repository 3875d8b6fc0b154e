#!/usr/bin/env python3
"""vmrd's bounds against a hostile or broken host, on a fixture root with a
fake vmrd-host (fault injection: the real broker never floods).

  flood_reclaim   the host sends `reclaim` lines as fast as the socket
                  takes them for 6 s: sampling (evaluations), reports to the
                  host, the control socket and the watchdog keep their pace,
                  and the asks are logged a bounded number of times.
  flood_junk      the same with lines that make no event at all (stale
                  grants, unknown verbs, bad numbers).
  term_blocked    SIGTERM while a memory.reclaim write is blocked in the
                  kernel (a FIFO nobody reads stands in for it): vmrd exits
                  at once, it does not wait for the write.
  reclaim_timeout the same blocked write is interrupted after
                  [reclaim] timeout, and the daemon keeps trimming after it.

    host_bounds.py VMRD VMRCTL [case...]
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

MIB = 1 << 20
GIB = 1 << 30


class Fail(Exception):
    pass


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".new", "w") as f:
        f.write(text)
    os.replace(path + ".new", path)


def fixture_root(root, total_mib=2048, avail_mib=1500, cache_mib=1024):
    kb = lambda mib: mib * 1024
    write(os.path.join(root, "proc/meminfo"),
          "MemTotal: %d kB\nMemFree: %d kB\nMemAvailable: %d kB\nBuffers: 0 kB\n"
          "Cached: %d kB\nActive(file): %d kB\nInactive(file): %d kB\nShmem: 0 kB\n"
          "SwapTotal: 0 kB\nSwapFree: 0 kB\nCommitted_AS: 102400 kB\n"
          % (kb(total_mib), kb(avail_mib - cache_mib), kb(avail_mib), kb(cache_mib),
             kb(cache_mib // 2), kb(cache_mib // 2)))
    write(os.path.join(root, "proc/vmstat"),
          "oom_kill 0\nallocstall_normal 0\nworkingset_refault_file 0\n")
    write(os.path.join(root, "proc/pressure/memory"),
          "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
          "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
    write(os.path.join(root, "cg/memory.reclaim"), "")


class Daemon:
    def __init__(self, vmrd, vmrctl, tmp, conf):
        self.vmrctl = vmrctl
        self.sock = os.path.join(tmp, "vmrd.sock")
        self.log_path = os.path.join(tmp, "log")
        self.notify_path = os.path.join(tmp, "notify")
        self.watchdogs = 0
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        self.notify.settimeout(0.2)
        conf_path = os.path.join(tmp, "vmrd.conf")
        with open(conf_path, "w") as f:
            f.write(conf.replace("@CONTROL@", self.sock))
        env = dict(os.environ, NOTIFY_SOCKET=self.notify_path, WATCHDOG_USEC="1000000")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([vmrd, "-d", "-c", conf_path, "--root", os.path.join(tmp, "root")],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.stop_notify = False
        self.notify_thread = threading.Thread(target=self._count_watchdogs, daemon=True)
        self.notify_thread.start()
        deadline = time.monotonic() + 10
        while not os.path.exists(self.sock):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise Fail("no control socket\n" + self.log_text())
            time.sleep(0.1)

    def _count_watchdogs(self):
        while not self.stop_notify:
            try:
                if b"WATCHDOG=1" in self.notify.recv(4096):
                    self.watchdogs += 1
            except socket.timeout:
                pass

    def ctl(self, cmd, timeout=2.0, json=False):
        """The answer and how long it took; a timeout is a failure."""
        t0 = time.monotonic()
        try:
            out = subprocess.run([self.vmrctl, "-s", self.sock] + (["--json"] if json else []) + [cmd],
                                 capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Fail("vmrctl %s: no answer within %.1f s" % (cmd, timeout))
        if out.returncode != 0:
            raise Fail("vmrctl %s: exit %d: %s" % (cmd, out.returncode, out.stderr))
        return out.stdout, time.monotonic() - t0

    def metric(self, name):
        text, _ = self.ctl("metrics")
        for line in text.splitlines():
            if line.startswith(name + " "):
                return int(float(line.split()[1]))
        raise Fail("no metric %s" % name)

    def log_text(self):
        self.log.flush()
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self, timeout=5.0):
        """SIGTERM; the exit status and how long the daemon took."""
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code = None
        self.stop_notify = True
        return code, time.monotonic() - t0

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stop_notify = True


HOST_CONF = """
[vmrd]
backend = host
interval = 100ms
fast_interval = 100ms
report_interval = 500ms
control = @CONTROL@
mlock = no
oom_score_adj = 0
[reclaim]
enabled = no
[backend]
device = @HOSTSOCK@
"""


class FakeHost:
    """Accepts vmrd's link, answers hello with a welcome, then floods lines."""

    def __init__(self, path, flood_line):
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(path)
        self.srv.listen(1)
        self.flood = (flood_line * (65536 // len(flood_line))).encode()
        self.flooding = threading.Event()
        self.done = threading.Event()
        self.reports = []
        self.sent = 0
        self.error = None
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        try:
            self.srv.settimeout(15)
            conn, _ = self.srv.accept()
            conn.settimeout(15)
            buf = b""
            while b"\n" not in buf:
                buf += conn.recv(4096)
            conn.sendall(b"welcome v=1 min=%d max=%d current=%d block=%d\n"
                         % (GIB, 8 * GIB, 2 * GIB, 128 * MIB))
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()
            self.flooding.wait()
            while not self.done.is_set():
                conn.sendall(self.flood)
                self.sent += len(self.flood)
        except OSError as e:
            if not self.done.is_set():
                self.error = e

    def _read(self, conn):
        buf = b""
        while True:
            try:
                chunk = conn.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            *lines, buf = buf.split(b"\n")
            now = time.monotonic()
            self.reports += [now for line in lines if line.startswith(b"report ")]


def flood(vmrd, vmrctl, tmp, line, what):
    fixture_root(os.path.join(tmp, "root"))
    hostsock = os.path.join(tmp, "host.sock")
    host = FakeHost(hostsock, line)
    d = Daemon(vmrd, vmrctl, tmp, HOST_CONF.replace("@HOSTSOCK@", hostsock))
    try:
        deadline = time.monotonic() + 10
        while "backend: link up" not in d.log_text():
            if time.monotonic() > deadline:
                raise Fail("the link never came up\n" + d.log_text()[-3000:])
            time.sleep(0.1)
        evals0, wd0 = d.metric("vmrd_evaluations_total"), d.watchdogs
        host.flooding.set()
        t0 = time.monotonic()
        worst = 0.0
        while time.monotonic() - t0 < 6:
            _, took = d.ctl("status")
            worst = max(worst, took)
            time.sleep(0.5)
        evals = d.metric("vmrd_evaluations_total") - evals0
        elapsed = time.monotonic() - t0
        host.done.set()
        reports = sum(1 for t in host.reports if t0 <= t <= t0 + elapsed)
        watchdogs = d.watchdogs - wd0
        log = d.log_text()
        asks = log.count("host asks to shrink")
        print("%s: %.1f MiB of lines in %.1f s; %d evaluations, %d reports, %d watchdog "
              "pings, slowest status %.0f ms, %d ask log lines, log %d KiB"
              % (what, host.sent / MIB, elapsed, evals, reports, watchdogs, worst * 1000, asks,
                 len(log) // 1024))
        if host.error:
            raise Fail("the fake host failed: %s" % host.error)
        # Sampling every 100 ms: at least half of the evaluations a calm loop makes.
        if evals < elapsed * 10 / 2:
            raise Fail("%d evaluations in %.1f s: sampling starved" % (evals, elapsed))
        # Reports every 500 ms, the watchdog every 500 ms (half of WATCHDOG_USEC).
        if reports < elapsed * 2 / 2:
            raise Fail("%d reports in %.1f s: reports starved" % (reports, elapsed))
        if watchdogs < elapsed * 2 / 2:
            raise Fail("%d watchdog pings in %.1f s: watchdog starved" % (watchdogs, elapsed))
        # One line per distinct ask and one summary per interval, not one per line received.
        if asks > 20:
            raise Fail("%d log lines for the host's asks" % asks)
        code, _ = d.stop()
        if code != 0:
            raise Fail("exit status %s after the flood" % code)
    finally:
        host.done.set()
        d.kill()


def case_flood_reclaim(vmrd, vmrctl, tmp):
    flood(vmrd, vmrctl, tmp, "reclaim target=1073741824 urgency=normal reason=fair_share\n",
          "reclaim flood")


def case_flood_junk(vmrd, vmrctl, tmp):
    flood(vmrd, vmrctl, tmp, "grant seq=999 target=1 current=1\nbogus\nlimits min=x max=y\n",
          "junk flood")


TRIM_CONF = """
[vmrd]
backend = sysfs
interval = 100ms
fast_interval = 100ms
control = @CONTROL@
mlock = no
oom_score_adj = 0
[policy]
calm_hold = 1s
[reclaim]
cgroup = cg
interval = 200ms
timeout = @TIMEOUT@
"""


def blocked_trim(vmrd, vmrctl, tmp, timeout):
    """A daemon whose memory.reclaim writes block: a FIFO that is read once, for the
    probe vmrd writes at start, and never again."""
    root = os.path.join(tmp, "root")
    fixture_root(root)
    fifo = os.path.join(root, "cg/memory.reclaim")
    os.unlink(fifo)
    os.mkfifo(fifo)

    def read_probe():
        with open(fifo) as f:
            f.read()
    threading.Thread(target=read_probe, daemon=True).start()
    d = Daemon(vmrd, vmrctl, tmp, TRIM_CONF.replace("@TIMEOUT@", timeout))
    deadline = time.monotonic() + 10
    while d.metric("vmrd_reclaims_total") == 0:
        if time.monotonic() > deadline:
            raise Fail("no trim was started\n" + d.log_text())
        time.sleep(0.1)
    time.sleep(0.5)  # the step is now blocked in open()
    text, _ = d.ctl("status", json=True)
    if not json.loads(text)["reclaim_busy"]:
        raise Fail("the trim is not blocked\n" + d.log_text())
    return d, fifo


def case_term_blocked(vmrd, vmrctl, tmp):
    d, _ = blocked_trim(vmrd, vmrctl, tmp, "60s")
    try:
        code, took = d.stop(timeout=10)
        print("SIGTERM with memory.reclaim blocked: exit %s after %.2f s" % (code, took))
        if code is None:
            raise Fail("vmrd did not exit within 10 s of SIGTERM\n" + d.log_text())
        if code != 0:
            raise Fail("exit status %s\n%s" % (code, d.log_text()))
        if took > 3:
            raise Fail("vmrd took %.1f s to exit (the stop waits at most 1 s)" % took)
    finally:
        d.kill()


def case_reclaim_timeout(vmrd, vmrctl, tmp):
    d, fifo = blocked_trim(vmrd, vmrctl, tmp, "1s")
    try:
        deadline = time.monotonic() + 10
        while "interrupted" not in d.log_text():
            if time.monotonic() > deadline:
                raise Fail("the blocked write was not interrupted\n" + d.log_text())
            time.sleep(0.1)
        # The file is writable again: trimming goes on.
        os.unlink(fifo)
        write(fifo, "")
        n = d.metric("vmrd_reclaims_total")
        deadline = time.monotonic() + 10
        while d.metric("vmrd_reclaims_total") <= n + 1:
            if time.monotonic() > deadline:
                raise Fail("no trim after the interrupted one\n" + d.log_text())
            time.sleep(0.2)
        print("blocked memory.reclaim interrupted after its timeout; trimming went on")
        code, _ = d.stop()
        if code != 0:
            raise Fail("exit status %s" % code)
    finally:
        d.kill()


CASES = {
    "flood_reclaim": case_flood_reclaim,
    "flood_junk": case_flood_junk,
    "term_blocked": case_term_blocked,
    "reclaim_timeout": case_reclaim_timeout,
}


def main():
    vmrd, vmrctl = sys.argv[1], sys.argv[2]
    failed = 0
    for name in sys.argv[3:] or CASES:
        tmp = tempfile.mkdtemp(prefix="vmrd-bounds-")
        try:
            CASES[name](vmrd, vmrctl, tmp)
            print("ok: %s" % name)
        except Fail as e:
            print("FAIL: %s: %s" % (name, e))
            failed += 1
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
