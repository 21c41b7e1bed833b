#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Summarise KUnit results from the JSON that `kunit.py --json` writes.

Prints one line per suite (passed, failed, skipped) and a total line; with
several files, a grand total. `--total` prints only the closing line the CI
reads: "N passed, N failed, N skipped". Exit status 1 if any test failed,
or if no test ran at all (a boot that crashed before KTAP).

This reads kunit.py's JSON; KTAP itself is parsed by kunit.py only.
"""

import argparse
import json
import sys


def leaves(group):
    """Yield the status of every test case under a JSON test group."""
    for case in group.get("test_cases", []):
        yield case["status"]
    for sub in group.get("sub_groups", []):
        yield from leaves(sub)


def count(statuses):
    c = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    for s in statuses:
        c["PASS" if s == "PASS" else "SKIP" if s == "SKIP" else "FAIL"] += 1
    return c


def line(c):
    return f"{c['PASS']} passed, {c['FAIL']} failed, {c['SKIP']} skipped"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", nargs="+", help="kunit.py --json output files")
    ap.add_argument("--label", default="", help="prefix of the printed lines")
    ap.add_argument("--total", action="store_true",
                    help="print only the grand total line")
    args = ap.parse_args()

    total = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    ok = True
    for path in args.json:
        try:
            with open(path) as f:
                top = json.load(f)
        except (OSError, ValueError) as e:
            print(f"{args.label}: no results in {path}: {e}", file=sys.stderr)
            total["FAIL"] += 1
            ok = False
            continue
        file_total = count(leaves(top))
        if not args.total:
            suites = top.get("sub_groups", []) or [top]
            for suite in suites:
                print(f"{args.label}: {suite['name']}: {line(count(leaves(suite)))}")
        for k in total:
            total[k] += file_total[k]
    if sum(total.values()) == 0:
        print(f"{args.label}: no test ran (boot failed?)", file=sys.stderr)
        total["FAIL"] += 1
    if total["FAIL"]:
        ok = False
    print(line(total) if args.total else f"{args.label}: total: {line(total)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
