#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The race harness's results, read from its KTAP with the kernel's parser.

  variant NAME     the number of broken variant NAME, for page_ref_torture's
                   variant= (7.3's Rust module parameters have no strings):
                   its place in Variant::ALL of rust/algo/page_ref_algo.rs
  report LOG...    each console log of a harness boot (scripts/race): the
                   module's KTAP stream, parsed by tools/testing/kunit's
                   kunit_parser (what `kunit.py parse` runs), one line per
                   scenario and one for the pages, with the numbers of each
                   test's diagnostic lines; --json writes them for
                   scripts/race-matrix; the exit status says whether each
                   run is what --expect asks:
                     correct  every scenario ok, pages ok
                     caught   some scenario not ok (a variant caught)
                     unload   the run was stopped by the unload, pages ok
  table KIND JSON...  a Markdown table of runs --json wrote (race-matrix):
                   ops (a column per file: each scenario's ops, violations,
                   the operations the C and the Rust code counted, and
                   races), caught (a row per file: runs that caught the
                   variant, ms to the first violation), coverage (a row
                   per file: ms to the first violation in each scenario),
                   unload (a row per run: pages held when unloaded, after)

The harness's diagnostic lines are "# NAME: key=value ...", printed before
the test line of scenario NAME ("final" counters, "impl=" summary).
"""

import argparse
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALGO = os.path.join(ROOT, "rust/algo/page_ref_algo.rs")
MARKER = "pageref-init: load"
OWN = re.compile(r"(\[\s*[0-9.]+\] )?page_ref_torture: ")
PAIR = re.compile(r"([a-z_.]+)=(-?[0-9]+|[a-z_]+)")


def die(msg):
    sys.exit(f"race.py: error: {msg}")


def variants():
    """The names of Variant::ALL, in order."""
    src = open(ALGO).read()
    block = re.search(r"const ALL: \[Variant; \d+\] = \[(.*?)\];", src, re.S)
    names = dict(re.findall(r'Variant::(\w+) => "([a-z_]+)"', src))
    if not block or not names:
        die(f"cannot find Variant::ALL and Variant::name in {ALGO}")
    return [names[v] for v in re.findall(r"Variant::(\w+)", block.group(1))]


def cmd_variant(args):
    have = variants()
    if args.name not in have:
        die(f"no variant '{args.name}' (have {' '.join(have)})")
    print(have.index(args.name))


def kunit_parser(tree):
    sys.path.insert(0, os.path.join(tree, "tools/testing/kunit"))
    try:
        import kunit_parser as kp
        import kunit_printer
    except ImportError:
        die(f"--tree '{tree}' has no tools/testing/kunit/kunit_parser.py")
    return kp, kunit_printer


def numbers(lines, name):
    """key=value pairs of the diagnostic lines "# NAME: ..." (last wins)."""
    out = {}
    for line in lines:
        m = re.match(rf"#\s*{re.escape(name)}: (.*)", line.strip())
        if m:
            for k, v in PAIR.findall(m.group(1)):
                out[k] = int(v) if re.fullmatch(r"-?[0-9]+", v) else v
    return out


def read_run(kp, printer, path):
    """The harness's tests of one console log, as dicts."""
    with open(path, errors="backslashreplace") as f:
        lines = f.read().splitlines()
    # The module's stream: from the last load of the harness on.
    starts = [i for i, x in enumerate(lines) if MARKER in x and "page_ref_torture" in x]
    # Its own lines only: KUnit prints a header of its own ("KTAP version
    # 1", "1..1", "kunit: disabled") when a module with a suite loads, and
    # the console may show it between the harness's first lines.
    stream = [x for x in (lines[starts[-1]:] if starts else lines) if OWN.match(x)]
    top = kp.parse_run_tests(stream, printer)
    run = {"log": path, "tests": [], "stopped_holding": None, "parsed": bool(top.subtests)}
    for t in top.subtests:
        d = {"name": t.name, "status": t.status.name, "skip": t.skip_reason}
        d.update(numbers(t.log, t.name))
        run["tests"].append(d)
        for x in t.log:
            m = re.search(r"# stopping the run early, holding (\d+) pages", x)
            if m:
                run["stopped_holding"] = int(m.group(1))
    run["unloaded"] = any("pageref-init: page_ref_torture: unloaded" in x for x in lines)
    run["trouble"] = next((x.strip() for x in lines
                           if re.search(r"Kernel panic|BUG:|Oops|WARNING:", x)), "")
    return run


def describe(t):
    if t["status"] == "SKIPPED":
        return f"{t['name']}: skipped ({t['skip']})"
    if t["name"] == "pages":
        return f"pages: {'ok' if t['status'] == 'SUCCESS' else 'NOT OK'}, " \
               f"held {t.get('held', '?')}, given up {t.get('leaked', '?')}"
    ops = " ".join(f"{k}={v}" for k, v in t.items() if k.startswith(("c.", "rust.")))
    stats = " ".join(f"{k}={t[k]}" for k in ("revivals", "stale_claims", "injected", "extern_calls")
                     if k in t)
    first = t.get("first_violation_ms", -1)
    return (f"{t['name']}: {'ok' if t['status'] == 'SUCCESS' else 'NOT OK'}, "
            f"{t.get('ops', '?')} ops, {t.get('violations', '?')} violations"
            + (f" (first at {first} ms)" if first >= 0 else "")
            + (f"; {stats}" if stats else "") + (f"; {ops}" if ops else ""))


def judge(run, expect):
    """(passed, why) of one run."""
    scen = [t for t in run["tests"] if t["name"] != "pages"]
    pages = next((t for t in run["tests"] if t["name"] == "pages"), None)
    if expect == "caught":
        # What a variant breaks may stop the kernel after the verdict.
        caught = [t for t in scen if t["status"] == "FAILURE"]
        if not caught:
            return False, "NOT caught" + ("" if pages else ": no complete KTAP from the harness")
        return True, "caught by " + ", ".join(
            f"{t['name']} at {t.get('first_violation_ms', '?')} ms" for t in caught)
    if not run["parsed"] or pages is None:
        return False, "no complete KTAP from the harness"
    pages_ok = pages["status"] == "SUCCESS"
    console = "console: " + run["trouble"] if run["trouble"] else ""
    if expect == "unload":
        if console:
            return False, console
        if not run["unloaded"]:
            return False, "the unload did not succeed"
        if run["stopped_holding"] is None:
            return False, "the run had ended before the unload (make it longer)"
        return pages_ok, (f"unloaded while holding {run['stopped_holding']} pages; "
                          + ("none left" if pages_ok else "pages left: " + describe(pages)))
    bad = [t["name"] for t in scen if t["status"] not in ("SUCCESS", "SKIPPED")]
    if bad or not pages_ok:
        return False, "FAIL in " + " ".join(bad + ([] if pages_ok else ["pages"])) \
            + ("; " + console if console else "")
    if console:
        return False, console
    return True, f"PASS, no violation in {len(scen)} scenario(s)"


def cmd_report(args):
    kp, kprint = kunit_parser(args.tree)
    printer = kprint.Printer(print=False)
    runs, failed = [], 0
    for i, path in enumerate(args.logs, 1):
        run = read_run(kp, printer, path)
        ok, why = judge(run, args.expect)
        run["passed"], run["why"] = ok, why
        runs.append(run)
        for t in run["tests"]:
            print("    " + describe(t))
        print(f"race: run {i}/{len(args.logs)}: {why}")
        failed += not ok
    if args.json:
        with open(args.json, "w") as f:
            json.dump(runs, f, indent=1)
    return 1 if failed else 0


def cmd_table(args):
    """One Markdown table: runs of a part, one column (or row) per file."""
    cols = []
    for path in args.json:
        label = os.path.basename(path).removesuffix(".json")
        try:
            cols.append((label, json.load(open(path))))
        except (OSError, ValueError):
            cols.append((label, []))
    if args.kind == "ops":
        names = []
        for _, runs in cols:
            for r in runs:
                names += [t["name"] for t in r["tests"] if t["name"] not in names]
        print("| scenario | " + " | ".join(c for c, _ in cols) + " |")
        print("|---|" + "---:|" * len(cols))
        for n in names:
            cells = []
            for _, runs in cols:
                t = next((t for r in runs[:1] for t in r["tests"] if t["name"] == n), None)
                if t is None:
                    cells.append("missing")
                elif t["status"] == "SKIPPED":
                    cells.append("skipped")
                elif n == "pages":
                    cells.append(f"held {t.get('held')}, given up {t.get('leaked')}")
                else:
                    extra = " ".join(f"{k} {t[k]}" for k in ("revivals", "stale_claims")
                                     if t.get(k))
                    # Which code ran: the operations each implementation
                    # counted, every kind together.
                    c = sum(v for k, v in t.items() if k.startswith("c."))
                    rust = sum(v for k, v in t.items() if k.startswith("rust."))
                    extra = f"C {c} / Rust {rust}" + (f", {extra}" if extra else "")
                    cells.append(f"{t.get('ops')} ({t.get('violations')})"
                                 + ("" if t["status"] == "SUCCESS" else " FAIL")
                                 + (f", {extra}" if extra else ""))
            print(f"| {n} | " + " | ".join(cells) + " |")
    elif args.kind == "coverage":
        names = []
        for _, runs in cols:
            for r in runs[:1]:
                names += [t["name"] for t in r["tests"]
                          if t["name"] not in names and t["name"] != "pages"]
        print("| run | " + " | ".join(names) + " |")
        print("|---|" + "---:|" * len(names))
        for label, runs in cols:
            cells = []
            for n in names:
                t = next((t for r in runs[:1] for t in r["tests"] if t["name"] == n), None)
                cells.append("no verdict" if t is None else "skipped" if t["status"] == "SKIPPED"
                             else str(t.get("first_violation_ms")) if t["status"] == "FAILURE"
                             else "-")
            print(f"| {label} | " + " | ".join(cells) + " |")
    elif args.kind == "unload":
        print("| run | unloaded while holding (pages) | after: held, given up | passed |")
        print("|---|---:|---|---|")
        for label, runs in cols:
            for r in runs:
                p = next((t for t in r["tests"] if t["name"] == "pages"), {})
                print(f"| {label} | {r.get('stopped_holding')} | {p.get('held')}, {p.get('leaked')}"
                      f" | {'yes' if r.get('passed') else 'NO: ' + r.get('why', '')} |")
    else:
        print("| run | caught in | first violation (ms) |")
        print("|---|---:|---|")
        for label, runs in cols:
            caught = [r for r in runs if r.get("passed")]
            times = [str(t.get("first_violation_ms")) for r in runs for t in r["tests"]
                     if t["status"] == "FAILURE" and t["name"] != "pages"]
            print(f"| {label} | {len(caught)}/{len(runs)} | {' '.join(times) or 'none'} |")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("variant", help="the number of a broken variant")
    v.add_argument("name")
    r = sub.add_parser("report", help="read harness boots' console logs")
    r.add_argument("--tree", required=True, help="the patched kernel tree (its kunit_parser)")
    r.add_argument("--expect", required=True, choices=["correct", "caught", "unload"])
    r.add_argument("--json", help="write the runs here")
    r.add_argument("logs", nargs="+")
    t = sub.add_parser("table", help="a Markdown table of --json files")
    t.add_argument("kind", choices=["ops", "caught", "coverage", "unload"])
    t.add_argument("json", nargs="+")
    args = ap.parse_args()
    return {"variant": cmd_variant, "report": cmd_report, "table": cmd_table}[args.cmd](args) or 0


if __name__ == "__main__":
    sys.exit(main())
