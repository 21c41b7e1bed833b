// SPDX-License-Identifier: GPL-2.0

//! Safe references to real `struct page`s, over the Rust implementation of
//! the refcount ([`crate::rust_impl`]) and the C one (the helpers of the test
//! series' `rust: helpers: add page refcount helpers`).
//!
//! - [`PageRef`] is the kernel's [`ARef`] over a [`CountedPage`]: one
//!   reference counted in the page's `_refcount`, taken with `get_page()` and
//!   put with the Rust implementation; the last put frees the page.
//! - [`DeadPage`] is what the last put leaves when the caller asks to see it.
//! - [`TestPage`] is a page a test owns outright and drives through any state
//!   of its refcount with either implementation, [`Impl::C`] or [`Impl::Rust`].
//!
//! Pages come from [`kernel::page::Page::alloc_page`]. `Page` itself is an
//! owned page that its drop frees with `__free_pages()`; it has no notion of
//! further references, so the counted and the test pages take its pointer
//! over (`Page::into_raw` does not exist in 7.3: `ManuallyDrop` does that).

use crate::rust_impl;
use core::mem::ManuallyDrop;
use core::ptr::NonNull;
use kernel::alloc::{flags::GFP_KERNEL, AllocError};
use kernel::bindings;
use kernel::page::Page;
use kernel::sync::aref::{ARef, AlwaysRefCounted};
use kernel::types::Opaque;

/// Allocates an order-0 page with `GFP_KERNEL` (the caller may sleep); the
/// page counts one reference, which the caller now owns.
fn alloc_page() -> Result<NonNull<bindings::page>, AllocError> {
    let page = ManuallyDrop::new(Page::alloc_page(GFP_KERNEL)?);
    // `page.as_ptr()` is non-null: `Page` holds a `NonNull`.
    NonNull::new(page.as_ptr()).ok_or(AllocError)
}

/// Frees an order-0 page whose last put was won (its word holds the frozen
/// bit, or 0 in the classic scheme): gives it the one reference a fresh page
/// has and puts that through the kernel's own `__free_pages()`.
///
/// # Safety
///
/// `page` is an order-0 page from [`alloc_page`] whose last put the caller
/// won; nothing refers to it any more but speculative getters.
unsafe fn free_claimed(page: NonNull<bindings::page>) {
    // SAFETY: the page is valid and unreferenced (the caller's promise). A
    // speculative getter that takes the reference stored here owns the page
    // from then on and frees it with its own put.
    unsafe {
        bindings::set_page_count(page.as_ptr(), 1);
        bindings::__free_pages(page.as_ptr(), 0);
    }
}

/// A `struct page` whose lifetime its `_refcount` governs.
///
/// # Invariants
///
/// A `CountedPage` is only ever seen through a pointer to an order-0 page of
/// the memory map that came from [`alloc_page`] and that somebody holds a
/// reference to.
#[repr(transparent)]
pub(crate) struct CountedPage(Opaque<bindings::page>);

impl CountedPage {
    /// Allocates a page; the new page counts one reference, the returned one.
    pub(crate) fn alloc() -> Result<PageRef, AllocError> {
        let page = alloc_page()?;
        // INVARIANT: a freshly allocated order-0 page, its reference is ours.
        // SAFETY: the reference a new page counts is transferred to the ARef.
        Ok(unsafe { ARef::from_raw(page.cast()) })
    }

    fn as_ptr(&self) -> *mut bindings::page {
        self.0.get()
    }

    /// The page's reference count, `page_ref_count()` in Rust.
    pub(crate) fn count(&self) -> i32 {
        // SAFETY: the page is valid (type invariant).
        unsafe { rust_impl::count(self.as_ptr()) }
    }
}

