#!/usr/bin/env python3
"""Counts test results from meson's testlog.json files and prints the closing
line `N passed, N failed`. A TAP test counts each `ok`/`not ok` line; any
other test counts once by its result. A TAP test that crashed or exited
non-zero after its last line counts one extra failure, so a crash is never
hidden behind earlier passes. Exit status: 0 when nothing failed."""
import json
import re
import sys

passed = failed = 0
args = sys.argv[1:]
if len(args) >= 2 and args[0] == "--extra-failures":
    failed += int(args[1])  # e.g. a build that failed: no test ran, it still fails
    args = args[2:]
for path in args:
    with open(path, encoding="utf-8") as f:
        for line in f:
            t = json.loads(line)
            out = t.get("stdout") or ""
            oks = len(re.findall(r"^ok \d+", out, re.M))
            bad = len(re.findall(r"^not ok \d+", out, re.M))
            if oks + bad > 0:
                passed += oks
                failed += bad
                if t["result"] not in ("OK", "EXPECTEDFAIL") and bad == 0:
                    failed += 1
                    print(f"FAIL: {t['name']} ({t['result']}, exit {t.get('returncode')}) after {oks} passes")
            elif t["result"] in ("OK", "EXPECTEDFAIL"):
                passed += 1
            else:
                failed += 1
                print(f"FAIL: {t['name']} ({t['result']})")
            for m in re.finditer(r"^not ok \d+.*$", out, re.M):
                print(f"FAIL: {t['name']}: {m.group(0)}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
