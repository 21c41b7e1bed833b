// SPDX-License-Identifier: GPL-2.0

//! The algorithm's atomic word over the real `_refcount` of a `struct page`.
//!
//! The word is the page's own `atomic_t`, seen as a
//! [`kernel::sync::atomic::Atomic<i32>`]. Each operation of [`RefAtomic`] is
//! the LKMM operation of the same name and ordering, and `Atomic` implements
//! it by calling the kernel's C atomic (`rust/helpers/atomic.c`): the Rust
//! implementation and `<linux/page_ref.h>` are one memory model on one word,
//! and arm64 runs the LSE instructions the kernel patches in at boot.
//!
//! A failed `cmpxchg` is unordered, in C and in `Atomic::cmpxchg`.

use crate::algo::{Order, RefAtomic};
use kernel::bindings;
use kernel::sync::atomic::{Acquire, Atomic, Full, Relaxed, Release};

/// The `_refcount` of a `struct page`, seen as the algorithm's word.
///
/// # Invariants
///
/// `word` is the `counter` of the `atomic_t _refcount` of the `struct page`
/// at `page`, valid for `'a`, which C and Rust code access only with atomic
/// operations.
#[derive(Clone, Copy)]
pub(crate) struct PageWord<'a> {
    word: &'a Atomic<i32>,
    /// For the test window between a put's decrement and its claim.
    #[cfg(CONFIG_PAGE_REF_TEST_VARIANTS)]
    page: *mut bindings::page,
}

impl<'a> PageWord<'a> {
    /// The refcount word of `page`.
    ///
    /// # Safety
    ///
    /// `page` must point to a `struct page` of the memory map that stays
    /// valid for `'a`, and whose `_refcount` is writable: not a tail struct
    /// page that HugeTLB vmemmap optimisation maps read-only, unless the
    /// caller only reads it.
    pub(crate) unsafe fn of(page: *mut bindings::page) -> Self {
        // SAFETY: `page` is valid for `'a` (the caller's promise), so is the
        // address of its field.
        let counter = unsafe { &raw mut (*page)._refcount.counter };
        // INVARIANT: `counter` is the `_refcount` of `page`, valid for `'a`.
        Self {
            // SAFETY: `counter` is valid and aligned for `'a`, and every
            // access to it, in C (`atomic_t`) and here, is atomic: no data
            // race.
            word: unsafe { Atomic::from_ptr(counter) },
            #[cfg(CONFIG_PAGE_REF_TEST_VARIANTS)]
            page,
        }
    }
}

impl RefAtomic for PageWord<'_> {
    const BITS: u32 = 32;

    #[inline(always)]
    fn read(&self) -> u32 {
        self.word.load(Relaxed) as u32
    }

    #[inline(always)]
    fn set(&self, v: u32) {
        self.word.store(v as i32, Relaxed)
    }

    #[inline(always)]
    fn set_release(&self, v: u32) {
        self.word.store(v as i32, Release)
    }

    #[inline(always)]
    fn add_return(&self, i: u32, order: Order) -> u32 {
        let i = i as i32;
        let old = match order {
            Order::Full => self.word.fetch_add(i, Full),
            Order::Acquire => self.word.fetch_add(i, Acquire),
            Order::Release => self.word.fetch_add(i, Release),
            Order::Relaxed => self.word.fetch_add(i, Relaxed),
        };
        old.wrapping_add(i) as u32
    }

    #[inline(always)]
    fn sub_return(&self, i: u32, order: Order) -> u32 {
        let i = i as i32;
        let old = match order {
            Order::Full => self.word.fetch_sub(i, Full),
            Order::Acquire => self.word.fetch_sub(i, Acquire),
            Order::Release => self.word.fetch_sub(i, Release),
            Order::Relaxed => self.word.fetch_sub(i, Relaxed),
        };
        old.wrapping_sub(i) as u32
    }

    #[inline(always)]
    fn cmpxchg(&self, old: u32, new: u32, order: Order) -> u32 {
        let (old, new) = (old as i32, new as i32);
        let found = match order {
            Order::Full => self.word.cmpxchg(old, new, Full),
            Order::Acquire => self.word.cmpxchg(old, new, Acquire),
            Order::Release => self.word.cmpxchg(old, new, Release),
            Order::Relaxed => self.word.cmpxchg(old, new, Relaxed),
        };
        found.unwrap_or_else(|v| v) as u32
    }

    #[cfg(CONFIG_PAGE_REF_TEST_VARIANTS)]
    #[inline(always)]
    fn window(&self) {
        // SAFETY: `self.page` is a valid `struct page` (the type invariant).
        // The C function returns at once unless a test holds the window open
        // (a static key: no write to shared memory), and then calls the
        // test's function with the page, as the C put does at this point.
        unsafe { bindings::page_ref_test_window_enter(self.page) }
    }
}
