// SPDX-License-Identifier: GPL-2.0

//! The page refcount algorithm, generic over its atomic word and its width.
//!
//! One `no_std` source, compiled unchanged into the kernel module (over the C
//! `atomic_t` helpers, 32 bits) and into the userspace crate `rust/verify`
//! (over loom's atomics with a 4-bit word for the model checks, over std
//! atomics for the contention benchmark).
//!
//! [`PageRefOps`] implements both schemes of `include/linux/page_ref.h`:
//!
//! - [`Scheme::Classic`] (`CONFIG_PAGE_REF_FROZEN_BIT=n`, upstream 7.3): zero
//!   means free or frozen, a speculative get is a `cmpxchg` loop
//!   (`atomic_add_unless(v, nr, 0)`).
//! - [`Scheme::FrozenBit`] (`CONFIG_PAGE_REF_FROZEN_BIT=y`): bit `BITS - 1` of
//!   the word marks a page that is free or frozen, a speculative get is one
//!   fully ordered add that succeeds iff that bit is clear in its result, and
//!   the last put must win a claim, `cmpxchg(0 -> FROZEN)`, to free.
//!
//! The frozen-bit scheme can be run as one of the deliberately broken
//! [`Variant`]s, so that the model checks and the kernel race harness can show
//! that they catch each bug. Everything but those checks uses
//! [`Variant::Correct`].
//!
//! # Orderings
//!
//! Each atomic operation uses the weakest [`Order`] that `rust/verify`'s loom
//! models prove enough: every model passes with the orders below, and the
//! variant one step weaker fails the models named.
//!
//! | operation            | Linux primitive          | order   | one step weaker fails      |
//! | -------------------- | ------------------------ | ------- | -------------------------- |
//! | try-get add          | `atomic_add_return`      | full    | `try_get_is_fully_ordered` |
//! | put decrement        | `atomic_sub_return`      | full    | `put_is_fully_ordered`     |
//! | claim                | `atomic_cmpxchg_acquire` | acquire | `r1_with_page_data`, `r7`  |
//! | put and claim (R7b)  | `atomic_try_cmpxchg`     | full    | (as the put decrement)     |
//! | freeze               | `atomic_cmpxchg`         | full    | `freeze_is_fully_ordered`  |
//! | unfreeze             | `atomic_set_release`     | release | `r4_try_get_vs_unfreeze`   |
//! | drop leftovers       | `atomic_cmpxchg_relaxed` | relaxed | (none weaker)              |
//! | ownerless, set count | `atomic_set`             | relaxed | (none weaker)              |
//! | count                | `atomic_read`            | relaxed | (none weaker)              |
//!
//! The races alone need less of the get, the put and the freeze: the models
//! R1-R8 pass with an acquire get, a release put and an acquire freeze, and
//! fail with relaxed ones (R4; R1 with page data, R2, R3, R5, R7; R3). Full
//! ordering is what their callers rely on, as on the C functions they replace:
//! the `*_is_fully_ordered` models are the store-buffering pattern of GUP-fast
//! against unmap (pin, then re-check the PTE; clear the PTE, `smp_mb()`, then
//! check the pins).

/// Memory ordering of one atomic operation, in the Linux kernel memory model's
/// terms (`Documentation/atomic_t.txt`).
///
/// For a conditional operation (`cmpxchg`) the order applies only when it
/// succeeds: a failed `cmpxchg` is unordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Fully ordered, as if `smp_mb()` came right before and right after the
    /// operation: `atomic_add_return()`, `atomic_sub_return()`,
    /// `atomic_cmpxchg()`.
    Full,
    /// The read is an acquire: the `_acquire` forms.
    Acquire,
    /// The write is a release: the `_release` forms.
    Release,
    /// No ordering: the `_relaxed` forms.
    Relaxed,
}

