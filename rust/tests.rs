// SPDX-License-Identifier: GPL-2.0

//! KUnit suites `page_ref_rust` and `page_ref_rust_kernel`: the Rust
//! implementation of the page refcount on real pages from the page allocator,
//! alone and against the C one, and the whole kernel running on it.
//!
//! The cases follow the kernel's configuration: with
//! `CONFIG_PAGE_REF_FROZEN_BIT` they check the frozen-bit scheme, without it
//! the classic one, so one suite covers both.
//!
//! `#[kunit_tests]` turns `assert!` inside a `#[test]` function into a KUnit
//! assertion that fails and ends the case; helpers defined before the first
//! test would get `core`'s panicking `assert!`, so they return what the
//! tests assert on instead.

use kernel::prelude::*;

#[kunit_tests(page_ref_rust)]
mod page_ref_rust {
    use crate::algo::{guard, PageRefOps, RefAtomic};
    use crate::page_ref::{self, CountedPage, Impl, PageRef, TestPage};
    use crate::page_word::PageWord;
    use crate::rust_impl::CORRECT;
    use core::cell::Cell;
    use kernel::prelude::*;

    const FROZEN_BIT: bool = cfg!(CONFIG_PAGE_REF_FROZEN_BIT);
    /// Bit 31, `PAGE_REF_FROZEN`.
    const F: u32 = 1 << 31;
    /// `PAGE_REF_GUARD`.
    const G: u32 = guard::<PageWord<'static>>();
    const IMPLS: [Impl; 2] = [Impl::C, Impl::Rust];

    /// A page straight from the allocator holds exactly its owner's reference.
    #[test]
    fn fresh_page_counts_one() -> Result {
        let page = CountedPage::alloc()?;
        assert_eq!(page.count(), 1);
        Ok(())
    }

    /// `ARef::clone()` (`get_page()`) adds one reference and dropping the
    /// clone (the Rust put) takes it back.
    #[test]
    fn get_adds_one() -> Result {
        let page = CountedPage::alloc()?;
        let other = page.clone();
        assert_eq!(page.count(), 2);
        drop(other);
        assert_eq!(page.count(), 1);
        Ok(())
    }

    /// Only the last put reports zero; the page is then dead to speculative
    /// gets until it is freed.
    #[test]
    fn last_put_frees() -> Result {
        let page: PageRef = CountedPage::alloc()?;
        let other = page.clone();
        assert!(page_ref::put(other).is_none());
        assert_eq!(page.count(), 1);
        let dead = page_ref::put(page);
        assert!(dead.is_some());
        if let Some(dead) = dead {
            assert_eq!(dead.count(), 0);
            // Bound to a name: a wrongly revived page must not be put (and
            // freed) before the check has reported it.
            let revived = dead.try_get();
            assert!(revived.is_none());
            assert_eq!(dead.count(), 0);
        }
        Ok(())
    }

    /// One operation of the refcount, as the table and the scripts name it.
    #[derive(Clone, Copy, Debug)]
    enum Op {
        Count,
        TryGet(i32),
        Put(i32),
        Freeze(i32),
        Unfreeze(i32),
        MakeOwnerless,
        IncOwnerless,
    }

    /// Runs `op` with `imp`; returns its result as a number (`bool` as 0 or 1).
    fn run(page: &TestPage, imp: Impl, op: Op) -> i32 {
        match op {
            Op::Count => page.count(imp),
            Op::TryGet(nr) => i32::from(page.try_get(imp, nr)),
            Op::Put(nr) => i32::from(page.sub_and_test(imp, nr)),
            Op::Freeze(n) => i32::from(page.freeze(imp, n)),
            Op::Unfreeze(n) => {
                page.unfreeze(imp, n);
                0
            }
            Op::MakeOwnerless => {
                page.make_ownerless(imp);
                0
            }
            Op::IncOwnerless => {
                page.inc_ownerless(imp);
                0
            }
        }
    }

