// SPDX-License-Identifier: GPL-2.0

//! r1 and r7: slots that hold a page each, like a page cache.
//!
//! Each page of a slot lives through incarnations: allocated (the slot's
//! reference), released by its owner (who drops that reference), freed by
//! whichever put wins the last claim. The state of an incarnation is kept
//! in a ring of records per slot, and the page itself carries a stamp (its
//! cache, slot and incarnation) in its first bytes, so that the winner of a
//! last put frees what it finds in the page, as R7 requires: not what it
//! believed it was putting.
//!
//! r1 recycles each slot's page itself (pool): a dead page is reallocated
//! with `set_page_count()`, and getters try-get the slot's page blindly, in
//! any state. r7 frees dead pages to the allocator and refills the slot
//! with a new page; getters look the page up, try-get it and re-check the
//! slot, and keep stale pointers that they try again later.

use super::incarnation::{
    st, st_gen, st_phase, stamp, stamped_by, Phase, CACHES, GEN_MASK, MAGIC, PHASE_NAMES, RECS,
};
use super::last_put;
use crate::pages::{self, is_buddy, pfn};
use crate::params::Scenario;
use crate::run::{violation, Engine, Run, Stat, Worker};
use core::ptr::{null_mut, NonNull};
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::atomic::{Acquire, Atomic, Full, Relaxed, Release};
use kernel::sync::barrier::smp_mb;
use kernel::sync::{rcu, Arc};

const NSTALE: usize = 8;
struct Slot {
    /// pool: the slot's page; else the published page, or null.
    page: Atomic<*mut bindings::page>,
    /// The slot's latest incarnation.
    gen: Atomic<u32>,
    /// Being refilled.
    busy: Atomic<bool>,
    /// Incarnation `g`'s state is `rec[g % RECS]`.
    rec: [Atomic<i32>; RECS as usize],
}

/// The stale pointers one getter of r7 keeps, as a lookup that raced a
/// free would: a page and the slot it was found in.
struct StaleSet {
    pages: [Atomic<*mut bindings::page>; NSTALE],
    slots: [Atomic<u32>; NSTALE],
    pos: Atomic<u32>,
}

pub(super) struct Cache {
    pool: bool,
    slots: KVec<Slot>,
    /// One per thread.
    stale: KVec<StaleSet>,
}