/// An atomic word of [`RefAtomic::BITS`] bits with the `atomic_t` operations
/// the algorithm uses, each with the ordering its Linux namesake has.
///
/// Values are in `0..2^BITS` and arithmetic wraps modulo `2^BITS`, as a
/// 32-bit `atomic_t` wraps modulo `2^32` (the kernel's `int` seen as `u32`).
pub trait RefAtomic {
    /// The width of the word: 32 for `atomic_t`; the model checks use fewer, so
    /// that the overflow guard at `2^(BITS - 2)` is reachable.
    const BITS: u32;

    /// `atomic_read()`: a relaxed load.
    fn read(&self) -> u32;

    /// `atomic_set()`: a relaxed store.
    fn set(&self, v: u32);

    /// `atomic_set_release()`: a store with release ordering.
    fn set_release(&self, v: u32);

    /// `atomic_add_return{,_acquire,_release,_relaxed}()`: adds `i` and
    /// returns the new value.
    fn add_return(&self, i: u32, order: Order) -> u32;

    /// `atomic_sub_return{,_acquire,_release,_relaxed}()`: subtracts `i` and
    /// returns the new value.
    fn sub_return(&self, i: u32, order: Order) -> u32;

    /// `atomic_cmpxchg{,_acquire,_release,_relaxed}()`: stores `new` if the
    /// word holds `old`, and returns the value found either way. `order`
    /// applies only when the exchange happens.
    fn cmpxchg(&self, old: u32, new: u32, order: Order) -> u32;

    /// Called by a put between its decrement to zero and its claim, where a
    /// delay opens the races of the claim (R1, R7, R7b). Nothing by default;
    /// the kernel's test kernels open `page_ref_test_window` here, so that a
    /// KUnit replay can stop the Rust put there as it stops the C one.
    #[inline(always)]
    fn window(&self) {}
}

/// The frozen bit of a word of `A::BITS` bits: bit `BITS - 1` (bit 31 in the
/// kernel, `PAGE_REF_FROZEN`).
pub const fn frozen<A: RefAtomic>() -> u32 {
    1 << (A::BITS - 1)
}

/// The overflow guard: failed gets' leftovers are reset once they reach
/// `2^(BITS - 2)` (`2^30` in the kernel, `PAGE_REF_GUARD`).
pub const fn guard<A: RefAtomic>() -> u32 {
    1 << (A::BITS - 2)
}

/// Which refcount scheme, as chosen by `CONFIG_PAGE_REF_FROZEN_BIT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// Upstream 7.3: zero is free or frozen, try-get is a `cmpxchg` loop.
    Classic,
    /// A dedicated frozen bit, try-get is one add.
    FrozenBit,
}

