#!/usr/bin/env python3
"""The naming rules promtool does not check, on real `metrics` output.

Every family has HELP and TYPE; base units only (no _usec, _msec, _centi,
_percent, _kb, _mib...); counters end in _total and only counters do; a
summary's samples are _sum and _count; every sample belongs to a declared
family; names are vmrd_ (guest) or vmrd_host_ (host).

    check_names.py FILE...
"""
import re
import sys

NOT_BASE = re.compile(r"_(usec|msec|us|ms|ns|sec|centi|percent|pct|kb|kib|mb|mib|gb|gib)(_|$)")
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$")


def check(path):
    errors = []
    help_, type_ = {}, {}
    samples = 0
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("# HELP "):
            name, text = line[7:].split(" ", 1)
            help_[name] = text
            continue
        if line.startswith("# TYPE "):
            name, t = line[7:].split(" ", 1)
            type_[name] = t
            continue
        m = SAMPLE.match(line)
        if not m:
            errors.append("not a sample line: %r" % line)
            continue
        samples += 1
        name = m.group(1)
        family = name
        for suffix in ("_sum", "_count"):
            if name.endswith(suffix) and type_.get(name[: -len(suffix)]) == "summary":
                family = name[: -len(suffix)]
        if family not in type_:
            errors.append("%s: sample without a TYPE" % name)
        float(m.group(3))
    for name, t in type_.items():
        if name not in help_ or not help_[name].strip():
            errors.append("%s: no HELP" % name)
        if NOT_BASE.search(name):
            errors.append("%s: not in base units" % name)
        if t == "counter" and not name.endswith("_total"):
            errors.append("%s: a counter must end in _total" % name)
        if t != "counter" and name.endswith("_total"):
            errors.append("%s: only counters end in _total" % name)
        if not name.startswith("vmrd_"):
            errors.append("%s: not a vmrd_ name" % name)
    if samples == 0:
        errors.append("no samples")
    return errors, len(type_), samples


def main():
    bad = 0
    for path in sys.argv[1:]:
        errors, families, samples = check(path)
        for e in errors:
            print("FAIL: %s: %s" % (path, e))
        bad += len(errors)
        print("%s: %d families, %d samples, %d problems" % (path, families, samples, len(errors)))
    sys.exit(1 if bad else 0)


main()
