// SPDX-License-Identifier: GPL-2.0

//! The operations under test, as one trait, [`RefOps`], with its
//! implementations:
//!
//! - [`COps`]: the C code of `<linux/page_ref.h>`, the inline functions
//!   themselves (through the test series' helpers), never the out-of-line
//!   implementation that `CONFIG_PAGE_REF_EXTERN` may switch the kernel to;
//!   a broken variant of it is the kernel's `page_ref_test_variant`, which
//!   the run sets for its duration;
//! - [`RustOps`]: the algorithm of `rust/algo/page_ref_algo.rs` over the
//!   page's real `_refcount`, this module's own instance of the source the
//!   kernel's Rust implementation is built from, correct or as a broken
//!   variant.
//!
//! A put is two operations, the decrement and the claim of a count that
//! reached zero, so that an engine can wait between them: the window of R1
//! and R7. Every operation an implementation runs is counted, by kind, in
//! the counters of the calling thread ([`OpCounts`]), under that
//! implementation's name: a run with one implementation must show no
//! operation of the other.

use crate::algo::{PageRefOps, RefAtomic, Scheme};
use crate::page_word::PageWord;
use kernel::bindings;
use kernel::sync::atomic::{Atomic, Relaxed};

/// The kinds of operations counted.
#[derive(Clone, Copy)]
pub(crate) enum Op {
    TryGet,
    Put,
    Claim,
    Freeze,
    Unfreeze,
    MakeOwnerless,
}

/// The number of [`Op`]s.
pub(crate) const NR_OPS: usize = 6;

/// The names of the [`Op`]s, as the stats lines print them.
pub(crate) const OP_NAMES: [&str; NR_OPS] = [
    "get",
    "put",
    "claim",
    "freeze",
    "unfreeze",
    "make_ownerless",
];

/// An implementation, as [`OpCounts`] files its operations.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Which {
    C = 0,
    Rust = 1,
}

impl Which {
    /// Both, in the order of [`OpCounts`].
    pub(crate) const ALL: [Which; 2] = [Which::C, Which::Rust];

    /// The name of the implementation (`impl=` of the verdicts).
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Which::C => "c",
            Which::Rust => "rust",
        }
    }
}

/// The operations one thread ran, by implementation and kind. Written by
/// that thread only, read by the stats line.
pub(crate) struct OpCounts {
    n: [[Atomic<usize>; NR_OPS]; 2],
}

impl OpCounts {
    /// No operation yet.
    pub(crate) const fn new() -> Self {
        Self {
            n: [const { [const { Atomic::new(0) }; NR_OPS] }; 2],
        }
    }

    pub(crate) fn inc(&self, which: Which, op: Op) {
        let c = &self.n[which as usize][op as usize];
        // Only this thread writes the counter: no read-modify-write needed.
        c.store(c.load(Relaxed) + 1, Relaxed);
    }

    /// How many operations of kind `op` implementation `which` ran.
    pub(crate) fn get(&self, which: Which, op: usize) -> usize {
        self.n[which as usize][op].load(Relaxed)
    }
}

/// The page refcount operations under test.
///
/// # Contract of the methods
///
/// Every method takes a `page` that must point to a `struct page` of the
/// memory map, valid for the call. A speculative get checks, as the
/// kernel's does, that it is not a tail page of a compound page (under
/// HugeTLB vmemmap optimisation tail struct pages are read-only); every
/// other operation is on a page the caller holds, which is no tail page. The operation must be one the page's state
/// allows the caller, as for the C function of the same name: a put of a
/// reference the caller holds, an unfreeze of a page the caller froze, a
/// freeze or a make-ownerless of references the caller owns. A speculative
/// get may be tried on a page in any state.
pub(crate) trait RefOps: Send + Sync {
    /// Which implementation this is.
    fn which(&self) -> Which;

