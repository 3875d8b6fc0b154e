#!/usr/bin/env python3
"""Boots an end-to-end test guest under QEMU TCG and records what happens.

The guest (kernel and initramfs from scripts/guest/build-image.sh) runs one
scenario and powers off.  This runner starts QEMU with a virtio-mem device,
a free-page-reporting balloon and a virtio-serial port named org.vmrd.0,
optionally starts a vmrd-host broker on the first QMP socket, follows the
serial console, reacts to "VMRD-E2E: event=..." markers (--on), and writes
a once-per-second timeline CSV.  It exits with the scenario's status
(124 on timeout, 125 when QEMU ended without reporting a status).

Files in the work directory: console.log, timeline.csv, summary.json,
qemu.log, broker.log, qmp-broker.sock, qmp-test.sock, vmrd-port.sock.
Only the Python standard library is used.
"""

import argparse
import csv
import gzip
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

MARKER = "VMRD-E2E: "
UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
# vmrd-host's command line for one VM whose sizes span base memory to
# maxmem; the QMP socket is the first of the two, the test keeps the other.
BROKER_ARGS = ("-d -c /dev/null --control @WORKDIR@/host.sock --state @WORKDIR@/host.state"
               " --vm name=e2e,qmp=@QMP@,channel=@PORT@,virtio-mem=vmem0,balloon=balloon0,"
               "min=@MEM@,max=@MAXMEM@")
TIMELINE_FIELDS = [
    "time_sec", "guest_uptime_sec", "memtotal_kb", "memavailable_kb",
    "swap_used_kb", "psi_some_avg10", "psi_full_avg10", "plugged_bytes",
    "requested_bytes", "balloon_actual_bytes", "qemu_rss_kb",
    "guest_oom_kills", "console_oom_kills", "vmrd_decision", "broker_current_bytes",
    "broker_target_bytes", "broker_reason",
    "buffers_kb", "slab_reclaimable_kb", "slab_unreclaimable_kb", "pagetables_kb",
    "allocstall_normal", "allocstall_movable", "workingset_refault_file",
    "zone_kernel_present_kb", "zone_kernel_managed_kb", "zone_kernel_free_kb",
    "zone_kernel_low_kb", "zone_movable_present_kb", "zone_movable_managed_kb",
    "zone_movable_free_kb",
]
# Timeline columns copied from the guest's report line as they are:
# meminfo and vmstat counters, and the zone sums of guest/init (zk_* are
# DMA32 + Normal, the zones that can hold kernel memory; zm_* is Movable).
REPORT_COLUMNS = {
    "buffers_kb": "buffers_kb", "slab_reclaimable_kb": "sreclaimable_kb",
    "slab_unreclaimable_kb": "sunreclaim_kb", "pagetables_kb": "pagetables_kb",
    "allocstall_normal": "allocstall_normal", "allocstall_movable": "allocstall_movable",
    "workingset_refault_file": "workingset_refault_file",
    "zone_kernel_present_kb": "zk_present_kb", "zone_kernel_managed_kb": "zk_managed_kb",
    "zone_kernel_free_kb": "zk_free_kb", "zone_kernel_low_kb": "zk_low_kb",
    "zone_movable_present_kb": "zm_present_kb", "zone_movable_managed_kb": "zm_managed_kb",
    "zone_movable_free_kb": "zm_free_kb",
}
# The guest kernel's memory arguments: the one place that sets them for
# every guest of the e2e tests, `make demo` and `make bench` (--memhp
# overrides them for one run).
# - memhp_default_state=online_movable puts every plugged block into
#   ZONE_MOVABLE, which virtio-mem can unplug again but which cannot hold
#   kernel memory (slab, page tables, block-device cache).  vmrd keeps it
#   as the resting state and switches auto_online_blocks to online_kernel
#   only for a grow its policy places in the kernel zones.  Measured and
#   not used: "memhp_default_state=online
#   memory_hotplug.online_policy=auto-movable" follows a movable:kernel
#   ratio (301 % by default), not the demand: a 512 MiB guest got no kernel
#   memory until about 1.5 GiB was plugged.
# - swiotlb=noforce: a guest whose hot-pluggable range lies above 4 GiB
#   otherwise maps a 64 MiB bounce buffer at boot (zeroed, so host RSS too)
#   that virtio devices never use; measured: MemTotal 390 -> 455 MiB on a
#   512 MiB guest, virtio-blk and virtio-mem working.
GUEST_MEMHP_ARGS = "memhp_default_state=online_movable swiotlb=noforce"
# vmrd logs one line per decision, e.g. "grow: falling_fast: current 512 MiB,
# target 592 MiB, ..."; the timeline keeps the latest as "grow falling_fast 592".
VMRD_DECISION = re.compile(r"\b((?:grow|shrink|hold|reclaim)[a-z_]*): ([a-z_]+): current (\d+) MiB,"
                           r" target (\d+) MiB")


