// SPDX-License-Identifier: GPL-2.0

//! Registration of a KUnit suite written in Rust.
//!
//! Linux 6.12 has no `#[kunit_tests]` attribute. A C suite is a static
//! `struct kunit_suite` whose address sits in the `.kunit_test_suites` section:
//! the KUnit executor walks that section at boot for built-in code, and the
//! module loader hands it to KUnit when a module is loaded. [`kunit_suite!`]
//! builds exactly that from Rust, so the same suite runs built-in or in a `.ko`.
//!
//! Test cases are plain `fn()`; they report through [`check!`], which records
//! a KUnit failure and aborts the case (KUnit's own `KUNIT_ASSERT_*` semantics).

use kernel::bindings;

/// A `struct kunit_case` running `run` under the NUL-terminated `name`.
pub(crate) const fn case(
    name: &'static str,
    run: unsafe extern "C" fn(*mut bindings::kunit),
) -> bindings::kunit_case {
    // SAFETY: `struct kunit_case` is plain data for which all-zeroes is the
    // value KUnit expects in every field a `KUNIT_CASE()` does not set.
    let mut c: bindings::kunit_case = unsafe { core::mem::zeroed() };
    c.run_case = Some(run);
    c.name = name.as_ptr().cast();
    c
}

/// The all-zero entry that ends a case array.
pub(crate) const fn end() -> bindings::kunit_case {
    // SAFETY: all-zeroes is the terminator KUnit looks for (a NULL `run_case`).
    unsafe { core::mem::zeroed() }
}

/// A `struct kunit_suite` named `name` over the terminated array at `cases`.
pub(crate) const fn suite(name: &str, cases: *mut bindings::kunit_case) -> bindings::kunit_suite {
    // SAFETY: `struct kunit_suite` is plain data; all-zeroes is what a static
    // C initialiser leaves in every field this function does not set.
    let mut s: bindings::kunit_suite = unsafe { core::mem::zeroed() };
    let bytes = name.as_bytes();
    let mut i = 0;
    // Keep the last byte zero: `name` is a C string of at most 255 bytes.
    while i < bytes.len() && i < s.name.len() - 1 {
        s.name[i] = bytes[i] as _;
        i += 1;
    }
    s.test_cases = cases;
    s
}

/// Declares a KUnit suite `$name` made of the functions `$case` (each a
/// `fn()`) and registers it in the `.kunit_test_suites` section.
macro_rules! kunit_suite {
    ($name:literal, [$($case:ident),+ $(,)?]) => {
        const _: () = {
            use kernel::bindings::{kunit, kunit_case, kunit_suite};

            const N: usize = [$(stringify!($case)),+].len();

            // KUnit writes each case's status and log here while it runs.
            static mut CASES: [kunit_case; N + 1] = [
                $(
                    $crate::kunit_suite::case(concat!(stringify!($case), "\0"), {
                        extern "C" fn run(_test: *mut kunit) {
                            $case()
                        }
                        run
                    }),
                )+
                $crate::kunit_suite::end(),
            ];

            static mut SUITE: kunit_suite = $crate::kunit_suite::suite(
                $name,
                core::ptr::addr_of_mut!(CASES).cast(),
            );

            // The pointer array that `kunit_test_suites()` emits in C.
            #[used]
            #[link_section = ".kunit_test_suites"]
            static mut SUITES: [*mut kunit_suite; 1] = [core::ptr::addr_of_mut!(SUITE)];
        };
    };
}

/// Fails the running KUnit case, and stops it, unless `$cond` holds.
macro_rules! check {
    ($cond:expr $(,)?) => {
        kernel::kunit_assert!("page_ref_rust", "mm/pageref/rust", 0, $cond)
    };
}