impl Cache {
    /// The cache of `npages` slots for `n` threads, registered, each slot
    /// with its first page. In an `Arc` before the pages are stamped: its
    /// address is its name in the stamps.
    pub(super) fn new(npages: usize, n: usize, pool: bool) -> Result<Arc<Self>> {
        let mut slots = KVec::with_capacity(npages, GFP_KERNEL)?;
        for _ in 0..npages {
            slots.push(
                Slot {
                    page: Atomic::new(null_mut()),
                    gen: Atomic::new(0),
                    busy: Atomic::new(false),
                    rec: [const { Atomic::new(Phase::Dead as i32) }; RECS as usize],
                },
                GFP_KERNEL,
            )?;
        }
        let mut stale = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            stale.push(
                StaleSet {
                    pages: [const { Atomic::new(null_mut()) }; NSTALE],
                    slots: [const { Atomic::new(0) }; NSTALE],
                    pos: Atomic::new(0),
                },
                GFP_KERNEL,
            )?;
        }
        let c = Arc::new(Cache { pool, slots, stale }, GFP_KERNEL)?;
        if !CACHES.iter().any(|k| k.cmpxchg(0, c.addr(), Full).is_ok()) {
            return Err(EBUSY);
        }
        for (s, slot) in c.slots.iter().enumerate() {
            // On failure, the drop of `c` frees the pages so far.
            let page = pages::alloc(0, 0).ok_or(ENOMEM)?;
            c.stamp(page.as_ptr(), s as u32, 0);
            slot.rec[0].store(st(0, Phase::Live), Relaxed);
            slot.page.store(page.as_ptr(), Relaxed);
        }
        Ok(c)
    }

    fn kind(&self) -> Scenario {
        if self.pool {
            Scenario::R1
        } else {
            Scenario::R7
        }
    }

    fn stamp(&self, page: *mut bindings::page, s: u32, g: u32) {
        // SAFETY: a page of ours that no getter can find yet.
        let d = unsafe { stamp(page) };
        d.cache.store(core::ptr::from_ref(self) as usize, Relaxed);
        d.slot.store(s, Relaxed);
        d.gen.store(g, Relaxed);
        d.gets.store(0, Relaxed);
        d.puts.store(0, Relaxed);
        d.magic.store(MAGIC ^ page as usize, Relaxed);
    }

    /// r1: the winner hands the dead page out again, as the allocator would.
    fn reincarnate(&self, s: usize, page: *mut bindings::page) {
        let slot = &self.slots[s];
        let g = (slot.gen.load(Relaxed) + 1) & GEN_MASK;
        slot.rec[(g % RECS) as usize].store(st(g, Phase::Alloc), Relaxed);
        self.stamp(page, s as u32, g);
        // The record and the stamp, before the number that names them.
        slot.gen.store(g, Release);
        // The number, before the count that a getter may take: the store
        // of the count is relaxed (`set_page_count()`), so a full barrier.
        smp_mb(Full);
        // SAFETY: the page is ours (we won its last put).
        unsafe { bindings::set_page_count(page, 1) };
        slot.rec[(g % RECS) as usize].store(st(g, Phase::Live), Release);
    }

    /// Our put won the claim of `page`, a page stamped by this cache; we
    /// meant slot `xs`, incarnation `xg` of cache `xc` (None: no idea).
    fn won(&self, w: &mut Worker, page: *mut bindings::page, meant: Option<(usize, usize, u32)>) {
        // SAFETY: we hold the page (we won it): its stamp is ours to read.
        let d = unsafe { stamp(page) };
        let s = d.slot.load(Relaxed) as usize;
        let g = d.gen.load(Relaxed);
        if s >= self.slots.len() {
            violation!(
                w.run,
                self.kind(),
                "page {:#x} carries a bad stamp (slot {})",
                pfn(page),
                s
            );
            return;
        }
        let rec = &self.slots[s].rec[(g % RECS) as usize];
        if let Err(found) = rec.cmpxchg(st(g, Phase::Releasing), st(g, Phase::Dead), Full) {
            violation!(
                w.run,
                self.kind(),
                "slot {} incarnation {}: a last put won it in state {}/{}: {}",
                s,
                g,
                PHASE_NAMES[st_phase(found)],
                st_gen(found),
                if st_phase(found) == Phase::Dead as usize {
                    "a second free"
                } else {
                    "its owner's reference was lost"
                }
            );
            return;
        }
        let gets = d.gets.load(Relaxed);
        let puts = d.puts.load(Relaxed);
        if puts != gets + 1 {
            violation!(
                w.run,
                self.kind(),
                "slot {} incarnation {}: its winner sees {} gets and {} puts: a reference outlived the last put, or its writes are not visible",
                s,
                g,
                gets,
                puts
            );
        }
        w.inc(Stat::Frees);
        let me = core::ptr::from_ref(self) as usize;
        if meant.is_some_and(|(xc, xs, xg)| xc != me || xs != s || xg != g) {
            w.inc(Stat::Stale);
        }
        if self.pool {
            self.reincarnate(s, page);
            return;
        }
        d.magic.store(0, Relaxed);
        // The slot stopped counting it as held when its owner released it.
        // SAFETY: we won the page: one reference, then the allocator's put.
        unsafe {
            bindings::set_page_count(page, 1);
            bindings::__free_pages(page, 0);
        }
        // Reallocate at once, on this CPU: most likely the page just freed.
        self.refill(s);
    }
}

