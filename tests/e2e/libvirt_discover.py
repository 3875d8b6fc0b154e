#!/usr/bin/env python3
"""End-to-end: vmrd-host finds libvirt domains by itself and resizes them
through libvirt, with no VM in its configuration.

The test starts its own virtlogd and libvirtd (a private socket directory,
pid files in its work directory; it skips when a libvirtd already runs)
and vmrd-host with only --libvirt URI.  Then, one TCG guest at a time:

 1. domain "lvgrow" (512 MiB boot memory, a 1536 MiB virtio-mem device,
    the org.vmrd.0 channel with a path libvirt picks, vmrd metadata
    max=1536M) runs vmrd and a burst to 700 MiB: vmrd-host adopts it,
    plugs memory through virDomainUpdateDeviceFlags (MemTotal and the
    device's <current> grow), and after the burst unplugs it again;
 2. domains started later, paused (no guest CPU needed): "lvlate" is
    picked up and reconciled through libvirt; "lvbad" (metadata
    min="lots") and "lvnochan" (no channel) are listed as not managed,
    with the domain and the field named;
 3. "lvlate" is destroyed and undefined: vmrd-host drops it.

Everything the test started is stopped at the end.  Exit 77 (skip) when
libvirtd, QEMU or the guest image cannot be had.
"""

import glob
import gzip
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import SKIP, VMRD_CONF, build_image, check, e2e_args, fail  # noqa: E402

MIB = 1 << 20
NS = "http://vmrd.org/xmlns/libvirt/1"


