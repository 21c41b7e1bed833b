//! The loom models: one per property of the races R1-R10 (`docs/races.md`)
//! and one per fully ordered operation's contract, each asserting the
//! invariants of the semantics (`docs/semantics.md`) inside the model:
//!
//! - a successful get is never on a frozen or free word;
//! - exactly one free per lifetime, by a put that holds the last reference;
//! - after `unfreeze(n)` the count is `n` plus the gets that succeeded since;
//! - failed adds never clear the frozen bit;
//! - and, through loom's `UnsafeCell`, that whoever touches the page's data
//!   (a getter, a freezer, the one who frees) is ordered after every earlier
//!   user's writes: loom panics on any access that does not happen after the
//!   previous ones.
//!
//! Every model takes the [`PageRefOps`] under test, runs every interleaving
//! within its bound and panics on the first violation. All of them pass for
//! both correct schemes; `tests/variants.rs` shows each broken variant fails
//! one.
//!
//! The word is [`BITS`] = 4 bits wide: frozen bit 8, guard 4, so that a few
//! failed adds reach the guard (R6) and, without it, carry into the frozen
//! bit. The counts of owned pages the other models reach (at most 6) stay
//! below the frozen bit, as they do in 32 bits.
//!
//! Bounds. Every model runs with two threads (the main one included), the
//! size of each race of §1 (a getter and a putter, two putters, a getter and a
//! freezer...), and again with three, where a third party repeats or
//! interleaves with one of them (a second reviver, a third putter, a third
//! adder on a frozen word). Loom explores them exhaustively, with no
//! preemption bound: every interleaving of their atomic operations, and for
//! each relaxed load every store loom lets it read (among the word's last 7;
//! loom does not model load buffering). The one exception is R6 with three
//! threads, bounded at 3 preemptions (see there). The store-buffering models
//! of the fully ordered operations are two-thread litmus tests by nature.

use crate::algo::{frozen, guard, PageRefOps, RefAtomic, Scheme};
use crate::word::LoomWord;
use loom::cell::UnsafeCell;
use loom::sync::atomic::{fence, AtomicU32};
use loom::thread;
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::{Arc, Mutex, MutexGuard};

/// The width of the models' word.
pub const BITS: u32 = 4;

/// The models' word.
pub type Word = LoomWord<BITS>;

/// What the destructor leaves in a freed page's data.
const POISON: u32 = 0xdead;

/// Page state: version `v` of incarnation `inc`.
fn tag(inc: u32, v: u32) -> u32 {
    inc << 4 | v
}

/// Runs `model` in every interleaving loom finds with at most `preemptions`
/// preemptions (`None`: no bound) and returns the number of executions. Panics
/// as soon as one execution panics: a violated invariant or a data race.
///
/// The loom settings that environment variables could change are all set
/// here, so a run does not depend on the environment.
pub fn explore(preemptions: Option<usize>, model: impl Fn() + Sync + Send + 'static) -> usize {
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c = count.clone();
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = preemptions;
    builder.max_branches = 100_000;
    builder.max_duration = None;
    builder.max_permutations = None;
    builder.checkpoint_file = None;
    builder.check(move || {
        c.fetch_add(1, SeqCst);
        model();
    });
    count.load(SeqCst)
}

/// True if `model` fails (panics) somewhere, as loom reports a violation.
pub fn fails(model: impl FnOnce()) -> bool {
    failure(model).is_some()
}

/// The message of `model`'s first failure, if it fails.
pub fn failure(model: impl FnOnce()) -> Option<String> {
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(model)).err()?;
    let msg = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()));
    Some(msg.unwrap_or_else(|| "(no message)".into()))
}

/// What the model knows about the page, updated right after each atomic
/// operation that changes it. Loom switches threads only at atomic operations,
/// so an update made right after the operation (with no atomic operation in
/// between) is atomic with it. This state is plain std memory, invisible to
/// loom's scheduler and race detector.
#[derive(Default, Debug)]
struct Ghost {
    /// References the threads hold. A put gives its reference up before its
    /// decrement, a get counts its own right after its add.
    refs: u32,
    /// Frozen by a successful freeze, until the unfreeze.
    frozen: bool,
    /// Free: claimed by a last put (or made ownerless) and not allocated since.
    free: bool,
    /// The current incarnation: 1, and one more for each reallocation.
    incarnation: u32,
    /// The frees of incarnations 1 and 2.
    frees: [u32; 3],
}

