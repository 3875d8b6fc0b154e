#!/usr/bin/env python3
"""Turns the capture scenario's console output into fixture trees.

The guest's "capture" scenario prints each snapshot as a base64-encoded,
gzip-compressed tar archive between "VMRD-CAPTURE-BEGIN name=NAME" and
"VMRD-CAPTURE-END name=NAME" lines.  This script extracts every snapshot
into OUTDIR/NAME/ (proc/..., sys/devices/system/memory/...), replacing an
older tree of the same name.

Usage: capture-to-tree.py CONSOLE_LOG OUTDIR
"""

import base64
import io
import os
import re
import shutil
import sys
import tarfile

BEGIN = re.compile(r"VMRD-CAPTURE-BEGIN name=(\S+)")
END = re.compile(r"VMRD-CAPTURE-END name=(\S+)")


def snapshots(lines):
    name, body = None, []
    for line in lines:
        line = line.rstrip("\r\n")
        m = BEGIN.search(line)
        if m:
            name, body = m.group(1), []
            continue
        m = END.search(line)
        if m and name == m.group(1):
            yield name, base64.b64decode("".join(body))
            name = None
            continue
        if name is not None:
            body.append(line.strip())


def safe_members(tar, dest):
    """Refuses members that would land outside dest."""
    root = os.path.realpath(dest)
    for member in tar.getmembers():
        target = os.path.realpath(os.path.join(dest, member.name))
        if not (target == root or target.startswith(root + os.sep)):
            raise ValueError("capture member %r escapes the tree" % member.name)
        if not (member.isfile() or member.isdir() or member.issym()):
            raise ValueError("capture member %r has an unexpected type" % member.name)
        yield member


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    log, outdir = sys.argv[1], sys.argv[2]
    with open(log, encoding="utf-8", errors="replace") as f:
        found = list(snapshots(f))
    if not found:
        print("capture-to-tree: no snapshot in %s" % log, file=sys.stderr)
        return 1
    for name, blob in found:
        dest = os.path.join(outdir, name)
        shutil.rmtree(dest, ignore_errors=True)
        os.makedirs(dest)
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
            tar.extractall(dest, members=list(safe_members(tar, dest)))
        count = sum(len(files) for _, _, files in os.walk(dest))
        print("capture-to-tree: %s: %d files" % (dest, count))
    return 0


if __name__ == "__main__":
    sys.exit(main())
