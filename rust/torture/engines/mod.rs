// SPDX-License-Identifier: GPL-2.0

//! The engines, one per file, and what several of them share: the last put
//! with its injected window, the barrier of the engines that run in rounds,
//! what a free or frozen word reads.
//!
//! - `cache`: try-get against the last put (r1) and stale claims across
//!   reuse (r7), on slots that hold pages like a page cache;
//! - `r2`: put against put;
//! - `freeze`: try-get against freeze (r3) and against unfreeze (r4);
//! - `flood`: failed gets on frozen pages and the overflow guard (r6);
//! - `r5`: gets on pages nobody owns;
//! - `guard`: the guard's reset against unfreeze and allocation;
//! - `r7b`: stale claims on the kernel's raw free paths.

mod cache;
mod flood;
mod freeze;
mod guard;
mod incarnation;
mod r2;
mod r5;
mod r7b;

use crate::params::{Cfg, Scenario};
use crate::run::{relax, violation, Engine, Run, Stat, Worker};
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::atomic::{Acquire, Atomic, Full, Relaxed, Release};
use kernel::sync::barrier::smp_mb;
use kernel::sync::Arc;

/// Makes the engine of `kind` for `run`, with `n` threads to come.
pub(crate) fn create(run: &Run, kind: Scenario, n: usize) -> Result<Arc<dyn Engine>> {
    let npages = run.cfg.npages as usize;
    let e: Arc<dyn Engine> = match kind {
        Scenario::R1 => cache::Cache::new(npages, n, true)?,
        Scenario::R2 => Arc::new(r2::Rounds::new(npages, n)?, GFP_KERNEL)?,
        Scenario::R3 => Arc::new(freeze::Freeze::new(npages, n, false)?, GFP_KERNEL)?,
        Scenario::R4 => Arc::new(freeze::Freeze::new(npages, n, true)?, GFP_KERNEL)?,
        Scenario::R5 => Arc::new(r5::Nobody::new(n)?, GFP_KERNEL)?,
        Scenario::R6 => Arc::new(flood::Flood::new(npages, n)?, GFP_KERNEL)?,
        Scenario::R7 => cache::Cache::new(npages, n, false)?,
        Scenario::Guard => Arc::new(guard::Guard::new(npages, n)?, GFP_KERNEL)?,
        Scenario::R7b => r7b::RawFree::new(&run.cfg, n)?,
        _ => return Err(ENOTSUPP),
    };
    Ok(e)
}

/// Whether the engine of `kind` exists yet.
pub(crate) fn exists(kind: Scenario) -> bool {
    matches!(
        kind,
        Scenario::R1
            | Scenario::R2
            | Scenario::R3
            | Scenario::R4
            | Scenario::R5
            | Scenario::R6
            | Scenario::R7
            | Scenario::R7b
            | Scenario::Guard
    )
}

/// Whether the engine of `kind` can run with `cfg`'s implementation (r7b's
/// Rust needs a kernel that can switch its own get and put to it).
pub(crate) fn supported(cfg: &Cfg, kind: Scenario) -> bool {
    kind != Scenario::R7b || r7b::supported(cfg)
}

/// With the frozen bit, the word of a free or frozen page has bit 31 set;
/// in the classic scheme it is 0.
pub(crate) fn frozen_word(v: i32) -> bool {
    if cfg!(CONFIG_PAGE_REF_FROZEN_BIT) {
        v < 0
    } else {
        v == 0
    }
}

/// The last put of a release: true if it won the page. With the frozen bit,
/// one in `inject` takes the decrement and the claim apart and waits in
/// between: the window of R1 and R7, in the implementation under test.
///
/// # Safety
///
/// `page` is a page the caller holds a reference to, as a put requires.
pub(crate) unsafe fn last_put(w: &mut Worker, kind: Scenario, page: *mut bindings::page) -> bool {
    let cfg = w.run.cfg;
    if cfg!(CONFIG_PAGE_REF_FROZEN_BIT) && cfg.inject != 0 && w.rand() % cfg.inject == 0 {
        w.inc(Stat::Injected);
        let (ops, n) = w.ops();
        // SAFETY: the caller holds the reference this decrement puts.
        let count = unsafe { ops.dec_return(n, page) };
        if count < 0 {
            violation!(
                w.run,
                kind,
                "a put found a page free or frozen ({:#x})",
                count
            );
            return false;
        }
        w.window(cfg.delay_ns);
        let (ops, n) = w.ops();
        // SAFETY: `count` is what our decrement left.
        return unsafe { ops.last_put(n, page, count) };
    }
    let (ops, n) = w.ops();
    // SAFETY: the caller holds the reference.
    unsafe { ops.put(n, page) }
}

/// A barrier for the engines that run in rounds (r2, r6).
pub(crate) struct Barrier {
    arrived: Atomic<i32>,
    phase: Atomic<u32>,
    n: i32,
}

impl Barrier {
    /// A barrier for `n` threads.
    pub(crate) fn new(n: usize) -> Self {
        Self {
            arrived: Atomic::new(0),
            phase: Atomic::new(0),
            n: n as i32,
        }
    }

