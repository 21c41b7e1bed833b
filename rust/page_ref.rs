// SPDX-License-Identifier: GPL-2.0

//! Counted references to a real `struct page`.
//!
//! [`PageRef`] is one reference counted in the page's `_refcount`; dropping it
//! puts the reference, and the last put returns the page to the allocator.
//! [`DeadPage`] is what the last put leaves when the caller asks to see it: a
//! page whose count reached zero, that nobody holds and that no speculative get
//! may revive. The operations are the C ones, through the helpers of the
//! series' `rust: helpers: add page refcount helpers` patch.

use core::ptr::NonNull;
use kernel::{alloc::AllocError, bindings};

/// One reference to a page.
///
/// # Invariants
///
/// `page` points to a valid `struct page`, and this object owns one of the
/// references counted in its `_refcount`.
pub(crate) struct PageRef {
    page: NonNull<bindings::page>,
}

// SAFETY: a page reference may be taken and dropped on any CPU: the refcount
// operations are atomic and `put_page()` may be called from any task context.
unsafe impl Send for PageRef {}

// SAFETY: `&PageRef` only allows reading the count and taking further
// references, both atomic operations on the page.
unsafe impl Sync for PageRef {}

impl PageRef {
    /// Allocates an order-0 page with `GFP_KERNEL` (so it may sleep); the new
    /// page counts one reference, this one.
    pub(crate) fn alloc() -> Result<Self, AllocError> {
        // SAFETY: `alloc_pages()` may be called with any GFP flags; with
        // `GFP_KERNEL` it may sleep, which the caller's context allows.
        let page = unsafe { bindings::alloc_pages(bindings::GFP_KERNEL, 0) };
        let page = NonNull::new(page).ok_or(AllocError)?;
        // INVARIANT: a freshly allocated page holds one reference, which is
        // transferred to the new object.
        Ok(Self { page })
    }

    /// The page's reference count, `page_ref_count()`.
    pub(crate) fn count(&self) -> i32 {
        // SAFETY: `self.page` is valid by the type invariant.
        unsafe { bindings::page_ref_count(self.page.as_ptr()) }
    }

    /// Puts this reference, `put_page_testzero()`. Returns the page if this was
    /// the last reference: the caller then decides when it is freed.
    pub(crate) fn put(self) -> Option<DeadPage> {
        let page = self.page;
        core::mem::forget(self);
        // SAFETY: `page` is valid and we own the reference being dropped (type
        // invariant of the `PageRef` just forgotten).
        let last = unsafe { bindings::put_page_testzero(page.as_ptr()) } != 0;
        // INVARIANT: the count reached zero through our put, so nobody else
        // holds a reference and the page cannot be freed by anyone else.
        // Lazily: a `DeadPage` made and dropped on the `false` path would free
        // a page others still hold.
        last.then(|| DeadPage { page })
    }
}

impl Clone for PageRef {
    /// Takes one more reference, `get_page()`.
    fn clone(&self) -> Self {
        // SAFETY: `self.page` is valid and we hold a reference, so the count
        // is not zero, as `get_page()` requires.
        unsafe { bindings::get_page(self.page.as_ptr()) };
        // INVARIANT: the reference just taken belongs to the new object.
        Self { page: self.page }
    }
}

impl Drop for PageRef {
    fn drop(&mut self) {
        // SAFETY: `self.page` is valid and we own the reference being put; the
        // last put frees the page, after which no `PageRef` to it remains.
        unsafe { bindings::put_page(self.page.as_ptr()) };
    }
}

/// A page whose last reference was put by [`PageRef::put`], not yet freed.
///
/// # Invariants
///
/// `page` points to a valid `struct page` whose count reached zero through
/// `PageRef::put`; this object alone decides when the page is freed.
pub(crate) struct DeadPage {
    page: NonNull<bindings::page>,
}

impl DeadPage {
    /// The page's reference count, `page_ref_count()`.
    pub(crate) fn count(&self) -> i32 {
        // SAFETY: `self.page` is valid by the type invariant.
        unsafe { bindings::page_ref_count(self.page.as_ptr()) }
    }

    /// A speculative get, `get_page_unless_zero()`, as a page-cache lookup
    /// does on a page it found without holding a reference.
    pub(crate) fn try_get(&self) -> Option<PageRef> {
        // SAFETY: `self.page` is valid; a speculative get may be attempted on
        // any page, whatever its count.
        let got = unsafe { bindings::get_page_unless_zero(self.page.as_ptr()) };
        // INVARIANT: on success the reference just taken is the new object's.
        // Lazily, as in `put`: a dropped `PageRef` would put a reference
        // that was never taken.
        got.then(|| PageRef { page: self.page })
    }
}

impl Drop for DeadPage {
    fn drop(&mut self) {
        // Free through the normal path: give the page back the single
        // reference a fresh page has, and put it.
        // SAFETY: `self.page` is valid and unreferenced (type invariant), so
        // nobody else reads or writes its count until it is freed here.
        unsafe {
            bindings::set_page_count(self.page.as_ptr(), 1);
            bindings::put_page(self.page.as_ptr());
        }
    }
}
