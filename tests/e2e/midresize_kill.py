#!/usr/bin/env python3
"""End-to-end: SIGKILL of vmrd-host, then of vmrd, in the middle of a resize.

broker_restart.py kills the broker at a fixed second of a ramp and
vmrd_killed.py kills vmrd after the ramp, when nothing is moving; this test
aims both kills at a resize in flight, in one guest boot (scenario
midresize_kill.sh, added to the image).

1. While memhog ramps to 700 MiB, the test follows broker.log and SIGKILLs
   vmrd-host as soon as it logs a grow grant (the "done" from the guest has
   not come yet: checked), then starts it again with the same command line.
   Asserts: the restarted broker's reconciled size is QEMU's real one (boot +
   the plugged size QEMU reported around the restart), not the size it
   accounted while QEMU had not answered; vmrd's requests after the restart
   are granted and done; the guest gives its memory back after the ramp.
2. In the second ramp the guest SIGKILLs vmrd at the first new memory block
   or rise of MemTotal (a grant being applied; polled every 20 ms, so vmrd
   may already have sent its "done": the test prints which), stops that
   ramp and restarts vmrd 2 s later.  Asserts: vmrd was
   gone, the new vmrd said hello, its first request was granted and done
   (the broker kept no stale request of the old vmrd in the way), and a
   third ramp was served.
At the end: broker and QEMU agree on the size, target == current once
settled, the state file holds that target, no OOM kill.

Exit 77 (skip) when QEMU, vmrd-host or the kernel package is missing.
"""

import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2elib import (MIB, Run, broker_status, build_image, check, col, daemon_args,  # noqa: E402
                    e2e_args, fail, read_text)

BOOT = 512 * MIB
GAP = 0.3  # seconds between the broker's kill and its restart
GRANT = re.compile(r"grant seq (\d+) target (\d+) reason \S+: asked \d+ current (\d+)")


def broker_pid(broker, work):
    """The pid and argv of run-vm.py's vmrd-host for this work directory:
    the parent, not its forked guest reader (privsep), which has the same
    command line."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
            with open("/proc/%s/stat" % pid) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if argv[0] == broker.encode() and any(work.encode() in w for w in argv):
            found[int(pid)] = (ppid, [w.decode() for w in argv if w])
    for pid, (ppid, argv) in found.items():
        if ppid not in found:
            return pid, argv
    return None, None


def status(work):
    return broker_status(os.path.join(work, "host.sock"))


def kill_at_grant(run, broker):
    """Follows the guest and the broker; SIGKILLs the broker at its first
    grow grant after ramp1-start and restarts it.  Returns (the restarted
    Popen, broker.log offset of the kill, the grant's seq, seconds from
    ramp1-start to the kill)."""
    log_path = os.path.join(run.work, "broker.log")
    deadline = time.monotonic() + run.timeout
    while "event=ramp1-start" not in read_text(os.path.join(run.work, "console.log")):
        if time.monotonic() > deadline or run.proc.poll() is not None:
            fail("the guest never started ramp 1")
        time.sleep(0.2)
    # Found before the grant, so that the kill follows the grant at once.
    pid, argv = broker_pid(broker, run.work)
    check(pid is not None, "found run-vm.py's vmrd-host (pid %s)" % pid)
    start, seen = len(read_text(log_path)), time.monotonic()
    while True:
        m = next((g for g in GRANT.finditer(read_text(log_path)[start:])
                  if int(g.group(2)) > int(g.group(3))), None)
        if m:
            break
        if time.monotonic() > deadline or run.proc.poll() is not None:
            fail("vmrd-host never granted a grow during ramp 1")
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        if broker_pid(broker, run.work)[0] is None:
            break
        time.sleep(0.05)
    killed_at, kill_sec = len(read_text(log_path)), time.monotonic() - seen
    time.sleep(GAP)
    out = open(log_path, "ab")
    proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return proc, killed_at, int(m.group(1)), kill_sec


def follow(run, proc):
    """Polls the restarted broker's status and the broker.log offset at the
    guest's vmrd-killed and vmrd-restarted markers until the guest ends."""
    log_path, console = os.path.join(run.work, "broker.log"), os.path.join(run.work, "console.log")
    statuses, offsets = [], {}
    while run.proc.poll() is None:
        st = status(run.work)
        if st:
            st["_time"] = time.monotonic()
            statuses.append(st)
        text = read_text(console)
        for ev in ("vmrd-killed", "vmrd-restarted"):
            if ev not in offsets and "event=" + ev in text:
                offsets[ev] = len(read_text(log_path))
        time.sleep(0.5)
    return statuses, offsets


