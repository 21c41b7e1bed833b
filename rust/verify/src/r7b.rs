//! R7b, the stale claim on a free path that frees with what its caller knew.
//!
//! `__free_pages(page, order)` reads `PageHead()` before its put and frees
//! `order` after it: an order the caller knew, not one the page says. With a
//! put that decrements and then claims, the claim can be delayed past the
//! page's whole life: a speculative get revives the transient zero, its put
//! frees the compound page, the block is split and reallocated, and page 0's
//! new owner puts it to a zero of its own. The delayed claim wins that zero
//! and frees `order` pages, all but one of which belong to other owners.
//!
//! The model: a block of two pages, allocated as one order-1 compound page
//! (incarnation 1) whose owner frees it with `__free_pages(page, 1)`, against
//! speculative getters that put page 0 with `folio_put()` (which frees what
//! the page says after its claim: the `__folio_put()` kind of caller, R7).
//! Whoever frees incarnation 1 splits the block into two order-0 pages
//! (incarnation 2), owns both, and frees each with `__free_pages(page, 0)`.
//! The invariants: a page is freed only when nobody holds it and once per
//! incarnation; a successful get is never on a free page.
//!
//! `__free_pages()` puts with [`PageRefOps::sub_and_claim`], which leaves no
//! transient zero: the model passes. With [`Variant::StaleClaimable`] (the put
//! decrements and then claims, the code before the fix) it fails: page 1 is
//! freed while its new owner holds it.
//!
//! [`Variant::StaleClaimable`]: crate::algo::Variant::StaleClaimable

use crate::algo::{frozen, PageRefOps, Scheme};
use crate::models::{explore, Word};
use loom::cell::UnsafeCell;
use loom::thread;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard};

/// The pages of the block: an order-1 compound page, then two order-0 ones.
const PAGES: usize = 2;

/// What the model knows of the block, updated right after each atomic
/// operation that changes it (loom switches threads only at atomic
/// operations); plain memory, invisible to loom.
#[derive(Debug)]
struct Ghost {
    /// References held, per page (page 1 is a tail page in incarnation 1).
    refs: [u32; PAGES],
    /// Given back to the allocator and not allocated since.
    free: [bool; PAGES],
    /// The incarnation of each page: 1, then 2 after the split.
    incarnation: u32,
    /// The frees of each page in incarnations 1 and 2.
    frees: [[u32; 3]; PAGES],
}

/// The block: a refcount word per page, and the page flags of page 0.
struct Block {
    ops: PageRefOps,
    words: [Word; PAGES],
    /// The order of the compound page that page 0 heads, 0 when it heads
    /// none: what `PageHead()` and `folio_order()` read, written by the
    /// allocator. Loom checks that each reader is ordered after the writer.
    order: UnsafeCell<u32>,
    ghost: Mutex<Ghost>,
}

// SAFETY: as `models::Page`: `Block` is not `Sync` only because of loom's
// `UnsafeCell`, whose every access loom checks against the others, and loom
// runs its threads one at a time on the test's OS thread.
unsafe impl Sync for Block {}

impl Block {
    /// An order-1 compound page, page 0 held once by its owner; the tail page
    /// holds the frozen bit, as the buddy allocator handed it out.
    fn new(ops: PageRefOps) -> Arc<Self> {
        let tail = match ops.scheme() {
            Scheme::FrozenBit => frozen::<Word>(),
            Scheme::Classic => 0,
        };
        Arc::new(Block {
            ops,
            words: [Word::new(1), Word::new(tail)],
            order: UnsafeCell::new(1),
            ghost: Mutex::new(Ghost {
                refs: [1, 0],
                free: [false; PAGES],
                incarnation: 1,
                frees: [[0; 3]; PAGES],
            }),
        })
    }

    fn ghost(&self) -> MutexGuard<'_, Ghost> {
        // A poisoned lock only means another thread of this execution failed.
        self.ghost.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `folio_order()` of page 0.
    fn order(&self) -> u32 {
        // SAFETY: the cell's own pointer; loom checks the access is ordered.
        self.order.with(|p| unsafe { *p })
    }

    /// A speculative get of page 0 (`folio_try_get()` by a pfn walker or a
    /// lockless page-cache lookup).
    fn get(&self) -> bool {
        if !self.ops.try_get(&self.words[0], 1) {
            return false;
        }
        let mut g = self.ghost();
        assert!(!g.free[0], "a get succeeded on a free page: {g:?}");
        g.refs[0] += 1;
        true
    }

