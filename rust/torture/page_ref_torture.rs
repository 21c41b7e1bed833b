// SPDX-License-Identifier: GPL-2.0

//! page_ref_torture: a kthread race harness for the page refcount.
//!
//! Kernel threads on every CPU race the operations of `<linux/page_ref.h>`
//! on real pages of the page allocator: the speculative get, the put that
//! may be the last (its decrement and its claim apart, with a window
//! between them), freeze, unfreeze and make-ownerless. Each scenario is a
//! race of pageref's design (see `engines`), and each operation runs in the
//! implementation the `rust` parameter chooses (`ops`): the C code, or the
//! Rust one, correct or as the broken variant `variant` names.
//!
//! The interface is locktorture's: parameters choose the scenarios, their
//! duration and the threads; a stats line every `stat_interval` seconds;
//! the run stops by itself, or early when the module is unloaded, and every
//! page it holds is freed either way. Results are KTAP, one test per
//! scenario and one for the pages, so that `kunit.py parse` reads them:
//!
//! ```text
//! KTAP version 1
//! 1..2
//! # r2: final t=10000ms rust.put=... gets=0 ... violations=0
//! ok 1 r2
//! # pages: held=0 leaked=0
//! ok 2 pages
//! ```
//!
//! Every check is sound for the correct algorithm: it reports only what the
//! page refcount forbids (a get that succeeds on a page known to be frozen,
//! free or without owner; a second free of one incarnation; a last put that
//! wins while a reference is known to be held; a count that is not exact
//! when no thread holds the page).

use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Full, Relaxed, Release};

// The algorithm, the same source as the kernel's Rust implementation and
// the userspace model checks; this module uses part of it.
#[allow(dead_code, unreachable_pub)]
#[path = "../algo/page_ref_algo.rs"]
mod algo;
#[allow(dead_code)]
#[path = "../page_word.rs"]
mod page_word;

mod engines;
mod kthread;
mod ops;
mod pages;
mod params;
mod report;
mod run;
#[cfg(CONFIG_KUNIT)]
mod tests;

module! {
    type: PageRefTorture,
    name: "page_ref_torture",
    authors: ["pageref developers"],
    description: "Race harness for the page refcount (pageref)",
    license: "GPL",
    params: {
        r1: bool { default: false, description: "Run r1: try-get against the last put", },
        r2: bool { default: false, description: "Run r2: put against put", },
        r3: bool { default: false, description: "Run r3: try-get against freeze", },
        r4: bool { default: false, description: "Run r4: try-get against unfreeze", },
        r5: bool { default: false, description: "Run r5: gets on pages nobody owns", },
        r6: bool { default: false, description: "Run r6: failed gets and the overflow guard", },
        r7: bool { default: false, description: "Run r7: stale claims across reuse", },
        r7b: bool { default: false, description: "Run r7b: stale claims on the raw free paths", },
        guard: bool { default: false, description: "Run guard: the guard's reset against unfreeze", },
        mixed: bool { default: false, description: "Run mixed: every engine at once", },
        all: bool { default: false, description: "Run every scenario", },
        rust: bool { default: false, description: "Run the Rust implementation (default: C)", },
        variant: u32 { default: 0, description: "Broken variant, by number (0: correct)", },
        nthreads: u32 { default: 0, description: "Threads per scenario, 2..1024 (0: one per CPU)", },
        npages: u32 { default: 8, description: "Pages each scenario races on, 1..4096", },
        duration: u32 { default: 10, description: "Seconds each scenario runs, 1..86400", },
        stat_interval: u32 { default: 5, description: "Seconds between stats lines (0: none)", },
        delay_ns: u32 { default: 2000, description: "Window between a put and its claim (ns)", },
        inject: u32 { default: 2, description: "One release in this many waits in it (0: none)", },
        stop_on_violation: bool { default: false, description: "End a scenario at its first violation", },
        wait: bool { default: false, description: "Return from the load when the run has ended", },
    },
}

/// Pages the harness holds (a reference to, or outright).
pub(crate) static HELD: Atomic<isize> = Atomic::new(0);
/// Pages the harness gave up on after a violation: never freed.
pub(crate) static LEAKED: Atomic<isize> = Atomic::new(0);
/// Set to end every run early (module unload).
static ABORT: Atomic<bool> = Atomic::new(false);
/// A run is in progress: one at a time, since a C variant is global.
static BUSY: Atomic<bool> = Atomic::new(false);

/// Whether runs must end now.
pub(crate) fn aborting() -> bool {
    ABORT.load(Relaxed)
}

/// Ends the run of `ctl` early: every run sees the abort, and dropping
/// `ctl` (`kthread_stop()`) returns once its run has freed its pages.
pub(crate) fn stop_early(ctl: kthread::KThread) {
    ABORT.store(true, Release);
    drop(ctl);
    ABORT.store(false, Release);
}

/// The right to run, while it lives.
pub(crate) struct Busy(());

impl Busy {
    /// The right to run, unless a run is in progress.
    pub(crate) fn take() -> Option<Busy> {
        BUSY.cmpxchg(false, true, Full).ok().map(|_| Busy(()))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        BUSY.store(false, Release);
    }
}

/// The module parameters as given.
fn given() -> params::Params {
    use module_parameters as m;
    params::Params {
        scenarios: [
            m::r1.value(),
            m::r2.value(),
            m::r3.value(),
            m::r4.value(),
            m::r5.value(),
            m::r6.value(),
            m::r7.value(),
            m::r7b.value(),
            m::guard.value(),
            m::mixed.value(),
        ],
        all: m::all.value(),
        rust: m::rust.value(),
        variant: m::variant.value(),
        nthreads: m::nthreads.value(),
        npages: m::npages.value(),
        duration: m::duration.value(),
        stat_interval: m::stat_interval.value(),
        delay_ns: m::delay_ns.value(),
        inject: m::inject.value(),
        stop_on_violation: m::stop_on_violation.value(),
    }
}

struct PageRefTorture {
    /// The run started at load, if any.
    ctl: Option<kthread::KThread>,
}

impl kernel::Module for PageRefTorture {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let cfg = match params::check(&given()) {
            Ok(cfg) => cfg,
            Err(why) => {
                pr_err!("{}\n", why);
                return Err(EINVAL);
            }
        };
        if !cfg.any() {
            return Ok(Self { ctl: None });
        }
        let busy = Busy::take().ok_or(EBUSY)?;
        if module_parameters::wait.value() {
            report::run_all(&cfg);
            drop(busy);
            return Ok(Self { ctl: None });
        }
        let ctl = kthread::KThread::spawn_on(
            pages::online_cpus().nth(0),
            fmt!("page_ref_torture"),
            move |_me| {
                report::run_all(&cfg);
                drop(busy);
            },
        )?;
        Ok(Self { ctl: Some(ctl) })
    }
}

impl Drop for PageRefTorture {
    fn drop(&mut self) {
        if let Some(ctl) = self.ctl.take() {
            if BUSY.load(Relaxed) {
                pr_info!(
                    "# stopping the run early, holding {} pages\n",
                    HELD.load(Relaxed)
                );
            }
            stop_early(ctl);
        }
    }
}
