// SPDX-License-Identifier: GPL-2.0

//! pageref: the page refcount operations of `<linux/page_ref.h>` in Rust.
//!
//! The crate root of the `page_ref_rust` module. [`page_ref`] is the safe
//! abstraction over a real `struct page`; the KUnit suite in `tests` checks it
//! on pages from the real page allocator.

use kernel::prelude::*;

#[macro_use]
mod kunit_suite;
mod page_ref;
#[cfg(CONFIG_PAGE_REF_RUST_KUNIT_TEST)]
mod tests;

module! {
    type: PageRefRust,
    name: "page_ref_rust",
    author: "pageref developers",
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