    /// Whether `got` is `want`; names the step when it is not.
    fn expect(
        what: &str,
        imp: Impl,
        start: u32,
        op: Op,
        got: (i32, u32),
        want: (i32, u32),
    ) -> bool {
        if got != want {
            pr_err!(
                "{what}: {imp:?} {op:?} from {start:#x}: got (result {}, raw {:#x}), want (result {}, raw {:#x})\n",
                got.0,
                got.1,
                want.0,
                want.1
            );
        }
        got == want
    }

    /// Every operation in every state of the word (held, transient zero,
    /// frozen with leftovers; see `docs/semantics.md`) where the kernel allows
    /// it, by C and by Rust, each from the state set afresh: the result and
    /// the raw word after it are the ones written here from the semantics
    /// (not computed by either implementation).
    #[test]
    fn every_op_in_every_state() -> Result {
        let page = TestPage::alloc()?;
        // (state, operation, result, raw word after)
        #[rustfmt::skip]
        let frozen_bit: &[(u32, Op, i32, u32)] = &[
            // page_ref_count(): 0 for free or frozen, whatever the leftovers.
            (1, Op::Count, 1, 1),
            (2, Op::Count, 2, 2),
            (0, Op::Count, 0, 0),
            (F, Op::Count, 0, F),
            (F | 5, Op::Count, 0, F | 5),
            // Speculative get: one add; fails iff bit 31 is set in the result,
            // a transient zero is revived, leftovers stay below the guard.
            (1, Op::TryGet(1), 1, 2),
            (2, Op::TryGet(3), 1, 5),
            (0, Op::TryGet(1), 1, 1),
            (F, Op::TryGet(1), 0, F | 1),
            (F | 5, Op::TryGet(3), 0, F | 8),
            (F | (G - 2), Op::TryGet(1), 0, F | (G - 1)),
            (F | (G - 1), Op::TryGet(1), 0, F),
            (F | (G - 1), Op::TryGet(3), 0, F),
            // Put: only the last one, which claims, frees.
            (1, Op::Put(1), 1, F),
            (2, Op::Put(1), 0, 1),
            (2, Op::Put(2), 1, F),
            (3, Op::Put(2), 0, 1),
            // Freeze: only from exactly the count given.
            (1, Op::Freeze(1), 1, F),
            (2, Op::Freeze(2), 1, F),
            (2, Op::Freeze(1), 0, 2),
            (F, Op::Freeze(1), 0, F),
            // Unfreeze: a whole new count over any leftovers.
            (F, Op::Unfreeze(2), 0, 2),
            (F | 5, Op::Unfreeze(2), 0, 2),
            (F | (G - 1), Op::Unfreeze(1), 0, 1),
            // Ownerless: free, so speculative gets fail.
            (1, Op::MakeOwnerless, 0, F),
            (F | 5, Op::MakeOwnerless, 0, F),
            (F, Op::TryGet(1), 0, F | 1),
            // Inc ownerless: one reference over the frozen bit and leftovers,
            // one more on a held page (R10).
            (F, Op::IncOwnerless, 0, 1),
            (F | 5, Op::IncOwnerless, 0, 1),
            (2, Op::IncOwnerless, 0, 3),
        ];
        #[rustfmt::skip]
        let classic: &[(u32, Op, i32, u32)] = &[
            (1, Op::Count, 1, 1),
            (2, Op::Count, 2, 2),
            (0, Op::Count, 0, 0),
            (1, Op::TryGet(1), 1, 2),
            (2, Op::TryGet(3), 1, 5),
            (0, Op::TryGet(1), 0, 0),
            (1, Op::Put(1), 1, 0),
            (2, Op::Put(1), 0, 1),
            (2, Op::Put(2), 1, 0),
            (1, Op::Freeze(1), 1, 0),
            (2, Op::Freeze(1), 0, 2),
            (0, Op::Freeze(1), 0, 0),
            (0, Op::Unfreeze(2), 0, 2),
            (1, Op::MakeOwnerless, 0, 0),
            (0, Op::IncOwnerless, 0, 1),
            (2, Op::IncOwnerless, 0, 3),
        ];
        let table = if FROZEN_BIT { frozen_bit } else { classic };
        let mut wrong = 0;
        for &(start, op, result, after) in table {
            for imp in IMPLS {
                page.set_raw(start);
                let got = run(&page, imp, op);
                let want = (result, after);
                wrong += u32::from(!expect(
                    "state table",
                    imp,
                    start,
                    op,
                    (got, page.raw()),
                    want,
                ));
            }
        }
        assert_eq!(wrong, 0);
        Ok(())
    }

