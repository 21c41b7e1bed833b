// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `page_ref_rust`: the page refcount seen from Rust, on real pages
//! from the page allocator.

use crate::page_ref::PageRef;

kunit_suite!(
    "page_ref_rust",
    [fresh_page_counts_one, get_adds_one, last_put_frees]
);

/// Allocates a page for a test case; fails the case if none can be had.
fn alloc() -> PageRef {
    let page = PageRef::alloc();
    check!(page.is_ok());
    // The check above stopped the case on an error.
    page.unwrap_or_else(|_| unreachable!())
}

/// A page straight from the allocator holds exactly its owner's reference.
fn fresh_page_counts_one() {
    let page = alloc();
    check!(page.count() == 1);
}

/// `get_page()` adds one reference and `put_page()` takes it back.
fn get_adds_one() {
    let page = alloc();
    let other = page.clone();
    check!(page.count() == 2);
    drop(other);
    check!(page.count() == 1);
}

/// Only the last put reports zero; the page is then dead to speculative gets
/// until it is freed.
fn last_put_frees() {
    let page = alloc();
    let other = page.clone();
    check!(other.put().is_none());
    check!(page.count() == 1);
    let dead = page.put();
    check!(dead.is_some());
    if let Some(dead) = dead {
        check!(dead.count() == 0);
        // Bound to a name: a wrongly revived page must not be put (and freed)
        // before the check has reported it.
        let revived = dead.try_get();
        check!(revived.is_none());
        check!(dead.count() == 0);
    }
}