/// The frozen-bit scheme, correct or deliberately broken in one place.
///
/// Each broken variant fails at least one model of `rust/verify` (with two
/// threads; its documentation names them all) and is meant to fail the kernel
/// race harness too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Variant {
    /// The algorithm as specified; the only variant that production code uses.
    #[default]
    Correct,
    /// A put that reaches zero frees without winning the claim (it stores the
    /// frozen bit blindly). Caught by R1, R1 with page data, R5, R7, R8 and
    /// R10.
    ClaimWithoutCas,
    /// The claim is a relaxed `cmpxchg`. Caught by R1 with page data and R7.
    RelaxedClaim,
    /// `make_ownerless()` stores 0, as upstream does. Caught by R5 and R10.
    OwnerlessStoresZero,
    /// Failed gets never reset their leftovers. Caught by R6.
    NoOverflowGuard,
    /// Freeze stores 0, as upstream does. Caught by R3, R4 and R6.
    FreezeStoresZero,
    /// Unfreeze adds the new count to the frozen word (clearing the bit)
    /// instead of storing it, so failed gets' leftovers remain. Caught by R4
    /// and R6 against an unfreeze.
    UnfreezeAdds,
    /// `inc_ownerless()` only adds one, as `page_ref_inc()` does, so a page
    /// taken off the allocator keeps its frozen bit. Caught by R10.
    IncOwnerlessAdds,
    /// The try-get add is acquire, not fully ordered. Caught by
    /// `try_get_is_fully_ordered`.
    AcquireTryGet,
    /// The try-get add is relaxed. Caught by R4 and
    /// `try_get_is_fully_ordered`.
    RelaxedTryGet,
    /// The put's decrement is release, not fully ordered. Caught by
    /// `put_is_fully_ordered`.
    ReleasePut,
    /// The put's decrement is relaxed. Caught by R1 with page data, R2, R3,
    /// R5, R7, R7b and `put_is_fully_ordered`.
    RelaxedPut,
    /// Freeze is an acquire `cmpxchg`, not fully ordered. Caught by
    /// `freeze_is_fully_ordered`.
    AcquireFreeze,
    /// Freeze is a relaxed `cmpxchg`. Caught by R3 and
    /// `freeze_is_fully_ordered`.
    RelaxedFreeze,
    /// Unfreeze is a relaxed store. Caught by R4.
    RelaxedUnfreeze,
    /// [`PageRefOps::sub_and_claim`] decrements and then claims, as
    /// [`PageRefOps::sub_and_test`] does, so that a caller freeing with what
    /// it knew before its put (`__free_pages()` and its order) can have its
    /// claim won late, on a later incarnation's zero: the code before the R7b
    /// fix. Caught by R7b.
    StaleClaimable,
    /// The overflow guard resets a frozen word with a blind store of the
    /// frozen bit instead of a `cmpxchg` from what its add returned, so that
    /// a count an unfreeze or an allocation stored in between is lost and a
    /// held page reads frozen. Caught by R6 against an unfreeze.
    GuardStoresFrozen,
}

impl Variant {
    /// Every variant, [`Variant::Correct`] first.
    pub const ALL: [Variant; 17] = [
        Variant::Correct,
        Variant::ClaimWithoutCas,
        Variant::RelaxedClaim,
        Variant::OwnerlessStoresZero,
        Variant::NoOverflowGuard,
        Variant::FreezeStoresZero,
        Variant::UnfreezeAdds,
        Variant::IncOwnerlessAdds,
        Variant::AcquireTryGet,
        Variant::RelaxedTryGet,
        Variant::ReleasePut,
        Variant::RelaxedPut,
        Variant::AcquireFreeze,
        Variant::RelaxedFreeze,
        Variant::RelaxedUnfreeze,
        Variant::StaleClaimable,
        Variant::GuardStoresFrozen,
    ];

    /// The variant's name, as a module parameter spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Variant::Correct => "correct",
            Variant::ClaimWithoutCas => "claim_without_cas",
            Variant::RelaxedClaim => "relaxed_claim",
            Variant::OwnerlessStoresZero => "ownerless_stores_zero",
            Variant::NoOverflowGuard => "no_overflow_guard",
            Variant::FreezeStoresZero => "freeze_stores_zero",
            Variant::UnfreezeAdds => "unfreeze_adds",
            Variant::IncOwnerlessAdds => "inc_ownerless_adds",
            Variant::AcquireTryGet => "acquire_try_get",
            Variant::RelaxedTryGet => "relaxed_try_get",
            Variant::ReleasePut => "release_put",
            Variant::RelaxedPut => "relaxed_put",
            Variant::AcquireFreeze => "acquire_freeze",
            Variant::RelaxedFreeze => "relaxed_freeze",
            Variant::RelaxedUnfreeze => "relaxed_unfreeze",
            Variant::StaleClaimable => "stale_claimable",
            Variant::GuardStoresFrozen => "guard_stores_frozen",
        }
    }

    /// The variant called `name` (see [`Variant::name`]), if there is one.
    pub fn from_name(name: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.name() == name)
    }
}

/// The page refcount operations of one scheme and variant, over any
/// [`RefAtomic`] word: the word is `struct page::_refcount`.
///
/// The operations are named after their `page_ref_*()` counterparts and have
/// their semantics with the scheme's configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRefOps {
    scheme: Scheme,
    variant: Variant,
}

