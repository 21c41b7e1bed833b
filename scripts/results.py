#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Summarise KUnit results from the JSON that `kunit.py --json` writes.

Prints one line per suite (passed, failed, skipped) and a total line; with
several files, a grand total. `--total` prints only the closing line the CI
reads: "N passed, N failed, N skipped". Exit status 1 if any test failed,
or if no test ran at all (a boot that crashed before KTAP). `--failing`
lists the failed cases instead (how a broken variant was caught);
`--same-as BASE...` compares per-suite counts (passed/failed/skipped) with
those of other runs, one test per suite both have.

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


def all_suites(paths):
    """Every suite (a JSON test group) of the readable files among paths."""
    for path in paths:
        try:
            with open(path) as f:
                top = json.load(f)
        except (OSError, ValueError):
            continue
        yield from top.get("sub_groups", []) or [top]


def suite_counts(paths):
    """{suite name: (passed, failed, skipped)} over kunit.py JSON files."""
    out = {}
    for suite in all_suites(paths):
        c = count(leaves(suite))
        out[suite["name"]] = (c["PASS"], c["FAIL"], c["SKIP"])
    return out


def compare(args):
    """One test per suite: the same counts in the files as in the base."""
    other, base = suite_counts(args.json), suite_counts(args.same_as)
    names = sorted(n for n in base.keys() & other.keys()
                   if not any(n.startswith(e) for e in args.exclude))
    cases = []
    for n in names:
        same = base[n] == other[n]
        cases.append({"name": f"{args.label}: {n} {'same' if same else 'differs'}: "
                              f"{'/'.join(map(str, other[n]))} vs {'/'.join(map(str, base[n]))}",
                      "status": "PASS" if same else "FAIL"})
        print(f"{'ok' if same else 'not ok'} - {cases[-1]['name']}")
    if not names:
        cases.append({"name": f"{args.label}: no suite to compare", "status": "FAIL"})
        print(f"not ok - {cases[-1]['name']}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"name": args.label, "sub_groups": [], "test_cases": cases}, f, indent=1)
    return 0 if all(c["status"] == "PASS" for c in cases) else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("json", nargs="+", help="kunit.py --json output files")
    ap.add_argument("--label", default="", help="prefix of the printed lines")
    ap.add_argument("--total", action="store_true",
                    help="print only the grand total line")
    ap.add_argument("--failing", action="store_true",
                    help="print only the failed cases, suite.case a line")
    ap.add_argument("--same-as", nargs="+", metavar="BASE",
                    help="compare per-suite counts of the JSON files with those of "
                         "BASE files: one test per suite in both, except --except")
    ap.add_argument("--except", dest="exclude", action="append", default=[],
                    help="suite name prefix that --same-as leaves out")
    ap.add_argument("--out", help="with --same-as: write the comparison as JSON")
    args = ap.parse_args()
    if args.same_as:
        return compare(args)
    if args.failing:
        for suite in all_suites(args.json):
            for case in suite.get("test_cases", []):
                if case["status"] not in ("PASS", "SKIP"):
                    print(f"{suite['name']}.{case['name']}")
        return

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