/// A page: its refcount word, its data and the model's ghost state.
struct Page {
    ops: PageRefOps,
    word: Word,
    /// Page state, written by owners and by the allocator, read by the one who
    /// frees: one part per thread, for owners that write at once (R2).
    data: [UnsafeCell<u32>; 3],
    ghost: Mutex<Ghost>,
}

// SAFETY: `Page` is not `Sync` only because of loom's `UnsafeCell`s, whose
// every access loom checks against the others: the models share pages among
// loom threads precisely so that loom reports accesses that are not ordered.
// Loom runs its threads one at a time on the test's OS thread, so no two
// accesses ever overlap in fact.
unsafe impl Sync for Page {}

impl Page {
    /// An owned page of incarnation 1 holding `refs` references.
    fn new(ops: PageRefOps, refs: u32) -> Arc<Self> {
        Arc::new(Page {
            ops,
            word: Word::new(refs),
            data: [(); 3].map(|_| UnsafeCell::new(tag(1, 0))),
            ghost: Mutex::new(Ghost {
                refs,
                incarnation: 1,
                ..Ghost::default()
            }),
        })
    }

    fn ghost(&self) -> MutexGuard<'_, Ghost> {
        // A poisoned lock only means another thread of this execution failed.
        self.ghost.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A speculative get of `nr` references.
    fn get(&self, nr: u32) -> bool {
        if !self.ops.try_get(&self.word, nr) {
            return false;
        }
        let mut g = self.ghost();
        assert!(
            !g.frozen && !g.free,
            "a get succeeded on a frozen or free page: {g:?}"
        );
        g.refs += nr;
        true
    }

    /// Puts `nr` references with `page_ref_sub_and_test()`; if that was the
    /// last, frees the page and returns the incarnation freed.
    fn put(&self, nr: u32) -> Option<u32> {
        self.ghost().refs -= nr;
        if self.ops.sub_and_test(&self.word, nr) {
            Some(self.free())
        } else {
            None
        }
    }

    /// The free by the winner of a last put: nobody may hold a reference, the
    /// incarnation is freed once, and its data, as the destructor finds it, is
    /// the incarnation's own (loom: every earlier write happens before).
    fn free(&self) -> u32 {
        let inc = {
            let mut g = self.ghost();
            assert!(g.refs == 0, "freed while referenced: {g:?}");
            assert!(!g.free && !g.frozen, "freed twice: {g:?}");
            g.free = true;
            let inc = g.incarnation as usize;
            g.frees[inc] += 1;
            inc as u32
        };
        for cell in &self.data {
            // SAFETY: the pointer is the cell's own; loom checks that this
            // access happens after every other one, and panics otherwise.
            let found = cell.with_mut(|p| unsafe { std::mem::replace(&mut *p, POISON) });
            assert_eq!(found >> 4, inc, "the destructor found {found:#x}");
        }
        inc
    }

    /// `page_ref_freeze(count)`.
    fn freeze(&self, count: u32) -> bool {
        if !self.ops.freeze(&self.word, count) {
            return false;
        }
        let mut g = self.ghost();
        assert!(g.refs == count, "froze {count} of {} references", g.refs);
        g.refs = 0;
        g.frozen = true;
        true
    }

    /// `page_ref_unfreeze(count)` by the freezer.
    fn unfreeze(&self, count: u32) {
        self.ops.unfreeze(&self.word, count);
        let mut g = self.ghost();
        g.frozen = false;
        g.refs = count;
    }

    /// `page_ref_make_ownerless()` of a page whose only reference is ours, as
    /// memmap init and the first free of boot memory do.
    fn make_ownerless(&self) {
        self.ops.make_ownerless(&self.word);
        let mut g = self.ghost();
        g.refs = 0;
        g.free = true;
    }

