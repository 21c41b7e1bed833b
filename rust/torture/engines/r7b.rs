// SPDX-License-Identifier: GPL-2.0

//! r7b: stale claims on the kernel's raw free paths.
//!
//! Unlike the other engines, this one does not call the operations under
//! test itself: it calls the kernel's own users of them, the raw free paths
//! that free what their caller says (an order, a fragment) rather than what
//! the page says after the put. Owners allocate and free compound order-2
//! pages with `__free_pages()`, non-compound ones with `free_pages()`,
//! `page_frag` fragments with `page_frag_free()`, and order-2 blocks split
//! into four pages put one by one (`put_page()`). Getters try-get the pages
//! behind the stale pointers of a ring, as lookups racing a free would, put
//! what they got, and then allocate and split a block themselves, so that a
//! block a revival freed is soon on its way back to four owners.
//!
//! The implementation is therefore the kernel's: with `rust` the engine
//! turns the out-of-line implementation on (`CONFIG_PAGE_REF_EXTERN`'s key,
//! so that every get and put of the kernel runs the Rust code, the raw
//! paths' `page_ref_sub_and_claim()` included), without it off; and it
//! checks with the kernel's own counter of out-of-line calls that the
//! chosen one ran. Its operations are filed under that implementation.
//!
//! With the test series' window (`page_ref_test_window_open()`), a put of
//! one of this engine's threads that reaches zero waits between its
//! decrement and its claim, one in `inject` of them: long in a raw free
//! (before the series' fix, such a put had no zero to wait on), short in a
//! `put_page()`. A stale claim of `__free_pages()` that wins a piece's zero
//! frees four pages, some of them held: the allocator reports "Bad page
//! state" (a taint this engine watches), or the pages reach the free lists
//! while held (a getter or an owner sees a free page it holds).

use super::Ring;
use crate::ops::Op;
use crate::pages;
use crate::params::{Cfg, Scenario};
use crate::run::{violation, Engine, Run, Stat, Worker};
use crate::{HELD, LEAKED};
use core::ffi::c_void;
use kernel::bindings;
use kernel::prelude::*;
use kernel::sync::atomic::{Atomic, Relaxed};
use kernel::sync::Arc;
use kernel::task::Task;
use kernel::time::{delay::fsleep, Delta};
use kernel::types::Opaque;

const ORDER: u32 = 2;
/// The wait of a raw free in the window, in microseconds.
// The window is the test series' (like `window`, `inject` and `delay_ns`).
#[cfg_attr(not(CONFIG_PAGE_REF_TEST_VARIANTS), allow(dead_code))]
const LONG_US: i64 = 100;

/// What the window knows of one of the engine's threads.
struct Slot {
    /// The thread, once it has run.
    task: Atomic<*mut bindings::task_struct>,
    /// In a call of the engine's that may wait in the window (once).
    may_wait: Atomic<bool>,
    /// And that call is a raw free: a long wait.
    wait_long: Atomic<bool>,
    /// The window made the call wait.
    injected: Atomic<bool>,
    /// The thread's fragment cache; a zeroed one is what
    /// `page_frag_cache_init()` makes.
    frags: Opaque<bindings::page_frag_cache>,
}

#[cfg_attr(not(CONFIG_PAGE_REF_TEST_VARIANTS), allow(dead_code))]
pub(super) struct RawFree {
    slots: KVec<Slot>,
    ring: Ring,
    /// A "Bad page state" seen (or the taint was there before the run).
    tainted: Atomic<bool>,
    /// The test series' window is ours.
    window: Atomic<bool>,
    inject: u32,
    delay_ns: u32,
    /// The out-of-line implementation was on before the run.
    #[cfg(CONFIG_PAGE_REF_EXTERN)]
    saved_extern: bool,
    /// The kernel's out-of-line calls once the engine had switched.
    #[cfg(CONFIG_PAGE_REF_EXTERN)]
    calls_before: Atomic<usize>,
}

/// Whether the engine can run with `cfg`'s implementation: the kernel's
/// Rust code runs only in a kernel that can switch to it.
pub(crate) fn supported(cfg: &Cfg) -> bool {
    !cfg.rust || cfg!(CONFIG_PAGE_REF_EXTERN)
}

fn bad_page_taint() -> bool {
    // SAFETY: reads a bit of the taint mask.
    unsafe { bindings::test_taint(bindings::TAINT_BAD_PAGE) != 0 }
}