/// Our put won the claim of `page`, which we meant as slot `xs`,
/// incarnation `xg` of the cache at `xc` (None: a stale pointer, no idea).
/// The winner frees what it finds in the page.
///
/// # Safety
///
/// Our put won `page`: nobody else holds it.
unsafe fn won_any(
    w: &mut Worker,
    kind: Scenario,
    page: *mut bindings::page,
    meant: Option<(usize, usize, u32)>,
) {
    // SAFETY: we hold the page: its first bytes are read atomically here,
    // and a page of someone else's is never written by us.
    if let Some(c) = unsafe { stamped_by(page) } {
        c.won(w, page, meant);
        return;
    }
    // SAFETY: a page of the memory map.
    if unsafe { is_buddy(page) } {
        violation!(
            w.run,
            kind,
            "won the last put of page {:#x}, which is free (buddy)",
            pfn(page)
        );
        return;
    }
    // Someone else's by now: they put it while we held a reference.
    w.inc(Stat::Foreign);
    // SAFETY: the caller's promise.
    unsafe { pages::free_foreign(page) };
}

impl Cache {
    fn addr(&self) -> usize {
        core::ptr::from_ref(self) as usize
    }

    /// A put of a reference a getter took.
    fn put(&self, w: &mut Worker, page: *mut bindings::page, meant: Option<(usize, usize, u32)>) {
        let (ops, n) = w.ops();
        // SAFETY: the caller holds the reference.
        if unsafe { ops.put(n, page) } {
            // SAFETY: our put won the page.
            unsafe { won_any(w, self.kind(), page, meant) };
        }
    }

    /// The owner drops the slot's reference: the last put, unless a getter
    /// holds one.
    fn release(&self, w: &mut Worker, s: usize) {
        let slot = &self.slots[s];
        let g = slot.gen.load(Relaxed);
        let rec = &slot.rec[(g % RECS) as usize];
        if rec
            .cmpxchg(st(g, Phase::Live), st(g, Phase::Releasing), Full)
            .is_err()
        {
            return;
        }
        let page = slot.page.load(Relaxed);
        if !self.pool {
            slot.page.store(null_mut(), Relaxed);
            crate::HELD.fetch_sub(1, Relaxed);
        }
        // SAFETY: the slot's page, which the slot holds until this put.
        unsafe { stamp(page) }.puts.fetch_add(1, Relaxed);
        // SAFETY: the slot's reference.
        if unsafe { last_put(w, self.kind(), page) } {
            // SAFETY: our put won the page.
            unsafe { won_any(w, self.kind(), page, Some((self.addr(), s, g))) };
        }
        if !self.pool {
            self.refill(s);
        }
    }

    /// r7: gives an empty slot a new page, unless its record is still in use.
    fn refill(&self, s: usize) {
        let slot = &self.slots[s];
        if !slot.page.load(Relaxed).is_null() || slot.busy.xchg(true, Acquire) {
            return;
        }
        if slot.page.load(Relaxed).is_null() {
            let g = (slot.gen.load(Relaxed) + 1) & GEN_MASK;
            let rec = &slot.rec[(g % RECS) as usize];
            // The incarnation that used this record is released, not yet freed.
            if st_phase(rec.load(Relaxed)) != Phase::Releasing as usize {
                if let Some(page) = pages::alloc(0, 0) {
                    rec.store(st(g, Phase::Alloc), Relaxed);
                    self.stamp(page.as_ptr(), s as u32, g);
                    slot.gen.store(g, Relaxed);
                    // The stamp and the record, before a lookup finds the page.
                    slot.page.store(page.as_ptr(), Release);
                    rec.store(st(g, Phase::Live), Release);
                }
            }
        }
        slot.busy.store(false, Release);
    }