    /// `page_ref_inc_ownerless()` by the owner of a page nobody holds: the
    /// first reference of a free page taken off the allocator, as
    /// memory-failure and virtio-mem do. The incarnation stays the same.
    fn inc_ownerless(&self) {
        {
            let g = self.ghost();
            assert!(g.free && g.refs == 0, "took a page in use: {g:?}");
        }
        self.ops.inc_ownerless(&self.word);
        let mut g = self.ghost();
        g.free = false;
        g.refs = 1;
    }

    /// Allocates the free page as incarnation `inc`: the allocator writes the
    /// page state, then `set_page_count(1)`.
    fn alloc(&self, inc: u32) {
        {
            let g = self.ghost();
            assert!(g.free && g.refs == 0, "allocated a page in use: {g:?}");
        }
        self.ghost().incarnation = inc;
        self.write_all(0);
        self.ops.set_count(&self.word, 1);
        let mut g = self.ghost();
        g.free = false;
        g.refs = 1;
    }

    /// An owner writes version `v` of the current incarnation's page state.
    fn write(&self, cell: usize, v: u32) {
        let t = tag(self.ghost().incarnation, v);
        // SAFETY: the pointer is the cell's own; loom checks that this access
        // happens after every other one, and panics otherwise.
        self.data[cell].with_mut(|p| unsafe { *p = t });
    }

    /// An exclusive owner (a freezer, the allocator) writes version `v` of
    /// the whole page.
    fn write_all(&self, v: u32) {
        for cell in 0..self.data.len() {
            self.write(cell, v);
        }
    }

    /// An owner reads the version of the page state.
    fn read(&self, cell: usize) -> u32 {
        // SAFETY: the pointer is the cell's own; loom checks that this access
        // happens after every write, and panics otherwise.
        self.data[cell].with(|p| unsafe { *p & 0xf })
    }

    /// The raw word has the frozen bit (free or frozen with the frozen bit;
    /// zero in the classic scheme), and the count reads 0.
    fn assert_dead(&self) {
        let raw = self.word.read();
        match self.ops.scheme() {
            Scheme::FrozenBit => assert!(
                raw & frozen::<Word>() != 0,
                "the frozen bit was cleared: word {raw:#x}"
            ),
            Scheme::Classic => assert_eq!(raw, 0, "a dead classic word is zero"),
        }
        assert_eq!(self.ops.count(&self.word), 0);
    }

    /// Called after every thread joined: the page went through exactly one
    /// free per incarnation allocated, and its word is dead.
    fn assert_freed_once(&self) {
        let g = self.ghost();
        assert!(g.free, "the page was never freed: {g:?}");
        for inc in 1..=g.incarnation as usize {
            assert_eq!(g.frees[inc], 1, "incarnation {inc}: {g:?}");
        }
        drop(g);
        self.assert_dead();
    }
}

/// Runs `body(page, k)` on new threads `k` = 1..`threads` (thread 0 is the
/// caller) and returns their handles.
fn spawn<T: Send + 'static>(
    page: &Arc<Page>,
    threads: usize,
    body: impl Fn(&Page, usize) -> T + Send + Copy + 'static,
) -> Vec<thread::JoinHandle<T>> {
    (1..threads)
        .map(|k| {
            let p = page.clone();
            thread::spawn(move || body(&p, k))
        })
        .collect()
}