impl RawFree {
    /// The engine, with the kernel switched to `cfg`'s implementation and
    /// the window opened, for `n` threads.
    pub(super) fn new(cfg: &Cfg, n: usize) -> Result<Arc<Self>> {
        if !supported(cfg) {
            return Err(ENOTSUPP);
        }
        let mut slots = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            slots.push(
                Slot {
                    task: Atomic::new(core::ptr::null_mut()),
                    may_wait: Atomic::new(false),
                    wait_long: Atomic::new(false),
                    injected: Atomic::new(false),
                    frags: Opaque::zeroed(),
                },
                GFP_KERNEL,
            )?;
        }
        #[cfg(CONFIG_PAGE_REF_EXTERN)]
        // SAFETY: reads a static key.
        let saved_extern = unsafe { bindings::page_ref_use_extern() };
        let e = Arc::new(
            Self {
                slots,
                ring: Ring::new(),
                tainted: Atomic::new(bad_page_taint()),
                window: Atomic::new(false),
                inject: cfg.inject,
                delay_ns: cfg.delay_ns,
                #[cfg(CONFIG_PAGE_REF_EXTERN)]
                saved_extern,
                #[cfg(CONFIG_PAGE_REF_EXTERN)]
                calls_before: Atomic::new(0),
            },
            GFP_KERNEL,
        )?;
        // Switched back when the engine is dropped; counted from here.
        #[cfg(CONFIG_PAGE_REF_EXTERN)]
        // SAFETY: flips a static key (may sleep: we are in process context).
        // One run at a time (`Busy`), so that nobody else switches it.
        unsafe {
            bindings::page_ref_set_extern(cfg.rust);
            e.calls_before
                .store(bindings::page_ref_extern_calls_sum() as usize, Relaxed);
        }
        #[cfg(CONFIG_PAGE_REF_TEST_VARIANTS)]
        {
            let data = Arc::as_ptr(&e).cast_mut().cast::<c_void>();
            // SAFETY: `window` may be called with `data` until the close in
            // `drop`, and the engine lives until then (it is in an `Arc`,
            // whose contents do not move).
            let ok = unsafe { bindings::page_ref_test_window_open(Some(window), data) } == 0;
            e.window.store(ok, Relaxed);
        }
        Ok(e)
    }

    fn slot(&self, w: &Worker) -> &Slot {
        let s = &self.slots[w.id];
        if s.task.load(Relaxed).is_null() {
            s.task.store(Task::current_raw(), Relaxed);
        }
        s
    }

    fn check_taint(&self, run: &Run) {
        if !self.tainted.load(Relaxed) && bad_page_taint() && !self.tainted.xchg(true, Relaxed) {
            violation!(
                run,
                Scenario::R7b,
                "Bad page state: a free took pages that others hold"
            );
        }
    }

    /// A page this thread holds: it must count and must not be free.
    fn held_ok(&self, w: &Worker, page: *mut bindings::page) -> bool {
        // SAFETY: a page of the memory map, which we hold.
        if unsafe { pages::is_buddy(page) } {
            violation!(
                w.run,
                Scenario::R7b,
                "page {:#x}, which we hold, is free (buddy)",
                pages::pfn(page)
            );
            return false;
        }
        // SAFETY: as above.
        let v = unsafe { crate::ops::raw(page) };
        if v <= 0 {
            violation!(
                w.run,
                Scenario::R7b,
                "page {:#x} reads {:#x} while we hold a reference to it",
                pages::pfn(page),
                v
            );
            return false;
        }
        true
    }

    /// Runs `call`, a put or free of this thread's own, which may wait in
    /// the window once (a put nested in it may not: it may hold a lock).
    fn call(&self, w: &Worker, long: bool, call: impl FnOnce()) {
        let s = self.slot(w);
        s.wait_long.store(long, Relaxed);
        s.may_wait.store(true, Relaxed);
        call();
        s.may_wait.store(false, Relaxed);
        if s.injected.xchg(false, Relaxed) {
            w.inc(Stat::Injected);
        }
        w.count(Op::Put);
    }

    fn put(&self, w: &Worker, page: *mut bindings::page) {
        // SAFETY: the caller holds the reference this puts.
        self.call(w, false, || unsafe { bindings::put_page(page) });
    }

    /// An order-2 block in four pieces, each with its owner, put one by one.
    fn split(&self, w: &mut Worker) {
        let Some(block) = pages::alloc(ORDER, 0) else {
            return;
        };
        let p = block.as_ptr();
        // SAFETY: a non-compound block just allocated, ours alone.
        unsafe { bindings::split_page(p, ORDER) };
        for i in 0..1 << ORDER {
            // SAFETY: the pages of an order-2 block follow its first.
            self.ring.push(unsafe { p.add(i) });
        }
        w.hold();
        for i in 0..1 << ORDER {
            // SAFETY: as above.
            let page = unsafe { p.add(i) };
            HELD.fetch_sub(1, Relaxed);
            if self.held_ok(w, page) {
                self.put(w, page);
            } else {
                // Someone else may hold it: left alone.
                LEAKED.fetch_add(1, Relaxed);
            }
        }
    }

    fn owner(&self, w: &mut Worker) {
        let gfp = bindings::GFP_KERNEL | bindings::__GFP_NOWARN;
        match w.rand() % 4 {
            0 => {
                // SAFETY: any flags and order; our threads may sleep.
                let page = unsafe { bindings::alloc_pages(gfp | bindings::__GFP_COMP, ORDER) };
                if page.is_null() {
                    return;
                }
                self.ring.push(page);
                w.hold();
                // SAFETY: a compound page just allocated, ours alone.
                self.call(w, true, || unsafe { bindings::__free_pages(page, ORDER) });
                w.inc(Stat::Frees);
            }
            1 => {
                // SAFETY: as above.
                let addr = unsafe { bindings::get_free_pages_noprof(gfp, ORDER) };
                if addr == 0 {
                    return;
                }
                // SAFETY: the first page of the block (no compound head).
                self.ring
                    .push(unsafe { bindings::virt_to_head_page(addr as *const c_void) });
                w.hold();
                // SAFETY: the block just allocated, ours alone.
                self.call(w, true, || unsafe { bindings::free_pages(addr, ORDER) });
                w.inc(Stat::Frees);
            }
            2 => {
                let nc = self.slot(w).frags.get();
                // SAFETY: the fragment cache of this thread, which only it
                // uses; `__page_frag_alloc_align()` with no alignment is
                // `page_frag_alloc()`.
                let frag = unsafe { bindings::__page_frag_alloc_align(nc, 256, gfp, !0) };
                if frag.is_null() {
                    return;
                }
                // SAFETY: a fragment's address is in its (head) page.
                self.ring.push(unsafe { bindings::virt_to_head_page(frag) });
                w.hold();
                // SAFETY: the fragment just allocated, ours.
                self.call(w, true, || unsafe { bindings::page_frag_free(frag) });
            }
            _ => self.split(w),
        }
        self.check_taint(&w.run);
    }

    fn getter(&self, w: &mut Worker) {
        let page = self.ring.pick(w);
        if page.is_null() {
            return;
        }
        w.count(Op::TryGet);
        // SAFETY: a pointer into the memory map; a speculative get may be
        // tried on a page in any state.
        if !unsafe { bindings::get_page_unless_zero(page) } {
            w.inc(Stat::Fails);
            return;
        }
        w.inc(Stat::Gets);
        if !self.held_ok(w, page) {
            // Our reference stays: the page is in no state to be put.
            LEAKED.fetch_add(1, Relaxed);
            return;
        }
        w.hold();
        // What the page is now decides how it is freed (R7): `put_page()`.
        self.put(w, page);
        self.split(w);
    }
}

