#!/usr/bin/env python3
"""vmrctl top in a real pseudo-terminal, against real daemons.

It draws (alternate screen, the daemon's status, the title), refreshes
(a change in the guest's /proc shows up in a later frame), and quits on q,
on Ctrl-C typed at the terminal and on SIGINT sent to it, each time with
exit status 0, the main screen and cursor back and the terminal's modes as
they were.  The same for `vmrctl host top` against vmrd-host.  Without a
terminal it refuses with a message.

    top_pty.py VMRD VMRCTL PLUGIN BROKER
"""
import fcntl
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time

VMRD, VMRCTL, PLUGIN, BROKER = sys.argv[1:5]
ROWS, COLS = 30, 110
ENTER = b"\x1b[?1049h"
LEAVE = b"\x1b[?25h\x1b[?1049l"
HOME = b"\x1b[H"

failures = []


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def wait_for(pred, secs):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


class Pty:
    """A program on the slave side of a new pty, as the controlling terminal."""

    def __init__(self, argv):
        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.modes = termios.tcgetattr(self.slave)
        self.out = b""
        self.proc = subprocess.Popen(
            argv, stdin=self.slave, stdout=self.slave, stderr=self.slave,
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))

    def pump(self, secs):
        end = time.monotonic() + secs
        while time.monotonic() < end:
            r, _, _ = select.select([self.master], [], [], 0.05)
            if r:
                try:
                    self.out += os.read(self.master, 65536)
                except OSError:
                    return

    def until(self, pred, secs):
        end = time.monotonic() + secs
        while time.monotonic() < end:
            self.pump(0.1)
            if pred(self.out):
                return True
        return False

    def exited(self, secs):
        end = time.monotonic() + secs
        while time.monotonic() < end:
            self.pump(0.1)
            if self.proc.poll() is not None:
                self.pump(0.2)
                return self.proc.returncode
        return None

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)
        os.close(self.slave)


def last_frame(out):
    return out.rsplit(HOME, 1)[-1]


def meminfo(root, avail_mib):
    with open(os.path.join(root, "proc/meminfo.new"), "w") as f:
        f.write("MemTotal: 2097152 kB\nMemFree: %d kB\nMemAvailable: %d kB\n"
                "Buffers: 0 kB\nCached: 10240 kB\nActive(file): 5120 kB\n"
                "Inactive(file): 5120 kB\nShmem: 0 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n"
                % (avail_mib * 1024, avail_mib * 1024))
    os.rename(os.path.join(root, "proc/meminfo.new"), os.path.join(root, "proc/meminfo"))


def start_vmrd(t):
    root = os.path.join(t, "root")
    os.makedirs(os.path.join(root, "proc/pressure"))
    meminfo(root, 1500)
    with open(os.path.join(root, "proc/vmstat"), "w") as f:
        f.write("oom_kill 0\nallocstall_normal 0\nworkingset_refault_file 0\n")
    with open(os.path.join(root, "proc/pressure/memory"), "w") as f:
        f.write("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
                "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
    sock = os.path.join(t, "vmrd.sock")
    with open(os.path.join(t, "vmrd.conf"), "w") as f:
        f.write("[vmrd]\nbackend = plugin\ninterval = 100ms\ncontrol = %s\nmlock = no\n"
                "oom_score_adj = 0\n[reclaim]\nenabled = no\n[plugin]\npath = %s\n"
                "min = 256M\nmax = 4G\nblock = 128M\ninitial = 2G\n" % (sock, PLUGIN))
    log = open(os.path.join(t, "vmrd.log"), "w")
    p = subprocess.Popen([VMRD, "-c", os.path.join(t, "vmrd.conf"), "--root", root],
                         stdout=log, stderr=subprocess.STDOUT)
    check(wait_for(lambda: os.path.exists(sock), 10), "vmrd serves its control socket")
    return p, root, sock


def start_broker(t):
    sock = os.path.join(t, "host.sock")
    log = open(os.path.join(t, "broker.log"), "w")
    # No QEMU: the VM's sockets do not exist, so it stays down and reconnects;
    # status still has its row.
    p = subprocess.Popen([BROKER, "-d", "--control", sock, "--state", os.path.join(t, "state"),
                          "--vm", "name=web,qmp=%s/web.qmp,channel=%s/web.ch,virtio-mem=vmem0,"
                          "min=512M,max=2G" % (t, t)],
                         stdout=log, stderr=subprocess.STDOUT)
    check(wait_for(lambda: os.path.exists(sock), 10), "vmrd-host serves its control socket")
    return p, sock


def quits(argv, how, expect, t, root=None):
    """Run top, see it draw twice, optionally see a refresh, then quit it `how`."""
    tty = Pty(argv)
    try:
        check(tty.until(lambda o: ENTER in o and expect in last_frame(o), 10),
              "%s draws %r on the alternate screen" % (argv[-1], expect.decode()))
        check(tty.until(lambda o: o.count(HOME) >= 3, 5), "it redraws every interval")
        if root:
            meminfo(root, 1234)
            check(tty.until(lambda o: b"MemAvailable 1234 MiB" in last_frame(o), 5),
                  "a later frame shows the new MemAvailable")
        check(b"\x1b[?25l" in tty.out, "the cursor is hidden while it runs")
        if how == "q":
            os.write(tty.master, b"xq")
        elif how == "ctrl-c":
            os.write(tty.master, b"\x03")
        else:
            tty.proc.send_signal(signal.SIGINT)
        rc = tty.exited(5)
        check(rc == 0, "quits on %s with status 0 (got %r)" % (how, rc))
        check(tty.out.endswith(LEAVE), "leaves the alternate screen and shows the cursor last")
        check(termios.tcgetattr(tty.slave) == tty.modes,
              "the terminal's modes are restored (echo, canonical input)")
    finally:
        tty.close()


def main():
    t = tempfile.mkdtemp(prefix="vmrctl-top.")
    procs = []
    try:
        vmrd, root, vsock = start_vmrd(t)
        procs.append(vmrd)
        broker, hsock = start_broker(t)
        procs.append(broker)
        guest = [VMRCTL, "-s", vsock, "-i", "200", "top"]
        quits(guest, "q", b"MemAvailable 1500 MiB", t, root)
        quits(guest, "ctrl-c", b"backend      plugin (up)", t)
        quits(guest, "SIGINT", b"recent decisions", t)
        host = [VMRCTL, "-s", hsock, "-i", "200", "host", "top"]
        quits(host, "q", b"web ", t)
        # The broker's why (no decisions without a QEMU) below its status.
        quits(host, "ctrl-c", b"web (current 2048 MiB, target 2048 MiB): no decisions yet", t)
        quits(host, "SIGINT", b"NAME", t)
        r = subprocess.run(guest, stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
        check(r.returncode == 64 and b"needs a terminal" in r.stderr,
              "without a terminal: status 64 and a message (%d, %r)" % (r.returncode, r.stderr))
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        if failures:
            for log in ("vmrd.log", "broker.log"):
                path = os.path.join(t, log)
                if os.path.exists(path):
                    print("--- " + log)
                    print(open(path).read()[-3000:])
        shutil.rmtree(t, ignore_errors=True)
    print("%d failed" % len(failures))
    sys.exit(1 if failures else 0)


main()