/// Joins `handles` and returns what their threads returned.
fn join<T>(handles: Vec<thread::JoinHandle<T>>) -> Vec<T> {
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// R1, try-get vs last put: the owner puts its last reference while
/// speculative getters try to get one. If a get lands between the put's
/// decrement and its claim, the claim fails and the getter's own put frees
/// the page; either way exactly one free, and never a get on a free page.
///
/// Two threads: the race itself. Three: a second getter revives the page
/// again, or competes for the claim. Both exhaustive.
pub fn r1_try_get_vs_last_put(ops: PageRefOps, threads: usize) -> usize {
    explore(None, move || {
        let page = Page::new(ops, 1);
        let getters = spawn(&page, threads, |p, _| {
            if p.get(1) {
                p.put(1);
            }
        });
        page.put(1);
        join(getters);
        page.assert_freed_once();
    })
}

/// R1 with page data: as R1, and the owner writes its part of the page
/// before its put, each resurrecting getter writes its part after its get,
/// and whoever wins the claim (the destructor) reads and poisons every part.
/// The winner may be the owner, whose decrement came before the getter's
/// whole life: the getter's write reaches it only through the claim's read of
/// the getter's decrement. Loom reports any access not ordered after the
/// previous writes. This decides the claim's ordering: acquire passes,
/// relaxed fails. (One part each: a getter that got before the owner's put is
/// a second owner at the same time, whose writes are not ordered against the
/// first one's.)
///
/// Two and three threads, exhaustive.
pub fn r1_with_page_data(ops: PageRefOps, threads: usize) -> usize {
    explore(None, move || {
        let page = Page::new(ops, 1);
        let getters = spawn(&page, threads, |p, k| {
            if p.get(1) {
                p.write(k, 2);
                p.put(1);
            }
        });
        page.write(0, 2);
        page.put(1);
        join(getters);
        page.assert_freed_once();
    })
}

/// R2, put vs put: every thread owns a reference, writes its part of the
/// page and puts the reference; exactly one frees, and it sees every write (a
/// put's decrement must release).
///
/// Two and three threads, exhaustive.
pub fn r2_put_vs_put(ops: PageRefOps, threads: usize) -> usize {
    explore(None, move || {
        let page = Page::new(ops, threads as u32);
        let owners = spawn(&page, threads, |p, k| {
            p.write(k, 2);
            p.put(1);
        });
        page.write(0, 2);
        page.put(1);
        join(owners);
        page.assert_freed_once();
    })
}

/// R3, try-get vs freeze: the owner freezes its only reference (as split or
/// migration do) and then rewrites the whole page, while getters get, write
/// their part and put. Either the freeze fails (a get came first; the owner
/// then puts, one free) or no get succeeds while frozen, the word stays
/// frozen, and the freezer sees the getters' earlier writes (freeze must
/// acquire).
///
/// Two and three threads, exhaustive.
pub fn r3_try_get_vs_freeze(ops: PageRefOps, threads: usize) -> usize {
    explore(None, move || {
        let page = Page::new(ops, 1);
        let getters = spawn(&page, threads, |p, k| {
            if p.get(1) {
                p.write(k, 2);
                p.put(1);
            }
        });
        let frozen = page.freeze(1);
        if frozen {
            page.write_all(2);
        } else {
            page.put(1);
        }
        join(getters);
        if frozen {
            assert!(page.ghost().frozen);
            page.assert_dead();
        } else {
            page.assert_freed_once();
        }
    })
}

/// R4, try-get vs unfreeze, and the count after it: a frozen page is
/// rewritten by its freezer (the new contents) and unfrozen to 2 while getters
/// try twice each. Gets before the unfreeze fail (and leave leftovers), a get
/// after it succeeds and sees the freezer's writes (unfreeze must release);
/// after all threads the count is 2 plus the successful gets, whatever
/// leftovers failed gets left.
///
/// Two and three threads, exhaustive.
pub fn r4_try_get_vs_unfreeze(ops: PageRefOps, threads: usize) -> usize {
    explore(None, move || {
        let page = Page::new(ops, 1);
        assert!(page.freeze(1));
        let getters = spawn(&page, threads, |p, _| {
            let mut got = 0;
            for _ in 0..2 {
                if p.get(1) {
                    assert_eq!(p.read(0), 2);
                    got += 1;
                }
            }
            got
        });
        page.write_all(2);
        page.unfreeze(2);
        let got: u32 = join(getters).into_iter().sum();
        let count = page.ops.count(&page.word);
        assert_eq!(count, 2 + got, "count after unfreeze(2) and {got} gets");
        assert_eq!(page.word.read(), count, "a leftover survived the unfreeze");
    })
}

/// R5, ownerless pages: a page that never went through a last put (memmap
/// init, the first free of boot or hotplugged memory, CMA, ZONE_DEVICE, a
/// memset struct page) is made ownerless, then allocated and put by its new
/// owner, while speculative getters (compaction's PFN walk, GUP-fast) try to
/// get it. A get must fail while the page is free; one free.
///
/// Two and three threads, exhaustive.
pub fn r5_ownerless_pages(ops: PageRefOps, threads: usize) -> usize {
    ownerless_vs_walkers(ops, threads, |page| page.alloc(1))
}

/// A page made ownerless, which its new owner takes with `take` and puts,
/// while `threads - 1` pfn walkers try a speculative get (and put what they
/// got): one free, no get while the page is free (R5, R10).
fn ownerless_vs_walkers(
    ops: PageRefOps,
    threads: usize,
    take: impl Fn(&Page) + Send + Sync + Copy + 'static,
) -> usize {
    explore(None, move || {
        let page = Page::new(ops, 1);
        page.make_ownerless();
        let walkers = spawn(&page, threads, |p, _| {
            if p.get(1) {
                p.put(1);
            }
        });
        take(&page);
        page.put(1);
        join(walkers);
        page.assert_freed_once();
    })
}

/// R10, owner operations on a page nobody holds: memory-failure takes a free
/// page off the allocator and gives it its one reference with
/// `page_ref_inc_ownerless()` (virtio-mem, taking back pages it offlined, does
/// the same), while speculative getters (pfn walkers) try to get it; then the
/// owner puts it (unpoison's `put_page_back_buddy()`). A get must fail while
/// the page is free, and the page must be freed exactly once: an
/// `inc_ownerless()` that only adds leaves the frozen bit, the count reads 0
/// and no put ever frees the page.
///
/// Two and three threads, exhaustive.
pub fn r10_inc_ownerless(ops: PageRefOps, threads: usize) -> usize {
    ownerless_vs_walkers(ops, threads, |page| page.inc_ownerless())
}

/// R6, the overflow guard: every thread tries three times to get `nr`
/// references of a frozen page. Every get fails, and the failed adds never
/// carry into the frozen bit: the guard resets the low bits once they reach
/// it. With the 4-bit word the guard is 4 and the frozen bit 8: without the
/// guard, 8 failed adds of 1 (or 4 of 2) wrap the word to 0, and the next get
/// "succeeds".
///
/// The guard holds while the adds in flight fit under it: the low bits stay
/// below `guard + threads * nr`, since an adder that finds them at the guard
/// or above resets them before it adds again. Two threads adding 2, or three
/// adding 1, stay within that bound (the model passes); two threads adding 3
/// exceed it (the model fails, `r6_guard_margin_is_exact`). In the kernel the
/// margin is 2^30: thousands of GUP-fast adds of a PUD folio's pages in
/// flight at once.
///
/// Two threads exhaustive (687 executions). Three with at most 3
/// preemptions (exhaustive would be 2.3 million executions, 105 s): the worst
/// case, every thread's add in flight above the guard at once, takes two
/// (two adders stopped between their add and their reset), and
/// `r6_guard_margin_is_exact` shows that this bound finds the carry when the
/// margin is exceeded by one add.
pub fn r6_overflow_guard(ops: PageRefOps, threads: usize, nr: u32) -> usize {
    explore(bound(threads, 3), move || {
        let page = Page::new(ops, 1);
        assert!(page.freeze(1));
        let getters = spawn(&page, threads, move |p, _| {
            for _ in 0..3 {
                assert!(!p.get(nr));
            }
        });
        for _ in 0..3 {
            assert!(!page.get(nr));
        }
        join(getters);
        page.assert_dead();
    })
}

/// R6 against an unfreeze: the guard's reset must not undo a count stored
/// between the failed add that found the leftovers at the guard and the
/// reset. The owner freezes its page, whose leftovers stand one below the
/// guard (as if failed gets had piled up), while getters try once each: the
/// first failed add reaches the guard and resets the word. The owner then
/// unfreezes to 1. After all threads the count is 1 plus the successful
/// gets, in a word without the frozen bit: a reset that stored the frozen
/// bit blindly, after the unfreeze, freezes a page its owner holds.
///
/// Two and three threads, exhaustive.
pub fn r6_guard_vs_unfreeze(ops: PageRefOps, threads: usize) -> usize {
    explore(None, move || {
        let page = Page::new(ops, 1);
        assert!(page.freeze(1));
        if ops.scheme() == Scheme::FrozenBit {
            page.word.set(frozen::<Word>() | (guard::<Word>() - 1));
        }
        let getters = spawn(&page, threads, |p, _| u32::from(p.get(1)));
        page.unfreeze(1);
        let got: u32 = join(getters).into_iter().sum();
        let raw = page.word.read();
        assert_eq!(
            raw,
            1 + got,
            "word {raw:#x} after unfreeze(1) and {got} gets"
        );
    })
}

/// R7, a stale claim across free and reuse: the owner `P` puts its last
/// reference while getters revive the page; whoever frees incarnation 1
/// reallocates it (incarnation 2: new page state, count 1), writes it and
/// puts it. `P`'s claim may be delayed past all of that and win incarnation
/// 2's transient zero: `stale` counts the executions where the put that
/// decremented incarnation 1 freed incarnation 2 (it must be nonzero: that can
/// happen, and then the new owner's put does not free). What cannot: a free
/// while anyone holds a reference, two frees of one incarnation, a get on a
/// free page, or a destructor that finds another incarnation's page state or
/// is not ordered after its writes (the claim must acquire: it reads the zero
/// of the new owner's put).
///
/// Two and three threads, exhaustive. (The stale claim takes two
/// preemptions: `P` between its decrement and its claim, the new owner between
/// its own.)
pub fn r7_stale_claim_across_reuse(
    ops: PageRefOps,
    threads: usize,
    stale: Arc<std::sync::atomic::AtomicUsize>,
) -> usize {
    /// Puts a reference; if that freed incarnation 1, reallocates the page,
    /// writes part `k` and puts the new owner's reference. Returns the
    /// incarnation the first put freed.
    fn life(page: &Page, k: usize) -> Option<u32> {
        let freed = page.put(1);
        if freed == Some(1) {
            page.alloc(2);
            page.write(k, 1);
            page.put(1);
        }
        freed
    }
    explore(None, move || {
        let page = Page::new(ops, 1);
        let getters = spawn(&page, threads, |p, k| {
            if p.get(1) {
                life(p, k);
            }
        });
        if life(&page, 0) == Some(2) {
            stale.fetch_add(1, SeqCst);
        }
        join(getters);
        page.assert_freed_once();
    })
}

/// How a caller of `page_ref_sub_return()` decides to free (R8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    /// Puts its last reference with `page_ref_sub_and_test()`.
    SubAndTest,
    /// Frees when `page_ref_sub_return()` returns 0, as upstream allows.
    ZeroFromSubReturn,
}