impl PageRefOps {
    /// The classic scheme of upstream 7.3.
    pub const fn classic() -> Self {
        Self {
            scheme: Scheme::Classic,
            variant: Variant::Correct,
        }
    }

    /// The frozen-bit scheme, as `variant` implements it.
    pub const fn frozen_bit(variant: Variant) -> Self {
        Self {
            scheme: Scheme::FrozenBit,
            variant,
        }
    }

    /// The scheme.
    pub const fn scheme(self) -> Scheme {
        self.scheme
    }

    /// The variant; [`Variant::Correct`] for the classic scheme.
    pub const fn variant(self) -> Variant {
        self.variant
    }

    fn is(self, v: Variant) -> bool {
        self.variant == v
    }

    /// `page_ref_add_unless_zero(page, nr)` (`folio_try_get()`,
    /// `get_page_unless_zero()`): takes `nr` references unless the page is
    /// free or frozen; fully ordered when it succeeds.
    #[inline]
    pub fn try_get<A: RefAtomic>(self, a: &A, nr: u32) -> bool {
        match self.scheme {
            Scheme::Classic => {
                // atomic_add_unless(v, nr, 0): atomic_try_cmpxchg() is fully
                // ordered when it succeeds, as the kernel's loop.
                let mut c = a.read();
                loop {
                    if c == 0 {
                        return false;
                    }
                    let found = a.cmpxchg(c, c.wrapping_add(nr), Order::Full);
                    if found == c {
                        return true;
                    }
                    c = found;
                }
            }
            Scheme::FrozenBit => {
                // Full: the callers' contract (try_get_is_fully_ordered); the
                // races alone need acquire (r4_try_get_vs_unfreeze).
                let order = if self.is(Variant::AcquireTryGet) {
                    Order::Acquire
                } else if self.is(Variant::RelaxedTryGet) {
                    Order::Relaxed
                } else {
                    Order::Full
                };
                let count = a.add_return(nr, order);
                // As the C code's `count > 0` on an `int`: bit BITS-1 clear
                // and not zero (zero only after a wrap, which the guard
                // prevents).
                if count != 0 && count & frozen::<A>() == 0 {
                    return true;
                }
                if !self.is(Variant::NoOverflowGuard) {
                    self.drop_leftovers(a, count);
                }
                false
            }
        }
    }

    /// `page_ref_drop_leftovers()`: if a failed get's add left the low bits of
    /// a frozen word at the guard or above, resets the word to the frozen bit
    /// alone, unless it stopped being frozen (an unfreeze or an allocation
    /// stored a count) or another getter reset it first.
    ///
    /// Relaxed: whoever unfreezes or allocates stores a whole count over the
    /// word, and nobody acts on leftovers; `r6_overflow_guard` passes with it.
    fn drop_leftovers<A: RefAtomic>(self, a: &A, mut count: u32) {
        let f = frozen::<A>();
        if self.is(Variant::GuardStoresFrozen) {
            if count & f != 0 && (count & !f) >= guard::<A>() {
                a.set(f);
            }
            return;
        }
        while count & f != 0 && (count & !f) >= guard::<A>() {
            let found = a.cmpxchg(count, f, Order::Relaxed);
            if found == count {
                return;
            }
            count = found;
        }
    }

    /// `page_ref_sub_and_test(page, nr)` (`put_page_testzero()` for `nr` 1):
    /// puts `nr` references; true if the caller put the last one and must
    /// free the page. Fully ordered.
    #[inline]
    pub fn sub_and_test<A: RefAtomic>(self, a: &A, nr: u32) -> bool {
        match self.scheme {
            Scheme::Classic => a.sub_return(nr, Order::Full) == 0,
            Scheme::FrozenBit => {
                if a.sub_return(nr, self.put_order()) != 0 {
                    return false;
                }
                a.window();
                self.claim(a)
            }
        }
    }

