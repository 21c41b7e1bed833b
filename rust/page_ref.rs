// SPDX-License-Identifier: GPL-2.0

//! Safe references to real `struct page`s, over the Rust implementation of
//! the refcount ([`crate::rust_impl`]) and the C one (the helpers of the
//! series' `rust: helpers: add page refcount helpers`).
//!
//! - [`PageRef`] is one reference counted in the page's `_refcount`; dropping
//!   it puts the reference, and the last put frees the page.
//! - [`DeadPage`] is what the last put leaves when the caller asks to see it.
//! - [`TestPage`] is a page a test owns outright and drives through any state
//!   of its refcount with either implementation, [`Impl::C`] or [`Impl::Rust`].

use crate::rust_impl;
use core::ptr::NonNull;
use kernel::{alloc::AllocError, bindings};

/// Allocates an order-0 page with `GFP_KERNEL` (the caller may sleep).
fn alloc_page() -> Result<NonNull<bindings::page>, AllocError> {
    // SAFETY: `alloc_pages()` may be called with any GFP flags; with
    // `GFP_KERNEL` it may sleep, which the caller's context allows.
    NonNull::new(unsafe { bindings::alloc_pages(bindings::GFP_KERNEL, 0) }).ok_or(AllocError)
}

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
    /// Allocates a page; the new page counts one reference, this one.
    pub(crate) fn alloc() -> Result<Self, AllocError> {
        // INVARIANT: a freshly allocated page holds one reference, which is
        // transferred to the new object.
        Ok(Self {
            page: alloc_page()?,
        })
    }

    /// The page's reference count, `page_ref_count()` in Rust.
    pub(crate) fn count(&self) -> i32 {
        // SAFETY: `self.page` is valid by the type invariant.
        unsafe { rust_impl::count(self.page.as_ptr()) }
    }

    /// Puts this reference, `put_page_testzero()` in Rust. Returns the page if
    /// this was the last reference: the caller then decides when it is freed.
    pub(crate) fn put(self) -> Option<DeadPage> {
        let page = self.page;
        core::mem::forget(self);
        // SAFETY: `page` is valid and we own the reference being dropped (type
        // invariant of the `PageRef` just forgotten).
        let last = unsafe { rust_impl::sub_and_test(page.as_ptr(), 1) };
        // INVARIANT: the count reached zero through our put and we won the
        // claim, so nobody else holds a reference or will free the page.
        // Lazily: a `DeadPage` made and dropped on the `false` path would free
        // a page others still hold.
        last.then(|| DeadPage { page })
    }
}

impl Clone for PageRef {
    /// Takes one more reference, `get_page()` (C).
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
/// `page` points to a valid `struct page` whose last put was won through
/// `PageRef::put`; this object alone decides when the page is freed.
pub(crate) struct DeadPage {
    page: NonNull<bindings::page>,
}

impl DeadPage {
    /// The page's reference count, `page_ref_count()` in Rust.
    pub(crate) fn count(&self) -> i32 {
        // SAFETY: `self.page` is valid by the type invariant.
        unsafe { rust_impl::count(self.page.as_ptr()) }
    }

    /// A speculative get, `page_ref_add_unless_zero()` in Rust, as a
    /// page-cache lookup does on a page it found without holding a reference.
    pub(crate) fn try_get(&self) -> Option<PageRef> {
        // SAFETY: `self.page` is valid; a speculative get may be attempted on
        // any page, whatever its count.
        let got = unsafe { rust_impl::add_unless_zero(self.page.as_ptr(), 1) };
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

/// Which implementation runs an operation on a [`TestPage`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Impl {
    /// The kernel's `<linux/page_ref.h>`, through the Rust helpers.
    C,
    /// This module's, [`crate::rust_impl`].
    Rust,
}

/// A page a test allocated and owns outright, whose refcount it may put in
/// any state, then run either implementation's operations on.
///
/// The operations are safe for the kernel: the page is the test's alone.
/// One that C forbids in the current state (an unfreeze of a page that is
/// not frozen) trips C's `DEBUG_VM` checks; tests keep to legal sequences.
///
/// # Invariants
///
/// `page` points to an order-0 page this object allocated. No reference to
/// it exists outside this object, nor does any pointer to it that a
/// speculative getter could follow (it is on no LRU, cache or page table),
/// so its refcount changes only through this object.
pub(crate) struct TestPage {
    page: NonNull<bindings::page>,
}

impl TestPage {
    /// Allocates a page that counts one reference.
    pub(crate) fn alloc() -> Result<Self, AllocError> {
        // INVARIANT: a new page is known to the allocator and to us only.
        Ok(Self {
            page: alloc_page()?,
        })
    }

