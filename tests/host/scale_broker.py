#!/usr/bin/env python3
"""300 VMs on one vmrd-host (issue 12: "a test with ... 300 fake guests on
the broker"): the VM limit is gone, and every channel is served.

The real vmrd-host runs with 300 [vm] sections (the configuration
make bench-scale writes, scripts/bench/scale.py); tools/scale-peers plays
their 300 QEMUs (fake QMP peers with a virtio-mem device) and 300 guests
on unix sockets, which say hello, report and ask 128 MiB up and down.
Fake peers are the point here: 300 TCG guests do not fit on this machine,
and the real-QEMU tests of the same paths are host-qemu-*.
Asserted:
 - `vmrd-host -n` accepts the 300 VMs;
 - while the guests run, `vmrctl host metrics` lists all 300 VMs, each
   with its QMP and guest channel up and at least one grant, and
   `vmrctl --json host status` lists the 300 by name;
 - every guest was welcomed and had at least one request granted (as the
   guest saw it: scale-peers' latency.csv);
 - vmrd-host exits 0 on SIGTERM with its state file naming all 300.
   scale_broker.py --broker VMRD_HOST --vmrctl VMRCTL --peers SCALE_PEERS --source ROOT
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

N = 300


def fail(msg, d=None):
    print("FAIL: %s" % msg)
    if d:
        log = os.path.join(d, "broker.log")
        if os.path.exists(log):
            with open(log) as f:
                print("".join(f.readlines()[-20:]))
    sys.exit(1)


def metrics_by_vm(text):
    """{metric: {vm: value}} for the per-VM series."""
    out = {}
    for m in re.finditer(r'^(vmrd_host_vm_[a-z_]+)\{vm="([^"]+)"\} (\S+)$', text, re.M):
        out.setdefault(m.group(1), {})[m.group(2)] = float(m.group(3))
    return out


def ctl(args, sock, cmd, opts=()):
    r = subprocess.run([args.vmrctl, "-s", sock] + list(opts) + ["host"] + cmd.split(),
                       capture_output=True,
                       text=True, timeout=30)
    return r.stdout if r.returncode == 0 else None


def wait_served(args, d, sock, broker, peers):
    """Poll metrics until every VM is up with a grant; returns the last metrics."""
    names = {"vm%d" % i for i in range(N)}
    deadline = time.monotonic() + 180
    m = {}
    while time.monotonic() < deadline and peers.poll() is None:
        if broker.poll() is not None:
            fail("vmrd-host exited with %d" % broker.returncode, d)
        text = ctl(args, sock, "metrics")
        if text:
            m = metrics_by_vm(text)
            served = {vm for vm in names
                      if m.get("vmrd_host_vm_qmp_up", {}).get(vm) == 1
                      and m.get("vmrd_host_vm_guest_up", {}).get(vm) == 1
                      and m.get("vmrd_host_vm_grants_total", {}).get(vm, 0) >= 1}
            if served == names:
                return m
        time.sleep(1)
    listed = set(m.get("vmrd_host_vm_grants_total", {}))
    fail("metrics: %d VMs listed, %d with a grant and both links up, before the guests stopped"
         % (len(listed), sum(1 for v in m.get("vmrd_host_vm_grants_total", {}).values() if v >= 1)),
         d)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--broker", required=True)
    ap.add_argument("--vmrctl", required=True)
    ap.add_argument("--peers", required=True)
    ap.add_argument("--source", required=True)
    args = ap.parse_args()
    sys.path.insert(0, os.path.join(args.source, "scripts", "bench"))
    import scale  # noqa: E402  the bench's configuration, so the two cannot drift

    d = tempfile.mkdtemp(prefix="vmrd-scale.")
    conf, sock = os.path.join(d, "host.conf"), os.path.join(d, "ctl.sock")
    state = os.path.join(d, "state")
    scale.host_conf(conf, d, N)
    procs = []
    try:
        r = subprocess.run([args.broker, "-n", "-c", conf], capture_output=True, text=True)
        if r.returncode != 0 or ("%d VMs" % N) not in r.stdout:
            fail("vmrd-host -n: exit %d: %s%s" % (r.returncode, r.stdout, r.stderr[:400]))
        print("ok: vmrd-host -n: %s" % r.stdout.strip())
        # Guests ask every 2 s on average, for 20 s after the last one was welcomed.
        peers = subprocess.Popen([args.peers, d, str(N), "-d", "20", "-q", "2", "-r", "5"],
                                 stdout=subprocess.PIPE, stderr=open(os.path.join(d, "peers.log"), "w"),
                                 text=True)
        procs.append(peers)
        if peers.stdout.readline().strip() != "ready":
            fail("scale-peers did not start")
        broker = subprocess.Popen([args.broker, "-c", conf, "--state", state, "--control", sock],
                                  stdout=open(os.path.join(d, "broker.log"), "w"),
                                  stderr=subprocess.STDOUT)
        procs.append(broker)
        t0 = time.monotonic()
        m = wait_served(args, d, sock, broker, peers)
        print("ok: metrics list %d VMs, each with QMP and guest up and a grant, %.1f s after start"
              % (len(m["vmrd_host_vm_grants_total"]), time.monotonic() - t0))
        status = json.loads(ctl(args, sock, "status", ["--json"]) or "{}")
        vms = {v.get("name") for v in status.get("vms", [])}
        if vms != {"vm%d" % i for i in range(N)}:
            fail("status json lists %d VMs, not the %d configured" % (len(vms), N), d)
        print("ok: status json lists the %d VMs" % len(vms))
        out, _ = peers.communicate(timeout=300)
        summary = json.loads(out)
        if summary["welcomed"] != N:
            fail("%d of %d guests welcomed" % (summary["welcomed"], N), d)
        granted = set()
        with open(os.path.join(d, "latency.csv")) as f:
            next(f)
            for line in f:
                vm, _, answer, _ = line.strip().split(",")
                if answer == "grant":
                    granted.add(int(vm))
        if granted != set(range(N)):
            fail("%d of %d guests saw a grant (none for vm%s)" % (
                len(granted), N, ", vm".join(str(i) for i in sorted(set(range(N)) - granted)[:10])), d)
        print("ok: all %d guests welcomed and granted (%d answers, %d grants, %d denies, "
              "answer p50 %.2f ms p99 %.2f ms)" % (
                  N, summary["all"]["answers"], summary["all"]["grants"], summary["all"]["denies"],
                  summary["all"]["p50_us"] / 1000, summary["all"]["p99_us"] / 1000))
        broker.send_signal(signal.SIGTERM)
        rc = broker.wait(30)
        if rc != 0:
            fail("vmrd-host exited %d on SIGTERM" % rc, d)
        with open(state) as f:
            saved = {l.split()[1] for l in f if l.startswith("vm ")}
        if len(saved) != N:
            fail("the state file names %d VMs, not %d" % (len(saved), N), d)
        print("ok: vmrd-host exited 0, its state file names the %d VMs" % N)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(d, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