/// R8, callers of `page_ref_dec_return()`/`folio_ref_sub_return()`: a caller
/// holding two references drops one with `dec_return()` and acts on the
/// result (the tree's callers act on 1 or 2: it must be a plain count), then
/// drops the last as `caller` does, while speculative getters try to get the
/// page. `Caller::SubAndTest` is correct in both schemes;
/// `Caller::ZeroFromSubReturn` only in the classic one: with the frozen bit a
/// 0 is a transient zero that a getter may revive, not "I may free".
///
/// Two and three threads, exhaustive.
pub fn r8_dec_return_callers(ops: PageRefOps, threads: usize, caller: Caller) -> usize {
    explore(None, move || {
        let page = Page::new(ops, 2);
        let getters = spawn(&page, threads, |p, _| {
            if p.get(1) {
                p.put(1);
            }
        });
        page.ghost().refs -= 1;
        let left = page.ops.dec_return(&page.word);
        assert!(
            (1..threads as u32 + 1).contains(&left),
            "dec_return() of 2 references returned {left:#x}"
        );
        match caller {
            Caller::SubAndTest => {
                page.put(1);
            }
            Caller::ZeroFromSubReturn => {
                page.ghost().refs -= 1;
                if page.ops.sub_return(&page.word, 1) == 0 {
                    page.free();
                }
            }
        }
        join(getters);
        page.assert_freed_once();
    })
}

