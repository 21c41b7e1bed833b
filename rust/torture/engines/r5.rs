// SPDX-License-Identifier: GPL-2.0

//! r5: pages nobody owns. Owners make their page ownerless with
//! make-ownerless and publish it; allocate and free order-0 pages, whose
//! pointers getters keep and try long after; and allocate non-compound
//! order-2 blocks and publish their tail pages while they hold them. A get
//! on a published ownerless or tail page must fail; a get on a stale
//! pointer succeeds only if the page was reallocated, never while it is in
//! the buddy allocator.

use super::{frozen_word, stale_get, Pub, Ring};
use crate::pages::{self, OwnPage};
use crate::params::Scenario;
use crate::run::{violation, Engine, Run, Stat, Worker};
use kernel::bindings;
use kernel::prelude::*;

struct Owner {
    own: OwnPage,
    ownerless: Pub,
    tails: [Pub; 3],
}

pub(super) struct Nobody {
    owners: KVec<Owner>,
    ring: Ring,
}

impl Nobody {
    pub(super) fn new(n: usize) -> Result<Self> {
        let nowners = (n / 3).max(1);
        let mut owners = KVec::with_capacity(nowners, GFP_KERNEL)?;
        for _ in 0..nowners {
            owners.push(
                Owner {
                    own: OwnPage::new()?,
                    ownerless: Pub::new(),
                    tails: [Pub::new(), Pub::new(), Pub::new()],
                },
                GFP_KERNEL,
            )?;
        }
        Ok(Self {
            owners,
            ring: Ring::new(),
        })
    }

    fn owner(&self, w: &mut Worker) {
        let o = &self.owners[w.id];
        let delay = w.run.cfg.delay_ns;
        match w.rand() % 3 {
            0 => {
                let (ops, n) = w.ops();
                // SAFETY: nobody holds `own` but us, and no getter can reach
                // it while it is not published.
                unsafe { ops.make_ownerless(n, o.own.ptr()) };
                let v = o.own.raw();
                if !frozen_word(v) {
                    violation!(
                        w.run,
                        Scenario::R5,
                        "make-ownerless left {:#x}: not frozen",
                        v
                    );
                }
                o.ownerless.publish(o.own.ptr());
                w.window(delay);
                o.ownerless.unpublish();
                // The allocator hands it out again.
                o.own.set_count(1);
            }
            1 => {
                let Some(page) = pages::alloc(0, 0) else {
                    return;
                };
                w.hold();
                // SAFETY: a page just allocated, ours alone.
                unsafe { pages::free(page, 0) };
                self.ring.push(page.as_ptr());
            }
            _ => {
                let Some(page) = pages::alloc(2, 0) else {
                    return;
                };
                let p = page.as_ptr();
                for (t, tail) in o.tails.iter().enumerate() {
                    // SAFETY: the pages of an order-2 block follow its first.
                    tail.publish(unsafe { p.add(1 + t) });
                }
                w.window(delay);
                for tail in o.tails.iter() {
                    tail.unpublish();
                }
                // SAFETY: the block is ours alone again.
                unsafe { pages::free(page, 2) };
                for t in 0..4 {
                    // SAFETY: as above.
                    self.ring.push(unsafe { p.add(t) });
                }
            }
        }
    }

    /// A get on a published page nobody owns: it must fail.
    fn try_nobody(&self, w: &mut Worker, p: &Pub, what: &str) {
        let page = p.enter();
        if !page.is_null() {
            let (ops, n) = w.ops();
            // SAFETY: a published page of the memory map; a speculative get
            // may be tried on a page in any state.
            if unsafe { ops.try_get(n, page, 1) } {
                w.inc(Stat::Gets);
                let pfn = pages::pfn(page);
                violation!(
                    w.run,
                    Scenario::R5,
                    "a get succeeded on page {:#x}, {}",
                    pfn,
                    what
                );
                let (ops, n) = w.ops();
                // Give it back; whatever the put claims stays the owner's.
                // SAFETY: the reference just taken.
                unsafe { ops.put(n, page) };
            } else {
                w.inc(Stat::Fails);
            }
        }
        p.leave();
    }

    fn getter(&self, w: &mut Worker) {
        let r = w.rand();
        let o = &self.owners[(r >> 8) as usize % self.owners.len()];
        match r % 4 {
            0 => self.try_nobody(w, &o.ownerless, "which nobody owns (make-ownerless)"),
            1 => self.try_nobody(
                w,
                &o.tails[(r >> 4) as usize % 3],
                "a tail of a non-compound order-2 allocation",
            ),
            _ => {
                let page: *mut bindings::page = self.ring.pick(w);
                if !page.is_null() {
                    stale_get(w, Scenario::R5, page);
                }
            }
        }
    }
}

impl Engine for Nobody {
    fn work(&self, w: &mut Worker) {
        if w.id < self.owners.len() {
            self.owner(w);
        } else {
            self.getter(w);
        }
    }

    fn finish(&self, _run: &Run) {}
}
