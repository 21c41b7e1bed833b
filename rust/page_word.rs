// SPDX-License-Identifier: GPL-2.0

//! The algorithm's atomic word over the real `_refcount` of a `struct page`.
//!
//! # Ordering
//!
//! [`RefAtomic`] names each operation's ordering as the Linux kernel memory
//! model does (`Documentation/atomic_t.txt`); this file maps each to Rust's
//! atomics so that the generated code is the kernel's own form on each arch:
//!
//! - Fully ordered read-modify-write (`atomic_add_return()`, a successful
//!   `atomic_cmpxchg()`): Rust's `SeqCst` read-modify-write is *not* enough
//!   in general, since it only orders other `SeqCst` accesses, not the relaxed
//!   and plain accesses around it, which the LKMM's full ordering covers.
//!   - x86_64: any `lock`-prefixed instruction is a full barrier for every
//!     access (x86-TSO), and that is exactly what the kernel emits: `lock
//!     xadd`, `lock cmpxchg`. Any ordering of the Rust RMW gives it.
//!   - arm64: the kernel's LL/SC form is `ldxr; ...; stlxr; cbnz; dmb ish`
//!     (`arch/arm64/include/asm/atomic_ll_sc.h`): a store-release keeps
//!     earlier accesses before the store, the trailing `dmb ish` keeps later
//!     ones after it. A `Release` RMW followed by `fence(SeqCst)` compiles to
//!     that form (`ldaddl; dmb ish` where LSE atomics are available).
//!   - elsewhere: `fence(SeqCst)` before and after a relaxed RMW, the LKMM's
//!     definition itself (`smp_mb()` on both sides).
//! - Acquire, release and relaxed map to Rust's orderings of the same name.
//!   A failed `cmpxchg` is unordered, as in the kernel.
//!
//! `scripts/disasm-check` checks the code generated for each operation on
//! both arches (`page_ref_rust_*` symbols), and fails on the broken variants
//! that weaken an ordering.

use crate::algo::{Order, RefAtomic};
use core::sync::atomic::{fence, AtomicI32, Ordering};
use kernel::bindings;

/// The `_refcount` of a `struct page`, seen as the algorithm's word.
///
/// # Invariants
///
/// Wraps the `int counter` of a live `struct page`'s `atomic_t _refcount`,
/// which C code accesses only with atomic operations, as this type does.
#[repr(transparent)]
pub(crate) struct PageWord(AtomicI32);

impl PageWord {
    /// The refcount word of `page`.
    ///
    /// # Safety
    ///
    /// `page` must point to a `struct page` of the memory map (it stays valid
    /// for as long as the kernel runs, whoever owns the page) for `'a`.
    pub(crate) unsafe fn of<'a>(page: *mut bindings::page) -> &'a Self {
        // SAFETY: `page` is valid for `'a` (the caller's promise). `atomic_t`
        // is `struct { int counter; }`: an `i32` with the size and alignment
        // of `AtomicI32`, which is `repr(transparent)`-compatible with
        // `PageWord`. Every access to it, C or Rust, is atomic.
        unsafe { &*core::ptr::addr_of_mut!((*page)._refcount.counter).cast::<PageWord>() }
    }
}

/// Runs the read-modify-write `op` with the LKMM ordering `order` (see the
/// file's documentation).
#[inline(always)]
fn rmw<T>(order: Order, op: impl FnOnce(Ordering) -> T) -> T {
    match order {
        Order::Full => full(op),
        Order::Acquire => op(Ordering::Acquire),
        Order::Release => op(Ordering::Release),
        Order::Relaxed => op(Ordering::Relaxed),
    }
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn full<T>(op: impl FnOnce(Ordering) -> T) -> T {
    // A `lock`-prefixed instruction: a full barrier on x86.
    op(Ordering::SeqCst)
}

#[cfg(target_arch = "aarch64")]
#[inline(always)]
fn full<T>(op: impl FnOnce(Ordering) -> T) -> T {
    // `ldxr; stlxr` (or `ldaddl`) then `dmb ish`: the kernel's own form.
    let r = op(Ordering::Release);
    fence(Ordering::SeqCst);
    r
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
#[inline(always)]
fn full<T>(op: impl FnOnce(Ordering) -> T) -> T {
    fence(Ordering::SeqCst);
    let r = op(Ordering::Relaxed);
    fence(Ordering::SeqCst);
    r
}

impl RefAtomic for PageWord {
    const BITS: u32 = 32;

    #[inline(always)]
    fn read(&self) -> u32 {
        self.0.load(Ordering::Relaxed) as u32
    }

    #[inline(always)]
    fn set(&self, v: u32) {
        self.0.store(v as i32, Ordering::Relaxed)
    }

    #[inline(always)]
    fn set_release(&self, v: u32) {
        self.0.store(v as i32, Ordering::Release)
    }

    #[inline(always)]
    fn add_return(&self, i: u32, order: Order) -> u32 {
        (rmw(order, |o| self.0.fetch_add(i as i32, o)) as u32).wrapping_add(i)
    }

    #[inline(always)]
    fn sub_return(&self, i: u32, order: Order) -> u32 {
        (rmw(order, |o| self.0.fetch_sub(i as i32, o)) as u32).wrapping_sub(i)
    }

    #[inline(always)]
    fn cmpxchg(&self, old: u32, new: u32, order: Order) -> u32 {
        let (old, new) = (old as i32, new as i32);
        let found = match order {
            // Ordered only when it succeeds, as `atomic_cmpxchg()`.
            Order::Full if cfg!(target_arch = "aarch64") => {
                let r = self
                    .0
                    .compare_exchange(old, new, Ordering::Release, Ordering::Relaxed);
                if r.is_ok() {
                    fence(Ordering::SeqCst);
                }
                r
            }
            _ => rmw(order, |o| {
                self.0.compare_exchange(old, new, o, Ordering::Relaxed)
            }),
        };
        match found {
            Ok(v) | Err(v) => v as u32,
        }
    }
}