    /// `page_ref_dec_and_test(page)`: [`Self::sub_and_test`] of one reference.
    #[inline]
    pub fn dec_and_test<A: RefAtomic>(self, a: &A) -> bool {
        self.sub_and_test(a, 1)
    }

    /// `page_ref_sub_and_claim(page, nr)`: [`Self::sub_and_test`] for the
    /// callers that free with what they knew before the put (an order, a
    /// cache of their own) rather than with what the page says after it
    /// (R7b). The last put goes from `nr` straight to the frozen bit in one
    /// `cmpxchg`, so there is no transient zero: a speculative get either
    /// comes first (and the put is not the last) or fails, and no claim of
    /// an earlier incarnation's put can win this one's free. Fully ordered
    /// when it succeeds, as the decrement it replaces; a loop only while
    /// speculative gets add to the count under it.
    #[inline]
    pub fn sub_and_claim<A: RefAtomic>(self, a: &A, nr: u32) -> bool {
        if self.scheme == Scheme::Classic || self.is(Variant::StaleClaimable) {
            return self.sub_and_test(a, nr);
        }
        let mut c = a.read();
        loop {
            // The caller holds nr references, so c is a plain count >= nr.
            let last = c == nr;
            let new = if last {
                frozen::<A>()
            } else {
                c.wrapping_sub(nr)
            };
            let found = a.cmpxchg(c, new, self.put_order());
            if found == c {
                return last;
            }
            c = found;
        }
    }

    /// Full: the callers' contract (put_is_fully_ordered); the races alone
    /// need release (r2_put_vs_put).
    fn put_order(self) -> Order {
        if self.is(Variant::ReleasePut) {
            Order::Release
        } else if self.is(Variant::RelaxedPut) {
            Order::Relaxed
        } else {
            Order::Full
        }
    }

    /// The claim of a put that took the count to zero: true if it wins, and
    /// then its caller frees the page. A speculative get may have revived the
    /// page after the decrement; then the claim fails and that getter's last
    /// put frees the page.
    ///
    /// Acquire: the winner may be a put whose decrement came before a
    /// reviver's whole life, and the reviver's writes to the page reach the
    /// winner only through the zero the claim reads (`r1_with_page_data`
    /// fails with a relaxed claim, and so does `r7_stale_claim_across_reuse`
    /// for the next incarnation's writes). Nothing is released: a failed
    /// getter reads nothing, and the next owner gets the page through the
    /// allocator.
    ///
    /// Public for tests that replay R1 step by step on a real page: a
    /// decrement to zero, a reviving get, then this claim.
    pub fn claim<A: RefAtomic>(self, a: &A) -> bool {
        let f = frozen::<A>();
        match self.variant {
            Variant::ClaimWithoutCas => {
                a.set(f);
                true
            }
            Variant::RelaxedClaim => a.cmpxchg(0, f, Order::Relaxed) == 0,
            _ => a.cmpxchg(0, f, Order::Acquire) == 0,
        }
    }

    /// `page_ref_sub_return(page, nr)` (`folio_ref_sub_return()`): puts `nr`
    /// references and returns the new count. Fully ordered.
    ///
    /// With the frozen bit it claims nothing, so a 0 does not mean "I may
    /// free": callers must not take the count to zero through it (use
    /// [`Self::sub_and_test`]); those in the tree act on 1 or 2. Without it,
    /// 0 means the caller put the last reference, as upstream.
    #[inline]
    pub fn sub_return<A: RefAtomic>(self, a: &A, nr: u32) -> u32 {
        match self.scheme {
            Scheme::Classic => a.sub_return(nr, Order::Full),
            Scheme::FrozenBit => a.sub_return(nr, self.put_order()),
        }
    }

    /// `page_ref_dec_return(page)`: [`Self::sub_return`] of one reference.
    #[inline]
    pub fn dec_return<A: RefAtomic>(self, a: &A) -> u32 {
        self.sub_return(a, 1)
    }

