#!/usr/bin/python3
"""Summarise a meson test run.

Usage: test-summary.py BUILD_DIR

Reads BUILD_DIR/meson-logs/testlog.json (one JSON object per line, as written
by `meson test`), prints "FAILED: name" for every failing test and, as the very
last line, "N passed, N failed" (", N skipped" is appended when tests were
skipped). Exits 1 if anything failed or no test ran, else 0.
"""

import json
import os
import sys

PASSED = {"OK", "EXPECTEDFAIL"}
FAILED = {"FAIL", "TIMEOUT", "ERROR", "UNEXPECTEDPASS"}
SKIPPED = {"SKIP"}


def main(argv):
    if len(argv) != 2:
        print("usage: test-summary.py BUILD_DIR", file=sys.stderr)
        print("0 passed, 1 failed")
        return 1
    log_path = os.path.join(argv[1], "meson-logs", "testlog.json")
    try:
        with open(log_path, encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
    except OSError as e:
        print("test-summary: cannot read %s: %s" % (log_path, e.strerror))
        print("0 passed, 1 failed")
        return 1

    passed = failed = skipped = 0
    failures = []
    for lineno, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            print("test-summary: %s:%d: unparsable line" % (log_path, lineno))
            failed += 1
            failures.append("<unparsable testlog line %d>" % lineno)
            continue
        if not isinstance(entry, dict):
            continue
        result = str(entry.get("result", "")).upper()
        if result in PASSED:
            passed += 1
        elif result in SKIPPED:
            skipped += 1
        else:
            # FAILED and anything unknown count as failures.
            failed += 1
            failures.append(str(entry.get("name", "<unnamed>")))

    for name in failures:
        print("FAILED: %s" % name)
    summary = "%d passed, %d failed" % (passed, failed)
    if skipped:
        summary += ", %d skipped" % skipped
    print(summary)
    if failed or passed + failed == 0:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
