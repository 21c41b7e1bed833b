//! The contention benchmark: 1..N threads hammer one page refcount word, each
//! with the same number of speculative gets, in three ways:
//!
//! - the classic CAS loop (`atomic_add_unless(v, 1, 0)`: read, `cmpxchg`,
//!   retry while another thread changed the word in between);
//! - the frozen-bit add (one fully ordered `atomic_add_return()` and a test of
//!   bit 31);
//! - a plain atomic increment (`atomic_inc()`), the floor any get costs.
//!
//! The gets are those of `rust/algo/page_ref_algo.rs` over std atomics
//! ([`StdWord`]). It prints the machine, then per thread count the time per
//! get as each thread sees it (the time a thread took for its gets divided by
//! their number, averaged over the threads; the median of several runs, each
//! of which measures the three kinds in turn) and the ratios (the medians of
//! each run's ratios).
//!
//! Usage: `bench [MAX_THREADS [GETS_PER_THREAD [RUNS]]]`, by default N =
//! `available_parallelism()`, 2,000,000 gets and 11 runs.

use page_ref_verify::algo::{PageRefOps, Variant};
use page_ref_verify::word::StdWord;
use std::hint::black_box;
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// The word alone on its cache line (128 bytes: two 64-byte lines, as the
/// adjacent-line prefetcher pairs them).
#[repr(align(128))]
struct Line(StdWord);

const CLASSIC: PageRefOps = PageRefOps::classic();
const FROZEN_BIT: PageRefOps = PageRefOps::frozen_bit(Variant::Correct);

/// One way to take a reference.
#[derive(Clone, Copy)]
enum Get {
    Classic,
    FrozenBit,
    Plain,
}

impl Get {
    #[inline]
    fn run(self, word: &StdWord) {
        match self {
            Get::Classic => {
                black_box(CLASSIC.try_get(word, 1));
            }
            Get::FrozenBit => {
                black_box(FROZEN_BIT.try_get(word, 1));
            }
            Get::Plain => word.inc_relaxed(),
        }
    }
}

/// `threads` threads each do `gets` gets at once, starting together; returns
/// the time each took, averaged over the threads. Each thread times itself:
/// with as many threads as CPUs a timing thread of its own would only run
/// once they are done.
fn run(get: Get, threads: usize, gets: u64) -> Duration {
    let line = Line(StdWord::new(1));
    let start = Barrier::new(threads);
    let total: Duration = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    let t = Instant::now();
                    for _ in 0..gets {
                        get.run(&line.0);
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

/// One row of the table: for `threads` threads, the median nanoseconds per
/// get of each kind and the medians of the per-run ratios. Each run measures
/// the three kinds back to back, so that a change in where the host runs the
/// threads (a virtual machine's CPUs move) weighs on the three alike.
fn row(threads: usize, gets: u64, runs: usize) -> [f64; 6] {
    let mut cols: [Vec<f64>; 6] = Default::default();
    for _ in 0..runs {
        let [cas, frozen, plain] = [Get::Classic, Get::FrozenBit, Get::Plain]
            .map(|get| run(get, threads, gets).as_nanos() as f64 / gets as f64);
        for (col, v) in cols.iter_mut().zip([
            cas,
            frozen,
            plain,
            cas / frozen,
            cas / plain,
            frozen / plain,
        ]) {
            col.push(v);
        }
    }
    cols.map(median)
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

fn arg<T: std::str::FromStr>(n: usize, default: T) -> T {
    match std::env::args().nth(n) {
        Some(a) => a.parse().unwrap_or_else(|_| {
            eprintln!(
                "error: bad argument '{a}'; usage: bench [MAX_THREADS [GETS_PER_THREAD [RUNS]]]"
            );
            std::process::exit(2)
        }),
        None => default,
    }
}

fn main() {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let max_threads: usize = arg(1, cpus).max(1);
    let gets: u64 = arg(2, 2_000_000).max(1);
    let runs: usize = arg(3, 11).max(1);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();

    println!(
        "machine: {}, {cpus} CPUs, {}",
        cpu_model(),
        std::env::consts::ARCH
    );
    println!(
        "load average before: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "{gets} gets per thread, ns per get as each thread sees it; medians of {runs} runs, \
         ratios the medians of each run's"
    );
    println!();
    println!("| threads | CAS loop | frozen-bit add | plain add | CAS / frozen | CAS / plain | frozen / plain |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for threads in 1..=max_threads {
        let [cas, frozen, plain, cas_frozen, cas_plain, frozen_plain] = row(threads, gets, runs);
        println!(
            "| {threads} | {cas:.2} | {frozen:.2} | {plain:.2} | {cas_frozen:.2} | {cas_plain:.2} | {frozen_plain:.2} |"
        );
    }
}