    /// `page_ref_add_unless_zero(page, nr)`.
    ///
    /// # Safety
    ///
    /// See the trait's contract.
    unsafe fn try_get(&self, n: &OpCounts, page: *mut bindings::page, nr: i32) -> bool;

    /// The decrement of a put: the count it left, frozen bit and
    /// leftovers included.
    ///
    /// # Safety
    ///
    /// See the trait's contract; the caller must then call
    /// [`Self::last_put`] with the count returned.
    unsafe fn dec_return(&self, n: &OpCounts, page: *mut bindings::page) -> i32;

    /// `page_ref_last_put(page, count)`: finishes a put that left `count`;
    /// true if it won the page, which the caller must then free.
    ///
    /// # Safety
    ///
    /// See the trait's contract; `count` is what [`Self::dec_return`]
    /// returned.
    unsafe fn last_put(&self, n: &OpCounts, page: *mut bindings::page, count: i32) -> bool;

    /// `page_ref_freeze(page, count)`.
    ///
    /// # Safety
    ///
    /// See the trait's contract.
    unsafe fn freeze(&self, n: &OpCounts, page: *mut bindings::page, count: i32) -> bool;

    /// `page_ref_unfreeze(page, count)`.
    ///
    /// # Safety
    ///
    /// See the trait's contract.
    unsafe fn unfreeze(&self, n: &OpCounts, page: *mut bindings::page, count: i32);

    /// `page_ref_make_ownerless(page)`.
    ///
    /// # Safety
    ///
    /// See the trait's contract.
    unsafe fn make_ownerless(&self, n: &OpCounts, page: *mut bindings::page);

    /// `page_ref_count(page)` (not counted: a read).
    ///
    /// # Safety
    ///
    /// See the trait's contract.
    unsafe fn count(&self, page: *mut bindings::page) -> i32;

    /// `page_ref_dec_and_test(page)`: the decrement and the claim in one go.
    ///
    /// # Safety
    ///
    /// See the trait's contract.
    unsafe fn put(&self, n: &OpCounts, page: *mut bindings::page) -> bool {
        // SAFETY: the caller's promise, and the count is the decrement's.
        unsafe {
            let count = self.dec_return(n, page);
            self.last_put(n, page, count)
        }
    }
}

/// The C code of `<linux/page_ref.h>`.
pub(crate) struct COps;

impl RefOps for COps {
    fn which(&self) -> Which {
        Which::C
    }

    unsafe fn try_get(&self, n: &OpCounts, page: *mut bindings::page, nr: i32) -> bool {
        n.inc(Which::C, Op::TryGet);
        // SAFETY: the caller's promise; the add only if the page is not a
        // tail page, as the kernel's wrapper checks.
        unsafe {
            bindings::page_ref_may_add(page) && bindings::__page_ref_add_unless_zero(page, nr)
        }
    }

    unsafe fn dec_return(&self, n: &OpCounts, page: *mut bindings::page) -> i32 {
        n.inc(Which::C, Op::Put);
        // The decrement of `__page_ref_dec_and_test()`, the kernel's C
        // atomic; not `page_ref_dec_return()`, which warns on a zero.
        // SAFETY: the caller's promise: `_refcount` is valid.
        unsafe { bindings::atomic_dec_return(&raw mut (*page)._refcount) }
    }

    unsafe fn last_put(&self, n: &OpCounts, page: *mut bindings::page, count: i32) -> bool {
        n.inc(Which::C, Op::Claim);
        // SAFETY: the caller's promise.
        unsafe { bindings::page_ref_last_put(page, count) }
    }

    unsafe fn freeze(&self, n: &OpCounts, page: *mut bindings::page, count: i32) -> bool {
        n.inc(Which::C, Op::Freeze);
        // SAFETY: the caller's promise.
        unsafe { bindings::page_ref_freeze(page, count) != 0 }
    }

