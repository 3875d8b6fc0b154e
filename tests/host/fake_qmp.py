#!/usr/bin/env python3
"""A fake QMP peer for fault injection -- NOT a QEMU.  It serves, on a unix
socket, only what vmrd-host asks of a VM with a virtio-mem device (vmem0):
the greeting, qmp_capabilities, query-memory-size-summary,
query-memory-devices and qom-set of requested-size.  What a real QEMU cannot
be made to do on demand, it does:

  ok     qom-set is taken and the "guest" follows: size = requested-size (also
         a guest that lagged catches up when asked for the sizes again)
  lag    qom-set is taken, but the guest never plugs or unplugs: size stays
  error  qom-set is answered with a GenericError: nothing changes
  slow   every answer but qmp_capabilities' comes 7 s late (longer than
         vmrd-host waits for one)
  hang   commands but qmp_capabilities are read and never answered
  close  the connection is closed on every command but qmp_capabilities

The mode is re-read from MODE_FILE before every command, so a test can
switch it while vmrd-host runs.  Every command is logged to stdout as
"cmd NAME [value]" with the mode it met and the time (seconds, monotonic).

Usage: fake_qmp.py SOCKET MODE_FILE --boot BYTES --size BYTES --max BYTES
"""

import argparse
import json
import os
import socket
import sys
import time

BLOCK = 2 << 20


class Vm:
    def __init__(self, a):
        self.boot = a.boot
        self.size = a.size          # virtio-mem plugged
        self.requested = a.size
        self.max = a.max
        self.mode_file = a.mode_file

    def mode(self):
        try:
            with open(self.mode_file) as f:
                return f.read().strip() or "ok"
        except OSError:
            return "ok"

    def answer(self, cmd, args, mode):
        if cmd == "qmp_capabilities":
            return {"return": {}}
        if cmd == "query-memory-size-summary":
            return {"return": {"base-memory": self.boot, "plugged-memory": self.size}}
        if cmd == "query-memory-devices":
            if mode == "ok":
                self.size = self.requested
            return {"return": [{"type": "virtio-mem", "data": {
                "id": "vmem0", "memaddr": 4 << 30, "node": 0, "memdev": "/objects/mem0",
                "size": self.size, "requested-size": self.requested, "max-size": self.max,
                "block-size": BLOCK}}]}
        if cmd == "qom-set" and args.get("property") == "requested-size":
            if mode == "error":
                return {"error": {"class": "GenericError",
                                  "desc": "fake_qmp: refusing requested-size (fault injection)"}}
            self.requested = int(args["value"])
            if mode == "ok":
                self.size = self.requested
            return {"return": {}}
        return {"error": {"class": "CommandNotFound", "desc": "fake_qmp: %s" % cmd}}


def serve(conn, vm):
    f = conn.makefile("rwb", buffering=0)
    f.write(json.dumps({"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0},
                                            "package": "fake"}, "capabilities": []}})
            .encode() + b"\n")
    for line in f:
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        cmd, args = msg.get("execute"), msg.get("arguments") or {}
        mode = vm.mode()
        print("cmd %s %s mode=%s t=%.3f" % (cmd, args.get("value", ""), mode, time.monotonic()),
              flush=True)
        if cmd != "qmp_capabilities" and mode == "close":
            return
        if cmd != "qmp_capabilities" and mode == "hang":
            continue
        if cmd != "qmp_capabilities" and mode == "slow":
            time.sleep(7)
        reply = vm.answer(cmd, args, mode)
        if "id" in msg:
            reply["id"] = msg["id"]
        f.write(json.dumps(reply).encode() + b"\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("socket")
    p.add_argument("mode_file")
    p.add_argument("--boot", type=int, required=True)
    p.add_argument("--size", type=int, required=True, help="virtio-mem plugged at start")
    p.add_argument("--max", type=int, required=True, help="virtio-mem max-size")
    a = p.parse_args()
    vm = Vm(a)
    if os.path.exists(a.socket):
        os.unlink(a.socket)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(a.socket)
    srv.listen(1)
    while True:
        conn, _ = srv.accept()
        try:
            serve(conn, vm)
        except (OSError, ValueError):
            pass
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