/// No bound for two threads, `preemptions` for more.
fn bound(threads: usize, preemptions: usize) -> Option<usize> {
    (threads > 2).then_some(preemptions)
}

/// Which fully ordered operation a store-buffering model tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FullOp {
    /// A successful try-get (page count 1 to 2).
    TryGet,
    /// A put that is not the last (2 to 1).
    Put,
    /// A successful freeze (1 to frozen).
    Freeze,
}

/// The callers' contract of a fully ordered operation, a store-buffering
/// test: thread A does `op` on the page, then reads a flag; thread B clears
/// the flag, `smp_mb()`, then reads the count. If both read the old value,
/// `op` was not a full barrier. This is GUP-fast against unmap or
/// `folio_try_share_anon_rmap()` (pin, then re-check the PTE; clear the PTE or
/// the exclusive bit, `smp_mb()`, then check the pins), and it holds for
/// `atomic_add_unless()`, `atomic_dec_and_test()` and `atomic_cmpxchg()` in
/// the C code the operations replace.
///
/// Two threads, exhaustive.
pub fn fully_ordered(ops: PageRefOps, op: FullOp) -> usize {
    explore(None, move || {
        let initial = if op == FullOp::Put { 2 } else { 1 };
        let word = Arc::new(Word::new(initial));
        let flag = Arc::new(AtomicU32::new(1));
        let (w, f) = (word.clone(), flag.clone());
        let a = thread::spawn(move || {
            let done = match op {
                FullOp::TryGet => ops.try_get(&*w, 1),
                FullOp::Put => !ops.sub_and_test(&*w, 1),
                FullOp::Freeze => ops.freeze(&*w, 1),
            };
            (done, f.load(Relaxed))
        });
        flag.store(0, Relaxed);
        fence(SeqCst);
        let count = word.read();
        let (done, seen) = a.join().unwrap();
        assert!(
            !(done && seen == 1 && count == initial),
            "{op:?} is not a full barrier: both sides read the old values"
        );
    })
}

