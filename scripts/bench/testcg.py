#!/usr/bin/env python3
"""A memory-limited cgroup for the tests and benchmarks of vmrd-host's cgroup
budget: create it, put processes in it (QEMU, and the workload that raises
pressure), change its limit, read its pressure, remove it.

Memory experiments on this project's machines run only inside a cgroup
with a limit (or inside a VM): whatever the workload does, the kernel keeps
it, and its OOM kills, within the group.

Two layouts are handled, as vmrd-host reads them (src/host/hostmem.h):
  v2      /sys/fs/cgroup/NAME: memory.max, memory.high, memory.pressure
  hybrid  the memory controller on v1 (/sys/fs/cgroup/memory/NAME,
          memory.limit_in_bytes) and pressure from the unified v2 tree
          (/sys/fs/cgroup/unified/NAME/memory.pressure); a process joins both.

Usage (root):
  testcg.py check                     exit 0 if a limited cgroup can be made, 77 if not
  testcg.py create NAME LIMIT [HIGH]  sizes in bytes or with K/M/G
  testcg.py limit NAME LIMIT [HIGH]
  testcg.py exec NAME -- CMD ARGS...  join the cgroup, then exec CMD (same pid)
  testcg.py psi NAME                  some avg10 in hundredths of a percent
  testcg.py usage NAME                bytes
  testcg.py destroy NAME              move what is left to the root, remove
"""

import os
import sys
import time

ROOT = "/sys/fs/cgroup"


def parse_size(text):
    text = str(text).strip()
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:].upper())
    return int(text[:-1]) * mult if mult else int(text)


def layout():
    """'v2', 'hybrid', or None when no memory controller can be used."""
    if os.path.exists(os.path.join(ROOT, "cgroup.controllers")):
        with open(os.path.join(ROOT, "cgroup.controllers")) as f:
            return "v2" if "memory" in f.read().split() else None
    if os.path.exists(os.path.join(ROOT, "memory", "memory.limit_in_bytes")):
        return "hybrid"
    return None


def write(path, text):
    with open(path, "w") as f:
        f.write(str(text))


class Cgroup:
    def __init__(self, name):
        self.name = name.strip("/")
        self.kind = layout()
        self.path = "/" + self.name  # as vmrd-host's budget = cgroup:PATH takes it
        if self.kind == "v2":
            self.mem = os.path.join(ROOT, self.name)
            self.psi_dir = self.mem
        else:
            self.mem = os.path.join(ROOT, "memory", self.name)
            uni = os.path.join(ROOT, "unified")
            self.psi_dir = os.path.join(uni, self.name) if os.path.isdir(uni) else None
        self.dirs = [self.mem] + ([self.psi_dir] if self.psi_dir not in (None, self.mem) else [])

    def create(self, limit, high=None):
        if self.kind is None:
            raise OSError("no memory cgroup controller")
        if self.kind == "v2":
            with open(os.path.join(ROOT, "cgroup.subtree_control")) as f:
                if "memory" not in f.read().split():
                    write(os.path.join(ROOT, "cgroup.subtree_control"), "+memory")
        for d in self.dirs:
            os.makedirs(d, exist_ok=True)
        self.set_limit(limit, high)

    def set_limit(self, limit, high=None):
        if self.kind == "v2":
            # memory.high is where the kernel throttles and reclaims, max the hard limit.
            write(os.path.join(self.mem, "memory.high"), high if high else "max")
            write(os.path.join(self.mem, "memory.max"), limit)
        else:
            write(os.path.join(self.mem, "memory.limit_in_bytes"), limit)

    def join(self, pid):
        for d in self.dirs:
            write(os.path.join(d, "cgroup.procs"), pid)

    def psi_some_avg10(self):
        """The cgroup's memory PSI some avg10 in hundredths of a percent (None: no PSI)."""
        if not self.psi_dir:
            return None
        with open(os.path.join(self.psi_dir, "memory.pressure")) as f:
            for line in f:
                if line.startswith("some "):
                    for kv in line.split()[1:]:
                        k, _, v = kv.partition("=")
                        if k == "avg10":
                            return int(round(float(v) * 100))
        return None

    def usage(self):
        name = "memory.current" if self.kind == "v2" else "memory.usage_in_bytes"
        with open(os.path.join(self.mem, name)) as f:
            return int(f.read())

    def pids(self):
        out = set()
        for d in self.dirs:
            try:
                with open(os.path.join(d, "cgroup.procs")) as f:
                    out |= {int(x) for x in f.read().split()}
            except OSError:
                pass
        return out

    def destroy(self):
        """Moves what is left to the parent and removes the directories."""
        for d in reversed(self.dirs):
            parent = os.path.dirname(d)
            for _ in range(50):
                try:
                    with open(os.path.join(d, "cgroup.procs")) as f:
                        left = f.read().split()
                except OSError:
                    break
                for pid in left:
                    try:
                        write(os.path.join(parent, "cgroup.procs"), pid)
                    except OSError:
                        pass
                try:
                    os.rmdir(d)
                    break
                except OSError:
                    time.sleep(0.1)


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = argv[1]
    if cmd == "check":
        return 0 if os.geteuid() == 0 and layout() else 77
    cg = Cgroup(argv[2])
    if cmd == "create":
        cg.create(parse_size(argv[3]), parse_size(argv[4]) if len(argv) > 4 else None)
    elif cmd == "limit":
        cg.set_limit(parse_size(argv[3]), parse_size(argv[4]) if len(argv) > 4 else None)
    elif cmd == "exec":
        rest = argv[argv.index("--") + 1:]
        cg.join(os.getpid())
        os.execvp(rest[0], rest)
    elif cmd == "psi":
        print(cg.psi_some_avg10())
    elif cmd == "usage":
        print(cg.usage())
    elif cmd == "destroy":
        cg.destroy()
    else:
        print("testcg: unknown command %s" % cmd, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
