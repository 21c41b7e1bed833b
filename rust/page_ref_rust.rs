// SPDX-License-Identifier: GPL-2.0

//! pageref: the page refcount operations of `<linux/page_ref.h>` in Rust.
//!
//! The crate root of the `page_ref_rust` module:
//!
//! - `algo`: the algorithm, one `no_std` source generic over its atomic word,
//!   also model-checked in userspace (`rust/verify`);
//! - [`page_word`]: that word over the real `_refcount` of a `struct page`,
//!   with the kernel memory model's orderings on x86_64 and arm64;
//! - [`rust_impl`]: the operations as the kernel is configured, and with
//!   `CONFIG_PAGE_REF_RUST_KERNEL` the out-of-line implementation the whole
//!   kernel calls;
//! - [`page_ref`]: the safe abstraction over real pages;
//! - `tests`: the KUnit suites (`#[kunit_tests]`), on pages from the real
//!   page allocator.

use kernel::prelude::*;

// The algorithm, shared unchanged with the userspace crate rust/verify; the
// module uses part of it.
// Its items are `pub` for that crate, hence unreachable here.
#[allow(dead_code, unreachable_pub)]
#[path = "algo/page_ref_algo.rs"]
mod algo;
mod page_ref;
mod page_word;
mod rust_impl;
#[cfg(CONFIG_PAGE_REF_RUST_KUNIT_TEST)]
mod tests;

module! {
    type: PageRefRust,
    name: "page_ref_rust",
    authors: ["pageref developers"],
    description: "Page refcount operations reimplemented in Rust",
    license: "GPL",
}

struct PageRefRust;

impl kernel::Module for PageRefRust {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("loaded\n");
        Ok(PageRefRust)
    }
}
