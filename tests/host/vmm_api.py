#!/usr/bin/env python3
"""API-level, not run against the real VMM: vmrd-host's Cloud Hypervisor
and Firecracker drivers and the hybrid vsock channel, against the
conformance peers of vmm_peers.py.

vmrd-host runs with two VMs, "ch" (driver cloud-hypervisor) and "fc"
(driver firecracker), each with a hybrid vsock socket; this test is both
VMMs' API and both guests (it connects to PATH_5571 as the VMM would on a
guest's connection to port 5571, and speaks the protocol).  Checked:
 - hello over hybrid vsock is welcomed with the size the API reported;
 - a grant becomes PUT /api/v1/vm.resize {"desired_ram"} (CH) and
   PATCH /hotplug/memory {"requested_size_mib"} (FC), balloons likewise;
 - an HTTP 500 with an error body, an answer that is not JSON and an
   answer slower than the timeout are each logged with the status and the
   body excerpt (or "timeout"), retried after the backoff until the VMM
   holds the target, and never stop the other VM from being served;
 - Cloud Hypervisor is never sent a resize to the size it holds.
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "e2e")]
from e2elib import check, fail  # noqa: E402
from vmm_peers import MIB, CloudHypervisor, Firecracker  # noqa: E402

PORT = 5571


def wait(what, cond, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    fail("timed out after %d s: %s" % (timeout, what))


class Guest:
    """The guest end of a hybrid vsock channel, speaking the line protocol."""

    def __init__(self, path):
        self.sock = wait("the hybrid vsock socket %s" % path, lambda: self._connect(path))
        self.buf = b""

    @staticmethod
    def _connect(path):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            return None

    def send(self, line):
        self.sock.sendall(line.encode() + b"\n")

    def expect(self, verb, timeout=20):
        """The next line starting with verb, as a dict (other lines are skipped)."""
        self.sock.settimeout(0.2)
        end = time.time() + timeout
        while time.time() < end:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                words = line.decode().split()
                if words and words[0] == verb:
                    return dict(w.split("=", 1) for w in words[1:])
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            if not data:
                fail("channel closed while waiting for %s" % verb)
            self.buf += data
        fail("no %s within %d s" % (verb, timeout))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--broker", required=True)
    a = p.parse_args()

    work = tempfile.mkdtemp(prefix="vmrd-vmm-")
    ch = fc = host = None
    try:
        ch = CloudHypervisor(os.path.join(work, "ch.sock"), balloon=True)
        fc = Firecracker(os.path.join(work, "fc.sock"))
        conf = os.path.join(work, "host.conf")
        with open(conf, "w") as f:
            f.write("budget = 8G\nstate_file = %s/state\ncontrol = %s/ctl.sock\nvsock_port = %d\n"
                    "[vm ch]\ndriver = cloud-hypervisor\napi = %s/ch.sock\nvsock = %s/ch.vsock\n"
                    "virtio_mem = mem0\nballoon = balloon0\nmin = 256M\nmax = 2G\n"
                    "[vm fc]\ndriver = firecracker\napi = %s/fc.sock\nvsock = %s/fc.vsock\n"
                    "virtio_mem = mem0\nmin = 512M\nmax = 2G\n"
                    % (work, work, PORT, work, work, work, work))
        logpath = os.path.join(work, "host.log")
        log = open(logpath, "w")
        host = subprocess.Popen([a.broker, "-d", "-c", conf], stdout=log, stderr=subprocess.STDOUT)

        def logged(pattern):
            with open(logpath) as f:
                return re.search(pattern, f.read())

        def reconciles(vm):
            with open(logpath) as f:
                return len(re.findall(r"vm %s: reconciled:" % vm, f.read()))

        gch = Guest(os.path.join(work, "ch.vsock_%d" % PORT))
        gfc = Guest(os.path.join(work, "fc.vsock_%d" % PORT))
        gch.send("hello v=1 block=2097152 current=536870912 agent=test")
        gfc.send("hello v=1 block=2097152 current=536870912 agent=test")
        w = gch.expect("welcome")
        check(int(w["current"]) == 512 * MIB and int(w["block"]) == 2 * MIB,
              "ch: welcomed over hybrid vsock with the size vm.info gave (%s)" % w["current"])
        w = gfc.expect("welcome")
        check(int(w["current"]) == 512 * MIB, "fc: welcomed with mem_size_mib (%s)" % w["current"])

        # Growth: a grant, then the API call.
        gch.send("request seq=1 target=%d urgency=high reason=test" % (1024 * MIB))
        check(int(gch.expect("grant")["target"]) == 1024 * MIB, "ch: 1 GiB granted")
        wait("CH resized", lambda: ch.hotplugged == 512 * MIB)
        check(("/api/v1/vm.resize", {"desired_ram": 1024 * MIB}, 204) in ch.resizes(),
              "ch: PUT /api/v1/vm.resize {desired_ram: 1 GiB} answered 204")
        gfc.send("request seq=1 target=%d urgency=high reason=test" % (768 * MIB))
        gfc.expect("grant")
        wait("FC resized", lambda: fc.requested_mib == 256)
        check(("/hotplug/memory", {"requested_size_mib": 256}, 204) in fc.resizes(),
              "fc: PATCH /hotplug/memory {requested_size_mib: 256} answered 204")

        # HTTP 500 with an error body on a resize: logged, retried after the backoff.
        ch.fault = "500"
        gch.send("request seq=2 target=%d urgency=high reason=test" % (1536 * MIB))
        gch.expect("grant")
        wait("the 500 is logged", lambda: logged(r"vm ch: resize failed: HTTP 500: .*boom"))
        check(True, "ch: HTTP 500 logged with the status and the body excerpt")
        wait("CH holds the target after the retry", lambda: ch.hotplugged == 1024 * MIB)
        check(True, "ch: resize retried after the backoff and applied")
        # Meanwhile the other VM is served as before.
        gfc.send("request seq=2 target=%d urgency=high reason=test" % (1024 * MIB))
        gfc.expect("grant")
        wait("FC resized again", lambda: fc.requested_mib == 512)
        check(True, "fc: served while ch was failing")

        # An answer that is not JSON.
        n = reconciles("ch")
        ch.fault = "badjson"
        gch.send("done seq=2 current=%d" % (1536 * MIB))
        wait("bad JSON logged", lambda: logged(r"vm ch: /api/v1/vm.info failed: bad answer: HTTP 200: not JSON"))
        check(True, "ch: malformed JSON logged with the status and the body excerpt")
        wait("ch reconciled again", lambda: reconciles("ch") > n)
        check(True, "ch: reconciled again after the backoff")

        # A slow answer: timeout for fc, ch unaffected.
        n = reconciles("fc")
        fc.fault = "slow"
        gfc.send("done seq=2 current=%d" % (1024 * MIB))
        gch.send("request seq=3 target=%d urgency=high reason=test" % (1280 * MIB))
        gch.expect("grant", timeout=10)
        wait("CH resized while FC hangs", lambda: ch.hotplugged == 768 * MIB, timeout=4)
        check(True, "ch: resized while fc's API was not answering")
        wait("fc timeout logged", lambda: logged(r"vm fc: /hotplug/memory failed: timeout"), 15)
        check(True, "fc: the slow answer is logged as a timeout")
        wait("fc reconciled again", lambda: reconciles("fc") > n, 20)
        check(True, "fc: reconciled again once the API answers")

        # The balloon: below the boot memory.
        gch.send("request seq=4 target=%d urgency=low reason=test" % (384 * MIB))
        gch.expect("grant")
        wait("CH balloon", lambda: ch.balloon == 128 * MIB and ch.hotplugged == 0)
        check(("/api/v1/vm.resize", {"desired_balloon": 128 * MIB}, 204) in ch.resizes(),
              "ch: PUT /api/v1/vm.resize {desired_balloon: 128 MiB} for a size below boot")

        check(ch.unchanged == 0, "ch: never sent a resize to the size it held")
        check(host.poll() is None, "vmrd-host still runs")
    finally:
        if host:
            host.terminate()
            host.wait(10)
        for peer in (ch, fc):
            if peer:
                peer.close()
        if os.path.exists(os.path.join(work, "host.log")):
            with open(os.path.join(work, "host.log")) as f:
                print("--- vmrd-host log (last lines)\n" + "".join(f.readlines()[-25:]))
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