    /// R1 replayed step by step: a put's decrement reaches zero, a speculative
    /// get (C or Rust) revives the page, and the put's delayed claim must then
    /// fail: the reviver owns the page and its last put frees it.
    #[test]
    fn revive_before_claim() -> Result {
        let page = TestPage::alloc()?;
        for imp in IMPLS {
            // The delayed put has decremented: the transient zero.
            page.set_raw(0);
            let revived = page.try_get(imp, 1);
            if !FROZEN_BIT {
                // Zero is free in the classic scheme: no revival, no claim.
                assert!(!revived);
                continue;
            }
            assert!(revived);
            assert!(page.raw() == 1);
            // The delayed claim loses.
            assert!(!page.claim());
            assert!(page.raw() == 1);
            // The reviver's put is the last, and claims.
            assert!(page.sub_and_test(imp, 1));
            assert!(page.raw() == F);
            // A claim of a page already claimed loses too.
            assert!(!page.claim());
        }
        Ok(())
    }

    /// The page's word with a speculative get, through C, in the window
    /// between a put's decrement and its claim.
    struct GetInWindow<'a> {
        page: &'a TestPage,
        word: PageWord<'a>,
        entered: Cell<bool>,
        got: Cell<bool>,
    }

    impl<'a> GetInWindow<'a> {
        fn new(page: &'a TestPage) -> Self {
            Self {
                page,
                word: page.word(),
                entered: Cell::new(false),
                got: Cell::new(false),
            }
        }
    }

    impl RefAtomic for GetInWindow<'_> {
        const BITS: u32 = 32;
        fn read(&self) -> u32 {
            self.word.read()
        }
        fn set(&self, v: u32) {
            self.word.set(v)
        }
        fn set_release(&self, v: u32) {
            self.word.set_release(v)
        }
        fn add_return(&self, i: u32, order: crate::algo::Order) -> u32 {
            self.word.add_return(i, order)
        }
        fn sub_return(&self, i: u32, order: crate::algo::Order) -> u32 {
            self.word.sub_return(i, order)
        }
        fn cmpxchg(&self, old: u32, new: u32, order: crate::algo::Order) -> u32 {
            self.word.cmpxchg(old, new, order)
        }
        fn window(&self) {
            self.entered.set(true);
            self.got.set(self.page.try_get(Impl::C, 1));
        }
    }

    /// R7b: the put of the raw free paths (`page_ref_sub_and_claim()`, as
    /// this kernel runs it) leaves no zero: a speculative get placed between
    /// a put's decrement and its claim never runs, and the last put frees.
    /// The put of `folio_put()` (`sub_and_test`) does open that window, and
    /// with the frozen bit the get revives the page there.
    #[test]
    fn raw_free_put_leaves_no_zero() -> Result {
        let page = TestPage::alloc()?;
        let ops = crate::rust_impl::ops();
        let w = GetInWindow::new(&page);
        assert_eq!(ops.sub_and_test(&w, 1), !FROZEN_BIT);
        assert_eq!(w.entered.get(), FROZEN_BIT);
        assert_eq!(w.got.get(), FROZEN_BIT);
        if !FROZEN_BIT {
            page.set_raw(1);
        }
        assert_eq!(page.raw(), 1);
        let w = GetInWindow::new(&page);
        assert!(ops.sub_and_claim(&w, 1));
        assert!(!w.entered.get());
        assert_eq!(page.raw(), if FROZEN_BIT { F } else { 0 });
        Ok(())
    }

    /// A sequential model of the word, for the expected outcome of a script.
    struct LocalWord(Cell<u32>);

    impl RefAtomic for LocalWord {
        const BITS: u32 = 32;
        fn read(&self) -> u32 {
            self.0.get()
        }
        fn set(&self, v: u32) {
            self.0.set(v)
        }
        fn set_release(&self, v: u32) {
            self.0.set(v)
        }
        fn add_return(&self, i: u32, _: crate::algo::Order) -> u32 {
            self.0.set(self.0.get().wrapping_add(i));
            self.0.get()
        }
        fn sub_return(&self, i: u32, _: crate::algo::Order) -> u32 {
            self.0.set(self.0.get().wrapping_sub(i));
            self.0.get()
        }
        fn cmpxchg(&self, old: u32, new: u32, _: crate::algo::Order) -> u32 {
            let v = self.0.get();
            if v == old {
                self.0.set(new);
            }
            v
        }
    }

    /// A step of one party of a script.
    #[derive(Clone, Copy, Debug)]
    enum Step {
        /// A speculative get.
        Get,
        /// The put of a reference an earlier `Get` took, if one did.
        PutIfGot,
        /// The put of the reference this party held from the start.
        Put,
        /// A freeze of the count this party alone holds (1), as split does.
        Freeze,
        /// The unfreeze to 1 after a `Freeze` that succeeded.
        UnfreezeIfFrozen,
    }

    /// One party's state while a script runs.
    #[derive(Default)]
    struct Party {
        /// References its gets took and it has not put yet.
        got: u32,
        froze: bool,
    }

    /// Runs `step` of `party` on the real page with `imp` and on `model`.
    /// Returns whether both gave the same result and left the same word, and
    /// whether the step was a put that must free.
    fn step(
        page: &TestPage,
        imp: Impl,
        model: &LocalWord,
        party: &mut Party,
        s: Step,
    ) -> (bool, bool) {
        let ops: PageRefOps = CORRECT;
        let start = page.raw();
        let (op, want) = match s {
            Step::Get => (Op::TryGet(1), i32::from(ops.try_get(model, 1))),
            Step::PutIfGot if party.got == 0 => return (true, false),
            Step::PutIfGot | Step::Put => (Op::Put(1), i32::from(ops.sub_and_test(model, 1))),
            Step::Freeze => (Op::Freeze(1), i32::from(ops.freeze(model, 1))),
            Step::UnfreezeIfFrozen if !party.froze => return (true, false),
            Step::UnfreezeIfFrozen => {
                ops.unfreeze(model, 1);
                (Op::Unfreeze(1), 0)
            }
        };
        let got = run(page, imp, op);
        let same = expect(
            "script",
            imp,
            start,
            op,
            (got, page.raw()),
            (want, model.0.get()),
        );
        match s {
            Step::Get => party.got += got as u32,
            Step::PutIfGot => party.got -= 1,
            Step::Freeze => party.froze = got != 0,
            _ => {}
        }
        (same, matches!(op, Op::Put(_)) && got != 0)
    }

    /// Differential: two parties act on one real page, one through C and the
    /// other through Rust (then the other way round), in every order their
    /// steps can interleave. Each step must give the result and the word that
    /// the algorithm gives sequentially, and exactly one put must free.
    #[test]
    fn c_and_rust_interleaved() -> Result {
        // (a speculative getter, the owner holding the page's one reference)
        let scripts: [(&[Step], &[Step]); 4] = [
            (&[Step::Get, Step::PutIfGot], &[Step::Put]),
            (
                &[Step::Get, Step::PutIfGot],
                &[Step::Freeze, Step::UnfreezeIfFrozen, Step::Put],
            ),
            (
                &[Step::Get, Step::PutIfGot, Step::Get, Step::PutIfGot],
                &[Step::Put],
            ),
            (
                &[Step::Get, Step::Get, Step::PutIfGot, Step::PutIfGot],
                &[Step::Freeze, Step::UnfreezeIfFrozen, Step::Put],
            ),
        ];
        let page = TestPage::alloc()?;
        let (mut runs, mut wrong) = (0, 0);
        for (a, b) in scripts {
            let n = a.len() + b.len();
            // Each interleaving is a mask of n bits with a.len() ones: bit i set
            // means step i of the whole run is the getter's.
            for mask in 0u32..(1 << n) {
                if mask.count_ones() as usize != a.len() {
                    continue;
                }
                for (ia, ib) in [(Impl::C, Impl::Rust), (Impl::Rust, Impl::C)] {
                    page.set_raw(1);
                    let model = LocalWord(Cell::new(1));
                    let (mut pa, mut pb) = (Party::default(), Party::default());
                    let (mut next_a, mut next_b, mut frees) = (0, 0, 0);
                    for i in 0..n {
                        let (same, freed) = if mask & (1 << i) != 0 {
                            next_a += 1;
                            step(&page, ia, &model, &mut pa, a[next_a - 1])
                        } else {
                            next_b += 1;
                            step(&page, ib, &model, &mut pb, b[next_b - 1])
                        };
                        wrong += u32::from(!same);
                        frees += u32::from(freed);
                    }
                    // Each getter that got put its reference, the owner put its
                    // own: one free, and the page ends free (with the frozen bit,
                    // possibly with the leftovers of gets that failed).
                    assert!(frees == 1);
                    assert!(page.count(Impl::C) == 0);
                    assert!(!FROZEN_BIT || page.raw() & F != 0);
                    runs += 1;
                }
            }
        }
        pr_info!("c_and_rust_interleaved: {runs} interleavings\n");
        assert_eq!(wrong, 0);
        Ok(())
    }
}

