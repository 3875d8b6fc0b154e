#!/usr/bin/env python3
"""Print the closing line of `make check` from meson's test logs.

Reads every meson-logs/testlog.json named on the command line and prints
one line "N passed, N failed, N skipped" over all of them; exits 1 if any
test failed or a log is missing.
"""
import json
import sys

passed = failed = skipped = 0
ok = True
for path in sys.argv[1:]:
    try:
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                res = rec.get("result")
                if res in ("OK", "EXPECTEDFAIL"):
                    passed += 1
                elif res == "SKIP":
                    skipped += 1
                else:
                    failed += 1
                    print(f"FAILED: {rec.get('name')} ({res})")
    except OSError as e:
        print(f"missing test log: {e}")
        ok = False
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(0 if ok and failed == 0 else 1)
