// SPDX-License-Identifier: GPL-2.0

//! guard: the overflow guard's reset against an unfreeze and an allocation.
//!
//! A failed get whose add leaves a frozen word's leftovers at the guard or
//! above resets the word to the frozen bit alone, with a `cmpxchg` from the
//! value its add returned: if the page stopped being frozen in between (an
//! unfreeze, or an allocation, stored a count), the reset must fail. A reset
//! that stores the frozen bit blindly would freeze a page that someone now
//! holds. Each page has an owner that freezes it, arms its leftovers at the
//! guard again and again so that the next failed get resets it, and then
//! unfreezes it, or stores the allocator's count of one over it; right after,
//! the owner holds a reference, so the word must not read frozen. Getters try
//! to get the pages all along (and put what they get).
//!
//! Only the frozen-bit scheme has a guard; in the classic one the engine
//! runs the same operations and checks that they keep counts right.

use super::frozen_word;
use crate::algo::{frozen, guard};
use crate::page_word::PageWord;
use crate::pages::OwnPage;
use crate::params::Scenario;
use crate::run::{relax, violation, Engine, Run, Stat, Worker};
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};

const FROZEN: u32 = frozen::<PageWord<'static>>();
const GUARD: u32 = guard::<PageWord<'static>>();
/// Times an owner arms the leftovers while it holds its page frozen.
const ARMS: u32 = 8;

struct GPage {
    page: OwnPage,
    /// Left alone after a violation.
    corrupt: Atomic<bool>,
}

pub(super) struct Guard {
    pages: KVec<GPage>,
    nowners: usize,
}

impl Guard {
    pub(super) fn new(npages: usize, n: usize) -> Result<Self> {
        let nowners = (n / 4).max(1).min(npages);
        let mut pages = KVec::with_capacity(nowners, GFP_KERNEL)?;
        for _ in 0..nowners {
            pages.push(
                GPage {
                    page: OwnPage::new()?,
                    corrupt: Atomic::new(false),
                },
                GFP_KERNEL,
            )?;
        }
        Ok(Self { pages, nowners })
    }

    fn owner(&self, w: &mut Worker) {
        let gp = &self.pages[w.id];
        if gp.corrupt.load(Relaxed) {
            return;
        }
        let (ops, n) = w.ops();
        // SAFETY: the owner holds the page's one reference; a getter that
        // holds one too makes the freeze fail, and we try again later.
        if !unsafe { ops.freeze(n, gp.page.ptr(), 1) } {
            let v = gp.page.raw();
            // Nobody but the owner freezes the page, and it is not frozen now.
            if frozen_word(v) {
                violation!(
                    w.run,
                    Scenario::Guard,
                    "page {} reads {:#x} while its owner holds it: frozen",
                    w.id,
                    v
                );
                gp.corrupt.store(true, Relaxed);
            }
            return;
        }
        if cfg!(CONFIG_PAGE_REF_FROZEN_BIT) {
            for i in 0..ARMS {
                // As if failed gets had piled up to the guard: the next one
                // resets the word.
                gp.page.set_raw(FROZEN | GUARD);
                relax(i);
            }
        }
        let alloc = w.rand() % 2 == 0;
        if alloc {
            // The allocator's store of a new page's count over a free word.
            gp.page.set_count(1);
        } else {
            let (ops, n) = w.ops();
            // SAFETY: the owner froze the page.
            unsafe { ops.unfreeze(n, gp.page.ptr(), 1) };
        }
        w.hold();
        let v = gp.page.raw();
        if frozen_word(v) || v < 1 {
            violation!(
                w.run,
                Scenario::Guard,
                "page {} reads {:#x} after its owner's {}: a guard reset overwrote the count",
                w.id,
                v,
                if alloc { "allocation" } else { "unfreeze" }
            );
            gp.corrupt.store(true, Relaxed);
        }
    }

    fn getter(&self, w: &mut Worker) {
        let p = w.rand() as usize % self.nowners;
        let gp = &self.pages[p];
        if gp.corrupt.load(Relaxed) {
            return;
        }
        let (ops, n) = w.ops();
        // SAFETY: a speculative get may be tried on a page in any state.
        if !unsafe { ops.try_get(n, gp.page.ptr(), 1) } {
            w.inc(Stat::Fails);
            return;
        }
        w.inc(Stat::Gets);
        let (ops, n) = w.ops();
        // SAFETY: the reference just taken.
        if unsafe { ops.put(n, gp.page.ptr()) } {
            violation!(
                w.run,
                Scenario::Guard,
                "a getter's put won page {}, which its owner holds",
                p
            );
            gp.corrupt.store(true, Relaxed);
        }
    }
}

impl Engine for Guard {
    fn work(&self, w: &mut Worker) {
        if w.id < self.nowners {
            self.owner(w);
        } else {
            self.getter(w);
        }
    }

    fn finish(&self, run: &Run) {
        for (p, gp) in self.pages.iter().enumerate() {
            let v = gp.page.raw();
            if !gp.corrupt.load(Relaxed) && v != 1 {
                violation!(
                    run,
                    Scenario::Guard,
                    "page {} counts {:#x} at the end: expected 1",
                    p,
                    v
                );
            }
        }
    }
}
