// SPDX-License-Identifier: GPL-2.0

//! The page refcount operations in Rust, over a real `struct page`.
//!
//! [`ops()`] is the algorithm of `algo/page_ref_algo.rs` as the kernel is
//! configured: the frozen-bit scheme with `CONFIG_PAGE_REF_FROZEN_BIT`, the
//! classic `cmpxchg` loop without; and, with `CONFIG_PAGE_REF_TEST_VARIANTS`,
//! the broken variant a test chose (`page_ref_test_variant`), which the C
//! code reads too.
//!
//! Each operation of the frozen-bit scheme, correct and as each variant, is
//! also a `#[no_mangle]` function that is never inlined,
//! `page_ref_rust_frozen_<variant>_<op>`:
//! `scripts/disasm-check` finds them in the object and checks which of the
//! kernel's atomics each calls, and the benchmark calls the correct ones
//! directly. Those of the variants that weaken an ordering are there for the
//! check to show that it fails on them. The operations the kernel runs are
//! the same generic code (`PageRefOps` over `PageWord`, one instantiation),
//! inlined into the entry points: an instance call would be one more
//! out-of-line call on every refcount operation.

use crate::algo::{PageRefOps, Variant};
use crate::page_word::PageWord;
use core::ffi::c_int;
use kernel::bindings;

/// The correct algorithm of this kernel's configuration.
pub(crate) const CORRECT: PageRefOps = if cfg!(CONFIG_PAGE_REF_FROZEN_BIT) {
    PageRefOps::frozen_bit(Variant::Correct)
} else {
    PageRefOps::classic()
};

/// The broken variant a test chose, if any (`page_ref_test_variant=NAME` at
/// boot, or a test module at run time).
#[cfg(CONFIG_PAGE_REF_TEST_VARIANTS)]
pub(crate) fn test_variant() -> Variant {
    // SAFETY: `page_ref_test_variant` is an `int` of the core kernel, valid
    // for as long as the kernel runs, written with `WRITE_ONCE()` and read
    // with `READ_ONCE()`, which a volatile read is. Not through `Atomic`: its
    // load calls the C helper `atomic_read()`, one more call on every
    // refcount operation of the whole kernel for a plain load.
    let v = unsafe { core::ptr::read_volatile(&raw const bindings::page_ref_test_variant) };
    // The C enum and `Variant::ALL` list the variants in the same order. The
    // C enum's variants of mm sites come after them: they break C code
    // outside the algorithm, so the algorithm stays correct under them.
    Variant::ALL
        .get(v as usize)
        .copied()
        .unwrap_or(Variant::Correct)
}

/// No test variants in this kernel: always the correct algorithm.
#[cfg(not(CONFIG_PAGE_REF_TEST_VARIANTS))]
pub(crate) fn test_variant() -> Variant {
    Variant::Correct
}

/// The algorithm to run now: [`CORRECT`], or the variant a test chose.
pub(crate) fn ops() -> PageRefOps {
    match test_variant() {
        Variant::Correct => CORRECT,
        v => PageRefOps::frozen_bit(v),
    }
}

/// Defines `page_ref_rust_<name>_{add_unless_zero,sub_and_test,freeze,
/// unfreeze}` for the algorithm `$ops`.
macro_rules! instances {
    ($($name:ident => $ops:expr;)+) => {
        kernel::macros::paste! {
            $(
                /// `page_ref_add_unless_zero()` of this instance.
                ///
                /// # Safety
                ///
                /// As [`add_unless_zero`]: a `struct page` of the memory map
                /// that is not a tail page.
                #[no_mangle]
                #[inline(never)]
                unsafe extern "C" fn [<page_ref_rust_ $name _add_unless_zero>](
                    page: *mut bindings::page,
                    nr: c_int,
                ) -> bool {
                    // SAFETY: the caller's promise.
                    $ops.try_get(&unsafe { PageWord::of(page) }, nr as u32)
                }

                /// `page_ref_sub_and_test()` of this instance.
                ///
                /// # Safety
                ///
                /// `page` points to a `struct page` of the memory map, and the
                /// caller owns the `nr` references it puts.
                #[no_mangle]
                #[inline(never)]
                unsafe extern "C" fn [<page_ref_rust_ $name _sub_and_test>](
                    page: *mut bindings::page,
                    nr: c_int,
                ) -> bool {
                    // SAFETY: the caller's promise.
                    $ops.sub_and_test(&unsafe { PageWord::of(page) }, nr as u32)
                }

                /// `page_ref_freeze()` of this instance.
                ///
                /// # Safety
                ///
                /// `page` points to a `struct page` of the memory map, and the
                /// caller owns `count` references to it.
                #[no_mangle]
                #[inline(never)]
                unsafe extern "C" fn [<page_ref_rust_ $name _freeze>](
                    page: *mut bindings::page,
                    count: c_int,
                ) -> bool {
                    // SAFETY: the caller's promise.
                    $ops.freeze(&unsafe { PageWord::of(page) }, count as u32)
                }

                /// `page_ref_unfreeze()` of this instance.
                ///
                /// # Safety
                ///
                /// `page` points to a `struct page` of the memory map that the
                /// caller froze.
                #[no_mangle]
                #[inline(never)]
                unsafe extern "C" fn [<page_ref_rust_ $name _unfreeze>](
                    page: *mut bindings::page,
                    count: c_int,
                ) {
                    // SAFETY: the caller's promise.
                    $ops.unfreeze(&unsafe { PageWord::of(page) }, count as u32)
                }
            )+
        }
    };
}