    /// Waits until all `n` threads have arrived; false if the run stops
    /// meanwhile (the round is then abandoned).
    pub(crate) fn wait(&self, w: &Worker) -> bool {
        // Pairs with the release below: what the last round did is visible.
        let phase = self.phase.load(Acquire);
        if self.arrived.fetch_add(1, Full) + 1 == self.n {
            self.arrived.store(0, Relaxed);
            // The reset counts and this round's work, before the others go on.
            self.phase.store(phase.wrapping_add(1), Release);
            return true;
        }
        let mut i = 0;
        // Pairs with the release above.
        while self.phase.load(Acquire) == phase {
            if w.stopping() {
                return false;
            }
            relax(i);
            i += 1;
        }
        true
    }
}

/// Pointers to pages that were the harness's and may be anyone's by now, as
/// a lookup that raced a free keeps them (r5, r7b): pushed in turn, read at
/// random.
pub(crate) struct Ring {
    pos: Atomic<u32>,
    pages: [Atomic<*mut bindings::page>; RING],
}

const RING: usize = 256;

impl Ring {
    pub(crate) fn new() -> Self {
        Self {
            pos: Atomic::new(0),
            pages: [const { Atomic::new(core::ptr::null_mut()) }; RING],
        }
    }

    pub(crate) fn push(&self, page: *mut bindings::page) {
        let i = self.pos.fetch_add(1, Relaxed) as usize % RING;
        self.pages[i].store(page, Relaxed);
    }

    /// A pointer pushed some time ago, or null.
    pub(crate) fn pick(&self, w: &mut Worker) -> *mut bindings::page {
        self.pages[w.rand() as usize % RING].load(Relaxed)
    }
}

/// A page published to getters, who announce themselves before they read
/// the pointer: once the owner has withdrawn it and seen no getter, none
/// can still be using it, and what a getter did to the page happens before
/// the owner's next step.
pub(crate) struct Pub {
    page: Atomic<*mut bindings::page>,
    users: Atomic<i32>,
}

impl Pub {
    pub(crate) fn new() -> Self {
        Self {
            page: Atomic::new(core::ptr::null_mut()),
            users: Atomic::new(0),
        }
    }

    /// A getter's look at the page: null if none is published.
    pub(crate) fn enter(&self) -> *mut bindings::page {
        // Announced before the pointer is read (fully ordered): pairs with
        // the barrier of `unpublish`.
        self.users.fetch_add(1, Full);
        self.page.load(Relaxed)
    }

    /// The getter is done with the page.
    pub(crate) fn leave(&self) {
        // What the getter did to the page, before the owner sees it gone.
        self.users.fetch_sub(1, Full);
    }

    pub(crate) fn publish(&self, page: *mut bindings::page) {
        // The page's state, before a getter can find it.
        self.page.store(page, Release);
    }

    pub(crate) fn unpublish(&self) {
        self.page.store(core::ptr::null_mut(), Relaxed);
        // Withdrawn before the getters are counted: pairs with `enter`.
        smp_mb(Full);
        let mut i = 0;
        while self.users.load(Relaxed) != 0 {
            relax(i);
            i += 1;
        }
        // The getters' gets and puts, before what the owner does next.
        smp_mb(Full);
    }
}

// SAFETY: the pointers are to `struct page`s of the memory map, valid for
// as long as the kernel runs; the types only hand them out.
unsafe impl Send for Ring {}
// SAFETY: as above; every access is atomic.
unsafe impl Sync for Ring {}
// SAFETY: as for `Ring`.
unsafe impl Send for Pub {}
// SAFETY: as for `Ring`.
unsafe impl Sync for Pub {}

/// A get on a page that someone else may own by now (a stale pointer): one
/// that succeeds holds the page, which then cannot be free; the reference
/// is put again, and a put that wins frees the page as its owner would.
pub(crate) fn stale_get(w: &mut Worker, kind: Scenario, page: *mut bindings::page) {
    let (ops, n) = w.ops();
    // SAFETY: a pointer into the memory map; a speculative get may be tried
    // on a page in any state.
    if !unsafe { ops.try_get(n, page, 1) } {
        w.inc(Stat::Fails);
        return;
    }
    w.inc(Stat::Gets);
    // Holding it, nobody can free it: if it is in the buddy, it was then.
    // SAFETY: a pointer into the memory map.
    if unsafe { crate::pages::is_buddy(page) } {
        violation!(
            w.run,
            kind,
            "a get succeeded on page {:#x}, which is free (buddy)",
            crate::pages::pfn(page)
        );
        return;
    }
    // SAFETY: as above.
    let v = unsafe { crate::ops::raw(page) };
    if v <= 0 {
        violation!(
            w.run,
            kind,
            "page reads {:#x} while we hold a reference to it",
            v
        );
        return;
    }
    let (ops, n) = w.ops();
    // SAFETY: the reference just taken.
    if unsafe { ops.put(n, page) } {
        w.inc(Stat::Foreign);
        // SAFETY: our put won it: nobody else holds it.
        unsafe { crate::pages::free_foreign(page) };
    }
}