    fn ptr(&self) -> *mut bindings::page {
        self.page.as_ptr()
    }

    /// The raw `_refcount`, frozen bit and leftovers included.
    pub(crate) fn raw(&self) -> u32 {
        // SAFETY: the page is valid (type invariant).
        let word = unsafe { crate::page_word::PageWord::of(self.ptr()) };
        crate::algo::RefAtomic::read(word)
    }

    /// Stores `v` into `_refcount`: puts the page in any state.
    pub(crate) fn set_raw(&self, v: u32) {
        // SAFETY: the page is valid, and only we act on its count.
        let word = unsafe { crate::page_word::PageWord::of(self.ptr()) };
        crate::algo::RefAtomic::set(word, v)
    }

    /// `page_ref_count()`.
    pub(crate) fn count(&self, imp: Impl) -> i32 {
        match imp {
            // SAFETY: the page is valid (type invariant).
            Impl::C => unsafe { bindings::page_ref_count(self.ptr()) },
            // SAFETY: as above.
            Impl::Rust => unsafe { rust_impl::count(self.ptr()) },
        }
    }

    /// `page_ref_add_unless_zero(page, nr)`.
    pub(crate) fn try_get(&self, imp: Impl, nr: i32) -> bool {
        match imp {
            // SAFETY: the page is valid (type invariant); a speculative get
            // may find it in any state.
            Impl::C => unsafe { bindings::page_ref_add_unless_zero(self.ptr(), nr) },
            // SAFETY: as above.
            Impl::Rust => unsafe { rust_impl::add_unless_zero(self.ptr(), nr) },
        }
    }

    /// `page_ref_sub_and_test(page, nr)`: true for the put that must free.
    /// The page is not freed: the test owns it.
    pub(crate) fn sub_and_test(&self, imp: Impl, nr: i32) -> bool {
        match imp {
            // SAFETY: the page is valid, and the references put are ours.
            Impl::C => unsafe { bindings::page_ref_sub_and_test(self.ptr(), nr) != 0 },
            // SAFETY: as above.
            Impl::Rust => unsafe { rust_impl::sub_and_test(self.ptr(), nr) },
        }
    }

    /// `page_ref_freeze(page, count)`.
    pub(crate) fn freeze(&self, imp: Impl, count: i32) -> bool {
        match imp {
            // SAFETY: the page is valid, and its references are ours.
            Impl::C => unsafe { bindings::page_ref_freeze(self.ptr(), count) != 0 },
            // SAFETY: as above.
            Impl::Rust => unsafe { rust_impl::freeze(self.ptr(), count) },
        }
    }

    /// `page_ref_unfreeze(page, count)`.
    pub(crate) fn unfreeze(&self, imp: Impl, count: i32) {
        match imp {
            // SAFETY: the page is valid, and we froze it.
            Impl::C => unsafe { bindings::page_ref_unfreeze(self.ptr(), count) },
            // SAFETY: as above.
            Impl::Rust => unsafe { rust_impl::unfreeze(self.ptr(), count) },
        }
    }

    /// `page_ref_make_ownerless(page)`.
    pub(crate) fn make_ownerless(&self, imp: Impl) {
        match imp {
            // SAFETY: the page is valid, and nobody but us holds it.
            Impl::C => unsafe { bindings::page_ref_make_ownerless(self.ptr()) },
            // SAFETY: as above.
            Impl::Rust => unsafe { rust_impl::make_ownerless(self.ptr()) },
        }
    }

    /// The claim of a put whose decrement reached zero (Rust only: in C it
    /// is inside `page_ref_sub_and_test()`).
    pub(crate) fn claim(&self) -> bool {
        // SAFETY: the page is valid (type invariant).
        unsafe { rust_impl::claim(self.ptr()) }
    }
}

impl Drop for TestPage {
    fn drop(&mut self) {
        // Whatever state the test left: one reference, then the last put.
        self.set_raw(1);
        // SAFETY: the page is valid and ours; this put frees it.
        unsafe { bindings::put_page(self.ptr()) };
    }
}