instances! {
    frozen_correct => PageRefOps::frozen_bit(Variant::Correct);
    frozen_relaxed_claim => PageRefOps::frozen_bit(Variant::RelaxedClaim);
    frozen_acquire_try_get => PageRefOps::frozen_bit(Variant::AcquireTryGet);
    frozen_relaxed_try_get => PageRefOps::frozen_bit(Variant::RelaxedTryGet);
    frozen_release_put => PageRefOps::frozen_bit(Variant::ReleasePut);
    frozen_relaxed_put => PageRefOps::frozen_bit(Variant::RelaxedPut);
    frozen_acquire_freeze => PageRefOps::frozen_bit(Variant::AcquireFreeze);
    frozen_relaxed_freeze => PageRefOps::frozen_bit(Variant::RelaxedFreeze);
    frozen_relaxed_unfreeze => PageRefOps::frozen_bit(Variant::RelaxedUnfreeze);
}

/// `page_ref_add_unless_zero(page, nr)`: the atomic part, without the tail
/// page check and the tracepoint that the C wrapper adds.
///
/// # Safety
///
/// `page` points to a `struct page` of the memory map that is not a tail
/// page of a compound page: the add writes to it, and with HugeTLB vmemmap
/// optimisation tail struct pages are read-only (the C wrapper checks
/// `PageTail()` before it calls this).
pub(crate) unsafe fn add_unless_zero(page: *mut bindings::page, nr: c_int) -> bool {
    match test_variant() {
        // SAFETY: the caller's promise.
        Variant::Correct => CORRECT.try_get(&unsafe { PageWord::of(page) }, nr as u32),
        // SAFETY: the caller's promise.
        v => PageRefOps::frozen_bit(v).try_get(&unsafe { PageWord::of(page) }, nr as u32),
    }
}

/// `page_ref_sub_and_test(page, nr)`: true if the caller put the last
/// reference and must free the page.
///
/// # Safety
///
/// `page` points to a `struct page` of the memory map, and the caller owns
/// the `nr` references it puts.
pub(crate) unsafe fn sub_and_test(page: *mut bindings::page, nr: c_int) -> bool {
    match test_variant() {
        // SAFETY: the caller's promise.
        Variant::Correct => CORRECT.sub_and_test(&unsafe { PageWord::of(page) }, nr as u32),
        // SAFETY: the caller's promise.
        v => PageRefOps::frozen_bit(v).sub_and_test(&unsafe { PageWord::of(page) }, nr as u32),
    }
}

/// `page_ref_freeze(page, count)`.
///
/// # Safety
///
/// `page` points to a `struct page` of the memory map, and the caller owns
/// `count` references to it.
pub(crate) unsafe fn freeze(page: *mut bindings::page, count: c_int) -> bool {
    match test_variant() {
        // SAFETY: the caller's promise.
        Variant::Correct => CORRECT.freeze(&unsafe { PageWord::of(page) }, count as u32),
        // SAFETY: the caller's promise.
        v => PageRefOps::frozen_bit(v).freeze(&unsafe { PageWord::of(page) }, count as u32),
    }
}