NUMBER = re.compile(r"-?\d+(\.\d+)?$")


def parse_size(text):
    """Turns "512M", "4G" or "1048576" into bytes."""
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = t[-1] if t and t[-1] in UNITS else ""
    return int(t[: len(t) - len(unit)]) * UNITS[unit]


def parse_marker(line):
    """Splits a marker line into a dict; a leading bare word becomes 'kind'."""
    idx = line.find(MARKER)
    if idx < 0:
        return None
    try:
        words = shlex.split(line[idx + len(MARKER):])
    except ValueError:
        return None
    out = {}
    for w in words:
        if "=" in w:
            k, v = w.split("=", 1)
            out[k] = v
        elif "kind" not in out:
            out["kind"] = w
    return out


def newc_archive(files):
    """Builds an uncompressed newc cpio archive from (dest, data, mode)."""
    out = bytearray()
    ino = 1000

    def entry(name, mode, data):
        nonlocal ino
        ino += 1
        name_b = name.encode() + b"\0"
        hdr = "070701" + "".join(
            "%08X" % v for v in (ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0,
                                 len(name_b), 0))
        out.extend(hdr.encode() + name_b)
        out.extend(b"\0" * (-len(out) % 4))
        out.extend(data)
        out.extend(b"\0" * (-len(out) % 4))

    dirs = set()
    for dest, _, _ in files:
        parts = dest.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    for d in sorted(dirs):
        entry(d, 0o040755, b"")
    for dest, data, mode in files:
        entry(dest.strip("/"), 0o100000 | mode, data)
    entry("TRAILER!!!", 0, b"")
    return bytes(out)


class Qmp:
    """A minimal synchronous QMP client; events are kept, not interpreted."""

    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.events = []
        self._read()  # greeting
        self.execute("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("QMP socket closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, cmd, **args):
        msg = {"execute": cmd}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                # Only the latest events are kept; nobody reads old ones.
                self.events = self.events[-99:] + [reply]
                continue
            if "error" in reply:
                raise RuntimeError("QMP %s: %s" % (cmd, reply["error"].get("desc")))
            return reply.get("return")

    def close(self):
        self.sock.close()