/// The window's call, from every put of the kernel that reaches zero while
/// it is open: only the engine's threads wait, and only in their own calls.
///
/// # Safety
///
/// `data` is the engine that opened the window, still open.
#[cfg_attr(not(CONFIG_PAGE_REF_TEST_VARIANTS), allow(dead_code))]
unsafe extern "C" fn window(_page: *mut bindings::page, data: *mut c_void) {
    // SAFETY: the caller's promise.
    let e = unsafe { &*data.cast::<RawFree>() };
    let me = Task::current_raw();
    let Some(s) = e.slots.iter().find(|s| s.task.load(Relaxed) == me) else {
        return;
    };
    // SAFETY: a test of the context.
    if !s.may_wait.xchg(false, Relaxed) || !unsafe { bindings::in_task() } {
        return;
    }
    let r = pages::random_u32();
    if e.inject == 0 || r % e.inject != 0 {
        return;
    }
    s.injected.store(true, Relaxed);
    if s.wait_long.load(Relaxed) {
        fsleep(Delta::from_micros(LONG_US));
    } else if (r >> 16) % 8 == 0 {
        fsleep(Delta::from_micros(20));
    } else {
        crate::run::ndelay(e.delay_ns);
    }
}

impl Engine for RawFree {
    fn work(&self, w: &mut Worker) {
        if w.id % 2 == 1 {
            self.getter(w);
        } else {
            self.owner(w);
        }
    }

    fn finish(&self, run: &Run) {
        self.check_taint(run);
        #[cfg(CONFIG_PAGE_REF_EXTERN)]
        {
            // SAFETY: sums a per-CPU counter.
            let calls = unsafe { bindings::page_ref_extern_calls_sum() } as usize;
            let calls = calls.wrapping_sub(self.calls_before.load(Relaxed));
            pr_info!("# {}: extern_calls={}\n", run.sc.name(), calls);
            if run.cfg.rust && calls == 0 {
                violation!(run, Scenario::R7b, "the kernel's Rust code never ran");
            } else if !run.cfg.rust && calls != 0 {
                violation!(
                    run,
                    Scenario::R7b,
                    "the kernel's Rust code ran {} calls",
                    calls
                );
            }
        }
    }
}

impl Drop for RawFree {
    fn drop(&mut self) {
        #[cfg(CONFIG_PAGE_REF_TEST_VARIANTS)]
        if self.window.load(Relaxed) {
            // SAFETY: ours; returns once no put is in `window` any more.
            unsafe { bindings::page_ref_test_window_close() };
        }
        #[cfg(CONFIG_PAGE_REF_EXTERN)]
        // SAFETY: as in `new`.
        unsafe {
            bindings::page_ref_set_extern(self.saved_extern)
        };
        for s in self.slots.iter() {
            // SAFETY: the threads have stopped: nobody uses the cache.
            unsafe { bindings::page_frag_cache_drain(s.frags.get()) };
        }
    }
}

// SAFETY: the task pointers are compared, never dereferenced; a fragment
// cache is used by its thread only, and drained when all have stopped.
unsafe impl Send for RawFree {}
// SAFETY: as above; everything else is atomic.
unsafe impl Sync for RawFree {}
