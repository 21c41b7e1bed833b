// SPDX-License-Identifier: GPL-2.0

//! r3 and r4: freezers against getters.
//!
//! Each page belongs to one freezer, which holds its base references; the
//! page's `seq` is odd while its freezer holds it frozen. A get that
//! succeeds and then finds `seq` odd succeeded on a frozen page: had it come
//! before the freeze, the freeze (which needs the count to be exactly the
//! base) would have failed. r4 keeps pages frozen longer, unfreezes them
//! with a new base, and at checkpoints parks every thread to check that
//! each count is exactly its base.

use super::frozen_word;
use crate::pages::OwnPage;
use crate::params::Scenario;
use crate::run::{relax, violation, Engine, Run, Stat, Worker};
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Full, Relaxed};
use kernel::sync::barrier::smp_mb;
use kernel::time::{Instant, Monotonic};

struct FPage {
    page: OwnPage,
    /// Odd while the freezer holds the page frozen.
    seq: Atomic<u32>,
    /// The references the freezer holds; written by the freezer only.
    base: Atomic<i32>,
    /// Left alone after a violation: its count can no longer be trusted.
    corrupt: Atomic<bool>,
}

pub(super) struct Freeze {
    pages: KVec<FPage>,
    unfreeze: bool,
    nfreezers: usize,
    n: usize,
    /// Thread 0 asks the others to park, for a checkpoint.
    pause: Atomic<bool>,
    parked: Atomic<i32>,
    /// The next checkpoint, in ms from `start`.
    next_check: Atomic<i64>,
    start: Instant<Monotonic>,
}

impl Freeze {
    pub(super) fn new(npages: usize, n: usize, unfreeze: bool) -> Result<Self> {
        let mut pages = KVec::with_capacity(npages, GFP_KERNEL)?;
        for _ in 0..npages {
            pages.push(
                FPage {
                    page: OwnPage::new()?,
                    seq: Atomic::new(0),
                    base: Atomic::new(1),
                    corrupt: Atomic::new(false),
                },
                GFP_KERNEL,
            )?;
        }
        Ok(Self {
            pages,
            unfreeze,
            nfreezers: (n / 4).max(1),
            n,
            pause: Atomic::new(false),
            parked: Atomic::new(0),
            next_check: Atomic::new(0),
            start: Instant::now(),
        })
    }

    fn kind(&self) -> Scenario {
        if self.unfreeze {
            Scenario::R4
        } else {
            Scenario::R3
        }
    }

    /// Thread 0: park the others, check every count against its base.
    fn checkpoint(&self, w: &Worker) {
        self.pause.store(true, Relaxed);
        // The pause, before the parked threads are counted.
        smp_mb(Full);
        let mut i = 0;
        let mut all = true;
        while self.parked.load(Relaxed) != self.n as i32 - 1 {
            if w.stopping() {
                all = false;
                break;
            }
            relax(i);
            i += 1;
        }
        if all {
            // What the parked threads did, before the counts are read.
            smp_mb(Full);
            for (p, fp) in self.pages.iter().enumerate() {
                let v = fp.page.raw();
                let base = fp.base.load(Relaxed);
                if fp.corrupt.load(Relaxed) || v == base {
                    continue;
                }
                violation!(
                    w.run,
                    self.kind(),
                    "page {} counts {:#x} with no thread holding it: expected {}",
                    p,
                    v,
                    base
                );
                fp.page.set_count(base);
            }
        }
        self.next_check
            .store(self.start.elapsed().as_millis() + 20, Relaxed);
        self.pause.store(false, Relaxed);
        let mut i = 0;
        while self.parked.load(Relaxed) != 0 {
            relax(i);
            i += 1;
        }
    }