    /// `folio_put()` of page 0: on the last put, frees what the page says,
    /// and returns the incarnation freed.
    fn folio_put(&self) -> Option<u32> {
        self.ghost().refs[0] -= 1;
        if !self.ops.sub_and_test(&self.words[0], 1) {
            return None;
        }
        let order = self.order();
        Some(self.free(0, order))
    }

    /// `__free_pages(page i, order)`: `order` is the caller's; `PageHead()`
    /// is read before the put, as in `___free_pages()`. Returns the
    /// incarnation freed, if the put was the last.
    fn free_pages(&self, i: usize, order: u32) -> Option<u32> {
        let head = i == 0 && self.order() > 0;
        self.ghost().refs[i] -= 1;
        if self.ops.sub_and_claim(&self.words[i], 1) {
            return Some(self.free(i, order));
        }
        // A speculative holder of a non-compound page 0 frees page 0 alone
        // with its put; the caller frees the rest. Not reached here: the
        // block is compound while it has more than one page.
        assert!(head || order == 0, "non-compound order-{order} block");
        None
    }

    /// Gives pages `i .. i + 2^order` back to the allocator: nobody may hold
    /// them, and each incarnation is freed once. Returns the incarnation.
    fn free(&self, i: usize, order: u32) -> u32 {
        let mut g = self.ghost();
        let inc = g.incarnation as usize;
        for p in i..i + (1 << order) {
            assert!(
                g.refs[p] == 0,
                "page {p} freed (order {order}) while held: {g:?}"
            );
            assert!(!g.free[p], "page {p} freed twice: {g:?}");
            g.free[p] = true;
            g.frees[p][inc] += 1;
        }
        inc as u32
    }

    /// The allocator splits the free block into two order-0 pages and hands
    /// both to the caller: page flags, then each page's count.
    fn split_and_allocate(&self) {
        {
            let mut g = self.ghost();
            assert!(g.free == [true; PAGES], "split a block in use: {g:?}");
            g.incarnation = 2;
        }
        // SAFETY: the cell's own pointer; loom checks the access is ordered.
        self.order.with_mut(|p| unsafe { *p = 0 });
        for (i, word) in self.words.iter().enumerate() {
            self.ops.set_count(word, 1);
            let mut g = self.ghost();
            g.free[i] = false;
            g.refs[i] = 1;
        }
    }

    /// After every thread joined: each page freed once in each incarnation
    /// it had, and every word dead.
    fn assert_freed_once(&self) {
        let g = self.ghost();
        assert!(g.free == [true; PAGES], "a page was never freed: {g:?}");
        for p in 0..PAGES {
            for inc in 1..=g.incarnation as usize {
                assert_eq!(g.frees[p][inc], 1, "page {p}, incarnation {inc}: {g:?}");
            }
        }
        drop(g);
        for word in &self.words {
            assert_eq!(self.ops.count(word), 0, "a freed page holds a count");
        }
    }
}

/// What the thread that freed incarnation 1 does next: takes the split
/// block and frees both pages with `__free_pages(page, 0)`.
fn reuse(block: &Block, split: &AtomicUsize) {
    block.split_and_allocate();
    split.fetch_add(1, SeqCst);
    block.free_pages(0, 0);
    block.free_pages(1, 0);
}

/// The model, with the owner and `threads - 1` speculative getters. Counts in
/// `split` the executions in which the block was split and reallocated, so
/// that a test can show the reuse ran. Two threads and three, exhaustive.
pub fn r7b_stale_claim_on_free_pages(
    ops: PageRefOps,
    threads: usize,
    split: Arc<AtomicUsize>,
) -> usize {
    explore(None, move || {
        let block = Block::new(ops);
        let getters: Vec<_> = (1..threads)
            .map(|_| {
                let (b, s) = (block.clone(), split.clone());
                thread::spawn(move || {
                    if b.get() && b.folio_put() == Some(1) {
                        reuse(&b, &s);
                    }
                })
            })
            .collect();
        if block.free_pages(0, 1) == Some(1) {
            reuse(&block, &split);
        }
        for getter in getters {
            getter.join().unwrap();
        }
        block.assert_freed_once();
    })
}