/// `page_ref_unfreeze(page, count)`.
///
/// # Safety
///
/// `page` points to a `struct page` of the memory map that the caller froze.
pub(crate) unsafe fn unfreeze(page: *mut bindings::page, count: c_int) {
    match test_variant() {
        // SAFETY: the caller's promise.
        Variant::Correct => CORRECT.unfreeze(&unsafe { PageWord::of(page) }, count as u32),
        // SAFETY: the caller's promise.
        v => PageRefOps::frozen_bit(v).unfreeze(&unsafe { PageWord::of(page) }, count as u32),
    }
}

/// `page_ref_count(page)`: 0 for a page that is free or frozen.
///
/// # Safety
///
/// `page` points to a `struct page` of the memory map.
pub(crate) unsafe fn count(page: *mut bindings::page) -> c_int {
    // SAFETY: the caller's promise.
    ops().count(&unsafe { PageWord::of(page) }) as c_int
}

/// `page_ref_make_ownerless(page)`.
///
/// # Safety
///
/// `page` points to a `struct page` of the memory map that nobody holds.
pub(crate) unsafe fn make_ownerless(page: *mut bindings::page) {
    // SAFETY: the caller's promise.
    ops().make_ownerless(&unsafe { PageWord::of(page) })
}

/// `page_ref_inc_ownerless(page)`.
///
/// # Safety
///
/// `page` points to a `struct page` of the memory map that the caller
/// controls: nobody holds it, or the caller or a speculative getter does.
pub(crate) unsafe fn inc_ownerless(page: *mut bindings::page) {
    // SAFETY: the caller's promise.
    ops().inc_ownerless(&unsafe { PageWord::of(page) })
}

/// The claim of a put whose decrement reached zero (R1 replays in tests).
///
/// # Safety
///
/// `page` points to a `struct page` of the memory map.
pub(crate) unsafe fn claim(page: *mut bindings::page) -> bool {
    // SAFETY: the caller's promise.
    ops().claim(&unsafe { PageWord::of(page) })
}

/// The whole kernel's page refcounting through Rust
/// (`CONFIG_PAGE_REF_RUST_KERNEL`): the out-of-line implementation that
/// `<linux/page_ref.h>` calls with `CONFIG_PAGE_REF_EXTERN`.
///
/// Nothing here writes to memory other than the page: the C caller counts the
/// calls in a per-CPU counter (`page_ref_extern_calls`), so that a test can
/// show that the kernel runs this code without every refcount operation
/// writing to one shared cache line.
#[cfg(CONFIG_PAGE_REF_RUST_KERNEL)]
pub(crate) mod whole_kernel {
    use super::*;

    /// # Safety
    ///
    /// As [`add_unless_zero`](super::add_unless_zero).
    #[no_mangle]
    unsafe extern "C" fn page_ref_extern_add_unless_zero(
        page: *mut bindings::page,
        nr: c_int,
    ) -> bool {
        // SAFETY: the caller's promise.
        unsafe { add_unless_zero(page, nr) }
    }

    /// # Safety
    ///
    /// As [`sub_and_test`](super::sub_and_test) of one reference.
    #[no_mangle]
    unsafe extern "C" fn page_ref_extern_dec_and_test(page: *mut bindings::page) -> bool {
        // SAFETY: the caller's promise.
        unsafe { sub_and_test(page, 1) }
    }

    /// # Safety
    ///
    /// As [`sub_and_test`](super::sub_and_test).
    #[no_mangle]
    unsafe extern "C" fn page_ref_extern_sub_and_test(
        page: *mut bindings::page,
        nr: c_int,
    ) -> bool {
        // SAFETY: the caller's promise.
        unsafe { sub_and_test(page, nr) }
    }

    /// `page_ref_sub_and_claim(page, nr)`: as `sub_and_test`, for the
    /// callers that free with what they knew before the put; the last put
    /// takes the count straight to the frozen bit (R7b).
    ///
    /// # Safety
    ///
    /// As [`sub_and_test`](super::sub_and_test).
    #[no_mangle]
    unsafe extern "C" fn page_ref_extern_sub_and_claim(
        page: *mut bindings::page,
        nr: c_int,
    ) -> bool {
        // SAFETY: the caller's promise.
        let word = unsafe { PageWord::of(page) };
        match test_variant() {
            Variant::Correct => CORRECT.sub_and_claim(&word, nr as u32),
            v => PageRefOps::frozen_bit(v).sub_and_claim(&word, nr as u32),
        }
    }
}
