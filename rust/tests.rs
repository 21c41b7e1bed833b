// SPDX-License-Identifier: GPL-2.0

//! KUnit suite `page_ref_rust`: the Rust implementation of the page refcount
//! on real pages from the page allocator, alone and against the C one.
//!
//! The cases follow the kernel's configuration: with
//! `CONFIG_PAGE_REF_FROZEN_BIT` they check the frozen-bit scheme, without it
//! the classic one, so one suite covers both.

use crate::algo::{guard, PageRefOps, RefAtomic};
use crate::page_ref::{Impl, PageRef, TestPage};
use crate::page_word::PageWord;
use crate::rust_impl::CORRECT;
use core::cell::Cell;
use kernel::prelude::*;

kunit_suite!(
    "page_ref_rust",
    [
        fresh_page_counts_one,
        get_adds_one,
        last_put_frees,
        every_op_in_every_state,
        revive_before_claim,
        c_and_rust_interleaved,
    ]
);

const FROZEN_BIT: bool = cfg!(CONFIG_PAGE_REF_FROZEN_BIT);
/// Bit 31, `PAGE_REF_FROZEN`.
const F: u32 = 1 << 31;
/// `PAGE_REF_GUARD`.
const G: u32 = guard::<PageWord>();
const IMPLS: [Impl; 2] = [Impl::C, Impl::Rust];

/// Allocates a page for a test case; fails the case if none can be had.
fn alloc() -> PageRef {
    let page = PageRef::alloc();
    check!(page.is_ok());
    // The check above stopped the case on an error.
    page.unwrap_or_else(|_| unreachable!())
}

/// As [`alloc`], a [`TestPage`].
fn alloc_test_page() -> TestPage {
    let page = TestPage::alloc();
    check!(page.is_ok());
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

/// One operation of the refcount, as the table and the scripts name it.
#[derive(Clone, Copy, Debug)]
enum Op {
    Count,
    TryGet(i32),
    Put(i32),
    Freeze(i32),
    Unfreeze(i32),
    MakeOwnerless,
}

/// Runs `op` with `imp`; returns its result as a number (`bool` as 0 or 1).
fn run(page: &TestPage, imp: Impl, op: Op) -> i32 {
    match op {
        Op::Count => page.count(imp),
        Op::TryGet(nr) => page.try_get(imp, nr) as i32,
        Op::Put(nr) => page.sub_and_test(imp, nr) as i32,
        Op::Freeze(n) => page.freeze(imp, n) as i32,
        Op::Unfreeze(n) => {
            page.unfreeze(imp, n);
            0
        }
        Op::MakeOwnerless => {
            page.make_ownerless(imp);
            0
        }
    }
}

/// Checks that `got` is `want`, naming the step when it is not.
fn expect(what: &str, imp: Impl, start: u32, op: Op, got: (i32, u32), want: (i32, u32)) {
    if got != want {
        pr_err!(
            "{what}: {imp:?} {op:?} from {start:#x}: got (result {}, raw {:#x}), want (result {}, raw {:#x})\n",
            got.0,
            got.1,
            want.0,
            want.1
        );
    }
    check!(got == want);
}

/// Every operation in every state of DESIGN.md section 2 where the kernel
/// allows it, by C and by Rust, each from the state set afresh: the result
/// and the raw word after it are the ones written here from the semantics
/// (not computed by either implementation).
fn every_op_in_every_state() {
    let page = alloc_test_page();
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
    ];
    let table = if FROZEN_BIT { frozen_bit } else { classic };
    for &(start, op, result, after) in table {
        for imp in IMPLS {
            page.set_raw(start);
            let got = run(&page, imp, op);
            expect(
                "state table",
                imp,
                start,
                op,
                (got, page.raw()),
                (result, after),
            );
        }
    }
}