/// With `CONFIG_PAGE_REF_RUST_KERNEL`, the kernel's own
/// `page_ref_add_unless_zero()`, `page_ref_dec_and_test()` and
/// `page_ref_sub_and_test()` run the Rust implementation: by the time the
/// suites run, booting has called it many times. The C caller counts the calls
/// per CPU (`page_ref_extern_calls`).
#[cfg(CONFIG_PAGE_REF_RUST_KERNEL)]
#[kunit_tests(page_ref_rust_kernel)]
mod page_ref_rust_kernel {
    use crate::page_ref::CountedPage;
    use kernel::prelude::*;

    /// The calls into Rust so far, summed over the possible CPUs.
    fn calls() -> usize {
        // SAFETY: reads per-CPU counters of the core kernel; a torn sum is
        // only a number printed and compared with a bound.
        unsafe { kernel::bindings::page_ref_extern_calls_sum() }
    }

    #[test]
    fn whole_kernel_runs_on_rust() -> Result {
        // SAFETY: a pure read of a static key, through the series' helper.
        let on = unsafe { kernel::bindings::page_ref_use_extern() };
        let before = calls();
        // A page's life through the kernel's own functions, not ours: the
        // Rust put of `CountedPage` frees with the kernel's `__free_pages()`.
        let page = CountedPage::alloc()?;
        drop(page.clone());
        drop(page);
        let after = calls();
        pr_info!("whole kernel on Rust: {on}, {after} calls from the kernel so far\n");
        if on {
            assert!(before > 0);
            assert!(after > before);
        } else {
            // Booted with page_ref_impl=inline: the C code runs, Rust is idle.
            assert_eq!(after, before);
        }
        Ok(())
    }
}