    /// `page_ref_freeze(page, count)`: if the page holds exactly `count`
    /// references, takes them all and makes the page frozen, so that no
    /// speculative get succeeds until [`Self::unfreeze`]. Fully ordered when
    /// it succeeds.
    ///
    /// Full: the callers' contract (freeze_is_fully_ordered); the races alone
    /// need acquire (r3_try_get_vs_freeze).
    #[inline]
    pub fn freeze<A: RefAtomic>(self, a: &A, count: u32) -> bool {
        let (new, order) = match (self.scheme, self.variant) {
            (Scheme::Classic, _) | (_, Variant::FreezeStoresZero) => (0, Order::Full),
            (_, Variant::AcquireFreeze) => (frozen::<A>(), Order::Acquire),
            (_, Variant::RelaxedFreeze) => (frozen::<A>(), Order::Relaxed),
            _ => (frozen::<A>(), Order::Full),
        };
        a.cmpxchg(count, new, order) == count
    }

    /// `page_ref_unfreeze(page, count)`: makes a frozen page hold `count`
    /// references (`count` > 0), overwriting what failed gets left. Release:
    /// a getter that then succeeds sees what the freezer wrote
    /// (r4_try_get_vs_unfreeze fails with a relaxed store).
    #[inline]
    pub fn unfreeze<A: RefAtomic>(self, a: &A, count: u32) {
        if self.scheme == Scheme::FrozenBit && self.is(Variant::UnfreezeAdds) {
            a.add_return(count.wrapping_sub(frozen::<A>()), Order::Release);
        } else if self.scheme == Scheme::FrozenBit && self.is(Variant::RelaxedUnfreeze) {
            a.set(count);
        } else {
            a.set_release(count);
        }
    }

    /// `page_ref_count(page)`: the number of references, 0 for a page that is
    /// free or frozen whatever leftovers its low bits hold. Relaxed.
    #[inline]
    pub fn count<A: RefAtomic>(self, a: &A) -> u32 {
        let v = a.read();
        if self.scheme == Scheme::FrozenBit && v & frozen::<A>() != 0 {
            0
        } else {
            v
        }
    }

    /// `page_ref_make_ownerless(page)`: marks a page that nobody holds and
    /// that did not go through a last put (memmap init, the first free of
    /// boot or hotplugged memory, CMA pageblocks, ZONE_DEVICE pages): free, so
    /// that a speculative get fails on it (R5). Relaxed, as `set_page_count()`:
    /// the page reaches its next owner through the allocator.
    #[inline]
    pub fn make_ownerless<A: RefAtomic>(self, a: &A) {
        if self.scheme == Scheme::FrozenBit && !self.is(Variant::OwnerlessStoresZero) {
            a.set(frozen::<A>());
        } else {
            a.set(0);
        }
    }

    /// `page_ref_inc_ownerless(page)`: one more reference for a page its
    /// caller controls and that may be ownerless (memory-failure's page taken
    /// off the allocator, virtio-mem's page taken back): one reference over
    /// the frozen bit and its leftovers, or one more if somebody holds it
    /// (R10). Fully ordered, as the `atomic_try_cmpxchg()` loop in C.
    #[inline]
    pub fn inc_ownerless<A: RefAtomic>(self, a: &A) {
        if self.scheme == Scheme::Classic || self.is(Variant::IncOwnerlessAdds) {
            a.add_return(1, Order::Relaxed);
            return;
        }
        let f = frozen::<A>();
        let mut c = a.read();
        loop {
            let new = if c & f != 0 { 1 } else { c.wrapping_add(1) };
            let found = a.cmpxchg(c, new, Order::Full);
            if found == c {
                return;
            }
            c = found;
        }
    }

    /// `set_page_count(page, v)` with `v` > 0: an allocation's store of the
    /// new owner's references over a free page and its leftovers. Relaxed.
    #[inline]
    pub fn set_count<A: RefAtomic>(self, a: &A, v: u32) {
        a.set(v);
    }
}
