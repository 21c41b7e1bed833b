// SPDX-License-Identifier: GPL-2.0

//! Running one scenario: its engines, their threads, the periodic stats
//! line, the violations, and the result the verdict is made of.
//!
//! The machinery of `kernel/torture.c` and `kernel/locking/locktorture.c`,
//! once for every engine: an [`Engine`] only says what one operation of one
//! of its threads is ([`Engine::work`]) and what it checks at the end
//! ([`Engine::finish`]). Threads are [`KThread`]s bound to the online CPUs
//! in turn; they loop until the run's deadline, a violation with
//! `stop_on_violation`, or an abort (module unload, `kthread_stop()`).
//! Everything a run allocates is owned by its engines, so that dropping
//! them frees it, wherever the run stopped.

use crate::algo::Variant;
use crate::kthread::{KThread, Me};
use crate::ops::{Op, OpCounts, RefOps, Which, NR_OPS, OP_NAMES};
use crate::params::{Cfg, Scenario};
use crate::{pages, HELD};
use core::fmt::Write;
use kernel::bindings;
use kernel::fmt;
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};
use kernel::sync::Arc;
use kernel::time::{delay::fsleep, Delta, Instant, Monotonic};

/// The harness's own counters of one thread, besides its [`OpCounts`].
#[derive(Clone, Copy)]
pub(crate) enum Stat {
    /// Speculative gets that succeeded.
    Gets,
    /// Speculative gets that failed.
    Fails,
    /// Incarnations freed by the put that won them.
    Frees,
    /// Gets on an incarnation its owner had released (a revival).
    Revivals,
    /// Last puts that won a later incarnation than their own.
    Stale,
    /// Last puts won on pages that were someone else's by then.
    Foreign,
    /// Puts with the injected delay between decrement and claim.
    Injected,
}

const NR_STATS: usize = 7;
const STAT_NAMES: [&str; NR_STATS] = [
    "gets",
    "failed_gets",
    "frees",
    "revivals",
    "stale_claims",
    "foreign_frees",
    "injected",
];

/// The counters of one thread; written by it, read by the stats line.
pub(crate) struct ThreadStats {
    pub(crate) ops: OpCounts,
    st: [Atomic<usize>; NR_STATS],
}

impl ThreadStats {
    const fn new() -> Self {
        Self {
            ops: OpCounts::new(),
            st: [const { Atomic::new(0) }; NR_STATS],
        }
    }
}

/// What a thread of an engine works with: its number in the engine, its
/// random state, its counters and the run.
pub(crate) struct Worker {
    pub(crate) id: usize,
    rnd: u32,
    pub(crate) run: Arc<Run>,
    stats: Arc<ThreadStats>,
}

impl Worker {
    /// A pseudo-random number (xorshift32): cheap, and per thread.
    pub(crate) fn rand(&mut self) -> u32 {
        let mut x = self.rnd;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rnd = x;
        x
    }

    /// Counts one event of this thread.
    pub(crate) fn inc(&self, s: Stat) {
        let c = &self.stats.st[s as usize];
        c.store(c.load(Relaxed) + 1, Relaxed);
    }

    /// The implementation under test, and this thread's counters for it.
    pub(crate) fn ops(&self) -> (&dyn RefOps, &OpCounts) {
        (&*self.run.ops, &self.stats.ops)
    }

    /// Counts an operation this thread had the kernel run (r7b, whose
    /// calls are the kernel's own), under the implementation of the run.
    pub(crate) fn count(&self, op: Op) {
        let which = if self.run.cfg.rust {
            Which::Rust
        } else {
            Which::C
        };
        self.stats.ops.inc(which, op);
    }

    /// Whether the run is ending.
    pub(crate) fn stopping(&self) -> bool {
        self.run.stopping()
    }

    /// Widens a race window: spins for `ns`, or one time in eight sleeps a
    /// little, as a put or a freezer that is preempted would. The sleep is
    /// also what lets the other threads into the window on a single CPU.
    pub(crate) fn window(&mut self, ns: u32) {
        if self.rand() % 8 == 0 {
            fsleep(Delta::from_micros(20));
        } else if ns != 0 {
            ndelay(ns);
        }
    }

    /// A short, random hold of a reference.
    pub(crate) fn hold(&mut self) {
        let r = self.rand();
        if r % 4 == 0 {
            ndelay(r >> 23);
        }
    }
}

/// Busy-waits `ns` nanoseconds.
pub(crate) fn ndelay(ns: u32) {
    // SAFETY: a busy wait, callable in any context.
    unsafe { bindings::__ndelay(ns as usize) }
}