    /// r1: a blind try-get of the slot's page, in whatever state. One that
    /// succeeds holds a reference to the incarnation that is current at
    /// that moment, which therefore cannot be dead; it counts its get and
    /// its put in the page, and the winner of the last put checks the sums.
    fn pool_get(&self, w: &mut Worker, s: usize) {
        let slot = &self.slots[s];
        let page = slot.page.load(Relaxed);
        let (ops, n) = w.ops();
        // SAFETY: the slot's page, the harness's for the whole run.
        if !unsafe { ops.try_get(n, page, 1) } {
            w.inc(Stat::Fails);
            return;
        }
        w.inc(Stat::Gets);
        // The record of incarnation g was written before g.
        let g = slot.gen.load(Acquire);
        let rs = slot.rec[(g % RECS) as usize].load(Relaxed);
        // SAFETY: as above.
        let v = unsafe { crate::ops::raw(page) };
        if v <= 0 {
            violation!(
                w.run,
                Scenario::R1,
                "page {:#x} reads {:#x} while we hold a reference to it",
                pfn(page),
                v
            );
            return;
        }
        if !in_use(&w.run, Scenario::R1, s, g, rs) {
            return;
        }
        if st_phase(rs) == Phase::Releasing as usize {
            w.inc(Stat::Revivals);
        }
        // SAFETY: the harness's page, which we hold.
        let d = unsafe { stamp(page) };
        d.gets.fetch_add(1, Relaxed);
        w.hold();
        d.puts.fetch_add(1, Relaxed);
        self.put(w, page, Some((self.addr(), s, g)));
    }
}

impl Cache {
    /// r7: a page-cache lookup: read the slot, try-get, re-check the slot.
    /// Only a re-checked page is known to be the slot's (it cannot be freed
    /// while we hold it), and only then do we look into it; any other
    /// reference is simply put. A stale pointer is tried again later, as a
    /// lookup that raced a truncation would.
    fn lookup_get(&self, w: &mut Worker, s: usize, stale: bool) {
        let set = &self.stale[w.id];
        let (mut page, s) = if stale {
            let i = w.rand() as usize % NSTALE;
            (
                set.pages[i].load(Relaxed),
                set.slots[i].load(Relaxed) as usize,
            )
        } else {
            (null_mut(), s)
        };
        if stale && page.is_null() {
            return;
        }
        let slot = &self.slots[s];
        let guard = rcu::read_lock();
        if !stale {
            // Pairs with the release of `refill`: the stamp is there.
            page = slot.page.load(Acquire);
            if page.is_null() {
                drop(guard);
                self.refill(s);
                return;
            }
            let pos = set.pos.load(Relaxed) as usize;
            set.pages[pos].store(page, Relaxed);
            set.slots[pos].store(s as u32, Relaxed);
            set.pos.store(((pos + 1) % NSTALE) as u32, Relaxed);
        }
        let (ops, n) = w.ops();
        // SAFETY: a pointer into the memory map; a speculative get may be
        // tried on a page in any state.
        let ok = unsafe { ops.try_get(n, page, 1) };
        // The re-check of a page-cache lookup, after the fully ordered get.
        let validated = ok && slot.page.load(Acquire) == page;
        drop(guard);
        if !ok {
            w.inc(Stat::Fails);
            return;
        }
        w.inc(Stat::Gets);
        // SAFETY: we hold the page.
        if unsafe { is_buddy(page) } {
            violation!(
                w.run,
                Scenario::R7,
                "a get succeeded on page {:#x}, which is free (buddy)",
                pfn(page)
            );
            return;
        }
        // SAFETY: as above.
        let v = unsafe { crate::ops::raw(page) };
        if v <= 0 {
            violation!(
                w.run,
                Scenario::R7,
                "page {:#x} reads {:#x} while we hold a reference to it",
                pfn(page),
                v
            );
            return;
        }
        if !validated {
            self.put(w, page, None);
            return;
        }
        // SAFETY: the slot's page, which we hold: its stamp is the harness's.
        let ours = unsafe { stamped_by(page) }.is_some_and(|c| c.addr() == self.addr());
        // SAFETY: as above.
        let d = unsafe { stamp(page) };
        if !ours || d.slot.load(Relaxed) as usize != s {
            violation!(
                w.run,
                Scenario::R7,
                "slot {} holds page {:#x}, whose stamp is not the slot's",
                s,
                pfn(page)
            );
            return;
        }
        let g = d.gen.load(Relaxed);
        let rs = slot.rec[(g % RECS) as usize].load(Relaxed);
        if !in_use(&w.run, Scenario::R7, s, g, rs) {
            return;
        }
        d.gets.fetch_add(1, Relaxed);
        w.hold();
        d.puts.fetch_add(1, Relaxed);
        self.put(w, page, Some((self.addr(), s, g)));
    }
}

