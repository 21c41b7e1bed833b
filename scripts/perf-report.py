#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the guest benchmarks' lines (scripts/perf) into figures and ratios.

Input: --raw FILE, one line per measurement, as scripts/perf writes them:

  kernel=frozen smp=2 round=3 pageref-bench: readstorm rep=1 threads=2 ops=N ms=M
  kernel=classic smp=4 round=1 pageref-bench: freecost rep=2 mode=anon threads=4 pages=N ms=M

A boot's rate is the median of its repetitions (rep=, 1 if absent).

Output in --out: per figure (benchmark, mode, guest CPUs) a CSV of the
median rate by thread count, one column per kernel, in the form
scripts/plot draws; ratios.csv and ratios.md: per figure and thread count,
each frozen-bit kernel's rate over the classic kernel's, the median of the
rounds' ratios with the lowest and the highest; with --userspace FILE (the
userspace-ratios.txt of rust/verify's bench) the table also has the
userspace benchmark's ratios, measured natively. Exit status 1 if a kernel
lacks a measurement of a round that another kernel has (a lost line).
"""

import argparse
import collections
import statistics
import sys

# The kernels, in the order of the columns, and their names in the figures.
KERNELS = {
    "classic": "classic",
    "frozen": "frozen-bit",
    "frozen-test": "frozen-bit on Rust",
}
WHAT = {
    "readstorm": ("read storm: T threads pread(fd, buf, 64, 0) one tmpfs file",
                  "reads per second (all threads)", "ops"),
    "freecost-anon": ("cost on free: T workers mmap, touch, munmap 64 anonymous pages",
                      "pages freed per second (all workers)", "pages"),
    "freecost-file": ("cost on free: T workers pwrite 64 tmpfs pages, ftruncate to 0",
                      "pages freed per second (all workers)", "pages"),
}


def parse(path):
    """{(figure, smp): {threads: {kernel: {round: rate}}}}"""
    reps = collections.defaultdict(
        lambda: collections.defaultdict(
            lambda: collections.defaultdict(lambda: collections.defaultdict(list))))
    with open(path) as f:
        for n, line in enumerate(f, 1):
            words = line.split()
            if "pageref-bench:" not in words:
                continue
            i = words.index("pageref-bench:")
            kv = dict(w.split("=", 1) for w in words if "=" in w)
            bench = words[i + 1]
            figure = bench + ("-" + kv["mode"] if "mode" in kv else "")
            if figure not in WHAT or kv.get("kernel") not in KERNELS:
                sys.exit(f"{path}:{n}: unexpected line: {line.strip()}")
            count = int(kv[WHAT[figure][2]])
            ms = int(kv["ms"])
            if ms <= 0:
                sys.exit(f"{path}:{n}: no time measured: {line.strip()}")
            cell = reps[(figure, int(kv["smp"]))][int(kv["threads"])]
            cell[kv["kernel"]][int(kv["round"])].append(count * 1000.0 / ms)
    return {key: {t: {k: {r: statistics.median(v) for r, v in boots.items()}
                      for k, boots in cell.items()}
                  for t, cell in rows.items()}
            for key, rows in reps.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--machine", required=True, help="the host, for the CSVs")
    ap.add_argument("--method", required=True, help="how it was measured")
    ap.add_argument("--userspace", help="rust/verify bench's userspace-ratios.txt")
    args = ap.parse_args()

    data = parse(args.raw)
    if not data:
        sys.exit(f"{args.raw}: no pageref-bench lines")
    ratios = []
    bad = False
    for (figure, smp), rows in sorted(data.items()):
        kernels = [k for k in KERNELS if any(k in r for r in rows.values())]
        title, ylabel, _ = WHAT[figure]
        lines = [f"# title: {title}, {smp} vCPUs (TCG)", f"# ylabel: {ylabel}",
                 f"# machine: {args.machine}", f"# method: {args.method}",
                 "threads," + ",".join(KERNELS[k] for k in kernels)]
        for threads, cell in sorted(rows.items()):
            rounds = set().union(*(cell[k].keys() for k in cell))
            missing = [f"{k} round {r}" for k in kernels for r in sorted(rounds)
                       if r not in cell.get(k, {})]
            if missing:
                print(f"{figure} {smp} vCPUs, {threads} threads: no figure from "
                      + ", ".join(missing), file=sys.stderr)
                bad = True
                continue
            lines.append(f"{threads}," + ",".join(
                f"{statistics.median(cell[k].values()):.0f}" for k in kernels))
            base = cell.get("classic", {})
            for k in kernels[1:]:
                per_round = [cell[k][r] / base[r] for r in cell[k] if r in base]
                if per_round:
                    ratios.append((figure, smp, threads, KERNELS[k], statistics.median(per_round),
                                   min(per_round), max(per_round), len(per_round)))
        with open(f"{args.out}/perf-{figure}-smp{smp}.csv", "w") as f:
            f.write("\n".join(lines) + "\n")

    if args.userspace:
        with open(args.userspace) as f:
            rows = [l.strip().split(",") for l in f if l.strip() and not l.startswith("#")]
        for m, threads, ratio, low, high, runs in rows[1:]:
            ratios.append((f"userspace {m}", "native", int(threads), "frozen-bit",
                           float(ratio), float(low), float(high), int(runs)))

    with open(f"{args.out}/ratios.csv", "w") as f:
        f.write(f"# machine: {args.machine}\n# method: {args.method}\n")
        f.write("figure,vcpus,threads,kernel,ratio,lowest,highest,rounds\n")
        for r in ratios:
            f.write("{},{},{},{},{:.3f},{:.3f},{:.3f},{}\n".format(*r))
    with open(f"{args.out}/ratios.md", "w") as f:
        f.write(f"Frozen bit / classic scheme (above 1: the frozen bit is faster). Guests "
                f"under QEMU TCG: rate over the classic kernel's, {args.method}; "
                f"{args.machine}. Userspace (native): classic ns / frozen-bit ns, "
                f"the median of the bench's runs.\n\n")
        f.write("| figure | vCPUs | threads | kernel | ratio | lowest | highest |\n")
        f.write("| --- | ---: | ---: | --- | ---: | ---: | ---: |\n")
        for r in ratios:
            f.write("| {} | {} | {} | {} | {:.3f} | {:.3f} | {:.3f} |\n".format(*r[:7]))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