def check_broker_kill(run, log, killed_at, seq, kill_sec):
    before, after = log[:killed_at], log[killed_at:]
    check("grant seq %d " % seq in before and "done seq %d " % seq not in before,
          "vmrd-host was killed between grant seq %d and its done" % seq)
    acc = re.search(r"accounted at (\d+) until QEMU answers", after)
    rec = re.search(r"reconciled: boot (\d+), current (\d+)", after)
    check(acc and rec, "the restarted broker accounted, then reconciled (%s)"
          % (rec.group(0) if rec else "no reconciled line"))
    boot, current = int(rec.group(1)), int(rec.group(2))
    # The runner's clock at the kill, within the 0.2 s the test polls its console.
    t = run.event("ramp1-start")["_time"] + kill_sec
    plugged = set(col(run.rows_between(t - 2, t + GAP + 3), "plugged_bytes"))
    check(boot == BOOT and current - boot in plugged,
          "its reconciled size is QEMU's: boot %d MiB + plugged %d MiB (QEMU reported %s MiB"
          " from 2 s before the kill to 3 s after the restart; accounted before QEMU answered:"
          " %d MiB)"
          % (boot // MIB, (current - boot) // MIB, sorted(v // MIB for v in plugged),
             int(acc.group(1)) // MIB))
    seqs = [int(s) for s in re.findall(r"grant seq (\d+) ", after)]
    done = [s for s in seqs if "done seq %d " % s in after]
    check(done, "vmrd's requests after the broker's restart were granted and done (seq %s)"
          % done)


def check_vmrd_kill(run, log, offsets):
    killed = run.event("vmrd-killed")
    check(killed["alive"] == "0", "vmrd was gone after SIGKILL")
    blocks = killed["blocks"].split("-")
    check(int(killed["grew_kb"]) > 0 or blocks[0] != blocks[1],
          "vmrd was killed while a grow was applied (MemTotal +%d MiB, memory blocks %s)"
          % (int(killed["grew_kb"]) >> 10, killed["blocks"]))
    check("vmrd-restarted" in offsets, "the test saw vmrd restarted")
    old = log[:offsets["vmrd-killed"]]
    last = re.findall(r"grant seq (\d+) ", old)
    if last:
        print("note: the old vmrd's last grant seq %s was %s before the kill" % (
            last[-1], "done" if "done seq %s " % last[-1] in old else "not done"), flush=True)
    new = log[offsets["vmrd-killed"]:]
    check('hello agent "vmrd"' in new, "the restarted vmrd said hello to the broker")
    seqs = [int(s) for s in re.findall(r"grant seq (\d+) ", new)]
    done = [s for s in seqs if "done seq %d " % s in new]
    check(done and min(done) <= 3,
          "the new vmrd's requests (seq from 1) were granted and done: seq %s" % done)
    ramp3 = run.event("ramp3-done")
    check(ramp3["status"] == "0", "the third ramp was served (memhog exit 0)")


def check_end(run, statuses):
    check(statuses, "the restarted broker answered status json")
    vm = statuses[-1]["vms"][0]
    plugged = col(run.timeline, "plugged_bytes")
    check(vm["current_bytes"] == BOOT + plugged[-1],
          "at the end the broker's current %d MiB is QEMU's boot + plugged %d MiB"
          % (vm["current_bytes"] // MIB, (BOOT + plugged[-1]) // MIB))
    check(vm["target_bytes"] == vm["current_bytes"],
          "settled: target %d MiB == current (no request left in flight)"
          % (vm["target_bytes"] // MIB))
    state = read_text(os.path.join(run.work, "host.state"))
    m = re.search(r"^vm e2e target=(\d+)$", state, re.M)
    check(m and int(m.group(1)) == vm["target_bytes"],
          "the state file holds that target (%s)" % (m.group(0) if m else state.strip()))
    check(run.oom_kills() == 0, "no OOM kill (%d)" % run.oom_kills())


def main():
    a = e2e_args(broker=True)
    broker = os.path.abspath(a.broker)
    image = build_image(a.source_root, a.build_root)
    scenario = os.path.join(os.path.dirname(os.path.abspath(__file__)), "midresize_kill.sh")
    run = Run(a.source_root, image,
              ["--mem", "512M", "--maxmem", "2G", "--scenario", "midresize", "--sarg", "700M 40 15",
               "--add", scenario + ":/scenarios/midresize"] + daemon_args(image, broker),
              timeout=240, wait=False)
    proc = None
    try:
        proc, killed_at, seq, kill_sec = kill_at_grant(run, broker)
        statuses, offsets = follow(run, proc)
        run.wait()
    finally:
        if run.proc.poll() is None:
            run.proc.terminate()
        if proc:
            proc.terminate()
            proc.wait(timeout=10)
    log = read_text(os.path.join(run.work, "broker.log"))
    check(log.count("started: ") == 2, "the broker was started twice")
    check_broker_kill(run, log, killed_at, seq, kill_sec)
    check_vmrd_kill(run, log, offsets)
    check_end(run, statuses)
    check(run.returncode == 0, "the scenario exited 0 (run-vm.py exit %d)" % run.returncode)
    run.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