def load_runvm(source_root):
    """scripts/guest/run-vm.py as a module, for its cpio writer and memhp arguments."""
    path = os.path.join(source_root, "scripts/guest/run-vm.py")
    spec = importlib.util.spec_from_file_location("run_vm", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def alive(pid):
    """True while pid runs (a zombie no longer does)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            return not any(line.startswith("State:") and "Z" in line.split()[1] for line in f)
    except FileNotFoundError:
        return False


def libvirtd_running():
    r = subprocess.run(["pgrep", "-x", "libvirtd"], capture_output=True, text=True)
    return any(alive(int(pid)) for pid in r.stdout.split())


class Libvirt:
    """A libvirtd (and virtlogd) of the test's own, stopped by stop()."""

    def __init__(self, work):
        self.work = work
        self.run = os.path.join(work, "run")
        os.makedirs(self.run)
        self.uri = "qemu:///system?socket=%s/libvirt-sock" % self.run
        self.pids = []
        conf = os.path.join(work, "libvirtd.conf")
        with open(conf, "w") as f:
            f.write('unix_sock_dir = "%s"\nunix_sock_rw_perms = "0700"\n'
                    'auth_unix_rw = "none"\nauth_unix_ro = "none"\n' % self.run)
        if not os.path.exists("/run/libvirt/virtlogd-sock"):
            self._daemon(["virtlogd", "-d"], "virtlogd.pid")
        self._daemon(["libvirtd", "-d", "-f", conf], "libvirtd.pid")
        for _ in range(100):
            if self.virsh("version", check_rc=False).returncode == 0:
                return
            time.sleep(0.1)
        fail("libvirtd did not answer on %s" % self.uri)

    def _daemon(self, argv, pidname):
        pidfile = os.path.join(self.work, pidname)
        subprocess.run(argv + ["-p", pidfile], check=True, timeout=30)
        for _ in range(50):
            if os.path.exists(pidfile):
                with open(pidfile) as f:
                    self.pids.append(int(f.read().strip()))
                return
            time.sleep(0.1)
        fail("%s wrote no pid file" % argv[0])

    def virsh(self, *args, check_rc=True):
        r = subprocess.run(["virsh", "-q", "-c", self.uri] + list(args), capture_output=True,
                           text=True, timeout=120)
        if check_rc and r.returncode != 0:
            fail("virsh %s: %s" % (" ".join(args), r.stderr.strip()))
        return r

    def stop(self):
        r = self.virsh("list", "--all", "--name", check_rc=False)
        for name in r.stdout.split():
            self.virsh("destroy", name, check_rc=False)
            self.virsh("undefine", name, check_rc=False)
        for pid in reversed(self.pids):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for pid in self.pids:
            for _ in range(100):
                if not alive(pid):
                    break
                time.sleep(0.1)


def domain_xml(name, d, kernel, initrd, cmdline, channel=True, metadata=""):
    chan = ("<channel type='unix'><source mode='bind'/>"
            "<target type='virtio' name='org.vmrd.0'/></channel>") if channel else ""
    meta = "<metadata><vmrd:vm xmlns:vmrd='%s' %s/></metadata>" % (NS, metadata) if metadata else ""
    return f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>2048</memory>
  <currentMemory unit='MiB'>512</currentMemory>
  <maxMemory slots='1' unit='MiB'>2048</maxMemory>
  <vcpu>1</vcpu>
  <cpu mode='custom'><model fallback='allow'>qemu64</model>
    <numa><cell id='0' cpus='0' memory='512' unit='MiB'/></numa></cpu>
  {meta}
  <os><type arch='x86_64' machine='q35'>hvm</type>
    <kernel>{kernel}</kernel><initrd>{initrd}</initrd><cmdline>{cmdline}</cmdline></os>
  <on_poweroff>destroy</on_poweroff><on_reboot>destroy</on_reboot><on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='file'><source path='{d}/{name}.console'/></serial>
    {chan}
    <memory model='virtio-mem'><target><size unit='MiB'>1536</size><node>0</node>
      <block unit='KiB'>2048</block><requested unit='MiB'>0</requested></target></memory>
    <memballoon model='none'/>
  </devices>
</domain>
"""


def status(ctl_path, vmrctl):
    r = subprocess.run([vmrctl, "-s", ctl_path, "--json", "host", "status"], capture_output=True,
                       text=True, timeout=10)
    if r.returncode != 0:
        return {}
    return {v["name"]: v for v in json.loads(r.stdout)["vms"]}


def wait(what, cond, timeout):
    end = time.time() + timeout
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(1)
    fail("timed out after %d s: %s" % (timeout, what))


def console_markers(path):
    out = []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                if line.startswith("VMRD-E2E: event="):
                    out.append(dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv))
    except FileNotFoundError:
        pass
    return out


def memtotal_kb(path):
    best = []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                if line.startswith("VMRD-E2E: report "):
                    for kv in line.split():
                        if kv.startswith("memtotal_kb="):
                            best.append(int(kv.split("=")[1]))
    except FileNotFoundError:
        pass
    return best


def main():
    def options(p):
        p.add_argument("--broker")
        p.add_argument("--vmrctl")

    a = e2e_args(add=options)

    for prog in ("libvirtd", "virtlogd", "virsh", "qemu-system-x86_64"):
        if not shutil.which(prog):
            print("SKIP: %s not installed (scripts/deps.sh installs it)" % prog)
            return SKIP
    if libvirtd_running():
        print("SKIP: a libvirtd already runs; the test starts its own")
        return SKIP
    broker = a.broker or os.path.join(a.build_root, "src/host/vmrd-host")
    vmrctl = a.vmrctl or os.path.join(a.build_root, "src/vmrctl/vmrctl")
    image = build_image(a.source_root, a.build_root)
    runvm = load_runvm(a.source_root)

    # libvirt runs QEMU as its own user: the files it reads live in a world-readable directory.
    work = tempfile.mkdtemp(prefix="vmrd-libvirt-")
    os.chmod(work, 0o755)
    lv = None
    host = None
    try:
        kernel = os.path.join(work, "vmlinuz")
        shutil.copy(os.path.join(image, "vmlinuz"), kernel)
        initrd = os.path.join(work, "initrd.gz")
        with open(os.path.join(image, "initramfs.gz"), "rb") as f:
            base = f.read()
        with open(initrd, "wb") as f:
            f.write(base + gzip.compress(runvm.newc_archive(
                [("/etc/vmrd.conf", VMRD_CONF.encode(), 0o644)]), mtime=0))
        for path in (kernel, initrd):
            os.chmod(path, 0o644)

        def cmdline(scenario, sarg):
            return ("console=ttyS0 %s psi=1 loglevel=4 panic=-1 vmrd.scenario=%s vmrd.report=1 "
                    "vmrd.daemon=1 vmrd.args=\"-c /etc/vmrd.conf\" vmrd.sarg=\"%s\""
                    % (runvm.GUEST_MEMHP_ARGS, scenario, sarg))

        lv = Libvirt(work)
        ctl = os.path.join(work, "host.sock")
        log = open(os.path.join(work, "vmrd-host.log"), "w")
        host = subprocess.Popen([broker, "-d", "--libvirt", lv.uri, "--control", ctl,
                                 "--state", os.path.join(work, "host.state")],
                                stdout=log, stderr=subprocess.STDOUT)

        def define(name, scenario="run", sarg="sleep 600", **kw):
            path = os.path.join(work, name + ".xml")
            with open(path, "w") as f:
                f.write(domain_xml(name, work, kernel, initrd, cmdline(scenario, sarg), **kw))
            lv.virsh("define", path)

        # 1. A guest that grows and shrinks through libvirt.
        define("lvgrow", "burst", "700M 40 2 90 600000", metadata="max='1536M'")
        lv.virsh("start", "lvgrow")
        def vm_if(name, key):
            v = status(ctl, vmrctl).get(name, {})
            return v if v.get(key) else None

        v = wait("vmrd-host adopts lvgrow and its vmrd says hello", lambda: vm_if("lvgrow", "hello"),
                 120)
        check(v["max_bytes"] == 1536 * MIB and v["min_bytes"] == 512 * MIB,
              "limits from the metadata and the boot memory (min %d max %d MiB)"
              % (v["min_bytes"] // MIB, v["max_bytes"] // MIB))
        console = os.path.join(work, "lvgrow.console")
        peak = wait("MemTotal grows past 900 MiB",
                    lambda: max(memtotal_kb(console) or [0]) >= 900 * 1024 and
                    max(memtotal_kb(console)), 150)
        check(True, "the guest grew to %d MiB through libvirt" % (peak >> 10))
        xml = lv.virsh("dumpxml", "lvgrow").stdout
        check("<requested unit='KiB'>0</requested>" not in xml,
              "libvirt's live XML shows a virtio-mem request above 0")
        returned = wait("lvgrow shrinks back below 700 MiB and finishes",
                        lambda: [m for m in console_markers(console)
                                 if m.get("event") == "returned"], 180)
        # The marker's own MemTotal: a report line may still predate the shrink.
        last = int(returned[0]["memtotal_kb"])
        check(last <= 700 * 1024, "the guest gave the memory back (MemTotal %d MiB)" % (last >> 10))
        burst = [m for m in console_markers(console) if m.get("event") == "burst-done"]
        check(burst and burst[0].get("status") == "0", "the burst finished without an OOM kill")
        wait("lvgrow powers off and is dropped",
             lambda: "lvgrow" not in status(ctl, vmrctl), 120)
        check(True, "lvgrow dropped after it stopped")

        # 2. Domains started later, paused: one managed, two not.
        define("lvlate")
        define("lvbad", metadata="min='lots'")
        define("lvnochan", channel=False)
        for name in ("lvlate", "lvbad", "lvnochan"):
            lv.virsh("start", "--paused", name)
        v = wait("lvlate is picked up and reconciled", lambda: vm_if("lvlate", "reconciled"), 60)
        check(v["boot_bytes"] == 512 * MIB and v["max_bytes"] == 2048 * MIB,
              "lvlate: boot %d MiB, default max %d MiB (boot + device)"
              % (v["boot_bytes"] // MIB, v["max_bytes"] // MIB))
        vms = status(ctl, vmrctl)
        check("lvbad" not in vms and "lvnochan" not in vms, "lvbad and lvnochan are not managed")
        with open(os.path.join(work, "vmrd-host.log")) as f:
            text = f.read()
        check('domain "lvbad" not managed: vmrd metadata: min="lots"' in text,
              "the log names lvbad and its bad field")
        check('domain "lvnochan" not managed: no unix channel named org.vmrd.0' in text,
              "the log says why lvnochan is not managed")

        # 3. Gone: destroyed and undefined.
        lv.virsh("destroy", "lvlate")
        lv.virsh("undefine", "lvlate")
        wait("lvlate is dropped", lambda: "lvlate" not in status(ctl, vmrctl), 30)
        check(True, "lvlate dropped after destroy and undefine")
        check(host.poll() is None, "vmrd-host is still running")
    finally:
        if host:
            host.terminate()
            try:
                host.wait(10)
            except subprocess.TimeoutExpired:
                host.kill()
        if lv:
            lv.stop()
        logs = glob.glob(os.path.join(work, "*.log")) + glob.glob(os.path.join(work, "*.console"))
        for path in logs:
            with open(path, errors="replace") as f:
                tail = f.readlines()[-15:]
            print("--- %s (last lines)\n%s" % (os.path.basename(path), "".join(tail)), flush=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