    unsafe fn unfreeze(&self, n: &OpCounts, page: *mut bindings::page, count: i32) {
        n.inc(Which::C, Op::Unfreeze);
        // SAFETY: the caller's promise.
        unsafe { bindings::page_ref_unfreeze(page, count) }
    }

    unsafe fn make_ownerless(&self, n: &OpCounts, page: *mut bindings::page) {
        n.inc(Which::C, Op::MakeOwnerless);
        // SAFETY: the caller's promise.
        unsafe { bindings::page_ref_make_ownerless(page) }
    }

    unsafe fn count(&self, page: *mut bindings::page) -> i32 {
        // SAFETY: the caller's promise.
        unsafe { bindings::page_ref_count(page) }
    }
}

/// The Rust algorithm, correct or as a broken variant.
pub(crate) struct RustOps(pub(crate) PageRefOps);

impl RustOps {
    /// The word of `page`.
    ///
    /// # Safety
    ///
    /// As the trait's methods.
    unsafe fn word<'a>(page: *mut bindings::page) -> PageWord<'a> {
        // SAFETY: the caller's promise: a writable `struct page`, valid for
        // the call the word is used in.
        unsafe { PageWord::of(page) }
    }
}

impl RefOps for RustOps {
    fn which(&self) -> Which {
        Which::Rust
    }

    unsafe fn try_get(&self, n: &OpCounts, page: *mut bindings::page, nr: i32) -> bool {
        n.inc(Which::Rust, Op::TryGet);
        // The kernel's check that the page is not a tail page (a `PageTail()`
        // test, not a refcount operation), then the Rust add.
        // SAFETY: the caller's promise.
        let may = unsafe { bindings::page_ref_may_add(page) };
        // SAFETY: the caller's promise, and not a tail page.
        may && self.0.try_get(&unsafe { Self::word(page) }, nr as u32)
    }

    unsafe fn dec_return(&self, n: &OpCounts, page: *mut bindings::page) -> i32 {
        n.inc(Which::Rust, Op::Put);
        // SAFETY: the caller's promise.
        self.0.dec_return(&unsafe { Self::word(page) }) as i32
    }

    unsafe fn last_put(&self, n: &OpCounts, page: *mut bindings::page, count: i32) -> bool {
        n.inc(Which::Rust, Op::Claim);
        // Only a put that reached zero claims, as `page_ref_last_put()`; the
        // classic scheme has no claim: its zero is the win.
        count == 0
            && (self.0.scheme() == Scheme::Classic
                // SAFETY: the caller's promise.
                || self.0.claim(&unsafe { Self::word(page) }))
    }

    unsafe fn freeze(&self, n: &OpCounts, page: *mut bindings::page, count: i32) -> bool {
        n.inc(Which::Rust, Op::Freeze);
        // SAFETY: the caller's promise.
        self.0.freeze(&unsafe { Self::word(page) }, count as u32)
    }

    unsafe fn unfreeze(&self, n: &OpCounts, page: *mut bindings::page, count: i32) {
        n.inc(Which::Rust, Op::Unfreeze);
        // SAFETY: the caller's promise.
        self.0.unfreeze(&unsafe { Self::word(page) }, count as u32)
    }

    unsafe fn make_ownerless(&self, n: &OpCounts, page: *mut bindings::page) {
        n.inc(Which::Rust, Op::MakeOwnerless);
        // SAFETY: the caller's promise.
        self.0.make_ownerless(&unsafe { Self::word(page) })
    }

    unsafe fn count(&self, page: *mut bindings::page) -> i32 {
        // SAFETY: the caller's promise.
        self.0.count(&unsafe { Self::word(page) }) as i32
    }
}

/// The raw `_refcount` of `page`, frozen bit and leftovers included.
///
/// # Safety
///
/// `page` points to a `struct page` of the memory map.
pub(crate) unsafe fn raw(page: *mut bindings::page) -> i32 {
    // SAFETY: the caller's promise; a read only.
    RefAtomic::read(&unsafe { PageWord::of(page) }) as i32
}