/// Spins a little, then sleeps: also lets the other threads of a single CPU
/// run while a thread waits for them.
pub(crate) fn relax(i: u32) {
    if i < 64 {
        core::hint::spin_loop();
    } else {
        fsleep(Delta::from_micros(10));
    }
    resched();
}

/// `cond_resched()`.
pub(crate) fn resched() {
    // SAFETY: called from the harness's threads, which may sleep.
    unsafe { bindings::cond_resched() };
}

/// An engine: the pages of one scenario and the work of its threads.
pub(crate) trait Engine: Send + Sync {
    /// One operation of thread `w`; called until the run stops.
    fn work(&self, w: &mut Worker);
    /// All threads have stopped: the final checks. The engine's pages are
    /// freed when it is dropped.
    fn finish(&self, run: &Run);
}

/// At most this many violations are printed per run.
const MAX_REPORTS: i32 = 8;

/// One scenario being run, shared by its threads.
pub(crate) struct Run {
    pub(crate) cfg: Cfg,
    pub(crate) sc: Scenario,
    pub(crate) ops: KBox<dyn RefOps>,
    stop: Atomic<bool>,
    start: Instant<Monotonic>,
    violations: Atomic<i32>,
    first_ms: Atomic<i64>,
}

impl Run {
    /// Whether the run is ending: its own stop, or the module's abort.
    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Relaxed) || crate::aborting()
    }

    fn ms(&self) -> i64 {
        self.start.elapsed().as_millis()
    }

    /// Reports a violation found by engine `engine`.
    pub(crate) fn violation(&self, engine: Scenario, what: fmt::Arguments<'_>) {
        let n = self.violations.fetch_add(1, Relaxed) + 1;
        if n == 1 {
            self.first_ms.store(self.ms(), Relaxed);
        }
        if self.cfg.stop_on_violation {
            self.stop.store(true, Relaxed);
        }
        if n <= MAX_REPORTS {
            pr_err!(
                "# {}: VIOLATION in engine {}: {}\n",
                self.sc.name(),
                engine.name(),
                what
            );
        }
    }

    /// The number of violations so far.
    pub(crate) fn violations(&self) -> i32 {
        self.violations.load(Relaxed)
    }
}

/// Reports a violation: `violation!(run, engine, "format", args...)`.
macro_rules! violation {
    ($run:expr, $engine:expr, $($arg:tt)*) => {
        $run.violation($engine, format_args!($($arg)*))
    };
}
pub(crate) use violation;

/// What a run of a scenario found.
pub(crate) struct Outcome {
    /// Operations of every kind, by implementation (C, Rust).
    pub(crate) ops: [[usize; NR_OPS]; 2],
    pub(crate) violations: i32,
    /// Milliseconds from the start to the first violation.
    pub(crate) first_ms: Option<i64>,
    /// It ran its whole duration (or stopped at a violation as asked).
    pub(crate) complete: bool,
    /// Pages the harness held when it ended (should be what it held before).
    pub(crate) held: isize,
}

impl Outcome {
    /// Every operation, of both implementations.
    pub(crate) fn total_ops(&self) -> usize {
        self.ops.iter().flatten().sum()
    }
}

/// The threads of a run and their counters.
struct Threads {
    threads: KVec<KThread>,
    stats: KVec<Arc<ThreadStats>>,
}

impl Threads {
    fn sum(&self) -> ([[usize; NR_OPS]; 2], [usize; NR_STATS]) {
        let mut ops = [[0; NR_OPS]; 2];
        let mut st = [0; NR_STATS];
        for t in self.stats.iter() {
            for (row, which) in ops.iter_mut().zip(Which::ALL) {
                for (k, n) in row.iter_mut().enumerate() {
                    *n += t.ops.get(which, k);
                }
            }
            for (s, n) in st.iter_mut().enumerate() {
                *n += t.st[s].load(Relaxed);
            }
        }
        (ops, st)
    }

    /// One KTAP diagnostic line of counters: `# r1: stats t=5000ms c.get=...`.
    fn print(&self, run: &Run, what: &str) {
        let (ops, st) = self.sum();
        let mut line = KVec::<u8>::new();
        let mut w = Buf(&mut line);
        for (row, which) in ops.iter().zip(Which::ALL) {
            for (k, n) in row.iter().enumerate() {
                if *n != 0 {
                    let _ = write!(w, " {}.{}={}", which.name(), OP_NAMES[k], n);
                }
            }
        }
        for (s, n) in st.iter().enumerate() {
            let _ = write!(w, " {}={}", STAT_NAMES[s], n);
        }
        pr_info!(
            "# {}: {} t={}ms{} violations={}\n",
            run.sc.name(),
            what,
            run.ms(),
            BStrLossy(&line),
            run.violations()
        );
    }
}

