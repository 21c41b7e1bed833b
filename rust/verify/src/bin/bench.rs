//! The userspace benchmark of the three ways to count page references, over
//! std atomics ([`StdWord`]) with the algorithm of `rust/algo/page_ref_algo.rs`:
//!
//! - the classic scheme (`atomic_add_unless(v, 1, 0)`: read, `cmpxchg`, retry
//!   while another thread changed the word in between; a put is one fully
//!   ordered decrement);
//! - the frozen bit (a get is one fully ordered `atomic_add_return()` and a
//!   test of bit 31; the put that reaches zero also claims the page, a
//!   `cmpxchg` from 0 to the frozen bit);
//! - plain atomic adds (`atomic_inc()`, `atomic_dec()`), the floor any
//!   scheme costs.
//!
//! Three measurements, each 1..N threads:
//!
//! - `get`: speculative gets on one word (the cache line every reader of a
//!   page-cache page meets);
//! - `get-put`: a get and its put on one word held at 1 (what a page-cache
//!   reader does for every `read()`: the put is never the last);
//! - `last-put`: the put that frees: each thread stores 1 in a word of its own
//!   (the allocator's `set_page_count()`) and puts it, so every put is the
//!   last. With one thread it is the uncontended cost of the claim; with more
//!   the threads' words share one cache line, so every operation first takes
//!   the line from another CPU, as when other CPUs hammer the page being freed.
//!
//! Each thread times its own operations; a run measures the schemes back to
//! back, so that a change in where the host runs the threads weighs on all
//! alike; the figures are medians over the runs, the ratios the medians of
//! each run's ratios. It prints Markdown tables and, with `--out DIR`, writes
//! `DIR/userspace-<measurement>.csv` (ns per operation by threads, one
//! column a scheme, the machine in its comments) for `scripts/plot`, and
//! `DIR/userspace-ratios.txt` (the ratios, CSV) for `scripts/perf-report.py`.

use page_ref_verify::algo::{PageRefOps, RefAtomic, Variant};
use page_ref_verify::word::StdWord;
use std::hint::black_box;
use std::io::Write;
use std::sync::Barrier;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: bench [--threads MAX] [--ops OPS_PER_THREAD] [--runs RUNS] [--out DIR]";

const CLASSIC: PageRefOps = PageRefOps::classic();
const FROZEN_BIT: PageRefOps = PageRefOps::frozen_bit(Variant::Correct);

/// Words on 128 bytes (two 64-byte lines, as the adjacent-line prefetcher
/// pairs them): a shared word is alone on its line, and `last-put`'s words
/// of up to [`LINE_WORDS`] threads share the first line.
#[repr(align(128))]
struct Line([StdWord; LINE_WORDS]);

const LINE_WORDS: usize = 16;

#[derive(Clone, Copy, PartialEq)]
enum Scheme {
    Classic,
    FrozenBit,
    Plain,
}

impl Scheme {
    fn name(self) -> &'static str {
        match self {
            Scheme::Classic => "classic",
            Scheme::FrozenBit => "frozen-bit",
            Scheme::Plain => "plain",
        }
    }

    fn ops(self) -> PageRefOps {
        if self == Scheme::Classic {
            CLASSIC
        } else {
            FROZEN_BIT
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Measure {
    Get,
    GetPut,
    LastPut,
}

impl Measure {
    fn name(self) -> &'static str {
        match self {
            Measure::Get => "get",
            Measure::GetPut => "get-put",
            Measure::LastPut => "last-put",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Measure::Get => "ns per speculative get, all threads on one word",
            Measure::GetPut => "ns per get and put, all threads on one word held at 1",
            Measure::LastPut => {
                "ns per free (store 1, put the last reference), each thread its own word, \
                 the words on one cache line"
            }
        }
    }

    /// The schemes it compares: a plain decrement claims nothing, so it has
    /// no last put to compare with.
    fn schemes(self) -> &'static [Scheme] {
        match self {
            Measure::LastPut => &[Scheme::Classic, Scheme::FrozenBit],
            _ => &[Scheme::Classic, Scheme::FrozenBit, Scheme::Plain],
        }
    }

    /// One operation of `scheme` on `word`.
    #[inline(always)]
    fn op(self, scheme: Scheme, word: &StdWord) {
        match (self, scheme) {
            (Measure::Get, Scheme::Plain) => word.inc_relaxed(),
            (Measure::Get, s) => {
                black_box(s.ops().try_get(word, 1));
            }
            (Measure::GetPut, Scheme::Plain) => {
                word.inc_relaxed();
                word.dec_relaxed();
            }
            (Measure::GetPut, s) => {
                let ops = s.ops();
                if black_box(ops.try_get(word, 1)) {
                    black_box(ops.dec_and_test(word));
                }
            }
            (Measure::LastPut, s) => {
                word.set(1);
                black_box(s.ops().dec_and_test(word));
            }
        }
    }
}

