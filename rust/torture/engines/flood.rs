// SPDX-License-Identifier: GPL-2.0

//! r6: a flood of failed gets on frozen pages, in phases. Thread 0 freezes
//! the pages; all threads flood them with adds of `FLOOD_NR` (as GUP-fast
//! adds for a PUD-mapped folio) and of 1, enough to carry into bit 31 three
//! times over were it not for the overflow guard; then thread 0 checks each
//! quiet page, unfreezes it and checks that it counts exactly 1.

use super::{frozen_word, Barrier};
use crate::algo::{frozen, guard};
use crate::page_word::PageWord;
use crate::pages::OwnPage;
use crate::params::Scenario;
use crate::run::{resched, violation, Engine, Run, Stat, Worker};
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Full, Relaxed};

const FLOOD_NR: i32 = 1 << 18;
const FLOOD_ADDS: i32 = 3 * ((1u32 << 31) / FLOOD_NR as u32) as i32;
const FLOOD_PAGES: usize = 4;
const FROZEN: u32 = frozen::<PageWord<'static>>();
const GUARD: u32 = guard::<PageWord<'static>>();

struct FloodPage {
    page: OwnPage,
    /// Adds left in this phase.
    budget: Atomic<i32>,
}

pub(super) struct Flood {
    pages: KVec<FloodPage>,
    bar: Barrier,
    n: usize,
}

impl Flood {
    pub(super) fn new(npages: usize, n: usize) -> Result<Self> {
        let mut pages = KVec::new();
        for _ in 0..npages.min(FLOOD_PAGES) {
            pages.push(
                FloodPage {
                    page: OwnPage::new()?,
                    budget: Atomic::new(0),
                },
                GFP_KERNEL,
            )?;
        }
        Ok(Self {
            pages,
            bar: Barrier::new(n),
            n,
        })
    }

    /// With the guard, a frozen word's leftovers stay below this.
    fn bound(&self) -> u32 {
        GUARD + self.n as u32 * FLOOD_NR as u32
    }

    fn prepare(&self, w: &Worker) {
        let (ops, n) = w.ops();
        for (i, p) in self.pages.iter().enumerate() {
            p.budget.store(FLOOD_ADDS, Relaxed);
            // SAFETY: between phases the page is thread 0's alone, at 1.
            if !unsafe { ops.freeze(n, p.page.ptr(), 1) } {
                violation!(
                    w.run,
                    Scenario::R6,
                    "page {} counts {:#x}, not 1: it cannot be frozen",
                    i,
                    p.page.raw()
                );
                p.page.set_count(1);
                // SAFETY: as above.
                unsafe { ops.freeze(n, p.page.ptr(), 1) };
            }
        }
    }

    fn check(&self, w: &Worker) {
        let (ops, n) = w.ops();
        for (i, p) in self.pages.iter().enumerate() {
            let v = p.page.raw();
            let left = v as u32 & !FROZEN;
            if cfg!(CONFIG_PAGE_REF_FROZEN_BIT) && v < 0 && left >= GUARD {
                violation!(
                    w.run,
                    Scenario::R6,
                    "quiet frozen page {} keeps leftovers {:#x} past the guard",
                    i,
                    left
                );
            }
            // Leave a leftover for the unfreeze to drop, whatever the flood left.
            // SAFETY: a speculative get may be tried on any page.
            if unsafe { ops.try_get(n, p.page.ptr(), 1) } {
                violation!(w.run, Scenario::R6, "a get succeeded on frozen page {}", i);
            }
            let v = p.page.raw();
            if !frozen_word(v) {
                violation!(
                    w.run,
                    Scenario::R6,
                    "frozen page {} reads {:#x}: bit 31 is lost",
                    i,
                    v
                );
                p.page.set_count(1);
                continue;
            }
            // SAFETY: thread 0 froze the page in `prepare`.
            unsafe { ops.unfreeze(n, p.page.ptr(), 1) };
            let v = p.page.raw();
            if v != 1 {
                violation!(
                    w.run,
                    Scenario::R6,
                    "page {} counts {:#x} after unfreeze(1)",
                    i,
                    v
                );
                p.page.set_count(1);
            }
        }
    }

    fn add(&self, w: &Worker, i: usize, nr: i32) {
        let p = &self.pages[i];
        let (ops, n) = w.ops();
        // SAFETY: a speculative get may be tried on any page.
        if unsafe { ops.try_get(n, p.page.ptr(), nr) } {
            w.inc(Stat::Gets);
            violation!(
                w.run,
                Scenario::R6,
                "a get of {} succeeded on frozen page {}",
                nr,
                i
            );
            return;
        }
        w.inc(Stat::Fails);
        let v = p.page.raw();
        if !frozen_word(v) {
            violation!(
                w.run,
                Scenario::R6,
                "frozen page {} reads {:#x} after a failed get: bit 31 is lost",
                i,
                v
            );
        } else if cfg!(CONFIG_PAGE_REF_FROZEN_BIT) && (v as u32 & !FROZEN) > self.bound() {
            violation!(
                w.run,
                Scenario::R6,
                "frozen page {} has leftovers {:#x}: the guard did not reset them",
                i,
                v as u32 & !FROZEN
            );
        }
    }
}

impl Engine for Flood {
    fn work(&self, w: &mut Worker) {
        if w.id == 0 {
            self.prepare(w);
        }
        if !self.bar.wait(w) {
            return;
        }
        let np = self.pages.len();
        let mut k = 0u32;
        loop {
            let mut busy = false;
            for i in 0..np {
                let j = (i + w.id) % np;
                let left = self.pages[j].budget.fetch_sub(1, Full) - 1;
                if left < 0 {
                    continue;
                }
                busy = true;
                self.add(w, j, if left % 8 != 0 { FLOOD_NR } else { 1 });
            }
            k += 1;
            if k % 256 == 0 {
                if w.stopping() {
                    break;
                }
                resched();
            }
            if !busy {
                break;
            }
        }
        if !self.bar.wait(w) {
            return;
        }
        // The others wait at the next phase's barrier.
        if w.id == 0 {
            self.check(w);
        }
    }

    fn finish(&self, _run: &Run) {}
}
