// SPDX-License-Identifier: GPL-2.0

//! What a page of the cache engine (r1, r7) says about itself: the records
//! of a slot's incarnations, and the stamp a cache page carries in its first
//! bytes (its cache, slot and incarnation, and the gets and puts of its
//! holders), by which the winner of a last put knows what it won.

use super::cache::Cache;
use kernel::bindings;
use kernel::sync::atomic::{Atomic, Relaxed};

pub(super) const RECS: u32 = 8;
pub(super) const GEN_MASK: u32 = u32::MAX >> 2;
pub(super) const MAGIC: usize = 0x7061_6765_7265_664e;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// The slot holds its reference.
    Live = 0,
    /// Released: the last put's winner will free it.
    Releasing = 1,
    /// Freed.
    Dead = 2,
    /// Being allocated.
    Alloc = 3,
}

pub(super) const PHASE_NAMES: [&str; 4] = ["live", "releasing", "dead", "alloc"];

pub(super) fn st(gen: u32, phase: Phase) -> i32 {
    ((gen & GEN_MASK) << 2 | phase as u32) as i32
}

pub(super) fn st_gen(st: i32) -> u32 {
    st as u32 >> 2
}

pub(super) fn st_phase(st: i32) -> usize {
    (st & 3) as usize
}

/// The stamp in the first bytes of a cache page. Its fields are atomics:
/// a getter with a stale pointer may read the stamp of a page that is
/// being reallocated.
#[repr(C)]
pub(super) struct Stamp {
    /// `MAGIC ^` the page's address.
    pub(super) magic: Atomic<usize>,
    /// The cache, by address.
    pub(super) cache: Atomic<usize>,
    pub(super) slot: Atomic<u32>,
    pub(super) gen: Atomic<u32>,
    /// References taken by the holders that count.
    pub(super) gets: Atomic<i64>,
    /// References those holders and the slot put.
    pub(super) puts: Atomic<i64>,
}

/// The stamp of `page`.
///
/// # Safety
///
/// `page` points to an order-0 page of the memory map, whose first bytes
/// are only ever accessed atomically while the harness looks at them: a
/// page of the harness, or one it holds a reference to.
pub(super) unsafe fn stamp<'a>(page: *mut bindings::page) -> &'a Stamp {
    // SAFETY: the caller's promise; `page_address()` of a page of the
    // memory map is its address in the direct map, aligned to a page.
    unsafe { &*bindings::page_address(page).cast::<Stamp>() }
}

/// The cache engines of the run, to recognise a stamp's cache.
pub(super) static CACHES: [Atomic<usize>; 2] = [Atomic::new(0), Atomic::new(0)];

/// Whether `page` carries a stamp, and of which live cache.
///
/// # Safety
///
/// As [`stamp`].
pub(super) unsafe fn stamped_by(page: *mut bindings::page) -> Option<&'static Cache> {
    // SAFETY: the caller's promise.
    let s = unsafe { stamp(page) };
    if s.magic.load(Relaxed) != MAGIC ^ page as usize {
        return None;
    }
    let c = s.cache.load(Relaxed);
    if c == 0 || !CACHES.iter().any(|k| k.load(Relaxed) == c) {
        return None;
    }
    // SAFETY: a registered cache lives until its drop unregisters it, which
    // is after every thread of the run has stopped.
    Some(unsafe { &*(c as *const Cache) })
}