/// A `core::fmt::Write` into a `KVec<u8>` that drops what does not fit.
struct Buf<'a>(&'a mut KVec<u8>);

impl core::fmt::Write for Buf<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0
            .extend_from_slice(s.as_bytes(), GFP_KERNEL)
            .map_err(|_| core::fmt::Error)
    }
}

/// Prints bytes that are ASCII text.
struct BStrLossy<'a>(&'a [u8]);

impl fmt::Display for BStrLossy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(core::str::from_utf8(self.0).unwrap_or("?"))
    }
}

/// Starts `n` threads of `engine`, the first on the `first`th online CPU.
fn start(
    run: &Arc<Run>,
    engine: &Arc<dyn Engine>,
    kind: Scenario,
    n: usize,
    first: usize,
    threads: &mut Threads,
) -> Result {
    let cpus = pages::online_cpus();
    for id in 0..n {
        let stats = Arc::new(ThreadStats::new(), GFP_KERNEL)?;
        threads.stats.push(stats.clone(), GFP_KERNEL)?;
        let mut w = Worker {
            id,
            rnd: pages::random_u32() | 1,
            run: run.clone(),
            stats,
        };
        let e = engine.clone();
        let cpu = cpus.nth((first + id) % cpus.count());
        // "prtv_" for a deliberately broken variant: the kernel warnings its
        // runs provoke name the thread, and the boot's console check leaves
        // those out (and only those).
        let prefix = if run.cfg.variant == Variant::Correct {
            "prt"
        } else {
            "prtv"
        };
        let t = KThread::spawn_on(
            cpu,
            fmt!("{}_{}/{}", prefix, kind.name(), id),
            move |me: &Me| {
                while !w.stopping() && !me.should_stop() {
                    e.work(&mut w);
                    resched();
                }
            },
        )?;
        threads.threads.push(t, GFP_KERNEL)?;
    }
    Ok(())
}

/// Runs scenario `sc` of `cfg` with implementation `ops` to its end and
/// prints its stats; the verdict is the caller's.
pub(crate) fn run_scenario(cfg: &Cfg, sc: Scenario, ops: KBox<dyn RefOps>) -> Result<Outcome> {
    let held_before = HELD.load(Relaxed);
    let run = Arc::new(
        Run {
            cfg: *cfg,
            sc,
            ops,
            stop: Atomic::new(false),
            start: Instant::now(),
            violations: Atomic::new(0),
            first_ms: Atomic::new(-1),
        },
        GFP_KERNEL,
    )?;
    let nthr = cfg.threads();
    // mixed: every engine at once, each with half the threads (at least 2).
    let per = if sc == Scenario::Mixed {
        (nthr / 2).max(2)
    } else {
        nthr
    };
    let mut engines = KVec::<(Scenario, Arc<dyn Engine>)>::new();
    for kind in Scenario::ALL.into_iter().filter(|k| *k != Scenario::Mixed) {
        let mixed = sc == Scenario::Mixed
            && kind != Scenario::Guard
            && crate::engines::exists(kind)
            && crate::engines::supported(cfg, kind);
        if sc == kind || mixed {
            engines.push((kind, crate::engines::create(&run, kind, per)?), GFP_KERNEL)?;
        }
    }
    let mut threads = Threads {
        threads: KVec::new(),
        stats: KVec::new(),
    };
    let mut ret = Ok(());
    for (i, (kind, e)) in engines.iter().enumerate() {
        ret = start(&run, e, *kind, per, i * per, &mut threads);
        if ret.is_err() {
            break;
        }
    }
    let deadline = i64::from(cfg.duration_ms);
    let mut next_stat = i64::from(cfg.stat_interval) * 1000;
    while ret.is_ok() && !run.stopping() && run.ms() < deadline {
        fsleep(Delta::from_millis((deadline - run.ms()).clamp(1, 50)));
        if cfg.stat_interval != 0 && run.ms() >= next_stat {
            threads.print(&run, "stats");
            next_stat += i64::from(cfg.stat_interval) * 1000;
        }
    }
    let complete = ret.is_ok() && !crate::aborting();
    run.stop.store(true, Relaxed);
    // kthread_stop() of each: they return within one operation.
    threads.threads.clear();
    ret?;
    threads.print(&run, "final");
    for (_, e) in engines.iter() {
        e.finish(&run);
    }
    let (ops, _) = threads.sum();
    let violations = run.violations();
    let first_ms = run.first_ms.load(Relaxed);
    // The engines' pages go back here, with the last reference to them.
    drop(engines);
    Ok(Outcome {
        ops,
        violations,
        first_ms: (first_ms >= 0).then_some(first_ms),
        complete,
        held: HELD.load(Relaxed) - held_before,
    })
}