def wait_for_socket(path, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def qemu_rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return ""


def build_cmdline(a):
    """The guest kernel command line: fixed console and PSI settings, the
    memory-hotplug arguments (GUEST_MEMHP_ARGS or --memhp), the vmrd.*
    arguments that guest/init reads, and --append."""
    args = ["console=ttyS0"] + shlex.split(a.memhp) + ["psi=1",
            "loglevel=%d" % a.loglevel, "panic=-1",
            "vmrd.scenario=%s" % a.scenario, "vmrd.report=%s" % a.report,
            "vmrd.daemon=%d" % (1 if a.daemon else 0)]
    if a.vmrd_args:
        args.append('vmrd.args="%s"' % a.vmrd_args)
    if a.sarg:
        args.append('vmrd.sarg="%s"' % a.sarg)
    if a.zram:
        args.append("vmrd.zram=%s" % a.zram)
    if a.append:
        args.append(a.append)
    return " ".join(args)


def make_initrd(a, work):
    base = a.initrd or os.path.join(a.image_dir, "initramfs.gz")
    if not a.add:
        return base
    files = []
    for spec in a.add:
        src, _, dest = spec.partition(":")
        dest = dest or "/usr/bin/" + os.path.basename(src)
        with open(src, "rb") as f:
            files.append((dest, f.read(), os.stat(src).st_mode & 0o777))
    # The kernel unpacks concatenated archives in order, so the added files
    # land on top of the base image without rebuilding it.
    path = os.path.join(work, "initramfs-extra.gz")
    with open(base, "rb") as f, open(path, "wb") as out:
        out.write(f.read())
        out.write(gzip.compress(newc_archive(files), mtime=0))
    return path


def make_disk(a, work):
    path = os.path.join(work, "disk.ext4")
    with open(path, "wb") as f:
        f.truncate(parse_size(a.disk))
    cmd = ["mkfs.ext4", "-q", "-F", "-L", "vmrd-data"]
    if a.disk_dir:
        cmd += ["-d", a.disk_dir]
    subprocess.run(cmd + [path], check=True, timeout=60)
    return path


def qemu_argv(a, work, initrd, disk):
    mem = parse_size(a.mem)
    maxmem = parse_size(a.maxmem)
    vmem = parse_size(a.vmem_max) if a.vmem_max else maxmem - mem
    argv = [a.qemu, "-nodefaults", "-no-user-config", "-display", "none",
            "-no-reboot", "-machine", "q35,accel=tcg", "-cpu", "max",
            "-smp", str(a.cpus),
            "-m", "%dM,maxmem=%dM" % (mem >> 20, maxmem >> 20),
            "-kernel", a.kernel or os.path.join(a.image_dir, "vmlinuz"),
            "-initrd", initrd, "-append", build_cmdline(a)]
    if not a.no_vmem:
        argv += ["-object", "memory-backend-ram,id=vmemdev0,size=%dM" % (vmem >> 20),
                 "-device", "virtio-mem-pci,id=vmem0,memdev=vmemdev0,block-size=%s,"
                 "requested-size=%dM" % (a.block_size, parse_size(a.vmem_initial) >> 20)]
    argv += ["-device", "virtio-serial-pci,id=vser0",
             "-chardev", "socket,id=vmrdport,path=%s,server=on,wait=off"
             % os.path.join(work, "vmrd-port.sock"),
             "-device", "virtserialport,bus=vser0.0,chardev=vmrdport,name=org.vmrd.0",
             "-qmp", "unix:%s,server=on,wait=off" % os.path.join(work, "qmp-broker.sock"),
             "-qmp", "unix:%s,server=on,wait=off" % os.path.join(work, "qmp-test.sock")]
    if not a.no_balloon:
        argv += ["-device", "virtio-balloon-pci,id=balloon0,free-page-reporting=%s"
                 % ("off" if a.no_fpr else "on")]
    logfile = os.path.join(work, "console.log")
    if a.interactive:
        argv += ["-chardev", "stdio,id=ser0,signal=off,logfile=%s" % logfile]
    else:
        argv += ["-chardev", "file,id=ser0,path=%s" % logfile]
    argv += ["-serial", "chardev:ser0"]
    if disk:
        argv += ["-drive", "file=%s,if=none,id=disk0,format=raw,cache=unsafe" % disk,
                 "-device", "virtio-blk-pci,drive=disk0"]
    return argv


class Runner:
    def __init__(self, a, work):
        self.a = a
        self.work = work
        self.markers = []
        self.last_report = {}
        self.console_oom = 0
        self.status = None
        self.pending = [tuple(s.split(":", 1)) for s in a.on]
        self.timed = sorted((float(t), act) for t, act in (s.split(":", 1) for s in a.at))
        self.qmp = None
        self.broker = None
        self.decision = ""
        self.broker_status = None

    def qmp_action(self, action):
        name, _, value = action.partition("=")
        if name == "plug":
            size = parse_size(value)
            self.qmp.execute("qom-set", path="/machine/peripheral/vmem0",
                             property="requested-size", value=size)
        elif name == "balloon":
            self.qmp.execute("balloon", value=parse_size(value))
        elif name == "broker-kill":
            # SIGKILL: the broker gets no chance to save anything more.
            if self.broker and self.broker.poll() is None:
                self.broker.kill()
                self.broker.wait()
        elif name == "broker-start":
            self.start_broker()
        else:
            raise ValueError("unknown action %r" % action)
        self.log("action %s done" % action)

    def log(self, msg):
        if self.a.verbose:
            print("run-vm: %s" % msg, file=sys.stderr, flush=True)

    def on_line(self, line):
        # Two writers can share one console line ("oom_kill=0VMRD-E2E:
        # event=burst-start ..."): every marker starts a record of its own.
        rest = line.find(MARKER, 1)
        if rest > 0:
            self.on_line(line[:rest])
            self.on_line(line[rest:])
            return
        if self.a.verbose and not self.a.interactive:
            print(line, flush=True)
        # Both the global and the memory-cgroup OOM killer print this.
        if "Killed process" in line and "out of memory" in line.lower():
            self.console_oom += 1
        if line.startswith("vmrd: "):
            d = VMRD_DECISION.search(line)
            if d:
                self.decision = "%s %s %s" % (d.group(1), d.group(2), d.group(4))
        m = parse_marker(line)
        if m is None:
            return
        # Another process's output can land on the same console line as a
        # report ("oom_kill=0memhog: ..."); a report with a value that is
        # not a number is such a line: dropped, the previous report stands.
        if m.get("kind") == "report" and \
                not all(NUMBER.match(v) for k, v in m.items() if k != "kind"):
            return
        m["_time"] = round(time.monotonic() - self.t0, 3)
        self.markers.append(m)
        if m.get("kind") == "report":
            self.last_report = m
        ev = m.get("event")
        if ev == "done":
            self.status = int(m.get("status", 125))
        for spec in list(self.pending):
            name, _, delay = spec[0].partition("+")
            if name == ev:
                self.pending.remove(spec)
                if delay:
                    # EVENT+SECONDS: the action waits in the timed list.
                    at = time.monotonic() - self.t0 + float(delay)
                    self.timed = sorted(self.timed + [(at, spec[1])])
                else:
                    self.qmp_action(spec[1])

    def sample(self, writer, qemu):
        row = {"time_sec": round(time.monotonic() - self.t0, 1)}
        r = self.last_report
        row.update(guest_uptime_sec=r.get("uptime", ""), memtotal_kb=r.get("memtotal_kb", ""),
                   memavailable_kb=r.get("memavailable_kb", ""),
                   swap_used_kb=r.get("swap_used_kb", ""),
                   psi_some_avg10=r.get("psi_some_avg10", ""),
                   psi_full_avg10=r.get("psi_full_avg10", ""),
                   guest_oom_kills=r.get("oom_kill", ""), console_oom_kills=self.console_oom,
                   qemu_rss_kb=qemu_rss_kb(qemu.pid), vmrd_decision=self.decision)
        row.update({col: r.get(key, "") for col, key in REPORT_COLUMNS.items()})
        st = self.poll_broker()
        if st:
            vm = st["vms"][0] if st.get("vms") else {}
            row.update(broker_current_bytes=vm.get("current_bytes", ""),
                       broker_target_bytes=vm.get("target_bytes", ""),
                       broker_reason=vm.get("last_reason", ""))
        try:
            for dev in self.qmp.execute("query-memory-devices"):
                if dev.get("type") == "virtio-mem":
                    row["plugged_bytes"] = dev["data"]["size"]
                    row["requested_bytes"] = dev["data"]["requested-size"]
            if not self.a.no_balloon:
                row["balloon_actual_bytes"] = self.qmp.execute("query-balloon")["actual"]
        except (OSError, RuntimeError, ConnectionError, ValueError):
            pass
        writer.writerow(row)

    def poll_broker(self):
        """Appends the broker's "status json" to broker-status.jsonl."""
        path = os.path.join(self.work, "host.sock")
        if not self.a.broker or not self.broker or self.broker.poll() is not None \
                or not os.path.exists(path):
            return None
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(1.0)
                s.connect(path)
                s.sendall(b"status json\n")
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            st = json.loads(data)
        except (OSError, ValueError):
            return None
        st["_time"] = round(time.monotonic() - self.t0, 1)
        with open(os.path.join(self.work, "broker-status.jsonl"), "a") as f:
            f.write(json.dumps(st) + "\n")
        return st

    def start_broker(self):
        subst = {"@QMP@": os.path.join(self.work, "qmp-broker.sock"),
                 "@PORT@": os.path.join(self.work, "vmrd-port.sock"),
                 "@WORKDIR@": self.work, "@MEM@": self.a.mem, "@MAXMEM@": self.a.maxmem}
        argv = [self.a.broker]
        for word in shlex.split(self.a.broker_args):
            if self.a.no_balloon:
                word = word.replace(",balloon=balloon0", "")
            if self.a.no_vmem:
                word = word.replace(",virtio-mem=vmem0", "")
            for key, value in subst.items():
                word = word.replace(key, value)
            argv.append(word)
        self.log("starting broker: %s" % " ".join(argv))
        # Appended: a restarted broker logs after the first one.
        out = open(os.path.join(self.work, "broker.log"), "ab")
        self.broker = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL)

    def run(self, argv):
        a = self.a
        qlog = open(os.path.join(self.work, "qemu.log"), "wb")
        stdin = None if a.interactive else subprocess.DEVNULL
        stdout = None if a.interactive else qlog
        self.log("qemu: %s" % shlex.join(argv))
        self.t0 = time.monotonic()
        qemu = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=qlog)
        try:
            return self._follow(qemu)
        finally:
            for p in (self.broker, qemu):
                if p and p.poll() is None:
                    p.terminate()
                    try:
                        p.wait(timeout=5)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait()
            if self.qmp:
                self.qmp.close()
            self.write_summary()

    def _follow(self, qemu):
        a = self.a
        sock = os.path.join(self.work, "qmp-test.sock")
        if not wait_for_socket(sock, qemu, 10):
            print("run-vm: QEMU did not start (see %s/qemu.log)" % self.work, file=sys.stderr)
            return 125
        self.qmp = Qmp(sock)
        if a.broker:
            self.start_broker()
        console = os.path.join(self.work, "console.log")
        wait_for_socket(console, qemu, 5)
        f = open(console, "rb")
        partial = b""
        deadline = self.t0 + a.timeout
        next_sample = self.t0
        with open(os.path.join(self.work, "timeline.csv"), "w", newline="") as tl:
            writer = csv.DictWriter(tl, fieldnames=TIMELINE_FIELDS)
            writer.writeheader()
            while True:
                chunk = f.read()
                if chunk:
                    partial += chunk
                    *lines, partial = partial.split(b"\n")
                    for raw in lines:
                        self.on_line(raw.decode("utf-8", "replace").rstrip("\r"))
                now = time.monotonic()
                if self.status is not None or qemu.poll() is not None:
                    break
                while self.timed and now - self.t0 >= self.timed[0][0]:
                    self.qmp_action(self.timed.pop(0)[1])
                if now >= next_sample:
                    self.sample(writer, qemu)
                    tl.flush()
                    next_sample += 1.0
                if now >= deadline:
                    print("run-vm: timeout after %ds" % a.timeout, file=sys.stderr)
                    return 124
                time.sleep(0.1)
            # Give QEMU a moment to power off by itself once the guest is done.
            try:
                qemu.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            for raw in (f.read() + partial).split(b"\n"):
                if raw:
                    self.on_line(raw.decode("utf-8", "replace").rstrip("\r"))
        if self.status is None:
            print("run-vm: QEMU exited (%s) without a scenario status" % qemu.returncode,
                  file=sys.stderr)
            return 125
        return self.status

    def write_summary(self):
        with open(os.path.join(self.work, "summary.json"), "w") as f:
            json.dump({"status": self.status, "console_oom_kills": self.console_oom,
                       "cmdline": build_cmdline(self.a), "markers": self.markers}, f, indent=1)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--image-dir", default="build/guest")
    p.add_argument("--kernel")
    p.add_argument("--initrd")
    p.add_argument("--add", action="append", default=[], metavar="SRC[:DEST]",
                   help="add a file to the guest (default DEST /usr/bin/NAME)")
    p.add_argument("--qemu", default="qemu-system-x86_64")
    p.add_argument("--cpus", type=int, default=2)
    p.add_argument("--mem", default="512M")
    p.add_argument("--maxmem", default="4G")
    p.add_argument("--vmem-max", help="virtio-mem backend size (default maxmem - mem)")
    p.add_argument("--vmem-initial", default="0", help="initial requested-size")
    p.add_argument("--block-size", default="2M")
    p.add_argument("--no-balloon", action="store_true")
    p.add_argument("--no-fpr", action="store_true", help="balloon without free page reporting")
    p.add_argument("--no-vmem", action="store_true", help="no virtio-mem device (balloon only)")
    p.add_argument("--scenario", default="shell")
    p.add_argument("--sarg", default="", help="arguments for the scenario")
    p.add_argument("--daemon", action="store_true", help="start vmrd in the guest")
    p.add_argument("--vmrd-args", default="", help="vmrd arguments; @PORT@ is the port")
    p.add_argument("--zram", help="zram swap size in the guest")
    p.add_argument("--report", default="1", help="guest report period in seconds, 0 off")
    p.add_argument("--memhp", default=GUEST_MEMHP_ARGS,
                   help="memory-hotplug kernel arguments (default: %(default)s)")
    p.add_argument("--append", default="", help="extra kernel arguments")
    p.add_argument("--loglevel", type=int, default=4)
    p.add_argument("--disk", help="attach an ext4 disk of this size (mounted at /mnt/data)")
    p.add_argument("--disk-dir", help="populate the disk from this directory")
    p.add_argument("--broker", help="vmrd-host binary to start against this VM")
    p.add_argument("--broker-args", default=BROKER_ARGS,
                   help="broker arguments; @QMP@, @PORT@, @WORKDIR@, @MEM@ and @MAXMEM@"
                   " are replaced (default: %(default)s)")
    p.add_argument("--on", action="append", default=[], metavar="EVENT[+SECONDS]:ACTION",
                   help="on marker event=EVENT (or SECONDS later) do ACTION: plug=SIZE, balloon=SIZE,"
                   " broker-kill (SIGKILL) or broker-start")
    p.add_argument("--at", action="append", default=[], metavar="SECONDS:ACTION",
                   help="do ACTION this many seconds after QEMU started")
    p.add_argument("--timeout", type=int, default=120)
    p.add_argument("--workdir", help="keep outputs here (default: a temporary directory)")
    p.add_argument("--interactive", action="store_true", help="serial console on stdio")
    p.add_argument("-v", "--verbose", action="store_true", help="echo the console")
    a = p.parse_args()

    if a.broker and not os.access(a.broker, os.X_OK):
        print("run-vm: broker %s is not executable" % a.broker, file=sys.stderr)
        return 2
    for path in (a.kernel or os.path.join(a.image_dir, "vmlinuz"),
                 a.initrd or os.path.join(a.image_dir, "initramfs.gz")):
        if not os.path.exists(path):
            print("run-vm: %s missing; run scripts/guest/build-image.sh" % path, file=sys.stderr)
            return 2

    tmp = None
    if a.workdir:
        work = os.path.abspath(a.workdir)
        os.makedirs(work, exist_ok=True)
        for name in ("console.log", "qmp-broker.sock", "qmp-test.sock", "vmrd-port.sock",
                     "broker.log", "broker-status.jsonl", "host.sock", "host.state"):
            try:
                os.unlink(os.path.join(work, name))
            except FileNotFoundError:
                pass
    else:
        # Unix socket paths are limited to 108 bytes; /tmp keeps them short.
        tmp = tempfile.mkdtemp(prefix="vmrd-vm-")
        work = tmp

    # SIGTERM from a test harness ends the run through the same cleanup.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        initrd = make_initrd(a, work)
        disk = make_disk(a, work) if a.disk else None
        runner = Runner(a, work)
        status = runner.run(qemu_argv(a, work, initrd, disk))
    finally:
        if tmp and not a.verbose:
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp:
            print("run-vm: outputs kept in %s" % tmp, file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
