// SPDX-License-Identifier: GPL-2.0

//! The harness's pages and the little of the kernel it needs besides the
//! refcount: the online CPUs, random numbers.
//!
//! Every page the harness takes from the allocator is counted in
//! [`HELD`](crate::HELD) until it goes back, and a page it gives up on after
//! a violation (someone else may hold it) in [`LEAKED`](crate::LEAKED): a
//! run that ends, or is stopped, holding pages it did not give up on has
//! leaked them.

use crate::HELD;
use core::ptr::NonNull;
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::atomic::Relaxed;

/// The online CPUs, at the time of the call.
pub(crate) struct OnlineCpus(KVec<u32>);

impl OnlineCpus {
    /// How many.
    pub(crate) fn count(&self) -> usize {
        self.0.len()
    }

    /// The `i`th, for `i` below [`Self::count`].
    pub(crate) fn nth(&self, i: usize) -> u32 {
        self.0.get(i).copied().unwrap_or(0)
    }
}

/// The CPUs online now (CPU 0 alone if there is no memory to list them).
pub(crate) fn online_cpus() -> OnlineCpus {
    let mut v = KVec::new();
    for cpu in 0..kernel::cpu::nr_cpu_ids() {
        // SAFETY: `__cpu_online_mask` is the kernel's, valid for as long as
        // it runs, and `cpu` is below `nr_cpu_ids`; reading a bit of it is
        // what `cpu_online()` does.
        let online =
            unsafe { bindings::cpumask_test_cpu(cpu as i32, &raw mut bindings::__cpu_online_mask) };
        if online && v.push(cpu, GFP_KERNEL).is_err() {
            break;
        }
    }
    if v.is_empty() {
        let _ = v.push(0, GFP_KERNEL);
    }
    OnlineCpus(v)
}

/// `get_random_u32()`.
pub(crate) fn random_u32() -> u32 {
    // SAFETY: callable in any context.
    unsafe { bindings::get_random_u32() }
}

/// Allocates `1 << order` pages (`GFP_KERNEL | __GFP_NOWARN`, plus `extra`
/// flags), counted as held.
pub(crate) fn alloc(order: u32, extra: bindings::gfp_t) -> Option<NonNull<bindings::page>> {
    // SAFETY: any flags and order are valid; the harness's threads may sleep.
    let page = unsafe {
        bindings::alloc_pages(bindings::GFP_KERNEL | bindings::__GFP_NOWARN | extra, order)
    };
    let page = NonNull::new(page)?;
    HELD.fetch_add(1 << order, Relaxed);
    Some(page)
}

/// Frees what [`alloc`] returned, with the count it has (one reference).
///
/// # Safety
///
/// `page` came from [`alloc`] with `order`, and nobody but the caller holds
/// it: its count is the caller's one reference.
pub(crate) unsafe fn free(page: NonNull<bindings::page>, order: u32) {
    HELD.fetch_sub(1 << order, Relaxed);
    // SAFETY: the caller's promise.
    unsafe { bindings::__free_pages(page.as_ptr(), order) };
}

/// An order-0 page of the harness, which it races operations on and frees
/// when dropped, whatever its count says then: nobody else can hold it,
/// not even after a violation (a reference the harness's own threads
/// abandoned is theirs).
///
/// # Invariants
///
/// `page` came from [`alloc`] with order 0 and has not been freed; only the
/// harness's threads know it (it is on no LRU, cache or page table), so that
/// whatever they did to its count, once they have stopped nobody else holds
/// it.
pub(crate) struct OwnPage {
    page: NonNull<bindings::page>,
}

impl OwnPage {
    /// A new page, counting one reference.
    pub(crate) fn new() -> Result<Self> {
        let page = alloc(0, 0).ok_or(ENOMEM)?;
        // INVARIANT: a page just allocated, known only to us.
        Ok(Self { page })
    }

    /// The `struct page`, for the operations under test.
    pub(crate) fn ptr(&self) -> *mut bindings::page {
        self.page.as_ptr()
    }

    /// The raw `_refcount`.
    pub(crate) fn raw(&self) -> i32 {
        // SAFETY: the page is valid (type invariant).
        unsafe { crate::ops::raw(self.ptr()) }
    }

    /// Stores `v` into `_refcount` as it is, frozen bit included: the state
    /// a test sets up (an atomic store; `set_page_count()` warns on a
    /// frozen value).
    pub(crate) fn set_raw(&self, v: u32) {
        // SAFETY: the page is valid and the harness's (type invariant).
        crate::algo::RefAtomic::set(&unsafe { crate::page_word::PageWord::of(self.ptr()) }, v)
    }

    /// `set_page_count()`: puts the page in any state, for the next round.
    pub(crate) fn set_count(&self, v: i32) {
        // SAFETY: the page is valid and the harness's (type invariant).
        unsafe { bindings::set_page_count(self.ptr(), v) };
    }
}

impl Drop for OwnPage {
    fn drop(&mut self) {
        // Whatever the race left: one reference, then the allocator's put.
        self.set_count(1);
        // SAFETY: an order-0 page of `alloc`, which nobody else holds now
        // (type invariant: the threads that raced on it have stopped).
        unsafe { free(self.page, 0) };
    }
}

// SAFETY: the page may be operated on and freed from any thread: the
// refcount is atomic, and `__free_pages()` has no affinity.
unsafe impl Send for OwnPage {}

// SAFETY: `&OwnPage` gives atomic operations on the count only.
unsafe impl Sync for OwnPage {}

/// Whether `page` is free, in the buddy allocator.
///
/// # Safety
///
/// `page` points to a `struct page` of the memory map.
pub(crate) unsafe fn is_buddy(page: *mut bindings::page) -> bool {
    // SAFETY: the caller's promise; a read of the page type.
    unsafe { bindings::PageBuddy(page) }
}

/// The page frame number of `page`, for messages.
pub(crate) fn pfn(page: *mut bindings::page) -> usize {
    // SAFETY: with the virtually mapped memory map of x86_64 and arm64,
    // `page_to_pfn()` is arithmetic on the pointer; it reads nothing.
    unsafe { bindings::page_to_pfn(page) }
}

/// Frees a page whose last put the caller won and that is not the
/// harness's (someone else's by now), as its owner's put would have:
/// `__folio_put(page_folio(page))`.
///
/// # Safety
///
/// The caller's put won the claim of `page`: nobody else holds it.
pub(crate) unsafe fn free_foreign(page: *mut bindings::page) {
    // SAFETY: the caller's promise; the folio of a page is valid with it.
    unsafe { bindings::__folio_put(bindings::page_folio(page)) };
}