/// `threads` threads each do `ops` operations, starting together; returns
/// the time each took, averaged over the threads. Each thread times itself:
/// with as many threads as CPUs a timing thread of its own would only run
/// once they are done.
fn run(measure: Measure, scheme: Scheme, threads: usize, ops: u64) -> Duration {
    let line = Line(std::array::from_fn(|_| StdWord::new(1)));
    let start = Barrier::new(threads);
    let total: Duration = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|i| {
                let word = if measure == Measure::LastPut {
                    &line.0[i]
                } else {
                    &line.0[0]
                };
                let start = &start;
                s.spawn(move || {
                    start.wait();
                    let t = Instant::now();
                    for _ in 0..ops {
                        measure.op(scheme, word);
                    }
                    t.elapsed()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    total / threads as u32
}

/// The median of `v`.
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// One row: for `threads` threads, the median ns per operation of each
/// scheme, then the median, lowest and highest of the runs' classic /
/// frozen-bit ratios.
fn row(measure: Measure, threads: usize, ops: u64, runs: usize) -> (Vec<f64>, [f64; 3]) {
    let schemes = measure.schemes();
    let mut cols = vec![Vec::new(); schemes.len()];
    let mut ratios = Vec::new();
    for _ in 0..runs {
        let ns: Vec<f64> = schemes
            .iter()
            .map(|&s| run(measure, s, threads, ops).as_nanos() as f64 / ops as f64)
            .collect();
        ratios.push(ns[0] / ns[1]);
        for (col, v) in cols.iter_mut().zip(&ns) {
            col.push(*v);
        }
    }
    let lowest = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let highest = ratios.iter().copied().fold(0.0, f64::max);
    (
        cols.into_iter().map(median).collect(),
        [median(ratios), lowest, highest],
    )
}

/// The first "model name" of /proc/cpuinfo.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn fail(msg: &str) -> ! {
    eprintln!("bench: error: {msg}\n{USAGE}");
    std::process::exit(2)
}

struct Args {
    threads: usize,
    ops: u64,
    runs: usize,
    out: Option<std::path::PathBuf>,
}

fn parse_args(cpus: usize) -> Args {
    let mut a = Args {
        threads: cpus,
        ops: 2_000_000,
        runs: 11,
        out: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}\n(defaults: --threads {cpus} --ops 2000000 --runs 11)");
            std::process::exit(0);
        }
        let value = it
            .next()
            .unwrap_or_else(|| fail(&format!("{flag} needs a value")));
        let number = || -> u64 {
            match value.parse() {
                Ok(n) if n > 0 => n,
                _ => fail(&format!("{flag} '{value}' is not a positive number")),
            }
        };
        match flag.as_str() {
            "--threads" => a.threads = number() as usize,
            "--ops" => a.ops = number(),
            "--runs" => a.runs = number() as usize,
            "--out" => a.out = Some(value.into()),
            _ => fail(&format!("unknown argument '{flag}'")),
        }
    }
    a
}

fn main() -> std::io::Result<()> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let args = parse_args(cpus);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<_> = load.split_whitespace().take(3).collect();
    let machine = format!("{}, {cpus} CPUs, {}", cpu_model(), std::env::consts::ARCH);
    let method = format!(
        "{} ops per thread, medians of {} runs, ratios the medians of each run's",
        args.ops, args.runs
    );
    println!("machine: {machine}");
    println!("load average before: {}", load.join(" "));
    println!("{method}");
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)?;
    }
    // The ratios, for the table of scripts/perf: per measurement and
    // thread count, classic ns / frozen-bit ns (above 1: the frozen bit is
    // faster), as the guests' rates are compared.
    let mut ratios = format!(
        "# machine: {machine}\n# method: {method}\n\
         measurement,threads,ratio,lowest,highest,runs\n"
    );
    for measure in [Measure::Get, Measure::GetPut, Measure::LastPut] {
        let schemes = measure.schemes();
        let names: Vec<_> = schemes.iter().map(|s| s.name()).collect();
        let max = if measure == Measure::LastPut {
            args.threads.min(LINE_WORDS)
        } else {
            args.threads
        };
        println!("\n{}: {}\n", measure.name(), measure.what());
        println!("| threads | {} | classic / frozen-bit |", names.join(" | "));
        println!("| ---: |{} ---: |", " ---: |".repeat(names.len()));
        let mut csv = format!(
            "# title: userspace {}: {}\n# ylabel: ns per operation\n# machine: {machine}\n\
             # method: {method}\nthreads,{}\n",
            measure.name(),
            measure.what(),
            names.join(",")
        );
        for threads in 1..=max {
            let (ns, [ratio, lowest, highest]) = row(measure, threads, args.ops, args.runs);
            let cells: Vec<_> = ns.iter().map(|v| format!("{v:.2}")).collect();
            println!("| {threads} | {} | {ratio:.2} |", cells.join(" | "));
            csv += &format!("{threads},{}\n", cells.join(","));
            ratios += &format!(
                "{},{threads},{ratio:.3},{lowest:.3},{highest:.3},{}\n",
                measure.name(),
                args.runs
            );
        }
        if let Some(dir) = &args.out {
            let path = dir.join(format!("userspace-{}.csv", measure.name()));
            std::fs::File::create(&path)?.write_all(csv.as_bytes())?;
        }
    }
    if let Some(dir) = &args.out {
        std::fs::File::create(dir.join("userspace-ratios.txt"))?.write_all(ratios.as_bytes())?;
    }
    Ok(())
}