    fn freezer(&self, w: &mut Worker) {
        let id = w.id;
        if id == 0 && self.start.elapsed().as_millis() >= self.next_check.load(Relaxed) {
            self.checkpoint(w);
            return;
        }
        let np = self.pages.len();
        if np <= id {
            return;
        }
        let per = (np - id).div_ceil(self.nfreezers);
        let fp = &self.pages[id + (w.rand() as usize % per) * self.nfreezers];
        if fp.corrupt.load(Relaxed) {
            return;
        }
        let base = fp.base.load(Relaxed);
        let (ops, n) = w.ops();
        // SAFETY: the freezer owns the page's base references.
        if !unsafe { ops.freeze(n, fp.page.ptr(), base) } {
            return;
        }
        fp.seq.store(fp.seq.load(Relaxed) + 1, Relaxed);
        let delay = w.run.cfg.delay_ns;
        if self.unfreeze {
            w.window(delay);
        } else if w.rand() % 16 == 0 {
            w.window(delay / 8);
        }
        let v = fp.page.raw();
        if !frozen_word(v) {
            // An unfreeze would trip the kernel's check: leave the page alone.
            violation!(
                w.run,
                self.kind(),
                "page frozen by its freezer reads {:#x}: not frozen",
                v
            );
            fp.corrupt.store(true, Relaxed);
            return;
        }
        let new = if self.unfreeze {
            1 + (w.rand() % 3) as i32
        } else {
            base
        };
        // Even again, before the unfreeze's release makes it visible.
        fp.seq.store(fp.seq.load(Relaxed) + 1, Relaxed);
        fp.base.store(new, Relaxed);
        let (ops, n) = w.ops();
        // SAFETY: the freezer froze the page.
        unsafe { ops.unfreeze(n, fp.page.ptr(), new) };
    }

    fn getter(&self, w: &mut Worker) {
        let p = w.rand() as usize % self.pages.len();
        let fp = &self.pages[p];
        if fp.corrupt.load(Relaxed) {
            return;
        }
        let (ops, n) = w.ops();
        // SAFETY: a speculative get may be tried on a page in any state.
        if !unsafe { ops.try_get(n, fp.page.ptr(), 1) } {
            w.inc(Stat::Fails);
            return;
        }
        w.inc(Stat::Gets);
        // After the fully ordered get: an odd seq was written before the
        // freeze our get then came after.
        if fp.seq.load(Relaxed) & 1 != 0 {
            violation!(
                w.run,
                self.kind(),
                "a get succeeded on page {} while its freezer holds it frozen",
                p
            );
            fp.corrupt.store(true, Relaxed);
            return;
        }
        if fp.page.raw() <= 0 {
            violation!(
                w.run,
                self.kind(),
                "page {} reads {:#x} while we hold a reference to it",
                p,
                fp.page.raw()
            );
            fp.corrupt.store(true, Relaxed);
            return;
        }
        w.hold();
        let (ops, n) = w.ops();
        // SAFETY: the reference just taken.
        if unsafe { ops.put(n, fp.page.ptr()) } {
            violation!(
                w.run,
                self.kind(),
                "a getter's put won page {}, whose freezer holds references",
                p
            );
            fp.corrupt.store(true, Relaxed);
        }
    }
}

impl Engine for Freeze {
    fn work(&self, w: &mut Worker) {
        if w.id != 0 && self.pause.load(Relaxed) {
            self.parked.fetch_add(1, Full);
            let mut i = 0;
            while self.pause.load(Relaxed) && !w.stopping() {
                relax(i);
                i += 1;
            }
            self.parked.fetch_sub(1, Full);
            return;
        }
        if w.id < self.nfreezers {
            self.freezer(w);
        } else {
            self.getter(w);
        }
    }

    fn finish(&self, run: &Run) {
        for (p, fp) in self.pages.iter().enumerate() {
            let v = fp.page.raw();
            let base = fp.base.load(Relaxed);
            if !fp.corrupt.load(Relaxed) && v != base {
                violation!(
                    run,
                    self.kind(),
                    "page {} counts {:#x} at the end: expected {}",
                    p,
                    v,
                    base
                );
            }
        }
    }
}