/// R1 replayed step by step: a put's decrement reaches zero, a speculative
/// get (C or Rust) revives the page, and the put's delayed claim must then
/// fail: the reviver owns the page and its last put frees it.
fn revive_before_claim() {
    let page = alloc_test_page();
    for imp in IMPLS {
        // The delayed put has decremented: the transient zero.
        page.set_raw(0);
        let revived = page.try_get(imp, 1);
        if !FROZEN_BIT {
            // Zero is free in the classic scheme: no revival, no claim.
            check!(!revived);
            continue;
        }
        check!(revived);
        check!(page.raw() == 1);
        // The delayed claim loses.
        check!(!page.claim());
        check!(page.raw() == 1);
        // The reviver's put is the last, and claims.
        check!(page.sub_and_test(imp, 1));
        check!(page.raw() == F);
        // A claim of a page already claimed loses too.
        check!(!page.claim());
    }
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

/// Runs `step` of `party` on the real page with `imp` and on `model`; checks
/// that both give the same result and leave the same word. Returns whether
/// the step was a put that must free.
fn step(page: &TestPage, imp: Impl, model: &LocalWord, party: &mut Party, s: Step) -> bool {
    let ops: PageRefOps = CORRECT;
    let start = page.raw();
    let (op, want) = match s {
        Step::Get => (Op::TryGet(1), ops.try_get(model, 1) as i32),
        Step::PutIfGot if party.got == 0 => return false,
        Step::PutIfGot | Step::Put => (Op::Put(1), ops.sub_and_test(model, 1) as i32),
        Step::Freeze => (Op::Freeze(1), ops.freeze(model, 1) as i32),
        Step::UnfreezeIfFrozen if !party.froze => return false,
        Step::UnfreezeIfFrozen => {
            ops.unfreeze(model, 1);
            (Op::Unfreeze(1), 0)
        }
    };
    let got = run(page, imp, op);
    expect(
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
    matches!(op, Op::Put(_)) && got != 0
}

/// Differential: two parties act on one real page, one through C and the
/// other through Rust (then the other way round), in every order their
/// steps can interleave. Each step must give the result and the word that
/// the algorithm gives sequentially, and exactly one put must free.
fn c_and_rust_interleaved() {
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
    let page = alloc_test_page();
    let mut runs = 0;
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
                    let freed = if mask & (1 << i) != 0 {
                        next_a += 1;
                        step(&page, ia, &model, &mut pa, a[next_a - 1])
                    } else {
                        next_b += 1;
                        step(&page, ib, &model, &mut pb, b[next_b - 1])
                    };
                    frees += freed as u32;
                }
                // Each getter that got put its reference, the owner put its
                // own: one free, and the page ends free (with the frozen bit,
                // possibly with the leftovers of gets that failed).
                check!(frees == 1);
                check!(page.count(Impl::C) == 0);
                check!(!FROZEN_BIT || page.raw() & F != 0);
                runs += 1;
            }
        }
    }
    pr_info!("c_and_rust_interleaved: {runs} interleavings\n");
}

/// With `CONFIG_PAGE_REF_RUST_KERNEL`, the kernel's own
/// `page_ref_add_unless_zero()`, `page_ref_dec_and_test()` and
/// `page_ref_sub_and_test()` run the Rust implementation: by the time the
/// suites run, booting has called it many times.
#[cfg(CONFIG_PAGE_REF_RUST_KERNEL)]
fn whole_kernel_runs_on_rust() {
    use core::sync::atomic::Ordering;
    // SAFETY: a pure read of a static key, through the series' helper.
    let on = unsafe { kernel::bindings::page_ref_use_extern() };
    let before = crate::rust_impl::whole_kernel::CALLS.load(Ordering::Relaxed);
    // A page's life through the kernel's own functions, not ours.
    let page = alloc();
    drop(page.clone());
    drop(page);
    let after = crate::rust_impl::whole_kernel::CALLS.load(Ordering::Relaxed);
    pr_info!("whole kernel on Rust: {on}, {after} calls from the kernel so far\n");
    if on {
        check!(before > 0);
        check!(after >= before + 2);
    } else {
        // Booted with page_ref_impl=inline: the C code runs, Rust is idle.
        check!(after == before);
    }
}

#[cfg(CONFIG_PAGE_REF_RUST_KERNEL)]
kunit_suite!("page_ref_rust_kernel", [whole_kernel_runs_on_rust]);