/// A model of the table [`ALL`]: its name and how to run it on a scheme.
pub type Model = (&'static str, fn(PageRefOps) -> usize);

/// Every model with two threads, as `tests/variants.rs` runs them against
/// each variant.
pub const ALL: [Model; 15] = [
    ("r1_try_get_vs_last_put", |ops| {
        r1_try_get_vs_last_put(ops, 2)
    }),
    ("r1_with_page_data", |ops| r1_with_page_data(ops, 2)),
    ("r2_put_vs_put", |ops| r2_put_vs_put(ops, 2)),
    ("r3_try_get_vs_freeze", |ops| r3_try_get_vs_freeze(ops, 2)),
    ("r4_try_get_vs_unfreeze", |ops| {
        r4_try_get_vs_unfreeze(ops, 2)
    }),
    ("r5_ownerless_pages", |ops| r5_ownerless_pages(ops, 2)),
    ("r6_overflow_guard", |ops| r6_overflow_guard(ops, 2, 2)),
    ("r6_guard_vs_unfreeze", |ops| r6_guard_vs_unfreeze(ops, 2)),
    ("r7_stale_claim_across_reuse", |ops| {
        r7_stale_claim_across_reuse(ops, 2, Default::default())
    }),
    ("r7b_stale_claim_on_free_pages", |ops| {
        crate::r7b::r7b_stale_claim_on_free_pages(ops, 2, Default::default())
    }),
    ("r8_dec_return_callers", |ops| {
        r8_dec_return_callers(ops, 2, Caller::SubAndTest)
    }),
    ("r10_inc_ownerless", |ops| r10_inc_ownerless(ops, 2)),
    ("try_get_is_fully_ordered", |ops| {
        fully_ordered(ops, FullOp::TryGet)
    }),
    ("put_is_fully_ordered", |ops| {
        fully_ordered(ops, FullOp::Put)
    }),
    ("freeze_is_fully_ordered", |ops| {
        fully_ordered(ops, FullOp::Freeze)
    }),
];

/// The models of [`ALL`] that fail for `ops`, by name.
pub fn failing(ops: PageRefOps) -> Vec<&'static str> {
    ALL.iter()
        .filter(|(_, model)| {
            fails(|| {
                model(ops);
            })
        })
        .map(|(name, _)| *name)
        .collect()
}