// SAFETY: `inc_ref` takes a reference with `get_page()`, which needs one held
// (our caller's, by the type invariant); `dec_ref` puts one with the Rust
// implementation and frees the page exactly when that put won the last
// claim, after which nobody holds it.
unsafe impl AlwaysRefCounted for CountedPage {
    fn inc_ref(&self) {
        // SAFETY: the page is valid and held (type invariant), as
        // `get_page()` requires.
        unsafe { bindings::get_page(self.as_ptr()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        let page = obj.cast::<bindings::page>();
        // SAFETY: the caller owns the reference put here, so the page is
        // valid and held until this put.
        if unsafe { rust_impl::sub_and_test(page.as_ptr(), 1) } {
            // SAFETY: our put won the last claim of an `alloc_page()` page.
            unsafe { free_claimed(page) };
        }
    }
}

// SAFETY: the page's refcount operations are atomic and may run on any CPU,
// and a page may be freed from any task context.
unsafe impl Send for CountedPage {}

// SAFETY: `&CountedPage` only reads the count and takes references, both
// atomic operations on the page.
unsafe impl Sync for CountedPage {}

/// One counted reference to a page.
pub(crate) type PageRef = ARef<CountedPage>;

/// Puts `page`, `put_page_testzero()` in Rust. Returns the page if this was
/// the last reference: the caller then decides when it is freed.
pub(crate) fn put(page: PageRef) -> Option<DeadPage> {
    let page = ARef::into_raw(page).cast::<bindings::page>();
    // SAFETY: `page` is valid and we own the reference being dropped (taken
    // out of the `ARef` above).
    let last = unsafe { rust_impl::sub_and_test(page.as_ptr(), 1) };
    // INVARIANT: the count reached zero through our put and we won the claim,
    // so nobody else holds a reference or will free the page. Lazily: a
    // `DeadPage` made and dropped on the `false` path would free a page others
    // still hold.
    last.then(|| DeadPage { page })
}

/// A page whose last reference was put by [`put`], not yet freed.
///
/// # Invariants
///
/// `page` is an order-0 page from [`alloc_page`] whose last put was won
/// through [`put`]; this object alone decides when the page is freed.
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
        // SAFETY: `self.page` is a valid order-0 page (not a tail page); a
        // speculative get may be attempted on it whatever its count.
        let got = unsafe { rust_impl::add_unless_zero(self.page.as_ptr(), 1) };
        // INVARIANT: on success the reference just taken is the new object's.
        // Lazily, as in `put`: a dropped `PageRef` would put a reference that
        // was never taken.
        // SAFETY: the reference just taken is transferred to the `ARef`.
        got.then(|| unsafe { ARef::from_raw(self.page.cast()) })
    }
}

impl Drop for DeadPage {
    fn drop(&mut self) {
        // SAFETY: our put won the last claim of an `alloc_page()` page (type
        // invariant).
        unsafe { free_claimed(self.page) };
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
/// `page` points to an order-0 page from [`alloc_page`]. No reference to it
/// exists outside this object, nor does any pointer to it that a
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

    /// The word of the page, for the algorithm's own operations.
    pub(crate) fn word(&self) -> crate::page_word::PageWord<'_> {
        // SAFETY: the page is valid for as long as `self` lives (type
        // invariant), and it is an order-0 page, writable.
        unsafe { crate::page_word::PageWord::of(self.ptr()) }
    }

    /// The raw `_refcount`, frozen bit and leftovers included.
    pub(crate) fn raw(&self) -> u32 {
        crate::algo::RefAtomic::read(&self.word())
    }

    /// Stores `v` into `_refcount`: puts the page in any state.
    pub(crate) fn set_raw(&self, v: u32) {
        crate::algo::RefAtomic::set(&self.word(), v)
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
            // SAFETY: as above, and it is an order-0 page, not a tail.
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

    /// `page_ref_inc_ownerless(page)`.
    pub(crate) fn inc_ownerless(&self, imp: Impl) {
        match imp {
            // SAFETY: the page is valid, and it is ours.
            Impl::C => unsafe { bindings::page_ref_inc_ownerless(self.ptr()) },
            // SAFETY: as above.
            Impl::Rust => unsafe { rust_impl::inc_ownerless(self.ptr()) },
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
        unsafe { bindings::__free_pages(self.ptr(), 0) };
    }
}