/// Whether record `rs` of slot `s` says incarnation `g` is alive, as it
/// must be while a getter holds a reference to it; else a violation.
fn in_use(run: &Run, kind: Scenario, s: usize, g: u32, rs: i32) -> bool {
    if st_gen(rs) == g && st_phase(rs) != Phase::Dead as usize {
        return true;
    }
    violation!(
        run,
        kind,
        "slot {}: a get holds incarnation {}, which is {}/{}",
        s,
        g,
        PHASE_NAMES[st_phase(rs)],
        st_gen(rs)
    );
    false
}

/// Waits a little for a count to settle: a reference in flight.
fn count_is(page: *mut bindings::page, count: i32) -> bool {
    for _ in 0..100 {
        // SAFETY: a page of the harness.
        if unsafe { crate::ops::raw(page) } == count {
            return true;
        }
        kernel::time::delay::fsleep(kernel::time::Delta::from_micros(100));
    }
    false
}

impl Engine for Cache {
    fn work(&self, w: &mut Worker) {
        let r = w.rand();
        let s = (r >> 8) as usize % self.slots.len();
        if self.pool {
            if r % 16 < 2 {
                self.release(w, s);
            } else {
                self.pool_get(w, s);
            }
        } else if r % 16 < 4 {
            self.release(w, s);
        } else {
            self.lookup_get(w, s, (r >> 4) % 4 == 0);
        }
    }

    fn finish(&self, run: &Run) {
        let mut unfreed = 0;
        for (s, slot) in self.slots.iter().enumerate() {
            let g = slot.gen.load(Relaxed);
            let rs = slot.rec[(g % RECS) as usize].load(Relaxed);
            let page = slot.page.load(Relaxed);
            if self.pool {
                // SAFETY: the slot's page, the harness's.
                let v = unsafe { crate::ops::raw(page) };
                if st_phase(rs) != Phase::Live as usize {
                    violation!(
                        run,
                        Scenario::R1,
                        "slot {}: incarnation {} ends {}: released, never freed",
                        s,
                        g,
                        PHASE_NAMES[st_phase(rs)]
                    );
                } else if v != 1 {
                    violation!(
                        run,
                        Scenario::R1,
                        "slot {}: its page counts {:#x} at the end, expected 1",
                        s,
                        v
                    );
                }
                continue;
            }
            for r in slot.rec.iter() {
                unfreed += usize::from(st_phase(r.load(Relaxed)) == Phase::Releasing as usize);
            }
            if page.is_null() {
                continue;
            }
            if !count_is(page, 1) {
                // SAFETY: the slot's page, the harness's.
                let v = unsafe { crate::ops::raw(page) };
                violation!(
                    run,
                    Scenario::R7,
                    "slot {}: its page counts {:#x} at the end, expected 1",
                    s,
                    v
                );
                // Someone may still hold it: never freed.
                slot.page.store(null_mut(), Relaxed);
                crate::HELD.fetch_sub(1, Relaxed);
                crate::LEAKED.fetch_add(1, Relaxed);
            }
        }
        // Released pages no harness put won: someone else holds or freed them.
        if unfreed != 0 {
            pr_info!(
                "# {}: {} released pages were not freed by the harness\n",
                self.kind().name(),
                unfreed
            );
        }
    }
}

impl Drop for Cache {
    fn drop(&mut self) {
        // Every thread has stopped: the slots' pages are the harness's alone.
        for slot in self.slots.iter() {
            let page = slot.page.load(Relaxed);
            let Some(p) = NonNull::new(page) else {
                continue;
            };
            // SAFETY: a page of the slot, which nobody else holds now.
            unsafe {
                stamp(page).magic.store(0, Relaxed);
                bindings::set_page_count(page, 1);
                pages::free(p, 0);
            }
        }
        let me = self.addr();
        for k in CACHES.iter() {
            let _ = k.cmpxchg(me, 0, Full);
        }
    }
}
